/*
 * test_misuse.c - suite "misuse": every kind of bad input the page allocator must reject. Each
 * rejected call must return its documented code, leave the allocator state untouched (stats are
 * compared before and after), be reported with the right kind and pfn, and leave mm_check happy.
 */
#include "kt_util.h"

/*
 * Run @call, which must be rejected with -@code and reported as @kind naming @pfn, with no change
 * of allocator state other than the misuse counter.
 */
#define KT_REJECTED(call, code, kind, pfn) do { \
    unsigned long kb_ = mm_misuse_count_kind(kind); \
    page_alloc_get_stats(&kt_st_a); \
    KT_ASSERT_ERR(call, code); \
    page_alloc_get_stats(&kt_st_b); \
    KT_TRY(kt_state_same(&kt_st_a, &kt_st_b)); \
    KT_ASSERT_EQ(kt_st_b.counters.misuse, kt_st_a.counters.misuse + 1); \
    KT_TRY(kt_expect_misuse(kind, pfn, kb_)); \
    KT_MM_CHECK(); \
} while (0)

static struct page *find_page(uint32_t want, uint32_t reject, unsigned int min_order)
{
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++) {
        struct page *p = pfn_to_page(pfn);

        if ((p->flags & want) == want && !(p->flags & reject) &&
            (!(want & PG_buddy) || p->order >= min_order))
            return p;
    }
    return NULL;
}

static int test_double_free(void)
{
    struct page *a, *b;

    KT_TRY(kt_boot_small(16, 1, true));
    KT_TRY(kt_alloc_buddy_pair(2, &a, &b));
    KT_ASSERT_OK(__free_pages(a, 2));
    KT_ASSERT(a->flags & PG_buddy); /* its buddy is allocated, so it cannot have merged */
    KT_REJECTED(__free_pages(a, 2), MM_EINVAL, MM_MISUSE_DOUBLE_FREE, page_to_pfn(a));
    struct mm_misuse mu;

    KT_ASSERT(mm_misuse_last(&mu));
    KT_ASSERT_EQ(mu.err, -MM_EINVAL);
    KT_ASSERT_OK(__free_pages(b, 2));
    KT_MM_CHECK();
    return 0;
}

static int test_double_free_after_merge(void)
{
    struct page *a, *b;

    KT_TRY(kt_boot_small(16, 1, true));
    KT_TRY(kt_alloc_buddy_pair(1, &a, &b));
    KT_ASSERT_OK(__free_pages(a, 1));
    KT_ASSERT_OK(__free_pages(b, 1)); /* a and b merge */
    /* a is now the head, b a tail, of one free order-2 block: both frees are double frees */
    KT_REJECTED(__free_pages(a, 1), MM_EINVAL, MM_MISUSE_DOUBLE_FREE, page_to_pfn(a));
    KT_REJECTED(__free_pages(b, 1), MM_EINVAL, MM_MISUSE_DOUBLE_FREE, page_to_pfn(b));
    return 0;
}

static int test_double_free_on_pcp_list(void)
{
    KT_TRY(kt_boot_small(16, 2, false));
    struct page *p = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_page(p));
    KT_ASSERT(p->flags & PG_pcp);
    KT_ASSERT_EQ(p->cpu, 0);
    KT_REJECTED(__free_page(p), MM_EINVAL, MM_MISUSE_DOUBLE_FREE, page_to_pfn(p));
    machine_cpu_set(1);
    KT_REJECTED(__free_page(p), MM_EINVAL, MM_MISUSE_DOUBLE_FREE, page_to_pfn(p));
    KT_REJECTED(free_page((uintptr_t)page_address(p)), MM_EINVAL, MM_MISUSE_DOUBLE_FREE,
                page_to_pfn(p));
    KT_ASSERT(p->flags & PG_pcp);
    KT_ASSERT_EQ(p->cpu, 0);
    machine_cpu_set(0);
    return 0;
}

