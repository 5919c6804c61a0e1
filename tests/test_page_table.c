/*
 * test_page_table.c - suite "page_table" (mm/virtual/page_table.c: the walk primitive, range
 * visits, unmapping that frees empty levels, teardown, pt_check), and the kt_pt helpers (kt_pt.h)
 * that suite "mmu" (test_mmu.c) shares.
 *
 * Every case boots its own small machine and ends with the free-page count back at its boot
 * value and mm_check clean.
 */
#include "kt_pt.h"
#include "kt_util.h"
#include "page_table.h"
#include "../mm/virtual/vm_internal.h"
#include "../mm/checks/check_internal.h" /* pt_check */

#define VA_USER   ((uintptr_t)0x0000000040000000ull) /* 1 GiB: PML4 0, PDPT 1, PD 0, PT 0 */
#define VA_KERNEL ((uintptr_t)ARCH_VMALLOC_START)
#define LEAF(pfn, flags) (MM_PFN_PHYS(pfn) | (flags))

struct page_table kt_pt;
static struct mm_check_report kt_pt_rep;

/* Boot a small machine and set up kt_pt; *free0 = free pages before the root was taken. */
int kt_pt_boot(unsigned long *free0)
{
    KT_TRY(kt_boot_small(8, 1, false));
    kt_pt = (struct page_table){ 0 };
    *free0 = page_alloc_nr_free();
    KT_ASSERT_OK(pt_init(&kt_pt, GFP_KERNEL));
    KT_ASSERT_EQ(kt_pt.nr_tables, 1);
    KT_ASSERT_EQ(page_alloc_nr_free(), *free0 - 1);
    return 0;
}

/* pt_check passes; otherwise prints the report. */
int kt_pt_ok(void)
{
    int rc = pt_check(&kt_pt, &kt_pt_rep);

    if (rc != 0)
        KT_FAIL("pt_check: %d invariant %s pfn %lu: %s", rc,
                kt_pt_rep.invariant ? kt_pt_rep.invariant : "(null)", kt_pt_rep.pfn,
                kt_pt_rep.detail);
    return 0;
}

