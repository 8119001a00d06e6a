"""arcad under a real systemd (issue 17): arcad.socket and arcad.service as meson
installs them, run by systemd as PID 1 of a systemd-nspawn container.

These machines have no systemd as PID 1, so the test boots one: the container's root
is an overlay of this machine's own root filesystem with a tmpfs on top (nothing it
writes reaches the host), in a mount namespace of its own and in a network namespace
of the test's, where arcad makes its bridges and firewall. systemd starts on a cgroup2
hierarchy mounted for it (the host's named v1 hierarchy is not one nspawn can use).
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from daemon import busybox_oci_tar

NSPAWN = shutil.which("systemd-nspawn")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# sh -c BOOT boot MNT PREP [--bind-ro=PATH ...]: the overlay has the root filesystem only,
# and nspawn puts a tmpfs on /tmp, so the build (anywhere, /tmp included) is bound in.
BOOT = """set -e
mount --make-rprivate /
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=0755 tmpfs "$1"
mkdir "$1/up" "$1/work" "$1/root"
cp -a "$2/." "$1/up/"
mount -t overlay overlay -o "lowerdir=/,upperdir=$1/up,workdir=$1/work" "$1/root"
# arcad's networking: /proc/sys/net writable, and bpf() for its tc programs.
export SYSTEMD_NSPAWN_API_VFS_WRITABLE=network
root="$1/root"
shift 2
exec systemd-nspawn --register=no --keep-unit --capability=all --quiet \\
    --system-call-filter=bpf "$@" -D "$root" -M arca-systemd -b -- --unit=basic.target
