#!/bin/sh
# Arca's set-up command (README, first command): on a fresh Debian 12 machine,
# install every dependency, build the guest kernel (cached per machine), build
# and install Arca, give it a busybox image, and start the daemon: as the
# systemd units arcad.socket + arcad.service where systemd runs the machine
# (and nothing below is overridden), otherwise as a process of its own.
#
#   tools/setup.sh                  as root: installs into /usr/local
#   PREFIX=/opt/arca tools/setup.sh
#   ARCA_SOCKET=/run/arca/arca.sock ARCA_ROOT=/var/lib/arca  (the defaults)
#   ARCA_CONFIG=/etc/arca/daemon.json  arcad's configuration file; written when
#                                   missing: the socket's group `arca`, live restore
#   ARCA_CONTEXT=arca               the docker context made for the socket
#   ARCA_LOG=/var/log/arcad.log     arcad's log (without systemd: journald has it)
#   ARCA_NETNS=name                 start arcad inside that network namespace
#                                   (it must exist: ip netns add name)
#   ARCA_BUILD_DIR=build-release    the release build directory
#
# Running it again rebuilds, reinstalls and restarts arcad; stored images and
# containers are kept, and running containers go on (live restore). It ends by
# printing how to point the docker CLI at arcad.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
prefix="${PREFIX:-/usr/local}"
socket="${ARCA_SOCKET:-/run/arca/arca.sock}"
root="${ARCA_ROOT:-/var/lib/arca}"
rundir=$(dirname "$socket")
pidfile="$rundir/arcad.pid"
logfile="${ARCA_LOG:-/var/log/arcad.log}"
config="${ARCA_CONFIG:-/etc/arca/daemon.json}"
context="${ARCA_CONTEXT-arca}"
# systemd runs the machine, and the daemon is the system's own (nothing moved).
use_systemd=""
if [ -d /run/systemd/system ] &&
	[ -z "${ARCA_NETNS:-}${ARCA_SOCKET:-}${ARCA_ROOT:-}${ARCA_CACHE_DIR:-}" ] &&
	[ "$config" = /etc/arca/daemon.json ]; then
	use_systemd=1
fi

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

# Stop a running arcad before replacing its binary; it keeps its state on disk,
# and with live restore its running containers go on and are adopted again.
if [ -n "$use_systemd" ]; then
	systemctl stop arcad.service 2>/dev/null || true
elif [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
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

# The socket's group: its members use arcad without root (which makes them
# root's equals, as the docker group does).
getent group arca >/dev/null || groupadd --system arca
# The configuration file, unless there is one: the socket's group, and live
# restore, so a restart of arcad (this script, systemctl restart) keeps
# running containers running.
if [ ! -e "$config" ]; then
	mkdir -p "$(dirname "$config")"
	printf '{\n  "group": "arca",\n  "live-restore": true\n}\n' >"$config"
	echo "setup: wrote $config"
fi
"$prefix/bin/arcad" --config-file "$config" --validate >/dev/null

if [ -n "$use_systemd" ]; then
	units="$prefix/lib/systemd/system"
	# By path: systemd links units from a prefix it does not search.
	systemctl enable "$units/arcad.socket" "$units/arcad.service" >/dev/null
	systemctl daemon-reload
	systemctl start arcad.socket arcad.service
	logfile="journalctl -u arcad"
	pid=$(systemctl show -p MainPID --value arcad.service)
	echo "setup: arcad $pid started by systemd (arcad.socket, arcad.service)"
else
	mkdir -p "$rundir" "$(dirname "$logfile")"
	netns=""
	if [ -n "${ARCA_NETNS:-}" ]; then
		ip netns pids "$ARCA_NETNS" >/dev/null 2>&1 ||
			{ echo "setup: network namespace '$ARCA_NETNS' does not exist" >&2; exit 1; }
		netns="ip netns exec $ARCA_NETNS"
	fi
	# Only what was asked for becomes a flag: a flag and the same key in the file
	# would conflict. setsid: arcad outlives this shell.
	# shellcheck disable=SC2086
	setsid $netns "$prefix/bin/arcad" --config-file "$config" \
		${ARCA_SOCKET:+-H "unix://$socket"} ${ARCA_ROOT:+--data-root "$root"} \
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
fi

# A docker context for the socket (not switched to): docker --context arca ...
run_docker="env DOCKER_HOST=unix://$socket docker"
if [ -n "$context" ]; then
	if docker context inspect "$context" >/dev/null 2>&1; then
		docker context update "$context" --docker "host=unix://$socket" >/dev/null
	else
		docker context create "$context" --description "Arca: a VM per container" \
			--docker "host=unix://$socket" >/dev/null
	fi
	run_docker="docker --context $context"
fi
if ! $run_docker run --rm busybox echo "setup: a container ran in its own VM"; then
	echo "setup: the first container failed; see $logfile:" >&2
	if [ -n "$use_systemd" ]; then
		journalctl -u arcad -n 20 --no-pager >&2
	else
		tail -20 "$logfile" >&2
	fi
	exit 1
fi
echo "setup: done. Use it with:"
[ -n "$context" ] && echo "  docker --context $context ps"
echo "  export DOCKER_HOST=unix://$socket"
echo "Members of the group arca use it without root (usermod -aG arca USER): that is"
echo "root-equivalent, as the docker group is."
