"""docker commit against arcad: the writable layer as a new image, then run it."""
import io
import json
import subprocess
import tarfile


def test_commit_then_run(arcad):
    arcad.docker("run", "--name", "base", "busybox", "sh", "-c",
                 "echo committed > /greeting; rm /bin/vi; mkdir -p /app && echo x > /app/f")
    image_id = arcad.docker("commit", "-m", "my change", "-a", "tester",
                            "-c", 'CMD ["cat", "/greeting"]', "-c", "ENV MODE=prod",
                            "base", "committed:v1").stdout.strip()
    assert image_id.startswith("sha256:")
    assert arcad.docker("run", "--rm", "committed:v1").stdout == "committed\n"
    out = arcad.docker("run", "--rm", "committed:v1", "sh", "-c",
                       "ls /bin/vi 2>&1; cat /app/f; echo $MODE").stdout
    assert "No such file" in out and "x\n" in out and "prod" in out  # the deletion holds
    info = json.loads(arcad.docker("image", "inspect", "committed:v1").stdout)[0]
    assert info["Id"] == image_id
    assert info["Comment"] == "my change" and info["Author"] == "tester"
    assert info["Config"]["Cmd"] == ["cat", "/greeting"]
    base_layers = json.loads(arcad.docker("image", "inspect", "busybox").stdout)[0][
        "RootFS"]["Layers"]
    assert info["RootFS"]["Layers"][:-1] == base_layers  # one layer on top of the image's
    # The new layer holds the changes, without the init layer (/.dockerenv, /etc/mtab...),
    # as dockerd keeps that layer out of a commit.
    saved = subprocess.run(["docker", "save", "committed:v1"], env=arcad.env, check=True,
                           capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(saved)) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        layer = t.extractfile(manifest[0]["Layers"][-1]).read()
    with tarfile.open(fileobj=io.BytesIO(layer)) as t:
        members = {m.name for m in t.getmembers()}
    assert {"greeting", "app/f", "bin/.wh.vi"} <= members
    assert not members & {".dockerenv", "etc/mtab", "dev/console", "etc/hostname"}
    hist = json.loads(arcad.docker("history", "--no-trunc", "--format", "{{json .}}",
                                   "committed:v1").stdout.splitlines()[0])
    assert hist["Comment"] == "my change"
    # Committing the committed image's container again stacks another layer.
    arcad.docker("run", "--name", "second", "committed:v1", "sh", "-c", "echo more > /more")
    arcad.docker("commit", "second", "committed:v2")
    assert arcad.docker("run", "--rm", "committed:v2", "cat", "/greeting", "/more").stdout == \
        "committed\nmore\n"
    r = arcad.docker("commit", "nosuch", "x:y", check=False)
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr
    r = arcad.docker("commit", "-c", "RUN true", "base", "x:y", check=False)
    assert r.returncode != 0 and "RUN is not a valid change command" in r.stderr
    arcad.docker("rm", "base", "second")
    arcad.docker("rmi", "committed:v2", "committed:v1")


def test_commit_running_container(arcad):
    arcad.docker("run", "-d", "--name", "live", "busybox", "sh", "-c",
                 "echo live > /state; sleep 1000")
    arcad.docker("exec", "live", "true")
    arcad.docker("commit", "live", "snap:1")
    assert arcad.docker("run", "--rm", "snap:1", "cat", "/state").stdout == "live\n"
    assert arcad.docker("inspect", "live", "--format", "{{.State.Running}}").stdout == "true\n"
    arcad.docker("rm", "-f", "live")
    arcad.docker("rmi", "snap:1")


def test_commit_while_the_container_exits(arcad):
    """The main process exits while the commit's tar runs in the same VM (the load race)."""
    # The container writes a file, waits until the commit's tar is running, then exits:
    # the VM must stay until the tar is done, and the commit must succeed.
    arcad.docker("run", "-d", "--name", "leaving", "busybox", "sh", "-c",
                 "head -c 8000000 /dev/urandom > /big; echo kept > /note; touch /ready;"
                 " until ps | grep -q '[t]ar -cf'; do :; done; exit 3")
    for _ in range(600):
        if arcad.docker("exec", "leaving", "test", "-e", "/ready", check=False).returncode == 0:
            break
    arcad.docker("commit", "leaving", "left:1")
    assert arcad.docker("wait", "leaving").stdout == "3\n"
    assert arcad.docker("run", "--rm", "left:1", "sh", "-c",
                        "cat /note; wc -c < /big").stdout == "kept\n8000000\n"
    arcad.docker("rm", "leaving")
    arcad.docker("rmi", "left:1")
