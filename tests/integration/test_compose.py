"""docker-compose (Debian's 1.29, unchanged) against arcad: a project network,
two services, logs, exec, scale, down. Compose speaks API 1.38 and relies on
networks, labels, aliases and list filters."""
import json
import os
import shutil
import subprocess
import time

import pytest

pytestmark = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                reason="docker-compose is not installed")

COMPOSE_FILE = """\
version: "3.8"
services:
  web:
    image: busybox
    command: sh -c 'echo web up; while true; do sleep 1; done'
    environment:
      GREETING: hello
    labels:
      tier: front
  job:
    image: busybox
    command: sh -c 'echo job says $$GREETING; exit 3'
    environment:
      GREETING: hi
networks:
  default:
    labels:
      purpose: test
"""


def compose(arcad, project_dir, *args, check=True):
    r = subprocess.run(["docker-compose", "-p", "demo", *args], cwd=project_dir, env=arcad.env,
                       capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"docker-compose {' '.join(args)} failed ({r.returncode}):\n"
                             f"{r.stdout}\n{r.stderr}\n--- arcad log ---\n{arcad.log()}")
    return r


def test_compose_up_logs_exec_scale_down(arcad, tmp_path):
    with open(os.path.join(tmp_path, "docker-compose.yml"), "w") as f:
        f.write(COMPOSE_FILE)
    out = compose(arcad, tmp_path, "up", "-d").stderr
    assert 'Creating network "demo_default"' in out

    net = json.loads(arcad.docker("network", "inspect", "demo_default").stdout)[0]
    assert net["Labels"]["com.docker.compose.project"] == "demo"
    assert net["Labels"]["purpose"] == "test"

    deadline = time.time() + 60
    while time.time() < deadline:
        state = arcad.docker("inspect", "demo_job_1", "--format", "{{.State.Status}}").stdout
        if state.strip() == "exited":
            break
        time.sleep(0.5)
    ps = compose(arcad, tmp_path, "ps").stdout
    assert "demo_web_1" in ps and "Up" in ps
    assert "demo_job_1" in ps and "Exit 3" in ps

    logs = compose(arcad, tmp_path, "logs", "--no-color").stdout
    assert "job says hi" in logs and "web up" in logs

    r = compose(arcad, tmp_path, "exec", "-T", "web", "sh", "-c", "echo $GREETING; exit 5",
                check=False)
    assert r.returncode == 5 and r.stdout == "hello\n"

    # The service is on the project network under its name and short ID, as compose expects.
    cid = arcad.docker("inspect", "demo_web_1", "--format", "{{.Id}}").stdout.strip()
    eps = json.loads(arcad.docker("inspect", "demo_web_1", "--format",
                                  "{{json .NetworkSettings.Networks}}").stdout)
    assert set(eps) == {"demo_default"}
    assert "web" in eps["demo_default"]["Aliases"] and cid[:12] in eps["demo_default"]["Aliases"]
    assert eps["demo_default"]["NetworkID"] == net["Id"]
    assert arcad.docker("ps", "-q", "--filter", "network=demo_default").stdout.split() == [cid[:12]]

    compose(arcad, tmp_path, "up", "-d", "--scale", "web=2", "web")
    names = arcad.docker("ps", "--format", "{{.Names}}", "--filter",
                         "label=com.docker.compose.service=web").stdout.split()
    assert sorted(names) == ["demo_web_1", "demo_web_2"]

    compose(arcad, tmp_path, "down")
    assert arcad.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=demo").stdout == ""
    assert "demo_default" not in arcad.docker("network", "ls").stdout


VOLUME_COMPOSE_FILE = """\
version: "3.8"
services:
  db:
    image: busybox
    command: sh -c 'cat /data/count 2>/dev/null; echo run >> /data/count;
                    cat /conf/app.conf; echo from-db > /shared/out; sync; sleep 1000'
    volumes:
      - dbdata:/data
      - ./conf:/conf:ro
      - ./shared:/shared
volumes:
  dbdata:
    labels:
      purpose: test
"""


def test_compose_volumes_keep_their_data(arcad, tmp_path):
    with open(os.path.join(tmp_path, "docker-compose.yml"), "w") as f:
        f.write(VOLUME_COMPOSE_FILE)
    os.mkdir(tmp_path / "conf")
    (tmp_path / "conf" / "app.conf").write_text("setting=1\n")
    os.chmod(tmp_path, 0o755)

    def logs_until(text):
        deadline = time.time() + 90
        while time.time() < deadline:
            out = compose(arcad, tmp_path, "logs", "--no-color", "db").stdout
            if text in out:
                return out
            time.sleep(0.5)
        raise AssertionError(f"no {text!r} in the logs:\n{out}")

    compose(arcad, tmp_path, "up", "-d")
    vol = json.loads(arcad.docker("volume", "inspect", "demo_dbdata").stdout)[0]
    assert vol["Labels"]["purpose"] == "test"
    assert vol["Labels"]["com.docker.compose.project"] == "demo"
    logs_until("setting=1")
    deadline = time.time() + 30
    while not (tmp_path / "shared" / "out").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "shared" / "out").read_text() == "from-db\n"
    compose(arcad, tmp_path, "down")
    assert "demo_dbdata" in arcad.docker("volume", "ls", "-q").stdout  # down keeps it
    compose(arcad, tmp_path, "up", "-d")
    logs_until("run\n")  # the second run read what the first wrote to the volume
    compose(arcad, tmp_path, "down", "-v")
    assert arcad.docker("volume", "ls", "-q").stdout == ""
    assert arcad.docker("ps", "-aq").stdout == ""


TWO_SERVICES = """\
version: "3.8"
services:
  api:
    image: busybox
    command: sh -c 'mkdir -p /www && echo "served by api" > /www/index.html && exec httpd -f -p 80 -h /www'
  client:
    image: busybox
    depends_on: [api]
    command: sh -c 'for i in $$(seq 30); do wget -qO- http://api/ && exit 0; sleep 1; done; exit 1'
"""


def test_compose_services_reach_each_other_by_name(arcad, tmp_path):
    with open(os.path.join(tmp_path, "docker-compose.yml"), "w") as f:
        f.write(TWO_SERVICES)
    compose(arcad, tmp_path, "up", "-d")
    deadline = time.time() + 90
    while time.time() < deadline:
        state = arcad.docker("inspect", "demo_client_1", "--format", "{{.State.Status}}").stdout
        if state.strip() == "exited":
            break
        time.sleep(0.5)
    assert arcad.docker("inspect", "demo_client_1", "--format",
                        "{{.State.ExitCode}}").stdout.strip() == "0"
    assert "served by api" in compose(arcad, tmp_path, "logs", "client").stdout
    compose(arcad, tmp_path, "down")
    # Nothing left behind: no container, no network, no bridge, no veth, no TAP.
    assert arcad.docker("ps", "-aq").stdout.strip() == ""
    assert "demo_default" not in arcad.docker("network", "ls").stdout
    links = arcad.ns(["ip", "-o", "link", "show"]).stdout
    assert "arca-" not in links and "avb" not in links and "avt" not in links, links
