#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Turn make bench's guest output into results.csv, results.md and
# bench.png.  Targets are reported with their measured ratios, never
# asserted.
#   bench-report.sh DIR TASKS ROUNDS COUNT_TASKS
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=$1 tasks=$2 rounds=$3 count=$4
raw=$dir/raw.csv
cat "$dir"/smp*.csv >"$raw"

# results.csv: one row per vCPUs x workload x contender x threads, with
# the syscalls per task the strace pass counted for that contender.
awk -F, -v OFS=, '
$2 == "SYSCALLS" { sc[$1 "," $3 "," $4] = $6 / $5; next }
$2 == "nop" || $2 == "read4k" || $2 == "mixed" { rows[++n] = $0 }
END {
	print "vcpus,workload,contender,threads,depth,tasks,ns_per_task,ns_min,ns_max,tasks_per_s,p50_ns,p99_ns,cpu_ns_per_task,syscalls_per_task"
	for (i = 1; i <= n; i++) {
		split(rows[i], f, ",")
		k = f[1] "," f[2] "," f[3]
		print rows[i], (k in sc) ? sprintf("%.4f", sc[k]) : ""
	}
}' "$raw" >"$dir/results.csv"

env_line() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
	printf 'Guest kernel %s under QEMU TCG (software emulation, no KVM) on a %s host; ' \
		"$(cat "$dir/kernel")" "$cpu"
	printf '1 vCPU, and 2 vCPUs booted with idle=poll. %s tasks per contender, thread and round; ' "$tasks"
	printf 'median of %s interleaved rounds, [min-max] across rounds. Commit %s, %s.\n' \
		"$rounds" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(date -u +%Y-%m-%d)"
}

table() {	# table VCPUS WORKLOAD
	echo "| contender | threads | in flight | ns/task [min-max] | tasks/s | p50 us | p99 us | syscalls/task | CPU ns/task |"
	echo "|---|---|---|---|---|---|---|---|---|"
	awk -F, -v v="$1" -v w="$2" '
	NR > 1 && $1 == v && $2 == w {
		printf "| %s | %s | %s | %s [%s-%s] | %s | %.1f | %.1f | %s | %s |\n",
			$3, $4, $5, $7, $8, $9, $10, $11 / 1000, $12 / 1000,
			$14 == "" ? "-" : $14, $13
	}' "$dir/results.csv"
}

