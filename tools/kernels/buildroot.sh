#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian 13 (trixie) root with gcc-14, for building the module against
# trixie's kernels the way DKMS would there (gcc-14 is not in bookworm, and
# trixie's kbuild programs need its glibc 2.38).  Also holds the newest
# wireguard-tools (trixie-backports), whose wg(8) speaks the +/- allowed-IPs
# syntax; the guest runs it through the root's own dynamic loader
# (tools/kernels/wg-new), since bookworm's glibc is too old for it.
#
# Made once by debootstrap from Debian's archive and cached under
# ~/.cache/wgmpsc/buildroot/trixie-<key> (the key covers this script);
# prints the root's path.  Never touches the host's apt state.
#
# usage: tools/kernels/buildroot.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${WGMPSC_CACHE:-$HOME/.cache/wgmpsc}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What the build needs: the compiler the trixie kernels were built with,
# what trixie's linux-kbuild-* programs link against, and sparse (make sparse).
INCLUDE=gcc-14,make,libc6-dev,libelf1t64,libssl3t64,zlib1g,pahole,bc,kmod,sparse
key=$(cat "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)
ROOT=$CACHE/buildroot/trixie-$key

if [ -f "$ROOT/.done" ]; then
	echo "$ROOT"
	exit 0
fi
mkdir -p "$CACHE/buildroot"
exec 9>"$CACHE/buildroot/.lock"
flock 9
if [ ! -f "$ROOT/.done" ]; then
	rm -rf "$ROOT.tmp"
	echo "buildroot: debootstrap trixie into $ROOT (a few minutes)" >&2
	debootstrap --variant=minbase --include="$INCLUDE" trixie "$ROOT.tmp" "$MIRROR" \
		>"$CACHE/buildroot/debootstrap.log" 2>&1 || {
		tail -n 30 "$CACHE/buildroot/debootstrap.log" >&2
		exit 1
	}
	# The newest wg(8): unpacked, not installed (nothing runs in it).
	deb=$("$HERE/apt.sh" download-suite trixie-backports wireguard-tools)
	dpkg-deb -x "$deb" "$ROOT.tmp"
	rm -rf "$ROOT.tmp/var/cache/apt/archives"/*.deb
	touch "$ROOT.tmp/.done"
	# Older roots of this script's earlier versions are no longer used.
	find "$CACHE/buildroot" -mindepth 1 -maxdepth 1 -name 'trixie-*' ! -name "trixie-$key*" \
		-exec rm -rf {} +
	mv "$ROOT.tmp" "$ROOT"
fi
echo "$ROOT"
