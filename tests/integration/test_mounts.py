"""Bind mounts and volumes inside containers (virtiofsd, one per VM that has mounts):
host files cross the VM wall with their owners, :ro holds even against root in the guest,
a named volume outlives its containers and is shared between them, tmpfs takes its size
and mode, and anonymous volumes go with docker rm -v."""
import json
import os
import subprocess

import pytest


@pytest.fixture
def hostdir(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    (d / "f").write_text("from the host\n")
    os.chmod(tmp_path, 0o755)
    return d


def test_bind_mount_both_ways(arcad, hostdir):
    out = arcad.docker("run", "--rm", "-v", f"{hostdir}:/h", "busybox", "sh", "-c",
                       "cat /h/f; echo inside > /h/new; mkdir /h/d; "
                       "echo owned > /h/d/o; chown 1234:4321 /h/d/o").stdout
    assert out == "from the host\n"
    assert (hostdir / "new").read_text() == "inside\n"
    st = os.stat(hostdir / "d" / "o")
    assert (st.st_uid, st.st_gid) == (1234, 4321)  # the container's owners, kept
    # A user in the container writes as that user on the host.
    os.chmod(hostdir, 0o777)
    arcad.docker("run", "--rm", "--user", "2000:3000", "-v", f"{hostdir}:/h", "busybox",
                 "sh", "-c", "echo u > /h/byuser")
    st = os.stat(hostdir / "byuser")
    assert (st.st_uid, st.st_gid) == (2000, 3000)
    # The host's files keep their owners: nothing is chowned.
    os.chown(hostdir / "f", 555, 666)
    out = arcad.docker("run", "--rm", "-v", f"{hostdir}:/h", "busybox",
                       "stat", "-c", "%u:%g", "/h/f").stdout
    assert out == "555:666\n"
    assert os.stat(hostdir / "f").st_uid == 555


def test_read_only_is_enforced_by_the_host(arcad, hostdir):
    r = arcad.docker("run", "--rm", "-v", f"{hostdir}:/h:ro", "busybox", "sh", "-c",
                     "cat /h/f; mount -o remount,rw /h 2>/dev/null; "
                     "echo changed > /h/f; echo x > /h/new", check=False)
    assert r.stdout == "from the host\n"
    assert r.returncode != 0 and "Read-only file system" in r.stderr, r.stderr
    assert (hostdir / "f").read_text() == "from the host\n"
    assert not (hostdir / "new").exists()
    info = None
    arcad.docker("create", "--name", "ro", "-v", f"{hostdir}:/h:ro", "busybox", "true")
    try:
        info = json.loads(arcad.docker("inspect", "ro").stdout)[0]
    finally:
        arcad.docker("rm", "ro")
    assert info["Mounts"] == [{"Type": "bind", "Source": str(hostdir), "Destination": "/h",
                               "Mode": "ro", "RW": False, "Propagation": "rprivate"}]


def test_single_file_bind_and_a_missing_source(arcad, tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text("worker_processes 1;\n")
    os.chmod(tmp_path, 0o755)
    out = arcad.docker("run", "--rm", "-v", f"{conf}:/etc/nginx/nginx.conf:ro", "busybox",
                       "cat", "/etc/nginx/nginx.conf").stdout
    assert out == "worker_processes 1;\n"
    # -v makes a missing host directory, as dockerd does; --mount refuses it.
    made = tmp_path / "made" / "here"
    arcad.docker("run", "--rm", "-v", f"{made}:/m", "busybox", "touch", "/m/x")
    assert (made / "x").exists()
    r = arcad.docker("run", "--rm", "--mount", f"type=bind,src={tmp_path}/nope,dst=/m",
                     "busybox", "true", check=False)
    assert r.returncode != 0 and "bind source path does not exist" in r.stderr
    r = arcad.docker("run", "--rm", "-v", "rel:ative:/x:/y", "busybox", "true", check=False)
    assert r.returncode != 0


def test_named_volume_is_shared_and_outlives_containers(arcad):
    arcad.docker("volume", "create", "data")
    arcad.docker("run", "--rm", "-v", "data:/d", "busybox", "sh", "-c",
                 "echo x > /d/f; sync")
    assert arcad.docker("run", "--rm", "-v", "data:/d:ro", "busybox", "cat",
                        "/d/f").stdout == "x\n"
    arcad.docker("create", "--name", "user", "-v", "data:/d", "busybox", "true")
    r = arcad.docker("volume", "rm", "data", check=False)
    assert r.returncode != 0 and "volume is in use" in r.stderr
    mounts = json.loads(arcad.docker("inspect", "user").stdout)[0]["Mounts"]
    assert mounts[0]["Type"] == "volume" and mounts[0]["Name"] == "data"
    assert mounts[0]["Destination"] == "/d" and mounts[0]["RW"] is True
    arcad.docker("rm", "user")
    arcad.docker("volume", "rm", "data")
    # A volume named by -v that does not exist yet is made.
    arcad.docker("run", "--rm", "-v", "fresh:/f", "busybox", "true")
    assert arcad.docker("volume", "ls", "-q").stdout == "fresh\n"
    arcad.docker("volume", "rm", "fresh")


def test_tmpfs_mount_size_and_mode(arcad):
    out = arcad.docker("run", "--rm", "--mount",
                       "type=tmpfs,dst=/t,tmpfs-size=1048576,tmpfs-mode=1770", "busybox",
                       "sh", "-c", "stat -c %a /t; df -k /t | tail -1").stdout.split("\n")
    assert out[0] == "1770"
    assert out[1].split()[1] == "1024", out  # 1 MiB in 1k blocks


def test_anonymous_volumes_go_with_rm_v(arcad):
    arcad.docker("run", "--name", "anon", "-v", "/data", "busybox", "sh", "-c",
                 "echo kept > /data/f")
    mounts = json.loads(arcad.docker("inspect", "anon").stdout)[0]["Mounts"]
    assert len(mounts) == 1 and mounts[0]["Type"] == "volume"
    name = mounts[0]["Name"]
    assert len(name) == 64
    assert open(os.path.join(mounts[0]["Source"], "f")).read() == "kept\n"
    # The volume stays while the container does; rm -v takes it along.
    assert name in arcad.docker("volume", "ls", "-q").stdout
    arcad.docker("rm", "-v", "anon")
    assert name not in arcad.docker("volume", "ls", "-q").stdout
    # --rm removes anonymous volumes too, and keeps named ones.
    arcad.docker("run", "--rm", "-v", "/scratch", "-v", "named:/n", "busybox", "true")
    assert arcad.docker("volume", "ls", "-q").stdout == "named\n"
    arcad.docker("volume", "rm", "named")


def test_an_empty_volume_gets_the_images_content(arcad):
    arcad.docker("run", "--name", "seed", "busybox", "sh", "-c",
                 "mkdir -p /data/sub && echo seed > /data/f && echo deep > /data/sub/g && "
                 "chown -R 999:998 /data && chmod 0750 /data/sub")
    arcad.docker("commit", "seed", "seeded:1")
    arcad.docker("rm", "seed")
    out = arcad.docker("run", "--rm", "-v", "seeded:/data", "seeded:1", "sh", "-c",
                       "cat /data/f /data/sub/g; stat -c '%u:%g %a' /data/f /data/sub").stdout
    assert out == "seed\ndeep\n999:998 644\n999:998 750\n", out
    src = json.loads(arcad.docker("volume", "inspect", "seeded").stdout)[0]["Mountpoint"]
    st = os.stat(os.path.join(src, "sub", "g"))
    assert (st.st_uid, st.st_gid) == (999, 998)
    # A volume that holds data keeps it: no copy over it.
    arcad.docker("run", "--rm", "-v", "seeded:/data", "seeded:1", "sh", "-c",
                 "echo mine > /data/f")
    assert arcad.docker("run", "--rm", "-v", "seeded:/data", "seeded:1", "cat",
                        "/data/f").stdout == "mine\n"
    # nocopy: the new volume stays empty.
    assert arcad.docker("run", "--rm", "-v", "bare:/data:nocopy", "seeded:1", "ls", "-A",
                        "/data").stdout == ""
    arcad.docker("volume", "rm", "seeded", "bare")
    arcad.docker("rmi", "seeded:1")


def test_local_driver_options_tmpfs_and_bind(arcad, hostdir):
    arcad.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs",
                 "-o", "o=size=2m", "scratch")
    out = arcad.docker("run", "--rm", "-v", "scratch:/s", "busybox", "sh", "-c",
                       "grep ' /s ' /proc/mounts; df -k /s | tail -1").stdout.splitlines()
    assert out[0].split()[2] == "tmpfs" and out[1].split()[1] == "2048", out
    arcad.docker("volume", "create", "-o", "type=none", "-o", "o=bind",
                 "-o", f"device={hostdir}", "hostvol")
    assert arcad.docker("run", "--rm", "-v", "hostvol:/v", "busybox", "cat",
                        "/v/f").stdout == "from the host\n"
    arcad.docker("volume", "rm", "scratch", "hostvol")
    assert (hostdir / "f").exists()  # removing the volume leaves the device alone


def _vm_pid(arcad, name):
    cid = json.loads(arcad.docker("inspect", name).stdout)[0]["Id"]
    from conftest import qemu_pids_under
    pids = qemu_pids_under(f"arca-{cid}")
    assert len(pids) == 1, pids
    return pids[0]


def _wait_log(arcad, name, text, timeout=60):
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = arcad.docker("logs", name).stdout
        if text in out:
            return out
        time.sleep(0.2)
    raise AssertionError(f"{name} never logged {text!r}: {out!r}")


def test_block_volume_keeps_fsynced_data_across_kill_9(arcad):
    arcad.docker("volume", "create", "-d", "block", "-o", "size=64m", "db")
    vol = json.loads(arcad.docker("volume", "inspect", "db").stdout)[0]
    assert vol["Driver"] == "block" and vol["Options"] == {"size": "64m"}
    assert vol["Mountpoint"].endswith("/volumes/db/disk.img")
    assert os.stat(vol["Mountpoint"]).st_size == 64 << 20
    # A new block volume is empty (no lost+found), so the image's /etc is copied up.
    out = arcad.docker("run", "--rm", "-v", "db:/etc", "busybox", "sh", "-c",
                       "grep ' /etc ' /proc/mounts | cut -d' ' -f3; cat /etc/group").stdout
    assert out.splitlines()[0] == "ext4" and "nobody:x:65534:" in out, out
    arcad.docker("run", "-d", "--name", "writer", "-v", "db:/d", "busybox", "sh", "-c",
                 "dd if=/dev/urandom of=/d/f bs=64k count=16 conv=fsync 2>/dev/null && "
                 "md5sum /d/f && echo written && sleep 600")
    before = _wait_log(arcad, "writer", "written").split()[0]
    # One running container at a time.
    r = arcad.docker("run", "--rm", "-v", "db:/d", "busybox", "true", check=False)
    assert r.returncode != 0 and "in use by container writer" in r.stderr, r.stderr
    # A stopped container that references it still gets its maintenance VM (cp, diff),
    # without the volume the writer holds: a cp into that volume is refused, not
    # written to the layer under it.
    arcad.docker("create", "--name", "other", "-v", "db:/d", "busybox", "true")
    assert "root:x:0:0" in arcad.docker("cp", "other:/etc/passwd", "-").stdout
    r = arcad.docker("cp", "other:/d/f", "-", check=False)
    assert r.returncode != 0 and "another running container holds" in r.stderr, r.stderr
    arcad.docker("rm", "other")
    os.kill(_vm_pid(arcad, "writer"), 9)
    arcad.docker("wait", "writer")
    after = arcad.docker("run", "--rm", "-v", "db:/d", "busybox", "md5sum",
                         "/d/f").stdout.split()[0]
    assert after == before
    arcad.docker("rm", "writer")
    arcad.docker("volume", "rm", "db")
    assert not os.path.exists(vol["Mountpoint"])
    r = arcad.docker("volume", "create", "-d", "block", "-o", "size=1k", "tiny", check=False)
    assert r.returncode != 0 and "invalid size" in r.stderr


def test_volumes_from_and_volume_events(arcad, hostdir):
    import time
    since = str(int(time.time()))
    arcad.docker("run", "--name", "src", "-v", "shared:/s", "-v", f"{hostdir}:/h",
                 "-v", "/anon", "busybox", "sh", "-c", "echo from-src > /s/f")
    out = arcad.docker("run", "--rm", "--volumes-from", "src", "busybox", "sh", "-c",
                       "cat /s/f /h/f; echo more > /anon/g; ls /anon").stdout
    assert out == "from-src\nfrom the host\ng\n"
    r = arcad.docker("run", "--rm", "--volumes-from", "src:ro", "busybox", "sh", "-c",
                     "cat /s/f; echo no > /s/f", check=False)
    assert r.stdout == "from-src\n" and "Read-only file system" in r.stderr, r.stderr
    arcad.docker("create", "--name", "dst", "--volumes-from", "src:ro",
                 "-v", "own:/s", "busybox", "true")
    mounts = {m["Destination"]: m for m in
              json.loads(arcad.docker("inspect", "dst").stdout)[0]["Mounts"]}
    assert mounts["/s"]["Name"] == "own" and mounts["/s"]["RW"] is True  # its own wins
    assert mounts["/h"]["Source"] == str(hostdir) and mounts["/h"]["RW"] is False
    assert mounts["/anon"]["RW"] is False
    r = arcad.docker("create", "--pull", "never", "--volumes-from", "nosuch", "busybox",
                     check=False)
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr
    until = str(int(time.time()) + 1)
    events = [json.loads(line) for line in arcad.docker(
        "events", "--since", since, "--until", until, "--filter", "type=volume",
        "--format", "{{json .}}").stdout.splitlines()]
    mount = [e for e in events if e["Action"] == "mount" and e["Actor"]["ID"] == "shared"]
    assert mount and mount[0]["Actor"]["Attributes"]["destination"] == "/s"
    assert mount[0]["Actor"]["Attributes"]["driver"] == "local"
    assert any(e["Action"] == "unmount" and e["Actor"]["ID"] == "shared" for e in events)
    assert not any(e["Actor"]["ID"] == str(hostdir) for e in events)  # binds are no volumes
    arcad.docker("rm", "-v", "dst", "src")
    arcad.docker("volume", "rm", "shared", "own")
    assert arcad.docker("volume", "ls", "-q").stdout == ""


def test_image_volume_is_an_anonymous_volume(arcad):
    arcad.docker("run", "--name", "seed", "busybox", "sh", "-c",
                 "mkdir /data && echo seeded > /data/f && chown 999 /data/f")
    arcad.docker("commit", "-c", "VOLUME /data", "seed", "withvol:1")
    arcad.docker("rm", "seed")
    r = arcad.docker("run", "--name", "user", "withvol:1", "sh", "-c",
                     "stat -c %u /data/f; cat /data/f; echo new > /data/g")
    assert r.stdout == "999\nseeded\n" and "VOLUME" not in r.stderr, r.stderr
    mounts = json.loads(arcad.docker("inspect", "user").stdout)[0]["Mounts"]
    assert len(mounts) == 1 and mounts[0]["Destination"] == "/data"
    assert open(os.path.join(mounts[0]["Source"], "g")).read() == "new\n"
    arcad.docker("rm", "-v", "user")
    assert arcad.docker("volume", "ls", "-q").stdout == ""
    # A create that fails after its anonymous volumes were made leaves none behind.
    r = arcad.docker("create", "--network", "nosuchnet", "withvol:1", check=False)
    assert r.returncode != 0
    assert arcad.docker("volume", "ls", "-q").stdout == ""
    arcad.docker("rmi", "withvol:1")


def test_binds_are_recursive_and_ro_holds_below(arcad, hostdir):
    sub = hostdir / "sub"
    sub.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(sub)], check=True)
    try:
        (sub / "below").write_text("in a mount below\n")
        out = arcad.docker("run", "--rm", "-v", f"{hostdir}:/h", "busybox", "sh", "-c",
                           "cat /h/sub/below; echo w > /h/sub/new").stdout
        assert out == "in a mount below\n"
        assert (sub / "new").read_text() == "w\n"
        r = arcad.docker("run", "--rm", "-v", f"{hostdir}:/h:ro", "busybox", "sh", "-c",
                         "cat /h/sub/below; echo no > /h/sub/other", check=False)
        assert r.stdout == "in a mount below\n" and "Read-only file system" in r.stderr
        assert not (sub / "other").exists()
    finally:
        subprocess.run(["umount", "-l", str(sub)], check=False)


