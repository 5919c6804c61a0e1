/*
 * slab.h - SLUB-style object caches and kmalloc.
 *
 * A cache hands out objects of one size from slabs (blocks of 2^order pages owned by the cache).
 * Each CPU has an active slab whose freelist it pops and pushes with interrupts off and no lock;
 * frees from other CPUs and partial slabs go through the cache's lock. Empty slabs are kept up to
 * a small minimum and given back under memory pressure (a shrinker).
 *
 * Hardening comes in levels (boot parameters mm_boot_params.slab_harden_level / slab_hardened, see
 * mm.h MM_SLAB_HARDEN_*), as Linux splits SLAB_FREELIST_HARDENED + init_on_free from slub_debug.
 * Both hardened levels:
 *   - store freelist pointers as ptr ^ cache secret ^ address-of-slot and validate them when
 *     followed (a free object start of the same slab), so a forged or corrupted pointer is
 *     reported, not followed
 *   - keep a state tag per object: double frees are caught exactly; frees of interior pointers,
 *     of other caches' objects and of memory no cache owns are caught at every level
 *
 * Level 1 (cheap; for production):
 *   slot: [ meta: next ptr, state, site | canary 8 | object (object_size) | canary 8 ]
 *   - an 8-byte canary before the object, checked at allocation and free, and one at the
 *     requested size (kmalloc: inside the class; else the one after the object), checked at free:
 *     a linear overflow or underflow by 1..8 bytes is caught, a write further into the class is not
 *   - a free object keeps poison in 4 words (the first two, the last, one at an offset hashed from
 *     the cache secret; objects up to 32 bytes whole), checked at its next allocation: a write after free to
 *     them is caught, one elsewhere in a large object is not
 *   - freelists stay in address order
 * Level 2 (full; for fuzzing and debugging):
 *   slot: [ red zone L >= 16 | object (object_size) | red zone R >= 16 | meta ]
 *   - every red-zone byte (from the requested size) is checked at allocation and free; freed
 *     objects are filled with poison, every byte checked at the next allocation
 *   - new slabs get a freelist in a randomised (seeded, deterministic) order
 * Without hardening (level 0) an object slot is just the object (rounded to its alignment) with
 * the freelist pointer stored inside the free object; a double free is caught only when the
 * object heads its CPU's freelist.
 *
 * Misuse is reported through mm_report_misuse (see mm.h) naming the cache and the object, and the
 * heap stays consistent: a rejected free changes nothing, damaged red zones and poison are
 * repaired after the report.
 */
#ifndef LEAXOS_SLAB_H
#define LEAXOS_SLAB_H

#include "mm_common.h"
#include "page_alloc.h"

struct kmem_cache;

/* kmem_cache_create flags */
#define SLAB_HWCACHE_ALIGN  0x0001u /* align objects to the cache line */
#define SLAB_CACHE_DMA      0x0002u /* slabs come from ZONE_DMA */
#define SLAB_NO_MERGE       0x0004u /* (accepted for compatibility; caches are never merged) */
#define SLAB_VALID_FLAGS    0x0007u
/* Not for callers outside the mm: its own metadata caches (cache descriptors, VMAs, vmap areas).
 * kfree and kmem_cache_free refuse their objects (MM_MISUSE_INTERNAL_OBJECT), kmem_cache_destroy
 * the cache; the mm frees them with kmem_cache_free_mm. */
#define SLAB_MM_INTERNAL    0x8000u

/** Largest object a cache may hold (objects above go to the page allocator via kmalloc). */
#define SLAB_MAX_OBJECT_SIZE  (64u << 10)
/** Largest kmalloc size class; larger kmalloc requests take whole pages, up to MM_MAX_ORDER. */
#define KMALLOC_MAX_CACHE_SIZE 8192u
#define KMALLOC_MAX_SIZE       ((size_t)PAGE_SIZE << MM_MAX_ORDER)
#define KMALLOC_MIN_ALIGN      8u

typedef void (*kmem_ctor_t)(void *obj);

/**
 * What kmalloc(0) returns, as in Linux: not NULL (so a zero-size request is not mistaken for
 * exhaustion), inside the never-mapped first page (so any dereference faults), and accepted by
 * kfree, ksize (0) and krealloc (as NULL).
 */
#define ZERO_SIZE_PTR ((void *)16)
#define ZERO_OR_NULL_PTR(x) ((uintptr_t)(x) <= (uintptr_t)ZERO_SIZE_PTR)

