/*
 * init.c - bringing the mm up from a memory map: early allocator, struct page array, zones,
 * watermarks, per-CPU lists, and the hand-off of every free range to the buddy allocator.
 *
 * The top layer: it only calls down (physical, heap, virtual) and owns no state of its own. It
 * resets the instance (mm_state_reset: every part of mm_state at once, which is how fuzz targets
 * start each input), fills the boot parameters of each layer's part, allocates the struct page
 * array and brings the layers up bottom to top. Memory layout after mm_core_init:
 *
 *   pfn 0 ........ dma_end ........... normal_end ............ max_pfn
 *   |   ZONE_DMA    |    ZONE_NORMAL     |     ZONE_HIGHMEM       |
 *   |  node 0 ........... | node 1 ..................................|   (numa.h: each node
 *                                                     owns the zones its range meets)
 *   struct page mm_mem_map[max_pfn]: holes and reserved ranges are PG_reserved
 */
#include "../physical/phys_internal.h"
#include "../heap/slab_internal.h"
#include "mmap.h"
#include "vmalloc.h"

static int mm_validate_region(const struct mm_mem_region *r)
{
    uint64_t limit = 1ull << ARCH_PHYS_BITS;
    if (r->size == 0 || r->base + r->size < r->base || r->base + r->size > limit)
        return -MM_EINVAL;
    return 0;
}

static int mm_validate_params(const struct mm_boot_params *bp)
{
    if (!bp || !bp->map || bp->nr_map == 0)
        return -MM_EINVAL;
    if (bp->nr_cpus > MM_MAX_CPUS || (bp->nr_reserve && !bp->reserve) ||
        bp->slab_harden_level > MM_SLAB_HARDEN_OFF || bp->kfence_interval > MM_KFENCE_MAX_INTERVAL ||
        (bp->trace_mask & ~MM_TRACE_ALL))
        return -MM_EINVAL;
    phys_addr_t dma = bp->zone_dma_end ? bp->zone_dma_end : ARCH_ZONE_DMA_END;
    phys_addr_t normal = bp->zone_normal_end ? bp->zone_normal_end : ARCH_ZONE_NORMAL_END;
    if (dma > normal || !MM_IS_ALIGNED(dma, PAGE_SIZE) || !MM_IS_ALIGNED(normal, PAGE_SIZE))
        return -MM_EINVAL;
    for (unsigned int i = 0; i < bp->nr_map; i++)
        if (mm_validate_region(&bp->map[i]))
            return -MM_EINVAL;
    for (unsigned int i = 0; i < bp->nr_reserve; i++)
        if (mm_validate_region(&bp->reserve[i]))
            return -MM_EINVAL;
    if (bp->numa && mm_numa_topology_validate(bp->numa, bp->nr_cpus ? bp->nr_cpus : 1))
        return -MM_EINVAL;
    return 0;
}

/* Usable RAM, page aligned inward, minus every non-usable range (which wins on overlap). */
static int mm_build_memory(const struct mm_boot_params *bp)
{
    struct memblock_type *mem = &mm_state.phys.memblock.memory;
    for (unsigned int i = 0; i < bp->nr_map; i++) {
        const struct mm_mem_region *r = &bp->map[i];
        phys_addr_t s = MM_ALIGN_UP(r->base, PAGE_SIZE), e = MM_ALIGN_DOWN(r->base + r->size, PAGE_SIZE);
        if (r->type != MM_MEM_USABLE || s >= e)
            continue;
        int err = memblock_add_range(mem, s, e - s);
        if (err)
            return err;
    }
    for (unsigned int i = 0; i < bp->nr_map; i++) {
        const struct mm_mem_region *r = &bp->map[i];
        if (r->type == MM_MEM_USABLE)
            continue;
        phys_addr_t s = MM_ALIGN_DOWN(r->base, PAGE_SIZE), e = MM_ALIGN_UP(r->base + r->size, PAGE_SIZE);
        int err = memblock_remove_range(mem, s, e - s);
        if (err)
            return err;
    }
    return mem->cnt ? 0 : -MM_EINVAL;
}

