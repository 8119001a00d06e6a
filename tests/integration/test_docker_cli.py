"""The stock docker CLI (28.x) against arcad (issue: arcad serves the Engine API).

Each test gets a private daemon (data root, socket, run directory) with the
busybox test image loaded; every container runs in its own VM.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

import images
import registry
from terminal import Terminal


def test_run_rm_echo(arcad):
    r = arcad.docker("run", "--rm", "busybox", "echo", "hi")
    assert r.stdout == "hi\n"
    assert arcad.docker("ps", "-aq").stdout == ""  # --rm removed it
    # The root shows what the image holds, no mkfs leftovers.
    root = arcad.docker("run", "--rm", "busybox", "ls", "-a", "/").stdout.split()
    assert "lost+found" not in root and "bin" in root and "etc" in root


def test_run_exit_code_and_streams(arcad):
    r = arcad.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3",
                     check=False)
    assert r.returncode == 3
    assert r.stdout == "out\n"
    assert "err" in r.stderr


def test_run_detached_logs_follow_stop(arcad):
    cid = arcad.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                       "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done").stdout.strip()
    assert len(cid) == 64
    deadline = time.time() + 60
    while time.time() < deadline and "tick 2" not in arcad.docker("logs", "ticker").stdout:
        time.sleep(0.3)
    follower = subprocess.Popen(["docker", "logs", "-f", "ticker"], env=arcad.env,
                                stdout=subprocess.PIPE, text=True)
    seen = []
    while not seen or not seen[-1].startswith("tick 5"):  # live lines arrive as written
        line = follower.stdout.readline()
        assert line, "logs -f ended early"
        seen.append(line)
    assert seen[0].startswith("tick 0")
    t0 = time.time()
    arcad.docker("stop", "ticker")
    assert time.time() - t0 < 20
    follower.communicate(timeout=30)  # follow ends when the container stops
    assert follower.returncode == 0
    state = json.loads(arcad.docker("inspect", "ticker").stdout)[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 143
    # logs options: tail, timestamps, since
    tail = arcad.docker("logs", "--tail", "2", "ticker").stdout.splitlines()
    assert len(tail) == 2
    ts = arcad.docker("logs", "-t", "--tail", "1", "ticker").stdout
    assert ts[:4].isdigit() and "T" in ts.split()[0]
    arcad.docker("rm", "ticker")


def test_exec_exit_code_and_env(arcad):
    arcad.docker("run", "-d", "--name", "box", "-e", "FOO=bar", "busybox", "sleep", "1000")
    r = arcad.docker("exec", "box", "sh", "-c", "echo $FOO; exit 5", check=False)
    assert r.returncode == 5 and r.stdout == "bar\n"
    r = arcad.docker("exec", "-e", "X=1", "-w", "/tmp", "-u", "nobody", "box", "sh", "-c",
                     "echo $X $(pwd) $(id -u)")
    assert r.stdout.split() == ["1", "/tmp", "65534"]
    r = arcad.docker("exec", "box", "no-such-binary", check=False)
    assert r.returncode == 127
    r = arcad.docker("exec", "-i", "box", "cat", input="piped stdin\n")
    assert r.stdout == "piped stdin\n"
    arcad.docker("rm", "-f", "box")


def test_ps_filters_inspect_rename_pause_wait_kill_restart_rm(arcad):
    arcad.docker("run", "-d", "--name", "a1", "--label", "team=x", "busybox", "sleep", "1000")
    arcad.docker("run", "-d", "--name", "a2", "busybox", "sh", "-c",
                 "trap 'exit 7' USR1; while true; do sleep 0.2; done")
    arcad.docker("create", "--name", "a3", "busybox", "true")
    names = lambda *f: sorted(arcad.docker("ps", "-a", *f, "--format", "{{.Names}}").stdout.split())
    assert names("--filter", "label=team=x") == ["a1"]
    assert names("--filter", "status=created") == ["a3"]
    assert names("--filter", "status=running") == ["a1", "a2"]
    assert names("--filter", "name=a") == ["a1", "a2", "a3"]
    assert names("--filter", "ancestor=busybox") == ["a1", "a2", "a3"]
    assert sorted(arcad.docker("ps", "--format", "{{.Names}}").stdout.split()) == ["a1", "a2"]
    assert len(arcad.docker("ps", "-a", "-n", "1", "-q").stdout.split()) == 1

    info = json.loads(arcad.docker("inspect", "a1").stdout)[0]
    assert info["Name"] == "/a1" and info["State"]["Running"] is True
    assert info["Config"]["Labels"] == {"team": "x"}
    assert info["Config"]["Image"] == "busybox"

    arcad.docker("rename", "a1", "b1")
    assert names("--filter", "name=b1") == ["b1"]

    arcad.docker("pause", "b1")
    assert "(Paused)" in arcad.docker("ps", "--filter", "name=b1", "--format",
                                      "{{.Status}}").stdout
    r = arcad.docker("exec", "b1", "true", check=False)
    assert r.returncode != 0 and "paused" in r.stderr
    arcad.docker("unpause", "b1")
    assert arcad.docker("exec", "b1", "true").returncode == 0

    arcad.docker("kill", "-s", "USR1", "a2")
    assert arcad.docker("wait", "a2").stdout.strip() == "7"

    before = json.loads(arcad.docker("inspect", "b1").stdout)[0]["State"]["StartedAt"]
    arcad.docker("restart", "-t", "1", "b1")
    after = json.loads(arcad.docker("inspect", "b1").stdout)[0]["State"]
    assert after["Running"] and after["StartedAt"] != before

    r = arcad.docker("rm", "b1", check=False)
    assert r.returncode != 0 and "stop the container before removing or force remove" in r.stderr
    arcad.docker("rm", "-f", "b1", "a2", "a3")
    assert arcad.docker("ps", "-aq").stdout == ""


def test_errors_in_docker_shape(arcad):
    r = arcad.docker("inspect", "nosuch", check=False)
    assert r.returncode != 0 and "No such object: nosuch" in r.stderr
    r = arcad.docker("rm", "nosuch", check=False)
    assert "No such container: nosuch" in r.stderr
    r = arcad.docker("rmi", "nosuch:tag", check=False)
    assert "No such image: nosuch:tag" in r.stderr
    arcad.docker("create", "--name", "taken", "busybox", "true")
    r = arcad.docker("create", "--name", "taken", "busybox", "true", check=False)
    assert r.returncode != 0 and 'The container name "/taken" is already in use' in r.stderr
    r = arcad.docker("run", "--rm", "busybox", "no-such-command", check=False)
    assert r.returncode == 127
    assert "executable file not found" in r.stderr
    r = arcad.docker("stop", "taken")  # not running: no error, as dockerd
    r = arcad.docker("kill", "taken", check=False)
    assert r.returncode != 0 and "is not running" in r.stderr
    r = arcad.docker("run", "--rm", "-m", "1m", "busybox", "true", check=False)
    assert r.returncode != 0 and "Minimum memory limit" in r.stderr


def docker_command(arcad, args):
    """A shell command line running the docker CLI against arcad."""
    return (f"env DOCKER_HOST={arcad.env['DOCKER_HOST']} "
            f"DOCKER_CONFIG={arcad.env['DOCKER_CONFIG']} docker {args}; echo EXIT=$?; sleep 60")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_run_it_in_tmux_with_resize(arcad, tmp_path):
    with Terminal(str(tmp_path / "tmux.sock"),
                  docker_command(arcad, "run -it --name tty busybox sh")) as t:
        assert t.wait_for("/ #"), t.screen()
        t.type("echo typed-$((6*7))")
        assert t.wait_for("typed-42"), t.screen()
        t.type("stty size")
        assert t.wait_for("30 100"), t.screen()
        t.resize(120, 40)
        time.sleep(1)
        t.type("stty size")
        assert t.wait_for("40 120"), t.screen()
        t.type("exit 9")
        assert t.wait_for("EXIT=9"), t.screen()
    arcad.docker("rm", "tty")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_exec_it_in_tmux(arcad, tmp_path):
    arcad.docker("run", "-d", "--name", "host", "busybox", "sleep", "1000")
    with Terminal(str(tmp_path / "tmux.sock"), docker_command(arcad, "exec -it host sh"),
                  width=90, height=20) as t:
        assert t.wait_for("/ #"), t.screen()
        t.type("tty; stty size; exit 4")
        assert t.wait_for("EXIT=", timeout=30), t.screen()
        out = t.screen()
        assert "/dev/pts/" in out and "20 90" in out and "EXIT=4" in out, out
    arcad.docker("rm", "-f", "host")


def test_pull_push_tag_save_load_rmi_with_a_registry(arcad, tmp_path):
    layout = str(tmp_path / "bb")
    # Not the image the fixture loaded: a distinct ID, so rmi really deletes it.
    info = images.build_busybox_layout(layout, extra_files={"etc/registry-copy": b"x\n"})
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, layout, "bb")
        arcad.reach_host_ports(*reg.ports)
        ref = f"{reg.host}/bb:latest"
        out = arcad.docker("pull", ref).stdout
        assert f"Digest: {info.manifest_digest}" in out
        assert arcad.docker("image", "inspect", ref, "--format", "{{.Id}}").stdout.strip() == \
            info.image_id
        copy = f"{reg.host}/copy:v1"
        arcad.docker("tag", ref, copy)
        out = arcad.docker("push", copy).stdout
        assert "v1: digest: sha256:" in out
        archive = str(tmp_path / "save.tar")
        arcad.docker("save", "-o", archive, ref)
        arcad.docker("rmi", ref, copy)
        assert info.image_id[7:19] not in arcad.docker("images", "-q").stdout
        assert f"Loaded image: {ref}" in arcad.docker("load", "-i", archive).stdout
        assert arcad.docker("run", "--rm", ref, "cat", "/etc/some-file").stdout == \
            "hello from the busybox image\n"
        # The pushed copy pulls back as the same image.
        arcad.docker("rmi", "-f", info.image_id)
        arcad.docker("pull", copy)
        assert arcad.docker("image", "inspect", copy, "--format", "{{.Id}}").stdout.strip() == \
            info.image_id


def test_login_and_pull_from_a_private_registry(arcad, tmp_path):
    layout = str(tmp_path / "bb")
    images.build_busybox_layout(layout)
    with registry.Registry(mode="token") as reg:
        registry.push_oci_layout(reg, layout, "private/bb", creds=reg.creds)
        arcad.reach_host_ports(*reg.ports)
        r = arcad.docker("login", "-u", reg.user, "--password-stdin", reg.host, input="wrong",
                         check=False)
        assert r.returncode != 0 and "unauthorized" in r.stderr.lower()
        arcad.docker("login", "-u", reg.user, "--password-stdin", reg.host, input=reg.password)
        arcad.docker("pull", f"{reg.host}/private/bb:latest")
        arcad.docker("logout", reg.host)


def test_info_version_networks(arcad):
    info = json.loads(arcad.docker("info", "--format", "{{json .}}").stdout)
    assert info["DriverStatus"][0][0] == "Isolation"
    assert "virtual machine per container" in info["DriverStatus"][0][1]
    assert ("TCG" in info["DriverStatus"][1][1]) or ("KVM" in info["DriverStatus"][1][1])
    v = json.loads(arcad.docker("version", "--format", "{{json .Server}}").stdout)
    assert v["ApiVersion"] == "1.51" and v["MinAPIVersion"] == "1.24"
    nets = sorted(arcad.docker("network", "ls", "--format", "{{.Name}}").stdout.split())
    assert nets == ["bridge", "host", "none"]
    cid = arcad.docker("run", "-d", "busybox", "sleep", "100").stdout.strip()
    net = json.loads(arcad.docker("inspect", cid).stdout)[0]["NetworkSettings"]
    assert net["Networks"]["bridge"]["IPAddress"].startswith("172.")
    arcad.docker("rm", "-f", cid)


def test_user_defined_networks(arcad):
    nid = arcad.docker("network", "create", "--label", "team=a", "appnet").stdout.strip()
    assert len(nid) == 64
    r = arcad.docker("network", "create", "appnet", check=False)
    assert r.returncode != 0 and "network with name appnet already exists" in r.stderr
    r = arcad.docker("network", "create", "-d", "overlay", "ov", check=False)
    assert r.returncode != 0 and 'plugin "overlay" not found' in r.stderr
    assert arcad.docker("network", "ls", "-q", "--filter", "label=team=a").stdout.split() == \
        [nid[:12]]
    assert arcad.docker("network", "ls", "--format", "{{.Name}}", "--filter",
                        "type=custom").stdout.split() == ["appnet"]

    cid = arcad.docker("run", "-d", "--network", "appnet", "--network-alias", "api",
                       "--name", "svc", "busybox", "sleep", "1000").stdout.strip()
    eps = json.loads(arcad.docker("inspect", "svc", "--format",
                                  "{{json .NetworkSettings.Networks}}").stdout)
    assert set(eps) == {"appnet"} and eps["appnet"]["NetworkID"] == nid
    assert "api" in eps["appnet"]["Aliases"] and "svc" in eps["appnet"]["DNSNames"]
    net = json.loads(arcad.docker("network", "inspect", "appnet").stdout)[0]
    assert list(net["Containers"]) == [cid] and net["Containers"][cid]["Name"] == "svc"
    assert arcad.docker("ps", "-q", "--filter", "network=appnet").stdout.split() == [cid[:12]]

    arcad.docker("network", "connect", "bridge", "svc")
    assert set(json.loads(arcad.docker("inspect", "svc", "--format",
                                       "{{json .NetworkSettings.Networks}}").stdout)) == \
        {"appnet", "bridge"}
    r = arcad.docker("network", "connect", "bridge", "svc", check=False)
    assert r.returncode != 0 and "already exists in network bridge" in r.stderr
    r = arcad.docker("network", "connect", "host", "svc", check=False)
    assert r.returncode != 0 and "host mode" in r.stderr
    arcad.docker("network", "disconnect", "bridge", "svc")
    r = arcad.docker("network", "rm", "appnet", check=False)
    assert r.returncode != 0 and "has active endpoints" in r.stderr
    r = arcad.docker("network", "rm", "bridge", check=False)
    assert r.returncode != 0 and "pre-defined network and cannot be removed" in r.stderr
    r = arcad.docker("network", "connect", "--alias", "x", "bridge", "svc", check=False)
    assert r.returncode != 0 and "only for containers in user defined networks" in r.stderr
    r = arcad.docker("network", "connect", "nonet", "svc", check=False)
    assert r.returncode != 0 and "network nonet not found" in r.stderr

    arcad.docker("rm", "-f", "svc")
    arcad.docker("network", "create", "spare")
    pruned = arcad.docker("network", "prune", "-f").stdout
    assert "appnet" in pruned and "spare" in pruned
    assert sorted(arcad.docker("network", "ls", "--format", "{{.Name}}").stdout.split()) == \
        ["bridge", "host", "none"]


def test_state_survives_a_daemon_restart(arcad):
    arcad.docker("network", "create", "keep")
    arcad.docker("create", "--name", "made", "--network", "keep", "busybox", "true")
    arcad.docker("run", "--name", "ran", "busybox", "sh", "-c", "exit 4", check=False)
    arcad.docker("run", "-d", "--name", "up", "busybox", "sleep", "1000")
    arcad.restart()
    ps = {line.split()[0]: line for line in
          arcad.docker("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.splitlines()}
    assert ps["made"] == "made Created"
    assert ps["ran"].startswith("ran Exited (4)")
    # Its VM ended with the daemon, as dockerd stops containers on shutdown
    # without live restore (issue #5 brings that).
    assert ps["up"].startswith("up Exited (143)")
    nets = json.loads(arcad.docker("inspect", "made", "--format",
                                   "{{json .NetworkSettings.Networks}}").stdout)
    assert list(nets) == ["keep"]
    assert arcad.docker("start", "-a", "made").returncode == 0
    arcad.docker("rm", "made", "ran", "up")
    arcad.docker("network", "rm", "keep")


def test_import_with_changes(arcad, tmp_path):
    rootfs = str(tmp_path / "rootfs.tar")
    images.busybox_rootfs_tar(rootfs)
    image_id = arcad.docker("import", "-c", 'CMD ["sh", "-c", "echo $GREETING from $PWD"]',
                            "-c", "ENV GREETING=hello", "-c", "WORKDIR /tmp",
                            "-c", "EXPOSE 80", "-m", "by the test", rootfs,
                            "imported:v1").stdout.strip()
    assert image_id.startswith("sha256:")
    cfg = json.loads(arcad.docker("image", "inspect", "imported:v1",
                                  "--format", "{{json .Config}}").stdout)
    assert cfg["Cmd"] == ["sh", "-c", "echo $GREETING from $PWD"]
    assert "GREETING=hello" in cfg["Env"] and cfg["WorkingDir"] == "/tmp"
    assert "80/tcp" in cfg["ExposedPorts"]
    assert arcad.docker("run", "--rm", "imported:v1").stdout == "hello from /tmp\n"
    # A bad instruction is refused before anything is stored.
    r = arcad.docker("import", "-c", "RUN true", rootfs, "bad:v1", check=False)
    assert r.returncode != 0 and "RUN is not a valid change command" in r.stderr
    assert arcad.docker("images", "-q", "bad:v1").stdout == ""
    # A body the daemon refuses midway: the client still gets the reason, not a broken pipe.
    junk = str(tmp_path / "junk.tar")
    with open(junk, "wb") as f:
        f.write(os.urandom(32 << 20))
    r = arcad.docker("import", junk, "junk:v1", check=False)
    assert r.returncode != 0 and "broken pipe" not in r.stderr and "import" in r.stderr, r.stderr
    assert arcad.docker("images", "-q", "junk:v1").stdout == ""
    arcad.docker("rmi", "imported:v1")


def test_ps_filters_before_since_expose_volume(arcad):
    for name in ("f1", "f2", "f3"):
        arcad.docker("create", "--name", name, "--expose", "8080", "busybox", "true")
        time.sleep(0.01)  # distinct creation times
    names = lambda *f: sorted(arcad.docker("ps", "-a", *f, "--format", "{{.Names}}").stdout.split())
    assert names("--filter", "before=f2") == ["f1"]
    assert names("--filter", "since=f2") == ["f3"]
    assert names("--filter", "since=f1", "--filter", "before=f3") == ["f2"]
    # dockerd matches expose and publish against the ports a container has while it
    # runs: created ones have none.
    assert names("--filter", "expose=8080") == []
    arcad.docker("run", "-d", "--name", "f5", "--expose", "8080", "busybox", "sleep", "600")
    assert names("--filter", "expose=8080") == ["f5"]
    assert names("--filter", "expose=8000-8090/tcp", "--filter", "name=f5") == ["f5"]
    assert names("--filter", "expose=81") == []
    arcad.docker("rm", "-f", "f5")
    assert names("--filter", "volume=/data") == []
    arcad.docker("create", "--name", "f4", "-v", "vf:/data", "busybox", "true")
    assert names("--filter", "volume=/data") == ["f4"]
    assert names("--filter", "volume=vf") == ["f4"]
    arcad.docker("rm", "f4")
    arcad.docker("volume", "rm", "vf")
    assert names("--filter", "health=none") == ["f1", "f2", "f3"]
    assert names("--filter", "is-task=false") == ["f1", "f2", "f3"]
    r = arcad.docker("ps", "--filter", "before=nosuch", check=False)
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr
    arcad.docker("rm", "f1", "f2", "f3")
