"""Bind mounts and volumes inside containers (virtiofsd, one per VM that has mounts):
host files cross the VM wall with their owners, :ro holds even against root in the guest,
a named volume outlives its containers and is shared between them, tmpfs takes its size
and mode, and anonymous volumes go with docker rm -v."""
import json
import os

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
