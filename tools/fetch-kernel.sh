#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch a newer Debian kernel than this Debian 12 machine ships, for
# building the module and booting guests, without installing anything of
# another release: its image, headers and kbuild packages are downloaded
# from the machine's own Debian mirror, checked, and unpacked with
# dpkg-deb -x into build/kernels/KVER/root (never into /).
#   fetch-kernel.sh [--refresh] [KVER|SERIES]
# KVER (7.3.4+deb13-amd64) or SERIES (7.3): that kernel, or the newest of
# the series; nothing: the newest amd64 kernel.  Suites are searched in
# the order of KPOOL_KERNEL_SUITES (default "trixie-backports sid"): the
# first that has a match wins.  A kernel fetched before is not fetched
# again (stamp build/kernels/KVER/.stamp); a SERIES already fetched is
# not looked up again unless --refresh.  Prints KVER.
#
# Chain of trust: the suite's InRelease is checked with gpgv against
# debian-archive-keyring, Packages.xz and Sources.xz against the SHA256
# it lists, each .deb and tarball against the SHA256 of its entry.  An
# expired InRelease (a mirror's stale sid) is used with a note, or
# refused with KPOOL_FETCH_STRICT=1.
#
# Made to build modules here, with this machine's gcc (KPOOL_KERNEL_CC,
# default x86_64-linux-gnu-gcc-N of gcc), never installing another
# release's userspace (docs/kernels.md says why each step is needed):
#  - kbuild helpers (modpost, objtool, resolve_btfids...) linked against
#    a newer glibc than this one are rebuilt from the same version's
#    linux-source-X.Y, configured like the kernel;
#  - if the kernel was built by another gcc, the toolchain's own Kconfig
#    symbols (CC_HAS_*, GCC_VERSION...) take the values this gcc gets,
#    and the tree's .kernelvariables name it (toolchain.diff: what);
#  - scripts/checker-valid.sh, missing from linux-kbuild, comes from the
#    source; if this machine's sparse fails it, sparse is built from
#    Debian's newest source in the suites and named as the tree's CHECK.
# Needs root for the packages it installs (apt-get) when missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

refresh=
[ "${1:-}" = --refresh ] && { refresh=1; shift; }
want=${1:-}
suites=${KPOOL_KERNEL_SUITES:-"trixie-backports sid"}
arch=amd64
flavour=amd64

# A full KVER already fetched: nothing to do, no network.
if [ -n "$want" ] && kfetched "$want"; then
	printf '%s\n' "$want"
	exit 0
fi
# A SERIES already fetched: its newest, unless asked to look again.
if [ -n "$want" ] && [ -z "$refresh" ] && [[ $want =~ ^[0-9]+\.[0-9]+$ ]] &&
   kver=$(kver_of_series "$want") && kfetched "$kver"; then
	printf '%s\n' "$kver"
	exit 0
fi

apt_need curl ca-certificates gpgv debian-archive-keyring xz-utils

keyring=
for k in /usr/share/keyrings/debian-archive-keyring.pgp \
	 /usr/share/keyrings/debian-archive-keyring.gpg; do
	[ -f "$k" ] && { keyring=$k; break; }
done
[ -n "$keyring" ] || die "no Debian archive keyring in /usr/share/keyrings"

idxdir=$KPOOL_KERNELS/index
mkdir -p "$idxdir"

# get URL OUT: download to OUT (via a temporary file).
get() {
	curl -fsSL --retry 3 --connect-timeout 20 -o "$2.part" "$1" || {
		rm -f "$2.part"
		return 1
	}
	mv -f "$2.part" "$2"
}

