/*
 * test_numa_balance.c - suite "numa_balance": automatic NUMA balancing (mm/virtual/numa_balance.c).
 * The scan's window and offset, the hinting entry's bits and their restore, the two-stage filter
 * (local accesses never move a page, two remote accesses in a row from one node do, alternating
 * nodes do not), memory policies (bind keeps a page inside its nodes, preferred is left alone),
 * fork / copy-on-write / swap-out with hinting entries, the vmstat counters, and mm_check's
 * pte.numa seeing a broken hinting entry.
 *
 * Machine: 16 MiB, three nodes: node 0 [0, 8 MiB), node 1 [8, 12), node 2 [12, 16); CPU i on
 * node i; 256 swap slots.
 */
#include "machine_user.h"
#include "kt_util.h"
#include "../mm/virtual/mmap_internal.h"
#include "numa.h"
#include "swap.h"

#define RW   (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

static struct mm_struct *nb_boot(void)
{
    machine_small(&kt_m, KT_MIB(16), 3);
    kt_m.numa.nr_nodes = 3;
    kt_m.numa.node_start[1] = KT_MIB(8);
    kt_m.numa.node_start[2] = KT_MIB(12);
    kt_m.numa.cpu_node[1] = 1;
    kt_m.numa.cpu_node[2] = 2;
    kt_m.swap_slots = 256;
    if (kt_boot_current())
        return NULL;
    return mm_create();
}

static pte_t nb_pte(struct mm_struct *mm, uintptr_t va)
{
    pte_t *ep = pt_walk(&mm->pt, va, false, 0);
    return ep ? *ep : 0;
}

static int nb_node(struct mm_struct *mm, uintptr_t va)
{
    pte_t e = nb_pte(mm, va);
    return pte_present(e) ? page_to_nid(pfn_to_page(MM_PFN_DOWN(pte_addr(e)))) : -1;
}

/* Write @tag at @va from CPU 0. */
static int nb_fill(struct mm_struct *mm, uintptr_t va, uint64_t tag)
{
    machine_cpu_set(0);
    KT_ASSERT_EQ(machine_user_copy(mm, va, &tag, sizeof(tag), MMU_WRITE, NULL), VM_FAULT_HANDLED);
    return 0;
}

/* Read @va from CPU @cpu (so from its node) and expect @tag. */
static int nb_touch(struct mm_struct *mm, uintptr_t va, unsigned int cpu, uint64_t tag)
{
    uint64_t got = 0;
    machine_cpu_set(cpu);
    enum vm_fault_result r = machine_user_copy(mm, va, &got, sizeof(got), MMU_READ, NULL);
    machine_cpu_set(0);
    KT_ASSERT_EQ(r, VM_FAULT_HANDLED);
    KT_ASSERT_EQ(got, tag);
    return 0;
}

/* One scan over the whole address space, then a read of @va from @cpu. */
static int nb_scan_touch(struct mm_struct *mm, uintptr_t va, unsigned int cpu, uint64_t tag)
{
    KT_ASSERT_GE(mm_numa_scan(mm, MM_NUMA_SCAN_MAX_PAGES), 0);
    KT_ASSERT(nb_pte(mm, va) & PTE_SW_NUMA);
    KT_TRY(nb_touch(mm, va, cpu, tag));
    KT_ASSERT(!(nb_pte(mm, va) & PTE_SW_NUMA));
    return 0;
}

static uintptr_t nb_map(struct mm_struct *mm, unsigned int pages)
{
    long a = do_mmap(mm, 0, pages * PAGE_SIZE, RW, PRIV, NULL, 0);
    return a > 0 ? (uintptr_t)a : 0;
}

