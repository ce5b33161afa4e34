#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Pack a guest initramfs: busybox, the module, an /init and payload files.
#   mkinitramfs.sh OUT.cpio.gz KO INIT [FILE...]
# FILEs land in /bin of the guest (static binaries: no loader needed).
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
for f in "$@"; do
	install -m 755 "$f" "$root/bin/"
done
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
