#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check: host checks, then the kselftests in a guest per kernel.
#
# Host checks: the uapi header alone under -std=c90 -pedantic; checkpatch
# --strict on kmod/ and uapi/; library, selftests and examples with
# -Werror; the guest-log judge's own test; the library tests that need no
# module (plain, ASan+UBSan, TSan); per kernel, the module with W=1 and
# sparse (C=2) and no warning, and a dkms build in a private tree.
# Kernels: Debian 12's 6.1 and 6.12 (installed), and 7.3 fetched from the
# machine's Debian mirror and unpacked under build/ (KPOOL_FETCH_SERIES).
# Guest: per kernel, boot, insmod, every selftest, rmmod, kernel log scan;
# on 6.12 also the pool API's tests built with ASan+UBSan and with TSan.
# And per kernel a guest that installs the module as a user does (dkms
# install, modules-load.d, modprobe.d, sysusers.d, the udev rule) and uses
# it as a member of the kpool group and as an outsider.
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

# The installed headers in a user's strictest build: no qualifier cast
# away, no warning at all.
headers_strict() {
	printf '#include <kpool_pool.h>\n#include <kpool_bufpool.h>\nint main(void) { return 0; }\n' |
		${CC:-cc} -std=c11 -Wall -Wextra -Wcast-qual -Wshadow -Wpedantic \
			-Werror -Iuapi -Iulib/include -x c - -o "$logs/headers-strict"
}

bufpool_debug() {
	make -s DEBUG=1 BUILD="$KPOOL_BUILD" "$KPOOL_BUILD/debug/selftests/bufpool_test" &&
		"$KPOOL_BUILD/debug/selftests/bufpool_test" >"$logs/bufpool-debug.out" &&
		! grep -q 'SKIP.*double' "$logs/bufpool-debug.out"
}

checkpatch() {
	local out
	out=$(perl "$KSRC_DIR/scripts/checkpatch.pl" --strict --no-tree --terse \
		--show-types -f kmod/*.[ch] uapi/linux/*.h 2>&1)
	printf '%s\n' "$out"
	! grep -Eq '(ERROR|WARNING|CHECK):' <<<"$out"
}

# guest KVER NAME VCPUS [guest.sh OPTION...]: run kselftests in a guest
# (all of them unless --tests says), count results.
guest() {
	local kver=$1 name=$2 smp=$3 out result g_p g_f g_s
	shift 3
	out=$logs/$name.out
	say "$name: booting $kver with $smp vCPUs: ${*:-every kselftest}"
	tools/guest.sh --kernel "$kver" --ko "$KPOOL_BUILD/kmod-$kver/kmod/kpool.ko" \
		--smp "$smp" --name "$name" "$@" >"$out" 2>&1
	sed 's/^/      /' "$out" >&2
	result=$(grep '^RESULT ' "$out" | tail -n1)
	if [ -z "$result" ]; then
		failed=$((failed + 1))
		say "FAIL  $name gave no verdict"
		return
	fi
	g_p=$(sed -n 's/.*passed=\([0-9]*\).*/\1/p' <<<"$result")
	g_f=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$result")
	g_s=$(sed -n 's/.*skipped=\([0-9]*\).*/\1/p' <<<"$result")
	passed=$((passed + g_p)) failed=$((failed + g_f)) skipped=$((skipped + g_s))
	say "$name: $g_p passed, $g_f failed, $g_s skipped (console: build/$name.log)"
}

step host-packages tools/setup-host.sh || finish
step kernel-tree-files tools/ksrc.sh || finish
step uapi-c90-standalone uapi_c90
step headers-cast-qual-werror headers_strict
step checkpatch-strict checkpatch
step userspace-build-werror make -s lib selftests selftests-san examples
step guest-log-judge tools/test-parse.sh
san=$KPOOL_BUILD/selftests-san
step host-bufpool "$KPOOL_BUILD/selftests/bufpool_test"
step host-bufpool-asan-ubsan "$san/bufpool_test.asan"
step host-bufpool-tsan "$san/bufpool_test.tsan"
# make DEBUG=1: the checked build, where the double-put test must run.
step host-bufpool-debug-build bufpool_debug
step host-libpool-without-module "$KPOOL_BUILD/selftests/libpool_test"
step install-pkg-config tools/install-check.sh
# A man page for every public function, in step with the map and headers.
step man-pages tools/man-check.sh
# make deb: kpool-dkms, libkpool0, libkpool-dev, kpool-tools; lintian;
# a program built against the unpacked -dev package.
step deb-packages tools/deb-check.sh

for series in $KPOOL_FETCH_SERIES; do
	step "kernel-fetch-$series" tools/fetch-kernel.sh "$series"
done
for series in $KPOOL_SERIES $KPOOL_FETCH_SERIES; do
	if ! kver=$(kver_of_series "$series"); then
		failed=$((failed + 1))
		say "FAIL  no installed or fetched $series kernel with headers"
		continue
	fi
	step "module-w1-sparse-$kver" tools/build-module.sh "$kver" W=1 C=2 || continue
	step "dkms-build-$kver" tools/dkms-check.sh "$kver"
	# dkms install, modules-load.d, modprobe.d, sysusers.d, udev rule.
	step "module-install-$kver" tools/module-install-check.sh "$kver"

	# The library's tests again under the sanitizers, on one kernel.
	also=()
	[ "$series" = 6.12 ] && for t in libpool_test libgroup_test libdestroy_test; do
		also+=(--also "$san/$t.asan" --also "$san/$t.tsan")
	done
	guest "$kver" "guest-$kver" 2 ${also[@]+"${also[@]}"}
	# The pool's capacity and scheduling, and the pool API, with 4 vCPUs.
	guest "$kver" "guest-$kver-smp4" 4 \
		--tests "pool_sched_test pool_cancel_test pool_drain_test libpool_test"
done
finish
