/*
 * target_misuse.c - fuzz target "misuse": valid slab / kmalloc traffic (slab_common.c) with
 * injected misuse, built without ASan (build.mk's NOASAN_TARGETS: the harness writes into red zones
 * and freed objects on purpose; the mm's own hardening has to catch it). The boot is hardened at
 * level 2 unless the header's slab_cheap bit asks for level 1 (with slab_off: level 0); the machine
 * line shows slab=hardened|cheap|plain. Each misuse below says the level it needs ("level >= N");
 * below that level it is skipped, never demanded. Level 1's promise is checked in full: its cheap
 * checks must catch every double, interior, wrong-cache and no-owner free, every freelist
 * corruption, an overflow or underflow into the 8-byte canaries and a write after free on a poison
 * word.
 *
 * Every injected misuse must be reported: mm_misuse_count_kind(expected kind) grows by exactly
 * one, mm_misuse_count() by exactly one, mm_misuse_last() names that kind and error, the call
 * returns the documented error (0 for red-zone damage, whose free proceeds after the report),
 * the objects the harness holds are untouched, and mm_check() passes right after. An unreported
 * misuse is "FUZZ-FAIL misuse-undetected kind=<name> op#N [...]".
 *
 *   slab double-free g= via=     (level >= 1 for slab objects, any for large blocks; level 0 for
 *                                the head of this CPU's freelist or the last object in its
 *                                remote-free buffer)
 *                                free a pointer freed before and not handed out since (the page
 *                                must still be a slab of the same cache with an object start
 *                                there, or, for a large kmalloc block, free pages):
 *                                MM_MISUSE_DOUBLE_FREE, -MM_EINVAL
 *   slab interior h= k= via=     free obj + 1..class-1: MM_MISUSE_NOT_OBJECT, -MM_EINVAL
 *   slab no-owner WHAT via= x=   free of memory no cache owns: a page-allocator block or a
 *                                reserved page (MM_MISUSE_NOT_SLAB, -MM_EINVAL), a stack or global
 *                                buffer or an address past the last pfn (MM_MISUSE_NOT_SLAB,
 *                                -MM_EFAULT), a free page (kfree: MM_MISUSE_DOUBLE_FREE; cache
 *                                free: MM_MISUSE_NOT_SLAB; both -MM_EINVAL)
 *   slab wrong-cache h= c=       kmem_cache_free into another live cache: MM_MISUSE_WRONG_CACHE
 *   slab kfree-pages order= off= kfree of (a pointer into) an alloc_pages block: NOT_SLAB, -EINVAL
 *   slab overflow h= k= n= then= (level >= 1) write n bytes at obj[req + k], req the requested
 *                                size (inside the red zone: the rest of a kmalloc class, then the
 *                                >= 16-byte right red zone; level 1: k and n folded into its
 *                                8-byte canary at req), then free (returns 0) or
 *                                kmem_cache_validate (returns 1): one MM_MISUSE_REDZONE. The
 *                                harness never calls ksize() on a live object (it would open the
 *                                class).
 *   slab underflow h= k= n= then= (level >= 1) the same before the object: obj[-k .. -k+n-1]
 *                                (level 1: k folded into 1..8, its canary)
 *   slab write-after-free h= k= then=  (level >= 1) free an object (of a cache without
 *                                constructor), write one byte of it (level 1: byte k / 4 % 8 of
 *                                poison word k % 4), then allocate once from the same cache on the same
 *                                CPU (if that returns the object the allocation reports) else /
 *                                or kmem_cache_validate (returns 1): one MM_MISUSE_USE_AFTER_FREE
 *   slab freelist-corrupt size= fill=  (level >= 1) in a fresh cache of that size: allocate A
 *                                and B from the CPU's slab, free A then B (B heads the CPU
 *                                freelist, its next pointer names A), overwrite B's right red zone
 *                                and metadata (obfuscated next pointer, state, cpu, site; level 1:
 *                                the metadata, and with an odd size the canary before B) with the
 *                                fill byte, allocate twice. The first allocation returns B with
 *                                exactly one MM_MISUSE_FREELIST (B's next pointer fails
 *                                validation; the freelist is rebuilt from the state tags) and one
 *                                MM_MISUSE_REDZONE (B's red zone, repaired; none when level 1
 *                                spared the canary); the second returns
 *                                a free object start of the same slab, reporting nothing. Then
 *                                kmem_cache_validate finds nothing, mm_check() passes, both
 *                                objects free cleanly and the cache is destroyed.
 *
 *   slab krealloc-bad interior|freed h= k= size=   (freed slab objects: level >= 1)
 *                                krealloc of obj + 1..class-1 of a kmalloc
 *                                object (MM_MISUSE_NOT_OBJECT) or of a stale pointer as for
 *                                double-free (MM_MISUSE_DOUBLE_FREE): returns NULL (-MM_EINVAL
 *                                reported), allocates and copies nothing, the object is untouched
 *   slab free-meta cache|kmalloc-cache c= via=kfree|cache|krealloc   a live cache descriptor (one
 *                                the harness created, or a kmalloc cache's) given to kfree,
 *                                kmem_cache_free(kmem_cache cache) (-MM_EINVAL) or krealloc (NULL):
 *                                MM_MISUSE_INTERNAL_OBJECT, the cache keeps working
 *
 * KFENCE (header bit kfence, machine line kfence=on; 1 in N allocations sampled, N from seed bits
 * 27-29: fuzz_machine_kfence_interval): at every level, the ops above on a sampled object (its
 * page between two guard pages, slab.h "KFENCE") become the pool's checks. overflow / underflow:
 * one byte at obj[req + x] or obj[-1 - x] (x = (k + n + then) % 64): on the guard page the
 * access faults (machine_kernel_probe) and is reported MM_MISUSE_OUT_OF_BOUNDS, -MM_EFAULT, at
 * the fault address; inside the page it hits a canary byte, MM_MISUSE_REDZONE at the free.
 * write-after-free: free it, then read (then even) or write (odd) byte k % req: faults,
 * MM_MISUSE_USE_AFTER_FREE, -MM_EFAULT. double-free of a freed sampled object whose page no
 * object took since (mm_describe_addr says so): MM_MISUSE_DOUBLE_FREE. interior, wrong-cache and
 * krealloc-bad interior need no change: the pool reports them as the slab does.
 *
 * Digest (digest.h): besides the valid traffic's (slab_common.c), each misuse's return value,
 * the kind and error of the report, whether a write-after-free allocation got the damaged object
 * back and whether the freelist report fired; never an address.
 */
