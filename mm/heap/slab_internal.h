/*
 * slab_internal.h - the kmem_cache structure, shared by heap/ and the slab checker.
 *
 *   kmem_cache ─┬─ cpu[c].slab ──> frozen slab: objects on cpu[c].freelist (owner only) and on
 *               │                  slab->freelist (frees from other CPUs, under lock)
 *               ├─ cpu[c].rfree[] ──> remote-free buffer: objects of other slabs freed on CPU c,
 *               │                  not yet returned to their slabs (owner only; returned in a
 *               │                  batch under the lock when it is full, and by slab_flush_cpu)
 *               ├─ partial[n] ──> node n's slabs with free objects (non-empty first, empty at
 *               │                 the tail); a slab is on the list of its pages' node
 *               └─ full    ──> slabs without free objects
 *
 * Locking: cpu[c] is touched only by CPU c with interrupts off (or by a cross-CPU call to c, which
 * runs with c's interrupts off); cpu[c].slab and cpu[c].nr_rfree are also read by other CPUs as
 * hints (slab_flush_all), so they are written with atomic stores. `lock` protects partial, full,
 * nr_* counters, and the freelist/inuse/PG_frozen of every slab of the cache. A frozen slab's
 * inuse is not maintained; it is recomputed when the slab is unfrozen. `lock` is taken inside
 * cross-CPU calls (slab_flush_cb), so it is only ever held with interrupts off: slab_lock/
 * slab_unlock where they may be on. mm_state.heap.lock protects the list of caches.
 * Remote-free buffer: an object in cpu[c].rfree is free but not yet returned: it is on no
 * freelist, its slab's inuse still counts it (so the slab stays on its list and is never
 * discarded meanwhile), and a hardened cache tags it SLAB_STATE_RFREE (a second free of it is a
 * double free; freelist repair leaves it alone). Returning a full buffer (slab_rfree_flush_locked,
 * one lock for the batch; slab_flush_cpu on shrink, destroy and flush calls) links each object
 * onto its slab's freelist and tags it FREE, as every remote free did before the buffer.
 * Order: heap.lock, then a cache's lock, then the physical layer's (zone locks, through page
 * allocation and freeing) and report.lock. Both come after vm.lock (../virtual/vm_lock.c); reclaim
 * takes heap.lock and cache locks under shrink_lock, so no path allocates pages with direct
 * reclaim while holding either (a slab grows outside its cache lock).
 */
#ifndef LEAXOS_SLAB_INTERNAL_H
#define LEAXOS_SLAB_INTERNAL_H

#include "../lib/core.h"
#include "slab.h"

#define KMEM_CACHE_MAGIC   0x6b6d656d63616368ull /* "kmemcach" */
#define SLAB_RZ_BYTE       0xcc
#define SLAB_POISON_BYTE   0x6b
#define SLAB_STATE_FREE    0xf4eef4eeu
#define SLAB_STATE_ALLOC   0xa110ca7eu
#define SLAB_STATE_RFREE   0xf4eeb0ffu /* free, in a CPU's remote-free buffer */
#define SLAB_MIN_PARTIAL   5u    /* least empty slabs a cache keeps before giving pages back */
#define SLAB_MAX_OBJECTS   512u  /* objects per slab (bounds the shuffle and check bitmaps) */
#define SLAB_RZ_MIN        16u   /* minimum red zone on each side (level 2) */
#define SLAB_CANARY        8u    /* level 1: canary bytes checked on each side of an object */
#define SLAB_POISON_SMALL  32u   /* level 1 poisons objects up to this size whole */
#define SLAB_POISON_WORDS  4u    /* level 1: 8-byte poison words per free object */
#define SLAB_RFREE_MAX     32u   /* remote-free buffer entries per CPU and cache (at most) */
#define SLAB_RFREE_BYTES   4096u /* ... and at most this many object bytes (slab_calc_layout) */
#define SLAB_L1_OBJ_OFFSET 32u   /* level 1, alignment <= 32: the object's start in its slot (meta
                                    + canary before it), a constant of the level-1 fast paths */

