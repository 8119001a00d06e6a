"""arca-runtime, the OCI runtime (issue 18): podman drives it as it drives runc.

The podman cases run twice, once with arca-runtime and once with runc from
Debian as the reference, so a difference is visibly ours. podman keeps its
storage, and each runtime its state, in the test's temporary directory. The
runtime-level cases drive arca-runtime directly on a bundle, as containerd's
shim and conmon do.

This harness has no CAP_SYS_RESOURCE, so runc cannot raise RLIMIT_NOFILE to
podman's default (1048576) here: the podman cases give both runtimes the
same lower limits.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

from conftest import qemu_pids_under
from daemon import busybox_oci_tar
from images import busybox_rootfs_tar
from terminal import Terminal

RUNC = shutil.which("runc") or "/usr/sbin/runc"
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]


def _write_script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


class Runtime:
    """One runtime binary behind a wrapper that gives it a private --root."""

    def __init__(self, name, build_dir, kernel, tmp):
        self.name = name
        self.root = os.path.join(tmp, f"{name}-state")
        self.vm_dir = os.path.join(tmp, "vms")
        self.bin = os.path.abspath(os.path.join(build_dir, "src/runtime/arca-runtime"))
        self.wrapper = os.path.join(tmp, f"{name}-runtime")
        self.env = dict(os.environ)
        if name == "arca":
            self.env.update({
                "ARCA_KERNEL": kernel,
                "ARCA_INITRAMFS": os.path.abspath(
                    os.path.join(build_dir, "src/guest-init/arca-initramfs.cpio")),
                "ARCA_RUNTIME_VM_DIR": self.vm_dir,
            })
            exports = "".join(f"export {k}='{self.env[k]}'\n"
                              for k in ("ARCA_KERNEL", "ARCA_INITRAMFS", "ARCA_RUNTIME_VM_DIR"))
            _write_script(self.wrapper,
                          f"#!/bin/sh\n{exports}exec '{self.bin}' --root '{self.root}' \"$@\"\n")
        else:
            _write_script(self.wrapper, f"#!/bin/sh\nexec '{RUNC}' --root '{self.root}' \"$@\"\n")

    def run(self, *args, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 120)
        return subprocess.run([self.wrapper, *args], env=self.env, **kw)

    def create(self, bundle, cid, *opts):
        """`create` with the container's stdio on files: its monitor holds them open as
        long as the container lives (runc's init does too), so no pipe is read to EOF."""
        io = os.path.join(self.root + "-io", cid)
        os.makedirs(io, exist_ok=True)
        with open(os.path.join(io, "out"), "w") as out, open(os.path.join(io, "err"), "w") as err:
            r = subprocess.run([self.wrapper, "create", "--bundle", bundle, *opts, cid],
                               env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                               timeout=120)
        with open(os.path.join(io, "err")) as f:
            r.stderr = f.read()
        return r


@pytest.fixture
def rootfs(tmp_path):
    tar = busybox_rootfs_tar(str(tmp_path / "rootfs.tar"))
    d = tmp_path / "rootfs"
    d.mkdir()
    with tarfile.open(tar) as t:
        t.extractall(d)
    os.unlink(tar)
    return str(d)


def _check_nothing_left(rt):
    deadline = time.time() + 10
    while qemu_pids_under(rt.vm_dir) and time.time() < deadline:
        time.sleep(0.1)
    left = qemu_pids_under(rt.vm_dir)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"VMs left behind: {left}"
    for d in (rt.root, rt.vm_dir):
        assert not os.path.isdir(d) or os.listdir(d) == [], f"left in {d}: {os.listdir(d)}"


class Podman:
    def __init__(self, tmp, runtime):
        self.rt = runtime
        self.base = ["podman", "--root", os.path.join(tmp, "storage"),
                     "--runroot", os.path.join(tmp, "runroot"),
                     "--tmpdir", os.path.join(tmp, "podman-tmp"),
                     "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--runtime", runtime.wrapper]

    def __call__(self, *args, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 180)
        return subprocess.run([*self.base, *args], **kw)

    def run(self, rootfs, *cmd, opts=(), network="none", **kw):
        return self("run", "--network", network, *ULIMITS, *opts, "--rootfs", rootfs, *cmd,
                    **kw)


@pytest.fixture
def short_dir():
    """A directory with a short path: podman wants its runroot under 50 characters, and
    a container's control socket (<root>/<64-character id>/ctl.sock) must fit a sun_path."""
    d = tempfile.mkdtemp(prefix="art-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=["arca", "runc"])
def podman(request, build_dir, kernel, short_dir):
    if shutil.which("podman") is None:
        pytest.fail("podman is missing: tools/install-deps.sh installs it")
    rt = Runtime(request.param, build_dir, kernel, short_dir)
    p = Podman(short_dir, rt)
    yield p
    p("rm", "-fa", timeout=120)
    # podman's storage holds read-only and mounted bits: its own reset removes them.
    p("system", "reset", "--force", timeout=120)
    _check_nothing_left(rt)


def test_podman_run_prints_and_exits_with_the_status(podman, rootfs):
    r = podman.run(rootfs, "/bin/echo", "hi", opts=["--rm"])
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr
    r = podman.run(rootfs, "/bin/sh", "-c", "echo out; echo err >&2; exit 3", opts=["--rm"])
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")


def test_podman_run_missing_or_unrunnable_program(podman, rootfs):
    r = podman.run(rootfs, "/bin/nonexistent", opts=["--rm"])
    assert r.returncode == 127, r.stderr
    r = podman.run(rootfs, "nonexistent", opts=["--rm"])
    assert r.returncode == 127, r.stderr
    r = podman.run(rootfs, "/etc", opts=["--rm"])
    assert r.returncode == 126, r.stderr


def test_podman_container_sees_its_spec(podman, rootfs):
    r = podman.run(rootfs, "/bin/sh", "-c",
                   "hostname; id -u; pwd; echo $FOO; ls /dev/null /dev/zero /dev/pts; "
                   "grep -c . /etc/hostname; touch /proc/sys/x 2>/dev/null || echo ro",
                   opts=["--rm", "--hostname", "box", "-e", "FOO=bar", "-w", "/tmp"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[:4] == ["box", "0", "/tmp", "bar"]
    assert "/dev/null" in r.stdout and "/dev/zero" in r.stdout
    assert r.stdout.rstrip().endswith("ro")


def test_podman_stdin_is_the_container_s(podman, rootfs):
    r = podman.run(rootfs, "/bin/sh", "-c", "read x; echo got $x", opts=["--rm", "-i"],
                   input="hello\n")
    assert (r.returncode, r.stdout) == (0, "got hello\n"), r.stderr


def test_podman_exec_kill_stop_rm(podman, rootfs):
    r = podman.run(rootfs, "/bin/sh", "-c",
                   "trap 'echo got TERM; exit 7' TERM; while :; do sleep 0.1; done",
                   opts=["-d"])
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    r = podman("exec", cid, "/bin/sh", "-c", "echo in exec; exit 5")
    assert (r.returncode, r.stdout) == (5, "in exec\n"), r.stderr
    r = podman("exec", "-i", cid, "cat", input="piped\n")
    assert (r.returncode, r.stdout) == (0, "piped\n"), r.stderr
    r = podman("exec", cid, "/nonexistent")
    assert r.returncode == 127, r.stderr
    r = podman("exec", "-d", cid, "sleep", "100")
    assert r.returncode == 0, r.stderr
    assert podman("pause", cid).returncode == 0
    assert podman("inspect", cid, "--format", "{{.State.Status}}").stdout.strip() == "paused"
    assert podman("unpause", cid).returncode == 0
    assert podman("inspect", cid, "--format", "{{.State.Status}}").stdout.strip() == "running"
    r = podman("stop", "-t", "10", cid)
    assert r.returncode == 0, r.stderr
    r = podman("inspect", cid, "--format", "{{.State.ExitCode}}")
    assert r.stdout.strip() == "7"
    assert "got TERM" in podman("logs", cid).stdout
    assert podman("rm", cid).returncode == 0

    cid = podman.run(rootfs, "sleep", "1000", opts=["-d"]).stdout.strip()
    assert podman("kill", cid).returncode == 0
    podman("wait", cid)
    r = podman("inspect", cid, "--format", "{{.State.ExitCode}}")
    assert r.stdout.strip() == "137"
    assert podman("rm", cid).returncode == 0
    cid = podman.run(rootfs, "sleep", "1000", opts=["-d"]).stdout.strip()
    r = podman("rm", "-f", cid)
    assert r.returncode == 0, r.stderr
    assert podman("ps", "-aq").stdout.strip() == ""


def _shell_session(term, exit_line):
    """A shell on the terminal: size, name, echo, a resize, and its exit status."""
    assert term.wait_for("/ #", 60), term.screen()
    term.type("stty size; tty; echo hel''lo")
    assert term.wait_for("30 100") and term.wait_for("hello"), term.screen()
    assert "/dev/pts/" in term.screen()
    term.resize(80, 20)
    time.sleep(1)
    term.type("stty size")
    assert term.wait_for("20 80", 20), term.screen()
    term.type("exit 4")
    assert term.wait_for(exit_line, 60), term.screen()


def test_podman_run_and_exec_with_a_terminal(podman, rootfs, short_dir):
    base = " ".join(podman.base + ["run", "--rm", "-it", "--network", "none", *ULIMITS,
                                   "--rootfs", rootfs, "/bin/sh"])
    with Terminal(os.path.join(short_dir, "tmux.sock"),
                  f"{base}; echo EXITED $?; sleep 100", width=100, height=30) as term:
        _shell_session(term, "EXITED 4")

    cid = podman.run(rootfs, "sleep", "1000", opts=["-d"]).stdout.strip()
    base = " ".join(podman.base + ["exec", "-it", cid, "/bin/sh"])
    with Terminal(os.path.join(short_dir, "tmux2.sock"),
                  f"{base}; echo EXITED $?; sleep 100", width=100, height=30) as term:
        _shell_session(term, "EXITED 4")
    assert podman("rm", "-f", cid).returncode == 0


@pytest.fixture
def netns_pair(short_dir):
    """The container's network namespace, made as CNI makes one: a veth `eth0` with
    10.99.7.2/24 and a default route via 10.99.7.1, whose peer is in a second namespace
    that serves HTTP on 10.99.7.1:8000. Both are removed after the test."""
    tag = os.path.basename(short_dir)[-8:]
    ctr_ns, peer_ns = f"art-c-{tag}", f"art-p-{tag}"
    www = os.path.join(short_dir, "www")
    os.mkdir(www)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("hello over the veth\n")

    def ip(*args):
        subprocess.run(["ip", *args], check=True, capture_output=True)
    server = None
    try:
        for ns in (ctr_ns, peer_ns):
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ctr_ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
           "netns", peer_ns)
        ip("-n", ctr_ns, "addr", "add", "10.99.7.2/24", "dev", "eth0")
        ip("-n", ctr_ns, "link", "set", "eth0", "up")
        ip("-n", ctr_ns, "route", "add", "default", "via", "10.99.7.1")
        ip("-n", peer_ns, "addr", "add", "10.99.7.1/24", "dev", "peer0")
        ip("-n", peer_ns, "link", "set", "peer0", "up")
        server = subprocess.Popen(["ip", "netns", "exec", peer_ns, sys.executable, "-m",
                                   "http.server", "-d", www, "--bind", "10.99.7.1", "8000"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while subprocess.run(["ip", "netns", "exec", peer_ns, sys.executable, "-c",
                              "import socket; socket.create_connection(('10.99.7.1', 8000))"],
                             capture_output=True).returncode != 0:
            assert time.time() < deadline, "the test's HTTP server did not start"
            time.sleep(0.2)
        yield f"/run/netns/{ctr_ns}", ctr_ns
    finally:
        if server:
            server.kill()
            server.wait()
        for ns in (ctr_ns, peer_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_podman_joins_a_network_namespace(podman, rootfs, netns_pair):
    path, ns = netns_pair
    r = podman.run(rootfs, "/bin/sh", "-c",
                   "ip -o addr show eth0; ip route; wget -q -O- http://10.99.7.1:8000/",
                   opts=["--rm"], network=f"ns:{path}")
    assert r.returncode == 0, r.stderr
    assert "10.99.7.2/24" in r.stdout and "default via 10.99.7.1" in r.stdout, r.stdout
    assert r.stdout.endswith("hello over the veth\n"), r.stdout
    # The namespace's link is given back as it was, even after a kill -9 (rm -f).
    cid = podman.run(rootfs, "sleep", "1000", opts=["-d"], network=f"ns:{path}").stdout
    assert podman("rm", "-f", cid.strip()).returncode == 0
    tc = subprocess.run(["tc", "-n", ns, "filter", "show", "dev", "eth0", "ingress"],
                        capture_output=True, text=True)
    assert "bpf" not in tc.stdout, tc.stdout
    r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c",
                        "import urllib.request as u; "
                        "print(u.urlopen('http://10.99.7.1:8000/').read().decode())"],
                       capture_output=True, text=True, timeout=30)
    assert "hello over the veth" in r.stdout, r.stderr


# -- containerd (ctr), through its runc shim with --runc-binary ---------------------------

class Containerd:
    def __init__(self, d, runtime):
        self.rt = runtime
        self.dir = d
        self.sock = os.path.join(d, "ctd.sock")
        # The shim keeps its runtime's state in /run/containerd/runc/<namespace>: a
        # namespace of the test's own, removed with it.
        self.ns = "arcatest" + "".join(ch for ch in os.path.basename(d) if ch.isalnum())
        config = os.path.join(d, "containerd.toml")
        with open(config, "w") as f:
            f.write(f'version = 2\nroot = "{d}/ctd-root"\nstate = "{d}/ctd-state"\n'
                    f'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                    f'[grpc]\n  address = "{self.sock}"\n')
        self.log = open(os.path.join(d, "containerd.log"), "w")
        self.proc = subprocess.Popen(["containerd", "--config", config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while self("version").returncode != 0:
            assert time.time() < deadline, "containerd did not start"
            time.sleep(0.2)

    def __call__(self, *args, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 180)
        return subprocess.run(["ctr", "-a", self.sock, "-n", self.ns, *args], **kw)

    def run(self, *args, opts=()):
        return self("run", "--runtime", "io.containerd.runc.v2", "--runc-binary",
                    self.rt.wrapper, *opts, "docker.io/library/busybox:latest", *args)

    def close(self):
        for task in self("task", "ls", "-q").stdout.split():
            self("task", "kill", "-s", "KILL", task)
            self("task", "delete", "--force", task)
        for c in self("container", "ls", "-q").stdout.split():
            self("container", "rm", c)
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(f"/run/containerd/runc/{self.ns}", ignore_errors=True)


@pytest.fixture(params=["arca", "runc"])
def ctr(request, build_dir, kernel, short_dir):
    if shutil.which("containerd") is None:
        pytest.fail("containerd is missing: tools/install-deps.sh installs it (docker.io)")
    rt = Runtime(request.param, build_dir, kernel, short_dir)
    c = Containerd(short_dir, rt)
    archive = os.path.join(short_dir, "busybox.tar")
    busybox_oci_tar(archive)
    r = c("images", "import", "--index-name", "docker.io/library/busybox:latest", archive)
    assert r.returncode == 0, r.stderr
    yield c
    c.close()
    _check_nothing_left(rt)


def test_ctr_run_exec_kill_delete(ctr):
    r = ctr.run("c1", "sh", "-c", "echo hi from ctr; exit 3", opts=["--rm"])
    assert (r.returncode, r.stdout) == (3, "hi from ctr\n"), r.stderr

    r = ctr.run("c2", "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done",
                opts=["-d"])
    assert r.returncode == 0, r.stderr
    r = ctr("task", "exec", "--exec-id", "e1", "c2", "sh", "-c", "echo in exec; exit 5")
    assert (r.returncode, r.stdout) == (5, "in exec\n"), r.stderr
    assert ctr("task", "pause", "c2").returncode == 0
    assert "PAUSED" in ctr("task", "ls").stdout
    assert ctr("task", "resume", "c2").returncode == 0
    assert "RUNNING" in ctr("task", "ls").stdout
    assert ctr("task", "kill", "c2").returncode == 0
    deadline = time.time() + 30
    while "STOPPED" not in ctr("task", "ls").stdout and time.time() < deadline:
        time.sleep(0.2)
    r = ctr("task", "delete", "c2")
    assert r.returncode == 0, r.stderr
    assert "exit code 7" in r.stderr, r.stderr  # ctr warns of a non-zero exit
    assert ctr("container", "rm", "c2").returncode == 0


# -- arca-runtime alone, on a bundle ---------------------------------------------------

def _bundle(tmp_path, rootfs, args, **extra):
    b = tmp_path / "bundle"
    b.mkdir(exist_ok=True)
    config = {
        "ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "args": args, "cwd": "/",
                    "env": ["PATH=/bin"]},
        "root": {"path": rootfs},
        "hostname": "bundle",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "mount"}]},
    }
    config.update(extra)
    (b / "config.json").write_text(json.dumps(config))
    return str(b)


@pytest.fixture
def arca_rt(build_dir, kernel, short_dir):
    rt = Runtime("arca", build_dir, kernel, short_dir)
    yield rt
    for cid in os.listdir(rt.root) if os.path.isdir(rt.root) else []:
        rt.run("delete", "--force", cid)
    _check_nothing_left(rt)


def _wait_gone(pid, timeout=60):
    deadline = time.time() + timeout
    while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.05)


def test_runtime_lifecycle_and_state(arca_rt, rootfs, tmp_path):
    bundle = _bundle(tmp_path, rootfs, ["/bin/sh", "-c", "echo started > /tmp/mark; sleep 1000"],
                     annotations={"a": "b"})
    pid_file = str(tmp_path / "pid")
    r = arca_rt.create(bundle, "c1", "--pid-file", pid_file)
    assert r.returncode == 0, r.stderr
    pid = int(open(pid_file).read())
    st = json.loads(arca_rt.run("state", "c1").stdout)
    assert st["status"] == "created" and st["pid"] == pid and st["bundle"] == bundle
    assert st["id"] == "c1" and st["annotations"] == {"a": "b"} and st["rootfs"] == rootfs
    r = arca_rt.create(bundle, "c1")
    assert r.returncode == 1 and "exists" in r.stderr

    assert arca_rt.run("start", "c1").returncode == 0
    assert json.loads(arca_rt.run("state", "c1").stdout)["status"] == "running"
    r = arca_rt.run("start", "c1")
    assert r.returncode == 1 and "running" in r.stderr
    # The bundle's rootfs is the container's root, shared: its writes reach the host.
    deadline = time.time() + 30
    while not os.path.exists(os.path.join(rootfs, "tmp/mark")) and time.time() < deadline:
        time.sleep(0.1)
    assert open(os.path.join(rootfs, "tmp/mark")).read() == "started\n"
    r = arca_rt.run("delete", "c1")
    assert r.returncode == 1 and "not stopped" in r.stderr
    listed = json.loads(arca_rt.run("list", "--format", "json").stdout)
    assert [c["id"] for c in listed] == ["c1"]
    # ps: the container's host processes, its cgroup's: the monitor and the VM's.
    pids = json.loads(arca_rt.run("ps", "--format", "json", "c1").stdout)
    assert pid in pids and len(pids) >= 3, pids
    r = arca_rt.run("update", "--resources", "-", "c1", input="{}")
    assert r.returncode == 1 and "fixed at create" in r.stderr

    assert arca_rt.run("kill", "c1", "KILL").returncode == 0
    _wait_gone(pid)
    assert json.loads(arca_rt.run("state", "c1").stdout)["status"] == "stopped"
    r = arca_rt.run("kill", "c1", "TERM")
    assert r.returncode == 1 and "container not running" in r.stderr
    assert arca_rt.run("delete", "c1").returncode == 0
    r = arca_rt.run("state", "c1")
    assert r.returncode == 1 and "does not exist" in r.stderr
    # Gone already: --force succeeds, as runc's.
    assert arca_rt.run("delete", "--force", "c1").returncode == 0


def test_runtime_errors_go_to_the_json_log(arca_rt, rootfs, tmp_path):
    log = tmp_path / "log.json"
    bundle = _bundle(tmp_path, rootfs, ["/bin/true"], linux={"namespaces": []})
    r = arca_rt.run("--log", str(log), "--log-format", "json", "create", "--bundle", bundle, "c2")
    assert r.returncode == 1
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and "host networking" in entry["msg"], entry
    r = arca_rt.run("--log", str(log), "--log-format", "json", "kill", "nosuch", "TERM")
    assert r.returncode == 1
    assert "does not exist" in json.loads(log.read_text().splitlines()[-1])["msg"]
    assert not os.path.exists(os.path.join(arca_rt.root, "c2"))

    bundle = _bundle(tmp_path, rootfs, [])
    r = arca_rt.run("create", "--bundle", bundle, "c3")
    assert r.returncode == 1 and "process.args" in r.stderr, r.stderr
    bundle = _bundle(tmp_path, rootfs, ["/bin/true"],
                     mounts=[{"destination": "/x", "type": "nfs", "source": "h:/x"}])
    r = arca_rt.run("create", "--bundle", bundle, "c3")
    assert r.returncode == 1 and "nfs" in r.stderr


def test_runtime_a_killed_monitor_takes_its_vm(arca_rt, rootfs, tmp_path):
    """kill -9 of the process the caller waits on ends the VM with it (QEMU and virtiofsd
    die with their parent), and delete leaves nothing under --root."""
    bundle = _bundle(tmp_path, rootfs, ["sleep", "1000"])
    pid_file = str(tmp_path / "pid")
    r = arca_rt.create(bundle, "c5", "--pid-file", pid_file)
    assert r.returncode == 0, r.stderr
    assert arca_rt.run("start", "c5").returncode == 0
    assert qemu_pids_under(arca_rt.vm_dir)
    os.kill(int(open(pid_file).read()), signal.SIGKILL)
    deadline = time.time() + 30
    while qemu_pids_under(arca_rt.vm_dir) and time.time() < deadline:
        time.sleep(0.1)
    assert not qemu_pids_under(arca_rt.vm_dir)
    assert json.loads(arca_rt.run("state", "c5").stdout)["status"] == "stopped"
    assert arca_rt.run("delete", "c5").returncode == 0
    assert os.listdir(arca_rt.root) == []


def test_runtime_killed_exec_proxy_kills_its_process(arca_rt, rootfs, tmp_path):
    bundle = _bundle(tmp_path, rootfs, ["sleep", "1000"])
    r = arca_rt.create(bundle, "c4")
    assert r.returncode == 0, r.stderr
    assert arca_rt.run("start", "c4").returncode == 0
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({"args": ["sh", "-c", "echo $$ > /tmp/exec.pid; sleep 1000"],
                                "cwd": "/", "env": ["PATH=/bin"]}))
    pid_file = str(tmp_path / "exec.pid")
    r = arca_rt.run("exec", "--process", str(proc), "--detach", "--pid-file", pid_file, "c4",
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    capture_output=False)
    assert r.returncode == 0, r.stderr
    mark, guest_pid, deadline = os.path.join(rootfs, "tmp/exec.pid"), "", time.time() + 30
    while not guest_pid.endswith("\n") and time.time() < deadline:
        time.sleep(0.1)
        guest_pid = open(mark).read() if os.path.exists(mark) else ""
    guest_pid = guest_pid.strip()
    assert guest_pid.isdigit(), guest_pid
    os.kill(int(open(pid_file).read()), signal.SIGKILL)
    # The guest process goes too: a check from inside no longer finds it.
    deadline = time.time() + 30
    while time.time() < deadline:
        r = arca_rt.run("exec", "c4", "sh", "-c", f"test -d /proc/{guest_pid}")
        if r.returncode == 1:
            break
        time.sleep(0.2)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert arca_rt.run("delete", "--force", "c4").returncode == 0