#include "slab_common.h"
#include "machine.h"
#include "mm_describe.h"
#include "../mm/heap/slab_internal.h"

static const uint8_t mu_kinds[] = {
    FOP_CACHE_CREATE, FOP_CACHE_DESTROY, FOP_CACHE_ALLOC, FOP_CACHE_ALLOC, FOP_CACHE_ALLOC,
    FOP_CACHE_FREE, FOP_CACHE_FREE, FOP_KMALLOC, FOP_KMALLOC, FOP_KMALLOC, FOP_KREALLOC,
    FOP_KFREE, FOP_KFREE, FOP_CPU, FOP_CPU, FOP_CACHE_VALIDATE, FOP_CHECK,
    FOP_SLAB_DOUBLE_FREE, FOP_SLAB_DOUBLE_FREE, FOP_SLAB_INTERIOR, FOP_SLAB_NO_OWNER,
    FOP_SLAB_WRONG_CACHE, FOP_SLAB_KFREE_PAGES, FOP_SLAB_OVERFLOW, FOP_SLAB_UNDERFLOW,
    FOP_SLAB_UAF, FOP_SLAB_UAF, FOP_SLAB_FREELIST, FOP_SLAB_KREALLOC_BAD, FOP_SLAB_FREE_META,
};

static const struct fuzz_op_table mu_table = { mu_kinds, MM_ARRAY_SIZE(mu_kinds),
                                               FUZZ_TABLE_SLAB_LEVELS, NULL };

static unsigned int mu_level; /* slab hardening level of this input's boot */

/* Does this input's level catch a misuse that needs @level? Traces the skip when not. */
static bool mu_level_catches(unsigned int level)
{
    if (mu_level >= level)
        return true;
    SC_TRACE("  skipped: level %u does not promise this (needs %u)", mu_level, level);
    return false;
}

struct mu_before {
    unsigned long total, kind;
};

static struct mu_before mu_snap(enum mm_misuse_kind kind)
{
    return (struct mu_before){ mm_misuse_count(), mm_misuse_count_kind(kind) };
}

/* One injected misuse of @kind: reported exactly once, with @rep_err; the call returned @ret
 * (documented: @want_ret). */
static void mu_expect(const char *name, enum mm_misuse_kind kind, struct mu_before b, long ret,
                      long want_ret, int rep_err)
{
    unsigned long total = mm_misuse_count(), nk = mm_misuse_count_kind(kind);
    struct mm_misuse mu;

    fuzz_digest_count((uint64_t)ret);
    fuzz_digest_count(total - b.total);
    if (total == b.total)
        sc_fail("misuse-undetected kind=%s: nothing reported, call returned %ld (expected %ld, "
                "one %s report)", name, ret, want_ret, mm_misuse_name(kind));
    mm_misuse_last(&mu);
    fuzz_digest_count(mu.kind);
    fuzz_digest_err(mu.err);
    if (nk != b.kind + 1 || total != b.total + 1)
        sc_fail("misuse-miscounted kind=%s: %s count %lu -> %lu, total %lu -> %lu, last=%s (%s)",
                name, mm_misuse_name(kind), b.kind, nk, b.total, total, mm_misuse_name(mu.kind),
                mu.detail);
    if (ret != want_ret || mu.kind != kind || mu.err != rep_err)
        sc_fail("misuse-wrong-result kind=%s: returned %ld expected %ld; reported %s err=%s "
                "(expected %s err=%s)", name, ret, want_ret, mm_misuse_name(mu.kind),
                mm_strerror(mu.err), mm_misuse_name(kind), mm_strerror(rep_err));
    slab_fz.misuse_expected++;
    SC_TRACE("  -> reported %s (%s): %s", mm_misuse_name(mu.kind), mm_strerror(mu.err), mu.detail);
}