/**
 * Create a cache of @size-byte objects aligned to @align (0 = 8; must be a power of two <=
 * PAGE_SIZE). @ctor, if set, initialises each object once when its slab is created (objects must
 * be returned to that state before being freed). @name is copied (up to 31 chars).
 * Returns NULL (reported as misuse) for size 0 or above SLAB_MAX_OBJECT_SIZE, a bad alignment,
 * unknown flags or a NULL name; NULL without a report when memory is exhausted.
 */
struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
                                     unsigned int flags, kmem_ctor_t ctor);

/**
 * Destroy @c. Returns 0, or -MM_EBUSY if objects are still allocated (each one reported with its
 * allocation site when hardening is on; the cache stays usable), -MM_EINVAL for an unknown cache.
 */
int kmem_cache_destroy(struct kmem_cache *c);

/** Allocate an object; NULL on exhaustion or misuse (bad cache, bad gfp). */
void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp);
void *kmem_cache_zalloc(struct kmem_cache *c, gfp_t gfp);

/**
 * Free @obj into @c. Returns 0 (also for NULL), or -MM_EINVAL after reporting: the pointer is not
 * an object start, belongs to another cache (wrong cache), to no cache, or is already free
 * (double free), or @c is one of the mm's own metadata caches (SLAB_MM_INTERNAL). A damaged red zone is reported (MM_MISUSE_REDZONE) and repaired; the free then
 * proceeds and returns 0.
 */
int kmem_cache_free(struct kmem_cache *c, void *obj);

/** Give back every empty slab of @c (flushing per-CPU slabs). Returns the pages freed. */
unsigned long kmem_cache_shrink(struct kmem_cache *c);

/**
 * Shrink every cache, the cache of caches and the kmalloc caches included: flush every CPU's
 * active slab and give back every empty slab. Returns the pages freed.
 */
unsigned long kmem_cache_shrink_all(void);

/**
 * Walk every slab of @c checking red zones and free-object poison (hardened caches: the bytes
 * their level keeps); each damaged
 * object is reported (MM_MISUSE_REDZONE / MM_MISUSE_USE_AFTER_FREE) and repaired. Returns the
 * number of damaged objects found.
 */
unsigned long kmem_cache_validate(struct kmem_cache *c);

/** Object size the cache was created with, and the cache's name. */
size_t kmem_cache_size(const struct kmem_cache *c);
const char *kmem_cache_name(const struct kmem_cache *c);

/* ---- kmalloc ---- */

/**
 * Allocate @size bytes (size classes 8..8192: powers of two plus 96 and 192; __GFP_DMA uses the
 * DMA caches; larger sizes take 2^order pages). Only @size bytes are the caller's: the rest of
 * the class is a red zone (hardened: checked at free; sanitizer shadow: poisoned) until ksize().
 * Returns ZERO_SIZE_PTR for size 0 (no report); NULL for a size above KMALLOC_MAX_SIZE
 * (reported) or on exhaustion.
 */
void *kmalloc(size_t size, gfp_t gfp);
void *kzalloc(size_t size, gfp_t gfp);
/** n * size bytes, NULL (reported as misuse) if the product overflows. */
void *kmalloc_array(size_t n, size_t size, gfp_t gfp);
void *kcalloc(size_t n, size_t size, gfp_t gfp);

/**
 * Resize @p to @new_size keeping its contents (up to the smaller size). krealloc(NULL or
 * ZERO_SIZE_PTR, n) is kmalloc; krealloc(p, 0) frees @p and returns ZERO_SIZE_PTR. Returns NULL
 * with @p untouched on exhaustion, and NULL after reporting (nothing copied, nothing freed) when
 * @p is not a live kmalloc object: not an object start (MM_MISUSE_NOT_OBJECT), freed already
 * (MM_MISUSE_DOUBLE_FREE), not kmalloc memory (MM_MISUSE_NOT_SLAB). Within its class the object
 * stays in place and its red zone moves to @new_size.
 */
void *krealloc(const void *p, size_t new_size, gfp_t gfp);

/**
 * Usable size of a kmalloc'd object (its size class, or the whole page block), 0 for NULL,
 * ZERO_SIZE_PTR or a pointer kmalloc doesn't own (no report). As in Linux it gives the caller the
 * whole class: the requested-size red zone of a live object is opened (metadata and shadow).
 * Without hardening the mm cannot tell a freed object from a live one, so ksize of a freed one
 * opens its shadow too.
 */
size_t ksize(const void *p);

