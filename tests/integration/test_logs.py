"""Log options against arcad: json-file rotation, the none driver, slow followers."""
import json
import os
import socket
import subprocess
import time


def numbers(text):
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith("line ")]


def wait_exit(arcad, name):
    arcad.docker("wait", name)


def test_json_file_rotation(arcad):
    # ~30 KB of numbered lines into 1 KiB files, 3 kept.
    arcad.docker("run", "-d", "--name", "rot", "--log-opt", "max-size=1k", "--log-opt",
                 "max-file=3", "busybox", "sh", "-c",
                 "i=0; while [ $i -lt 1500 ]; do echo \"line $i\"; i=$((i+1)); done")
    follower = subprocess.Popen(["docker", "logs", "-f", "rot"], env=arcad.env,
                                stdout=subprocess.PIPE, text=True)
    wait_exit(arcad, "rot")
    out, _ = follower.communicate(timeout=60)
    kept = numbers(arcad.docker("logs", "rot").stdout)
    # What is kept is the newest lines, in order, without a gap, ending with the last.
    assert kept and kept[-1] == 1499
    assert kept == list(range(kept[0], 1500))
    assert len(kept) < 300  # three files of 1 KiB, not the 1500 lines
    info = json.loads(arcad.docker("inspect", "rot").stdout)[0]
    log = info["LogPath"]
    assert os.path.getsize(log) <= 1024
    assert os.path.exists(log + ".1") and os.path.exists(log + ".2")
    assert not os.path.exists(log + ".3")
    # tail reads across the files (a file holds about 12 of these lines).
    assert numbers(arcad.docker("logs", "--tail", "20", "rot").stdout) == list(range(1480, 1500))
    assert numbers(arcad.docker("logs", "--tail", "1000", "rot").stdout) == kept
    # A follower that keeps up sees every line across the rotations, which files kept only
    # the newest of.
    seen = numbers(out)
    assert seen == list(range(seen[0], 1500)) and len(seen) >= len(kept)
    arcad.docker("rm", "rot")


def test_log_driver_none_and_bad_options(arcad):
    r = arcad.docker("run", "--rm", "--log-driver", "none", "busybox", "echo", "attached")
    assert r.stdout == "attached\n"  # attach still streams
    arcad.docker("run", "-d", "--name", "quiet", "--log-driver", "none", "busybox", "echo", "x")
    arcad.docker("wait", "quiet")
    r = arcad.docker("logs", "quiet", check=False)
    assert r.returncode != 0 and "does not support reading" in r.stderr
    assert json.loads(arcad.docker("inspect", "quiet").stdout)[0]["LogPath"] == ""
    arcad.docker("rm", "quiet")
    for opts, msg in ((["--log-driver", "syslog"], "logging driver syslog is not supported"),
                      (["--log-opt", "max-file=0"], "max-file cannot be less than 1"),
                      (["--log-opt", "max-size=lots"], "invalid size"),
                      (["--log-opt", "colour=red"], "unknown log opt 'colour'")):
        r = arcad.docker("create", *opts, "busybox", "true", check=False)
        assert r.returncode != 0 and msg in r.stderr, (opts, r.stderr)
    assert arcad.docker("ps", "-aq").stdout == ""


def test_slow_follower_costs_the_daemon_nothing(arcad):
    """A logs -f client that does not read: the container keeps running and arcad's memory
    stays flat, because followers read the log file, not the live stream."""
    arcad.docker("run", "-d", "--name", "chatty", "busybox", "sh", "-c",
                 "yes 0123456789012345678901234567890123456789012345678901234567890123456789"
                 " | head -c 60000000; sleep 1000")
    s = socket.socket(socket.AF_UNIX)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(arcad.sock)
    s.sendall(b"GET /containers/chatty/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: d\r\n\r\n")
    time.sleep(1)

    def log_size():
        return os.path.getsize(json.loads(arcad.docker("inspect", "chatty").stdout)[0]["LogPath"])

    deadline = time.time() + 240
    while log_size() < 60_000_000 * 1.5 and time.time() < deadline:  # json adds ~40%
        time.sleep(1)
    assert log_size() >= 60_000_000 * 1.5, "the container was held back by the slow reader"
    with open(f"/proc/{arcad.proc.pid}/status") as f:
        rss_kib = int(next(line for line in f if line.startswith("VmRSS:")).split()[1])
    # (A sanitizer build keeps freed memory in quarantine: only the release build's RSS
    # means anything here.)
    if "asan" not in os.environ.get("ARCA_BUILD_DIR", ""):
        assert rss_kib < 100 * 1024, f"arcad grew to {rss_kib} KiB"
    s.close()
    arcad.docker("rm", "-f", "chatty")
