#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: kpool against io_uring, libuv, GLib and plain syscalls, in
# one guest run per vCPU count (1, then 2 with idle=poll), and a report.
#   KPOOL_BENCH_SERIES  6.12 (default) or 6.1: the guest's kernel
#   KPOOL_BENCH_TASKS   tasks per contender, thread and round (5000)
#   KPOOL_BENCH_ROUNDS  interleaved rounds; medians are reported (5)
# Writes build/bench/results.{csv,md} and bench.png; the guests' consoles
# are build/bench/guest-smpN.log.  Speed is reported, never judged: the
# run fails only if a benchmark fails or the kernel log has a splat.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

tools/setup-host.sh --bench
series=${KPOOL_BENCH_SERIES:-6.12}
tasks=${KPOOL_BENCH_TASKS:-5000}
rounds=${KPOOL_BENCH_ROUNDS:-5}
count=1024			# strace pass: 2048 tasks minus 1024, per 1024
kver=$(kver_of_series "$series") || die "no installed $series kernel with headers"
out=$KPOOL_BUILD/bench
mkdir -p "$out"
rm -f "$out"/*.csv

say "bench: building kpool.ko for $kver and the benchmarks"
ko=$(tools/build-module.sh "$kver")
make -s lib bench-bins examples tools

for smp in 1 2; do
	name=bench/guest-smp$smp
	work=$KPOOL_BUILD/$name
	say "bench: booting $kver with $smp vCPU(s) (TCG, idle=poll)"
	t0=$(date +%s)
	tools/guest.sh --kernel "$kver" --ko "$ko" --name "$name" --smp "$smp" \
		--append '' --tests none --no-tap --timeout 900 --vm-timeout 1200 \
		--file "$out/bench-nop" --file "$out/bench-read4k" \
		--file "$out/bench-mixed" --file "$out/submitters" \
		--file "$(command -v strace)" --file tools/guest/bench.sh \
		--run "sh /bin/bench.sh $tasks $rounds $count" >"$work.verdict" 2>&1 ||
		{ cat "$work.verdict" >&2; die "bench guest with $smp vCPU(s) failed (console: $work.log)"; }
	grep -E '^(nop|read4k|mixed|submitters|SYSCALLS),' "$work.log" |
		sed "s/^/$smp,/" >"$out/smp$smp.csv"
	grep -m1 '^KPOOL-GUEST-UP' "$work.log" | awk '{print $2}' >"$out/kernel"
	say "bench: $smp vCPU(s) done in $(( $(date +%s) - t0 )) s, $(wc -l <"$out/smp$smp.csv") lines"
done

tools/bench-report.sh "$out" "$tasks" "$rounds" "$count"
say "bench: wrote $out/results.md, $out/results.csv and $out/bench.png"
