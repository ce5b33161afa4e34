# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the tools/ scripts.  Source it; do not run it.

KPOOL_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KPOOL_BUILD=${KPOOL_BUILD:-$KPOOL_TOP/build}

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The kernel series the guest suite runs on, and how to find each one's
# newest installed image + headers.  Versions are discovered, never typed.
KPOOL_SERIES=${KPOOL_SERIES:-"6.1 6.12"}
# And the newer kernels make check fetches from Debian's archive first
# (tools/fetch-kernel.sh: unpacked under build/kernels, never installed).
KPOOL_FETCH_SERIES=${KPOOL_FETCH_SERIES-"7.3"}

# kver_of_series 6.12 -> 6.12.117+deb12-amd64 (newest with headers),
# installed or fetched by tools/fetch-kernel.sh.
kver_of_series() {
	local series=$1 img ver best=
	for img in /boot/vmlinuz-"$series".* "$KPOOL_KERNELS/$series".*/.stamp; do
		[ -e "$img" ] || continue
		case $img in
		/boot/*)
			ver=${img#/boot/vmlinuz-}
			[ -d "/usr/src/linux-headers-$ver" ] || continue ;;
		*)
			ver=${img%/.stamp}; ver=${ver##*/} ;;
		esac
		best=$(printf '%s\n%s\n' "$best" "$ver" | sed '/^$/d' | sort -V | tail -n1)
	done
	[ -n "$best" ] || return 1
	printf '%s\n' "$best"
}

# kdir_of KVER: the headers to build against, installed or fetched.
kdir_of() {
	if [ ! -d "/usr/src/linux-headers-$1" ] && kfetched "$1"; then
		printf '%s/usr/src/linux-headers-%s\n' "$(kroot_of "$1")" "$1"
	else
		printf '/usr/src/linux-headers-%s\n' "$1"
	fi
}

# The kernel tree files the build takes from linux-source-6.12.
KSRC_DIR=$KPOOL_BUILD/ksrc

# apt_need PKG...: install the packages not yet installed (as root; one
# apt-get update first, once per script).
KPOOL_APT_UPDATED=
apt_need() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root or install them"
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "$KPOOL_APT_UPDATED" ]; then
		apt-get update -q >&2 || die "apt-get update failed"
		KPOOL_APT_UPDATED=1
	fi
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
		die "could not install ${missing[*]}"
}

# apt_uris: the archive URIs of the machine's own apt sources (one-line
# sources.list and *.list, deb822 *.sources), in order, each once.  The
# project names no mirror: tools/fetch-kernel.sh tries these.
apt_uris() {
	local f
	{
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			sed -n -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$f"
		done
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			# One stanza per paragraph; Enabled: no and deb-src-only
			# stanzas are skipped.
			awk '
			function flush() {
				if (uris != "" && types ~ /(^| )deb( |$)/ && enabled != "no")
					print uris
				uris = ""; types = ""; enabled = ""
			}
			/^[[:space:]]*$/ { flush(); next }
			/^#/ { next }
			tolower($1) == "uris:" { $1 = ""; uris = $0 }
			tolower($1) == "types:" { $1 = ""; types = $0 " " }
			tolower($1) == "enabled:" { enabled = tolower($2) }
			END { flush() }' "$f" | tr ' ' '\n'
		done
	} | sed '/^$/d; s,/*$,,' | awk '!seen[$0]++'
}

# Kernels that tools/fetch-kernel.sh took from Debian's archive, unpacked
# (never installed) under build/kernels/KVER/root.
KPOOL_KERNELS=$KPOOL_BUILD/kernels
kroot_of() { printf '%s/%s/root\n' "$KPOOL_KERNELS" "$1"; }
kfetched() { [ -f "$KPOOL_KERNELS/$1/.stamp" ]; }

# kimage_of KVER: the kernel image a guest boots, installed or fetched.
kimage_of() {
	if [ ! -e "/boot/vmlinuz-$1" ] && kfetched "$1"; then
		printf '%s/boot/vmlinuz-%s\n' "$(kroot_of "$1")" "$1"
	else
		printf '/boot/vmlinuz-%s\n' "$1"
	fi
}

# kbuild_broken_helpers DIR: the ELF programs under DIR (an unpacked
# linux-kbuild tree) that this machine's loader cannot run: a library or
# symbol version (GLIBC_2.38...) it lacks.  Debian's modpost and objtool
# are wrappers that run a variant per target (modpost.real-lsb-64,
# objtool.real-x86...): only those an amd64 kernel uses are checked.
kbuild_broken_helpers() {
	local f out
	while IFS= read -r -d '' f; do
		case $f in
		*.real-lsb-64 | *.real-x86) ;;
		*.real-*) continue ;;
		esac
		[ "$(head -c4 "$f" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || continue
		out=$(LC_ALL=C ldd "$f" 2>&1) || true
		case $out in *'not found'*) printf '%s\n' "$f" ;; esac
	done < <(find "$1" -type f -perm -u+x -print0 | sort -z)
}
