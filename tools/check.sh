#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check: host checks, then the kselftests in a guest per kernel.
#
# Host checks: the uapi header alone under -std=c90 -pedantic; checkpatch
# --strict on kmod/ and uapi/; library, selftests and examples with
# -Werror; the guest-log judge's own test; per kernel, the module with
# W=1 and sparse (C=2) and no warning, and a dkms build in a private tree.
# Guest: per kernel, boot, insmod, every selftest, rmmod, kernel log scan.
#
# Each host check counts as one result, each kselftest case as one.  The
# last line is "N passed, N failed" (", N skipped" if any); it and the
# HEAD it tested go to build/check-result.  Exits nonzero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

passed=0 failed=0 skipped=0
logs=$KPOOL_BUILD/check
mkdir -p "$logs"

# step NAME CMD...: run one host check, count it, show its log on failure.
step() {
	local name=$1 log=$logs/$1.log
	shift
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		say "PASS  $name"
	else
		failed=$((failed + 1))
		say "FAIL  $name (log: $log)"
		tail -n 40 "$log" | sed 's/^/      /' >&2
		return 1
	fi
}

finish() {
	local line="$passed passed, $failed failed"
	[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
	local head
	head=$(git rev-parse HEAD 2>/dev/null || echo unknown)
	git diff --quiet HEAD 2>/dev/null || head="$head (with uncommitted changes)"
	printf 'head: %s\nresult: %s\n' "$head" "$line" >"$KPOOL_BUILD/check-result"
	echo "$line"
	[ "$failed" -eq 0 ]
	exit
}

uapi_c90() {
	printf '#include <linux/kpool.h>\nint main(void) { return sizeof(struct kpool_sqe) != 64; }\n' |
		${CC:-cc} -std=c90 -pedantic -Wall -Wextra -Werror -Iuapi -x c - \
			-o "$logs/uapi-c90"
}

checkpatch() {
	local out
	out=$(perl "$KSRC_DIR/scripts/checkpatch.pl" --strict --no-tree --terse \
		--show-types -f kmod/*.[ch] uapi/linux/*.h 2>&1)
	printf '%s\n' "$out"
	! grep -Eq '(ERROR|WARNING|CHECK):' <<<"$out"
}

step host-packages tools/setup-host.sh || finish
step kernel-tree-files tools/ksrc.sh || finish
step uapi-c90-standalone uapi_c90
step checkpatch-strict checkpatch
step userspace-build-werror make -s lib selftests examples
step guest-log-judge tools/test-parse.sh

for series in $KPOOL_SERIES; do
	if ! kver=$(kver_of_series "$series"); then
		failed=$((failed + 1))
		say "FAIL  no installed $series kernel with headers"
		continue
	fi
	step "module-w1-sparse-$kver" tools/build-module.sh "$kver" W=1 C=2 || continue
	step "dkms-build-$kver" tools/dkms-check.sh "$kver"

	say "guest $kver: booting and running the kselftests"
	tools/run-suite.sh "$kver" "$KPOOL_BUILD/kmod-$kver/kmod/kpool.ko" \
		>"$logs/guest-$kver.out" 2>&1
	sed 's/^/      /' "$logs/guest-$kver.out" >&2
	result=$(grep '^RESULT ' "$logs/guest-$kver.out" | tail -n1)
	if [ -z "$result" ]; then
		failed=$((failed + 1))
		say "FAIL  guest $kver gave no verdict"
		continue
	fi
	g_p=$(sed -n 's/.*passed=\([0-9]*\).*/\1/p' <<<"$result")
	g_f=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$result")
	g_s=$(sed -n 's/.*skipped=\([0-9]*\).*/\1/p' <<<"$result")
	passed=$((passed + g_p)) failed=$((failed + g_f)) skipped=$((skipped + g_s))
	say "guest $kver: $g_p passed, $g_f failed, $g_s skipped (console: build/guest-$kver.log)"
done
finish