/* Arguments; the hinting entry's bits; the window moves on and wraps; mprotect and munmap. */
static int test_scan_window_and_bits(void)
{
    struct mm_struct *mm = nb_boot();
    KT_ASSERT_NOT_NULL(mm);
    KT_ASSERT_ERR(mm_numa_scan(NULL, 1), MM_EINVAL);
    KT_ASSERT_ERR(mm_numa_scan(mm, 0), MM_EINVAL);
    KT_ASSERT_ERR(mm_numa_scan(mm, MM_NUMA_SCAN_MAX_PAGES + 1), MM_EINVAL);
    KT_ASSERT_EQ(mm_numa_scan(mm, 4), 0); /* nothing mapped */
    uintptr_t a = nb_map(mm, 4), b = 0;
    KT_ASSERT_NE(a, 0);
    struct mm_file *f = mm_file_create(2 * PAGE_SIZE, true);
    KT_ASSERT_NOT_NULL(f);
    long fm = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, MAP_PRIVATE, f, 0); /* below a: never scanned */
    KT_ASSERT_GT(fm, 0);
    b = nb_map(mm, 4); /* below the file mapping (top-down placement) */
    KT_ASSERT_NE(b, 0);
    KT_ASSERT_LT(b, (uintptr_t)fm);
    for (unsigned int i = 0; i < 4; i++) {
        KT_TRY(nb_fill(mm, a + i * PAGE_SIZE, 10 + i));
        KT_TRY(nb_fill(mm, b + i * PAGE_SIZE, 20 + i));
    }
    KT_TRY(nb_fill(mm, (uintptr_t)fm, 30));
    mm->numa_scan_offset = 0;
    pte_t e0 = nb_pte(mm, b);
    struct migrate_stats s0, s1;
    mm_migrate_get_stats(&s0);
    KT_ASSERT_EQ(mm_numa_scan(mm, 3), 3); /* b's first three pages */
    KT_ASSERT_EQ(nb_pte(mm, b), (e0 & ~PTE_US) | PTE_SW_NUMA); /* RW, NX, A, D kept */
    KT_ASSERT(!(nb_pte(mm, b + 3 * PAGE_SIZE) & PTE_SW_NUMA));
    KT_ASSERT_EQ(mm->numa_scan_offset, b + 3 * PAGE_SIZE);
    KT_MM_CHECK(); /* hinting entries are legal */
    KT_ASSERT_EQ(mm_numa_scan(mm, 3), 3); /* b's last page, the file VMA skipped, a's first two */
    KT_ASSERT(!(nb_pte(mm, (uintptr_t)fm) & PTE_SW_NUMA));
    KT_ASSERT(nb_pte(mm, a + PAGE_SIZE) & PTE_SW_NUMA);
    KT_ASSERT_EQ(mm_numa_scan(mm, 3), 2); /* a's last two, then the end: back to 0 */
    KT_ASSERT_EQ(mm->numa_scan_offset, 0);
    KT_ASSERT_EQ(mm_numa_scan(mm, 16), 0); /* everything hinted already */
    mm_migrate_get_stats(&s1);
    KT_ASSERT_EQ(s1.numa_pte_updates - s0.numa_pte_updates, 8);
    /* the fault gives back exactly the old rights: a read leaves the entry writable */
    pte_t e2 = nb_pte(mm, b + 2 * PAGE_SIZE);
    KT_TRY(nb_touch(mm, b + 2 * PAGE_SIZE, 0, 22));
    KT_ASSERT_EQ(nb_pte(mm, b + 2 * PAGE_SIZE), (e2 & ~PTE_SW_NUMA) | PTE_US);
    KT_TRY(nb_fill(mm, b, 40));
    KT_ASSERT_EQ(nb_pte(mm, b) & ~(PTE_A | PTE_D), e0 & ~(PTE_A | PTE_D));
    /* mprotect replaces a hinting entry by an ordinary one */
    KT_ASSERT_OK(do_mprotect(mm, b + PAGE_SIZE, PAGE_SIZE, PROT_READ));
    KT_ASSERT_EQ(nb_pte(mm, b + PAGE_SIZE) & (PTE_SW_NUMA | PTE_US | PTE_RW), PTE_US);
    KT_MM_CHECK();
    /* a hinting entry's access the VMA forbids is still an access error */
    uint64_t w = 1;
    KT_ASSERT_EQ(machine_user_copy(mm, b + PAGE_SIZE, &w, 8, MMU_WRITE, NULL), VM_FAULT_ACCESS);
    KT_TRY(nb_touch(mm, b + PAGE_SIZE, 0, 21));
    mm_migrate_get_stats(&s0);
    KT_ASSERT_EQ(s0.numa_hint_faults - s1.numa_hint_faults, 2); /* b + 2 pages and b */
    KT_ASSERT_EQ(s0.numa_hint_faults_local - s1.numa_hint_faults_local, 2);
    char buf[256];
    KT_ASSERT_GT(mm_numa_vmstat_show(buf, sizeof(buf)), 0);
    KT_ASSERT_EQ(mm_numa_vmstat_show(NULL, 8), 0);
    KT_ASSERT_OK(do_munmap(mm, a, 4 * PAGE_SIZE)); /* hinting entries unmap as any */
    KT_MM_CHECK();
    mm_destroy(mm);
    mm_file_put(f);
    return 0;
}

