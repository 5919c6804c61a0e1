/*
 * buddy.c - the binary buddy allocator: per-zone free lists of orders 0..MM_MAX_ORDER, GFP zone
 * selection with fallback, watermarks, and the checked free path.
 *
 *   free_area[o]:  head <-> [blk pfn=8 o=3] <-> [blk pfn=48 o=3] <-> ...
 *   a block of order o starts at a pfn aligned to 2^o; its buddy is pfn ^ 2^o
 *
 * Invariants (verified by mm_check): every free block is aligned to its order, lies inside one
 * zone, is on exactly one list of its order, and its buddy of the same order is not free (merging
 * is complete); the counts match the lists; free + per-CPU + allocated = managed per zone.
 *
 * Zone choice: the GFP flags give the highest zone allowed (DMA for __GFP_DMA, HIGH for
 * __GFP_HIGHMEM, NORMAL otherwise); the allocator walks the preferred node's zonelist (numa.c:
 * nearest node first, each node's zones high to low), skipping zones above that one, each zone
 * behind its watermark plus the lowmem reserve that protects lower zones from fallbacks. The
 * preferred node is the calling CPU's, or the one alloc_pages_node names; numastat counts where
 * the pages came from against it.
 *
 * Locking: zone->lock protects the zone's free lists, their counts and nr_free, and the PG_buddy
 * state and order of every free block head (a page becomes or stops being PG_buddy only under
 * it). The counts are written with atomic stores because the watermark checks read them without
 * the lock. zone->lock is the innermost lock of the mm but for report.lock: it is taken under
 * vm.lock, vmalloc.lock, heap.lock, cache locks and shrink_lock, and nothing is allocated,
 * reclaimed or called on another CPU while it is held. Per-CPU lists and counters: pcp.c.
 * A page's refcount is atomic; the last __free_pages is ordered after every holder's use.
 */
#include "phys_internal.h"

#define NODES_ALL (~0u) /* every node may serve (no bind policy) */

static const char *const zone_names[MM_NR_ZONES] = { "DMA", "Normal", "HighMem" };

const char *zone_name(unsigned int zone)
{
    return zone < MM_NR_ZONES ? zone_names[zone] : "?";
}

enum alloc_flags {
    ALLOC_WMARK_MIN = WMARK_MIN,
    ALLOC_WMARK_LOW = WMARK_LOW,
    ALLOC_WMARK_MASK = 3,
    ALLOC_HIGH = 4,    /* __GFP_HIGH: may use half of the min reserve */
    ALLOC_HARDER = 8,  /* __GFP_ATOMIC: may use a further quarter */
};

/* ---- buddy core (zone lock held) ---- */

static void buddy_list_add(struct zone *z, struct page *p, unsigned int order)
{
    p->flags = PG_buddy;
    p->order = (uint8_t)order;
    list_add(&p->lru, &z->free_area[order].free_list);
    /* nr_free: written under the zone lock, read without it by zone_watermark_ok */
    env_atomic_store(&z->free_area[order].nr_free, z->free_area[order].nr_free + 1);
}

static void buddy_list_del(struct zone *z, struct page *p, unsigned int order)
{
    list_del(&p->lru);
    env_atomic_store(&z->free_area[order].nr_free, z->free_area[order].nr_free - 1);
    p->flags = 0;
    p->order = 0;
}

/*
 * Is @b the head of a free block of @order (zone lock held)? A deliberate racy read: @b may be
 * allocated or on a per-CPU list, and its owner writes flags and order without the zone lock. But
 * a page becomes and stops being PG_buddy only under the zone lock, which we hold, and no owner
 * ever writes PG_buddy: a read that sees PG_buddy sees a free block whose order is stable, any
 * other value means "not free" whatever it is.
 */
static MM_DATA_RACE bool buddy_is_free_head(const struct page *b, unsigned int order)
{
    return *(const volatile uint32_t *)&b->flags == PG_buddy &&
           *(const volatile uint8_t *)&b->order == order;
}

