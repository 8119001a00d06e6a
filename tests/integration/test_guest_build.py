"""arca guest build (issue 15): a guest asset set from a config, its manifest, --verify,
reproducible builds, and booting a set with `arca vm run --guest`.

The kernel step uses guest-image/build-kernel.sh, whose result is cached per machine
(the tests' kernel fixture built it), so a build here takes seconds.
"""
import json
import os
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def guest(arca, *args, check=True):
    env = dict(arca.env, ARCA_GUEST_TOOLS=os.path.join(ROOT, "guest-image"),
               SOURCE_DATE_EPOCH="1700000000")
    r = subprocess.run([arca.bin, "guest", "build", *args], env=env, capture_output=True,
                       text=True, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError(f"arca guest build {' '.join(args)}: {r.returncode}\n{r.stderr}")
    return r


def write_config(tmp_path, arca, name="c.json", **changes):
    config = json.loads(guest(arca, "--init-config").stdout)
    for key, value in changes.items():
        config[key] = value
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return str(path)


def manifest(out):
    with open(os.path.join(out, "manifest.json")) as f:
        return json.load(f)


def test_build_verify_and_reproduce(arca, kernel, tmp_path):
    config = json.loads(guest(arca, "--init-config").stdout)
    assert set(config) == {"arch", "kernel", "initramfs", "rootfs", "env"}
    # The default config as printed: a kernel, an initramfs, a Debian minbase rootfs.
    path = str(tmp_path / "default.json")
    with open(path, "w") as f:
        f.write(guest(arca, "--init-config").stdout)
    out = str(tmp_path / "out")
    r = guest(arca, "--config", path, "--output", out)
    m = manifest(out)
    assert r.stdout.strip() == f"{out}: buildId {m['buildId']}"
    assert sorted(os.listdir(out)) == ["initramfs.cpio", "manifest.json", "rootfs.ext4",
                                       "vmlinux"]
    assert m["config"] == config and m["created"].startswith("2023-11-14T22:13:20")
    assert m["tools"]["arca"].startswith("0.") and m["tools"]["linux-source"]
    # Arca's kernel: the cached one, byte for byte.
    with open(kernel, "rb") as a, open(os.path.join(out, "vmlinux"), "rb") as b:
        assert a.read() == b.read()
    assert "OK" in guest(arca, "--verify", out).stdout
    # A config built twice: the same files, the same build id (with a rootfs:
    # test_a_debian_rootfs_and_env).
    path = write_config(tmp_path, arca, name="no-rootfs.json", rootfs=None)
    first, again = str(tmp_path / "first"), str(tmp_path / "again")
    guest(arca, "--config", path, "--output", first)
    guest(arca, "--config", path, "--output", again)
    assert manifest(again)["files"] == manifest(first)["files"]
    assert manifest(again)["buildId"] == manifest(first)["buildId"]
    # A set built there is refused as a target, not overwritten.
    r = guest(arca, "--config", path, "--output", out, check=False)
    assert r.returncode != 0 and "build into a new directory" in r.stderr
    # One byte changed: --verify names the file.
    with open(os.path.join(out, "initramfs.cpio"), "r+b") as f:
        f.seek(4096)
        byte = f.read(1)
        f.seek(4096)
        f.write(bytes([byte[0] ^ 1]))
    r = guest(arca, "--verify", out, check=False)
    assert r.returncode != 0 and "initramfs.cpio" in r.stderr, r.stderr
    # And `arca vm run --guest` will not boot it.
    r = arca.run("--guest", out, "--", "true")
    assert r.returncode != 0 and b"initramfs.cpio" in r.stderr
    os.remove(os.path.join(again, "vmlinux"))
    r = guest(arca, "--verify", again, check=False)
    assert r.returncode != 0 and "vmlinux" in r.stderr


def test_a_static_binary_gzip_and_a_packaged_kernel(arca, kernel, tmp_path):
    src = tmp_path / "hello.c"
    src.write_text('#include <stdio.h>\nint main(void){puts("hello from the set");return 0;}\n')
    hello = str(tmp_path / "hello")
    subprocess.run(["musl-gcc", "-static", "-O2", "-o", hello, str(src)], check=True)
    # A static binary, and Debian packages unpacked as they are (no dependencies: a
    # dynamic binary comes with its libc6).
    path = write_config(tmp_path, arca, rootfs=None,
                        kernel={"source": "file", "path": kernel},
                        initramfs={"compression": "gzip", "binaries": [hello],
                                   "packages": ["hello", "libc6"]})
    out = str(tmp_path / "out")
    guest(arca, "--config", path, "--output", out)
    assert sorted(os.listdir(out)) == ["initramfs.cpio.gz", "manifest.json", "vmlinux"]
    assert "gzip" in manifest(out)["tools"]
    r = arca.run("--guest", out, "--", "/usr/local/bin/hello")
    assert r.returncode == 0 and r.stdout == b"hello from the set\n", r.stderr
    r = arca.run("--guest", out, "--", "/usr/bin/hello")
    assert r.returncode == 0 and r.stdout == b"Hello, world!\n", r.stderr
    # Reproducible with gzip too (no name, no time in its header).
    again = str(tmp_path / "again")
    guest(arca, "--config", path, "--output", again)
    assert manifest(again)["buildId"] == manifest(out)["buildId"]


@pytest.mark.parametrize("changes,message", [
    ({"initramfs": {"binaries": ["/bin/ls"]}}, "dynamically linked"),
    ({"kernel": {"source": "file", "path": "/etc/hostname"}}, "neither a vmlinux"),
    ({"rootfs": {"packages": ["busybox"], "init": "echo hi"}}, "rootfs.init"),
    ({"rootfs": {"packages": ["busybox"], "init": "/etc/hostname"}}, "neither a script"),
    ({"env": {"NOT OK": "x"}}, "not a variable name"),
    ({"arch": "aarch64"}, "aarch64"),
    ({"kernal": {}}, "unknown field `kernal`"),
    ({"initramfs": {"packages": ["no such package"]}}, "not a Debian package name"),
    ({"initramfs": {"packages": ["arca-no-such-package"]}, "rootfs": None}, "apt-get download"),
])
def test_bad_configs(arca, tmp_path, changes, message):
    path = write_config(tmp_path, arca, **changes)
    r = guest(arca, "--config", path, "--output", str(tmp_path / "out"), check=False)
    assert r.returncode != 0 and message in r.stderr, r.stderr


def test_a_debian_rootfs_and_env(arca, tmp_path):
    """A rootfs of Debian packages (mmdebstrap from Debian's mirror), an init script and a
    baked-in environment: the set boots into the rootfs, the script runs first (its output
    on stderr, a failure stops the run), every process has the variable under its own, the
    package's binary runs, and two builds give the same bytes."""
    script = tmp_path / "boot.sh"
    script.write_text("#!/bin/sh\necho init says hi\n[ \"$(hostname)\" != fail-me ] || exit 3\n"
                      "echo \"$GREETING at boot, as $(id -u) in $(pwd)\" > /etc/booted\n")
    path = write_config(tmp_path, arca,
                        rootfs={"packages": ["busybox", "curl"], "init": str(script)},
                        env={"GREETING": "hello from the set", "PATH": "/usr/bin:/bin"})
    sets = []
    for name in ["one", "two"]:
        out = str(tmp_path / name)
        guest(arca, "--config", path, "--output", out)
        sets.append(out)
    m = manifest(sets[0])
    assert [f["name"] for f in m["files"]] == ["vmlinux", "initramfs.cpio", "rootfs.ext4"]
    assert manifest(sets[1])["buildId"] == m["buildId"]  # the same bytes, rootfs included
    assert "mmdebstrap" in m["tools"] and "e2fsprogs" in m["tools"]
    r = arca.run("--guest", sets[0], "--", "sh", "-c",
                 "echo $GREETING; cat /etc/debian_version; curl --version | head -1; "
                 "cat /etc/booted")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0] == "hello from the set" and lines[1].startswith("12."), lines
    assert lines[2].startswith("curl "), lines
    assert lines[3] == "hello from the set at boot, as 0 in /", lines
    assert b"init says hi" in r.stderr and len(lines) == 4, (lines, r.stderr)
    # A script that fails ends the run before the command, saying so.
    r = arca.run("--guest", sets[0], "--hostname", "fail-me", "--", "echo", "ran")
    assert r.returncode == 125 and b"ran" not in r.stdout, (r.returncode, r.stdout)
    assert b"/etc/arca/rootfs-init exited with 3" in r.stderr, r.stderr
    # A process's own variable wins over the set's.
    r = arca.run("--guest", sets[0], "-e", "GREETING=mine", "--", "sh", "-c", "echo $GREETING")
    assert r.stdout == b"mine\n", r.stderr


