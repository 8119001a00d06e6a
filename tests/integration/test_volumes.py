"""docker volume against arcad: the local driver's records and directories, dockerd's
filters, errors and events. (Mounting volumes into containers comes with the rest of the
volumes issue; until then a create that mounts one is refused, test_dockerd_parity.py.)"""
import json
import os
import threading
import time

import docker
import pytest


def test_create_inspect_list_remove(arcad, client):
    assert arcad.docker("volume", "create", "--label", "team=db", "data").stdout == "data\n"
    info = json.loads(arcad.docker("volume", "inspect", "data").stdout)[0]
    assert info["Name"] == "data" and info["Driver"] == "local" and info["Scope"] == "local"
    assert info["Labels"] == {"team": "db"} and info["Options"] == {}
    assert info["Mountpoint"] == os.path.join(arcad.root, "volumes", "data", "_data")
    assert os.path.isdir(info["Mountpoint"]) and info["CreatedAt"]
    # A second create of the same name gives the same volume, as dockerd does.
    again = client.volumes.create("data")
    assert again.attrs["CreatedAt"] == info["CreatedAt"]
    anon = client.volumes.create()  # a generated name
    assert len(anon.name) == 64
    names = arcad.docker("volume", "ls", "-q").stdout.split()
    assert names == sorted(["data", anon.name])
    assert arcad.docker("volume", "ls", "-q", "--filter", "label=team=db").stdout == "data\n"
    assert arcad.docker("volume", "ls", "-q", "--filter", "name=dat").stdout == "data\n"
    assert arcad.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split() == \
        sorted(["data", anon.name])
    assert arcad.docker("volume", "ls", "-q", "--filter", "driver=nope").stdout == ""
    # Data written into the volume's directory counts in docker system df.
    with open(os.path.join(info["Mountpoint"], "blob"), "wb") as f:
        f.write(os.urandom(256 * 1024))
    df = client.df()
    vol = next(v for v in df["Volumes"] if v["Name"] == "data")
    assert vol["UsageData"]["Size"] >= 256 * 1024 and vol["UsageData"]["RefCount"] == 0
    arcad.docker("volume", "rm", "data", anon.name)
    assert arcad.docker("volume", "ls", "-q").stdout == ""
    assert not os.path.exists(os.path.join(arcad.root, "volumes", "data"))


def test_errors_as_dockerd(arcad, client):
    r = arcad.docker("volume", "rm", "nosuch", check=False)
    assert r.returncode != 0 and "no such volume" in r.stderr
    assert arcad.docker("volume", "rm", "-f", "nosuch").returncode == 0
    r = arcad.docker("volume", "inspect", "nosuch", check=False)
    assert r.returncode != 0 and "no such volume" in r.stderr
    for bad in ("a", "../x", "a/b", "_x", "x y"):
        r = arcad.docker("volume", "create", bad, check=False)
        assert r.returncode != 0 and "includes invalid characters" in r.stderr, (bad, r.stderr)
    assert not os.path.exists(os.path.join(arcad.root, "x"))
    r = arcad.docker("volume", "create", "-d", "nodriver", "v1", check=False)
    assert r.returncode != 0 and "plugin \"nodriver\" not found" in r.stderr
    r = arcad.docker("volume", "create", "-o", "bogus=1", "v1", check=False)
    assert r.returncode != 0 and "invalid option key" in r.stderr
    r = arcad.docker("volume", "create", "-o", "type=nfs", "-o", "device=:/x", "v1",
                     check=False)
    assert r.returncode != 0 and "type=tmpfs" in r.stderr
    arcad.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs",
                 "-o", "o=size=10m", "scratch")
    opts = json.loads(arcad.docker("volume", "inspect", "scratch").stdout)[0]["Options"]
    assert opts == {"type": "tmpfs", "device": "tmpfs", "o": "size=10m"}
    with pytest.raises(docker.errors.APIError) as e:
        client.api.create_volume("scratch", driver="other")
    assert e.value.status_code == 404  # the driver is looked up first, as dockerd does
    arcad.docker("volume", "rm", "scratch")


def test_prune_takes_anonymous_volumes_unless_all(arcad, client):
    client.volumes.create("named", labels={"keep": "no"})
    anon = client.volumes.create(labels={"com.docker.volume.anonymous": ""})
    out = client.volumes.prune()
    assert out["VolumesDeleted"] == [anon.name]
    assert [v.name for v in client.volumes.list()] == ["named"]
    out = client.volumes.prune(filters={"all": "true", "label!": "keep=no"})
    assert out["VolumesDeleted"] == []
    out = client.volumes.prune(filters={"all": "true", "label": "keep"})
    assert out["VolumesDeleted"] == ["named"]
    assert client.volumes.list() == []


def test_volumes_outlive_the_daemon_and_send_events(arcad, client):
    events = []
    client.volumes.create("kept", labels={"a": "b"})
    arcad.restart()
    c2 = docker.DockerClient(base_url=arcad.env["DOCKER_HOST"], version="auto", timeout=180)
    try:
        v = c2.volumes.get("kept")
        assert v.attrs["Labels"] == {"a": "b"}
        done = threading.Event()

        def watch():
            for e in c2.events(decode=True, filters={"type": "volume"},
                               since=int(time.time()) - 1):
                events.append((e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"]))
                if e["Action"] == "destroy":
                    done.set()
                    return

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        time.sleep(0.5)
        c2.volumes.create("fresh")
        v.remove()
        assert done.wait(30)
        assert ("create", "fresh", {"driver": "local"}) in events
        assert ("destroy", "kept", {"driver": "local"}) in events
        c2.volumes.get("fresh").remove()
    finally:
        c2.close()
