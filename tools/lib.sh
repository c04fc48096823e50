# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Host-side helpers shared by tools/vm.sh, tools/check.sh and
# tools/bench/bench.sh: which kernel the project boots.  Sourced, never
# run; plain sh (POSIX plus `local`, which dash has).
#
# The kernels are Debian's, fetched from its archive into the cache by
# tools/kernels/fetch.sh (never installed on this machine, whose own
# kernel cannot load modules: never `uname -r`), named as in
# tools/kernels/list; KERNEL (the environment, as `make KERNEL=` sets it)
# picks one, trixie (Debian 13's 6.12) by default.

# kernel_image SPEC: the bzImage SPEC names, fetching it first if need be:
# a file is itself, a name of tools/kernels/list is that kernel's
# <cache>/kernels/<name>-<version>/bzImage, empty is ${KERNEL:-trixie}.
# Fails (message on stderr) for anything else.  Needs TOP (the checkout),
# which every user of this file sets.
kernel_image() {
	local spec dir
	spec=${1:-${KERNEL:-trixie}}
	if [ -f "$spec" ]; then
		echo "$spec"
		return 0
	fi
	case $spec in */*)
		echo "no kernel image at '$spec'" >&2
		return 1 ;;
	esac
	dir=$("${TOP:?}/tools/kernels/fetch.sh" "$spec") || return 1
	echo "$dir/bzImage"
}

# kernel_moddir IMAGE RELEASE: the module tree of the kernel IMAGE: next to
# it (IMAGE's directory/lib/modules/RELEASE, the layout of
# tools/kernels/fetch.sh and tools/debug-kernel/build.sh), or for an
# installed /boot/vmlinuz-RELEASE, /lib/modules/RELEASE.
kernel_moddir() {
	local d
	d=$(dirname "$1")/lib/modules/$2
	if [ ! -f "$d/modules.dep" ] && [ "$1" = "/boot/vmlinuz-$2" ]; then
		d=/lib/modules/$2
	fi
	echo "$d"
}

# bzimage_version FILE: the kernel version string in a bzImage's header
# (the boot protocol's kernel_version field at 0x20e: an offset, less
# 0x200, of a NUL-terminated string: "<release> (<builder>) #1 SMP
# PREEMPT_DYNAMIC ..."); fails when FILE is not a bzImage.
bzimage_version() {
	local off
	[ "$(od -An -c -j $((0x202)) -N4 "$1" | tr -d ' ')" = HdrS ] || return 1
	off=$(($(od -An -tu2 -j $((0x20e)) -N2 "$1") + 0x200))
	dd if="$1" bs=1 skip="$off" count=256 status=none | tr '\0' '\n' | head -n 1
}

# bzimage_release FILE: the release in that string (6.12.118+deb13-amd64).
bzimage_release() {
	local rel
	rel=$(bzimage_version "$1") || return 1
	[ -n "${rel%% *}" ] && echo "${rel%% *}"
}
