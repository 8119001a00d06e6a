"""Restart policies and docker update against arcad (issue: state that survives)."""
import json
import time

import pytest


def state(arcad, name):
    return json.loads(arcad.docker("inspect", name, "--format", "{{json .State}}").stdout)


def wait_for(cond, timeout=120, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def events(arcad, since, name):
    out = arcad.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                       "--filter", f"container={name}", "--format", "{{json .}}").stdout
    return [json.loads(line) for line in out.splitlines()]


def test_on_failure_restarts_exactly_twice_with_backoff(arcad):
    t0 = time.time()
    arcad.docker("run", "-d", "--name", "fails", "--restart=on-failure:2", "busybox",
                 "sh", "-c", "exit 1")
    # Done when it is exited, not restarting, and has died three times.
    wait_for(lambda: len([m for m in events(arcad, t0, "fails") if m["Action"] == "die"]) == 3
             and state(arcad, "fails")["Status"] == "exited", what="three runs")
    time.sleep(2)  # a wrong fourth restart would come within the back-off
    st = state(arcad, "fails")
    assert st["Status"] == "exited" and st["ExitCode"] == 1 and not st["Restarting"]
    info = json.loads(arcad.docker("inspect", "fails").stdout)[0]
    assert info["RestartCount"] == 2
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    evs = events(arcad, t0, "fails")
    actions = [m["Action"] for m in evs if m["Action"] in ("start", "die")]
    assert actions == ["start", "die"] * 3
    # The back-off doubles from 100 ms: each gap between a die and the next start is at least it.
    t = {(m["Action"], i): m["timeNano"] for i, m in enumerate(evs)}
    dies = [v for (a, _), v in sorted(t.items(), key=lambda kv: kv[1]) if a == "die"]
    starts = [v for (a, _), v in sorted(t.items(), key=lambda kv: kv[1]) if a == "start"]
    assert starts[1] - dies[0] >= 100_000_000 and starts[2] - dies[1] >= 200_000_000
    # A manual start resets the count, as dockerd's restart manager does.
    arcad.docker("start", "fails")
    wait_for(lambda: state(arcad, "fails")["Status"] == "restarting"
             or json.loads(arcad.docker("inspect", "fails").stdout)[0]["RestartCount"] >= 1,
             what="a restart after the manual start")
    arcad.docker("stop", "fails")  # stops a restarting container for good
    time.sleep(1)
    assert state(arcad, "fails")["Status"] == "exited"
    arcad.docker("rm", "fails")


def test_always_keeps_restarting_until_stopped(arcad):
    arcad.docker("run", "-d", "--name", "loop", "--restart=always", "busybox", "sh", "-c",
                 "sleep 0.5; exit 3")
    wait_for(lambda: json.loads(arcad.docker("inspect", "loop").stdout)[0]["RestartCount"] >= 2,
             what="two restarts")
    r = arcad.docker("rm", "loop", check=False)
    assert r.returncode != 0
    arcad.docker("stop", "loop")
    count = json.loads(arcad.docker("inspect", "loop").stdout)[0]["RestartCount"]
    time.sleep(3)
    st = state(arcad, "loop")
    assert st["Status"] == "exited" and not st["Running"]
    assert json.loads(arcad.docker("inspect", "loop").stdout)[0]["RestartCount"] == count
    arcad.docker("rm", "loop")


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_policies_at_daemon_start(arcad, hard):
    loop = "trap 'exit 0' TERM; while true; do sleep 0.2; done"
    arcad.docker("run", "-d", "--name", "al", "--restart=always", "busybox", "sh", "-c", loop)
    arcad.docker("run", "-d", "--name", "us", "--restart=unless-stopped", "busybox", "sh",
                 "-c", loop)
    arcad.docker("run", "-d", "--name", "us-stopped", "--restart=unless-stopped", "busybox",
                 "sh", "-c", loop)
    arcad.docker("run", "-d", "--name", "al-stopped", "--restart=always", "busybox", "sh",
                 "-c", loop)
    arcad.docker("run", "-d", "--name", "no", "busybox", "sh", "-c", loop)
    arcad.docker("stop", "us-stopped", "al-stopped")
    arcad.restart(hard=hard)
    running = lambda: sorted(arcad.docker("ps", "--format", "{{.Names}}").stdout.split())
    # always comes back even after a stop; unless-stopped only if it was not stopped. After
    # a SIGKILL the running ones never stopped (live restore), whatever their policy.
    want = ["al", "al-stopped", "no", "us"] if hard else ["al", "al-stopped", "us"]
    wait_for(lambda: running() == want, what="policy starts")
    assert state(arcad, "us-stopped")["Status"] == "exited"
    assert state(arcad, "no")["Status"] == ("running" if hard else "exited")
    assert arcad.docker("exec", "al", "echo", "back").stdout == "back\n"
    arcad.docker("rm", "-f", "al", "us", "us-stopped", "al-stopped", "no")


def test_update(arcad):
    arcad.docker("create", "--name", "upd", "busybox", "sh", "-c", "exit 1")
    arcad.docker("update", "--restart=on-failure:1", "-m", "300m", "upd")
    info = json.loads(arcad.docker("inspect", "upd").stdout)[0]
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 1}
    assert info["HostConfig"]["Memory"] == 300 * 1024 * 1024
    arcad.docker("start", "upd")
    wait_for(lambda: json.loads(arcad.docker("inspect", "upd").stdout)[0]["RestartCount"] == 1
             and state(arcad, "upd")["Status"] == "exited", what="one restart")
    r = arcad.docker("update", "--restart=sometimes", "upd", check=False)
    assert r.returncode != 0 and "invalid restart policy" in r.stderr
    r = arcad.docker("update", "--restart=always:3", "upd", check=False)
    assert r.returncode != 0 and "maximum retry count" in r.stderr
    arcad.docker("run", "-d", "--name", "live", "busybox", "sleep", "1000")
    # Within the VM's size, a running container's memory changes at once (as dockerd);
    # past it, a restart is needed and the update is refused.
    arcad.docker("update", "-m", "200m", "live")
    assert json.loads(arcad.docker("inspect", "live").stdout)[0]["HostConfig"][
        "Memory"] == 200 * 1024 * 1024
    r = arcad.docker("update", "-m", "4g", "live", check=False)
    assert r.returncode != 0 and "needs a restart" in r.stderr, r.stderr
    arcad.docker("update", "--restart=unless-stopped", "live")  # a policy changes any time
    assert json.loads(arcad.docker("inspect", "live").stdout)[0]["HostConfig"][
        "RestartPolicy"]["Name"] == "unless-stopped"
    r = arcad.docker("update", "--restart=always", "nosuch", check=False)
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr
    arcad.docker("rm", "-f", "upd", "live")
