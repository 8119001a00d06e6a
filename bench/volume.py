#!/usr/bin/env python3
"""bench/volume: storage a container writes, side by side in one run: arcad's bind mount
(virtiofsd) and block volume (an ext4 disk of the VM) against dockerd's bind mount and
local volume (Debian's docker.io, private socket and data root), the same busybox image.

Per target: untar of a 10,000-file tree (then sync), a 1 GiB sequential write
(dd conv=fsync) and a 1 GiB sequential read in a new container after the host's page
cache was dropped. Each operation is timed inside the container (/proc/uptime), so a
VM's boot is not counted. Prints medians and arca/docker ratios; asserts nothing.
Needs root.
"""
import argparse
import io
import os
import statistics
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from benchlib import p90, start_both, stop_both  # noqa: E402

TIMED = "read a _ < /proc/uptime; {cmd}; read b _ < /proc/uptime; echo \"T $a $b\""


def make_tree(path, files):
    with tarfile.open(path, "w") as t:
        body = b"x" * 512
        for i in range(files):
            info = tarfile.TarInfo(f"tree/d{i % 100:02d}/f{i:05d}")
            info.size = len(body)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(body))


def timed_run(side, mounts, cmd):
    out = side.docker("run", "--rm", *mounts, "busybox", "sh", "-c",
                      TIMED.format(cmd=cmd)).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("T ")][-1]
    a, b = (float(x) for x in line.split()[1:3])
    return (b - a) * 1000


def drop_host_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--megabytes", type=int, default=1024)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="arca-bench-volume-")
    os.chmod(work, 0o755)
    arcad = dockerd = None
    results = {}  # (target label, op) -> {"arca": [...], "docker": [...]}
    try:
        arcad, dockerd, ours, theirs = start_both(args.build, work)
        inp = os.path.join(work, "in")
        os.mkdir(inp)
        make_tree(os.path.join(inp, "tree.tar"), args.files)
        ours.docker("volume", "create", "-d", "block", "-o",
                    f"size={args.megabytes * 2 + 512}m", "benchvol")
        theirs.docker("volume", "create", "benchvol")
        targets = [("bind mount", lambda s: f"{work}/bind-{s.name}"),
                   ("volume (arca: block)", lambda s: "benchvol")]
        ops = [("untar {n} files, ms", "tar xf /in/tree.tar -C /t && sync"),
               ("write {m} MiB (fsync), ms",
                f"dd if=/dev/zero of=/t/big bs=1M count={args.megabytes} conv=fsync "
                "2>/dev/null"),
               ("read {m} MiB, ms", "dd if=/t/big of=/dev/null bs=1M 2>/dev/null")]
        for _ in range(args.runs):
            for label, source in targets:
                for s in (ours, theirs):
                    src = source(s)
                    if src.startswith("/"):
                        os.makedirs(src, exist_ok=True)
                    mounts = ["-v", f"{inp}:/in:ro", "-v", f"{src}:/t"]
                    s.docker("run", "--rm", *mounts, "busybox", "sh", "-c",
                             "rm -rf /t/tree /t/big")
                    for name, cmd in ops:
                        if name.startswith("read"):
                            drop_host_caches()
                        key = (label, name.format(n=args.files, m=args.megabytes))
                        results.setdefault(key, {}).setdefault(s.name, []).append(
                            timed_run(s, mounts, cmd))
        for s in (ours, theirs):
            s.docker("volume", "rm", "benchvol")
    finally:
        stop_both(arcad, dockerd, work)

    med = statistics.median
    print(f"bench/volume: {args.runs} runs; arcad vs dockerd+containerd+runc; "
          "timed inside the container")
    print(f"{'target / operation':<50}{'arca p50':>10}{'p90':>8}{'docker p50':>12}"
          f"{'p90':>8}{'ratio':>8}")
    for (label, op), r in results.items():
        a, d = r["arca"], r["docker"]
        print(f"{f'{label}: {op}':<50}{med(a):>10.0f}{p90(a):>8.0f}{med(d):>12.0f}"
              f"{p90(d):>8.0f}{med(a) / max(med(d), 1):>8.2f}")


if __name__ == "__main__":
    main()
