#!/usr/bin/env python3
"""bench/density: what idle containers cost the host, side by side in one run with
dockerd+containerd+runc (Debian's docker.io, private socket and data root), through the
same `docker` CLI and the same busybox image from one loopback registry.

  per container    the drop in MemAvailable while --count idle `docker run -d busybox
                   sleep` containers run, divided by --count; with KSM off, then on
                   (where the host has KSM; its setting is put back afterwards)
  start all        the time to start those --count containers, one after another
  most held        the most idle containers held at once, with the host's own KSM
                   setting (stop at --max, when MemAvailable would fall below --reserve
                   MiB, or when one start takes over --give-up seconds), and the time

Prints figures and ratios arca / docker; asserts nothing. Needs root.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from benchlib import start_both, stop_both  # noqa: E402

KSM = "/sys/kernel/mm/ksm"


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def ksm_read(name):
    with open(f"{KSM}/{name}") as f:
        return f.read().strip()


def ksm_write(name, value):
    with open(f"{KSM}/{name}", "w") as f:
        f.write(str(value))


def ksm_settle(timeout=120):
    """Waits until KSM has scanned all mergeable memory twice since now."""
    start = int(ksm_read("full_scans"))
    deadline = time.time() + timeout
    while time.time() < deadline and int(ksm_read("full_scans")) < start + 2:
        time.sleep(1)


def settle(before, timeout=60):
    """Waits for memory to come back after containers are removed (within 64 MiB)."""
    deadline = time.time() + timeout
    while time.time() < deadline and mem_available_kib() < before - 65536:
        time.sleep(1)


def start_idle(side, n, reserve_kib=0, give_up=0):
    """Starts up to n idle containers; returns how many started and the seconds taken.
    Stops early when MemAvailable falls below reserve_kib, or once one start takes
    longer than give_up seconds (the host is out of CPU, not memory)."""
    t = time.monotonic()
    started = 0
    for i in range(n):
        if reserve_kib and mem_available_kib() < reserve_kib:
            break
        one = time.monotonic()
        r = subprocess.run(["docker", "run", "-d", "--name", f"density-{i}", "busybox", "sleep",
                            "1000000"], env=side.env, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{side.name}: container {i} did not start: {r.stderr.strip()}",
                  file=sys.stderr)
            break
        started += 1
        if give_up and time.monotonic() - one > give_up:
            print(f"{side.name}: container {i} took {time.monotonic() - one:.0f} s to start; "
                  "stopping there", file=sys.stderr)
            break
    return started, time.monotonic() - t


def remove_all(side):
    ids = side.docker("ps", "-aq").stdout.split()
    if ids:
        side.docker("rm", "-f", *ids)


def per_container(side, count, ksm):
    """(MiB per container, seconds to start them all) with KSM on or off."""
    subprocess.run(["sync"])
    before = mem_available_kib()
    started, secs = start_idle(side, count)
    time.sleep(5)  # let the guests (or processes) settle
    if ksm:
        ksm_settle()
    after = mem_available_kib()
    remove_all(side)
    settle(before)
    if started != count:
        raise RuntimeError(f"{side.name}: only {started} of {count} containers started")
    return (before - after) / 1024 / count, secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--max", type=int, default=200, help="0: skip the most-held run")
    ap.add_argument("--reserve", type=int, default=2048,
                    help="MiB of MemAvailable the most-held run leaves alone")
    ap.add_argument("--give-up", type=float, default=20,
                    help="the most-held run stops once one start takes this many seconds")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="arca-bench-density-")
    arcad = dockerd = None
    has_ksm = os.access(f"{KSM}/run", os.W_OK)
    ksm_saved = {k: ksm_read(k) for k in ("run", "pages_to_scan", "sleep_millisecs")} \
        if has_ksm else {}
    print(f"bench/density: {args.count} idle busybox containers; arcad (VM per container, "
          f"{'KVM' if os.path.exists('/dev/kvm') else 'TCG'}) vs dockerd+containerd+runc"
          f"{'' if has_ksm else '; this host has no KSM'}")
    print(f"{'measure':<46}{'arca':>10}{'docker':>10}{'ratio':>8}", flush=True)

    def row(what, a, d):  # each row as soon as it is known: a long run may be cut short
        print(f"{what:<46}{a:>10.1f}{d:>10.1f}{a / d if d else float('inf'):>8.2f}",
              flush=True)

    try:
        arcad, dockerd, ours, theirs = start_both(args.build, work)
        sides = (ours, theirs)
        for ksm in ([False, True] if has_ksm else [False]):
            if has_ksm:
                ksm_write("run", 1 if ksm else 0)
                if ksm:  # scan fast, so a run settles in seconds, not minutes
                    ksm_write("pages_to_scan", 20000)
                    ksm_write("sleep_millisecs", 10)
            res = {s.name: per_container(s, args.count, ksm) for s in sides}
            label = f"KSM {'on' if ksm else 'off'}"
            row(f"MiB per idle container, {label}", res["arca"][0], res["docker"][0])
            row(f"seconds to start {args.count}, {label}", res["arca"][1], res["docker"][1])
        if args.max:
            # With the host's own KSM setting: a fast-scanning ksmd costs every VM CPU.
            for k, v in ksm_saved.items():
                ksm_write(k, v)
            held = {}
            for s in sides:
                before = mem_available_kib()
                n, secs = start_idle(s, args.max, args.reserve * 1024, args.give_up)
                held[s.name] = (n, secs, (before - mem_available_kib()) / 1024 / max(1, n))
                remove_all(s)
                settle(before, timeout=300)
            row(f"most idle containers held (max {args.max})", held["arca"][0],
                held["docker"][0])
            row("seconds to start them", held["arca"][1], held["docker"][1])
            row("MiB per container, then", held["arca"][2], held["docker"][2])
    finally:
        for k, v in ksm_saved.items():
            ksm_write(k, v)
        stop_both(arcad, dockerd, work)


if __name__ == "__main__":
    main()
