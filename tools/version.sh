#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prints wgmpsc's version, the one source of truth for MODULE_VERSION,
# ethtool -i, the load message, the Debian package and the DKMS directory
# (/usr/src/wgmpsc-<version>).  Every form is a valid Debian version that
# sorts in the order the commits were made:
#
#   tag vX.Y.Z on HEAD             X.Y.Z
#   N commits after tag vX.Y.Z     X.Y.Z+N.g<hash>   (after X.Y.Z, before
#                                                     the next tag)
#   no tag reachable               0~gitN.g<hash>    (N = commits in HEAD)
#
# The untagged form starts with "0~" so that it sorts before any tagged
# version (even 0.0.1, and 0~ before 0): the first real tag is then an
# upgrade.  N, the count of commits, keeps successive untagged builds of
# one branch in order; the hash only names the commit.  A '-' in a tag
# (v1.0.0-rc1) becomes '~' (1.0.0~rc1, before 1.0.0): a Debian native
# version has no '-'.
#
# A tree with uncommitted changes gets no suffix: the version names the
# commit the build started from.  Marking it "dirty" would give two builds
# of one commit different versions (and DKMS directories) for what is a
# developer's local build, never a package that ships.
#
# Without a git checkout (a copy such as the DKMS one under
# /usr/src/wgmpsc-<version>) the version is the one in src/VERSION, which
# `make deb` and `make install` write into the copy they ship.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

# Only this checkout's own history counts, not that of a repository a copy
# happens to sit in.
if [ "$(git -C "$TOP" rev-parse --show-toplevel 2>/dev/null)" = "$TOP" ]; then
	if desc=$(git -C "$TOP" describe --tags --long --abbrev=12 \
		--match 'v[0-9]*' 2>/dev/null); then
		# vX.Y.Z-N-gHASH; the tag itself may hold '-'.
		hash=${desc##*-}
		rest=${desc%-*}
		n=${rest##*-}
		tag=${rest%-*}
		base=${tag#v}
		base=${base//-/\~}
		if [ "$n" = 0 ]; then
			echo "$base"
		else
			echo "$base+$n.$hash"
		fi
	else
		n=$(git -C "$TOP" rev-list --count HEAD)
		hash=$(git -C "$TOP" rev-parse --short=12 HEAD)
		echo "0~git$n.g$hash"
	fi
elif [ -s "$TOP/src/VERSION" ]; then
	cat "$TOP/src/VERSION"
else
	echo "version.sh: no git checkout and no $TOP/src/VERSION" >&2
	exit 1
fi