/** Put the block [pfn, pfn + 2^order) on the free lists, merging with free buddies. */
void buddy_free_block_locked(struct zone *z, unsigned long pfn, unsigned int order)
{
    /* zone->nr_free: written under the zone lock, read without it by the watermark checks */
    env_atomic_store(&z->nr_free, z->nr_free + (1ul << order));
    while (order < MM_MAX_ORDER) {
        unsigned long bpfn = pfn ^ (1ul << order);
        if (bpfn < z->start_pfn || bpfn >= z->end_pfn)
            break;
        struct page *b = pfn_to_page(bpfn);
        if (!buddy_is_free_head(b, order))
            break;
        if (MM_PLANTED_BUG == 1 && order == 3 && env_cpu_id() == 1) /* test-only: skip a merge */
            break;
        buddy_list_del(z, b, order);
        pfn &= ~(1ul << order);
        order++;
    }
    buddy_list_add(z, pfn_to_page(pfn), order);
}

/** Take a block of exactly @order, splitting a larger one; NULL if none. Flags of the result are 0. */
struct page *buddy_take_block_locked(struct zone *z, unsigned int order)
{
    for (unsigned int o = order; o <= MM_MAX_ORDER; o++) {
        struct free_area *area = &z->free_area[o];
        if (list_empty(&area->free_list))
            continue;
        struct page *p = list_entry(area->free_list.next, struct page, lru);
        buddy_list_del(z, p, o);
        while (o > order) { /* give back the upper halves */
            o--;
            buddy_list_add(z, p + (1ul << o), o);
        }
        env_atomic_store(&z->nr_free, z->nr_free - (1ul << order));
        return p;
    }
    return NULL;
}

/** Boot hand-off: free [spfn, epfn) of zone @z in maximal aligned blocks. */
MM_NOINLINE void buddy_release_range(struct zone *z, unsigned long spfn, unsigned long epfn)
{
    while (spfn < epfn) {
        unsigned int order = MM_MAX_ORDER;
        if (spfn)
            order = MM_MIN(order, (unsigned int)__builtin_ctzl(spfn));
        order = MM_MIN(order, mm_ilog2(epfn - spfn));
        unsigned long n = 1ul << order;
        for (unsigned long i = 0; i < n; i++)
            pfn_to_page(spfn + i)->flags = 0;
        env_poison(env_phys_to_virt(MM_PFN_PHYS(spfn)), n << PAGE_SHIFT, ENV_POISON_FREE_PAGE);
        z->managed += n;
        buddy_free_block_locked(z, spfn, order);
        spfn += n;
    }
}

/* ---- watermarks ---- */

static void zone_set_marks(struct zone *z, unsigned long min)
{
    min = MM_MAX(min, 1ul);
    z->wmark[WMARK_MIN] = min;
    z->wmark[WMARK_LOW] = min + MM_MAX(min / 4, 1ul);
    z->wmark[WMARK_HIGH] = min + MM_MAX(min / 2, 2ul);
}

/*
 * min_free = sqrt(16 * lowmem KiB) KiB (as Linux's min_free_kbytes), at most 1/8 of lowmem, split
 * between DMA and NORMAL by size; HIGH gets a small fixed reserve. low = min * 5/4, high = min * 3/2.
 * lowmem_reserve keeps 1/256 (DMA) or 1/32 (NORMAL) of the higher zones' size back from fallbacks.
 */
