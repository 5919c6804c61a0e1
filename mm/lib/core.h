/*
 * core.h - the core of the mm, which every layer may include: the one mm instance (mm_state) cut
 * into per-layer parts, the memory model, misuse reports and check failures. Not public.
 *
 * Layers (mm/tools/layers.sh enforces the direction; an arrow means "may use"):
 *
 *   init -> virtual (+ swap) -> heap -> physical -> core (mm/lib)      checks/ reads them all
 *
 * mm_state holds one part per layer. A part is written only by its owner and by layers above it
 * (init fills the boot parameters of every part), and read only by its owner, the layers above
 * and checks/; a lower layer never names an upper layer's part (the layer check reads every
 * `mm_state.<part>`). A lower layer that needs an upper one's help takes a registered hook (the
 * shrinkers of reclaim.c), never a direct call. mm_state_reset() zeroes every part at once: one
 * mm_early_init resets the whole instance, which is how fuzz targets start every input.
 *
 *   part      owner                       lock (who protects what)
 *   core      lib (written by init and    none: written before anything runs (vmalloc_start/end
 *             vmalloc_init)                by vmalloc_init, once)
 *   phys      physical                    zone->lock: free_area[] lists and counts, zone->nr_free
 *                                         none (boot): nodes, their zonelists and the topology
 *                                         env_irq_save + CPU: zone->pcp[cpu], phys.cpu[cpu]
 *                                         phys.shrink_lock: the shrinker registry list
 *                                         none (boot): memblock, spans, watermarks (before ready)
 *   heap      heap                        heap.lock: the caches list; each cache its own lock
 *   vm        virtual (address spaces)    vm.lock: all of it, every mm_struct and mm_file
 *                                         (virtual/vm_lock.c)
 *   vmalloc   virtual (vmalloc.c)         vmalloc.lock: every field but ready
 *   swap      virtual (mm/swap)           vm.lock (its callers are the address-space code)
 *   report    lib (report.c)              report.lock: the last misuse record and the counts
 *   leak      checks (leak.c)             none: registered and scanned at quiescent points
 *   prot      protection (mm/protection)  prot.lock: all of it (domains, regions, grants, audit)
 *
 * Cross-CPU readers (stats, checks) read pcp counts racily; mm_check requires quiescence.
 */
#ifndef LEAXOS_MM_CORE_H
#define LEAXOS_MM_CORE_H

#include "mm.h"
#include "mm_env.h"
#include "mm_leak.h"
#include "mm_trace.h"
#include "memory_protection.h"
#include "numa.h"
#include "page_alloc.h"
#include "page_table.h"
#include "range_tree.h"
#include "slab.h"

#define KMALLOC_NR_CLASSES 13 /* 8 16 32 64 96 128 192 256 512 1K 2K 4K 8K */

/*
 * A deliberate defect for testing the fuzz -> triage -> repro workflow end to end: 1, a skipped
 * buddy merge (MM_VARIANT=planted); 2, the slab lock dropped inside a refill, a race only the smp
 * target's schedules reach (MM_VARIANT=planted-smp). ./build.sh test builds both variants. Never
 * set it otherwise.
 */
#ifndef MM_PLANTED_BUG
#define MM_PLANTED_BUG 0
#endif

/* ---- physical: early allocator (physical/memblock.c) ---- */

struct memblock_type {
    unsigned int cnt;
    struct mm_mem_region r[MM_MAX_MEM_REGIONS]; /* sorted by base, disjoint, non-adjacent */
};

struct memblock {
    struct memblock_type memory;   /* usable RAM, page aligned */
    struct memblock_type reserved; /* ranges in use (firmware, kernel, early allocations) */
    phys_addr_t limit;             /* top-down allocations prefer memory below this */
};

/* ---- physical: buddy zones (physical/buddy.c, pcp.c) ---- */

struct free_area {
    struct list_head free_list;
    unsigned long nr_free; /* blocks on free_list */
};

