"""Deterministic test images for the image-store integration tests.

Every builder writes an OCI image layout (the `oci-layout` file, `index.json`
and `blobs/sha256/*`, see the OCI image-spec "image-layout") whose content does
not depend on when or where it is built: tar entries are sorted, every mtime is
SOURCE_EPOCH, owners are 0:0 with empty user/group names, gzip streams carry
mtime 0 and no file name, and JSON is serialized in a fixed key order. So the
digests are stable from run to run on this machine (they do depend on the host
busybox binary and on zlib's compressor).

Builders:
  build_busybox_layout(dir, arch="amd64", extra_files=None)  one-layer busybox
  build_multiarch_layout(dir)       an image index: linux/amd64 + linux/arm64/v8
  build_two_layer_layout(dir)       busybox + a layer with a whiteout and an
                                    opaque directory
  debian_minbase_tar()              cached `mmdebstrap --variant=minbase bookworm`
  build_debian_layout(dir=None)     that rootfs as a one-layer image (cached)
  busybox_rootfs_tar(path)          the busybox tree as a plain tar
  read_layout_info(dir, tag)        the digests of an existing layout
"""
import contextlib
import fcntl
import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field

BUSYBOX = "/bin/busybox"
# 2023-11-14T22:13:20Z: every mtime and "created" in the test images.
SOURCE_EPOCH = 1700000000
CREATED = "2023-11-14T22:13:20Z"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"

CACHE_ROOT = os.path.join(os.environ.get("ARCA_CACHE_DIR", "/var/cache/arca"), "test-images")
DEBIAN_TAR = os.path.join(CACHE_ROOT, "debian-minbase-bookworm.tar")
DEBIAN_LAYOUT = os.path.join(CACHE_ROOT, "debian-layout")
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR_FALLBACK = "http://deb.debian.org/debian"

BUSYBOX_SOME_FILE = b"hello from the busybox image\n"
ARM64_ARCH_FILE = b"arm64\n"

# What build_two_layer_layout's image looks like once both layers are applied.
TWO_LAYER_ABSENT = ["etc/some-file", "opt/app/old-a", "opt/app/old-b", "opt/app/sub"]
TWO_LAYER_PRESENT = {
    "opt/app/new": b"from layer two\n",
    "etc/layer2": b"second layer\n",
    "bin/busybox": None,           # None: present, content not checked
    "opt/keep/kept": b"kept\n",    # a sibling of the opaque dir survives
}


@dataclass
class ImageInfo:
    """Digests of one image manifest in a layout."""
    layout: str
    manifest_digest: str
    manifest_size: int
    config_digest: str
    layer_digests: list
    diff_ids: list
    architecture: str = "amd64"
    os: str = "linux"
    variant: str = None
    tag: str = "latest"

    @property
    def image_id(self):
        """Docker's image ID is the config digest."""
        return self.config_digest


@dataclass
class IndexInfo:
    """Digests of an image index in a layout; manifests keyed by
    "os/arch" or "os/arch/variant"."""
    layout: str
    index_digest: str
    index_size: int
    manifests: dict = field(default_factory=dict)
    tag: str = "latest"


# -- tar building -----------------------------------------------------------

@dataclass
class Entry:
    """One tar entry. kind: "file", "dir", "symlink", "hardlink"."""
    path: str
    kind: str = "file"
    data: bytes = b""
    mode: int = 0o644
    target: str = ""


def _tarinfo(e):
    ti = tarfile.TarInfo(e.path)
    ti.mtime = SOURCE_EPOCH
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mode = e.mode
    if e.kind == "file":
        ti.type, ti.size = tarfile.REGTYPE, len(e.data)
    elif e.kind == "dir":
        ti.type = tarfile.DIRTYPE
    elif e.kind == "symlink":
        ti.type, ti.linkname = tarfile.SYMTYPE, e.target
    elif e.kind == "hardlink":
        ti.type, ti.linkname = tarfile.LNKTYPE, e.target
    else:
        raise ValueError(e.kind)
    return ti


