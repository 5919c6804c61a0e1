/*
 * slab.c - SLUB-style object caches: layout, slab creation, the per-CPU fast paths, the locked
 * slow paths, hardening checks, shrinking and destruction. See slab.h for the contract and
 * slab_internal.h for the data structure and its locking.
 *
 * Object states (hardened caches keep one in each object's metadata):
 *   FREE   on exactly one freelist: its CPU's (frozen slab) or its slab's; poison intact (all of
 *          it at level 2, its 4 words at level 1) unless written after free
 *   RFREE  freed on a CPU whose active slab is another one: in that CPU's remote-free buffer, on
 *          no freelist, still counted in its slab's inuse; poison intact as for FREE
 *   ALLOC  on no freelist; red zones intact (level 1: its canaries) unless the owner overflowed
 * The hardening level is fixed per cache at creation (mm_state.heap.harden_level, from boot);
 * slab_internal.h draws each level's slot.
 * Under a sanitizer shadow every slot stays poisoned except allocated objects; the allocator opens
 * a slot (unpoison) for the few instructions that read or write its metadata and closes it again.
 */
#include "../physical/phys_internal.h"
#include "slab_internal.h"

/* ---- slot geometry and metadata access ---- */

void *slab_obj_base(const struct kmem_cache *c, const struct page *slab)
{
    return (char *)page_address(slab) + slab->colour;
}

static void *slab_obj_at(const struct kmem_cache *c, const struct page *slab, unsigned int i)
{
    return (char *)slab_obj_base(c, slab) + (size_t)i * c->size + c->obj_offset;
}

void *slab_slot_of(const struct kmem_cache *c, const void *obj)
{
    return (char *)obj - c->obj_offset;
}

/* Index of the object at byte offset @off from a slab's first object start, or a value >=
 * c->objects when @off is not an object start (not a multiple of size, past the last object, or
 * "negative": below the first object the subtraction wraps). One multiply, no division: see
 * slab_calc_inverse for why the test is exact. */
static MM_ALWAYS_INLINE uint64_t slab_index_of_offset(const struct kmem_cache *c, uint64_t off)
{
    uint64_t x = off * c->size_inverse;
    unsigned int k = c->size_shift;
    return (x >> k) | (x << ((64 - k) & 63));
}

/** Index of @obj in @slab, or -1 if it is not an object start of that slab. */
long slab_obj_index(const struct kmem_cache *c, const struct page *slab, const void *obj)
{
    uintptr_t base = (uintptr_t)slab_obj_base(c, slab) + c->obj_offset;
    uint64_t idx = slab_index_of_offset(c, (uintptr_t)obj - base);
    return idx < c->objects ? (long)idx : -1;
}

void slab_slot_open(const struct kmem_cache *c, void *slot)
{
    if (env_shadow_enabled)
        env_unpoison(slot, c->size);
}

struct slab_meta *slab_meta_of(const struct kmem_cache *c, void *obj)
{
    return (struct slab_meta *)((char *)obj + c->meta_delta);
}

/* Bytes at the end of hardened object @obj beyond its requested size (slot open); 0 unless it is
 * allocated, and never the whole object, whatever the metadata holds. */
static unsigned int slab_slack_of(const struct kmem_cache *c, void *obj)
{
    const struct slab_meta *m = slab_meta_of(c, obj);
    return m->state == SLAB_STATE_ALLOC && m->slack < c->object_size ? m->slack : 0;
}

void slab_slot_close(const struct kmem_cache *c, void *slot, bool allocated)
{
    if (!env_shadow_enabled)
        return;
    char *obj = (char *)slot + c->obj_offset;
    size_t open = !allocated ? 0 : c->object_size - (c->hardened ? slab_slack_of(c, obj) : 0);
    env_poison(slot, c->size, ENV_POISON_REDZONE);
    if (open)
        env_unpoison(obj, open);
}

/* slab_owner: the track of object @idx of @slab, in the array at the slab's end. */
static struct slab_track *slab_track_at(const struct kmem_cache *c, const struct page *slab,
                                        unsigned int idx)
{
    char *end = (char *)page_address(slab) + (PAGE_SIZE << c->order);
    return (struct slab_track *)end - (c->objects - idx);
}

__attribute__((no_sanitize("address", "kernel-address"))) void
slab_owner_get(const struct kmem_cache *c, const struct page *slab, unsigned int idx,
               uintptr_t *site, unsigned long *seq)
{
    const volatile struct slab_track *t = slab_track_at(c, slab, idx);
    *site = t->site;
    *seq = t->seq;
}

/* slab_owner: a new slab's tracks start empty (no site, no stamp). */
__attribute__((no_sanitize("address", "kernel-address"))) static void
slab_owner_clear(const struct kmem_cache *c, const struct page *slab)
{
    for (unsigned int i = 0; i < c->objects; i++) {
        volatile struct slab_track *t = slab_track_at(c, slab, i);
        t->site = 0;
        t->seq = 0;
    }
}

static uintptr_t *slab_fp_addr(const struct kmem_cache *c, void *obj)
{
    return (uintptr_t *)((char *)slab_slot_of(c, obj) + c->fp_offset);
}

/* A hardened freelist link stored at @where is the pointer XOR this (encode and decode alike). */
static MM_ALWAYS_INLINE uintptr_t slab_fp_mask(const struct kmem_cache *c, const uintptr_t *where)
{
    return c->secret ^ (uintptr_t)where;
}

static uintptr_t slab_fp_encode(const struct kmem_cache *c, void *next, uintptr_t *where)
{
    return c->hardened ? (uintptr_t)next ^ slab_fp_mask(c, where) : (uintptr_t)next;
}

void *slab_fp_decode(const struct kmem_cache *c, void *obj)
{
    uintptr_t *where = slab_fp_addr(c, obj);
    uintptr_t v = *where;
    return (void *)(c->hardened ? v ^ slab_fp_mask(c, where) : v);
}

long slab_freelist_mark(const struct kmem_cache *c, const struct page *slab, void *head,
                        uint64_t *mark, void **bad)
{
    long n = 0;
    for (void *o = head; o; n++) {
        long i = slab_obj_index(c, slab, o);
        if (i < 0 || (mark[i / 64] & (1ull << (i % 64)))) {
            *bad = o;
            return i < 0 ? SLAB_WALK_FOREIGN : SLAB_WALK_REPEAT;
        }
        mark[i / 64] |= 1ull << (i % 64);
        void *slot = slab_slot_of(c, o);
        slab_slot_open(c, slot);
        o = slab_fp_decode(c, o);
        slab_slot_close(c, slot, false);
    }
    return n;
}

/* Store @next as @obj's freelist successor (slot of a free object; opens/closes it). */
static void slab_fp_set(const struct kmem_cache *c, void *obj, void *next)
{
    void *slot = slab_slot_of(c, obj);
    slab_slot_open(c, slot);
    uintptr_t *where = slab_fp_addr(c, obj);
    *where = slab_fp_encode(c, next, where);
    slab_slot_close(c, slot, false);
}

static void *slab_fp_get(const struct kmem_cache *c, void *obj)
{
    void *slot = slab_slot_of(c, obj);
    slab_slot_open(c, slot);
    void *next = slab_fp_decode(c, obj);
    slab_slot_close(c, slot, false);
    return next;
}

/*
 * Offset of the first byte of [p, p+n) that is not @byte, or -1. The common all-intact case is
 * one branch-free pass over 8-byte words (which the compiler vectorises); only damage pays for
 * the byte search that locates it.
 */
static long slab_first_mismatch(const unsigned char *p, size_t n, unsigned char byte)
{
    const uint64_t pat = 0x0101010101010101ull * byte;
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        __builtin_memcpy(&w, p + i, 8);
        diff |= w ^ pat;
    }
    for (; i < n; i++)
        diff |= (uint64_t)(p[i] ^ byte);
    if (mm_likely(!diff))
        return -1;
    for (i = 0; i < n; i++)
        if (p[i] != byte)
            return (long)i;
    return -1;
}

/* Slot offset of the first byte of [off, off + n) of @slot that is not @byte, or -1. */
static long slab_range_damage(const unsigned char *slot, unsigned int off, size_t n,
                              unsigned char byte)
{
    long d = slab_first_mismatch(slot + off, n, byte);
    return d >= 0 ? d + off : -1;
}

long slab_redzone_damage(const struct kmem_cache *c, void *obj)
{
    const unsigned char *slot = slab_slot_of(c, obj);
    unsigned int req_end = c->obj_offset + c->object_size - slab_slack_of(c, obj);
    long off;
    if (c->harden_level >= 2) {
        off = slab_range_damage(slot, c->rz_start, c->obj_offset - c->rz_start, SLAB_RZ_BYTE);
        return off >= 0 ? off : slab_range_damage(slot, req_end, c->rz_end - req_end, SLAB_RZ_BYTE);
    }
    off = slab_range_damage(slot, c->obj_offset - SLAB_CANARY, SLAB_CANARY, SLAB_RZ_BYTE);
    if (off < 0)
        off = slab_range_damage(slot, req_end, SLAB_CANARY, SLAB_RZ_BYTE);
    if (off < 0)
        off = slab_range_damage(slot, c->obj_offset + c->object_size, SLAB_CANARY, SLAB_RZ_BYTE);
    return off;
}

/* Level 1 keeps SLAB_POISON_WORDS poison words of a free object of 8+ bytes (slab_internal.h). */
static bool slab_poison_sparse(const struct kmem_cache *c)
{
    return c->harden_level < 2 && c->object_size >= 8;
}

unsigned int slab_poison_word(const struct kmem_cache *c, unsigned int i)
{
    return c->poison_at[i];
}

long slab_poison_damage(const struct kmem_cache *c, void *obj)
{
    if (c->ctor)
        return -1; /* constructed objects keep their state while free */
    if (!slab_poison_sparse(c))
        return slab_first_mismatch(obj, c->object_size, SLAB_POISON_BYTE);
    for (unsigned int i = 0; i < SLAB_POISON_WORDS; i++) {
        long off = slab_range_damage(obj, c->poison_at[i], 8, SLAB_POISON_BYTE);
        if (off >= 0)
            return off;
    }
    return -1;
}

/* Poison free object @obj (the bytes its level keeps). */
static void slab_poison_fill(const struct kmem_cache *c, void *obj)
{
    if (!slab_poison_sparse(c)) {
        memset(obj, SLAB_POISON_BYTE, c->object_size);
        return;
    }
    const uint64_t pat = 0x0101010101010101ull * SLAB_POISON_BYTE;
    for (unsigned int i = 0; i < SLAB_POISON_WORDS; i++)
        __builtin_memcpy((char *)obj + c->poison_at[i], &pat, 8);
}