struct per_cpu_pages {
    struct list_head list;  /* PG_pcp pages, hottest first */
    unsigned int count;
    unsigned int high;      /* drain a batch when count reaches high */
    unsigned int batch;     /* pages moved per refill/drain */
} MM_CACHE_ALIGNED;

struct zone {
    env_spinlock_t lock;
    unsigned long nr_free;              /* pages in free_area (lock; read racily by wmark checks) */
    struct free_area free_area[MM_NR_ORDERS];
    unsigned long start_pfn, end_pfn;   /* span [start, end) */
    unsigned long present, managed, reserved;
    unsigned long wmark[MM_NR_WMARK];
    unsigned long lowmem_reserve[MM_NR_ZONES]; /* extra free pages kept back from fallbacks
                                                  whose preferred zone is the index */
    unsigned int idx;
    unsigned int node;                  /* the node that owns the zone */
    struct per_cpu_pages pcp[MM_MAX_CPUS];
};

/* Entries of a node's fallback list: every zone of every node, NULL-terminated. */
#define MM_ZONELIST_MAX (MM_MAX_NUMNODES * MM_NR_ZONES + 1)

/*
 * One NUMA node (pg_data_t): its zones, span, fallback order and reclaim state. The zonelist is
 * built once at boot (init) and read without locks; the zones' own locks are as for any zone.
 */
struct mm_node {
    unsigned int id;
    unsigned long start_pfn, end_pfn;   /* the node's range [start, end), clipped to max_pfn */
    struct zone zones[MM_NR_ZONES];
    uint8_t order[MM_MAX_NUMNODES];     /* nodes by distance from this one (self first) */
    struct zone *zonelist[MM_NR_ZONES][MM_ZONELIST_MAX]; /* [top zone]: the populated zones of
                                           type <= top, node order, then zone high->low */
    unsigned long reclaim_wake;         /* allocations preferring it that woke reclaim (atomic) */
};

/*
 * Per-CPU event counters (summed by page_alloc_get_stats). Successful allocations are counted by
 * the node they came from (alloc = the sum); numastat keeps only the rarer events on the fast
 * path: numa_hit = node_alloc - numa_miss and local_node = node_alloc - other_node.
 */
struct mm_cpu_counters {
    unsigned long node_alloc[MM_MAX_NUMNODES];
    unsigned long free, fail, fail_injected, pcp_hit, pcp_refill, pcp_drain;
    unsigned long wmark_low_miss;
    unsigned long numa_miss[MM_MAX_NUMNODES], numa_foreign[MM_MAX_NUMNODES];
    unsigned long numa_other[MM_MAX_NUMNODES];
    unsigned long interleave_hit[MM_MAX_NUMNODES]; /* interleaved allocations that got their node */
    struct page_alloc_decision last; /* the last successful zone decision (page_alloc.h) */
} MM_CACHE_ALIGNED;

/* ---- the parts of mm_state ---- */

/** The instance itself: what every layer may ask. */
struct mm_core_state {
    unsigned int nr_cpus;                /* boot parameter (mm_nr_cpus() reads it) */
    uint64_t seed;                       /* seeds every randomised choice of the mm */
    uintptr_t vmalloc_start, vmalloc_end; /* the vmalloc range once vmalloc_init succeeded,
                                             [0, 0) before: see in_vmalloc_range() */
    unsigned long alloc_seq;             /* the allocation op counter, page_owner-style (every
                                            layer stamps with it, so it lives here): bumped by
                                            every hardened slab allocation (an atomic load and
                                            store: no locked add on that fast path), every
                                            vmalloc/vmap area and KFENCE object, and every page
                                            block when page_owner is on (locked adds) */
};