def test_cp_reaches_a_running_containers_mounts(arcad, hostdir, tmp_path):
    local = tmp_path / "payload"
    local.write_text("copied in\n")
    arcad.docker("run", "-d", "--name", "live", "-v", f"{hostdir}:/h", "-v", "cpvol:/v",
                 "busybox", "sleep", "600")
    arcad.docker("cp", str(local), "live:/h/payload")
    arcad.docker("cp", str(local), "live:/v/payload")
    assert (hostdir / "payload").read_text() == "copied in\n"
    src = json.loads(arcad.docker("volume", "inspect", "cpvol").stdout)[0]["Mountpoint"]
    assert open(os.path.join(src, "payload")).read() == "copied in\n"
    assert "from the host" in arcad.docker("cp", "live:/h/f", "-").stdout
    arcad.docker("rm", "-f", "live")
    # Stopped, the maintenance VM has its binds and volumes too: cp reads and writes them,
    # a cp of a parent of a mount point goes through it, and other paths still copy.
    arcad.docker("create", "--name", "cold", "-v", "cpvol:/v", "-v", f"{hostdir}:/h:ro",
                 "busybox", "true")
    arcad.docker("cp", str(local), "cold:/v/again")
    assert open(os.path.join(src, "again")).read() == "copied in\n"
    assert arcad.docker("cp", "cold:/h/f", "-").returncode == 0
    arcad.docker("cp", "cold:/v", str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path / "out")) == ["again", "payload"]
    # :ro holds for cp as for the container (dockerd: "mounted volume is marked read-only").
    r = arcad.docker("cp", str(local), "cold:/h/nope", check=False)
    assert r.returncode != 0 and not (hostdir / "nope").exists(), r.stderr
    arcad.docker("cp", str(local), "cold:/payload")
    arcad.docker("rm", "cold")
    arcad.docker("volume", "rm", "cpvol")


def test_rm_keeps_what_volumes_got_without_a_sync(arcad):
    """A --rm container's VM is ended at once when its process exits (docs/vm-pool.md),
    unless it writes through a volume: what it wrote there without a sync stays, in a
    block volume as in a shared one."""
    arcad.docker("volume", "create", "-d", "block", "-o", "size=64m", "blk")
    arcad.docker("volume", "create", "shared")
    try:
        for vol in ("blk", "shared"):
            arcad.docker("run", "--rm", "-v", f"{vol}:/d", "busybox", "sh", "-c",
                         "echo unsynced > /d/f")
            assert arcad.docker("run", "--rm", "-v", f"{vol}:/d", "busybox", "cat",
                                "/d/f").stdout == "unsynced\n", vol
    finally:
        arcad.docker("volume", "rm", "blk", "shared")
