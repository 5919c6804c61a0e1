/*
 * mm.h - bringing the mm up, the early (memblock) allocator, invariant checks and misuse reports.
 *
 * Boot order:
 *   mm_early_init(params)   memblock built from the memory map; memblock_alloc() usable
 *   ... boot-time allocations (memblock_alloc / memblock_reserve) ...
 *   mm_core_init()          struct page array, zones, watermarks; every free range goes to the
 *                           buddy allocator; memblock retires (later memblock calls are misuse)
 * mm_init() does both. Calling mm_early_init again resets the whole mm instance (fuzz targets do
 * this at the start of every input).
 */
#ifndef LEAXOS_MM_H
#define LEAXOS_MM_H

#include "mm_common.h"
#include "page_alloc.h"

/* ---- memory map ---- */

/** e820 region types. */
enum mm_mem_type {
    MM_MEM_USABLE = 1,
    MM_MEM_RESERVED = 2,
    MM_MEM_ACPI = 3,
    MM_MEM_NVS = 4,
    MM_MEM_BAD = 5,
};

struct mm_mem_region {
    phys_addr_t base;
    uint64_t size;
    uint32_t type; /* enum mm_mem_type */
};

#define MM_MAX_MEM_REGIONS 128

struct mm_numa_topology;

struct mm_boot_params {
    const struct mm_mem_region *map;     /* e820-style map; unsorted, may overlap, have holes */
    unsigned int nr_map;
    const struct mm_mem_region *reserve; /* extra ranges to keep (kernel image, initrd) */
    unsigned int nr_reserve;
    phys_addr_t zone_dma_end;            /* 0: ARCH_ZONE_DMA_END */
    phys_addr_t zone_normal_end;         /* 0: ARCH_ZONE_NORMAL_END */
    unsigned int nr_cpus;                /* 1 .. MM_MAX_CPUS; 0 means 1 */
    unsigned int pcp_batch;              /* 0: derived from zone size */
    unsigned int pcp_high;               /* 0: derived from batch */
    bool pcp_disable;                    /* bypass per-CPU lists (benchmarks, tests) */
    bool slab_hardened;                  /* red zones, poison, checked freelists (see slab.h) */
    unsigned int slab_harden_level;      /* MM_SLAB_HARDEN_*; 0 (AUTO): slab_hardened ? FULL : OFF */
    uint64_t seed;                       /* seeds every randomised choice of the mm */
    unsigned int kfence_interval;        /* KFENCE: 1 in N slab/kmalloc allocations comes from
                                            the guarded pool (slab.h); 0 = off */
    uint32_t trace_mask;                 /* trace classes enabled from boot (mm_trace.h) */
    const struct mm_numa_topology *numa; /* nodes, CPUs, distances (numa.h); NULL: one node */
    bool page_owner;                     /* stamp every page block at allocation, so the leak
                                            scan and the site groups give pages an age (Linux's
                                            page_owner; one locked add per allocation) */
    bool slab_owner;                     /* unhardened caches reserve 16 bytes after each object
                                            for its allocation site and stamp, so their objects
                                            get a site and an age (Linux's slub_debug=U); hardened
                                            caches keep both in their metadata anyway */
};

/*
 * Slab hardening levels (slab.h has what each checks). slab_harden_level picks one; AUTO (0, what
 * a zeroed mm_boot_params holds) keeps the meaning slab_hardened always had: true is FULL, false
 * is OFF. CHEAP is the level for production kernels (Linux: SLAB_FREELIST_HARDENED and
 * init_on_free); FULL is for fuzzing and debugging (Linux: slub_debug).
 */
#define MM_SLAB_HARDEN_AUTO   0u /* slab_hardened ? MM_SLAB_HARDEN_FULL : MM_SLAB_HARDEN_OFF */
#define MM_SLAB_HARDEN_CHEAP  1u /* level 1: checked freelists, state tags, canary words */
#define MM_SLAB_HARDEN_FULL   2u /* level 2: full red zones and full free poison */
#define MM_SLAB_HARDEN_OFF    3u /* level 0, explicitly (whatever slab_hardened says) */

#define MM_KFENCE_MAX_INTERVAL 1000000u /* largest kfence_interval */

/**
 * Reset the mm and build the early allocator from @bp. Returns 0 or:
 *   -MM_EINVAL  NULL params, no usable memory, nr_cpus > MM_MAX_CPUS, zone ends out of order,
 *               a region that wraps or lies above ARCH_PHYS_BITS, slab_harden_level above
 *               MM_SLAB_HARDEN_OFF, kfence_interval above MM_KFENCE_MAX_INTERVAL,
 *               trace_mask beyond MM_TRACE_ALL, a topology mm_numa_topology_validate refuses
 *   -MM_ENOSPC  more regions than MM_MAX_MEM_REGIONS after merging
 */
