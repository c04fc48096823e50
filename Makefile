# SPDX-License-Identifier: GPL-2.0
#
#   make              build src/wgmpsc.ko for Debian 13's kernel (KERNEL=)
#   make debug        the same module with self-tests and lifetime logging
#   make run          boot the test VM and show two peers configured
#   make check        build both flavours and run every test in the VM
#   make fuzz         the receive-path and netlink fuzzers at full size
#   make check-debug  the same on a debug kernel (KASAN, lockdep, kmemleak...)
#   make deps         install/fetch what the project needs (tools/deps.sh)
#   make deb          build/deb/wgmpsc-dkms_<version>_all.deb (DKMS source)
#   make install      the release module, depmod and /lib/modprobe.d/wgmpsc.conf
#                     for KERNEL= or KDIR= (DESTDIR= stages); make uninstall
#   tools/version.sh  the version all of these carry (from git tags)
#
# KERNEL names a kernel of tools/kernels/list: trixie (the default, Debian
# 13's 6.12), trixie-rt, trixie-bpo (7.x), bookworm (6.1), bookworm-rt,
# bookworm-bpo (6.12).  Each is fetched from Debian's archive into
# ~/.cache/wgmpsc/kernels (never installed) and built for with its own
# release's compiler (tools/kernels/make.sh); the VM boots it.  KDIR=<kernel
# build tree> builds against any other tree with this host's compiler.
# This machine's own kernel cannot load modules: never `uname -r`.
#
# make check KERNEL=NAME runs the suite on that kernel; CHECK_ONLY="load
# netns ..." a subset, CHECK_PREEMPT=full with preempt=full (a non-RT
# kernel), CHECK_ENV="NAME=VALUE ..." shorter knobs (tools/check.sh).

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KERNEL ?= trixie
# Looked up once, and only by the targets that build or boot: the fetch may
# download the kernel first.
ifeq ($(origin KDIR),undefined)
KERNEL_DIR = $(eval KERNEL_DIR := $$(shell $(TOP)/tools/kernels/fetch.sh $(KERNEL)))$(KERNEL_DIR)
KDIR = $(eval KDIR := $$(shell sed -n 's/^KDIR=//p' $(KERNEL_DIR)/kernel.env))$(KDIR)
KMAKE = $(TOP)/tools/kernels/make.sh $(KERNEL)
else
KERNEL_DIR :=
KMAKE = $(MAKE)
endif
DEBUG_TREE := $(TOP)/build/debug
# The module's version (tools/version.sh, from git), computed here on the
# host once: the trixie build root has no git.  src/Kbuild gets it as
# WGMPSC_VERSION.
VERSION = $(eval VERSION := $$(or $$(shell $(TOP)/tools/version.sh),unknown))$(VERSION)
KBUILD_ARGS = CONFIG_WIREGUARD_MPSC=m WGMPSC_VERSION=$(VERSION)
VM := $(TOP)/tools/vm.sh
VM_KERNEL = $(if $(KERNEL_DIR),--kernel $(KERNEL_DIR)/bzImage)

# The host's packages are checked, not reinstalled, on every run
# (tools/deps.sh --host is a no-op once everything is present); the kernel
# a target needs is fetched when it is first used.  `make deps` fetches
# every kernel of tools/kernels/list and the build root too.
DEPS_STAMP := $(TOP)/build/.deps-ok

.PHONY: all module debug deps run check fuzz libfuzz check-debug kdebug-modules clean sparse bench \
	bench-native \
	deb install uninstall FORCE

all: module

$(DEPS_STAMP): $(TOP)/tools/deps.sh
	@$(TOP)/tools/deps.sh --host
	@mkdir -p $(dir $@) && touch $@

deps:
	@$(TOP)/tools/deps.sh
	@mkdir -p $(TOP)/build && touch $(DEPS_STAMP)

