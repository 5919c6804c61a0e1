/*
 * test_stats.c - suite "stats": page_alloc_get_stats conservation at all times, buddyinfo after a
 * known sequence, counters, the unusable free space index, page_alloc_show and page_alloc_nr_free.
 */
#include "kt_util.h"

static int test_conservation_always(void)
{
    static const gfp_t gfps[] = { GFP_KERNEL, GFP_HIGHUSER, GFP_DMA, GFP_ATOMIC };
    uint64_t rnd = 4242;

    KT_TRY(kt_boot_small(16, 2, false));
    KT_TRY(kt_conservation());
    kt_blocks_reset();
    for (unsigned int i = 0; i < 400; i++) {
        machine_cpu_set((unsigned int)(kt_rand(&rnd) & 1));
        if (kt_nr_blocks > 0 && (kt_rand(&rnd) % 3) == 0) {
            unsigned int j = (unsigned int)(kt_rand(&rnd) % kt_nr_blocks);

            KT_ASSERT_OK(__free_pages(kt_blocks[j].page, kt_blocks[j].order));
            kt_blocks[j] = kt_blocks[--kt_nr_blocks];
        } else {
            unsigned int o = (unsigned int)(kt_rand(&rnd) % 4);
            struct page *p = NULL;

            if (page_alloc_try(gfps[kt_rand(&rnd) % 4] | __GFP_NOWARN, o, &p) == 0)
                KT_ASSERT_OK(kt_blocks_push(p, o));
        }
        KT_TRY(kt_conservation());
        KT_ASSERT_EQ(page_alloc_nr_free(),
                     kt_st_c.zone[0].nr_free + kt_st_c.zone[0].nr_pcp + kt_st_c.zone[1].nr_free +
                     kt_st_c.zone[1].nr_pcp + kt_st_c.zone[2].nr_free + kt_st_c.zone[2].nr_pcp);
    }
    machine_cpu_set(0);
    KT_MM_CHECK();
    KT_TRY(kt_blocks_free_all());
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    return 0;
}

/* Buddyinfo @before with one order-@req block taken from the smallest order that has one. */
static int expect_split(const unsigned long *before, const unsigned long *after, unsigned int req)
{
    unsigned int from = req;

    while (from <= MM_MAX_ORDER && before[from] == 0)
        from++;
    KT_ASSERT_LE(from, MM_MAX_ORDER);
    for (unsigned int o = 0; o <= MM_MAX_ORDER; o++) {
        unsigned long want = before[o];

        if (o == from)
            want--;
        else if (o >= req && o < from)
            want++;
        if (after[o] != want)
            KT_FAIL("order-%u alloc (split from %u): order %u has %lu blocks, expected %lu", req,
                    from, o, after[o], want);
    }
    return 0;
}

static int test_buddyinfo_known_sequence(void)
{
    static const unsigned int reqs[] = { 0, 2, 5, 0, 1, 3, 0 };
    static struct page_alloc_stats snap[MM_ARRAY_SIZE(reqs) + 1];
    struct page *blk[MM_ARRAY_SIZE(reqs)];

    KT_TRY(kt_boot_small(32, 1, true));
    page_alloc_get_stats(&snap[0]);
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(reqs); i++) {
        blk[i] = alloc_pages(GFP_DMA, reqs[i]);
        KT_ASSERT_NOT_NULL(blk[i]);
        KT_ASSERT_EQ(blk[i]->zone, ZONE_DMA);
        page_alloc_get_stats(&snap[i + 1]);
        KT_TRY(expect_split(snap[i].zone[ZONE_DMA].nr_free_blocks,
                            snap[i + 1].zone[ZONE_DMA].nr_free_blocks, reqs[i]));
        KT_ASSERT_EQ(snap[i + 1].zone[ZONE_DMA].nr_free,
                     snap[i].zone[ZONE_DMA].nr_free - (1ul << reqs[i]));
        KT_ASSERT_EQ(snap[i + 1].zone[ZONE_DMA].nr_alloc,
                     snap[i].zone[ZONE_DMA].nr_alloc + (1ul << reqs[i]));
        for (unsigned int z = ZONE_NORMAL; z < MM_NR_ZONES; z++)
            for (unsigned int o = 0; o <= MM_MAX_ORDER; o++)
                KT_ASSERT_EQ(snap[i + 1].zone[z].nr_free_blocks[o], snap[0].zone[z].nr_free_blocks[o]);
    }
    /* Freeing in reverse order retraces the same states exactly. */
    for (int i = (int)MM_ARRAY_SIZE(reqs) - 1; i >= 0; i--) {
        KT_ASSERT_OK(__free_pages(blk[i], reqs[i]));
        page_alloc_get_stats(&kt_st_a);
        KT_TRY(kt_buddyinfo_same(&snap[i], &kt_st_a));
    }
    KT_MM_CHECK();
    return 0;
}

static int test_counters(void)
{
    KT_TRY(kt_boot_small(8, 1, false));
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_EQ(kt_st_a.nr_cpus, 1);
    KT_ASSERT_EQ(kt_st_a.counters.fail, 0);
    KT_ASSERT_EQ(kt_st_a.counters.misuse, 0);
    int err;

    kt_alloc_until_fail(GFP_KERNEL, 1, 10, &err);
    kt_alloc_until_fail(GFP_KERNEL, 0, 10, &err);
    KT_TRY(kt_blocks_free_all());
    KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL, 20, &(struct page *){ NULL }), MM_EINVAL);
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_EQ(kt_st_b.counters.alloc, kt_st_a.counters.alloc + 20);
    KT_ASSERT_EQ(kt_st_b.counters.free, kt_st_a.counters.free + 20);
    KT_ASSERT_EQ(kt_st_b.counters.fail, 0);
    KT_ASSERT_EQ(kt_st_b.counters.misuse, 1);
    return 0;
}