def tar_bytes(entries, sort=True):
    """An uncompressed PAX tar of `entries` (sorted by path unless told not
    to; a parent directory sorts before its children)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in (sorted(entries, key=lambda e: e.path) if sort else entries):
            ti = _tarinfo(e)
            tf.addfile(ti, io.BytesIO(e.data) if e.kind == "file" else None)
    return buf.getvalue()


def gzip_bytes(data):
    """Deterministic gzip: mtime 0, no file name, fixed level."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as g:
        g.write(data)
    return buf.getvalue()


def _with_parents(entries):
    """Add a 0755 directory entry for every missing parent of every entry."""
    have = {e.path for e in entries}
    extra = []
    for e in entries:
        parts = e.path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in have:
                have.add(d)
                extra.append(Entry(d, "dir", mode=0o755))
    return entries + extra


def busybox_entries(extra_files=None):
    """The busybox tree as a list of Entry.

    /bin/busybox, one relative symlink per applet of `busybox --list-full`,
    /etc/passwd, /etc/group, /etc/some-file, /tmp (1777), /root, plus
    `extra_files` {path: bytes or (bytes, mode)}.
    """
    with open(BUSYBOX, "rb") as f:
        bb = f.read()
    entries = [
        Entry("bin/busybox", data=bb, mode=0o755),
        Entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"
                                 b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
        Entry("etc/group", data=b"root:x:0:\nnobody:x:65534:\n"),
        Entry("etc/some-file", data=BUSYBOX_SOME_FILE),
        Entry("tmp", "dir", mode=0o1777),
        Entry("root", "dir", mode=0o700),
    ]
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    for applet in sorted(set(applets)):
        applet = applet.strip("/")
        if applet == "bin/busybox":
            continue
        target = os.path.relpath("bin/busybox", os.path.dirname(applet) or ".")
        entries.append(Entry(applet, "symlink", mode=0o777, target=target))
    for path, value in (extra_files or {}).items():
        data, mode = value if isinstance(value, tuple) else (value, 0o644)
        path = path.strip("/")
        entries = [e for e in entries if e.path != path]
        entries.append(Entry(path, data=data, mode=mode))
    return _with_parents(entries)


def busybox_rootfs_tar(path, extra_files=None):
    """Write the busybox tree as a plain, uncompressed tar file (for
    `arca image import`). Returns path."""
    data = tar_bytes(busybox_entries(extra_files))
    with open(path, "wb") as f:
        f.write(data)
    return path


# -- OCI layout writing ------------------------------------------------------

def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def write_blob(layout, data):
    """Store `data` as a blob of the layout; returns (digest, size)."""
    d = _digest(data)
    path = os.path.join(layout, "blobs", "sha256", d[7:])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)
    return d, len(data)


def _init_layout(layout):
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


def _set_tag(layout, descriptor, tag):
    """Point `tag` in index.json at descriptor, keeping other tags."""
    path = os.path.join(layout, "index.json")
    manifests = []
    if os.path.exists(path):
        with open(path) as f:
            manifests = [m for m in json.load(f).get("manifests", [])
                         if m.get("annotations", {}).get(REF_NAME) != tag]
    desc = dict(descriptor)
    desc["annotations"] = {REF_NAME: tag}
    manifests.append(desc)
    with open(path + ".tmp", "wb") as f:
        f.write(_json({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}))
    os.rename(path + ".tmp", path)


def _write_image(layout, layers, arch="amd64", variant=None, cmd=("sh",), env=(DEFAULT_PATH,),
                 history=None):
    """Write config + manifest for `layers` [(uncompressed tar bytes, gzip?)].

    Returns (ImageInfo without tag handling, manifest descriptor)."""
    _init_layout(layout)
    layer_descs, diff_ids = [], []
    for raw, compress in layers:
        diff_ids.append(_digest(raw))
        blob = gzip_bytes(raw) if compress else raw
        d, size = write_blob(layout, blob)
        layer_descs.append({"mediaType": MT_LAYER_GZIP if compress else MT_LAYER_TAR,
                            "digest": d, "size": size})
    if history is None:
        history = [{"created": CREATED, "created_by": f"arca test image: layer {i + 1}"}
                   for i in range(len(layers))]
    history = history + [{"created": CREATED, "created_by": f"CMD {json.dumps(list(cmd))}",
                          "empty_layer": True}]
    config = {"created": CREATED, "architecture": arch, "os": "linux"}
    if variant:
        config["variant"] = variant
    config["config"] = {"Env": list(env), "Cmd": list(cmd)}
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    config["history"] = history
    cfg_digest, cfg_size = write_blob(layout, _json(config))
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "digest": cfg_digest, "size": cfg_size},
                "layers": layer_descs}
    m_digest, m_size = write_blob(layout, _json(manifest))
    platform = {"architecture": arch, "os": "linux"}
    if variant:
        platform["variant"] = variant
    desc = {"mediaType": MT_MANIFEST, "digest": m_digest, "size": m_size, "platform": platform}
    info = ImageInfo(layout=layout, manifest_digest=m_digest, manifest_size=m_size,
                     config_digest=cfg_digest, layer_digests=[d["digest"] for d in layer_descs],
                     diff_ids=diff_ids, architecture=arch, variant=variant)
    return info, desc


