"""`arca vm run`: the guest foundation end to end (issue: guest foundation).

Each test boots real VMs (TCG here, KVM where usable) with Arca's kernel and
arca-init, and drives them only through the CLI.
"""
import hashlib
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import qemu_pids_under
from terminal import Terminal


def test_streams_and_exit_code(arca):
    r = arca.run("--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.stdout == b"out\n"
    assert r.stderr == b"err\n"
    assert r.returncode == 3


def test_sigterm_is_forwarded_and_nothing_is_left(arca):
    p = arca.popen("--", "sleep", "100", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Wait until the guest process runs: the VM's QEMU is up and its console shows init.
    deadline = time.time() + 60
    while time.time() < deadline and not qemu_pids_under(arca.rundir):
        time.sleep(0.1)
    time.sleep(3)  # boot (TCG) and start `sleep`
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert not qemu_pids_under(arca.rundir)
    assert os.listdir(arca.rundir) == []


def test_exit_by_signal_is_128_plus_signo(arca):
    r = arca.run("--", "/bin/sh", "-c", "kill -KILL $$")
    assert r.returncode == 137


def test_exec_failures_exit_like_a_shell(arca):
    r = arca.run("--", "no-such-command")
    assert r.returncode == 127
    assert b"executable file not found in $PATH" in r.stderr
    r = arca.run("--", "/etc/passwd")
    assert r.returncode == 126
    assert b"Permission denied" in r.stderr
    r = arca.run("-w", "/nowhere", "--", "pwd")
    assert r.returncode == 126
    assert b"chdir" in r.stderr


def test_user_env_workdir(arca):
    r = arca.run("-u", "nobody", "-w", "/tmp", "-e", "FOO=bar", "--",
                 "/bin/sh", "-c", "id -u; pwd; echo $FOO; echo $HOME")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split() == ["65534", "/tmp", "bar", "/nonexistent"]
    r = arca.run("-u", "ghost", "--", "true")
    assert r.returncode == 126
    assert b"unable to find user ghost" in r.stderr


def test_orphans_are_reaped(arca):
    # A grandchild orphaned to PID 1 must not stay a zombie.
    script = "sh -c 'sleep 0.2 &'; sleep 1; ps -o stat | grep -c '^Z' || true"
    r = arca.run("--", "/bin/sh", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == b"0"


def test_stdin_stream_is_byte_identical_and_memory_bounded(arca):
    size = int(os.environ.get("ARCA_TEST_STREAM_BYTES", str(1 << 30)))
    p = arca.popen("-i", "--", "cat", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    h_in, h_out = hashlib.sha256(), hashlib.sha256()
    rss = []
    stop = threading.Event()

    def feed():
        block = os.urandom(1 << 20)
        sent = 0
        while sent < size:
            chunk = block[: min(len(block), size - sent)]
            h_in.update(chunk)
            p.stdin.write(chunk)
            sent += len(chunk)
        p.stdin.close()

    def sample():
        while not stop.is_set():
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss.append(int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.2)

    feeder = threading.Thread(target=feed)
    sampler = threading.Thread(target=sample)
    feeder.start()
    sampler.start()
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk:
            break
        h_out.update(chunk)
    feeder.join()
    p.wait(timeout=120)
    stop.set()
    sampler.join()
    assert p.returncode == 0, p.stderr.read()
    assert h_out.hexdigest() == h_in.hexdigest()
    # Flow control: the CLI never holds more than its windows, whatever the size.
    assert rss and max(rss) < 64 * 1024, f"CLI RSS peaked at {max(rss)} KiB"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tty_interactive_with_resize(arca, tmp_path):
    env = " ".join(f"{k}={v}" for k, v in arca.env.items() if k.startswith("ARCA_"))
    cmd = f"env {env} {' '.join(arca.cmd('-t', '-i', '--', '/bin/sh'))}; echo EXIT=$?; sleep 60"
    with Terminal(str(tmp_path / "tmux.sock"), cmd) as t:
        assert t.wait_for("/ #"), t.screen()
        t.type("stty size")
        assert t.wait_for("30 100"), t.screen()
        t.resize(120, 40)
        time.sleep(1)
        t.type("stty size")
        assert t.wait_for("40 120"), t.screen()
        t.type("exit 7")
        assert t.wait_for("EXIT=7"), t.screen()


def test_rootfs_image(arca, tmp_path):
    tree = tmp_path / "tree"
    (tree / "bin").mkdir(parents=True)
    (tree / "etc").mkdir()
    shutil.copy("/bin/busybox", tree / "bin" / "busybox")
    for applet in ("sh", "cat", "ls"):
        os.symlink("busybox", tree / "bin" / applet)
    (tree / "etc" / "some-file").write_text("from the image\n")
    img = tmp_path / "root.ext4"
    subprocess.run(["truncate", "-s", "32M", str(img)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(img)], check=True)
    before = hashlib.sha256(img.read_bytes()).hexdigest()

    r = arca.run("--rootfs", str(img), "--", "cat", "/etc/some-file")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"from the image\n"
    # Writes land in a throwaway layer: the image is untouched.
    r = arca.run("--rootfs", str(img), "--", "/bin/sh", "-c", "echo x > /etc/some-file")
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(img.read_bytes()).hexdigest() == before


def test_bad_arguments(arca):
    r = arca.run("--memory", "lots", "--", "true")
    assert r.returncode == 2
    assert b"invalid number" in r.stderr
    r = arca.run("--rootfs", "/nonexistent.ext4", "--", "true")
    assert r.returncode == 2
    assert b"/nonexistent.ext4" in r.stderr
    r = subprocess.run([arca.bin, "vm", "run"], capture_output=True, env=arca.env)
    assert r.returncode == 2
    assert b"usage" in r.stderr


def test_twenty_vms_four_at_once_leave_nothing(arca):
    helper = os.path.join(arca.build, "tests/unit/vm-cycle")
    r = subprocess.run([helper, arca.rundir, "20", "4"], env=arca.env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "fds_before=" in r.stdout


def test_debian_kernel_fallback(arca, tmp_path):
    """Debian's packaged (modular) kernel boots on q35 with arca-init loading its modules."""
    script = os.path.join(os.path.dirname(__file__), "../../guest-image/debian-kernel.sh")
    r = subprocess.run([script, arca.build], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        pytest.skip(f"Debian kernel package unavailable: {r.stderr.strip()[-200:]}")
    kernel, initramfs = r.stdout.split()
    res = arca.run("--kernel", kernel, "--initramfs", initramfs, "--",
                   "/bin/sh", "-c", "uname -r; echo err >&2; exit 4", timeout=300)
    assert res.returncode == 4, res.stderr
    assert res.stdout.decode().strip().endswith("-cloud-amd64")
    assert res.stderr == b"err\n"
