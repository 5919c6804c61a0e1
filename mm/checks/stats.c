/*
 * stats.c - allocator statistics: buddyinfo, per-CPU list counts, event counters and the
 * unusable free space index.
 *
 * unusable_index(order j) = (free pages - pages in free blocks of order >= j) / free pages, in
 * thousandths: the share of free memory that cannot serve an order-j request without compaction.
 * Counters are per-CPU and summed here, so the allocation fast path never shares a cache line.
 * zone[] sums each zone type over every node; node[] has each node's own view and numastat
 * (interleave_hit: interleaved allocations that got the node they asked for).
 */
#include "../physical/phys_internal.h"

/* Unusable index of zone type @zone summed over every node (one node: that zone's own). */
unsigned int page_alloc_unusable_index(unsigned int zone, unsigned int order)
{
    if (zone >= MM_NR_ZONES || order > MM_MAX_ORDER)
        return 0;
    unsigned long total = 0, usable = 0;
    for (unsigned int nid = 0; nid < mm_nr_nodes(); nid++) {
        struct zone *z = &mm_state.phys.node[nid].zones[zone];
        unsigned long irq = env_irq_save();
        env_spin_lock(&z->lock);
        for (unsigned int o = 0; o < MM_NR_ORDERS; o++) {
            unsigned long pages = z->free_area[o].nr_free << o;
            total += pages;
            usable += o >= order ? pages : 0;
        }
        env_spin_unlock(&z->lock);
        env_irq_restore(irq);
    }
    return total ? (unsigned int)((total - usable) * 1000 / total) : 0;
}

/* Add zone @z (of node @ns) into the zone-type sum @zs and the node's stats. The span of the
 * sum is node 0's zone's, widened by every other node's zone that has memory. */
static void stats_fill_zone(struct zone_stats *zs, struct node_stats *ns, struct zone *z)
{
    unsigned long irq = env_irq_save();
    env_spin_lock(&z->lock);
    zs->name = zone_name(z->idx);
    if (z->node == 0) {
        zs->start_pfn = z->start_pfn;
        zs->end_pfn = z->end_pfn;
    } else if (z->present) {
        zs->start_pfn = zs->present ? MM_MIN(zs->start_pfn, z->start_pfn) : z->start_pfn;
        zs->end_pfn = MM_MAX(zs->end_pfn, z->end_pfn);
    }
    zs->populated |= zone_populated(z);
    zs->present += z->present;
    zs->managed += z->managed;
    zs->reserved += z->reserved;
    zs->nr_free += z->nr_free;
    for (unsigned int w = 0; w < MM_NR_WMARK; w++)
        zs->wmark[w] += z->wmark[w];
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++) {
        zs->nr_free_blocks[o] += z->free_area[o].nr_free;
        ns->nr_free_blocks[z->idx][o] = z->free_area[o].nr_free;
    }
    ns->zone_free[z->idx] = z->nr_free;
    env_spin_unlock(&z->lock);
    env_irq_restore(irq);
    unsigned long pcp = 0;
    for (unsigned int c = 0; c < MM_MAX_CPUS; c++) {
        unsigned long n = env_atomic_load(&z->pcp[c].count);
        zs->pcp_count[c] += n;
        pcp += n;
    }
    zs->nr_pcp += pcp;
    zs->nr_alloc = zs->managed - zs->nr_free - zs->nr_pcp;
    ns->present += z->present;
    ns->managed += z->managed;
    ns->zone_managed[z->idx] = z->managed;
    ns->zone_free[z->idx] += pcp;
    ns->nr_free += z->nr_free;
    ns->nr_pcp += pcp;
    ns->nr_alloc = ns->managed - ns->nr_free - ns->nr_pcp;
}

/* The unusable index of each zone type, from its summed buddyinfo. */
static void stats_fill_unusable(struct zone_stats *zs)
{
    unsigned long total = 0;
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
        total += zs->nr_free_blocks[o] << o;
    for (unsigned int j = 0; j < MM_NR_ORDERS; j++) {
        unsigned long usable = 0;
        for (unsigned int o = j; o < MM_NR_ORDERS; o++)
            usable += zs->nr_free_blocks[o] << o;
        zs->unusable_index[j] = total ? (unsigned int)((total - usable) * 1000 / total) : 0;
    }
}

