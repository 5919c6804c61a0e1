/*
 * internal.h - state shared between the layers of the mm (init, physical, checks). Not public.
 *
 * One mm instance lives in the global `mm_state`; mm_early_init() zeroes it, which is how fuzz
 * targets reset the whole allocator between inputs.
 *
 * Locking (who protects what):
 *   zone->lock            free_area[] lists and counts, zone->nr_free
 *   env_irq_save + CPU    zone->pcp[cpu] and mm_state.cpu[cpu] (only that CPU touches them)
 *   mm_state.shrink_lock  the shrinker registry list
 *   mm_state.report_lock the last misuse record
 *   (none: boot)          memblock, spans, watermarks: written only before mm_state.ready
 * Cross-CPU readers (stats, checks) read pcp counts racily; mm_check requires quiescence.
 */
#ifndef LEAXOS_MM_INTERNAL_H
#define LEAXOS_MM_INTERNAL_H

#include "mm.h"
#include "mm_env.h"
#include "page_alloc.h"
#include "page_table.h"
#include "slab.h"

#define KMALLOC_NR_CLASSES 13 /* 8 16 32 64 96 128 192 256 512 1K 2K 4K 8K */

/*
 * A deliberate defect for testing the fuzz -> triage -> repro workflow end to end
 * (./build.sh test builds a variant with -DMM_PLANTED_BUG=1). Never set it otherwise.
 */
#ifndef MM_PLANTED_BUG
#define MM_PLANTED_BUG 0
#endif

/* ---- early allocator ---- */

struct memblock_type {
    unsigned int cnt;
    struct mm_mem_region r[MM_MAX_MEM_REGIONS]; /* sorted by base, disjoint, non-adjacent */
};

struct memblock {
    struct memblock_type memory;   /* usable RAM, page aligned */
    struct memblock_type reserved; /* ranges in use (firmware, kernel, early allocations) */
    phys_addr_t limit;             /* top-down allocations prefer memory below this */
};

/* ---- swap slots ---- */

/** One slot of the swap device: @count swap PTEs name it (0 = free); @seen is checker scratch. */
struct swap_slot {
    uint32_t count;
    uint32_t seen;
};

/* ---- buddy zones ---- */

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
    struct per_cpu_pages pcp[MM_MAX_CPUS];
};

/* Per-CPU event counters (summed by page_alloc_get_stats). */
struct mm_cpu_counters {
    unsigned long alloc, free, fail, fail_injected, pcp_hit, pcp_refill, pcp_drain;
    unsigned long wmark_low_miss;
    struct page_alloc_decision last; /* the last successful zone decision (page_alloc.h) */
} MM_CACHE_ALIGNED;

struct mm_state {
    bool early_ready;           /* memblock built */
    bool ready;                 /* buddy allocator live */
    bool memblock_retired;
    bool pcp_disabled;
    unsigned int pcp_batch_param, pcp_high_param; /* boot parameters, 0 = derive */
    unsigned int nr_cpus;
    uint64_t seed;
    phys_addr_t dma_end, normal_end;
    struct memblock memblock;
    struct zone zones[MM_NR_ZONES];
    struct mm_cpu_counters cpu[MM_MAX_CPUS];

    /* failure injection */
    unsigned long fail_skip, fail_count;

    /* reclaim */
    env_spinlock_t shrink_lock;
    struct list_head shrinkers;
    bool kswapd_pending;
    unsigned int reclaim_depth;
    unsigned long kswapd_wake, reclaim_runs, reclaimed;

    /* slab caches */
    env_spinlock_t slab_lock;            /* caches list */
    struct list_head caches;
    struct kmem_cache *cache_cache;      /* the cache of struct kmem_cache (boot-allocated) */
    struct kmem_cache *kmalloc_caches[2][KMALLOC_NR_CLASSES]; /* [dma][class] */
    struct shrinker slab_shrinker;
    bool slab_hardened;
    bool slab_ready;
    unsigned long slab_nr_created;       /* caches created since boot: seeds each cache */

