/*
 * numa.h - NUMA topology and node-aware allocation: the machine's nodes, their memory ranges,
 * CPUs and distances (Linux's SRAT/SLIT model), and the _node variants of the allocators.
 *
 * Model:
 *   node 0          node 1           node 2 (memoryless)   node 3
 *   [start0 ...... )[start1 ....... )[start2 = start3      )[start3 ............ top)
 *   Node i owns the physical range [node_start[i], node_start[i+1]) (the last one to the top of
 *   memory): ranges are contiguous, in node order, and tile the address space, so every pfn has
 *   exactly one node and each node's zones are disjoint pfn spans (a buddy never merges across a
 *   node). A node whose range holds no usable memory is memoryless; it may still own CPUs.
 *   Each node owns its zones (DMA/NORMAL/HIGH as its range meets the zone boundaries), free lists,
 *   watermarks, per-CPU lists and statistics (struct mm_node, pg_data_t-like).
 *
 * Distances follow the ACPI SLIT: 10 (MM_NUMA_LOCAL_DISTANCE) on the diagonal, more than 10
 * elsewhere, asymmetric allowed. An all-zero matrix means 10 local, 20 remote.
 *
 * Allocation is node-local by default: the preferred node is the current CPU's. Each node has a
 * fallback list ordered by distance from it (ties by node id), and within a node by zone, highest
 * allowed zone first (Linux's node ordering); a memoryless node's list starts with its nearest
 * node with memory. numastat counters follow Linux: numa_hit (allocated on the preferred node),
 * numa_miss (allocated here, another node was preferred), numa_foreign (preferred here,
 * allocated elsewhere: counted on the preferred node), local_node / other_node (allocated here by
 * a CPU of this / another node), interleave_hit (an MPOL_INTERLEAVE allocation got the node it
 * asked for: counted on that node; mm/virtual/mempolicy.c).
 */
#ifndef LEAXOS_NUMA_H
#define LEAXOS_NUMA_H

#include "mm_common.h"
#include "page_alloc.h"

#define NUMA_NO_NODE             (-1)
#define MM_NUMA_LOCAL_DISTANCE   10
#define MM_NUMA_REMOTE_DISTANCE  20 /* the default between two nodes */
#define MM_NUMA_MAX_DISTANCE     254 /* SLIT's 255 means unreachable: refused */

/** A machine's NUMA topology (mm_boot_params.numa; NULL means one node owning everything). */
struct mm_numa_topology {
    unsigned int nr_nodes;                     /* 1 .. MM_MAX_NUMNODES */
    phys_addr_t node_start[MM_MAX_NUMNODES];   /* page aligned, [0] == 0, non-decreasing */
    uint8_t cpu_node[MM_MAX_CPUS];             /* node of each CPU (< nr_nodes) */
    uint8_t distance[MM_MAX_NUMNODES][MM_MAX_NUMNODES]; /* [from][to]; all zero: 10 / 20 */
};

/**
 * Check @t for @nr_cpus CPUs: 0, or -MM_EINVAL (no nodes or too many, node_start[0] != 0,
 * starts unaligned or decreasing, a CPU on a node that does not exist, a diagonal distance other
 * than 10, an off-diagonal one of 10 or less or above MM_NUMA_MAX_DISTANCE).
 */
int mm_numa_topology_validate(const struct mm_numa_topology *t, unsigned int nr_cpus);

/* ---- queries (valid after mm_early_init) ---- */

/** Number of nodes (1 without a topology). */
unsigned int mm_nr_nodes(void);
/** Node of CPU @cpu (0 for an unknown CPU). */
int cpu_to_node(unsigned int cpu);
/** Node of the calling CPU. */
int numa_node_id(void);
/** Distance from node @from to node @to, or 0 for a node that does not exist. */
unsigned int node_distance(int from, int to);
/** Node of @page (its struct page's node field). */
static inline int page_to_nid(const struct page *page) { return page->node; }
/** Is @nid a node of this machine that has managed memory? */
bool node_has_memory(int nid);
/** The nearest node to @nid that has memory (@nid itself when it has; 0 for a bad @nid). */
int local_memory_node(int nid);

/* ---- node-aware allocation ---- */

/**
 * Allocate 2^@order pages preferring node @nid (NUMA_NO_NODE: the calling CPU's node), falling
 * back along @nid's distance-ordered list. Returns 0 and *@out, or page_alloc_try's errors, plus
 * -MM_EINVAL (reported as misuse) for a node that is neither NUMA_NO_NODE nor a node of this
 * machine.
 */
int page_alloc_try_node(int nid, gfp_t gfp, unsigned int order, struct page **out);
/** As page_alloc_try_node, NULL on any failure (Linux's alloc_pages_node). */
struct page *alloc_pages_node(int nid, gfp_t gfp, unsigned int order);
/** As alloc_pages_node, but @nid must be a node of this machine (not NUMA_NO_NODE). */
struct page *__alloc_pages_node(int nid, gfp_t gfp, unsigned int order);

/**
 * As alloc_pages_node, but only zones of the nodes in bit mask @nodes may serve (Linux's
 * __alloc_pages with a nodemask: an MPOL_BIND allocation): @nid's fallback list, filtered.
 * NULL when those nodes have no memory left even after reclaim; a bad @nid or a mask naming no
 * node of the machine is reported as misuse (NULL).
 */
struct page *alloc_pages_nodemask(int nid, gfp_t gfp, unsigned int order, unsigned int nodes);
/** Count an interleave_hit on node @nid when @p (an interleaved allocation for @nid) is there. */
void page_alloc_count_interleave(const struct page *p, int nid);

/**
 * Node reclaim (Linux's per-node kswapd / node_reclaim): as page_reclaim, but only the NUMA-aware
 * shrinkers run (swap-out), on node @nid's pages alone (NUMA_NO_NODE: the calling CPU's nearest
 * node with memory), and progress is counted in @nid's zones. Returns the growth of @nid's free
 * pages; 0 for a bad @nid (reported as misuse). The allocator's slow path reclaims the preferred
 * node first and the whole machine only when that was not enough; background reclaim does the
 * same node by node, for each node below its high watermarks.
 */
unsigned long page_reclaim_node(int nid, gfp_t gfp, unsigned long nr_pages);

struct kmem_cache;
/**
 * An object of @c from a slab of node @nid (NUMA_NO_NODE: as kmem_cache_alloc). The object
 * comes from a slab on @nid whenever @nid has memory left for one; else from the nearest node
 * that has. NULL on failure; a bad node is reported as misuse (NULL).
 */
void *kmem_cache_alloc_node(struct kmem_cache *c, gfp_t gfp, int nid);
/** kmalloc from node @nid (as kmem_cache_alloc_node; large sizes as alloc_pages_node). */
void *kmalloc_node(size_t size, gfp_t gfp, int nid);
/** vmalloc whose pages come from node @nid (NUMA_NO_NODE: local). NULL on failure or bad node. */
void *vmalloc_node(size_t size, int nid);

/* ---- statistics (per node: page_alloc_stats.node[], page_alloc.h) ---- */

/** Name of a numastat item ("numa_hit", ...). */
const char *numa_stat_name(unsigned int item);

#endif /* LEAXOS_NUMA_H */