# The flavour stamp forces a clean rebuild when switching between release
# and debug, since both write src/wgmpsc.ko.
define build_flavour
	@if [ -z "$(KDIR)" ]; then \
		echo "no kernel tree for KERNEL=$(KERNEL) (tools/kernels/fetch.sh)" >&2; exit 1; fi
	+@if [ "$$(cat $(1)/.flavour 2>/dev/null)" != "$(2) $(KDIR)" ]; then \
		$(KMAKE) -s -C $(KDIR) M=$(1) clean >/dev/null; \
		rm -f $(1)/../selftest/*.o $(1)/../selftest/.*.cmd; fi
	+$(KMAKE) -C $(KDIR) M=$(1) $(KBUILD_ARGS) WGMPSC_TOP=$(abspath $(1)/..) $(3) modules
	@echo "$(2) $(KDIR)" > $(1)/.flavour
endef

module: $(DEPS_STAMP)
	$(call build_flavour,$(TOP)/src,release,)

debug: $(DEPS_STAMP)
	$(call build_flavour,$(TOP)/src,debug,CONFIG_WIREGUARD_MPSC_DEBUG=y)

# `make check` needs both flavours at once; the debug one is built from a
# copy of the tree so src/wgmpsc.ko stays the release module.
$(DEBUG_TREE)/src/wgmpsc.ko: FORCE $(DEPS_STAMP)
	@mkdir -p $(DEBUG_TREE)
	@cp -a $(TOP)/src $(TOP)/selftest $(DEBUG_TREE)/
	@rm -f $(DEBUG_TREE)/src/.flavour
	$(call build_flavour,$(DEBUG_TREE)/src,debug,CONFIG_WIREGUARD_MPSC_DEBUG=y)

run: module $(DEPS_STAMP)
	$(VM) --smp 2 $(VM_KERNEL) --module $(TOP)/src/wgmpsc.ko -- tests/demo.sh

check: module $(DEBUG_TREE)/src/wgmpsc.ko deb $(DEPS_STAMP)
	CHECK_KERNEL=$(if $(KERNEL_DIR),$(KERNEL_DIR)/bzImage) \
		$(TOP)/tools/check.sh $(TOP)/src/wgmpsc.ko $(DEBUG_TREE)/src/wgmpsc.ko

# `make fuzz`: tests/fuzz.sh at full size on the debug module (1,000,000
# packets at the receive path, 3,000 netlink requests; `make check` runs it
# small).  Results and the serial log in build/vm/fuzz/.
FUZZ_ENV ?= FUZZ_PACKETS=1000000 FUZZ_ROUND=100000 FUZZ_NETLINK=3000
fuzz: $(DEBUG_TREE)/src/wgmpsc.ko $(DEPS_STAMP)
	@mkdir -p $(TOP)/build/vm/fuzz
	$(VM) --smp 2 $(VM_KERNEL) --timeout 7200 --module $(DEBUG_TREE)/src/wgmpsc.ko \
		--results $(TOP)/build/vm/fuzz/results --log $(TOP)/build/vm/fuzz/serial.log \
		$(foreach e,$(FUZZ_ENV),--env $(e)) -- tests/fuzz.sh

# `make check-debug`: the suite again on a debug kernel built from Debian's
# linux-source-6.1 and cached outside the checkout (tools/debug-kernel/),
# with both flavours built against its tree in build/kdebug/, then the
# kmemleak step.  CHECK_DEBUG_ENV shortens the longest tests to fit CI.
# Userspace libFuzzer runs of src/replay.c and src/allowedips.c
# (tools/libfuzzer/README.md); LIBFUZZ_SECONDS per fuzzer.
LIBFUZZ_SECONDS ?= 60
libfuzz: $(DEPS_STAMP)
	$(MAKE) -C $(TOP)/tools/libfuzzer run FUZZ_SECONDS=$(LIBFUZZ_SECONDS)

KDEBUG := $(TOP)/build/kdebug
CHECK_DEBUG_ENV ?= WGT_STRESS_SECONDS=10 CHURN_PEERS=500 CHURN_SECONDS=15 \
	FUZZ_PACKETS=10000 FUZZ_NETLINK=200 WGT_MANY_PEERS=2000 \
	WGT_CHURN_FLOW_SECONDS=60 WGT_IPERF_SECONDS=2 WGT_IPERF_UDP_SECONDS=1
check-debug: $(DEPS_STAMP)
	@mkdir -p $(KDEBUG)
	@dir=$$($(TOP)/tools/debug-kernel/build.sh) && ln -sfn "$$dir" $(KDEBUG)/kernel
	$(MAKE) --no-print-directory KDIR=$(KDEBUG)/kernel/linux kdebug-modules
	CHECK_KERNEL=$(KDEBUG)/kernel/bzImage CHECK_ENV="$(CHECK_DEBUG_ENV)" \
		$(TOP)/tools/check.sh $(KDEBUG)/release/src/wgmpsc.ko $(KDEBUG)/debug/src/wgmpsc.ko

kdebug-modules:
	@for f in release debug; do mkdir -p $(KDEBUG)/$$f && \
		cp -a $(TOP)/src $(TOP)/selftest $(KDEBUG)/$$f/ && rm -f $(KDEBUG)/$$f/src/.flavour; done
	$(call build_flavour,$(KDEBUG)/release/src,release,)
	$(call build_flavour,$(KDEBUG)/debug/src,debug,CONFIG_WIREGUARD_MPSC_DEBUG=y)

# Benchmarks against the distro's wireguard.ko of KERNEL (tools/bench/bench.sh;
# BENCH_QUICK=1 for a smoke run); results in bench/.  ONLY="mem queue net hs
# native" (any of them) runs some parts alone; ONLY=native needs no module.
comma := ,
bench: $(if $(filter-out native,$(subst $(comma), ,$(ONLY))),module,$(if $(strip $(ONLY)),,module)) $(DEPS_STAMP)
	ONLY="$(ONLY)" KERNEL=$(KERNEL) $(TOP)/tools/bench/bench.sh

# `make bench-native`: the queue benchmark on this machine's own cores, no
# VM (tools/bench/native): src/mpsc.c against a spinlocked list and KERNEL's
# ptr_ring.h, both compiled for userspace.  Output also in
# build/bench-native/results.txt; BENCH_QUICK=1 for a short run.  `make
# bench` runs it too (its part "native").
bench-native: $(DEPS_STAMP)
	$(MAKE) -C $(TOP)/tools/bench/native run KERNEL=$(KERNEL) \
		$(if $(KERNEL_DIR),PTR_RING_H=$(firstword $(wildcard $(KERNEL_DIR)/root/usr/src/linux-headers-*-common/include/linux/ptr_ring.h))) \
		$(if $(filter 1,$(BENCH_QUICK)),RUN_FLAGS=-q)

# `make deb`: build/deb/wgmpsc-dkms_<version>_all.deb, the DKMS source
# package (debian/, tools/deb.sh); no kernel needed.
deb: $(DEPS_STAMP)
	@$(TOP)/tools/deb.sh

# `make install` / `make uninstall` for machines without the .deb: the
# release module into /lib/modules/<release>/updates/ of the kernel built
# for (KDIR= or KERNEL=; the release is the tree's, not this machine's),
# depmod, and the modprobe.d file that makes the "wireguard" aliases load
# wgmpsc (tools/wgmpsc.conf).  DESTDIR= stages all of it under a
# directory.  The kernel's modules_install runs with this host's make:
# it only copies (and compresses or signs, as the kernel's configuration
# says), and in the build root DESTDIR would not be seen.
MODPROBE_D ?= /lib/modprobe.d
# The release the tree's modules carry (vermagic, uname -r): UTS_RELEASE.
# Not include/config/kernel.release: in Debian 12's headers it says
# "6.1.192" where the kernel is 6.1.0-57-amd64.
KREL = $(eval KREL := $$(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null))$(KREL)
MOD_UPDATES = $(DESTDIR)/lib/modules/$(KREL)/updates
DEPMOD = depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KREL)

install: module
	@if [ -z "$(KREL)" ]; then echo "no kernel release in $(KDIR)" >&2; exit 1; fi
	+$(MAKE) -C $(KDIR) M=$(TOP)/src $(KBUILD_ARGS) INSTALL_MOD_DIR=updates \
		INSTALL_MOD_PATH=$(DESTDIR) modules_install
	$(DEPMOD)
	install -D -m 0644 $(TOP)/tools/wgmpsc.conf $(DESTDIR)$(MODPROBE_D)/wgmpsc.conf

# Removes what install put there, then depmod again: its outputs stay,
# they are the kernel's (modules.dep and the rest) and now no longer name
# wgmpsc.  No build: only the kernel's release is needed.
uninstall:
	@if [ -z "$(KREL)" ]; then echo "no kernel release in $(KDIR)" >&2; exit 1; fi
	rm -f $(foreach c,ko ko.xz ko.zst ko.gz,$(MOD_UPDATES)/wgmpsc.$(c))
	rmdir --ignore-fail-on-non-empty $(MOD_UPDATES) 2>/dev/null || true
	if [ -d $(DESTDIR)/lib/modules/$(KREL) ]; then $(DEPMOD); fi
	rm -f $(DESTDIR)$(MODPROBE_D)/wgmpsc.conf

sparse: $(DEPS_STAMP)
	+$(KMAKE) -C $(KDIR) M=$(TOP)/src $(KBUILD_ARGS) WGMPSC_TOP=$(TOP) CONFIG_WIREGUARD_MPSC_DEBUG=y C=2 W=1 modules
	@rm -f $(TOP)/src/.flavour

clean:
	+-$(KMAKE) -s -C $(KDIR) M=$(TOP)/src clean
	rm -f src/.flavour selftest/*.o selftest/.*.cmd
	rm -rf build