/* pt_check fails with @inv (then mm_check still passes: the scratch marks were cleared). */
static int pt_fails(const char *inv)
{
    KT_ASSERT_ERR(pt_check(&kt_pt, &kt_pt_rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(kt_pt_rep.invariant, inv);
    KT_ASSERT_EQ(kt_pt_rep.err, -MM_ECORRUPT);
    KT_MM_CHECK();
    return 0;
}

/* Tear kt_pt down and expect every page back. */
int kt_pt_teardown(unsigned long free0)
{
    pt_unmap(&kt_pt, 0, ~(uintptr_t)0, NULL, NULL);
    KT_ASSERT_EQ(kt_pt.nr_tables, 1);
    KT_TRY(kt_pt_ok());
    pt_destroy(&kt_pt);
    KT_ASSERT_EQ(kt_pt.root, 0);
    KT_ASSERT_EQ(kt_pt.nr_tables, 0);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0);
    KT_MM_CHECK();
    return 0;
}

/* The entry of @va at @level, found by hand (NULL if a level above is missing). */
pte_t *kt_pt_entry_at(uintptr_t va, unsigned int level)
{
    pte_t *t = env_phys_to_virt(kt_pt.root);

    for (unsigned int l = PT_LEVELS - 1; l > level; l--) {
        pte_t e = t[PT_INDEX(va, l)];
        if (!pte_present(e))
            return NULL;
        t = env_phys_to_virt(pte_addr(e));
    }
    return &t[PT_INDEX(va, level)];
}

/* ---- suite page_table ---- */

static int test_walk_allocates_levels(void)
{
    unsigned long free0;

    KT_TRY(kt_pt_boot(&free0));
    KT_ASSERT_NULL(pt_walk(&kt_pt, VA_USER, false, 0));
    KT_ASSERT_EQ(kt_pt.nr_tables, 1);
    pte_t *p = pt_walk(&kt_pt, VA_USER, true, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(kt_pt.nr_tables, 4);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0 - 4);
    KT_ASSERT(pt_walk(&kt_pt, VA_USER, false, 0) == p);
    KT_ASSERT(pt_walk(&kt_pt, VA_USER + 123, true, GFP_KERNEL) == p);
    KT_ASSERT_EQ(*p, 0);
    struct page *tp = pt_table_page(p);
    KT_ASSERT_EQ(tp->flags, PG_head | PG_pgtable);
    KT_ASSERT_EQ(tp->private_data, 0);
    /* upper levels: present, writable, user (the leaf decides) and counted */
    KT_ASSERT_EQ(*kt_pt_entry_at(VA_USER, 1) & PTE_FLAGS_MASK, PTE_P | PTE_RW | PTE_US);
    KT_ASSERT_EQ(pt_table_page(kt_pt_entry_at(VA_USER, 1))->private_data, 1);
    KT_ASSERT_EQ(pt_table_page(kt_pt_entry_at(VA_USER, 3))->private_data, 1);
    /* neighbours share: same PT, then a new PT, then a new PD + PT */
    KT_ASSERT(pt_walk(&kt_pt, VA_USER + PAGE_SIZE, true, GFP_KERNEL) == p + 1);
    KT_ASSERT_EQ(kt_pt.nr_tables, 4);
    KT_ASSERT_NOT_NULL(pt_walk(&kt_pt, VA_USER + PT_LEVEL_SIZE(1), true, GFP_KERNEL));
    KT_ASSERT_EQ(kt_pt.nr_tables, 5);
    KT_ASSERT_NOT_NULL(pt_walk(&kt_pt, VA_USER + PT_LEVEL_SIZE(2), true, GFP_KERNEL));
    KT_ASSERT_EQ(kt_pt.nr_tables, 7);
    /* the kernel half: its own PDPT, no PTE_US above the leaf */
    KT_ASSERT_NOT_NULL(pt_walk(&kt_pt, VA_KERNEL, true, GFP_KERNEL));
    KT_ASSERT_EQ(kt_pt.nr_tables, 10);
    KT_ASSERT_EQ(*kt_pt_entry_at(VA_KERNEL, 3) & PTE_FLAGS_MASK, PTE_P | PTE_RW);
    KT_ASSERT_OK(pt_set(&kt_pt, VA_USER, LEAF(100, PTE_P), GFP_KERNEL));
    KT_ASSERT_EQ(tp->private_data, 1);
    KT_ASSERT_EQ(pt_update(&kt_pt, VA_USER, LEAF(101, PTE_P | PTE_RW)), LEAF(100, PTE_P));
    KT_ASSERT_EQ(tp->private_data, 1);
    KT_TRY(kt_pt_ok());
    KT_MM_CHECK();
    return kt_pt_teardown(free0);
}

struct visit_log {
    uintptr_t va[64];
    unsigned int n;
    unsigned int stop_at; /* return 7 on this call (0 = never) */
};

static int visit_record(void *arg, uintptr_t va, pte_t *ptep)
{
    struct visit_log *l = arg;

    if (*ptep == 0 || l->n >= MM_ARRAY_SIZE(l->va))
        return -1;
    l->va[l->n++] = va;
    return l->stop_at && l->n == l->stop_at ? 7 : 0;
}

static int test_unmap_frees_empty_levels(void)
{
    static struct visit_log log;
    unsigned long free0;

    KT_TRY(kt_pt_boot(&free0));
    unsigned long free1 = page_alloc_nr_free();
    KT_ASSERT_OK(pt_set(&kt_pt, VA_USER, LEAF(100, PTE_P), GFP_KERNEL));
    KT_ASSERT_OK(pt_set(&kt_pt, VA_USER + PAGE_SIZE, LEAF(101, PTE_P), GFP_KERNEL));
    KT_ASSERT_OK(pt_set(&kt_pt, VA_USER + PT_LEVEL_SIZE(1), LEAF(102, PTE_P), GFP_KERNEL));
    KT_ASSERT_OK(pt_set(&kt_pt, VA_USER + PT_LEVEL_SIZE(2), LEAF(103, PTE_P), GFP_KERNEL));
    KT_ASSERT_EQ(kt_pt.nr_tables, 7);
    /* one of two leaves of a PT: nothing freed */
    KT_ASSERT_EQ(pt_unmap(&kt_pt, VA_USER, VA_USER + PAGE_SIZE, NULL, NULL), 1);
    KT_ASSERT_EQ(kt_pt.nr_tables, 7);
    KT_ASSERT_NOT_NULL(pt_walk(&kt_pt, VA_USER, false, 0));
    KT_ASSERT_EQ(*pt_walk(&kt_pt, VA_USER, false, 0), 0);
    /* the other one: the PT goes */
    KT_ASSERT_EQ(pt_unmap(&kt_pt, VA_USER + PAGE_SIZE, VA_USER + 2 * PAGE_SIZE, NULL, NULL), 1);
    KT_ASSERT_EQ(kt_pt.nr_tables, 6);
    KT_ASSERT_NULL(pt_walk(&kt_pt, VA_USER, false, 0));
    KT_TRY(kt_pt_ok());
    /* the rest, with a visitor: PD and PDPT become empty too, the root stays */
    log.n = 0;
    log.stop_at = 0;
    KT_ASSERT_EQ(pt_unmap(&kt_pt, 0, ARCH_USER_VA_END, visit_record, &log), 2);
    KT_ASSERT_EQ(log.n, 2);
    KT_ASSERT_EQ(log.va[0], VA_USER + PT_LEVEL_SIZE(1));
    KT_ASSERT_EQ(log.va[1], VA_USER + PT_LEVEL_SIZE(2));
    KT_ASSERT_EQ(kt_pt.nr_tables, 1);
    KT_ASSERT_EQ(page_alloc_nr_free(), free1);
    KT_ASSERT_EQ(pt_table_page(env_phys_to_virt(kt_pt.root))->private_data, 0);
    /* pt_set(0) clears through the same path */
    KT_ASSERT_OK(pt_set(&kt_pt, VA_KERNEL, LEAF(100, PTE_P), GFP_KERNEL));
    KT_ASSERT_EQ(kt_pt.nr_tables, 4);
    KT_ASSERT_OK(pt_set(&kt_pt, VA_KERNEL, 0, GFP_KERNEL));
    KT_ASSERT_EQ(kt_pt.nr_tables, 1);
    KT_ASSERT_OK(pt_set(&kt_pt, VA_KERNEL, 0, GFP_KERNEL)); /* nothing there: no-op */
    KT_ASSERT_EQ(kt_pt.nr_tables, 1);
    KT_TRY(kt_pt_ok());
    return kt_pt_teardown(free0);
}

static int test_visit_in_address_order(void)
{
    static struct visit_log log;
    static const uintptr_t vas[] = {
        VA_KERNEL + 5 * PAGE_SIZE, VA_USER + PT_LEVEL_SIZE(3), 0x10000, VA_USER + 3 * PAGE_SIZE,
        VA_KERNEL, VA_USER, (uintptr_t)0xfffffffffffff000ull, VA_USER + PT_LEVEL_SIZE(1),
    };
    unsigned long free0;

    KT_TRY(kt_pt_boot(&free0));
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(vas); i++)
        KT_ASSERT_OK(pt_set(&kt_pt, vas[i], LEAF(200 + i, PTE_P), GFP_KERNEL));
    /* a zero leaf inside a table is skipped; a non-present swap entry is visited */
    KT_ASSERT_OK(pt_set(&kt_pt, VA_USER + PAGE_SIZE, pte_mk_swap(1, 42), GFP_KERNEL));
    KT_ASSERT_NOT_NULL(pt_walk(&kt_pt, VA_USER + 2 * PAGE_SIZE, true, GFP_KERNEL));
    log.n = 0;
    log.stop_at = 0;
    KT_ASSERT_OK(pt_visit(&kt_pt, 0, (uintptr_t)0xfffffffffffff000ull, visit_record, &log));
    KT_ASSERT_EQ(log.n, MM_ARRAY_SIZE(vas)); /* 8 set + swap - the excluded top page */
    for (unsigned int i = 1; i < log.n; i++)
        KT_ASSERT_MSG(log.va[i - 1] < log.va[i], "visit %u: 0x%lx after 0x%lx", i,
                      (unsigned long)log.va[i], (unsigned long)log.va[i - 1]);
    KT_ASSERT_EQ(log.va[0], 0x10000);
    KT_ASSERT_EQ(log.va[2], VA_USER + PAGE_SIZE);
    /* a sub-range; a range starting inside the hole reaches the kernel half */
    log.n = 0;
    KT_ASSERT_OK(pt_visit(&kt_pt, VA_USER + 1, VA_USER + PT_LEVEL_SIZE(1) + 1, visit_record, &log));
    KT_ASSERT_EQ(log.n, 4);
    log.n = 0;
    KT_ASSERT_OK(pt_visit(&kt_pt, ARCH_USER_VA_END, ~(uintptr_t)0, visit_record, &log));
    KT_ASSERT_EQ(log.n, 3);
    KT_ASSERT_EQ(log.va[0], VA_KERNEL);
    KT_ASSERT_EQ(log.va[2], (uintptr_t)0xfffffffffffff000ull);
    /* a non-zero visitor result stops the walk and is returned */
    log.n = 0;
    log.stop_at = 3;
    KT_ASSERT_EQ(pt_visit(&kt_pt, 0, ~(uintptr_t)0, visit_record, &log), 7);
    KT_ASSERT_EQ(log.n, 3);
    KT_ASSERT_OK(pt_visit(&kt_pt, VA_USER, VA_USER, visit_record, &log)); /* empty range */
    KT_ASSERT_EQ(log.n, 3);
    KT_TRY(kt_pt_ok());
    return kt_pt_teardown(free0);
}

