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
export KPOOL_VM_MEM=2G KPOOL_VM_SMP=2
# Under KASAN a pool task costs ~40x more: libpool_test's 8-thread stress
# runs 8 x 20k tasks here (8 x 100k in make check), for at most 2 minutes.
export KPOOL_RUN_ENV="KPOOL_STRESS_TASKS=20000 KPOOL_STRESS_SECONDS=120"
ko=$KPOOL_BUILD/kmod-debug/kmod/kpool.ko
out=$KPOOL_BUILD/check-debug.out
: >"$out"
passed=0 failed=0 skipped=0

# guest NAME LIMIT TEST...: one debug guest (the suite, the fail-nth
# sweeps or the fuzzer), each ending with its own kmemleak scan after
# rmmod and well inside its bound of LIMIT seconds (each command too);
# KPOOL_RUN_EXTRA and KPOOL_RUN_FILES as the caller sets them.
guest() {
	local name=$1 limit=$2 result p f s log=$KPOOL_BUILD/$1.log
	shift 2
	say "check-debug: $name: $*${KPOOL_RUN_EXTRA:+, then $(tr '\n' ';' <<<"$KPOOL_RUN_EXTRA")}"
	KPOOL_RUN_NAME=$name KPOOL_VM_TIMEOUT=$limit KPOOL_RUN_TIMEOUT=$limit \
		tools/run-suite.sh "$tree/arch/x86/boot/bzImage" "$ko" "$@" \
		>"$KPOOL_BUILD/$name.out" 2>&1
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
	tests=()
	for t in "$KPOOL_BUILD"/selftests/*_test; do
		[ "$(basename "$t")" = fail_nth_test ] || tests+=("$(basename "$t")")
	done
	# About 9 minutes under KASAN on this machine.
	KPOOL_RUN_EXTRA= KPOOL_RUN_FILES= guest guest-debug 2400 "${tests[@]}"
	# About 3 minutes.
	KPOOL_RUN_EXTRA= KPOOL_RUN_FILES= guest guest-debug-failnth 1800 fail_nth_test
	log=$KPOOL_BUILD/guest-debug-failnth.log
	points=$(grep -ho '[0-9]* injection points' "$log" | awk '{s += $1} END {print s + 0}')
	say "  fail-nth: $points injection points over $(grep -c 'injection points' "$log") scenarios"
fi
# About 8 minutes of fuzzing; setup_test first, a quick sanity run.  A
# longer --seconds (make fuzz DURATION=...) gets a longer bound.
fuzz_limit=1800
secs=$(sed -n 's/.*--seconds \([0-9]*\).*/\1/p' <<<"$fuzz")
[ -n "$secs" ] && [ $((secs + 900)) -gt $fuzz_limit ] && fuzz_limit=$((secs + 900))
KPOOL_RUN_EXTRA="kpool-fuzz $fuzz
kpool-fuzz --unpriv 1 $fuzz_unpriv" KPOOL_RUN_FILES="$KPOOL_BUILD/tools/kpool-fuzz" \
	guest guest-debug-fuzz "$fuzz_limit" setup_test
grep -h '^ok 1 kpool-fuzz\|^not ok 1 kpool-fuzz\|# kpool-fuzz: seed' \
	"$KPOOL_BUILD/guest-debug-fuzz.log" | sed 's/^/  /'

p=$passed f=$failed s=$skipped
line="$p passed, $f failed"
[ "${s:-0}" -gt 0 ] && line="$line, $s skipped"
printf 'head: %s\nresult: %s\n' "$(git rev-parse HEAD 2>/dev/null)" "$line" \
	>"$KPOOL_BUILD/check-debug-result"
echo "$line"
[ "$f" -eq 0 ]
