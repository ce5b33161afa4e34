#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what kpool's build, checks and guests need, if it is missing.
# Debian 12, as root.  Kernels and headers by their metapackage names.
#   setup-host.sh [--bench]   (--bench: also what make bench needs)
#   setup-host.sh --deb       (also what make deb and deb-check.sh need)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pkgs=(
	make gcc libc6-dev perl xz-utils kmod cpio
	qemu-system-x86 busybox-static
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-source-6.12
	sparse dkms nettle-dev pkgconf
	liburcu-dev
	# the kernel's selftests/lib.mk installs the tests with rsync; GNU
	# timeout is packed into the guests for run_kselftest.sh
	rsync coreutils
	# tools/man-check.sh renders every page
	groff-base man-db mandoc
	# tools/fetch-kernel.sh (a newer kernel from Debian's archive): the
	# download and its checks, then the kbuild helpers it rebuilds from
	# the kernel's source, and pahole for the module's BTF.
	curl ca-certificates gpgv debian-archive-keyring
	bc flex bison libelf-dev zlib1g-dev libssl-dev dwarves
)
# make bench: the contenders' libraries, strace to count syscalls, gnuplot.
[ "${1:-}" = --bench ] &&
	pkgs+=(liburing-dev libuv1-dev libglib2.0-dev strace gnuplot-nox)
# make deb and tools/deb-check.sh: the Debian packaging tools (tools/deb.sh
# installs those it needs itself).
[ "${1:-}" = --deb ] &&
	pkgs+=(build-essential debhelper dh-dkms fakeroot lintian)

apt_need "${pkgs[@]}"
