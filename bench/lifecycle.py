#!/usr/bin/env python3
"""bench/lifecycle: the container operations a Docker user feels, side by side
in one run through the same `docker` CLI: arcad (a VM per container) against
dockerd+containerd+runc from Debian's docker.io (namespaces), each on a
private socket and data root, with the same busybox image pulled into both
from one loopback registry. Operations alternate between the two, so drift
hits both alike.

  docker run --rm busybox true     p50 / p90
  docker create busybox true       p50 / p90
  docker exec C true               p50 / p90, C running
  docker ps -a                     p50 / p90, with --containers created
  memory                           host RSS per running container, and of
                                   each daemon with them running

Prints the figures and the ratios arca / docker; asserts nothing. Needs root.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from benchlib import p90, rss_kib, start_both  # noqa: E402
from daemon import qemu_pids  # noqa: E402


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def tree_rss(pid):
    return rss_kib(pid) + sum(tree_rss(c) for c in children(pid))


def pids_matching(*needles):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if all(n in cmd for n in needles):
            out.append(int(pid))
    return out


def arca_memory(arcad, running):
    # Per VM: the pool's idle VMs (docs/vm-pool.md) are counted as the containers' are.
    vms = qemu_pids(arcad.run_dir)
    per = sum(rss_kib(p) for p in vms) / max(1, len(vms))
    return per, rss_kib(arcad.proc.pid)


def wait_pool(arcad, timeout=60):
    """Until arcad's pool is full again (its docker info row says so), at most timeout s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = arcad.docker("info", "--format", "{{json .DriverStatus}}").stdout
        m = re.search(r'"VM pool","(\d+) ready, (\d+) booting \(up to (\d+)', row)
        if not m or m.group(1) == m.group(3):
            return
        time.sleep(0.2)


def docker_memory(dockerd, running):
    # Each container: its containerd-shim (with the container's processes below it).
    shims = pids_matching("containerd-shim", "arca-bench")
    per = sum(tree_rss(p) for p in shims) / max(1, running)
    # The daemon: dockerd and the containerd it started (the shims are not its children).
    daemon = rss_kib(dockerd.proc.pid) + sum(
        rss_kib(c) for c in children(dockerd.proc.pid))
    return per, daemon


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--containers", type=int, default=100)
    ap.add_argument("--running", type=int, default=3, help="containers held running for memory")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--pool-size", type=int, default=None,
                    help="arcad's vm-pool-size (default: arcad's own default)")
    ap.add_argument("--pool-memory", type=int, default=None,
                    help="arcad's vm-pool-memory in MiB (default: arcad's own default)")
    ap.add_argument("--raw", action="store_true", help="also print every time measured")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="arca-bench-life-")
    arcad = dockerd = None
    try:
        arcad, dockerd, ours, theirs = start_both(args.build, work, args.pool_size,
                                                args.pool_memory)
        ours.memory = lambda n: arca_memory(arcad, n)
        theirs.memory = lambda n: docker_memory(dockerd, n)
        sides = (ours, theirs)

        # Back to back: the pool refills while the runs go on (one boot at a time).
        wait_pool(arcad)
        for _ in range(args.runs):
            for s in sides:
                s.timed("docker run --rm busybox true", "run", "--rm", "busybox", "true")
        for _ in range(args.runs):
            for s in sides:
                s.timed_steps("run -d + exec + rm -f", ["run", "-d", "busybox", "sleep", "1000"],
                              ["exec", "{}", "true"], ["rm", "-f", "{}"])
        # Outside the pool's class (another memory size): a VM boots for it.
        for _ in range(args.runs):
            for s in sides:
                s.timed("docker run --rm -m 512m busybox true (cold)", "run", "--rm", "-m",
                        "512m", "busybox", "true")

        for s in sides:
            for i in range(args.running):
                s.docker("run", "-d", "--name", f"bench-run-{i}", "busybox", "sleep", "100000")
        time.sleep(3)  # let the guests settle before measuring memory
        memory = {s.name: s.memory(args.running) for s in sides}
        for _ in range(args.runs):
            for s in sides:
                s.timed("docker exec C true", "exec", "bench-run-0", "true")

        for i in range(args.containers):
            for s in sides:
                s.timed("docker create busybox true", "create", "--name", f"bench-c{i}",
                        "busybox", "true")
        for _ in range(args.runs):
            for s in sides:
                s.timed(f"docker ps -a ({args.containers + args.running} containers)", "ps",
                        "-a")
        for s in sides:
            ids = s.docker("ps", "-aq").stdout.split()
            s.docker("rm", "-f", *ids)
    finally:
        if dockerd:
            dockerd.stop()
        left = arcad.stop() if arcad else []
        subprocess.run(["rm", "-rf", work])

    med = statistics.median
    print(f"bench/lifecycle: {args.runs} runs per operation, alternating; "
          f"arcad (VM per container, {'KVM' if os.path.exists('/dev/kvm') else 'TCG'}) "
          f"vs dockerd+containerd+runc")
    print(f"{'operation':<40}{'arca p50':>10}{'p90':>8}{'docker p50':>12}{'p90':>8}{'ratio':>8}")
    for what, xs in ours.times.items():
        ys = theirs.times[what]
        print(f"{what:<40}{med(xs):>10.0f}{p90(xs):>8.0f}{med(ys):>12.0f}{p90(ys):>8.0f}"
              f"{med(xs) / med(ys):>8.2f}")
    if args.raw:
        for what, xs in ours.times.items():
            for s in (ours, theirs):
                print(f"  {s.name:<7}{what}: {' '.join(f'{x:.0f}' for x in s.times[what])}")
    (a_per, a_daemon), (d_per, d_daemon) = memory["arca"], memory["docker"]
    print(f"{'memory, MiB':<40}{'arca':>10}{'':>8}{'docker':>12}{'':>8}{'ratio':>8}")
    print(f"{'host RSS per running container':<40}{a_per / 1024:>10.1f}{'':>8}"
          f"{d_per / 1024:>12.1f}{'':>8}{a_per / max(1, d_per):>8.1f}")
    print(f"{'daemon RSS, ' + str(args.running) + ' running':<40}{a_daemon / 1024:>10.1f}{'':>8}"
          f"{d_daemon / 1024:>12.1f}{'':>8}{a_daemon / max(1, d_daemon):>8.2f}")
    if left:
        print(f"warning: {len(left)} VM processes were left behind and killed")


if __name__ == "__main__":
    main()