/* The slab hardening level 0..2 the parameters ask for (mm.h: MM_SLAB_HARDEN_*). */
static unsigned int mm_slab_harden_level(const struct mm_boot_params *bp)
{
    switch (bp->slab_harden_level) {
    case MM_SLAB_HARDEN_CHEAP: return 1;
    case MM_SLAB_HARDEN_FULL: return 2;
    case MM_SLAB_HARDEN_OFF: return 0;
    default: return bp->slab_hardened ? 2 : 0;
    }
}

int mm_early_init(const struct mm_boot_params *bp)
{
    int err = mm_validate_params(bp);
    mm_state_reset();
    mm_trace_reset(err ? 0 : bp->trace_mask);
    mm_state.report.log_level = ENV_LOG_ERR;
    reclaim_reset();
    if (err)
        return err;
    mm_state.core.nr_cpus = bp->nr_cpus ? bp->nr_cpus : 1;
    mm_state.core.seed = bp->seed;
    mm_state.phys.dma_end = bp->zone_dma_end ? bp->zone_dma_end : ARCH_ZONE_DMA_END;
    mm_state.phys.normal_end = bp->zone_normal_end ? bp->zone_normal_end : ARCH_ZONE_NORMAL_END;
    mm_state.phys.pcp_disabled = bp->pcp_disable;
    numa_setup(bp->numa, mm_state.core.nr_cpus);
    memblock_reset(mm_state.phys.normal_end);
    err = mm_build_memory(bp);
    if (err) {
        memblock_reset(0); /* a failed boot leaves no half-built map behind */
        return err;
    }
    /* pfn 0 stays reserved: real-mode data on a PC, and 0 is memblock_alloc's failure value */
    err = memblock_add_range(&mm_state.phys.memblock.reserved, 0, PAGE_SIZE);
    for (unsigned int i = 0; !err && i < bp->nr_reserve; i++)
        err = memblock_add_range(&mm_state.phys.memblock.reserved, bp->reserve[i].base, bp->reserve[i].size);
    if (err) {
        memblock_reset(0);
        return err;
    }
    mm_state.heap.harden_level = mm_slab_harden_level(bp);
    mm_state.heap.hardened = mm_state.heap.harden_level > 0;
    mm_state.heap.kfence_interval = bp->kfence_interval;
    mm_state.phys.page_owner = bp->page_owner;
    mm_state.heap.slab_owner = bp->slab_owner;
    mm_state.phys.pcp_batch_param = bp->pcp_batch;
    mm_state.phys.pcp_high_param = bp->pcp_high;
    mm_state.phys.early_ready = true;
    return 0;
}

/* Node @nid's pfn range [*s, *e): from its start to the next node's (the last: max_pfn). */
static void mm_node_range(unsigned int nid, unsigned long *s, unsigned long *e)
{
    const struct mm_numa_topology *t = &mm_state.phys.numa;
    *s = nid < t->nr_nodes ? MM_MIN(MM_PFN_DOWN(t->node_start[nid]), mm_max_pfn) : mm_max_pfn;
    *e = nid + 1 < t->nr_nodes ? MM_MIN(MM_PFN_DOWN(t->node_start[nid + 1]), mm_max_pfn) : mm_max_pfn;
    *e = MM_MAX(*s, *e);
}

/* Each node's zones: the node's range cut at the zone boundaries (nodes beyond nr_nodes get
 * empty zones, so every zone of mm_state is a valid empty zone). */
static void mm_init_zone_spans(void)
{
    unsigned long bounds[MM_NR_ZONES + 1] = {
        0, MM_PFN_DOWN(mm_state.phys.dma_end), MM_PFN_DOWN(mm_state.phys.normal_end), mm_max_pfn,
    };
    for (unsigned int nid = 0; nid < MM_MAX_NUMNODES; nid++) {
        struct mm_node *n = &mm_state.phys.node[nid];
        mm_node_range(nid, &n->start_pfn, &n->end_pfn);
        for (unsigned int i = 0; i < MM_NR_ZONES; i++) {
            struct zone *z = &n->zones[i];
            z->idx = i;
            z->node = nid;
            z->start_pfn = MM_MIN(MM_MAX(bounds[i], n->start_pfn), n->end_pfn);
            z->end_pfn = MM_MAX(z->start_pfn, MM_MIN(bounds[i + 1], n->end_pfn));
            for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
                list_init(&z->free_area[o].free_list);
        }
    }
}

/* Struct pages [spfn, epfn) get @flags, their zone and node and an empty lru; present counts the
 * pfns of memory. One run per zone: no per-pfn zone or region lookup. */