def api(d, path):
    """GET path of arcad's API: docker's --format knows only dockerd's fields."""
    out = subprocess.run(["curl", "-sf", "--unix-socket", d.sock, f"http://d/v1.51{path}"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out)


def test_arcad_finds_and_pins_guest_sets(arca, build_dir, kernel, tmp_path):
    """arcad boots the user's set when it verifies (docker info says which, docker
    inspect records what each container booted), skips a broken one with a warning and
    falls back to the installed files; a label boots one container from another set."""
    from daemon import Daemon
    data = tmp_path / "data"
    user_set = str(data / "arca" / "guest")
    os.makedirs(os.path.dirname(user_set))
    path = write_config(tmp_path, arca, rootfs=None)
    guest(arca, "--config", path, "--output", user_set)
    other = str(tmp_path / "other")
    path = write_config(tmp_path, arca, name="gz.json", rootfs=None,
                        initramfs={"compression": "gzip", "binaries": [], "packages": []})
    guest(arca, "--config", path, "--output", other)
    d = Daemon(build_dir, kernel)
    d.pool_size = 1  # its VM boots from the daemon's set, which a label's start never takes
    # No kernel or initramfs given: arcad looks sets up (the user's is in XDG_DATA_HOME).
    d.extra_env = {"ARCA_KERNEL": "", "ARCA_INITRAMFS": "", "XDG_DATA_HOME": str(data)}
    try:
        d.start()
        d.load_busybox()
        info = api(d, "/info")["ArcaGuest"]
        assert info["Source"] == "user" and info["Dir"] == user_set, info
        assert info["BuildId"] == manifest(user_set)["buildId"]
        assert "Guest build id" in d.docker("info").stdout
        d.docker("run", "--name", "plain", "busybox", "true")
        booted = api(d, "/containers/plain/json")["ArcaGuest"]
        assert booted["BuildId"] == info["BuildId"] and booted["Source"] == "user"
        # One container from another set, named by its label: a VM of its own, booted
        # from that set, never the pool's (booted from the daemon's set).
        deadline = time.time() + 120
        while "1 ready" not in d.docker("info").stdout and time.time() < deadline:
            time.sleep(0.3)
        assert "1 ready" in d.docker("info").stdout, d.docker("info").stdout
        cid = d.docker("run", "-d", "--name", "labelled", "--label",
                       f"org.arca.guest={other}", "busybox", "sleep", "1000").stdout.strip()
        assert os.path.isdir(os.path.join(d.run_dir, cid)), "it took the pool's VM"
        assert "1 ready" in d.docker("info").stdout
        d.docker("stop", "-t", "0", "labelled")
        booted = api(d, "/containers/labelled/json")["ArcaGuest"]
        assert booted == {"Source": "label", "Dir": other,
                          "BuildId": manifest(other)["buildId"],
                          "Kernel": f"{other}/vmlinux",
                          "Initramfs": f"{other}/initramfs.cpio.gz"}, booted
        # A label naming a set that does not verify: the start is refused, saying why.
        os.remove(os.path.join(other, "vmlinux"))
        r = d.docker("start", "-a", "labelled", check=False)
        assert r.returncode != 0 and "org.arca.guest" in r.stderr and "vmlinux" in r.stderr
        # A broken user set is skipped: the installed files, and a warning.
        with open(os.path.join(user_set, "initramfs.cpio"), "r+b") as f:
            f.write(b"X")
        d.restart()
        info = api(d, "/info")["ArcaGuest"]
        assert info["Source"] == "installed" and info["Dir"] is None, info
        assert "skipped, it does not verify" in d.log() and "initramfs.cpio" in d.log()
        # What a container booted is kept with it across daemon restarts.
        booted = api(d, "/containers/plain/json")["ArcaGuest"]
        assert booted["Source"] == "user"
        d.docker("rm", "plain", "labelled")
    finally:
        left = d.stop()
        assert not left


def _rehash(layout, edit):
    """Rewrites an init artifact's manifest with edit(manifest) and fixes the digests, as
    someone publishing a different one would (the result is a valid layout)."""
    import hashlib
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    old = index["manifests"][0]["digest"][7:]
    with open(os.path.join(layout, "blobs/sha256", old)) as f:
        m = json.load(f)
    edit(m)
    data = json.dumps(m).encode()
    new = hashlib.sha256(data).hexdigest()
    os.remove(os.path.join(layout, "blobs/sha256", old))
    with open(os.path.join(layout, "blobs/sha256", new), "wb") as f:
        f.write(data)
    index["manifests"][0].update(digest=f"sha256:{new}", size=len(data))
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)


