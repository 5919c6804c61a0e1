/*
 * test_check.c - suite "check": mm_check passes on healthy machines and fails, naming the broken
 * invariant and the page, when the page state is corrupted on purpose. Every corrupting case
 * re-boots a fresh machine at its end so no later test sees the damage.
 */
#include "kt_util.h"
#include "../mm/internal.h" /* pcp.high: a per-CPU list count is mm-internal */

static struct mm_check_report rep;

static struct page *find_free_head(unsigned int min_order)
{
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++) {
        struct page *p = pfn_to_page(pfn);

        if ((p->flags & PG_buddy) && p->order >= min_order)
            return p;
    }
    return NULL;
}

/* mm_check must fail with a named invariant at a pfn in [lo, hi). */
static int expect_corrupt(unsigned long lo, unsigned long hi)
{
    memset(&rep, 0, sizeof(rep));
    int rc = mm_check(&rep);

    KT_ASSERT_ERR(rc, MM_ECORRUPT);
    KT_ASSERT_EQ(rep.err, -MM_ECORRUPT);
    KT_ASSERT_NOT_NULL(rep.invariant);
    KT_ASSERT_MSG(ktest_strstr(rep.invariant, "."), "invariant name '%s' is not dotted",
                  rep.invariant);
    KT_ASSERT_MSG(rep.pfn >= lo && rep.pfn < hi, "invariant %s at pfn %lu, expected [%lu, %lu): %s",
                  rep.invariant, rep.pfn, lo, hi, rep.detail);
    KT_ASSERT_NE(rep.detail[0], 0);
    KT_ASSERT_ERR(mm_check(NULL), MM_ECORRUPT); /* NULL report is allowed */
    if (ktest_verbose)
        ktest_note("caught: %s at pfn %lu: %s", rep.invariant, rep.pfn, rep.detail);
    return 0;
}

static int test_fresh_machines_pass(void)
{
    KT_TRY(kt_boot_small(8, 1, false));
    memset(&rep, 0x7f, sizeof(rep));
    KT_ASSERT_OK(mm_check(&rep));
    KT_ASSERT_EQ(rep.err, 0);
    KT_ASSERT_NULL(rep.invariant);
    KT_ASSERT_OK(mm_check(NULL));
    KT_TRY(kt_boot_small(32, 4, true));
    KT_MM_CHECK();
    KT_TRY(kt_boot_pc(1024, 2));
    KT_MM_CHECK();
    return 0;
}

static int test_check_is_repeatable(void)
{
    int err;

    KT_TRY(kt_boot_small(16, 2, false));
    kt_alloc_until_fail(GFP_KERNEL, 0, 50, &err);
    kt_alloc_until_fail(GFP_KERNEL, 3, 20, &err);
    machine_cpu_set(1);
    KT_ASSERT_OK(__free_page(kt_blocks[1].page));
    kt_blocks[1] = kt_blocks[--kt_nr_blocks];
    machine_cpu_set(0);
    page_alloc_get_stats(&kt_st_a);
    for (int i = 0; i < 3; i++)
        KT_MM_CHECK();
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_state_same(&kt_st_a, &kt_st_b)); /* checking changes nothing */
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++)
        KT_ASSERT(!(pfn_to_page(pfn)->flags & PG_checked));
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_free_head_without_buddy_flag(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = find_free_head(0);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);

    p->flags &= ~PG_buddy;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->flags |= PG_buddy; /* repaired: passes again, the failed walk left no marks */
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_free_block_wrong_order(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = find_free_head(2);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);
    const unsigned int order = p->order;

    p->order = (uint8_t)(order - 1);
    KT_TRY(expect_corrupt(pfn, pfn + (1ul << order)));
    p->order = (uint8_t)order;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_free_block_order_too_big(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = find_free_head(0);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);
    const unsigned int order = p->order;

    p->order = MM_MAX_ORDER + 3;
    KT_TRY(expect_corrupt(pfn, pfn + (1ul << order)));
    p->order = (uint8_t)order;
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_allocated_page_with_buddy_flag(void)
{
    struct page *p, *q;

    KT_TRY(kt_boot_small(16, 1, true));
    KT_TRY(kt_alloc_buddy_pair(0, &p, &q)); /* its buddy is allocated: no merge question */
    const unsigned long pfn = page_to_pfn(p);

    p->flags |= PG_buddy;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->flags &= ~PG_buddy;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_pcp_page_marked_head(void)
{
    KT_TRY(kt_boot_small(16, 2, false));
    struct page *p = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_page(p));
    KT_ASSERT(p->flags & PG_pcp);
    const unsigned long pfn = page_to_pfn(p);

    p->flags |= PG_head;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->flags &= ~PG_head;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_pcp_page_wrong_cpu(void)
{
    KT_TRY(kt_boot_small(16, 2, false));
    struct page *p = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_page(p));
    const unsigned long pfn = page_to_pfn(p);

    p->cpu = 1; /* it sits on CPU 0's list */
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->cpu = 0;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

/* A per-CPU list longer than its high mark (a free that did not give its batch back). */
static int test_pcp_list_above_high(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    struct page *p = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_page(p));
    struct per_cpu_pages *pcp = &mm_state.phys.zones[p->zone].pcp[0];
    const unsigned int high = pcp->high;

    KT_ASSERT_GT(pcp->count, 0);
    pcp->high = pcp->count - 1; /* the same as count > high */
    memset(&rep, 0, sizeof(rep));
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "pcp.high");
    pcp->high = high;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_allocated_refcount_zero(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = alloc_pages(GFP_KERNEL, 1);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);

    p->refcount = 0;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->refcount = 1;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_tail_of_free_block_flagged(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = find_free_head(3);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p) + 5;

    pfn_to_page(pfn)->flags |= PG_head;
    KT_TRY(expect_corrupt(page_to_pfn(p), page_to_pfn(p) + (1ul << p->order)));
    pfn_to_page(pfn)->flags &= ~PG_head;
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_reserved_page_made_free(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = NULL;

    /* a reserved page whose buddy is reserved too, so only the page itself is wrong */
    for (unsigned long pfn = 0; pfn + 1 < mm_max_pfn && !p; pfn++)
        if ((pfn_to_page(pfn)->flags & PG_reserved) && !(pfn_to_page(pfn)->flags & PG_hole) &&
            (pfn_to_page(pfn ^ 1)->flags & PG_reserved))
            p = pfn_to_page(pfn);
    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);

    p->flags = PG_buddy; /* looks free, is on no free list */
    p->order = 0;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static const struct ktest_case check_cases[] = {
    KT_CASE(fresh_machines_pass),
    KT_CASE(check_is_repeatable),
    KT_CASE(free_head_without_buddy_flag),
    KT_CASE(free_block_wrong_order),
    KT_CASE(free_block_order_too_big),
    KT_CASE(allocated_page_with_buddy_flag),
    KT_CASE(pcp_page_marked_head),
    KT_CASE(pcp_page_wrong_cpu),
    KT_CASE(pcp_list_above_high),
    KT_CASE(allocated_refcount_zero),
    KT_CASE(tail_of_free_block_flagged),
    KT_CASE(reserved_page_made_free),
};
KT_SUITE(check, check_cases);
