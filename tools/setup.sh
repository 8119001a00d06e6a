#!/bin/sh
# Arca's set-up command (README, first command): on a fresh Debian 12 machine,
# install every dependency, build the guest kernel (cached per machine), build
# and install Arca, then check that a VM boots and runs a command.
#
#   tools/setup.sh            as root: installs into /usr/local
#   PREFIX=/opt/arca tools/setup.sh
#
# The Docker API daemon (arcad) is not built yet (issue #4); until then this
# sets up the guest foundation and the `arca vm run` developer command.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
prefix="${PREFIX:-/usr/local}"

./tools/install-deps.sh
kernel=$(./guest-image/build-kernel.sh)
echo "setup: guest kernel: $kernel"

if [ ! -d build ]; then
	meson setup build --prefix "$prefix" -Dbuildtype=release
fi
ninja -C build
if [ "$(id -u)" -eq 0 ]; then
	meson install -C build --quiet
	arca="$prefix/bin/arca"
else
	arca="$here/build/src/cli/arca"
	echo "setup: not root: using $arca from the build tree"
fi

# shellcheck disable=SC2016 # $(uname -r) expands in the guest
out=$("$arca" vm run -- /bin/sh -c 'echo "arca: guest up on $(uname -r)"')
echo "$out"
echo "setup: done. Try:  $arca vm run -t -i -- /bin/sh"
