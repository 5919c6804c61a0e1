/*
 * test_buddy.c - suite "buddy": allocation and free of every order, alignment, zone selection by
 * GFP flags, __GFP_ZERO, splitting and complete merging, reference counting, address helpers.
 */
#include "kt_util.h"

static uint8_t owner[KT_MIB(64) >> PAGE_SHIFT];

/* Fill the block with a token derived from its pfn; check_token verifies it. */
static void fill_token(struct page *p, unsigned int order)
{
    uint64_t *w = page_address(p);
    uint64_t n = (PAGE_SIZE << order) / sizeof(uint64_t), t = page_to_pfn(p) * 0x9e3779b97f4a7c15ull;

    for (uint64_t i = 0; i < n; i += 61)
        w[i] = t + i;
    w[n - 1] = t + n - 1;
}

static int check_token(struct page *p, unsigned int order)
{
    const uint64_t *w = page_address(p);
    uint64_t n = (PAGE_SIZE << order) / sizeof(uint64_t), t = page_to_pfn(p) * 0x9e3779b97f4a7c15ull;

    for (uint64_t i = 0; i < n; i += 61)
        if (w[i] != t + i)
            KT_FAIL("block pfn %lu order %u: token broken at word %llu", page_to_pfn(p), order,
                    (unsigned long long)i);
    KT_ASSERT(w[n - 1] == t + n - 1);
    return 0;
}

static int check_allocated_block(struct page *p, unsigned int order)
{
    unsigned long pfn = page_to_pfn(p);

    KT_ASSERT(page_pointer_valid(p));
    KT_ASSERT_LT(pfn, mm_max_pfn);
    KT_ASSERT_EQ(pfn & ((1ul << order) - 1), 0);
    KT_ASSERT(p->flags & PG_head);
    KT_ASSERT(!(p->flags & (PG_buddy | PG_pcp | PG_reserved)));
    KT_ASSERT_EQ(p->order, order);
    KT_ASSERT_EQ(p->refcount, 1);
    KT_ASSERT_NOT_NULL(page_address(p));
    KT_ASSERT(virt_to_page(page_address(p)) == p);
    KT_ASSERT(virt_to_page((char *)page_address(p) + PAGE_SIZE - 1) == p);
    KT_ASSERT_EQ((uintptr_t)page_address(p) & (PAGE_SIZE - 1), 0);
    return 0;
}

static int test_every_order(void)
{
    static struct page_alloc_stats boot;
    struct page *blk[MM_NR_ORDERS];

    KT_TRY(kt_boot_small(32, 1, false));
    page_alloc_get_stats(&boot);
    for (unsigned int o = 0; o <= MM_MAX_ORDER; o++) {
        page_alloc_get_stats(&kt_st_a);
        unsigned long before = kt_st_a.zone[ZONE_NORMAL].nr_alloc;

        KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, o, &blk[o]));
        KT_TRY(check_allocated_block(blk[o], o));
        KT_ASSERT_EQ(blk[o]->zone, ZONE_NORMAL);
        fill_token(blk[o], o);
        page_alloc_get_stats(&kt_st_a);
        KT_ASSERT_EQ(kt_st_a.zone[ZONE_NORMAL].nr_alloc, before + (1ul << o));
        KT_TRY(kt_conservation());
    }
    for (unsigned int o = 0; o <= MM_MAX_ORDER; o++)
        KT_TRY(check_token(blk[o], o));
    KT_MM_CHECK();
    for (int o = MM_MAX_ORDER; o >= 0; o--) {
        KT_ASSERT_OK(__free_pages(blk[o], (unsigned int)o));
        KT_TRY(kt_conservation());
    }
    drain_all_pages();
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_buddyinfo_same(&boot, &kt_st_b));
    KT_MM_CHECK();
    /* Again, from HIGH first, freeing in allocation order. */
    for (unsigned int o = 0; o <= MM_MAX_ORDER; o++) {
        KT_ASSERT_OK(page_alloc_try(GFP_HIGHUSER, o, &blk[o]));
        KT_TRY(check_allocated_block(blk[o], o));
    }
    for (unsigned int o = 0; o <= MM_MAX_ORDER; o++)
        KT_ASSERT_OK(__free_pages(blk[o], o));
    drain_all_pages();
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_buddyinfo_same(&boot, &kt_st_b));
    KT_MM_CHECK();
    return 0;
}

