#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# "dkms build" the tree for one kernel in a private dkms tree under build/,
# so nothing is installed on the machine (no /usr/src, /var/lib/dkms or
# /lib/modules entry, and no signing key: signing is turned off).  With
# KPOOL_DKMS_INSTALL=1, "dkms install" too, into the private tree's
# install/KVER/ (no depmod on the machine: module-install-check.sh runs
# depmod in a guest).
#   dkms-check.sh KVER
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=$1
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$KPOOL_TOP/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$KPOOL_TOP/dkms.conf")
base=$KPOOL_BUILD/dkms-$kver
trees=(--dkmstree "$base/tree" --sourcetree "$base/src" --installtree "$base/install")

rm -rf "$base"
mkdir -p "$base/tree" "$base/install" "$base/src/$name-$ver"
cp -r "$KPOOL_TOP/Kbuild" "$KPOOL_TOP/kmod" "$KPOOL_TOP/uapi" \
	"$KPOOL_TOP/dkms.conf" "$base/src/$name-$ver/"

export sign_file=/nonexistent/kpool-unsigned
if ! { dkms add -m "$name" -v "$ver" "${trees[@]}" &&
       dkms build -m "$name" -v "$ver" -k "$kver" \
		--kernelsourcedir "$(kdir_of "$kver")" "${trees[@]}"; } \
	>"$base/log" 2>&1; then
	cat "$base/log" >&2
	die "dkms build failed for $kver"
fi
ko=$(find "$base/tree/$name/$ver/$kver" -name 'kpool.ko*' | head -n1)
[ -n "$ko" ] || die "dkms build for $kver produced no module"
if [ -n "${KPOOL_DKMS_INSTALL:-}" ]; then
	mkdir -p "$base/install/$kver"
	dkms install --no-depmod -m "$name" -v "$ver" -k "$kver" \
		--kernelsourcedir "$(kdir_of "$kver")" "${trees[@]}" \
		>>"$base/log" 2>&1 || { cat "$base/log" >&2; die "dkms install failed for $kver"; }
	[ -n "$(find "$base/install/$kver" -name 'kpool.ko*')" ] ||
		die "dkms install for $kver installed no module"
fi
