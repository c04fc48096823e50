#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs make for one kernel of the matrix the way DKMS would run it on that
# kernel's own Debian release: trixie's kernels in the trixie build root
# (gcc-14, glibc 2.38 for their kbuild programs; tools/kernels/buildroot.sh),
# bookworm's on this host (gcc-12).  The headers' own .kernelvariables pick
# the compiler.  In the build root the kernel cache and the project are
# bind-mounted at their own paths, in a private mount namespace that ends
# with the command.
#
# usage: tools/kernels/make.sh NAME MAKE-ARGS...
#        (KDIR is the kernel's headers; pass -C "$KDIR" yourself, or use
#        `make KERNEL=NAME`, which does)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CACHE=${WGMPSC_CACHE:-$HOME/.cache/wgmpsc}
NAME=${1:?usage: make.sh NAME MAKE-ARGS...}
shift
dir=$("$HERE/fetch.sh" "$NAME")
# shellcheck source=/dev/null
. "$dir/kernel.env"

if [ "$BUILDROOT" = host ]; then
	exec make "$@"
fi
root=$("$HERE/buildroot.sh")
# Every path make sees must be the same inside: the kernel's tree, this
# checkout, and the working directory (a copy of the tree elsewhere).
binds=("$CACHE/kernels" "$TOP")
case $PWD/ in "$TOP"/* | "$CACHE"/kernels/*) ;; *) binds+=("$PWD") ;; esac
exec unshare -m --propagation private bash -c '
	set -e
	root=$1 cwd=$2 nbinds=$3
	shift 3
	for ((i = 0; i < nbinds; i++)); do
		mkdir -p "$root$1"
		mount --bind "$1" "$root$1"
		shift
	done
	mount -t proc proc "$root/proc"
	cd "$root$cwd"
	exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 MAKEFLAGS="${MAKEFLAGS:-}" sh -c "cd \"\$1\" && shift && exec make \"\$@\"" \
		sh "$cwd" "$@"
' bash "$root" "$PWD" "${#binds[@]}" "${binds[@]}" "$@"