void zone_setup_watermarks(void)
{
    struct zone *z;
    unsigned long lowmem = 0;
    for_each_zone(z)
        if (z->idx != ZONE_HIGHMEM)
            lowmem += z->managed;
    unsigned long min_kb = (unsigned long)mm_isqrt((uint64_t)lowmem * (PAGE_SIZE / 1024) * 16);
    unsigned long min_pages = MM_MIN(min_kb / (PAGE_SIZE / 1024), lowmem / 8);
    for_each_zone(z) {
        if (!zone_populated(z))
            continue;
        unsigned long min = z->idx == ZONE_HIGHMEM
                                ? MM_MIN(MM_MAX(z->managed / 1024, 32ul), 128ul)
                                : (lowmem ? min_pages * z->managed / lowmem : 0);
        zone_set_marks(z, MM_MIN(min, z->managed / 8));
    }
    static const unsigned long ratio[MM_NR_ZONES] = { 256, 32, 1 };
    for (unsigned int nid = 0; nid < mm_nr_nodes(); nid++) { /* each node protects its own */
        struct zone *zs = mm_state.phys.node[nid].zones;
        for (unsigned int i = 0; i < MM_NR_ZONES; i++) {
            unsigned long above = 0;
            for (unsigned int j = i + 1; j < MM_NR_ZONES; j++) {
                above += zs[j].managed;
                zs[i].lowmem_reserve[j] = above / ratio[i];
            }
        }
    }
}

/* Would taking 2^order pages keep @z above @mark (adjusted by alloc_flags) plus the reserve? */
static bool zone_watermark_ok(const struct zone *z, unsigned int order, unsigned int alloc_flags,
                              unsigned int high_idx)
{
    long mark = (long)z->wmark[alloc_flags & ALLOC_WMARK_MASK];
    long free = (long)env_atomic_load(&z->nr_free) - (long)((1ul << order) - 1);
    if (alloc_flags & ALLOC_HIGH)
        mark -= mark / 2;
    if (alloc_flags & ALLOC_HARDER)
        mark -= mark / 4;
    if (free <= mark + (long)z->lowmem_reserve[high_idx])
        return false;
    if (order == 0)
        return true; /* free > mark >= 0, so some block exists */
    for (unsigned int o = order; o <= MM_MAX_ORDER; o++)
        if (env_atomic_load(&z->free_area[o].nr_free))
            return true;
    return false;
}

static struct page *zone_take(struct zone *z, unsigned int order, unsigned int cpu)
{
    if (order == 0 && !mm_state.phys.pcp_disabled)
        return pcp_alloc_page(z, cpu);
    env_spin_lock(&z->lock);
    struct page *p = buddy_take_block_locked(z, order);
    env_spin_unlock(&z->lock);
    return p;
}

static void alloc_record_decision(unsigned int cpu, const struct zone *z, unsigned int order,
                                  unsigned long free, unsigned int pref)
{
    struct page_alloc_decision *d = &mm_state.phys.cpu[cpu].last;
    d->seq++;
    d->zone = z->idx;
    d->order = order;
    d->nr_free = free;
    d->node = z->node;
    d->preferred = pref;
}

void page_alloc_last_decision(unsigned int cpu, struct page_alloc_decision *d)
{
    *d = cpu < MM_MAX_CPUS ? mm_state.phys.cpu[cpu].last : (struct page_alloc_decision){ 0 };
}

unsigned int gfp_high_zone(gfp_t gfp)
{
    if (gfp & __GFP_DMA)
        return ZONE_DMA;
    return (gfp & __GFP_HIGHMEM) ? ZONE_HIGHMEM : ZONE_NORMAL;
}

/* Count one allocation from node @got that preferred @pref, by a CPU of node @local (core.h:
 * hits and local allocations are derived, so the common case is one increment). */
static void numa_count(struct mm_cpu_counters *k, unsigned int got, unsigned int pref,
                       unsigned int local)
{
    k->node_alloc[got]++;
    if (mm_unlikely(got != pref)) {
        k->numa_miss[got]++;
        k->numa_foreign[pref]++;
    }
    if (mm_unlikely(got != local))
        k->numa_other[got]++;
}

/* @nid: the preferred node, or NUMA_NO_NODE for the calling CPU's; @nodes: the nodes whose
 * zones may serve (a bit per node; NODES_ALL for any). */