static bool mu_is_live(const uint8_t *p)
{
    uint32_t i;

    for (i = 0; i < slab_fz.nr_live; i++)
        if (slab_fz.live[i].p == p)
            return true;
    return false;
}

static bool mu_known(const struct kmem_cache *kc)
{
    uint32_t i;

    for (i = 0; i < slab_fz.nr_known; i++)
        if (slab_fz.known[i] == kc)
            return true;
    return false;
}

static int mu_free(const struct sc_obj *o, void *p, uint32_t via)
{
    if (o && o->kind != SC_LARGE && via == FUZZ_VIA_CACHE)
        return kmem_cache_free(o->kc, p);
    return kfree(p);
}

static const struct sc_grave *mu_kfence_stale(uint32_t g);

/* Level 0's promise (slab.c's cheap check, on every path): a free of the head of this CPU's
 * freelist, or of the last object in this CPU's remote-free buffer, is a double free. */
static bool mu_level0_sees(const struct kmem_cache *kc, const void *p)
{
    const struct kmem_cache_cpu *cc = &kc->cpu[env_cpu_id()];
    return p == cc->freelist || (cc->nr_rfree && p == cc->rfree[cc->nr_rfree - 1]);
}

static void mu_double_free(uint32_t g, uint32_t via)
{
    const struct sc_grave *kg = mu_kfence_stale(g);
    uint32_t i;

    if (kg) { /* a sampled object: caught at every level */
        struct mu_before b = mu_snap(MM_MISUSE_DOUBLE_FREE);
        int err = via == FUZZ_VIA_CACHE ? kmem_cache_free(kg->kc, kg->p) : kfree(kg->p);
        SC_TRACE("  stale sampled obj=%p cache=%s", (void *)kg->p, kmem_cache_name(kg->kc));
        mu_expect("kfence-double-free", MM_MISUSE_DOUBLE_FREE, b, err, -MM_EINVAL, -MM_EINVAL);
        return;
    }

    for (i = 0; i < slab_fz.nr_grave; i++) {
        const struct sc_grave *gr = &slab_fz.grave[(g + i) % slab_fz.nr_grave];
        struct page *head = sc_head(gr->p);
        struct mu_before b = mu_snap(MM_MISUSE_DOUBLE_FREE);
        int err;

        if (!head || mu_is_live(gr->p))
            continue;
        if (gr->kc) {
            if (!mu_known(gr->kc) || sc_cache_of(gr->p) != gr->kc || !sc_usable(gr->p))
                continue; /* the slab went away: not a double free any more */
            if (mu_level < 1 && !mu_level0_sees(gr->kc, gr->p))
                continue; /* level 0 sees only those two */
            err = via == FUZZ_VIA_CACHE ? kmem_cache_free(gr->kc, gr->p) : kfree(gr->p);
        } else {
            if (!(head->flags & (PG_buddy | PG_pcp)) || (head->flags & (PG_head | PG_reserved)))
                continue; /* the pages were handed out again */
            err = kfree(gr->p);
        }
        SC_TRACE("  stale obj=%p cache=%s", (void *)gr->p, gr->kc ? kmem_cache_name(gr->kc) : "-");
        mu_expect("double-free", MM_MISUSE_DOUBLE_FREE, b, err, -MM_EINVAL, -MM_EINVAL);
        return;
    }
    SC_TRACE("  skipped: no stale pointer");
}

static void mu_interior(uint32_t h, uint32_t k, uint32_t via)
{
    struct sc_obj *o = sc_pick(h, 7);
    struct mu_before b = mu_snap(MM_MISUSE_NOT_OBJECT);
    size_t us, off;
    int err;

    if (!o || (us = sc_usable(o->p)) < 2) {
        SC_TRACE("  skipped: no object of 2+ bytes");
        return;
    }
    off = 1 + k % (us - 1);
    err = mu_free(o, o->p + off, via);
    mu_expect("interior", MM_MISUSE_NOT_OBJECT, b, err, -MM_EINVAL, -MM_EINVAL);
    sc_verify("after-misuse", o, true);
}

static uint8_t mu_global[256];

static bool mu_find_pfn(uint32_t x, bool reserved, unsigned long *out)
{
    unsigned long i, n = mm_max_pfn;

    for (i = 0; i < n; i++) {
        unsigned long pfn = (x + i) % n;
        struct page *pg = pfn_to_page(pfn), *h;
        if (reserved) {
            if (pg->flags & PG_reserved) {
                *out = pfn;
                return true;
            }
            continue;
        }
        h = sc_head(page_address(pg));
        if (h && (h->flags & (PG_buddy | PG_pcp)) && !(h->flags & (PG_head | PG_reserved))) {
            *out = pfn;
            return true;
        }
    }
    return false;
}