def build_busybox_layout(dir, arch="amd64", extra_files=None, tag="latest"):
    """A one-layer (gzip) busybox image tagged `tag` in the OCI layout `dir`.

    `arch` only changes the config's architecture (the binary is always the
    host's busybox). Returns an ImageInfo.
    """
    raw = tar_bytes(busybox_entries(extra_files))
    info, desc = _write_image(dir, [(raw, True)], arch=arch,
                              history=[{"created": CREATED,
                                        "created_by": "arca test image: busybox rootfs"}])
    _set_tag(dir, desc, tag)
    info.tag = tag
    return info


def build_multiarch_layout(dir, tag="latest"):
    """An OCI image index tagged `tag`: linux/amd64 is the busybox image,
    linux/arm64/v8 a tiny one-layer image holding only /etc/arch = "arm64\\n".
    Returns an IndexInfo with manifests keyed "linux/amd64", "linux/arm64/v8".
    """
    amd64, amd64_desc = _write_image(dir, [(tar_bytes(busybox_entries()), True)],
                                     history=[{"created": CREATED,
                                               "created_by": "arca test image: busybox rootfs"}])
    arm_raw = tar_bytes(_with_parents([Entry("etc/arch", data=ARM64_ARCH_FILE)]))
    arm64, arm64_desc = _write_image(dir, [(arm_raw, True)], arch="arm64", variant="v8",
                                     cmd=("cat", "/etc/arch"))
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [amd64_desc, arm64_desc]}
    i_digest, i_size = write_blob(dir, _json(index))
    _set_tag(dir, {"mediaType": MT_INDEX, "digest": i_digest, "size": i_size}, tag)
    for info in (amd64, arm64):
        info.tag = tag
    return IndexInfo(layout=dir, index_digest=i_digest, index_size=i_size, tag=tag,
                     manifests={"linux/amd64": amd64, "linux/arm64/v8": arm64})


def build_two_layer_layout(dir, tag="latest"):
    """A two-layer image for testing layer application.

    Layer 1: the busybox tree plus /opt/app/{old-a,old-b,sub/deep} and
    /opt/keep/kept. Layer 2 (also gzip): etc/.wh.some-file (deletes
    /etc/some-file), opt/app/.wh..wh..opq (opaque: hides everything layer 1
    had in /opt/app) with opt/app/new, and a new file etc/layer2.
    TWO_LAYER_ABSENT / TWO_LAYER_PRESENT describe the merged result.
    Returns an ImageInfo.
    """
    extra = {"opt/app/old-a": b"old a\n", "opt/app/old-b": b"old b\n",
             "opt/app/sub/deep": b"deep\n", "opt/keep/kept": b"kept\n"}
    layer1 = tar_bytes(busybox_entries(extra))
    layer2 = tar_bytes([
        Entry("etc", "dir", mode=0o755),
        Entry("etc/.wh.some-file"),
        Entry("etc/layer2", data=b"second layer\n"),
        Entry("opt", "dir", mode=0o755),
        Entry("opt/app", "dir", mode=0o755),
        Entry("opt/app/.wh..wh..opq"),
        Entry("opt/app/new", data=b"from layer two\n"),
    ])
    info, desc = _write_image(dir, [(layer1, True), (layer2, True)], history=[
        {"created": CREATED, "created_by": "arca test image: busybox rootfs + /opt"},
        {"created": CREATED, "created_by": "arca test image: whiteouts"}])
    _set_tag(dir, desc, tag)
    info.tag = tag
    return info


def read_blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
        return f.read()


