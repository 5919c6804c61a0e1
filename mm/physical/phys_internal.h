/*
 * phys_internal.h - what the files of mm/physical share, and what the layers above (init, checks)
 * may call of it beyond the public page_alloc.h. Not public.
 *
 * Owns the declarations of the early allocator (memblock.c), the buddy core (buddy.c), the
 * per-CPU lists (pcp.c) and the reclaim registry (reclaim.c). Their state is mm_state.phys
 * (types and locks in ../lib/core.h).
 */
#ifndef LEAXOS_MM_PHYS_INTERNAL_H
#define LEAXOS_MM_PHYS_INTERNAL_H

#include "../lib/core.h"

/* memblock.c */
void memblock_reset(phys_addr_t limit);
int memblock_add_range(struct memblock_type *t, phys_addr_t base, uint64_t size);
int memblock_remove_range(struct memblock_type *t, phys_addr_t base, uint64_t size);
/** Call fn(start_pfn, end_pfn) for every whole free page range (memory minus reserved). */
void memblock_for_each_free_range(void (*fn)(unsigned long spfn, unsigned long epfn));
/** Highest pfn + 1 of usable memory. */
unsigned long memblock_end_pfn(void);
/** True if pfn lies in a usable memory region. */
bool memblock_is_memory_pfn(unsigned long pfn);

/* buddy.c */
void buddy_free_block_locked(struct zone *z, unsigned long pfn, unsigned int order);
struct page *buddy_take_block_locked(struct zone *z, unsigned int order);
void buddy_release_range(struct zone *z, unsigned long spfn, unsigned long epfn);
void zone_setup_watermarks(void);

/* pcp.c */
void pcp_setup(unsigned int batch, unsigned int high);
struct page *pcp_alloc_page(struct zone *z, unsigned int cpu);
void pcp_free_page(struct zone *z, struct page *page, unsigned int cpu);
void pcp_drain_cpu(unsigned int cpu);

/** buddy.c: the highest zone an allocation with @gfp may use (it falls back to the lower ones). */
unsigned int gfp_high_zone(gfp_t gfp);

/* reclaim.c */
void reclaim_reset(void);
/** Is reclaim running on this CPU (an allocation inside it must not start another)? */
bool reclaim_running_here(void);

static inline struct zone *page_zone(const struct page *p)
{
    return &mm_state.phys.node[p->node].zones[p->zone];
}

/* Every zone of every node, as one index 0 .. phys_nr_zone_slots() - 1 (node-major). */
static inline unsigned int phys_nr_zone_slots(void)
{
    return (mm_state.phys.nr_nodes ? mm_state.phys.nr_nodes : 1) * MM_NR_ZONES;
}

static inline struct zone *phys_zone_slot(unsigned int i)
{
    return &mm_state.phys.node[i / MM_NR_ZONES].zones[i % MM_NR_ZONES];
}

#define for_each_zone(z) \
    for (unsigned int zi_ = 0; zi_ < phys_nr_zone_slots() && ((z) = phys_zone_slot(zi_)); zi_++)

/* numa.c */
/** Copy the boot topology (defaults filled in); called by mm_early_init after validation. */
void numa_setup(const struct mm_numa_topology *t, unsigned int nr_cpus);
/** Node that owns physical page @pfn according to the topology. */
unsigned int numa_pfn_node(unsigned long pfn);
/** Build every node's distance order and zonelist (after the zones are populated). */
void numa_build_zonelists(void);
/** 0 if @nid is NUMA_NO_NODE or a node of the machine; else reported as misuse of @func
 * (MM_MISUSE_BAD_ARGUMENT) and -MM_EINVAL. For the _node APIs of every layer. */
int numa_check_node(int nid, const char *func);

static inline bool zone_populated(const struct zone *z) { return z->managed != 0; }

#endif /* LEAXOS_MM_PHYS_INTERNAL_H */