/* A page inside a free buddy block is free already: a double free (mm.h). */
static int test_free_inside_free_block(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    struct page *head = find_page(PG_buddy, 0, 1);

    KT_ASSERT_NOT_NULL(head);
    struct page *tail = head + 1;

    KT_REJECTED(__free_page(tail), MM_EINVAL, MM_MISUSE_DOUBLE_FREE, page_to_pfn(tail));
    KT_REJECTED(free_page((uintptr_t)page_address(head + 1)), MM_EINVAL, MM_MISUSE_DOUBLE_FREE,
                page_to_pfn(tail));
    return 0;
}

static int test_free_reserved(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    struct page *r = find_page(PG_reserved, PG_hole, 0);

    KT_ASSERT_NOT_NULL(r);
    KT_REJECTED(__free_page(r), MM_EINVAL, MM_MISUSE_NOT_ALLOCATED, page_to_pfn(r));
    KT_ASSERT(r->flags & PG_reserved);
    /* The page holding the struct page array itself. */
    struct page *map = virt_to_page(mm_mem_map);

    if (map) {
        KT_ASSERT(map->flags & PG_reserved);
        KT_REJECTED(__free_page(map), MM_EINVAL, MM_MISUSE_NOT_ALLOCATED, page_to_pfn(map));
    }
    return 0;
}

static int test_free_hole_page(void)
{
    KT_TRY(kt_boot_pc(32, 1));
    struct page *h = pfn_to_page((640 * 1024) >> PAGE_SHIFT);

    KT_ASSERT(h->flags & PG_hole);
    KT_REJECTED(__free_page(h), MM_EINVAL, MM_MISUSE_NOT_ALLOCATED, page_to_pfn(h));
    return 0;
}

static int test_free_tail_page(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    struct page *p = alloc_pages(GFP_KERNEL, 3);

    KT_ASSERT_NOT_NULL(p);
    KT_REJECTED(__free_page(p + 1), MM_EINVAL, MM_MISUSE_NOT_HEAD, page_to_pfn(p) + 1);
    KT_REJECTED(__free_pages(p + 4, 2), MM_EINVAL, MM_MISUSE_NOT_HEAD, page_to_pfn(p) + 4);
    KT_REJECTED(__free_pages(p + 7, 3), MM_EINVAL, MM_MISUSE_NOT_HEAD, page_to_pfn(p) + 7);
    KT_ASSERT(p->flags & PG_head);
    KT_ASSERT_OK(__free_pages(p, 3));
    KT_MM_CHECK();
    return 0;
}

static int test_free_wrong_order(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    struct page *p = alloc_pages(GFP_KERNEL, 2);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);

    KT_REJECTED(__free_pages(p, 1), MM_EINVAL, MM_MISUSE_WRONG_ORDER, pfn);
    KT_REJECTED(__free_pages(p, 3), MM_EINVAL, MM_MISUSE_WRONG_ORDER, pfn);
    KT_REJECTED(__free_pages(p, 0), MM_EINVAL, MM_MISUSE_WRONG_ORDER, pfn); /* not onto a pcp list */
    KT_REJECTED(free_pages((uintptr_t)page_address(p), 1), MM_EINVAL, MM_MISUSE_WRONG_ORDER, pfn);
    KT_ASSERT(p->flags & PG_head);
    KT_ASSERT_EQ(p->order, 2);
    KT_ASSERT_OK(__free_pages(p, 2));
    KT_MM_CHECK();
    return 0;
}

