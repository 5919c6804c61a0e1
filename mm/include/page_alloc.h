/*
 * page_alloc.h - the physical page allocator: struct page, zones, GFP flags, buddy allocation,
 * per-CPU page lists, watermarks, reclaim (shrinker registry) and allocator statistics.
 *
 * Memory model: one flat array of struct page covers pfn 0 .. max_pfn-1 (holes included, marked
 * reserved). Every physical page is in exactly one state:
 *
 *   reserved   PG_reserved: hole, firmware range or early-allocator (memblock) allocation
 *   free       head of a free buddy block (PG_buddy, order = block order); its tail pages carry no
 *              state flag
 *   pcp        order-0 free page cached on one CPU's per-CPU list (PG_pcp, cpu = owner)
 *   allocated  head of an allocated block (PG_head, order, refcount >= 1); tails carry no flag
 *              (the head's flags may also carry owner bits and the vmap mark, PG_VMAP_MASK)
 *
 * Zones: DMA [0, dma_end), NORMAL [dma_end, normal_end), HIGH [normal_end, max). GFP_DMA allocates
 * only from DMA; GFP_KERNEL tries NORMAL then DMA (never HIGH); __GFP_HIGHMEM (user pages) tries
 * HIGH, NORMAL, DMA.
 */
#ifndef LEAXOS_PAGE_ALLOC_H
#define LEAXOS_PAGE_ALLOC_H

#include "mm_common.h"

/* ---- struct page ---- */

enum page_flag_bits {
    PG_reserved = 1u << 0, /* not managed by the buddy allocator */
    PG_buddy    = 1u << 1, /* head of a free buddy block */
    PG_pcp      = 1u << 2, /* free order-0 page on a per-CPU list */
    PG_head     = 1u << 3, /* head of an allocated block */
    PG_hole     = 1u << 4, /* no memory behind this pfn (with PG_reserved) */
    PG_checked  = 1u << 5, /* scratch mark used only while mm_check() runs */
    PG_slab     = 1u << 6, /* with PG_head: the block is a slab of a kmem_cache */
    PG_large    = 1u << 7, /* with PG_head: the block is a large kmalloc allocation */
    PG_frozen   = 1u << 8, /* with PG_slab: the slab is a CPU's active slab (cpu = owner) */
    PG_pgtable  = 1u << 9, /* with PG_head: a page-table page (private_data = used entries) */
    PG_cache    = 1u << 10, /* with PG_head: a page-cache page of an mm_file */
};

/** Owner bits that may accompany PG_head on an allocated block. */
#define PG_OWNER_MASK (PG_slab | PG_large | PG_frozen | PG_pgtable | PG_cache)

/*
 * The vmap mark: flags bits 24-31 of an allocated block's head count the vmap PTEs that map
 * pages of the block (head or tails; a page vmapped twice counts twice). vmalloc.c owns them:
 * vmap adds one per page it maps, vunmap takes it back (atomic updates, under the vmalloc lock);
 * at most PG_VMAP_MAX, beyond which vmap refuses the page. While the count is not 0 the flags
 * are not PG_head alone, so __free_pages leaves its fast path, and a put that would free the
 * block is refused (MM_MISUSE_STILL_MAPPED). mm_check's vmalloc.vmap_mark compares the counts
 * with the vmap areas' PTEs both ways. Not a reference: as with Linux's vmap, the caller keeps
 * its own until vunmap.
 */
#define PG_VMAP_SHIFT 24
#define PG_VMAP_ONE   (1u << PG_VMAP_SHIFT)
#define PG_VMAP_MASK  (0xffu << PG_VMAP_SHIFT)
#define PG_VMAP_MAX   0xffu

