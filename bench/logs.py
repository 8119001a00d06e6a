#!/usr/bin/env python3
"""bench/logs: `docker logs` of a container that wrote 100 MB, side by side in one
run: arcad against dockerd+containerd+runc (Debian's docker.io, private socket and
data root), the same busybox image in both, the runs alternating. Also the host
RSS of an idle container (`sleep`) on each. Prints medians and ratios; asserts
nothing. Needs root.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from benchlib import p90, start_both, stop_both  # noqa: E402
from lifecycle import arca_memory, docker_memory  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--megabytes", type=int, default=100)
    ap.add_argument("--idle", type=int, default=3, help="idle containers for memory")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="arca-bench-logs-")
    arcad = dockerd = None
    size = args.megabytes * 1000 * 1000
    line = "0123456789" * 7 + "abcdefghi"  # 80 bytes with the newline
    try:
        arcad, dockerd, ours, theirs = start_both(args.build, work)
        sides = (ours, theirs)
        for s in sides:
            s.docker("run", "--name", "chatty", "busybox", "sh", "-c",
                     f"yes {line} | head -c {size}")
        for _ in range(args.runs):
            for s in sides:
                t = time.monotonic()
                with open(os.devnull, "wb") as null:
                    subprocess.run(["docker", "logs", "chatty"], env=s.env, check=True,
                                   stdout=null)
                s.times.setdefault("logs", []).append((time.monotonic() - t) * 1000)
        for s in sides:
            for i in range(args.idle):
                s.docker("run", "-d", "--name", f"idle-{i}", "busybox", "sleep", "100000")
        time.sleep(3)
        memory = {"arca": arca_memory(arcad, args.idle)[0],
                  "docker": docker_memory(dockerd, args.idle)[0]}
        for s in sides:
            s.docker("rm", "-f", *s.docker("ps", "-aq").stdout.split())
    finally:
        stop_both(arcad, dockerd, work)

    med = statistics.median
    a, d = ours.times["logs"], theirs.times["logs"]
    print(f"bench/logs: {args.runs} runs, alternating; arcad vs dockerd+containerd+runc")
    print(f"{'operation':<40}{'arca p50':>10}{'p90':>8}{'docker p50':>12}{'p90':>8}{'ratio':>8}")
    print(f"{f'docker logs ({args.megabytes} MB), ms':<40}{med(a):>10.0f}{p90(a):>8.0f}"
          f"{med(d):>12.0f}{p90(d):>8.0f}{med(a) / med(d):>8.2f}")
    print(f"{'host RSS per idle container, MiB':<40}{memory['arca'] / 1024:>10.1f}{'':>8}"
          f"{memory['docker'] / 1024:>12.1f}{'':>8}{memory['arca'] / max(1, memory['docker']):>8.1f}")


if __name__ == "__main__":
    main()
