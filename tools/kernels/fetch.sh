#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetches one kernel of the test matrix from Debian's archive into the
# cache, unpacked, never installed: its image, its modules (depmod run for
# them), its headers and kbuild.  Prints the directory, which holds
#
#   bzImage             the kernel, as tools/vm.sh --kernel boots it
#   lib/modules/<rel>/  its module tree (vm.sh looks for it next to bzImage)
#   root/usr/src/linux-headers-<rel>/   KDIR for building against it
#   kernel.env          NAME, DEB_VERSION, KREL, KDIR, BUILDROOT (host or
#                       trixie: where its kbuild programs and compiler run)
#
# The version is the newest the archive has in the kernel's suites; a new
# upload means a new directory, and older ones of the same name are removed.
#
# usage: tools/kernels/fetch.sh NAME      (NAME from tools/kernels/list)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${WGMPSC_CACHE:-$HOME/.cache/wgmpsc}
NAME=${1:?usage: fetch.sh NAME}

read -r _ suites flavour buildroot _ < <(awk -v n="$NAME" '$1 == n' "$HERE/list") ||
	{ echo "fetch: no kernel '$NAME' in $HERE/list" >&2; exit 2; }
ver=$("$HERE/apt.sh" version "$suites" "linux-image-$flavour")
DIR=$CACHE/kernels/$NAME-${ver//[^A-Za-z0-9.+-]/_}
if [ -f "$DIR/kernel.env" ]; then
	echo "$DIR"
	exit 0
fi

mkdir -p "$CACHE/kernels"
exec 9>"$CACHE/kernels/.lock-$NAME"
flock 9
if [ ! -f "$DIR/kernel.env" ]; then
	echo "fetch: $NAME: Debian's linux-image-$flavour $ver" >&2
	rm -rf "$DIR.tmp"
	mkdir -p "$DIR.tmp/root"
	# The versioned packages behind the two metapackages (7.x splits the
	# image into linux-binary, linux-modules and linux-base); the unsigned
	# alternatives and debug symbols are not needed.
	mapfile -t pkgs < <("$HERE/apt.sh" depends "linux-image-$flavour=$ver" \
		"linux-headers-$flavour=$ver" |
		grep -E '^linux-(image|binary|modules|base|headers|kbuild)-[0-9]' |
		grep -vE -- '-(unsigned|dbg)$')
	[ "${#pkgs[@]}" -gt 0 ] || { echo "fetch: nothing to fetch for $NAME" >&2; exit 1; }
	for deb in $("$HERE/apt.sh" download "${pkgs[@]/%/=$ver}"); do
		dpkg-deb -x "$deb" "$DIR.tmp/root"
	done
	moddir=
	for d in "$DIR.tmp"/root/{usr/,}lib/modules/[0-9]*; do
		[ -d "$d" ] && moddir=$d && break
	done
	[ -n "$moddir" ] || { echo "fetch: no module tree in $NAME's packages" >&2; exit 1; }
	krel=${moddir##*/}
	mkdir -p "$DIR.tmp/lib/modules"
	mv "$moddir" "$DIR.tmp/lib/modules/$krel"
	# 6.x ships /boot/vmlinuz-<rel>; 7.x keeps it in the module tree.
	for img in "$DIR.tmp/root/boot/vmlinuz-$krel" "$DIR.tmp/lib/modules/$krel/vmlinuz"; do
		[ -f "$img" ] && cp "$img" "$DIR.tmp/bzImage" && break
	done
	[ -f "$DIR.tmp/bzImage" ] || { echo "fetch: no vmlinuz in $NAME's packages" >&2; exit 1; }
	depmod -b "$DIR.tmp" "$krel"
	kdir=$DIR/root/usr/src/linux-headers-$krel
	[ -f "$DIR.tmp/root/usr/src/linux-headers-$krel/Makefile" ] ||
		{ echo "fetch: no headers for $krel" >&2; exit 1; }
	# The headers' Makefile names the common part (and, from 6.13, its
	# own output directory) by absolute path.
	sed -i "s#\(^\|[ =]\)/usr/src/#\1$DIR/root/usr/src/#g" \
		"$DIR.tmp/root/usr/src/linux-headers-$krel/Makefile"
	{
		echo "NAME=$NAME"
		echo "DEB_VERSION=$ver"
		echo "KREL=$krel"
		echo "KDIR=$kdir"
		echo "BUILDROOT=$buildroot"
	} >"$DIR.tmp/kernel.env"
	mv "$DIR.tmp" "$DIR"
	find "$CACHE/kernels" -mindepth 1 -maxdepth 1 -name "$NAME-[0-9]*" ! -name "${DIR##*/}" \
		-exec rm -rf {} +
fi
echo "$DIR"