static int test_free_bad_address(void)
{
    struct page fake;
    int local = 0;

    KT_TRY(kt_boot_small(16, 1, false));
    struct page *p = alloc_pages(GFP_KERNEL, 0);

    KT_ASSERT_NOT_NULL(p);
    uintptr_t va = (uintptr_t)page_address(p);

    KT_REJECTED(free_pages((uintptr_t)&local, 0), MM_EFAULT, MM_MISUSE_BAD_ADDRESS, KT_ANY_PFN);
    KT_REJECTED(free_pages(va + 8, 0), MM_EFAULT, MM_MISUSE_BAD_ADDRESS, KT_ANY_PFN);
    KT_REJECTED(free_pages(va + PAGE_SIZE / 2, 0), MM_EFAULT, MM_MISUSE_BAD_ADDRESS, KT_ANY_PFN);
    KT_REJECTED(free_pages((uintptr_t)machine_arena_base() + machine_arena_size(), 0), MM_EFAULT,
                MM_MISUSE_BAD_ADDRESS, KT_ANY_PFN);
    KT_REJECTED(free_pages((uintptr_t)1 << 47, 0), MM_EFAULT, MM_MISUSE_BAD_ADDRESS, KT_ANY_PFN);
    void *foreign = kt_host_foreign_page();

    KT_ASSERT_NOT_NULL(foreign);
    KT_REJECTED(free_pages((uintptr_t)foreign, 0), MM_EFAULT, MM_MISUSE_BAD_ADDRESS, KT_ANY_PFN);
    kt_host_free_foreign(foreign);

    memset(&fake, 0, sizeof(fake));
    fake.flags = PG_head;
    fake.refcount = 1;
    KT_REJECTED(__free_page(&fake), MM_EFAULT, MM_MISUSE_BAD_ADDRESS, KT_ANY_PFN);
    KT_REJECTED(__free_page(NULL), MM_EFAULT, MM_MISUSE_BAD_ADDRESS, KT_ANY_PFN);
    KT_REJECTED(__free_page(pfn_to_page(mm_max_pfn)), MM_EFAULT, MM_MISUSE_BAD_ADDRESS,
                KT_ANY_PFN);
    KT_REJECTED(__free_page((struct page *)((char *)p + 8)), MM_EFAULT, MM_MISUSE_BAD_ADDRESS,
                KT_ANY_PFN);
    KT_ASSERT(p->flags & PG_head);
    KT_ASSERT_OK(free_pages(va, 0));
    KT_MM_CHECK();
    return 0;
}

static int test_bad_order(void)
{
    struct page *p = NULL;

    KT_TRY(kt_boot_small(16, 1, false));
    KT_REJECTED(page_alloc_try(GFP_KERNEL, MM_MAX_ORDER + 1, &p), MM_EINVAL,
                MM_MISUSE_BAD_ORDER, KT_ANY_PFN);
    KT_REJECTED(page_alloc_try(GFP_KERNEL, ~0u, &p), MM_EINVAL, MM_MISUSE_BAD_ORDER, KT_ANY_PFN);
    KT_ASSERT_NULL(alloc_pages(GFP_KERNEL, 64));
    KT_ASSERT_NULL(alloc_pages(GFP_KERNEL, 32));
    p = alloc_pages(GFP_KERNEL, 0);
    KT_ASSERT_NOT_NULL(p);
    KT_REJECTED(__free_pages(p, MM_MAX_ORDER + 1), MM_EINVAL, MM_MISUSE_BAD_ORDER, KT_ANY_PFN);
    KT_REJECTED(__free_pages(p, ~0u), MM_EINVAL, MM_MISUSE_BAD_ORDER, KT_ANY_PFN);
    KT_REJECTED(free_pages((uintptr_t)page_address(p), 40), MM_EINVAL, MM_MISUSE_BAD_ORDER,
                KT_ANY_PFN);
    KT_ASSERT(p->flags & PG_head);
    KT_ASSERT_OK(__free_pages(p, 0));
    KT_MM_CHECK();
    return 0;
}

