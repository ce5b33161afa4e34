#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Extract the kernel-tree files kpool builds with from Debian's
# linux-source-6.12 tarball into build/ksrc: the kselftest harness, lib.mk
# (selftests/Makefile builds with it), the runner (run_kselftest.sh and
# kselftest/) and checkpatch.pl with its data.  They are never committed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

files=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/lib.mk
	tools/testing/selftests/run_kselftest.sh
	tools/testing/selftests/kselftest
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)
# The stamp holds the list: a tree extracted with fewer files is redone.
stamp=$KSRC_DIR/.stamp
[ "$(cat "$stamp" 2>/dev/null)" = "${files[*]}" ] && exit 0

tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || die "no /usr/src/linux-source-6.12.tar.*: run tools/setup-host.sh (or apt-get install linux-source-6.12)"

rm -rf "$KSRC_DIR" && mkdir -p "$KSRC_DIR"
top=$(basename "$tarball"); top=${top%%.tar.*}
say "ksrc: extracting the selftest harness, runner and checkpatch from $tarball"
tar -xf "$tarball" -C "$KSRC_DIR" --strip-components=1 "${files[@]/#/$top/}"
echo "${files[*]}" >"$stamp"