/** Physical memory (mm/physical): early allocator, zones, per-CPU lists, reclaim. */
struct mm_phys_state {
    bool early_ready;           /* memblock built */
    bool ready;                 /* buddy allocator live */
    bool memblock_retired;
    bool pcp_disabled;
    bool page_owner;            /* boot parameter: stamp page blocks (struct page alloc_seq) */
    unsigned int pcp_batch_param, pcp_high_param; /* boot parameters, 0 = derive */
    phys_addr_t dma_end, normal_end;
    struct memblock memblock;
    unsigned int nr_nodes;               /* boot parameter: 1 .. MM_MAX_NUMNODES */
    struct mm_numa_topology numa;        /* boot parameter (defaults filled in by init) */
    struct mm_node node[MM_MAX_NUMNODES];
    struct mm_cpu_counters cpu[MM_MAX_CPUS];

    /* failure injection */
    unsigned long fail_skip, fail_count;

    /* reclaim */
    env_spinlock_t shrink_lock;
    struct list_head shrinkers;
    bool kswapd_pending;                 /* atomic: any CPU sets it, background reclaim clears it */
    unsigned int reclaim_depth[MM_MAX_CPUS]; /* per CPU: reclaim running on it (no nesting) */
    unsigned long kswapd_wake, reclaim_runs, reclaimed;
};

/** The heap (mm/heap): slab caches and kmalloc. */
struct mm_heap_state {
    env_spinlock_t lock;                 /* caches list */
    struct list_head caches;
    struct kmem_cache *cache_cache;      /* the cache of struct kmem_cache (boot-allocated) */
    struct kmem_cache *kmalloc_caches[2][KMALLOC_NR_CLASSES]; /* [dma][class] */
    struct shrinker shrinker;            /* gives empty slabs back under pressure */
    bool hardened;                       /* harden_level >= 1 */
    unsigned int harden_level;           /* 0 (off), 1 (cheap), 2 (full): from the boot params */
    bool slab_owner;                     /* boot parameter: unhardened caches keep a slab_track */
    bool ready;
    unsigned long nr_created;            /* caches created since boot: seeds each cache (atomic) */
    /* KFENCE sampling: the pool lives in mm/virtual/kfence.c, which registers its hooks here */
    unsigned int kfence_interval;        /* boot parameter: 1 in N allocations sampled, 0 = off */
    uintptr_t kfence_start, kfence_end;  /* the pool window once kfence_init succeeded, [0, 0)
                                            before (written once, by kfence_init) */
    const struct kfence_ops *kfence;     /* the pool's hooks (NULL: sampling off) */
};

/*
 * The KFENCE pool's hooks, for the heap (below it): sample an allocation, free or size one of
 * its objects. Every call is for a pointer inside [kfence_start, kfence_end) except alloc.
 */
struct kfence_ops {
    /** An object of @c for @req bytes from the pool, or NULL (pool full, or the pool's pages are
     * not on node @nid (>= 0) or @gfp has __GFP_THISNODE on a NUMA machine: the caller falls back). */
    void *(*alloc)(struct kmem_cache *c, size_t req, gfp_t gfp, uintptr_t site, int nid);
    /** Free @p (into @c, or any cache when NULL). Reports misuse by @func (double, invalid,
     * wrong-cache free); returns 0 or its error. */
    int (*free)(struct kmem_cache *c, const void *p, const char *func);
    /** Requested size of live kmalloc object @p (0 after reporting misuse by @func, or when @func
     * is NULL without a report); *@c_out its cache. */
    size_t (*live_size)(const void *p, const char *func, struct kmem_cache **c_out);
    /** kmem_cache_destroy(@c): the number of @c's live pool objects (each logged); when 0 and
     * @destroy, the pool forgets @c (its freed slots keep no pointer to it). */
    unsigned long (*cache_gone)(struct kmem_cache *c, bool destroy);
};

