#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot a 6.12 guest and print what docs/observability.md shows: kpoolstat,
# fdinfo, the debugfs view, the stuck-task log and the leak report, read
# while examples/kpool-busy runs.  The console log is build/observe.log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

kver=$(kver_of_series 6.12) || die "no installed 6.12 kernel with headers"
ko=$(tools/build-module.sh "$kver")
make -s lib examples tools
tools/guest.sh --kernel "$kver" --ko "$ko" --name observe --smp 2 --tests none \
	--file tools/guest/observe.sh --run "sh /bin/observe.sh" >/dev/null 2>&1 || true
sed -n '/KPOOL-RUN-BEGIN sh \/bin\/observe.sh/,/KPOOL-RUN-END/p' \
	"$KPOOL_BUILD/observe.log" | sed '1d;$d'
