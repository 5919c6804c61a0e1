/*
 * slab_common.c - shadow model and valid traffic shared by the "slab" and "misuse" targets
 * (see slab_common.h). Freestanding-clean.
 *
 * Digest (digest.h): whether each create / alloc / kmalloc / krealloc returned memory (and
 * whether krealloc kept the block in place), ksize of what came back, every free's and destroy's
 * error, the pages shrink and reclaim returned, what validate counted; never an object address.
 */
#include "slab_common.h"
#include "../mm/heap/slab_internal.h"
#include "mm_describe.h"
#include "mm_leak.h"
#include "checker.h"

struct sc_state slab_fz;

_Noreturn void sc_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fuzz_fail_op(slab_show, fmt, ap);
}

/* ---- content tokens ---- */

/*
 * The token of byte i is byte i % 8 of sc_pat_word(tag, i / 8), so the harness writes and
 * compares it a word at a time: one (ASan-instrumented) 8-byte access per aligned word instead
 * of eight, which sees the same poison (an aligned 8-byte access is one shadow granule). Bytes
 * are walked one by one only at unaligned edges and to name the first bad byte of a mismatch.
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "sc_pat_word is little-endian");
typedef uint64_t __attribute__((may_alias)) sc_word_t;

static inline uint64_t sc_pat_word(uint32_t tag, size_t w)
{
    uint64_t x = (uint64_t)tag * 0x9e3779b97f4a7c15ull ^ (uint64_t)(w + 1) * 0xd6e8feb86659fd93ull;
    return x ^ (x >> 31);
}

static inline uint8_t sc_pat(uint32_t tag, size_t i)
{
    return (uint8_t)(sc_pat_word(tag, i / 8) >> (8 * (i % 8)));
}

static inline uint8_t sc_ctor_byte(size_t i) { return (uint8_t)(0xa5 ^ (i * 31)); }

/* The constructor pattern has period 256: the word at byte offset i (a multiple of 8) is
 * sc_ctor_word(i), read from one table of its 256 + 8 bytes. */
static uint8_t sc_ctor_table[256 + 8];

static inline uint64_t sc_ctor_word(size_t i)
{
    if (mm_unlikely(!sc_ctor_table[0]))
        for (size_t k = 0; k < sizeof(sc_ctor_table); k++)
            sc_ctor_table[k] = sc_ctor_byte(k); /* byte 0 is 0xa5: the table is filled once */
    return *(const sc_word_t *)&sc_ctor_table[i % 256];
}

/* Which expected pattern a range walk compares or writes. */
enum sc_pattern_kind { SC_PAT_TAG, SC_PAT_CTOR, SC_PAT_ZERO };
struct sc_pattern {
    enum sc_pattern_kind kind;
    uint32_t tag;               /* SC_PAT_TAG */
};

static inline uint64_t sc_expect_word(struct sc_pattern pt, size_t i)
{
    if (pt.kind == SC_PAT_ZERO)
        return 0;
    return pt.kind == SC_PAT_CTOR ? sc_ctor_word(i) : sc_pat_word(pt.tag, i / 8);
}

static inline uint8_t sc_expect_byte(struct sc_pattern pt, size_t i)
{
    if (pt.kind == SC_PAT_ZERO)
        return 0;
    return pt.kind == SC_PAT_CTOR ? sc_ctor_byte(i) : sc_pat(pt.tag, i);
}

/* Aligned words of [lo, hi) at @p: [*wlo, *whi) (empty when @p is not 8-aligned). */
static inline void sc_word_span(const uint8_t *p, size_t lo, size_t hi, size_t *wlo, size_t *whi)
{
    *wlo = *whi = lo;
    if ((uintptr_t)p & 7)
        return;
    *wlo = MM_MIN(MM_ALIGN_UP(lo, 8), hi);
    *whi = MM_MAX(*wlo, MM_ALIGN_DOWN(hi, 8));
}

/* Write the pattern over bytes [lo, hi) of @p. */
static void sc_write_range(uint8_t *p, size_t lo, size_t hi, struct sc_pattern pt)
{
    size_t wlo, whi, i;

    sc_word_span(p, lo, hi, &wlo, &whi);
    for (i = lo; i < wlo; i++)
        p[i] = sc_expect_byte(pt, i);
    for (i = wlo; i < whi; i += 8)
        *(sc_word_t *)(p + i) = sc_expect_word(pt, i);
    for (i = whi; i < hi; i++)
        p[i] = sc_expect_byte(pt, i);
}

/* The first byte of [lo, hi) of @p that differs from the pattern, or @hi: one OR-reduction over
 * the range, then a byte walk only when it found a difference. */
static size_t sc_first_diff(const uint8_t *p, size_t lo, size_t hi, struct sc_pattern pt)
{
    size_t wlo, whi, i;
    uint64_t acc = 0;

    sc_word_span(p, lo, hi, &wlo, &whi);
    for (i = lo; i < wlo; i++)
        acc |= p[i] ^ sc_expect_byte(pt, i);
    for (i = wlo; i < whi; i += 8)
        acc |= *(const sc_word_t *)(p + i) ^ sc_expect_word(pt, i);
    for (i = whi; i < hi; i++)
        acc |= p[i] ^ sc_expect_byte(pt, i);
    if (mm_likely(!acc))
        return hi;
    for (i = lo; i < hi && p[i] == sc_expect_byte(pt, i); i++)
        ;
    return i;
}

