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
#   ARCA_KERNEL_FRAGMENTS  more config fragments, merged after Arca's (absolute
#                   paths, separated by spaces); part of the cache key. A
#                   kernel built with them does not become "current".
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
extra="${ARCA_KERNEL_FRAGMENTS:-}"
for f in $extra; do
	[ -r "$f" ] || { echo "build-kernel: fragment $f is not readable" >&2; exit 1; }
done
# shellcheck disable=SC2086 # $extra: a list of paths
key=$(printf 'recipe=%s\nsource=%s\n' "$recipe" "$srcver" | cat - "$fragment" $extra | sha256sum | cut -c1-16)
current() {
	[ -n "$extra" ] || ln -sfn "$key" "$cache/kernel/current"
}
out="$cache/kernel/$key"

if [ -f "$out/vmlinux" ]; then
	current
	echo "$out/vmlinux"
	exit 0
fi

mkdir -p "$cache/kernel"
exec 9>"$cache/kernel/.lock"
flock 9
if [ -f "$out/vmlinux" ]; then # another build finished while we waited
	current
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
	# shellcheck disable=SC2086
	"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment" $extra
	make -C "$src" olddefconfig
} >"$out.tmp/config.log" 2>&1
# olddefconfig drops options whose dependencies are unmet: say which.
# shellcheck disable=SC2086
cat "$fragment" $extra | grep -E '^CONFIG_[A-Z0-9_]+=' | while IFS= read -r line; do
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
current
echo "$out/vmlinux"
