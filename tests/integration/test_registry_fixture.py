"""The image-store test fixtures, proven without Arca.

registry.py, images.py and malicious.py are the ground the image-store tests
stand on; these tests exercise them only with independent tools (skopeo,
GNU tar, Python's tarfile and cryptography), so a failure here is a fixture
bug, not an Arca bug.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.asymmetric import padding

import images
import malicious
import registry as reg
from registry import Registry


# -- shared fixtures ---------------------------------------------------------

@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """The small test images, built once for this module."""
    d = tmp_path_factory.mktemp("layouts")
    out = {
        "busybox": images.build_busybox_layout(str(d / "busybox")),
        "multiarch": images.build_multiarch_layout(str(d / "multiarch")),
        "two": images.build_two_layer_layout(str(d / "two")),
    }
    yield out
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_registry():
    """A factory for registries that are all stopped after the test."""
    started = []

    def make(mode="plain", **kw):
        r = Registry(mode, **kw)
        started.append(r)
        return r

    yield make
    for r in started:
        tmp = r._tmp
        r.stop()
        assert tmp is None or not os.path.exists(tmp), "registry left its temp dir"


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer_tar(layout, digest):
    return gzip.decompress(images.read_blob(layout, digest))


def _blob_via_api(r, repo, digest, creds="default"):
    return r.api("GET", f"/v2/{repo}/blobs/{digest}", creds=creds)


# -- images.py ------------------------------------------------------------------

def test_busybox_layout_is_valid_and_deterministic(tmp_path, layouts):
    a = layouts["busybox"]
    b = images.build_busybox_layout(str(tmp_path / "again"))
    assert (a.manifest_digest, a.config_digest, a.layer_digests, a.diff_ids) == \
           (b.manifest_digest, b.config_digest, b.layer_digests, b.diff_ids)
    assert a.image_id == a.config_digest

    with open(os.path.join(a.layout, "oci-layout")) as f:
        assert json.load(f) == {"imageLayoutVersion": "1.0.0"}
    with open(os.path.join(a.layout, "index.json")) as f:
        index = json.load(f)
    (desc,) = index["manifests"]
    assert desc["digest"] == a.manifest_digest
    assert desc["annotations"] == {"org.opencontainers.image.ref.name": "latest"}

    # Every blob is stored under its own digest.
    blobdir = os.path.join(a.layout, "blobs", "sha256")
    for name in os.listdir(blobdir):
        with open(os.path.join(blobdir, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == name

    manifest = json.loads(images.read_blob(a.layout, a.manifest_digest))
    assert manifest["mediaType"] == images.MT_MANIFEST
    assert manifest["config"]["digest"] == a.config_digest
    config = json.loads(images.read_blob(a.layout, a.config_digest))
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["config"] == {"Env": [images.DEFAULT_PATH], "Cmd": ["sh"]}
    assert config["rootfs"] == {"type": "layers", "diff_ids": a.diff_ids}
    assert len(config["history"]) == 2 and config["history"][1]["empty_layer"] is True

    # diff_id is the hash of the uncompressed tar; gzip header has mtime 0.
    gz = images.read_blob(a.layout, a.layer_digests[0])
    assert gz[4:8] == b"\0\0\0\0"
    raw = gzip.decompress(gz)
    assert _sha256(raw) == a.diff_ids[0]

    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        members = tf.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert {m.mtime for m in members} == {images.SOURCE_EPOCH}
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
        by = {m.name: m for m in members}
        with open("/bin/busybox", "rb") as f:
            assert tf.extractfile(by["bin/busybox"]).read() == f.read()
        assert by["bin/busybox"].mode == 0o755
        assert tf.extractfile(by["etc/some-file"]).read() == b"hello from the busybox image\n"
        assert by["tmp"].isdir() and by["tmp"].mode == 0o1777
        assert b"nobody" in tf.extractfile(by["etc/passwd"]).read()
        assert by["etc/group"].isfile()
    applets = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True,
                             text=True, check=True).stdout.split()
    for applet in applets:
        if applet == "bin/busybox":     # the list names the binary itself
            continue
        m = by[applet]
        assert m.issym(), applet
        resolved = os.path.normpath(os.path.join(os.path.dirname(applet), m.linkname))
        assert resolved == "bin/busybox" and not m.linkname.startswith("/"), applet


def test_busybox_extra_files_and_arch(tmp_path):
    info = images.build_busybox_layout(str(tmp_path / "x"), arch="arm64",
                                       extra_files={"/srv/data/hello": b"hi\n",
                                                    "usr/local/bin/tool": (b"#!/bin/sh\n", 0o755)})
    config = json.loads(images.read_blob(info.layout, info.config_digest))
    assert config["architecture"] == "arm64"
    with tarfile.open(fileobj=io.BytesIO(_layer_tar(info.layout, info.layer_digests[0]))) as tf:
        by = {m.name: m for m in tf.getmembers()}
        assert tf.extractfile(by["srv/data/hello"]).read() == b"hi\n"
        assert by["srv/data"].isdir() and by["srv"].isdir()
        assert by["usr/local/bin/tool"].mode == 0o755


def test_multiarch_layout(layouts):
    idx = layouts["multiarch"]
    assert set(idx.manifests) == {"linux/amd64", "linux/arm64/v8"}
    assert idx.manifests["linux/amd64"].manifest_digest == layouts["busybox"].manifest_digest
    index = json.loads(images.read_blob(idx.layout, idx.index_digest))
    assert index["mediaType"] == images.MT_INDEX
    plats = [(m["platform"]["architecture"], m["platform"].get("variant"))
             for m in index["manifests"]]
    assert plats == [("amd64", None), ("arm64", "v8")]
    arm = idx.manifests["linux/arm64/v8"]
    config = json.loads(images.read_blob(idx.layout, arm.config_digest))
    assert (config["architecture"], config["variant"]) == ("arm64", "v8")
    with tarfile.open(fileobj=io.BytesIO(_layer_tar(idx.layout, arm.layer_digests[0]))) as tf:
        assert tf.extractfile("etc/arch").read() == b"arm64\n"
    assert images.read_layout_info(idx.layout).index_digest == idx.index_digest


def test_two_layer_layout_whiteouts(layouts, tmp_path):
    info = layouts["two"]
    assert len(info.layer_digests) == 2 and len(info.diff_ids) == 2
    with tarfile.open(fileobj=io.BytesIO(_layer_tar(info.layout, info.layer_digests[1]))) as tf:
        names = tf.getnames()
    assert "etc/.wh.some-file" in names and "opt/app/.wh..wh..opq" in names
    # Apply the layers the way the OCI spec says, with Python, and compare
    # with the expectations the module publishes.
    root = tmp_path / "root"
    for digest in info.layer_digests:
        with tarfile.open(fileobj=io.BytesIO(_layer_tar(info.layout, digest))) as tf:
            for m in tf.getmembers():
                d, base = os.path.split(m.name)
                if base == ".wh..wh..opq":
                    for child in os.listdir(root / d):
                        p = root / d / child
                        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
                elif base.startswith(".wh."):
                    p = root / d / base[4:]
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
                elif m.isdir():
                    (root / m.name).mkdir(parents=True, exist_ok=True)
                elif m.issym():
                    (root / m.name).parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(m.linkname, root / m.name)
                else:
                    (root / m.name).parent.mkdir(parents=True, exist_ok=True)
                    (root / m.name).write_bytes(tf.extractfile(m).read())
    for rel in images.TWO_LAYER_ABSENT:
        assert not os.path.lexists(root / rel), rel
    for rel, data in images.TWO_LAYER_PRESENT.items():
        assert (root / rel).exists(), rel
        if data is not None:
            assert (root / rel).read_bytes() == data


def test_busybox_rootfs_tar_matches_the_layer(tmp_path, layouts):
    path = images.busybox_rootfs_tar(str(tmp_path / "rootfs.tar"))
    with open(path, "rb") as f:
        data = f.read()
    # The same tree, uncompressed: its hash is the busybox image's diff_id.
    assert _sha256(data) == layouts["busybox"].diff_ids[0]
    with tarfile.open(path) as tf:
        assert "bin/busybox" in tf.getnames()


# -- registry.py: the three modes with skopeo --------------------------------------

@pytest.mark.parametrize("mode", ["plain", "basic", "token"])
def test_push_and_pull_back(mode, make_registry, layouts, tmp_path):
    r = make_registry(mode)
    assert re.fullmatch(r"127\.0\.0\.1:\d+", r.host) and r.url == "http://" + r.host
    bb = layouts["busybox"]
    for ref in ("public/busybox:latest", "team/busybox:1.0"):
        reg.push_oci_layout(r, bb.layout, ref, creds=r.creds)
        repo, tag = ref.split(":")
        assert r.manifest_digest(repo, tag) == bb.manifest_digest
    out = str(tmp_path / "back")
    reg.pull_oci_layout(r, "team/busybox:1.0", out, creds=r.creds)
    back = images.read_layout_info(out)
    assert (back.manifest_digest, back.config_digest, back.layer_digests) == \
           (bb.manifest_digest, bb.config_digest, bb.layer_digests)
    assert images.read_blob(out, bb.layer_digests[0]) == \
        images.read_blob(bb.layout, bb.layer_digests[0])
    # The registry stores blobs where blob_path() says.
    assert os.path.exists(reg.blob_path(r, bb.layer_digests[0]))
    # Through the API too (auth handled by Registry.api).
    status, headers, body = _blob_via_api(r, "team/busybox", bb.config_digest)
    assert status == 200 and _sha256(body) == bb.config_digest


def test_basic_auth_rejects_missing_and_wrong_credentials(make_registry, layouts):
    r = make_registry("basic")
    bb = layouts["busybox"]
    p = reg.push_oci_layout(r, bb.layout, "x/busybox:latest", creds=None, check=False)
    assert p.returncode != 0 and "unauthorized" in p.stderr.lower()
    p = reg.push_oci_layout(r, bb.layout, "x/busybox:latest", creds=f"{r.user}:nope",
                            check=False)
    assert p.returncode != 0
    reg.push_oci_layout(r, bb.layout, "x/busybox:latest", creds=r.creds)
    assert reg.inspect_raw(r, "x/busybox:latest", check=False).returncode != 0
    assert reg.inspect_raw(r, "x/busybox:latest", creds="arca:wrong",
                           check=False).returncode != 0
    raw = reg.inspect_raw(r, "x/busybox:latest", creds=r.creds).stdout
    assert _sha256(raw.encode()) == bb.manifest_digest
    with open(os.path.join(r._tmp, "htpasswd")) as f:
        assert f.read().startswith(f"{r.user}:$2y$")      # bcrypt


def test_token_auth_rules_with_skopeo(make_registry, layouts, tmp_path):
    r = make_registry("token")
    bb = layouts["busybox"]
    # Valid credentials: push anywhere.
    reg.push_oci_layout(r, bb.layout, "public/busybox:latest", creds=r.creds)
    reg.push_oci_layout(r, bb.layout, "private/busybox:latest", creds=r.creds)
    # Anonymous: pull public/*, nothing else.
    raw = reg.inspect_raw(r, "public/busybox:latest").stdout
    assert _sha256(raw.encode()) == bb.manifest_digest
    reg.pull_oci_layout(r, "public/busybox:latest", str(tmp_path / "anon"))
    p = reg.inspect_raw(r, "private/busybox:latest", check=False)
    assert p.returncode != 0 and "denied" in p.stderr
    p = reg.push_oci_layout(r, bb.layout, "public/anon:latest", check=False)
    assert p.returncode != 0 and "denied" in p.stderr
    # Wrong password: the token server refuses, skopeo says so.
    p = reg.inspect_raw(r, "public/busybox:latest", creds=f"{r.user}:wrong", check=False)
    assert p.returncode != 0 and "invalid username or password" in p.stderr
    # What the token server saw and granted.
    anon = [e for e in r.token_requests if e["user"] is None and e.get("status") == 200]
    assert any(a["actions"] == ["pull"] and a["name"] == "public/busybox"
               for e in anon for a in e["access"])
    assert all("push" not in a["actions"] for e in anon for a in e["access"])
    assert any(e.get("status") == 401 for e in r.token_requests)


def test_token_identity_token_login_with_skopeo(make_registry, layouts):
    """containers/image turns an auth.json "identitytoken" into the OAuth2
    refresh-token POST; the token server must accept only the right one."""
    r = make_registry("token")
    bb = layouts["busybox"]
    reg.push_oci_layout(r, bb.layout, "private/busybox:latest", creds=r.creds)
    ref = f"docker://{r.host}/private/busybox:latest"
    # containers/image ignores an entry without "auth"; Docker writes the
    # user name with an empty password next to the identity token.
    auth = base64.b64encode(f"{r.user}:".encode()).decode()
    p = reg.skopeo("inspect", "--raw", "--tls-verify=false", ref,
                   auths={r.host: {"auth": auth, "identitytoken": Registry.identity_token}})
    assert _sha256(p.stdout.encode()) == bb.manifest_digest
    posts = [e for e in r.token_requests if e["method"] == "POST"]
    assert posts and posts[-1]["grant_type"] == "refresh_token" and posts[-1]["status"] == 200
    assert posts[-1]["client_id"] == "containers/image"
    p = reg.skopeo("inspect", "--raw", "--tls-verify=false", ref, check=False,
                   auths={r.host: {"auth": auth, "identitytoken": "not-the-token"}})
    assert p.returncode != 0


def test_token_server_protocol(make_registry):
    r = make_registry("token")
    cert = x509.load_pem_x509_certificate(r.token_cert_pem)

    def check_jwt(token, sub, access):
        head, claims = reg.decode_jwt(token)
        assert head["alg"] == "RS256" and head["typ"] == "JWT"
        assert base64.b64decode(head["x5c"][0]) == cert.public_bytes(Encoding.DER)
        assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", head["kid"])
        assert head["kid"] == reg.libtrust_key_id(cert.public_key())
        signing_input, sig = token.rsplit(".", 1)
        cert.public_key().verify(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)),
                                 signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        assert claims["iss"] == reg.TOKEN_ISSUER and claims["aud"] == reg.TOKEN_SERVICE
        assert claims["sub"] == sub
        assert claims["nbf"] <= claims["iat"] < claims["exp"] == claims["iat"] + 300
        assert len(claims["jti"]) >= 16
        assert claims["access"] == access
        return claims

    # Valid credentials, repeated scope parameters: everything granted.
    st, body = r.get_token(["repository:private/a:pull,push", "repository:public/b:pull"],
                           creds=r.creds)
    assert st == 200 and body["token"] == body["access_token"]
    assert body["expires_in"] == 300 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                                                      body["issued_at"])
    check_jwt(body["token"], r.user, [
        {"type": "repository", "name": "private/a", "actions": ["pull", "push"]},
        {"type": "repository", "name": "public/b", "actions": ["pull"]}])
    # Anonymous: pull on public/* only.
    st, body = r.get_token(["repository:public/b:pull,push", "repository:private/a:pull",
                            "registry:catalog:*"])
    assert st == 200
    check_jwt(body["token"], "", [
        {"type": "repository", "name": "public/b", "actions": ["pull"]},
        {"type": "repository", "name": "private/a", "actions": []},
        {"type": "registry", "name": "catalog", "actions": []}])
    # Wrong credentials: 401 with the registry-style JSON error.
    st, body = r.get_token(["repository:public/b:pull"], creds=f"{r.user}:bad")
    assert st == 401 and body["errors"][0]["code"] == "UNAUTHORIZED"
    assert body["errors"][0]["message"]
    st, body = r.get_token([], creds="nobody:" + r.password)
    assert st == 401
    # No scope at all (a client probing /v2/): an empty grant.
    st, body = r.get_token([], creds=r.creds)
    assert st == 200 and reg.decode_jwt(body["token"])[1]["access"] == []

    # POST: password grant, space-separated scopes, offline → refresh token.
    st, body = r.post_token({"grant_type": "password", "username": r.user,
                             "password": r.password, "service": reg.TOKEN_SERVICE,
                             "client_id": "arca-test", "access_type": "offline",
                             "scope": "repository:x:pull repository:y:push"})
    assert st == 200 and body["access_token"] == body["token"]
    assert body["refresh_token"] == Registry.identity_token
    check_jwt(body["access_token"], r.user, [
        {"type": "repository", "name": "x", "actions": ["pull"]},
        {"type": "repository", "name": "y", "actions": ["push"]}])
    st, body = r.post_token({"grant_type": "password", "username": r.user,
                             "password": "bad", "service": reg.TOKEN_SERVICE})
    assert st == 401 and body["errors"][0]["code"] == "UNAUTHORIZED"
    # POST: refresh-token grant with the identity token.
    st, body = r.post_token([("grant_type", "refresh_token"),
                             ("refresh_token", Registry.identity_token),
                             ("service", reg.TOKEN_SERVICE), ("client_id", "arca-test"),
                             ("scope", "repository:private/a:pull")])
    assert st == 200
    check_jwt(body["access_token"], r.user,
              [{"type": "repository", "name": "private/a", "actions": ["pull"]}])
    st, body = r.post_token({"grant_type": "refresh_token", "refresh_token": "wrong",
                             "service": reg.TOKEN_SERVICE})
    assert st == 401 and body["errors"][0]["code"] == "UNAUTHORIZED"
    st, body = r.post_token({"grant_type": "client_credentials"})
    assert st == 400


def test_registry_accepts_x5c_or_kid_and_nothing_else(make_registry, layouts, tmp_path):
    r = make_registry("token")
    reg.push_oci_layout(r, layouts["busybox"].layout, "private/busybox:latest", creds=r.creds)
    access = [{"type": "repository", "name": "private/busybox", "actions": ["pull"]}]
    path = "/v2/private/busybox/manifests/latest"
    accept = {"Accept": images.MT_MANIFEST}

    def status(token):
        req = urllib.request.Request(r.url + path, method="HEAD",
                                     headers=dict(accept, Authorization="Bearer " + token))
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code

    assert status(r.mint_token(access, header_fields=("x5c",))) == 200
    assert status(r.mint_token(access, header_fields=("kid",))) == 200
    assert status(r.mint_token(access, header_fields=())) == 401
    # Pull granted on another repository only: 401 for this one.
    other = [{"type": "repository", "name": "private/other", "actions": ["pull"]}]
    assert status(r.mint_token(other)) == 401
    # A token signed by a key the registry does not trust.
    foreign = reg._TokenAuthority(str(tmp_path), 300)
    assert status(foreign.mint(r.user, access, reg.TOKEN_SERVICE)) == 401
    # Expired well beyond the registry's clock-skew leeway.
    assert status(r.mint_token(access, ttl=-600)) == 401


def test_multiarch_index_push(make_registry, layouts, tmp_path):
    r = make_registry("plain")
    idx = layouts["multiarch"]
    reg.push_oci_layout(r, idx.layout, "multi/busybox:latest")
    assert r.manifest_digest("multi/busybox", "latest") == idx.index_digest
    raw = json.loads(reg.inspect_raw(r, "multi/busybox:latest").stdout)
    assert raw["mediaType"] == images.MT_INDEX
    assert [m["digest"] for m in raw["manifests"]] == \
        [idx.manifests[k].manifest_digest for k in ("linux/amd64", "linux/arm64/v8")]
    for info in idx.manifests.values():
        assert r.manifest_digest("multi/busybox", info.manifest_digest) == info.manifest_digest
    reg.pull_oci_layout(r, "multi/busybox:latest", str(tmp_path / "back"))
    assert images.read_layout_info(str(tmp_path / "back")).index_digest == idx.index_digest


def test_two_layer_push(make_registry, layouts):
    r = make_registry("plain")
    info = layouts["two"]
    reg.push_oci_layout(r, info.layout, "two/layers:latest")
    assert r.manifest_digest("two/layers", "latest") == info.manifest_digest
    for d in info.layer_digests:
        assert os.path.exists(reg.blob_path(r, d))


def test_corrupt_and_deleted_blobs_are_noticed(make_registry, layouts, tmp_path):
    r = make_registry("plain")
    bb = layouts["busybox"]
    reg.push_oci_layout(r, bb.layout, "c/busybox:latest")
    layer = bb.layer_digests[0]
    original = images.read_blob(bb.layout, layer)

    path = reg.corrupt_blob(r, "c/busybox", layer)
    with open(path, "rb") as f:
        stored = f.read()
    assert len(stored) == len(original) and stored != original
    # The registry serves the bad bytes under the good digest...
    status, headers, body = _blob_via_api(r, "c/busybox", layer)
    assert status == 200 and headers["Docker-Content-Digest"] == layer
    assert body == stored and _sha256(body) != layer
    # ...and a verifying client refuses them.
    p = reg.pull_oci_layout(r, "c/busybox:latest", str(tmp_path / "bad"), check=False)
    assert p.returncode != 0 and "digest" in p.stderr.lower()

    reg.corrupt_blob(r, "c/busybox", layer, data=b"short")
    assert _blob_via_api(r, "c/busybox", layer)[2] == b"short"

    reg.delete_blob(r, "c/busybox", layer)
    assert _blob_via_api(r, "c/busybox", layer)[0] == 404
    p = reg.pull_oci_layout(r, "c/busybox:latest", str(tmp_path / "gone"), check=False)
    assert p.returncode != 0
    # The manifest and config are still there.
    assert r.manifest_digest("c/busybox", "latest") == bb.manifest_digest
    # Tampering with a blob the repository does not reference is refused.
    with pytest.raises(FileNotFoundError):
        reg.corrupt_blob(r, "other/repo", bb.config_digest)


def test_stop_leaves_nothing_behind(layouts):
    r = Registry("token")
    tmp, proc, server = r._tmp, r._proc, r._token_server
    reg.push_oci_layout(r, layouts["busybox"].layout, "p/b:latest", creds=r.creds)
    r.stop()
    assert proc.poll() is not None
    assert not os.path.exists(tmp)
    assert r._token_server is None and server.socket.fileno() == -1
    r.stop()    # idempotent
    with Registry("basic") as r2:
        tmp2, proc2 = r2._tmp, r2._proc
    assert proc2.poll() is not None and not os.path.exists(tmp2)


# -- malicious.py ---------------------------------------------------------------

# Layers that attack resources rather than paths.
RESOURCE_LAYERS = {"huge-size-pax", "huge-size-base256", "gnu-sparse-huge", "million-entries",
                   "gzip-bomb", "zstd-bomb",
                   "odd-types"}  # its 'X' is a Solaris extended header with no entry after


def test_malicious_layers_are_generated(tmp_path):
    layers = malicious.malicious_layers(str(tmp_path / "layers"))
    names = [l.name for l in layers]
    assert len(layers) >= 18 and len(set(names)) == len(names)
    for l in layers:
        assert os.path.getsize(l.path) > 0 and l.description
        assert l.path.endswith((".tar", ".tar.gz", ".tar.zst"))
        if l.name in RESOURCE_LAYERS:
            continue
        with tarfile.open(l.path) as tf:    # well-formed, as tar goes
            assert tf.getmembers(), l.name
    by = {l.name: l for l in layers}
    with tarfile.open(by["symlink-parent-write"].path) as tf:
        assert [(m.name, m.linkname) for m in tf][:2] == [("link", "../../"), ("link/escaped", "")]
    with tarfile.open(by["absolute-path"].path) as tf:
        assert tf.getnames()[0] == "/etc/arca-evil"
    with tarfile.open(by["pax-tricks"].path) as tf:
        assert "safe\x00" + malicious.OUT + "/victim" in tf.getnames()
    with tarfile.open(by["gnu-sparse-huge"].path) as tf:
        (m,) = tf.getmembers()
        assert m.issparse() and m.size == 100 << 30
    for name in ("huge-size-pax", "huge-size-base256"):
        with tarfile.open(by[name].path) as tf:
            assert tf.next().size == 100 << 30
    # The million-entries layer: count with GNU tar (seconds, not minutes).
    out = subprocess.run(f"tar -tzf {by['million-entries'].path} | wc -l", shell=True,
                         capture_output=True, text=True, check=True)
    assert int(out.stdout) == malicious.MILLION + 1
    assert os.path.getsize(by["million-entries"].path) < 32 << 20


def test_sentinel_checks_detect_escapes(tmp_path):
    base = tmp_path / "base"
    s = malicious.sentinel_layout(str(base))
    assert s.target == str(base / malicious.TARGET_REL) and os.listdir(s.target) == []
    assert (base / "outside" / "victim").read_bytes() == malicious.VICTIM
    malicious.assert_outside_untouched(str(base), s.snapshot)
    malicious.assert_target_contained(s.target, str(base))

    # Writing inside the target, even replacing it, is fine.
    (base / malicious.TARGET_REL / "inside").write_bytes(b"ok")
    shutil.rmtree(s.target)
    os.mkdir(s.target)
    malicious.assert_outside_untouched(str(base), s.snapshot)

    def expect_detected(check, *args):
        with pytest.raises(AssertionError):
            check(*args)

    victim = base / "outside" / "victim"
    victim.write_bytes(malicious.PWNED)                       # content
    expect_detected(malicious.assert_outside_untouched, str(base), s.snapshot)
    victim.write_bytes(malicious.VICTIM)
    os.utime(victim, ns=(s.snapshot.entries["outside/victim"]["mtime_ns"],) * 2)
    os.chmod(base / "outside" / "dir", 0o777)                 # mode
    expect_detected(malicious.assert_outside_untouched, str(base), s.snapshot)

    s = malicious.sentinel_layout(str(tmp_path / "b2"))
    (tmp_path / "b2" / "nest" / "escaped").write_bytes(b"x")  # new file
    expect_detected(malicious.assert_outside_untouched, str(tmp_path / "b2"), s.snapshot)

    s = malicious.sentinel_layout(str(tmp_path / "b3"))
    os.link(tmp_path / "b3" / "outside" / "secret", os.path.join(s.target, "leak"))
    expect_detected(malicious.assert_outside_untouched, str(tmp_path / "b3"), s.snapshot)
    expect_detected(malicious.assert_target_contained, s.target, str(tmp_path / "b3"))

    s = malicious.sentinel_layout(str(tmp_path / "b4"))
    with open(os.path.join(s.target, "copy"), "wb") as f:
        f.write(malicious.SECRET)
    expect_detected(malicious.assert_target_contained, s.target, str(tmp_path / "b4"))

    s = malicious.sentinel_layout(str(tmp_path / "b5"))
    os.remove(tmp_path / "b5" / "nest" / "nest" / "marker")  # deletion
    expect_detected(malicious.assert_outside_untouched, str(tmp_path / "b5"), s.snapshot)


def test_gnu_tar_unpacks_escape_layers_without_false_alarms(tmp_path):
    """GNU tar is a careful unpacker: with it, the checks must stay quiet
    (they only flag real escapes). Resource-exhaustion layers are skipped."""
    layers = malicious.malicious_layers(str(tmp_path / "layers"), million=False)
    base = tmp_path / "base"
    for layer in layers:
        if layer.name in RESOURCE_LAYERS:
            continue
        s = malicious.sentinel_layout(str(base))
        subprocess.run(["tar", "-xf", layer.path, "-C", s.target], capture_output=True,
                       timeout=60)
        malicious.assert_outside_untouched(str(base), s.snapshot)
        malicious.assert_target_contained(s.target, str(base))
        shutil.rmtree(base)


# -- the Debian image -------------------------------------------------------------

@pytest.fixture(scope="module")
def debian_tar():
    try:
        return images.debian_minbase_tar()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"Debian minbase rootfs unavailable (mmdebstrap failed): {e}")


def test_debian_layout(debian_tar, make_registry, tmp_path):
    assert os.path.getsize(debian_tar) > 50 << 20
    info = images.build_debian_layout(str(tmp_path / "debian"))
    cached = images.build_debian_layout()
    assert info.manifest_digest == cached.manifest_digest
    assert cached.layout == images.DEBIAN_LAYOUT and info.layout == str(tmp_path / "debian")
    config = json.loads(images.read_blob(info.layout, info.config_digest))
    assert config["config"] == {"Env": [images.DEFAULT_PATH], "Cmd": ["bash"]}
    layer_path = os.path.join(info.layout, "blobs", "sha256", info.layer_digests[0][7:])
    h = hashlib.sha256()
    names = set()
    with gzip.open(layer_path) as g:
        tee = _Tee(g, h)
        with tarfile.open(fileobj=tee, mode="r|") as tf:
            for m in tf:
                names.add(m.name)
                assert not m.name.startswith(("/", "./")), m.name
                assert not (m.ischr() or m.isblk() or m.isfifo()), m.name
        tee.drain()
    assert "sha256:" + h.hexdigest() == info.diff_ids[0]
    assert {"usr/bin/bash", "etc/os-release", "bin", "usr/bin/apt"} <= names
    r = make_registry("plain")
    reg.push_oci_layout(r, info.layout, "library/debian:bookworm")
    assert r.manifest_digest("library/debian", "bookworm") == info.manifest_digest


class _Tee:
    """A read-only file object that hashes what is read through it."""

    def __init__(self, f, h):
        self.f, self.h = f, h

    def read(self, n=-1):
        b = self.f.read(n)
        self.h.update(b)
        return b

    def drain(self):
        while self.read(1 << 20):
            pass