int mm_early_init(const struct mm_boot_params *bp);

/**
 * Finish boot: struct page array, zones, watermarks, hand-off to the buddy allocator. Returns 0,
 * -MM_EINVAL if mm_early_init did not succeed first, or -MM_ENOMEM if the struct page array does
 * not fit in memory.
 */
int mm_core_init(void);

/** mm_early_init + mm_core_init. */
int mm_init(const struct mm_boot_params *bp);

/** True once mm_core_init succeeded. */
bool mm_ready(void);

/** Number of CPUs the mm was booted with. */
unsigned int mm_nr_cpus(void);

/* ---- early allocator ---- */

/**
 * Allocate @size bytes aligned to @align (a power of two, >= 8) from free early memory, top-down
 * below the NORMAL zone end when possible. Returns the physical address, or 0 when nothing fits,
 * the arguments are invalid, or the early allocator has retired (the last two are misuse).
 */
phys_addr_t memblock_alloc(uint64_t size, uint64_t align);

/** Mark [base, base+size) reserved. Returns 0, -MM_EINVAL (bad range / retired), -MM_ENOSPC. */
int memblock_reserve(phys_addr_t base, uint64_t size);

/** Give back a range obtained from memblock_alloc. Returns 0, or -MM_EINVAL (reported) if it is
 * not reserved or reaches into page 0, which the mm keeps reserved whoever else reserved it. */
int memblock_free(phys_addr_t base, uint64_t size);

/** Bytes of usable memory and of reserved memory the early allocator knows. */
uint64_t memblock_usable_bytes(void);
uint64_t memblock_reserved_bytes(void);

/* ---- invariant checks ---- */

struct mm_check_report {
    int err;               /* 0 or -MM_ECORRUPT */
    const char *invariant; /* stable dotted name, e.g. "buddy.unmerged"; NULL when err == 0 */
    unsigned long pfn;     /* page the broken invariant was found at (~0ul if none) */
    char detail[192];      /* human-readable explanation */
};

/**
 * Verify every invariant the mm keeps (buddy free lists, per-CPU lists, page states, per-zone
 * conservation). Returns 0, or -MM_ECORRUPT with the first broken invariant in *@rep (may be
 * NULL). Precondition: no other CPU is allocating (tests and fuzzers are single-threaded; the
 * kernel calls it with other CPUs stopped).
 */
int mm_check(struct mm_check_report *rep);

/**
 * The counter part of mm_check, cheap enough for every op: no lock held, per zone the free-list
 * order counts sum to nr_free, free + per-CPU pages <= managed, every per-CPU list's count within
 * [0, high] with 1 <= batch <= high, no pages on an absent CPU's list. Returns 0 or -MM_ECORRUPT
 * with the invariant (mm_check's names) in *@rep (may be NULL). Same precondition as mm_check.
 */
int mm_check_counts(struct mm_check_report *rep);

/* ---- incremental checking: mm_check in bounded slices ---- */

/** Where mm_check_step is in its cycle. Zero it to start a cycle; the caller owns it. */
enum mm_check_phase {
    MM_CHECK_ZONE_LISTS, /* one zone's free lists, nr_free and this CPU's pcp lists */
    MM_CHECK_ZONE_PAGES, /* a run of that zone's struct pages, block by block */
    MM_CHECK_CACHES,     /* one slab cache: lists, counts, this CPU's slab, objects */
    MM_CHECK_VMALLOC,    /* the vmalloc areas, their tree and page table */
    MM_CHECK_MMS,        /* one address space: VMA list and tree, page table, PTEs */
    MM_CHECK_NR_PHASES
};

struct mm_check_cursor {
    unsigned int phase;   /* enum mm_check_phase */
    unsigned int zone;    /* zone of the two zone phases: node * MM_NR_ZONES + zone type */
    unsigned long pos;    /* next pfn (zone pages), next cache or address space ordinal */
    unsigned long slices; /* slices checked */
    unsigned long busy;   /* slices skipped because a lock they need was held */
    unsigned long cycles; /* complete cycles */
    bool all_cpus;        /* set by the caller: the other CPUs stand still (tests, the hosted
                             harness, a kernel on one CPU), so walk every CPU's per-CPU lists and
                             slabs, not only this CPU's, and require refcount >= 1 of every
                             allocated block and flags on every page (else a free or an
                             allocation elsewhere may be mid-way, without the zone lock) */
};

/** The most struct pages one step may walk. */
#define MM_CHECK_STEP_MAX_PAGES 65536ul

