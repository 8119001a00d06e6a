"""docker-py (Debian's python3-docker) against arcad: the same paths as the CLI
tests, plus the error codes and messages clients rely on.
"""
import json
import socket
import time

import docker
import pytest

import images
import registry


def raw_request(arcad, method, path, body=b"", headers=None):
    """One HTTP/1.1 request on the daemon socket; returns (status, body)."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(arcad.sock)
    head = f"{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    s.sendall(head.encode() + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def test_run_and_remove(client):
    out = client.containers.run("busybox", ["echo", "hello from docker-py"], remove=True)
    assert out == b"hello from docker-py\n"
    with pytest.raises(docker.errors.ContainerError) as e:
        client.containers.run("busybox", ["sh", "-c", "exit 4"], remove=True)
    assert e.value.exit_status == 4


def test_detached_logs_stop_wait(client):
    c = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3; do echo n$i; done; sleep 100"],
                              detach=True, name="pyd")
    deadline = time.time() + 60
    while time.time() < deadline and b"n3" not in c.logs():
        time.sleep(0.3)
    assert c.logs() == b"n1\nn2\nn3\n"
    stream = c.logs(stream=True, follow=True)
    assert next(stream).startswith(b"n1")
    c.stop(timeout=2)
    assert c.wait()["StatusCode"] == 143
    c.reload()
    assert c.status == "exited"
    c.remove()


def test_exec_and_attach(client):
    c = client.containers.run("busybox", ["sleep", "1000"], detach=True)
    code, out = c.exec_run(["sh", "-c", "echo in-exec; exit 3"])
    assert code == 3 and out == b"in-exec\n"
    code, (o, e) = c.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
    assert code == 0 and o == b"o\n" and e == b"e\n"
    c.remove(force=True)
    c2 = client.containers.create("busybox", ["sh", "-c", "echo attached-output"])
    sock = c2.attach(stdout=True, stderr=True, stream=True, logs=True)
    c2.start()
    data = b"".join(sock)
    assert b"attached-output" in data
    assert c2.wait()["StatusCode"] == 0
    c2.remove()


def test_list_filters_rename_pause_kill_restart(client):
    a = client.containers.run("busybox", ["sleep", "1000"], detach=True, name="p1",
                              labels={"k": "v"})
    b = client.containers.create("busybox", ["true"], name="p2")
    assert [c.name for c in client.containers.list(filters={"label": "k=v"})] == ["p1"]
    assert [c.name for c in client.containers.list(all=True, filters={"status": "created"})] == ["p2"]
    assert {c.name for c in client.containers.list(all=True)} == {"p1", "p2"}
    a.rename("p1-renamed")
    a.reload()
    assert a.name == "p1-renamed"
    a.pause()
    a.reload()
    assert a.status == "paused"
    a.unpause()
    a.kill(signal="SIGKILL")
    assert a.wait()["StatusCode"] == 137
    a.restart()
    a.reload()
    assert a.status == "running"
    a.remove(force=True)
    b.remove()
    assert client.containers.list(all=True) == []


def test_error_codes_and_messages(client, arcad):
    with pytest.raises(docker.errors.NotFound) as e:
        client.containers.get("no-such-container")
    assert e.value.response.status_code == 404
    assert "No such container: no-such-container" in e.value.explanation
    with pytest.raises(docker.errors.ImageNotFound) as e:
        client.images.get("no-such-image:v9")
    assert e.value.response.status_code == 404
    assert "No such image: no-such-image:v9" in e.value.explanation
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("no-such-image:v9", ["true"])
    client.containers.create("busybox", ["true"], name="same")
    with pytest.raises(docker.errors.APIError) as e:
        client.containers.create("busybox", ["true"], name="same")
    assert e.value.response.status_code == 409
    assert 'The container name "/same" is already in use' in e.value.explanation
    running = client.containers.run("busybox", ["sleep", "100"], detach=True)
    with pytest.raises(docker.errors.APIError) as e:
        running.remove()
    assert e.value.response.status_code == 409
    running.remove(force=True)
    # Malformed JSON and bad parameters: 400 with a message.
    status, body = raw_request(arcad, "POST", "/v1.51/containers/create", b"{not json",
                               {"Content-Type": "application/json"})
    assert status == 400 and "invalid JSON" in json.loads(body)["message"]
    status, body = raw_request(arcad, "POST", "/v1.51/containers/create", b'{"Image": 5}',
                               {"Content-Type": "application/json"})
    assert status == 400
    status, body = raw_request(arcad, "GET", "/v1.51/containers/json?filters=%7Bbad")
    assert status == 400 and "message" in json.loads(body)
    status, body = raw_request(arcad, "GET", "/v1.99/version")
    assert status == 400 and "too new" in json.loads(body)["message"]
    status, body = raw_request(arcad, "GET", "/v1.51/containers/nope/attach/ws")
    assert status == 404
    cid = client.containers.create("busybox", ["true"]).id
    status, body = raw_request(arcad, "GET", f"/v1.51/containers/{cid}/attach/ws")
    assert status == 501 and "not supported" in json.loads(body)["message"]
    status, body = raw_request(arcad, "GET", "/v1.51/swarm")
    assert status == 503 and "not a swarm manager" in json.loads(body)["message"]
    status, _ = raw_request(arcad, "GET", "/v1.51/no/such/route")
    assert status == 404


def test_networks(client):
    net = client.networks.create("pynet", labels={"k": "v"})
    assert client.networks.get("pynet").attrs["Labels"] == {"k": "v"}
    with pytest.raises(docker.errors.APIError) as e:
        client.networks.create("pynet")
    assert e.value.response.status_code == 409
    with pytest.raises(docker.errors.NotFound):
        client.networks.get("no-such-net")
    # An unknown network at create is a 404 naming the network (the CLI then
    # tries a pull, as it does against dockerd).
    with pytest.raises(docker.errors.NotFound) as e:
        client.containers.create("busybox", ["true"], network="no-such-net")
    assert "network no-such-net not found" in e.value.explanation
    c = client.containers.run("busybox", ["sleep", "100"], detach=True, network="pynet")
    net.reload()
    assert [x.id for x in net.containers] == [c.id]
    net.disconnect(c)
    with pytest.raises(docker.errors.APIError) as e:
        net.disconnect(c)
    assert e.value.response.status_code == 500  # dockerd's, for a container not connected
    net.connect(c, aliases=["db"])
    c.reload()
    assert "db" in c.attrs["NetworkSettings"]["Networks"]["pynet"]["Aliases"]
    with pytest.raises(docker.errors.APIError) as e:
        net.remove()
    assert e.value.response.status_code == 403
    c.remove(force=True)
    net.remove()
    assert [n.name for n in client.networks.list(names=["pynet"])] == []


def test_images_pull_tag_push_save_load_remove(arcad, client, tmp_path):
    layout = str(tmp_path / "bb")
    info = images.build_busybox_layout(layout, extra_files={"etc/py": b"py\n"})
    with registry.Registry(mode="basic") as reg:
        registry.push_oci_layout(reg, layout, "py/bb", creds=reg.creds)
        arcad.reach_host_ports(*reg.ports)
        auth = {"username": reg.user, "password": reg.password}
        with pytest.raises(docker.errors.APIError) as e:
            client.images.pull(f"{reg.host}/py/bb", tag="latest")
        assert e.value.response.status_code == 401
        img = client.images.pull(f"{reg.host}/py/bb", tag="latest", auth_config=auth)
        assert img.id == info.image_id
        assert img.tag(f"{reg.host}/py/copy", tag="v2")
        out = client.images.push(f"{reg.host}/py/copy", tag="v2", auth_config=auth)
        assert "digest: sha256:" in out
        data = b"".join(img.save(named=True))  # by name: the tag travels
        client.images.remove(img.id, force=True)
        with pytest.raises(docker.errors.ImageNotFound):
            client.images.get(img.id)
        loaded = client.images.load(data)
        assert loaded[0].id == info.image_id
        assert client.containers.run(f"{reg.host}/py/bb:latest", ["cat", "/etc/py"],
                                     remove=True) == b"py\n"
