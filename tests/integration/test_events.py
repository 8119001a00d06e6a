"""docker events against arcad (issue: state that survives, events).

The expected sequence was captured from dockerd (Debian's docker.io
20.10.24) running the same commands on the same busybox image.
"""
import json
import subprocess
import time

LOOP = "trap 'exit 0' TERM; echo ready; while true; do sleep 0.2; done"


def _wait_ready(arcad, name, runs):
    """Until the container's shell has set its trap `runs` times (a stop before that
    would end it with 143 rather than its trap's 0)."""
    deadline = time.time() + 60
    while arcad.docker("logs", name).stdout.count("ready") < runs:
        assert time.time() < deadline, "the container never got ready"
        time.sleep(0.1)

# (Type, Action, attributes we compare) in dockerd's order.
DOCKERD_SEQUENCE = [
    ("container", "create", {"name": "ev"}),
    ("container", "start", {"name": "ev"}),
    ("container", "pause", {"name": "ev"}),
    ("container", "unpause", {"name": "ev"}),
    ("container", "rename", {"name": "ev2", "oldName": "/ev"}),
    ("container", "exec_create: true ", {"name": "ev2"}),
    ("container", "exec_start: true ", {"name": "ev2"}),
    ("container", "exec_die", {"name": "ev2", "exitCode": "0"}),
    ("container", "kill", {"name": "ev2", "signal": "15"}),
    ("container", "die", {"name": "ev2", "exitCode": "0"}),
    ("container", "stop", {"name": "ev2"}),
    ("container", "start", {"name": "ev2"}),
    ("container", "restart", {"name": "ev2"}),
    ("container", "kill", {"name": "ev2", "signal": "15"}),
    ("container", "die", {"name": "ev2", "exitCode": "0"}),
    ("container", "stop", {"name": "ev2"}),
    ("container", "start", {"name": "ev2"}),
    ("container", "kill", {"name": "ev2", "signal": "9"}),
    ("container", "die", {"name": "ev2", "exitCode": "137"}),
    ("container", "destroy", {"name": "ev2"}),
    ("container", "create", {}),
    ("container", "attach", {}),
    ("container", "start", {}),
    ("container", "die", {"exitCode": "0"}),
    ("container", "destroy", {}),
    ("image", "tag", {"name": "other:1"}),
    ("image", "untag", {}),
]


def _events(arcad, *args):
    out = arcad.docker("events", "--format", "{{json .}}", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_lifecycle_sequence_matches_dockerd(arcad):
    t0 = time.time()
    d = arcad.docker
    d("create", "--name", "ev", "busybox", "sh", "-c", LOOP)
    d("start", "ev")
    _wait_ready(arcad, "ev", 1)
    d("pause", "ev")
    d("unpause", "ev")
    d("rename", "ev", "ev2")
    d("exec", "ev2", "true")
    _wait_ready(arcad, "ev2", 1)
    d("restart", "ev2")
    _wait_ready(arcad, "ev2", 2)
    d("stop", "ev2")
    d("start", "ev2")
    d("kill", "ev2")
    d("rm", "ev2")
    d("run", "--rm", "busybox", "true")
    d("tag", "busybox", "other:1")
    d("rmi", "other:1")
    got = _events(arcad, "--since", f"{t0:.3f}", "--until", f"{time.time() + 1:.3f}",
                  "--filter", "type=container", "--filter", "type=image")
    assert [(m["Type"], m["Action"]) for m in got] == [(t, a) for t, a, _ in DOCKERD_SEQUENCE]
    seq = [(m["Type"], m["Action"],
            {k: v for k, v in m["Actor"]["Attributes"].items() if k in want})
           for m, (_, _, want) in zip(got, DOCKERD_SEQUENCE)]
    assert seq == DOCKERD_SEQUENCE
    for m in got:  # the shape dockerd sends
        assert m["scope"] == "local" and m["time"] == m["timeNano"] // 10**9
        if m["Type"] == "container":
            assert m["id"] == m["Actor"]["ID"] and m["from"] == "busybox"
            assert m["Actor"]["Attributes"]["image"] == "busybox"
    assert [m["timeNano"] for m in got] == sorted(m["timeNano"] for m in got)
    # The network events a default bridge container gets around its run.
    nets = _events(arcad, "--since", f"{t0:.3f}", "--until", f"{time.time():.3f}",
                   "--filter", "type=network")
    assert [m["Action"] for m in nets][:2] == ["connect", "disconnect"]
    assert nets[0]["Actor"]["Attributes"]["name"] == "bridge"


def test_stream_with_filters(arcad):
    follower = subprocess.Popen(
        ["docker", "events", "--format", "{{json .}}", "--filter", "event=die",
         "--filter", "label=watch=yes"],
        env=arcad.env, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # subscribed before the events happen
        arcad.docker("run", "--rm", "busybox", "sh", "-c", "exit 2", check=False)  # no label
        arcad.docker("run", "--rm", "--label", "watch=yes", "--name", "seen", "busybox",
                     "sh", "-c", "exit 3", check=False)
        m = json.loads(follower.stdout.readline())
        assert m["Action"] == "die" and m["Actor"]["Attributes"]["name"] == "seen"
        assert m["Actor"]["Attributes"]["exitCode"] == "3"
        assert m["Actor"]["Attributes"]["watch"] == "yes"
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    # A container filter takes a name or an ID prefix; until ends the stream. (The CLI
    # sends durations as whole seconds, so "until now" is given a second ahead.)
    cid = arcad.docker("create", "--name", "quiet", "busybox", "true").stdout.strip()
    until = f"{time.time() + 1:.3f}"
    by_id = _events(arcad, "--since", "1m", "--until", until, "--filter", f"container={cid[:8]}")
    by_name = _events(arcad, "--since", "1m", "--until", until, "--filter", "container=quiet")
    assert [m["Action"] for m in by_id] == [m["Action"] for m in by_name] == ["create"]
    arcad.docker("rm", "quiet")


def test_bad_requests(arcad):
    r = arcad.docker("events", "--filter", "colour=red", "--until", "0s", check=False)
    assert r.returncode != 0 and "invalid filter 'colour'" in r.stderr
    r = arcad.docker("events", "--since", "yesterday", "--until", "0s", check=False)
    assert r.returncode != 0
