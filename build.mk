# build.mk - the compile-and-link graph of every configuration: explicit source lists, one object
# directory per configuration, header dependencies from -MMD, and a flags stamp per group of
# objects, so a changed flag or compiler rebuilds exactly the objects it affects. build.sh is the
# front door (packages, tests, fuzzing, QEMU) and runs this once per configuration:
#
#   make -f build.mk CFG=asan|gcc|noasan   build/CFG: libmm.a, mm_tests, replay, the regression
#                                          programs of tests/regress/ this configuration runs
#   make -f build.mk CFG=release           libmm.a with LTO and one program per tests/bench/*.c
#   make -f build.mk CFG=tsan              build/tsan/stress under ThreadSanitizer
#   make -f build.mk CFG=cov               build/cov/replay with clang source-based coverage
#   make -f build.mk CFG=fuzz [TARGETS=..] build/fuzz/fuzz_<t> (trace-cmp) and fuzz_<t>_fast
#   make -f build.mk CFG=afl [TARGETS=..]  build/afl/afl_<t> (persistent) and afl_<t>_cmplog
#   make -f build.mk CFG=kernel|kernel-hardened   the freestanding image leaxos.{elf,bin} and
#                                          libmm_kernel.a (build.sh runs the symbol check)
#   make -f build.mk CFG=oss-fuzz OSS_OUT=DIR OSS_WORK=DIR   OSS-Fuzz's compiler, CFLAGS and engine
#   make -f build.mk CFG=tools             the triage tool and the corpus packer
#   make -f build.mk srccheck              every .c file of the tree is in one of the lists below
#   make -f build.mk print-VAR             the value of VAR (build.sh reads the target lists)
#
# Variables: B (build root, default build), DEFS (extra -D flags: the planted variant), TARGETS.
# A source file that is in no list is not built: srccheck (in ./build.sh test) names it.

B ?= build
CFG ?= asan
DEFS ?=
O := $(B)/$(CFG)

# ---------------------------------------------------------------- sources

include mm/sources.mk
MM := $(addprefix mm/,$(MM_SRCS))
HOSTED_SHIM := $(addprefix shims/hosted/,cpu.c env_hosted.c machine.c machine_layout.c mmu.c tlb.c \
	user.c)
# the kernel's env and sanitizer runtimes; machine layouts are shared with the hosted build
KERNEL_SHIM := $(addprefix shims/kernel/,env_kernel.c kasan.c machine_kernel.c string.c ubsan.c) \
	shims/hosted/machine_layout.c
ARCH_C := $(addprefix arch/x86_64/kernel/,check_protect.c check_sanitizers.c crash.c main.c \
	paging.c run.c smp.c smp_stress.c trap.c uaccess.c check_pkeys.c ring3.c numa_tick.c)
ARCH_S := $(addprefix arch/x86_64/kernel/,boot.S entry.S trampoline.S)

# unit tests: the framework and the suites both builds run, plus each build's runner
TEST_SUITES := tests/kt_util.c tests/ktest.c $(addprefix tests/test_,boot.c buddy.c check.c \
	describe.c format.c harden.c inject.c kfence.c kmalloc.c leak.c misuse.c mlock.c mmap.c page_table.c \
	pcp.c range_tree.c reclaim.c slab.c stats.c swap.c vmalloc.c trace.c dump.c rmap.c numa.c mempolicy.c \
	numa_balance.c)
TESTS_HOSTED := $(TEST_SUITES) tests/test_main.c tests/test_mmu.c tests/test_tlb.c \
	tests/test_domains.c
TESTS_KERNEL := $(TEST_SUITES) tests/kernel/ktest_kernel.c
BENCH := $(addprefix tests/bench/,bench_heap.c bench_page.c bench_vm.c bench_scaling.c \
	bench_domains.c)
