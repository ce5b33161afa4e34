# SPDX-License-Identifier: GPL-2.0
#
# kpool: the whole project.  The module's own build is Kbuild (kept apart
# so DKMS's "make KERNELRELEASE=..." cannot confuse the two).
#
#   make              module (against KDIR; skipped, with a note, when KDIR
#                     has no headers), library, selftests, examples
#   make check        host checks + kselftests in 6.1, 6.12 and 7.3 guests
#   make -C selftests install INSTALL_PATH=DIR   the kselftests in the
#                     kernel's run_kselftest.sh layout (selftests/Makefile)
#   make demo         boot a guest and watch tasks complete
#   make bench        kpool against io_uring, libuv, GLib: build/bench/
#   make install      library, headers, pkg-config, kpoolstat, man pages
#                     (PREFIX, DESTDIR)
#   make install-module  kpool.ko, its udev rule, group, modprobe.d and
#                     modules-load.d files (dist/)
#   make uninstall    removes what those two installed
#   make DEBUG=1 ...  library, selftests, examples with -DKPOOL_DEBUG,
#                     into build/debug/

KDIR	?= /lib/modules/$(shell uname -r)/build
BUILD	?= build
# Where the selftest harness (kselftest_harness.h) comes from: any kernel
# source tree (KSRC=/usr/src/linux-source-6.12, a git checkout), or by
# default the files tools/ksrc.sh extracts from Debian's linux-source
# package, the same for both builds.
ifeq ($(KSRC),)
KSRC	:= $(BUILD)/ksrc
KSRC_EXTRACT := 1
endif
# Debug objects go to their own directory: a directory never holds both
# kinds, so switching DEBUG on or off cannot link one with the other.  Only
# from the command line: a DEBUG=1 left in the environment would move the
# build away from build/, where the tools/ scripts run it.
ifeq ($(origin DEBUG)$(DEBUG),command line1)
ifneq ($(filter check check-debug fuzz demo bench,$(MAKECMDGOALS)),)
$(error make $(filter check check-debug fuzz demo bench,$(MAKECMDGOALS)): its tools/ script builds and runs $(BUILD)/, never a DEBUG=1 build)
endif
override BUILD := $(BUILD)/debug
DEBUG_CPPFLAGS := -DKPOOL_DEBUG
endif
VERSION	:= $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
SONAME_MAJOR := 0

CC	?= cc
CFLAGS	?= -O2 -g
WARN	:= -Wall -Wextra -Werror -Wno-missing-field-initializers
# kselftest_harness.h is written for -Wall, as the kernel's selftests build.
TEST_WARN := -Wall -Werror
# The data tests check SHA-256 against an independent implementation.
TEST_LIBS := -lnettle
# liburcu (LGPL-2.1+; Debian's liburcu-dev): the pool layer's handle
# registry and its RCU-read data, urcu-bp flavour (docs/library.md, "Where
# liburcu is used and where not").  Everything that links libkpool.
URCU_LIBS := -lurcu-cds -lurcu-bp -lurcu-common
CPPFLAGS_ALL := -Iuapi -Iulib/include $(DEBUG_CPPFLAGS) $(CPPFLAGS)

LIB_SRCS := ulib/ring.c ulib/pool.c ulib/bufpool.c ulib/group.c
LIB_HDRS := ulib/include/libkpool.h ulib/include/kpool_pool.h ulib/include/kpool_bufpool.h uapi/linux/kpool.h
LIB_A	:= $(BUILD)/lib/libkpool.a
LIB_SO	:= $(BUILD)/lib/libkpool.so.$(VERSION)