/* Byte ranges carrying the token: everything up to 1 KiB, else edges and 8 windows. */
#define SC_FULL_MAX 1024
static unsigned int sc_ranges(size_t req, size_t lo[10], size_t hi[10])
{
    unsigned int n = 0, k;

    if (req <= SC_FULL_MAX) {
        lo[0] = 0;
        hi[0] = req;
        return 1;
    }
    lo[n] = 0; hi[n++] = 64;
    for (k = 1; k <= 8; k++) {
        lo[n] = req * k / 9;
        hi[n++] = req * k / 9 + 16;
    }
    lo[n] = req - 64; hi[n++] = req;
    return n;
}

FUZZ_VERIFY_FN void sc_fill(const struct sc_obj *o)
{
    size_t lo[10], hi[10];
    unsigned int r, n = sc_ranges(o->req, lo, hi);

    for (r = 0; r < n; r++)
        sc_write_range(o->p, lo[r], hi[r], (struct sc_pattern){ SC_PAT_TAG, o->tag });
}

FUZZ_VERIFY_FN void sc_verify(const char *who, const struct sc_obj *o, bool full)
{
    size_t lo[10], hi[10], i;
    unsigned int r, n = sc_ranges(o->req, lo, hi);

    for (r = 0; r < n; r++) {
        if (!full && r && r + 1 < n)
            continue;
        i = sc_first_diff(o->p, lo[r], hi[r], (struct sc_pattern){ SC_PAT_TAG, o->tag });
        if (mm_unlikely(i < hi[r]))
            sc_fail("content-mismatch %s tag=%u obj=%p size=%zu byte=%zu expected=0x%02x "
                    "got=0x%02x", who, (unsigned int)o->tag, (void *)o->p, o->req, i,
                    sc_pat(o->tag, i), o->p[i]);
    }
}

/* The constructor: the whole object gets a fixed pattern (its size from ksize). */
static void sc_ctor(void *obj)
{
    size_t n = ksize(obj);

    if (!n)
        sc_fail("ctor-bad-object obj=%p: ksize is 0 inside the constructor", obj);
    sc_write_range(obj, 0, n, (struct sc_pattern){ SC_PAT_CTOR, 0 });
}

void sc_restore_ctor(const struct sc_obj *o)
{
    if (o->kind == SC_CACHE && slab_fz.cache[o->slot].ctor)
        sc_write_range(o->p, 0, o->req, (struct sc_pattern){ SC_PAT_CTOR, 0 });
}

/* ---- pages and caches behind a pointer ---- */

/* Block head of @p (as the slab layer finds it), NULL if @p is not memory of the machine. */
struct page *sc_head(const void *p)
{
    struct page *pg = virt_to_page(p), *head;
    unsigned long pfn;
    unsigned int k;

    if (!pg)
        return NULL;
    head = pg;
    if (pg->flags & (PG_head | PG_buddy))
        return pg;
    pfn = page_to_pfn(pg);
    for (k = 1; k <= MM_MAX_ORDER && head == pg; k++) {
        struct page *h = pfn_to_page(pfn & ~((1ul << k) - 1));
        if ((h->flags & (PG_buddy | PG_head)) && h->order >= k)
            head = h;
    }
    return head;
}

struct kmem_cache *sc_cache_of(const void *p)
{
    struct page *h = sc_head(p);

    return h && (h->flags & (PG_head | PG_slab)) == (PG_head | PG_slab) ? h->slab_cache : NULL;
}

size_t sc_usable(const void *p)
{
    struct kmem_cache *kc = sc_cache_of(p);

    if (!kc)
        return ksize(p); /* a large block: nothing to open */
    return slab_obj_index(kc, sc_head(p), p) >= 0 ? kmem_cache_size(kc) : 0;
}

void sc_known_add(struct kmem_cache *kc)
{
    uint32_t i;

    for (i = 0; i < slab_fz.nr_known; i++)
        if (slab_fz.known[i] == kc)
            return;
    if (slab_fz.nr_known < SC_MAX_KNOWN)
        slab_fz.known[slab_fz.nr_known++] = kc;
}

static void sc_known_del(struct kmem_cache *kc)
{
    uint32_t i;

    for (i = 0; i < slab_fz.nr_known; i++)
        if (slab_fz.known[i] == kc) {
            slab_fz.known[i] = slab_fz.known[--slab_fz.nr_known];
            return;
        }
}

/* ---- the live set ---- */

struct sc_obj *sc_pick(uint32_t h, unsigned int kinds_mask)
{
    uint32_t i;

    for (i = 0; i < slab_fz.nr_live; i++) {
        struct sc_obj *o = &slab_fz.live[(h + i) % slab_fz.nr_live];
        if (kinds_mask & (1u << o->kind))
            return o;
    }
    return NULL;
}

struct sc_cache *sc_pick_cache(uint32_t c)
{
    uint32_t i, n = 0;

    for (i = 0; i < SC_MAX_CACHES; i++)
        n += slab_fz.cache[i].used;
    if (!n)
        return NULL;
    c %= n;
    for (i = 0; i < SC_MAX_CACHES; i++)
        if (slab_fz.cache[i].used && c-- == 0)
            return &slab_fz.cache[i];
    return NULL;
}

void sc_grave_drop(uint32_t i)
{
    slab_fz.grave[i] = slab_fz.grave[--slab_fz.nr_grave];
}