# value VCPUS WORKLOAD CONTENDER THREADS COLUMN
value() {
	awk -F, -v v="$1" -v w="$2" -v c="$3" -v t="$4" -v col="$5" '
	NR > 1 && $1 == v && $2 == w && $3 == c && $4 == t { print $col; exit }' \
		"$dir/results.csv"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v op="$2" -v x="$3" 'BEGIN {
	if (r == "n/a") { print "n/a"; exit }
	print ((op == "le" && r <= x) || (op == "ge" && r >= x)) ? "met" : "missed" }'; }

target() {	# target TEXT RATIO OP GOAL
	echo "| $1 | $2 | $(verdict "$2" "$3" "$4") |"
}

{
	echo "# kpool benchmarks"
	echo
	env_line
	echo
	echo "Guest times are software-emulated: a syscall costs about 1 us and a"
	echo "cross-CPU wakeup far more than on hardware. Compare contenders within"
	echo "one table, not with real machines. Ring contenders (kpool-bN, kpool-N,"
	echo "uring-*) submit N tasks and wait for them in one syscall; thread-pool"
	echo "contenders (kpool-pool, libuv, glib) keep N tasks in flight."
	echo "Syscalls per task are counted with strace -f -c over every thread of"
	echo "the process, one submitting thread: (calls for $((2 * count)) tasks - calls for"
	echo "$count) / $count, so fixed costs cancel. CPU ns per task is the busy time"
	echo "of all CPUs (/proc/schedstat), kernel workers included."
	for v in 2 1; do
		echo
		echo "## Empty tasks (NOP), $v vCPU(s)"
		echo
		table "$v" nop
		echo
		echo "## 4 KiB reads from the page cache, $v vCPU(s)"
		echo
		table "$v" read4k
		echo
		echo "## Half compute, half block: 1000 functions, capacity 2, $v vCPU(s)"
		echo
		echo "Even tasks burn 200 us of CPU, odd ones sleep 2 ms; every pool may run"
		echo "two at once. ns/task is the whole run / 1000; CPUs busy is CPU ns/task"
		echo "over ns/task x vCPUs."
		echo
		table "$v" mixed
		echo
		echo "| contender | CPUs busy |"
		echo "|---|---|"
		for c in kpool-fn pthread libuv glib; do
			echo "| $c | $(awk -v c="$(value "$v" mixed "$c" 1 13)" -v n="$(value "$v" mixed "$c" 1 7)" -v v="$v" \
				'BEGIN { if (c == "" || n == "" || n == 0) print "n/a"; else printf "%.0f%%", 100 * c / (n * v) }') |"
		done
	done

	k32=$(value 2 nop kpool-b32 1 7)
	a32=$(value 2 nop kpool-async-b32 1 7)
	echo
	echo "## Targets (2 vCPUs, one submitting thread unless said)"
	echo
	echo "| target | measured ratio | |"
	echo "|---|---|---|"
	target "NOP batch 32, inline: kpool ns/task <= 1.5x io_uring inline" \
		"$(ratio "$k32" "$(value 2 nop uring-inline-b32 1 7)")" le 1.5
	target "NOP batch 32, forced hand-off: io_uring IOSQE_ASYNC ns/task >= 2x kpool KPOOL_SQE_ASYNC" \
		"$(ratio "$(value 2 nop uring-async-b32 1 7)" "$a32")" ge 2
	target "NOP, forced hand-off: libuv ns/task >= 5x kpool async batch 32" \
		"$(ratio "$(value 2 nop libuv-32 1 7)" "$a32")" ge 5
	target "NOP, forced hand-off: GThreadPool ns/task >= 5x kpool async batch 32" \
		"$(ratio "$(value 2 nop glib-32 1 7)" "$a32")" ge 5
	r32=$(value 2 read4k kpool-32 1 7)
	target "4 KiB reads, 32 in flight: io_uring forced-async ns/task >= kpool's" \
		"$(ratio "$(value 2 read4k uring-async-32 1 7)" "$r32")" ge 1
	target "4 KiB reads, 32 in flight: libuv ns/task >= 2x kpool's" \
		"$(ratio "$(value 2 read4k libuv-32 1 7)" "$r32")" ge 2
	u32=$(value 2 read4k kpool-unbound-32 1 7)
	target "... the same with KPOOL_SQE_UNBOUND: io_uring forced-async >= kpool" \
		"$(ratio "$(value 2 read4k uring-async-32 1 7)" "$u32")" ge 1
	target "... the same with KPOOL_SQE_UNBOUND: libuv >= 2x kpool" \
		"$(ratio "$(value 2 read4k libuv-32 1 7)" "$u32")" ge 2
	target "NOP batch 32: syscalls per task <= 1/32 (ratio to 1/32)" \
		"$(ratio "$(value 2 nop kpool-b32 1 14)" 0.03125)" le 1
	target "NOP batch 32: two submitting threads' tasks/s >= 1.8x one" \
		"$(ratio "$(value 2 nop kpool-b32 2 10)" "$(value 2 nop kpool-b32 1 10)")" ge 1.8
	target "pool API, NOP: two submitting threads' tasks/s >= 1.8x one" \
		"$(ratio "$(value 2 nop kpool-pool 2 10)" "$(value 2 nop kpool-pool 1 10)")" ge 1.8
	f32=$(value 2 nop kpool-fn-32 1 7)
	target "empty user functions, 32 in flight: kpool ns/task <= 0.5x libuv's" \
		"$(ratio "$f32" "$(value 2 nop libuv-32 1 7)")" le 0.5
	target "empty user functions, 32 in flight: kpool ns/task <= 0.5x GThreadPool's" \
		"$(ratio "$f32" "$(value 2 nop glib-32 1 7)")" le 0.5
	target "empty user functions: kpool syscalls/task below libuv's" \
		"$(ratio "$(value 2 nop kpool-fn-32 1 14)" "$(value 2 nop libuv-32 1 14)")" le 1
	target "empty user functions: kpool syscalls/task below GThreadPool's" \
		"$(ratio "$(value 2 nop kpool-fn-32 1 14)" "$(value 2 nop glib-32 1 14)")" le 1
	mix=$(value 2 mixed kpool-fn 1 7)
	for c in pthread libuv glib; do
		target "half compute, half block, capacity 2: kpool's run time <= 0.55x $c's" \
			"$(ratio "$mix" "$(value 2 mixed "$c" 1 7)")" le 0.55
	done

	echo
	echo "## Where a kpool NOP's time goes (2 vCPUs, batch 32, one thread)"
	echo
	ctl=$(value 2 nop kpool-ctl-b32 1 7)
	echo "| stage | ns/task |"
	echo "|---|---|"
	echo "| ENTER, task alloc and prep, CQE post: kpool-ctl-b32 (CANCELs, run inline) | $ctl |"
	echo "| a NOP run inline, with its slot, stats and CQE: kpool-b32 | $k32 |"
	echo "| handing the task to a workqueue worker and back: kpool-async-b32 - kpool-b32 | $(awk -v a="$a32" -v b="$k32" 'BEGIN { if (a == "" || b == "") print "n/a"; else print a - b }') |"
	echo "| for scale: io_uring inline NOP (no hand-off) | $(value 2 nop uring-inline-b32 1 7) |"
	echo "| for scale: io_uring IOSQE_ASYNC NOP (an io-wq hand-off) | $(value 2 nop uring-async-b32 1 7) |"
	echo "| the pool API, one submit per task: kpool-pool | $(value 2 nop kpool-pool 1 7) |"
	echo "| the pool API, kpool_pool_submit_batch() of 32: kpool-pool-b32 | $(value 2 nop kpool-pool-b32 1 7) |"

	echo
	echo "## Many submitters on one pool (bench/submitters.c)"
	echo
	echo "| vCPUs | way | threads | ns/task | tasks/s | ioctls/task | CPU ns/task (process) |"
	echo "|---|---|---|---|---|---|---|"
	awk -F, '$2 == "submitters" && $3 != "way" {
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $3, $4, $6, $7, $8, $9 }' "$raw"
} >"$dir/results.md"

# The plot: ns per task, one thread, per contender; both vCPU counts.
for w in nop read4k; do
	awk -F, -v w="$w" 'NR > 1 && $2 == w && $4 == 1 { ns[$3 "," $1] = $7; if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 } }
	END { for (i = 1; i <= n; i++) print order[i], ns[order[i] ",1"] + 0, ns[order[i] ",2"] + 0 }' \
		"$dir/results.csv" >"$dir/$w.dat"
done
gnuplot <<GP
set terminal png size 1400,560 font ",10"
set output "$dir/bench.png"
set multiplot layout 1,2 title "kpool vs peers: ns per task, one submitting thread (QEMU TCG guest, $(cat "$dir/kernel"))"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "ns per task (log scale)"
set xtics rotate by -40 scale 0
set key top left
set grid ytics
set title "Empty tasks (NOP)"
plot "$dir/nop.dat" using 2:xtic(1) title "1 vCPU", "" using 3 title "2 vCPUs, idle=poll"
set title "4 KiB reads from the page cache"
plot "$dir/read4k.dat" using 2:xtic(1) title "1 vCPU", "" using 3 title "2 vCPUs, idle=poll"
unset multiplot
GP
