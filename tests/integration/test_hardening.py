"""The untrusted-input review's findings (issue 14), each as the attack it describes,
failing before its fix: a client that hangs up mid-export, a local user who takes the
store's tmpfs staging first, a layer that expands beyond its staging's room."""
import ctypes
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ARCA_BUILD_DIR", os.path.join(ROOT, "build"))
ARCA = os.path.join(BUILD, "src/cli/arca")
IN_CREATE, IN_MOVED_TO = 0x100, 0x80


def rootfs_tar(path, files):
    with tarfile.open(path, "w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def test_export_client_gone_before_the_guests_mount_reply(arcad):
    """Finding 1: the guest's reply to export's MOUNT must not reach a freed request
    (the ASan arcad reports it; the release one may crash)."""
    cid = arcad.docker("run", "-d", "busybox", "sleep", "300").stdout.strip()
    sock = arcad.env["DOCKER_HOST"][len("unix://"):]
    for _ in range(30):
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        # Request and hang-up in one go: the daemon sees both before the guest answers.
        s.sendall(f"GET /containers/{cid}/export HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        s.close()
    time.sleep(2)
    assert arcad.proc.poll() is None, arcad.log()
    # It still works, and exports in full.
    out = subprocess.run(["docker", "export", cid], env=arcad.env, capture_output=True,
                         timeout=120)
    assert out.returncode == 0 and len(out.stdout) > 500_000
    arcad.docker("rm", "-f", cid)


def _inotify(path, mask):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    assert fd >= 0
    assert libc.inotify_add_watch(fd, path.encode(), mask) >= 0
    return fd


def test_tmpfs_staging_cannot_be_taken_first(tmp_path):
    """Finding 2: a local user who creates the store's staging directory in /dev/shm
    first (here: a symlink to a directory of theirs) must never get an image tree."""
    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("no /dev/shm")
    root = str(tmp_path / "store")
    digest = hashlib.sha256(root.encode()).hexdigest()[:16]
    trap = tempfile.mkdtemp(prefix="arca-trap-")
    taken = [f"/dev/shm/arca-staging-{digest}", f"/dev/shm/arca-staging-{digest}-AAAAAA"]
    for t in taken:
        os.symlink(trap, t)
    # Somebody else's directory with the new prefix: neither used nor removed.
    foreign = f"/dev/shm/arca-staging-{digest}-BBBBBB"
    os.mkdir(foreign)
    os.chown(foreign, 65534, 65534)
    watch = _inotify(trap, IN_CREATE | IN_MOVED_TO)
    try:
        tar = str(tmp_path / "rootfs.tar")
        rootfs_tar(tar, {"secret.txt": b"private image content\n"})
        env = dict(os.environ, ARCA_ROOT=root)
        r = subprocess.run([ARCA, "image", "import", tar, "priv:1"], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        try:
            events = os.read(watch, 4096)
        except BlockingIOError:
            events = b""
        assert events == b"", "a staging tree was made in the attacker's directory"
        assert os.listdir(trap) == []
        assert os.path.isdir(foreign), "a directory of another user was removed"
        # The handle's own staging went with it.
        left = [e for e in os.listdir("/dev/shm") if e.startswith(f"arca-staging-{digest}-")
                and os.path.join("/dev/shm", e) not in taken + [foreign]]
        assert left == []
    finally:
        os.close(watch)
        for t in taken:
            os.unlink(t)
        os.rmdir(foreign)
        shutil.rmtree(trap, ignore_errors=True)


def test_a_layer_bomb_stops_at_the_stagings_room(tmp_path):
    """Finding 4: a small gzip layer that expands far beyond the tmpfs it was guessed
    to fit fails cleanly (and is not retried into a disk without room either)."""
    bomb = str(tmp_path / "bomb.tar.gz")
    size = 600 << 20
    with gzip.open(bomb, "wb", compresslevel=1) as g:
        with tarfile.open(fileobj=g, mode="w|") as t:
            info = tarfile.TarInfo("zeros")
            info.size = size

            class Zeros(io.RawIOBase):
                left = size

                def readable(self):
                    return True

                def readinto(self, b):
                    n = min(len(b), self.left)
                    b[:n] = bytes(n)
                    self.left -= n
                    return n
            t.addfile(info, io.BufferedReader(Zeros(), 1 << 20))
    assert os.path.getsize(bomb) < 4 << 20
    root = str(tmp_path / "store")
    os.makedirs(root)
    script = ("set -e; mount -t tmpfs -o size=96m tmpfs /dev/shm; "
              f"mount -t tmpfs -o size=512m tmpfs {root}; "
              f"ARCA_ROOT={root} {ARCA} image import {bomb} bomb:1")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "too large" in r.stderr, r.stderr
    assert "No space left" not in r.stderr


def test_a_manifest_that_lists_a_layer_twice_pulls(tmp_path):
    """Finding 5: two transfers of one digest used to share one .partial file: the pull
    failed, and a hostile registry could leave other bytes under the verified name."""
    import images
    import registry
    layout = str(tmp_path / "dup")
    raw = images.tar_bytes(images.busybox_entries())
    info, desc = images._write_image(layout, [(raw, True), (raw, True)])
    images._set_tag(layout, desc, "latest")
    root = str(tmp_path / "store")
    env = dict(os.environ, ARCA_ROOT=root)
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, layout, "dup")
        r = subprocess.run([ARCA, "image", "pull", f"{reg.host}/dup:latest"], env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    r = subprocess.run([ARCA, "image", "fsck"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_layer_announced_larger_than_the_store_is_refused_first(tmp_path):
    """A registry's manifest may announce any size: 1 PiB is refused before a byte is
    downloaded (no preallocation, no partial file), and a size that merely lies is caught
    when the data ends."""
    import images
    import registry
    layout = str(tmp_path / "huge")
    raw = images.tar_bytes(images.busybox_entries())
    info, desc = images._write_image(layout, [(raw, True)])
    images._set_tag(layout, desc, "latest")
    root = str(tmp_path / "store")
    env = dict(os.environ, ARCA_ROOT=root)
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, layout, "huge")
        st, _, body = reg.api("GET", "/v2/huge/manifests/latest",
                              headers={"Accept": images.MT_MANIFEST})
        assert st == 200
        for tag, size in (("pib", 1 << 50), ("lie", (1 << 20) * 3)):
            m = json.loads(body)
            m["layers"][0]["size"] = size
            st, _, _ = reg.api("PUT", f"/v2/huge/manifests/{tag}", data=json.dumps(m).encode(),
                               headers={"Content-Type": images.MT_MANIFEST})
            assert st == 201
        r = subprocess.run([ARCA, "image", "pull", f"{reg.host}/huge:pib"], env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode != 0 and "more than the store has room for" in r.stderr, r.stderr
        r = subprocess.run([ARCA, "image", "pull", f"{reg.host}/huge:lie"], env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode != 0 and "were announced" in r.stderr, r.stderr
    used = subprocess.run(["du", "-sm", root], capture_output=True, text=True).stdout
    assert int(used.split()[0]) < 64


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_load_never_opens_a_member_that_is_no_file(tmp_path, kind):
    """Finding 7: a FIFO named manifest.json hung the load (holding the store's lock); a
    device node was opened as root."""
    tar = str(tmp_path / "evil.tar")
    with tarfile.open(tar, "w") as t:
        for name in ("manifest.json", "index.json", "oci-layout"):
            info = tarfile.TarInfo(name)
            if kind == "fifo":
                info.type = tarfile.FIFOTYPE
            else:
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            t.addfile(info)
    env = dict(os.environ, ARCA_ROOT=str(tmp_path / "store"))
    r = subprocess.run([ARCA, "image", "load", "-i", tar], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "manifest.json" in r.stderr or "index.json" in r.stderr


def _layout_tar(layout, path):
    with tarfile.open(path, "w") as t:
        for name in sorted(os.listdir(layout)):
            t.add(os.path.join(layout, name), arcname=name)


def test_load_checks_the_config_against_its_digest(tmp_path):
    """Finding 12: an OCI archive whose config blob is not what its digest says."""
    import images
    layout = str(tmp_path / "l")
    info, desc = images._write_image(layout, [(images.tar_bytes(images.busybox_entries()),
                                               True)])
    images._set_tag(layout, desc, "latest")
    cfg = os.path.join(layout, "blobs", "sha256", info.config_digest[7:])
    with open(cfg, "rb") as f:
        body = f.read()
    with open(cfg, "wb") as f:  # same size, other content: Cmd is "sh" -> "xx"
        f.write(body.replace(b'"Cmd":["sh"]', b'"Cmd":["xx"]'))
    tar = str(tmp_path / "l.tar")
    _layout_tar(layout, tar)
    env = dict(os.environ, ARCA_ROOT=str(tmp_path / "store"))
    r = subprocess.run([ARCA, "image", "load", "-i", tar], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0 and "corrupt" in r.stderr, r.stderr


def test_load_index_fan_out_is_linear(tmp_path):
    """Finding 10: nested indexes listing the same entry thousands of times each used to be
    walked n^depth times."""
    import images
    layout = str(tmp_path / "l")
    info, desc = images._write_image(layout, [(images.tar_bytes(images.busybox_entries()),
                                               True)])
    inner = {"schemaVersion": 2, "mediaType": images.MT_INDEX, "manifests": [desc] * 1000}
    d1, s1 = images.write_blob(layout, images._json(inner))
    mid = {"schemaVersion": 2, "mediaType": images.MT_INDEX,
           "manifests": [{"mediaType": images.MT_INDEX, "digest": d1, "size": s1}] * 1000}
    d2, s2 = images.write_blob(layout, images._json(mid))
    top = {"schemaVersion": 2, "mediaType": images.MT_INDEX,
           "manifests": [{"mediaType": images.MT_INDEX, "digest": d2, "size": s2}] * 1000}
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(images._json(top))
    tar = str(tmp_path / "l.tar")
    _layout_tar(layout, tar)
    env = dict(os.environ, ARCA_ROOT=str(tmp_path / "store"))
    r = subprocess.run([ARCA, "image", "load", "-i", tar], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Loaded image ID: " + info.image_id in r.stdout


def test_socket_directory_taken_first_and_tcp_refused(tmp_path):
    """Finding 13: a socket directory another user made first is refused (not used), and
    -H tcp://... is refused instead of being taken for a path."""
    arcad = os.path.join(BUILD, "src/daemon/arcad")
    r = subprocess.run([arcad, "-H", "tcp://127.0.0.1:2375"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0 and "unix socket only" in r.stderr
    taken = tmp_path / "taken"
    taken.mkdir()
    os.chown(taken, 65534, 65534)
    r = subprocess.run([arcad, "-H", f"unix://{taken}/arca.sock", "--data-root",
                        str(tmp_path / "root"), "--exec-root", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "is not safe" in r.stderr, r.stderr
    assert not (taken / "arca.sock").exists()


def test_an_endless_import_stops_before_the_disk_is_full(tmp_path):
    """Finding 11: an import (like a load, or a guest's commit) of a stream larger than the
    store has room for stops with an error, leaving the disk's reserve."""
    root = str(tmp_path / "store")
    os.makedirs(root)
    script = (f"set -e; mount -t tmpfs -o size=384m tmpfs {root}; "
              f"head -c 600M /dev/zero | ARCA_ROOT={root} {ARCA} image import - big:1; ")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        script + f"echo; df --output=avail -B1M {root} | tail -1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "larger than the store has room for" in r.stderr, r.stderr


def _status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _qemus(under):
    out = subprocess.run(["pgrep", "-f", f"qemu-system.*{under}"], capture_output=True,
                         text=True).stdout.split()
    return [int(p) for p in out]


def test_the_console_log_is_bounded(arca, tmp_path):
    """Finding 8: a guest writing its serial console without end keeps at most two
    1 MiB files of it on the host (the log and the one before)."""
    r = arca.run("sh", "-c", 'head -c 2600000 /dev/zero | tr "\\0" x > /dev/ttyS0; '
                 'echo the-end > /dev/ttyS0', timeout=300)
    assert r.returncode == 0, r.stderr
    log, old = tmp_path / "console.log", tmp_path / "console.log.1"
    assert log.stat().st_size <= 1 << 20 and old.stat().st_size <= 1 << 20
    assert b"the-end" in log.read_bytes()[-4096:]


def test_each_qemu_is_confined(arcad):
    """Finding 9: every VMM runs under a seccomp filter, as a user of its own (not
    root, not another VM's), shut in its own run directory."""
    ids = [arcad.docker("run", "-d", "busybox", "sleep", "300").stdout.strip()
           for _ in range(2)]
    try:
        pids = _qemus(arcad.run_dir)
        assert len(pids) == 2
        uids = set()
        for pid in pids:
            st = _status(pid)
            real, eff, saved, fs = st["Uid"].split()
            assert real == eff == saved == fs != "0"
            assert st["Gid"].split()[0] == real
            assert st["Seccomp"] == "2" and st["NoNewPrivs"] == "1"
            root = os.readlink(f"/proc/{pid}/root")
            assert root.startswith(arcad.run_dir) and root != arcad.run_dir
            uids.add(real)
        assert len(uids) == 2
        # Confined, the containers still work.
        for cid in ids:
            assert arcad.docker("exec", cid, "echo", "hi").stdout == "hi\n"
    finally:
        arcad.docker("rm", "-f", *ids)


def test_an_ephemeral_vm_ends_with_its_owner(arca):
    """Its VMM runs as another user, so the kernel's parent-death signal no longer
    reaches it: the guest ends the VM when its owner's channel goes."""
    p = arca.popen("sh", "-c", "echo up; sleep 300", stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"up\n"
    assert _qemus(arca.rundir)
    p.kill()
    p.wait()
    deadline = time.time() + 20
    while _qemus(arca.rundir) and time.time() < deadline:
        time.sleep(0.2)
    assert not _qemus(arca.rundir)
    shutil.rmtree(arca.rundir)  # what the killed owner would have removed


# --- a hostile registry on HTTPS (finding 14) ------------------------------------

def _tls_files(d):
    """A CA, and a certificate it signed for registry.test and other.test."""
    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=arca test CA", "-addext",
        "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
        "-subj", "/CN=registry.test")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:registry.test,DNS:other.test\n")
    ssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "srv.crt", "-days", "2", "-extfile", "ext")


def _serve(handler, tls_dir=None):
    import http.server
    import ssl
    import threading
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls_dir:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(tls_dir, "srv.crt"), os.path.join(tls_dir, "srv.key"))
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _arca_in_private_mounts(tmp_path, tls_dir, *args):
    """arca with registry.test and other.test at 127.0.0.1 and our CA as the only one
    trusted, both bind-mounted in a mount namespace of its own (the host's files are
    untouched)."""
    hosts = str(tmp_path / "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost registry.test other.test\n")
    root = str(tmp_path / "store")
    script = (f"set -e; mount --bind {hosts} /etc/hosts; "
              f"mount --bind {tls_dir}/ca.crt /etc/ssl/certs/ca-certificates.crt; "
              f"ARCA_ROOT={root} {ARCA} " + " ".join(args))
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=120)


def _pull_in_private_mounts(tmp_path, tls_dir, ref):
    return _arca_in_private_mounts(tmp_path, tls_dir, "image", "pull", ref)


def test_a_registry_on_https_cannot_lead_us_to_http(tmp_path):
    """Finding 14: a registry on HTTPS that names a token realm on plain HTTP, or redirects
    a request there, gets no request sent there (and so none of our credentials); the
    same registry with an HTTPS realm is followed, which shows the TLS set-up works."""
    import http.server
    tls = str(tmp_path / "tls")
    os.makedirs(tls)
    _tls_files(tls)
    plain_hits = []

    class Plain(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            plain_hits.append((self.path, self.headers.get("Authorization")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass
    plain = _serve(Plain)
    state = {"mode": None, "tls_hits": []}

    class Registry(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state["tls_hits"].append(self.path)
            port = self.server.server_address[1]
            if self.path.startswith("/token"):
                body = b'{"token": "t0ken"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            mode = state["mode"]
            if mode == "redirect" and "/manifests/" in self.path:
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{plain.server_address[1]}/m")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if mode in ("realm-http", "realm-https") and not self.headers.get("Authorization"):
                realm = (f"http://127.0.0.1:{plain.server_address[1]}/token"
                         if mode == "realm-http" else f"https://registry.test:{port}/token")
                self.send_response(401)
                self.send_header("WWW-Authenticate",
                                 f'Bearer realm="{realm}",service="registry.test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b'{"errors": [{"code": "MANIFEST_UNKNOWN", "message": "no such"}]}'
            self.send_response(200 if self.path == "/v2/" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    reg = _serve(Registry, tls)
    ref = f"registry.test:{reg.server_address[1]}/x/y:z"
    try:
        state["mode"] = "realm-https"
        r = _pull_in_private_mounts(tmp_path, tls, ref)
        assert r.returncode != 0 and "manifest unknown" in r.stderr, r.stderr
        assert any(p.startswith("/token") for p in state["tls_hits"]), state
        state["mode"] = "realm-http"
        r = _pull_in_private_mounts(tmp_path, tls, ref)
        assert r.returncode != 0 and "over plain HTTP: refused" in r.stderr, r.stderr
        state["mode"] = "redirect"
        r = _pull_in_private_mounts(tmp_path, tls, ref)
        assert r.returncode != 0 and "Unsupported protocol" in r.stderr, r.stderr
        assert plain_hits == [], plain_hits
    finally:
        reg.shutdown()
        plain.shutdown()


def test_an_upload_sent_to_another_host_carries_no_token(tmp_path):
    """Finding 14: a registry may answer a blob upload with a Location on another host;
    the upload goes there (as dockerd's does) without the registry's bearer token."""
    import http.server
    tls = str(tmp_path / "tls")
    os.makedirs(tls)
    _tls_files(tls)
    seen = []  # (host, method, path, Authorization)

    class Registry(http.server.BaseHTTPRequestHandler):
        def _answer(self, status, headers=(), body=b""):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self):
            host = self.headers.get("Host", "").split(":")[0]
            auth = self.headers.get("Authorization")
            seen.append((host, self.command, self.path, auth))
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            port = self.server.server_address[1]
            if self.path.startswith("/token"):
                return self._answer(200, [("Content-Type", "application/json")],
                                    b'{"token": "t0ken"}')
            if host == "other.test":
                return self._answer(201, [("Location", "/v2/x/y/blobs/done")])
            if auth != "Bearer t0ken":
                realm = f"https://registry.test:{port}/token"
                return self._answer(401, [("WWW-Authenticate",
                                           f'Bearer realm="{realm}",service="registry.test"')])
            if self.command == "HEAD":
                return self._answer(404)
            if self.command == "POST":
                return self._answer(202, [("Location", f"https://other.test:{port}/upload/1")])
            if self.command == "PUT" and "/manifests/" in self.path:
                return self._answer(201, [("Docker-Content-Digest", "sha256:" + "0" * 64)])
            return self._answer(200 if self.path == "/v2/" else 404, body=b"{}")

        do_GET = do_HEAD = do_POST = do_PUT = _handle

        def log_message(self, *a):
            pass
    reg = _serve(Registry, tls)
    ref = f"registry.test:{reg.server_address[1]}/x/y:z"
    rootfs = str(tmp_path / "rootfs.tar")
    rootfs_tar(rootfs, {"hello": b"hi\n"})
    try:
        r = _arca_in_private_mounts(tmp_path, tls, "image", "import", rootfs, ref)
        assert r.returncode == 0, r.stderr
        r = _arca_in_private_mounts(tmp_path, tls, "image", "push", ref)
        uploads = [s for s in seen if s[0] == "other.test"]
        assert uploads, (r.stderr, seen)
        assert all(auth is None for _, _, _, auth in uploads), uploads
        # The registry itself did get the token (so there was one to leak).
        assert any(auth == "Bearer t0ken" for h, _, _, auth in seen if h == "registry.test")
    finally:
        reg.shutdown()


def _pids_cgroup_base():
    """The pids controller's hierarchy, writable: cgroup v2, or v1's pids."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        with open("/sys/fs/cgroup/cgroup.subtree_control", "w") as f:
            f.write("+pids")
        return "/sys/fs/cgroup", "0::"
    return "/sys/fs/cgroup/pids", ":pids:"


def _cgroup_of(pid, key):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if key in line:
                return line.rstrip("\n").split(key, 1)[1]
    raise AssertionError(f"no {key} cgroup for {pid}")


def test_a_transfer_that_cannot_start_frees_nothing_in_use(arcad, tmp_path):
    """Finding 15: when no worker thread can be made (here: a pids limit), docker load
    answers an error; the request body still flowing into the transfer is what frees it,
    never before (the ASan arcad reports a use after free otherwise)."""
    archive = str(tmp_path / "busybox.tar")
    arcad.docker("save", "-o", archive, "busybox")
    base, key = _pids_cgroup_base()
    pid = arcad.proc.pid
    home = _cgroup_of(pid, key)
    cg = os.path.join(base, f"arca-test-{os.getpid()}")
    os.mkdir(cg)
    try:
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(pid))
        with open(os.path.join(cg, "pids.max"), "w") as f:
            f.write(str(int(_status(pid)["Threads"])))  # no thread more
        for _ in range(3):
            r = subprocess.run(["docker", "load", "-i", archive], env=arcad.env,
                               capture_output=True, text=True, timeout=60)
            # The answer comes before the body is read: the CLI may see it, or only the
            # connection closing under its upload.
            assert r.returncode != 0 and ("cannot start the image operation" in r.stderr or
                                          "broken pipe" in r.stderr), r.stdout + r.stderr
    finally:
        with open(os.path.join(cg, "pids.max"), "w") as f:
            f.write("max")
        with open(os.path.join(base + home, "cgroup.procs"), "w") as f:
            f.write(str(pid))
        os.rmdir(cg)
    assert arcad.proc.poll() is None, arcad.log()
    r = subprocess.run(["docker", "load", "-i", archive], env=arcad.env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