def read_layout_info(layout, tag="latest"):
    """ImageInfo (or IndexInfo) of the image tagged `tag` in an OCI layout."""
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    for desc in index["manifests"]:
        if desc.get("annotations", {}).get(REF_NAME) == tag:
            break
    else:
        raise KeyError(f"no tag {tag!r} in {layout}")

    def image(d):
        m = json.loads(read_blob(layout, d["digest"]))
        cfg = json.loads(read_blob(layout, m["config"]["digest"]))
        return ImageInfo(layout=layout, manifest_digest=d["digest"], manifest_size=d["size"],
                         config_digest=m["config"]["digest"],
                         layer_digests=[l["digest"] for l in m["layers"]],
                         diff_ids=list(cfg["rootfs"]["diff_ids"]),
                         architecture=cfg.get("architecture"), os=cfg.get("os"),
                         variant=cfg.get("variant"), tag=tag)

    if desc["mediaType"] == MT_INDEX:
        idx = json.loads(read_blob(layout, desc["digest"]))
        manifests = {}
        for d in idx["manifests"]:
            p = d.get("platform", {})
            key = "/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)
            manifests[key] = image(d)
        return IndexInfo(layout=layout, index_digest=desc["digest"], index_size=desc["size"],
                         manifests=manifests, tag=tag)
    return image(desc)


# -- Debian minbase ----------------------------------------------------------