/* Red zone at the requested size @req of live object @obj: level 2 fills the rest of the class,
 * level 1 its canary (the 8 bytes at @req; they may reach into the canary after the object). */
/* Level 1: the canary at @at (one 8-byte store). */
static MM_ALWAYS_INLINE void slab_canary_put(void *at)
{
    const uint64_t pat = 0x0101010101010101ull * SLAB_RZ_BYTE;
    __builtin_memcpy(at, &pat, SLAB_CANARY);
}

static void slab_redzone_set_req(const struct kmem_cache *c, void *obj, size_t req)
{
    if (c->harden_level < 2)
        slab_canary_put((char *)obj + req);
    else
        memset((char *)obj + req, SLAB_RZ_BYTE, c->object_size - req);
}

static void slab_redzone_fill(const struct kmem_cache *c, void *obj)
{
    unsigned char *slot = slab_slot_of(c, obj);
    unsigned int req_end = c->obj_offset + c->object_size - slab_slack_of(c, obj);
    unsigned int obj_end = c->obj_offset + c->object_size;
    memset(slot + c->rz_start, SLAB_RZ_BYTE, c->obj_offset - c->rz_start);
    if (c->harden_level >= 2) {
        memset(slot + req_end, SLAB_RZ_BYTE, c->rz_end - req_end);
        return;
    }
    memset(slot + req_end, SLAB_RZ_BYTE, SLAB_CANARY);
    memset(slot + obj_end, SLAB_RZ_BYTE, c->rz_end - obj_end);
}

/* ---- random numbers (seeded; deterministic for a given boot seed) ---- */

static uint64_t slab_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- cache layout ---- */

static unsigned int slab_pick_order(unsigned int size)
{
    for (unsigned int order = 0; order <= MM_MAX_ORDER; order++) {
        uint64_t bytes = PAGE_SIZE << order;
        uint64_t objs = bytes / size;
        if (objs == 0)
            continue;
        uint64_t waste = bytes - objs * size;
        if ((objs >= 8 || bytes >= (32u << 10)) && waste * 8 <= bytes)
            return order;
        if (order >= 3 && objs >= 1 && waste * 4 <= bytes)
            return order;
    }
    return MM_MAX_ORDER;
}

/*
 * Level 1's poison words of a free object of 8+ bytes (slab_internal.h). Up to SLAB_POISON_SMALL
 * bytes they cover the object (the last may overlap its neighbour). Above: the first two words
 * (on the cache line of the metadata), the last (beside the canary after the object) and one at
 * an 8-aligned offset hashed from the cache secret: a write after free is caught where it most
 * often lands, the start or the end, and elsewhere only by chance (level 2 checks every byte).
 * Each word on a line of its own costs a cache miss per reuse of a cold object, so there is one.
 * The secret is set before the layout.
 */
static void slab_calc_poison_words(struct kmem_cache *c)
{
    unsigned int size = c->object_size, last = size >= 8 ? size - 8 : 0;
    for (unsigned int i = 0; i < SLAB_POISON_WORDS; i++)
        c->poison_at[i] = MM_MIN(8 * i, last);
    if (size <= SLAB_POISON_SMALL)
        return;
    unsigned int mask = ((1u << mm_ilog2(size - 8)) - 1) & ~7u; /* offset + 8 <= size */
    c->poison_at[1] = 8;
    c->poison_at[2] = (unsigned int)(c->secret >> 8) & mask;
    c->poison_at[3] = last;
}

/* c->harden_fast, once the level, constructor and poison words are known (from 16 bytes on,
 * words 0 and 1 are at 0 and 8 whatever the size). */
static void slab_calc_harden_fast(struct kmem_cache *c)
{
    c->harden_fast = c->harden_level == 1 && !c->ctor && c->object_size >= 16 &&
                     c->obj_offset == SLAB_L1_OBJ_OFFSET;
}

/*
 * The exact-division test of slab_index_of_offset: size = odd * 2^k, and inv = odd^-1 mod 2^64. For any
 * 64-bit offset n, rotr(n * inv, k) is n / size when size divides n, and at least
 * (2^(64-k) - 1) / odd otherwise: nonzero low k bits end up at the top, and n -> n * inv is a
 * bijection that maps the multiples of odd onto [0, (2^(64-k) - 1) / odd] (as their quotients),
 * so every non-multiple lands above. One multiply and a rotate give an index below `objects`
 * exactly for object starts (an offset below the base wraps to a huge n: not one).
 */
static void slab_calc_inverse(struct kmem_cache *c)
{
    unsigned int k = (unsigned int)__builtin_ctz(c->size);
    uint64_t odd = c->size >> k, inv = odd; /* correct to 3 bits: odd * odd = 1 mod 8 */
    for (int i = 0; i < 5; i++)
        inv *= 2 - odd * inv;               /* Newton: doubles the correct bits, 3 -> 96 */
    c->size_shift = k;
    c->size_inverse = inv;
}

static void slab_calc_layout(struct kmem_cache *c, size_t size, size_t align)
{
    c->object_size = (unsigned int)size;
    c->align = (unsigned int)align;
    if (!c->hardened) {
        c->obj_offset = 0;
        c->fp_offset = c->ctor ? (unsigned int)MM_ALIGN_UP(size, 8) : 0;
        c->meta_offset = (unsigned int)MM_MAX(MM_ALIGN_UP(size, 8), (size_t)8);
        size_t end = c->ctor ? c->fp_offset + 8 : MM_MAX(size, (size_t)8);
        c->size = (unsigned int)MM_ALIGN_UP(end, align);
    } else if (c->harden_level >= 2) { /* [ red zone | object | red zone | meta ] */
        c->obj_offset = (unsigned int)MM_ALIGN_UP((size_t)SLAB_RZ_MIN, align);
        c->meta_offset = (unsigned int)MM_ALIGN_UP(c->obj_offset + size + SLAB_RZ_MIN, 8);
        c->fp_offset = c->meta_offset + (unsigned int)offsetof(struct slab_meta, next);
        c->size = (unsigned int)MM_ALIGN_UP(c->meta_offset + sizeof(struct slab_meta), align);
        c->rz_start = 0;
        c->rz_end = c->meta_offset;
    } else { /* [ meta | canary | object | canary ]: meta shares the object's first cache line */
        c->meta_offset = 0;
        c->obj_offset = (unsigned int)MM_ALIGN_UP(sizeof(struct slab_meta) + SLAB_CANARY, align);
        c->fp_offset = (unsigned int)offsetof(struct slab_meta, next);
        c->size = (unsigned int)MM_ALIGN_UP(c->obj_offset + size + SLAB_CANARY, align);
        c->rz_start = (unsigned int)sizeof(struct slab_meta);
        c->rz_end = c->size;
    }
    slab_calc_inverse(c);
    c->meta_delta = (int)c->meta_offset - (int)c->obj_offset;
    slab_calc_poison_words(c);
    slab_calc_harden_fast(c);
    c->order = slab_pick_order(c->size);
    /* empty slabs kept before pages go back: more for big objects, whose slabs cost more to
     * rebuild (SLUB's min_partial = ilog2(size) / 2, clamped to 5..10) */
    c->min_partial = MM_MIN(MM_MAX(mm_ilog2(c->size) / 2, SLAB_MIN_PARTIAL), 10u);
    /* remote frees buffered per CPU: enough to share one lock hold among many small objects,
     * few enough that big ones do not sit there long (1: every remote free takes the lock) */
    c->rfree_max = MM_MIN(MM_MAX(SLAB_RFREE_BYTES / c->size, 1u), SLAB_RFREE_MAX);
    uint64_t bytes = PAGE_SIZE << c->order;
    uint64_t per = c->size + (c->owner ? sizeof(struct slab_track) : 0); /* slab_owner: its track */
    c->objects = (unsigned int)MM_MIN(bytes / per, (uint64_t)SLAB_MAX_OBJECTS);
    c->colour_step = (unsigned int)MM_MAX((size_t)MM_CACHE_LINE, align);
    c->colour_count = (unsigned int)((bytes - (uint64_t)c->objects * per) / c->colour_step) + 1;
}

static void slab_cache_init(struct kmem_cache *c, const char *name, size_t size, size_t align,
                            unsigned int flags, kmem_ctor_t ctor)
{
    unsigned int ncpu = mm_nr_cpus();
    memset(c, 0, sizeof(*c) + ncpu * sizeof(c->cpu[0]));
    c->magic = KMEM_CACHE_MAGIC;
    unsigned int i = 0;
    for (; name[i] && i < sizeof(c->name) - 1; i++)
        c->name[i] = name[i];
    c->flags = flags;
    c->ctor = ctor;
    c->harden_level = mm_state.heap.harden_level;
    c->hardened = c->harden_level > 0;
    c->owner = !c->hardened && mm_state.heap.slab_owner;
    c->alloc_extra = c->hardened || c->owner;
    c->zone_gfp = (flags & SLAB_CACHE_DMA) ? __GFP_DMA : 0;
    /* nr_created: CPUs create caches at once; an atomic add gives each its own seed */
    uint64_t nth = env_atomic_add(&mm_state.heap.nr_created, 1);
    c->rng = mm_state.core.seed ^ (nth << 32) ^ size;
    c->secret = (uintptr_t)slab_rand(&c->rng) | 1;
    c->partial = mm_nr_nodes() > 1 ? (struct list_head *)&c->cpu[ncpu] : &c->partial0;
    for (unsigned int n = 0; n < mm_nr_nodes(); n++)
        list_init(&c->partial[n]);
    list_init(&c->full);
    slab_calc_layout(c, size, align);
    for (unsigned int cpu = 0; cpu < ncpu; cpu++)
        c->cpu[cpu].kfence_left = mm_state.heap.kfence_interval;
}

/* ---- slabs ---- */