static void mu_no_owner(uint32_t what, uint32_t via, uint32_t x)
{
    volatile uint8_t stackbuf[64];
    struct kmem_cache *kc = via == FUZZ_VIA_CACHE && slab_fz.nr_known ? slab_fz.known[x % slab_fz.nr_known] : NULL;
    struct mu_before b = mu_snap(MM_MISUSE_NOT_SLAB);
    enum mm_misuse_kind kind = MM_MISUSE_NOT_SLAB;
    struct page *pg = NULL;
    unsigned int order = x % 3;
    unsigned long pfn;
    uint8_t *p;
    int err, want = -MM_EINVAL;

    stackbuf[0] = 1;
    switch (what) {
    case FUZZ_NOOWN_PAGE:
        pg = alloc_pages(GFP_KERNEL, order);
        if (!pg) {
            SC_TRACE("  skipped: no page");
            return;
        }
        p = page_address(pg);
        break;
    case FUZZ_NOOWN_STACK:
        p = (uint8_t *)stackbuf + x % 64;
        want = -MM_EFAULT;
        break;
    case FUZZ_NOOWN_GLOBAL:
        p = mu_global + x % sizeof(mu_global);
        want = -MM_EFAULT;
        break;
    case FUZZ_NOOWN_BEYOND_END:
        p = (uint8_t *)page_address(pfn_to_page(0)) + (mm_max_pfn + x % 64) * PAGE_SIZE +
            (x * 8) % PAGE_SIZE;
        want = -MM_EFAULT;
        break;
    case FUZZ_NOOWN_RESERVED:
    case FUZZ_NOOWN_FREE_PAGE:
        if (!mu_find_pfn(x, what == FUZZ_NOOWN_RESERVED, &pfn)) {
            SC_TRACE("  skipped: no such page");
            return;
        }
        p = (uint8_t *)page_address(pfn_to_page(pfn)) + (x * 8) % PAGE_SIZE;
        if (what == FUZZ_NOOWN_FREE_PAGE && !kc) {
            kind = MM_MISUSE_DOUBLE_FREE;
            b = mu_snap(kind);
        }
        break;
    default:
        return;
    }
    SC_TRACE("  ptr=%p via %s", (void *)p, kc ? kmem_cache_name(kc) : "kfree");
    err = kc ? kmem_cache_free(kc, p) : kfree(p);
    mu_expect(what == FUZZ_NOOWN_PAGE ? "no-owner-page" : what == FUZZ_NOOWN_STACK ? "no-owner-stack"
              : what == FUZZ_NOOWN_GLOBAL ? "no-owner-global" : what == FUZZ_NOOWN_BEYOND_END
              ? "no-owner-beyond-end" : what == FUZZ_NOOWN_RESERVED ? "no-owner-reserved"
              : "no-owner-free-page", kind, b, err, want, want);
    if (pg && (err = __free_pages(pg, order)))
        sc_fail("free-pages-after-misuse err=%s", mm_strerror(err));
}

static void mu_wrong_cache(uint32_t h, uint32_t c)
{
    struct sc_obj *o = sc_pick(h, 1u << SC_CACHE | 1u << SC_SLAB);
    struct kmem_cache *cand[SC_MAX_KNOWN];
    struct mu_before b = mu_snap(MM_MISUSE_WRONG_CACHE);
    uint32_t i, n = 0;
    int err;

    if (!o)
        return;
    for (i = 0; i < slab_fz.nr_known; i++)
        if (slab_fz.known[i] != o->kc)
            cand[n++] = slab_fz.known[i];
    if (!n) {
        SC_TRACE("  skipped: no other cache");
        return;
    }
    SC_TRACE("  obj=%p of %s into %s", (void *)o->p, kmem_cache_name(o->kc),
             kmem_cache_name(cand[c % n]));
    err = kmem_cache_free(cand[c % n], o->p);
    mu_expect("wrong-cache", MM_MISUSE_WRONG_CACHE, b, err, -MM_EINVAL, -MM_EINVAL);
    sc_verify("after-misuse", o, true);
}

static void mu_kfree_pages(uint32_t order, uint32_t off)
{
    struct mu_before b = mu_snap(MM_MISUSE_NOT_SLAB);
    struct page *pg;
    int err;

    order = MM_MIN(order, 3u);
    pg = alloc_pages(GFP_KERNEL, order);
    if (!pg) {
        SC_TRACE("  skipped: no pages");
        return;
    }
    err = kfree((uint8_t *)page_address(pg) + (off * 8) % (PAGE_SIZE << order));
    mu_expect("kfree-pages", MM_MISUSE_NOT_SLAB, b, err, -MM_EINVAL, -MM_EINVAL);
    if ((err = __free_pages(pg, order)))
        sc_fail("free-pages-after-misuse err=%s", mm_strerror(err));
}

/*
 * Overwrite @n bytes at @p with @fill by plain stores: a memset call would be checked against the
 * sanitizer shadow (ASan's interceptor, a checking kernel memset), and this damage must reach
 * memory unseen so that only the mm's own hardening can find it, whatever shadow is active.
 */
static void mu_damage(uint8_t *p, uint8_t fill, size_t n)
{
    volatile uint8_t *d = p;

    for (size_t i = 0; i < n; i++)
        d[i] = fill;
}

