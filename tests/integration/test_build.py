"""docker build (issue 13): dockerd's classic builder protocol, each stage's steps in a
VM of its own, through the stock docker CLI (legacy builder, as without buildx),
docker-py and docker-compose, against an arcad in its own network namespace."""
import gzip
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time

import docker
import pytest

MULTISTAGE = """\
ARG BASE=busybox
FROM $BASE AS build
ARG GREETING=hi
RUN mkdir -p /out && echo "$GREETING from the build stage" > /out/msg \\
 && echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group
FROM busybox
COPY --from=build /etc/passwd /etc/group /etc/
COPY --from=build --chown=app:app /out/ /app/
COPY conf.txt /app/conf.txt
ENV MODE=prod
WORKDIR /app
USER app
HEALTHCHECK --interval=1s --timeout=2s CMD test -f /app/msg
ENTRYPOINT ["sh", "-c", "cat /app/msg /app/conf.txt; id -un; pwd; echo $MODE"]
"""


def build(arcad, ctx, *args, check=True):
    return arcad.docker("build", *args, ctx, check=check, timeout=600)


def write(dir, files):
    for name, text in files.items():
        path = os.path.join(dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def steps(out):
    """The stream's step blocks: {step number: its text}."""
    blocks, cur = {}, None
    for line in out.splitlines():
        if line.startswith("Step "):
            cur = int(line.split()[1].split("/")[0])
            blocks[cur] = ""
        elif cur is not None:
            blocks[cur] += line + "\n"
    return blocks


def test_multistage_build_run_cache_and_history(arcad, tmp_path):
    ctx = str(tmp_path)
    write(ctx, {"Dockerfile": MULTISTAGE, "conf.txt": "conf v1\n"})
    r = build(arcad, ctx, "--build-arg", "GREETING=hello", "-t", "x")
    first = steps(r.stdout)
    assert len(first) == 13 and "Successfully tagged x:latest" in r.stdout
    assert "Running in" in first[4] and "Using cache" not in r.stdout
    # Config-only steps never boot a VM; the ones that do say so.
    assert "Removed intermediate container" in first[10]

    out = arcad.docker("run", "--rm", "x").stdout
    assert out == "hello from the build stage\nconf v1\napp\n/app\nprod\n"
    # The copied tree is the app user's; the file from the context root's.
    ls = arcad.docker("run", "--rm", "--entrypoint", "ls", "x", "-ln", "/app").stdout
    assert " 1000     1000 " in [l for l in ls.splitlines() if l.endswith("msg")][0]
    assert " 0        0 " in [l for l in ls.splitlines() if l.endswith("conf.txt")][0]

    cid = arcad.docker("run", "-d", "--entrypoint", "sh", "x", "-c", "sleep 60").stdout.strip()
    deadline = time.time() + 60
    health = ""
    while time.time() < deadline and health != "healthy":
        health = arcad.docker("inspect", "-f", "{{.State.Health.Status}}", cid).stdout.strip()
        time.sleep(0.5)
    assert health == "healthy"
    arcad.docker("rm", "-f", cid)

    # Unchanged: every step from the cache, no VM.
    r = build(arcad, ctx, "--build-arg", "GREETING=hello", "-t", "x")
    again = steps(r.stdout)
    assert all("Using cache" in again[n] for n in again if n not in (1, 2, 5))
    assert "Running in" not in r.stdout
    image = arcad.docker("inspect", "-f", "{{.Id}}", "x").stdout.strip()

    # One copied file changed: the steps before it hit, it and the rest run again.
    write(ctx, {"conf.txt": "conf v2\n"})
    r = build(arcad, ctx, "--build-arg", "GREETING=hello", "-t", "x")
    third = steps(r.stdout)
    assert all("Using cache" in third[n] for n in (3, 4, 6, 7))
    assert all("Using cache" not in third[n] for n in range(8, 14))
    assert arcad.docker("inspect", "-f", "{{.Id}}", "x").stdout.strip() != image
    assert arcad.docker("run", "--rm", "x").stdout.splitlines()[1] == "conf v2"

    # history shows every instruction, with the steps' own images.
    hist = arcad.docker("history", "--no-trunc", "--format", "{{.ID}}\t{{.CreatedBy}}",
                        "x").stdout.splitlines()
    by = [h.split("\t", 1)[1] for h in hist]
    assert by[0].startswith('/bin/sh -c #(nop)  ENTRYPOINT ["sh" "-c" "cat /app/msg')
    assert by[1].startswith('/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "test -f /app/msg"]')
    assert by[2] == "/bin/sh -c #(nop)  USER app"
    assert by[3] == "/bin/sh -c #(nop) WORKDIR /app"
    assert by[4] == "/bin/sh -c #(nop)  ENV MODE=prod"
    assert by[5].startswith("/bin/sh -c #(nop) COPY file:") and by[5].endswith(" in /app/conf.txt ")
    assert all(not h.startswith("<missing>") for h in hist[:8])
    # Intermediate images are listed with -a only.
    plain = arcad.docker("images", "-q").stdout.split()
    every = arcad.docker("images", "-a", "-q").stdout.split()
    assert len(every) > len(plain) + 8


def test_failing_run_reports_its_code_and_tags_nothing(arcad, tmp_path):
    write(str(tmp_path), {"Dockerfile": "FROM busybox\nRUN echo out; echo err >&2; exit 3\n"})
    r = build(arcad, str(tmp_path), "-t", "broken", check=False)
    assert r.returncode == 3
    assert "The command '/bin/sh -c echo out; echo err >&2; exit 3' returned a non-zero code: 3" \
        in r.stderr
    assert "out\n" in r.stdout
    assert arcad.docker("images", "-q", "broken").stdout == ""


def test_context_rules_and_build_options(arcad, tmp_path):
    ctx = tmp_path / "ctx"
    write(str(ctx), {
        "Dockerfile": "FROM busybox\nRUN false\n",  # never used: -f wins
        ".dockerignore": "secret.txt\nDockerfile\n",
        "secret.txt": "secret\n",
        "keep.txt": "keep\n",
        "sub/deep.txt": "deep\n",
    })
    outside = tmp_path / "Dockerfile.outside"
    outside.write_text("FROM busybox AS first\nARG WHO=nobody\nCOPY . /all/\n"
                       "RUN ls -A /all | tr '\\n' ' ' > /list && echo \"$WHO\" > /who\n"
                       "FROM first AS second\nRUN echo second > /second\n")
    iid = tmp_path / "iid"
    r = build(arcad, str(ctx), "-f", str(outside), "--target", "first", "--build-arg",
              "WHO=me", "--build-arg", "UNUSED=1", "--label", "team=infra", "--label",
              "note=two words", "--iidfile", str(iid), "-t", "opts")
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in r.stdout
    assert "second" not in r.stdout
    image = iid.read_text().strip()
    assert image.startswith("sha256:") and len(image) == 71
    assert arcad.docker("inspect", "-f", "{{.Id}}", "opts").stdout.strip() == image
    out = arcad.docker("run", "--rm", "opts", "sh", "-c", "cat /list /who").stdout
    # The CLI filtered secret.txt; the daemon removed Dockerfile, as .dockerignore says.
    assert out == ".dockerignore keep.txt sub me\n"
    labels = json.loads(arcad.docker("inspect", "-f", "{{json .Config.Labels}}", "opts").stdout)
    assert labels == {"team": "infra", "note": "two words"}

    r = build(arcad, str(ctx), "-q", "-f", str(outside), "-t", "quiet")
    assert r.stdout.strip().startswith("sha256:") and len(r.stdout.strip()) == 71
    assert "Step" not in r.stdout

    # A gzip context on stdin.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = b"FROM busybox\nCOPY hello.txt /hello.txt\n"
        for name, content in (("Dockerfile", data), ("hello.txt", b"from gzip\n")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            t.addfile(info, io.BytesIO(content))
    r = subprocess.run(["docker", "build", "-t", "gz", "-"], input=buf.getvalue(),
                       env=arcad.env, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert arcad.docker("run", "--rm", "gz", "cat", "/hello.txt").stdout == "from gzip\n"


def test_run_has_no_network_unless_asked(arcad, tmp_path):
    write(str(tmp_path), {"Dockerfile": "FROM busybox\nRUN ip -o link | cut -d: -f2; "
                                        "ping -c1 -W1 10.0.0.1\n"})
    r = build(arcad, str(tmp_path), check=False)
    assert r.returncode == 1
    assert "Network is unreachable" in r.stdout + r.stderr
    assert " lo\n" in r.stdout and "eth0" not in r.stdout
    r = build(arcad, str(tmp_path), "--network", "host", check=False)
    assert r.returncode != 0 and "not available to a build" in r.stderr
    r = build(arcad, str(tmp_path), "--network", "nosuchnet", check=False)
    assert r.returncode != 0 and "not found" in r.stderr


def test_run_on_the_network_asked_for(arcad, tmp_path):
    """--network bridge (or a user-defined network): the steps reach what that network
    reaches, here a web server on the daemon's side of the bridge."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_text("over the network\n")
    server = subprocess.Popen(["ip", "netns", "exec", arcad.netns, "python3", "-m",
                               "http.server", "8099", "--bind", "0.0.0.0", "--directory",
                               str(www)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        arcad.docker("network", "create", "--subnet", "10.77.0.0/24", "buildnet")
        ctx = tmp_path / "ctx"
        for net, gw in (("bridge", None), ("buildnet", "10.77.0.1")):
            write(str(ctx), {"Dockerfile": "FROM busybox\n"
                             "RUN ip -o -4 addr show eth0 | awk '{print $4}' > /addr && "
                             "gw=$(ip route | awk '/default/ {print $3}') && "
                             "wget -q -O /got http://$gw:8099/hello.txt && cat /addr /got\n"})
            r = build(arcad, str(ctx), "--network", net, "--no-cache", "-t", f"on-{net}")
            assert "over the network" in r.stdout, r.stdout
            if gw:
                assert "10.77.0." in r.stdout
        # The build's endpoint is gone with it: the network can be removed at once.
        arcad.docker("network", "rm", "buildnet")
    finally:
        server.kill()
        server.wait()


def test_instructions_config_and_archives(arcad, tmp_path):
    ctx = str(tmp_path)
    files = tarfile.open(os.path.join(ctx, "files.tar.gz"), "w:gz")
    for name, content, uid in (("a/one.txt", b"one\n", 7), ("a/two.txt", b"two\n", 8)):
        info = tarfile.TarInfo(name)
        info.size, info.uid, info.gid, info.mode = len(content), uid, uid, 0o640
        files.addfile(info, io.BytesIO(content))
    files.close()
    write(ctx, {"Dockerfile": """\
# escape=`
FROM busybox
MAINTAINER Jane <j@example.com>
LABEL a=b "c d"="e f"
ENV BASE=/opt `
    NAME=demo
ADD files.tar.gz ${BASE}/
COPY ["plain.txt", "${BASE}/plain/"]
EXPOSE 80 53/udp 8000-8001
VOLUME ["/data"]
STOPSIGNAL SIGINT
SHELL ["/bin/sh", "-x", "-c"]
RUN echo "${NAME:-x}" > $BASE/name
ONBUILD RUN echo child
CMD echo $NAME
""", "plain.txt": "plain\n"})
    build(arcad, ctx, "-t", "cfg")
    c = json.loads(arcad.docker("inspect", "-f", "{{json .Config}}", "cfg").stdout)
    assert c["Labels"] == {"a": "b", "c d": "e f"}
    assert "BASE=/opt" in c["Env"] and "NAME=demo" in c["Env"]
    assert set(c["ExposedPorts"]) == {"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}
    assert c["Volumes"] == {"/data": {}} and c["StopSignal"] == "SIGINT"
    assert c["Shell"] == ["/bin/sh", "-x", "-c"] and c["OnBuild"] == ["RUN echo child"]
    assert c["Cmd"] == ["/bin/sh", "-x", "-c", "echo $NAME"]
    assert arcad.docker("inspect", "-f", "{{.Author}}", "cfg").stdout.strip() == \
        "Jane <j@example.com>"
    out = arcad.docker("run", "--rm", "--entrypoint", "sh", "cfg", "-c",
                       "ls -ln /opt/a; cat /opt/a/*.txt /opt/plain/plain.txt /opt/name").stdout
    # The archive was extracted with its owners and modes; the plain file copied.
    assert "-rw-r-----    1 7        7" in out and "-rw-r-----    1 8        8" in out
    assert out.endswith("one\ntwo\nplain\ndemo\n")

    # A child image runs the ONBUILD trigger first.
    child = tmp_path / "child"
    write(str(child), {"Dockerfile": "FROM cfg\nRUN echo own step\n"})
    r = build(arcad, str(child), "-t", "child")
    assert "# Executing 1 build trigger" in r.stdout and "child\n" in r.stdout
    assert json.loads(arcad.docker("inspect", "-f", "{{json .Config.OnBuild}}",
                                   "child").stdout) in (None, [])


def test_errors_before_and_in_the_stream(arcad, client, tmp_path):
    api = docker.APIClient(base_url=arcad.env["DOCKER_HOST"], version="1.41")

    def raw(dockerfile, **params):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            if dockerfile is not None:
                info = tarfile.TarInfo("Dockerfile")
                info.size = len(dockerfile)
                t.addfile(info, io.BytesIO(dockerfile.encode()))
        return api._post(api._url("/build"), params=params, data=buf.getvalue(),
                         headers={"Content-Type": "application/x-tar"})

    r = raw(None)
    assert r.status_code == 500
    assert r.json()["message"] == "Cannot locate specified Dockerfile: Dockerfile"
    r = raw("FROM busybox\nFOO bar\n")
    assert r.status_code == 400 and "unknown instruction: FOO" in r.json()["message"]
    r = raw("RUN true\n")
    assert r.status_code == 400 and r.json()["message"] == "no build stage in current context"
    r = raw("FROM busybox\n", squash="1")
    assert r.status_code == 400
    assert r.json()["message"] == "squash is only supported with experimental mode"
    r = raw("FROM busybox\n", target="nope")
    assert r.status_code == 400 and "could not be found" in r.json()["message"]
    r = raw("FROM busybox\n", buildargs="{not json")
    assert r.status_code == 400 and "error reading build args" in r.json()["message"]
    # BuildKit-only syntax fails at its step, in the stream, as dockerd's classic builder.
    r = raw("FROM busybox\nRUN --mount=type=cache,target=/c true\n")
    assert r.status_code == 200
    last = [json.loads(l) for l in r.text.splitlines() if l.strip()][-1]
    assert last["error"].startswith("the --mount option requires BuildKit")

    # docker-py: an image, or a BuildError.
    write(str(tmp_path), {"Dockerfile": "FROM busybox\nARG V\nRUN echo \"v=$V\" > /v\n"})
    image, logs = client.images.build(path=str(tmp_path), tag="py", buildargs={"V": "7"},
                                      rm=True)
    assert image.tags == ["py:latest"]
    assert client.containers.run("py", "cat /v", remove=True) == b"v=7\n"
    write(str(tmp_path), {"Dockerfile": "FROM busybox\nRUN exit 4\n"})
    with pytest.raises(docker.errors.BuildError) as e:
        client.images.build(path=str(tmp_path), tag="py2")
    assert "returned a non-zero code: 4" in str(e.value)

    # The build cache goes with builder prune: the next build runs every step.
    pruned = api.prune_builds()
    assert "CachesDeleted" in pruned and "SpaceReclaimed" in pruned
    write(str(tmp_path), {"Dockerfile": "FROM busybox\nARG V\nRUN echo \"v=$V\" > /v\n"})
    logs = list(api.build(path=str(tmp_path), buildargs={"V": "7"}, decode=True))
    assert not any("Using cache" in l.get("stream", "") for l in logs)
    api.close()


def test_add_url_from_a_server_in_the_namespace(arcad, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "file.txt").write_text("served\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(["ip", "netns", "exec", arcad.netns, "python3", "-m",
                               "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(www)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if arcad.ns(["curl", "-sf", f"http://127.0.0.1:{port}/file.txt"],
                        check=False).returncode == 0:
                break
            time.sleep(0.1)
        ctx = tmp_path / "ctx"
        write(str(ctx), {"Dockerfile": f"FROM busybox\nADD http://127.0.0.1:{port}/file.txt /d/\n"})
        build(arcad, str(ctx), "-t", "url")
        out = arcad.docker("run", "--rm", "url", "ls", "-l", "/d/file.txt").stdout
        assert out.startswith("-rw-------")
        assert arcad.docker("run", "--rm", "url", "cat", "/d/file.txt").stdout == "served\n"
        write(str(ctx), {"Dockerfile": f"FROM busybox\nADD http://127.0.0.1:{port}/nope /d/\n"})
        r = build(arcad, str(ctx), check=False)
        assert r.returncode != 0 and "with status 404" in r.stderr
    finally:
        server.kill()
        server.wait()


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="no docker-compose")
def test_compose_build_and_up(arcad, tmp_path):
    write(str(tmp_path), {
        "docker-compose.yml": "version: \"3.8\"\nservices:\n  app:\n    build:\n"
                              "      context: ./app\n      args:\n        MSG: from-compose\n"
                              "    command: cat /msg\n",
        "app/Dockerfile": "FROM busybox\nARG MSG=none\nRUN echo \"$MSG\" > /msg\n",
    })
    r = subprocess.run(["docker-compose", "-p", "cb", "up", "--build"], cwd=tmp_path,
                       env=arcad.env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "from-compose" in r.stdout and "Successfully tagged cb_app:latest" in r.stdout
    subprocess.run(["docker-compose", "-p", "cb", "down"], cwd=tmp_path, env=arcad.env,
                   capture_output=True, timeout=300)


def test_cache_from_a_loaded_image(arcad, tmp_path):
    ctx = tmp_path / "ctx"
    write(str(ctx), {"Dockerfile": "FROM busybox\nENV A=1\nCOPY f.txt /f.txt\n"
                                   "RUN cat /f.txt > /g.txt\nCMD [\"cat\", \"/g.txt\"]\n",
                     "f.txt": "cached content\n"})
    build(arcad, str(ctx), "-t", "src:1")
    image = arcad.docker("inspect", "-f", "{{.Id}}", "src:1").stdout.strip()
    tar = str(tmp_path / "src.tar")
    arcad.docker("save", "-o", tar, "src:1")
    arcad.docker("rmi", "src:1")  # with the steps' images: the local cache is gone
    arcad.docker("load", "-i", tar)
    # A loaded image has no parents here: only its history can say what a step made.
    r = build(arcad, str(ctx), "--cache-from", "src:1", "-t", "again")
    assert r.stdout.count("Using cache") == 4 and "Running in" not in r.stdout
    assert arcad.docker("inspect", "-f", "{{.Id}}", "again").stdout.strip() == image
    assert arcad.docker("run", "--rm", "again").stdout == "cached content\n"
    # cachefrom limits the cache: an image that is no ancestor gives nothing.
    r = build(arcad, str(ctx), "--cache-from", "busybox", "-t", "other")
    assert "Using cache" not in r.stdout


def test_hostile_context_reads_nothing_of_the_host(arcad, tmp_path):
    """A context is a client's: a device node, a symlink out of it or a FIFO must not make
    the daemon read the host."""
    api = docker.APIClient(base_url=arcad.env["DOCKER_HOST"], version="1.41")

    def send(entries, dockerfile):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(dockerfile)
            t.addfile(info, io.BytesIO(dockerfile.encode()))
            for e in entries:
                t.addfile(e)
        r = api._post(api._url("/build"), data=buf.getvalue(),
                      headers={"Content-Type": "application/x-tar"})
        return r.status_code, [json.loads(l) for l in r.text.splitlines() if l.strip()]

    disk = tarfile.TarInfo("disk")
    disk.type, disk.devmajor, disk.devminor = tarfile.BLKTYPE, 7, 0
    fifo = tarfile.TarInfo("fifo")
    fifo.type = tarfile.FIFOTYPE
    link = tarfile.TarInfo("passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    for src in ("disk", "fifo", "passwd"):
        status, msgs = send([disk, fifo, link], f"FROM busybox\nCOPY {src} /x\n")
        assert status == 200 and "error" in msgs[-1], (src, msgs)
        assert "file not found in build context" in msgs[-1]["error"], msgs[-1]
    # A name that climbs out of the context is refused before anything runs.
    up = tarfile.TarInfo("../../escape")
    status, msgs = send([up], "FROM busybox\n")
    assert status >= 400
    api.close()