struct page {
    uint32_t flags;         /* PG_* */
    uint8_t order;          /* block order of a PG_buddy or PG_head page */
    uint8_t zone;           /* enum zone_type */
    uint8_t node;           /* NUMA node id */
    union {
        uint8_t cpu;        /* owning CPU while PG_pcp */
        uint8_t last_nid;   /* mapped anonymous page: node of its last NUMA hinting fault,
                               MM_NUMA_NO_LAST before the first (virtual/numa_balance.c) */
    };
    int32_t refcount;       /* users of an allocated block; 0 when free */
    union {
        int32_t mapcount;   /* user page-table mappings (virtual memory layer) */
        struct {            /* PG_slab: */
            uint16_t inuse;   /* objects not on a freelist (valid while not frozen) */
            uint16_t colour;  /* byte offset of the first object (cache colouring) */
        };
    };
    struct list_head lru;   /* free list / per-CPU list / owner's list (slab: partial list) */
    union {
        struct {
            uintptr_t private_data; /* owner's data (swap entry, large kmalloc size, ...) */
            uintptr_t alloc_site;   /* return address of the allocating call, for leak reports */
        };
        struct {                    /* PG_slab: */
            struct kmem_cache *slab_cache;
            void *freelist;         /* free objects not owned by a CPU (remote frees) */
        };
    };
    struct anon_vma *anon_vma;  /* mapped anonymous page: its reverse map (virtual/rmap.c) */
    unsigned long alloc_seq;    /* block head, page_owner on: mm_state.core.alloc_seq stamp at
                                   allocation, for ages in operations (mm_leak.h); else 0 */
};
/** page->last_nid of an anonymous page no NUMA hinting fault has touched yet. */
#define MM_NUMA_NO_LAST 0xffu
MM_STATIC_ASSERT(sizeof(struct page) <= 64, "struct page must stay within 64 bytes");

/** vmap PTEs that map pages of the block headed by @head (0 for anything but a marked head). */
static inline unsigned int page_vmap_count(const struct page *head)
{
    return (head->flags & PG_VMAP_MASK) >> PG_VMAP_SHIFT;
}

/* ---- zones ---- */

enum zone_type { ZONE_DMA, ZONE_NORMAL, ZONE_HIGHMEM, MM_NR_ZONES };

/** Most NUMA nodes a machine may have (numa.h). */
#define MM_MAX_NUMNODES 4

enum zone_watermark { WMARK_MIN, WMARK_LOW, WMARK_HIGH, MM_NR_WMARK };

/** Name of a zone ("DMA", "Normal", "HighMem"). */
const char *zone_name(unsigned int zone);

/* ---- GFP flags ---- */

#define __GFP_DMA             0x0001u /* only ZONE_DMA */
#define __GFP_HIGHMEM         0x0002u /* prefer ZONE_HIGHMEM, fall back to NORMAL and DMA */
#define __GFP_HIGH            0x0004u /* high priority: may use half of the min reserve */
#define __GFP_ATOMIC          0x0008u /* cannot sleep: no direct reclaim, may dip further */
#define __GFP_DIRECT_RECLAIM  0x0010u /* may run reclaim synchronously */
#define __GFP_KSWAPD_RECLAIM  0x0020u /* may wake background reclaim */
#define __GFP_ZERO            0x0040u /* return zeroed memory */
#define __GFP_NOWARN          0x0080u /* do not log allocation failure */
#define __GFP_THISNODE        0x0200u /* only the preferred node (the one named, else the calling
                                          CPU's nearest with memory): fail rather than fall back
                                          to another node; KFENCE does not sample it */
#define __GFP_VALID_MASK      0x02ffu /* (0x0100 stays invalid: the misuse corpus uses it) */

#define GFP_KERNEL      (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
#define GFP_ATOMIC      (__GFP_HIGH | __GFP_ATOMIC | __GFP_KSWAPD_RECLAIM)
#define GFP_NOWAIT      (__GFP_KSWAPD_RECLAIM)
#define GFP_DMA         (__GFP_DMA)
#define GFP_USER        (GFP_KERNEL)
#define GFP_HIGHUSER    (GFP_USER | __GFP_HIGHMEM)

/* ---- allocation and free ---- */

/**
 * Allocate 2^@order contiguous pages. Returns 0 and sets *@out, or:
 *   -MM_EINVAL  order > MM_MAX_ORDER, unknown or contradictory gfp bits, allocator not ready
 *               (reported as misuse)
 *   -MM_ENOMEM  no zone allowed by @gfp can satisfy the request above its watermark, even after
 *               draining per-CPU lists and reclaim (or failure injection)
 */
int page_alloc_try(gfp_t gfp, unsigned int order, struct page **out);

/** As page_alloc_try, returning NULL on any failure. */
struct page *alloc_pages(gfp_t gfp, unsigned int order);
#define alloc_page(gfp) alloc_pages((gfp), 0)

