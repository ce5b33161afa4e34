#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Extract the kernel-tree files kpool builds with (kselftest_harness.h,
# checkpatch.pl and its data) from Debian's linux-source-6.12 tarball into
# build/ksrc.  They are never committed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

stamp=$KSRC_DIR/.stamp
[ -f "$stamp" ] && exit 0

tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || die "no /usr/src/linux-source-6.12.tar.*: run tools/setup-host.sh (or apt-get install linux-source-6.12)"

rm -rf "$KSRC_DIR" && mkdir -p "$KSRC_DIR"
top=$(basename "$tarball"); top=${top%%.tar.*}
say "ksrc: extracting harness and checkpatch from $tarball"
tar -xf "$tarball" -C "$KSRC_DIR" --strip-components=1 \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/scripts/checkpatch.pl" \
	"$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch"
touch "$stamp"
