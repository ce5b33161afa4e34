#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the kselftests in a guest booting one kernel and judge the log.
#   run-suite.sh KVER KO [TEST...]
# Runs every selftest, or only the named ones.  KPOOL_VM_SMP sets the
# vCPUs (default 2); KPOOL_RUN_NAME names the run (default guest-KVER);
# KPOOL_RUN_TIMEOUT bounds each command in the guest (default 300 s).
# KPOOL_RUN_ALSO adds more test binaries, by path (the sanitizer builds).
# KPOOL_RUN_ENV ("NAME=value ...") is exported to every command.
# Needs the selftests built (make selftests).  Prints parse-log.sh's
# verdict; the console log stays in build/NAME.log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=$1 ko=$2
shift 2
# fail_nth_test needs fault injection, which only the debug kernel has:
# it runs when named (check-debug names it), never by default.
if [ $# -gt 0 ]; then
	tests=()
	for t in "$@"; do tests+=("$KPOOL_BUILD/selftests/$t"); done
else
	tests=()
	for t in "$KPOOL_BUILD"/selftests/*_test; do
		[ "$(basename "$t")" = fail_nth_test ] || tests+=("$t")
	done
fi
for t in ${KPOOL_RUN_ALSO:-}; do tests+=("$t"); done
for t in "${tests[@]}"; do
	[ -x "$t" ] || die "no selftest $t: run make selftests"
done

work=$KPOOL_BUILD/${KPOOL_RUN_NAME:-guest-$kver}
rm -rf "$work" && mkdir -p "$work"
for t in "${tests[@]}"; do basename "$t"; done >"$work/run-list"
echo "${KPOOL_RUN_TIMEOUT:-300}" >"$work/run-timeout"
printf '%s\n' ${KPOOL_RUN_ENV:-} >"$work/run-env"
# Extra commands after the tests (check-debug: the fuzzer).
[ -n "${KPOOL_RUN_EXTRA:-}" ] && printf '%s\n' "$KPOOL_RUN_EXTRA" >>"$work/run-list"
# The example tools and kpoolstat ride along: tools_test and
# kpoolstat_test run them.
"$KPOOL_TOP/tools/mkinitramfs.sh" "$work/initrd.cpio.gz" "$ko" \
	"$KPOOL_TOP/tools/guest-init.sh" "${tests[@]}" \
	"$KPOOL_BUILD"/examples/* "$KPOOL_BUILD"/tools/kpoolstat \
	${KPOOL_RUN_FILES:-} "$work/run-list" \
	"$work/run-timeout" "$work/run-env"
# Debian's kernels zero every allocation (init_on_alloc): a field the
# module forgets to set would read 0 and pass.  The tests boot without.
export KPOOL_VM_APPEND="${KPOOL_VM_APPEND-init_on_alloc=0}"
"$KPOOL_TOP/tools/vm.sh" "$kver" "$work/initrd.cpio.gz" "$work.log" \
	"${KPOOL_VM_TIMEOUT:-900}"
# A guest that died before /init never ran kpool (/init loads the module):
# under TCG that is the emulator's doing (seen: an int3 Oops in the
# kernel's own timer code 1.3 s into a 6.12 boot).  Boot once more, and
# say so; the first console stays beside the second.
if ! grep -q '^KPOOL-GUEST-UP' "$work.log"; then
	echo "run-suite: the guest died before /init (console: $work.log.first); booting again" >&2
	mv "$work.log" "$work.log.first"
	"$KPOOL_TOP/tools/vm.sh" "$kver" "$work/initrd.cpio.gz" "$work.log" \
		"${KPOOL_VM_TIMEOUT:-900}"
fi
"$KPOOL_TOP/tools/parse-log.sh" "$work.log"
