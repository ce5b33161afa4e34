#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Pack a guest initramfs: busybox, the module, an /init and payload files.
#   mkinitramfs.sh OUT.cpio.gz KO INIT [--dir SRC DEST] [--at SRC DEST] [FILE...]
# FILEs land in /bin of the guest; --dir copies a tree to DEST, --at one
# file to the path DEST (GNU timeout at /usr/bin/timeout, where the
# kselftest runner looks).  Most are static; a dynamic one (the sanitizer
# builds, timeout) brings its loader and libraries, at the host's paths.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$1 ko=$2 init=$3
shift 3
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# mktemp makes the root 0700: other users could not even reach /dev.
chmod 755 "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
cp "$ko" "$root/kpool.ko"
install -m 755 "$init" "$root/init"
# copy_libs FILE: the shared objects ldd names for FILE, if any.
copy_libs() {
	local lib
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
while [ $# -gt 0 ]; do
	case $1 in
	--dir)
		mkdir -p "$root$3"
		cp -a "$2/." "$root$3/"
		shift 3 ;;
	--at)
		install -D -m 755 "$2" "$root$3"
		copy_libs "$2"
		shift 3 ;;
	*)
		install -m 755 "$1" "$root/bin/"
		copy_libs "$1"
		shift ;;
	esac
done
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
