#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In the guest (module-install-check.sh): kpool as a user installs it.
# /bin/install-root.tar holds what "dkms install" and "make
# install-module-files" put on a machine; the host's own kmod, udevd,
# systemd-modules-load and systemd-sysusers do the rest, as at boot.
# Prints TAP.
n=0
check() {
	desc=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n $desc"; else echo "not ok $n $desc"; fi
}
echo "1..9"

# init.sh loaded /kpool.ko: from here on, only the installed copy.
rmmod kpool
tar -xf /bin/install-root.tar -C /
mkdir -p /sbin /run /etc
mount -t tmpfs run /run
for tool in depmod modprobe modinfo; do ln -sf /bin/kmod /sbin/$tool; done
printf 'root:x:0:0::/root:/bin/sh\nmember:x:1000:1000::/tmp:/bin/sh\noutsider:x:1001:1001::/tmp:/bin/sh\n' >/etc/passwd
printf 'root:x:0:\nmember:x:1000:\noutsider:x:1001:\n' >/etc/group

check "sysusers.d creates the kpool group" \
	sh -c '/bin/systemd-sysusers && grep -q "^kpool:" /etc/group'
# What the README tells a user to do: join the group.
sed -i 's/^\(kpool:[^:]*:[^:]*:\)$/\1member/' /etc/group
# And what an admin does to change a parameter.
echo "options kpool max_workers=17" >>/etc/modprobe.d/kpool.conf

check "depmod finds the dkms-installed module" \
	sh -c '/sbin/depmod -a && /sbin/modprobe --dry-run kpool'
check "modinfo gives each parameter with its unit" \
	sh -c '/sbin/modinfo -p kpool | grep -q "^burn_max_ms:.*in ms"'
check "systemd-modules-load loads it (modules-load.d)" \
	sh -c '/bin/systemd-modules-load && [ -d /sys/module/kpool ]'
check "with the parameters from modprobe.d" \
	[ "$(cat /sys/module/kpool/parameters/max_workers)" = 17 ]
check "modprobe -r unloads it and modprobe loads it again" \
	sh -c '/sbin/modprobe -r kpool && [ ! -d /sys/module/kpool ] && /sbin/modprobe kpool'

/bin/systemd-udevd --daemon >/dev/null 2>&1
/bin/udevadm trigger --action=add --subsystem-match=misc --sysname-match=kpool
/bin/udevadm settle --timeout=30
check "the udev rule makes /dev/kpool root:kpool 0660" \
	[ "$(stat -c '%U:%G %a' /dev/kpool)" = "root:kpool 660" ]
check "a member of the group runs a selftest" \
	su member -c '/kselftest/kpool/nop_test >/tmp/member.out 2>&1'
check "anyone else gets EACCES" \
	sh -c "su outsider -c 'cat /dev/kpool' 2>&1 | grep -q 'Permission denied'"
/bin/udevadm control --exit