static int test_destroy_frees_everything(void)
{
    unsigned long free0;

    KT_TRY(kt_pt_boot(&free0));
    uint64_t seed = 12345;
    for (unsigned int i = 0; i < 200; i++) {
        uintptr_t va = (uintptr_t)(kt_rand(&seed) & (ARCH_USER_VA_END - 1) & ~(PAGE_SIZE - 1));
        KT_ASSERT_OK(pt_set(&kt_pt, va, LEAF(300, PTE_P), GFP_KERNEL));
    }
    KT_ASSERT(kt_pt.nr_tables > 100);
    KT_TRY(kt_pt_ok());
    KT_ASSERT_EQ(pt_unmap(&kt_pt, 0, ARCH_USER_VA_END, NULL, NULL), 200);
    KT_ASSERT_EQ(kt_pt.nr_tables, 1);
    pt_destroy(&kt_pt);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0);
    pt_destroy(&kt_pt); /* twice: a no-op */
    KT_ASSERT_EQ(page_alloc_nr_free(), free0);

    /* leaves left behind: the tables still go, and it is reported */
    KT_ASSERT_OK(pt_init(&kt_pt, GFP_KERNEL));
    KT_ASSERT_OK(pt_set(&kt_pt, VA_USER, LEAF(100, PTE_P), GFP_KERNEL));
    KT_ASSERT_OK(pt_set(&kt_pt, VA_KERNEL, LEAF(101, PTE_P), GFP_KERNEL));
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    pt_destroy(&kt_pt);
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, before));
    KT_ASSERT_EQ(kt_pt.root, 0);
    KT_ASSERT_EQ(kt_pt.nr_tables, 0);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0);
    KT_MM_CHECK();
    return 0;
}

