#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Did the guest of LOG die of an emulator breakpoint?
#   stale-int3.sh LOG     exit 0: yes, 1: no
# "Oops: int3" means the CPU ran an int3 the kernel did not expect.  When
# the kernel's live text patching plants one it expects it (and says
# nothing); under TCG a vCPU can still run one from code it translated
# before the patch finished, after the kernel took it out.  The Oops then
# shows, in its "Code:" line, the instruction around RIP already whole:
# the byte before RIP (where the int3 was) is no longer 0xcc.  Any other
# Oops, or an int3 still in place, is a real one: exit 1.
set -euo pipefail
log=$1
awk '
/Oops: int3/ { oops = 1; next }
oops && /Code:/ {
	if (match($0, /[0-9a-f][0-9a-f] <[0-9a-f][0-9a-f]>/))
		stale = substr($0, RSTART, 2) != "cc"
	exit
}
END { exit !stale }' "$log"
