#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Where does a benchmark's time go?  Boots a 6.12 guest (2 vCPUs,
# idle=poll), runs one contender of a bench program under
# perf record -a (cpu-clock: a TCG guest has no PMU), prints perf report.
#   profile.sh PROGRAM CONTENDER [TASKS]    e.g. profile.sh bench-nop kpool-b32
# Needs make bench-bins and Debian's linux-perf.  Counts kernel and user
# time on every CPU, so the kernel workers' share shows.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

prog=$1 contender=$2 tasks=${3:-20000}
command -v perf >/dev/null || die "perf missing: apt-get install linux-perf"
kver=$(kver_of_series "${KPOOL_BENCH_SERIES:-6.12}") || die "no kernel"
ko=$(tools/build-module.sh "$kver")
work=$KPOOL_BUILD/profile
rm -rf "$work" && mkdir -p "$work"
cat >"$work/profile-run.sh" <<SH
perf record -q -e cpu-clock -a -g -o /tmp/perf.data -- \\
	$prog --only $contender --tasks $tasks --rounds 1 --threads 1 >/dev/null
echo KPOOL-PROFILE-BEGIN
perf report -i /tmp/perf.data --stdio --no-children --sort sym \\
	--percent-limit 0.25 -g none 2>/dev/null | grep -v '^#' | grep -v '^\$'
echo KPOOL-PROFILE-END
SH
tools/guest.sh --kernel "$kver" --ko "$ko" --name profile-guest --smp 2 \
	--append '' --tests none --no-tap --vm-timeout 600 \
	--file "$KPOOL_BUILD/bench/$prog" --file "$(command -v perf)" \
	--file "$work/profile-run.sh" --run "sh /bin/profile-run.sh" >/dev/null 2>&1 || true
sed -n '/^KPOOL-PROFILE-BEGIN/,/^KPOOL-PROFILE-END/p' "$KPOOL_BUILD/profile-guest.log" | sed '1d;$d'
