# sgnic — top-level entry points.  `make help` lists them.
SHELL := /bin/bash

# The module is built for the kernel whose headers linux-headers-amd64 pulls
# in; that is also the kernel the test VM boots.
KREL ?= $(shell bash -c '. tests/vm/lib.sh && vm_kernel_version 2>/dev/null' | cut -d' ' -f1)
KDIR ?= /lib/modules/$(KREL)/build
BUILD ?= build
CTEST_PARALLEL ?= 2
CTEST_ARGS ?=

MODULE_DIRS := kmod tests/vm/selftest-module tests/kheaders

DEBUG_BUILD ?= build-debug

# Benchmarks measure a non-sanitized daemon, CLI and netlink tool built in
# their own tree; the smoke run uses the (sanitized) main tree.
BENCH_BUILD ?= build-bench
# Not exported: `make test` runs bench.smoke, whose sizes must not be these.
BENCH_RULES ?= 1000000

.PHONY: all help deps kmod user test unit test-vm test-service lint lint-deep deb demo shell clean debug-kernel test-debug \
	bench bench-smoke

all: kmod user

help:
	@echo "make deps      install build/test dependencies and fetch the VM kernel"
	@echo "make           build sgnic.ko (kbuild, KDIR=$(KDIR)) and user space (CMake, $(BUILD)/)"
	@echo "make test      deps + build + lint + packages + every test tier (ctest)"
	@echo "make unit      unit tests only;  make test-vm  VM tests only"
	@echo "make test-service  the service tier: the .deb files in a guest booted with systemd"
	@echo "make lint      checkpatch --strict, sparse, clang-format, clang-tidy"
	@echo "make lint-deep the same with clang-tidy's analyzer on tests/ too (~5 min more)"
	@echo "make deb       Debian packages sgnic-dkms and sgnicd into $(BUILD)/deb/ (lintian-checked)"
	@echo "make demo      boot the VM and run a narrated demonstration"
	@echo "make shell     root shell in the VM with sgnic.ko loaded"
	@echo "make debug-kernel  build (once, cached) the KASAN/lockdep/kmemleak kernel"
	@echo "make test-debug    the VM suite on the debug kernel, kmemleak-scanned"
	@echo "make bench     benchmarks vs tc flower and veth in the VM (BENCH_RULES=$(BENCH_RULES)) -> $(BUILD)/bench/"
	@echo "make bench-smoke   the same with tiny sizes -> $(BUILD)/bench-smoke/ (part of make test)"

deps:
	scripts/deps

kmod:
	@test -d "$(KDIR)" || { echo "no kernel build tree at $(KDIR): run 'make deps' or set KDIR=" >&2; exit 1; }
	for d in $(MODULE_DIRS); do $(MAKE) -j$(shell nproc) -C "$(KDIR)" M="$(CURDIR)/$$d" modules || exit 1; done

CONFIGURE := cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

user:
	$(CONFIGURE)
	cmake --build $(BUILD) -j$(shell nproc)

# RUN_CTEST,TREE,ARGS: ctest over TREE.  CI keeps only the tail of the log,
# where ctest's summary names the failed tests but not why: after a failure,
# each one's last output lines come again (scripts/ctest-failures), and the
# status stays a failure.
RUN_CTEST = ctest --test-dir $(1) --output-on-failure $(2) || { scripts/ctest-failures $(1); exit 1; }

# Every tier: unit, VM, and the service tier (the .deb files in a systemd
# guest; ~9 min with a cold image on 2 cores), which needs `make deb` first.
test: deps
	$(MAKE) all
	$(MAKE) lint
	$(MAKE) deb
	$(call RUN_CTEST,$(BUILD),-j$(CTEST_PARALLEL) $(CTEST_ARGS))

unit: user
	$(call RUN_CTEST,$(BUILD),-L unit)

test-vm: all
	$(call RUN_CTEST,$(BUILD),-j$(CTEST_PARALLEL) -L vm)

test-service: user deb
	$(call RUN_CTEST,$(BUILD),-L service)

deb:
	scripts/deb $(BUILD)/deb

lint: user
	KDIR="$(KDIR)" BUILD="$(BUILD)" scripts/lint