@contextlib.contextmanager
def _cache_lock(name):
    """An exclusive flock on CACHE_ROOT/name.lock, so that concurrent test
    runs build a cached image once."""
    os.makedirs(CACHE_ROOT, exist_ok=True)
    with open(os.path.join(CACHE_ROOT, name + ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def debian_mirror():
    """The Debian archive URI apt on this machine uses (deb822 .sources files
    or one-line sources.list), else deb.debian.org."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            for stanza in f.read().split("\n\n"):
                fields = {}
                for line in stanza.splitlines():
                    if ":" in line and not line.startswith((" ", "#")):
                        k, v = line.split(":", 1)
                        fields[k.strip().lower()] = v.split()
                if DEBIAN_SUITE in fields.get("suites", []):
                    for uri in fields.get("uris", []):
                        if uri.rstrip("/").endswith("/debian"):
                            return uri
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            words = [w for w in line.split() if not w.startswith("[")]
            if (len(words) >= 3 and words[0] == "deb" and words[2] == DEBIAN_SUITE
                    and words[1].rstrip("/").endswith("/debian")):
                return words[1]
    return DEBIAN_MIRROR_FALLBACK


def debian_minbase_tar():
    """Path of the cached `mmdebstrap --variant=minbase bookworm` rootfs tar.

    Built only when missing (about a minute and ~170 MB), into a temporary name
    that is renamed into place, so a half-built tarball is never used. It is
    mmdebstrap's raw output: entries are "./"-prefixed and ./dev holds device
    nodes. Raises RuntimeError with mmdebstrap's output when the build fails.
    """
    if os.path.exists(DEBIAN_TAR):
        return DEBIAN_TAR
    with _cache_lock("debian-minbase"):
        if os.path.exists(DEBIAN_TAR):
            return DEBIAN_TAR
        if not shutil.which("mmdebstrap"):
            raise RuntimeError("mmdebstrap is not installed (apt-get install -y mmdebstrap)")
        tmp = f"{DEBIAN_TAR}.tmp-{os.getpid()}.tar"
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(SOURCE_EPOCH))
        cmd = ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar",
               DEBIAN_SUITE, tmp, f"deb {debian_mirror()} {DEBIAN_SUITE} main"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
            if p.returncode != 0 or not os.path.exists(tmp):
                raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n"
                                   f"{p.stdout[-3000:]}{p.stderr[-3000:]}")
            os.rename(tmp, DEBIAN_TAR)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return DEBIAN_TAR


class _HashingWriter:
    """A write-only file object that hashes and counts what passes through."""

    def __init__(self, out=None):
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, b):
        self.sha.update(b)
        self.size += len(b)
        if self.out is not None:
            self.out.write(b)
        return len(b)

    def flush(self):
        pass


def _normalize_debian_tar(src, out):
    """Re-write mmdebstrap's tar as an image layer into the file object out.

    Names lose their "./" prefix, the "./" root entry is dropped, and /dev
    keeps only its directories (images carry no device nodes; the runtime
    provides /dev). Everything else, including hardlinks and PAX headers
    (xattrs), is kept in the original order.
    """
    with tarfile.open(src) as tin, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tout:
        for m in tin:
            name = m.name[2:] if m.name.startswith("./") else m.name
            name = name.rstrip("/")
            if name in ("", "."):
                continue
            if name.startswith("dev/") and not m.isdir():
                continue
            m.name = name
            if m.islnk() and m.linkname.startswith("./"):
                m.linkname = m.linkname[2:]
            tout.addfile(m, tin.extractfile(m) if m.isreg() else None)


def build_debian_layout(dir=None):
    """The Debian minbase rootfs as a one-layer (gzip) OCI image, Env PATH,
    Cmd ["bash"], tagged "latest".

    The layout is built once into DEBIAN_LAYOUT (rebuilt only when missing).
    With dir=None that cached layout is returned as is (treat it as
    read-only); otherwise it is copied into `dir`, which a test may modify.
    Returns an ImageInfo.
    """
    if not os.path.exists(os.path.join(DEBIAN_LAYOUT, "index.json")):
        src = debian_minbase_tar()
        with _cache_lock("debian-layout"):
            if not os.path.exists(os.path.join(DEBIAN_LAYOUT, "index.json")):
                _build_debian_layout_uncached(src)
    if dir is None:
        return read_layout_info(DEBIAN_LAYOUT)
    _init_layout(dir)
    for name in os.listdir(os.path.join(DEBIAN_LAYOUT, "blobs", "sha256")):
        dst = os.path.join(dir, "blobs", "sha256", name)
        if not os.path.exists(dst):
            shutil.copyfile(os.path.join(DEBIAN_LAYOUT, "blobs", "sha256", name), dst)
    info = read_layout_info(DEBIAN_LAYOUT)
    _set_tag(dir, {"mediaType": MT_MANIFEST, "digest": info.manifest_digest,
                   "size": info.manifest_size,
                   "platform": {"architecture": info.architecture, "os": "linux"}}, "latest")
    return read_layout_info(dir)


def _build_debian_layout_uncached(src):
    """Build DEBIAN_LAYOUT from the rootfs tar, streaming (the tar is large),
    in a temporary directory renamed into place."""
    tmp = f"{DEBIAN_LAYOUT}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _init_layout(tmp)
        layer_tmp = os.path.join(tmp, "layer.tmp")
        with open(layer_tmp, "wb") as f:
            gz_hash = _HashingWriter(f)
            with gzip.GzipFile(filename="", mode="wb", fileobj=gz_hash, mtime=0,
                               compresslevel=6) as g:
                raw_hash = _HashingWriter(g)
                _normalize_debian_tar(src, raw_hash)
        layer_digest = "sha256:" + gz_hash.sha.hexdigest()
        diff_id = "sha256:" + raw_hash.sha.hexdigest()
        os.rename(layer_tmp, os.path.join(tmp, "blobs", "sha256", layer_digest[7:]))
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                              text=True).stdout.strip() or "amd64"
        config = {"created": CREATED, "architecture": arch, "os": "linux",
                  "config": {"Env": [DEFAULT_PATH], "Cmd": ["bash"]},
                  "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                  "history": [
                      {"created": CREATED,
                       "created_by": f"mmdebstrap --variant=minbase {DEBIAN_SUITE}"},
                      {"created": CREATED, "created_by": 'CMD ["bash"]', "empty_layer": True}]}
        cfg_digest, cfg_size = write_blob(tmp, _json(config))
        manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                    "config": {"mediaType": MT_CONFIG, "digest": cfg_digest, "size": cfg_size},
                    "layers": [{"mediaType": MT_LAYER_GZIP, "digest": layer_digest,
                                "size": gz_hash.size}]}
        m_digest, m_size = write_blob(tmp, _json(manifest))
        _set_tag(tmp, {"mediaType": MT_MANIFEST, "digest": m_digest, "size": m_size,
                       "platform": {"architecture": arch, "os": "linux"}}, "latest")
        shutil.rmtree(DEBIAN_LAYOUT, ignore_errors=True)
        os.rename(tmp, DEBIAN_LAYOUT)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
