"""arcad's configuration file (daemon.json, dockerd's key names): what it applies, and
the errors dockerd gives for unknown keys and for a setting given both as a flag and in
the file (issue 17)."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from daemon import Daemon

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ARCA_BUILD_DIR", os.path.join(ROOT, "build"))
ARCAD = os.path.join(BUILD, "src/daemon/arcad")


def validate(tmp_path, config, *flags):
    path = str(tmp_path / "daemon.json")
    with open(path, "w") as f:
        f.write(config if isinstance(config, str) else json.dumps(config))
    return subprocess.run([ARCAD, "--config-file", path, *flags, "--validate"],
                          capture_output=True, text=True, timeout=30)


def test_validate(tmp_path):
    r = validate(tmp_path, {"data-root": "/var/lib/arca", "insecure-registries": ["r:5000"],
                            "log-level": "warn", "live-restore": False})
    assert r.returncode == 0 and r.stdout == "configuration OK\n", r.stderr
    r = validate(tmp_path, {"data-root": "/d", "storage-drvier": "overlay2"})
    assert r.returncode == 1
    assert "don't match any configuration option: storage-drvier" in r.stderr
    r = validate(tmp_path, {"mtu": 1400, "bip": "10.0.0.1/24"})
    assert r.returncode == 1 and "not supported by arcad: bip, mtu" in r.stderr
    # What only the keys together say: options the log driver does not take.
    r = validate(tmp_path, {"log-driver": "none", "log-opts": {"max-size": "1m"}})
    assert r.returncode == 1 and "unknown log opt 'max-size' for none" in r.stderr
    r = validate(tmp_path, {}, "--dns", "resolver.example")
    assert r.returncode == 2 and "--dns: resolver.example is not an ip address" in r.stderr
    r = validate(tmp_path, {"data-root": "/file"}, "--data-root", "/flag")
    assert r.returncode == 1
    assert ("specified both as a flag and in the configuration file: "
            "data-root: (from flag: /flag, from file: /file)") in r.stderr
    r = validate(tmp_path, "{\"data-root\": ")
    assert r.returncode == 1 and "invalid JSON" in r.stderr
    r = subprocess.run([ARCAD, "--config-file", str(tmp_path / "missing.json"), "--validate"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "No such file" in r.stderr


def test_the_file_takes_effect(build_dir, kernel):
    d = Daemon(build_dir, kernel)
    d.config = {"insecure-registries": ["myreg.test:5000"], "log-level": "debug"}
    try:
        d.start()
        d.load_busybox()
        info = json.loads(d.docker("info", "--format", "{{json .RegistryConfig}}").stdout)
        assert info["IndexConfigs"]["myreg.test:5000"]["Secure"] is False
        assert "myreg.test:5000" in d.docker("info").stdout
        d.docker("run", "--rm", "busybox", "true")
        log = d.log()
        assert "spawned qemu" in log  # a debug line
        # The request log: method, path, status, duration.
        assert re.search(r"GET /v1\.\d+/info -> 200 in \d+ ms", log), log[-2000:]
        assert re.search(r"POST /v1\.\d+/containers/create(\?\S*)? -> 201 in \d+ ms", log)
        assert re.search(r"POST /v1\.\d+/containers/\w+/attach\?\S* -> 101 in", log)
    finally:
        left = d.stop()
        assert not left


def test_socket_activation_and_readiness(build_dir, kernel):
    """As arcad.service and arcad.socket run it: the socket made by the service manager
    (here systemd-socket-activate, which needs no systemd as PID 1), READY=1 on
    NOTIFY_SOCKET once it serves, STOPPING=1 on SIGTERM, and the socket left in place."""
    import socket as sk
    d = Daemon(build_dir, kernel)
    notify = os.path.join(d.dir, "notify")
    n = sk.socket(sk.AF_UNIX, sk.SOCK_DGRAM)
    n.bind(notify)
    n.settimeout(30)
    # It passes on only the environment it is told to (-E).
    d.prefix = ["systemd-socket-activate", "-l", d.sock, "-E", "NOTIFY_SOCKET",
                "-E", "ARCA_KERNEL", "-E", "ARCA_INITRAMFS"]
    d.extra_env = {"NOTIFY_SOCKET": notify}
    try:
        d.start()
        assert b"READY=1" in n.recv(4096)
        assert "passed by systemd" in d.log()
        assert d.docker("ps").returncode == 0
        d.proc.terminate()
        assert n.recv(4096) == b"STOPPING=1"
        d.proc.wait(timeout=30)
        assert os.path.exists(d.sock)  # systemd's, not arcad's to remove
    finally:
        n.close()
        d.stop()


def wait_for_log(d, text, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in d.log():
            return
        time.sleep(0.1)
    raise AssertionError(f"`{text}` not in arcad's log:\n{d.log()}")


def test_reload_on_sighup(build_dir, kernel):
    """SIGHUP reads daemon.json again: labels, insecure registries, log level, debug and
    live restore change at once (a `daemon reload` event says so); a change of another
    key waits for a restart, said in the log; a bad file keeps what was."""
    d = Daemon(build_dir, kernel)
    d.config = {"labels": ["a=1"], "log-level": "info"}
    since = str(int(time.time()) - 1)
    try:
        d.start()
        info = json.loads(d.docker("info", "--format", "{{json .}}").stdout)
        assert info["Labels"] == ["a=1"] and "myreg.test:5000" not in \
            info["RegistryConfig"]["IndexConfigs"]
        with open(d.config_file, "w") as f:
            json.dump({"labels": ["a=2", "b=3"], "log-level": "debug", "live-restore": True,
                       "insecure-registries": ["myreg.test:5000"], "default-memory": 256,
                       "vm-pool-size": d.pool_size}, f)
        d.proc.send_signal(signal.SIGHUP)
        wait_for_log(d, "reloaded the configuration")
        info = json.loads(d.docker("info", "--format", "{{json .}}").stdout)
        assert info["Labels"] == ["a=2", "b=3"]
        assert info["RegistryConfig"]["IndexConfigs"]["myreg.test:5000"]["Secure"] is False
        assert info["LiveRestoreEnabled"] is True
        assert "default-memory changed" in d.log()
        # Debug level now: the request log appears.
        assert re.search(r"GET /v1\.\d+/info -> 200 in \d+ ms", d.log())
        # The events of the past, up to now: the reload's, once.
        out = d.docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                       "--filter", "type=daemon", "--format", "{{json .}}").stdout
        assert len(out.splitlines()) == 1, out
        event = json.loads(out)
        assert event["Type"] == "daemon" and event["Action"] == "reload"
        assert event["Actor"]["Attributes"]["labels"] == "[a=2 b=3]"
        assert event["Actor"]["Attributes"]["insecure-registries"] == "[myreg.test:5000]"
        # A file that does not parse, or that conflicts with a flag: nothing changes.
        for bad, why in [("{\"labels\": [", "invalid JSON"),
                         ('{"data-root": "/elsewhere"}', "both as a flag and in the "
                                                         "configuration file")]:
            with open(d.config_file, "w") as f:
                f.write(bad)
            d.proc.send_signal(signal.SIGHUP)
            wait_for_log(d, why)
            assert "the configuration stays as it was" in d.log()
            info = json.loads(d.docker("info", "--format", "{{json .}}").stdout)
            assert info["Labels"] == ["a=2", "b=3"] and info["LiveRestoreEnabled"] is True
    finally:
        left = d.stop()
        assert not left


def test_default_address_pools(build_dir, kernel):
    """default-address-pools replaces Docker's pools: the default bridge and every
    network created without a subnet take theirs from it, in order."""
    d = Daemon(build_dir, kernel)
    d.config = {"default-address-pools": [{"base": "10.123.0.0/16", "size": 24}]}
    try:
        d.start()
        d.load_busybox()
        info = json.loads(d.docker("info", "--format", "{{json .DefaultAddressPools}}").stdout)
        assert info == [{"Base": "10.123.0.0/16", "Size": 24}]
        subnet = "{{range .IPAM.Config}}{{.Subnet}}{{end}}"
        assert d.docker("network", "inspect", "bridge", "--format",
                        subnet).stdout.strip() == "10.123.0.0/24"
        d.docker("network", "create", "pooled")
        assert d.docker("network", "inspect", "pooled", "--format",
                        subnet).stdout.strip() == "10.123.1.0/24"
        out = d.docker("run", "--rm", "--network", "pooled", "busybox", "ip", "-4", "-o",
                       "addr", "show", "eth0").stdout
        assert "inet 10.123.1.2/24" in out, out
        d.docker("network", "rm", "pooled")
    finally:
        left = d.stop()
        assert not left


def _ensure_group(name):
    if subprocess.run(["getent", "group", name], capture_output=True).returncode == 0:
        return False
    subprocess.run(["groupadd", "--system", name], check=True)
    return True


def test_socket_group(build_dir, kernel):
    """The socket is root:GROUP 0660: a member of the group who is not root uses it, a
    user outside it is refused (membership is root-equivalent, docs/daemon.md)."""
    made = _ensure_group("arca")
    users = [f"arcat{os.getpid() % 100000}in", f"arcat{os.getpid() % 100000}out"]
    subprocess.run(["useradd", "-M", "-N", "-G", "arca", "-s", "/bin/sh", users[0]], check=True)
    subprocess.run(["useradd", "-M", "-N", "-s", "/bin/sh", users[1]], check=True)
    d = Daemon(build_dir, kernel)
    d.config = {"group": "arca"}
    os.chmod(d.dir, 0o711)  # the socket's directory: others may pass, not list
    try:
        d.start()
        st = os.stat(d.sock)
        assert oct(st.st_mode & 0o777) == "0o660"
        import grp
        assert grp.getgrgid(st.st_gid).gr_name == "arca" and st.st_uid == 0

        def as_user(user):
            return subprocess.run(["runuser", "-u", user, "--", "env", "HOME=/tmp",
                                   f"DOCKER_CONFIG=/tmp/{user}-docker",
                                   "docker", "-H", f"unix://{d.sock}", "ps"],
                                  capture_output=True, text=True, timeout=60)
        r = as_user(users[0])
        assert r.returncode == 0 and r.stdout.startswith("CONTAINER ID"), r.stderr
        r = as_user(users[1])
        assert r.returncode != 0 and "permission denied" in r.stderr, r.stderr
    finally:
        left = d.stop()
        for u in users:
            subprocess.run(["userdel", u], check=False)
            shutil.rmtree(f"/tmp/{u}-docker", ignore_errors=True)
        if made:
            subprocess.run(["groupdel", "arca"], check=False)
        assert not left


def test_container_defaults(build_dir, kernel):
    """dns, dns-search, dns-opts, default-cpus, log-driver and log-opts: what a
    container gets when it says nothing of its own, merged as dockerd merges them."""
    d = Daemon(build_dir, kernel)
    d.config = {"dns": ["10.9.9.9"], "dns-search": ["corp.example"], "dns-opts": ["ndots:3"],
                "default-cpus": 2, "log-driver": "json-file",
                "log-opts": {"max-size": "1k", "max-file": "2"}}
    try:
        d.start()
        d.load_busybox()
        assert d.docker("info", "--format", "{{.LoggingDriver}}").stdout.strip() == "json-file"
        out = d.docker("run", "--name", "plain", "busybox", "sh", "-c",
                       "cat /etc/resolv.conf; nproc").stdout
        assert "nameserver 10.9.9.9" in out and "search corp.example" in out, out
        assert "options ndots:3" in out and out.split()[-1] == "2", out
        lc = json.loads(d.docker("inspect", "plain", "--format",
                                 "{{json .HostConfig.LogConfig}}").stdout)
        assert lc == {"Type": "json-file", "Config": {"max-size": "1k", "max-file": "2"}}
        # Their own win; the daemon's options fill in what a json-file one left out.
        out = d.docker("run", "--name", "own", "--dns", "10.8.8.8", "--cpus", "1",
                       "--log-opt", "max-size=5k", "busybox", "sh", "-c",
                       "cat /etc/resolv.conf; nproc").stdout
        assert "nameserver 10.8.8.8" in out and "10.9.9.9" not in out, out
        assert out.split()[-1] == "1", out
        lc = json.loads(d.docker("inspect", "own", "--format",
                                 "{{json .HostConfig.LogConfig}}").stdout)
        assert lc["Config"] == {"max-size": "5k", "max-file": "2"}, lc
        d.docker("create", "--name", "quiet", "--log-driver", "none", "busybox", "true")
        lc = json.loads(d.docker("inspect", "quiet", "--format",
                                 "{{json .HostConfig.LogConfig}}").stdout)
        assert lc == {"Type": "none", "Config": {}}, lc
        # On a user-defined network: the embedded resolver, which forwards to 10.9.9.9.
        d.docker("network", "create", "defs")
        out = d.docker("run", "--rm", "--network", "defs", "busybox", "cat",
                       "/etc/resolv.conf").stdout
        assert "nameserver 127.0.0.11" in out and "search corp.example" in out, out
        assert "ExtServers: [10.9.9.9]" in out, out
        d.docker("rm", "plain", "own", "quiet")
        d.docker("network", "rm", "defs")
    finally:
        left = d.stop()
        assert not left


def test_registry_mirrors(build_dir, kernel, tmp_path):
    """registry-mirrors: Docker Hub's images come from the first mirror that has them
    (Docker Hub itself is unreachable here), a mirror that fails is passed over, and a
    reload changes them."""
    import images
    import registry
    layout = str(tmp_path / "bb")
    info = images.build_busybox_layout(layout, extra_files={"etc/mirrored": b"yes\n"})
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, layout, "library/busybox")
        dead = f"http://127.0.0.1:{registry.free_port()}"
        d = Daemon(build_dir, kernel)
        d.config = {"registry-mirrors": [dead, f"http://{reg.host}"],
                    "max-concurrent-downloads": 1}
        try:
            d.start()
            d.reach_host_ports(*reg.ports)
            reg_info = json.loads(d.docker("info", "--format",
                                           "{{json .RegistryConfig}}").stdout)
            assert reg_info["Mirrors"] == [dead, f"http://{reg.host}"]
            assert reg_info["IndexConfigs"]["docker.io"]["Mirrors"] == reg_info["Mirrors"]
            out = d.docker("pull", "busybox:latest").stdout
            assert f"Digest: {info.manifest_digest}" in out, out
            assert d.docker("image", "inspect", "busybox:latest", "--format",
                            "{{.Id}}").stdout.strip() == info.image_id
            # Without the good mirror, Docker Hub is asked, and is not reachable.
            with open(d.config_file, "w") as f:
                json.dump({"registry-mirrors": [dead]}, f)
            d.proc.send_signal(signal.SIGHUP)
            wait_for_log(d, "reloaded the configuration")
            d.docker("rmi", "busybox:latest")
            r = d.docker("pull", "busybox:latest", check=False, timeout=120)
            assert r.returncode != 0 and "registry-1.docker.io" in r.stderr, r.stderr
        finally:
            left = d.stop()
            assert not left
