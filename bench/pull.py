#!/usr/bin/env python3
"""bench/pull: pulling the ~100 MB Debian test image from one loopback registry,
side by side in one run: `arca image pull` (download + unpack + ext4 disk)
against dockerd+containerd from Debian's docker.io (download + unpack into
overlay2), each on a private data root. Pulls alternate, each from an empty
store. Prints medians and the ratio; asserts nothing.

Needs root. Installs docker.io with apt-get if dockerd is missing.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import images  # noqa: E402
import registry  # noqa: E402
from benchlib import Dockerd, ensure_dockerd  # noqa: E402


def timed(cmd, env=None):
    t = time.monotonic()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    arca = os.path.join(args.build, "src/cli/arca")

    ensure_dockerd()
    layout = images.build_debian_layout()
    work = tempfile.mkdtemp(prefix="arca-bench-pull-")
    docker = None
    try:
        with registry.Registry(mode="plain") as reg:
            registry.push_oci_layout(reg, layout.layout, "debian")
            ref = f"{reg.host}/debian:latest"
            docker = Dockerd(os.path.join(work, "docker"))
            ours, theirs = [], []
            for i in range(args.runs):
                root = os.path.join(work, f"arca-{i}")
                ours.append(timed([arca, "image", "pull", ref],
                                  env=dict(os.environ, ARCA_ROOT=root)))
                shutil.rmtree(root)
                theirs.append(timed(["docker", "-H", f"unix://{docker.sock}", "pull", ref]))
                docker.cli("rmi", ref)
                docker.cli("image", "prune", "-af")
            size = sum(os.path.getsize(os.path.join(layout.layout, "blobs/sha256", d[7:]))
                       for d in layout.layer_digests)
    finally:
        if docker:
            docker.stop()
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    print(f"bench/pull: {args.runs} pulls each, alternating, from one loopback registry; "
          f"Debian minbase, {size / 1e6:.0f} MB compressed")
    print(f"{'peer':<46}{'median s':>10}")
    print(f"{'arca image pull (download + unpack + ext4)':<46}{med(ours):>10.2f}")
    print(f"{'dockerd+containerd pull (download + overlay2)':<46}{med(theirs):>10.2f}")
    print(f"ratio arca / dockerd: {med(ours) / med(theirs):.2f}")


if __name__ == "__main__":
    main()