static void mm_init_mem_map_span(unsigned long spfn, unsigned long epfn, uint32_t flags)
{
    struct zone *z;
    for_each_zone(z) {
        unsigned long s = MM_MAX(spfn, z->start_pfn), e = MM_MIN(epfn, z->end_pfn);
        if (s >= e)
            continue;
        for (struct page *p = &mm_mem_map[s], *end = &mm_mem_map[e]; p < end; p++) {
            p->flags = flags;
            p->zone = (uint8_t)z->idx;
            p->node = (uint8_t)z->node;
            list_init(&p->lru);
        }
        if (!(flags & PG_hole))
            z->present += e - s;
    }
}

/* Every struct page starts reserved; pfns without memory are also holes. The zones' spans
 * (mm_init_zone_spans) partition [0, mm_max_pfn); the memory regions are sorted, page aligned
 * and disjoint (memblock.c), so the array is a sequence of runs: hole, memory, hole, ...
 * Out of line: the fuzz builds' coverage ignorelist names it (bring-up loops, the same for every
 * input of a given map, whose compare hooks were most of a boot). */
static MM_NOINLINE void mm_init_mem_map(void)
{
    const struct memblock_type *mem = &mm_state.phys.memblock.memory;
    unsigned long cur = 0;
    /* one clear of the whole array, then only the fields that are not zero */
    memset(mm_mem_map, 0, mm_max_pfn * sizeof(*mm_mem_map));
    for (unsigned int r = 0; r < mem->cnt; r++) {
        unsigned long s = MM_PFN_DOWN(mem->r[r].base);
        unsigned long e = MM_MIN(MM_PFN_DOWN(mem->r[r].base + mem->r[r].size), mm_max_pfn);
        if (cur < s)
            mm_init_mem_map_span(cur, s, PG_reserved | PG_hole);
        if (MM_MAX(cur, s) < e)
            mm_init_mem_map_span(MM_MAX(cur, s), e, PG_reserved);
        cur = MM_MAX(cur, e);
    }
    if (cur < mm_max_pfn)
        mm_init_mem_map_span(cur, mm_max_pfn, PG_reserved | PG_hole);
}

static void mm_handoff_range(unsigned long spfn, unsigned long epfn)
{
    struct zone *z;
    for_each_zone(z) {
        unsigned long s = MM_MAX(spfn, z->start_pfn), e = MM_MIN(epfn, z->end_pfn);
        if (s < e)
            buddy_release_range(z, s, e);
    }
}

int mm_core_init(void)
{
    if (!mm_state.phys.early_ready || mm_state.phys.memblock_retired)
        return mm_report_misuse(MM_MISUSE_NOT_READY, -MM_EINVAL, __func__, 0, ~0ul,
                                "mm_core_init needs a successful mm_early_init first");
    unsigned long max_pfn = memblock_end_pfn();
    uint64_t map_bytes = MM_ALIGN_UP((uint64_t)max_pfn * sizeof(struct page), PAGE_SIZE);
    phys_addr_t pa = memblock_alloc(map_bytes, PAGE_SIZE);
    if (!pa)
        return -MM_ENOMEM;
    mm_mem_map = env_phys_to_virt(pa);
    mm_max_pfn = max_pfn;
    int err = slab_early_init();
    if (err)
        return err;
    mm_init_zone_spans();
    mm_init_mem_map();
    mm_state.phys.memblock_retired = true;
    memblock_for_each_free_range(mm_handoff_range);
    struct zone *z;
    for_each_zone(z)
        z->reserved = z->present - z->managed;
    numa_build_zonelists();
    zone_setup_watermarks();
    pcp_setup(mm_state.phys.pcp_batch_param, mm_state.phys.pcp_high_param);
    mm_state.phys.ready = true;
    err = slab_init();
    if (!err)
        err = vm_init();
    if (!err && !vmalloc_init() && mm_state.heap.kfence_interval && kfence_init())
        env_log(ENV_LOG_WARN, "mm: kfence pool not set up: sampling off\n");
    return err;
}

int mm_init(const struct mm_boot_params *bp)
{
    int err = mm_early_init(bp);
    return err ? err : mm_core_init();
}

bool mm_ready(void) { return mm_state.phys.ready; }
