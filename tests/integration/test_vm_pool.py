"""The pool of booted VMs that container starts claim (docs/vm-pool.md, issue 16)."""
import json
import os
import re
import time

import pytest

from daemon import Daemon, checked, qemu_pids


def pool_row(d):
    info = json.loads(d.docker("info", "--format", "{{json .DriverStatus}}").stdout)
    return dict(info)["VM pool"]


def wait_ready(d, n, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = pool_row(d)
        if row.startswith(f"{n} ready"):
            return row
        time.sleep(0.3)
    raise AssertionError(f"the pool did not get {n} ready VMs: {row}")


def pool_vm_dirs(d):
    return sorted(n for n in os.listdir(d.run_dir) if n.startswith("pool-"))


@pytest.fixture
def pooled(build_dir, kernel):
    """An arcad that keeps two booted VMs."""
    d = Daemon(build_dir, kernel)
    d.pool_size = 2
    with checked(d) as d:
        yield d


def test_a_start_claims_a_pooled_vm_and_the_pool_refills(pooled):
    """docker run takes a booted VM (its run directory is the pool's), the container
    gets its hostname, disks and network as on a cold start, and the pool boots a
    replacement."""
    assert "up to 2 VMs" in wait_ready(pooled, 2)
    before = pool_vm_dirs(pooled)
    cid = pooled.docker("run", "-d", "--hostname", "pooled-one", "busybox", "sleep",
                        "1000").stdout.strip()
    try:
        state = json.loads(pooled.docker("inspect", cid).stdout)[0]
        vm_dirs = pool_vm_dirs(pooled)
        assert not os.path.exists(os.path.join(pooled.run_dir, cid)), "it booted a VM"
        out = pooled.docker("exec", cid, "sh", "-c",
                            "hostname; cat /etc/hostname; mount | grep ' / '; "
                            "ip -o -4 addr show eth0").stdout
        assert out.splitlines()[0] == "pooled-one", out
        assert out.splitlines()[1] == "pooled-one", out
        assert "overlay" in out, out
        ip = state["NetworkSettings"]["IPAddress"]
        assert ip and ip in out, out
        # The writable layer is its disk: what it writes survives a restart (cold).
        pooled.docker("exec", cid, "sh", "-c", "echo kept > /f; sync")
        wait_ready(pooled, 2)
        now = pool_vm_dirs(pooled)
        assert len(now) == 3 and len(set(now) - set(before)) == 1, (before, now)
        # A restart boots it again, cold or pooled: its writable disk goes along.
        pooled.docker("restart", "-t", "1", cid)
        assert pooled.docker("exec", cid, "cat", "/f").stdout == "kept\n"
    finally:
        pooled.docker("rm", "-f", cid)
    assert len(pool_vm_dirs(pooled)) == 2


def test_starts_outside_the_pool_class_boot_cold(pooled):
    """Another memory size, --network none (a pooled VM has a NIC) or a bind mount
    (a share) boot a VM of their own, named after the container."""
    wait_ready(pooled, 2)
    before = pool_vm_dirs(pooled)
    for opts in (["-m", "256m"], ["--network", "none"], ["-v", f"{pooled.dir}:/h"]):
        cid = pooled.docker("run", "-d", *opts, "busybox", "sleep", "1000").stdout.strip()
        try:
            assert os.path.isdir(os.path.join(pooled.run_dir, cid)), opts
            assert pool_vm_dirs(pooled) == before, opts
        finally:
            pooled.docker("rm", "-f", cid)


def test_a_disk_a_vm_had_stays_the_containers_own(pooled, tmp_path):
    """A pooled VM boots with an empty writable disk mounted ahead, which becomes the
    container's only if no VM had the container's own disk yet: a container that got a
    file by docker cp before its first start keeps its disk (and the file) when it claims
    a pooled VM. Its directory goes at once on removal, and its disk soon after."""
    wait_ready(pooled, 2)
    src = tmp_path / "copied"
    src.write_text("from the host\n")
    cid = pooled.docker("create", "busybox", "sleep", "1000").stdout.strip()
    cdir = os.path.join(pooled.root, "containers", cid)
    try:
        pooled.docker("cp", str(src), f"{cid}:/copied")
        pooled.docker("start", cid)
        assert not os.path.exists(os.path.join(pooled.run_dir, cid)), "it booted a VM"
        assert pooled.docker("exec", cid, "cat", "/copied").stdout == "from the host\n"
        pooled.docker("exec", cid, "sh", "-c", "echo written > /w; sync")
        pooled.docker("stop", "-t", "1", cid)
        pooled.docker("start", cid)
        out = pooled.docker("exec", cid, "cat", "/copied", "/w").stdout
        assert out == "from the host\nwritten\n", out
    finally:
        pooled.docker("rm", "-f", cid)
    assert not os.path.exists(cdir)
    trash = os.path.join(pooled.root, "trash")
    deadline = time.time() + 10
    while os.listdir(trash) and time.time() < deadline:
        time.sleep(0.1)
    assert os.listdir(trash) == []


def test_a_pooled_container_gets_each_network_as_its_link(pooled):
    """A pooled VM's guest made the usual first link (eth0) ahead; a container on two
    networks gets eth0 and eth1 with their addresses, and no other link."""
    wait_ready(pooled, 2)
    nets = ["pool-n1", "pool-n2"]
    for n in nets:
        pooled.docker("network", "create", n)
    cid = None
    try:
        cid = pooled.docker("create", "--network", nets[0], "busybox", "sleep",
                            "1000").stdout.strip()
        pooled.docker("network", "connect", nets[1], cid)
        pooled.docker("start", cid)
        assert not os.path.exists(os.path.join(pooled.run_dir, cid)), "it booted a VM"
        state = json.loads(pooled.docker("inspect", cid).stdout)[0]
        links = pooled.docker("exec", cid, "sh", "-c",
                              "ls /sys/class/net | sort | tr '\\n' ' '").stdout
        assert links.split() == ["eth0", "eth1", "lo"], links
        for n in nets:
            ep = state["NetworkSettings"]["Networks"][n]
            out = pooled.docker("exec", cid, "ip", "-o", "-4", "addr").stdout
            assert f"{ep['IPAddress']}/" in out, (n, out)
        mac = state["NetworkSettings"]["Networks"][nets[0]]["MacAddress"]
        out = pooled.docker("exec", cid, "cat", "/sys/class/net/eth0/address").stdout
        assert out.strip() == mac
    finally:
        if cid:
            pooled.docker("rm", "-f", cid)
        for n in nets:
            pooled.docker("network", "rm", n)


def test_pooled_vms_share_no_randomness_or_mac(pooled):
    """Every pooled VM booted on its own: two containers started from the pool see
    different boot ids, UUID sequences and NIC MACs."""
    wait_ready(pooled, 2)
    cmd = ("cat /proc/sys/kernel/random/boot_id; for i in 1 2 3; do "
           "cat /proc/sys/kernel/random/uuid; done; "
           "ip -o link show eth0 | grep -o 'ether [0-9a-f:]*' | cut -d' ' -f2")
    cids, seen = [], []
    try:
        for _ in range(2):
            cids.append(pooled.docker("run", "-d", "busybox", "sleep", "1000").stdout.strip())
            assert not os.path.exists(os.path.join(pooled.run_dir, cids[-1]))
        for cid in cids:
            seen.append(pooled.docker("exec", cid, "sh", "-c", cmd).stdout.split())
        assert len(seen[0]) == 5 and len(seen[1]) == 5
        for a, b in zip(*seen):
            assert a != b, seen
        # ... and the NICs of their VMs (the trunk) have MACs of their own.
        macs = []
        for pid in qemu_pids(os.path.join(pooled.run_dir, "pool-")):
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                macs += re.findall(r"mac=([0-9a-f:]{17})", f.read().decode())
        assert len(macs) >= 2 and len(set(macs)) == len(macs), macs
    finally:
        for cid in cids:
            pooled.docker("rm", "-f", cid)


def test_a_killed_daemon_leaves_no_pooled_vm_behind(pooled):
    """kill -9 arcad with pooled VMs: the next arcad ends them (and removes their run
    directories and TAPs), keeps the container that had claimed one running, and boots
    a pool of its own."""
    wait_ready(pooled, 2)
    cid = pooled.docker("run", "-d", "busybox", "sleep", "1000").stdout.strip()
    try:
        wait_ready(pooled, 2)
        claimed = json.loads(pooled.docker("inspect", cid).stdout)[0]
        old = set(pool_vm_dirs(pooled))
        old_pids = set(qemu_pids(os.path.join(pooled.run_dir, "pool-")))
        assert len(old) == 3 and len(old_pids) == 3
        pooled.restart(hard=True)
        assert pooled.docker("exec", cid, "echo", "alive").stdout == "alive\n"
        kept = set(qemu_pids(os.path.join(pooled.run_dir, "pool-"))) & old_pids
        assert len(kept) == 1, "only the claimed VM outlives its daemon"
        assert json.loads(pooled.docker("inspect", cid).stdout)[0]["State"]["Running"]
        wait_ready(pooled, 2)
        now = set(pool_vm_dirs(pooled))
        assert len(now & old) == 1 and len(now) == 3, (old, now)
        links = pooled.ns(["ip", "-o", "link", "show"]).stdout
        taps = [l for l in links.splitlines() if ": avp" in l]
        assert len(taps) == 2, taps  # the new pool's, the claimed one renamed
        assert claimed["State"]["Pid"]
        # The old pool's disks went with its VMs; the claimed one is the container's.
        spares = os.listdir(os.path.join(pooled.root, "spare-disks"))
        assert sorted(n for n in spares if n.endswith(".rw")) == sorted(
            f"{n}.rw" for n in now - old), spares
        pooled.docker("exec", cid, "sh", "-c", "echo after > /a; sync")
        assert pooled.docker("exec", cid, "cat", "/a").stdout == "after\n"
    finally:
        pooled.docker("rm", "-f", cid)
