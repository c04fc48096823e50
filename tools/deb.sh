#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds build/deb/wgmpsc-dkms_<version>_all.deb with Debian's tooling
# (debhelper, dh-dkms: debian/).  The package is built from a staging copy
# of only what it ships, build/deb/wgmpsc-<version>/: src/'s sources (no
# objects, no selftest/: DKMS builds the release flavour), src/VERSION
# (the copy has no git), the modprobe.d file, COPYING, README.md, and
# debian/ with a changelog written here for this version, so the repository
# carries no changelog whose version could go stale.
#
# usage: [DEB_MAINTAINER="Name <address>"] tools/deb.sh   (or `make deb`)
#        prints the .deb's path
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$TOP/build/deb
VERSION=$("$TOP/tools/version.sh")
STAGE=$OUT/wgmpsc-$VERSION

rm -rf "$OUT"
mkdir -p "$STAGE/src"
cp "$TOP"/src/*.c "$TOP"/src/*.h "$TOP/src/Kbuild" "$TOP/src/compat-probe.sh" \
	"$STAGE/src/"
# Build products the checkout may hold next to the sources.
rm -f "$STAGE"/src/*.mod.c "$STAGE/src/compat-probed.h"
echo "$VERSION" >"$STAGE/src/VERSION"
cp "$TOP/tools/wgmpsc.conf" "$TOP/COPYING" "$TOP/README.md" "$STAGE/"
cp -r "$TOP/debian" "$STAGE/"

# Who built it: DEB_MAINTAINER ("Name <address>"), else git's identity.
maint=${DEB_MAINTAINER:-$(git -C "$TOP" config user.name 2>/dev/null) <$(git -C "$TOP" config user.email 2>/dev/null)>}
case $maint in
' <>' | ' <'* | *'<>') maint="wgmpsc developers <wgmpsc@localhost>" ;;
esac
sed -i "s|@MAINTAINER@|$maint|" "$STAGE/debian/control"

# The entry's date is the commit's, so that one commit gives one package.
date=$(git -C "$TOP" log -1 --format=%aD 2>/dev/null || date -R)
commit=$(git -C "$TOP" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
cat >"$STAGE/debian/changelog" <<EOF
wgmpsc ($VERSION) unstable; urgency=medium

  * Built from commit $commit.

 -- $maint  $date
EOF

(cd "$STAGE" && dpkg-buildpackage --build=all -us -uc) >"$OUT/build.log" 2>&1 || {
	tail -n 30 "$OUT/build.log" >&2
	echo "deb.sh: dpkg-buildpackage failed, log: $OUT/build.log" >&2
	exit 1
}
deb=$OUT/wgmpsc-dkms_${VERSION}_all.deb
[ -f "$deb" ] || { echo "deb.sh: no $deb" >&2; exit 1; }
echo "$deb"
