#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the kselftests in a guest booting one kernel and judge the log.
#   run-suite.sh KVER KO
# Needs the selftests built (make selftests).  Prints parse-log.sh's
# verdict; the console log stays in build/guest-KVER.log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=$1 ko=$2
tests=("$KPOOL_BUILD"/selftests/*_test)
[ -x "${tests[0]}" ] || die "no selftests in $KPOOL_BUILD/selftests: run make selftests"

work=$KPOOL_BUILD/guest-$kver
rm -rf "$work" && mkdir -p "$work"
for t in "${tests[@]}"; do basename "$t"; done >"$work/run-list"
"$KPOOL_TOP/tools/mkinitramfs.sh" "$work/initrd.cpio.gz" "$ko" \
	"$KPOOL_TOP/tools/guest-init.sh" "${tests[@]}" "$work/run-list"
"$KPOOL_TOP/tools/vm.sh" "$kver" "$work/initrd.cpio.gz" "$work.log" \
	"${KPOOL_VM_TIMEOUT:-900}"
"$KPOOL_TOP/tools/parse-log.sh" "$work.log"
