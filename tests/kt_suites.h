/*
 * kt_suites.h - the one list of unit-test suites, in run order, shared by the hosted runner
 * (test_main.c) and the kernel runner (tests/kernel/ktest_kernel.c).
 *
 *   KT_SUITE_LIST(ALL, HOSTED)
 *     ALL(name)          a suite every platform runs (defined in tests/test_*.c as suite_<name>)
 *     HOSTED(name, why)  a suite of a hosted-only facility: the hosted runner runs it; the kernel
 *                        does not link it and reports it "# SKIP <why>"
 *
 * Cases inside a running suite are skipped only by the rule in kt_boot_current (a machine beyond
 * the platform's capacity); everything else runs everywhere.
 */
#ifndef LEAXOS_KT_SUITES_H
#define LEAXOS_KT_SUITES_H

#include "ktest.h"

#define KT_SUITE_LIST(ALL, HOSTED) \
    ALL(boot) \
    ALL(memblock) \
    ALL(buddy) \
    ALL(misuse) \
    ALL(reclaim) \
    ALL(pcp) \
    ALL(stats) \
    ALL(check) \
    ALL(inject) \
    ALL(format) \
    ALL(slab) \
    ALL(slab_misuse) \
    ALL(kmalloc) \
    ALL(slab_harden) \
    ALL(vmalloc) \
    ALL(vm) \
    ALL(range_tree) \
    ALL(page_table) \
    HOSTED(mmu, "the hosted software MMU (shims/hosted/mmu.c); the kernel runs the real MMU") \
    HOSTED(tlb, "the hosted TLB model (shims/hosted/tlb.c); the kernel has real TLBs") \
    ALL(swap) \
    ALL(describe) \
    ALL(leak) \
    ALL(kfence) \
    ALL(mlock) \
    ALL(trace) \
    ALL(dump) \
    ALL(rmap) \
    ALL(numa) \
    ALL(mempolicy) \
    HOSTED(domains, "accesses go through the hosted software MMU; the kernel's suite pkeys checks the real CPU") \
    ALL(numa_balance)

/* Helpers for expanding the list. */
#define KT_SUITE_DECLARE(name) extern const struct ktest_suite suite_##name;
#define KT_SUITE_DECLARE_HOSTED(name, why) KT_SUITE_DECLARE(name)
#define KT_SUITE_REF(name) &suite_##name,
#define KT_SUITE_REF_HOSTED(name, why) KT_SUITE_REF(name)

#endif /* LEAXOS_KT_SUITES_H */
