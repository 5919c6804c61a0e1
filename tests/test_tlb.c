/*
 * test_tlb.c - suite "tlb": the hosted machine's per-CPU TLBs and the stale-translation oracle
 * (shims/hosted/tlb.c). Hosted only (kt_suites.h): the kernel has real TLBs.
 *
 * Each case boots a small 2-CPU machine with one address space. Stale entries are planted by
 * changing a PTE by hand without env_tlb_flush_range; the oracle's reports go to a hook that
 * counts them (tlb_reports) instead of env_panic. Switching the current CPU (machine_cpu_set) is
 * how an access runs "on" another CPU.
 */
#include <string.h>

#include "machine_user.h"
#include "kt_util.h"
#include "ktest.h"
#include "page_table.h"

#define RW   (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

static unsigned int tlb_reports;
static char tlb_last[400];

static void tlb_report(const char *msg)
{
    tlb_reports++;
    mm_snprintf(tlb_last, sizeof(tlb_last), "%s", msg);
}

static const char *tlb_test_op(void) { return "op#7 [tlb test]"; }

/* Boot @cpus CPUs with @entries TLB entries of @policy, reports counted; one mm. */
static struct mm_struct *tlb_boot(unsigned int cpus, unsigned int entries,
                                  enum machine_tlb_policy policy)
{
    machine_small(&kt_m, KT_MIB(8), cpus);
    kt_m.tlb_entries = entries;
    kt_m.tlb_policy = policy;
    if (kt_boot_current())
        return NULL;
    tlb_reports = 0;
    tlb_last[0] = '\0';
    machine_tlb_set_report_hook(tlb_report);
    machine_tlb_set_op_namer(NULL);
    return mm_create();
}

/* tlb_boot (2 CPUs, unbounded FIFO TLB) plus an anonymous private read-write mapping of @pages
 * pages at *@va; NULL when either fails. */
static struct mm_struct *tlb_setup(unsigned int pages, uintptr_t *va)
{
    struct mm_struct *mm = tlb_boot(2, 0, MACHINE_TLB_FIFO);
    long a = mm ? do_mmap(mm, 0, pages * PAGE_SIZE, RW, PRIV, NULL, 0) : -1;
    *va = a > 0 ? (uintptr_t)a : 0;
    return a > 0 ? mm : NULL;
}