/**
 * Check one bounded slice of the mm's structures, the next one of @cur's cycle, and advance @cur: a
 * zone's free lists; @pages (1..MM_CHECK_STEP_MAX_PAGES) struct pages of a zone; one slab cache;
 * vmalloc; one address space. The same invariants and names as mm_check, minus what needs the whole
 * machine at one instant (conservation, orphans, slab.orphan, map counts, swap and LRU totals:
 * mm_check keeps them) and the KFENCE pool (kfence.*, checked by mm_check). Meant for a timer tick
 * while the mm runs: every lock is taken by trylock, so a slice whose lock is held (by another CPU,
 * or by the code this tick interrupted) is skipped and retried on the next call (cur->busy counts
 * them), and other CPUs' lockless per-CPU lists are walked only when cur->all_cpus says they stand
 * still. Returns 0 (checked, or skipped), -MM_ECORRUPT with the broken invariant in *@rep (may be
 * NULL; the cursor stays, so the next call checks the slice again), or -MM_EINVAL (reported as
 * misuse) for a NULL or damaged cursor or a bad @pages. Before the page allocator runs there is
 * nothing to check: each call is an empty cycle.
 */
int mm_check_step(struct mm_check_cursor *cur, unsigned long pages, struct mm_check_report *rep);

/** Can a cycle of mm_check_step see a broken @invariant (a name mm_check reports)? False for the
 * whole-machine ones above, and for page.refcount, which names both a per-block check the step
 * makes and an over-all-mms one it cannot. */
bool mm_check_step_sees(const char *invariant);

/* ---- misuse reports ---- */

enum mm_misuse_kind {
    MM_MISUSE_NONE = 0,
    MM_MISUSE_DOUBLE_FREE,     /* freeing a page that is free already: a free-list head, a
                                  per-CPU list page, or a page inside a free buddy block */
    MM_MISUSE_NOT_ALLOCATED,   /* freeing a reserved page (hole, firmware, early allocation) */
    MM_MISUSE_NOT_HEAD,        /* freeing a tail page of an allocated block */
    MM_MISUSE_WRONG_ORDER,     /* freeing with another order than allocated */
    MM_MISUSE_BAD_ADDRESS,     /* pointer/address outside managed memory or misaligned */
    MM_MISUSE_BAD_ORDER,       /* order > MM_MAX_ORDER */
    MM_MISUSE_BAD_FLAGS,       /* unknown or contradictory gfp bits */
    MM_MISUSE_BAD_REFCOUNT,    /* reference count underflow */
    MM_MISUSE_NOT_READY,       /* API used before init or after the early allocator retired */
    MM_MISUSE_BAD_ARGUMENT,    /* any other invalid argument */
    MM_MISUSE_WRONG_CACHE,     /* kmem_cache_free into another cache than the object's */
    MM_MISUSE_NOT_OBJECT,      /* pointer inside a slab but not at an object start */
    MM_MISUSE_NOT_SLAB,        /* kfree/kmem_cache_free of memory no cache owns */
    MM_MISUSE_REDZONE,         /* a red zone around an object was overwritten */
    MM_MISUSE_USE_AFTER_FREE,  /* a freed object's poison was overwritten */
    MM_MISUSE_FREELIST,        /* a freelist pointer was corrupted or forged */
    MM_MISUSE_CACHE_BUSY,      /* kmem_cache_destroy with live objects */
    MM_MISUSE_SIZE_OVERFLOW,   /* n * size overflows, or a size beyond the largest allocation */
    MM_MISUSE_STILL_MAPPED,    /* freeing the last reference of a page user PTEs still map */
    MM_MISUSE_INTERNAL_OBJECT, /* kfree/kmem_cache_free of the mm's own metadata object */
    MM_MISUSE_OUT_OF_BOUNDS,   /* an access faulted on a KFENCE guard page beside an object */
    MM_MISUSE_DOMAIN,          /* a protection-domain violation: memory of another domain freed
                                  or touched, a revoked grant used, a refused migration */
    MM_NR_MISUSE_KINDS,
};

struct mm_misuse {
    enum mm_misuse_kind kind;
    int err;              /* the code returned to the caller */
    const char *func;     /* the public entry point that detected it */
    uintptr_t addr;       /* the offending pointer or address */
    unsigned long pfn;    /* the page concerned, ~0ul if none */
    uint64_t seq;         /* env_trace_clock() at detection */
    char detail[160];
};

/** Stable name of a misuse kind, e.g. "double-free". */
const char *mm_misuse_name(enum mm_misuse_kind kind);

/** Number of misuses detected since boot, in total and of one kind. */
unsigned long mm_misuse_count(void);
unsigned long mm_misuse_count_kind(enum mm_misuse_kind kind);

/** Copy the most recent misuse report; returns false if none happened since boot. */
bool mm_misuse_last(struct mm_misuse *out);

/** Log level at which misuse reports are printed (default ENV_LOG_ERR). */
void mm_misuse_set_log_level(int level);

#endif /* LEAXOS_MM_H */