lint-deep: user
	LINT_DEEP=1 KDIR="$(KDIR)" BUILD="$(BUILD)" scripts/lint

# Only what the demo runs: the module, sgnicd and sgnicctl (no test binaries).
demo: deps
	$(MAKE) kmod
	$(CONFIGURE)
	cmake --build $(BUILD) -j$(shell nproc) --target sgnicd sgnicctl
	SGNIC_KMOD=$(CURDIR)/kmod/sgnic.ko SGNIC_BUILD_DIR=$(CURDIR)/$(BUILD) tests/vm/run -- tests/vm/demo

shell: all
	SGNIC_KMOD=$(CURDIR)/kmod/sgnic.ko tests/vm/run --timeout 86400 --shell -- \
		bash -c 'insmod "$$SGNIC_KMOD" && echo "sgnic.ko loaded from $$SGNIC_KMOD"'

debug-kernel: deps
	scripts/debug-kernel

# The modules are built for the debug kernel from copies of their sources in
# $(DEBUG_BUILD)/, so the tree's own sgnic.ko (Debian's kernel) is untouched.
test-debug: deps
	set -e; kdir=$$(scripts/debug-kernel | tail -n 1); \
	rm -rf $(DEBUG_BUILD)/src && mkdir -p $(DEBUG_BUILD)/src; \
	cp -r --parents kmod proto/include tests/vm/selftest-module $(DEBUG_BUILD)/src/; \
	for d in kmod tests/vm/selftest-module; do \
		$(MAKE) -C "$$kdir/build" M="$(CURDIR)/$(DEBUG_BUILD)/src/$$d" modules; \
	done; \
	cmake -S . -B $(DEBUG_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSGNIC_KMOD_DIR=$(CURDIR)/$(DEBUG_BUILD)/src/kmod \
		-DSGNIC_SELFTEST_KMOD_DIR=$(CURDIR)/$(DEBUG_BUILD)/src/tests/vm/selftest-module \
		-DSGNIC_VM_KERNEL_DIR=$$kdir -DSGNIC_VM_TEST_TIMEOUT=3600; \
	cmake --build $(DEBUG_BUILD) -j$(shell nproc); \
	SGNIC_STEER_FUZZ=100000 SGNIC_VM_TIMEOUT=1800 \
		$(call RUN_CTEST,$(DEBUG_BUILD),-j1 -L '^(unit|vm)$$' $(CTEST_ARGS)); \
	SGNIC_VM_CMDLINE=swiotlb=force SGNIC_VM_TIMEOUT=1800 \
		$(call RUN_CTEST,$(DEBUG_BUILD),-j1 -R '$(DATAPATH_CASES)')

# The data-path cases, which make test-debug also runs with every DMA
# mapping bounced (swiotlb=force), as confidential-computing guests do.
DATAPATH_CASES := ^vm\.(ping_pair|iperf_sg_toggle|sg_rx_jumbo|csum_offload|fault_bpool|fault_sgt|rmmod_under_load|steer_traffic|steer_queue|xdp|xdp_frags|gro_hw)$$

bench: kmod
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSGNIC_SANITIZE=OFF -DSGNIC_TESTS=ON
	cmake --build $(BENCH_BUILD) -j$(shell nproc) --target sgnicd sgnicctl sgnic-nl sgnic-bus-probe
	time SGNIC_KMOD=$(CURDIR)/kmod/sgnic.ko SGNIC_BUILD_DIR=$(CURDIR)/$(BENCH_BUILD) \
		BENCH_RULES=$(BENCH_RULES) tests/bench/run $(BUILD)/bench

bench-smoke: all
	time SGNIC_KMOD=$(CURDIR)/kmod/sgnic.ko SGNIC_BUILD_DIR=$(CURDIR)/$(BUILD) \
		BENCH_RULES= tests/bench/run --smoke $(BUILD)/bench-smoke

clean:
	for d in $(MODULE_DIRS); do $(MAKE) -C "$(KDIR)" M="$(CURDIR)/$$d" clean || true; done
	rm -rf $(BUILD) $(DEBUG_BUILD) $(BENCH_BUILD)
