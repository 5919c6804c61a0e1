/*
 * test_reclaim.c - suite "reclaim": watermarks (min < low < high), where GFP_KERNEL and GFP_ATOMIC
 * allocations stop, kswapd wake-ups, the shrinker registry, page_reclaim and background reclaim.
 *
 * Most cases run on a machine without per-CPU lists so that "free" means exactly buddy nr_free.
 */
#include "kt_util.h"

/* ---- a test shrinker that hoards pages and gives them back in scan_objects ---- */

#define HOARD_MAX 256

struct hoard {
    struct page *pages[HOARD_MAX];
    unsigned int nr;
    unsigned int count_calls, scan_calls;
    unsigned long freed;
    bool stop; /* scan_objects answers SHRINK_STOP */
};

static struct hoard hoard;

static unsigned long hoard_count(struct shrinker *s, struct shrink_control *sc)
{
    struct hoard *h = s->private_data;

    h->count_calls++;
    return h->nr;
}

static unsigned long hoard_scan(struct shrinker *s, struct shrink_control *sc)
{
    struct hoard *h = s->private_data;
    unsigned long n = 0;

    h->scan_calls++;
    if (h->stop)
        return SHRINK_STOP;
    while (n < sc->nr_to_scan && h->nr > 0) {
        if (__free_page(h->pages[--h->nr]) != 0)
            break;
        n++;
    }
    h->freed += n;
    return n;
}

static struct shrinker hoard_shrinker;

static void hoard_init(void)
{
    memset(&hoard, 0, sizeof(hoard));
    shrinker_init(&hoard_shrinker, "test-hoard", hoard_count, hoard_scan, false);
    hoard_shrinker.private_data = &hoard;
}

static int hoard_fill(unsigned int n)
{
    while (hoard.nr < n) {
        struct page *p = alloc_page(GFP_KERNEL);

        KT_ASSERT_NOT_NULL(p);
        hoard.pages[hoard.nr++] = p;
    }
    return 0;
}

/* Top the hoard up to @n with HIGHMEM pages (freed first: the hoard gives back from the top). */
static int hoard_fill_high(unsigned int n)
{
    while (hoard.nr < n) {
        struct page *p = alloc_page(GFP_HIGHUSER);

        KT_ASSERT_NOT_NULL(p);
        KT_ASSERT_EQ(p->zone, ZONE_HIGHMEM);
        hoard.pages[hoard.nr++] = p;
    }
    return 0;
}

static int hoard_release(void)
{
    while (hoard.nr > 0)
        KT_ASSERT_OK(__free_page(hoard.pages[--hoard.nr]));
    return 0;
}

/* ---- watermarks ---- */

static int check_wmarks(void)
{
    page_alloc_get_stats(&kt_st_a);
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        const struct zone_stats *zs = &kt_st_a.zone[z];

        if (!zs->populated || zs->managed == 0)
            continue;
        KT_ASSERT_MSG(zs->wmark[WMARK_MIN] > 0, "zone %u", z);
        KT_ASSERT_LT(zs->wmark[WMARK_MIN], zs->wmark[WMARK_LOW]);
        KT_ASSERT_LT(zs->wmark[WMARK_LOW], zs->wmark[WMARK_HIGH]);
        KT_ASSERT_LT(zs->wmark[WMARK_HIGH], zs->managed);
        /* a freshly booted zone is above its high watermark */
        KT_ASSERT_GT(zs->nr_free + zs->nr_pcp, zs->wmark[WMARK_HIGH]);
    }
    return 0;
}

static int test_wmarks_ordered(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    KT_TRY(check_wmarks());
    KT_TRY(kt_boot_small(32, 2, true));
    KT_TRY(check_wmarks());
    KT_TRY(kt_boot_pc(1024, 2));
    KT_TRY(check_wmarks());
    /* A bigger zone gets a bigger reserve. */
    KT_ASSERT_GT(kt_st_a.zone[ZONE_NORMAL].wmark[WMARK_MIN], kt_st_a.zone[ZONE_DMA].wmark[WMARK_MIN]);
    return 0;
}

