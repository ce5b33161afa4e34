#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make deb, then check the packages: lintian (no E: tag), what each one
# holds, and libkpool-dev used as a user would, from a scratch root the
# packages are unpacked into (dpkg-deb -x: the machine's dpkg database and
# its /usr are never touched).  Debian 12, as root (make deb and lintian
# are installed with apt-get if missing).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

start=$SECONDS
make -s deb
say "deb-check: make deb took $((SECONDS - start)) s"
apt_need lintian pkgconf binutils

ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
out=$KPOOL_BUILD/deb
changes=$out/kpool_${ver}_$arch.changes
[ -f "$changes" ] || die "make deb left no $changes"
declare -A deb
for p in kpool-dkms libkpool0 libkpool-dev kpool-tools; do
	a=$arch; [ "$p" = kpool-dkms ] && a=all
	deb[$p]=$out/${p}_${ver}_$a.deb
	[ -f "${deb[$p]}" ] || die "make deb built no ${deb[$p]##*/}"
done

# lintian on the .changes (every .deb it lists): no error.
# (Exit status 1: it found errors, and so does the grep; 2: it failed.)
rc=0
lintian -I "$changes" >"$out/lintian.raw" 2>&1 || rc=$?
grep -v '^running with root privileges' "$out/lintian.raw" >"$out/lintian.txt" || true
rm -f "$out/lintian.raw"
cat "$out/lintian.txt" >&2
! grep -q '^E: ' "$out/lintian.txt" || die "lintian reports errors ($out/lintian.txt)"
[ "$rc" -eq 0 ] || die "lintian failed (exit status $rc)"
say "deb-check: lintian: no errors, $(grep -c '^W: ' "$out/lintian.txt" || true) warnings"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
for p in "${!deb[@]}"; do
	dpkg-deb -x "${deb[$p]}" "$root"
	mkdir -p "$root/.control/$p"
	dpkg-deb -e "${deb[$p]}" "$root/.control/$p"
done
field() { dpkg-deb -f "${deb[$1]}" "$2"; }
has() { [ -e "$root/$1" ] || [ -L "$root/$1" ] || die "$2 lacks /$1"; }
same() { has "$1" "$3"; cmp -s "$root/$1" "$2" || die "$3: /$1 differs from $2"; }

# kpool-dkms: the module source where DKMS looks, the files of dist/, the
# group and DKMS in its maintainer scripts.
src=usr/src/kpool-$ver
same "$src/dkms.conf" dkms.conf kpool-dkms
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	modsrc=$(git ls-files -co --exclude-standard Kbuild kmod uapi)
else
	modsrc=
	for f in Kbuild kmod/Kbuild kmod/*.[ch] uapi/linux/*.h; do
		case $f in *.mod.c) ;; *) modsrc+=" $f" ;; esac
	done
fi
for f in $modsrc; do
	if [ -e "$f" ]; then same "$src/$f" "$f" kpool-dkms; fi
done
junk=$(cd "$root/$src" && find . -name '*.o' -o -name '*.ko*' -o -name '*.cmd' -o -name '*.mod*')
[ -z "$junk" ] || die "kpool-dkms ships build products: $junk"
same lib/udev/rules.d/60-kpool.rules dist/60-kpool.rules kpool-dkms
same usr/lib/sysusers.d/kpool.conf dist/kpool.sysusers.conf kpool-dkms
same usr/lib/modules-load.d/kpool.conf dist/kpool.modules-load.conf kpool-dkms
same etc/modprobe.d/kpool.conf dist/kpool.modprobe.conf kpool-dkms
grep -qx /etc/modprobe.d/kpool.conf "$root/.control/kpool-dkms/conffiles" ||
	die "kpool-dkms: /etc/modprobe.d/kpool.conf is not a conffile"
grep -q 'dkms' <<<"$(field kpool-dkms Depends)" || die "kpool-dkms does not depend on dkms"
pi=$root/.control/kpool-dkms/postinst
grep -q 'systemd-sysusers .*kpool.conf' "$pi" && grep -q 'addgroup --system' "$pi" &&
	grep -q 'dkms/common.postinst' "$pi" ||
	die "kpool-dkms's postinst does not create the group and run DKMS"
grep -q 'dkms remove' "$root/.control/kpool-dkms/prerm" ||
	die "kpool-dkms's prerm does not remove the module from DKMS"
for f in postinst prerm; do
	sh -n "$root/.control/kpool-dkms/$f" || die "kpool-dkms's $f is not valid sh"
done
# What the postinst runs, on the scratch root: the group appears.
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$root/etc"
	systemd-sysusers --root="$root" kpool.conf >/dev/null 2>&1 &&
		grep -q '^kpool:' "$root/etc/group" ||
		die "kpool-dkms: systemd-sysusers creates no kpool group from its sysusers.d file"
fi
say "deb-check: kpool-dkms: /$src ($(wc -w <<<"$modsrc") source files, dkms.conf), udev rule, sysusers.d, modules-load.d, modprobe.d"

# libkpool0: the soname and its symlink, liburcu from shlibs, a symbols
# file with exactly the version nodes and symbols of ulib/libkpool.map
# (the build's dpkg-gensymbols -c4 compared it with the library).
lib=usr/lib/$ma
has "$lib/libkpool.so.$ver" libkpool0
[ "$(readlink "$root/$lib/libkpool.so.0")" = "libkpool.so.$ver" ] ||
	die "libkpool0: libkpool.so.0 does not point to libkpool.so.$ver"
grep -q 'SONAME.*\[libkpool.so.0\]' <<<"$(readelf -d "$root/$lib/libkpool.so.$ver")" ||
	die "libkpool0: no soname libkpool.so.0"
grep -q liburcu <<<"$(field libkpool0 Depends)" || die "libkpool0 does not depend on liburcu"
from_map=$(awk '/^LIBKPOOL_[0-9.]+ *\{/ { node = $1; print node "@" node; next }
	/^[ \t]+kpool_[a-z0-9_]+;/ { s = $1; sub(/;/, "", s); print s "@" node }' \
	ulib/libkpool.map | sort)
from_symbols=$(awk '/^ / { print $1 }' "$root/.control/libkpool0/symbols" | sort)
[ "$from_map" = "$from_symbols" ] ||
	die "libkpool0's symbols file and ulib/libkpool.map differ: $(diff <(echo "$from_map") <(echo "$from_symbols") | grep '^[<>]' | tr '\n' ' ')"
say "deb-check: libkpool0: soname libkpool.so.0, $(wc -l <<<"$from_symbols") symbols and version nodes, as the map"

# libkpool-dev: headers, static library, .so link, kpool.pc, man3.
for f in usr/include/libkpool.h usr/include/kpool_pool.h \
	usr/include/kpool_bufpool.h usr/include/linux/kpool.h \
	"$lib/libkpool.a" "$lib/pkgconfig/kpool.pc"; do
	has "$f" libkpool-dev
done
[ "$(readlink "$root/$lib/libkpool.so")" = libkpool.so.0 ] ||
	die "libkpool-dev: libkpool.so does not point to libkpool.so.0"
deps=$(field libkpool-dev Depends)
grep -q 'liburcu-dev' <<<"$deps" && grep -q "libkpool0 (= $ver)" <<<"$deps" ||
	die "libkpool-dev: Depends lacks liburcu-dev or libkpool0 (= $ver): $deps"
for f in man/man3/*.3; do
	[ -e "$f" ] || continue
	has "usr/share/man/man3/${f##*/}.gz" libkpool-dev
