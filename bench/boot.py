#!/usr/bin/env python3
"""bench/boot: boot-to-first-RPC latency of `arca vm run -- true`, side by side
in one run with the limit: a bare QEMU boot of the same kernel, same machine
and accelerator, with a trivial init that powers off at once.

Prints medians, ratios, the idle host RSS of one VM and the size of arca-init.
Figures only; nothing here asserts a speed.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from benchlib import find_kernel, p90, rss_kib  # noqa: E402


def bare_initramfs(tmp):
    init = os.path.join(tmp, "poweroff-init")
    subprocess.run(["musl-gcc", "-static", "-O2", "-s", "-o", init,
                    os.path.join(ROOT, "bench/poweroff-init.c")], check=True)
    out = os.path.join(tmp, "bare.cpio")
    subprocess.run([sys.executable, os.path.join(ROOT, "guest-image/mkinitramfs.py"),
                    "--init", init, "--busybox", "/nonexistent", "--output", out],
                   check=True, capture_output=True)
    return out


def bare_boot(kernel, initramfs, accel_name):
    kvm = accel_name == "kvm"
    cmd = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
           "-M", "microvm,acpi=off,pit=on,pic=on,rtc=on,isa-serial=on",
           "-accel", "kvm" if kvm else "tcg", "-cpu", "host" if kvm else "max",
           "-m", "256", "-smp", "1", "-kernel", kernel, "-initrd", initramfs,
           "-append", "console=ttyS0 quiet reboot=t panic=-1 pci=off", "-serial", "null"]
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.monotonic() - t) * 1000


def rootfs_set(arca, env, tmp):
    """A guest set with a Debian minbase root filesystem (arca guest build, docs/guest-assets.md)."""
    config = os.path.join(tmp, "guest.json")
    with open(config, "w") as f:
        f.write('{"kernel": {"source": "arca"}, "rootfs": {"packages": []}}')
    out = os.path.join(tmp, "rootfs-set")
    subprocess.run([arca, "guest", "build", "--config", config, "--output", out], check=True,
                   env=dict(env, ARCA_GUEST_TOOLS=os.path.join(ROOT, "guest-image")),
                   capture_output=True)
    return out


def arca_boot(arca, env, *extra):
    r = subprocess.run([arca, "vm", "run", "--timing", *extra, "--", "true"], env=env,
                       capture_output=True, text=True, check=True)
    m = re.search(r"spawn_to_first_rpc_ms=([\d.]+) guest_kernel_to_init_ms=([\d.]+) "
                  r"guest_init_to_ready_ms=([\d.]+) total_ms=([\d.]+) accel=(\w+)", r.stderr)
    return float(m.group(1)), float(m.group(4)), m.group(5), float(m.group(2)), float(m.group(3))


def idle_rss(arca, env):
    p = subprocess.Popen([arca, "vm", "run", "--", "sh", "-c", "echo ready; sleep 60"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    time.sleep(2)
    qemu = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout
    vm = rss_kib(int(qemu.split()[0])) if qemu.split() else 0
    cli = rss_kib(p.pid)
    p.terminate()
    p.wait()
    return vm, cli


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--no-rootfs-set", action="store_true",
                    help="skip the row of a guest set with a Debian root filesystem")
    args = ap.parse_args()

    kernel = find_kernel()
    arca = os.path.join(args.build, "src/cli/arca")
    init = os.path.join(args.build, "src/guest-init/arca-init")
    env = dict(os.environ, ARCA_KERNEL=kernel,
               ARCA_INITRAMFS=os.path.join(args.build, "src/guest-init/arca-initramfs.cpio"))
    tmp = tempfile.mkdtemp(prefix="arca-bench-")
    try:
        bare_cpio = bare_initramfs(tmp)
        guest_set = None if args.no_rootfs_set else rootfs_set(arca, env, tmp)
        first_rpc, total, bare, set_rpc, set_total = [], [], [], [], []
        to_init, to_ready = [], []
        accel_name = "tcg"
        for _ in range(args.runs):  # interleaved, so drift hits every side alike
            f, t, accel_name, k, i = arca_boot(arca, env)
            first_rpc.append(f)
            total.append(t)
            to_init.append(k)
            to_ready.append(i)
            if guest_set:
                f, t, _, _, _ = arca_boot(arca, env, "--guest", guest_set)
                set_rpc.append(f)
                set_total.append(t)
            bare.append(bare_boot(kernel, bare_cpio, accel_name))
        vm_rss, cli_rss = idle_rss(arca, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = statistics.median
    print(f"bench/boot: {args.runs} runs each, interleaved; accel={accel_name}; "
          f"kernel={os.path.realpath(kernel)}")
    print(f"{'measure':<44}{'median ms':>10}{'p90 ms':>10}")
    rows = [("arca vm run -- true: spawn to first RPC", first_rpc),
            ("  of which guest kernel, to init", to_init),
            ("  of which arca-init, to serving", to_ready),
            ("arca vm run -- true: whole command", total),
            ("bare QEMU, trivial init, boot to exit", bare)]
    if set_rpc:
        rows[4:4] = [("--guest (Debian rootfs set): first RPC", set_rpc),
                     ("--guest (Debian rootfs set): whole command", set_total)]
    for name, xs in rows:
        print(f"{name:<44}{med(xs):>10.0f}{p90(xs):>10.0f}")
    print(f"ratio first RPC / bare boot: {med(first_rpc) / med(bare):.2f}")
    print(f"ratio whole command / bare boot: {med(total) / med(bare):.2f}")
    print(f"idle RSS of one VM (QEMU): {vm_rss / 1024:.1f} MiB; arca CLI: {cli_rss / 1024:.1f} MiB")
    print(f"arca-init static binary: {os.path.getsize(init)} bytes")


if __name__ == "__main__":
    main()