static struct page *alloc_from_zones(gfp_t gfp, unsigned int order, unsigned int alloc_flags,
                                     int nid, unsigned int nodes)
{
    unsigned int high = gfp_high_zone(gfp);
    unsigned long irq = env_irq_save();
    unsigned int cpu = env_cpu_id();
    unsigned int local = mm_state.phys.numa.cpu_node[cpu];
    unsigned int pref = nid < 0 ? local : (unsigned int)nid;
    struct page *p = NULL;
    struct zone *const *zl = mm_state.phys.node[pref].zonelist[high], *z;
    for (; !p && (z = *zl) != NULL; zl++) {
        if (mm_unlikely(!(nodes >> z->node & 1)))
            continue; /* a bind policy's nodes only */
        if (!zone_watermark_ok(z, order, alloc_flags, high)) {
            if ((alloc_flags & ALLOC_WMARK_MASK) == ALLOC_WMARK_LOW)
                mm_state.phys.cpu[cpu].wmark_low_miss++;
            continue;
        }
        unsigned long free = env_atomic_load(&z->nr_free); /* for the decision record */
        p = zone_take(z, order, cpu);
        if (p)
            alloc_record_decision(cpu, z, order, free, pref);
    }
    if (p)
        numa_count(&mm_state.phys.cpu[cpu], p->node, pref, local);
    env_irq_restore(irq);
    return p;
}

/* Below the low watermark everywhere: wake background reclaim, use the min reserve, drain the
 * per-CPU lists, and reclaim directly if the caller may. */
static MM_NOINLINE struct page *alloc_slowpath(gfp_t gfp, unsigned int order, int nid,
                                               unsigned int nodes)
{
    unsigned int alloc_flags = ALLOC_WMARK_MIN;
    if (gfp & __GFP_HIGH)
        alloc_flags |= ALLOC_HIGH;
    if (gfp & __GFP_ATOMIC)
        alloc_flags |= ALLOC_HARDER;
    if ((gfp & __GFP_KSWAPD_RECLAIM) && !env_atomic_load(&mm_state.phys.kswapd_pending)) {
        env_atomic_store(&mm_state.phys.kswapd_pending, true);
        env_atomic_add(&mm_state.phys.kswapd_wake, 1);
        env_atomic_add(&mm_state.phys.node[nid < 0 ? numa_node_id() : nid].reclaim_wake, 1);
    }
    struct page *p = alloc_from_zones(gfp, order, alloc_flags, nid, nodes);
    if (p)
        return p;
    drain_all_pages();
    p = alloc_from_zones(gfp, order, alloc_flags, nid, nodes);
    if (p || !(gfp & __GFP_DIRECT_RECLAIM) || reclaim_running_here())
        return p;
    /* the preferred node's own pages first (a node under its watermarks reclaims from its own
     * LRU), the whole machine when that was not enough */
    if (mm_nr_nodes() > 1 && page_reclaim_node(nid, gfp, 1ul << order))
        p = alloc_from_zones(gfp, order, alloc_flags, nid, nodes);
    if (!p && page_reclaim(gfp, 1ul << order))
        p = alloc_from_zones(gfp, order, alloc_flags, nid, nodes);
    return p;
}

/* ---- public allocation ---- */

static MM_NOINLINE int alloc_reject(gfp_t gfp, unsigned int order)
{
    if (!mm_state.phys.ready)
        return mm_report_misuse(MM_MISUSE_NOT_READY, -MM_EINVAL, "alloc_pages", 0, ~0ul,
                                "page allocator not initialised");
    if (order > MM_MAX_ORDER)
        return mm_report_misuse(MM_MISUSE_BAD_ORDER, -MM_EINVAL, "alloc_pages", order, ~0ul,
                                "order %u > MM_MAX_ORDER (%u)", order, MM_MAX_ORDER);
    return mm_report_misuse(MM_MISUSE_BAD_FLAGS, -MM_EINVAL, "alloc_pages", gfp, ~0ul,
                            "gfp 0x%x: %s", gfp,
                            (gfp & ~__GFP_VALID_MASK) ? "unknown bits" : "__GFP_DMA with __GFP_HIGHMEM");
}