done
say "deb-check: libkpool-dev: headers, libkpool.a, libkpool.so, kpool.pc, $(find "$root/usr/share/man/man3" -name '*.3.gz' 2>/dev/null | wc -l) man3 pages"

# kpool-tools: kpoolstat (linked dynamically) runs, kpool(7).
has usr/bin/kpoolstat kpool-tools
grep -q INTERP <<<"$(readelf -l "$root/usr/bin/kpoolstat")" ||
	die "kpool-tools: kpoolstat is linked statically"
grep -q '^kpoolstat ' <<<"$("$root/usr/bin/kpoolstat" --once)" ||
	die "kpool-tools: kpoolstat --once failed"
for f in man/man1/*.1 man/man7/*.7; do
	[ -e "$f" ] || continue
	has "usr/share/man/${f#man/}.gz" kpool-tools
done
say "deb-check: kpool-tools: kpoolstat runs, man pages"

# A program built with pkg-config against the unpacked -dev package (its
# kpool.pc first, liburcu's from the system, as tools/install-check.sh),
# needing libkpool.so.0 and finding it in the scratch root.
# (System directories allowed: the root's /usr/include and /usr/lib are
# not the system's.)
PKG_CONFIG_PATH=$(pkg-config --variable pc_path pkg-config)
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root/$lib/pkgconfig
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
flags=$(pkg-config --cflags --libs kpool)
say "deb-check: pkg-config --cflags --libs kpool: $flags"
grep -q -- "-I$root/usr/include" <<<"$flags" && grep -q -- "-L$root/$lib" <<<"$flags" ||
	die "pkg-config's flags do not point into the scratch root"
# shellcheck disable=SC2086
${CC:-cc} -Wall -Wextra -Werror examples/kpool-crc.c $flags -o "$root/kpool-crc"
grep -q 'NEEDED.*\[libkpool.so.0\]' <<<"$(readelf -d "$root/kpool-crc")" ||
	die "kpool-crc does not need libkpool.so.0"
grep -q "$root/$lib/libkpool.so.0" <<<"$(LD_LIBRARY_PATH=$root/$lib ldd "$root/kpool-crc")" ||
	die "kpool-crc does not resolve libkpool.so.0 from the scratch root"
run=$(LD_LIBRARY_PATH=$root/$lib "$root/kpool-crc" /dev/null 2>&1) || true
grep -q 'no pool: error -2\|tasks' <<<"$run" || die "kpool-crc did not run: $run"
# And statically: libkpool.a, with liburcu's archives (Requires.private).
flags=$(pkg-config --static --cflags --libs kpool)
# shellcheck disable=SC2086
${CC:-cc} -Wall -Wextra -Werror -static examples/kpool-crc.c $flags -o "$root/kpool-crc-static"
say "deb-check: kpool-crc built with pkg-config against the packages (shared and static), resolves libkpool.so.0 from them and runs"
say "deb-check: passed"
