"""Live restore: kill -9 arcad while containers run; a new arcad adopts their VMs.

Issue: state that survives. The VMs are not the daemon's children in spirit (no
death signal): each keeps running when arcad dies, and the next arcad
re-attaches over their QMP and channel sockets and adopts each main process.
"""
import json
import os
import signal
import subprocess
import time

from daemon import Daemon, qemu_pids

COUNTER = "i=0; while true; do echo n $i; i=$((i+1)); sleep 0.05; done"


def state(arcad, name):
    return json.loads(arcad.docker("inspect", name, "--format", "{{json .State}}").stdout)


def numbers(text):
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith("n ")]


def test_kill9_keeps_containers_running(arcad):
    names = ["lr1", "lr2", "lr3", "lr4"]
    arcad.docker("run", "-d", "--name", "counter", "busybox", "sh", "-c", COUNTER)
    for n in names:
        arcad.docker("run", "-d", "--name", n, "busybox", "sleep", "1000")
    arcad.docker("pause", "lr4")
    follower = subprocess.Popen(["docker", "logs", "-f", "counter"], env=arcad.env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(2)
    before = {n: state(arcad, n) for n in names + ["counter"]}
    arcad.restart(hard=True)  # SIGKILL: nothing is cleaned up, nothing is stopped
    follower.wait(timeout=30)  # its connection died with the daemon
    for n in names + ["counter"]:
        st = state(arcad, n)
        assert st["Status"] == ("paused" if n == "lr4" else "running"), (n, st)
        assert st["StartedAt"] == before[n]["StartedAt"]
        assert st["Pid"] == before[n]["Pid"]
    arcad.docker("unpause", "lr4")
    for n in names + ["counter"]:
        assert arcad.docker("exec", n, "echo", "ok").stdout == "ok\n"
    # The log goes on without a gap: what the guest had sent but the dead daemon never
    # wrote is sent again (a line may come twice, none is lost).
    time.sleep(1.5)
    seen = numbers(arcad.docker("logs", "counter").stdout)
    assert seen[0] == 0 and seen[-1] > 40
    assert set(seen) == set(range(seen[-1] + 1))
    # And the restored containers stop, restart and go as any other.
    arcad.docker("stop", "-t", "1", "lr1")
    assert state(arcad, "lr1")["Status"] == "exited"
    arcad.docker("rm", "-f", *names, "counter")
    assert arcad.docker("ps", "-aq").stdout == ""


def test_vm_gone_while_daemon_was_down(arcad):
    cid = arcad.docker("run", "-d", "--name", "victim", "busybox", "sleep", "1000").stdout.strip()
    arcad.docker("run", "-d", "--name", "survivor", "busybox", "sleep", "1000")
    arcad.proc.send_signal(signal.SIGKILL)
    arcad.proc.wait(timeout=30)
    # Kill the victim's VMM behind the dead daemon's back.
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"qemu" in cmd and cid.encode() in cmd:
            os.kill(int(pid), signal.SIGKILL)
    time.sleep(0.5)
    arcad.start()
    st = state(arcad, "victim")
    assert st["Status"] == "exited" and "could not re-attach" in st["Error"]
    assert state(arcad, "survivor")["Status"] == "running"
    assert arcad.docker("exec", "survivor", "true").returncode == 0
    arcad.docker("start", "victim")  # its run directory was cleaned: it starts again
    assert arcad.docker("exec", "victim", "true").returncode == 0
    arcad.docker("rm", "-f", "victim", "survivor")


def test_a_start_cut_by_kill9_leaves_no_vm(arcad):
    """The daemon dies while a start boots the VM (no main process yet, nothing to
    adopt): the next daemon ends that VM, found by its run directory's PID file even
    before QEMU answers on QMP, and the container starts again (its TAP name free)."""
    cid = arcad.docker("create", "--name", "cut", "busybox", "sleep", "1000").stdout.strip()
    starter = subprocess.Popen(["docker", "start", "cut"], env=arcad.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = os.path.join(arcad.run_dir, cid)
    deadline = time.time() + 30
    while not qemu_pids(marker) and time.time() < deadline:
        time.sleep(0.005)
    vmms = qemu_pids(marker)
    assert vmms, "the start spawned no VM"
    arcad.restart(hard=True)  # as soon as QEMU runs: before it serves QMP, mostly
    starter.wait(timeout=30)
    assert qemu_pids(marker) == []
    assert state(arcad, "cut")["Status"] in ("created", "exited")
    arcad.docker("start", "cut")
    assert arcad.docker("exec", "cut", "true").returncode == 0
    arcad.docker("rm", "-f", "cut")


def test_sigterm_with_live_restore(build_dir, kernel):
    """live-restore: true (as arcad.service's systemctl restart needs it): a SIGTERM'd
    arcad leaves its running and paused containers running, with their network and
    published ports, and the next arcad adopts them. Turned off by a reload, the next
    SIGTERM stops them again (143), as dockerd without live restore does."""
    d = Daemon(build_dir, kernel)
    d.config = {"live-restore": True}
    try:
        d.start()
        d.load_busybox()
        assert d.docker("info", "--format", "{{.LiveRestoreEnabled}}").stdout.strip() == "true"
        d.docker("network", "create", "lrnet")
        d.docker("run", "-d", "--name", "web", "--network", "lrnet", "-p", "127.0.0.1:18080:80",
                 "busybox", "sh", "-c", "echo hello > /index.html; httpd -f -p 80 -h /")
        d.docker("run", "-d", "--name", "counter", "busybox", "sh", "-c", COUNTER)
        d.docker("run", "-d", "--name", "frozen", "busybox", "sleep", "1000")
        d.docker("pause", "frozen")
        url = ["curl", "-sf", "--max-time", "5", "http://127.0.0.1:18080/index.html"]
        for _ in range(50):
            if d.ns(url, check=False).stdout == "hello\n":
                break
            time.sleep(0.2)
        assert d.ns(url, check=False).stdout == "hello\n"
        names = ["web", "counter", "frozen"]
        before = {n: state(d, n) for n in names}
        vmms = sorted(qemu_pids(d.run_dir))
        assert len(vmms) == 3
        d.proc.terminate()
        d.proc.wait(timeout=30)
        assert d.log().count("left running (live restore)") == 3
        assert sorted(qemu_pids(d.run_dir)) == vmms  # no daemon, still running
        d.start()
        for n in names:
            st = state(d, n)
            assert st["Status"] == ("paused" if n == "frozen" else "running"), (n, st)
            assert st["StartedAt"] == before[n]["StartedAt"] and st["Pid"] == before[n]["Pid"]
        assert d.ns(url, check=False).stdout == "hello\n"  # the port is bound again
        # Its network works for a container started after the restart (name and route).
        assert d.docker("run", "--rm", "--network", "lrnet", "busybox", "wget", "-qO-",
                        "http://web/index.html").stdout == "hello\n"
        d.docker("unpause", "frozen")
        assert d.docker("exec", "frozen", "echo", "ok").stdout == "ok\n"
        time.sleep(1)
        seen = numbers(d.docker("logs", "counter").stdout)
        assert seen[0] == 0 and set(seen) == set(range(seen[-1] + 1))  # no gap
        # A reload turns it off; the next SIGTERM stops them.
        with open(d.config_file, "w") as f:
            json.dump({"live-restore": False}, f)
        d.proc.send_signal(signal.SIGHUP)
        for _ in range(100):
            if "reloaded the configuration" in d.log():
                break
            time.sleep(0.1)
        d.proc.terminate()
        d.proc.wait(timeout=30)
        assert qemu_pids(d.run_dir) == []
        d.config = {"live-restore": False}
        d.start()
        for n in ["web", "counter"]:
            st = state(d, n)
            assert st["Status"] == "exited" and st["ExitCode"] == 143, (n, st)
        d.docker("rm", "-f", *names)
        d.docker("network", "rm", "lrnet")
    finally:
        left = d.stop()
        assert not left and not d.leftover_links
