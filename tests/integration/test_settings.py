"""arcad's configuration file (daemon.json, dockerd's key names): what it applies, and
the errors dockerd gives for unknown keys and for a setting given both as a flag and in
the file (issue 17)."""
import json
import os
import re
import subprocess

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
    r = validate(tmp_path, {"registry-mirrors": ["https://m"]})
    assert r.returncode == 1 and "not supported by arcad: registry-mirrors" in r.stderr
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
    d.start()
    try:
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
