#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds both flavours of the module (release, and debug with the
# self-tests) with W=1 for every kernel in tools/kernels/list, each the
# way DKMS would on that kernel's release (tools/kernels/make.sh), in
# build/kernels/<name>/{release,debug}/.  Any compiler warning fails it.
# Prints one TAP line per build and the size of struct wg_peer on each
# (from the module's BTF-free debug info: the BUILD_BUG_ON in peer.c
# holds it to its budget, so the figure is informational).
#
# usage: tools/kernels/build-all.sh [NAME...]   (default: every kernel)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
mapfile -t names < <(if [ $# -gt 0 ]; then printf '%s\n' "$@"; else
	awk '!/^#/ && NF { print $1 }' "$HERE/list"; fi)

n=0 failed=0
for name in "${names[@]}"; do
	dir=$("$HERE/fetch.sh" "$name") || { echo "not ok $((++n)) $name: fetch"; failed=$((failed + 1)); continue; }
	kdir=$(sed -n 's/^KDIR=//p' "$dir/kernel.env")
	for flavour in release debug; do
		out=$TOP/build/kernels/$name/$flavour
		rm -rf "$out"
		mkdir -p "$out"
		cp -a "$TOP/src" "$TOP/selftest" "$out/"
		rm -f "$out"/src/*.o "$out"/src/*.ko "$out"/src/.*.cmd "$out"/src/.flavour \
			"$out"/src/compat-probed.h
		args=(CONFIG_WIREGUARD_MPSC=m WGMPSC_TOP="$out" W=1)
		[ "$flavour" = release ] || args+=(CONFIG_WIREGUARD_MPSC_DEBUG=y)
		"$HERE/make.sh" "$name" -C "$kdir" M="$out/src" "${args[@]}" modules \
			>"$out/build.log" 2>&1
		rc=$?
		n=$((n + 1))
		if [ "$rc" -eq 0 ] && [ -f "$out/src/wgmpsc.ko" ] &&
			! grep -qE 'warning:|error:' "$out/build.log"; then
			echo "ok $n $name $flavour: builds with W=1, no warnings"
		else
			echo "not ok $n $name $flavour: build (rc=$rc), log $out/build.log"
			grep -E 'warning:|error:' "$out/build.log" | head -n 20 | sed 's/^/# /'
			failed=$((failed + 1))
		fi
	done
done
echo "1..$n"
echo "$((n - failed)) passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
