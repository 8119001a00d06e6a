"""The image store end to end (issue: images), through `arca image ...` and
`arca vm run --image`, against Debian's docker-registry on loopback.

Registries come from registry.py, images from images.py, hostile layers from
malicious.py. Every test uses a private store root.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import images
import malicious
import registry
from conftest import BUILD


def arca_bin():
    return os.path.join(BUILD, "src/cli/arca")


class Store:
    """A private image store root and a way to run `arca image` on it."""

    def __init__(self, root, env):
        self.root = root
        self.env = dict(env, ARCA_ROOT=root)

    def run(self, *args, check=True, timeout=600, **kw):
        r = subprocess.run([arca_bin(), "image", *args], env=self.env, capture_output=True,
                           text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"arca image {' '.join(args)} failed ({r.returncode}):\n"
                                 f"{r.stdout}\n{r.stderr}")
        return r

    def pull(self, ref, reg=None, *extra, check=True):
        creds = []
        if reg is not None and reg.creds:
            creds = ["-u", reg.user, "-p", reg.password]
        return self.run("pull", *creds, *extra, ref, check=check)

    def inspect(self, name):
        return json.loads(self.run("inspect", name).stdout)[0]

    def ls(self):
        return json.loads(self.run("ls", "--format", "json").stdout)

    def fsck_clean(self):
        r = self.run("fsck", check=False)
        assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture
def store(tmp_path):
    return Store(str(tmp_path / "store"), os.environ)


@pytest.fixture(scope="module")
def busybox_layout(tmp_path_factory):
    d = tmp_path_factory.mktemp("layouts") / "busybox"
    info = images.build_busybox_layout(str(d))
    return str(d), info


@pytest.fixture(scope="module")
def plain_registry(busybox_layout):
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, busybox_layout[0], "busybox")
        yield reg


# --- pulls ---

def test_pull_busybox_and_run_it(store, plain_registry, busybox_layout, arca):
    _, info = busybox_layout
    ref = f"{plain_registry.host}/busybox:latest"
    r = store.pull(ref)
    assert "Pulling from busybox" in r.stdout
    assert f"Digest: {info.manifest_digest}" in r.stdout
    assert "Status: Downloaded newer image" in r.stdout
    img = store.inspect(ref)
    assert img["Id"] == info.image_id
    assert img["RootFS"]["Layers"] == info.diff_ids
    assert img["RepoTags"] == [ref]
    assert img["RepoDigests"] == [f"{plain_registry.host}/busybox@{info.manifest_digest}"]
    # The same pull again is a no-op that says so.
    assert "Image is up to date" in store.pull(ref).stdout
    # The image's disk boots.
    res = arca.run("--image", ref, "--root", store.root, "--", "cat", "/etc/some-file")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"hello from the busybox image\n"
    store.fsck_clean()


def test_pull_debian_and_boot_it(store, arca):
    try:
        layout = images.build_debian_layout().layout
    except Exception as e:  # mmdebstrap needs the Debian mirror
        pytest.skip(f"cannot build the Debian test image: {e}")
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, layout, "debian")
        ref = f"{reg.host}/debian:latest"
        store.pull(ref)
    res = arca.run("--image", ref, "--root", store.root, "--", "cat", "/etc/debian_version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode().strip().startswith("12")
    store.fsck_clean()


def test_multiarch_index_selects_the_platform(store, tmp_path):
    info = images.build_multiarch_layout(str(tmp_path / "multi"))
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, str(tmp_path / "multi"), "multi")
        ref = f"{reg.host}/multi:latest"
        out = store.pull(ref).stdout
        assert f"Digest: {info.index_digest}" in out
        img = store.inspect(ref)
        assert img["Architecture"] == "amd64"
        assert img["Id"] == info.manifests["linux/amd64"].image_id
        store.pull(ref, None, "--platform", "linux/arm64")
        img = store.inspect(ref)
        assert img["Architecture"] == "arm64"
        assert img["Id"] == info.manifests["linux/arm64/v8"].image_id
        r = store.pull(ref, None, "--platform", "linux/s390x", check=False)
        assert r.returncode != 0
        assert "no matching manifest for linux/s390x" in r.stderr


@pytest.mark.parametrize("mode", ["basic", "token"])
def test_pull_with_auth(store, busybox_layout, mode):
    with registry.Registry(mode=mode) as reg:
        registry.push_oci_layout(reg, busybox_layout[0], "private/busybox", creds=reg.creds)
        ref = f"{reg.host}/private/busybox:latest"
        # No credentials, then wrong ones: refused, and nothing stored.
        r = store.pull(ref, None, check=False)
        assert r.returncode != 0 and "unauthorized" in r.stderr.lower()
        r = store.pull(ref, None, "-u", reg.user, "-p", "wrong-password", check=False)
        assert r.returncode != 0 and "unauthorized" in r.stderr.lower()
        assert store.ls() == []
        store.pull(ref, reg)
        assert store.inspect(ref)["Id"] == busybox_layout[1].image_id
    store.fsck_clean()


def test_pull_with_identity_token(store, busybox_layout):
    with registry.Registry(mode="token") as reg:
        registry.push_oci_layout(reg, busybox_layout[0], "private/busybox", creds=reg.creds)
        ref = f"{reg.host}/private/busybox:latest"
        r = store.pull(ref, None, "--identity-token", "not-the-token", check=False)
        assert r.returncode != 0
        store.pull(ref, None, "--identity-token", registry.Registry.identity_token)
        assert any(t.get("grant_type") == "refresh_token" and t.get("status") == 200
                   for t in reg.token_requests)


def test_anonymous_token_pull_of_public_repo(store, busybox_layout):
    with registry.Registry(mode="token") as reg:
        registry.push_oci_layout(reg, busybox_layout[0], "public/busybox", creds=reg.creds)
        store.pull(f"{reg.host}/public/busybox:latest")


def test_unknown_tag_and_corrupt_blob_leave_nothing(store, busybox_layout):
    _, info = busybox_layout
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, busybox_layout[0], "busybox")
        r = store.pull(f"{reg.host}/busybox:nope", check=False)
        assert r.returncode != 0
        assert "not found" in r.stderr and "nope" in r.stderr
        registry.corrupt_blob(reg, "busybox", info.layer_digests[0])
        r = store.pull(f"{reg.host}/busybox:latest", check=False)
        assert r.returncode != 0
        assert "digest mismatch" in r.stderr or "corrupt" in r.stderr, r.stderr
    assert store.ls() == []
    store.fsck_clean()
    blobs = os.listdir(os.path.join(store.root, "blobs/sha256"))
    assert info.layer_digests[0].split(":")[1] not in blobs


class FakeRegistry:
    """A minimal registry serving fixed manifests, for what docker-registry refuses to store."""

    def __init__(self, manifests):
        import http.server

        routes = manifests

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path == "/v2/":
                    body, ctype = b"{}", "application/json"
                elif self.path in routes:
                    body, ctype = routes[self.path]
                else:
                    body, ctype = b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', "application/json"
                    self.send_response(404)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.srv.server_address[1]}"
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join()


def test_schema1_manifest_is_refused_clearly(store):
    body = json.dumps({"schemaVersion": 1, "name": "old", "tag": "latest",
                       "architecture": "amd64", "fsLayers": [], "history": []}).encode()
    fake = FakeRegistry({"/v2/old/manifests/latest":
                         (body, "application/vnd.docker.distribution.manifest.v1+prettyjws")})
    try:
        r = store.pull(f"{fake.host}/old:latest", check=False)
    finally:
        fake.close()
    assert r.returncode != 0
    assert "schema 1" in r.stderr
    assert store.ls() == []


class ThrottleProxy:
    """A TCP relay to the registry that can be slowed down, to kill a pull midway."""

    def __init__(self, target_port, rate):
        self.rate = rate  # bytes per second from the registry, 0 = unlimited
        self.target = target_port
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.srv.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            u = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, True), daemon=True).start()

    def _pipe(self, a, b, slow):
        try:
            while not self.stop.is_set():
                data = a.recv(16384)
                if not data:
                    break
                b.sendall(data)
                if slow and self.rate:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.srv.close()
        self.thread.join()


def test_pull_killed_midway_completes_next_time(store, tmp_path):
    # A layer big enough to be caught mid-download at 2 MB/s.
    big = {"usr/share/big.bin": os.urandom(6 << 20)}
    layout = str(tmp_path / "big")
    info = images.build_busybox_layout(layout, extra_files=big)
    with registry.Registry(mode="plain") as reg:
        registry.push_oci_layout(reg, layout, "big")
        proxy = ThrottleProxy(int(reg.host.split(":")[1]), rate=2 << 20)
        try:
            ref = f"127.0.0.1:{proxy.port}/big:latest"
            p = subprocess.Popen([arca_bin(), "image", "pull", ref], env=store.env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            tmpdir = os.path.join(store.root, "tmp")
            partial = None
            deadline = time.time() + 60
            while time.time() < deadline and partial is None:
                for f in os.listdir(tmpdir) if os.path.isdir(tmpdir) else []:
                    path = os.path.join(tmpdir, f)
                    if f.endswith(".partial") and os.path.getsize(path) > (1 << 20):
                        partial = path
                time.sleep(0.02)
            assert partial, "no partial download appeared"
            p.send_signal(signal.SIGKILL)
            p.wait()
            kept = os.path.getsize(partial)
            assert store.ls() == []
            proxy.rate = 0
            store.pull(ref)
        finally:
            proxy.close()
    assert store.inspect(ref)["Id"] == info.image_id
    assert kept > 0
    store.fsck_clean()


# --- round trips ---

def test_save_rm_load_restores_the_same_id(store, plain_registry, busybox_layout, tmp_path):
    ref = f"{plain_registry.host}/busybox:latest"
    store.pull(ref)
    before = store.inspect(ref)
    archive = str(tmp_path / "bb.tar")
    store.run("save", "-o", archive, ref)
    out = store.run("rm", ref).stdout
    assert f"Untagged: {ref}" in out and f"Deleted: {before['Id']}" in out
    assert store.ls() == []
    out = store.run("load", "-i", archive).stdout
    assert f"Loaded image: {ref}" in out
    after = store.inspect(ref)
    assert after["Id"] == before["Id"]
    assert after["RootFS"] == before["RootFS"]
    # The archive is a valid OCI layout and docker-archive at once.
    names = subprocess.run(["tar", "tf", archive], capture_output=True, text=True).stdout
    for member in ("oci-layout", "index.json", "manifest.json", "repositories"):
        assert member in names.split()
    store.fsck_clean()


def test_import_then_run_the_image(store, tmp_path, arca):
    tar = str(tmp_path / "rootfs.tar")
    images.busybox_rootfs_tar(tar, extra_files={"etc/imported": b"imported ok\n"})
    image_id = store.run("import", tar, "imported:v1").stdout.strip()
    assert image_id.startswith("sha256:")
    img = store.inspect("imported:v1")
    assert img["Id"] == image_id
    assert img["Comment"].startswith("Imported from")
    res = arca.run("--image", "imported:v1", "--root", store.root, "--", "cat", "/etc/imported")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"imported ok\n"


def test_push_then_pull_into_a_fresh_store(store, tmp_path):
    tar = str(tmp_path / "rootfs.tar")
    images.busybox_rootfs_tar(tar)
    with registry.Registry(mode="basic") as reg:
        target = f"{reg.host}/pushed/app:1.0"
        image_id = store.run("import", tar, target).stdout.strip()
        r = store.run("push", "-u", reg.user, "-p", reg.password, target)
        assert f"The push refers to repository [{reg.host}/pushed/app]" in r.stdout
        assert "1.0: digest: sha256:" in r.stdout
        fresh = Store(str(tmp_path / "fresh"), os.environ)
        fresh.pull(target, reg)
        assert fresh.inspect(target)["Id"] == image_id
        # Pushing again finds every layer there already.
        r = store.run("push", "-u", reg.user, "-p", reg.password, target)
        assert "Layer already exists" in r.stdout


# --- names, removal, prune ---

def test_tag_rm_and_prune_follow_docker(store, tmp_path):
    tar = str(tmp_path / "rootfs.tar")
    images.busybox_rootfs_tar(tar)
    image_id = store.run("import", tar, "one:latest").stdout.strip()
    store.run("tag", "one", "two:v2")
    store.run("tag", image_id[7:19], "docker.io/library/three")
    tags = sorted(store.inspect(image_id)["RepoTags"])
    assert tags == ["one:latest", "three:latest", "two:v2"]
    # Removing one of several names only untags.
    out = store.run("rm", "two:v2").stdout
    assert out.strip() == "Untagged: two:v2"
    # An ID referenced in several repositories must be forced.
    r = store.run("rm", image_id[7:19], check=False)
    assert r.returncode != 0
    assert "must be forced" in r.stderr and "multiple repositories" in r.stderr
    # Unknown names are a clear 404-style error.
    r = store.run("rm", "nosuch:tag", check=False)
    assert r.returncode != 0 and "No such image: nosuch:tag" in r.stderr
    r = store.run("inspect", "nosuch", check=False)
    assert r.returncode != 0 and "No such image: nosuch" in r.stderr
    out = store.run("rm", "-f", image_id).stdout
    assert "Untagged: one:latest" in out and "Untagged: three:latest" in out
    assert f"Deleted: {image_id}" in out
    assert store.ls() == []
    # Prune removes dangling images only, unless -a.
    a = store.run("import", tar, "keep:1").stdout.strip()
    tar2 = str(tmp_path / "rootfs2.tar")
    images.busybox_rootfs_tar(tar2, extra_files={"etc/other": b"x\n"})
    b = store.run("import", tar2, "keep:2").stdout.strip()
    store.run("tag", a, "keep:2")  # b loses its only tag: dangling
    out = store.run("prune").stdout
    assert f"Deleted: {b}" in out and a not in out
    assert [i["Id"] for i in store.ls()] == [a]
    out = store.run("prune", "-a").stdout
    assert f"Deleted: {a}" in out
    assert store.ls() == []
    store.fsck_clean()
    assert os.listdir(os.path.join(store.root, "blobs/sha256")) == []
    assert os.listdir(os.path.join(store.root, "disks")) == []


def test_bad_references_are_rejected(store):
    for bad, why in (("Upper/Case", "must be lowercase"), ("a@sha256:xyz", "invalid reference"),
                     ("a" * 64, "64-byte hexadecimal"), ("bad::tag", "invalid reference")):
        r = store.run("pull", bad, check=False)
        assert r.returncode != 0
        assert why in r.stderr, r.stderr


# --- hostile layers ---

def test_malicious_layers_never_escape(tmp_path):
    helper = os.path.join(BUILD, "tests/unit/unpack-layer")
    layers = malicious.malicious_layers(str(tmp_path / "layers"), million=True)
    assert len(layers) >= 15
    results = {}
    sys.setrecursionlimit(20000)  # the walks of a 2,040-level tree
    for name, path, desc in layers:
        base = str(tmp_path / f"case-{name}")
        s = malicious.sentinel_layout(base)
        env = dict(os.environ)
        if name == "million-entries":
            env["ARCA_UNPACK_MAX_ENTRIES"] = "100000"  # the bound must stop it cleanly
        if name.endswith("-bomb"):
            env["ARCA_UNPACK_MAX_BYTES"] = str(128 << 20)  # stopped while it inflates
        r = subprocess.run([helper, s.target, path], capture_output=True, text=True,
                           timeout=600, env=env)
        malicious.assert_outside_untouched(base, s.snapshot)
        malicious.assert_target_contained(s.target, base)
        results[name] = (r.returncode, r.stderr.strip())
        assert r.returncode in (0, 1), f"{name}: crashed: {r.stderr}"
        subprocess.run(["rm", "-rf", base], check=True)  # any depth
    # Escapes are refused outright, not silently clamped.
    for name in ("dotdot-file", "deep-dotdot", "whiteout-dotdot", "hardlink-dotdot"):
        assert results[name][0] == 1, f"{name}: {results[name]}"
    for name in ("huge-size-pax", "huge-size-base256", "million-entries", "gzip-bomb",
                 "zstd-bomb"):
        assert results[name][0] == 1 and ("too large" in results[name][1] or
                                          "more than" in results[name][1]), results[name]


def test_compression_must_match_the_media_type(tmp_path):
    """A layer is decompressed only as its media type says: zstd, xz or bzip2 bytes
    under the gzip type, or gzip under the plain tar type, are refused."""
    helper = os.path.join(BUILD, "tests/unit/unpack-layer")
    raw = malicious._tar([malicious._ti("f", data=b"x\n")])
    forms = {"gzip": malicious._gz(raw), "zstd": malicious._zst(raw),
             "xz": subprocess.run(["xz", "-c"], input=raw, capture_output=True).stdout,
             "plain": raw}
    gz = "application/vnd.oci.image.layer.v1.tar+gzip"
    zst = "application/vnd.oci.image.layer.v1.tar+zstd"
    plain = "application/vnd.oci.image.layer.v1.tar"
    cases = [(gz, "gzip", 0), (gz, "zstd", 1), (gz, "xz", 1), (gz, "plain", 1),
             (zst, "zstd", 0), (zst, "gzip", 1), (plain, "plain", 0), (plain, "gzip", 1),
             (plain, "xz", 0)]  # docker import and load keep xz under the plain type
    for media_type, form, want in cases:
        path = str(tmp_path / f"layer-{form}")
        with open(path, "wb") as f:
            f.write(forms[form])
        target = tmp_path / f"t-{media_type[-5:]}-{form}"
        target.mkdir()
        r = subprocess.run([helper, str(target), path], capture_output=True, text=True,
                           env=dict(os.environ, ARCA_UNPACK_MEDIA_TYPE=media_type))
        assert r.returncode == want, (media_type, form, r.stderr)


def test_multi_layer_attacks_never_escape(tmp_path):
    """A symlink (or a directory turned symlink) in one layer, and writes, whiteouts
    or hardlinks through it in the next: applied in order, as a pull does."""
    helper = os.path.join(BUILD, "tests/unit/unpack-layer")
    sets = malicious.malicious_layer_sets(str(tmp_path / "layers"))
    assert len(sets) >= 4
    first = {"symlink-then-write": "s", "symlink-then-whiteout": "s", "hardlink-lower": "f",
             "dir-becomes-symlink": "etc"}
    for name, paths, desc in sets:
        base = str(tmp_path / f"case-{name}")
        s = malicious.sentinel_layout(base)
        r = subprocess.run([helper, s.target, *paths], capture_output=True, text=True,
                           timeout=120)
        malicious.assert_outside_untouched(base, s.snapshot)
        malicious.assert_target_contained(s.target, base)
        assert r.returncode in (0, 1), f"{name}: crashed: {r.stderr}"
        assert os.path.lexists(os.path.join(s.target, first[name])), name  # layer 1 applied
        subprocess.run(["rm", "-rf", base], check=True)
