"""docker diff, export and cp against arcad (issue: state that survives, filesystem).

The expected diff is what dockerd (20.10, Debian's docker.io) printed for the same
commands on the same busybox image; it lists entries in no particular order, so the
comparison is of sets.
"""
import io
import os
import subprocess
import tarfile

SCRIPT = "echo hello > /tmp/new; rm /bin/vi; mkdir -p /data/sub; echo x > /data/sub/f"
DOCKERD_DIFF = {"A /data", "A /data/sub", "A /data/sub/f", "C /tmp", "A /tmp/new", "C /bin",
                "D /bin/vi"}


def export_names(arcad, name):
    data = subprocess.run(["docker", "export", name], env=arcad.env, capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name.rstrip("/"): m for m in t.getmembers()}


def test_diff_and_export(arcad):
    arcad.docker("run", "-d", "--name", "fsr", "busybox", "sh", "-c", SCRIPT + "; sleep 1000")
    arcad.docker("exec", "fsr", "true")  # the script ran before exec could
    assert set(arcad.docker("diff", "fsr").stdout.splitlines()) == DOCKERD_DIFF
    names = export_names(arcad, "fsr")
    assert "tmp/new" in names and "data/sub/f" in names and "bin/vi" not in names
    assert "bin/busybox" in names and not any(n.startswith("./") for n in names)
    assert not any(n.startswith("proc/") or n.startswith("sys/") for n in names)
    assert names["tmp/new"].size == 6
    # dockerd's init layer is part of an export, as with dockerd: /.dockerenv, /etc/mtab...
    assert ".dockerenv" in names and names["etc/mtab"].issym()
    assert names["etc/mtab"].linkname == "/proc/mounts" and "dev/console" in names
    # The same on the stopped container, through a maintenance VM.
    arcad.docker("stop", "-t", "1", "fsr")
    assert set(arcad.docker("diff", "fsr").stdout.splitlines()) == DOCKERD_DIFF
    assert set(export_names(arcad, "fsr")) == set(names)
    arcad.docker("rm", "fsr")  # waits for the maintenance VM, if it is still going


def test_cp_both_ways_running_and_stopped(arcad, tmp_path):
    arcad.docker("run", "-d", "--name", "cpr", "busybox", "sh", "-c",
                 "mkdir -p /srv/d && echo inside > /srv/d/f && ln -s d/f /srv/link;"
                 " sleep 1000")
    arcad.docker("exec", "cpr", "true")
    out = tmp_path / "out"
    out.mkdir()
    arcad.docker("cp", "cpr:/srv/d/f", str(out / "f"))
    assert (out / "f").read_text() == "inside\n"
    arcad.docker("cp", "cpr:/srv/d", str(out / "d"))
    assert (out / "d" / "f").read_text() == "inside\n"
    arcad.docker("cp", "cpr:/srv/link", str(out / "link"))
    assert os.readlink(out / "link") == "d/f"  # the link itself, as docker cp copies it
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("from host\n")
    (src / "tree").mkdir()
    (src / "tree" / "b").write_text("b\n")
    arcad.docker("cp", str(src / "a.txt"), "cpr:/srv/")
    arcad.docker("cp", str(src / "tree"), "cpr:/srv/tree")
    assert arcad.docker("exec", "cpr", "cat", "/srv/a.txt", "/srv/tree/b").stdout == \
        "from host\nb\n"
    # Files copied in belong to root, as with dockerd (without -a).
    assert arcad.docker("exec", "cpr", "stat", "-c", "%u:%g", "/srv/a.txt").stdout == "0:0\n"
    r = arcad.docker("cp", "cpr:/nope", str(out / "x"), check=False)
    assert r.returncode != 0 and "Could not find the file /nope" in r.stderr
    r = arcad.docker("cp", str(src / "a.txt"), "cpr:/nope/dir/", check=False)
    assert r.returncode != 0
    # A symlink escaping the root resolves inside it.
    arcad.docker("exec", "cpr", "ln", "-s", "/../../../etc", "/srv/esc")
    arcad.docker("cp", "cpr:/srv/esc/hostname", str(out / "hn"))
    assert (out / "hn").read_text().strip() == \
        arcad.docker("exec", "cpr", "cat", "/etc/hostname").stdout.strip()
    # Into and out of a stopped container.
    arcad.docker("stop", "-t", "1", "cpr")
    arcad.docker("cp", str(src / "a.txt"), "cpr:/srv/stopped.txt")
    arcad.docker("cp", "cpr:/srv/stopped.txt", str(out / "back.txt"))
    assert (out / "back.txt").read_text() == "from host\n"
    arcad.docker("start", "cpr")  # waits for the maintenance VM, if it is still going
    assert arcad.docker("exec", "cpr", "cat", "/srv/stopped.txt").stdout == "from host\n"
    arcad.docker("rm", "-f", "cpr")
