#!/usr/bin/env python3
"""bench/runtime: arca-runtime against runc, as the OCI runtime of podman and of
containerd's runc shim, side by side in one run (issue 18).

  podman run --rm --network none --rootfs DIR true     (podman 4.3 + conmon)
  ctr run --rm IMAGE ID true                            (containerd 1.6, runc shim)

Each case runs interleaved, runc then arca, `--runs` times; prints medians, p90s and
the arca/runc ratio. Figures only; nothing here asserts a speed. Every podman, runtime
and containerd state lives in a temporary directory, removed at the end.

  sudo bench/runtime.py [--build build-release] [--runs 15]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
from benchlib import find_kernel, p90  # noqa: E402
from daemon import busybox_oci_tar  # noqa: E402
from images import busybox_rootfs_tar  # noqa: E402

RUNC = shutil.which("runc") or "/usr/sbin/runc"
# runc cannot raise RLIMIT_NOFILE to podman's default where CAP_SYS_RESOURCE is missing;
# both runtimes get the same limits.
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]


def wrapper(work, name, build, kernel):
    path = os.path.join(work, f"{name}-rt")
    root = os.path.join(work, f"{name}-state")
    if name == "arca":
        binary = os.path.abspath(os.path.join(build, "src/runtime/arca-runtime"))
        initramfs = os.path.abspath(os.path.join(build, "src/guest-init/arca-initramfs.cpio"))
        body = (f"export ARCA_KERNEL='{kernel}' ARCA_INITRAMFS='{initramfs}' "
                f"ARCA_RUNTIME_VM_DIR='{work}/vms'\nexec '{binary}' --root '{root}' \"$@\"\n")
    else:
        body = f"exec '{RUNC}' --root '{root}' \"$@\"\n"
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def timed(cmd):
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    ms = (time.monotonic() - t) * 1000
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return ms


def start_containerd(work):
    sock = os.path.join(work, "ctd.sock")
    config = os.path.join(work, "containerd.toml")
    with open(config, "w") as f:
        f.write(f'version = 2\nroot = "{work}/ctd-root"\nstate = "{work}/ctd-state"\n'
                f'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                f'[grpc]\n  address = "{sock}"\n')
    proc = subprocess.Popen(["containerd", "--config", config], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ctr = ["ctr", "-a", sock, "-n", "arca-bench"]
    deadline = time.time() + 30
    while subprocess.run(ctr + ["version"], capture_output=True).returncode != 0:
        if time.time() > deadline:
            sys.exit("containerd did not start")
        time.sleep(0.2)
    archive = os.path.join(work, "busybox.tar")
    busybox_oci_tar(archive)
    subprocess.run(ctr + ["images", "import", "--index-name",
                          "docker.io/library/busybox:latest", archive],
                   check=True, capture_output=True)
    return proc, ctr


def row(name, runc, arca):
    m_r, m_a = statistics.median(runc), statistics.median(arca)
    print(f"| {name} | {m_r:.0f} ms (p90 {p90(runc):.0f}) | {m_a:.0f} ms (p90 {p90(arca):.0f}) "
          f"| {m_a / m_r:.2f}x |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-release"))
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    kernel = find_kernel()
    work = tempfile.mkdtemp(prefix="arb-", dir="/tmp")  # short: sockets, podman's runroot
    proc = None
    try:
        rootfs = os.path.join(work, "rootfs")
        os.mkdir(rootfs)
        with tarfile.open(busybox_rootfs_tar(os.path.join(work, "rootfs.tar"))) as t:
            t.extractall(rootfs)
        rts = {name: wrapper(work, name, args.build, kernel) for name in ("runc", "arca")}
        podman = ["podman", "--root", f"{work}/storage", "--runroot", f"{work}/runroot",
                  "--tmpdir", f"{work}/ptmp", "--cgroup-manager", "cgroupfs",
                  "--events-backend", "file"]
        proc, ctr = start_containerd(work)
        results = {("podman", n): [] for n in rts} | {("ctr", n): [] for n in rts}
        for i in range(args.runs + 1):  # the first round warms caches and is dropped
            for name, rt in rts.items():
                ms = timed(podman + ["--runtime", rt, "run", "--rm", "--network", "none",
                                     *ULIMITS, "--rootfs", rootfs, "true"])
                if i:
                    results[("podman", name)].append(ms)
                ms = timed(ctr + ["run", "--rm", "--runtime", "io.containerd.runc.v2",
                                  "--runc-binary", rt, "docker.io/library/busybox:latest",
                                  f"b{name}{i}", "true"])
                if i:
                    results[("ctr", name)].append(ms)
        print(f"runs: {args.runs} each, interleaved; build {args.build}")
        print("| case | runc | arca-runtime | ratio |")
        print("|---|---|---|---|")
        row("`podman run --rm --network none --rootfs DIR true`", results[("podman", "runc")],
            results[("podman", "arca")])
        row("`ctr run --rm busybox true`", results[("ctr", "runc")], results[("ctr", "arca")])
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
        subprocess.run(["podman", "--root", f"{work}/storage", "--runroot", f"{work}/runroot",
                        "system", "reset", "--force"], capture_output=True)
        shutil.rmtree("/run/containerd/runc/arca-bench", ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
