/*
 * stats.c - allocator statistics: buddyinfo, per-CPU list counts, event counters and the
 * unusable free space index.
 *
 * unusable_index(order j) = (free pages - pages in free blocks of order >= j) / free pages, in
 * thousandths: the share of free memory that cannot serve an order-j request without compaction.
 * Counters are per-CPU and summed here, so the allocation fast path never shares a cache line.
 */
#include "../physical/phys_internal.h"

static unsigned int zone_unusable_index(const struct zone *z, unsigned int order)
{
    unsigned long total = 0, usable = 0;
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++) {
        unsigned long pages = z->free_area[o].nr_free << o;
        total += pages;
        if (o >= order)
            usable += pages;
    }
    return total ? (unsigned int)((total - usable) * 1000 / total) : 0;
}

unsigned int page_alloc_unusable_index(unsigned int zone, unsigned int order)
{
    if (zone >= MM_NR_ZONES || order > MM_MAX_ORDER)
        return 0;
    struct zone *z = &mm_state.phys.zones[zone];
    unsigned long irq = env_irq_save();
    env_spin_lock(&z->lock);
    unsigned int idx = zone_unusable_index(z, order);
    env_spin_unlock(&z->lock);
    env_irq_restore(irq);
    return idx;
}

static void stats_fill_zone(struct zone_stats *zs, struct zone *z)
{
    unsigned long irq = env_irq_save();
    env_spin_lock(&z->lock);
    zs->name = zone_name(z->idx);
    zs->populated = zone_populated(z);
    zs->start_pfn = z->start_pfn;
    zs->end_pfn = z->end_pfn;
    zs->present = z->present;
    zs->managed = z->managed;
    zs->reserved = z->reserved;
    zs->nr_free = z->nr_free;
    for (unsigned int w = 0; w < MM_NR_WMARK; w++)
        zs->wmark[w] = z->wmark[w];
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++) {
        zs->nr_free_blocks[o] = z->free_area[o].nr_free;
        zs->unusable_index[o] = zone_unusable_index(z, o);
    }
    env_spin_unlock(&z->lock);
    env_irq_restore(irq);
    zs->nr_pcp = 0;
    for (unsigned int c = 0; c < MM_MAX_CPUS; c++) {
        zs->pcp_count[c] = env_atomic_load(&z->pcp[c].count);
        zs->nr_pcp += zs->pcp_count[c];
    }
    zs->nr_alloc = zs->managed - zs->nr_free - zs->nr_pcp;
}

static void stats_sum_counters(struct page_alloc_counters *t)
{
    for (unsigned int c = 0; c < MM_MAX_CPUS; c++) {
        const struct mm_cpu_counters *k = &mm_state.phys.cpu[c];
        t->alloc += k->alloc;
        t->free += k->free;
        t->fail += k->fail;
        t->fail_injected += k->fail_injected;
        t->pcp_hit += k->pcp_hit;
        t->pcp_refill += k->pcp_refill;
        t->pcp_drain += k->pcp_drain;
        t->wmark_low_miss += k->wmark_low_miss;
    }
    t->kswapd_wake = mm_state.phys.kswapd_wake;
    t->reclaim_runs = mm_state.phys.reclaim_runs;
    t->reclaimed = mm_state.phys.reclaimed;
    t->misuse = mm_misuse_count();
}

void page_alloc_get_stats(struct page_alloc_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof(*st));
    st->nr_cpus = mm_state.core.nr_cpus;
    for (unsigned int i = 0; i < MM_NR_ZONES; i++)
        stats_fill_zone(&st->zone[i], &mm_state.phys.zones[i]);
    stats_sum_counters(&st->counters);
}

static void stats_show_zone(int level, const struct zone_stats *zs, unsigned int nr_cpus)
{
    char line[256];
    int n = mm_snprintf(line, sizeof(line), "Node 0, zone %8s", zs->name);
    for (unsigned int o = 0; o < MM_NR_ORDERS && n < (int)sizeof(line); o++)
        n += mm_snprintf(line + n, sizeof(line) - (size_t)n, " %6lu", zs->nr_free_blocks[o]);
    env_log(level, "%s\n", line);
    env_log(level, "  managed %lu free %lu pcp %lu allocated %lu reserved %lu "
            "wmark min %lu low %lu high %lu\n", zs->managed, zs->nr_free, zs->nr_pcp,
            zs->nr_alloc, zs->reserved, zs->wmark[WMARK_MIN], zs->wmark[WMARK_LOW],
            zs->wmark[WMARK_HIGH]);
    n = mm_snprintf(line, sizeof(line), "  pcp per cpu:");
    for (unsigned int c = 0; c < nr_cpus && n < (int)sizeof(line); c++)
        n += mm_snprintf(line + n, sizeof(line) - (size_t)n, " %lu", zs->pcp_count[c]);
    env_log(level, "%s\n", line);
    n = mm_snprintf(line, sizeof(line), "  unusable index:");
    for (unsigned int o = 0; o < MM_NR_ORDERS && n < (int)sizeof(line); o++)
        n += mm_snprintf(line + n, sizeof(line) - (size_t)n, " %u.%03u",
                         zs->unusable_index[o] / 1000, zs->unusable_index[o] % 1000);
    env_log(level, "%s\n", line);
}

void page_alloc_show(int level)
{
    struct page_alloc_stats st;
    page_alloc_get_stats(&st);
    for (unsigned int i = 0; i < MM_NR_ZONES; i++)
        if (st.zone[i].populated)
            stats_show_zone(level, &st.zone[i], st.nr_cpus);
    const struct page_alloc_counters *k = &st.counters;
    env_log(level, "alloc %lu free %lu fail %lu (injected %lu) pcp_hit %lu refill %lu drain %lu "
            "wmark_low_miss %lu kswapd_wake %lu reclaim_runs %lu reclaimed %lu misuse %lu\n",
            k->alloc, k->free, k->fail, k->fail_injected, k->pcp_hit, k->pcp_refill, k->pcp_drain,
            k->wmark_low_miss, k->kswapd_wake, k->reclaim_runs, k->reclaimed, k->misuse);
}
