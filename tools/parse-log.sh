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
# TAP comes at two levels.  Level 0 is a command of the run list; level 1
# a test program run_kselftest.sh runs, its output prefixed with "# "
# between "# selftests: kpool: NAME" and the "ok N selftests: kpool: NAME"
# verdict of the runner.  Each level has a name, a plan and its results.
function open_level(l, nm) {
	name[l] = nm; plan[l] = -1; seen[l] = 0; nfail[l] = 0; running[l] = ""
}
# Where a program that did not finish was: the test it had started (the
# harness prints "#  RUN name" first) and how many results it gave.
function where(l) {
	return running[l] != "" ? " (stopped in " running[l] " after " seen[l] " results)" : \
		" (after " seen[l] " results)"
}
# A plan whose results did not all come.
function check_plan(l) {
	if (plan[l] < 0)
		fail(name[l] ": printed no TAP plan")
	else if (plan[l] - seen[l] > 0)
		fail(name[l] ": " plan[l] - seen[l] " of " plan[l] " results missing" where(l))
}
function end_run(rc) {
	if (in_sub)
		fail(name[1] ": did not end" where(1))
	in_sub = 0
	in_run = 0
	if (!tap) {
		if (rc == 0) passed++; else fail(name[0] ": exited with status " rc)
		return
	}
	check_plan(0)
	if (rc == 124)
		fail(name[0] ": killed by its time limit in the guest" where(0))
	else if (rc != 0 && nfail[0] == 0 && sub_failed == 0)
		fail(name[0] ": exited with status " rc)
}
# The verdict of the runner on one test program.
function end_sub(line,   rc) {
	seen[0]++
	in_sub = 0
	if (line ~ /^ok / && line ~ /# SKIP/) {
		if (seen[1] == 0) skipped++	# skipped whole: count it once
		return
	}
	check_plan(1)
	if (line ~ /# TIMEOUT/) {
		sub_failed++
		fail(name[1] ": killed by its time limit (settings)" where(1))
	} else if (line ~ /^not ok / && nfail[1] == 0) {
		sub_failed++
		rc = line; sub(/.*# exit=/, "", rc)
		fail(name[1] ": exited with status " rc)
	}
}
# One TAP line at level l.
function tap_line(l, line) {
	if (line ~ /^1\.\.[0-9]+/) {
		split(line, f, " "); plan[l] = substr(f[1], 4) + 0
	} else if (line ~ /^#  RUN /) {
		split(line, f, " "); running[l] = f[3]
	} else if (line ~ /^ok [0-9]+ /) {
		seen[l]++; running[l] = ""
		if (line ~ /# SKIP/) skipped++; else passed++
	} else if (line ~ /^not ok [0-9]+ /) {
		seen[l]++; running[l] = ""; nfail[l]++; fail(name[l] ": " line)
	}
}
BEGIN { passed = failed = skipped = 0; in_run = in_sub = 0 }
$0 ~ splat && !/^(ok|not ok) [0-9]+ / && !/^#/ { fail("kernel log: " $0); next }
/^KPOOL-GUEST-UP/	{ up = 1; next }
/^KPOOL-INSMOD-OK/	{ insmod = 1; next }
/^KPOOL-INSMOD-FAIL/	{ fail("insmod failed"); next }
/^KPOOL-RMMOD-OK/	{ rmmod = 1; next }
/^KPOOL-RMMOD-FAIL/	{ fail("rmmod failed"); rmmod = 1; next }
/^KPOOL-GUEST-DONE/	{ done = 1; next }
/^KPOOL-VM-TIMEOUT/	{ fail("guest timed out: " $0); next }
/^KPOOL-RUN-BEGIN /	{
	if (in_run) fail(name[0] ": did not end")
	open_level(0, substr($0, 17)); in_run = 1; in_sub = 0; sub_failed = 0
	next
}
/^KPOOL-RUN-END /	{
	rc = $2; sub(/^rc=/, "", rc)
	if (in_run) end_run(rc + 0)
	next
}
!in_run || !tap		{ next }
/^# selftests: [^ ]+: [^ ]+$/ {
	if (in_sub) fail(name[1] ": did not end" where(1))
	open_level(1, $4); in_sub = 1; running[0] = $4
	next
}
/^(not )?ok [0-9]+ selftests: / { end_sub($0); running[0] = ""; next }
in_sub && /^# /		{ tap_line(1, substr($0, 3)); next }
in_sub			{ next }
			{ tap_line(0, $0) }
END {
	if (in_run) fail(name[0] ": did not end (crash or hang)" \
		(in_sub ? " in " name[1] where(1) : where(0)))
	if (!up) fail("guest did not boot to /init")
	else if (!insmod && failed == 0) fail("module was not loaded")
	if (insmod && !rmmod) fail("module was not unloaded")
	if (up && !done) fail("guest did not finish")
	printf "RESULT passed=%d failed=%d skipped=%d\n", passed, failed, skipped
	exit failed ? 1 : 0
}' "$log"
