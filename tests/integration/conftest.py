"""Fixtures for Arca's integration tests: real binaries, real VMs.

Every test gets a private runtime directory; after it, the fixture checks
that no VM process and no run directory is left behind.
"""
import os
import shutil
import subprocess
import time

import docker
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ARCA_BUILD_DIR", os.path.join(ROOT, "build"))


def _kernel_path():
    for p in (os.environ.get("ARCA_KERNEL"),
              os.path.join(os.environ.get("ARCA_CACHE_DIR", "/var/cache/arca"),
                           "kernel/current/vmlinux")):
        if p and os.path.exists(p):
            return p
    return None


@pytest.fixture(scope="session")
def build_dir():
    arca = os.path.join(BUILD, "src/cli/arca")
    if not os.path.exists(arca):
        pytest.fail(f"{arca} missing: build the project first (tools/test.sh does)")
    return BUILD


@pytest.fixture(scope="session")
def kernel():
    k = _kernel_path()
    if not k:
        pytest.skip("no guest kernel: run guest-image/build-kernel.sh (tools/test.sh does)")
    return k


def qemu_pids_under(path):
    """PIDs of QEMU processes whose command line mentions path."""
    out = subprocess.run(["pgrep", "-f", "qemu-system"], capture_output=True, text=True)
    pids = []
    for pid in out.stdout.split():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if path in cmd and state != "Z":
            pids.append(int(pid))
    return pids


class Arca:
    def __init__(self, build, kernel, rundir, tmp):
        self.bin = os.path.join(build, "src/cli/arca")
        self.build = build
        self.rundir = rundir
        self.tmp = tmp
        self.env = dict(os.environ)
        self.env.update({
            "ARCA_KERNEL": kernel,
            "ARCA_INITRAMFS": os.path.join(build, "src/guest-init/arca-initramfs.cpio"),
            "ARCA_RUNTIME_DIR": rundir,
        })

    def cmd(self, *args):
        return [self.bin, "vm", "run", "--console-log", os.path.join(self.tmp, "console.log"),
                *args]

    def run(self, *args, timeout=120, **kw):
        kw.setdefault("capture_output", True)
        return subprocess.run(self.cmd(*args), env=self.env, timeout=timeout, **kw)

    def popen(self, *args, **kw):
        return subprocess.Popen(self.cmd(*args), env=self.env, **kw)


@pytest.fixture
def arca(build_dir, kernel, tmp_path):
    rundir = str(tmp_path / "run")
    a = Arca(build_dir, kernel, rundir, str(tmp_path))
    yield a
    # Nothing may be left behind: no VM process, no run directory.
    deadline = time.time() + 5
    while qemu_pids_under(rundir) and time.time() < deadline:
        time.sleep(0.1)
    left = qemu_pids_under(rundir)
    for pid in left:
        os.kill(pid, 9)
    leftovers = os.listdir(rundir) if os.path.isdir(rundir) else []
    shutil.rmtree(rundir, ignore_errors=True)
    assert not left, f"VM processes left behind: {left}"
    assert not leftovers, f"run directories left behind: {leftovers}"


@pytest.fixture
def arcad(build_dir, kernel):
    """A running arcad with the busybox test image loaded as busybox:latest."""
    from daemon import Daemon, checked
    with checked(Daemon(build_dir, kernel)) as d:
        yield d


@pytest.fixture
def client(arcad):
    """docker-py against the test's arcad (the API version it announces)."""
    c = docker.DockerClient(base_url=arcad.env["DOCKER_HOST"], version="auto", timeout=180)
    yield c
    c.close()
