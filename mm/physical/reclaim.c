/*
 * reclaim.c - giving memory back under pressure: the shrinker registry, direct reclaim and the
 * background (kswapd-style) pass.
 *
 *   shrinkers:  head <-> [slab caches] <-> [page cache] <-> [swap] ...   (registration order)
 *
 * An allocation that finds every zone below its low watermark wakes background reclaim
 * (mm_state.phys.kswapd_pending); one that may sleep (__GFP_DIRECT_RECLAIM) reclaims directly before
 * failing. Reclaim never nests: allocations made by shrinkers do not re-enter it
 * (mm_state.phys.reclaim_depth, per CPU: each CPU's reclaim is its own, as PF_MEMALLOC is a
 * task's in Linux). The registry list is protected by shrink_lock; callbacks run with it held, so
 * they must not register or unregister shrinkers, and they come after every lock that an
 * allocating caller may hold: a shrinker that needs such a lock only tries it (swap_lru.c).
 * Two CPUs may reclaim at once; their shrinker passes take turns on shrink_lock.
 * kswapd_pending is set by any allocating CPU and cleared by background reclaim: atomic.
 */
#include "phys_internal.h"

#define RECLAIM_MAX_PASSES 4

void reclaim_reset(void)
{
    list_init(&mm_state.phys.shrinkers);
}

void shrinker_init(struct shrinker *s, const char *name,
                   unsigned long (*count)(struct shrinker *, struct shrink_control *),
                   unsigned long (*scan)(struct shrinker *, struct shrink_control *), bool numa_aware)
{
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->count_objects = count;
    s->scan_objects = scan;
    s->numa_aware = numa_aware;
}

int register_shrinker(struct shrinker *s)
{
    if (!s || !s->count_objects || !s->scan_objects)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, (uintptr_t)s, ~0ul,
                                "shrinker or its callbacks missing");
    env_spin_lock(&mm_state.phys.shrink_lock);
    int err = s->registered ? -MM_EEXIST : 0;
    if (!err) {
        list_add_tail(&s->list, &mm_state.phys.shrinkers);
        s->registered = true;
    }
    env_spin_unlock(&mm_state.phys.shrink_lock);
    return err;
}

int unregister_shrinker(struct shrinker *s)
{
    if (!s)
        return -MM_ENOENT;
    env_spin_lock(&mm_state.phys.shrink_lock);
    bool found = false;
    struct list_head *pos;
    list_for_each(pos, &mm_state.phys.shrinkers)
        found |= pos == &s->list;
    if (found) {
        list_del(&s->list);
        s->registered = false;
    }
    env_spin_unlock(&mm_state.phys.shrink_lock);
    return found ? 0 : -MM_ENOENT;
}

/* Free pages (buddy + per-CPU) in zones 0..@high of node @nid (NUMA_NO_NODE: every node). */
static unsigned long reclaim_nr_free_node(unsigned int high, int nid)
{
    unsigned long n = 0;
    struct zone *z;
    for_each_zone(z) { /* every node's zones 0..high */
        if (z->idx > high || (nid >= 0 && z->node != (unsigned int)nid))
            continue;
        n += env_atomic_load(&z->nr_free);
        for (unsigned int c = 0; c < mm_state.core.nr_cpus; c++)
            n += env_atomic_load(&z->pcp[c].count);
    }
    return n;
}

unsigned long page_alloc_nr_free(void) { return reclaim_nr_free_node(MM_NR_ZONES - 1, NUMA_NO_NODE); }

/* Free pages in the zones an allocation with @gfp may use (of node @nid, or all). */
static unsigned long reclaim_nr_free_usable(gfp_t gfp, int nid)
{
    return reclaim_nr_free_node(gfp_high_zone(gfp), nid);
}

/* One pass over the registry (node @nid's objects only, by the NUMA-aware shrinkers, when
 * @nid >= 0); returns true if any shrinker freed something. */
static bool reclaim_shrink_pass(gfp_t gfp, unsigned long nr_pages, int nid)
{
    bool progress = false;
    struct list_head *pos;
    env_spin_lock(&mm_state.phys.shrink_lock);
    list_for_each(pos, &mm_state.phys.shrinkers) {
        struct shrinker *s = list_entry(pos, struct shrinker, list);
        struct shrink_control sc = { .gfp_mask = gfp, .node_only = nid >= 0, .nid = nid };
        if (nid >= 0 && !s->numa_aware)
            continue;
        unsigned long count = s->count_objects(s, &sc);
        if (!count || count == SHRINK_STOP)
            continue;
        sc.nr_to_scan = MM_MIN(count, MM_MAX(nr_pages, 32ul));
        unsigned long freed = s->scan_objects(s, &sc);
        if (freed && freed != SHRINK_STOP)
            progress = true;
    }
    env_spin_unlock(&mm_state.phys.shrink_lock);
    return progress;
}

