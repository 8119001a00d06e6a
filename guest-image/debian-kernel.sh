#!/bin/sh
# The documented fallback guest kernel: Debian's packaged cloud kernel.
#
# Debian builds virtio, vsock and overlayfs as modules, so this fetches the
# kernel package (apt-get download: no install on the host), runs depmod on
# its tree, and builds an initramfs of arca-init plus the modules it loads at
# boot. Prints two lines: the kernel (a bzImage, booted on q35) and the
# initramfs. Use them with `arca vm run --kernel K --initramfs I` or
# ARCA_KERNEL/ARCA_INITRAMFS. Expect ~11 s per boot under TCG.
#
#   debian-kernel.sh BUILD_DIR     (BUILD_DIR holds src/guest-init/arca-init)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: debian-kernel.sh BUILD_DIR}
if [ -n "${ARCA_CACHE_DIR:-}" ]; then
	cache="$ARCA_CACHE_DIR"
elif [ "$(id -u)" -eq 0 ]; then
	cache=/var/cache/arca
else
	cache="${XDG_CACHE_HOME:-$HOME/.cache}/arca"
fi

pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$pkg" ] || { echo "debian-kernel: cannot resolve linux-image-cloud-amd64" >&2; exit 1; }
ver=${pkg#linux-image-}
out="$cache/debian-kernel/$ver"
if [ ! -f "$out/vmlinuz" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	chmod 777 "$tmp" # apt downloads as _apt
	(cd "$tmp" && apt-get download "$pkg" >/dev/null)
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	depmod -b "$tmp/root" "$ver"
	mkdir -p "$out.tmp"
	cp "$tmp/root/boot/vmlinuz-$ver" "$out.tmp/vmlinuz"
	cp -r "$tmp/root/lib/modules/$ver" "$out.tmp/modules"
	rm -rf "$out"
	mv "$out.tmp" "$out"
fi
python3 "$here/mkinitramfs.py" --init "$build/src/guest-init/arca-init" \
	--busybox /bin/busybox --output "$out/initramfs.cpio" \
	--modules-dir "$out/modules" \
	--module virtio_pci --module virtio_console --module virtio_blk \
	--module virtio_rng --module overlay --module vmw_vsock_virtio_transport >&2
echo "$out/vmlinuz"
echo "$out/initramfs.cpio"
