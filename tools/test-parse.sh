#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Prove the guest-log judge can fail: feed parse-log.sh a good log and
# logs with one fault each, and check each verdict.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
good() {
	cat <<'LOG'
Booting from ROM..
KPOOL-GUEST-UP 6.12 cpus=2
KPOOL-INSMOD-OK
KPOOL-RUN-BEGIN a_test
TAP version 13
1..2
ok 1 a.one
ok 2 a.two # SKIP not here
KPOOL-RUN-END rc=0 a_test
KPOOL-RMMOD-OK
KPOOL-DMESG-BEGIN
[    2.2] kpool: loading out-of-tree module taints kernel.
KPOOL-DMESG-END
KPOOL-GUEST-DONE
LOG
}

# The same through the kernel's run_kselftest.sh: each program's TAP
# prefixed with "# ", the runner's verdict on each program after it.
runner() {
	cat <<'LOG'
KPOOL-GUEST-UP 6.12 cpus=2
KPOOL-INSMOD-OK
KPOOL-RUN-BEGIN /kselftest/run_kselftest.sh -t kpool:a_test -t kpool:b_test -t kpool:c_test
TAP version 13
1..3
# timeout set to 300
# selftests: kpool: a_test
# TAP version 13
# 1..2
# #  RUN           a.one ...
# #            OK  a.one
# ok 1 a.one
# #  RUN           a.two ...
# ok 2 a.two # SKIP not here
# # Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0
ok 1 selftests: kpool: a_test
# timeout set to 300
# selftests: kpool: b_test
# TAP version 13
# 1..1
# #  RUN           b.one ...
# ok 1 b.one
ok 2 selftests: kpool: b_test
# timeout set to 300
# selftests: kpool: c_test
# TAP version 13
# 1..0 # SKIP no fault injection
ok 3 selftests: kpool: c_test # SKIP
KPOOL-RUN-END rc=0 /kselftest/run_kselftest.sh -t kpool:a_test -t kpool:b_test -t kpool:c_test
KPOOL-RMMOD-OK
KPOOL-DMESG-BEGIN
KPOOL-DMESG-END
KPOOL-GUEST-DONE
LOG
}

bad=0
expect() {	# expect WANT_RC NAME < log
	local want=$1 name=$2 rc
	cat >"$dir/$name.log"
	"$KPOOL_TOP/tools/parse-log.sh" "$dir/$name.log" >"$dir/$name.out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		say "parse-log: '$name' gave rc=$rc, expected $want"
		cat "$dir/$name.out" >&2
		bad=1
	fi
}

good | expect 0 good
good | sed 's/^ok 1 a.one/not ok 1 a.one/' | expect 1 failed-test
good | sed '/^ok 1 a.one/d' | expect 1 missing-result
good | sed 's/RUN-END rc=0/RUN-END rc=1/' | expect 1 nonzero-exit
good | sed '/KPOOL-RUN-END/d' | expect 1 run-never-ended
good | sed 's/KPOOL-INSMOD-OK/KPOOL-INSMOD-FAIL/' | expect 1 insmod-failed
good | sed 's/KPOOL-RMMOD-OK/KPOOL-RMMOD-FAIL/' | expect 1 rmmod-failed
good | sed '/KPOOL-GUEST-DONE/d' | expect 1 guest-unfinished
good | sed '/KPOOL-GUEST-UP/d' | expect 1 no-boot
good | sed 's/^\[    2.2\].*/[    3.1] WARNING: CPU: 0 PID: 1 at kmod\/ring.c:9/' | expect 1 warn
good | sed 's/^\[    2.2\].*/[    3.1] BUG: KASAN: slab-use-after-free in kpool_release/' | expect 1 kasan
good | sed 's/^\[    2.2\].*/[    3.1] workqueue: kpool_task_work hogged CPU for >10000us 4 times/' | expect 1 hog
printf 'KPOOL-VM-TIMEOUT after 9s\n' | cat <(good) - | expect 1 timeout
good | sed 's/^\[    2.2\].*/unreferenced object 0xffff888003c1e000 (size 256):/' | expect 1 kmemleak
good | sed 's/^\[    2.2\].*/[    3.1] WARNING: possible circular locking dependency detected/' | expect 1 lockdep
good | sed 's/^\[    2.2\].*/==41==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020/' | expect 1 asan
good | sed 's/^\[    2.2\].*/WARNING: ThreadSanitizer: data race (pid=446)/' | expect 1 tsan
good | sed 's/^\[    2.2\].*/ulib\/pool.c:9:3: runtime error: signed integer overflow/' | expect 1 ubsan
# Stacks printed for failures fault injection asked for are no verdict.
good | sed 's/^\[    2.2\].*/[    3.1]  ? lockdep_hardirqs_on_prepare+0x10d\/0x12a\n[    3.1] Call Trace:/' | expect 0 injected-failure-stack
# A command the guest's timeout killed names the test it was in.
good | sed -e 's/^ok 2 a.two.*/#  RUN           a.two .../' -e 's/RUN-END rc=0/RUN-END rc=124/' |
	expect 1 per-command-timeout