/** Address spaces (mm/virtual: mmap.c, fault.c, file.c). */
struct mm_vm_state {
    env_spinlock_t lock;                 /* the address-space lock: see virtual/vm_lock.c */
    unsigned int lock_depth;             /* nesting of the holder (written by the holder only) */
    struct page *zero_page;              /* shared zero page, allocated on first use */
    struct list_head mms;                /* every live mm_struct (for mm_check and swap) */
    struct list_head files;              /* every live mm_file */
    unsigned long nr_files;              /* length of files (bounds every walk of it) */
    unsigned int next_mm_id;
    struct kmem_cache *tree_cache;       /* nodes of every range tree of mm/virtual (vm_tree.c) */
    struct kmem_cache *vma_cache;        /* VMAs (SLAB_MM_INTERNAL: refused to kfree) */
    unsigned long migrated, migrate_failed; /* migrate.c: pages moved / moves that failed */
    /* numa_balance.c (Linux's /proc/vmstat names): PTEs made hinting entries, hinting faults,
     * those from the page's own node, pages the faults migrated */
    unsigned long numa_pte_updates, numa_hint_faults, numa_hint_faults_local, numa_pages_migrated;
};

/** One KFENCE pool slot (mm/virtual/kfence.c): the object page at window + (2i + 1) pages. */
enum kfence_slot_state { KFENCE_UNUSED = 0, KFENCE_LIVE, KFENCE_FREED };

struct kfence_slot {
    uint8_t state;               /* enum kfence_slot_state; the page is mapped exactly when LIVE */
    bool right;                  /* object placed against the right guard (else the left one) */
    uint16_t cpu;                /* CPU that allocated it */
    uint32_t size;               /* requested bytes */
    uintptr_t addr;              /* object start (LIVE and FREED) */
    struct kmem_cache *cache;    /* its cache (LIVE and FREED) */
    uintptr_t site;              /* allocation site */
    unsigned long seq;           /* its mm_state.core.alloc_seq stamp (LIVE), for ages */
};

/** The KFENCE pool (mm/virtual/kfence.c); the window and hooks are in the heap part. */
struct mm_kfence_state {
    env_spinlock_t lock;                 /* every field below */
    struct page_table pt;                /* kernel page table of the window */
    struct page *pages;                  /* KFENCE_NR_OBJECTS object pages (one block) */
    struct kfence_slot slot[KFENCE_NR_OBJECTS];
    uint8_t fifo[KFENCE_NR_OBJECTS];     /* free slots, the longest-freed first */
    unsigned int fifo_head, fifo_len;
    unsigned long nr_alloc, nr_fallback, nr_fault;
};

/** vmalloc (mm/virtual/vmalloc.c): its areas and page table (the range is in core). */
struct mm_vmalloc_state {
    env_spinlock_t lock;                 /* every field below but ready */
    bool ready;                          /* vmalloc_init succeeded */
    struct page_table pt;                /* kernel page table of [vmalloc_start, vmalloc_end) */
    struct range_tree tree;              /* areas by [start, guard end), with free gaps */
    struct list_head areas;              /* areas in address order */
    unsigned long nr_areas, nr_vmap, nr_pages, nr_owned;
    unsigned long nr_fail;
    uintptr_t freed[16];                 /* starts of recently freed areas (double-free reports) */
    unsigned int freed_next;
    struct kmem_cache *va_cache;         /* vmap areas (SLAB_MM_INTERNAL: refused to kfree) */
    struct mm_kfence_state kfence;       /* the KFENCE pool above the range (own lock) */
};

/** Swap (mm/swap): the slot map (swap_slot.c) and the LRU with its shrinker (swap_lru.c). */
struct mm_swap_state {
    bool ready;                          /* slot map allocated and shrinker registered */
    unsigned long nr_slots;              /* slots of the device in use by the mm */
    struct swap_slot *map;               /* [nr_slots]: reference counts (kmalloc'd) */
    unsigned long used;                  /* slots with count > 0 */
    unsigned long cursor;                /* next-fit start of the slot search */
    unsigned long out, in;               /* pages written out / read back */
    unsigned long write_fail, read_fail;
    struct list_head lru[2];             /* swap_lru.c: every mapped anonymous page, inactive
                                            [0] / active [1] (linked through page->lru) */
    unsigned long nr_lru[2];             /* swap_lru.c: the lengths of lru[] */
    struct shrinker shrinker;            /* swap_lru.c: memory pressure swaps */
};