/* Damage [from, from + n) relative to the object, then free it or validate its cache. */
static void mu_redzone(const char *name, struct sc_obj *o, long from, uint32_t n, uint32_t then)
{
    struct mu_before b = mu_snap(MM_MISUSE_REDZONE);
    uint32_t i;
    long ret;

    sc_verify("before-misuse", o, true);
    for (i = 0; i < n; i++)
        o->p[from + (long)i] ^= 0x5a;
    SC_TRACE("  obj=%p bytes [%ld, %ld) of %s", (void *)o->p, from, from + (long)n,
             kmem_cache_name(o->kc));
    if (then == 0) {
        sc_restore_ctor(o);
        ret = mu_free(o, o->p, o->kind == SC_CACHE ? FUZZ_VIA_CACHE : FUZZ_VIA_KFREE);
        mu_expect(name, MM_MISUSE_REDZONE, b, ret, 0, -MM_EINVAL);
        sc_forget(o);
        return;
    }
    ret = (long)kmem_cache_validate(o->kc);
    mu_expect(name, MM_MISUSE_REDZONE, b, ret, 1, -MM_EINVAL);
    sc_verify("after-validate", o, true);
}

/* ---- KFENCE (kfence=on inputs): sampled objects, caught at every level ---- */

static volatile uint8_t mu_sink;
static void mu_touch_read(void *p) { mu_sink = *(volatile uint8_t *)p; }
static void mu_touch_write(void *p) { *(volatile uint8_t *)p ^= 0x5a; }

/* A kernel access at @p that must fault and be reported as @kind (KFENCE, any level). */
static void mu_kfence_fault(const char *name, enum mm_misuse_kind kind, uint8_t *p, bool write)
{
    struct mu_before b = mu_snap(kind);
    uintptr_t at = 0;
    bool faulted = machine_kernel_probe(write ? mu_touch_write : mu_touch_read, p, &at);

    SC_TRACE("  %s %p: %s", write ? "write" : "read", (void *)p, faulted ? "faulted" : "no fault");
    if (faulted && at != (uintptr_t)p)
        sc_fail("kfence-fault-address %s: faulted at %#lx, accessed %p", name, (unsigned long)at,
                (void *)p);
    mu_expect(name, kind, b, faulted, 1, -MM_EFAULT);
}

/*
 * Byte @k (0-based) past the end of sampled object @o, or before its start (@before): on the
 * guard page it faults at the access (out-of-bounds); inside the object's page it hits a canary
 * byte, reported when the object is freed (redzone).
 */
static void mu_kfence_bounds(const char *name, struct sc_obj *o, bool before, uint32_t k)
{
    uintptr_t page = (uintptr_t)o->p & ~(uintptr_t)(PAGE_SIZE - 1);
    uint8_t *at = before ? o->p - 1 - k % 64 : o->p + o->req + k % 64;
    struct mu_before b = mu_snap(MM_MISUSE_REDZONE);
    long ret;

    sc_verify("before-misuse", o, true);
    if ((uintptr_t)at < page || (uintptr_t)at >= page + PAGE_SIZE) {
        mu_kfence_fault(name, MM_MISUSE_OUT_OF_BOUNDS, at, !before);
        sc_verify("after-misuse", o, true);
        return;
    }
    mu_damage(at, (uint8_t)(*at ^ 0x5a), 1);
    SC_TRACE("  canary byte %p of sampled %p", (void *)at, (void *)o->p);
    sc_restore_ctor(o);
    ret = mu_free(o, o->p, o->kind == SC_CACHE ? FUZZ_VIA_CACHE : FUZZ_VIA_KFREE);
    mu_expect(name, MM_MISUSE_REDZONE, b, ret, 0, -MM_EINVAL);
    sc_forget(o);
}

/* Free sampled object @o, then touch byte @k of it: the freed page faults (use after free). */
static void mu_kfence_uaf(struct sc_obj *o, uint32_t k, bool write)
{
    uint8_t *p = o->p;
    size_t req = o->req;
    int err;

    sc_verify("at-free", o, true);
    err = mu_free(o, p, o->kind == SC_CACHE ? FUZZ_VIA_CACHE : FUZZ_VIA_KFREE);
    if (err)
        sc_fail("free-error obj=%p err=%s", (void *)p, mm_strerror(err));
    sc_forget(o);
    mu_kfence_fault("kfence-use-after-free", MM_MISUSE_USE_AFTER_FREE, p + k % MM_MAX(req, 1u),
                    write);
}

/* A freed sampled object still free in the pool (its page unused since), or NULL. */
static const struct sc_grave *mu_kfence_stale(uint32_t g)
{
    for (uint32_t i = 0; i < slab_fz.nr_grave; i++) {
        const struct sc_grave *gr = &slab_fz.grave[(g + i) % slab_fz.nr_grave];
        struct mm_addr_desc d;
        if (is_kfence_address(gr->p) && gr->kc && mu_known(gr->kc) && !mu_is_live(gr->p) &&
            mm_describe_addr(gr->p, &d) &&
            d.object == (uintptr_t)gr->p && d.state == MM_OBJ_FREED)
            return gr;
    }
    return NULL;
}

static void mu_overflow(uint32_t h, uint32_t k, uint32_t n, uint32_t then)
{
    struct sc_obj *o = sc_pick(h, 1u << SC_CACHE | 1u << SC_SLAB);
    uint32_t span = mu_level >= 2 ? 16 : SLAB_CANARY;

    if (o && is_kfence_address(o->p)) {
        mu_kfence_bounds("kfence-overflow", o, false, k + n + then);
        return;
    }
    if (!o || !mu_level_catches(1))
        return;
    k %= span;
    n = 1 + (n - 1) % (span - k);
    mu_redzone("redzone-overflow", o, (long)o->req + (long)k, n, then);
}

