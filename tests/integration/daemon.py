"""A private arcad for tests: temporary data root, socket and run directory.

Daemon(build).start() launches arcad; .env gives DOCKER_HOST (and a private
DOCKER_CONFIG so no login of this machine is used or changed); .stop() sends
SIGTERM, waits, and checks that no VM process is left behind.
"""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

import images

BUSYBOX_ARCHIVE_CACHE = "/var/cache/arca/test-images/busybox-oci.tar"


def busybox_oci_tar(path):
    """The busybox test image (Cmd ["sh"]) as an OCI-layout tarball for docker load."""
    with tempfile.TemporaryDirectory(prefix="arca-bb-") as d:
        info = images.build_busybox_layout(os.path.join(d, "bb"))
        with tarfile.open(path, "w") as t:
            for name in sorted(os.listdir(os.path.join(d, "bb"))):
                t.add(os.path.join(d, "bb", name), arcname=name)
    return info


@contextlib.contextmanager
def checked(d):
    """d started, with the busybox test image loaded as busybox:latest (its ID in
    d.busybox_id); then stopped, and what it left behind is an error."""
    d.start()
    try:
        d.busybox_id = d.load_busybox()
        yield d
    finally:
        left = d.stop()
        assert not left, f"VM processes left behind by arcad: {left}"
        assert not d.sanitizer_report, f"arcad's sanitizer report:\n{d.sanitizer_report}"
        assert not d.leftover_links, f"links left behind by arcad: {d.leftover_links}"


def qemu_pids(marker):
    out = subprocess.run(["pgrep", "-f", "qemu-system"], capture_output=True, text=True).stdout
    pids = []
    for pid in out.split():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmd and state != "Z":
            pids.append(int(pid))
    return pids