# sha256_ok FILE HEX
sha256_ok() {
	[ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

# fetch_index SUITE: the suite's verified, uncompressed amd64 Packages of
# main into $idxdir/SUITE/Packages, from the first apt source that serves
# the suite with a good signature; its base URI into $idxdir/SUITE/mirror.
fetch_index() {
	local suite=$1 dir=$idxdir/$1 uri sum until
	mkdir -p "$dir"
	for uri in $(apt_uris); do
		case $uri in http://* | https://*) ;; *) continue ;; esac
		get "$uri/dists/$suite/InRelease" "$dir/InRelease" 2>/dev/null || continue
		# Only what gpgv has checked is read: the signed text it outputs.
		if ! gpgv --quiet --keyring "$keyring" --output "$dir/Release" \
			"$dir/InRelease" 2>"$dir/gpgv.log"; then
			say "fetch-kernel: $uri: bad signature on $suite's InRelease:"
			sed 's/^/  /' "$dir/gpgv.log" >&2
			continue
		fi
		# An expired index is still Debian's (the signature is good),
		# only maybe not the newest: said, and used, unless
		# KPOOL_FETCH_STRICT=1 (then it is refused, as apt does).
		until=$(sed -n 's/^Valid-Until: //p' "$dir/Release")
		if [ -n "$until" ] && [ "$(date -d "$until" +%s)" -lt "$(date +%s)" ]; then
			if [ -n "${KPOOL_FETCH_STRICT:-}" ]; then
				say "fetch-kernel: $uri: $suite's InRelease expired on $until"
				continue
			fi
			say "fetch-kernel: note: $uri: $suite's InRelease expired on $until; signature good, using it"
		fi
		sum=$(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 }
			s && $3 == "main/binary-'$arch'/Packages.xz" { print $1; exit }' \
			"$dir/Release")
		[ -n "$sum" ] || { say "fetch-kernel: $uri: $suite lists no Packages.xz"; continue; }
		if ! { [ -f "$dir/Packages.xz" ] && sha256_ok "$dir/Packages.xz" "$sum"; }; then
			get "$uri/dists/$suite/main/binary-$arch/Packages.xz" "$dir/Packages.xz" ||
				{ say "fetch-kernel: $uri: cannot download $suite's Packages.xz"; continue; }
			sha256_ok "$dir/Packages.xz" "$sum" ||
				die "$uri: $suite's Packages.xz does not match its InRelease"
		fi
		xz -dc "$dir/Packages.xz" >"$dir/Packages"
		printf '%s\n' "$uri" >"$dir/mirror"
		return 0
	done
	return 1
}

# pkg_table SUITE: "package version filename sha256" for every package.
pkg_table() {
	awk '
	function flush() {
		if (p != "") print p, v, f, h
		p = v = f = h = ""
	}
	/^$/ { flush(); next }
	/^Package: / { p = $2 }
	/^Version: / { v = $2 }
	/^Filename: / { f = $2 }
	/^SHA256: / { h = $2 }
	END { flush() }' "$idxdir/$1/Packages"
}

# field SUITE PACKAGE VERSION FIELD: one field of a package's stanza.
field() {
	awk -v p="$2" -v v="$3" -v f="$4:" '
	function done() { if (mp && mv && val != "") { print val; exit } }
	/^$/ { done(); mp = mv = 0; val = ""; next }
	$1 == "Package:" { mp = ($2 == p) }
	$1 == "Version:" { mv = ($2 == v) }
	$1 == f { val = $0; sub(/^[^:]*: */, "", val) }
	END { done() }' "$idxdir/$1/Packages"
}

# newest SUITE PACKAGE: "version filename sha256" of its highest version.
newest() {
	local best= line v
	while read -r line; do
		v=${line%% *}
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "${best%% *}"; then
			best=$line
		fi
	done < <(awk -v p="$2" '$1 == p { print $2, $3, $4 }' "$idxdir/$1/table")
	[ -n "$best" ] || return 1
	printf '%s\n' "$best"
}

# The ABI names (ABI-FLAVOUR is KVER) of a suite's amd64 headers.  A
# name's ABI is the upstream version with Debian's ABI part (6.1.0-56,
# 6.12.117+deb12, 7.3.4+deb13): cloud and rt flavours do not match.
kvers_of() {
	awk '{ print $1 }' "$idxdir/$1/table" |
		sed -n -E 's/^linux-headers-([0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+)?(\+[a-z0-9.]+)?)-'"$flavour"'$/\1-'"$flavour"'/p' |
		sort -uV
}

# kconfig_retarget HDR OBJ DIFF: in the headers HDR, give the symbols of
# the toolchain the values they have in OBJ, the same kernel configured
# and prepared with this machine's compiler (.config, auto.conf and
# autoconf.h lines copied as OBJ has them).  Writes to DIFF what changed
# and what Kconfig changed besides but was left alone.  The Debian
# originals stay beside each file as FILE.debian.
kconfig_retarget() {
	local hdr=$1 obj=$2 diff=$3 f s tool
	kv() {
		sed -n -E 's/^(CONFIG_[A-Za-z0-9_]+)=(.*)/\1\t\2/p' "$1" | LC_ALL=C sort -t$'\t' -k1,1
	}
	LC_ALL=C join -t$'\t' -a1 -a2 -e '(unset)' -o 0,1.2,2.2 \
		<(kv "$hdr/.config") <(kv "$obj/.config") |
		awk -F'\t' '$2 != $3' >"$diff.all"
	tool='^CONFIG_(CC|GCC|AS|LD|PAHOLE|CLANG)_'
	{
		echo "# Applied: the toolchain's symbols (kernel's value, $hcc's value)."
		grep -E "$tool" "$diff.all" || true
		echo "# Not applied: what else Kconfig changes for $hcc (Rust: none here)."
		grep -vE "$tool" "$diff.all" || true
	} >"$diff"
	for f in .config .kernelvariables include/config/auto.conf \
		 include/generated/autoconf.h; do
		[ -f "$hdr/$f.debian" ] || cp "$hdr/$f" "$hdr/$f.debian"
	done
	for s in $(grep -E "$tool" "$diff.all" | cut -f1); do
		for f in .config include/config/auto.conf; do
			sed -i -E "/^$s=/d; /^# $s is not set\$/d" "$hdr/$f"
			grep -E "^$s=|^# $s is not set\$" "$obj/$f" >>"$hdr/$f" || true
		done
		f=include/generated/autoconf.h
		sed -i -E "/^#define ${s}(_MODULE)? /d" "$hdr/$f"
		grep -E "^#define ${s}(_MODULE)? " "$obj/$f" >>"$hdr/$f" || true
	done
	rm -f "$diff.all"
}

# fetch_sources SUITE: the suite's verified Sources of main into
# $idxdir/SUITE/Sources (checked against the InRelease fetch_index read).
fetch_sources() {
	local dir=$idxdir/$1 uri sum
	[ -f "$dir/mirror" ] || fetch_index "$1" || return 1
	uri=$(cat "$dir/mirror")
	sum=$(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 }
		s && $3 == "main/source/Sources.xz" { print $1; exit }' "$dir/Release")
	[ -n "$sum" ] || return 1
	if ! { [ -f "$dir/Sources.xz" ] && sha256_ok "$dir/Sources.xz" "$sum"; }; then
		get "$uri/dists/$1/main/source/Sources.xz" "$dir/Sources.xz" || return 1
		sha256_ok "$dir/Sources.xz" "$sum" ||
			die "$uri: $1's Sources.xz does not match its InRelease"
	fi
	xz -dc "$dir/Sources.xz" >"$dir/Sources"
}

# sparse_build: build sparse from the newest Debian source of it in the
# suites (its upstream tarball; Debian's two patches only pin gcc-N and
# linker flags) with this machine's compiler, once, into
# build/kernels/sparse-VERSION; prints the program's path.
sparse_build() {
	local s line best= bsuite= ver dir file sum out
	for s in $suites; do
		fetch_sources "$s" || continue
		line=$(awk '
			/^$/ { if (p) { print v, d, o; p = 0; exit } }
			/^Package: / { p = ($2 == "sparse"); v = d = o = ""; c = 0 }
			/^Version: / { v = $2 }
			/^Directory: / { d = $2 }
			/^Checksums-Sha256:/ { c = 1; next }
			/^[^ ]/ { c = 0 }
			c && $3 ~ /\.orig\.tar\./ { o = $1 " " $3 }
			END { if (p) print v, d, o }' "$idxdir/$s/Sources")
		[ -n "$line" ] || continue
		if [ -z "$best" ] || dpkg --compare-versions "${line%% *}" gt "${best%% *}"; then
			best=$line bsuite=$s
		fi
	done
	[ -n "$best" ] || { say "fetch-kernel: no sparse source in: $suites"; return 1; }
	read -r ver dir sum file <<<"$best"
	out=$KPOOL_KERNELS/sparse-$ver
	if [ -x "$out/sparse" ] && [ -f "$out/.stamp" ]; then
		printf '%s\n' "$out/sparse"
		return 0
	fi
	apt_need gcc make libc6-dev
	say "fetch-kernel: building sparse $ver (from $bsuite's source) with this machine's gcc"
	rm -rf "$out" && mkdir -p "$out/src"
	get "$(cat "$idxdir/$bsuite/mirror")/$dir/$file" "$out/$file" ||
		die "cannot download sparse's $file"
	sha256_ok "$out/$file" "$sum" || die "sparse's $file does not match $bsuite's Sources"
	tar -xf "$out/$file" -C "$out/src" --strip-components=1
	make -C "$out/src" -j2 HAVE_SQLITE=no HAVE_GTK=no HAVE_LLVM=no \
		HAVE_LIBXML=no sparse >"$out/build.log" 2>&1 ||
		die "building sparse $ver failed: see $out/build.log"
	cp "$out/src/sparse" "$out/sparse"
	rm -rf "${out:?}/src" "${out:?}/$file"
	printf 'sparse %s from %s, built here\n' "$ver" "$bsuite" >"$out/.stamp"
	printf '%s\n' "$out/sparse"
}

kver= suite=
for s in $suites; do
	if ! fetch_index "$s"; then
		say "fetch-kernel: no apt source of this machine serves $s (tried: $(apt_uris | tr '\n' ' '))"
		continue
	fi
	pkg_table "$s" >"$idxdir/$s/table"
	cands=$(kvers_of "$s")
	case $want in
	"") ;;
	*-"$flavour") cands=$(grep -Fx -- "$want" <<<"$cands" || true) ;;
	*) cands=$(grep -F -- "$want." <<<"$cands" | grep -E "^${want//./\\.}\." || true) ;;
	esac
	# Newest first; the first with a -common headers package wins.
	for k in $(sort -rV <<<"$cands"); do
		abi=${k%-"$flavour"}
		newest "$s" "linux-headers-$abi-common" >/dev/null || continue
		kver=$k suite=$s
		break
	done
	[ -n "$kver" ] && break
	say "fetch-kernel: $s has no amd64 kernel${want:+ matching $want}"
