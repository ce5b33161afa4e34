#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make demo: boot a guest (Debian's 6.12 kernel; KPOOL_DEMO_SERIES=6.1 for
# the other), load kpool, run examples/kpool-demo, examples/kpool-workers
# and the example tools (tools/guest/demo-tools.sh), and show their output.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

tools/setup-host.sh
series=${KPOOL_DEMO_SERIES:-6.12}
kver=$(kver_of_series "$series") || die "no installed $series kernel with headers"
make -s examples tools
say "demo: booting $kver under QEMU (software emulation, 2 vCPUs)"
work=$KPOOL_BUILD/demo-$kver
if tools/guest.sh --kernel "$kver" --name "demo-$kver" --tests none --no-tap \
	--vm-timeout 300 --file tools/guest/demo-tools.sh --run kpool-demo \
	--run kpool-workers --run "sh /bin/demo-tools.sh" >"$work.verdict" 2>&1; then
	ok=1
else
	ok=0
fi
echo
sed -n '/^KPOOL-RUN-BEGIN/,/^KPOOL-RUN-END/{/^KPOOL-RUN-END/{s/.*/ /;p;d};/^KPOOL-RUN-/d;p}' "$work.log"
echo
[ "$ok" -eq 1 ] || { cat "$work.verdict" >&2; die "demo failed (guest console: $work.log)"; }
say "demo: ok (guest console: $work.log)"