/* Initialise every slot of a new slab and link the freelist (shuffled at hardening level 2). */
static void slab_format(struct kmem_cache *c, struct page *slab)
{
    uint16_t order[SLAB_MAX_OBJECTS];
    for (unsigned int i = 0; i < c->objects; i++)
        order[i] = (uint16_t)i;
    if (c->harden_level >= 2) /* level 1 keeps address order (cheap; see slab.h) */
        for (unsigned int i = c->objects; i-- > 1;) { /* i = objects-1 .. 1; none if empty */
            unsigned int j = (unsigned int)(slab_rand(&c->rng) % (i + 1));
            uint16_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    void *next = NULL;
    for (unsigned int k = c->objects; k-- > 0;) {
        void *obj = slab_obj_at(c, slab, order[k]);
        void *slot = slab_slot_of(c, obj);
        slab_slot_open(c, slot);
        if (c->hardened) {
            struct slab_meta *m = slab_meta_of(c, obj);
            m->state = SLAB_STATE_FREE;
            m->cpu = 0;
            m->slack = 0;
            m->site = 0;
            slab_redzone_fill(c, obj);
            if (!c->ctor)
                slab_poison_fill(c, obj);
        }
        if (c->ctor) {
            env_unpoison(obj, c->object_size);
            c->ctor_obj = obj;
            c->ctor(obj);
            c->ctor_obj = NULL;
        }
        uintptr_t *where = slab_fp_addr(c, obj);
        *where = slab_fp_encode(c, next, where);
        slab_slot_close(c, slot, false);
        next = obj;
    }
    slab->freelist = next;
    if (c->owner)
        slab_owner_clear(c, slab);
}

/* Allocate and format a new slab, preferring node @nid (NUMA_NO_NODE: local; no lock held). */
static struct page *slab_new(struct kmem_cache *c, gfp_t gfp, int nid)
{
    gfp_t pg = (gfp & ~(__GFP_DMA | __GFP_HIGHMEM | __GFP_ZERO)) | c->zone_gfp | __GFP_NOWARN;
    struct page *slab = alloc_pages_node(nid, pg, c->order);
    if (!slab)
        return NULL;
    slab->flags |= PG_slab;
    slab->slab_cache = c;
    slab->freelist = NULL;
    slab->inuse = 0;
    unsigned long irq = slab_lock(c);
    slab->colour = (uint16_t)((c->colour_next++ % c->colour_count) * c->colour_step);
    slab_unlock(c, irq);
    if (env_shadow_enabled)
        env_poison(page_address(slab), (size_t)PAGE_SIZE << c->order, ENV_POISON_METADATA);
    slab_format(c, slab);
    return slab;
}

/* Give a slab's pages back (its objects are all free; lock not held). */
static void slab_discard(struct kmem_cache *c, struct page *slab)
{
    slab->flags &= ~(PG_slab | PG_frozen);
    slab->slab_cache = NULL;
    slab->freelist = NULL;
    slab->inuse = 0;
    slab->colour = 0;
    __free_pages(slab, c->order);
}

static unsigned int slab_list_len(const struct kmem_cache *c, void *head)
{
    unsigned int n = 0;
    for (void *o = head; o && n <= c->objects; o = slab_fp_get(c, o))
        n++;
    return n;
}

/*
 * Put an unfrozen slab on the right list by its inuse count (lock held). Returns true if the slab
 * is surplus-empty and the caller must discard it after dropping the lock.
 */
static bool slab_place_locked(struct kmem_cache *c, struct page *slab)
{
    if (slab->inuse == c->objects) {
        list_add(&slab->lru, &c->full);
        c->nr_full++;
        return false;
    }
    if (slab->inuse == 0) {
        if (c->nr_empty >= c->min_partial) {
            c->nr_slabs--;
            return true;
        }
        list_add_tail(&slab->lru, &c->partial[slab->node]);
        c->nr_empty++;
    } else {
        list_add(&slab->lru, &c->partial[slab->node]);
    }
    c->nr_partial++;
    return false;
}

static void slab_unlist_locked(struct kmem_cache *c, struct page *slab)
{
    list_del(&slab->lru);
    if (slab->inuse == c->objects) {
        c->nr_full--;
        return;
    }
    c->nr_partial--;
    if (slab->inuse == 0)
        c->nr_empty--;
}

/* Unfreeze @slab, merging the CPU freelist @cpu_free into it (lock held). */
static bool slab_unfreeze_locked(struct kmem_cache *c, struct page *slab, void *cpu_free)
{
    while (cpu_free) {
        void *next = slab_fp_get(c, cpu_free);
        slab_fp_set(c, cpu_free, slab->freelist);
        slab->freelist = cpu_free;
        cpu_free = next;
    }
    slab->flags &= ~PG_frozen;
    slab->inuse = (uint16_t)(c->objects - slab_list_len(c, slab->freelist));
    return slab_place_locked(c, slab);
}

/* Make @slab this CPU's active slab, taking its whole freelist (lock held). */
static void slab_freeze_locked(struct kmem_cache *c, struct kmem_cache_cpu *cc, struct page *slab,
                               unsigned int cpu)
{
    slab->flags |= PG_frozen;
    slab->cpu = (uint8_t)cpu;
    env_atomic_store(&cc->slab, slab); /* other CPUs read it as a hint: slab_flush_all */
    cc->base = (uintptr_t)slab_obj_base(c, slab) + c->obj_offset;
    cc->freelist = slab->freelist;
    slab->freelist = NULL;
}

/* ---- remote-free buffers (slab_internal.h) ---- */

/* Link buffered object @obj onto @slab's freelist, tagged FREE again when hardened (lock held). */
static void slab_rfree_link_locked(const struct kmem_cache *c, struct page *slab, void *obj)
{
    void *slot = slab_slot_of(c, obj);
    slab_slot_open(c, slot);
    if (c->hardened)
        slab_meta_of(c, obj)->state = SLAB_STATE_FREE;
    uintptr_t *where = slab_fp_addr(c, obj);
    *where = slab_fp_encode(c, slab->freelist, where);
    slab_slot_close(c, slot, false);
    slab->freelist = obj;
}

/* @n objects of @slab were just linked onto its freelist: its count and list follow (lock held).
 * Returns true when the slab is a surplus empty one that the caller discards after the lock. */
static bool slab_rfree_account_locked(struct kmem_cache *c, struct page *slab, unsigned int n)
{
    if (slab->flags & PG_frozen)
        return false; /* its CPU recounts inuse when it unfreezes the slab */
    /* a slab moves between lists only when it stops being full or becomes empty */
    if (slab->inuse != c->objects && slab->inuse != n) {
        slab->inuse = (uint16_t)(slab->inuse - n);
        return false;
    }
    slab_unlist_locked(c, slab);
    slab->inuse = (uint16_t)(slab->inuse - n);
    return slab_place_locked(c, slab);
}

/* Return every object of @cc's buffer to its slab, a run of one slab's objects at a time (lock
 * held, interrupts off). Slabs left surplus-empty go on @discard (by lru). */
static void slab_rfree_flush_locked(struct kmem_cache *c, struct kmem_cache_cpu *cc,
                                    struct list_head *discard)
{
    unsigned int n = cc->nr_rfree;
    for (unsigned int i = 0, j; i < n; i = j) {
        struct page *slab = cc->rfree_slab[i];
        for (j = i; j < n && cc->rfree_slab[j] == slab; j++)
            slab_rfree_link_locked(c, slab, cc->rfree[j]);
        if (slab_rfree_account_locked(c, slab, j - i))
            list_add(&slab->lru, discard);
    }
    env_atomic_store(&cc->nr_rfree, 0u);
    cc->rfree_last = NULL;
}

/* Give back the slabs on @discard (no lock held); returns their pages. */
static unsigned long slab_discard_list(struct kmem_cache *c, struct list_head *discard)
{
    unsigned long pages = 0;
    while (!list_empty(discard)) {
        struct page *slab = list_entry(discard->next, struct page, lru);
        list_del(&slab->lru);
        slab_discard(c, slab);
        pages += 1ul << c->order;
    }
    return pages;
}

/* This CPU's buffer is full: return it under one hold of the lock (interrupts off). */
static MM_NOINLINE void slab_rfree_flush(struct kmem_cache *c, struct kmem_cache_cpu *cc)
{
    struct list_head discard;
    list_init(&discard);
    env_spin_lock(&c->lock);
    slab_rfree_flush_locked(c, cc, &discard);
    env_spin_unlock(&c->lock);
    slab_discard_list(c, &discard);
}

/* Append @obj of @slab to @cc's buffer, which has room (interrupts off); returns the new count. */
static MM_ALWAYS_INLINE unsigned int slab_rfree_append(struct kmem_cache_cpu *cc,
                                                       struct page *slab, void *obj)
{
    unsigned int n = cc->nr_rfree;
    cc->free_remote++;
    cc->rfree_slab[n] = slab;
    cc->rfree[n] = obj;
    cc->rfree_last = obj;
    env_atomic_store(&cc->nr_rfree, n + 1);
    return n + 1;
}

/* Free @obj of @slab, not this CPU's slab, into this CPU's buffer (interrupts off). */
static void slab_rfree_push(struct kmem_cache *c, struct kmem_cache_cpu *cc, struct page *slab,
                            void *obj)
{
    if (c->hardened) {
        void *slot = slab_slot_of(c, obj);
        slab_slot_open(c, slot);
        slab_meta_of(c, obj)->state = SLAB_STATE_RFREE;
        slab_slot_close(c, slot, false);
    }
    if (mm_unlikely(slab_rfree_append(cc, slab, obj) >= c->rfree_max))
        slab_rfree_flush(c, cc);
}

long slab_rfree_mark(const struct kmem_cache *c, const struct page *slab, int cpu, uint64_t *mark,
                     void **bad)
{
    long n = 0;
    unsigned int k = cpu < 0 ? 0 : (unsigned int)cpu, end = cpu < 0 ? mm_nr_cpus() : k + 1;
    for (; k < end; k++) {
        const struct kmem_cache_cpu *cc = &c->cpu[k];
        unsigned int nr = MM_MIN(env_atomic_load(&cc->nr_rfree), SLAB_RFREE_MAX);
        for (unsigned int i = 0; i < nr; i++) {
            if (cc->rfree_slab[i] != slab)
                continue;
            long idx = slab_obj_index(c, slab, cc->rfree[i]);
            if (idx < 0 || (mark[idx / 64] & (1ull << (idx % 64)))) {
                *bad = cc->rfree[i];
                return idx < 0 ? SLAB_WALK_FOREIGN : SLAB_WALK_REPEAT;
            }
            mark[idx / 64] |= 1ull << (idx % 64);
            n++;
        }
    }
    return n;
}

/* Flush CPU @cpu's buffer and active slab back to the lists. Runs on that CPU (or with it
 * quiescent). Returns the pages freed on the way (surplus empty slabs). */
static unsigned long slab_flush_cpu(struct kmem_cache *c, unsigned int cpu)
{
    struct kmem_cache_cpu *cc = &c->cpu[cpu];
    struct page *slab = cc->slab;
    if (!slab && !cc->nr_rfree)
        return 0;
    struct list_head discard;
    list_init(&discard);
    env_spin_lock(&c->lock);
    slab_rfree_flush_locked(c, cc, &discard); /* first: the unfreeze below counts what it links */
    if (slab) {
        if (slab_unfreeze_locked(c, slab, cc->freelist))
            list_add(&slab->lru, &discard);
        env_atomic_store(&cc->slab, NULL);
        cc->freelist = NULL;
    }
    env_spin_unlock(&c->lock);
    return slab_discard_list(c, &discard);
}

struct slab_flush_arg {
    struct kmem_cache *c;
    unsigned long pages; /* freed by the flushes */
};

static void slab_flush_cb(void *arg)
{
    struct slab_flush_arg *a = arg;
    unsigned long irq = env_irq_save();
    a->pages += slab_flush_cpu(a->c, env_cpu_id());
    env_irq_restore(irq);
}

/* Flush every CPU's buffer and active slab; returns pages freed on the way. A CPU's slab pointer
 * and buffer count are its own (written with atomic stores); read here only to skip an IPI to a
 * CPU that has neither: one that gets a slab or buffers a free right after the read keeps it, as
 * it would after the flush. */
static unsigned long slab_flush_all(struct kmem_cache *c)
{
    struct slab_flush_arg a = { c, 0 };
    for (unsigned int cpu = 0; cpu < mm_nr_cpus(); cpu++)
        if (env_atomic_load(&c->cpu[cpu].slab) || env_atomic_load(&c->cpu[cpu].nr_rfree))
            env_cpu_call(cpu, slab_flush_cb, &a);
    return a.pages;
}

/* An empty slab at the tail of a partial list, or NULL (lock held). */
static struct page *slab_empty_tail_locked(struct kmem_cache *c)
{
    for (unsigned int n = 0; n < mm_nr_nodes(); n++) {
        struct list_head *h = &c->partial[n];
        if (!list_empty(h) && list_entry(h->prev, struct page, lru)->inuse == 0)
            return list_entry(h->prev, struct page, lru);
    }
    return NULL;
}

/* Free every empty slab on the partial lists beyond @keep; returns pages freed. */
static unsigned long slab_trim_empty(struct kmem_cache *c, unsigned long keep)
{
    unsigned long pages = 0;
    for (;;) {
        unsigned long irq = slab_lock(c);
        struct page *slab = NULL;
        if (c->nr_empty > keep) {
            slab = slab_empty_tail_locked(c);
            if (slab) {
                slab_unlist_locked(c, slab);
                c->nr_slabs--;
            }
        }
        slab_unlock(c, irq);
        if (!slab)
            return pages;
        slab_discard(c, slab);
        pages += 1ul << c->order;
    }
}

/* ---- hardening checks ---- */

static void slab_report_damage(const struct kmem_cache *c, void *obj, enum mm_misuse_kind kind,
                               long off, const char *func)
{
    struct slab_meta *m = c->hardened ? slab_meta_of(c, obj) : NULL;
    mm_report_misuse(kind, -MM_EINVAL, func, (uintptr_t)obj, page_to_pfn(virt_to_page(obj)),
                     "cache %s object %p: byte %ld of the %s damaged (object allocated at %p)",
                     c->name, obj, off - (long)c->obj_offset,
                     kind == MM_MISUSE_REDZONE ? "red zone" : "free poison",
                     m ? (void *)m->site : NULL);
}

/* Freelist successor that fails validation: report, then rebuild the freelists from the state
 * tags of the slab so the heap stays consistent. @from (being allocated) is left out. Returns the
 * rebuilt CPU freelist. */
static MM_NOINLINE void *slab_freelist_repair(struct kmem_cache *c, struct page *slab, void *bad,
                                              void *from)
{
    mm_report_misuse(MM_MISUSE_FREELIST, -MM_EINVAL, "kmem_cache_alloc", (uintptr_t)bad,
                     page_to_pfn(slab), "cache %s: freelist pointer after object %p decodes to "
                     "%p, not a free object of its slab", c->name, from, bad);
    void *head = NULL;
    env_spin_lock(&c->lock);
    for (unsigned int i = c->objects; i-- > 0;) {
        void *obj = slab_obj_at(c, slab, i);
        void *slot = slab_slot_of(c, obj);
        slab_slot_open(c, slot);
        uint32_t state = slab_meta_of(c, obj)->state;
        if (obj != from && state == SLAB_STATE_FREE) {
            uintptr_t *where = slab_fp_addr(c, obj);
            *where = slab_fp_encode(c, head, where);
            head = obj;
        }
        slab_slot_close(c, slot, state == SLAB_STATE_ALLOC);
    }
    slab->freelist = NULL;
    env_spin_unlock(&c->lock);
    return head;
}

/* Hardened: is @next an acceptable successor on the freelist of @cc's slab: NULL, or a free
 * object start of that slab (slab_obj_index with the slab's first object cached in cc->base)? */
static bool slab_fp_valid(struct kmem_cache *c, struct kmem_cache_cpu *cc, void *next)
{
    if (!next)
        return true;
    if (slab_index_of_offset(c, (uint64_t)next - cc->base) >= c->objects)
        return false;
    void *slot = slab_slot_of(c, next);
    slab_slot_open(c, slot);
    bool ok = slab_meta_of(c, next)->state == SLAB_STATE_FREE;
    slab_slot_close(c, slot, false);
    return ok;
}

static uint64_t slab_word_diff(const void *p, unsigned char byte)
{
    uint64_t w;
    __builtin_memcpy(&w, p, 8);
    return w ^ (0x0101010101010101ull * byte);
}

/* c->harden_fast: the bits in which a free object's poison words differ from the pattern. */
static uint64_t slab_poison_words_diff(const struct kmem_cache *c, void *obj)
{
    const char *o = obj;
    return slab_word_diff(o, SLAB_POISON_BYTE) | slab_word_diff(o + 8, SLAB_POISON_BYTE) |
           slab_word_diff(o + c->poison_at[2], SLAB_POISON_BYTE) |
           slab_word_diff(o + c->poison_at[3], SLAB_POISON_BYTE);
}

/* c->harden_fast: poison free object @obj (two offsets from the cache instead of four, and no
 * level, size or constructor test). */
static void slab_poison_put_words(const struct kmem_cache *c, void *obj)
{
    const uint64_t pat = 0x0101010101010101ull * SLAB_POISON_BYTE;
    char *o = obj;
    __builtin_memcpy(o, &pat, 8);
    __builtin_memcpy(o + 8, &pat, 8);
    __builtin_memcpy(o + c->poison_at[2], &pat, 8);
    __builtin_memcpy(o + c->poison_at[3], &pat, 8);
}

/* Fast path: is free object @obj's poison intact (the bytes its level keeps)? */
static bool slab_poison_intact(const struct kmem_cache *c, void *obj)
{
    if (c->ctor)
        return true;
    if (!slab_poison_sparse(c))
        return slab_first_mismatch(obj, c->object_size, SLAB_POISON_BYTE) < 0;
    uint64_t d = 0;
    for (unsigned int i = 0; i < SLAB_POISON_WORDS; i++)
        d |= slab_word_diff((char *)obj + c->poison_at[i], SLAB_POISON_BYTE);
    return d == 0;
}

/* Level 1: are the canary before @obj and the one at its requested size @req intact? */
static bool slab_canaries_intact(void *obj, size_t req)
{
    return !(slab_word_diff((char *)obj - SLAB_CANARY, SLAB_RZ_BYTE) |
             slab_word_diff((char *)obj + req, SLAB_RZ_BYTE));
}

/* Fast path: are the red zones of @obj, whose requested size ends at @req, intact? Level 1 reads
 * the canary before the object and the one at @req; a miss there is located (and the canary
 * after the object checked too) by slab_redzone_damage. */
static bool slab_redzone_intact(const struct kmem_cache *c, void *obj, size_t req)
{
    if (c->harden_level >= 2)
        return slab_redzone_damage(c, obj) < 0;
    return slab_canaries_intact(obj, req);
}

/* Report and repair damaged red zones of @obj (slot open). */
static MM_NOINLINE void slab_redzone_report(const struct kmem_cache *c, void *obj, const char *func)
{
    long off = slab_redzone_damage(c, obj);
    if (off < 0)
        return;
    slab_report_damage(c, obj, MM_MISUSE_REDZONE, off, func);
    slab_redzone_fill(c, obj);
}

static void slab_redzone_check(const struct kmem_cache *c, void *obj, size_t req, const char *func)
{
    if (mm_unlikely(!slab_redzone_intact(c, obj, req)))
        slab_redzone_report(c, obj, func);
}

static MM_NOINLINE void slab_report_poison(const struct kmem_cache *c, void *obj)
{
    long off = slab_poison_damage(c, obj);
    if (off >= 0)
        slab_report_damage(c, obj, MM_MISUSE_USE_AFTER_FREE, off + c->obj_offset, "kmem_cache_alloc");
}

/* The next allocation stamp (mm_state.core.alloc_seq), without a locked add on this fast path:
 * two CPUs allocating at once may take the same stamp (an age is then off by one), a run on one
 * CPU (every hosted fuzz input) counts exactly. */
static inline unsigned long slab_stamp(void)
{
    unsigned long s = env_atomic_load(&mm_state.core.alloc_seq) + 1;
    env_atomic_store(&mm_state.core.alloc_seq, s);
    return s;
}

/* Level 1 fast path, allocation: poison or the canary before the object damaged. */
static MM_NOINLINE void slab_alloc_damage(const struct kmem_cache *c, void *obj)
{
    slab_report_poison(c, obj);
    if (slab_word_diff((char *)obj - SLAB_CANARY, SLAB_RZ_BYTE))
        slab_redzone_report(c, obj, "kmem_cache_alloc");
}

/* Hardened checks on an object leaving the freelist (slot open): poison, and the canary before
 * the object, on the cache line of the metadata it writes (the one after the object at free,
 * both in kmem_cache_validate and mm_check); level 2 checks every red-zone byte here too. */
static void slab_alloc_check(const struct kmem_cache *c, void *obj)
{
    if (mm_likely(c->harden_fast)) { /* one test for both */
        uint64_t d = slab_poison_words_diff(c, obj);
        d |= slab_word_diff((char *)obj - SLAB_CANARY, SLAB_RZ_BYTE);
        if (mm_unlikely(d))
            slab_alloc_damage(c, obj);
        return;
    }
    if (mm_unlikely(!slab_poison_intact(c, obj)))
        slab_report_poison(c, obj);
    if (c->harden_level >= 2)
        slab_redzone_check(c, obj, c->object_size, "kmem_cache_alloc");
    else if (mm_unlikely(slab_word_diff((char *)obj - SLAB_CANARY, SLAB_RZ_BYTE)))
        slab_redzone_report(c, obj, "kmem_cache_alloc");
}

/* Hardened checks on an object leaving the freelist; marks it allocated with @req bytes (the
 * rest of the object joins the right red zone). */
static void slab_harden_alloc(struct kmem_cache *c, void *obj, uintptr_t site, unsigned int cpu,
                              size_t req)
{
    void *slot = slab_slot_of(c, obj);
    slab_slot_open(c, slot);
    slab_alloc_check(c, obj);
    struct slab_meta *m = slab_meta_of(c, obj);
    uint16_t slack = (uint16_t)(c->object_size - req);
    m->state = SLAB_STATE_ALLOC;
    m->cpu = (uint16_t)cpu;
    m->slack = slack;
    m->site = site;
    m->next = slab_stamp(); /* next is a freelist link only while the object is free */
    if (slack)
        slab_redzone_set_req(c, obj, req);
    slab_slot_close(c, slot, true);
}

/* slab_owner, unhardened cache: the object's site and stamp into its track (metadata the shadow
 * keeps closed, so the store is not instrumented). */
__attribute__((no_sanitize("address", "kernel-address"))) static MM_NOINLINE void
slab_owner_record(const struct kmem_cache *c, const struct page *slab, void *obj, uintptr_t site)
{
    long idx = slab_obj_index(c, slab, obj);
    if (idx < 0)
        return; /* not this slab's: a damaged freelist, which the checks report */
    volatile struct slab_track *t = slab_track_at(c, slab, (unsigned int)idx);
    t->site = site;
    t->seq = slab_stamp();
}

/* What an allocation keeps beyond the object: hardened metadata, or the slab_owner track. */
static void slab_alloc_extra(struct kmem_cache *c, const struct page *slab, void *obj,
                             uintptr_t site, unsigned int cpu, size_t req)
{
    if (c->hardened)
        slab_harden_alloc(c, obj, site, cpu, req);
    else
        slab_owner_record(c, slab, obj, site);
}

/*
 * Hardened checks on an object being freed. Returns 0 to proceed, or the error of a rejected
 * free (double free). A damaged red zone is reported and repaired, and the free proceeds.
 */
static int slab_harden_free(struct kmem_cache *c, struct page *slab, void *obj, const char *func)
{
    void *slot = slab_slot_of(c, obj);
    slab_slot_open(c, slot);
    struct slab_meta *m = slab_meta_of(c, obj);
    if (m->state != SLAB_STATE_ALLOC) {
        uint32_t state = m->state;
        slab_slot_close(c, slot, false);
        return mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, func, (uintptr_t)obj,
                                page_to_pfn(slab), "cache %s object %p is %s", c->name, obj,
                                state == SLAB_STATE_FREE    ? "already free"
                                : state == SLAB_STATE_RFREE ? "already free (in a CPU's "
                                                              "remote-free buffer)"
                                                            : "not allocated (metadata damaged)");
    }
    size_t req = c->object_size - slab_slack_of(c, obj);
    if (mm_likely(c->harden_fast)) {
        if (mm_unlikely(!slab_canaries_intact(obj, req)))
            slab_redzone_report(c, obj, func);
        m->state = SLAB_STATE_FREE;
        m->slack = 0;
        slab_poison_put_words(c, obj);
    } else {
        slab_redzone_check(c, obj, req, func);
        m->state = SLAB_STATE_FREE;
        m->slack = 0;
        if (!c->ctor)
            slab_poison_fill(c, obj);
    }
    slab_slot_close(c, slot, false);
    return 0;
}