/* An allocation handed out [p, p+len): graves inside it are no longer stale pointers. */
static void sc_graves_reused(const uint8_t *p, size_t len)
{
    uint32_t i = 0;

    while (i < slab_fz.nr_grave)
        if (slab_fz.grave[i].p >= p && slab_fz.grave[i].p < p + len)
            sc_grave_drop(i);
        else
            i++;
}

void sc_forget(struct sc_obj *o)
{
    uint32_t i = (uint32_t)(o - slab_fz.live);
    struct sc_grave g = { o->p, o->kind == SC_LARGE ? NULL : o->kc, o->order };

    if (o->kind == SC_CACHE)
        slab_fz.cache[o->slot].nlive--;
    if (o->kind == SC_LARGE)
        slab_fz.held_pages -= 1ul << o->order;
    if (slab_fz.nr_grave == SC_MAX_GRAVES)
        sc_grave_drop(0);
    slab_fz.grave[slab_fz.nr_grave++] = g;
    memmove(&slab_fz.live[i], &slab_fz.live[i + 1], (slab_fz.nr_live - i - 1) * sizeof(slab_fz.live[0]));
    slab_fz.nr_live--;
}

static unsigned int sc_large_order(size_t size)
{
    unsigned int order = 0;

    while (((size_t)PAGE_SIZE << order) < size)
        order++;
    return order;
}

/* A fresh object [p, p + req) overlaps no live one. */
FUZZ_VERIFY_FN static void sc_check_no_overlap(const uint8_t *p, size_t req)
{
    size_t plen = MM_MAX(req, (size_t)1);
    uint32_t k;

    for (k = 0; k < slab_fz.nr_live; k++) {
        const struct sc_obj *q = &slab_fz.live[k];
        size_t qlen = MM_MAX(q->req, (size_t)1);
        if (p < q->p + qlen && q->p < p + plen)
            sc_fail("overlap obj=%p size=%zu overlaps live tag=%u obj=%p size=%zu", (void *)p,
                    req, (unsigned int)q->tag, (void *)q->p, q->req);
    }
}

/* A fresh object's contents: all zero (@zero), or as the constructor left them (@ctor). One OR
 * over the object; the bytes are walked only to name the first bad one. */
FUZZ_VERIFY_FN static void sc_check_fresh_bytes(const uint8_t *p, size_t req, bool zero, bool ctor)
{
    size_t i;

    if (zero) {
        i = sc_first_diff(p, 0, req, (struct sc_pattern){ SC_PAT_ZERO, 0 });
        if (mm_unlikely(i < req))
            sc_fail("not-zeroed obj=%p size=%zu byte=%zu value=0x%02x", (void *)p, req, i, p[i]);
    } else if (ctor) {
        i = sc_first_diff(p, 0, req, (struct sc_pattern){ SC_PAT_CTOR, 0 });
        if (mm_unlikely(i < req))
            sc_fail("not-constructed obj=%p size=%zu byte=%zu expected=0x%02x got=0x%02x",
                    (void *)p, req, i, sc_ctor_byte(i), p[i]);
    }
}

/*
 * Everything a fresh object must satisfy; then tag it and take it. @slot is the cache[] slot for
 * SC_CACHE; @zero: the caller asked for zeroed memory.
 */
/* The cache of live KFENCE object @p, by the name mm_describe_addr gives (NULL if unknown). */
static struct kmem_cache *sc_kfence_cache(const uint8_t *p, int slot)
{
    struct mm_addr_desc d;
    unsigned int i;

    if (!mm_describe_addr(p, &d) || d.owner != MM_ADDR_KFENCE || d.object != (uintptr_t)p ||
        d.state != MM_OBJ_ALLOCATED)
        return NULL;
    if (slot >= 0)
        return fuzz_streq(kmem_cache_name(slab_fz.cache[slot].kc), d.cache) ? slab_fz.cache[slot].kc
                                                                            : NULL;
    for (i = 0; i < KMALLOC_NR_CLASSES; i++)
        if (fuzz_streq(kmem_cache_name(mm_state.heap.kmalloc_caches[0][i]), d.cache))
            return mm_state.heap.kmalloc_caches[0][i];
    return NULL;
}

/* A sampled object: pool memory, its cache's class, exactly its request (ksize), never DMA. */
static void sc_take_kfence(uint8_t *p, size_t req, enum sc_kind kind, int slot, bool dma,
                           struct sc_obj *o)
{
    size_t usable = sc_usable(p);

    fuzz_digest_count(usable);
    if (usable != req)
        sc_fail("kfence-ksize obj=%p ksize=%zu requested=%zu", (void *)p, usable, req);
    if (dma || kind == SC_LARGE)
        sc_fail("kfence-sampled-%s obj=%p size=%zu", dma ? "dma" : "large", (void *)p, req);
    size_t align = kind == SC_CACHE ? slab_fz.cache[slot].align : KMALLOC_MIN_ALIGN;
    if (align && (uintptr_t)p % align)
        sc_fail("misaligned obj=%p align=%zu", (void *)p, align);
    o->kc = sc_kfence_cache(p, kind == SC_CACHE ? slot : -1);
    if (!o->kc || kmem_cache_size(o->kc) < req)
        sc_fail("kfence-no-cache obj=%p size=%zu", (void *)p, req);
    if (kind == SC_SLAB)
        sc_known_add(o->kc);
}