/*
 * Hardened slots, by level (mm_state.heap.harden_level, fixed at boot):
 *
 *   level 2: [ red zone L >= 16 | object | red zone R >= 16 | meta ]     every byte checked
 *   level 1: [ meta | canary L >= 8 | object | canary R >= 8 ]           checked: the 8 bytes
 *            before the object, 8 at the requested size, the 8 after the object; a free object
 *            keeps poison in its first two words, its last and one at an offset hashed from the
 *            cache secret (whole up to 32 bytes; objects under 8 bytes whole)
 *
 * An allocated object's red zone starts at its requested size: bytes [object_size - slack,
 * object_size) belong to it (kmalloc rounds a request up to its class; ksize() opens them by
 * setting slack to 0). A free object has slack 0. Red-zone bytes are [rz_start, obj_offset) and
 * [obj_offset + object_size - slack, rz_end) of the slot; level 1 keeps only its canaries there.
 */
struct slab_meta {
    uintptr_t next;  /* free: obfuscated freelist pointer; allocated: its mm_state.core.alloc_seq
                        stamp (slab_meta_stamp) */
    uint32_t state;  /* SLAB_STATE_FREE / SLAB_STATE_ALLOC */
    uint16_t cpu;    /* CPU that allocated it */
    uint16_t slack;  /* object_size - requested size (allocated objects; < object_size) */
    uintptr_t site;  /* allocation site */
};

/* slab_owner (boot parameter), unhardened cache: one per object in an array at the end of each
 * slab ([ colour | objects | free | tracks ], object i's the (objects - i)th from the end), so the
 * slots keep their size and alignment; written at allocation, stale once the object is freed. */
struct slab_track {
    uintptr_t site;          /* allocation site */
    unsigned long seq;       /* its mm_state.core.alloc_seq stamp */
};

struct kmem_cache_cpu {
    void *freelist;        /* free objects of `slab` owned by this CPU */
    struct page *slab;     /* active (frozen) slab, or NULL */
    uintptr_t base;        /* its first object start (freelist checks without page_address) */
    unsigned long alloc, free, free_remote; /* free_remote: frees into rfree */
    unsigned long kfence_left; /* allocations until the next KFENCE sample (0 when off: the
                                  decrement wraps, so it never reaches 0 again) */
    unsigned int nr_rfree;     /* entries in rfree (atomic stores: read as a hint elsewhere) */
    void *rfree_last;          /* rfree[nr_rfree - 1], NULL when empty: the double-free test of
                                  the free fast path in one load (mm_check: slab.rfree) */
    struct page *rfree_slab[SLAB_RFREE_MAX]; /* the slab of each buffered object */
    void *rfree[SLAB_RFREE_MAX]; /* remote-free buffer: free objects not yet returned */
} MM_CACHE_ALIGNED;

struct kmem_cache {
    uint64_t magic;
    char name[32];
    unsigned int object_size;  /* requested size */
    unsigned int size;         /* slot stride */
    unsigned int size_shift;   /* size = odd * 2^size_shift */
    uint64_t size_inverse;     /* odd^-1 mod 2^64: the one-multiply object index (slab_calc_inverse) */
    unsigned int align;
    unsigned int obj_offset;   /* object start within the slot (left red zone) */
    unsigned int fp_offset;    /* freelist pointer within the slot */
    unsigned int meta_offset;  /* hardened metadata within the slot */
    int meta_delta;            /* meta_offset - obj_offset: the metadata from the object start */
    unsigned int order;        /* slab = 2^order pages */
    unsigned int min_partial;  /* empty slabs kept on the partial list */
    unsigned int rfree_max;    /* remote-free buffer size: 1..SLAB_RFREE_MAX, by object size */
    unsigned int objects;      /* per slab */
    unsigned int colour_step, colour_count, colour_next;
    unsigned int flags;
    bool hardened;             /* harden_level >= 1: metadata, state tags, checked freelist */
    bool owner;                /* unhardened, slab_owner on: a slab_track per object */
    bool alloc_extra;          /* hardened || owner: the fast path's one test for both */
    unsigned int harden_level; /* 0, 1 (cheap: canaries), 2 (full red zones and poison) */
    unsigned int rz_start;     /* left red zone start within the slot (hardened) */
    unsigned int rz_end;       /* right red zone end within the slot (hardened) */
    unsigned int poison_at[SLAB_POISON_WORDS]; /* level 1: object offsets of the poison words */
    bool harden_fast;          /* level 1, no constructor, object of 16+ bytes at slot offset
                                  SLAB_L1_OBJ_OFFSET: the level-1 fast paths' case (poison: the
                                  words at 0, 8, poison_at[2], poison_at[3]) */
    bool kmalloc;              /* one of the kmalloc size classes */
    gfp_t zone_gfp;            /* zone modifier for slab pages */
    kmem_ctor_t ctor;
    void *ctor_obj;            /* the object whose constructor is running (ksize leaves its slot
                                  alone: the constructor's own shadow state is open) */
    uintptr_t secret;          /* freelist pointer obfuscation key */
    uint64_t rng;              /* freelist shuffle state */