grep -q 'killed by its time limit in the guest (stopped in a.two after 1 results)' \
	"$dir/per-command-timeout.out" ||
	{ say "parse-log: a timeout does not say where: $(cat "$dir/per-command-timeout.out")"; bad=1; }
runner | expect 0 runner-good
runner | sed -e 's/^# ok 1 b.one/# not ok 1 b.one/' -e 's/^ok 2 selftests/not ok 2 selftests/' \
	-e 's/kpool: b_test$/kpool: b_test # exit=1/' | expect 1 runner-failed-test
runner | sed '/^# ok 1 b.one/d' | expect 1 runner-missing-result
runner | sed 's/^ok 2 selftests: kpool: b_test/not ok 2 selftests: kpool: b_test # exit=139/' |
	expect 1 runner-program-crashed
runner | sed -e '/^# ok 1 b.one/d' \
	-e 's/^ok 2 selftests: kpool: b_test/#\nnot ok 2 selftests: kpool: b_test # TIMEOUT 300 seconds/' |
	expect 1 runner-timeout
grep -q 'b_test: killed by its time limit (settings) (stopped in b.one after 0 results)' \
	"$dir/runner-timeout.out" ||
	{ say "parse-log: a runner timeout does not say where: $(cat "$dir/runner-timeout.out")"; bad=1; }
runner | sed '/^ok 3 selftests/,$d' | expect 1 runner-died
runner | sed 's/^# ok 1 b.one/[    3.1] BUG: KASAN: slab-use-after-free in kpool_release/' |
	expect 1 runner-splat
grep -q 'RESULT passed=2 failed=0 skipped=2' "$dir/runner-good.out" ||
	{ say "parse-log: runner log miscounted: $(cat "$dir/runner-good.out")"; bad=1; }
# stale-int3.sh: only an int3 Oops whose breakpoint is already gone (the
# emulator's) may boot a guest again.
int3() {	# int3 WANT_RC NAME OOPS-LINE CODE-BYTES
	local rc
	{ good | sed '/KPOOL-GUEST-DONE/d'; printf '[   53.7] %s\n[   53.7] RIP: 0010:__schedule+0x3f3/0x1080\n[   53.7] Code: 00 00 01 %s 44 00 00 c6 43\n' "$3" "$4"; } >"$dir/$2.log"
	"$KPOOL_TOP/tools/stale-int3.sh" "$dir/$2.log" && rc=0 || rc=1
	[ "$rc" -eq "$1" ] || { say "stale-int3: '$2' gave $rc, expected $1"; bad=1; }
}
int3 0 int3-patched-out 'Oops: int3: 0000 [#1] SMP NOPTI' '0f <1f>'
int3 1 int3-still-there 'Oops: int3: 0000 [#1] SMP NOPTI' 'cc <1f>'
int3 1 other-oops 'Oops: general protection fault, probably for non-canonical address' '0f <1f>'
grep -q . "$dir/good.out" && grep -q 'RESULT passed=1 failed=0 skipped=1' "$dir/good.out" ||
	{ say "parse-log: good log miscounted: $(cat "$dir/good.out")"; bad=1; }
exit $bad
