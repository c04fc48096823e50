#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Everything wgmpsc needs to build, test and benchmark, from Debian's
# archive only, so that a fresh Debian 12 machine needs nothing by hand.
# Idempotent: does nothing when everything is present.
#
# usage: tools/deps.sh [--host]
#
#   1. this machine's packages (apt-get install from its own sources):
#      QEMU, busybox-static, the userspace the guest runs from the host's
#      root (wg, wireguard-go, ip, iperf3, ...), the compiler for bookworm's
#      kernels, linux-source-6.1 for the debug kernel (tools/debug-kernel/)
#      and debootstrap for the build root;
#   2. unless --host: every kernel of tools/kernels/list, image, modules,
#      headers and kbuild (tools/kernels/fetch.sh: downloaded with a
#      private apt configuration and unpacked into ~/.cache/wgmpsc/kernels),
#      the trixie build root those kernels are built in
#      (tools/kernels/buildroot.sh), and the Debian machines of trixie and
#      bookworm that tests/install.sh boots (tools/kernels/machine.sh).
#
# It never changes this machine's apt sources, installs no kernel and
# touches no boot configuration: the kernels the VM boots are only
# unpacked into the cache.  Every make target runs `--host` first (fast
# once done) and fetches the one kernel it needs (KERNEL=) when it needs
# it; `make deps` fetches them all.
set -e

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKGS="build-essential qemu-system-x86 debhelper dh-dkms dpkg-dev fakeroot
busybox-static wireguard-tools wireguard-go iproute2 iputils-ping iperf3 ncat xz-utils
iptables kmod cpio python3 ethtool procps psmisc gawk bc sparse
gnuplot-nox python3-cryptography jq
linux-source-6.1 bison flex libelf-dev libssl-dev
clang libclang-rt-14-dev debootstrap debian-archive-keyring zstd dwarves"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		SUDO=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing
fi
[ "${1:-}" != --host ] || exit 0

buildroot=0
while read -r name _ _ root _; do
	case $name in '' | '#'*) continue ;; esac
	dir=$("$HERE/kernels/fetch.sh" "$name")
	echo "deps: kernel $name: $dir"
	[ "$root" = host ] || buildroot=1
done <"$HERE/kernels/list"
if [ "$buildroot" = 1 ]; then
	dir=$("$HERE/kernels/buildroot.sh")
	echo "deps: build root: $dir"
fi
# The Debian 13 and 12 machines tests/install.sh boots in CI (other
# kernels' are made when a check first needs them).
# (Assigned first, like dir above: a failure inside echo's argument
# would not stop deps.)
for name in trixie bookworm; do
	root=$("$HERE/kernels/machine.sh" "$name")
	echo "deps: machine $name: $root"
done