def test_arcad_finds_the_init_artifact(build_dir, kernel, tmp_path):
    """arca-init's initramfs as an OCI layout (arca/init:VERSION): arcad boots the user's
    when it verifies, else the system's (the data root's), else the installed one (here:
    the build tree's); one of another protocol or a tampered one is skipped with a
    warning."""
    import shutil
    from daemon import Daemon
    if os.path.exists("/etc/arca/init"):
        pytest.skip("this machine has a system init in /etc/arca/init, which would win")
    built = os.path.join(build_dir, "src/guest-init/arca-init-oci")
    data = tmp_path / "data"
    user = str(data / "arca" / "init")
    shutil.copytree(built, user)
    d = Daemon(build_dir, kernel)
    d.extra_env = {"ARCA_INITRAMFS": "", "XDG_DATA_HOME": str(data)}  # the kernel is given
    system = os.path.join(d.root, "init")
    try:
        d.start()
        shutil.copytree(built, system)
        d.restart()
        d.load_busybox()
        init = api(d, "/info")["ArcaGuest"]["Init"]
        assert init["Dir"] == user and init["Name"].startswith("arca/init:0."), init
        assert d.docker("run", "--rm", "busybox", "echo", "booted").stdout == "booted\n"
        assert "Guest init" in d.docker("info").stdout
        # Another protocol's init: skipped, with both versions said; the system's next.
        _rehash(user, lambda m: m["annotations"].update({"org.arca.protocol.version": "9.0"}))
        d.restart()
        assert api(d, "/info")["ArcaGuest"]["Init"]["Dir"] == system
        assert "speaks protocol 9.0" in d.log()
        # The user's removed: the system's, and containers boot it.
        shutil.rmtree(user)
        d.restart()
        assert api(d, "/info")["ArcaGuest"]["Init"]["Dir"] == system
        c = d.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
        pinned = json.loads(d.docker("inspect", c).stdout)[0]["ArcaGuest"]
        assert pinned["Init"]["Dir"] == system, pinned
        d.docker("rm", "-f", c)
        # A tampered initramfs (its bytes no longer its digest): skipped too.
        with open(os.path.join(system, "index.json")) as f:
            layer_of = json.load(f)["manifests"][0]["digest"][7:]
        with open(os.path.join(system, "blobs/sha256", layer_of)) as f:
            layer = json.load(f)["layers"][0]["digest"][7:]
        with open(os.path.join(system, "blobs/sha256", layer), "r+b") as f:
            f.write(b"X")
        d.restart()
        assert os.path.samefile(api(d, "/info")["ArcaGuest"]["Init"]["Dir"], built)
        assert "its content's digest is" in d.log()
        assert d.docker("run", "--rm", "busybox", "echo", "booted").stdout == "booted\n"
    finally:
        left = d.stop()
        assert not left