static int test_bad_gfp(void)
{
    struct page *p = NULL;

    KT_TRY(kt_boot_small(16, 1, false));
    KT_REJECTED(page_alloc_try(__GFP_DMA | __GFP_HIGHMEM, 0, &p), MM_EINVAL, MM_MISUSE_BAD_FLAGS,
                KT_ANY_PFN);
    KT_REJECTED(page_alloc_try(GFP_KERNEL | 0x100u, 0, &p), MM_EINVAL, MM_MISUSE_BAD_FLAGS,
                KT_ANY_PFN);
    KT_REJECTED(page_alloc_try(0x80000000u, 1, &p), MM_EINVAL, MM_MISUSE_BAD_FLAGS, KT_ANY_PFN);
    KT_REJECTED(page_alloc_try(GFP_DMA | GFP_HIGHUSER, 2, &p), MM_EINVAL, MM_MISUSE_BAD_FLAGS,
                KT_ANY_PFN);
    KT_ASSERT_NULL(alloc_pages(~0u, 0));
    KT_ASSERT_EQ(__get_free_pages(__GFP_DMA | __GFP_HIGHMEM, 0), 0);
    /* Every valid combination is accepted. */
    p = alloc_pages(GFP_HIGHUSER | __GFP_HIGH | __GFP_ZERO | __GFP_NOWARN, 0);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_pages(p, 0));
    KT_MM_CHECK();
    return 0;
}

static int test_exhaustion(void)
{
    int err;
    struct page *p = NULL;

    KT_TRY(kt_boot_small(8, 2, false));
    page_alloc_get_stats(&kt_st_a);
    kt_alloc_until_fail(GFP_KERNEL, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    KT_ASSERT_GT(kt_nr_blocks, 1000);
    KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL | __GFP_NOWARN, MM_MAX_ORDER, &p), MM_ENOMEM);
    KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL | __GFP_NOWARN, 0, &p), MM_ENOMEM);
    KT_ASSERT_NULL(alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0));
    KT_ASSERT_EQ(__get_free_pages(GFP_KERNEL | __GFP_NOWARN, 0), 0);
    KT_ASSERT_EQ(mm_misuse_count(), 0); /* exhaustion is not misuse */
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_GE(kt_st_b.counters.fail, 5);
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    KT_TRY(kt_blocks_free_all());
    drain_all_pages();
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_buddyinfo_same(&kt_st_a, &kt_st_b));
    p = alloc_pages(GFP_KERNEL, MM_MAX_ORDER - 1);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_pages(p, MM_MAX_ORDER - 1));
    KT_MM_CHECK();
    return 0;
}

static int test_misuse_report_fields(void)
{
    struct mm_misuse m1, m2;

    KT_TRY(kt_boot_small(8, 1, false));
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    KT_ASSERT(!mm_misuse_last(&m1));
    struct page *p = alloc_pages(GFP_KERNEL, 1);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_ERR(__free_pages(p, 0), MM_EINVAL);
    KT_ASSERT(mm_misuse_last(&m1));
    KT_ASSERT_EQ(m1.kind, MM_MISUSE_WRONG_ORDER);
    KT_ASSERT_EQ(m1.err, -MM_EINVAL);
    KT_ASSERT_EQ(m1.pfn, page_to_pfn(p));
    KT_ASSERT_NOT_NULL(m1.func);
    KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL, 99, &p), MM_EINVAL);
    KT_ASSERT(mm_misuse_last(&m2));
    KT_ASSERT_EQ(m2.kind, MM_MISUSE_BAD_ORDER);
    KT_ASSERT_GT(m2.seq, m1.seq);
    KT_ASSERT_EQ(mm_misuse_count(), 2);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_WRONG_ORDER), 1);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_BAD_ORDER), 1);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_DOUBLE_FREE), 0);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_NR_MISUSE_KINDS), 0); /* out of range: no crash */
    mm_misuse_set_log_level(ENV_LOG_DEBUG);
    KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL, 99, &p), MM_EINVAL);
    mm_misuse_set_log_level(ENV_LOG_ERR);
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case misuse_cases[] = {
    KT_CASE(double_free),
    KT_CASE(double_free_after_merge),
    KT_CASE(double_free_on_pcp_list),
    KT_CASE(free_inside_free_block),
    KT_CASE(free_reserved),
    KT_CASE(free_hole_page),
    KT_CASE(free_tail_page),
    KT_CASE(free_wrong_order),
    KT_CASE(free_bad_address),
    KT_CASE(bad_order),
    KT_CASE(bad_gfp),
    KT_CASE(exhaustion),
    KT_CASE(misuse_report_fields),
};
KT_SUITE(misuse, misuse_cases);