static void stats_sum_counters(struct page_alloc_counters *t)
{
    for (unsigned int c = 0; c < MM_MAX_CPUS; c++) {
        const struct mm_cpu_counters *k = &mm_state.phys.cpu[c];
        for (unsigned int nid = 0; nid < MM_MAX_NUMNODES; nid++)
            t->alloc += k->node_alloc[nid];
        t->free += k->free;
        t->fail += k->fail;
        t->fail_injected += k->fail_injected;
        t->pcp_hit += k->pcp_hit;
        t->pcp_refill += k->pcp_refill;
        t->pcp_drain += k->pcp_drain;
        t->wmark_low_miss += k->wmark_low_miss;
    }
}

static void stats_sum_numa(struct page_alloc_stats *st)
{
    for (unsigned int c = 0; c < MM_MAX_CPUS; c++)
        for (unsigned int nid = 0; nid < MM_MAX_NUMNODES; nid++) {
            const struct mm_cpu_counters *k = &mm_state.phys.cpu[c];
            unsigned long *s = st->node[nid].numa;
            s[NUMA_HIT] += k->node_alloc[nid] - k->numa_miss[nid];
            s[NUMA_MISS] += k->numa_miss[nid];
            s[NUMA_FOREIGN] += k->numa_foreign[nid];
            s[NUMA_LOCAL] += k->node_alloc[nid] - k->numa_other[nid];
            s[NUMA_OTHER] += k->numa_other[nid];
            s[NUMA_INTERLEAVE_HIT] += k->interleave_hit[nid];
        }
}

static void stats_sum_reclaim(struct page_alloc_counters *t)
{
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
    st->nr_nodes = mm_nr_nodes();
    for (unsigned int nid = 0; nid < st->nr_nodes; nid++) {
        const struct mm_node *n = &mm_state.phys.node[nid];
        st->node[nid].start_pfn = n->start_pfn;
        st->node[nid].end_pfn = n->end_pfn;
        for (unsigned int i = 0; i < MM_NR_ZONES; i++)
            stats_fill_zone(&st->zone[i], &st->node[nid], &mm_state.phys.node[nid].zones[i]);
    }
    for (unsigned int i = 0; i < MM_NR_ZONES; i++)
        stats_fill_unusable(&st->zone[i]);
    stats_sum_counters(&st->counters);
    stats_sum_reclaim(&st->counters);
    stats_sum_numa(st);
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

/* A machine of several nodes: each node's buddyinfo per zone, counts and numastat. */
static void stats_show_node(int level, const struct node_stats *ns, unsigned int nid)
{
    char line[256];
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        if (!ns->zone_managed[z])
            continue;
        int n = mm_snprintf(line, sizeof(line), "Node %u, zone %8s", nid, zone_name(z));
        for (unsigned int o = 0; o < MM_NR_ORDERS && n < (int)sizeof(line); o++)
            n += mm_snprintf(line + n, sizeof(line) - (size_t)n, " %6lu",
                             ns->nr_free_blocks[z][o]);
        env_log(level, "%s\n", line);
    }
    env_log(level, "node %u: pfn [0x%lx, 0x%lx) managed %lu free %lu pcp %lu allocated %lu\n",
            nid, ns->start_pfn, ns->end_pfn, ns->managed, ns->nr_free, ns->nr_pcp, ns->nr_alloc);
    int n = mm_snprintf(line, sizeof(line), "node %u:", nid);
    for (unsigned int i = 0; i < MM_NR_NUMA_STATS && n < (int)sizeof(line); i++)
        n += mm_snprintf(line + n, sizeof(line) - (size_t)n, " %s %lu", numa_stat_name(i),
                         ns->numa[i]);
    env_log(level, "%s\n", line);
}

void page_alloc_show(int level)
{
    struct page_alloc_stats st;
    page_alloc_get_stats(&st);
    for (unsigned int i = 0; i < MM_NR_ZONES; i++)
        if (st.zone[i].populated)
            stats_show_zone(level, &st.zone[i], st.nr_cpus);
    for (unsigned int nid = 0; st.nr_nodes > 1 && nid < st.nr_nodes; nid++)
        stats_show_node(level, &st.node[nid], nid);
    const struct page_alloc_counters *k = &st.counters;
    env_log(level, "alloc %lu free %lu fail %lu (injected %lu) pcp_hit %lu refill %lu drain %lu "
            "wmark_low_miss %lu kswapd_wake %lu reclaim_runs %lu reclaimed %lu misuse %lu\n",
            k->alloc, k->free, k->fail, k->fail_injected, k->pcp_hit, k->pcp_refill, k->pcp_drain,
            k->wmark_low_miss, k->kswapd_wake, k->reclaim_runs, k->reclaimed, k->misuse);
}
