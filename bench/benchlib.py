"""Shared by the benchmarks: the guest kernel, process memory, percentiles,
and the peer Arca is measured against: dockerd+containerd+runc from Debian's
docker.io, on a private socket and data root (no bridge, no iptables), so it
never touches the machine's own Docker or its network.
"""
import os
import shutil
import subprocess
import sys
import time


def find_kernel():
    k = os.environ.get("ARCA_KERNEL")
    if k:
        return k
    for base in (os.environ.get("ARCA_CACHE_DIR"), "/var/cache/arca",
                 os.path.expanduser("~/.cache/arca")):
        if base and os.path.exists(os.path.join(base, "kernel/current/vmlinux")):
            return os.path.join(base, "kernel/current/vmlinux")
    sys.exit("no guest kernel: run guest-image/build-kernel.sh")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.9 * len(xs)))]


def ensure_dockerd():
    if shutil.which("dockerd"):
        return
    print("bench: installing docker.io (dockerd, containerd, runc)...", flush=True)
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