/* ---- allocation ---- */

/* The first slab of a partial list: node @nid's, or (NUMA_NO_NODE) the nearest node's to
 * @local that has one. NULL when there is none (lock held). */
static struct page *slab_partial_pick_locked(struct kmem_cache *c, int nid, unsigned int local)
{
    if (nid >= 0)
        return list_empty(&c->partial[nid]) ? NULL
                                            : list_entry(c->partial[nid].next, struct page, lru);
    const uint8_t *order = mm_state.phys.node[local].order;
    for (unsigned int i = 0; i < mm_nr_nodes(); i++)
        if (!list_empty(&c->partial[order[i]]))
            return list_entry(c->partial[order[i]].next, struct page, lru);
    return NULL;
}

/* Take the CPU slab's remote frees, or replace the CPU slab by a partial one (lock held).
 * Returns true when cc->freelist has objects. */
static bool slab_refill_locked(struct kmem_cache *c, struct kmem_cache_cpu *cc, unsigned int cpu,
                               int nid, struct page **discard)
{
    if (cc->slab && cc->slab->freelist && (nid < 0 || cc->slab->node == nid)) {
        cc->freelist = cc->slab->freelist; /* objects other CPUs freed into our slab */
        if (MM_PLANTED_BUG == 2) { /* test-only: the lock dropped inside a refill */
            env_spin_unlock(&c->lock);
            env_spin_lock(&c->lock);
        }
        cc->slab->freelist = NULL;
        return true;
    }
    if (cc->slab) {
        if (slab_unfreeze_locked(c, cc->slab, cc->freelist))
            *discard = cc->slab;
        env_atomic_store(&cc->slab, NULL);
        cc->freelist = NULL;
    }
    struct page *slab = slab_partial_pick_locked(c, nid, (unsigned int)cpu_to_node(cpu));
    if (slab) {
        slab_unlist_locked(c, slab);
        slab_freeze_locked(c, cc, slab, cpu);
    }
    return cc->freelist != NULL;
}

