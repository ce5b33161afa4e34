#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot one QEMU (TCG) guest with kpool.ko loaded, run kselftests and
# commands in it, and judge its console log.  Every guest the tools boot
# comes through here.
#
#   guest.sh --kernel K [options]
#
#   --kernel K      a kernel series (6.1, 6.12, 7.3), a release with headers
#                   (6.12.118+deb12-amd64) or a bzImage's path
#   --ko PATH       the module to load (default: build-module.sh builds it
#                   for K; needed with a bzImage)
#   --tests LIST    kselftests to run, space or comma separated, from the
#                   tree "make -C selftests install" lays out; "all" (the
#                   default) or "none"
#   --skip LIST     kselftests left out of "all"
#   --also PROG     one more TAP program to run after the kselftests, by
#                   path (the sanitizer builds); repeatable
#   --run CMD       a command to run after those; repeatable
#   --file PATH     put PATH in the guest's /bin (with its libraries);
#                   repeatable
#   --env N=V       exported to every command; repeatable
#   --timeout S     seconds each kselftest and command may run (default:
#                   the kselftests' settings file, and 300 for commands)
#   --smp N         vCPUs (2)             --mem SIZE    memory (1G)
#   --append ARGS   kernel command line (default init_on_alloc=0: Debian's
#                   kernels zero every allocation, and a field the module
#                   forgets to set would then read 0 and pass)
#   --vm-timeout S  seconds the whole guest may run (900)
#   --name NAME     build/NAME/ for its files, build/NAME.log for the
#                   console (default guest-KERNEL)
#   --no-tap        commands are plain programs: each one's exit status is
#                   its result (the demo, the benchmarks)
#
# Prints parse-log.sh's verdict ("RESULT passed=P failed=F skipped=S" last)
# and exits with its status.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel='' ko='' tests=all skip='' name='' timeout='' smp=2 mem=1G
append=init_on_alloc=0 vm_timeout=900 tap=1
also=() runs=() files=() envs=()
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || [ "$1" = --no-tap ] || die "guest.sh: $1 needs a value"
	case $1 in
	--kernel) kernel=$2 ;;
	--ko) ko=$2 ;;
	--tests) tests=${2//,/ } ;;
	--skip) skip=${2//,/ } ;;
	--also) also+=("$2") ;;
	--run) runs+=("$2") ;;
	--file) files+=("$2") ;;
	--env) envs+=("$2") ;;
	--timeout) timeout=$2 ;;
	--smp) smp=$2 ;;
	--mem) mem=$2 ;;
	--append) append=$2 ;;
	--vm-timeout) vm_timeout=$2 ;;
	--name) name=$2 ;;
	--no-tap) tap=0; shift; continue ;;
	*) die "guest.sh: unknown option $1 (see the comment at its top)" ;;
	esac
	shift 2
done
[ -n "$kernel" ] || die "guest.sh: --kernel is required"

# A series names the newest installed or fetched kernel of that series.
kver=$kernel
if [ ! -f "$kernel" ] && [ ! -d "$(kdir_of "$kernel" 2>/dev/null)" ]; then
	kver=$(kver_of_series "$kernel") || die "no installed or fetched $kernel kernel with headers"
fi
if [ -z "$ko" ]; then
	[ -f "$kver" ] && die "guest.sh: a bzImage needs --ko"
	ko=$("$KPOOL_TOP/tools/build-module.sh" "$kver")
fi
[ -r "$ko" ] || die "no module $ko"

name=${name:-guest-$(basename "$kver")}
work=$KPOOL_BUILD/$name
rm -rf "$work" && mkdir -p "$work"
: >"$work/run-list"

