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
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))

import images  # noqa: E402
import registry  # noqa: E402


def ensure_dockerd():
    if shutil.which("dockerd"):
        return
    print("bench/pull: installing docker.io (dockerd, containerd, runc)...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "docker.io"], check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                   stdout=subprocess.DEVNULL)


class Dockerd:
    def __init__(self, base):
        self.base = base
        self.sock = os.path.join(base, "docker.sock")
        os.makedirs(base, exist_ok=True)
        self.log = open(os.path.join(base, "dockerd.log"), "w")
        self.proc = subprocess.Popen(
            ["dockerd", "--host", f"unix://{self.sock}", "--data-root", f"{base}/data",
             "--exec-root", f"{base}/exec", "--pidfile", f"{base}/dockerd.pid",
             "--iptables=false", "--ip6tables=false", "--bridge=none",
             "--containerd-namespace", "arca-bench", "--storage-driver", "overlay2"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.cli("version", check=False).returncode == 0:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"dockerd did not start; see {base}/dockerd.log")

    def cli(self, *args, check=True):
        return subprocess.run(["docker", "-H", f"unix://{self.sock}", *args], check=check,
                              capture_output=True, text=True)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


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