# The kselftests: selftests/Makefile builds them with the kernel's lib.mk
# (from KSRC), linked statically so the guest needs only the binaries.
# Examples are static too.
HARNESS	:= $(KSRC)/tools/testing/selftests/kselftest_harness.h
KSFT_LIBMK := $(KSRC)/tools/testing/selftests/lib.mk
TEST_HDRS := $(wildcard selftests/*.h)
SELFTESTS_MAKE = $(MAKE) -C selftests BUILD=$(abspath $(BUILD)) \
	KSRC=$(abspath $(KSRC)) KPOOL_LIB_BUILT=1 \
	KPOOL_CPPFLAGS="$(DEBUG_CPPFLAGS) $(CPPFLAGS)"
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))

.PHONY: all module lib selftests selftests-san examples fuzzer tools bench bench-bins check check-debug fuzz demo \
	install install-module install-module-files module-missing uninstall clean ksrc

# Without kernel headers, make builds everything else and says so.
ifneq ($(wildcard $(KDIR)/Makefile),)
all: module
else
all: module-missing
endif
all: lib selftests examples fuzzer tools

module:
	@test -d "$(KDIR)" || { echo "KDIR=$(KDIR) does not exist: install the kernel headers or pass KDIR=/path/to/headers" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

module-missing:
	@echo "kpool: no kernel headers at KDIR=$(KDIR): not building kpool.ko (apt-get install linux-headers-$$(uname -r), or make module KDIR=/path/to/kernel/build)"

lib: $(LIB_A) $(LIB_SO)

$(BUILD)/lib/%.o: ulib/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) -fPIC -c $< -o $@

$(LIB_A): $(patsubst ulib/%.c,$(BUILD)/lib/%.o,$(LIB_SRCS))
	$(AR) rcs $@ $^

$(LIB_SO): $(patsubst ulib/%.c,$(BUILD)/lib/%.o,$(LIB_SRCS)) ulib/libkpool.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libkpool.so.$(SONAME_MAJOR) \
		-Wl,--version-script=ulib/libkpool.map -o $@ $(filter %.o,$^) \
		$(URCU_LIBS)
	ln -sf $(notdir $@) $(BUILD)/lib/libkpool.so.$(SONAME_MAJOR)
	ln -sf libkpool.so.$(SONAME_MAJOR) $(BUILD)/lib/libkpool.so

ksrc: $(KSFT_LIBMK)
$(HARNESS): $(KSFT_LIBMK)
$(KSFT_LIBMK):
ifeq ($(KSRC_EXTRACT),1)
	tools/ksrc.sh
else
	@echo "KSRC=$(KSRC) has no tools/testing/selftests/lib.mk: pass a kernel source tree" >&2; exit 1
endif

selftests: lib tools $(KSFT_LIBMK)
	$(SELFTESTS_MAKE)

# One test: make build/selftests/nop_test.
$(BUILD)/selftests/%: lib tools $(KSFT_LIBMK) FORCE
	$(SELFTESTS_MAKE) $(abspath $@)

.PHONY: FORCE
FORCE:

# The library's own tests again under ASan+UBSan and under TSan, with the
# library compiled in (sanitizers need dynamic linking: mkinitramfs.sh
# packs the shared libraries).  Fewer stress tasks: TSan is slow in TCG.
SAN_TESTS := libpool_test bufpool_test libgroup_test libdestroy_test
SAN_DIR	:= $(BUILD)/selftests-san
SAN_BINS := $(foreach t,$(SAN_TESTS),$(SAN_DIR)/$(t).asan $(SAN_DIR)/$(t).tsan)
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -DSTRESS_TASKS_PER_THREAD=10000
SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_tsan := -fsanitize=thread
SAN_SRCS := selftests/san_options.c $(LIB_SRCS)

selftests-san: $(SAN_BINS)

$(SAN_DIR)/%.asan: selftests/%.c $(SAN_SRCS) $(TEST_HDRS) $(LIB_HDRS) $(HARNESS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -I$(dir $(HARNESS)) $(SAN_CFLAGS) $(SAN_asan) \
		$(TEST_WARN) -pthread $< $(SAN_SRCS) $(URCU_LIBS) $(TEST_LIBS) \
		-o $@

$(SAN_DIR)/%.tsan: selftests/%.c $(SAN_SRCS) $(TEST_HDRS) $(LIB_HDRS) $(HARNESS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -I$(dir $(HARNESS)) $(SAN_CFLAGS) $(SAN_tsan) \
		$(TEST_WARN) -pthread $< $(SAN_SRCS) $(URCU_LIBS) $(TEST_LIBS) \
		-o $@

examples: $(EXAMPLES)

$(BUILD)/examples/%: examples/%.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) -static -pthread $< $(LIB_A) \
		$(URCU_LIBS) -o $@

# Benchmarks: each contender's own library, from Debian's packages
# (tools/setup-host.sh --bench), linked dynamically; libkpool statically.
BENCH_PKGS := liburing libuv glib-2.0
BENCH_BINS := $(BUILD)/bench/bench-nop $(BUILD)/bench/bench-read4k \
	$(BUILD)/bench/bench-mixed \
	$(BUILD)/bench/submitters

bench-bins: $(BENCH_BINS)

$(BUILD)/bench/bench-%: bench/%.c bench/bench.h bench/rings.h bench/ptpool.h $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $$(pkg-config --cflags $(BENCH_PKGS)) $(CFLAGS) \
		$(WARN) -pthread $< $(LIB_A) $(URCU_LIBS) \
		$$(pkg-config --libs $(BENCH_PKGS)) -o $@

$(BUILD)/bench/submitters: bench/submitters.c bench/bench.h $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) -static -pthread $< $(LIB_A) \
		$(URCU_LIBS) -o $@

FUZZER	:= $(BUILD)/tools/kpool-fuzz
fuzzer: $(FUZZER)

$(FUZZER): tools/fuzz/kpool-fuzz.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) -static -pthread $< $(LIB_A) \
		$(URCU_LIBS) -o $@

# The command-line tools installed with the library: kpoolstat (only libc;
# static like the selftests, so the guest needs only the binary).
KPOOLSTAT := $(BUILD)/tools/kpoolstat
KPOOLSTAT_SRCS := tools/kpoolstat/kpoolstat.c tools/kpoolstat/fdinfo.c
tools: $(KPOOLSTAT)

$(KPOOLSTAT): $(KPOOLSTAT_SRCS) tools/kpoolstat/fdinfo.h uapi/linux/kpool.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) -static $(KPOOLSTAT_SRCS) -o $@

check:
	tools/check.sh

# The debug kernel (KASAN, lockdep, kmemleak, fault injection): every
# selftest, the fail-nth sweeps and the fuzzer, then a kmemleak scan.
check-debug:
	tools/check-debug.sh

# The fuzzer alone in the debug guest for DURATION seconds (SEED to replay).
fuzz:
	KPOOL_FUZZ_ARGS="--seconds $(or $(DURATION),600) $(if $(SEED),--seed $(SEED))" \
		tools/check-debug.sh --fuzz-only

demo:
	tools/demo.sh

# kpool against io_uring, libuv, GLib and plain syscalls in a 6.12 guest
# (KPOOL_BENCH_SERIES=6.1 for the other), 1 and 2 vCPUs: build/bench/.
bench:
	tools/bench.sh

# The Debian packages (debian/): kpool-dkms, libkpool0, libkpool-dev and
# kpool-tools, built by dpkg-buildpackage in a copy of the tree, into
# build/deb/.  tools/deb-check.sh checks them.
.PHONY: deb
deb:
	tools/deb.sh

PREFIX	?= /usr/local
LIBDIR	?= $(PREFIX)/lib
INCDIR	?= $(PREFIX)/include
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man

# A page per public function (man/man3, .so pages included) and kpool(7);
# tools/man-check.sh keeps them in step with the map and the headers.
MAN3_PAGES := $(wildcard man/man3/*.3)
MAN7_PAGES := $(wildcard man/man7/*.7)
MAN1_PAGES := $(wildcard man/man1/*.1)

PC_FILE	:= $(BUILD)/lib/kpool.pc

$(PC_FILE): Makefile dkms.conf
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' \
		'includedir=$(INCDIR)' '' 'Name: kpool' \
		'Description: kernel-backed task pool: ring and pool API for /dev/kpool' \
		'Version: $(VERSION)' 'Libs: -L$${libdir} -lkpool' \
		'Libs.private: -pthread' \
		'Requires.private: liburcu-bp liburcu-cds' \
		'Cflags: -I$${includedir}' >$@

# Always rebuilt: PREFIX and LIBDIR go into it.
.PHONY: $(PC_FILE)

install: lib $(PC_FILE) $(KPOOLSTAT)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/linux \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libkpool.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libkpool.so.$(SONAME_MAJOR)
	ln -sf libkpool.so.$(SONAME_MAJOR) $(DESTDIR)$(LIBDIR)/libkpool.so
	install -m 644 ulib/include/libkpool.h ulib/include/kpool_pool.h \
		ulib/include/kpool_bufpool.h $(DESTDIR)$(INCDIR)/
	install -m 644 uapi/linux/kpool.h $(DESTDIR)$(INCDIR)/linux/
	install -m 644 $(PC_FILE) $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(KPOOLSTAT) $(DESTDIR)$(BINDIR)/
	install -m 644 $(MAN3_PAGES) $(DESTDIR)$(MANDIR)/man3/
	install -m 644 $(MAN7_PAGES) $(DESTDIR)$(MANDIR)/man7/
	install -m 644 $(MAN1_PAGES) $(DESTDIR)$(MANDIR)/man1/

# What install put there (and install-module-files, and the module that
# install-module put under updates/ for KDIR's kernel).
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libkpool.a $(DESTDIR)$(LIBDIR)/libkpool.so \
		$(DESTDIR)$(LIBDIR)/libkpool.so.$(SONAME_MAJOR) \
		$(DESTDIR)$(LIBDIR)/libkpool.so.$(VERSION) \
		$(DESTDIR)$(INCDIR)/libkpool.h $(DESTDIR)$(INCDIR)/kpool_pool.h \
		$(DESTDIR)$(INCDIR)/kpool_bufpool.h $(DESTDIR)$(INCDIR)/linux/kpool.h \
		$(DESTDIR)$(LIBDIR)/pkgconfig/kpool.pc $(DESTDIR)$(BINDIR)/kpoolstat \
		$(DESTDIR)$(UDEVRULESDIR)/60-kpool.rules \
		$(DESTDIR)$(SYSUSERSDIR)/kpool.conf \
		$(DESTDIR)$(MODLOADDIR)/kpool.conf $(DESTDIR)$(MODPROBEDIR)/kpool.conf \
		$(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3_PAGES))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7_PAGES))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1_PAGES)))
	rm -f $(DESTDIR)/lib/modules/$(KERNELRELEASE_OF_KDIR)/updates/kpool.ko*

# The module as a system installs it: kpool.ko under updates/ (depmod
# runs), and the files around it (dist/): a udev rule making /dev/kpool
# root:kpool 0660, a sysusers.d entry and, without DESTDIR, the group
# itself, a modprobe.d file for the parameters, a modules-load.d entry.
KERNELRELEASE_OF_KDIR = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
UDEVRULESDIR	?= /usr/lib/udev/rules.d
SYSUSERSDIR	?= /usr/lib/sysusers.d
MODLOADDIR	?= /usr/lib/modules-load.d
MODPROBEDIR	?= /etc/modprobe.d

install-module-files:
	install -D -m 644 dist/60-kpool.rules $(DESTDIR)$(UDEVRULESDIR)/60-kpool.rules
	install -D -m 644 dist/kpool.sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/kpool.conf
	install -D -m 644 dist/kpool.modules-load.conf $(DESTDIR)$(MODLOADDIR)/kpool.conf
	install -D -m 644 dist/kpool.modprobe.conf $(DESTDIR)$(MODPROBEDIR)/kpool.conf

install-module: module install-module-files
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=updates modules_install
ifeq ($(DESTDIR),)
	getent group kpool >/dev/null || groupadd --system kpool
	-udevadm control --reload 2>/dev/null
endif

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf $(BUILD)
