"""Health checks against arcad: healthy, then unhealthy when the check starts failing."""
import json
import time


def health(arcad, name):
    return json.loads(arcad.docker("inspect", name, "--format", "{{json .State.Health}}").stdout)


def wait_status(arcad, name, want, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        h = health(arcad, name)
        if h and h["Status"] == want:
            return h
        time.sleep(0.3)
    raise AssertionError(f"{name} never became {want}: {health(arcad, name)}")


def test_healthy_then_unhealthy(arcad):
    t0 = time.time()
    arcad.docker("run", "-d", "--name", "hc", "--health-cmd", "cat /tmp/ok",
                 "--health-interval", "1s", "--health-retries", "2", "--health-timeout", "5s",
                 "busybox", "sh", "-c", "echo fine > /tmp/ok; sleep 1000")
    assert health(arcad, "hc")["Status"] in ("starting", "healthy")
    h = wait_status(arcad, "hc", "healthy")
    assert h["FailingStreak"] == 0 and h["Log"][-1]["ExitCode"] == 0
    assert h["Log"][-1]["Output"] == "fine\n"
    assert "(healthy)" in arcad.docker("ps", "--format", "{{.Status}}").stdout
    assert arcad.docker("ps", "-q", "--filter", "health=healthy").stdout.strip()
    assert not arcad.docker("ps", "-q", "--filter", "health=unhealthy").stdout.strip()
    arcad.docker("exec", "hc", "rm", "/tmp/ok")
    h = wait_status(arcad, "hc", "unhealthy")
    assert h["FailingStreak"] >= 2 and h["Log"][-1]["ExitCode"] == 1
    assert "No such file" in h["Log"][-1]["Output"]
    assert len(h["Log"]) <= 5
    assert "(unhealthy)" in arcad.docker("ps", "--format", "{{.Status}}").stdout
    out = arcad.docker("events", "--since", f"{t0:.3f}", "--until", f"{time.time() + 1:.3f}",
                       "--filter", "event=health_status", "--format", "{{.Action}}").stdout
    assert out.split("\n")[:2] == ["health_status: healthy", "health_status: unhealthy"]
    arcad.docker("rm", "-f", "hc")


def test_timeout_and_no_healthcheck(arcad):
    arcad.docker("run", "-d", "--name", "slow", "--health-cmd", "sleep 10",
                 "--health-interval", "1s", "--health-timeout", "1s", "--health-retries", "1",
                 "busybox", "sleep", "1000")
    h = wait_status(arcad, "slow", "unhealthy")
    assert h["Log"][-1]["ExitCode"] == -1 and "exceeded timeout" in h["Log"][-1]["Output"]
    arcad.docker("rm", "-f", "slow")
    arcad.docker("run", "-d", "--name", "plain", "busybox", "sleep", "1000")
    assert health(arcad, "plain") is None
    arcad.docker("rm", "-f", "plain")
    r = arcad.docker("create", "--health-cmd", "true", "--health-interval", "1us", "busybox",
                     "true", check=False)
    assert r.returncode != 0 and "cannot be less than 1ms" in r.stderr