/* Returns true if failure injection eats this allocation. */
static MM_NOINLINE bool alloc_fail_injected(void)
{
    if (mm_state.phys.fail_skip) {
        mm_state.phys.fail_skip--;
        return false;
    }
    mm_state.phys.fail_count--;
    return true;
}

/* Bump this CPU's event counter @field. */
#define cpu_count(field)                                 \
    do {                                                 \
        unsigned long irq_ = env_irq_save();             \
        mm_state.phys.cpu[env_cpu_id()].field++;              \
        env_irq_restore(irq_);                           \
    } while (0)

static void prep_new_page(struct page *p, unsigned int order, gfp_t gfp, uintptr_t site)
{
    p->flags = PG_head;
    p->order = (uint8_t)order;
    p->refcount = 1;
    p->mapcount = 0;
    p->private_data = 0;
    p->alloc_site = site;
    if (mm_unlikely(mm_state.phys.page_owner))
        p->alloc_seq = env_atomic_add(&mm_state.core.alloc_seq, 1);
    if (env_shadow_enabled)
        env_unpoison(page_address(p), (size_t)PAGE_SIZE << order);
    if (gfp & __GFP_ZERO)
        memset(page_address(p), 0, (size_t)PAGE_SIZE << order);
}

static int page_alloc_site_mask(gfp_t gfp, unsigned int order, struct page **out, uintptr_t site,
                                int nid, unsigned int nodes)
{
    if (mm_unlikely(!mm_state.phys.ready || order > MM_MAX_ORDER || (gfp & ~__GFP_VALID_MASK) ||
                    (gfp & (__GFP_DMA | __GFP_HIGHMEM)) == (__GFP_DMA | __GFP_HIGHMEM)))
        return alloc_reject(gfp, order);
    if (mm_unlikely(gfp & __GFP_THISNODE))
        nodes &= 1u << (nid < 0 ? local_memory_node(numa_node_id()) : nid);
    if (mm_unlikely(mm_state.phys.fail_count) && alloc_fail_injected()) {
        cpu_count(fail_injected);
        cpu_count(fail);
        mm_trace(MM_TRACE_PAGE_ALLOC, ~0ull, order, gfp, -MM_ENOMEM);
        return -MM_ENOMEM;
    }
    struct page *p = alloc_from_zones(gfp, order, ALLOC_WMARK_LOW, nid, nodes);
    if (mm_unlikely(!p))
        p = alloc_slowpath(gfp, order, nid, nodes);
    if (mm_unlikely(!p)) {
        cpu_count(fail);
        if (!(gfp & __GFP_NOWARN))
            env_log(ENV_LOG_INFO, "mm: page allocation failure: order %u gfp 0x%x\n", order, gfp);
        mm_trace(MM_TRACE_PAGE_ALLOC, ~0ull, order, gfp, -MM_ENOMEM);
        return -MM_ENOMEM;
    }
    prep_new_page(p, order, gfp, site);
    mm_trace(MM_TRACE_PAGE_ALLOC, page_to_pfn(p), order, gfp, 0);
    *out = p;
    return 0;
}

static int page_alloc_site(gfp_t gfp, unsigned int order, struct page **out, uintptr_t site,
                           int nid)
{
    return page_alloc_site_mask(gfp, order, out, site, nid, NODES_ALL);
}

int page_alloc_try(gfp_t gfp, unsigned int order, struct page **out)
{
    if (mm_unlikely(!out))
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, 0, ~0ul,
                                "NULL result pointer");
    return page_alloc_site(gfp, order, out, (uintptr_t)__builtin_return_address(0),
                           NUMA_NO_NODE);
}

struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
    struct page *p = NULL;
    page_alloc_site(gfp, order, &p, (uintptr_t)__builtin_return_address(0), NUMA_NO_NODE);
    return p;
}

/* ---- node-aware allocation (numa.h) ---- */

static bool node_valid(int nid) { return nid >= 0 && (unsigned int)nid < mm_nr_nodes(); }

