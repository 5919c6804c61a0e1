/*
 * test_pcp.c - suite "pcp": per-CPU order-0 page lists. Frees land on the current CPU's list,
 * allocations hit it, cross-CPU frees are fine, local and global drains, draining under pressure,
 * batch/high limits, and pcp_disable.
 */
#include "kt_util.h"

static unsigned long pcp_of(const struct page_alloc_stats *st, unsigned int cpu)
{
    unsigned long n = 0;

    for (unsigned int z = 0; z < MM_NR_ZONES; z++)
        n += st->zone[z].pcp_count[cpu];
    return n;
}

static int test_free_lands_on_current_cpu(void)
{
    KT_TRY(kt_boot_small(16, 2, false));
    for (unsigned int cpu = 0; cpu < 2; cpu++) {
        machine_cpu_set(cpu);
        KT_ASSERT_EQ(machine_cpu_get(), cpu);
        struct page *p = alloc_page(GFP_KERNEL);

        KT_ASSERT_NOT_NULL(p);
        const unsigned int z = p->zone;

        page_alloc_get_stats(&kt_st_a);
        KT_ASSERT_OK(__free_page(p));
        page_alloc_get_stats(&kt_st_b);
        KT_ASSERT(p->flags & PG_pcp);
        KT_ASSERT(!(p->flags & (PG_head | PG_buddy)));
        KT_ASSERT_EQ(p->cpu, cpu);
        KT_ASSERT_EQ(kt_st_b.zone[z].pcp_count[cpu], kt_st_a.zone[z].pcp_count[cpu] + 1);
        KT_ASSERT_EQ(kt_st_b.zone[z].pcp_count[1 - cpu], kt_st_a.zone[z].pcp_count[1 - cpu]);
        KT_ASSERT_EQ(kt_st_b.zone[z].nr_pcp, kt_st_a.zone[z].nr_pcp + 1);
        KT_ASSERT_EQ(kt_st_b.zone[z].nr_free, kt_st_a.zone[z].nr_free);
        KT_TRY(kt_conservation());
    }
    /* a HIGH page goes to the HIGH zone's list */
    machine_cpu_set(1);
    struct page *h = alloc_page(GFP_HIGHUSER);

    KT_ASSERT_NOT_NULL(h);
    KT_ASSERT_EQ(h->zone, ZONE_HIGHMEM);
    KT_ASSERT_OK(__free_page(h));
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_GT(kt_st_a.zone[ZONE_HIGHMEM].pcp_count[1], 0);
    machine_cpu_set(0);
    KT_MM_CHECK();
    return 0;
}

static int test_pcp_hit_counter(void)
{
    KT_TRY(kt_boot_small(16, 2, false));
    struct page *p = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_GE(kt_st_a.counters.pcp_refill, 1);
    KT_ASSERT_OK(__free_page(p));
    for (unsigned int i = 0; i < 5; i++) {
        page_alloc_get_stats(&kt_st_a);
        p = alloc_page(GFP_KERNEL);
        KT_ASSERT_NOT_NULL(p);
        page_alloc_get_stats(&kt_st_b);
        KT_ASSERT_EQ(kt_st_b.counters.pcp_hit, kt_st_a.counters.pcp_hit + 1);
        KT_ASSERT_EQ(kt_st_b.counters.alloc, kt_st_a.counters.alloc + 1);
        KT_ASSERT_OK(__free_page(p));
    }
    /* higher orders never touch the lists */
    page_alloc_get_stats(&kt_st_a);
    p = alloc_pages(GFP_KERNEL, 1);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_pages(p, 1));
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_EQ(kt_st_b.counters.pcp_hit, kt_st_a.counters.pcp_hit);
    KT_ASSERT_EQ(pcp_of(&kt_st_b, 0), pcp_of(&kt_st_a, 0));
    KT_MM_CHECK();
    return 0;
}

/* A 16 MiB machine whose per-CPU lists hold up to 64 pages before draining. */
static int boot_roomy_pcp(unsigned int mib)
{
    machine_small(&kt_m, KT_MIB(mib), 2);
    kt_m.pcp_batch = 8;
    kt_m.pcp_high = 64;
    return kt_boot_current();
}

static int test_cross_cpu_free(void)
{
    int err;

    KT_TRY(boot_roomy_pcp(16));
    kt_alloc_until_fail(GFP_KERNEL, 0, 16, &err);
    KT_ASSERT_OK(err);
    machine_cpu_set(1);
    page_alloc_get_stats(&kt_st_a);
    for (unsigned int i = 0; i < kt_nr_blocks; i++) {
        KT_ASSERT_OK(__free_page(kt_blocks[i].page));
        KT_ASSERT(kt_blocks[i].page->flags & PG_pcp);
        KT_ASSERT_EQ(kt_blocks[i].page->cpu, 1);
    }
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_EQ(pcp_of(&kt_st_b, 1), pcp_of(&kt_st_a, 1) + kt_nr_blocks);
    KT_ASSERT_EQ(pcp_of(&kt_st_b, 0), pcp_of(&kt_st_a, 0));
    kt_blocks_reset();
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    /* and CPU 1 can hand them out again */
    struct page *p = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_page(p));
    machine_cpu_set(0);
    KT_MM_CHECK();
    return 0;
}

static int fill_lists(unsigned int cpu, unsigned int n)
{
    int err;

    machine_cpu_set(cpu);
    kt_blocks_reset();
    kt_alloc_until_fail(GFP_KERNEL, 0, n, &err);
    KT_ASSERT_OK(err);
    KT_TRY(kt_blocks_free_all());
    return 0;
}