done
[ -n "$kver" ] || die "no amd64 kernel${want:+ matching $want} in: $suites"

if kfetched "$kver"; then
	printf '%s\n' "$kver"
	exit 0
fi
abi=${kver%-"$flavour"}
mirror=$(cat "$idxdir/$suite/mirror")
top=$KPOOL_KERNELS/$kver
debs=$top/debs
root=$top/root
say "fetch-kernel: $kver from $suite"
rm -rf "$root"
mkdir -p "$debs" "$root/boot"

# fetch_deb PACKAGE: download (checked) into $debs; prints its path.
fetch_deb() {
	local line ver file sum out
	line=$(newest "$suite" "$1") || die "$suite has no package $1"
	read -r ver file sum <<<"$line"
	[ -n "$sum" ] || die "$suite lists no SHA256 for $1"
	out=$debs/${file##*/}
	if ! { [ -f "$out" ] && sha256_ok "$out" "$sum"; }; then
		say "fetch-kernel: downloading $1 $ver"
		get "$mirror/$file" "$out" || die "cannot download $mirror/$file"
		sha256_ok "$out" "$sum" ||
			die "$1: $file does not match the SHA256 of $suite's Packages"
	fi
	printf '%s\n' "$out"
}

# The headers, their common part, and the kbuild package they depend on.
hver=$(newest "$suite" "linux-headers-$kver" | cut -d' ' -f1)
kbuild=$(field "$suite" "linux-headers-$kver" "$hver" Depends |
	tr ',' '\n' | sed -n -E 's/^ *(linux-kbuild-[^ ]+).*/\1/p' | head -n1)
[ -n "$kbuild" ] || die "linux-headers-$kver $hver depends on no linux-kbuild package"
for p in "linux-headers-$kver" "linux-headers-$abi-common" "$kbuild"; do
	deb=$(fetch_deb "$p")
	dpkg-deb -x "$deb" "$root"
done

# The image: whichever package holds it.  Debian has named it
# linux-image-KVER(-unsigned), holding /boot/vmlinuz-KVER, and since 7.x
# linux-binary-(unsigned-)KVER, holding /usr/lib/modules/KVER/vmlinuz(
# .unsigned), with linux-image-KVER a metapackage.  Unsigned first: a
# guest boots it directly, and it comes from the headers' own source.
# Wherever it is, build/kernels/KVER/root/boot/vmlinuz-KVER names it.
image=
for p in "linux-image-$kver-unsigned" "linux-binary-unsigned-$kver" \
	 "linux-image-$kver" "linux-binary-$kver"; do
	newest "$suite" "$p" >/dev/null || continue
	deb=$(fetch_deb "$p")
	dpkg-deb -x "$deb" "$root"
	for f in boot/vmlinuz-"$kver" usr/lib/modules/"$kver"/vmlinuz \
		 usr/lib/modules/"$kver"/vmlinuz.unsigned; do
		[ -f "$root/$f" ] || continue
		image=$p
		[ "$f" = "boot/vmlinuz-$kver" ] ||
			ln -sfn "../$f" "$root/boot/vmlinuz-$kver"
		break 2
	done
done
[ -n "$image" ] || die "no package of $suite holds the kernel image of $kver"
# Point the headers at the unpacked tree: their Makefile names the common
# part and its own output directory by their /usr/src paths, and
# absolute symlinks would leave the tree too.
hdr=$root/usr/src/linux-headers-$kver
[ -f "$hdr/Makefile" ] || die "linux-headers-$kver has no Makefile"
sed -i -E "s#(^include |^KBUILD_OUTPUT *:?= *)/usr/src/#\1$root/usr/src/#" "$hdr/Makefile"
while IFS= read -r l; do
	t=$(readlink "$l")
	ln -sfn "$root$t" "$l"
done < <(find "$root" -type l -lname '/*')
kbuild_dir=$(cd -P "$hdr/scripts/.." && pwd)

# The kernel's compiler (CONFIG_CC_VERSION_TEXT) and this machine's.
kcc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$hdr/.config")
hcc=${KPOOL_KERNEL_CC:-x86_64-linux-gnu-gcc-$(gcc -dumpversion | cut -d. -f1)}
command -v "$hcc" >/dev/null || die "no compiler $hcc on this machine"
bad=$(kbuild_broken_helpers "$kbuild_dir")
# C=1/C=2 need scripts/checker-valid.sh (since 6.15), which Debian's
# linux-kbuild does not ship: without it kbuild turns sparse off.
checker=$kbuild_dir/scripts/checker-valid.sh

# The rebuilt helpers, the compiler's view of the configuration and the
# checker script all come from the kernel's own source, configured like
# the kernel and prepared with this machine's compiler.
helpers="as shipped" toolchain="as shipped ($kcc)"
if [ -n "$bad" ] || [ "$kcc" != "$hcc" ] ||
   { [ ! -f "$checker" ] && grep -qs checker-valid.sh "$hdr/../linux-headers-$abi-common/Makefile"; }; then
	[ -z "$bad" ] || {
		say "fetch-kernel: these kbuild helpers do not run here:"
		sed "s#^$kbuild_dir/#  #" <<<"$bad" >&2
	}
	# bc, flex, bison: Kconfig and kernel/time; libelf, zlib: objtool,
	# resolve_btfids; libssl: sign-file, extract-cert; dwarves: pahole,
	# which makes the module's BTF.
	apt_need gcc make libc6-dev bc flex bison libelf-dev zlib1g-dev \
		libssl-dev pkgconf dwarves
	srcpkg=linux-source-$(cut -d. -f1-2 <<<"$abi")
	sver=$(newest "$suite" "$srcpkg" | cut -d' ' -f1) ||
		die "$suite has no $srcpkg to rebuild the kbuild helpers from"
	[ "$sver" = "$hver" ] ||
		die "$suite has $srcpkg $sver, not $hver like the headers: no source to rebuild the kbuild helpers from"
	srcdeb=$(fetch_deb "$srcpkg")
	src=$top/src obj=$top/prepared
	rm -rf "$src" "$obj"
	mkdir -p "$src" "$obj"
	say "fetch-kernel: unpacking $srcpkg $sver"
	dpkg-deb --fsys-tarfile "$srcdeb" |
		tar -xOf - "./usr/src/$srcpkg.tar.xz" |
		tar -xJf - -C "$src" --strip-components=1
	if [ ! -f "$checker" ] && [ -f "$src/scripts/checker-valid.sh" ]; then
		install -m 755 "$src/scripts/checker-valid.sh" "$checker"
	fi

	if [ -n "$bad" ] || [ "$kcc" != "$hcc" ]; then
		# The kernel's configuration, without Rust (no module here has
		# any, and this machine has no matching rustc), re-evaluated
		# for $hcc.
		cp "$hdr/.config" "$obj/.config"
		"$src/scripts/config" --file "$obj/.config" --disable RUST
		kmake=(make -C "$src" O="$obj" ARCH=x86 CC="$hcc" HOSTCC=gcc)
		say "fetch-kernel: preparing $srcpkg with $hcc (about a minute)"
		{ "${kmake[@]}" olddefconfig && "${kmake[@]}" -j2 modules_prepare; } \
			>"$top/prepare.log" 2>&1 ||
			die "preparing $srcpkg with $hcc failed: see $top/prepare.log"
	fi

	# Each helper that does not run is replaced by the one just built;
	# objtool.real-x86 and modpost.real-lsb-64 are what Debian's objtool
	# and modpost wrappers run for an amd64 kernel.
	for f in $bad; do
		rel=${f#"$kbuild_dir"/}
		rel=${rel%.real-x86}
		rel=${rel%.real-lsb-64}
		[ -x "$obj/$rel" ] || die "the kernel's build made no $rel to replace ${f#"$kbuild_dir"/}"
		cp "$obj/$rel" "$f"
	done
	if [ -n "$bad" ]; then
		bad=$(kbuild_broken_helpers "$kbuild_dir")
		[ -z "$bad" ] || die "kbuild helpers still do not run after the rebuild: $bad"
		helpers="rebuilt with $hcc from $srcpkg $sver"
	fi

	# The compiler's view: the toolchain's own symbols (CC_*, GCC_*,
	# AS_*, LD_*, PAHOLE_*, CLANG_*: versions and what the compiler
	# can do) take the values Kconfig gives for $hcc, in .config,
	# include/config/auto.conf and include/generated/autoconf.h, so
	# the kernel's Makefiles and headers use only what $hcc has.  No
	# other symbol changes; those Kconfig would change too are listed.
	if [ "$kcc" != "$hcc" ]; then
		kconfig_retarget "$hdr" "$obj" "$top/toolchain.diff"
		hname=${hcc#x86_64-linux-gnu-}
		sed -i -E 's/^(CC = .*[)])gcc-[0-9]+$/\1'"$hname"'/' "$hdr/.kernelvariables"
		grep -q "^CC = .*)$hname\$" "$hdr/.kernelvariables" ||
			die "cannot set CC to $hcc in $hdr/.kernelvariables"
		toolchain="retargeted from $kcc to $hcc (see toolchain.diff)"
	fi
	rm -rf "$src" "$obj"
fi

# sparse: the kernel's checker-valid.sh says whether this machine's will
# do (7.x headers use __typeof_unqual__, which sparse 0.6.4 lacks); if
# not, sparse is built from Debian's newest source in the suites and
# named in the tree's .kernelvariables (CHECK, read after the Makefile's
# own), so C=1/C=2 use it.
checkfl=(--arch=x86 -mlittle-endian -m64)
check="sparse"
if [ -f "$checker" ]; then
	apt_need sparse
	if [ "$(sh "$checker" sparse "${checkfl[@]}" 2>/dev/null)" != 1 ]; then
		sp=$(sparse_build) || die "no sparse that the $kver headers accept"
		[ "$(sh "$checker" "$sp" "${checkfl[@]}")" = 1 ] ||
			die "$sp does not pass $kver's checker-valid.sh either"
		printf 'CHECK = %s\n' "$sp" >>"$hdr/.kernelvariables"
		check="$sp"
	fi
fi

{
	printf 'kver: %s\nsuite: %s\nversion: %s\n' "$kver" "$suite" "$hver"
	printf 'image: %s\nkbuild: %s\n' "$image" "$kbuild"
	printf 'helpers: %s\ntoolchain: %s\nsparse: %s\n' "$helpers" "$toolchain" "$check"
	printf 'vmlinuz: %s\n' "$root/boot/vmlinuz-$kver"
} >"$top/.stamp.new"
mv "$top/.stamp.new" "$top/.stamp"
say "fetch-kernel: $kver unpacked in $root"
printf '%s\n' "$kver"