/* Local accesses never move a page; two remote ones in a row from one node do; alternating
 * remote nodes do not (Linux's two-stage filter), until one node comes twice in a row. */
static int test_two_stage_filter(void)
{
    struct mm_struct *mm = nb_boot();
    KT_ASSERT_NOT_NULL(mm);
    uintptr_t a = nb_map(mm, 2);
    KT_ASSERT_NE(a, 0);
    KT_TRY(nb_fill(mm, a, 7));
    KT_TRY(nb_fill(mm, a + PAGE_SIZE, 8));
    KT_ASSERT_EQ(nb_node(mm, a), 0);
    struct migrate_stats s0, s1;
    mm_migrate_get_stats(&s0);
    for (unsigned int i = 0; i < 4; i++)
        KT_TRY(nb_scan_touch(mm, a, 0, 7));
    KT_ASSERT_EQ(nb_node(mm, a), 0);
    mm_migrate_get_stats(&s1);
    KT_ASSERT_EQ(s1.numa_hint_faults_local - s0.numa_hint_faults_local, 4);
    KT_ASSERT_EQ(s1.numa_pages_migrated, s0.numa_pages_migrated);
    /* alternating remote nodes 1, 2, 1, 2: the page stays */
    for (unsigned int i = 0; i < 4; i++) {
        KT_TRY(nb_scan_touch(mm, a, 1 + i % 2, 7));
        KT_ASSERT_EQ(nb_node(mm, a), 0);
    }
    /* node 2 again: the second in a row from node 2 moves it there */
    KT_TRY(nb_scan_touch(mm, a, 2, 7));
    KT_ASSERT_EQ(nb_node(mm, a), 2);
    KT_ASSERT_EQ(pfn_to_page(MM_PFN_DOWN(pte_addr(nb_pte(mm, a))))->last_nid, 2);
    mm_migrate_get_stats(&s0);
    KT_ASSERT_EQ(s0.numa_pages_migrated - s1.numa_pages_migrated, 1);
    KT_ASSERT_EQ(s0.numa_hint_faults - s1.numa_hint_faults, 5);
    /* the other page: local (node 0) between two node-1 accesses resets the filter */
    KT_TRY(nb_scan_touch(mm, a + PAGE_SIZE, 1, 8));
    KT_TRY(nb_scan_touch(mm, a + PAGE_SIZE, 0, 8));
    KT_TRY(nb_scan_touch(mm, a + PAGE_SIZE, 1, 8));
    KT_ASSERT_EQ(nb_node(mm, a + PAGE_SIZE), 0);
    KT_TRY(nb_scan_touch(mm, a + PAGE_SIZE, 1, 8));
    KT_ASSERT_EQ(nb_node(mm, a + PAGE_SIZE), 1);
    /* and back home: a local-turned-remote page follows its accesses */
    KT_TRY(nb_scan_touch(mm, a, 0, 7));
    KT_TRY(nb_scan_touch(mm, a, 0, 7));
    KT_ASSERT_EQ(nb_node(mm, a), 0);
    KT_TRY(nb_touch(mm, a, 2, 7));
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* A bind policy never lets a hinting fault take a page outside its nodes; preferred pages stay. */
static int test_policy_respected(void)
{
    struct mm_struct *mm = nb_boot();
    KT_ASSERT_NOT_NULL(mm);
    uintptr_t a = nb_map(mm, 3);
    KT_ASSERT_NE(a, 0);
    unsigned long n0 = 1, n01 = 3, n0p = 1;
    KT_ASSERT_OK(mm_mbind(mm, a, PAGE_SIZE, MPOL_BIND, &n0, 8, 0));
    KT_ASSERT_OK(mm_mbind(mm, a + PAGE_SIZE, PAGE_SIZE, MPOL_BIND, &n01, 8, 0));
    KT_ASSERT_OK(mm_mbind(mm, a + 2 * PAGE_SIZE, PAGE_SIZE, MPOL_PREFERRED, &n0p, 8, 0));
    for (unsigned int i = 0; i < 3; i++)
        KT_TRY(nb_fill(mm, a + i * PAGE_SIZE, 50 + i));
    for (unsigned int r = 0; r < 3; r++)
        for (unsigned int i = 0; i < 3; i++)
            KT_TRY(nb_scan_touch(mm, a + i * PAGE_SIZE, 1, 50 + i));
    KT_ASSERT_EQ(nb_node(mm, a), 0);               /* bind {0}: never node 1 */
    KT_ASSERT_EQ(nb_node(mm, a + PAGE_SIZE), 1);   /* bind {0, 1}: node 1 is allowed */
    KT_ASSERT_EQ(nb_node(mm, a + 2 * PAGE_SIZE), 0); /* preferred: placed by its policy */
    for (unsigned int r = 0; r < 3; r++)
        KT_TRY(nb_scan_touch(mm, a + PAGE_SIZE, 2, 51));
    KT_ASSERT_EQ(nb_node(mm, a + PAGE_SIZE), 1);   /* node 2 is outside {0, 1} */
    KT_ASSERT(find_vma(mm, a)->vm_policy.strict);
    KT_MM_CHECK(); /* vm.policy holds */
    mm_destroy(mm);
    return 0;
}

/* Fork copies a hinting entry; the child's write breaks COW after the hinting fault; a COW-shared
 * page moves for both mappers; a hinted page swaps out and comes back an ordinary one. */
static int test_fork_cow_swap(void)
{
    struct mm_struct *mm = nb_boot(), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    uintptr_t a = nb_map(mm, 3);
    KT_ASSERT_NE(a, 0);
    for (unsigned int i = 0; i < 3; i++)
        KT_TRY(nb_fill(mm, a + i * PAGE_SIZE, 60 + i));
    KT_ASSERT_EQ(mm_numa_scan(mm, 3), 3);
    KT_ASSERT_OK(mm_fork(mm, &child));
    pte_t pe = nb_pte(mm, a), ce = nb_pte(child, a);
    KT_ASSERT_EQ(pe, ce);
    KT_ASSERT_EQ(pe & (PTE_SW_NUMA | PTE_SW_COW | PTE_US | PTE_RW), PTE_SW_NUMA | PTE_SW_COW);
    KT_MM_CHECK();
    /* the child's write: hinting fault (rights back: read-only COW), then the COW copy */
    uint64_t v = 99;
    KT_ASSERT_EQ(machine_user_copy(child, a, &v, 8, MMU_WRITE, NULL), VM_FAULT_HANDLED);
    KT_TRY(nb_touch(child, a, 0, 99));
    KT_TRY(nb_touch(mm, a, 0, 60)); /* the parent keeps the original */
    KT_ASSERT_EQ(pfn_to_page(MM_PFN_DOWN(pte_addr(nb_pte(mm, a))))->mapcount, 1);
    KT_MM_CHECK();
    /* page 1, shared by both: two hinting faults from node 1 in the child move it for both */
    KT_TRY(nb_touch(child, a + PAGE_SIZE, 1, 61));
    KT_ASSERT_EQ(mm_numa_scan(child, 3), 2); /* page 0 of the child is private and hinted anew */
    KT_TRY(nb_touch(child, a + PAGE_SIZE, 1, 61));
    KT_ASSERT_EQ(nb_node(child, a + PAGE_SIZE), 1);
    KT_ASSERT_EQ(nb_node(mm, a + PAGE_SIZE), 1);
    KT_ASSERT_EQ(pte_addr(nb_pte(mm, a + PAGE_SIZE)), pte_addr(nb_pte(child, a + PAGE_SIZE)));
    KT_ASSERT(nb_pte(mm, a + PAGE_SIZE) & PTE_SW_NUMA); /* the parent's entry moved, still hinted */
    KT_TRY(nb_touch(mm, a + PAGE_SIZE, 0, 61));
    KT_MM_CHECK();
    /* page 2, hinted in both: swapped out, then read back as an ordinary entry */
    KT_ASSERT_GT(swap_reclaim(16), 0);
    KT_ASSERT(pte_is_swap(nb_pte(mm, a + 2 * PAGE_SIZE)));
    KT_MM_CHECK();
    KT_TRY(nb_touch(mm, a + 2 * PAGE_SIZE, 1, 62));
    KT_TRY(nb_touch(child, a + 2 * PAGE_SIZE, 2, 62));
    KT_ASSERT(!(nb_pte(mm, a + 2 * PAGE_SIZE) & PTE_SW_NUMA));
    KT_ASSERT_EQ(nb_pte(mm, a + 2 * PAGE_SIZE) & PTE_US, PTE_US);
    KT_MM_CHECK();
    mm_destroy(child);
    mm_destroy(mm);
    return 0;
}

/* mm_check's pte.numa: a hinting entry that kept its user bit, or one on the zero page. */
static int test_check_sees_bad_hint(void)
{
    struct mm_struct *mm = nb_boot();
    KT_ASSERT_NOT_NULL(mm);
    uintptr_t a = nb_map(mm, 2);
    KT_ASSERT_NE(a, 0);
    KT_TRY(nb_fill(mm, a, 1));
    KT_TRY(nb_touch(mm, a + PAGE_SIZE, 0, 0)); /* the zero page */
    pte_t *ep = pt_walk(&mm->pt, a, false, 0), *zp = pt_walk(&mm->pt, a + PAGE_SIZE, false, 0);
    KT_ASSERT_NOT_NULL(ep);
    KT_ASSERT_NOT_NULL(zp);
    struct mm_check_report rep;
    pte_t e = *ep, z = *zp;
    *ep = e | PTE_SW_NUMA; /* user bit kept: its rights were never taken */
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "pte.numa");
    *ep = e;
    *zp = (z & ~PTE_US) | PTE_SW_NUMA; /* the zero page is never hinted */
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "pte.numa");
    *zp = z;
    struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(e)));
    p->last_nid = 3; /* no such node */
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "pte.numa");
    p->last_nid = MM_NUMA_NO_LAST;
    env_tlb_flush_range(a, a + 2 * PAGE_SIZE);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static const struct ktest_case numa_balance_cases[] = {
    KT_CASE(scan_window_and_bits),
    KT_CASE(two_stage_filter),
    KT_CASE(policy_respected),
    KT_CASE(fork_cow_swap),
    KT_CASE(check_sees_bad_hint),
};
KT_SUITE(numa_balance, numa_balance_cases);