static int test_drain_local_and_all(void)
{
    KT_TRY(kt_boot_small(16, 2, false));
    KT_TRY(fill_lists(0, 6));
    KT_TRY(fill_lists(1, 6));
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_GT(pcp_of(&kt_st_a, 0), 0);
    KT_ASSERT_GT(pcp_of(&kt_st_a, 1), 0);
    unsigned long free0 = page_alloc_nr_free();

    machine_cpu_set(1);
    drain_local_pages();
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_EQ(pcp_of(&kt_st_b, 1), 0);
    KT_ASSERT_EQ(pcp_of(&kt_st_b, 0), pcp_of(&kt_st_a, 0));
    for (unsigned int z = 0; z < MM_NR_ZONES; z++)
        KT_ASSERT_EQ(kt_st_b.zone[z].pcp_count[0], kt_st_a.zone[z].pcp_count[0]);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0);
    KT_ASSERT_GE(kt_st_b.counters.pcp_drain, kt_st_a.counters.pcp_drain);
    KT_TRY(kt_conservation());
    KT_MM_CHECK();

    drain_all_pages();
    KT_ASSERT_EQ(machine_cpu_get(), 1); /* the caller's CPU is unchanged */
    page_alloc_get_stats(&kt_st_b);
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        KT_ASSERT_EQ(kt_st_b.zone[z].nr_pcp, 0);
        for (unsigned int c = 0; c < MM_MAX_CPUS; c++)
            KT_ASSERT_EQ(kt_st_b.zone[z].pcp_count[c], 0);
    }
    KT_ASSERT_EQ(page_alloc_nr_free(), free0);
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++)
        KT_ASSERT(!(pfn_to_page(pfn)->flags & PG_pcp));
    machine_cpu_set(0);
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    return 0;
}

static int test_pressure_drains_other_cpu(void)
{
    int err;
    struct page *p = NULL;

    KT_TRY(boot_roomy_pcp(8));
    machine_cpu_set(0);
    kt_alloc_until_fail(GFP_KERNEL, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    /* Park 8 pages on CPU 1's list. */
    machine_cpu_set(1);
    for (unsigned int i = 0; i < 8; i++)
        KT_ASSERT_OK(__free_page(kt_blocks[--kt_nr_blocks].page));
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_GT(pcp_of(&kt_st_a, 1), 0);
    /* CPU 0 finds nothing in the buddy lists above the watermark but succeeds by draining. */
    machine_cpu_set(0);
    KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, 0, &p));
    KT_ASSERT_OK(kt_blocks_push(p, 0));
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_LT(pcp_of(&kt_st_b, 1), pcp_of(&kt_st_a, 1));
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_batch_and_high_limits(void)
{
    int err;

    machine_small(&kt_m, KT_MIB(16), 2);
    kt_m.pcp_batch = 4;
    kt_m.pcp_high = 12;
    KT_TRY(kt_boot_current());
    page_alloc_get_stats(&kt_st_b);
    struct page *p = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    page_alloc_get_stats(&kt_st_a);
    /* one refill of a batch, one page handed out */
    KT_ASSERT_EQ(kt_st_a.counters.pcp_refill, kt_st_b.counters.pcp_refill + 1);
    KT_ASSERT_EQ(kt_st_a.zone[p->zone].pcp_count[0], 3);
    KT_ASSERT_OK(__free_page(p));
    kt_alloc_until_fail(GFP_KERNEL, 0, 64, &err);
    KT_ASSERT_OK(err);
    for (unsigned int i = 0; i < kt_nr_blocks; i++) {
        KT_ASSERT_OK(__free_page(kt_blocks[i].page));
        page_alloc_get_stats(&kt_st_b);
        for (unsigned int z = 0; z < MM_NR_ZONES; z++)
            KT_ASSERT_LE(kt_st_b.zone[z].pcp_count[0], 12);
    }
    kt_blocks_reset();
    KT_ASSERT_GT(kt_st_b.counters.pcp_drain, 0);
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    return 0;
}

static int test_pcp_disabled(void)
{
    int err;

    KT_TRY(kt_boot_small(16, 2, true));
    for (unsigned int cpu = 0; cpu < 2; cpu++) {
        machine_cpu_set(cpu);
        kt_alloc_until_fail(GFP_KERNEL, 0, 32, &err);
        KT_ASSERT_OK(err);
        kt_alloc_until_fail(GFP_HIGHUSER, 0, 32, &err);
        KT_ASSERT_OK(err);
        for (unsigned int i = 0; i < kt_nr_blocks; i++) {
            struct page *q = kt_blocks[i].page;

            machine_cpu_set(i & 1);
            KT_ASSERT_OK(__free_page(q));
            KT_ASSERT(!(q->flags & (PG_pcp | PG_head)));
        }
        kt_blocks_reset();
    }
    machine_cpu_set(0);
    page_alloc_get_stats(&kt_st_a);
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        KT_ASSERT_EQ(kt_st_a.zone[z].nr_pcp, 0);
        for (unsigned int c = 0; c < MM_MAX_CPUS; c++)
            KT_ASSERT_EQ(kt_st_a.zone[z].pcp_count[c], 0);
    }
    KT_ASSERT_EQ(kt_st_a.counters.pcp_hit, 0);
    KT_ASSERT_EQ(kt_st_a.counters.pcp_refill, 0);
    drain_all_pages(); /* harmless */
    drain_local_pages();
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case pcp_cases[] = {
    KT_CASE(free_lands_on_current_cpu),
    KT_CASE(pcp_hit_counter),
    KT_CASE(cross_cpu_free),
    KT_CASE(drain_local_and_all),
    KT_CASE(pressure_drains_other_cpu),
    KT_CASE(batch_and_high_limits),
    KT_CASE(pcp_disabled),
};
KT_SUITE(pcp, pcp_cases);