static int test_noncanonical_rejected(void)
{
    static const uintptr_t bad[] = {
        (uintptr_t)ARCH_USER_VA_END, (uintptr_t)0x0000800000001000ull,
        (uintptr_t)0x1234000000000000ull, (uintptr_t)0xffff7ffffffff000ull,
    };
    unsigned long free0;

    KT_TRY(kt_pt_boot(&free0));
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(bad); i++) {
        KT_ASSERT_NULL(pt_walk(&kt_pt, bad[i], true, GFP_KERNEL));
        KT_ASSERT_ERR(pt_set(&kt_pt, bad[i], LEAF(100, PTE_P), GFP_KERNEL), MM_EINVAL);
        KT_ASSERT_EQ(kt_pt.nr_tables, 1);
    }
    KT_ASSERT_NOT_NULL(pt_walk(&kt_pt, (uintptr_t)(ARCH_USER_VA_END - PAGE_SIZE), true, GFP_KERNEL));
    KT_ASSERT_NOT_NULL(pt_walk(&kt_pt, (uintptr_t)0xffff800000000000ull, true, GFP_KERNEL));
    /* bad setup calls */
    KT_ASSERT_ERR(pt_init(NULL, GFP_KERNEL), MM_EINVAL);
    KT_ASSERT_ERR(pt_init(&kt_pt, GFP_KERNEL), MM_EINVAL);
    struct page_table empty = { 0 };
    KT_ASSERT_NULL(pt_walk(&empty, VA_USER, true, GFP_KERNEL));
    KT_ASSERT_NULL(pt_walk(NULL, VA_USER, true, GFP_KERNEL));
    KT_ASSERT_ERR(pt_set(&empty, VA_USER, LEAF(1, PTE_P), GFP_KERNEL), MM_EINVAL);
    KT_ASSERT_EQ(pt_unmap(&empty, 0, ARCH_USER_VA_END, NULL, NULL), 0);
    KT_ASSERT_OK(pt_check(&empty, NULL));
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_EQ(pt_update(&kt_pt, VA_KERNEL, LEAF(1, PTE_P)), 0); /* no table there */
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, before));
    KT_TRY(kt_pt_ok());
    return kt_pt_teardown(free0);
}