/* Linux's unusable free space index from a buddyinfo. */
static unsigned int unusable(const struct zone_stats *zs, unsigned int order)
{
    unsigned long free = 0, suitable = 0;

    for (unsigned int o = 0; o <= MM_MAX_ORDER; o++) {
        free += zs->nr_free_blocks[o] << o;
        if (o >= order)
            suitable += zs->nr_free_blocks[o] << o;
    }
    if (free == 0)
        return 1000;
    return (unsigned int)((free - suitable) * 1000 / free);
}

static int check_unusable_consistent(void)
{
    page_alloc_get_stats(&kt_st_a);
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        const struct zone_stats *zs = &kt_st_a.zone[z];

        if (zs->nr_free == 0)
            continue;
        KT_ASSERT_EQ(zs->unusable_index[0], 0);
        for (unsigned int o = 0; o <= MM_MAX_ORDER; o++) {
            KT_ASSERT_MSG(zs->unusable_index[o] == unusable(zs, o), "zone %u order %u: %u vs %u",
                          z, o, zs->unusable_index[o], unusable(zs, o));
            KT_ASSERT_EQ(page_alloc_unusable_index(z, o), zs->unusable_index[o]);
            if (o > 0)
                KT_ASSERT_GE(zs->unusable_index[o], zs->unusable_index[o - 1]);
        }
    }
    return 0;
}

static int test_unusable_index(void)
{
    int err;

    KT_TRY(kt_boot_small(16, 1, true));
    KT_TRY(check_unusable_consistent());
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_LT(kt_st_a.zone[ZONE_DMA].unusable_index[1], 1000);

    /* Take every DMA page we can get at order 0. */
    kt_alloc_until_fail(GFP_DMA | GFP_ATOMIC, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    static uint8_t held[KT_MIB(16) >> PAGE_SHIFT];

    memset(held, 0, sizeof(held));
    for (unsigned int i = 0; i < kt_nr_blocks; i++)
        held[page_to_pfn(kt_blocks[i].page)] = 1;
    /* Free every other page whose buddy we still hold: nothing can merge. */
    unsigned int kept = 0;

    for (unsigned int i = 0; i < kt_nr_blocks; i++) {
        unsigned long pfn = page_to_pfn(kt_blocks[i].page);

        if ((pfn & 1) == 0 && held[pfn ^ 1]) {
            KT_ASSERT_OK(__free_page(kt_blocks[i].page));
            held[pfn] = 0;
        } else {
            kt_blocks[kept++] = kt_blocks[i];
        }
    }
    kt_nr_blocks = kept;
    /* Whatever larger blocks were left over: take them too (singles keep the watermark happy). */
    for (unsigned int o = 1; o <= MM_MAX_ORDER; o++)
        kt_alloc_until_fail(GFP_DMA | GFP_ATOMIC, o, KT_MAX_BLOCKS, &err);
    page_alloc_get_stats(&kt_st_a);
    const struct zone_stats *dma = &kt_st_a.zone[ZONE_DMA];

    KT_ASSERT_GT(dma->nr_free_blocks[0], 16);
    for (unsigned int o = 1; o <= MM_MAX_ORDER; o++)
        KT_ASSERT_EQ(dma->nr_free_blocks[o], 0);
    KT_ASSERT_EQ(dma->unusable_index[0], 0);
    KT_ASSERT_EQ(dma->unusable_index[1], 1000);
    KT_ASSERT_EQ(page_alloc_unusable_index(ZONE_DMA, 1), 1000);
    KT_ASSERT_EQ(page_alloc_unusable_index(ZONE_DMA, MM_MAX_ORDER), 1000);
    KT_TRY(check_unusable_consistent());
    KT_MM_CHECK();
    KT_TRY(kt_blocks_free_all());
    KT_TRY(check_unusable_consistent());
    KT_MM_CHECK();
    return 0;
}

static int test_show_and_nr_free(void)
{
    int err;

    KT_TRY(kt_boot_small(16, 2, false));
    if (ktest_verbose)
        machine_set_log_level(ENV_LOG_DEBUG);
    for (int lvl = ENV_LOG_EMERG; lvl <= ENV_LOG_DEBUG; lvl++)
        page_alloc_show(lvl);
    kt_alloc_until_fail(GFP_KERNEL, 0, 100, &err);
    machine_cpu_set(1);
    kt_alloc_until_fail(GFP_HIGHUSER, 2, 10, &err);
    page_alloc_show(ENV_LOG_INFO);
    KT_TRY(kt_blocks_free_all());
    page_alloc_show(ENV_LOG_INFO);
    machine_cpu_set(0);
    machine_set_log_level(ktest_verbose ? ENV_LOG_DEBUG : -1);
    KT_TRY(kt_conservation());
    unsigned long sum = 0;

    for (unsigned int z = 0; z < MM_NR_ZONES; z++)
        sum += kt_st_c.zone[z].nr_free + kt_st_c.zone[z].nr_pcp;
    KT_ASSERT_EQ(page_alloc_nr_free(), sum);
    /* out-of-range queries do not crash */
    (void)page_alloc_unusable_index(MM_NR_ZONES, 0);
    (void)page_alloc_unusable_index(0, MM_NR_ORDERS);
    KT_ASSERT_NOT_NULL(zone_name(MM_NR_ZONES));
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case stats_cases[] = {
    KT_CASE(conservation_always),
    KT_CASE(buddyinfo_known_sequence),
    KT_CASE(counters),
    KT_CASE(unusable_index),
    KT_CASE(show_and_nr_free),
};
KT_SUITE(stats, stats_cases);