/*
 * Refill this CPU's freelist, from node @nid's slabs when @nid >= 0: first the CPU slab's remote
 * frees, then a partial slab (the nearest node's for NUMA_NO_NODE), then a new slab from the
 * page allocator preferring @nid (which may fall back to another node: then a partial slab of
 * the nearest node that has one is used instead, so a full node does not grow a slab per call).
 */
static MM_NOINLINE void *slab_alloc_slow(struct kmem_cache *c, struct kmem_cache_cpu *cc,
                                         unsigned int cpu, gfp_t gfp, unsigned long irq, int nid)
{
    struct page *old = NULL;
    env_spin_lock(&c->lock);
    c->alloc_slow++;
    bool got = slab_refill_locked(c, cc, cpu, nid, &old);
    env_spin_unlock(&c->lock);
    if (old)
        slab_discard(c, old);
    if (got)
        return cc->freelist;
    old = NULL;
    /* Grow with the caller's interrupt state, not with ours off (as SLUB does): direct reclaim may
     * call every CPU (drain_all_pages), and a CPU that waits for such calls with interrupts off
     * can wait forever for one that is calling it. A call to this CPU meanwhile may flush cc
     * (slab_flush_cpu): the lock below sees that. */
    env_irq_restore(irq);
    struct page *slab = slab_new(c, gfp, nid);
    (void)env_irq_save();
    if (!slab)
        return NULL;
    env_spin_lock(&c->lock);
    c->nr_slabs++;
    struct page *near = nid >= 0 && slab->node != nid && !cc->slab
                            ? slab_partial_pick_locked(c, NUMA_NO_NODE, (unsigned int)nid) : NULL;
    if (cc->slab || near) { /* a slab was installed meanwhile, or a fallback has a partial one */
        if (slab_place_locked(c, slab))
            old = slab;
        if (near && !cc->slab) {
            slab_unlist_locked(c, near);
            slab_freeze_locked(c, cc, near, cpu);
        }
    } else {
        slab_freeze_locked(c, cc, slab, cpu);
    }
    env_spin_unlock(&c->lock);
    if (old)
        slab_discard(c, old);
    return cc->freelist;
}

/*
 * KFENCE: this CPU's count for @c ran out. Start the next count and let the pool serve the
 * allocation (NULL: not sampled, or the pool is full, and the cache serves it). The mm's own
 * metadata, DMA caches and objects above a page are never sampled.
 */
static MM_NOINLINE void *slab_kfence_sample(struct kmem_cache *c, struct kmem_cache_cpu *cc,
                                            gfp_t gfp, uintptr_t site, size_t req, int nid)
{
    const struct kfence_ops *ops = mm_state.heap.kfence;
    cc->kfence_left = mm_state.heap.kfence_interval;
    if (!ops || (c->flags & SLAB_MM_INTERNAL) || c->zone_gfp || c->object_size > PAGE_SIZE ||
        c->align > PAGE_SIZE)
        return NULL; /* zone_gfp: the pool's pages are not DMA memory */
    return ops->alloc(c, req, gfp, site, nid);
}

/* The allocation itself, every case, with this CPU's interrupts already off (@irq: the state to
 * restore); @nid is NUMA_NO_NODE (any node: the fast path tests nothing more) or a node the
 * object's slab must be on when that node has memory for it. */
static MM_NOINLINE void *slab_alloc_irqoff(struct kmem_cache *c, gfp_t gfp, uintptr_t site,
                                           size_t req, int nid, unsigned long irq)
{
    unsigned int cpu = env_cpu_id();
    struct kmem_cache_cpu *cc = &c->cpu[cpu];
    void *obj = NULL;
    if (mm_unlikely(--cc->kfence_left == 0) && (obj = slab_kfence_sample(c, cc, gfp, site, req, nid))) {
        env_irq_restore(irq);
        mm_trace(MM_TRACE_SLAB_ALLOC, (uintptr_t)obj, (uintptr_t)c, req, site);
        goto out;
    }
    obj = cc->freelist;
    if (mm_unlikely(!obj || (nid >= 0 && cc->slab->node != nid)))
        obj = slab_alloc_slow(c, cc, cpu, gfp, irq, nid);
    if (mm_likely(obj)) {
        void *next = slab_fp_get(c, obj);
        if (c->hardened && mm_unlikely(!slab_fp_valid(c, cc, next)))
            next = slab_freelist_repair(c, cc->slab, next, obj);
        cc->freelist = next;
        cc->alloc++;
        if (c->alloc_extra)
            slab_alloc_extra(c, cc->slab, obj, site, cpu, req);
        /* traced here, where c, req and site are live anyway: later they would spill */
        mm_trace(MM_TRACE_SLAB_ALLOC, (uintptr_t)obj, (uintptr_t)c, req, site);
    }
    env_irq_restore(irq);
    if (mm_unlikely(!obj)) {
        mm_trace(MM_TRACE_SLAB_ALLOC, 0, (uintptr_t)c, req, site);
        return NULL;
    }
out:
    if (env_shadow_enabled)
        env_unpoison(obj, req);
    if (gfp & __GFP_ZERO)
        memset(obj, 0, req);
    return obj;
}