bool reclaim_running_here(void)
{
    return mm_state.phys.reclaim_depth[env_cpu_id()] != 0;
}

/* page_reclaim on node @nid's memory alone, or (NUMA_NO_NODE) the whole machine's. */
static unsigned long reclaim_run(gfp_t gfp, unsigned long nr_pages, int nid)
{
    if (!mm_state.phys.ready || reclaim_running_here())
        return 0;
    unsigned int cpu = env_cpu_id();
    mm_state.phys.reclaim_depth[cpu]++;
    env_atomic_add(&mm_state.phys.reclaim_runs, 1);
    drain_all_pages();
    unsigned long before = reclaim_nr_free_node(MM_NR_ZONES - 1, nid), now = before;
    /* progress is counted in the zones @gfp may use: pages a shrinker frees in a higher zone
     * (swap-out of user pages in HIGHMEM) do not end a GFP_KERNEL caller's reclaim early */
    unsigned long usable0 = reclaim_nr_free_usable(gfp, nid), usable = usable0;
    for (unsigned int pass = 0; pass < RECLAIM_MAX_PASSES; pass++) {
        if (!reclaim_shrink_pass(gfp, nr_pages - MM_MIN(nr_pages, usable - MM_MIN(usable, usable0)),
                                 nid))
            break;
        now = reclaim_nr_free_node(MM_NR_ZONES - 1, nid);
        usable = reclaim_nr_free_usable(gfp, nid);
        if (usable >= usable0 + nr_pages)
            break;
    }
    drain_all_pages(); /* what the shrinkers freed onto per-CPU lists counts for watermarks */
    mm_state.phys.reclaim_depth[cpu]--;
    unsigned long freed = now > before ? now - before : 0;
    env_atomic_add(&mm_state.phys.reclaimed, freed);
    mm_trace(MM_TRACE_RECLAIM, gfp, nr_pages, freed);
    return freed;
}

unsigned long page_reclaim(gfp_t gfp, unsigned long nr_pages)
{
    return reclaim_run(gfp, nr_pages, NUMA_NO_NODE);
}

unsigned long page_reclaim_node(int nid, gfp_t gfp, unsigned long nr_pages)
{
    if (numa_check_node(nid, __func__))
        return 0;
    return reclaim_run(gfp, nr_pages, nid < 0 ? local_memory_node(numa_node_id()) : nid);
}

/* Background reclaim of a machine of several nodes: each node below its high watermarks gives
 * back its own deficit first; returns the pages freed and in *@want the total deficit. */
static unsigned long reclaim_background_nodes(unsigned long *want)
{
    unsigned long freed = 0;
    *want = 0;
    for (unsigned int n = 0; n < mm_nr_nodes(); n++) {
        unsigned long need = 0;
        for (unsigned int t = 0; t < MM_NR_ZONES; t++) {
            struct zone *z = &mm_state.phys.node[n].zones[t];
            unsigned long free = env_atomic_load(&z->nr_free);
            if (zone_populated(z) && free < z->wmark[WMARK_HIGH])
                need += z->wmark[WMARK_HIGH] - free;
        }
        *want += need;
        if (need)
            freed += reclaim_run(GFP_KERNEL, need, (int)n);
    }
    return freed;
}

unsigned long page_reclaim_background(void)
{
    if (!mm_state.phys.ready || !env_atomic_load(&mm_state.phys.kswapd_pending))
        return 0;
    unsigned long want = 0, freed = 0;
    if (mm_nr_nodes() > 1) {
        freed = reclaim_background_nodes(&want); /* each node's own pages first */
        want = want > freed ? want - freed : 0;
    } else {
        struct zone *z;
        for_each_zone(z) {
            unsigned long free = env_atomic_load(&z->nr_free); /* the zone lock's; an estimate */
            if (zone_populated(z) && free < z->wmark[WMARK_HIGH])
                want += z->wmark[WMARK_HIGH] - free;
        }
    }
    freed += want ? page_reclaim(GFP_KERNEL, want) : 0;
    env_atomic_store(&mm_state.phys.kswapd_pending, false);
    return freed;
}