/**
 * Drop a reference to the block headed by @page; free it when the count reaches zero.
 * Returns 0, or (reported as misuse, nothing changed):
 *   -MM_EFAULT  @page is not a struct page of this machine
 *   -MM_EINVAL  order > MM_MAX_ORDER, the page is free already (double free), reserved, not the
 *               head of an allocated block, or @order differs from the allocation's order
 *   -MM_EBUSY   user PTEs still map the page and this put would leave fewer references than
 *               mappings (MM_MISUSE_STILL_MAPPED; each mapping holds a reference), or vmap
 *               still maps a page of the block and this put would free it (MM_MISUSE_STILL_MAPPED;
 *               vunmap first)
 */
int __free_pages(struct page *page, unsigned int order);
#define __free_page(p) __free_pages((p), 0)

/** Allocate and return the direct-map address, or 0. */
uintptr_t __get_free_pages(gfp_t gfp, unsigned int order);
uintptr_t get_zeroed_page(gfp_t gfp);

/**
 * Free by direct-map address. Returns as __free_pages, plus -MM_EFAULT for an address that is not
 * page aligned or not in the direct map of managed memory. free_pages(0, order) is a no-op.
 */
int free_pages(uintptr_t addr, unsigned int order);
#define free_page(addr) free_pages((addr), 0)

/** Take an extra reference on an allocated block head. */
void get_page(struct page *page);

/* ---- page <-> pfn <-> address ---- */

extern struct page *mm_mem_map;      /* the struct page array, pfn-indexed */
extern unsigned long mm_max_pfn;     /* one past the highest pfn with a struct page */

static inline unsigned long page_to_pfn(const struct page *p) { return (unsigned long)(p - mm_mem_map); }
static inline struct page *pfn_to_page(unsigned long pfn) { return mm_mem_map + pfn; }
static inline bool pfn_valid(unsigned long pfn) { return pfn < mm_max_pfn; }
static inline phys_addr_t page_to_phys(const struct page *p) { return MM_PFN_PHYS(page_to_pfn(p)); }

/** Direct-map address of @page. */
void *page_address(const struct page *page);
/** struct page of direct-map address @addr, or NULL if @addr is not managed memory. */
struct page *virt_to_page(const void *addr);
/** True if @p points at an element of the struct page array. */
bool page_pointer_valid(const struct page *p);

/* ---- per-CPU lists ---- */

/** Return this CPU's per-CPU pages of every zone to the buddy allocator. */
void drain_local_pages(void);
/** Return every CPU's per-CPU pages to the buddy allocator (cross-CPU calls). */
void drain_all_pages(void);

/* ---- reclaim ---- */

struct shrink_control {
    gfp_t gfp_mask;
    bool node_only;            /* node reclaim: only objects on node @nid (numa_aware shrinkers) */
    int nid;
    unsigned long nr_to_scan;  /* objects to scan in this call */
    unsigned long nr_scanned;  /* set by scan_objects if it scanned a different number */
};

#define SHRINK_STOP (~0ul)

/**
 * A cache that can give memory back. count_objects returns how many objects it could free now;
 * scan_objects frees up to sc->nr_to_scan of them and returns the number freed, or SHRINK_STOP.
 * Callbacks must not register or unregister shrinkers.
 */
struct shrinker {
    const char *name;
    unsigned long (*count_objects)(struct shrinker *s, struct shrink_control *sc);
    unsigned long (*scan_objects)(struct shrinker *s, struct shrink_control *sc);
    void *private_data;
    bool numa_aware;        /* honours sc->node_only; the others are skipped by node reclaim */
    struct list_head list;  /* registry link (owned by the registry) */
    bool registered;
};

/**
 * Fill @s over zeroes (not a compound literal: its padding would stay undefined, and the leak
 * scan reads whole structures word by word, which MSan reports), ready to register.
 */
void shrinker_init(struct shrinker *s, const char *name,
                   unsigned long (*count)(struct shrinker *, struct shrink_control *),
                   unsigned long (*scan)(struct shrinker *, struct shrink_control *), bool numa_aware);
/** Returns 0, or -MM_EINVAL for a NULL shrinker/callback, -MM_EEXIST if already registered. */
int register_shrinker(struct shrinker *s);
/** Returns 0, or -MM_ENOENT if @s is not registered. */
int unregister_shrinker(struct shrinker *s);

/**
 * Try to free @nr_pages pages: drain per-CPU lists, then ask the shrinkers (in registration order,
 * repeating while they make progress). Returns the number of pages the shrinkers gave back, i.e.
 * the growth of free pages (buddy + per-CPU); it may exceed or fall short of @nr_pages.
 */
unsigned long page_reclaim(gfp_t gfp, unsigned long nr_pages);