/* ---- level-1 fast paths (c->harden_fast) ---- */

/* A level-1 slot is [ meta | canary | object | canary ] with the object at SLAB_L1_OBJ_OFFSET:
 * its metadata is a constant distance before it, and state, cpu and slack are one little-endian
 * word (one load or store where the three fields would take three). */
MM_STATIC_ASSERT(sizeof(struct slab_meta) + SLAB_CANARY == SLAB_L1_OBJ_OFFSET &&
                 offsetof(struct slab_meta, next) == 0 &&
                 offsetof(struct slab_meta, cpu) == offsetof(struct slab_meta, state) + 4 &&
                 offsetof(struct slab_meta, slack) == offsetof(struct slab_meta, state) + 6 &&
                 __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "level-1 slot layout");
#define SLAB_TAG_CPU_MASK    0x0000ffff00000000ull
#define SLAB_TAG_SLACK_SHIFT 48

static MM_ALWAYS_INLINE struct slab_meta *slab_l1_meta(void *obj)
{
    return (struct slab_meta *)((char *)obj - SLAB_L1_OBJ_OFFSET);
}

static MM_ALWAYS_INLINE uint64_t slab_l1_tag(const struct slab_meta *m)
{
    uint64_t w;
    __builtin_memcpy(&w, &m->state, 8);
    return w;
}

static MM_ALWAYS_INLINE void slab_l1_tag_set(struct slab_meta *m, uint64_t w)
{
    __builtin_memcpy(&m->state, &w, 8);
}

/* Is @next, the successor of the popped object, a free object start of @cc's slab (or NULL)? The
 * range test first, so nothing outside the slab is read. */
static MM_ALWAYS_INLINE bool slab_l1_next_ok(const struct kmem_cache *c,
                                             const struct kmem_cache_cpu *cc, void *next)
{
    return !next || (slab_index_of_offset(c, (uint64_t)next - cc->base) < c->objects &&
                     slab_l1_meta(next)->state == SLAB_STATE_FREE);
}

/*
 * Level-1 allocation of the head of this CPU's freelist (not empty), when nothing else is special
 * (the conditions of slab_alloc's plain path; interrupts off, @irq the state to restore). Every check is a load: the popped object's poison words
 * and the canary before it, its successor (a free object start of the CPU slab); anything wrong
 * and nothing has changed yet, so slab_alloc_irqoff redoes the allocation with its reports and
 * repairs. Otherwise what slab_harden_alloc writes, with the slot layout as constants.
 */
static MM_NOINLINE void *slab_alloc_l1(struct kmem_cache *c, gfp_t gfp, uintptr_t site, size_t req,
                                       unsigned long irq)
{
    unsigned int cpu = env_cpu_id();
    struct kmem_cache_cpu *cc = &c->cpu[cpu];
    void *obj = cc->freelist;
    struct slab_meta *m = slab_l1_meta(obj);
    void *next = (void *)(m->next ^ slab_fp_mask(c, &m->next));
    uint64_t damage = slab_poison_words_diff(c, obj) |
                      slab_word_diff((char *)obj - SLAB_CANARY, SLAB_RZ_BYTE);
    if (mm_unlikely(damage || !slab_l1_next_ok(c, cc, next)))
        return slab_alloc_irqoff(c, gfp, site, req, NUMA_NO_NODE, irq);
    unsigned int slack = c->object_size - (unsigned int)req;
    cc->kfence_left--;
    cc->freelist = next;
    cc->alloc++;
    slab_l1_tag_set(m, SLAB_STATE_ALLOC | (uint64_t)(uint16_t)cpu << 32 |
                           (uint64_t)(uint16_t)slack << SLAB_TAG_SLACK_SHIFT);
    m->site = site;
    m->next = slab_stamp();
    if (slack)
        slab_canary_put((char *)obj + req);
    env_irq_restore(irq);
    return obj;
}

static MM_NOINLINE int slab_free_hardened(struct kmem_cache *c, struct page *slab, void *obj,
                                          const char *func);

/*
 * Level-1 free of object start @obj of @slab (no shadow, no tracing). Every check is a load: an
 * allocated object (state tag), its canaries intact; anything wrong, or a free the fast cases do
 * not cover (a full remote-free buffer), and nothing has changed yet, so slab_free_hardened
 * redoes it with its reports. The object goes on this CPU's freelist tagged FREE, or into its
 * remote-free buffer tagged RFREE, poisoned either way.
 */
static MM_NOINLINE int slab_free_l1(struct kmem_cache *c, struct page *slab, void *obj,
                                    const char *func)
{
    struct slab_meta *m = slab_l1_meta(obj);
    uint64_t tag = slab_l1_tag(m);
    unsigned int size = c->object_size, slack = (unsigned int)(tag >> SLAB_TAG_SLACK_SHIFT);
    if (mm_unlikely((uint32_t)tag != SLAB_STATE_ALLOC || slack >= size ||
                    !slab_canaries_intact(obj, size - slack)))
        return slab_free_hardened(c, slab, obj, func);
    unsigned long irq = env_irq_save();
    struct kmem_cache_cpu *cc = &c->cpu[env_cpu_id()];
    uint32_t state = SLAB_STATE_FREE;
    if (mm_likely(slab == cc->slab)) {
        m->next = (uintptr_t)cc->freelist ^ slab_fp_mask(c, &m->next);
        cc->freelist = obj;
    } else if (cc->nr_rfree + 1 < c->rfree_max) {
        slab_rfree_append(cc, slab, obj);
        state = SLAB_STATE_RFREE; /* buffered: on no freelist yet */
    } else {
        env_irq_restore(irq);
        return slab_free_hardened(c, slab, obj, func);
    }
    slab_l1_tag_set(m, (tag & SLAB_TAG_CPU_MASK) | state);
    slab_poison_put_words(c, obj);
    cc->free++;
    env_irq_restore(irq);
    return 0;
}

/*
 * The common allocation on its own (mimalloc's split of a fast path from the rest): an unhardened
 * cache without slab_owner, this CPU's freelist not empty, no KFENCE sample due, no tracing, no
 * sanitizer shadow, no __GFP_ZERO. It does exactly what slab_alloc_irqoff does then (pop the CPU
 * freelist, count the allocation and the KFENCE countdown) without the registers the other cases
 * need; every other case goes there with the interrupt state it saved, so each allocation is one
 * save and one restore (one preemption point) either way.
 */
void *slab_alloc(struct kmem_cache *c, gfp_t gfp, uintptr_t site, size_t req)
{
    unsigned long irq = env_irq_save();
    struct kmem_cache_cpu *cc = &c->cpu[env_cpu_id()];
    void *obj = cc->freelist;
    bool special = !obj || cc->kfence_left == 1 || (gfp & __GFP_ZERO) || env_shadow_enabled ||
                   (mm_trace_enabled & MM_TRACE_BIT(MM_TRACE_SLAB_ALLOC));
    if (mm_unlikely(special || c->alloc_extra)) {
        if (!special && c->harden_fast)
            return slab_alloc_l1(c, gfp, site, req, irq);
        return slab_alloc_irqoff(c, gfp, site, req, NUMA_NO_NODE, irq);
    }
    cc->kfence_left--; /* off: 0 wraps and never reaches 1 again */
    cc->freelist = (void *)*slab_fp_addr(c, obj); /* unhardened: the link is stored plain */
    cc->alloc++;
    env_irq_restore(irq);
    return obj;
}

void *slab_alloc_node(struct kmem_cache *c, gfp_t gfp, uintptr_t site, size_t req, int nid)
{
    return slab_alloc_irqoff(c, gfp, site, req, nid, env_irq_save());
}

static bool slab_cache_valid(const struct kmem_cache *c)
{
    return c && c->magic == KMEM_CACHE_MAGIC;
}

static void *slab_alloc_checked(struct kmem_cache *c, gfp_t gfp, uintptr_t site, const char *fn)
{
    if (mm_unlikely(!slab_cache_valid(c))) {
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, fn, (uintptr_t)c, ~0ul,
                         "%p is not a live kmem_cache", (void *)c);
        return NULL;
    }
    if (mm_unlikely(gfp & ~__GFP_VALID_MASK)) {
        mm_report_misuse(MM_MISUSE_BAD_FLAGS, -MM_EINVAL, fn, gfp, ~0ul, "gfp 0x%x", gfp);
        return NULL;
    }
    return slab_alloc(c, gfp, site, c->object_size);
}

void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp)
{
    return slab_alloc_checked(c, gfp, (uintptr_t)__builtin_return_address(0), __func__);
}

void *kmem_cache_alloc_node(struct kmem_cache *c, gfp_t gfp, int nid)
{
    uintptr_t site = (uintptr_t)__builtin_return_address(0);
    if (mm_unlikely(numa_check_node(nid, __func__)))
        return NULL;
    if (nid == NUMA_NO_NODE || !slab_cache_valid(c) || (gfp & ~__GFP_VALID_MASK))
        return slab_alloc_checked(c, gfp, site, __func__); /* it judges (and reports) c and gfp */
    return slab_alloc_node(c, gfp, site, c->object_size, local_memory_node(nid));
}

void *kmem_cache_zalloc(struct kmem_cache *c, gfp_t gfp)
{
    return slab_alloc_checked(c, gfp | __GFP_ZERO, (uintptr_t)__builtin_return_address(0), __func__);
}

/* ---- free ---- */

/* What slab_free found wrong with a free, reported off its fast path. */
enum slab_free_misuse { SLAB_FREE_NOT_OBJECT, SLAB_FREE_CPU_HEAD, SLAB_FREE_RFREE_LAST };

static MM_NOINLINE int slab_free_reject(const struct kmem_cache *c, struct page *slab, void *obj,
                                        const char *func, enum slab_free_misuse why)
{
    if (why == SLAB_FREE_NOT_OBJECT)
        return mm_report_misuse(MM_MISUSE_NOT_OBJECT, -MM_EINVAL, func, (uintptr_t)obj,
                                page_to_pfn(slab), "%p is inside a slab of cache %s but not at an "
                                "object start", obj, c->name);
    return mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, func, (uintptr_t)obj,
                            page_to_pfn(slab), "cache %s object %p is already free (%s)", c->name,
                            obj, why == SLAB_FREE_CPU_HEAD ? "head of the CPU freelist"
                                                           : "last in the CPU's remote-free buffer");
}