static int test_kernel_stops_at_min(void)
{
    int err;

    KT_TRY(kt_boot_small(16, 1, true));
    page_alloc_get_stats(&kt_st_a);
    const unsigned long high_free = kt_st_a.zone[ZONE_HIGHMEM].nr_free;

    kt_alloc_until_fail(GFP_KERNEL, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    page_alloc_get_stats(&kt_st_b);
    for (unsigned int z = ZONE_DMA; z <= ZONE_NORMAL; z++) {
        const struct zone_stats *zs = &kt_st_b.zone[z];

        KT_ASSERT_MSG(zs->nr_free >= zs->wmark[WMARK_MIN], "zone %u free %lu min %lu", z,
                      zs->nr_free, zs->wmark[WMARK_MIN]);
    }
    /* The preferred zone went below low (down to min); a fallback zone may keep a lowmem reserve. */
    const struct zone_stats *nz = &kt_st_b.zone[ZONE_NORMAL];

    KT_ASSERT_MSG(nz->nr_free < nz->wmark[WMARK_LOW], "free %lu low %lu", nz->nr_free,
                  nz->wmark[WMARK_LOW]);
    KT_ASSERT_LE(nz->nr_free, nz->wmark[WMARK_MIN] + 1);
    KT_ASSERT_EQ(kt_st_b.zone[ZONE_HIGHMEM].nr_free, high_free);
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_atomic_dips_below_min(void)
{
    int err;
    unsigned long after_high[MM_NR_ZONES];

    KT_TRY(kt_boot_small(16, 1, true));
    kt_alloc_until_fail(GFP_KERNEL, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    /* __GFP_HIGH alone may use half of the min reserve. */
    kt_alloc_until_fail(__GFP_HIGH, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    page_alloc_get_stats(&kt_st_a);
    for (unsigned int z = ZONE_DMA; z <= ZONE_NORMAL; z++)
        after_high[z] = kt_st_a.zone[z].nr_free;
    unsigned int n = kt_alloc_until_fail(GFP_ATOMIC, 0, KT_MAX_BLOCKS, &err);

    KT_ASSERT_ERR(err, MM_ENOMEM);
    KT_ASSERT_GT(n, 0);
    page_alloc_get_stats(&kt_st_b);
    for (unsigned int z = ZONE_DMA; z <= ZONE_NORMAL; z++) {
        const struct zone_stats *zs = &kt_st_b.zone[z];
        const unsigned long min = zs->wmark[WMARK_MIN];

        KT_ASSERT_MSG(zs->nr_free > 0, "zone %u drained to zero", z);
        KT_ASSERT_MSG(zs->nr_free + 1 >= min / 4, "zone %u free %lu min %lu", z, zs->nr_free, min);
        if (min >= 4 && z == ZONE_NORMAL) { /* DMA may keep a lowmem reserve */
            KT_ASSERT_MSG(zs->nr_free < min, "zone %u free %lu min %lu", z, zs->nr_free, min);
            KT_ASSERT_MSG(after_high[z] < min, "zone %u __GFP_HIGH left %lu, min %lu", z,
                          after_high[z], min);
            KT_ASSERT_MSG(after_high[z] + 1 >= min / 2, "zone %u __GFP_HIGH left %lu, min %lu", z,
                          after_high[z], min);
        }
        if (min >= 8 && z == ZONE_NORMAL)
            KT_ASSERT_MSG(zs->nr_free < after_high[z], "zone %u atomic %lu vs high %lu", z,
                          zs->nr_free, after_high[z]);
    }
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_low_wmark_wakes_kswapd(void)
{
    const gfp_t gfp = __GFP_DMA | __GFP_KSWAPD_RECLAIM;
    bool woke = false;

    KT_TRY(kt_boot_small(16, 1, true));
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_EQ(kt_st_a.counters.kswapd_wake, 0);
    const unsigned long low = kt_st_a.zone[ZONE_DMA].wmark[WMARK_LOW];
    const unsigned long wake0 = kt_st_a.counters.kswapd_wake, miss0 = kt_st_a.counters.wmark_low_miss;

    kt_blocks_reset();
    for (;;) {
        struct page *p = NULL;

        page_alloc_get_stats(&kt_st_a);
        unsigned long free_before = kt_st_a.zone[ZONE_DMA].nr_free;
        int rc = page_alloc_try(gfp, 0, &p);

        page_alloc_get_stats(&kt_st_b);
        if (free_before > low + 1) {
            KT_ASSERT_OK(rc);
            KT_ASSERT_MSG(kt_st_b.counters.kswapd_wake == wake0,
                          "woken with %lu free, low %lu", free_before, low);
        }
        if (free_before < low) {
            /* at the latest this allocation failed the low watermark and woke kswapd */
            KT_ASSERT_MSG(kt_st_b.counters.kswapd_wake >= wake0 + 1,
                          "kswapd woken %lu times by %lu free, low %lu",
                          kt_st_b.counters.kswapd_wake - wake0, free_before, low);
            KT_ASSERT_GT(kt_st_b.counters.wmark_low_miss, miss0);
            woke = true;
            if (rc == 0)
                kt_blocks_push(p, 0);
            break;
        }
        if (rc != 0)
            break;
        kt_blocks_push(p, 0);
    }
    KT_ASSERT(woke);
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

/* ---- shrinkers ---- */

static int test_shrinker_registry(void)
{
    struct shrinker bad;

    KT_TRY(kt_boot_small(8, 1, false));
    hoard_init();
    KT_ASSERT_OK(register_shrinker(&hoard_shrinker));
    KT_ASSERT(hoard_shrinker.registered);
    KT_ASSERT_ERR(register_shrinker(&hoard_shrinker), MM_EEXIST);
    KT_ASSERT_OK(unregister_shrinker(&hoard_shrinker));
    KT_ASSERT(!hoard_shrinker.registered);
    KT_ASSERT_ERR(unregister_shrinker(&hoard_shrinker), MM_ENOENT);
    memset(&bad, 0, sizeof(bad));
    bad.name = "never-registered";
    bad.count_objects = hoard_count;
    bad.scan_objects = hoard_scan;
    KT_ASSERT_ERR(unregister_shrinker(&bad), MM_ENOENT);
    KT_ASSERT_ERR(register_shrinker(NULL), MM_EINVAL);
    bad.scan_objects = NULL;
    KT_ASSERT_ERR(register_shrinker(&bad), MM_EINVAL);
    bad.scan_objects = hoard_scan;
    bad.count_objects = NULL;
    KT_ASSERT_ERR(register_shrinker(&bad), MM_EINVAL);
    KT_ASSERT_LT(unregister_shrinker(NULL), 0);
    /* Re-registration after unregistering works. */
    KT_ASSERT_OK(register_shrinker(&hoard_shrinker));
    KT_ASSERT_OK(unregister_shrinker(&hoard_shrinker));
    return 0;
}

static int test_shrinker_relieves_pressure(void)
{
    int err;
    struct page *p = NULL;

    KT_TRY(kt_boot_small(16, 1, true));
    hoard_init();
    KT_TRY(hoard_fill(64));
    kt_alloc_until_fail(GFP_KERNEL, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    KT_ASSERT_OK(register_shrinker(&hoard_shrinker));
    KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, 0, &p));
    KT_ASSERT_OK(kt_blocks_push(p, 0));
    KT_ASSERT_GT(hoard.scan_calls, 0);
    KT_ASSERT_GT(hoard.count_calls, 0);
    KT_ASSERT_LT(hoard.nr, 64);
    KT_ASSERT_EQ(hoard.freed, 64 - hoard.nr);
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_GE(kt_st_a.counters.reclaim_runs, 1);
    KT_ASSERT_GE(kt_st_a.counters.reclaimed, hoard.freed);
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    KT_ASSERT_OK(unregister_shrinker(&hoard_shrinker));
    KT_TRY(hoard_release());
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_page_reclaim_returns_freed(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    hoard_init();
    KT_TRY(hoard_fill(40));
    KT_ASSERT_OK(register_shrinker(&hoard_shrinker));
    page_alloc_get_stats(&kt_st_a);
    unsigned long free0 = page_alloc_nr_free();
    unsigned long r = page_reclaim(GFP_KERNEL, 16);

    KT_ASSERT_GT(r, 0);
    KT_ASSERT_EQ(r, hoard.freed);
    KT_ASSERT_EQ(hoard.nr, 40 - r);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0 + r);
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_EQ(kt_st_b.counters.reclaimed, kt_st_a.counters.reclaimed + r);
    KT_ASSERT_GT(kt_st_b.counters.reclaim_runs, kt_st_a.counters.reclaim_runs);
    /* Asking for more than there is returns what there was. */
    unsigned long left = hoard.nr;

    r = page_reclaim(GFP_KERNEL, 1000);
    KT_ASSERT_EQ(r, left);
    KT_ASSERT_EQ(hoard.nr, 0);
    KT_ASSERT_EQ(page_reclaim(GFP_KERNEL, 10), 0);
    KT_ASSERT_OK(unregister_shrinker(&hoard_shrinker));
    KT_MM_CHECK();
    return 0;
}

static int test_page_reclaim_drains_pcp(void)
{
    int err;

    KT_TRY(kt_boot_small(16, 2, false));
    kt_alloc_until_fail(GFP_KERNEL, 0, 8, &err);
    KT_TRY(kt_blocks_free_all());
    page_alloc_get_stats(&kt_st_a);
    unsigned long pcp = 0;

    for (unsigned int z = 0; z < MM_NR_ZONES; z++)
        pcp += kt_st_a.zone[z].nr_pcp;
    KT_ASSERT_GT(pcp, 0);
    unsigned long free_buddy0 = page_alloc_nr_free() - pcp;
    /* drained per-CPU pages are not "reclaimed": only what shrinkers give back counts */
    unsigned long r = page_reclaim(GFP_KERNEL, 1);

    page_alloc_get_stats(&kt_st_b);
    unsigned long free_buddy1 = 0;

    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        KT_ASSERT_EQ(kt_st_b.zone[z].nr_pcp, 0);
        free_buddy1 += kt_st_b.zone[z].nr_free;
    }
    KT_ASSERT_EQ(free_buddy1, free_buddy0 + pcp + r);
    KT_MM_CHECK();
    return 0;
}

static int test_shrinker_stop_and_empty(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    hoard_init();
    KT_ASSERT_OK(register_shrinker(&hoard_shrinker));
    /* count 0: nothing to scan */
    KT_ASSERT_EQ(page_reclaim(GFP_KERNEL, 8), 0);
    KT_ASSERT_EQ(hoard.scan_calls, 0);
    KT_ASSERT_GT(hoard.count_calls, 0);
    /* SHRINK_STOP is not counted as freed pages and does not loop forever */
    KT_TRY(hoard_fill(8));
    hoard.stop = true;
    KT_ASSERT_EQ(page_reclaim(GFP_KERNEL, 8), 0);
    KT_ASSERT_GT(hoard.scan_calls, 0);
    KT_ASSERT_EQ(hoard.nr, 8);
    KT_ASSERT_OK(unregister_shrinker(&hoard_shrinker));
    /* unregistered: never called again */
    unsigned int calls = hoard.count_calls + hoard.scan_calls;

    KT_ASSERT_EQ(page_reclaim(GFP_KERNEL, 8), 0);
    KT_ASSERT_EQ(hoard.count_calls + hoard.scan_calls, calls);
    KT_TRY(hoard_release());
    KT_MM_CHECK();
    return 0;
}

static int test_background_reclaim(void)
{
    int err;

    KT_TRY(kt_boot_small(16, 1, true));
    KT_ASSERT_EQ(page_reclaim_background(), 0); /* nothing woke it */
    hoard_init();
    KT_TRY(hoard_fill(48));
    kt_alloc_until_fail(GFP_KERNEL, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_GT(kt_st_a.counters.kswapd_wake, 0);
    KT_ASSERT_OK(register_shrinker(&hoard_shrinker));
    unsigned long free0 = page_alloc_nr_free();
    unsigned long r = page_reclaim_background();

    KT_ASSERT_GT(r, 0);
    KT_ASSERT_EQ(r, hoard.freed);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0 + r);
    KT_ASSERT_EQ(page_reclaim_background(), 0); /* no more progress possible */
    KT_ASSERT_OK(unregister_shrinker(&hoard_shrinker));
    KT_TRY(hoard_release());
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

/*
 * Regression (issue 14): reclaim for a GFP_KERNEL caller counted pages a shrinker freed in HIGHMEM
 * as progress and stopped after one pass. The hoard frees 32 HIGHMEM pages first (one pass's
 * worth), NORMAL ones after: a GFP_KERNEL reclaim of one page must go on to the second pass.
 */
static int test_progress_in_usable_zones(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    hoard_init();
    KT_TRY(hoard_fill(8)); /* GFP_KERNEL pages at the bottom of the hoard */
    KT_TRY(hoard_fill_high(40));
    KT_ASSERT_OK(register_shrinker(&hoard_shrinker));
    unsigned long r = page_reclaim(GFP_KERNEL, 1);

    KT_ASSERT_EQ(hoard.scan_calls, 2);
    KT_ASSERT_EQ(r, hoard.freed);
    KT_ASSERT_GT(hoard.freed, 32); /* lowmem pages too */
    KT_TRY(hoard_release());
    KT_TRY(hoard_fill(8));
    KT_TRY(hoard_fill_high(40));
    r = page_reclaim(GFP_HIGHUSER, 1); /* a caller that may use HIGHMEM: one pass is enough */
    KT_ASSERT_EQ(hoard.scan_calls, 3);
    KT_ASSERT_EQ(r, 32);
    KT_ASSERT_OK(unregister_shrinker(&hoard_shrinker));
    KT_TRY(hoard_release());
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case reclaim_cases[] = {
    KT_CASE(wmarks_ordered),
    KT_CASE(kernel_stops_at_min),
    KT_CASE(atomic_dips_below_min),
    KT_CASE(low_wmark_wakes_kswapd),
    KT_CASE(shrinker_registry),
    KT_CASE(shrinker_relieves_pressure),
    KT_CASE(page_reclaim_returns_freed),
    KT_CASE(page_reclaim_drains_pcp),
    KT_CASE(shrinker_stop_and_empty),
    KT_CASE(background_reclaim),
    KT_CASE(progress_in_usable_zones),
};
KT_SUITE(reclaim, reclaim_cases);
