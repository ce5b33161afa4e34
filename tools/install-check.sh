#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make install into a scratch DESTDIR, then use the installed copy as a
# user would: build examples/kpool-crc.c with pkg-config against it, and
# check the shared library's soname, symbol versions and exports.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
make -s install DESTDIR="$dest" PREFIX=/usr/local >/dev/null
lib=$dest/usr/local/lib

# The installed kpool.pc first; liburcu's (Requires.private) from the system.
export PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$lib/pkgconfig
PKG_CONFIG_PATH=$(pkg-config --variable pc_path pkg-config)
export PKG_CONFIG_PATH
flags=$(pkg-config --cflags --libs kpool)
say "install-check: pkg-config --cflags --libs kpool: $flags"
# shellcheck disable=SC2086
${CC:-cc} -Wall -Wextra -Werror examples/kpool-crc.c $flags -o "$dest/kpool-crc"

# The binary needs the soname, and runs against the installed copy.
readelf -d "$dest/kpool-crc" | grep -q 'NEEDED.*\[libkpool.so.0\]' ||
	die "kpool-crc does not need libkpool.so.0"
# (Not ldd | grep -q: grep leaving early fails the pipe under pipefail.)
grep -q "$lib/libkpool.so.0" <<<"$(LD_LIBRARY_PATH=$lib ldd "$dest/kpool-crc")" ||
	die "kpool-crc does not resolve to the installed libkpool"
out=$(LD_LIBRARY_PATH=$lib "$dest/kpool-crc" /dev/null 2>&1) || true
grep -q 'no pool: error -2\|tasks' <<<"$out" || die "kpool-crc did not run: $out"

readelf -d "$lib/libkpool.so" | grep -q 'SONAME.*\[libkpool.so.0\]' ||
	die "no soname libkpool.so.0"
# Every function the headers declare is exported, under a version node.
# (static inline helpers are not functions of the library.)
declared=$(grep -hv '^static' ulib/include/libkpool.h ulib/include/kpool_pool.h \
	ulib/include/kpool_bufpool.h |
	sed -n 's/^[a-z].*[ *]\(kpool_[a-z0-9_]*\)(.*/\1/p' | sort -u)
exported=$(nm -D --defined-only "$lib/libkpool.so" | sed -n 's/.* T \(kpool_[a-z0-9_]*\)@@LIBKPOOL_.*/\1/p' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
[ -z "$missing" ] || die "declared but not exported: $missing"
say "install-check: $(wc -l <<<"$exported") versioned exports, all declared functions among them"

# make uninstall takes back every file install and install-module-files put.
make -s install-module-files DESTDIR="$dest" PREFIX=/usr/local >/dev/null
make -s uninstall DESTDIR="$dest" PREFIX=/usr/local >/dev/null
left=$(cd "$dest" && find usr etc -type f -o -type l)
[ -z "$left" ] || die "make uninstall left: $left"
say "install-check: make uninstall removed everything"
