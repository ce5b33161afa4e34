#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make deb: the Debian packages (debian/): kpool-dkms, libkpool0,
# libkpool-dev, kpool-tools.  dpkg-buildpackage -us -uc -b runs in a copy
# of the tree under build/deb/, so the tree itself stays clean; the .debs,
# the .changes and the build log land in build/deb/.  Installs the
# build dependencies with apt-get if missing (root; tools/setup-host.sh
# --deb installs them with everything else).  tools/deb-check.sh checks
# the result.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

apt_need build-essential debhelper dh-dkms fakeroot liburcu-dev

ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
[ -n "$ver" ] || die "no PACKAGE_VERSION in dkms.conf"
out=$KPOOL_BUILD/deb
src=$out/kpool-$ver
rm -rf "$out"
mkdir -p "$src"

# The source tree: in a git checkout, its files (committed or new, not
# ignored: no build products, man/ and debian/ even before they are
# committed); otherwise everything but build/, .git and what .gitignore
# names.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			# (a file deleted but not yet committed is still listed)
			if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
		done |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude=./build --exclude=./.git --exclude-vcs-ignores -cf - . |
		tar -xf - -C "$src"
fi
[ -f "$src/debian/control" ] || die "no debian/ in the copied tree"

start=$SECONDS
say "deb: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	die "dpkg-buildpackage failed (whole log: $out/build.log)"
fi
rm -rf "$src"
say "deb: built in $((SECONDS - start)) s:"
ls -1 "$out"/*.deb "$out"/*.changes | sed 's/^/  /' >&2
