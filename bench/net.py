#!/usr/bin/env python3
"""bench/net: container networking side by side in one run: arcad (a VM per container,
its NIC a VLAN trunk on a TAP, tc-BPF to a bridge) against dockerd+runc from Debian's
docker.io (veth pairs on its bridge, iptables), each daemon in a network namespace of
its own, the same busybox image, the same user-defined network setup.

Measured, medians of --runs:
  c2c throughput   one container fetches --megabytes from another by name on one network
                   (busybox wget from httpd), timed inside the receiver;
  c2c latency      ping round trip between them (average of 20);
  published, lo    the host sends --megabytes to a published port at 127.0.0.1
                   (arcad's proxy, docker-proxy), until the container closed;
  published, addr  the same to one of the namespace's own addresses (DNAT in both);
  HTTP round trip  100 GETs of a small page through the published port, median.
Prints the table and arca/docker ratios; asserts nothing. Needs root.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from benchlib import Dockerd, ensure_dockerd, find_kernel  # noqa: E402

TIMED = "read a _ < /proc/uptime; {cmd}; read b _ < /proc/uptime; echo \"T $a $b\""
HOST_ADDR = "10.210.0.1"  # on the namespace's lo: a local address that is not loopback's


class NsDockerd(Dockerd):
    """dockerd with its bridge and iptables, inside a namespace of its own (nsenter, not
    ip netns exec, which remounts /sys and hides the cgroups dockerd needs)."""

    def __init__(self, base):
        self.base = base
        self.netns = f"arca-bench-d{os.getpid()}"
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.ns(["ip", "link", "set", "lo", "up"])
        self.sock = os.path.join(base, "docker.sock")
        os.makedirs(base, exist_ok=True)
        self.log = open(os.path.join(base, "dockerd.log"), "w")
        self.proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.netns}", "dockerd", "--host",
             f"unix://{self.sock}", "--data-root", f"{base}/data", "--exec-root",
             f"{base}/exec", "--pidfile", f"{base}/dockerd.pid", "--containerd-namespace",
             "arca-bench-net", "--storage-driver", "overlay2"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}")
        deadline = time.time() + 60
        while time.time() < deadline:
            if subprocess.run(["docker", "version"], env=self.env,
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"dockerd did not start; see {base}/dockerd.log")

    def ns(self, argv, **kw):
        kw.setdefault("check", True)
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(["ip", "netns", "exec", self.netns, *argv], **kw)

    def stop(self):
        super().stop()
        subprocess.run(["ip", "netns", "delete", self.netns], check=False)


def docker(side, *args, check=True):
    r = subprocess.run(["docker", *args], env=side.env, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {r.stderr}")
    return r


def in_ns(side, code, *args):
    """Runs a Python snippet inside the side's network namespace; returns its stdout."""
    return side.ns(["python3", "-c", code, *map(str, args)]).stdout


SEND = """
import socket, sys, time
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) << 20
buf = b"x" * (1 << 16)
for attempt in range(50):  # the sink's nc may be between two connections
    try:
        t = time.monotonic()
        s = socket.create_connection((host, port), timeout=120)
        s.send(b"")
        break
    except ConnectionError:
        time.sleep(0.1)
sent = 0
while sent < size:
    sent += s.send(buf[:min(len(buf), size - sent)])
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
print((time.monotonic() - t) * 1000)
"""

HTTP_RTT = """
import socket, sys, time, statistics
host, port = sys.argv[1], int(sys.argv[2])
xs = []
for i in range(100):
    t = time.monotonic()
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
    while s.recv(65536):
        pass
    s.close()
    xs.append((time.monotonic() - t) * 1000)
print(statistics.median(xs))
"""


def timed(side, *args):
    out = docker(side, *args).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("T ")][-1]
    a, b = (float(x) for x in line.split()[1:3])
    return (b - a) * 1000


def measure(side, mb):
    r = {}
    # The receiver times it: wget ends only when every byte arrived.
    docker(side, "run", "-d", "--name", "sink", "--network", "benchnet", "busybox", "sh", "-c",
           f"mkdir -p /www && dd if=/dev/zero of=/www/big bs=1M count={mb} 2>/dev/null && "
           "exec httpd -f -p 80 -h /www")
    time.sleep(3)
    r["c2c throughput (MB/s)"] = mb / (timed(side, "run", "--rm", "--network", "benchnet",
                                            "busybox", "sh", "-c", TIMED.format(
                                                cmd="wget -q -O /dev/null http://sink/big"))
                                       / 1000)
    out = docker(side, "run", "--rm", "--network", "benchnet", "busybox", "ping", "-c", "20",
                 "-i", "0.2", "sink").stdout
    r["c2c ping (ms)"] = float(out.strip().splitlines()[-1].split("=")[1].split("/")[1])
    docker(side, "rm", "-f", "sink")
    docker(side, "run", "-d", "--name", "pub", "--network", "benchnet", "-p", "5002:5001",
           "-p", "8088:80", "busybox", "sh", "-c",
           "mkdir -p /www && echo ok > /www/index.html && httpd -p 80 -h /www && "
           "while true; do nc -l -p 5001 > /dev/null; done")
    time.sleep(2)
    r["published, 127.0.0.1 (MB/s)"] = mb / (float(in_ns(side, SEND, "127.0.0.1", 5002, mb))
                                             / 1000)
    r["published, host address (MB/s)"] = mb / (float(in_ns(side, SEND, HOST_ADDR, 5002, mb))
                                                / 1000)
    r["HTTP GET via published port (ms)"] = float(in_ns(side, HTTP_RTT, "127.0.0.1", 8088))
    docker(side, "rm", "-f", "pub")
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--megabytes", type=int, default=64)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    import images
    from daemon import Daemon
    ensure_dockerd()
    work = tempfile.mkdtemp(prefix="arca-bench-net-")
    arcad = dockerd = None
    try:
        arcad = Daemon(args.build, find_kernel()).start()
        arcad.load_busybox()
        dockerd = NsDockerd(os.path.join(work, "docker"))
        # The same busybox tree (docker.io 20.10 loads no OCI layouts: an import).
        tar = images.busybox_rootfs_tar(os.path.join(work, "bb.tar"))
        docker(dockerd, "import", "-c", 'CMD ["sh"]', tar, "busybox:latest")
        for side in (arcad, dockerd):
            side.ns(["ip", "addr", "add", f"{HOST_ADDR}/32", "dev", "lo"])
            docker(side, "network", "create", "benchnet")
        results = {"arca": {}, "docker": {}}
        for i in range(args.runs):  # alternating, so drift hits both alike
            for name, side in (("arca", arcad), ("docker", dockerd)):
                for k, v in measure(side, args.megabytes).items():
                    results[name].setdefault(k, []).append(v)
        print(f"bench/net: {args.runs} runs, {args.megabytes} MB transfers, medians")
        print(f"{'':36} {'arca':>10} {'docker':>10} {'ratio':>7}")
        for k in results["arca"]:
            a = statistics.median(results["arca"][k])
            d = statistics.median(results["docker"][k])
            print(f"{k:36} {a:10.2f} {d:10.2f} {a / d:7.2f}")
        print("(throughput: higher is better, ratio = arca/docker; times: lower is better)")
    finally:
        if dockerd:
            dockerd.stop()
        if arcad:
            arcad.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
