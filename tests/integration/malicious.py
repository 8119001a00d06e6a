"""Hostile layer tarballs and the checks that nothing escaped their unpacking.

This module only generates inputs and provides checks; it assumes nothing
about how Arca's unpacker treats any of them (refuse the whole layer, skip the
entry, neutralize it...). A test decides what outcome it requires.

Geometry. Every layer is written for one fixed place to be unpacked into:

    base/
      outside/          sentinel files the layers try to reach (OUTSIDE_FILES)
        victim  secret  passwd  dir/file  dir/sub/  link-to-victim -> victim
      nest/
        marker
        nest/
          marker
          rootfs/       <- the unpack target (Sentinel.target), empty at first

So "../../../outside/victim" seen from the target is base/outside/victim, and
one or two "../" land in base/nest/nest or base/nest, which are watched too.
Entries that climb much further ("../" * 40) or are absolute aim at the host
paths in HOST_CANARIES, which must never come to exist.

Usage:

    s = sentinel_layout(tmp_path)                 # also takes the snapshot
    for layer in malicious_layers(tmp_path / "layers"):
        ... unpack layer.path into s.target (however the test does it) ...
        assert_outside_untouched(tmp_path, s.snapshot)
        assert_target_contained(s.target, tmp_path)

Keep the layers directory outside `base`, or create it before
sentinel_layout() so that it is part of the "before" snapshot.
"""
import collections
import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
import zlib

SOURCE_EPOCH = 1700000000
TARGET_REL = os.path.join("nest", "nest", "rootfs")
# From the target, the sentinel directory is three levels up.
OUT = "../../../outside"
# Enough "../" to reach the real / from any test directory.
FAR = "../" * 40
SECRET = b"arca-sentinel-secret: this must never be readable inside an image\n"
VICTIM = b"arca-sentinel-victim: must stay exactly like this\n"
PWNED = b"pwned by a malicious layer\n"
OUTSIDE_FILES = {
    "outside/victim": (VICTIM, 0o644),
    "outside/secret": (SECRET, 0o600),
    "outside/passwd": (b"root:x:0:0:sentinel:/root:/bin/sh\n", 0o644),
    "outside/dir/file": (b"sentinel file in a directory\n", 0o644),
    "nest/marker": (b"marker two levels above the target\n", 0o644),
    "nest/nest/marker": (b"marker next to the target\n", 0o644),
}
# Host paths that absolute or far-climbing entries aim at. They must not exist
# after an unpack; sentinel_layout() removes stale ones left by a broken run.
HOST_CANARIES = ("/etc/arca-evil", "/tmp/arca-escape-canary", "/arca-escape-canary",
                 "/tmp/arca-escape-dir")
# Host files whose inode must never be shared with anything in the target.
HOST_SENSITIVE = ("/etc/passwd", "/etc/shadow", "/etc/hostname")

MaliciousLayer = collections.namedtuple("MaliciousLayer", "name path description")
Sentinel = collections.namedtuple("Sentinel", "base target outside snapshot")


# -- tar entry construction ---------------------------------------------------

def _ti(name, kind="file", data=b"", mode=None, target="", pax=None, major=0, minor=0):
    """(TarInfo, data) for one entry with fixed owner and mtime.

    kind: file, dir, symlink, hardlink, char, block, fifo.
    pax: extra PAX records; a "path" or "linkpath" record here overrides the
    name/target stored in the ustar header.
    """
    ti = tarfile.TarInfo(name)
    ti.mtime = SOURCE_EPOCH
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
             "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
             "fifo": tarfile.FIFOTYPE}
    ti.type = types[kind]
    defaults = {"dir": 0o755, "symlink": 0o777}
    ti.mode = defaults.get(kind, 0o644) if mode is None else mode
    if kind == "file":
        ti.size = len(data)
    if kind in ("symlink", "hardlink"):
        ti.linkname = target
    if kind in ("char", "block"):
        ti.devmajor, ti.devminor = major, minor
    if pax:
        ti.pax_headers = dict(pax)
    return ti, (data if kind == "file" else None)


