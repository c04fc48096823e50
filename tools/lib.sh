# SPDX-License-Identifier: GPL-2.0
#
# Host-side helpers shared by tools/vm.sh, tools/check.sh,
# tools/bench/bench.sh and the Makefile (`$(shell . tools/lib.sh && ...)`):
# which installed kernel the project builds for and boots.  Sourced, never
# run; plain sh (POSIX plus `local`, which dash has), since make's
# $(shell) runs /bin/sh.
#
# The rule: the newest installed Debian kernel by version order (sort -V:
# 6.1.0-57 is newer than 6.1.0-9), never `uname -r` (the build machine's
# own kernel is not Debian's and cannot load modules).

# newest_kernel_image: /boot/vmlinuz-<release> of the newest kernel in
# /boot; prints nothing when there is none.
newest_kernel_image() {
	find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1
}

# newest_kernel_release: the release string of that kernel
# (6.1.0-57-amd64); prints nothing when there is none.
newest_kernel_release() {
	local k
	k=$(newest_kernel_image)
	[ -z "$k" ] || echo "${k#/boot/vmlinuz-}"
}

# newest_headers: the newest /usr/src/linux-headers-*-amd64 directory
# (what `make` builds against); prints nothing when there is none.
newest_headers() {
	ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1
}

# bzimage_release FILE: the kernel release named in a bzImage's header
# (the boot protocol's kernel_version field at 0x20e: an offset, less
# 0x200, of a NUL-terminated string that begins with the release); fails
# when FILE is not a bzImage.
bzimage_release() {
	local off rel
	[ "$(od -An -c -j $((0x202)) -N4 "$1" | tr -d ' ')" = HdrS ] || return 1
	off=$(($(od -An -tu2 -j $((0x20e)) -N2 "$1") + 0x200))
	rel=$(dd if="$1" bs=1 skip="$off" count=128 status=none | tr '\0' '\n' | head -n 1)
	[ -n "${rel%% *}" ] && echo "${rel%% *}"
}
