#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In a guest (tools/observe.sh): the outputs docs/observability.md shows.
# kpool-busy holds a pool with a stuck TIMEOUT, a function asleep in
# read(), a trickle of NOPs and CRC32Cs and bursts that wait; the views
# are read while it runs.
set -u
echo 2000 > /sys/module/kpool/parameters/stuck_ms
kpool-busy --seconds 8 > /tmp/busy.out &
sleep 4
set -- $(head -n 1 /tmp/busy.out)	# "pool fd F pid P"
fd=$3 pid=$5
show() {
	echo "\$ $*"
	"$@"
	echo
}
show kpoolstat --once
show kpoolstat --once -d 1 -p "$pid"
show cat "/proc/$pid/fdinfo/$fd"
show cat /sys/kernel/debug/kpool/tasks
echo '$ dmesg | grep stuck_ms'
dmesg | grep stuck_ms
echo
echo "\$ kpoolstat --once --prometheus -p $pid | grep -E '^kpool_(tasks_(running|waiting|stuck)|pool_capacity)'"
kpoolstat --once --prometheus -p "$pid" |
	grep -E '^kpool_(tasks_(running|waiting|stuck)|pool_capacity)'
echo
echo "\$ kpoolstat --once --json -p $pid | head -c 600"
kpoolstat --once --json -p "$pid" | head -c 600
echo
wait
cat /tmp/busy.out
echo
echo '$ KPOOL_LEAK_CHECK=1 kpool-busy --seconds 1 --leak'
KPOOL_LEAK_CHECK=1 kpool-busy --seconds 1 --leak
echo 30000 > /sys/module/kpool/parameters/stuck_ms
