#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the module the way a user does and use it, in a guest: "dkms
# install" into a private tree (dkms-check.sh), "make install-module-files"
# into a scratch root, then the guest (guest/install-check.sh) runs the
# host's depmod, systemd-modules-load, modprobe, systemd-sysusers and
# systemd-udevd on that root: the parameters come from modprobe.d, the
# device gets the udev rule's owner, group and mode, a member of the group
# runs a selftest and anyone else gets EACCES.  Nothing lands on the host.
#   module-install-check.sh KVER
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=$1
work=$KPOOL_BUILD/module-install-$kver
root=$work/root
rm -rf "$work" && mkdir -p "$root/lib/modules/$kver"

KPOOL_DKMS_INSTALL=1 "$KPOOL_TOP/tools/dkms-check.sh" "$kver"
cp -r "$KPOOL_BUILD/dkms-$kver/install/$kver/updates" "$root/lib/modules/$kver/"
# What the kernel's own package puts there, for depmod.  A fetched
# kernel's modules package is not fetched (tools/fetch-kernel.sh): empty
# lists then, which only keep depmod from warning about missing files.
for f in modules.order modules.builtin modules.builtin.modinfo; do
	if [ -e "/lib/modules/$kver/$f" ]; then
		cp "/lib/modules/$kver/$f" "$root/lib/modules/$kver/"
	else
		: >"$root/lib/modules/$kver/$f"
	fi
done
make -s -C "$KPOOL_TOP" install-module-files DESTDIR="$root"
tar -cf "$work/install-root.tar" -C "$root" .

files=()
for f in "$work/install-root.tar" /bin/kmod /bin/udevadm /lib/systemd/systemd-udevd \
	/lib/systemd/systemd-modules-load /bin/systemd-sysusers \
	"$KPOOL_TOP/tools/guest/install-check.sh"; do
	files+=(--file "$f")
done
# nop_test first: the module the tests load works; then the installed one.
"$KPOOL_TOP/tools/guest.sh" --kernel "$kver" --name "install-$kver" \
	--ko "$KPOOL_BUILD/kmod-$kver/kmod/kpool.ko" --tests nop_test "${files[@]}" \
	--run "sh /bin/install-check.sh"