static void mu_underflow(uint32_t h, uint32_t k, uint32_t n, uint32_t then)
{
    struct sc_obj *o = sc_pick(h, 1u << SC_CACHE | 1u << SC_SLAB);

    if (o && is_kfence_address(o->p)) {
        mu_kfence_bounds("kfence-underflow", o, true, k + n + then);
        return;
    }
    if (!o || !mu_level_catches(1))
        return;
    if (mu_level < 2)
        k = 1 + (k - 1) % SLAB_CANARY;
    n = 1 + (n - 1) % k;
    mu_redzone("redzone-underflow", o, -(long)k, n, then);
}

static void mu_uaf(uint32_t h, uint32_t k, uint32_t then)
{
    struct sc_obj *o = NULL;
    struct kmem_cache *kc;
    struct mu_before b;
    uint8_t *p, *q;
    size_t size;
    int slot, err;
    uint32_t i;
    bool dma;

    for (i = 0; i < slab_fz.nr_live && !o; i++) {
        struct sc_obj *c = &slab_fz.live[(h + i) % slab_fz.nr_live];
        if (c->kind == SC_SLAB || (c->kind == SC_CACHE && !slab_fz.cache[c->slot].ctor))
            o = c;
    }
    if (o && is_kfence_address(o->p)) {
        mu_kfence_uaf(o, k, then & 1);
        return;
    }
    if (!mu_level_catches(1))
        return;
    if (!o) {
        SC_TRACE("  skipped: no object of a cache without constructor");
        return;
    }
    kc = o->kc;
    p = o->p;
    slot = o->slot;
    size = kmem_cache_size(kc);
    dma = kmem_cache_name(kc)[0] == 'd';
    sc_verify("at-free", o, true);
    err = o->kind == SC_CACHE ? kmem_cache_free(kc, p) : kfree(p);
    if (err)
        sc_fail("free-error obj=%p err=%s", (void *)p, mm_strerror(err));
    sc_forget(o);
    if (sc_cache_of(p) != kc || !sc_usable(p)) {
        SC_TRACE("  skipped write: the slab of %p was given back", (void *)p);
        return;
    }
    if (mu_level < 2 && size >= 8) /* level 1 promises its poison words */
        k = slab_poison_word(kc, k % SLAB_POISON_WORDS) + (k / SLAB_POISON_WORDS) % 8;
    p[k % size] ^= 0x5a;
    SC_TRACE("  wrote byte %zu of freed %p (%s)", (size_t)(k % size), (void *)p, kmem_cache_name(kc));
    b = mu_snap(MM_MISUSE_USE_AFTER_FREE);
    if (then == 0) {
        q = slot >= 0 ? kmem_cache_alloc(kc, GFP_KERNEL)
                      : kmalloc(size, GFP_KERNEL | (dma ? __GFP_DMA : 0));
        fuzz_digest_ok(q != NULL);
        fuzz_digest_ok(q == p);
        if (q == p) {
            mu_expect("write-after-free", MM_MISUSE_USE_AFTER_FREE, b, 0, 0, -MM_EINVAL);
        } else if (mm_misuse_count() != b.total) {
            struct mm_misuse mu;
            mm_misuse_last(&mu);
            sc_fail("misuse-spurious allocation %p (not the damaged %p) reported %s: %s",
                    (void *)q, (void *)p, mm_misuse_name(mu.kind), mu.detail);
        }
        if (q)
            sc_take(q, size, dma ? GFP_DMA : GFP_KERNEL, slot >= 0 ? SC_CACHE : SC_SLAB, slot, false);
        if (q == p)
            return;
        SC_TRACE("  allocation returned %p: validating", (void *)q);
    }
    mu_expect("write-after-free", MM_MISUSE_USE_AFTER_FREE, b, (long)kmem_cache_validate(kc), 1,
              -MM_EINVAL);
}

/* An object of @kc from its slab, not the KFENCE pool: a sampled one goes back and the next
 * allocation, a fresh countdown away from the next sample (interval >= 2 here: with 1, A and B
 * were sampled and the op skipped), comes from the slab. */
static uint8_t *mu_alloc_from_slab(struct kmem_cache *kc)
{
    uint8_t *q = kmem_cache_alloc(kc, GFP_KERNEL);
    if (q && is_kfence_address(q)) {
        SC_TRACE("  %p sampled by KFENCE: freed, allocating again", (void *)q);
        if (kmem_cache_free(kc, q))
            sc_fail("freelist-kfence-free of sampled %p failed", (void *)q);
        q = kmem_cache_alloc(kc, GFP_KERNEL);
    }
    return q;
}

