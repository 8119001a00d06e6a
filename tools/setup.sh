#!/bin/sh
# Arca's set-up command (README, first command): on a fresh Debian 12 machine,
# install every dependency, build the guest kernel (cached per machine), build
# and install Arca, give it a busybox image, and start the daemon.
#
#   tools/setup.sh                  as root: installs into /usr/local
#   PREFIX=/opt/arca tools/setup.sh
#   ARCA_SOCKET=/run/arca/arca.sock ARCA_ROOT=/var/lib/arca  (the defaults)
#   ARCA_LOG=/var/log/arcad.log     arcad's log
#   ARCA_NETNS=name                 start arcad inside that network namespace
#                                   (it must exist: ip netns add name)
#   ARCA_BUILD_DIR=build-release    the release build directory
#
# Running it again rebuilds, reinstalls and restarts arcad; stored images and
# containers are kept. It ends by printing the DOCKER_HOST to export.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
prefix="${PREFIX:-/usr/local}"
socket="${ARCA_SOCKET:-/run/arca/arca.sock}"
root="${ARCA_ROOT:-/var/lib/arca}"
rundir=$(dirname "$socket")
pidfile="$rundir/arcad.pid"
logfile="${ARCA_LOG:-/var/log/arcad.log}"

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: run as root (arcad starts VMs and owns $root)" >&2
	exit 1
fi

./tools/install-deps.sh
kernel=$(./guest-image/build-kernel.sh)
echo "setup: guest kernel: $kernel"

# The release build has its own directory and is configured on every run, so
# a build directory left by another command (tools/test.sh builds
# debugoptimized into build/) can never stand in for it.
builddir="${ARCA_BUILD_DIR:-build-release}"
if [ -d "$builddir" ]; then
	meson setup --reconfigure "$builddir" --prefix "$prefix" -Dbuildtype=release >/dev/null
else
	meson setup "$builddir" --prefix "$prefix" -Dbuildtype=release >/dev/null
fi
ninja -C "$builddir"

# Stop a running arcad before replacing its binary; it keeps its state on disk.
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	pid=$(cat "$pidfile")
	echo "setup: stopping arcad ($pid)"
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
fi
meson install -C "$builddir" --quiet
arca="$prefix/bin/arca"

# A first image, made from Debian's busybox-static, unless one is there.
if ! ARCA_ROOT="$root" "$arca" image inspect busybox:latest >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	mkdir -p "$tmp/root/bin" "$tmp/root/etc" "$tmp/root/tmp" "$tmp/root/root"
	cp /bin/busybox "$tmp/root/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$tmp/root/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
		>"$tmp/root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/root/etc/group"
	tar -C "$tmp/root" --owner=0 --group=0 -cf "$tmp/rootfs.tar" .
	ARCA_ROOT="$root" "$arca" image import -m "busybox-static from Debian" \
		-c 'CMD ["sh"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		"$tmp/rootfs.tar" busybox:latest
	rm -rf "$tmp"
fi

mkdir -p "$rundir" "$(dirname "$logfile")"
netns=""
if [ -n "${ARCA_NETNS:-}" ]; then
	ip netns pids "$ARCA_NETNS" >/dev/null 2>&1 ||
		{ echo "setup: network namespace '$ARCA_NETNS' does not exist" >&2; exit 1; }
	netns="ip netns exec $ARCA_NETNS"
fi
# setsid: arcad outlives this shell; with live restore its VMs outlive arcad.
# shellcheck disable=SC2086
setsid $netns "$prefix/bin/arcad" -H "unix://$socket" --data-root "$root" --kernel "$kernel" \
	>>"$logfile" 2>&1 </dev/null &
echo $! >"$pidfile"
i=0
until [ -S "$socket" ] && curl -sf --unix-socket "$socket" http://d/_ping >/dev/null; do
	if ! kill -0 "$(cat "$pidfile")" 2>/dev/null || [ $i -ge 100 ]; then
		echo "setup: arcad did not start; see $logfile:" >&2
		tail -20 "$logfile" >&2
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
echo "setup: arcad $(cat "$pidfile") listening on $socket (log: $logfile)"
if ! DOCKER_HOST="unix://$socket" docker run --rm busybox echo "setup: a container ran in its own VM"; then
	echo "setup: the first container failed; see $logfile:" >&2
	tail -20 "$logfile" >&2
	exit 1
fi
echo "setup: done. Use it with:"
echo "  export DOCKER_HOST=unix://$socket"