/**
 * Background reclaim (kswapd): if an allocation woke it, reclaim until every zone is above its
 * high watermark or no progress is made. Returns pages freed. Safe to call at any time.
 */
unsigned long page_reclaim_background(void);

/* ---- failure injection (a knob, not a patch) ---- */

/** Let the next @skip allocations through, then fail the following @count with -MM_ENOMEM. */
void page_alloc_fail_inject(unsigned long skip, unsigned long count);

/* ---- statistics ---- */

struct zone_stats {
    const char *name;
    bool populated;
    unsigned long start_pfn, end_pfn;   /* spanned range */
    unsigned long present;              /* pages with memory behind them */
    unsigned long managed;              /* pages given to the buddy allocator */
    unsigned long reserved;             /* present but reserved */
    unsigned long nr_free;              /* free pages in buddy lists */
    unsigned long nr_pcp;               /* free pages on per-CPU lists */
    unsigned long nr_alloc;             /* pages in allocated blocks */
    unsigned long wmark[MM_NR_WMARK];
    unsigned long nr_free_blocks[MM_NR_ORDERS]; /* buddyinfo */
    unsigned int unusable_index[MM_NR_ORDERS];  /* 0..1000: free space unusable at this order */
    unsigned long pcp_count[MM_MAX_CPUS];
};

struct page_alloc_counters {
    unsigned long alloc;          /* successful allocations */
    unsigned long free;           /* blocks freed */
    unsigned long fail;           /* failed allocations (-ENOMEM) */
    unsigned long fail_injected;  /* of which injected */
    unsigned long pcp_hit;        /* order-0 allocations served by a per-CPU list */
    unsigned long pcp_refill;     /* batch refills */
    unsigned long pcp_drain;      /* batch drains to the buddy allocator */
    unsigned long wmark_low_miss; /* fast-path watermark failures */
    unsigned long kswapd_wake;    /* background reclaim wake-ups */
    unsigned long reclaim_runs;   /* reclaim passes */
    unsigned long reclaimed;      /* pages freed by reclaim */
    unsigned long misuse;         /* rejected frees and requests */
};

/** numastat items (numa.h says what each counts). */
enum numa_stat_item {
    NUMA_HIT, NUMA_MISS, NUMA_FOREIGN, NUMA_INTERLEAVE_HIT, NUMA_LOCAL, NUMA_OTHER,
    MM_NR_NUMA_STATS
};

/** One node: its span, page counts summed over its zones, buddyinfo per zone, numastat. */
struct node_stats {
    unsigned long start_pfn, end_pfn;   /* the node's range */
    unsigned long present, managed, nr_free, nr_pcp, nr_alloc;
    unsigned long zone_managed[MM_NR_ZONES];
    unsigned long zone_free[MM_NR_ZONES];                    /* buddy + per-CPU */
    unsigned long nr_free_blocks[MM_NR_ZONES][MM_NR_ORDERS]; /* buddyinfo of each zone */
    unsigned long numa[MM_NR_NUMA_STATS];                    /* numastat */
};

struct page_alloc_stats {
    unsigned int nr_cpus;
    unsigned int nr_nodes;
    struct zone_stats zone[MM_NR_ZONES]; /* each zone type summed over every node */
    struct node_stats node[MM_MAX_NUMNODES];
    struct page_alloc_counters counters;
};

void page_alloc_get_stats(struct page_alloc_stats *st);

/** Unusable free space index of @zone at @order, in thousandths (0 = none, 1000 = all). */
unsigned int page_alloc_unusable_index(unsigned int zone, unsigned int order);

/** Print buddyinfo, per-CPU list counts and counters through env_log at @level. */
void page_alloc_show(int level);

/** Total free pages (buddy + per-CPU) over all zones. */
unsigned long page_alloc_nr_free(void);

/*
 * The zone decision behind a CPU's last successful allocation, recorded apart from the watermark
 * test so that an oracle can judge the policy independently: the zone taken from, the order, and
 * the zone's buddy free count read right before the pages were taken. @seq counts decisions.
 */
struct page_alloc_decision {
    unsigned long seq;
    unsigned int zone, order;
    unsigned int node;       /* the node of the zone taken from */
    unsigned int preferred;  /* the node the allocation preferred */
    unsigned long nr_free;
};

/** Copy @cpu's last decision into @d (all zero before the first one). */
void page_alloc_last_decision(unsigned int cpu, struct page_alloc_decision *d);

#endif /* LEAXOS_PAGE_ALLOC_H */