static void mu_freelist(uint32_t size, uint32_t fill)
{
    struct kmem_cache *kc = kmem_cache_create("fz-freelist", size, 0, 0, NULL);
    uint8_t *held[2] = { NULL, NULL }, *a, *b, *q, *slot, *from, *to;
    unsigned long tot, nfl, nrz;
    struct mm_check_report rep;
    struct page *slab;
    uintptr_t *where;
    unsigned int k;
    void *next;
    bool fl_bad, rz_hit = true;
    long idx;
    int err;

    if (!kc) {
        SC_TRACE("  skipped: no memory for a cache");
        return;
    }
    if (!mu_level_catches(1))
        goto out;
    a = held[0] = kmem_cache_alloc(kc, GFP_KERNEL);
    b = held[1] = a ? kmem_cache_alloc(kc, GFP_KERNEL) : NULL;
    slab = kc->cpu[slab_fz.cpu].slab;
    if (!a || !b || !slab || slab_obj_index(kc, slab, a) < 0 || slab_obj_index(kc, slab, b) < 0) {
        SC_TRACE("  skipped: objects %p %p not both from the CPU slab", (void *)a, (void *)b);
        goto out;
    }
    held[0] = held[1] = NULL;
    if (kmem_cache_free(kc, a) || kmem_cache_free(kc, b))
        sc_fail("freelist-setup: freeing fresh objects failed");
    if (kc->cpu[slab_fz.cpu].freelist != b || kc->cpu[slab_fz.cpu].slab != slab)
        sc_fail("freelist-setup: the CPU freelist is headed by %p, not the last freed %p",
                kc->cpu[slab_fz.cpu].freelist, (void *)b);
    slot = slab_slot_of(kc, b);
    from = b + kc->object_size; /* level 2: [ .. B | red zone | meta ] */
    to = slot + kc->meta_offset + sizeof(struct slab_meta);
    if (kc->harden_level < 2) { /* level 1: [ meta | canary | B .. ]; an even size spares the
                                    canary, so the freelist check alone has to see the damage */
        from = slot + kc->meta_offset;
        rz_hit = size & 1;
        to = rz_hit ? b : from + sizeof(struct slab_meta);
    }
    fill &= 0xff;
    if (fill == SLAB_RZ_BYTE)
        fill ^= 1;
    mu_damage(from, (uint8_t)fill, (size_t)(to - from));
    where = (uintptr_t *)(slot + kc->fp_offset);
    next = (void *)(*where ^ kc->secret ^ (uintptr_t)where);
    idx = next ? slab_obj_index(kc, slab, next) : 0;
    fl_bad = next && (idx < 0 || slab_meta_of(kc, next)->state != SLAB_STATE_FREE);
    fuzz_digest_ok(fl_bad);
    SC_TRACE("  object size %u slot %u: B=%p bytes [%ld, %ld) := 0x%02x, next decodes to %p",
             kc->object_size, kc->size, (void *)b, (long)(from - b), (long)(to - b),
             (unsigned int)fill, next);
    tot = mm_misuse_count();
    nfl = mm_misuse_count_kind(MM_MISUSE_FREELIST);
    nrz = mm_misuse_count_kind(MM_MISUSE_REDZONE);
    q = held[0] = mu_alloc_from_slab(kc);
    if (q != b)
        sc_fail("freelist-first-alloc returned %p, expected the corrupted object %p", (void *)q,
                (void *)b);
    if (mm_misuse_count_kind(MM_MISUSE_FREELIST) != nfl + fl_bad ||
        mm_misuse_count_kind(MM_MISUSE_REDZONE) != nrz + rz_hit ||
        mm_misuse_count() != tot + fl_bad + rz_hit)
        sc_fail("freelist-reports freelist %lu -> %lu (expected +%d), redzone %lu -> %lu "
                "(expected +%d), total %lu -> %lu", nfl, mm_misuse_count_kind(MM_MISUSE_FREELIST),
                fl_bad, nrz, mm_misuse_count_kind(MM_MISUSE_REDZONE), rz_hit, tot,
                mm_misuse_count());
    slab_fz.misuse_expected += fl_bad + rz_hit;
    tot = mm_misuse_count();
    q = held[1] = mu_alloc_from_slab(kc);
    if (!q || q == b || sc_cache_of(q) != kc || slab_obj_index(kc, sc_head(q), q) < 0)
        sc_fail("freelist-second-alloc returned %p: not another object start of the cache",
                (void *)q);
    if (sc_head(q) != slab)
        sc_fail("freelist-second-alloc returned %p outside the repaired slab", (void *)q);
    if (mm_misuse_count() != tot)
        sc_fail("freelist-second-alloc reported %lu misuse(s)", mm_misuse_count() - tot);
    if (kmem_cache_validate(kc) != 0)
        sc_fail("freelist-validate: damage left after the repair");
    if ((err = mm_check(&rep)))
        sc_fail("invariant=%s after freelist repair: %s", rep.invariant ? rep.invariant : "?",
                rep.detail);
out:
    for (k = 0; k < 2; k++)
        if (held[k] && (err = kmem_cache_free(kc, held[k])))
            sc_fail("freelist-free returned %s", mm_strerror(err));
    if ((err = kmem_cache_destroy(kc)))
        sc_fail("freelist-destroy returned %s", mm_strerror(err));
}

/* A stale pointer of the graves that is still freed memory of its cache (or free pages), or NULL. */
static const struct sc_grave *mu_stale(uint32_t g)
{
    uint32_t i;

    for (i = 0; i < slab_fz.nr_grave; i++) {
        const struct sc_grave *gr = &slab_fz.grave[(g + i) % slab_fz.nr_grave];
        struct page *head = sc_head(gr->p);

        if (!head || mu_is_live(gr->p))
            continue;
        if (gr->kc && mu_known(gr->kc) && sc_cache_of(gr->p) == gr->kc && sc_usable(gr->p))
            return gr;
        if (!gr->kc && (head->flags & (PG_buddy | PG_pcp)) && !(head->flags & (PG_head | PG_reserved)))
            return gr;
    }
    return NULL;
}