void sc_take(uint8_t *p, size_t req, gfp_t gfp, enum sc_kind kind, int slot, bool zero)
{
    struct page *head = sc_head(p);
    struct sc_obj *o;
    size_t usable, align;
    bool dma = (gfp & __GFP_DMA) != 0;

    if (kind == SC_CACHE)
        dma = slab_fz.cache[slot].dma;
    if (kind == SC_SLAB && req > KMALLOC_MAX_CACHE_SIZE)
        kind = SC_LARGE;
    if (!head && is_kfence_address(p)) {
        if (slab_fz.nr_live == SC_MAX_LIVE)
            sc_fail("harness-live-set-full");
        sc_check_no_overlap(p, req);
        o = &slab_fz.live[slab_fz.nr_live];
        memset(o, 0, sizeof(*o));
        sc_take_kfence(p, req, kind, slot, dma, o);
        usable = req;
        goto fill;
    }
    if (!head)
        sc_fail("alloc-not-machine-memory obj=%p size=%zu", (void *)p, req);
    if (slab_fz.nr_live == SC_MAX_LIVE)
        sc_fail("harness-live-set-full");
    sc_check_no_overlap(p, req);
    usable = sc_usable(p);
    fuzz_digest_count(usable);
    if (usable < req)
        sc_fail("ksize-too-small obj=%p ksize=%zu requested=%zu", (void *)p, usable, req);
    if (head->zone >= MM_NR_ZONES || (dma && head->zone != ZONE_DMA) || head->zone == ZONE_HIGHMEM)
        sc_fail("wrong-zone obj=%p zone=%u dma=%d", (void *)p, (unsigned int)head->zone, dma);
    align = kind == SC_CACHE ? slab_fz.cache[slot].align : kind == SC_LARGE ? PAGE_SIZE
            : KMALLOC_MIN_ALIGN;
    if ((uintptr_t)p % align)
        sc_fail("misaligned obj=%p align=%zu", (void *)p, align);
    o = &slab_fz.live[slab_fz.nr_live];
    memset(o, 0, sizeof(*o));
    if (kind == SC_LARGE) {
        o->order = (uint8_t)sc_large_order(req);
        if (slab_fz.inplace) /* krealloc kept the block: it may be larger than the new size needs */
            o->order = head->order;
        if ((head->flags & (PG_head | PG_large)) != (PG_head | PG_large) || head->order != o->order ||
            page_address(head) != p)
            sc_fail("large-kmalloc-bad-block obj=%p size=%zu flags=0x%x order=%u expected=%u",
                    (void *)p, req, (unsigned int)head->flags, (unsigned int)head->order,
                    (unsigned int)o->order);
        slab_fz.held_pages += 1ul << o->order;
    } else {
        o->kc = sc_cache_of(p);
        if (!o->kc)
            sc_fail("object-not-in-a-slab obj=%p flags=0x%x", (void *)p, (unsigned int)head->flags);
        if (kind == SC_CACHE && o->kc != slab_fz.cache[slot].kc)
            sc_fail("object-from-other-cache obj=%p cache=%s expected=%s", (void *)p,
                    kmem_cache_name(o->kc), kmem_cache_name(slab_fz.cache[slot].kc));
        if (kind == SC_SLAB) {
            const char *nm = kmem_cache_name(o->kc);
            bool is_dma = nm[0] == 'd';
            if (!slab_fz.inplace && (is_dma != dma || kmem_cache_size(o->kc) < req ||
                                kmem_cache_size(o->kc) > 2 * req + 64))
                sc_fail("kmalloc-wrong-class obj=%p size=%zu dma=%d cache=%s", (void *)p, req, dma, nm);
            sc_known_add(o->kc);
        }
    }
fill:
    o->p = p;
    o->req = req;
    o->kind = (uint8_t)kind;
    o->slot = (int8_t)(kind == SC_CACHE ? slot : -1);
    sc_check_fresh_bytes(p, req, zero, kind == SC_CACHE && slab_fz.cache[slot].ctor);
    o->tag = slab_fz.next_tag++;
    sc_graves_reused(p, MM_MAX(req, (size_t)1));
    sc_fill(o);
    slab_fz.nr_live++;
    if (kind == SC_CACHE)
        slab_fz.cache[slot].nlive++;
    SC_TRACE("  -> h=%u tag=%u obj=%p size=%zu ksize=%zu", (unsigned int)(slab_fz.nr_live - 1),
             (unsigned int)o->tag, (void *)p, req, usable);
}

/* ---- valid ops ---- */

