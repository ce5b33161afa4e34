#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check-debug: the whole suite on a debug kernel (KASAN, lockdep,
# DEBUG_OBJECTS, kmemleak, WQ watchdog, fault injection), the fail-nth
# sweeps and 1 M fuzzed tasks, in three guests (suite, fail-nth, fuzzer),
# each ending with rmmod and a kmemleak scan.  Any report from any tool,
# or a scan that did not run, fails the run.
#   check-debug.sh [--fuzz-only]      (make fuzz: the fuzzer alone)
# KPOOL_FUZZ_ARGS overrides the fuzzer's arguments (default --tasks 800000
# --seconds 900); a second fuzzer run of 200000 tasks (at most 300 s) runs
# as nobody in new user, UTS and cgroup namespaces (KPOOL_FUZZ_UNPRIV_ARGS
# overrides it).
# Last line: "N passed, N failed"; the result goes to build/check-debug-result.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

fuzz_only=0
[ "${1:-}" = --fuzz-only ] && fuzz_only=1

tools/setup-host.sh || die "host setup failed"
tools/ksrc.sh || die "kernel tree files missing"
make -s lib selftests examples fuzzer || die "userspace build failed"

t0=$(date +%s)
tree=$(tools/debug/build-kernel.sh) || die "debug kernel build failed"
say "check-debug: debug kernel ready in $(( $(date +%s) - t0 )) s: $tree"
tools/build-module.sh "$tree" W=1 >/dev/null || die "module build against the debug kernel failed"

# A slower machine fuzzes and stresses less rather than running over:
# each bound is tasks or time, whichever comes first.
fuzz=${KPOOL_FUZZ_ARGS:---tasks 800000 --seconds 900}
fuzz_unpriv=${KPOOL_FUZZ_UNPRIV_ARGS:---tasks 200000 --seconds 300}
ko=$KPOOL_BUILD/kmod-debug/kmod/kpool.ko
out=$KPOOL_BUILD/check-debug.out
: >"$out"
passed=0 failed=0 skipped=0

# guest NAME LIMIT [guest.sh OPTION...]: one debug guest (the suite, the
# fail-nth sweeps or the fuzzer), each ending with its own kmemleak scan
# after rmmod and well inside its bound of LIMIT seconds (each test and
# command too).  2 vCPUs, 2 GiB.  Under KASAN a pool task costs ~40x
# more: libpool_test's 8-thread stress runs 8 x 20k tasks here (8 x 100k
# in make check), for at most 2 minutes.
guest() {
	local name=$1 limit=$2 result p f s log=$KPOOL_BUILD/$1.log
	shift 2
	say "check-debug: $name: $*"
	tools/guest.sh --kernel "$tree/arch/x86/boot/bzImage" --ko "$ko" \
		--smp 2 --mem 2G --name "$name" --vm-timeout "$limit" \
		--timeout "$limit" --env KPOOL_STRESS_TASKS=20000 \
		--env KPOOL_STRESS_SECONDS=120 "$@" >"$KPOOL_BUILD/$name.out" 2>&1
	tee -a "$out" <"$KPOOL_BUILD/$name.out"
	result=$(grep '^RESULT ' "$KPOOL_BUILD/$name.out" | tail -n1)
	p=$(sed -n 's/.*passed=\([0-9]*\).*/\1/p' <<<"$result")
	f=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$result")
	s=$(sed -n 's/.*skipped=\([0-9]*\).*/\1/p' <<<"$result")
	[ -n "$p" ] || { p=0; f=1; s=0; }
	# A scan that never ran is a failure, not a clean bill.
	if ! grep -q '^KPOOL-KMEMLEAK-END' "$log"; then
		say "  $name: FAIL: the kmemleak scan did not run (see $log)"
		f=$((f + 1))
	elif sed -n '/KPOOL-KMEMLEAK-BEGIN/,/KPOOL-KMEMLEAK-END/p' "$log" |
		grep -q 'unreferenced object'; then
		say "  $name: kmemleak: leaks reported (see $log)"
	else
		say "  $name: kmemleak: no leaks after rmmod"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

if [ "$fuzz_only" -eq 0 ]; then
	# About 9 minutes under KASAN on this machine; the sweeps run in
	# their own guest.
	guest guest-debug 2400 --skip fail_nth_test
	# About 3 minutes.
	guest guest-debug-failnth 1800 --tests fail_nth_test
	log=$KPOOL_BUILD/guest-debug-failnth.log
	points=$(grep -ho '[0-9]* injection points' "$log" | awk '{s += $1} END {print s + 0}')
	say "  fail-nth: $points injection points over $(grep -c 'injection points' "$log") scenarios"
fi
# About 8 minutes of fuzzing; setup_test first, a quick sanity run.  A
# longer --seconds (make fuzz DURATION=...) gets a longer bound.
fuzz_limit=1800
secs=$(sed -n 's/.*--seconds \([0-9]*\).*/\1/p' <<<"$fuzz")
[ -n "$secs" ] && [ $((secs + 900)) -gt $fuzz_limit ] && fuzz_limit=$((secs + 900))
guest guest-debug-fuzz "$fuzz_limit" --tests setup_test \
	--file "$KPOOL_BUILD/tools/kpool-fuzz" --run "kpool-fuzz $fuzz" \
	--run "kpool-fuzz --unpriv 1 $fuzz_unpriv"
grep -h '^ok 1 kpool-fuzz\|^not ok 1 kpool-fuzz\|# kpool-fuzz: seed' \
	"$KPOOL_BUILD/guest-debug-fuzz.log" | sed 's/^/  /'

p=$passed f=$failed s=$skipped
line="$p passed, $f failed"
[ "${s:-0}" -gt 0 ] && line="$line, $s skipped"
printf 'head: %s\nresult: %s\n' "$(git rev-parse HEAD 2>/dev/null)" "$line" \
	>"$KPOOL_BUILD/check-debug-result"
echo "$line"
[ "$f" -eq 0 ]