int page_alloc_try_node(int nid, gfp_t gfp, unsigned int order, struct page **out)
{
    if (mm_unlikely(!out))
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, 0, ~0ul,
                                "NULL result pointer");
    if (mm_unlikely(nid != NUMA_NO_NODE && !node_valid(nid)))
        return numa_check_node(nid, __func__);
    return page_alloc_site(gfp, order, out, (uintptr_t)__builtin_return_address(0), nid);
}

struct page *alloc_pages_node(int nid, gfp_t gfp, unsigned int order)
{
    struct page *p = NULL;
    if (mm_unlikely(nid != NUMA_NO_NODE && !node_valid(nid)))
        numa_check_node(nid, __func__);
    else
        page_alloc_site(gfp, order, &p, (uintptr_t)__builtin_return_address(0), nid);
    return p;
}

struct page *__alloc_pages_node(int nid, gfp_t gfp, unsigned int order)
{
    struct page *p = NULL;
    if (mm_unlikely(!node_valid(nid)))
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, (uintptr_t)(long)nid, ~0ul,
                         "node %d: not a node of this machine (%u nodes; NUMA_NO_NODE is for "
                         "alloc_pages_node)", nid, mm_nr_nodes());
    else
        page_alloc_site(gfp, order, &p, (uintptr_t)__builtin_return_address(0), nid);
    return p;
}

struct page *alloc_pages_nodemask(int nid, gfp_t gfp, unsigned int order, unsigned int nodes)
{
    struct page *p = NULL;
    if (mm_unlikely(nid != NUMA_NO_NODE && !node_valid(nid)))
        numa_check_node(nid, __func__);
    else if (mm_unlikely(!(nodes & ((1u << mm_nr_nodes()) - 1))))
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, nodes, ~0ul,
                         "node mask 0x%x names no node of this machine", nodes);
    else
        page_alloc_site_mask(gfp, order, &p, (uintptr_t)__builtin_return_address(0), nid, nodes);
    return p;
}

void page_alloc_count_interleave(const struct page *p, int nid)
{
    if (!p || !node_valid(nid) || page_to_nid(p) != nid)
        return;
    unsigned long irq = env_irq_save();
    mm_state.phys.cpu[env_cpu_id()].interleave_hit[nid]++;
    env_irq_restore(irq);
}

uintptr_t __get_free_pages(gfp_t gfp, unsigned int order)
{
    struct page *p = NULL;
    if (page_alloc_site(gfp, order, &p, (uintptr_t)__builtin_return_address(0), NUMA_NO_NODE))
        return 0;
    return (uintptr_t)page_address(p);
}

uintptr_t get_zeroed_page(gfp_t gfp)
{
    struct page *p = NULL;
    if (page_alloc_site(gfp | __GFP_ZERO, 0, &p, (uintptr_t)__builtin_return_address(0),
                        NUMA_NO_NODE))
        return 0;
    return (uintptr_t)page_address(p);
}

void page_alloc_fail_inject(unsigned long skip, unsigned long count)
{
    mm_state.phys.fail_skip = count ? skip : 0;
    mm_state.phys.fail_count = count;
}

/* ---- free ---- */

/* Find the block that contains the stateless page @pfn: returns its head or NULL. */
static struct page *page_enclosing_block(unsigned long pfn)
{
    for (unsigned int k = 1; k <= MM_MAX_ORDER; k++) {
        struct page *h = pfn_to_page(pfn & ~((1ul << k) - 1));
        if ((h->flags & (PG_buddy | PG_head)) && h->order >= k)
            return h;
    }
    return NULL;
}

