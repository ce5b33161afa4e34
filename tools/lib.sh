# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the tools/ scripts.  Source it; do not run it.

KPOOL_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KPOOL_BUILD=${KPOOL_BUILD:-$KPOOL_TOP/build}

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The kernel series the guest suite runs on, and how to find each one's
# newest installed image + headers.  Versions are discovered, never typed.
KPOOL_SERIES=${KPOOL_SERIES:-"6.1 6.12"}

# kver_of_series 6.12 -> 6.12.117+deb12-amd64 (newest with headers)
kver_of_series() {
	local series=$1 img ver best=
	for img in /boot/vmlinuz-"$series".*; do
		[ -e "$img" ] || continue
		ver=${img#/boot/vmlinuz-}
		[ -d "/usr/src/linux-headers-$ver" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$ver" | sed '/^$/d' | sort -V | tail -n1)
	done
	[ -n "$best" ] || return 1
	printf '%s\n' "$best"
}

kdir_of() { printf '/usr/src/linux-headers-%s\n' "$1"; }

# The kernel tree files the build takes from linux-source-6.12.
KSRC_DIR=$KPOOL_BUILD/ksrc