static void sc_op_cache_create(size_t size, size_t align, unsigned int flags, bool ctor)
{
    struct sc_cache *sl = NULL;
    struct kmem_cache *kc;
    char name[32];
    uint32_t i;

    for (i = 0; i < SC_MAX_CACHES && !sl; i++)
        if (!slab_fz.cache[i].used)
            sl = &slab_fz.cache[i];
    if (!sl) {
        SC_TRACE("  skipped: %u caches", SC_MAX_CACHES);
        return;
    }
    mm_snprintf(name, sizeof(name), "fuzz-%u", (unsigned int)slab_fz.next_cache_id);
    kc = kmem_cache_create(name, size, align, flags, ctor ? sc_ctor : NULL);
    fuzz_digest_ok(kc != NULL);
    if (!kc) {
        SC_TRACE("  -> NULL (out of memory)");
        return;
    }
    if (kmem_cache_size(kc) != size || !fuzz_streq(kmem_cache_name(kc), name))
        sc_fail("cache-create-mismatch size=%zu name=%s got size=%zu name=%s", size, name,
                kmem_cache_size(kc), kmem_cache_name(kc));
    memset(sl, 0, sizeof(*sl));
    sl->used = true;
    sl->kc = kc;
    sl->id = slab_fz.next_cache_id++;
    sl->size = size;
    sl->ctor = ctor;
    sl->dma = flags & SLAB_CACHE_DMA;
    sl->align = MM_MAX(align, (size_t)KMALLOC_MIN_ALIGN);
    if (flags & SLAB_HWCACHE_ALIGN)
        sl->align = MM_MAX(sl->align, (size_t)MM_CACHE_LINE);
    sc_known_add(kc);
    if (sc_cache_of(kc))
        sc_known_add(sc_cache_of(kc)); /* the cache of caches */
    SC_TRACE("  -> c=%s", name);
}

static void sc_op_cache_destroy(uint32_t c)
{
    struct sc_cache *sl = sc_pick_cache(c);
    unsigned long before, busy;
    int err;

    if (!sl)
        return;
    before = mm_misuse_count();
    busy = mm_misuse_count_kind(MM_MISUSE_CACHE_BUSY);
    err = kmem_cache_destroy(sl->kc);
    fuzz_digest_err(err);
    if (sl->nlive) {
        if (err != -MM_EBUSY || mm_misuse_count_kind(MM_MISUSE_CACHE_BUSY) != busy + 1 ||
            mm_misuse_count() != before + 1)
            sc_fail("destroy-busy cache=fuzz-%u live=%u: err=%s busy-count %lu -> %lu",
                    (unsigned int)sl->id, (unsigned int)sl->nlive, mm_strerror(err), busy,
                    mm_misuse_count_kind(MM_MISUSE_CACHE_BUSY));
        slab_fz.misuse_expected++;
        SC_TRACE("  -> EBUSY (%u live)", (unsigned int)sl->nlive);
        return;
    }
    if (err)
        sc_fail("destroy-failed cache=fuzz-%u err=%s", (unsigned int)sl->id, mm_strerror(err));
    sc_known_del(sl->kc);
    sl->used = false;
    SC_TRACE("  -> destroyed");
}

static void sc_op_cache_alloc(uint32_t c, gfp_t gfp, bool zero)
{
    struct sc_cache *sl = sc_pick_cache(c);
    uint8_t *p;

    if (!sl || slab_fz.nr_live == SC_MAX_LIVE)
        return;
    p = zero ? kmem_cache_zalloc(sl->kc, gfp) : kmem_cache_alloc(sl->kc, gfp);
    fuzz_digest_ok(p != NULL);
    if (!p) {
        SC_TRACE("  -> NULL");
        return;
    }
    sc_take(p, sl->size, gfp, SC_CACHE, (int)(sl - slab_fz.cache), zero || (gfp & __GFP_ZERO));
}

static void sc_free_obj(struct sc_obj *o, uint32_t via)
{
    int err;

    sc_verify("at-free", o, true);
    sc_restore_ctor(o);
    if (o->kind == SC_CACHE && via == FUZZ_VIA_CACHE)
        err = kmem_cache_free(o->kc, o->p);
    else
        err = kfree(o->p);
    fuzz_digest_err(err);
    if (err)
        sc_fail("free-error tag=%u obj=%p size=%zu err=%s", (unsigned int)o->tag, (void *)o->p,
                o->req, mm_strerror(err));
    SC_TRACE("  freed tag=%u obj=%p", (unsigned int)o->tag, (void *)o->p);
    sc_forget(o);
}

static void sc_op_kmalloc(size_t size, gfp_t gfp, uint32_t fn, uint32_t n)
{
    size_t req = size;
    uint8_t *p;
    bool zero = gfp & __GFP_ZERO;

    if (slab_fz.nr_live == SC_MAX_LIVE)
        return;
    switch (fn) {
    case FUZZ_KM_KZALLOC: p = kzalloc(size, gfp); zero = true; break;
    case FUZZ_KM_KCALLOC: p = kcalloc(n, size, gfp); zero = true; req = n * size; break;
    case FUZZ_KM_ARRAY: p = kmalloc_array(n, size, gfp); req = n * size; break;
    default: p = kmalloc(size, gfp); break;
    }
    fuzz_digest_ok(p != NULL);
    if (req == 0) {
        if (p != ZERO_SIZE_PTR)
            sc_fail("kmalloc-size-0 returned %p, documented ZERO_SIZE_PTR", (void *)p);
        if (ksize(p) != 0 || kfree(p) != 0)
            sc_fail("kmalloc-size-0 ZERO_SIZE_PTR not accepted by ksize/kfree");
        return;
    }
    if (!p) {
        SC_TRACE("  -> NULL");
        return;
    }
    sc_take(p, req, gfp, SC_SLAB, -1, zero);
}

/* krealloc kept the old object's token bytes up to the smaller size @keep (ranges in byte order,
 * so the first bad byte is the lowest). */