static int test_mixed_orders_aligned_disjoint(void)
{
    static const gfp_t gfps[] = { GFP_KERNEL, GFP_HIGHUSER, GFP_DMA, GFP_ATOMIC,
                                  GFP_KERNEL | __GFP_ZERO };
    uint64_t rnd = 12345;

    KT_TRY(kt_boot_small(32, 2, false));
    page_alloc_get_stats(&kt_st_a);
    memset(owner, 0, sizeof(owner));
    kt_blocks_reset();
    for (unsigned int i = 0; i < 400; i++) {
        unsigned int o = (unsigned int)(kt_rand(&rnd) % 6);
        gfp_t gfp = gfps[kt_rand(&rnd) % MM_ARRAY_SIZE(gfps)];
        struct page *p = NULL;

        machine_cpu_set((unsigned int)(kt_rand(&rnd) % 2));
        if (page_alloc_try(gfp, o, &p) != 0)
            continue;
        KT_TRY(check_allocated_block(p, o));
        unsigned long pfn = page_to_pfn(p);

        KT_ASSERT_LE(pfn + (1ul << o), MM_ARRAY_SIZE(owner));
        for (unsigned long j = 0; j < (1ul << o); j++) {
            KT_ASSERT_MSG(!owner[pfn + j], "pfn %lu handed out twice", pfn + j);
            owner[pfn + j] = 1;
        }
        fill_token(p, o);
        KT_ASSERT_OK(kt_blocks_push(p, o));
    }
    KT_ASSERT_GT(kt_nr_blocks, 300);
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    /* Free in a shuffled order from alternating CPUs. */
    for (unsigned int i = kt_nr_blocks; i > 1; i--) {
        unsigned int j = (unsigned int)(kt_rand(&rnd) % i);
        struct kt_block t = kt_blocks[i - 1];

        kt_blocks[i - 1] = kt_blocks[j];
        kt_blocks[j] = t;
    }
    for (unsigned int i = 0; i < kt_nr_blocks; i++) {
        KT_TRY(check_token(kt_blocks[i].page, kt_blocks[i].order));
        machine_cpu_set(i & 1);
        KT_ASSERT_OK(__free_pages(kt_blocks[i].page, kt_blocks[i].order));
    }
    kt_blocks_reset();
    machine_cpu_set(0);
    KT_MM_CHECK();
    drain_all_pages();
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_buddyinfo_same(&kt_st_a, &kt_st_b));
    KT_MM_CHECK();
    return 0;
}