    env_spinlock_t lock;
    struct list_head *partial;  /* [mm_nr_nodes()], by the node of the slab's pages: partial0
                                   on a one-node machine, else the array after cpu[] */
    struct list_head partial0;
    struct list_head full;
    unsigned long nr_slabs, nr_partial, nr_empty, nr_full;
    unsigned long alloc_slow;
    struct list_head list;     /* all caches (mm_state.heap.lock) */
    struct kmem_cache_cpu cpu[]; /* mm_nr_cpus() entries */
};

/* Every slab list of a cache, for walks: partial[0 .. nodes - 1], then full. */
#define SLAB_NR_LISTS (mm_nr_nodes() + 1)

static inline struct list_head *slab_list_at(struct kmem_cache *c, unsigned int i)
{
    return i < mm_nr_nodes() ? &c->partial[i] : &c->full;
}

/** Is @addr inside the KFENCE pool window (false while sampling is off)? The heap's routing test,
 * on its slow paths only: the window is not direct-map memory. */
static inline bool in_kfence_window(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    return a >= mm_state.heap.kfence_start && a < mm_state.heap.kfence_end;
}

/*
 * Flags of a page that may belong to another CPU, read without its lock on purpose. For a pointer
 * the caller owns (an allocated object) the bits slab_lookup tests are stable: PG_head, PG_slab
 * and the order change only when the block is allocated or freed, which cannot happen while one
 * of its objects is live; only PG_frozen in the same word changes meanwhile (under the cache
 * lock). For any other pointer the lookup is best-effort misuse detection anyway.
 */
static inline MM_DATA_RACE uint32_t slab_page_flags_racy_word(const struct page *pg)
{
    return *(const volatile uint32_t *)&pg->flags;
}

/** The slab holding @p when @p lies in the first page of a slab's block (every object of an
 * order-0 slab: kfree's common case), else NULL, reporting nothing (slab_lookup's walk decides). */
static inline struct page *slab_lookup_fast(const void *p)
{
    struct page *pg = virt_to_page(p);
    if (mm_likely(pg != NULL) &&
        (slab_page_flags_racy_word(pg) & (PG_head | PG_slab)) == (PG_head | PG_slab))
        return pg;
    return NULL;
}

/* heap/slab.c */
/** slab_owner: the site and stamp of object @idx of @slab (c->owner only; not instrumented). */
void slab_owner_get(const struct kmem_cache *c, const struct page *slab, unsigned int idx,
                    uintptr_t *site, unsigned long *seq);
void *slab_obj_base(const struct kmem_cache *c, const struct page *slab);
void *slab_slot_of(const struct kmem_cache *c, const void *obj);
long slab_obj_index(const struct kmem_cache *c, const struct page *slab, const void *obj);
void slab_slot_open(const struct kmem_cache *c, void *slot);
void slab_slot_close(const struct kmem_cache *c, void *slot, bool allocated);
/** Decode a stored freelist pointer without validation. */
void *slab_fp_decode(const struct kmem_cache *c, void *obj);
/* What slab_freelist_mark returns when it stops early (the entry is left in *bad). */
#define SLAB_WALK_FOREIGN (-1L) /* an entry is not an object of the slab */
#define SLAB_WALK_REPEAT  (-2L) /* an entry is already marked: on two lists, or the list loops */
/** The one walk of a freelist that the checkers, the leak scan and describe share: set bit i of
 * @mark (SLAB_MAX_OBJECTS bits) for each object i on the list from @head of @slab, reading each
 * link with its slot opened. Returns how many it marked, or a SLAB_WALK_* code. Always ends:
 * every step sets a new bit. The list may be damaged (that is what the callers look for). */
long slab_freelist_mark(const struct kmem_cache *c, const struct page *slab, void *head,
                        uint64_t *mark, void **bad);
