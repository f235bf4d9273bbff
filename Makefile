# SPDX-License-Identifier: GPL-2.0
#
# chimney: build, test and demo.  `make help` lists the targets.

# Run from the top of the checkout (`make` or `make -C DIR`).  The checkout's
# path may hold spaces: recipes quote "$(ROOT)", and kbuild, which cannot,
# gets KROOT, a space-free path to the same tree (scripts/kbuild-root.sh).
ROOT := $(CURDIR)
KROOT = $(shell "$(ROOT)/scripts/kbuild-root.sh")
CACHE ?= $(HOME)/.cache/chimney

# KDIR: the kernel tree to build against.  Default: the cached debug test
# kernel (built by `make kernel`); on a test host:
# KDIR=/lib/modules/$(uname -r)/build
ifeq ($(KDIR),)
KDIR_DEFAULT := 1
KDIR = $(shell "$(ROOT)/scripts/build-kernel.sh" debug)
endif
KDIR_RELEASE = $(shell "$(ROOT)/scripts/build-kernel.sh" release)

# Debian's packaged 6.1 headers, compiled against by `make check`.
KDIR61 ?= $(firstword $(wildcard /usr/src/linux-headers-6.1.*-amd64))

KMAKE = $(MAKE) -C $(1) M=$(2) CHIMNEY_ROOT=$(2)

SOURCES = $(shell git ls-files -co --exclude-standard \
	'drivers/*.[ch]' 'include/*.h' 'kunit/*.[ch]' 'compat/*.h' 'tools/*.[ch]')

.PHONY: all deps kernel kernel-release modules modules-release tools compat-6.1 checkpatch \
	check check-handoff check-scale soak demo bench clean help netlink

all: modules tools

help:
	@echo "make demo        boot the test VM and show what chimney does"
	@echo "make bench       the benchmark table, on the release kernel (.results/bench/bench.json)"
	@echo "make check       everything: deps, kernel, modules, 6.1 build, checkpatch, VM tests"
	@echo "make check-scale the 100,000-connection dump (about 50 minutes)"
	@echo "make soak        the long runs: 10,000 handoff cycles, every trigger (see testing.rst)"
	@echo "make check-handoff  only the KUnit suites and the live handoff selftest"
	@echo "make             chimney.ko, chimney_kunit.ko and tools (KDIR=... for another kernel)"
	@echo "make kernel      build (or reuse) the cached 6.12 debug test kernel"
	@echo "make kernel-release  the same without the debug checkers (make bench runs on it)"
	@echo "make compat-6.1  compile against Debian's 6.1 headers"
	@echo "make checkpatch  checkpatch.pl --strict on our sources"
	@echo "make netlink     regenerate netlink code from Documentation/netlink/specs/chimney.yaml"

deps:
	@"$(ROOT)/scripts/install-deps.sh"

kernel: deps
	@"$(ROOT)/scripts/build-kernel.sh" debug >/dev/null

kernel-release: deps
	@"$(ROOT)/scripts/build-kernel.sh" release >/dev/null

modules: $(if $(KDIR_DEFAULT),kernel)
	@$(call KMAKE,$(KDIR),$(KROOT)) modules

# The modules for the release kernel, in a copy of the tree (.build/release)
# so that its objects never mix with the debug kernel's.
modules-release: kernel-release
	@rm -rf "$(ROOT)/.build/release" && mkdir -p "$(ROOT)/.build/release"
	@cp -r --parents Kbuild compat drivers include kunit "$(ROOT)/.build/release/"
	@find "$(ROOT)/.build/release" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \) -delete
	@$(call KMAKE,$(KDIR_RELEASE),$(KROOT)/.build/release) modules >"$(ROOT)/.build/release.log" 2>&1 \
		|| { cat "$(ROOT)/.build/release.log"; exit 1; }

tools:
	@$(MAKE) -s -C "$(ROOT)/tools/chimneyctl"

# A separate copy of the tree (.build/6.1, one per checkout), so that 6.1
# objects never mix with ours.
compat-6.1: deps
	@test -n "$(KDIR61)" || { echo "compat-6.1: no 6.1 headers in /usr/src"; exit 1; }
	@rm -rf "$(ROOT)/.build/6.1" && mkdir -p "$(ROOT)/.build/6.1"
	@cp -r --parents Kbuild compat drivers include kunit "$(ROOT)/.build/6.1/"
	@find "$(ROOT)/.build/6.1" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \) -delete
	@$(call KMAKE,$(KDIR61),$(KROOT)/.build/6.1) modules >"$(ROOT)/.build/6.1.log" 2>&1 \
		|| { cat "$(ROOT)/.build/6.1.log"; exit 1; }
	@echo "compat-6.1: built against $(notdir $(KDIR61))"

netlink: kernel
	@"$(ROOT)/scripts/netlink-gen.sh"

checkpatch: kernel
	@"$(ROOT)/scripts/checkpatch.sh" $(SOURCES)

check: deps kernel
	@"$(ROOT)/scripts/check.sh"

demo: deps kernel modules tools
	@"$(ROOT)/scripts/demo.sh"

# Only the KUnit suites and the live handoff selftest (part of `make check`).
check-handoff: deps kernel modules tools
	@"$(ROOT)/scripts/long-run.sh" handoff

# The control plane at 100,000 offloaded connections (most of an hour in TCG).
check-scale: deps kernel modules tools
	@"$(ROOT)/scripts/long-run.sh" scale

# The long runs that do not fit `make check`'s budget (Documentation/testing.rst).
soak: deps kernel modules tools
	@"$(ROOT)/scripts/long-run.sh" soak

bench: deps modules-release tools
	@"$(ROOT)/scripts/bench.sh"

clean:
	@find . -path ./.git -prune -o \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name modules.order -o -name Module.symvers \) -print \
		| xargs rm -f
	@$(MAKE) -s -C "$(ROOT)/tools/chimneyctl" clean
	@rm -rf "$(ROOT)/.results" "$(ROOT)/.build"
