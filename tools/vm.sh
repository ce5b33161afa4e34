#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel with an initramfs under TCG (never KVM here) and save the
# serial console to LOG.  The verdict comes from markers in LOG, not from
# QEMU's exit code.
#   vm.sh KVER INITRD LOG [TIMEOUT_S]
# KPOOL_VM_SMP (default 2), KPOOL_VM_MEM (default 1G), KPOOL_VM_APPEND
# (added to the command line); KVER may instead be a bzImage's path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=$1 initrd=$2 log=$3 limit=${4:-600}
kernel=$(kimage_of "$kver")
[ -f "$kver" ] && kernel=$kver
[ -r "$kernel" ] || die "no $kernel"
smp=${KPOOL_VM_SMP:-2}
# Multi-vCPU TCG guests need idle=poll, or each cross-CPU wakeup waits
# for a timer tick (see shared/VM-NOTES.md).  tsc=reliable: under TCG the
# clocksource watchdog sees TSC skew, marks it unstable at run time, and
# the live code patching that follows can crash a multi-threaded TCG
# guest (seen: "Oops: int3" in sched_clock_cpu mid-test).
append="console=ttyS0 panic=-1 quiet idle=poll tsc=reliable ${KPOOL_VM_APPEND:-}"

rc=0
timeout --foreground -k 10 "$limit" \
	qemu-system-x86_64 -accel tcg -m "${KPOOL_VM_MEM:-1G}" -smp "$smp" -nographic \
	-no-reboot -kernel "$kernel" -initrd "$initrd" -append "$append" \
	</dev/null >"$log" 2>&1 || rc=$?
# Drop the carriage returns and terminal escapes the firmware and the
# serial console add, so markers start their lines.
sed -i -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' "$log"
[ "$rc" -eq 124 ] && echo "KPOOL-VM-TIMEOUT after ${limit}s" >>"$log"
exit 0
