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


class Side:
    """One engine behind the docker CLI."""

    def __init__(self, name, env):
        self.name, self.env, self.memory = name, env, None
        self.times = {}

    def docker(self, *args):
        return subprocess.run(["docker", *args], env=self.env, check=True,
                              capture_output=True, text=True)

    def timed(self, what, *args):
        t = time.monotonic()
        self.docker(*args)
        self.times.setdefault(what, []).append((time.monotonic() - t) * 1000)

    def timed_steps(self, what, *steps):
        """Times docker commands run one after the other; "{}" in a step is the
        first one's output."""
        t = time.monotonic()
        first = None
        for args in steps:
            out = self.docker(*[a.replace("{}", first or "") for a in args]).stdout.strip()
            first = out if first is None else first
        self.times.setdefault(what, []).append((time.monotonic() - t) * 1000)



def start_both(build, work, pool_size=None, pool_memory=None):
    """arcad and dockerd side by side, each with the same busybox image pulled from one
    loopback registry. arcad keeps pool_size booted VMs within pool_memory MiB (None:
    its defaults). Returns
    (arcad, dockerd, arca side, docker side); the caller stops both daemons."""
    import images
    import registry
    from daemon import Daemon
    ensure_dockerd()
    arcad = Daemon(build, find_kernel())
    arcad.pool_size = pool_size
    if pool_memory is not None:
        arcad.config["vm-pool-memory"] = pool_memory
    arcad.start()
    dockerd = Dockerd(os.path.join(work, "docker"))
    ours = Side("arca", arcad.env)
    theirs = Side("docker", dict(os.environ, DOCKER_HOST=f"unix://{dockerd.sock}",
                                 DOCKER_CONFIG=arcad.config_dir))
    layout = os.path.join(work, "bb")
    images.build_busybox_layout(layout)
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, layout, "busybox")
        arcad.reach_host_ports(*reg.ports)  # arcad runs in a network namespace of its own
        for s in (ours, theirs):
            s.docker("pull", f"{reg.host}/busybox:latest")
            s.docker("tag", f"{reg.host}/busybox:latest", "busybox:latest")
    return arcad, dockerd, ours, theirs


def stop_both(arcad, dockerd, work):
    """Stops what start_both started (either may be None) and removes work."""
    if dockerd:
        dockerd.stop()
    if arcad:
        arcad.stop()
    subprocess.run(["rm", "-rf", work])