/* Classify a free that failed the fast checks; reports it and returns the error. */
static MM_NOINLINE int free_reject(struct page *p, unsigned int order)
{
    const char *fn = "__free_pages";
    if (!page_pointer_valid(p))
        return mm_report_misuse(MM_MISUSE_BAD_ADDRESS, -MM_EFAULT, fn, (uintptr_t)p, ~0ul,
                                "%p is not a struct page of this machine", (void *)p);
    unsigned long pfn = page_to_pfn(p);
    if (order > MM_MAX_ORDER)
        return mm_report_misuse(MM_MISUSE_BAD_ORDER, -MM_EINVAL, fn, (uintptr_t)p, pfn,
                                "order %u > MM_MAX_ORDER", order);
    if (p->flags & PG_reserved)
        return mm_report_misuse(MM_MISUSE_NOT_ALLOCATED, -MM_EINVAL, fn, (uintptr_t)p, pfn,
                                "pfn 0x%lx is reserved%s", pfn, (p->flags & PG_hole) ? " (hole)" : "");
    if (p->flags & (PG_buddy | PG_pcp))
        return mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, fn, (uintptr_t)p, pfn,
                                "pfn 0x%lx is already free (%s, order %u)", pfn,
                                (p->flags & PG_pcp) ? "per-CPU list" : "buddy free list", p->order);
    if ((p->flags & PG_head) && (p->flags & PG_OWNER_MASK))
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, fn, (uintptr_t)p, pfn,
                                "pfn 0x%lx belongs to %s; its owner must release it", pfn,
                                (p->flags & PG_slab) ? "a slab cache" :
                                (p->flags & PG_large) ? "a large kmalloc" :
                                (p->flags & PG_pgtable) ? "a page table" : "a file's page cache");
    if (p->flags & PG_head) {
        if (p->order != order)
            return mm_report_misuse(MM_MISUSE_WRONG_ORDER, -MM_EINVAL, fn, (uintptr_t)p, pfn,
                                    "pfn 0x%lx allocated with order %u, freed with order %u",
                                    pfn, p->order, order);
        if (page_vmap_count(p))
            return mm_report_misuse(MM_MISUSE_STILL_MAPPED, -MM_EBUSY, fn, (uintptr_t)p, pfn,
                                    "pfn 0x%lx: refcount %d, mapcount %d, but %u vmap PTEs still "
                                    "map the block (vunmap first)", pfn, (int)p->refcount,
                                    (int)p->mapcount, page_vmap_count(p));
        if (p->mapcount > 0 && p->refcount > 0)
            return mm_report_misuse(MM_MISUSE_STILL_MAPPED, -MM_EBUSY, fn, (uintptr_t)p, pfn,
                                    "pfn 0x%lx: refcount %d, but %d user PTEs still map it (each "
                                    "holds a reference; unmap first)", pfn, (int)p->refcount,
                                    (int)p->mapcount);
        return mm_report_misuse(MM_MISUSE_BAD_REFCOUNT, -MM_EINVAL, fn, (uintptr_t)p, pfn,
                                "pfn 0x%lx refcount %d", pfn, (int)p->refcount);
    }
    struct page *h = page_enclosing_block(pfn);
    if (h && (h->flags & PG_head))
        return mm_report_misuse(MM_MISUSE_NOT_HEAD, -MM_EINVAL, fn, (uintptr_t)p, pfn,
                                "pfn 0x%lx is a tail of the order-%u block at pfn 0x%lx", pfn,
                                h->order, page_to_pfn(h));
    return mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, fn, (uintptr_t)p, pfn,
                            "pfn 0x%lx is already free (inside free block at pfn 0x%lx order %u)",
                            pfn, h ? page_to_pfn(h) : pfn, h ? h->order : 0);
}

static void free_block(struct page *p, unsigned int order)
{
    mm_trace(MM_TRACE_PAGE_FREE, page_to_pfn(p), order);
    struct zone *z = page_zone(p);
    p->flags = 0;
    p->order = 0;
    if (env_shadow_enabled)
        env_poison(page_address(p), (size_t)PAGE_SIZE << order, ENV_POISON_FREE_PAGE);
    unsigned long irq = env_irq_save();
    unsigned int cpu = env_cpu_id();
    mm_state.phys.cpu[cpu].free++;
    if (order == 0 && !mm_state.phys.pcp_disabled) {
        pcp_free_page(z, p, cpu);
    } else {
        env_spin_lock(&z->lock);
        buddy_free_block_locked(z, page_to_pfn(p), order);
        env_spin_unlock(&z->lock);
    }
    env_irq_restore(irq);
}