STRESS := tests/stress/stress.c
# one program per fixed fuzz crash, named <target>_<what broke>.c: dropped in, built and run
REGRESS := $(sort $(wildcard tests/regress/*.c))

# The fuzz targets, and how each is built and run:
FUZZ_TARGETS := boot linux misuse page_alloc slab smp vm domains
# ... without ASan (UBSan only): they check the mm's own hardening, which ASan would pre-empt
NOASAN_TARGETS := misuse
# ... not replayed by the kernel (linux compares with a host kernel; smp needs scheduled CPUs)
HOSTED_ONLY_TARGETS := linux smp
# ... a 5 s libFuzzer smoke and no AFL++ in ./build.sh test (every op is a host round trip)
SHORT_SMOKE_TARGETS := linux
KERNEL_TARGETS := $(filter-out $(HOSTED_ONLY_TARGETS),$(FUZZ_TARGETS))
TARGETS ?= $(FUZZ_TARGETS)

# the harness both builds share; the hosted and the kernel platform beside it
FUZZ_CORE := $(addprefix fuzz/,checker.c corpus_pack.c digest.c engine.c mutate.c ops.c \
	platform_machine.c replay_kernel.c slab_common.c smp_vm.c targets.c vm_corrupt.c vm_model.c \
	trace_view.c) \
	$(FUZZ_TARGETS:%=fuzz/target_%.c)
FUZZ_HOSTED := $(FUZZ_CORE) fuzz/linux_child_hosted.c fuzz/platform_hosted.c
FUZZ_KERNEL := $(FUZZ_CORE) fuzz/platform_kernel.c
FUZZ_MAINS := fuzz/replay.c fuzz/libfuzzer_main.c fuzz/afl_main.c
FUZZ_TOOLS := fuzz/corpus_pack_tool.c fuzz/triage_tool.c
# the post-mortem tool (./build.sh postmortem): hosted, linked with the mm, built in noasan
POSTMORTEM := fuzz/postmortem.c fuzz/postmortem_svg.c
# What judges a fuzz run rather than guides it (the checkers, the mm's formatting and reports,
# the outcome digest): no coverage, compare hooks or sanitizers in the fuzz builds, at -O2 (see
# "What the checkers lose" in fuzz/README.md). Every other build keeps them as they are.
FUZZ_JUDGE := $(filter mm/checks/%,$(MM)) fuzz/checker.c fuzz/digest.c
FUZZ_COV_IGNORE := $(CURDIR)/fuzz/coverage.ignore

# The kernel image; never instrumented in the hardened one: the sanitizer runtimes, the early
# allocator, the boot and trap path, the report library, the checkers and the fuzz harness
# (read-only walks after every op: instrumented they made the hardened boot 2.5x slower).
KERNEL_LIB := $(MM) $(KERNEL_SHIM)
KERNEL_IMAGE := $(KERNEL_LIB) $(ARCH_C) $(TESTS_KERNEL) $(FUZZ_KERNEL)
KERNEL_NOSAN := shims/kernel/kasan.c shims/kernel/ubsan.c shims/kernel/string.c \
	mm/physical/memblock.c mm/lib/format.c mm/lib/report.c arch/x86_64/kernel/main.c \
	arch/x86_64/kernel/trap.c arch/x86_64/kernel/smp.c $(filter mm/checks/%,$(MM)) $(FUZZ_KERNEL)

# ---------------------------------------------------------------- flags

WARN := -Wall -Wextra -Werror -Wno-unused-parameter
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
UBSAN := -fsanitize=undefined -fno-sanitize-recover=undefined
INC := -Imm/include -Iarch/x86_64/include $(DEFS)
HOSTED_INC := -Ishims/include -Ifuzz -Itests
HOSTED_FLAGS = -std=gnu11 -g $(1) $(WARN) $(INC) $(HOSTED_INC)
JUDGE_FLAGS := -std=gnu11 -g -O2 -fno-omit-frame-pointer $(WARN) $(INC) $(HOSTED_INC)
target_san = $(if $(filter $(1),$(NOASAN_TARGETS)),$(UBSAN) -fno-omit-frame-pointer,$(SAN))

KERNEL_CFLAGS := --target=x86_64-linux-gnu -std=gnu11 -O2 -g -ffreestanding -fno-builtin -nostdinc \
	-nostdlib -fno-pic -fno-pie -mno-red-zone -mcmodel=kernel -mno-sse -mno-sse2 -mno-mmx \
	-mno-avx -fno-stack-protector -fno-asynchronous-unwind-tables -fno-exceptions \
	-fno-omit-frame-pointer $(WARN)
KERNEL_INC := -Ishims/kernel/include -Iarch/x86_64/kernel/include -Ishims/include -Ifuzz -Itests \
	-Itests/kernel
KERNEL_UBSAN_CHECKS := alignment,bool,builtin,enum,integer-divide-by-zero,nonnull-attribute,null,$\
	object-size,pointer-overflow,return,returns-nonnull-attribute,shift,signed-integer-overflow,$\
	unreachable,vla-bound,array-bounds
# A KASAN-style shadow fed by outline callbacks (shims/kernel/kasan.c) and UBSan handlers
# (shims/kernel/ubsan.c) for exactly the checks listed there.
KERNEL_HARDENED_FLAGS := -fsanitize=kernel-address -mllvm -asan-instrumentation-with-call-threshold=0 \
	-mllvm -asan-stack=0 -mllvm -asan-globals=0 -fsanitize=$(KERNEL_UBSAN_CHECKS)

# ---------------------------------------------------------------- rules

.PHONY: all srccheck FORCE
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

obj = $(patsubst %,$(1)/obj/%.o,$(2))

# objects DIR STAMP CC FLAGS SOURCES: compile SOURCES into DIR/obj/<source>.o with CC FLAGS; they
# depend on the stamp DIR/STAMP.flags, rewritten only when the command line changes.
define objects
$(call obj,$(1),$(5)): $(1)/obj/%.o: % $(1)/$(2).flags
	@mkdir -p $$(@D)
	$(3) $(4) -MMD -MP -c $$< -o $$@
$(1)/$(2).flags: FORCE
	@mkdir -p $$(@D)
	@echo '$(3) $(4)' | cmp -s - $$@ || echo '$(3) $(4)' > $$@
-include $(patsubst %,$(1)/obj/%.d,$(5))
endef

print-%:
	@echo $($*)

# Every .c/.S file of the tree is in a list (or is a tool build.sh compiles on its own).
LISTED := $(sort $(MM) $(HOSTED_SHIM) $(KERNEL_SHIM) $(ARCH_C) $(ARCH_S) $(TESTS_HOSTED) \
	$(TESTS_KERNEL) $(BENCH) $(STRESS) $(REGRESS) $(FUZZ_HOSTED) $(FUZZ_KERNEL) $(FUZZ_MAINS) \
	$(FUZZ_TOOLS) $(POSTMORTEM))
srccheck:
	@missing="$$(find mm shims arch tests fuzz \( -name '*.c' -o -name '*.S' \) ! -path 'mm/build/*' \
		| sort | comm -23 - <(printf '%s\n' $(LISTED)))"; \
	gone="$$(for f in $(LISTED); do [ -f "$$f" ] || echo "$$f"; done)"; \
	if [ -n "$$missing$$gone" ]; then \
		[ -z "$$missing" ] || echo "srccheck: in no list of build.mk (or mm/sources.mk):" $$missing >&2; \
		[ -z "$$gone" ] || echo "srccheck: listed in build.mk but missing:" $$gone >&2; exit 1; fi
	@echo "srccheck: all $(words $(LISTED)) sources of mm/, shims/, arch/, tests/ and fuzz/ are listed"
srccheck: SHELL := /bin/bash

# ---- hosted: asan, gcc, noasan (library, unit tests, replay, regression programs)
ifneq ($(filter $(CFG),asan gcc noasan),)
CC_asan := clang
CC_gcc := gcc
CC_noasan := clang
HCC := $(CC_$(CFG))
HFLAGS := $(if $(filter noasan,$(CFG)),$(call HOSTED_FLAGS,-O1 $(UBSAN)),$(call HOSTED_FLAGS,-O1 $(SAN)))
# the regression programs of this configuration: by their name's target, none for gcc
REGRESS_NOASAN := $(filter $(NOASAN_TARGETS:%=tests/regress/%_%),$(REGRESS))
REGRESS_HERE := $(if $(filter asan,$(CFG)),$(filter-out $(REGRESS_NOASAN),$(REGRESS)),$(if \
	$(filter noasan,$(CFG)),$(REGRESS_NOASAN)))
$(eval $(call objects,$(O),lib,$(HCC),$(HFLAGS),$(MM) $(HOSTED_SHIM) $(TESTS_HOSTED) \
	$(FUZZ_HOSTED) fuzz/replay.c $(REGRESS_HERE) $(if $(filter noasan,$(CFG)),$(POSTMORTEM))))
REGRESS_BINS := $(REGRESS_HERE:tests/regress/%.c=$(O)/regress/%)
all: $(O)/libmm.a $(O)/mm_tests $(O)/replay $(REGRESS_BINS) $(if $(filter noasan,$(CFG)),$(O)/postmortem)
$(O)/postmortem: $(call obj,$(O),$(POSTMORTEM)) $(O)/libmm.a
	$(HCC) $(HFLAGS) -o $@ $^ -lpthread
$(O)/libmm.a: $(call obj,$(O),$(MM) $(HOSTED_SHIM))
	@rm -f $@
	ar rcs $@ $^
$(O)/mm_tests: $(call obj,$(O),$(sort $(TESTS_HOSTED))) $(O)/libmm.a
	$(HCC) $(HFLAGS) -o $@ $^ -lpthread
$(O)/replay: $(call obj,$(O),$(sort $(FUZZ_HOSTED)) fuzz/replay.c) $(O)/libmm.a
	$(HCC) $(HFLAGS) -o $@ $^ -lpthread
$(O)/regress/%: $(O)/obj/tests/regress/%.c.o $(call obj,$(O),$(sort $(FUZZ_HOSTED))) $(O)/libmm.a
	@mkdir -p $(@D)
	$(HCC) $(HFLAGS) -o $@ $^ -lpthread
endif

# ---- release: the env door is chosen at link time; LTO inlines it as a kernel build would
ifeq ($(CFG),release)
RFLAGS := $(call HOSTED_FLAGS,-O2 -DNDEBUG -flto)
$(eval $(call objects,$(O),lib,clang,$(RFLAGS),$(MM) $(HOSTED_SHIM) $(BENCH)))
all: $(O)/libmm.a $(BENCH:tests/bench/%.c=$(O)/%)
$(O)/libmm.a: $(call obj,$(O),$(MM) $(HOSTED_SHIM))
	@rm -f $@
	llvm-ar rcs $@ $^
$(O)/bench_%: $(O)/obj/tests/bench/bench_%.c.o $(O)/libmm.a
	clang $(RFLAGS) -fuse-ld=lld -o $@ $^ -lpthread -ldl
endif

# ---- tsan: the concurrent stress program, one thread per CPU
ifeq ($(CFG),tsan)
TFLAGS := $(call HOSTED_FLAGS,-O1 -fsanitize=thread -fno-omit-frame-pointer)
$(eval $(call objects,$(O),lib,clang,$(TFLAGS),$(MM) $(HOSTED_SHIM) $(STRESS)))
all: $(O)/stress
$(O)/stress: $(call obj,$(O),$(MM) $(HOSTED_SHIM) $(STRESS))
	clang $(TFLAGS) -o $@ $^ -lpthread
endif

# ---- cov: the corpus replay under clang source-based coverage
ifeq ($(CFG),cov)
CVFLAGS := $(call HOSTED_FLAGS,-O0 -fprofile-instr-generate -fcoverage-mapping)
$(eval $(call objects,$(O),lib,clang,$(CVFLAGS),$(MM) $(HOSTED_SHIM) $(FUZZ_HOSTED) fuzz/replay.c))
all: $(O)/replay
$(O)/replay: $(call obj,$(O),$(MM) $(HOSTED_SHIM) $(FUZZ_HOSTED) fuzz/replay.c)
	clang $(CVFLAGS) -o $@ $^ -lpthread
endif

# ---- fuzz: per target a libFuzzer binary with compare hooks (fuzz_<t>) and one without
# (fuzz_<t>_fast: the hooks are 35-70% of an input's time), objects shared per sanitizer set in
# build/fuzz{,-fast,-noasan,-noasan-fast}; the ignorelist keeps coverage out of the verifiers.
ifeq ($(CFG),fuzz)
FUZZ_LIB := $(filter-out $(FUZZ_JUDGE),$(MM) $(HOSTED_SHIM) $(FUZZ_HOSTED))
# fuzz_flavour DIR SUFFIX SANITIZERS EXTRA-FLAGS TARGETS
define fuzz_flavour
FZ_$(1) := -std=gnu11 -g -O2 $(WARN) $(3) -fsanitize=fuzzer-no-link $(4) \
	-fsanitize-coverage-ignorelist=$(FUZZ_COV_IGNORE) $(INC) $(HOSTED_INC)
$(call objects,$(B)/$(1),lib,clang,$$(FZ_$(1)),$(FUZZ_LIB))
$(call objects,$(B)/$(1),judge,clang,$(JUDGE_FLAGS),$(FUZZ_JUDGE))
$(call obj,$(B)/$(1),$(FUZZ_LIB)): $(FUZZ_COV_IGNORE)
all: $(5:%=$(B)/fuzz/fuzz_%$(2))
$(B)/$(1)/obj/main_%/libfuzzer_main.o: fuzz/libfuzzer_main.c $(B)/$(1)/lib.flags
	@mkdir -p $$(@D)
	clang $$(FZ_$(1)) -DFUZZ_TARGET=$$* -MMD -MP -c $$< -o $$@
-include $(5:%=$(B)/$(1)/obj/main_%/libfuzzer_main.d)
$(5:%=$(B)/fuzz/fuzz_%$(2)): $(B)/fuzz/fuzz_%$(2): $(B)/$(1)/obj/main_%/libfuzzer_main.o \
		$(call obj,$(B)/$(1),$(FUZZ_LIB) $(FUZZ_JUDGE))
	@mkdir -p $$(@D)
	clang $$(FZ_$(1)) -fsanitize=fuzzer -o $$@ $$^ -lpthread
endef
FZ_ASAN := $(filter-out $(NOASAN_TARGETS),$(TARGETS))
FZ_NOASAN := $(filter $(NOASAN_TARGETS),$(TARGETS))
$(if $(FZ_ASAN),$(eval $(call fuzz_flavour,fuzz,,$(SAN),,$(FZ_ASAN))))
$(if $(FZ_ASAN),$(eval $(call fuzz_flavour,fuzz-fast,_fast,$(SAN),-fno-sanitize-coverage=trace-cmp,$(FZ_ASAN))))
$(if $(FZ_NOASAN),$(eval $(call fuzz_flavour,fuzz-noasan,,$(call target_san,$(NOASAN_TARGETS)),,$(FZ_NOASAN))))
$(if $(FZ_NOASAN),$(eval $(call fuzz_flavour,fuzz-noasan-fast,_fast,$(call target_san,$(NOASAN_TARGETS)),-fno-sanitize-coverage=trace-cmp,$(FZ_NOASAN))))
endif

# ---- afl: per target an AFL++ persistent binary and its CmpLog twin (afl-clang-fast compiles the
# sources itself); the judges as plain clang objects, the ignorelist as AFL_LLVM_DENYLIST
ifeq ($(CFG),afl)
AFL_SRCS := $(filter-out $(FUZZ_JUDGE),$(MM) $(HOSTED_SHIM) $(FUZZ_HOSTED)) fuzz/afl_main.c
$(eval $(call objects,$(O),judge,clang,$(JUDGE_FLAGS),$(FUZZ_JUDGE)))
AFL_CC = AFL_QUIET=1 AFL_LLVM_DENYLIST=$(FUZZ_COV_IGNORE) $(1) afl-clang-fast -std=gnu11 -g -O1 \
	-Wall -Wextra -Wno-unused-parameter $(call target_san,$(2)) $(INC) $(HOSTED_INC) -DFUZZ_TARGET=$(2)
all: $(foreach t,$(TARGETS),$(O)/afl_$(t) $(O)/afl_$(t)_cmplog)
$(O)/afl_%_cmplog: $(AFL_SRCS) $(call obj,$(O),$(FUZZ_JUDGE))
	$(call AFL_CC,AFL_LLVM_CMPLOG=1,$*) $^ -o $@ -lpthread 2>$@.log || { cat $@.log >&2; exit 1; }
$(O)/afl_%: $(AFL_SRCS) $(call obj,$(O),$(FUZZ_JUDGE))
	$(call AFL_CC,,$*) $^ -o $@ -lpthread 2>$@.log || { cat $@.log >&2; exit 1; }
endif

# ---- kernel, kernel-hardened: the freestanding image (multiboot, for qemu -kernel)
ifneq ($(filter $(CFG),kernel kernel-hardened),)
KHARD := $(filter kernel-hardened,$(CFG))
KFLAGS := $(KERNEL_CFLAGS) $(if $(KHARD),-DKERNEL_HARDENED=1) \
	-isystem $(shell clang -print-resource-dir)/include $(INC) $(KERNEL_INC)
KINST := $(if $(KHARD),$(filter-out $(KERNEL_NOSAN),$(KERNEL_IMAGE)))
KPLAIN := $(filter-out $(KINST),$(KERNEL_IMAGE))
$(eval $(call objects,$(O),plain,clang,$(KFLAGS),$(KPLAIN)))
$(if $(KINST),$(eval $(call objects,$(O),inst,clang,$(KFLAGS) $(KERNEL_HARDENED_FLAGS),$(KINST))))
$(eval $(call objects,$(O),asm,clang,--target=x86_64-linux-gnu,$(ARCH_S)))
# link order as ever: the C objects by path, then the assembly
KOBJS := $(call obj,$(O),$(sort $(KERNEL_IMAGE)) $(ARCH_S))
all: $(O)/leaxos.bin $(O)/libmm_kernel.a
# the objects alone: build.sh checks their symbols before the link
.PHONY: kobjs
kobjs: $(KOBJS)
$(O)/libmm_kernel.a: $(call obj,$(O),$(KERNEL_LIB))
	@rm -f $@
	llvm-ar rcs $@ $^
$(O)/leaxos.elf: $(KOBJS) arch/x86_64/kernel/linker.ld
	ld.lld -T arch/x86_64/kernel/linker.ld -nostdlib -z max-page-size=4096 --no-undefined \
		-o $@ $(KOBJS)
$(O)/leaxos.bin: $(O)/leaxos.elf
	llvm-objcopy -O binary $< $@
endif

# ---- oss-fuzz: the image's compiler and flags ($CC, $CFLAGS), $LIB_FUZZING_ENGINE, into OSS_OUT
ifeq ($(CFG),oss-fuzz)
OSS_WORK ?= $(B)/oss-fuzz
OFLAGS := $(CFLAGS) -std=gnu11 -g $(INC) $(HOSTED_INC)
OSS_LIB := $(MM) $(HOSTED_SHIM) $(FUZZ_HOSTED)
$(eval $(call objects,$(OSS_WORK),lib,$(CC),$(OFLAGS),$(OSS_LIB)))
all: $(TARGETS:%=$(OSS_OUT)/%)
$(OSS_WORK)/obj/main_%/main.o: fuzz/libfuzzer_main.c $(OSS_WORK)/lib.flags
	@mkdir -p $(@D)
	$(CC) $(OFLAGS) -DFUZZ_TARGET=$* -c $< -o $@
$(OSS_OUT)/%: $(OSS_WORK)/obj/main_%/main.o $(call obj,$(OSS_WORK),$(OSS_LIB))
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $^ $(LIB_FUZZING_ENGINE) -lpthread -o $@
endif

# ---- tools: the triage tool and the corpus packer (plain host programs; linked to a temporary
# name and renamed, as concurrent triage runs may build them at once)
ifeq ($(CFG),tools)
TOOL_FLAGS := -std=gnu11 -O2 -g $(WARN) -Ifuzz
all: $(B)/triage/triage_tool $(B)/corpus_pack_tool
$(B)/triage/triage_tool: fuzz/triage_tool.c
	@mkdir -p $(@D)
	clang $(TOOL_FLAGS) -o $@.tmp.$$$$ $^ && mv -f $@.tmp.$$$$ $@
$(B)/corpus_pack_tool: fuzz/corpus_pack_tool.c fuzz/corpus_pack.c fuzz/corpus_pack.h
	@mkdir -p $(@D)
	clang $(TOOL_FLAGS) -o $@.tmp.$$$$ $(filter %.c,$^) && mv -f $@.tmp.$$$$ $@
endif
