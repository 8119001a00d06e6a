#!/bin/sh
# Build Arca's guest kernel from Debian's linux-source-6.1, once per machine.
#
# The result is cached outside the clone, keyed by the hash of the config
# fragment, the linux-source package version and this recipe, so a fresh
# clone on a machine that already built it costs nothing. Prints the path of
# the cached vmlinux (an uncompressed ELF with a PVH entry point) on stdout.
#
#   ARCA_CACHE_DIR  cache root (default /var/cache/arca as root, else
#                   ${XDG_CACHE_HOME:-~/.cache}/arca)
#   ARCA_KERNEL_JOBS  make -j value (default: nproc)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fragment="$here/kernel/arca-guest.config"
recipe=3 # bump when the steps below change the output

if [ -n "${ARCA_CACHE_DIR:-}" ]; then
	cache="$ARCA_CACHE_DIR"
elif [ "$(id -u)" -eq 0 ]; then
	cache=/var/cache/arca
else
	cache="${XDG_CACHE_HOME:-$HOME/.cache}/arca"
fi
tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || { echo "build-kernel: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$(printf 'recipe=%s\nsource=%s\n' "$recipe" "$srcver" | cat - "$fragment" | sha256sum | cut -c1-16)
out="$cache/kernel/$key"

if [ -f "$out/vmlinux" ]; then
	ln -sfn "$key" "$cache/kernel/current"
	echo "$out/vmlinux"
	exit 0
fi

mkdir -p "$cache/kernel"
exec 9>"$cache/kernel/.lock"
flock 9
if [ -f "$out/vmlinux" ]; then # another build finished while we waited
	ln -sfn "$key" "$cache/kernel/current"
	echo "$out/vmlinux"
	exit 0
fi

work="$cache/kernel/build-$key"
rm -rf "$work" "$out.tmp"
mkdir -p "$work" "$out.tmp"
trap 'rm -rf "$work" "$out.tmp"' EXIT
echo "build-kernel: building $key from linux-source $srcver (about 20 min on 2 cores)" >&2
tar -C "$work" -xJf "$tarball"
src="$work/linux-source-6.1"
jobs="${ARCA_KERNEL_JOBS:-$(nproc)}"
{
	make -C "$src" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment"
	make -C "$src" olddefconfig
} >"$out.tmp/config.log" 2>&1
# olddefconfig drops options whose dependencies are unmet: say which.
grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment" | while IFS= read -r line; do
	opt=${line%%=*}
	val=${line#*=}
	if [ "$val" = n ]; then
		grep -q "^$opt=" "$src/.config" && echo "build-kernel: warning: $opt is set, fragment wants n" >&2
	else
		grep -qx "$line" "$src/.config" || echo "build-kernel: warning: $line not in the final config" >&2
	fi
done || true
make -C "$src" -j"$jobs" vmlinux >"$out.tmp/build.log" 2>&1 || {
	tail -n 40 "$out.tmp/build.log" >&2
	exit 1
}
cp "$src/vmlinux" "$out.tmp/vmlinux"
cp "$src/.config" "$out.tmp/config"
printf '%s\n' "$srcver" >"$out.tmp/source-version"
rm -rf "$work"
mv "$out.tmp" "$out"
trap - EXIT
ln -sfn "$key" "$cache/kernel/current"
echo "$out/vmlinux"
