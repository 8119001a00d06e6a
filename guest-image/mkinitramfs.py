#!/usr/bin/env python3
"""Build Arca's guest initramfs: arca-init as /init plus a static busybox.

Writes a "newc" cpio archive directly, so no privileges are needed for the
device nodes, and the output is reproducible: every entry has uid/gid 0,
mtime 0 and a sequential inode number, in sorted order.
"""
import argparse
import os
import stat
import subprocess
import sys

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"


class Cpio:
    def __init__(self, out):
        self.out = out
        self.ino = 0
        self.written = 0

    def _write(self, b):
        self.out.write(b)
        self.written += len(b)

    def _pad(self):
        if self.written % 4:
            self._write(b"\0" * (4 - self.written % 4))

    def entry(self, name, mode, data=b"", rdev=(0, 0)):
        self.ino += 1
        nameb = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data),
                  0, 0, rdev[0], rdev[1], len(nameb), 0]
        self._write(b"070701" + b"".join(b"%08X" % f for f in fields))
        self._write(nameb)
        self._pad()
        self._write(data)
        self._pad()

    def trailer(self):
        self.ino = 0
        self.entry("TRAILER!!!", 0)


def busybox_applets(busybox):
    out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True)
    return sorted(line.strip() for line in out.stdout.splitlines() if line.strip())


def module_load_order(modules_dir, names):
    """Module files for names and their dependencies, dependencies first (modules.dep)."""
    deps = {}
    with open(os.path.join(modules_dir, "modules.dep")) as f:
        for line in f:
            mod, _, rest = line.partition(":")
            deps[mod] = rest.split()

    def key(path):
        return os.path.basename(path).split(".ko")[0].replace("-", "_")

    by_name = {key(m): m for m in deps}
    order, seen = [], set()

    def visit(mod):
        if mod in seen:
            return
        seen.add(mod)
        for d in deps.get(mod, []):
            visit(d)
        order.append(mod)

    for name in names:
        mod = by_name.get(name.replace("-", "_"))
        if mod is None:
            sys.exit(f"mkinitramfs: module {name} not in {modules_dir}/modules.dep")
        visit(mod)
    return order


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", required=True)
    ap.add_argument("--busybox", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--modules-dir", help="lib/modules/VERSION of a modular kernel")
    ap.add_argument("--module", action="append", default=[],
                    help="a module arca-init loads at boot (with its dependencies)")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="a default environment variable of every process (/etc/arca-env)")
    ap.add_argument("--tree", action="append", default=[], metavar="DIR",
                    help="a tree (unpacked Debian packages) copied in; never over our files")
    ap.add_argument("--file", action="append", default=[], metavar="SRC:DEST",
                    help="one more file, at DEST (relative, e.g. usr/local/bin/strace)")
    args = ap.parse_args()

    dirs = ["bin", "dev", "etc", "mnt", "proc", "root", "run", "sbin", "sys", "tmp",
            "usr", "usr/bin", "usr/sbin", "var"]
    files = {}
    links = {}
    nodes = {"dev/console": (stat.S_IFCHR | 0o600, (5, 1)),
             "dev/null": (stat.S_IFCHR | 0o666, (1, 3))}
    with open(args.init, "rb") as f:
        files["init"] = (0o755, f.read())
    files["etc/passwd"] = (0o644, PASSWD.encode())
    files["etc/group"] = (0o644, GROUP.encode())
    if os.path.exists(args.busybox):
        with open(args.busybox, "rb") as f:
            files["bin/busybox"] = (0o755, f.read())
        for applet in busybox_applets(args.busybox):
            if applet == "bin/busybox" or applet in files:
                continue
            depth = applet.count("/")
            links[applet] = "../" * depth + "bin/busybox" if depth > 1 else "busybox"
            if depth == 1 and not applet.startswith("bin/"):
                links[applet] = "../bin/busybox"
    else:
        print(f"mkinitramfs: {args.busybox} missing: guest has no tools", file=sys.stderr)

    if args.module:
        dirs += ["lib", "lib/modules"]
        load = []
        for mod in module_load_order(args.modules_dir, args.module):
            name = "lib/modules/" + os.path.basename(mod)
            with open(os.path.join(args.modules_dir, mod), "rb") as f:
                files[name] = (0o644, f.read())
            load.append("/" + name)
        files["etc/arca-modules"] = (0o644, ("\n".join(load) + "\n").encode())

    if args.env:
        for e in args.env:
            key, eq, value = e.partition("=")
            if not eq or not key or "\n" in e or "\0" in e:
                sys.exit(f"mkinitramfs: --env {e!r}: KEY=VALUE on one line")
        files["etc/arca-env"] = (0o644, ("\n".join(args.env) + "\n").encode())

    for tree in args.tree:
        for top, subdirs, names in os.walk(tree):
            subdirs.sort()
            rel_top = os.path.relpath(top, tree)
            for name in sorted(subdirs + names):
                path = os.path.join(top, name)
                rel = os.path.normpath(os.path.join(rel_top, name))
                if rel in files or rel in links or rel in nodes:
                    continue
                st = os.lstat(path)
                if stat.S_ISDIR(st.st_mode):
                    if os.path.islink(path):
                        links[rel] = os.readlink(path)
                    else:
                        dirs.append(rel)
                elif stat.S_ISLNK(st.st_mode):
                    links[rel] = os.readlink(path)
                elif stat.S_ISREG(st.st_mode):
                    with open(path, "rb") as f:
                        files[rel] = (stat.S_IMODE(st.st_mode) & 0o755, f.read())

    for spec in args.file:
        src, _, dest = spec.partition(":")
        dest = dest.strip("/")
        if not dest or ".." in dest.split("/"):
            sys.exit(f"mkinitramfs: --file {spec}: DEST must be a relative path inside")
        with open(src, "rb") as f:
            files[dest] = (0o755 if os.access(src, os.X_OK) else 0o644, f.read())
        parts = dest.split("/")[:-1]
        dirs += ["/".join(parts[:i + 1]) for i in range(len(parts))]

    tmp = args.output + ".tmp"
    with open(tmp, "wb") as out:
        c = Cpio(out)
        names = sorted(set(dirs) | set(files) | set(links) | set(nodes))
        for name in names:
            if name in dirs:
                c.entry(name, stat.S_IFDIR | (0o1777 if name == "tmp" else 0o755))
            elif name in files:
                mode, data = files[name]
                c.entry(name, stat.S_IFREG | mode, data)
            elif name in links:
                c.entry(name, stat.S_IFLNK | 0o777, links[name].encode())
            else:
                mode, rdev = nodes[name]
                c.entry(name, mode, rdev=rdev)
        c.trailer()
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