static int test_exhaustion_leaks_no_level(void)
{
    unsigned long free0;

    KT_TRY(kt_pt_boot(&free0));
    unsigned long free1 = page_alloc_nr_free();
    /* fail the 1st, 2nd, 3rd table of a fresh path: the levels already built are rolled back */
    for (unsigned int skip = 0; skip < 3; skip++) {
        page_alloc_fail_inject(skip, 1);
        KT_ASSERT_ERR(pt_set(&kt_pt, VA_USER, LEAF(100, PTE_P), GFP_KERNEL | __GFP_NOWARN),
                      MM_ENOMEM);
        KT_ASSERT_EQ(kt_pt.nr_tables, 1);
        KT_ASSERT_EQ(page_alloc_nr_free(), free1);
        KT_ASSERT_NULL(pt_walk(&kt_pt, VA_USER, false, 0));
        KT_TRY(kt_pt_ok());
        page_alloc_fail_inject(0, 0);
    }
    page_alloc_fail_inject(0, 1);
    KT_ASSERT_NULL(pt_walk(&kt_pt, VA_USER, true, GFP_KERNEL | __GFP_NOWARN));
    KT_ASSERT_EQ(kt_pt.nr_tables, 1);
    /* a path that shares its upper levels: only the new levels go, the shared ones stay */
    KT_ASSERT_OK(pt_set(&kt_pt, VA_USER, LEAF(100, PTE_P), GFP_KERNEL));
    page_alloc_fail_inject(1, 1);
    KT_ASSERT_ERR(pt_set(&kt_pt, VA_USER + PT_LEVEL_SIZE(2), LEAF(101, PTE_P),
                         GFP_KERNEL | __GFP_NOWARN), MM_ENOMEM);
    page_alloc_fail_inject(0, 0);
    KT_ASSERT_EQ(kt_pt.nr_tables, 4);
    KT_ASSERT_EQ(page_alloc_nr_free(), free1 - 3);
    KT_ASSERT_EQ(*pt_walk(&kt_pt, VA_USER, false, 0), LEAF(100, PTE_P));
    KT_TRY(kt_pt_ok());
    /* pt_init itself */
    struct page_table other = { 0 };
    page_alloc_fail_inject(0, 1);
    KT_ASSERT_ERR(pt_init(&other, GFP_KERNEL | __GFP_NOWARN), MM_ENOMEM);
    page_alloc_fail_inject(0, 0);
    KT_ASSERT_EQ(other.root, 0);
    KT_ASSERT_EQ(other.nr_tables, 0);
    return kt_pt_teardown(free0);
}