/** The same for the remote-free buffers: set bit i of @mark for each object i of @slab in CPU
 * @cpu's buffer (every CPU's when @cpu < 0). Returns how many it marked, or SLAB_WALK_FOREIGN
 * (an entry of @slab that is not an object start of it) or SLAB_WALK_REPEAT (already marked:
 * buffered twice, or also on a freelist), with the entry in *bad. Reads other CPUs' buffers
 * without their owners: meaningful at quiescence or for the caller's own CPU. */
long slab_rfree_mark(const struct kmem_cache *c, const struct page *slab, int cpu, uint64_t *mark,
                     void **bad);
struct slab_meta *slab_meta_of(const struct kmem_cache *c, void *obj);
/** Offset in the slot of the first damaged red-zone byte of @obj (the bytes its level keeps), or
 * -1. Slot must be open. */
long slab_redzone_damage(const struct kmem_cache *c, void *obj);
/** Offset of the first non-poison byte of free object @obj (the bytes its level keeps), or -1.
 * Slot must be open. */
long slab_poison_damage(const struct kmem_cache *c, void *obj);
/** Level 1, object of 8+ bytes: object offset of poison word @i (< SLAB_POISON_WORDS). */
unsigned int slab_poison_word(const struct kmem_cache *c, unsigned int i);

/** Allocate @req bytes (1..object_size; the rest is red zone) from @c (known valid) recording
 * @site. */
void *slab_alloc(struct kmem_cache *c, gfp_t gfp, uintptr_t site, size_t req);
/** As slab_alloc, from a slab of node @nid (>= 0, a node of the machine; see numa.h). */
void *slab_alloc_node(struct kmem_cache *c, gfp_t gfp, uintptr_t site, size_t req, int nid);
/** Bytes of live object @obj its owner may touch (requested size; object_size if not hardened). */
size_t slab_obj_req(struct kmem_cache *c, void *obj);
/** Change the requested size of live object @obj to @req (<= object_size): red zone and shadow
 * follow; a damaged red zone is reported as misuse of @func first. @zero clears grown bytes. */
void slab_obj_resize(struct kmem_cache *c, void *obj, size_t req, bool zero, const char *func);
/** Is object start @obj allocated? Exact when hardened (state tag); without hardening only "not
 * the head of this CPU's freelist, nor the last entry of its remote-free buffer". Reports
 * nothing. */
bool slab_obj_is_live(struct kmem_cache *c, void *obj);
/** 0 if @obj is an allocated object start of @slab, else the reported error of misuse by @func. */
int slab_obj_check_live(struct kmem_cache *c, struct page *slab, void *obj, const char *func);
/** Free @obj of @slab of @c; reports misuse (not an object start, double free, ...). */
int slab_free(struct kmem_cache *c, struct page *slab, void *obj, const char *func);
/** Free @obj into @c, internal caches included: the mm's own frees of its metadata. */
int kmem_cache_free_mm(struct kmem_cache *c, void *obj);
/** Report a free of mm-internal object @obj of @c from outside (by @func); returns -MM_EINVAL. */
int slab_reject_internal(const struct kmem_cache *c, const void *obj, const char *func);
/** The slab holding @p or NULL; *head_out = its block head (NULL if @p is not managed memory,
 * which is reported as misuse of @func unless @func is NULL). */
struct page *slab_lookup(const void *p, const char *func, struct page **head_out);
unsigned long slab_shrink_count(struct shrinker *s, struct shrink_control *sc);
unsigned long slab_shrink_scan(struct shrinker *s, struct shrink_control *sc);

/* heap/slab.c, called by init and checks */
int slab_early_init(void);
int slab_init(void);
/** Slab invariants; @slab_blocks = PG_slab block heads the page walk found. */
int slab_check(struct mm_check_report *rep, unsigned long slab_blocks);

/* Take @c's lock with interrupts off (see Locking above); returns the state for slab_unlock. */
static inline unsigned long slab_lock(struct kmem_cache *c)
{
    unsigned long irq = env_irq_save();
    env_spin_lock(&c->lock);
    return irq;
}

static inline void slab_unlock(struct kmem_cache *c, unsigned long irq)
{
    env_spin_unlock(&c->lock);
    env_irq_restore(irq);
}

#endif /* LEAXOS_SLAB_INTERNAL_H */
