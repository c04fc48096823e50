#!/bin/bash
# Installs everything wgmpsc needs to build, test and benchmark, from Debian's
# archive only.  Idempotent: does nothing when every package is present.
set -e

PKGS="build-essential linux-image-amd64 linux-headers-amd64 qemu-system-x86
busybox-static wireguard-tools wireguard-go iproute2 iputils-ping iperf3 ncat xz-utils
iptables kmod cpio python3 ethtool procps psmisc gawk bc sparse
gnuplot-nox python3-cryptography jq
linux-source-6.1 bison flex libelf-dev libssl-dev
clang libclang-rt-14-dev debootstrap zstd dwarves"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