/* The free of object start @obj of @slab on this CPU, every case, interrupts already off (@irq:
 * the state to restore); a hardened cache's checks have passed. */
static MM_NOINLINE int slab_free_irqoff(struct kmem_cache *c, struct page *slab, void *obj,
                                        const char *func, unsigned long irq)
{
    struct kmem_cache_cpu *cc = &c->cpu[env_cpu_id()];
    if (mm_unlikely(obj == cc->freelist)) { /* the cheap checks every build has */
        env_irq_restore(irq);
        return slab_free_reject(c, slab, obj, func, SLAB_FREE_CPU_HEAD);
    }
    /* before the slab test: the buffered object's slab may have become the CPU slab since (a
     * misuse campaign find: corpus/misuse/regress-l0-rfree-slab-refrozen); hardened caches
     * caught it before, by its RFREE tag */
    if (mm_unlikely(obj == cc->rfree_last)) {
        env_irq_restore(irq);
        return slab_free_reject(c, slab, obj, func, SLAB_FREE_RFREE_LAST);
    }
    if (mm_likely(slab == cc->slab)) {
        slab_fp_set(c, obj, cc->freelist);
        cc->freelist = obj;
    } else {
        slab_rfree_push(c, cc, slab, obj);
    }
    cc->free++;
    env_irq_restore(irq);
    mm_trace(MM_TRACE_SLAB_FREE, (uintptr_t)obj, (uintptr_t)c);
    return 0;
}

/* A hardened cache's free: its checks, then the common part. */
static MM_NOINLINE int slab_free_hardened(struct kmem_cache *c, struct page *slab, void *obj,
                                          const char *func)
{
    int err = slab_harden_free(c, slab, obj, func);
    if (err)
        return err;
    return slab_free_irqoff(c, slab, obj, func, env_irq_save());
}

/**
 * Free @obj of @slab of @c (the pointer is known to belong to the slab). The common cases on
 * their own, as slab_alloc does: an unhardened cache, no tracing, no sanitizer shadow, and the
 * object goes on this CPU's freelist (its slab is the CPU's) or into its remote-free buffer
 * without filling it. The checks are the same as slab_free_irqoff's (object start, head of the
 * CPU freelist, last buffered object); anything else goes there with the saved interrupt state.
 */
int slab_free(struct kmem_cache *c, struct page *slab, void *obj, const char *func)
{
    if (mm_unlikely(slab_obj_index(c, slab, obj) < 0))
        return slab_free_reject(c, slab, obj, func, SLAB_FREE_NOT_OBJECT);
    if (c->hardened) {
        if (c->harden_fast && !env_shadow_enabled &&
            !(mm_trace_enabled & MM_TRACE_BIT(MM_TRACE_SLAB_FREE)))
            return slab_free_l1(c, slab, obj, func);
        return slab_free_hardened(c, slab, obj, func);
    }
    unsigned long irq = env_irq_save();
    struct kmem_cache_cpu *cc = &c->cpu[env_cpu_id()];
    void *head = cc->freelist;
    if (mm_unlikely(obj == head || obj == cc->rfree_last || env_shadow_enabled ||
                    (mm_trace_enabled & MM_TRACE_BIT(MM_TRACE_SLAB_FREE))))
        return slab_free_irqoff(c, slab, obj, func, irq); /* a double free, or the rest */
    if (mm_likely(slab == cc->slab)) {
        *slab_fp_addr(c, obj) = (uintptr_t)head; /* unhardened: the link is stored plain */
        cc->freelist = obj;
    } else {
        if (mm_unlikely(cc->nr_rfree + 1 >= c->rfree_max))
            return slab_free_irqoff(c, slab, obj, func, irq); /* a flush */
        slab_rfree_append(cc, slab, obj);
    }
    cc->free++;
    env_irq_restore(irq);
    return 0;
}

/**
 * The slab that holds @p, or NULL after reporting why there is none (no memory of this machine,
 * a free page, a page-allocator block, ...). *@head_out gets the block head when it exists.
 */
static MM_DATA_RACE uint32_t slab_page_flags_racy(const struct page *pg, unsigned int *order)
{
    *order = *(const volatile uint8_t *)&pg->order;
    return slab_page_flags_racy_word(pg);
}

/* slab_lookup for every pointer that is not an object of an order-0 or head page of a slab. */
static MM_NOINLINE struct page *slab_lookup_slow(const void *p, const char *func,
                                                 struct page **head_out)
{
    struct page *pg = virt_to_page(p);
    *head_out = NULL;
    if (!pg) {
        if (in_kfence_window(p)) /* the caller routes it to the KFENCE pool */
            return NULL;
        if (func && in_vmalloc_range(p))
            mm_report_misuse(MM_MISUSE_NOT_SLAB, -MM_EINVAL, func, (uintptr_t)p, ~0ul,
                             "%p is vmalloc memory: free it with vfree", p);
        else if (func)
            mm_report_misuse(MM_MISUSE_NOT_SLAB, -MM_EFAULT, func, (uintptr_t)p, ~0ul,
                             "%p is not memory of this machine", p);
        return NULL;
    }
    struct page *head = pg;
    unsigned int order;
    uint32_t flags = slab_page_flags_racy(pg, &order);
    if (!(flags & (PG_head | PG_buddy))) {
        unsigned long pfn = page_to_pfn(pg);
        for (unsigned int k = 1; k <= MM_MAX_ORDER && head == pg; k++) {
            struct page *h = pfn_to_page(pfn & ~((1ul << k) - 1));
            uint32_t hf = slab_page_flags_racy(h, &order);
            if ((hf & (PG_buddy | PG_head)) && order >= k) {
                head = h;
                flags = hf;
            }
        }
    }
    *head_out = head;
    if (flags & PG_slab)
        return head;
    return NULL;
}

struct page *slab_lookup(const void *p, const char *func, struct page **head_out)
{
    struct page *pg = slab_lookup_fast(p);
    if (mm_likely(pg)) {
        *head_out = pg; /* the common case, which the walk below would find at once */
        return pg;
    }
    return slab_lookup_slow(p, func, head_out);
}

/* An object of an mm-internal cache freed from outside: refused, reported, nothing changes. */
int slab_reject_internal(const struct kmem_cache *c, const void *obj, const char *func)
{
    return mm_report_misuse(MM_MISUSE_INTERNAL_OBJECT, -MM_EINVAL, func, (uintptr_t)obj,
                            page_to_pfn(virt_to_page(obj)), "%p is the mm's own metadata (cache %s); "
                            "only the mm frees it", obj, c->name);
}

/* kmem_cache_free, and with @internal_ok the mm's own frees of its metadata. */
static int slab_cache_free(struct kmem_cache *c, void *obj, bool internal_ok)
{
    if (!obj)
        return 0;
    if (!slab_cache_valid(c))
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "kmem_cache_free", (uintptr_t)c,
                                ~0ul, "%p is not a live kmem_cache", (void *)c);
    struct page *head;
    struct page *slab = slab_lookup(obj, "kmem_cache_free", &head);
    if (!slab) {
        if (!head && in_kfence_window(obj))
            return mm_state.heap.kfence->free(c, obj, "kmem_cache_free");
        if (!head)
            return -MM_EFAULT;
        return mm_report_misuse(MM_MISUSE_NOT_SLAB, -MM_EINVAL, "kmem_cache_free", (uintptr_t)obj,
                                page_to_pfn(head), "%p (cache %s) is in pfn 0x%lx which no cache "
                                "owns (%s)", obj, c->name, page_to_pfn(head),
                                (head->flags & PG_head) ? "page-allocator block" : "free or reserved page");
    }
    if (slab->slab_cache != c)
        return mm_report_misuse(MM_MISUSE_WRONG_CACHE, -MM_EINVAL, "kmem_cache_free", (uintptr_t)obj,
                                page_to_pfn(slab), "object %p of cache %s freed into cache %s",
                                obj, slab->slab_cache->name, c->name);
    if (mm_unlikely((c->flags & SLAB_MM_INTERNAL) && !internal_ok))
        return slab_reject_internal(c, obj, "kmem_cache_free");
    return slab_free(c, slab, obj, "kmem_cache_free");
}

int kmem_cache_free(struct kmem_cache *c, void *obj)
{
    return slab_cache_free(c, obj, false);
}

int kmem_cache_free_mm(struct kmem_cache *c, void *obj)
{
    return slab_cache_free(c, obj, true);
}

/* ---- live objects: state and requested size ---- */

bool slab_obj_is_live(struct kmem_cache *c, void *obj)
{
    if (obj == c->ctor_obj)
        return false; /* being constructed inside a new slab */
    if (!c->hardened) { /* the cheap checks every build has */
        const struct kmem_cache_cpu *cc = &c->cpu[env_cpu_id()];
        return obj != cc->freelist && obj != cc->rfree_last;
    }
    void *slot = slab_slot_of(c, obj);
    slab_slot_open(c, slot);
    bool live = slab_meta_of(c, obj)->state == SLAB_STATE_ALLOC;
    slab_slot_close(c, slot, live);
    return live;
}

int slab_obj_check_live(struct kmem_cache *c, struct page *slab, void *obj, const char *func)
{
    if (slab_obj_index(c, slab, obj) < 0)
        return mm_report_misuse(MM_MISUSE_NOT_OBJECT, -MM_EINVAL, func, (uintptr_t)obj,
                                page_to_pfn(slab), "%p is inside a slab of cache %s but not at an "
                                "object start", obj, c->name);
    if (!slab_obj_is_live(c, obj))
        return mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, func, (uintptr_t)obj,
                                page_to_pfn(slab), "cache %s object %p is free (use after free)",
                                c->name, obj);
    return 0;
}

size_t slab_obj_req(struct kmem_cache *c, void *obj)
{
    if (!c->hardened)
        return c->object_size;
    void *slot = slab_slot_of(c, obj);
    slab_slot_open(c, slot);
    unsigned int slack = slab_slack_of(c, obj);
    slab_slot_close(c, slot, true);
    return c->object_size - slack;
}

