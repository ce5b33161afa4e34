#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make bench, in the guest: every benchmark, then each contender alone
# under strace -f -c to count its syscalls per task (the process's every
# thread; a run with 0 tasks gives the fixed cost to subtract).
# Prints CSV lines, and "SYSCALLS,workload,contender,tasks,calls".
#   bench.sh TASKS ROUNDS COUNT_TASKS
set -e
tasks=$1 rounds=$2 count=$3

bench-nop --tasks "$tasks" --rounds "$rounds" --threads 1,2
bench-read4k --tasks "$tasks" --rounds "$rounds" --threads 1,2
# Half compute, half block: 1000 tasks is the workload's size, not a count.
bench-mixed --tasks 1000 --rounds "$rounds" --threads 1
submitters --tasks "$tasks" --rounds "$rounds" --threads 1,2 |
	sed 's/^/submitters,/'

# strace -c's last line: "100.00 S U CALLS [ERRORS] total".
calls() {
	strace -f -c -o /tmp/strace.out "$@" >/dev/null
	awk '$NF == "total" { print $4 }' /tmp/strace.out
}
for prog in bench-nop bench-read4k; do
	workload=${prog#bench-}
	for c in $($prog --tasks 0 --rounds 1 --threads 1 --list); do
		one=$(calls $prog --only "$c" --tasks "$count" --rounds 1 --threads 1)
		two=$(calls $prog --only "$c" --tasks $((2 * count)) --rounds 1 --threads 1)
		echo "SYSCALLS,$workload,$c,$count,$((two - one))"
	done
done