/**
 * Free a kmalloc'd object. kfree(NULL) and kfree(ZERO_SIZE_PTR) are no-ops returning 0. An
 * object of the mm's own metadata (SLAB_MM_INTERNAL: a live kmem_cache, a VMA, a vmap area) is
 * refused with -MM_EINVAL (MM_MISUSE_INTERNAL_OBJECT). Returns -MM_EINVAL / -MM_EFAULT
 * after reporting: pointer not from kmalloc (page-allocator pages, a non-kmalloc cache's object is
 * accepted as in Linux), not an object start, no owner, or double free.
 */
int kfree(const void *p);

/* ---- statistics ---- */

struct slab_cache_stats {
    char name[32];
    size_t object_size;     /* requested size */
    size_t slot_size;       /* bytes per object in the slab, including red zones and metadata */
    unsigned int align;
    unsigned int order;     /* slab size 2^order pages */
    unsigned int objs_per_slab;
    unsigned long active_objs, total_objs;
    unsigned long active_slabs, total_slabs; /* slabs holding objects / all slabs */
    unsigned long mem_bytes;     /* pages held by the cache */
    unsigned long waste_bytes;   /* mem_bytes - active_objs * object_size */
    unsigned long alloc, free, alloc_slow, free_remote;
    bool hardened;
    bool owner;             /* unhardened with slab_owner (mm.h): objects keep a site and a stamp */
};

/** Fill stats for up to @max caches (creation order); returns the number of caches. */
unsigned int slab_get_stats(struct slab_cache_stats *out, unsigned int max);

/** Print slabinfo-style lines through env_log at @level. */
void slab_show(int level);

/** Pages currently held by all caches. */
unsigned long slab_nr_pages(void);

/* ---- KFENCE: sampled guarded allocations ---- */

/*
 * With mm_boot_params.kfence_interval = N (0: off), every N-th allocation of a slab cache on a CPU
 * (a deterministic per-CPU, per-cache counter; the mm's own metadata caches, DMA caches and
 * objects above a page are never sampled) is
 * served from a small pool of pages in the kernel virtual range, one object per page, each page
 * between two guard pages that are never mapped:
 *
 *   [guard][obj 0][guard][obj 1][guard] ... [obj KFENCE_NR_OBJECTS-1][guard]
 *
 * The object sits against the right guard or the left one, alternately, so an access past either
 * end faults at once (the bytes between the object and the page edge, at most its alignment on
 * the guarded side, are canary bytes checked at free). A freed object's page is unmapped at the
 * free, so a use after free faults too; freed pages are reused in FIFO order (the longest-freed
 * first). kfree, ksize, krealloc and kmem_cache_free accept sampled objects; double, interior and
 * wrong-cache frees of them are reported. When every object is in use the allocation falls back
 * to the cache. The pool's pages are one block, so on one node: an allocation for another node
 * (kmem_cache_alloc_node, kmalloc_node) is not sampled, nor one with __GFP_THISNODE on a machine
 * of several nodes (as Linux), so a node allocation's object is always on the node it asked for.
 *
 * A fault in the pool is reported by kfence_handle_fault, which the environment's fault path calls
 * (the kernel's #PF handler; the hosted machine's kernel-access probe): out-of-bounds
 * (MM_MISUSE_OUT_OF_BOUNDS) or use-after-free (MM_MISUSE_USE_AFTER_FREE), naming the object, its
 * cache, its allocation site and the offset from the object start.
 */
#define KFENCE_NR_OBJECTS 16u

/**
 * A kernel-mode fault at @addr (@write: a write access): if it lies in the KFENCE pool, report it
 * (out-of-bounds or use-after-free of the nearest object) and return true; else false, nothing
 * reported. Any context; the caller decides what happens to the faulting access.
 */
bool kfence_handle_fault(uintptr_t addr, bool write);

/** Is @p in the KFENCE pool (an object page or a guard page)? False while sampling is off. */
bool is_kfence_address(const void *p);

struct kfence_stats {
    unsigned int interval;       /* boot parameter (0: off) */
    unsigned int nr_objects;     /* pool slots (0 until kfence_init succeeded) */
    unsigned int nr_live;        /* slots holding an allocated object */
    unsigned long nr_alloc;      /* sampled allocations served */
    unsigned long nr_fallback;   /* samples the full pool sent back to the cache */
    unsigned long nr_fault;      /* faults reported */
};

/** Fill @st (NULL is ignored). */
void kfence_get_stats(struct kfence_stats *st);

#endif /* LEAXOS_SLAB_H */
