/*
 * slab_common.h - the shadow model shared by the "slab" and "misuse" fuzz targets: caches the
 * harness created, the objects it holds (with content tokens), freed pointers ("graves"), the
 * valid-traffic ops and the per-op checks. Freestanding-clean (mm headers + fuzz_platform).
 *
 * Objects:   live[]   oldest first; "h=K" picks live[K % nr_live] (ops that need a kind scan on)
 *            kinds:   SC_CACHE  object of a cache the harness created (kmem_cache_alloc)
 *                     SC_SLAB   kmalloc object served by a kmalloc size-class cache
 *                     SC_LARGE  kmalloc object above KMALLOC_MAX_CACHE_SIZE (2^order pages)
 * Caches:    cache[]  slots of caches the harness created; "c=K" picks the K-th live one
 *            known[]  every cache pointer seen (created ones, kmalloc caches objects came from,
 *                     the cache of caches): targets of shrink / validate / wrong-cache
 * Graves:    pointers freed by the harness, dropped when an allocation hands the address out
 *            again (misuse double-free re-checks the page state before using one).
 *
 * Content token: every object carries a pattern derived from its tag (allocation number) over
 * the requested size (the whole object up to 1 KiB, else its first and last 64 bytes and 8
 * 16-byte windows in between), written at allocation, verified at free, on "check" and every
 * SC_VERIFY_EVERY ops. Objects of a constructor cache come back constructed (verified) and are
 * put back into the constructed state before they are freed.
 */
#ifndef LEAXOS_FUZZ_SLAB_COMMON_H
#define LEAXOS_FUZZ_SLAB_COMMON_H

#include "fuzz_target.h"

#define SC_MAX_LIVE     256
#define SC_MAX_CACHES   16
#define SC_MAX_KNOWN    64
#define SC_MAX_GRAVES   64
#define SC_MAX_STATS    96
#define SC_VERIFY_EVERY 16

enum sc_kind { SC_CACHE, SC_SLAB, SC_LARGE };

struct sc_obj {
    uint8_t *p;
    size_t req;                 /* requested size */
    uint32_t tag;
    uint8_t kind;               /* enum sc_kind */
    int8_t slot;                /* cache[] slot of SC_CACHE objects, else -1 */
    uint8_t order;              /* SC_LARGE: block order */
    struct kmem_cache *kc;      /* owning cache (SC_CACHE, SC_SLAB) */
};

struct sc_cache {
    bool used, ctor, dma;
    struct kmem_cache *kc;
    uint32_t id;
    size_t size, align;         /* align: the effective alignment objects must have */
    uint32_t nlive;
};

struct sc_grave {
    uint8_t *p;
    struct kmem_cache *kc;      /* NULL: a large kmalloc block */
    uint8_t order;
};

struct sc_state {
    struct fuzz_machine m;
    struct fuzz_layout layout;
    struct sc_obj live[SC_MAX_LIVE];
    uint32_t nr_live;
    struct sc_cache cache[SC_MAX_CACHES];
    uint32_t next_cache_id;
    struct kmem_cache *known[SC_MAX_KNOWN];
    uint32_t nr_known;
    struct sc_grave grave[SC_MAX_GRAVES];
    uint32_t nr_grave;
    uint32_t next_tag;
    unsigned long held_pages;       /* pages of SC_LARGE objects and transient page blocks */
    unsigned long boot_sum;         /* page_alloc_nr_free() + slab_nr_pages() at boot */
    unsigned long boot_slab_pages;
    unsigned long misuse_expected;
    unsigned int boot_nr_caches;
    char boot_name[SC_MAX_STATS][32];
    uint64_t boot_hash[SC_MAX_STATS];   /* sc_name_hash of boot_name */
    unsigned long boot_active[SC_MAX_STATS];
    unsigned int cpu;
    bool inject_used;
    bool inplace;                   /* sc_take of a block krealloc kept in place */
};

extern struct sc_state slab_fz;

_Noreturn void sc_fail(const char *fmt, ...) MM_PRINTF(1, 2);
#define SC_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)

/** Reset the model and boot the machine the engine decoded into slab_fz.m at slab hardening
 * level @level (0, 1, 2), KFENCE sampling @kfence_interval (0: off), slab_owner (mm.h). */
void sc_boot(unsigned int level, unsigned int kfence_interval, bool slab_owner);
/** Execute one valid-traffic op (returns false if @op is not one of them). */
bool sc_exec_valid(const struct fuzz_op *op);
/** Checks after every op (deep: full patterns + stats). */
void sc_check_all(bool deep);
/** Free everything, destroy every cache, check conservation. */
void sc_teardown(void);
/** mm_leak_scan with live[] as the root (registered by sc_boot): any leak fails the input; then
 * a cycle of mm_check_step must pass (fz_step_disagrees). */
void sc_leak_check(void);

/* helpers for the misuse target */
struct page *sc_head(const void *p);
struct sc_obj *sc_pick(uint32_t h, unsigned int kinds_mask);
struct sc_cache *sc_pick_cache(uint32_t c);
void sc_verify(const char *who, const struct sc_obj *o, bool full);
void sc_fill(const struct sc_obj *o);
void sc_restore_ctor(const struct sc_obj *o);
void sc_forget(struct sc_obj *o);           /* drop from live[] after a free; adds a grave */
void sc_take(uint8_t *p, size_t req, gfp_t gfp, enum sc_kind kind, int slot, bool zero);
void sc_known_add(struct kmem_cache *kc);
void sc_grave_drop(uint32_t i);
struct kmem_cache *sc_cache_of(const void *p);
/* Class size of a slab object start (whole block of a large one; 0 for anything else) without
 * opening its requested-size red zone, which ksize() would do: the harness must not hide
 * overflows past the request. */
size_t sc_usable(const void *p);

#endif /* LEAXOS_FUZZ_SLAB_COMMON_H */
