#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Pack a guest initramfs: busybox, the module, an /init and payload files.
#   mkinitramfs.sh OUT.cpio.gz KO INIT [FILE...]
# FILEs land in /bin of the guest.  Most are static; a dynamic one (the
# sanitizer builds) brings its loader and libraries, at the host's paths.
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
for f in "$@"; do
	install -m 755 "$f" "$root/bin/"
	copy_libs "$f"
done
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
