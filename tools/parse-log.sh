#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Read a guest console log (see guest-init.sh) and judge it.
#   parse-log.sh [--no-tap] LOG
# With --no-tap the commands are plain programs: each counts as one
# result, passed if it exits 0.
# Prints each failure, then "RESULT passed=P failed=F skipped=S" last.
# Counts TAP results of each command run; a boot, insmod, rmmod or guest
# that did not finish, a command that did not end, a missing result, a
# nonzero exit and any kernel splat each count as one failure.  Exits 1
# when anything failed.
set -euo pipefail

tap=1
if [ "${1:-}" = --no-tap ]; then
	tap=0
	shift
fi
log=$1
[ -r "$log" ] || { echo "RESULT passed=0 failed=1 skipped=0"; exit 1; }

# Kernel log lines that fail a run, wherever they appear.  Each checker
# names its report (lockdep's start "WARNING:" or "BUG:"); a bare stack is
# no verdict: fault injection and warn_alloc print stacks, with frames
# such as lockdep_hardirqs_on_prepare, for failures fail-nth asks for.
# The sanitizer builds of the selftests report on the same console.
splat='ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|runtime error:|BUG:|WARNING:|Oops|KASAN|UBSAN|ODEBUG|possible (recursive|circular) locking|refcount_t:|hogged CPU|general protection fault|Kernel panic|kmemleak: [0-9]+ new suspected|list_(add|del) corruption|stack-protector|soft lockup|hung_task|blocked for more than|unreferenced object 0x'

awk -v splat="$splat" -v tap="$tap" '
function fail(msg) { failed++; print "FAIL: " msg }
# Where a command that did not finish was: the test it had started (the
# harness prints "#  RUN name" first) and how many results it gave.
function where() {
	return running != "" ? " (stopped in " running " after " seen " results)" : \
		" (after " seen " results)"
}
function end_run(rc,   missing) {
	if (!tap) {
		if (rc == 0) passed++; else fail(run ": exited with status " rc)
		in_run = 0
		return
	}
	missing = plan - seen
	if (plan < 0)
		fail(run ": printed no TAP plan")
	else if (missing > 0)
		fail(run ": " missing " of " plan " results missing" where())
	if (rc == 124)
		fail(run ": killed by its time limit in the guest" where())
	else if (rc != 0 && run_failed == 0)
		fail(run ": exited with status " rc)
	in_run = 0
}
BEGIN { passed = failed = skipped = 0; in_run = 0 }
$0 ~ splat && !/^(ok|not ok) [0-9]+ / && !/^#/ { fail("kernel log: " $0); next }
/^KPOOL-GUEST-UP/	{ up = 1; next }
/^KPOOL-INSMOD-OK/	{ insmod = 1; next }
/^KPOOL-INSMOD-FAIL/	{ fail("insmod failed"); next }
/^KPOOL-RMMOD-OK/	{ rmmod = 1; next }
/^KPOOL-RMMOD-FAIL/	{ fail("rmmod failed"); rmmod = 1; next }
/^KPOOL-GUEST-DONE/	{ done = 1; next }
/^KPOOL-VM-TIMEOUT/	{ fail("guest timed out: " $0); next }
/^KPOOL-RUN-BEGIN /	{
	if (in_run) fail(run ": did not end")
	run = substr($0, 17); in_run = 1; plan = -1; seen = 0; run_failed = 0
	running = ""
	next
}
/^KPOOL-RUN-END /	{
	rc = $2; sub(/^rc=/, "", rc)
	if (in_run) end_run(rc + 0)
	next
}
in_run && /^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; next }
in_run && /^#  RUN / { running = $3; next }
in_run && /^ok [0-9]+ / {
	seen++; running = ""
	if ($0 ~ /# SKIP/) skipped++; else passed++
	next
}
in_run && /^not ok [0-9]+ / {
	seen++; running = ""; run_failed++; fail(run ": " $0); next
}
END {
	if (in_run) fail(run ": did not end (crash or hang)" where())
	if (!up) fail("guest did not boot to /init")
	else if (!insmod && failed == 0) fail("module was not loaded")
	if (insmod && !rmmod) fail("module was not unloaded")
	if (up && !done) fail("guest did not finish")
	printf "RESULT passed=%d failed=%d skipped=%d\n", passed, failed, skipped
	exit failed ? 1 : 0
}' "$log"
