#!/bin/sh
# Install every Debian package Arca needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt. Debian 12 (bookworm).
set -eu

PKGS="
build-essential meson ninja-build pkg-config clang lld llvm libclang-rt-14-dev
musl-tools
libjansson-dev libsqlite3-dev libcurl4-openssl-dev libarchive-dev libext2fs-dev
libzstd-dev zlib1g-dev
qemu-system-x86 qemu-utils e2fsprogs
linux-source-6.1 flex bison libelf-dev bc libssl-dev cpio xz-utils
busybox-static kmod mmdebstrap uidmap
python3 python3-pytest python3-docker python3-requests python3-cryptography python3-yaml
docker-registry skopeo apache2-utils docker.io docker-compose
shellcheck tmux socat iproute2 procps psmisc curl jq systemd-container
nftables conntrack dnsmasq-base
podman runc containerd
"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