/*
 * A put of a block that vmap maps (its head carries the vmap mark, so the fast path sent it
 * here) that leaves a reference besides the mappings' own: dropped here. True if it was one;
 * false leaves everything as it was (the caller reports why).
 */
static MM_NOINLINE bool free_put_vmapped(struct page *p, unsigned int order)
{
    if (!page_pointer_valid(p) || (p->flags & ~PG_VMAP_MASK) != PG_head || !page_vmap_count(p) ||
        p->order != order)
        return false;
    int32_t ref = env_atomic_load(&p->refcount);
    while (ref > MM_MAX(p->mapcount, 0) + 1)
        if (env_atomic_cmpxchg(&p->refcount, &ref, ref - 1))
            return true;
    return false;
}

/*
 * A page that user PTEs map (mapcount > 0) holds one reference per PTE: a put that would leave
 * fewer references than mappings is a free of a still-mapped page, refused like Linux's bad-page
 * check refuses a nonzero mapcount. A block that vmap maps (page_vmap_count) holds no reference
 * of vmap's, so the put that would free it is refused the same way.
 */
int __free_pages(struct page *p, unsigned int order)
{
    if (mm_unlikely(!page_pointer_valid(p) || p->flags != PG_head || p->order != order ||
                    env_atomic_load(&p->refcount) <= MM_MAX(p->mapcount, 0)))
        return free_put_vmapped(p, order) ? 0 : free_reject(p, order);
    /*
     * Drop our reference; the last one frees. Other CPUs may hold references (get_page), so the
     * drop is a release (our use of the page, these checks included, before the free) and the
     * final one an acquire (every other holder's use before the free): Linux's put_page is fully
     * ordered for the same reason. The stress found the relaxed version racing with the free.
     * The sole owner (1, read with acquire) may skip the read-modify-write: nobody else can take
     * a reference.
     */
    if (env_atomic_load_acquire(&p->refcount) != 1 && env_atomic_sub_acq_rel(&p->refcount, 1) != 0)
        return 0;
    p->refcount = 0;
    free_block(p, order);
    return 0;
}

int free_pages(uintptr_t addr, unsigned int order)
{
    if (addr == 0)
        return 0;
    phys_addr_t pa = env_virt_to_phys((const void *)addr);
    if (!MM_IS_ALIGNED(addr, PAGE_SIZE) || pa == MM_PHYS_INVALID || !pfn_valid(MM_PFN_DOWN(pa)))
        return mm_report_misuse(MM_MISUSE_BAD_ADDRESS, -MM_EFAULT, __func__, addr, ~0ul,
                                "0x%lx is not a page of managed memory", (unsigned long)addr);
    return __free_pages(pfn_to_page(MM_PFN_DOWN(pa)), order);
}

void get_page(struct page *p)
{
    if (!page_pointer_valid(p) || (p->flags & ~(PG_OWNER_MASK | PG_VMAP_MASK)) != PG_head ||
        env_atomic_load(&p->refcount) <= 0) {
        mm_report_misuse(MM_MISUSE_BAD_REFCOUNT, -MM_EINVAL, __func__, (uintptr_t)p,
                         page_pointer_valid(p) ? page_to_pfn(p) : ~0ul,
                         "get_page on a page that is not an allocated block head");
        return;
    }
    env_atomic_add(&p->refcount, 1);
}

/* ---- address conversions ---- */

bool page_pointer_valid(const struct page *p)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)mm_mem_map;
    return mm_mem_map && off < mm_max_pfn * sizeof(struct page) && off % sizeof(struct page) == 0;
}

void *page_address(const struct page *p)
{
    return env_phys_to_virt(page_to_phys(p));
}

struct page *virt_to_page(const void *addr)
{
    phys_addr_t pa = env_virt_to_phys(addr);
    if (pa == MM_PHYS_INVALID || !pfn_valid(MM_PFN_DOWN(pa)))
        return NULL;
    return pfn_to_page(MM_PFN_DOWN(pa));
}
