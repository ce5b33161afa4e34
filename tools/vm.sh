#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel with an initramfs under TCG (never KVM here) and save the
# serial console to LOG.  The verdict comes from markers in LOG, not from
# QEMU's exit code.
#   vm.sh [--smp N] [--mem SIZE] [--append ARGS] KVER INITRD LOG [TIMEOUT_S]
# vCPUs 2 and 1G by default; ARGS are added to the command line; KVER may
# instead be a bzImage's path.  tools/guest.sh is its one caller.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

smp=2 mem=1G extra=
while [ $# -gt 0 ]; do
	case $1 in
	--smp) smp=$2 ;;
	--mem) mem=$2 ;;
	--append) extra=$2 ;;
	*) break ;;
	esac
	shift 2
done
kver=$1 initrd=$2 log=$3 limit=${4:-600}
kernel=$(kimage_of "$kver")
[ -f "$kver" ] && kernel=$kver
[ -r "$kernel" ] || die "no $kernel"
# Multi-vCPU TCG guests need idle=poll, or each cross-CPU wakeup waits
# for a timer tick (see shared/VM-NOTES.md).  tsc=reliable: under TCG the
# clocksource watchdog sees TSC skew, marks it unstable at run time, and
# the live code patching that follows can crash a multi-threaded TCG
# guest (seen: "Oops: int3" in sched_clock_cpu mid-test).
append="console=ttyS0 panic=-1 quiet idle=poll tsc=reliable $extra"

rc=0
timeout --foreground -k 10 "$limit" \
	qemu-system-x86_64 -accel tcg -m "$mem" -smp "$smp" -nographic \
	-no-reboot -kernel "$kernel" -initrd "$initrd" -append "$append" \
	</dev/null >"$log" 2>&1 || rc=$?
# Drop the carriage returns and terminal escapes the firmware and the
# serial console add, so markers start their lines.
sed -i -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' "$log"
[ "$rc" -eq 124 ] && echo "KPOOL-VM-TIMEOUT after ${limit}s" >>"$log"
exit 0
