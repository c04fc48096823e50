#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# apt with a private sources list, state and archive cache under
# ~/.cache/wgmpsc/apt: reaches every Debian suite the kernel matrix needs
# (bookworm, trixie, their -security, -updates and -backports) without
# touching the host's apt configuration, package state or installed kernels.
# Packages are only downloaded here, never installed.
#
# usage: tools/kernels/apt.sh update
#        tools/kernels/apt.sh version SUITE[,SUITE...] PACKAGE
#            newest version of PACKAGE among those suites
#        tools/kernels/apt.sh download PACKAGE=VERSION...
#            fetch into the cache; prints each .deb's path
#        tools/kernels/apt.sh download-suite SUITE[,SUITE...] PACKAGE
#            both of the above
#        tools/kernels/apt.sh depends PACKAGE=VERSION...
#            the names of PACKAGE's recursive dependencies (hard ones only)
set -euo pipefail

CACHE=${WGMPSC_CACHE:-$HOME/.cache/wgmpsc}
A=$CACHE/apt
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Lists older than this are refreshed first (the archive moves: a kernel
# version a day old may already be gone from it).
MAX_AGE_MIN=${WGMPSC_APT_MAX_AGE_MIN:-360}

mkdir -p "$A/lists/partial" "$A/archives/partial" "$A/etc"
sources=$(
	for s in bookworm trixie; do
		for sfx in "" -updates -backports; do
			echo "deb [signed-by=$KEYRING] $MIRROR $s$sfx main"
		done
		echo "deb [signed-by=$KEYRING] $SECURITY $s-security main"
	done
)
[ "$(cat "$A/etc/sources.list" 2>/dev/null)" = "$sources" ] ||
	echo "$sources" >"$A/etc/sources.list"

OPTS=(-o "Dir::Etc::sourcelist=$A/etc/sources.list" -o Dir::Etc::sourceparts=/nonexistent
	-o "Dir::State::Lists=$A/lists" -o "Dir::Cache::Archives=$A/archives"
	-o "Dir::Cache=$A" -o Dir::State::status=/dev/null
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Acquire::Retries=3)

update() {
	exec 8>"$A/.lock"
	flock 8
	if [ -z "$(find "$A/lists" -maxdepth 1 -name '*trixie-backports*Packages*' -mmin -"$MAX_AGE_MIN")" ]; then
		echo "apt: updating the private package lists ($A)" >&2
		apt-get "${OPTS[@]}" update -qq >&2
	fi
	flock -u 8
}

# version SUITES PACKAGE: madison lists versions newest first, with the
# suite of each ("trixie-security/main"); awk reads to the end, since an
# early exit would kill apt-cache with SIGPIPE under pipefail.
version() {
	local v
	v=$(apt-cache "${OPTS[@]}" madison "$2" | awk -F' *\\| *' -v want=",$1," '
		{ split($3, w, " "); split(w[2], s, "/") }
		!v && index(want, "," s[1] ",") { v = $2 }
		END { if (v) print v }')
	[ -n "$v" ] || { echo "apt: no $2 in $1" >&2; return 1; }
	echo "$v"
}

download() {
	local spec name ver f
	exec 8>"$A/.lock"
	flock 8
	for spec in "$@"; do
		name=${spec%%=*}
		ver=${spec#*=}
		# The file name escapes ':' of an epoch as %3a.
		f=$A/archives/${name}_${ver//:/%3a}_
		if ! ls "$f"*.deb >/dev/null 2>&1; then
			(cd "$A/archives" && apt-get "${OPTS[@]}" download -qq "$spec" >&2)
		fi
		ls "$f"*.deb
	done
	flock -u 8
}

case ${1:-} in
update) update ;;
version) update; version "$2" "$3" ;;
download) shift; update; download "$@" ;;
download-suite) update; download "$3=$(version "$2" "$3")" ;;
depends)
	shift
	update
	apt-cache "${OPTS[@]}" depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances "$@" |
		awk '/^[^ <]/ { print $1 }' | sort -u
	;;
*) sed -n '/^# usage:/,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
