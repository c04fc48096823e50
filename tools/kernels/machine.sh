#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian machine's root file system for one kernel of the matrix, as an
# operator's system would have it before installing wgmpsc-dkms: the
# kernel's release (Debian 12 for bookworm*, 13 for trixie*) from
# debootstrap, dkms, wireguard-tools (wg, wg-quick and its systemd unit),
# iproute2, nftables, systemd, and that kernel itself installed from its
# Debian packages (image, modules, headers, kbuild: what linux-image-<flavour>
# and linux-headers-<flavour> pull in), with their maintainer scripts run.
# tools/vm.sh --root boots it (tests/install.sh); nothing of it runs on
# this host, except the packages' scripts, in a chroot.
#
# One root per kernel, not per release: on trixie, dkms builds for every
# kernel whose headers are installed (autoinstall_all_kernels), and each
# build costs a minute or more under TCG.
#
# Cached in ~/.cache/wgmpsc/machine/<name>-<version>-<key> (the key: the
# roots' format, below); the release's debootstrap is cached once next to them
# (<release>-base-<key of its package list>) and copied.  Prints the root's path.
#
# usage: tools/kernels/machine.sh NAME      (NAME from tools/kernels/list)
#        tools/kernels/machine.sh --headers-debs NAME
#            the .deb files of NAME's headers alone (headers, kbuild, and
#            what they depend on of the kernel's own packages), as a user
#            installs them for a kernel DKMS should build for: tests/install.sh's
#            kernel installed later.  Fails for a kernel whose headers
#            depend on its image (Debian 13's 6.12).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${WGMPSC_CACHE:-$HOME/.cache/wgmpsc}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HEADERS_ONLY=0
if [ "${1:-}" = --headers-debs ]; then
	HEADERS_ONLY=1
	shift
fi
NAME=${1:?usage: machine.sh [--headers-debs] NAME}
# The roots' format, part of their directory name: changed by hand when
# what this script puts into a root changes, so that the cached roots are
# made again (a fix elsewhere in the script does not throw them away).
key=5c2a81d40e97

kdir=$("$HERE/fetch.sh" "$NAME")
# shellcheck source=/dev/null
. "$kdir/kernel.env"
read -r _ suites flavour _ < <(awk -v n="$NAME" '$1 == n' "$HERE/list")
release=${suites%%[-,]*}

# kernel_pkgs FLAVOUR-PACKAGE...: the versioned packages behind Debian's
# metapackages, as fetch.sh chose them, with the compiler package 6.1's
# headers want; not the unsigned image or debug symbols.
kernel_pkgs() {
	"$HERE/apt.sh" depends "${@/%/=$DEB_VERSION}" |
		grep -E '^linux-(image|binary|modules|base|headers|kbuild|compiler)-[0-9a-z]' |
		grep -vE -- '-(unsigned|dbg)$|^linux-(image|headers|base)-(amd64|rt-amd64)$'
}
if [ "$HEADERS_ONLY" = 1 ]; then
	mapfile -t pkgs < <(kernel_pkgs "linux-headers-$flavour")
	for p in "${pkgs[@]}"; do
		case $p in linux-image-* | linux-modules-* | linux-binary-*)
			echo "machine: $NAME's headers need its image ($p)" >&2
			exit 1 ;;
		esac
	done
	exec "$HERE/apt.sh" download "${pkgs[@]/%/=$DEB_VERSION}"
fi

# What a Debian system running wg-quick has, plus what the kernel packages
# depend on that is not themselves (their compiler, kbuild's libraries,
# an initramfs generator), so that they install without the network.
common=dkms,make,wireguard-tools,iproute2,nftables,iputils-ping,procps,kmod
common+=,systemd,systemd-sysv,linux-base,initramfs-tools,apt
case $release in
bookworm) include=$common,gcc-12,libc6-dev,libelf1,libssl3,zlib1g ;;
trixie) include=$common,gcc-14,gcc-14-for-host,libc6-dev,libelf1t64,libssl3t64,zlib1g,pahole ;;
*) echo "machine: no Debian release for $NAME ($suites)" >&2; exit 2 ;;
esac

