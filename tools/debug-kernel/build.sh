#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the debug kernel of `make check-debug` from Debian's
# linux-source-6.1: x86_64 allnoconfig plus fragment.config (next to this
# script), then bzImage and what out-of-tree module builds need.  The result
# is cached, and reused, in
#
#   ${WGMPSC_CACHE:-$HOME/.cache/wgmpsc}/debug-kernel/<key>/
#       bzImage          the kernel (tools/vm.sh --kernel)
#       linux/           the configured, built tree (make -C ... M=)
#       lib/modules/R/   modules.builtin & co. of release R, so that the
#                        guest's modprobe of a built-in driver succeeds
#       kernelrelease    R
#
# where <key> hashes the fragment, the linux-source-6.1 package version,
# the compiler and this script.  The tree is built in a temporary directory
# renamed to <key> only once complete, so an interrupted build is never
# taken for a cached one.  Prints the cache directory on stdout, progress
# on stderr.
#
# usage: tools/debug-kernel/build.sh

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FRAGMENT=$HERE/fragment.config
TARBALL=/usr/src/linux-source-6.1.tar.xz
PKG=linux-source-6.1
CACHE=${WGMPSC_CACHE:-$HOME/.cache/wgmpsc}/debug-kernel

say() { echo "debug-kernel: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

[ -f "$TARBALL" ] || die "no $TARBALL: run tools/deps.sh (package $PKG)"
pkgver=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null) ||
	die "package $PKG is not installed: run tools/deps.sh"
for t in gcc make bc bison flex perl depmod; do
	command -v "$t" >/dev/null || die "no $t: run tools/deps.sh"
done

key=$({
	echo "$PKG $pkgver"
	gcc --version | head -n 1
	cat "$FRAGMENT" "${BASH_SOURCE[0]}"
} | sha256sum | cut -c1-16)
OUT=$CACHE/$key
if [ -f "$OUT/kernelrelease" ]; then
	say "cached: $OUT ($(<"$OUT/kernelrelease"))"
	echo "$OUT"
	exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/$key.lock"
flock -n 9 || { say "another build of $key is running: waiting for it"; flock 9; }
if [ -f "$OUT/kernelrelease" ]; then
	say "cached (built meanwhile): $OUT"
	echo "$OUT"
	exit 0
fi
# Under the lock, any leftover of this key is from an interrupted build.
rm -rf "$CACHE/$key".tmp.* "$OUT"
TMP=$(mktemp -d "$CACHE/$key.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP

start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start))s"; }

say "unpacking $PKG $pkgver into $TMP"
mkdir "$TMP/linux"
# The in-tree WireGuard driver and its tests are never unpacked: wgmpsc
# is an independent implementation (see the project's ground rules).
tar -xJf "$TARBALL" -C "$TMP/linux" --strip-components=1 \
	--exclude='*/drivers/net/wireguard' \
	--exclude='*/tools/testing/selftests/wireguard'
for d in drivers/net/wireguard tools/testing/selftests/wireguard; do
	[ ! -e "$TMP/linux/$d" ] || die "$d was unpacked"
done
# (Kbuild enters drivers/net/wireguard only for CONFIG_WIREGUARD, which
# allnoconfig leaves off; the module's Kconfig depends on !WIREGUARD.)

cd "$TMP/linux"
KMAKE=(nice -n 19 make -s ARCH=x86_64 KBUILD_BUILD_USER=wgmpsc
	KBUILD_BUILD_HOST=debug-kernel "-j$(nproc)")

say "configuring: allnoconfig + ${FRAGMENT#"$HERE"/} + olddefconfig"
"${KMAKE[@]}" KCONFIG_ALLCONFIG="$FRAGMENT" allnoconfig >"$TMP/config.log" 2>&1 ||
	{ tail -n 30 "$TMP/config.log" >&2; die "allnoconfig"; }
"${KMAKE[@]}" olddefconfig >>"$TMP/config.log" 2>&1 ||
	{ tail -n 30 "$TMP/config.log" >&2; die "olddefconfig"; }

# Every line of the fragment must be in the final .config as written:
# Kconfig silently drops a symbol whose dependencies are not met.
missing=()
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		grep -qxF -- "$line" .config ||
			missing+=("$line (got: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" .config || echo absent))")
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		! grep -q "^${BASH_REMATCH[1]}=" .config ||
			missing+=("$line (got: $(grep "^${BASH_REMATCH[1]}=" .config))")
	fi
done <"$FRAGMENT"
if [ ${#missing[@]} -gt 0 ]; then
	say "these fragment lines did not take effect:"
	printf 'debug-kernel:   %s\n' "${missing[@]}" >&2
	die "fix ${FRAGMENT#"$HERE"/}"
fi
say "all $(grep -cE '^(CONFIG_|# CONFIG_.* is not set)' "$FRAGMENT") fragment lines took effect"

# `modules` also writes Module.symvers and does modules_prepare, which
# out-of-tree module builds need.  make runs in its own process group, so
# that an interrupted build stops all of it.
say "building bzImage and modules (nice -n 19, -j$(nproc))"
setsid "${KMAKE[@]}" bzImage modules >"$TMP/build.log" 2>&1 &
mpid=$!
trap 'kill -- -"$mpid" 2>/dev/null; rm -rf "$TMP"' EXIT
while kill -0 "$mpid" 2>/dev/null; do
	for _ in $(seq 60); do
		kill -0 "$mpid" 2>/dev/null || break
		sleep 1
	done
	kill -0 "$mpid" 2>/dev/null || break
	say "  $(find . -name '*.o' -newer .config | wc -l) objects built, $(elapsed)"
done
if ! wait "$mpid"; then
	tail -n 40 "$TMP/build.log" >&2
	die "kernel build (log above)"
fi
trap 'rm -rf "$TMP"' EXIT
[ -f arch/x86/boot/bzImage ] && [ -f Module.symvers ] ||
	die "no bzImage or Module.symvers after the build"
release=$(make -s ARCH=x86_64 kernelrelease)

# modules.builtin and an (empty) modules.dep for the guest's modprobe.
"${KMAKE[@]}" INSTALL_MOD_PATH="$TMP" modules_install >>"$TMP/build.log" 2>&1 ||
	{ tail -n 20 "$TMP/build.log" >&2; die "modules_install"; }
rm -f "$TMP/lib/modules/$release/build" "$TMP/lib/modules/$release/source"
[ -f "$TMP/lib/modules/$release/modules.builtin" ] || die "no modules.builtin"

cp arch/x86/boot/bzImage "$TMP/bzImage"
echo "$release" >"$TMP/kernelrelease"
cd /
mv "$TMP" "$OUT"
trap - EXIT
say "built $release in $(elapsed): $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
