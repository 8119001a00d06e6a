"""A private arcad for tests: temporary data root, socket and run directory.

Daemon(build).start() launches arcad; .env gives DOCKER_HOST (and a private
DOCKER_CONFIG so no login of this machine is used or changed); .stop() sends
SIGTERM, waits, and checks that no VM process is left behind.
"""
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
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}",
                        DOCKER_CONFIG=self.config_dir)
        self.env.pop("DOCKER_CONTEXT", None)

    def start(self):
        log = open(self.log_path, "a")
        env = dict(os.environ, ARCA_KERNEL=self.kernel,
                   ARCA_INITRAMFS=os.path.join(self.build, "src/guest-init/arca-initramfs.cpio"))
        self.proc = subprocess.Popen(
            [os.path.join(self.build, "src/daemon/arcad"), "-H", f"unix://{self.sock}",
             "--data-root", self.root, "--exec-root", self.run_dir] + (["-D"] if os.environ.get("ARCA_TEST_DEBUG") else []),
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
        left = qemu_pids(self.run_dir)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)
        return left