"""


class Booted:
    """A systemd container: run() executes a command inside it, as root."""

    def __init__(self, build, kernel):
        build = os.path.abspath(build)
        self.binds = sorted({build, os.path.dirname(os.path.abspath(kernel)),
                             os.path.dirname(os.path.realpath(kernel))})
        self.netns = f"arca-sd{os.getpid()}"
        self.dir = tempfile.mkdtemp(prefix="arca-sd-", dir="/var/tmp")
        self.prep = os.path.join(self.dir, "prep")
        self.mnt = os.path.join(self.dir, "mnt")
        os.makedirs(self.mnt)
        self.proc = None
        self.pid1 = None
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        try:
            subprocess.run(["ip", "netns", "exec", self.netns, "ip", "link", "set", "lo",
                            "up"], check=True)
            self._prepare(build, kernel)
        except BaseException:
            self.close()
            raise

    def _put(self, path, text, mode=0o644):
        full = os.path.join(self.prep, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        os.chmod(full, mode)

    def _prepare(self, build, kernel):
        build = os.path.abspath(build)
        # arcad.service is configured into the build (its ExecStart), arcad.socket is not.
        for unit in [os.path.join(build, "dist/systemd/arcad.service"),
                     os.path.join(ROOT, "dist/systemd/arcad.socket")]:
            with open(unit) as f:
                self._put(f"/etc/systemd/system/{os.path.basename(unit)}", f.read())
        # The units as shipped; a drop-in runs this build's arcad on this kernel.
        arcad = os.path.join(build, "src/daemon/arcad")
        initramfs = os.path.join(build, "src/guest-init/arca-initramfs.cpio")
        self._put("/etc/systemd/system/arcad.service.d/test.conf",
                  f"[Service]\nEnvironment=ARCA_KERNEL={kernel} ARCA_INITRAMFS={initramfs}\n"
                  f"ExecStart=\nExecStart={arcad}\n")
        self._put("/etc/arca/daemon.json", json.dumps({"live-restore": True}))
        # This machine's own services stay down: only what the test starts runs.
        for unit in ["docker.service", "docker.socket", "containerd.service"]:
            os.makedirs(os.path.join(self.prep, "etc/systemd/system"), exist_ok=True)
            os.symlink("/dev/null", os.path.join(self.prep, "etc/systemd/system", unit))
        os.makedirs(os.path.join(self.prep, "root"), mode=0o700, exist_ok=True)
        busybox_oci_tar(os.path.join(self.prep, "root/busybox.tar"))

    def boot(self):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "unshare", "-m", "sh", "-c", BOOT, "boot",
             self.mnt, self.prep] + [f"--bind-ro={b}" for b in self.binds],
            stdin=subprocess.DEVNULL, stdout=open(os.path.join(self.dir, "console.log"), "w"),
            stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            kids = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-x", "systemd-nspawn"],
                                  capture_output=True, text=True).stdout.split()
            nspawn = kids[0] if kids else (
                str(self.proc.pid) if self._comm(self.proc.pid) == "systemd-nspawn" else None)
            if nspawn:
                inner = subprocess.run(["pgrep", "-P", nspawn], capture_output=True,
                                       text=True).stdout.split()
                if inner:
                    self.pid1 = int(inner[0])
                    state = self.run("systemctl", "is-system-running", check=False).stdout
                    if state.strip() in ("running", "degraded"):
                        return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError("systemd did not boot:\n" + self.console())

    @staticmethod
    def _comm(pid):
        try:
            with open(f"/proc/{pid}/comm") as f:
                return f.read().strip()
        except OSError:
            return ""

    def console(self):
        with open(os.path.join(self.dir, "console.log"), errors="replace") as f:
            return f.read()[-3000:]

    def run(self, *argv, check=True, timeout=180):
        r = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", "--", "env", "HOME=/root",
                            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            *argv], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            journal = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", "--", "journalctl",
                                      "-u", "arcad", "--no-pager", "-n", "40"],
                                     capture_output=True, text=True).stdout
            raise AssertionError(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}\n"
                                 f"{r.stderr}\n--- journal of arcad ---\n{journal}")
        return r

    def close(self):
        if self.proc and self.proc.poll() is None:
            if self.pid1:
                self.run("systemctl", "stop", "arcad.service", "arcad.socket", check=False)
                os.kill(self.pid1, signal.SIGRTMIN + 4)  # poweroff, as machinectl asks
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                subprocess.run(["pkill", "-KILL", "-P", str(self.proc.pid)], check=False)
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["ip", "netns", "delete", self.netns], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.skipif(not NSPAWN, reason="systemd-nspawn (systemd-container) is not installed")
def test_units_under_systemd(build_dir, kernel):
    box = Booted(build_dir, kernel)
    try:
        box.boot()
        # The machine's own group may be there already (tools/setup.sh makes it).
        box.run("sh", "-c", "getent group arca >/dev/null || groupadd --system arca")
        box.run("systemctl", "start", "arcad.socket")
        st = box.run("stat", "-c", "%U:%G %a", "/run/arca/arca.sock").stdout.split()
        assert st == ["root:arca", "660"], st
        assert box.run("systemctl", "is-active", "arcad.service", check=False).stdout.strip() \
            == "inactive"
        # So may the machine's context `arca` (tools/setup.sh makes it): made afresh here, in
        # the box's overlay, which the machine never sees.
        box.run("docker", "context", "rm", "-f", "arca", check=False)
        box.run("docker", "context", "create", "arca", "--docker",
                "host=unix:///run/arca/arca.sock")
        # The first connection starts arcad.service (Type=notify: ready once it serves).
        image = box.run("docker", "--context", "arca", "load", "-q", "-i",
                        "/root/busybox.tar").stdout.split()[-1]
        assert box.run("systemctl", "is-active", "arcad.service").stdout.strip() == "active"
        box.run("docker", "--context", "arca", "tag", image, "busybox:latest")
        assert box.run("docker", "--context", "arca", "run", "--rm", "busybox",
                       "echo", "hi").stdout == "hi\n"
        box.run("docker", "--context", "arca", "run", "-d", "--name", "keep", "busybox",
                "sleep", "1000")
        before = json.loads(box.run("docker", "--context", "arca", "inspect", "keep",
                                    "--format", "{{json .State}}").stdout)
        main_pid = box.run("systemctl", "show", "-p", "MainPID", "--value",
                           "arcad.service").stdout.strip()
        # A restart of the service keeps the container running (KillMode=process and
        # live-restore): the new arcad adopts its VM.
        box.run("systemctl", "restart", "arcad.service")
        assert box.run("systemctl", "show", "-p", "MainPID", "--value",
                       "arcad.service").stdout.strip() != main_pid
        after = json.loads(box.run("docker", "--context", "arca", "inspect", "keep",
                                   "--format", "{{json .State}}").stdout)
        assert after["Running"] and after["StartedAt"] == before["StartedAt"], after
        assert box.run("docker", "--context", "arca", "exec", "keep", "echo",
                       "ok").stdout == "ok\n"
        # systemctl reload: SIGHUP, the file read again.
        box.run("sh", "-c", "echo '{\"labels\": [\"via=reload\"]}' > /etc/arca/daemon.json")
        box.run("systemctl", "reload", "arcad.service")
        labels = ""
        for _ in range(50):
            labels = box.run("docker", "--context", "arca", "info", "--format",
                             "{{json .Labels}}").stdout.strip()
            if labels == '["via=reload"]':
                break
            time.sleep(0.2)
        assert labels == '["via=reload"]'
        journal = box.run("journalctl", "-u", "arcad", "--no-pager").stdout
        assert "reloaded the configuration" in journal and "left running" in journal
        # Live restore is off now: stopping the service stops the container.
        box.run("systemctl", "stop", "arcad.service")
        assert "qemu" not in box.run("ps", "-eo", "comm").stdout
        box.run("docker", "--context", "arca", "rm", "keep")  # starts arcad again
        box.run("systemctl", "stop", "arcad.service", "arcad.socket")
        journal = box.run("journalctl", "-u", "arcad", "--no-pager").stdout
        assert "Sanitizer" not in journal and "runtime error:" not in journal, journal
    finally:
        box.close()
