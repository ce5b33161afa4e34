#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check-debug: the whole suite on a debug kernel (KASAN, lockdep,
# DEBUG_OBJECTS, kmemleak, WQ watchdog, fault injection), plus the
# fail-nth sweeps and at least 1 M fuzzed tasks, then rmmod and a kmemleak
# scan.  Any report from any tool fails the run.
#   check-debug.sh [--fuzz-only]      (make fuzz: the fuzzer alone)
# KPOOL_FUZZ_ARGS overrides the fuzzer's arguments (default --tasks 800000);
# a second fuzzer run of 200000 tasks runs as nobody in new user, UTS and
# cgroup namespaces (KPOOL_FUZZ_UNPRIV_ARGS overrides it).
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

fuzz=${KPOOL_FUZZ_ARGS:---tasks 800000}
fuzz_unpriv=${KPOOL_FUZZ_UNPRIV_ARGS:---tasks 200000}
export KPOOL_RUN_EXTRA="kpool-fuzz $fuzz
kpool-fuzz --unpriv 1 $fuzz_unpriv"
export KPOOL_RUN_FILES="$KPOOL_BUILD/tools/kpool-fuzz"
export KPOOL_VM_MEM=2G KPOOL_VM_SMP=2 KPOOL_RUN_NAME=guest-debug
export KPOOL_RUN_TIMEOUT=3600
# The whole guest: about 9 minutes of selftests and 8 of fuzzing under
# KASAN on this machine; the bound only catches a hang.
export KPOOL_VM_TIMEOUT=3000
# Under KASAN a pool task costs ~40x more: libpool_test's 8-thread stress
# runs 8 x 20k tasks here (8 x 100k in make check).
export KPOOL_RUN_ENV="KPOOL_STRESS_TASKS=20000"
tests=()
if [ "$fuzz_only" -eq 0 ]; then
	for t in "$KPOOL_BUILD"/selftests/*_test; do tests+=("$(basename "$t")"); done
else
	tests=(setup_test)	# a quick sanity run before the fuzzer
fi

say "check-debug: booting the debug kernel: ${tests[*]}, then kpool-fuzz $fuzz, then as nobody $fuzz_unpriv"
out=$KPOOL_BUILD/check-debug.out
tools/run-suite.sh "$tree/arch/x86/boot/bzImage" "$KPOOL_BUILD/kmod-debug/kmod/kpool.ko" \
	"${tests[@]}" >"$out" 2>&1
cat "$out"
log=$KPOOL_BUILD/guest-debug.log

# What the run covered, from the guest's own words.
grep -h '^ok 1 kpool-fuzz\|^not ok 1 kpool-fuzz\|# kpool-fuzz: seed' "$log" | sed 's/^/  /'
points=$(grep -ho '[0-9]* injection points' "$log" | awk '{s += $1} END {print s + 0}')
say "  fail-nth: $points injection points over $(grep -c 'injection points' "$log") scenarios"
if sed -n '/KPOOL-KMEMLEAK-BEGIN/,/KPOOL-KMEMLEAK-END/p' "$log" | grep -q 'unreferenced object'; then
	say "  kmemleak: leaks reported (see $log)"
else
	say "  kmemleak: no leaks after rmmod"
fi

result=$(grep '^RESULT ' "$out" | tail -n1)
p=$(sed -n 's/.*passed=\([0-9]*\).*/\1/p' <<<"$result")
f=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$result")
s=$(sed -n 's/.*skipped=\([0-9]*\).*/\1/p' <<<"$result")
[ -n "$p" ] || { p=0; f=1; s=0; }
line="$p passed, $f failed"
[ "${s:-0}" -gt 0 ] && line="$line, $s skipped"
printf 'head: %s\nresult: %s\n' "$(git rev-parse HEAD 2>/dev/null)" "$line" \
	>"$KPOOL_BUILD/check-debug-result"
echo "$line"
[ "$f" -eq 0 ]
