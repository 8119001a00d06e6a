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