def _tar(entries):
    """Uncompressed PAX tar bytes of [(TarInfo, data)], in the given order.

    tarfile writes names as given: no "/" or ".." is stripped on output.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as g:
        g.write(data)
    return buf.getvalue()


def _raw_header(name, size_field, typeflag=b"0", mode=0o644, extra=None):
    """A 512-byte ustar/GNU header built by hand, for fields tarfile refuses
    to write. size_field: the 12 raw bytes of the size. extra: {offset: bytes}
    patched in before the checksum is computed (GNU-only fields)."""
    h = bytearray(512)
    name = name.encode()
    h[0:len(name)] = name
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"%07o\0" % 0
    h[116:124] = b"%07o\0" % 0
    h[124:136] = size_field
    h[136:148] = b"%011o\0" % SOURCE_EPOCH
    h[156:157] = typeflag
    h[257:265] = b"ustar  \0"       # GNU magic, so base-256 and 'S' are legal
    for off, val in (extra or {}).items():
        h[off:off + len(val)] = val
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def _pax_record(key, value):
    """One well-formed PAX record "LEN key=value\\n" (LEN counts itself)."""
    rest = f" {key}={value}\n"
    n = len(rest.encode()) + 1
    while len(str(n)) + len(rest.encode()) != n:
        n += 1
    return f"{n}{rest}"


def _base256(value, width=12):
    """GNU base-256 encoding of a numeric field (high bit of byte 0 set)."""
    return bytes([0x80]) + value.to_bytes(width - 1, "big")


# -- the layers ---------------------------------------------------------------

def _layers():
    """(name, gzip?, bytes or generator-producing callable, description)."""
    L = []

    def add(name, entries, desc, gz=False):
        L.append((name, gz, lambda: _tar(entries), desc))

    add("dotdot-file", [
        _ti("ok", data=b"harmless\n"),
        _ti(f"{OUT}/victim", data=PWNED),
        _ti("../escaped", data=PWNED),
        _ti("../../escaped", data=PWNED),
    ], "'../' traversal in entry names: overwrites outside/victim, creates files next "
       "to and above the target")

    add("absolute-path", [
        _ti("/etc/arca-evil", data=PWNED),
        _ti("/tmp/arca-escape-canary", data=PWNED),
        _ti("//arca-escape-canary", data=PWNED),
    ], "absolute entry names (/etc/arca-evil, /tmp/..., //...): must land inside the "
       "target or be refused, never on the host")

    add("deep-dotdot", [
        _ti("a", "dir"),
        _ti("a/b", "dir"),
        _ti("a/../../../../outside/victim", data=PWNED),
        _ti("a/b/../../../../../outside/dir/new", data=PWNED),
        _ti("a/b/./../.././../" + FAR + "tmp/arca-escape-canary", data=PWNED),
    ], "'..' components buried in the middle of names (a/../../../..)", gz=True)

    add("symlink-parent-write", [
        _ti("link", "symlink", target="../../"),
        _ti("link/escaped", data=PWNED),
        _ti("out", "symlink", target=OUT),
        _ti("out/victim", data=PWNED),
    ], "a symlink to '..'-paths (link -> ../../, out -> ../../../outside), then a "
       "file written through it")

    add("symlink-root", [
        _ti("root", "symlink", target="/"),
        _ti("root/tmp/arca-escape-canary", data=PWNED),
        _ti("root/etc/arca-evil", data=PWNED),
        _ti("abs", "symlink", target="/tmp"),
        _ti("abs/arca-escape-canary", data=PWNED),
    ], "a symlink to '/' (and to /tmp), then files written through it: absolute "
       "symlinks must resolve inside the target")

    add("symlink-chain", [
        _ti("d1", "dir"),
        _ti("d2", "dir"),
        _ti("a", "symlink", target="b"),
        _ti("b", "symlink", target="c"),
        _ti("c", "symlink", target="d1/up"),
        _ti("d1/up", "symlink", target="../d2/up"),
        _ti("d2/up", "symlink", target="../" + OUT),
        _ti("a/victim", data=PWNED),
        _ti("a/dir/file", data=PWNED),
    ], "a chain of relative symlinks across directories that only together climb "
       "out (a -> b -> c -> d1/up -> ../d2/up -> ../../../../outside), then writes "
       "through the head", gz=True)

    add("symlink-replaces-dir", [
        _ti("etc", "dir"),
        _ti("etc/ok", data=b"harmless\n"),
        _ti("etc", "symlink", target=OUT),
        _ti("etc/victim", data=PWNED),
        _ti("etc/passwd", data=PWNED),
    ], "a non-empty directory, then a symlink of the same name pointing outside, "
       "then files under that name")

    add("dir-then-symlink", [
        _ti("d", "dir", mode=0o777),
        _ti("d", "symlink", target=OUT + "/dir"),
        _ti("d/file", data=PWNED),
        _ti("d/sub/new", data=PWNED),
    ], "an empty directory entry, then a symlink of the same name pointing outside, "
       "then a file under it (a deferred chmod 0777 of 'd' would also follow the "
       "symlink)")

    add("deferred-dir-metadata", [
        _ti("x", "dir", mode=0o777),
        _ti("x/f", data=b"harmless\n"),
        _ti("x/f", "symlink", target=OUT + "/victim"),
        _ti("y", "dir", mode=0o700),
        _ti("y", "symlink", target=OUT),
    ], "directories whose mode/mtime an unpacker applies at the end, replaced by "
       "symlinks pointing outside meanwhile: the final chmod/utimes must not "
       "follow them")

    add("hardlink-absolute", [
        _ti("passwd", "hardlink", target="/etc/passwd"),
        _ti("shadow", "hardlink", target="/etc/shadow"),
    ], "hardlinks to absolute host paths (/etc/passwd, /etc/shadow): reading them "
       "would leak host files into the image")

    add("hardlink-dotdot", [
        _ti("leak", "hardlink", target=OUT + "/secret"),
        _ti("leak", data=PWNED),
        _ti("leak2", "hardlink", target="a/../" + OUT + "/victim"),
    ], "hardlinks with '../' targets (outside/secret, outside/victim), then a file "
       "of the same name that must not be written through the link")

    add("hardlink-to-escaping-symlink", [
        _ti("sl", "symlink", target=OUT + "/victim"),
        _ti("hl", "hardlink", target="sl"),
        _ti("hl", data=PWNED),
        _ti("sl2", "symlink", target="/etc/passwd"),
        _ti("hl2", "hardlink", target="sl2"),
    ], "a hardlink to a symlink that points outside (linkat must not follow it), "
       "then a file written to the hardlink's name")

    add("whiteout-dotdot", [
        _ti("a", "dir"),
        _ti(".wh...", data=b""),
        _ti("a/.wh...", data=b""),
        _ti("a/.wh..", data=b""),
    ], "whiteouts of '..' ('.wh...') and '.' ('a/.wh..'): deleting them would "
       "remove the target's parent or the target itself")

    add("whiteout-traversal", [
        _ti("../.wh.marker", data=b""),
        _ti(OUT + "/.wh.victim", data=b""),
        _ti("a/../../../../outside/.wh.dir", data=b""),
        _ti(".wh.." + "/" + "x", data=b""),
        _ti(FAR + "tmp/.wh.arca-escape-canary", data=b""),
    ], "whiteouts whose path climbs out: ../.wh.marker deletes nest/nest/marker, "
       "../../../outside/.wh.victim deletes the victim")

    add("opaque-root", [
        _ti(".wh..wh..opq", data=b""),
        _ti("./.wh..wh..opq", data=b""),
        _ti("../.wh..wh..opq", data=b""),
        _ti(OUT + "/.wh..wh..opq", data=b""),
        _ti("kept", data=b"file after the opaque markers\n"),
    ], "opaque whiteouts at the root and on the target's parents: must never empty "
       "a directory outside the target")

    add("device-nodes", [
        _ti("dev", "dir"),
        _ti("dev/mem", "char", major=1, minor=1, mode=0o666),
        _ti("dev/kmsg", "char", major=1, minor=11, mode=0o666),
        _ti("sda", "block", major=8, minor=0, mode=0o666),
        _ti("dev/vda", "block", major=253, minor=0, mode=0o666),
        _ti("dev/loop-control", "char", major=10, minor=237, mode=0o666),
        _ti("fifo", "fifo", mode=0o666),
    ], "device nodes (char /dev/mem, /dev/kmsg; block devices named like disks, "
       "sda and dev/vda) and a fifo, all world-writable")

    add("setuid", [
        _ti("bin", "dir"),
        _ti("bin/suid-root", data=b"#!/bin/sh\nid\n", mode=0o4755),
        _ti("bin/sgid", data=b"#!/bin/sh\nid\n", mode=0o2755),
        _ti("bin/suid-world-writable", data=b"#!/bin/sh\nid\n", mode=0o6777),
        _ti("sticky", "dir", mode=0o1777),
    ], "setuid, setgid and world-writable setuid files owned by root")

    add("duplicate-entries", [
        _ti("dup", data=b"first\n"),
        _ti("dup", "symlink", target=OUT + "/victim"),
        _ti("dup", data=PWNED),
        _ti("dup2", "symlink", target=OUT + "/dir"),
        _ti("dup2", "dir"),
        _ti("dup2/file", data=PWNED),
    ], "the same name as file, then symlink to outside, then file again (the last "
       "write must replace the symlink, not follow it); symlink then dir")

    add("root-dot-symlink", [
        _ti(".", "symlink", target=OUT),
        _ti("./victim", data=PWNED),
        _ti("", "symlink", target=OUT),
        _ti("victim", data=PWNED),
    ], "entries named '.' and '' that are symlinks pointing outside: replacing the "
       "target root itself, then writing into it")

    long_dir = "/".join(["d" * 200] * 25)
    add("long-names", [
        _ti(long_dir + "/file", data=b"deep\n"),
        _ti("n" * 300, data=b"name longer than NAME_MAX\n"),
        _ti("longlink", "symlink", target="../" * 2000 + "etc/passwd"),
        _ti("p" * 50 + "/" + "../" * 1400 + "tmp/arca-escape-canary", data=PWNED),
    ], "a name of 5000+ bytes (longer than PATH_MAX, via PAX), a component longer "
       "than NAME_MAX, a 6000-byte symlink target, and a PATH_MAX-long '../' climb")

    nul_path = "safe\x00" + OUT + "/victim"
    add("pax-tricks", [
        _ti("innocent", data=PWNED, pax={"path": OUT + "/victim"}),
        _ti("innocent-link", "symlink", target="harmless",
            pax={"linkpath": "/etc/passwd"}),
        _ti("nul-name", data=PWNED, pax={"path": nul_path}),
        _ti("nl", data=PWNED, pax={"path": "evil\nname"}),
        _ti("comment", data=b"x\n",
            pax={"comment": "x\n" + _pax_record("path", OUT + "/victim")}),
        # Not valid UTF-8: tarfile adds "hdrcharset=BINARY" by itself.
        _ti("binary-name", data=b"x\n", pax={"path": "bin\udcff/../" + OUT + "/victim"}),
    ], "PAX records that override a harmless ustar name with '../' or an absolute "
       "link target, names with embedded NUL and newline, and a record whose value "
       "contains a fake 'path=' line for line-based parsers")

    add("pax-xattr-outside", [
        _ti(OUT + "/victim", data=VICTIM, pax={"SCHILY.xattr.user.pwned": "1"}),
        _ti("sl", "symlink", target=OUT + "/victim"),
        _ti("sl2", "symlink", target=OUT + "/victim",
            pax={"SCHILY.xattr.user.pwned": "1"}),
        _ti("over", "dir", pax={"SCHILY.xattr.trusted.overlay.redirect": "/" + OUT,
                                "SCHILY.xattr.trusted.overlay.opaque": "y"}),
        _ti("cap", data=b"#!/bin/sh\n", mode=0o755,
            # VFS_CAP_REVISION_2, every permitted capability. Raw bytes travel
            # as surrogate escapes; tarfile then marks the header BINARY.
            pax={"SCHILY.xattr.security.capability":
                 (b"\x01\x00\x00\x02" + b"\xff" * 4 + b"\0" * 4 + b"\xff" * 4 + b"\0" * 4)
                 .decode("utf-8", "surrogateescape")}),
    ], "PAX xattrs on an outside path and on symlinks pointing outside (setxattr "
       "must not follow), overlayfs redirect/opaque xattrs, a full file capability")

    # Hand-built headers for what tarfile will not write.
    def huge_pax():
        ti, _ = _ti("huge", data=b"")
        ti.size = 100 << 30                                  # PAX "size" record
        head = ti.tobuf(format=tarfile.PAX_FORMAT)
        return head + b"\0" * (1 << 20)                      # then the data stops
    L.append(("huge-size-pax", True, huge_pax,
              "a regular file whose PAX header declares 100 GiB, followed by only "
              "1 MiB of data (truncated archive): no preallocation, no 100 GiB write"))

    def huge_base256():
        return (_raw_header("huge256", _base256(100 << 30)) + b"\0" * 4096 +
                b"\0" * 1024)
    L.append(("huge-size-base256", True, huge_base256,
              "a regular file whose GNU base-256 size field declares 100 GiB, "
              "followed by only 5 KiB of zeros (truncated archive)"))

    def gnu_sparse():
        real = 100 << 30
        entry = _base256(real - 512) + b"%011o\0" % 512     # offset, numbytes
        extra = {386: entry, 482: b"\0", 483: _base256(real)}
        head = _raw_header("sparse-huge", b"%011o\0" % 512, typeflag=b"S", extra=extra)
        return head + b"S" * 512 + b"\0" * 1024
    L.append(("gnu-sparse-huge", False, gnu_sparse,
              "an old-GNU sparse file (type 'S') with a real size of 100 GiB and one "
              "512-byte data block at its end"))

    # -- depth, beyond each limit a tree walker once had ----------------------
    for depth in (257, 513, 2040):
        add(f"nest-{depth}", [
            _ti("a/" * depth + "f", data=b"deep\n"),
            _ti("a/" * depth + "l", "symlink", target="../" * (depth + 3) + "outside/victim"),
            _ti("a/" * depth + "l", data=PWNED),
        ], f"a file {depth} directories deep (no parent entries: each is made on the way), "
           "a symlink there climbing out, then a write to its name", gz=depth > 600)

    # -- bombs: small compressed, 384 MiB of zeros in 64 MiB files ------------
    def bomb():
        return _tar([_ti(f"zero{i}", data=bytes(64 << 20)) for i in range(6)])
    L.append(("gzip-bomb", True, bomb,
              "a ~400 KB gzip layer of six 64 MiB files of zeros (384 MiB): the byte bound "
              "stops it while it inflates"))
    L.append(("zstd-bomb", "zst", bomb,
              "the same 384 MiB of zeros as a ~12 KB zstd layer"))

    add("hardlink-odd", [
        _ti("d", "dir"),
        _ti("d/f", data=b"x\n"),
        _ti("hd", "hardlink", target="d"),
        _ti("self", "hardlink", target="self"),
        _ti("f2", data=b"y\n"),
        _ti("f2", "hardlink", target="f2"),
        _ti("dot", "hardlink", target="."),
        _ti("root", "hardlink", target=""),
    ], "hardlinks to a directory, to '.', to '' and to themselves (missing, and existing)")

    add("wh-names", [
        _ti(".wh..wh.plnk", "dir"),
        _ti(".wh..wh.plnk/123.456", data=b"aufs hardlink dir\n"),
        _ti(".wh..wh.aufs", data=b""),
        _ti("d/.wh..wh..opq", data=b""),
        _ti("sl", "symlink", target=OUT),
        _ti("sl/.wh..wh..opq", data=b""),
        _ti("up", "symlink", target="../../"),
        _ti("up/.wh..wh..opq", data=b""),
        _ti("up/.wh.marker", data=b""),
    ], "aufs '.wh..wh.' names, and opaque whiteouts and whiteouts on symlinked "
       "directories pointing outside (they must not empty or delete there)")

    def gnu_longname():
        target = (OUT + "/victim").encode() + b"\0"
        long_head = _raw_header("././@LongLink", b"%011o\0" % len(target), typeflag=b"L")
        body = target + b"\0" * (-len(target) % 512)
        file_head = _raw_header("innocent", b"%011o\0" % len(PWNED))
        data = PWNED + b"\0" * (-len(PWNED) % 512)
        link = (FAR + "etc/passwd").encode() + b"\0"
        klink = _raw_header("././@LongLink", b"%011o\0" % len(link), typeflag=b"K")
        sl = _raw_header("innocent-link", b"%011o\0" % 0, typeflag=b"2")
        sl_write = _raw_header("innocent-link", b"%011o\0" % len(PWNED))
        # ustar's prefix field (offset 345) prepended to the name: "../../../outside" + "victim"
        prefixed = _raw_header("victim", b"%011o\0" % len(PWNED),
                               extra={257: b"ustar\x0000", 345: OUT.encode()})
        return (long_head + body + file_head + data + klink + link + b"\0" * (-len(link) % 512)
                + sl + sl_write + data + prefixed + data + b"\0" * 1024)
    L.append(("gnu-longname-prefix", False, gnu_longname,
              "a GNU long name ('L') and long link ('K') that turn harmless names into "
              "'../../../outside/victim' and a far '../' link, and a ustar prefix field "
              "'../../../outside' in front of 'victim'"))

    def odd_types():
        contiguous = _raw_header("contig", b"%011o\0" % len(PWNED), typeflag=b"7")
        data = PWNED + b"\0" * (-len(PWNED) % 512)
        unknown = _raw_header("socketish", b"%011o\0" % 0, typeflag=b"s")
        vendor = _raw_header("vendor", b"%011o\0" % 0, typeflag=b"X")
        return contiguous + data + unknown + vendor + b"\0" * 1024
    L.append(("odd-types", True, odd_types,
              "a contiguous file (type '7'), and type flags tar has no meaning for "
              "('s', as a socket would be, and a vendor 'X')"))

    root_dir = tarfile.TarInfo("./")
    root_dir.type, root_dir.mode, root_dir.mtime = tarfile.DIRTYPE, 0o777, SOURCE_EPOCH
    root_dir.uid = root_dir.gid = 4242
    add("root-entry", [
        (root_dir, None),
        _ti("ok", data=b"x\n"),
    ], "a root './' entry with mode 0777 and a foreign owner: it may set the target's "
       "own metadata, never its parent's")

    add("extreme-mtimes", [
        _ti("future", data=b"x\n", pax={"mtime": "99999999999999999999.999999999"}),
        _ti("past", data=b"x\n", pax={"mtime": "-99999999999999999999"}),
        _ti("nan", data=b"x\n", pax={"mtime": "nan"}),
        _ti("dir-future", "dir", pax={"mtime": "9223372036854775807"}),
        _ti("sl-past", "symlink", target=OUT + "/victim", pax={"mtime": "-1"}),
    ], "mtimes far beyond 64 bits both ways, not a number, the largest int64, and on "
       "a symlink pointing outside (utimes must not follow it)")

    L.append(("million-entries", True, None,
              "1,100,001 empty files in one directory (m/0000000...), streamed: about "
              "560 MB of tar in a ~11 MB gzip; inode and memory exhaustion"))
    return L


MILLION = 1_100_000


def _write_million(path):
    """Stream the million-entries layer straight into a gzip file.

    Headers are produced by patching a template (name digits and checksum)
    instead of going through tarfile: ~2 s for 1.1 M entries."""
    d, _ = _ti("m", "dir")
    head = d.tobuf(format=tarfile.USTAR_FORMAT)
    t, _ = _ti("m/0000000")
    tmpl = bytearray(t.tobuf(format=tarfile.USTAR_FORMAT))
    tmpl[148:156] = b" " * 8
    base = sum(tmpl) - 7 * ord("0")
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)   # wbits 31: gzip container
    with open(path, "wb") as f:
        f.write(comp.compress(head))
        chunk = []
        for i in range(MILLION):
            digits = b"%07d" % i
            tmpl[2:9] = digits
            tmpl[148:156] = b"%06o\0 " % (base + sum(digits))
            chunk.append(bytes(tmpl))
            if len(chunk) == 8192:
                f.write(comp.compress(b"".join(chunk)))
                chunk = []
        f.write(comp.compress(b"".join(chunk) + b"\0" * 1024))
        f.write(comp.flush())


def malicious_layers(dir, million=True):
    """Write the hostile layers into `dir`; returns [MaliciousLayer].

    Each is (name, path, description); paths end in .tar or .tar.gz. The
    million-entries layer is skipped when million=False, and not rewritten if
    it is already in `dir` (it is deterministic).
    """
    os.makedirs(dir, exist_ok=True)
    out = []
    for name, gz, make, desc in _layers():
        path = os.path.join(dir, name + {True: ".tar.gz", "zst": ".tar.zst"}.get(gz, ".tar"))
        if name == "million-entries":
            if not million:
                continue
            if not os.path.exists(path):
                _write_million(path + ".tmp")
                os.rename(path + ".tmp", path)
        else:
            data = make()
            with open(path, "wb") as f:
                f.write(_gz(data) if gz is True else _zst(data) if gz == "zst" else data)
        out.append(MaliciousLayer(name, path, desc))
    return out


def _zst(data):
    return subprocess.run(["zstd", "-q", "-3", "-c"], input=data, capture_output=True,
                          check=True).stdout


def _layer_sets():
    """(name, [entries of each layer], description): attacks that need two layers."""
    return [
        ("symlink-then-write", [
            [_ti("s", "symlink", target=OUT), _ti("r", "symlink", target="/")],
            [_ti("s/victim", data=PWNED), _ti("s/dir/file", data=PWNED),
             _ti("r/tmp/arca-escape-canary", data=PWNED)],
        ], "a symlink pointing outside in one layer, files written through it in the next"),
        ("symlink-then-whiteout", [
            [_ti("s", "symlink", target=OUT), _ti("u", "symlink", target="../")],
            [_ti("s/.wh.victim", data=b""), _ti("s/.wh..wh..opq", data=b""),
             _ti("u/.wh.marker", data=b""), _ti("s/dir/.wh.file", data=b"")],
        ], "a symlink pointing outside in one layer, whiteouts and an opaque marker "
           "through it in the next"),
        ("hardlink-lower", [
            [_ti("f", data=b"lower\n"), _ti("s", "symlink", target=OUT),
             _ti("sv", "symlink", target=OUT + "/victim")],
            [_ti("h", "hardlink", target="f"), _ti("h2", "hardlink", target="s/victim"),
             _ti("h3", "hardlink", target="sv"), _ti("h3", data=PWNED),
             _ti("h", data=b"rewritten\n")],
        ], "hardlinks in an upper layer to a lower layer's file (fine), through its "
           "symlink pointing outside, and to that symlink, then written"),
        ("dir-becomes-symlink", [
            [_ti("etc", "dir"), _ti("etc/ok", data=b"x\n")],
            [_ti("etc", "symlink", target=OUT)],
            [_ti("etc/passwd", data=PWNED), _ti("etc/.wh.victim", data=b"")],
        ], "a directory in one layer, a symlink pointing outside in its place in the "
           "next, files and a whiteout under its name in the third"),
    ]


def malicious_layer_sets(dir):
    """Write the multi-layer attacks into `dir`; returns [(name, [paths], description)]."""
    os.makedirs(dir, exist_ok=True)
    out = []
    for name, layers, desc in _layer_sets():
        paths = []
        for i, entries in enumerate(layers):
            path = os.path.join(dir, f"{name}-{i}.tar")
            with open(path, "wb") as f:
                f.write(_tar(entries))
            paths.append(path)
        out.append((name, paths, desc))
    return out


# -- sentinel tree and snapshots ------------------------------------------------

class Snapshot:
    """Metadata and content hashes of everything under base except the target.

    entries: {relative path: dict of type, mode, uid, gid, size, nlink,
    mtime_ns, ctime_ns, sha256 (files), link (symlinks), rdev (devices),
    xattrs}. canaries: which HOST_CANARIES existed.
    """

    def __init__(self, base, target):
        self.base = os.path.abspath(base)
        self.target = os.path.abspath(target)
        self.entries = {}
        self.canaries = {p: os.path.lexists(p) for p in HOST_CANARIES}
        self._walk(self.base, ".")

    def _walk(self, path, rel):
        st = os.lstat(path)
        info = {"type": stat.S_IFMT(st.st_mode), "mode": stat.S_IMODE(st.st_mode),
                "uid": st.st_uid, "gid": st.st_gid, "size": st.st_size,
                "nlink": st.st_nlink, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
                "xattrs": _xattrs(path)}
        if stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            info["sha256"] = h.hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            info["link"] = os.readlink(path)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            info["rdev"] = st.st_rdev
        self.entries[rel] = info
        if stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(path)):
                child = os.path.join(path, name)
                if os.path.abspath(child) == self.target:
                    continue
                self._walk(child, os.path.normpath(os.path.join(rel, name)))


def _xattrs(path):
    try:
        return {k: os.getxattr(path, k, follow_symlinks=False)
                for k in sorted(os.listxattr(path, follow_symlinks=False))}
    except OSError:
        return {}


def take_snapshot(base, target):
    """A Snapshot of base, excluding the target subtree."""
    return Snapshot(base, target)


def sentinel_layout(base):
    """Create the sentinel tree (see the module doc) under base and take the
    "before" snapshot. Returns Sentinel(base, target, outside, snapshot);
    target exists and is empty. Stale HOST_CANARIES are removed first."""
    base = os.path.abspath(base)
    for p in HOST_CANARIES:
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        elif os.path.lexists(p):
            os.unlink(p)
    for rel, (data, mode) in OUTSIDE_FILES.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
    os.makedirs(os.path.join(base, "outside", "dir", "sub"), exist_ok=True)
    link = os.path.join(base, "outside", "link-to-victim")
    if not os.path.lexists(link):
        os.symlink("victim", link)
    target = os.path.join(base, TARGET_REL)
    os.makedirs(target, exist_ok=True)
    if os.listdir(target):
        raise RuntimeError(f"{target} is not empty")
    return Sentinel(base, target, os.path.join(base, "outside"), take_snapshot(base, target))


def _diff(before, after, ignore_times_of=()):
    problems = []
    for rel in sorted(set(before) | set(after)):
        if rel not in after:
            problems.append(f"removed: {rel}")
        elif rel not in before:
            problems.append(f"appeared: {rel} ({after[rel]})")
        else:
            b, a = before[rel], after[rel]
            keys = [k for k in sorted(set(b) | set(a)) if b.get(k) != a.get(k)]
            if rel in ignore_times_of:
                keys = [k for k in keys if k not in ("mtime_ns", "ctime_ns")]
            if keys:
                problems.append(f"changed: {rel}: " + ", ".join(
                    f"{k} {b.get(k)!r} -> {a.get(k)!r}" for k in keys))
    return problems


def assert_outside_untouched(base, snapshot, ignore=()):
    """Raise AssertionError listing every difference between `snapshot` and
    the tree under base now (the target subtree excluded), and any
    HOST_CANARIES that appeared.

    The mtime/ctime of the target's parent directory are not compared:
    creating, replacing or renaming the target itself legitimately changes
    them (new or removed entries there are still reported). Paths in
    `ignore` (relative to base) are left out entirely.
    """
    now = Snapshot(base, snapshot.target)
    before = {k: v for k, v in snapshot.entries.items() if k not in ignore}
    after = {k: v for k, v in now.entries.items() if k not in ignore}
    parent = os.path.relpath(os.path.dirname(snapshot.target), snapshot.base)
    problems = _diff(before, after, ignore_times_of=(parent,))
    for p, existed in now.canaries.items():
        if existed and not snapshot.canaries.get(p):
            problems.append(f"host path created: {p}")
    if problems:
        raise AssertionError("outside of the unpack target changed:\n  " +
                             "\n  ".join(problems[:50]))


def assert_target_contained(target, base):
    """Raise AssertionError if something in the target reaches outside it:
    a file sharing an inode with a file outside the target (under base) or
    with HOST_SENSITIVE files (hardlink escapes), or a regular file holding
    the sentinel SECRET (content copied through a link). Symlinks are not
    followed: inside an image they are resolved against the image's root."""
    target = os.path.abspath(target)
    outside_inodes = {}
    for dirpath, dirnames, filenames in os.walk(base):
        if os.path.abspath(dirpath) == target:
            dirnames[:] = []
            continue
        dirnames[:] = [d for d in dirnames if os.path.abspath(os.path.join(dirpath, d)) != target]
        for n in filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                outside_inodes[(st.st_dev, st.st_ino)] = p
    for p in HOST_SENSITIVE:
        try:
            st = os.stat(p)
            outside_inodes[(st.st_dev, st.st_ino)] = p
        except OSError:
            pass
    problems = []
    for dirpath, dirnames, filenames in os.walk(target):
        for n in filenames + dirnames:
            p = os.path.join(dirpath, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            hit = outside_inodes.get((st.st_dev, st.st_ino))
            if hit:
                problems.append(f"{p} is a hardlink of {hit}")
            if st.st_size == len(SECRET):
                with open(p, "rb") as f:
                    if f.read() == SECRET:
                        problems.append(f"{p} holds the sentinel secret")
    if problems:
        raise AssertionError("the unpack target reaches outside:\n  " +
                             "\n  ".join(problems[:50]))