static int test_gfp_dma_only_dma(void)
{
    int err;

    KT_TRY(kt_boot_small(16, 1, true));
    page_alloc_get_stats(&kt_st_a);
    const unsigned long dma_end = kt_st_a.zone[ZONE_DMA].end_pfn;

    kt_alloc_until_fail(GFP_DMA, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    KT_ASSERT_GT(kt_nr_blocks, 0);
    for (unsigned int i = 0; i < kt_nr_blocks; i++) {
        KT_ASSERT_EQ(kt_blocks[i].page->zone, ZONE_DMA);
        KT_ASSERT_LT(page_to_pfn(kt_blocks[i].page), dma_end);
    }
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_EQ(kt_st_b.zone[ZONE_NORMAL].nr_free, kt_st_a.zone[ZONE_NORMAL].nr_free);
    KT_ASSERT_EQ(kt_st_b.zone[ZONE_HIGHMEM].nr_free, kt_st_a.zone[ZONE_HIGHMEM].nr_free);
    KT_ASSERT_EQ(kt_st_b.zone[ZONE_DMA].nr_alloc, kt_nr_blocks);
    KT_TRY(kt_blocks_free_all());
    /* Higher orders come from DMA too. */
    struct page *p = alloc_pages(GFP_DMA, 3);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(p->zone, ZONE_DMA);
    KT_ASSERT_OK(__free_pages(p, 3));
    KT_MM_CHECK();
    return 0;
}

/*
 * Exhaust with @gfp on a pcp-less machine. Only the zones in @seq may be used, @seq[0] first, and
 * the allocator may fall back from zone seq[i] to a later one only once seq[i] is down to its low
 * watermark (Linux semantics: the fast path walks the zonelist against the low watermark, the slow
 * path may then go back to the preferred zone down to min). Every zone in @seq gets used.
 */
static int exhaust_zone_order(gfp_t gfp, const unsigned int *seq, unsigned int nseq)
{
    int err;
    unsigned long seen[MM_NR_ZONES] = { 0 };

    page_alloc_get_stats(&kt_st_a);
    kt_alloc_until_fail(gfp, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    KT_ASSERT_GT(kt_nr_blocks, 0);
    KT_ASSERT_EQ(kt_blocks[0].page->zone, seq[0]);
    for (unsigned int i = 0; i < kt_nr_blocks; i++) {
        unsigned int z = kt_blocks[i].page->zone, pos = 0;

        while (pos < nseq && seq[pos] != z)
            pos++;
        KT_ASSERT_MSG(pos < nseq, "block %u (pfn %lu) from forbidden zone %u", i,
                      page_to_pfn(kt_blocks[i].page), z);
        /*
         * Falling back to seq[pos]: every preferred zone must be at its low watermark by now. A
         * lower zone may hold back a lowmem reserve against requests that could use a higher
         * zone (Linux: 1/32 .. 1/256 of the higher zones); allow up to 1/16 of those.
         */
        for (unsigned int q = 0; q < pos; q++) {
            const struct zone_stats *pz = &kt_st_a.zone[seq[q]];
            unsigned long left = pz->nr_free - seen[seq[q]], slack = 1;

            for (unsigned int h = seq[q] + 1; h < MM_NR_ZONES; h++)
                slack += kt_st_a.zone[h].managed / 16;
            if (seq[q] == seq[0])
                slack = 1; /* the preferred zone itself has no reserve against this request */
            KT_ASSERT_MSG(left <= pz->wmark[WMARK_LOW] + slack,
                          "block %u from zone %u while zone %u still had %lu free (low %lu)", i, z,
                          seq[q], left, pz->wmark[WMARK_LOW]);
        }
        seen[z]++;
    }
    for (unsigned int i = 0; i < nseq; i++)
        KT_ASSERT_MSG(seen[seq[i]] > 0, "zone %u never used", seq[i]);
    return 0;
}

static int test_gfp_kernel_normal_then_dma(void)
{
    static const unsigned int seq[] = { ZONE_NORMAL, ZONE_DMA };

    KT_TRY(kt_boot_small(16, 1, true));
    page_alloc_get_stats(&kt_st_a);
    struct page *p = alloc_pages(GFP_KERNEL, 0);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(p->zone, ZONE_NORMAL);
    KT_ASSERT_OK(__free_pages(p, 0));
    KT_TRY(exhaust_zone_order(GFP_KERNEL, seq, 2));
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_EQ(kt_st_b.zone[ZONE_HIGHMEM].nr_free, kt_st_a.zone[ZONE_HIGHMEM].nr_free);
    KT_ASSERT_EQ(kt_st_b.zone[ZONE_HIGHMEM].nr_alloc, 0);
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_gfp_highuser_high_first(void)
{
    static const unsigned int seq[] = { ZONE_HIGHMEM, ZONE_NORMAL, ZONE_DMA };

    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = alloc_pages(GFP_HIGHUSER, 0);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(p->zone, ZONE_HIGHMEM);
    KT_ASSERT_OK(__free_pages(p, 0));
    KT_TRY(exhaust_zone_order(GFP_HIGHUSER, seq, 3));
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int all_zero(const void *addr, uint64_t len)
{
    const uint64_t *w = addr;

    for (uint64_t i = 0; i < len / sizeof(uint64_t); i++)
        if (w[i] != 0)
            KT_FAIL("word %llu of %p is 0x%llx", (unsigned long long)i, addr,
                    (unsigned long long)w[i]);
    return 0;
}

static int test_gfp_zero(void)
{
    int err;

    KT_TRY(kt_boot_small(8, 1, false));
    /* Dirty a good part of memory, then ask for zeroed pages. */
    kt_alloc_until_fail(GFP_KERNEL, 0, 256, &err);
    kt_alloc_until_fail(GFP_KERNEL, 2, 32, &err);
    for (unsigned int i = 0; i < kt_nr_blocks; i++)
        memset(page_address(kt_blocks[i].page), 0xa5, PAGE_SIZE << kt_blocks[i].order);
    KT_TRY(kt_blocks_free_all());
    kt_alloc_until_fail(GFP_KERNEL | __GFP_ZERO, 0, 256, &err);
    KT_ASSERT_OK(err);
    kt_alloc_until_fail(GFP_KERNEL | __GFP_ZERO, 2, 32, &err);
    KT_ASSERT_OK(err);
    for (unsigned int i = 0; i < kt_nr_blocks; i++)
        KT_TRY(all_zero(page_address(kt_blocks[i].page), PAGE_SIZE << kt_blocks[i].order));
    KT_TRY(kt_blocks_free_all());
    uintptr_t a = get_zeroed_page(GFP_KERNEL);

    KT_ASSERT_NE(a, 0);
    KT_TRY(all_zero((void *)a, PAGE_SIZE));
    KT_ASSERT_OK(free_page(a));
    KT_MM_CHECK();
    return 0;
}

static int test_get_free_pages_by_address(void)
{
    KT_TRY(kt_boot_small(8, 1, false));
    uintptr_t a = __get_free_pages(GFP_KERNEL, 1);

    KT_ASSERT_NE(a, 0);
    KT_ASSERT_EQ(a & (PAGE_SIZE - 1), 0);
    struct page *p = virt_to_page((void *)a);

    KT_ASSERT_NOT_NULL(p);
    KT_TRY(check_allocated_block(p, 1));
    KT_ASSERT((uintptr_t)page_address(p) == a);
    memset((void *)a, 1, 2 * PAGE_SIZE);
    KT_ASSERT_OK(free_pages(a, 1));
    KT_ASSERT(!(p->flags & PG_head));
    KT_ASSERT_OK(free_pages(0, 3)); /* no-op */
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    KT_ASSERT_EQ(__get_free_pages(GFP_KERNEL, MM_MAX_ORDER + 1), 0);
    KT_MM_CHECK();
    return 0;
}

static int test_split_and_full_merge(void)
{
    uint64_t rnd = 777;
    int err;

    KT_TRY(kt_boot_small(16, 1, true));
    page_alloc_get_stats(&kt_st_a);
    /* Split everything down: order-0 pages until the allocator refuses. */
    kt_alloc_until_fail(GFP_HIGHUSER, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    KT_MM_CHECK();
    for (unsigned int i = kt_nr_blocks; i > 1; i--) {
        unsigned int j = (unsigned int)(kt_rand(&rnd) % i);
        struct kt_block t = kt_blocks[i - 1];

        kt_blocks[i - 1] = kt_blocks[j];
        kt_blocks[j] = t;
    }
    KT_TRY(kt_blocks_free_all());
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_buddyinfo_same(&kt_st_a, &kt_st_b));
    for (unsigned int z = 0; z < MM_NR_ZONES; z++)
        KT_ASSERT_EQ(kt_st_b.zone[z].nr_free, kt_st_a.zone[z].nr_free);
    KT_MM_CHECK();
    return 0;
}

static int test_refcount_get_page(void)
{
    KT_TRY(kt_boot_small(8, 1, true));
    page_alloc_get_stats(&kt_st_a);
    struct page *p = alloc_pages(GFP_KERNEL, 1);

    KT_ASSERT_NOT_NULL(p);
    get_page(p);
    KT_ASSERT_EQ(p->refcount, 2);
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_OK(__free_pages(p, 1)); /* drops one reference, block stays allocated */
    KT_ASSERT(p->flags & PG_head);
    KT_ASSERT_EQ(p->refcount, 1);
    page_alloc_get_stats(&kt_st_c);
    KT_ASSERT_EQ(kt_st_c.zone[p->zone].nr_alloc, kt_st_b.zone[p->zone].nr_alloc);
    KT_ASSERT_EQ(kt_st_c.zone[p->zone].nr_free, kt_st_b.zone[p->zone].nr_free);
    KT_MM_CHECK();
    KT_ASSERT_OK(__free_pages(p, 1)); /* now it is freed */
    KT_ASSERT(!(p->flags & PG_head));
    KT_ASSERT_EQ(p->refcount, 0);
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_buddyinfo_same(&kt_st_a, &kt_st_b));
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    unsigned long df = mm_misuse_count_kind(MM_MISUSE_DOUBLE_FREE);

    KT_ASSERT_ERR(__free_pages(p, 1), MM_EINVAL); /* a third put is a double free */
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOUBLE_FREE, page_to_pfn(p), df));
    KT_MM_CHECK();
    return 0;
}

static int test_refcount_order0_pcp(void)
{
    KT_TRY(kt_boot_small(8, 1, false));
    struct page *p = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    get_page(p);
    get_page(p);
    KT_ASSERT_EQ(p->refcount, 3);
    KT_ASSERT_OK(__free_page(p));
    KT_ASSERT_OK(__free_page(p));
    KT_ASSERT(p->flags & PG_head);
    KT_ASSERT(!(p->flags & PG_pcp));
    KT_ASSERT_OK(__free_page(p));
    KT_ASSERT(!(p->flags & PG_head));
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    return 0;
}

static int test_address_helpers(void)
{
    int local = 0;

    KT_TRY(kt_boot_small(8, 1, false));
    KT_ASSERT(!page_pointer_valid((const struct page *)&local));
    KT_ASSERT(!page_pointer_valid(NULL));
    KT_ASSERT(page_pointer_valid(pfn_to_page(0)));
    KT_ASSERT(page_pointer_valid(pfn_to_page(mm_max_pfn - 1)));
    KT_ASSERT(!page_pointer_valid(pfn_to_page(mm_max_pfn)));
    KT_ASSERT(!page_pointer_valid((const struct page *)((const char *)pfn_to_page(1) + 4)));
    KT_ASSERT_NULL(virt_to_page(&local));
    KT_ASSERT_NULL(virt_to_page(NULL));
    KT_ASSERT(pfn_valid(mm_max_pfn - 1));
    KT_ASSERT(!pfn_valid(mm_max_pfn));
    return 0;
}

static const struct ktest_case buddy_cases[] = {
    KT_CASE(every_order),
    KT_CASE(mixed_orders_aligned_disjoint),
    KT_CASE(gfp_dma_only_dma),
    KT_CASE(gfp_kernel_normal_then_dma),
    KT_CASE(gfp_highuser_high_first),
    KT_CASE(gfp_zero),
    KT_CASE(get_free_pages_by_address),
    KT_CASE(split_and_full_merge),
    KT_CASE(refcount_get_page),
    KT_CASE(refcount_order0_pcp),
    KT_CASE(address_helpers),
};
KT_SUITE(buddy, buddy_cases);
