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
KPOOL_VM_SMP=2 KPOOL_RUN_NAME=observe KPOOL_RUN_FILES=tools/guest-observe.sh \
	KPOOL_RUN_EXTRA="sh /bin/guest-observe.sh" \
	tools/run-suite.sh "$kver" "$ko" nop_test >/dev/null 2>&1 || true
sed -n '/KPOOL-RUN-BEGIN sh \/bin\/guest-observe.sh/,/KPOOL-RUN-END/p' \
	"$KPOOL_BUILD/observe.log" | sed '1d;$d'