FUZZ_VERIFY_FN static void sc_check_kept(const struct sc_obj *old, const uint8_t *n, size_t keep,
                                         size_t size)
{
    size_t lo[10], hi[10], i;
    unsigned int r, nr = sc_ranges(old->req, lo, hi);

    for (r = 0; r < nr; r++) {
        size_t end = MM_MIN(hi[r], keep);
        if (lo[r] >= end)
            continue;
        i = sc_first_diff(n, lo[r], end, (struct sc_pattern){ SC_PAT_TAG, old->tag });
        if (mm_unlikely(i < end))
            sc_fail("krealloc-lost-content old=%p new=%p size %zu -> %zu byte=%zu "
                    "expected=0x%02x got=0x%02x", (void *)old->p, (void *)n, old->req, size,
                    i, sc_pat(old->tag, i), n[i]);
    }
}

static void sc_op_krealloc(uint32_t h, size_t size, gfp_t gfp, bool of_null)
{
    struct sc_obj *o = of_null ? NULL : sc_pick(h, 1u << SC_SLAB | 1u << SC_LARGE), old;
    uint8_t *n;
    size_t keep;

    if (!of_null && !o)
        return;
    if (!o) {
        n = krealloc(NULL, size, gfp);
        fuzz_digest_ok(n != NULL);
        if (!size && n != ZERO_SIZE_PTR)
            sc_fail("krealloc-null-0 returned %p, documented ZERO_SIZE_PTR", (void *)n);
        if (n && size)
            sc_take(n, size, gfp, SC_SLAB, -1, gfp & __GFP_ZERO);
        return;
    }
    sc_verify("before-krealloc", o, true);
    old = *o;
    n = krealloc(o->p, size, gfp);
    fuzz_digest_ok(n != NULL);
    fuzz_digest_ok(n == old.p);
    if (!size) {
        if (n != ZERO_SIZE_PTR)
            sc_fail("krealloc-to-0 returned %p, documented ZERO_SIZE_PTR", (void *)n);
        SC_TRACE("  freed tag=%u", (unsigned int)o->tag);
        sc_forget(o);
        return;
    }
    if (!n) {
        SC_TRACE("  -> NULL (object kept)");
        sc_verify("after-failed-krealloc", o, true);
        return;
    }
    keep = MM_MIN(old.req, size);
    sc_check_kept(&old, n, keep, size);
    sc_forget(o); /* the old object is gone either way: re-take the result (drops the grave) */
    slab_fz.inplace = n == old.p;
    sc_take(n, size, n == old.p ? 0 : gfp, SC_SLAB, -1, false);
    slab_fz.inplace = false;
    if (n == old.p && size > sc_usable(n))
        sc_fail("krealloc-in-place-too-small obj=%p size=%zu usable=%zu", (void *)n, size,
                sc_usable(n));
}

/* Shrinking freed what it reported: every page it counts went back to the page allocator. */
static void sc_check_freed(const char *what, unsigned long free0, unsigned long got)
{
    unsigned long free1 = page_alloc_nr_free();
    if (free1 - free0 != got)
        sc_fail("reclaim-miscounted %s reported %lu pages, free pages %lu -> %lu (+%ld)", what, got,
                free0, free1, (long)(free1 - free0));
}

static void sc_op_shrink(uint32_t c)
{
    struct kmem_cache *kc;
    unsigned long got;

    if (!slab_fz.nr_known)
        return;
    kc = slab_fz.known[c % slab_fz.nr_known];
    unsigned long free0 = page_alloc_nr_free();
    got = kmem_cache_shrink(kc);
    fuzz_digest_count(got);
    SC_TRACE("  cache %s -> %lu pages", kmem_cache_name(kc), got);
    sc_check_freed("kmem_cache_shrink", free0, got);
}

static void sc_op_reclaim(unsigned long nr, gfp_t gfp)
{
    unsigned long free0 = page_alloc_nr_free();
    unsigned long got = page_reclaim(gfp, nr);

    fuzz_digest_count(got);
    SC_TRACE("  -> %lu pages", got);
    sc_check_freed("page_reclaim", free0, got);
}

static void sc_op_validate(uint32_t c)
{
    unsigned long bad;
    struct kmem_cache *kc;

    if (!slab_fz.nr_known)
        return;
    kc = slab_fz.known[c % slab_fz.nr_known];
    bad = kmem_cache_validate(kc);
    fuzz_digest_count(bad);
    if (bad)
        sc_fail("validate-found-damage cache=%s damaged=%lu after valid traffic only",
                kmem_cache_name(kc), bad);
}

bool sc_exec_valid(const struct fuzz_op *op)
{
    const uint32_t *a = op->arg;
    struct sc_obj *o;

    switch (op->kind) {
    case FOP_CACHE_CREATE: sc_op_cache_create(a[0], a[1], a[2], a[3]); return true;
    case FOP_CACHE_DESTROY: sc_op_cache_destroy(a[0]); return true;
    case FOP_CACHE_ALLOC: sc_op_cache_alloc(a[0], a[1], a[2]); return true;
    case FOP_CACHE_FREE:
        if ((o = sc_pick(a[0], 1u << SC_CACHE)))
            sc_free_obj(o, a[1]);
        return true;
    case FOP_KMALLOC: sc_op_kmalloc(a[0], a[1], a[2], a[3]); return true;
    case FOP_KREALLOC: sc_op_krealloc(a[0], a[1], a[2], a[3]); return true;
    case FOP_KFREE:
        if ((o = sc_pick(a[0], 1u << SC_SLAB | 1u << SC_LARGE)))
            sc_free_obj(o, FUZZ_VIA_KFREE);
        return true;
    case FOP_CPU:
        fuzz_platform.cpu_set(a[0]);
        slab_fz.cpu = a[0];
        return true;
    case FOP_FAILNEXT:
        page_alloc_fail_inject(a[0], a[1]);
        slab_fz.inject_used = true;
        return true;
    case FOP_CACHE_SHRINK: sc_op_shrink(a[0]); return true;
    case FOP_RECLAIM: sc_op_reclaim(a[0], a[1]); return true;
    case FOP_CACHE_VALIDATE: sc_op_validate(a[0]); return true;
    case FOP_CHECK: return true;
    default: return false;
    }
}

