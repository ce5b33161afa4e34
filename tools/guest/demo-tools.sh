#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make demo, part two (runs in the guest): the example tools next to the
# coreutils they stand in for.
set -e
head -c 3145851 /dev/urandom > /tmp/data.bin
echo '$ kpool-sum /tmp/data.bin'
kpool-sum /tmp/data.bin
echo '$ sha256sum /tmp/data.bin'
sha256sum /tmp/data.bin
echo '$ kpool-sum --crc32c /tmp/data.bin'
kpool-sum --crc32c /tmp/data.bin
echo '$ kpool-cp /tmp/data.bin /tmp/copy.bin && cmp /tmp/data.bin /tmp/copy.bin && echo identical'
kpool-cp /tmp/data.bin /tmp/copy.bin && cmp /tmp/data.bin /tmp/copy.bin && echo identical
echo '$ kpool-sum /tmp/missing'
kpool-sum /tmp/missing || echo "(exit status $?)"