/** Misuse reports (lib/report.c). */
struct mm_report_state {
    env_spinlock_t lock;
    unsigned long misuse_count[MM_NR_MISUSE_KINDS];
    struct mm_misuse last_misuse;
    int log_level;
    unsigned long leaks;                 /* leaks reported by mm_leak_scan (mm_report_leak) */
};

/** Leak detection registries (mm/checks/leak.c; read by nothing else). */
struct mm_leak_root {
    uintptr_t start;
    size_t len;
};

struct mm_leak_state {
    unsigned int nr_roots, nr_ignored;
    struct mm_leak_root roots[MM_LEAK_MAX_ROOTS];
    uintptr_t ignored[MM_LEAK_MAX_IGNORED]; /* addresses inside objects marked not-a-leak */
};

/* ---- protection domains (mm/protection/domain.c; memory_protection.h) ---- */

struct prot_domain {
    int id;                       /* > 0 while live, 0 for a free slot */
    uint8_t kind;                 /* enum domain_kind */
    uint8_t key;                  /* 1..15 in its kind's key space */
    uint16_t nr_regions, nr_grants_in; /* regions owned; grants it holds */
};

/* Flags of a region. */
#define PROT_REGION_PINNED 1u
#define PROT_REGION_IO     2u

struct prot_region {
    uint8_t kind;                 /* enum domain_mem_kind; 0 for a free slot */
    uint8_t npages;
    uint8_t order;                /* DOMAIN_MEM_PAGES: the block's order */
    uint8_t flags;                /* PROT_REGION_* */
    uint8_t scrubbed;             /* bit per page: zeroed by the mm, not yet written by a domain */
    uint8_t owner;                /* domain slot */
    uint16_t obj_size;            /* DOMAIN_MEM_SLAB: object size */
    uint64_t obj_used;            /* DOMAIN_MEM_SLAB: bit per live object */
    struct page *pages[DOMAIN_REGION_PAGES];
};

struct prot_grant {
    bool live;
    uint8_t rights;               /* enum domain_rights */
    uint8_t region;               /* region slot */
    uint8_t grantee;              /* domain slot */
};

/** Protection domains (mm/protection): the one lock covers every field. */
struct mm_prot_state {
    env_spinlock_t lock;
    bool ready;                       /* the window's page table exists */
    struct page_table pt;             /* the domain window */
    int next_id;
    uint16_t keys_used[2];            /* [0] supervisor, [1] user: bit per key in use */
    struct prot_domain dom[DOMAIN_MAX];
    struct prot_region reg[DOMAIN_MAX_REGIONS];
    struct prot_grant grant[DOMAIN_MAX_GRANTS];
    int cur[MM_MAX_CPUS];             /* domain slot + 1 each CPU is in (0: none) */
    struct domain_audit audit[DOMAIN_AUDIT_RING];
    unsigned long nr_audit;           /* migrations since boot; audit[nr % RING] is next */
    unsigned long refused, scrubbed_pages, switches;
};

struct mm_state {
    struct mm_core_state core;
    struct mm_phys_state phys;
    struct mm_heap_state heap;
    struct mm_vm_state vm;
    struct mm_vmalloc_state vmalloc;
    struct mm_swap_state swap;
    struct mm_report_state report;
    struct mm_leak_state leak;
    struct mm_prot_state prot;
};

extern struct mm_state mm_state;

/* lib/state.c */
/** Zero every part of mm_state and forget the struct page array (mm_early_init's reset). */
void mm_state_reset(void);

/* lib/report.c */
/**
 * Record and log a detected misuse; returns @err so callers can `return mm_report_misuse(...)`.
 * Never changes allocator state beyond the report counters.
 */
