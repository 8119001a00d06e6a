#!/usr/bin/env python3
"""bench/build: `docker build` of one 6-step Dockerfile side by side in one run, through
the same docker CLI with the classic builder (DOCKER_BUILDKIT=0): arcad (the steps of a
stage in one VM, config-only steps without one) against dockerd+containerd+runc from
Debian's docker.io (a container per step), each on a private socket and data root, with
the same busybox image pulled into both from one loopback registry. Both build with
--network none (arcad's steps have no network anyway).

  cold     docker build --no-cache (every step runs)          median of --runs
  cached   the same build again, every step from the cache      median of --runs

Builds alternate between the two engines, so drift hits both alike. Prints the medians
and the ratios arca / docker; asserts nothing. Needs root.
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

from benchlib import start_both, stop_both  # noqa: E402

DOCKERFILE = """\
FROM busybox
ENV APP=/app
WORKDIR /app
COPY data/ /app/data/
RUN for i in $(seq 1 2000); do echo "line $i"; done > /app/lines && cat /app/data/* | wc -c > /app/size
LABEL bench=build
CMD ["cat", "/app/size"]
"""


def make_context(dir):
    os.makedirs(os.path.join(dir, "data"))
    with open(os.path.join(dir, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    for i in range(20):
        with open(os.path.join(dir, "data", f"file{i}.bin"), "wb") as f:
            f.write(os.urandom(64 * 1024))


def build(side, ctx, *extra):
    env = dict(side.env, DOCKER_BUILDKIT="0")
    t = time.monotonic()
    r = subprocess.run(["docker", "build", "--network", "none", "-t", "benchbuild", *extra, ctx],
                       env=env, capture_output=True, text=True, timeout=900)
    ms = (time.monotonic() - t) * 1000
    if r.returncode != 0:
        raise RuntimeError(f"{side.name}: docker build failed:\n{r.stdout}\n{r.stderr}")
    cached = r.stdout.count("Using cache")
    return ms, cached


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.environ.get("ARCA_BUILD_DIR",
                                                      os.path.join(ROOT, "build")))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="arca-bench-build-")
    arcad = dockerd = None
    try:
        arcad, dockerd, ours, theirs = start_both(args.build, work)
        ctx = os.path.join(work, "ctx")
        make_context(ctx)
        results = {s.name: {"cold": [], "cached": []} for s in (ours, theirs)}
        for run in range(args.runs):
            for side in ((ours, theirs) if run % 2 == 0 else (theirs, ours)):
                ms, _ = build(side, ctx, "--no-cache")
                results[side.name]["cold"].append(ms)
                ms, hits = build(side, ctx)
                if hits != 6:
                    raise RuntimeError(f"{side.name}: {hits} cached steps, expected 6")
                results[side.name]["cached"].append(ms)
        print(f"bench/build: a 6-step Dockerfile (COPY 1.3 MB, RUN), medians of {args.runs} runs")
        print(f"{'':10} {'arca ms':>10} {'docker ms':>10} {'arca/docker':>12}")
        for what in ("cold", "cached"):
            a = statistics.median(results["arca"][what])
            d = statistics.median(results["docker"][what])
            print(f"{what:10} {a:10.0f} {d:10.0f} {a / d:12.2f}")
    finally:
        stop_both(arcad, dockerd, work)


if __name__ == "__main__":
    main()
