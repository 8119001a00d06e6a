#!/usr/bin/env python3
"""bench/stress: the issue's full stress run: 20 clients loop create, start, exec,
logs and rm against arcad for 5 minutes, with a kill -9 of the daemon halfway.
Prints the requests answered, the failed ones (HTTP errors) and the container
records lost; tests/integration/test_stress.py runs a short version in CI.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from benchlib import find_kernel  # noqa: E402
from daemon import Daemon  # noqa: E402
from parallel_clients import run_stress  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    arcad = Daemon(args.build, find_kernel()).start()
    try:
        arcad.load_busybox()
        answered, failures, loops, lost = run_stress(arcad, args.clients, args.seconds,
                                                     kill_at=args.seconds / 2)
    finally:
        arcad.stop()
    print(f"bench/stress: {args.clients} clients, {args.seconds} s, kill -9 of arcad at "
          f"{args.seconds // 2} s")
    print(f"requests answered {answered}, loops {loops}, failed {len(failures)}, "
          f"records lost {len(lost)}")
    for f in failures[:10]:
        print("  failed:", f)


if __name__ == "__main__":
    main()