int mm_report_misuse(enum mm_misuse_kind kind, int err, const char *func, uintptr_t addr,
                     unsigned long pfn, const char *fmt, ...) MM_PRINTF(6, 7);

/**
 * Fill @r with a broken invariant (name, page, formatted detail) and return -MM_ECORRUPT: the one
 * way every checker reports (mm_check, slab, page tables, vmalloc, address spaces).
 */
int mm_check_fail(struct mm_check_report *r, const char *inv, unsigned long pfn, const char *fmt, ...)
    MM_PRINTF(4, 5);

/**
 * Log one unreferenced object found by the leak scan (mm/checks/leak.c) as "mm: leak: @inv ..."
 * and count it (mm_state.report.leaks). @what: cache name or kind; @age: allocations since it
 * (MM_LEAK_AGE_UNKNOWN: not recorded, not printed).
 */
void mm_report_leak(const char *inv, uintptr_t addr, size_t size, const char *what,
                    uintptr_t site, unsigned long age);

/* lib/trace.c: the tracepoints (mm_trace.h). */
extern uint32_t mm_trace_enabled; /* the class mask every tracepoint tests */

/*
 * The slow half's calling convention: where the compiler has it (clang), preserve_most, so the
 * call saves what it clobbers itself and the fast path around a tracepoint keeps its values in
 * the same registers as without one (no extra callee-saved pushes in __free_pages).
 */
#if defined(__has_attribute)
#if __has_attribute(preserve_most)
#define MM_TRACE_CC __attribute__((preserve_most))
#endif
#endif
#ifndef MM_TRACE_CC
#define MM_TRACE_CC
#endif

/** Record one event of @cls on this CPU (the slow half of mm_trace; call mm_trace instead). */
MM_NOINLINE __attribute__((cold)) MM_TRACE_CC void mm_trace_record(unsigned int cls, uint64_t a0, uint64_t a1,
                                                       uint64_t a2, uint64_t a3, uint64_t a4,
                                                       uint64_t a5);

/**
 * A tracepoint: records an event of class @cls (enum mm_trace_class) with up to MM_TRACE_NR_ARGS
 * arguments (each converted to uint64_t; missing ones are 0) when the class is enabled. Disabled,
 * it is one load, one test and one branch predicted not taken; the arguments are evaluated only
 * when enabled, and go in registers (the call is cold: off the fast path's frame and layout).
 */
#define mm_trace(cls, ...) mm_trace_args_((cls), __VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define mm_trace_args_(cls, a0, a1, a2, a3, a4, a5, ...)                                 \
    do {                                                                                 \
        if (mm_unlikely(mm_trace_enabled & MM_TRACE_BIT(cls)))                          \
            mm_trace_record((cls), (uint64_t)(a0), (uint64_t)(a1), (uint64_t)(a2),       \
                            (uint64_t)(a3), (uint64_t)(a4), (uint64_t)(a5));             \
    } while (0)

/** Forget every recorded event and restart the sequence numbers; enable the classes of @mask. */
void mm_trace_reset(uint32_t mask);

/** The rings' storage [*start, *end): the leak scan never takes it for a root. */
void mm_trace_storage(uintptr_t *start, uintptr_t *end);

/** Is @addr inside the vmalloc range? False until vmalloc_init succeeds. (is_vmalloc_addr for
 * the layers below virtual, which may not call it.) */

/* Bits set in @x, without __builtin_popcount: without -mpopcnt the compiler calls libgcc's
 * __popcountdi2, which the freestanding build does not have. */
static inline unsigned int mm_popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned int)((x * 0x0101010101010101ull) >> 56);
}
static inline bool in_vmalloc_range(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    return a >= mm_state.core.vmalloc_start && a < mm_state.core.vmalloc_end;
}

#endif /* LEAXOS_MM_CORE_H */