# The kselftests, installed as a user installs them and run by the
# kernel's run_kselftest.sh, which bounds each by the settings file (or
# --timeout).
initramfs_args=()
if [ "$tests" != none ]; then
	ksft=$work/kselftest
	make -s -C "$KPOOL_TOP/selftests" BUILD="$KPOOL_BUILD" install \
		INSTALL_PATH="$ksft" >"$work/install.out" 2>&1 ||
		{ cat "$work/install.out" >&2; die "make -C selftests install failed"; }
	[ "$tests" = all ] && tests=$(sed -n 's/^kpool://p' "$ksft/kselftest-list.txt")
	cmd=/kselftest/run_kselftest.sh
	[ -n "$timeout" ] && cmd+=" -o $timeout"
	for t in $tests; do
		[[ " $skip " == *" $t "* ]] && continue
		[ -x "$ksft/kpool/$t" ] || die "no kselftest $t (tests: $(tr '\n' ' ' <"$ksft/kselftest-list.txt"))"
		cmd+=" -t kpool:$t"
	done
	echo "$cmd" >>"$work/run-list"
	# run_kselftest.sh times each test with GNU timeout at this path.
	initramfs_args+=(--dir "$ksft" /kselftest --at "$(command -v timeout)" /usr/bin/timeout)
fi
for p in ${also[@]+"${also[@]}"}; do
	[ -x "$p" ] || die "no program $p"
	files+=("$p")
	basename "$p" >>"$work/run-list"
done
for c in ${runs[@]+"${runs[@]}"}; do printf '%s\n' "$c" >>"$work/run-list"; done
echo "${timeout:-300}" >"$work/run-timeout"
printf '%s\n' ${envs[@]+"${envs[@]}"} >"$work/run-env"

# The examples and kpoolstat ride along: tools_test and kpoolstat_test
# run them, the demo shows them.
"$KPOOL_TOP/tools/mkinitramfs.sh" "$work/initrd.cpio.gz" "$ko" \
	"$KPOOL_TOP/tools/guest/init.sh" ${initramfs_args[@]+"${initramfs_args[@]}"} \
	"$KPOOL_BUILD"/examples/* "$KPOOL_BUILD"/tools/kpoolstat \
	${files[@]+"${files[@]}"} "$work/run-list" "$work/run-timeout" "$work/run-env"
boot() {
	"$KPOOL_TOP/tools/vm.sh" --smp "$smp" --mem "$mem" --append "$append" \
		"$kver" "$work/initrd.cpio.gz" "$work.log" "$vm_timeout"
}
boot
# A guest that died before /init never ran kpool (/init loads the module):
# under TCG that is the emulator's doing (seen: an int3 Oops in the
# kernel's own timer code 1.3 s into a 6.12 boot).  Boot once more, and
# say so; the first console stays beside the second.
if ! grep -q '^KPOOL-GUEST-UP' "$work.log"; then
	echo "guest.sh: the guest died before /init (console: $work.log.first); booting again" >&2
	mv "$work.log" "$work.log.first"
	boot
fi
judge() {
	if [ "$tap" -eq 1 ]; then
		"$KPOOL_TOP/tools/parse-log.sh" "$work.log"
	else
		"$KPOOL_TOP/tools/parse-log.sh" --no-tap "$work.log"
	fi
}
if judge >"$work/verdict"; then
	cat "$work/verdict"
	exit 0
fi
# TCG, never hardware: a vCPU can still run a breakpoint the kernel's live
# text patching (a static key flipped by a module's load or unload, a
# tracepoint enabled) has already taken out, and the kernel, finding no
# patch under way, oopses ("Oops: int3", with the instruction at RIP
# already whole again; seen in __schedule at rmmod, in timer code at
# boot).  That Oops, and only that one, boots the guest once more, and
# says so; the first console stays beside the second.
if "$KPOOL_TOP/tools/stale-int3.sh" "$work.log"; then
	echo "guest.sh: the emulator ran a breakpoint already patched out (console: $work.log.int3; $(grep -m1 'RIP: ' "$work.log" | sed 's/.*RIP: //')); booting again"
	mv "$work.log" "$work.log.int3"
	boot
	judge
	exit
fi
cat "$work/verdict"
exit 1
