#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build kpool.ko for one kernel in its own copy of the tree, so builds for
# several kernels never share objects.  Any compiler or sparse warning
# fails the build.  The headers are /usr/src's, or those of a kernel
# tools/fetch-kernel.sh unpacked under build/kernels/.
#   build-module.sh KVER|KERNEL-TREE [extra make args, e.g. W=1 C=2]
# Prints the path of the .ko (under build/kmod-KVER, or build/kmod-debug
# for a kernel tree given by its path).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=$1; shift
if [ -d "$kver" ]; then
	kdir=$kver
	kver=debug
else
	kdir=$(kdir_of "$kver")
fi
# A kernel that Debian 12 does not ship is fetched into build/kernels/
# by tools/fetch-kernel.sh; kdir_of finds its headers there.
[ -d "$kdir" ] ||
	die "no headers for $kver at $kdir (a kernel from Debian's archive: run tools/fetch-kernel.sh $kver)"
out=$KPOOL_BUILD/kmod-$kver
rm -rf "$out" && mkdir -p "$out"
cp -r "$KPOOL_TOP/Kbuild" "$KPOOL_TOP/kmod" "$KPOOL_TOP/uapi" "$out/"
rm -f "$out"/kmod/*.o "$out"/kmod/*.ko "$out"/kmod/.*.cmd

log=$out/build.log
if ! make -C "$kdir" M="$out" "$@" modules >"$log" 2>&1; then
	cat "$log" >&2
	die "module build failed for $kver"
fi
# sparse reports as "file:line:col: warning:" or "error:"; gcc likewise.
if grep -E '(warning|error):' "$log" >&2; then
	die "module build for $kver has warnings ($*)"
fi
printf '%s\n' "$out/kmod/kpool.ko"