/* ---- checks ---- */

static struct slab_cache_stats sc_stats[SC_MAX_STATS];

/* A cache name's hash (FNV-1a over at most the 32 bytes a stats name holds): the stats check
 * compares hashes and calls fuzz_streq only where two agree. */
static uint64_t sc_name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned int i;

    for (i = 0; i < 32 && s[i]; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static bool sc_name_eq(uint64_t ha, const char *a, uint64_t hb, const char *b)
{
    return ha == hb && fuzz_streq(a, b);
}

/* The caches of live objects, each once, with how many live objects it holds. */
struct sc_holders {
    struct kmem_cache *kc[SC_MAX_LIVE];
    const char *name[SC_MAX_LIVE];
    uint64_t hash[SC_MAX_LIVE];
    unsigned long count[SC_MAX_LIVE];
    unsigned int n;
};

static void sc_count_holders(struct sc_holders *h)
{
    uint32_t k;
    unsigned int j;

    h->n = 0;
    for (k = 0; k < slab_fz.nr_live; k++) {
        struct kmem_cache *kc = slab_fz.live[k].kc;
        /* large blocks and KFENCE objects are not in the slab statistics */
        if (slab_fz.live[k].kind == SC_LARGE || is_kfence_address(slab_fz.live[k].p))
            continue;
        for (j = 0; j < h->n && h->kc[j] != kc; j++)
            ;
        if (j == h->n) {
            h->kc[j] = kc;
            h->name[j] = kmem_cache_name(kc);
            h->hash[j] = sc_name_hash(h->name[j]);
            h->count[j] = 0;
            h->n++;
        }
        h->count[j]++;
    }
}

/* active_objs of every cache = its boot value + the objects the harness holds in it
 * (+ the caches the harness created, for the cache of caches); caches are matched by name. */
static void sc_check_stats(void)
{
    static struct sc_holders held;
    unsigned int n = slab_get_stats(sc_stats, SC_MAX_STATS), i, b, j;
    uint32_t k, ncaches = 0;
    uint64_t hcc = sc_name_hash("kmem_cache");

    if (n > SC_MAX_STATS)
        sc_fail("too-many-caches %u", n);
    for (k = 0; k < SC_MAX_CACHES; k++)
        ncaches += slab_fz.cache[k].used;
    sc_count_holders(&held);
    for (i = 0; i < n; i++) {
        unsigned long want = 0;
        const char *name = sc_stats[i].name;
        uint64_t h = sc_name_hash(name);
        bool boot = false;
        for (b = 0; b < slab_fz.boot_nr_caches && !boot; b++)
            if (sc_name_eq(slab_fz.boot_hash[b], slab_fz.boot_name[b], h, name)) {
                want = slab_fz.boot_active[b];
                boot = true;
            }
        for (j = 0; j < held.n; j++)
            if (sc_name_eq(held.hash[j], held.name[j], h, name))
                want += held.count[j];
        if (sc_name_eq(hcc, "kmem_cache", h, name))
            want += ncaches;
        if (sc_stats[i].active_objs != want)
            sc_fail("stats-active-objs cache=%s active_objs=%lu expected=%lu", sc_stats[i].name,
                    sc_stats[i].active_objs, want);
        if (sc_stats[i].hardened != slab_fz.layout.slab_hardened)
            sc_fail("stats-hardened cache=%s hardened=%d booted=%d", sc_stats[i].name,
                    sc_stats[i].hardened, slab_fz.layout.slab_hardened);
    }
    if (n != slab_fz.boot_nr_caches + ncaches)
        sc_fail("cache-count caches=%u expected=%u", n, slab_fz.boot_nr_caches + (unsigned int)ncaches);
}

void sc_check_all(bool deep)
{
    struct mm_check_report rep;
    unsigned long sum, mis;
    uint32_t k;
    int err;

    err = deep || fuzz_cur_check_due() ? mm_check(&rep) : mm_check_counts(&rep);
    if (err)
        sc_fail("invariant=%s pfn=%lu: %s (%s)", rep.invariant ? rep.invariant : "?", rep.pfn,
                rep.detail, mm_strerror(err));
    mis = mm_misuse_count();
    if (mis != slab_fz.misuse_expected) {
        struct mm_misuse mu;
        mm_misuse_last(&mu);
        sc_fail("misuse-spurious count=%lu expected=%lu last=%s in %s: %s", mis,
                slab_fz.misuse_expected, mm_misuse_name(mu.kind), mu.func ? mu.func : "?", mu.detail);
    }
    sum = page_alloc_nr_free() + slab_nr_pages() + slab_fz.held_pages;
    if (sum != slab_fz.boot_sum)
        sc_fail("invariant=harness.conservation free=%lu slab=%lu held=%lu boot_sum=%lu",
                page_alloc_nr_free(), slab_nr_pages(), slab_fz.held_pages, slab_fz.boot_sum);
    if (deep || fuzz_cur.opno % SC_VERIFY_EVERY == 0) {
        for (k = 0; k < slab_fz.nr_live; k++)
            sc_verify("periodic", &slab_fz.live[k], deep);
        sc_check_stats();
    }
}

/* ---- boot and teardown ---- */

void sc_boot(unsigned int level, unsigned int kfence_interval, bool slab_owner)
{
    static const unsigned int param[3] = { MM_SLAB_HARDEN_OFF, MM_SLAB_HARDEN_CHEAP,
                                           MM_SLAB_HARDEN_FULL };
    unsigned int i;
    int err;

    struct fuzz_machine m = slab_fz.m; /* decoded by the engine */

    memset(&slab_fz, 0, sizeof(slab_fz));
    slab_fz.m = m;
    slab_fz.next_tag = 1;
    fuzz_machine_layout(&slab_fz.m, &slab_fz.layout);
    slab_fz.layout.slab_hardened = level > 0;
    slab_fz.layout.slab_harden_level = param[level < 3 ? level : 2];
    slab_fz.layout.kfence_interval = kfence_interval;
    slab_fz.layout.slab_owner = slab_owner;
    err = fuzz_platform.boot(&slab_fz.layout);
    if (err)
        sc_fail("boot-failed err=%s", mm_strerror(err));
    slab_fz.boot_nr_caches = slab_get_stats(sc_stats, SC_MAX_STATS);
    if (slab_fz.boot_nr_caches > SC_MAX_STATS)
        sc_fail("too-many-boot-caches %u", slab_fz.boot_nr_caches);
    for (i = 0; i < slab_fz.boot_nr_caches; i++) {
        memcpy(slab_fz.boot_name[i], sc_stats[i].name, sizeof(slab_fz.boot_name[i]));
        slab_fz.boot_hash[i] = sc_name_hash(slab_fz.boot_name[i]);
        slab_fz.boot_active[i] = sc_stats[i].active_objs;
    }
    slab_fz.boot_slab_pages = slab_nr_pages();
    slab_fz.boot_sum = page_alloc_nr_free() + slab_fz.boot_slab_pages;
    slab_fz.misuse_expected = mm_misuse_count();
    /* live[] is the harness's only reference to what it holds: the leak scan's root */
    err = mm_leak_root_add(slab_fz.live, sizeof(slab_fz.live));
    if (err)
        sc_fail("leak-root-add-failed err=%s", mm_strerror(err));
}

void sc_leak_check(void)
{
    static struct mm_leak_result r;
    int n = mm_leak_scan(&r);
    if (n < 0)
        sc_fail("invariant=%s leak scan failed err=%s: %s", r.rep.invariant ? r.rep.invariant : "?",
                mm_strerror(n), r.rep.detail);
    if (n > 0)
        sc_fail("invariant=%s leaks=%d objects=%lu: %s", r.rep.invariant, n, r.objects,
                r.rep.detail);
    const char *step = fz_step_disagrees(NULL, NULL, 0); /* where mm_check passes, so must it */
    if (step)
        sc_fail("%s", step);
}

/*
 * Conservation, defined from the API. Empty slabs may stay cached (up to SLAB_MIN_PARTIAL per
 * cache, plus each CPU's active slab), so the free page count alone need not come back. After
 * every object is freed and every cache the harness created is destroyed:
 *   1. every cache's slab_get_stats active_objs equals its boot value (and no cache is left over);
 *   2. page_alloc_nr_free() + slab_nr_pages() equals its boot value (no page lost between the
 *      buddy allocator and the caches; also checked after every op with held pages added);
 *   3. after kmem_cache_shrink of every cache the run touched and kmem_cache_shrink_all,
 *      slab_nr_pages() is at most its boot value (the caches keep no more than the boot-time
 *      objects need).
 */
void sc_teardown(void)
{
    uint32_t i;
    unsigned long pages;

    page_alloc_fail_inject(0, 0);
    while (slab_fz.nr_live)
        sc_free_obj(&slab_fz.live[slab_fz.nr_live - 1], FUZZ_VIA_CACHE);
    for (i = 0; i < SC_MAX_CACHES; i++)
        if (slab_fz.cache[i].used) {
            int err = kmem_cache_destroy(slab_fz.cache[i].kc);
            if (err)
                sc_fail("teardown-destroy-failed cache=fuzz-%u err=%s", (unsigned int)slab_fz.cache[i].id,
                        mm_strerror(err));
            sc_known_del(slab_fz.cache[i].kc);
            slab_fz.cache[i].used = false;
        }
    sc_check_all(true);
    for (i = 0; i < slab_fz.nr_known; i++)
        kmem_cache_shrink(slab_fz.known[i]);
    /* the mm's own caches too: a cache created on another CPU can leave the cache of caches an
     * empty per-CPU slab that only a shrink of that cache returns */
    kmem_cache_shrink_all();
    sc_check_all(true);
    pages = slab_nr_pages();
    if (pages > slab_fz.boot_slab_pages)
        sc_fail("invariant=harness.slab-pages after shrinking every cache slab pages=%lu boot=%lu",
                pages, slab_fz.boot_slab_pages);
}