static int test_pgtable_page_free_is_misuse(void)
{
    unsigned long free0;

    KT_TRY(kt_pt_boot(&free0));
    pte_t *p = pt_walk(&kt_pt, VA_USER, true, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    struct page *tp = pt_table_page(p);
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_ERR(__free_pages(tp, 0), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, page_to_pfn(tp), before));
    KT_ASSERT_EQ(tp->flags, PG_head | PG_pgtable);
    KT_ASSERT_ERR(free_page((uintptr_t)env_phys_to_virt(kt_pt.root)), MM_EINVAL);
    KT_ASSERT_EQ(kt_pt.nr_tables, 4);
    KT_TRY(kt_pt_ok());
    KT_MM_CHECK(); /* live table pages are allocated blocks to mm_check */
    return kt_pt_teardown(free0);
}

static int test_check_catches_corruption(void)
{
    unsigned long free0;

    KT_TRY(kt_pt_boot(&free0));
    uintptr_t a = VA_USER, b = VA_USER + PT_LEVEL_SIZE(1); /* two PTs under one PD */
    KT_ASSERT_OK(pt_set(&kt_pt, a, LEAF(100, PTE_P), GFP_KERNEL));
    KT_ASSERT_OK(pt_set(&kt_pt, b, LEAF(101, PTE_P), GFP_KERNEL));
    KT_TRY(kt_pt_ok());
    KT_ASSERT_EQ(kt_pt_rep.err, 0);
    KT_ASSERT_NULL(kt_pt_rep.invariant);

    /* a table's count */
    struct page *pt_a = pt_table_page(pt_walk(&kt_pt, a, false, 0));
    pt_a->private_data++;
    KT_TRY(pt_fails("pt.count"));
    KT_ASSERT_EQ(kt_pt_rep.pfn, page_to_pfn(pt_a));
    pt_a->private_data--;
    KT_TRY(kt_pt_ok());

    /* one PT linked from two PD entries */
    pte_t *pde_b = kt_pt_entry_at(b, 1), saved = *pde_b;
    *pde_b = *kt_pt_entry_at(a, 1);
    KT_TRY(pt_fails("pt.duplicate"));
    KT_ASSERT_EQ(kt_pt_rep.pfn, page_to_pfn(pt_a));
    *pde_b = saved;
    KT_TRY(kt_pt_ok());

    /* a cycle: a PD entry pointing back at the root */
    *pde_b = kt_pt.root | PTE_P | PTE_RW | PTE_US;
    KT_TRY(pt_fails("pt.duplicate"));
    *pde_b = saved;

    /* an upper entry pointing at a page that is no table */
    struct page *data = alloc_page(GFP_KERNEL);
    KT_ASSERT_NOT_NULL(data);
    *pde_b = page_to_phys(data) | PTE_P | PTE_RW | PTE_US;
    KT_TRY(pt_fails("pt.table"));
    *pde_b = MM_PFN_PHYS(mm_max_pfn + 1) | PTE_P | PTE_RW | PTE_US;
    KT_TRY(pt_fails("pt.table"));
    *pde_b = saved;
    KT_ASSERT_OK(__free_page(data));
    KT_TRY(kt_pt_ok());

    /* a leaf beyond memory */
    pte_t old = pt_update(&kt_pt, b, LEAF(mm_max_pfn + 10, PTE_P));
    KT_TRY(pt_fails("pt.leaf"));
    KT_ASSERT_EQ(pt_update(&kt_pt, b, old), LEAF(mm_max_pfn + 10, PTE_P));
    pt_update(&kt_pt, b, LEAF(mm_max_pfn + 10, 0)); /* not present: not a mapping */
    KT_TRY(kt_pt_ok());
    pt_update(&kt_pt, b, old);

    /* the table count */
    kt_pt.nr_tables++;
    KT_TRY(pt_fails("pt.nr_tables"));
    kt_pt.nr_tables--;
    KT_TRY(kt_pt_ok());
    return kt_pt_teardown(free0);
}

static const struct ktest_case page_table_cases[] = {
    KT_CASE(walk_allocates_levels),
    KT_CASE(unmap_frees_empty_levels),
    KT_CASE(visit_in_address_order),
    KT_CASE(destroy_frees_everything),
    KT_CASE(noncanonical_rejected),
    KT_CASE(exhaustion_leaks_no_level),
    KT_CASE(pgtable_page_free_is_misuse),
    KT_CASE(check_catches_corruption),
};
KT_SUITE(page_table, page_table_cases);