void slab_obj_resize(struct kmem_cache *c, void *obj, size_t req, bool zero, const char *func)
{
    void *slot = slab_slot_of(c, obj);
    size_t old = c->object_size;
    slab_slot_open(c, slot);
    if (c->hardened) {
        long off = slab_redzone_damage(c, obj);
        if (off >= 0) {
            slab_report_damage(c, obj, MM_MISUSE_REDZONE, off, func);
            slab_redzone_fill(c, obj);
        }
        struct slab_meta *m = slab_meta_of(c, obj);
        old = c->object_size - slab_slack_of(c, obj);
        m->slack = (uint16_t)(c->object_size - req);
        slab_redzone_set_req(c, obj, req);
    }
    if (zero && req > old)
        memset((char *)obj + old, 0, req - old);
    else if (zero && !c->hardened)
        memset((char *)obj + req, 0, old - req); /* no red zone: keep the tail zeroed */
    slab_slot_close(c, slot, true);
    if (env_shadow_enabled && !c->hardened) { /* no metadata: the shadow alone keeps the size */
        env_poison(obj, c->object_size, ENV_POISON_REDZONE);
        env_unpoison(obj, req);
    }
}

/* ---- cache lifetime ---- */

static bool slab_args_valid(const char *name, size_t size, size_t align, unsigned int flags)
{
    if (!name || size == 0 || size > SLAB_MAX_OBJECT_SIZE ||
        (flags & ~(SLAB_VALID_FLAGS | SLAB_MM_INTERNAL)) ||
        (align & (align - 1)) || align > PAGE_SIZE) {
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "kmem_cache_create", size, ~0ul,
                         "name %s size %zu align %zu flags 0x%x", name ? name : "(null)", size,
                         align, flags);
        return false;
    }
    return true;
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
                                     unsigned int flags, kmem_ctor_t ctor)
{
    if (!mm_state.heap.ready && mm_state.heap.cache_cache == NULL) {
        mm_report_misuse(MM_MISUSE_NOT_READY, -MM_EINVAL, __func__, 0, ~0ul, "slab not initialised");
        return NULL;
    }
    if (!slab_args_valid(name, size, align, flags))
        return NULL;
    align = MM_MAX(align, (size_t)KMALLOC_MIN_ALIGN);
    if (flags & SLAB_HWCACHE_ALIGN)
        align = MM_MAX(align, (size_t)MM_CACHE_LINE);
    struct kmem_cache *c = kmem_cache_alloc(mm_state.heap.cache_cache, GFP_KERNEL);
    if (!c)
        return NULL;
    slab_cache_init(c, name, size, align, flags, ctor);
    env_spin_lock(&mm_state.heap.lock);
    list_add_tail(&c->list, &mm_state.heap.caches);
    env_spin_unlock(&mm_state.heap.lock);
    return c;
}

/* Mark the free objects of @slab (on its freelist) in @free_map (lock held, slab not frozen). */
static void slab_mark_free(struct kmem_cache *c, struct page *slab, uint64_t *free_map)
{
    unsigned int n = 0;
    for (void *o = slab->freelist; o && n++ < c->objects; o = slab_fp_get(c, o)) {
        long i = slab_obj_index(c, slab, o);
        if (i >= 0)
            free_map[i / 64] |= 1ull << (i % 64);
    }
}

/* Log one live object: its allocation site and CPU when hardening keeps them. */
static void slab_log_live(struct kmem_cache *c, void *obj)
{
    if (!c->hardened) {
        env_log(ENV_LOG_ERR, "mm: cache %s: live object %p (allocation sites are kept by "
                "hardened caches)\n", c->name, obj);
        return;
    }
    void *slot = slab_slot_of(c, obj);
    slab_slot_open(c, slot);
    struct slab_meta *m = slab_meta_of(c, obj);
    env_log(ENV_LOG_ERR, "mm: cache %s: live object %p allocated at %p on cpu %u\n", c->name, obj,
            (void *)m->site, m->cpu);
    slab_slot_close(c, slot, true);
}

/* Report the live objects of a cache being destroyed (at most 32 lines); returns their count. */
static unsigned long slab_report_live(struct kmem_cache *c)
{
    unsigned long live = 0, logged = 0;
    struct list_head *pos;
    unsigned long irq = slab_lock(c);
    for (unsigned int l = 0; l < SLAB_NR_LISTS; l++)
        list_for_each(pos, slab_list_at(c, l)) {
            struct page *slab = list_entry(pos, struct page, lru);
            uint64_t free_map[SLAB_MAX_OBJECTS / 64] = { 0 };
            live += slab->inuse;
            if (!slab->inuse)
                continue;
            slab_mark_free(c, slab, free_map);
            for (unsigned int i = 0; i < c->objects && logged < 32; i++)
                if (!(free_map[i / 64] & (1ull << (i % 64)))) {
                    slab_log_live(c, slab_obj_at(c, slab, i));
                    logged++;
                }
        }
    slab_unlock(c, irq);
    return live;
}

int kmem_cache_destroy(struct kmem_cache *c)
{
    if (!slab_cache_valid(c) || (c->flags & SLAB_MM_INTERNAL) || c->kmalloc)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, (uintptr_t)c, ~0ul,
                                "%p is not a destroyable kmem_cache", (void *)c);
    slab_flush_all(c);
    unsigned long live = slab_report_live(c);
    if (mm_state.heap.kfence) /* sampled objects count as live; a destroy drops the pool's ref */
        live += mm_state.heap.kfence->cache_gone(c, !live);
    if (live)
        return mm_report_misuse(MM_MISUSE_CACHE_BUSY, -MM_EBUSY, __func__, (uintptr_t)c, ~0ul,
                                "cache %s still has %lu live objects; not destroyed", c->name, live);
    slab_trim_empty(c, 0);
    env_spin_lock(&mm_state.heap.lock);
    list_del(&c->list);
    env_spin_unlock(&mm_state.heap.lock);
    c->magic = 0;
    return kmem_cache_free_mm(mm_state.heap.cache_cache, c);
}

unsigned long kmem_cache_shrink(struct kmem_cache *c)
{
    if (!slab_cache_valid(c)) {
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, (uintptr_t)c, ~0ul,
                         "%p is not a live kmem_cache", (void *)c);
        return 0;
    }
    unsigned long pages = slab_flush_all(c);
    return pages + slab_trim_empty(c, 0);
}

unsigned long kmem_cache_shrink_all(void)
{
    unsigned long pages = 0;
    struct list_head *pos;
    env_spin_lock(&mm_state.heap.lock);
    list_for_each(pos, &mm_state.heap.caches) {
        struct kmem_cache *c = list_entry(pos, struct kmem_cache, list);
        pages += slab_flush_all(c) + slab_trim_empty(c, 0);
    }
    env_spin_unlock(&mm_state.heap.lock);
    return pages;
}

size_t kmem_cache_size(const struct kmem_cache *c) { return slab_cache_valid(c) ? c->object_size : 0; }
const char *kmem_cache_name(const struct kmem_cache *c) { return slab_cache_valid(c) ? c->name : "?"; }

/* ---- validation ---- */

static unsigned long slab_validate_slab(struct kmem_cache *c, struct page *slab)
{
    unsigned long bad = 0;
    for (unsigned int i = 0; i < c->objects; i++) {
        void *obj = slab_obj_at(c, slab, i);
        void *slot = slab_slot_of(c, obj);
        slab_slot_open(c, slot);
        struct slab_meta *m = slab_meta_of(c, obj);
        bool alloc = m->state == SLAB_STATE_ALLOC;
        long off = slab_redzone_damage(c, obj);
        if (off >= 0) {
            slab_report_damage(c, obj, MM_MISUSE_REDZONE, off, "kmem_cache_validate");
            slab_redzone_fill(c, obj);
            bad++;
        }
        bool free = m->state == SLAB_STATE_FREE || m->state == SLAB_STATE_RFREE;
        off = free ? slab_poison_damage(c, obj) : -1;
        if (off >= 0) {
            slab_report_damage(c, obj, MM_MISUSE_USE_AFTER_FREE, off + c->obj_offset,
                               "kmem_cache_validate");
            slab_poison_fill(c, obj);
            bad++;
        }
        slab_slot_close(c, slot, alloc);
    }
    return bad;
}

unsigned long kmem_cache_validate(struct kmem_cache *c)
{
    if (!slab_cache_valid(c) || !c->hardened)
        return 0;
    unsigned long bad = 0;
    struct list_head *pos;
    unsigned long irq = slab_lock(c);
    for (unsigned int l = 0; l < SLAB_NR_LISTS; l++)
        list_for_each(pos, slab_list_at(c, l))
            bad += slab_validate_slab(c, list_entry(pos, struct page, lru));
    for (unsigned int cpu = 0; cpu < mm_nr_cpus(); cpu++)
        if (c->cpu[cpu].slab)
            bad += slab_validate_slab(c, c->cpu[cpu].slab);
    slab_unlock(c, irq);
    return bad;
}

/* ---- shrinker and boot ---- */

unsigned long slab_shrink_count(struct shrinker *s, struct shrink_control *sc)
{
    unsigned long n = 0;
    struct list_head *pos;
    env_spin_lock(&mm_state.heap.lock);
    list_for_each(pos, &mm_state.heap.caches) {
        struct kmem_cache *c = list_entry(pos, struct kmem_cache, list);
        unsigned long irq = slab_lock(c); /* nr_empty is the cache lock's (heap.lock, then c's) */
        n += c->nr_empty;
        slab_unlock(c, irq);
    }
    env_spin_unlock(&mm_state.heap.lock);
    return n;
}

unsigned long slab_shrink_scan(struct shrinker *s, struct shrink_control *sc)
{
    unsigned long pages = 0;
    struct list_head *pos;
    env_spin_lock(&mm_state.heap.lock);
    list_for_each(pos, &mm_state.heap.caches)
        pages += slab_trim_empty(list_entry(pos, struct kmem_cache, list), 0);
    env_spin_unlock(&mm_state.heap.lock);
    return pages;
}

/* The descriptor, its per-CPU part and (more than one node) its per-node partial lists. */
static size_t slab_cache_struct_size(void)
{
    return sizeof(struct kmem_cache) + mm_nr_cpus() * sizeof(struct kmem_cache_cpu) +
           (mm_nr_nodes() > 1 ? mm_nr_nodes() * sizeof(struct list_head) : 0);
}

/* The cache of caches comes from the early allocator: nothing else exists yet. */
int slab_early_init(void)
{
    list_init(&mm_state.heap.caches);
    size_t sz = slab_cache_struct_size();
    phys_addr_t pa = memblock_alloc(sz, MM_CACHE_LINE);
    if (!pa)
        return -MM_ENOMEM;
    struct kmem_cache *cc = env_phys_to_virt(pa);
    slab_cache_init(cc, "kmem_cache", sz, MM_CACHE_LINE, SLAB_MM_INTERNAL, NULL);
    mm_state.heap.cache_cache = cc;
    list_add_tail(&cc->list, &mm_state.heap.caches);
    return 0;
}
