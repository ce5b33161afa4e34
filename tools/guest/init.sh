#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of a kpool guest (busybox sh).  Runs the commands in /bin/run-list
# (one per line; tools/guest.sh writes it) with the module loaded, and
# prints markers the host reads: KPOOL-RUN-BEGIN/END around each command,
# then the kernel log.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# What udev makes on a real system, and run_kselftest.sh writes to
# (its log is /dev/stdout).
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
# Enabling a trace event also hooks sched_switch and sched_wakeup to
# record comms and tgids: it patches the scheduler's jump labels while the
# other vCPUs run them, and TCG can then meet the int3 of a patch already
# finished ("Oops: int3" in ttwu_do_activate, seen once).  The tests read
# only their own events: leave the scheduler's alone.
for opt in record-cmd record-tgid; do
	echo 0 > /sys/kernel/tracing/options/$opt 2>/dev/null
done
PATH=/bin
export PATH

# The firmware may leave its last line unterminated.
echo
echo "KPOOL-GUEST-UP $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
# Variables for every command (guest.sh --env, via a file).
if [ -r /bin/run-env ]; then
	set -a
	. /bin/run-env
	set +a
fi
# Seconds each command may run (guest.sh --timeout, via a file).
limit=$(cat /bin/run-timeout 2>/dev/null || echo 300)
# kmemleak (debug kernel): forget what boot left, judge only what follows.
kmemleak=/sys/kernel/debug/kmemleak
[ -w $kmemleak ] && echo clear > $kmemleak
if insmod /kpool.ko $(cat /bin/insmod-args 2>/dev/null); then
	echo "KPOOL-INSMOD-OK"
	while read -r cmd; do
		[ -n "$cmd" ] || continue
		echo "KPOOL-RUN-BEGIN $cmd"
		case $cmd in
		# The kselftest runner bounds each test itself (its settings
		# file, or -o) and says which one ran over.
		/kselftest/run_kselftest.sh*) $cmd ;;
		*) timeout "$limit" $cmd ;;
		esac
		echo "KPOOL-RUN-END rc=$? $cmd"
	done < /bin/run-list
	# What a process leaves behind when it dies (a close from an exiting
	# process, a dead worker thread) is finished by the module's work
	# items, just after: give them two seconds before calling it a leak.
	tries=20
	until rmmod kpool 2>/dev/null; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || break
		sleep 0.1
	done
	if [ $tries -gt 0 ]; then
		echo "KPOOL-RMMOD-OK"
	else
		rmmod kpool
		echo "KPOOL-RMMOD-FAIL"
	fi
	if [ -w $kmemleak ]; then
		# Objects must sit unreferenced a while before a scan names them.
		sleep 6
		echo scan > $kmemleak
		sleep 6
		echo scan > $kmemleak
		echo "KPOOL-KMEMLEAK-BEGIN"
		cat $kmemleak
		echo "KPOOL-KMEMLEAK-END"
	fi
else
	echo "KPOOL-INSMOD-FAIL"
fi
echo "KPOOL-DMESG-BEGIN"
dmesg
echo "KPOOL-DMESG-END"
echo "KPOOL-GUEST-DONE"
poweroff -f