class Daemon:
    def __init__(self, build, kernel):
        self.build = build
        self.dir = tempfile.mkdtemp(prefix="arcad-")
        self.sock = os.path.join(self.dir, "arca.sock")
        self.root = os.path.join(self.dir, "root")
        self.run_dir = os.path.join(self.dir, "run")
        self.config_dir = os.path.join(self.dir, "docker-config")
        os.makedirs(self.config_dir)
        self.kernel = kernel
        self.proc = None
        self.log_path = os.path.join(self.dir, "arcad.log")
        # Its own configuration file: the machine's /etc/arca/daemon.json never applies.
        self.config_file = os.path.join(self.dir, "daemon.json")
        self.config = {}
        # Booted VMs kept ready (docs/vm-pool.md): off unless a test wants them, so
        # that a test's VMs are its own and the suite's CPU goes to its containers.
        # None: arcad's default.
        self.pool_size = 0
        self.prefix = []     # what starts arcad (systemd-socket-activate -l SOCK)
        self.extra_env = {}  # NOTIFY_SOCKET...
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}",
                        DOCKER_CONFIG=self.config_dir)
        self.env.pop("DOCKER_CONTEXT", None)
        # Every daemon gets a network namespace of its own: its bridges, TAPs and
        # firewall never touch the machine's, and two daemons never meet.
        self.netns = f"arca-t{os.getpid()}-{os.path.basename(self.dir)[-8:]}"
        self.bridges = []
        self.own_etc = False
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.ns(["ip", "link", "set", "lo", "up"])

    def ns(self, argv, **kw):
        """Runs argv inside the daemon's network namespace."""
        kw.setdefault("check", True)
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(["ip", "netns", "exec", self.netns, *argv], **kw)

    def reach_host_ports(self, *ports):
        """Makes the host's 127.0.0.1:PORT reachable at the same address inside the
        daemon's namespace (a test registry): a unix socket carries each connection
        across, since unix sockets belong to no network namespace."""
        for port in ports:
            path = os.path.join(self.dir, f"bridge-{port}.sock")
            host = subprocess.Popen(["socat", f"UNIX-LISTEN:{path},fork",
                                     f"TCP:127.0.0.1:{port}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(50):
                if os.path.exists(path):
                    break
                time.sleep(0.05)
            inside = subprocess.Popen(["ip", "netns", "exec", self.netns, "socat",
                                       f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
                                       f"UNIX-CONNECT:{path}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.bridges += [host, inside]
        for port in ports:
            for _ in range(50):
                if self.ns(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/"],
                           check=False).returncode == 0:
                    break
                time.sleep(0.05)

    def set_resolv_conf(self, text):
        """The resolv.conf arcad sees from its next start: ip netns exec binds
        /etc/netns/NAME/resolv.conf over /etc/resolv.conf (in a mount namespace of its
        own, so from then on host mounts made later may not reach arcad)."""
        d = os.path.join("/etc/netns", self.netns)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "resolv.conf"), "w") as f:
            f.write(text)
        self.own_etc = True

    def start(self):
        with open(self.config_file, "w") as f:
            pool = {} if self.pool_size is None else {"vm-pool-size": self.pool_size}
            json.dump({**pool, **self.config}, f)
        log = open(self.log_path, "a")
        env = dict(os.environ, ARCA_KERNEL=self.kernel,
                   ARCA_INITRAMFS=os.path.join(self.build, "src/guest-init/arca-initramfs.cpio"))
        env.update(self.extra_env)
        # Only the network namespace is arcad's own: it sees the test's mounts as they
        # come (binds of directories mounted later), unless the test gave the namespace
        # its own /etc files, which ip netns exec binds in a mount namespace.
        enter = (["ip", "netns", "exec", self.netns] if self.own_etc
                 else ["nsenter", f"--net=/run/netns/{self.netns}"])
        self.proc = subprocess.Popen(
            enter + self.prefix + [
             os.path.join(self.build, "src/daemon/arcad"), "-H", f"unix://{self.sock}",
             "--data-root", self.root, "--exec-root", self.run_dir,
             "--config-file", self.config_file] + (["-D"] if os.environ.get("ARCA_TEST_DEBUG") else []),
            stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(self.sock) and self.docker("version", check=False).returncode == 0:
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"arcad did not start:\n{self.log()}")

    def log(self):
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def docker(self, *args, check=True, timeout=180, input=None):
        r = subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({r.returncode}):\n"
                                 f"{r.stdout}\n{r.stderr}\n--- arcad log ---\n{self.log()}")
        return r

    def load_busybox(self, tag="busybox:latest"):
        """Loads the busybox test image and tags it; returns its image ID."""
        os.makedirs(os.path.dirname(BUSYBOX_ARCHIVE_CACHE), exist_ok=True)
        tar = os.path.join(self.dir, "busybox-oci.tar")
        info = busybox_oci_tar(tar)
        self.docker("load", "-i", tar)
        self.docker("tag", info.image_id, tag)
        return info.image_id

    def restart(self, hard=False):
        """Stops arcad (SIGTERM, or SIGKILL when hard) and starts it again on the same
        data root."""
        self.proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        self.proc.wait(timeout=30)
        return self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # A sanitizer build of arcad reports at exit (leaks) or on the spot.
        self.sanitizer_report = ""
        if os.path.exists(self.log_path):
            with open(self.log_path, errors="replace") as f:
                text = f.read()
            i = text.find("ERROR: AddressSanitizer")
            if i < 0:
                i = text.find("ERROR: LeakSanitizer")
            if i < 0:
                i = text.find("runtime error:")
            if i >= 0:
                self.sanitizer_report = text[max(0, i - 200):i + 6000]
        # What a stopped daemon's containers must not leave: their TAPs and veths.
        links = self.ns(["ip", "-o", "link", "show"], check=False).stdout
        self.leftover_links = [l.split(":")[1].strip().split("@")[0] for l in links.splitlines()
                               if l.split(":")[1].strip().startswith(("avt", "avb", "avl", "avp"))]
        for p in self.bridges:
            p.kill()
            p.wait()
        self.bridges = []
        left = qemu_pids(self.run_dir)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        for pid in left:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                time.sleep(0.2)
        shutil.rmtree(self.dir, ignore_errors=True)
        subprocess.run(["ip", "netns", "delete", self.netns], check=False)
        shutil.rmtree(os.path.join("/etc/netns", self.netns), ignore_errors=True)
        return left
