#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (once) the debug kernel for make check-debug and print its tree.
#
# Debian's linux-source-6.1, tinyconfig plus tools/debug/kernel.config,
# built in a cache outside the repo keyed by a hash of the source tarball
# and the fragment: ${KPOOL_CACHE:-/var/cache/kpool}/debug-kernel-<hash>.
# bzImage for the guest, modules for Module.symvers (out-of-tree builds
# need it).  About 10-15 minutes on 2 cores the first time.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

pkgs=(linux-source-6.1 bc flex bison libelf-dev libssl-dev dwarves)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "debug-kernel: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >&2 ||
		{ apt-get update -q >&2 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "${missing[@]}" >&2; }
fi

tarball=$(ls /usr/src/linux-source-6.1.tar.* | head -n1)
frag=$KPOOL_TOP/tools/debug/kernel.config
hash=$( { sha256sum "$tarball" | cut -d' ' -f1; cat "$frag"; } | sha256sum | cut -c1-16)
cache=${KPOOL_CACHE:-/var/cache/kpool}
tree=$cache/debug-kernel-$hash

if [ -f "$tree/.kpool-built" ]; then
	printf '%s\n' "$tree"
	exit 0
fi
# Built in place (out-of-tree module builds want the tree where it was
# built); the marker is written last, so a broken build starts over.
rm -rf "$tree"
mkdir -p "$tree"
say "debug-kernel: unpacking $tarball"
tar -xf "$tarball" -C "$tree" --strip-components=1
cd "$tree"
say "debug-kernel: configuring (tinyconfig + $frag)"
make -s tinyconfig >&2
scripts/kconfig/merge_config.sh -m .config "$frag" >&2
make -s olddefconfig >&2
# Every line of the fragment must have survived: a missing dependency
# would silently leave a checker out.
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	grep -qx "$line" .config || die "debug kernel config lost: $line"
done <"$frag"
say "debug-kernel: building bzImage and modules (10-15 min on 2 cores)"
start=$(date +%s)
make -s -j"$(nproc)" bzImage modules >&2
say "debug-kernel: built in $(( $(date +%s) - start )) s"
touch "$tree/.kpool-built"
printf '%s\n' "$tree"
