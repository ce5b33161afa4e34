#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make demo: boot a guest (Debian's 6.12 kernel; KPOOL_DEMO_SERIES=6.1 for
# the other), load kpool, run examples/kpool-demo, examples/kpool-workers
# and the example tools (tools/guest-demo-tools.sh), and show their output.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

tools/setup-host.sh
series=${KPOOL_DEMO_SERIES:-6.12}
kver=$(kver_of_series "$series") || die "no installed $series kernel with headers"
say "demo: building kpool.ko for $kver and the example"
ko=$(tools/build-module.sh "$kver")
make -s examples

work=$KPOOL_BUILD/demo-$kver
rm -rf "$work" && mkdir -p "$work"
printf 'kpool-demo\nkpool-workers\nsh /bin/guest-demo-tools.sh\n' >"$work/run-list"
tools/mkinitramfs.sh "$work/initrd.cpio.gz" "$ko" tools/guest-init.sh \
	"$KPOOL_BUILD"/examples/* tools/guest-demo-tools.sh "$work/run-list"
say "demo: booting $kver under QEMU (software emulation, 2 vCPUs)"
tools/vm.sh "$kver" "$work/initrd.cpio.gz" "$work.log" 300
echo
sed -n '/^KPOOL-RUN-BEGIN/,/^KPOOL-RUN-END/{/^KPOOL-RUN-END/{s/.*/ /;p;d};/^KPOOL-RUN-/d;p}' "$work.log"
echo
if tools/parse-log.sh --no-tap "$work.log" >"$work/verdict"; then
	say "demo: ok (guest console: $work.log)"
else
	cat "$work/verdict" >&2
	die "demo failed (guest console: $work.log)"
fi