/* krealloc of an interior pointer or a freed object: reported, NULL, nothing allocated or copied. */
static void mu_krealloc_bad(uint32_t what, uint32_t h, uint32_t k, uint32_t size)
{
    enum mm_misuse_kind kind = what ? MM_MISUSE_DOUBLE_FREE : MM_MISUSE_NOT_OBJECT;
    struct mu_before b = mu_snap(kind);
    const struct sc_grave *gr;
    struct sc_obj *o = NULL;
    uint8_t *p, *n;
    size_t us;

    if (what == 0) {
        o = sc_pick(h, 1u << SC_SLAB | 1u << SC_LARGE);
        if (!o || (us = sc_usable(o->p)) < 2) {
            SC_TRACE("  skipped: no kmalloc object of 2+ bytes");
            return;
        }
        p = o->p + 1 + k % (us - 1);
    } else {
        if (!(gr = mu_stale(h))) {
            SC_TRACE("  skipped: no stale pointer");
            return;
        }
        if (gr->kc && !mu_level_catches(1))
            return;
        p = gr->p;
    }
    SC_TRACE("  krealloc(%p, %u)", (void *)p, (unsigned int)size);
    n = krealloc(p, size, GFP_KERNEL);
    mu_expect(what ? "krealloc-freed" : "krealloc-interior", kind, b, n != NULL, 0, -MM_EINVAL);
    if (o)
        sc_verify("after-misuse", o, true);
}

/* kfree / kmem_cache_free / krealloc of a live cache descriptor (the mm's own metadata). */
static void mu_free_meta(uint32_t what, uint32_t c, uint32_t via)
{
    struct mu_before b = mu_snap(MM_MISUSE_INTERNAL_OBJECT);
    struct kmem_cache *kc;
    struct sc_cache *sl;
    long ret;

    if (what == 0) {
        if (!(sl = sc_pick_cache(c))) {
            SC_TRACE("  skipped: no created cache");
            return;
        }
        kc = sl->kc;
    } else {
        kc = mm_state.heap.kmalloc_caches[c & 1][(c >> 1) % KMALLOC_NR_CLASSES];
    }
    SC_TRACE("  descriptor of %s via %s", kmem_cache_name(kc),
             via == 0 ? "kfree" : via == 1 ? "kmem_cache_free(kmem_cache)" : "krealloc");
    if (via == 0)
        ret = kfree(kc);
    else if (via == 1)
        ret = kmem_cache_free(mm_state.heap.cache_cache, kc);
    else
        ret = krealloc(kc, 64, GFP_KERNEL) != NULL;
    mu_expect("free-mm-metadata", MM_MISUSE_INTERNAL_OBJECT, b, ret, via == 2 ? 0 : -MM_EINVAL,
              -MM_EINVAL);
}

static uint32_t mu_setup(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    mu_level = fuzz_machine_slab_level(&slab_fz.m, FUZZ_TABLE_SLAB_LEVELS);
    sc_boot(mu_level, fuzz_machine_kfence_interval(&slab_fz.m, FUZZ_TABLE_SLAB_LEVELS),
            fuzz_machine_slab_owner(&slab_fz.m, FUZZ_TABLE_SLAB_LEVELS));
    return 0;
}

static void mu_exec(const struct fuzz_op *op)
{
    const uint32_t *a = op->arg;

    if (sc_exec_valid(op))
        return;
    switch (op->kind) {
    case FOP_SLAB_DOUBLE_FREE: mu_double_free(a[0], a[1]); break;
    case FOP_SLAB_INTERIOR: mu_interior(a[0], a[1], a[2]); break;
    case FOP_SLAB_NO_OWNER: mu_no_owner(a[0], a[1], a[2]); break;
    case FOP_SLAB_WRONG_CACHE: mu_wrong_cache(a[0], a[1]); break;
    case FOP_SLAB_KFREE_PAGES: mu_kfree_pages(a[0], a[1]); break;
    case FOP_SLAB_OVERFLOW: mu_overflow(a[0], a[1], a[2], a[3]); break;
    case FOP_SLAB_UNDERFLOW: mu_underflow(a[0], a[1], a[2], a[3]); break;
    case FOP_SLAB_UAF: mu_uaf(a[0], a[1], a[2]); break;
    case FOP_SLAB_FREELIST: mu_freelist(a[0], a[1]); break;
    case FOP_SLAB_KREALLOC_BAD: mu_krealloc_bad(a[0], a[1], a[2], a[3]); break;
    case FOP_SLAB_FREE_META: mu_free_meta(a[0], a[1], a[2]); break;
    default: break;
    }
}

const struct fuzz_target fuzz_target_misuse = {
    .name = "misuse",
    .table = &mu_table,
    .machine = &slab_fz.m,
    .setup = mu_setup,
    .exec = mu_exec,
    .check = sc_check_all,
    .teardown = sc_teardown,
};