ROOT=$CACHE/machine/$NAME-${DEB_VERSION//[^A-Za-z0-9.+-]/_}-$key
# The release's part is keyed on what it is made of, not on this script.
BASE=$CACHE/machine/$release-base-$(echo "$release $include" | sha256sum | cut -c1-12)
if [ -f "$ROOT/.done" ]; then
	echo "$ROOT"
	exit 0
fi
mkdir -p "$CACHE/machine"
exec 9>"$CACHE/machine/.lock"
flock 9
[ ! -f "$ROOT/.done" ] || { echo "$ROOT"; exit 0; }

if [ ! -f "$BASE/.done" ]; then
	rm -rf "$BASE.tmp"
	echo "machine: debootstrap $release into $BASE (a few minutes)" >&2
	debootstrap --variant=minbase --include="$include" "$release" "$BASE.tmp" "$MIRROR" \
		>"$CACHE/machine/debootstrap-$release.log" 2>&1 || {
		tail -n 30 "$CACHE/machine/debootstrap-$release.log" >&2
		exit 1
	}
	rm -f "$BASE.tmp/var/cache/apt/archives"/*.deb
	touch "$BASE.tmp/.done"
	mv "$BASE.tmp" "$BASE"
fi

mapfile -t pkgs < <(kernel_pkgs "linux-image-$flavour" "linux-headers-$flavour")
mapfile -t debs < <("$HERE/apt.sh" download "${pkgs[@]/%/=$DEB_VERSION}")

echo "machine: $NAME: $BASE + ${pkgs[*]}" >&2
rm -rf "$ROOT.tmp"
cp -a "$BASE" "$ROOT.tmp"
rm -f "$ROOT.tmp/.done"
mkdir -p "$ROOT.tmp/tmp/kernel-debs"
# The hardware drivers no VM of ours has are not unpacked (dpkg's
# path-exclude, kept in the root for the packages installed in the VM):
# depmod, which the kernel's packages, DKMS's install and its removal each
# run in the VM over 9p, went from 45 s over 4,229 modules to 9 s over
# 1,350 (trixie, session 11).  What a test loads stays: virtio, 9p,
# overlay, netfilter, the tunnels, lib/crypto, drivers/net's virtual devices.
{
	echo "# wgmpsc's test machine: drivers for hardware its VM does not have"
	for d in sound drivers/media drivers/gpu drivers/iio drivers/usb \
		drivers/platform drivers/hid drivers/hwmon drivers/input \
		drivers/comedi drivers/net/wireless drivers/net/ethernet \
		drivers/infiniband drivers/staging drivers/bluetooth drivers/scsi \
		drivers/mtd drivers/misc drivers/watchdog drivers/video drivers/i2c \
		drivers/md drivers/ata drivers/leds drivers/power drivers/mfd \
		drivers/regulator drivers/pinctrl drivers/gpio drivers/spi \
		drivers/mmc drivers/nfc net/bluetooth net/wireless net/mac80211; do
		echo "path-exclude=/lib/modules/*/kernel/$d/*"
		echo "path-exclude=/usr/lib/modules/*/kernel/$d/*"
	done
} >"$ROOT.tmp/etc/dpkg/dpkg.cfg.d/wgmpsc-test-machine"
cp "${debs[@]}" "$ROOT.tmp/tmp/kernel-debs/"
# dpkg in the chroot, in a private mount namespace: the packages' scripts
# (depmod, the initramfs, dkms's kernel hook) see the machine, not this
# host.  /boot/vmlinuz-* need not boot anything: vm.sh boots the cache's.
# shellcheck disable=SC2016 # expanded by that bash
unshare -m --propagation private bash -c '
	set -e
	mount -t proc proc "$1/proc"
	chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
		sh -c "dpkg -i /tmp/kernel-debs/*.deb"
' bash "$ROOT.tmp" >"$CACHE/machine/dpkg-$NAME.log" 2>&1 || {
	tail -n 30 "$CACHE/machine/dpkg-$NAME.log" >&2
	exit 1
}
rm -rf "$ROOT.tmp/tmp/kernel-debs"
# The link is absolute on Debian 12 (/usr/src/...): resolved in the root.
build=$(readlink "$ROOT.tmp/lib/modules/$KREL/build") || build=
case $build in
/*) build=$ROOT.tmp$build ;;
?*) build=$ROOT.tmp/lib/modules/$KREL/$build ;;
esac
[ -n "$build" ] && [ -f "$build/Makefile" ] || {
	echo "machine: $NAME: no /lib/modules/$KREL/build after the headers" >&2
	exit 1
}
echo "$NAME" >"$ROOT.tmp/etc/hostname"
touch "$ROOT.tmp/.done"
mv "$ROOT.tmp" "$ROOT"
# Older roots of this kernel (another version, another key) are unused.
find "$CACHE/machine" -mindepth 1 -maxdepth 1 -name "$NAME-[0-9]*" ! -name "${ROOT##*/}" \
	-exec rm -rf {} +
echo "$ROOT"