    /* address spaces (mm/virtual/mmap.c, fault.c, file.c) */
    struct page *zero_page;              /* shared zero page, allocated on first use */
    struct list_head mms;                /* every live mm_struct (for mm_check) */
    struct list_head files;              /* every live mm_file */
    unsigned int next_mm_id;

    /* vmalloc (mm/virtual/vmalloc.c): the kernel virtual range, its areas and page table */
    env_spinlock_t vmalloc_lock;         /* every vmalloc_* field below */
    bool vmalloc_ready;                  /* vmalloc_init succeeded */
    uintptr_t vmalloc_start, vmalloc_end;
    struct page_table vmalloc_pt;        /* kernel page table of [vmalloc_start, vmalloc_end) */
    struct vmap_area *vmalloc_root;      /* AVL tree of areas by start, augmented with gaps */
    struct vmap_area *vmalloc_sentinel;  /* empty area at vmalloc_end: owns the last free gap */
    struct list_head vmalloc_areas;      /* areas in address order, the sentinel last */
    unsigned long vmalloc_nr_areas, vmalloc_nr_vmap, vmalloc_nr_pages, vmalloc_nr_owned;
    unsigned long vmalloc_nr_fail;
    uintptr_t vmalloc_freed[16];         /* starts of recently freed areas (double-free reports) */
    unsigned int vmalloc_freed_next;

    /* misuse reports */
    env_spinlock_t report_lock;
    unsigned long misuse_count[MM_NR_MISUSE_KINDS];
    struct mm_misuse last_misuse;
    int misuse_log_level;

    /* swap (mm/swap: swap_slot.c, swap_lru.c; checked by checks/check_vm.c) */
    bool swap_ready;                     /* slot map allocated and shrinker registered */
    unsigned long swap_nr_slots;         /* slots of the device in use by the mm */
    struct swap_slot *swap_map;          /* [swap_nr_slots]: reference counts (kmalloc'd) */
    unsigned long swap_used;             /* slots with count > 0 */
    unsigned long swap_cursor;           /* next-fit start of the slot search */
    unsigned long swap_nr_lru[2];        /* pages on all mms' inactive [0] / active [1] lists */
    unsigned long swap_out, swap_in;     /* pages written out / read back */
    unsigned long swap_write_fail, swap_read_fail;
    struct shrinker swap_shrinker;
};

extern struct mm_state mm_state;

/* init/memblock.c */
void memblock_reset(phys_addr_t limit);
int memblock_add_range(struct memblock_type *t, phys_addr_t base, uint64_t size);
int memblock_remove_range(struct memblock_type *t, phys_addr_t base, uint64_t size);
/** Call fn(start_pfn, end_pfn) for every whole free page range (memory minus reserved). */
void memblock_for_each_free_range(void (*fn)(unsigned long spfn, unsigned long epfn));
/** Highest pfn + 1 of usable memory. */
unsigned long memblock_end_pfn(void);
/** True if pfn lies in a usable memory region. */
bool memblock_is_memory_pfn(unsigned long pfn);

/* physical/buddy.c */
void buddy_free_block_locked(struct zone *z, unsigned long pfn, unsigned int order);
struct page *buddy_take_block_locked(struct zone *z, unsigned int order);
void buddy_release_range(struct zone *z, unsigned long spfn, unsigned long epfn);
void zone_setup_watermarks(void);

/* physical/pcp.c */
void pcp_setup(unsigned int batch, unsigned int high);
struct page *pcp_alloc_page(struct zone *z, unsigned int cpu);
void pcp_free_page(struct zone *z, struct page *page, unsigned int cpu);
void pcp_drain_cpu(unsigned int cpu);

/* physical/reclaim.c */
void reclaim_reset(void);

/* checks/report.c */
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

/* checks/check_vm.c: every address space and the map counts of user pages */
int vm_check_all(struct mm_check_report *rep);

static inline struct zone *page_zone(const struct page *p) { return &mm_state.zones[p->zone]; }

static inline bool zone_populated(const struct zone *z) { return z->managed != 0; }

#endif /* LEAXOS_MM_INTERNAL_H */
