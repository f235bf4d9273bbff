# SPDX-License-Identifier: GPL-2.0
#
# chimney: build, test and demo.  `make help` lists the targets.

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
CACHE ?= $(HOME)/.cache/chimney

# KDIR: the kernel tree to build against.  Default: the cached test kernel
# (built by `make kernel`); on a test host: KDIR=/lib/modules/$(uname -r)/build
ifeq ($(KDIR),)
KDIR_DEFAULT := 1
KDIR = $(shell $(ROOT)/scripts/build-kernel.sh)
endif

# Debian's packaged 6.1 headers, compiled against by `make check`.
KDIR61 ?= $(firstword $(wildcard /usr/src/linux-headers-6.1.*-amd64))

KMAKE = $(MAKE) -C $(1) M=$(2) CHIMNEY_ROOT=$(ROOT)

SOURCES = $(shell cd $(ROOT) && git ls-files -co --exclude-standard \
	'drivers/*.[ch]' 'include/*.h' 'kunit/*.[ch]' 'compat/*.h' 'tools/*.[ch]')

.PHONY: all deps kernel modules tools compat-6.1 checkpatch check check-handoff check-scale demo bench clean help netlink

all: modules tools

help:
	@echo "make demo        boot the test VM and show what chimney does"
	@echo "make bench       boot the test VM and print the benchmark table"
	@echo "make check       everything: deps, kernel, modules, 6.1 build, checkpatch, VM tests"
	@echo "make check-scale the 100,000-connection dump (most of an hour)"
	@echo "make             chimney.ko, chimney_kunit.ko and tools (KDIR=... for another kernel)"
	@echo "make kernel      build (or reuse) the cached 6.12 test kernel"
	@echo "make compat-6.1  compile against Debian's 6.1 headers"
	@echo "make checkpatch  checkpatch.pl --strict on our sources"
	@echo "make netlink     regenerate netlink code from Documentation/netlink/specs/chimney.yaml"

deps:
	@$(ROOT)/scripts/install-deps.sh

kernel: deps
	@$(ROOT)/scripts/build-kernel.sh >/dev/null

modules: $(if $(KDIR_DEFAULT),kernel)
	@$(call KMAKE,$(KDIR),$(ROOT)) modules

tools:
	@$(MAKE) -s -C $(ROOT)/tools/chimneyctl

# A separate copy of the tree, so that 6.1 objects never mix with ours.
compat-6.1: deps
	@test -n "$(KDIR61)" || { echo "compat-6.1: no 6.1 headers in /usr/src"; exit 1; }
	@rm -rf $(CACHE)/build-6.1 && mkdir -p $(CACHE)/build-6.1
	@cd $(ROOT) && cp -r --parents Kbuild compat drivers include kunit $(CACHE)/build-6.1/
	@$(MAKE) -C $(KDIR61) M=$(CACHE)/build-6.1 CHIMNEY_ROOT=$(CACHE)/build-6.1 modules >$(CACHE)/build-6.1.log 2>&1 \
		|| { cat $(CACHE)/build-6.1.log; exit 1; }
	@echo "compat-6.1: built against $(notdir $(KDIR61))"

netlink: kernel
	@$(ROOT)/scripts/netlink-gen.sh

checkpatch: kernel
	@$(ROOT)/scripts/checkpatch.sh $(SOURCES)

check: deps kernel
	@$(ROOT)/scripts/check.sh

demo: deps kernel modules tools
	@$(ROOT)/scripts/demo.sh

# Only the KUnit suites and the live handoff selftest (part of `make check`).
check-handoff: deps kernel modules tools
	@$(ROOT)/scripts/vm-run.sh -t 1800 -r $(ROOT)/.results/handoff -- env \
		CHIMNEY_TESTS=handoff bash $(ROOT)/scripts/guest-check.sh

# The control plane at 100,000 offloaded connections (most of an hour in TCG).
# 200,000 sockets and the debug kernel's per-object tracking (kmemleak,
# debug objects, KASAN redzones) need more than the default 3G.
check-scale: deps kernel modules tools
	@CHIMNEY_VM_MEM=8G $(ROOT)/scripts/vm-run.sh -t 7200 -r $(ROOT)/.results/scale -- env \
		CHIMNEY_TESTS=conn_dump_100k CHIMNEY_DUMP_CONNS=100000 \
		CHIMNEY_TEST_TIMEOUT=7000 bash $(ROOT)/scripts/guest-check.sh

bench: deps kernel modules tools
	@$(ROOT)/scripts/bench.sh

clean:
	@cd $(ROOT) && find . -path ./.git -prune -o \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name modules.order -o -name Module.symvers \) -print \
		| xargs rm -f
	@$(MAKE) -s -C $(ROOT)/tools/chimneyctl clean
	@rm -rf $(ROOT)/.results