static int tlb_done(struct mm_struct *mm)
{
    machine_cpu_set(0);
    machine_tlb_set_report_hook(NULL);
    machine_tlb_set_op_namer(NULL);
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static enum vm_fault_result tlb_rd(struct mm_struct *mm, uintptr_t va, uint64_t *x)
{
    return machine_user_copy(mm, va, x, sizeof(*x), MMU_READ, NULL);
}

static enum vm_fault_result tlb_wr(struct mm_struct *mm, uintptr_t va, uint64_t x)
{
    return machine_user_copy(mm, va, &x, sizeof(x), MMU_WRITE, NULL);
}

/* Hits, caching, and a flushed narrowing: after mprotect(PROT_NONE) a read faults. */
static int test_cached_read_then_mprotect_none(void)
{
    uintptr_t a;
    struct mm_struct *mm = tlb_setup(1, &a);
    KT_ASSERT_NOT_NULL(mm);
    uint64_t x = 0;
    KT_ASSERT_EQ(tlb_wr(mm, a, 42), VM_FAULT_HANDLED);
    KT_ASSERT_TRUE(machine_tlb_holds(0, mm->pt.root, a));
    machine_tlb_reset_stats();
    KT_ASSERT_EQ(tlb_rd(mm, a, &x), VM_FAULT_HANDLED);
    KT_ASSERT_EQ(x, 42);
    struct machine_tlb_stats st;
    machine_tlb_get_stats(&st);
    KT_ASSERT_EQ(st.hits, 1);
    KT_ASSERT_EQ(st.misses, 0);
    KT_ASSERT_OK(do_mprotect(mm, a, PAGE_SIZE, PROT_NONE));
    KT_ASSERT_FALSE(machine_tlb_holds(0, mm->pt.root, a));
    KT_ASSERT_EQ(tlb_rd(mm, a, &x), VM_FAULT_ACCESS);
    machine_tlb_get_stats(&st);
    KT_ASSERT_EQ(st.flushes, 1);
    KT_ASSERT_EQ(st.invalidated, 1);
    KT_ASSERT_EQ(st.shootdowns, 0); /* CPU 1 cached nothing */
    KT_ASSERT_EQ(st.stale, 0);
    KT_ASSERT_EQ(tlb_reports, 0);
    return tlb_done(mm);
}

/* A PTE narrowed by hand without a flush: the next access through the entry is reported, then
 * walks the tables (and faults); with the audit, the report names the op. */
static int test_planted_stale_entry_reported(void)
{
    uintptr_t va;
    struct mm_struct *mm = tlb_setup(2, &va);
    KT_ASSERT_NOT_NULL(mm);
    uint64_t x = 0;
    KT_ASSERT_EQ(tlb_wr(mm, va, 1), VM_FAULT_HANDLED);
    KT_ASSERT_EQ(tlb_wr(mm, va + PAGE_SIZE, 2), VM_FAULT_HANDLED);
    /* write dropped, no flush: a read through the entry is still reported (it grants write) */
    pte_t old = pt_update(&mm->pt, va, *pt_walk(&mm->pt, va, false, 0) & ~PTE_RW);
    KT_ASSERT_EQ(tlb_rd(mm, va, &x), VM_FAULT_HANDLED);
    KT_ASSERT_EQ(tlb_reports, 1);
    KT_ASSERT_MSG(strstr(tlb_last, "stale TLB entry on CPU 0 for va") != NULL, "%s", tlb_last);
    KT_ASSERT_MSG(strstr(tlb_last, "after an unflushed change") != NULL, "%s", tlb_last);
    KT_ASSERT_EQ(x, 1);
    pt_update(&mm->pt, va, old);
    env_tlb_flush_range(va, va + PAGE_SIZE);
    /* not present, named by the audit of the op that did it */
    machine_tlb_set_op_namer(tlb_test_op);
    KT_ASSERT_EQ(tlb_rd(mm, va + PAGE_SIZE, &x), VM_FAULT_HANDLED);
    old = pt_update(&mm->pt, va + PAGE_SIZE, 0);
    machine_tlb_op_done();
    machine_tlb_op_done(); /* a later op does not take the blame */
    x = 1;
    KT_ASSERT_EQ(tlb_rd(mm, va + PAGE_SIZE, &x), VM_FAULT_HANDLED); /* refaults: the zero page */
    KT_ASSERT_EQ(tlb_reports, 2);
    KT_ASSERT_MSG(strstr(tlb_last, "after op#7 [tlb test]: cached pa") != NULL, "%s", tlb_last);
    KT_ASSERT_MSG(strstr(tlb_last, "page tables not present") != NULL, "%s", tlb_last);
    KT_ASSERT_EQ(x, 0);
    pt_update(&mm->pt, va + PAGE_SIZE, old); /* back to the page (the zero page needs no put) */
    env_tlb_flush_range(va, va + 2 * PAGE_SIZE);
    KT_ASSERT_EQ(tlb_rd(mm, va + PAGE_SIZE, &x), VM_FAULT_HANDLED);
    KT_ASSERT_EQ(x, 2);
    struct machine_tlb_stats st;
    machine_tlb_get_stats(&st);
    KT_ASSERT_EQ(st.stale, 2);
    return tlb_done(mm);
}

/* Widening without a flush is no bug: the access that needs it walks again. */
static int test_widening_needs_no_flush(void)
{
    uintptr_t va;
    struct mm_struct *mm = tlb_setup(1, &va);
    KT_ASSERT_NOT_NULL(mm);
    uint64_t x = 0;
    KT_ASSERT_EQ(tlb_wr(mm, va, 4), VM_FAULT_HANDLED);
    pte_t *ptep = pt_walk(&mm->pt, va, false, 0);
    KT_ASSERT_NOT_NULL(ptep);
    *ptep &= ~PTE_RW; /* narrowing: flushed */
    env_tlb_flush_range(va, va + PAGE_SIZE);
    KT_ASSERT_EQ(tlb_rd(mm, va, &x), VM_FAULT_HANDLED); /* caches the read-only entry */
    KT_ASSERT_TRUE(machine_tlb_holds(0, mm->pt.root, va));
    *ptep |= PTE_RW; /* widening: no flush */
    KT_ASSERT_EQ(tlb_wr(mm, va, 5), VM_FAULT_HANDLED); /* the entry does not serve it: walks */
    KT_ASSERT_EQ(tlb_rd(mm, va, &x), VM_FAULT_HANDLED);
    KT_ASSERT_EQ(x, 5);
    KT_ASSERT_EQ(tlb_reports, 0);
    return tlb_done(mm);
}

/* A flush on CPU 0 shoots down CPU 1's entries (one IPI); an idle CPU gets none. */
static int test_shootdown_reaches_other_cpu(void)
{
    uintptr_t a;
    struct mm_struct *mm = tlb_setup(1, &a);
    KT_ASSERT_NOT_NULL(mm);
    uint64_t x = 0;
    KT_ASSERT_EQ(tlb_wr(mm, a, 3), VM_FAULT_HANDLED);
    machine_cpu_set(1);
    KT_ASSERT_EQ(tlb_rd(mm, a, &x), VM_FAULT_HANDLED);
    KT_ASSERT_TRUE(machine_tlb_holds(1, mm->pt.root, a));
    machine_cpu_set(0);
    machine_tlb_reset_stats();
    KT_ASSERT_OK(do_munmap(mm, a, PAGE_SIZE));
    KT_ASSERT_FALSE(machine_tlb_holds(0, mm->pt.root, a));
    KT_ASSERT_FALSE(machine_tlb_holds(1, mm->pt.root, a));
    struct machine_tlb_stats st;
    machine_tlb_get_stats(&st);
    KT_ASSERT_EQ(st.flushes, 1);
    KT_ASSERT_EQ(st.shootdowns, 1);
    KT_ASSERT_EQ(st.invalidated, 2);
    KT_ASSERT_EQ(machine_tlb_cached(1), 0);
    env_tlb_flush_range(a, a + PAGE_SIZE); /* nobody caches: no IPI */
    machine_tlb_get_stats(&st);
    KT_ASSERT_EQ(st.shootdowns, 1);
    KT_ASSERT_EQ(tlb_reports, 0);
    return tlb_done(mm);
}

/*
 * Regression (the oracle's first find in the mm): a COW break on CPU 0 gives the page a new frame;
 * CPU 1 still cached the old read-only one, so the fault path must flush (fault.c fault_wp).
 */
static int test_cow_break_flushes_other_cpus(void)
{
    uintptr_t a;
    struct mm_struct *mm = tlb_setup(1, &a);
    struct mm_struct *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    uint64_t x = 0;
    KT_ASSERT_EQ(tlb_wr(mm, a, 1), VM_FAULT_HANDLED);
    KT_ASSERT_OK(mm_fork(mm, &child));
    machine_cpu_set(1);
    KT_ASSERT_EQ(tlb_rd(mm, a, &x), VM_FAULT_HANDLED); /* caches the shared frame */
    machine_cpu_set(0);
    KT_ASSERT_EQ(tlb_wr(mm, a, 2), VM_FAULT_HANDLED);  /* COW break: a new frame */
    machine_cpu_set(1);
    KT_ASSERT_EQ(tlb_rd(mm, a, &x), VM_FAULT_HANDLED);
    KT_ASSERT_MSG(tlb_reports == 0, "%s", tlb_last);
    KT_ASSERT_EQ(x, 2);
    KT_ASSERT_EQ(tlb_rd(child, a, &x), VM_FAULT_HANDLED);
    KT_ASSERT_EQ(x, 1);
    machine_cpu_set(0);
    mm_destroy(child);
    return tlb_done(mm);
}

/* Size and replacement come from the machine: a 2-entry FIFO evicts the oldest, a 4-entry
 * direct-mapped TLB evicts pages that share a slot. */
static int test_size_and_replacement(void)
{
    for (unsigned int pol = 0; pol < 2; pol++) {
        unsigned int entries = pol ? 4 : 2;
        struct mm_struct *mm = tlb_boot(1, entries, pol ? MACHINE_TLB_DIRECT : MACHINE_TLB_FIFO);
        KT_ASSERT_NOT_NULL(mm);
        long a = do_mmap(mm, 0, 8 * PAGE_SIZE, RW, PRIV, NULL, 0);
        KT_ASSERT_GT(a, 0);
        uintptr_t va = a;
        uintptr_t p0 = va, p1 = va + PAGE_SIZE, p2 = pol ? va + 4 * PAGE_SIZE : va + 2 * PAGE_SIZE;
        KT_ASSERT_EQ(tlb_wr(mm, p0, 1), VM_FAULT_HANDLED);
        KT_ASSERT_EQ(tlb_wr(mm, p1, 2), VM_FAULT_HANDLED);
        KT_ASSERT_TRUE(machine_tlb_holds(0, mm->pt.root, p0));
        KT_ASSERT_EQ(tlb_wr(mm, p2, 3), VM_FAULT_HANDLED); /* FIFO: oldest; direct: p0's slot */
        KT_ASSERT_FALSE(machine_tlb_holds(0, mm->pt.root, p0));
        KT_ASSERT_TRUE(machine_tlb_holds(0, mm->pt.root, p1));
        KT_ASSERT_TRUE(machine_tlb_holds(0, mm->pt.root, p2));
        KT_ASSERT_EQ(machine_tlb_cached(0), 2);
        struct machine_tlb_stats st;
        machine_tlb_get_stats(&st);
        KT_ASSERT_GE(st.evictions, 1);
        KT_TRY(tlb_done(mm));
    }
    return 0;
}

static const struct ktest_case tlb_cases[] = {
    KT_CASE(cached_read_then_mprotect_none),
    KT_CASE(planted_stale_entry_reported),
    KT_CASE(widening_needs_no_flush),
    KT_CASE(shootdown_reaches_other_cpu),
    KT_CASE(cow_break_flushes_other_cpus),
    KT_CASE(size_and_replacement),
};
KT_SUITE(tlb, tlb_cases);
