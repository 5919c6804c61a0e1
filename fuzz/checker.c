/*
 * checker.c - "corrupt VICTIM x=" and "stats" (see checker.h).
 *
 * corrupt: one table, cr_cases, of {victim, locate, damage, expected invariant}. The locator
 * finds the victim by a deterministic scan starting at x (pfn x % max_pfn, cache x % nr_caches,
 * ...); the damage changes one field or byte in one specific way, saving every byte it changes
 * (cr_save) so one restore puts them back; the expected names are invariants of the lists at
 * the top of mm/checks/check.c and check_slab.c. Required:
 *   corrupted:  mm_check() == -MM_ECORRUPT, rep.invariant one of the expected names, rep.err set
 *   restored:   mm_check() == 0 (the checker left no scratch marks behind)
 * Slab object slots are opened (ASan unpoisoned) around each access the way the mm does.
 * Digest: a done corruption feeds "ok", mm_check's error and the invariant it named (the caller
 * feeds "not ok" when there was no victim).
 */
#include "checker.h"
#include "mm_leak.h"
#include "vmalloc.h"
#include "../mm/heap/slab_internal.h"

/* Format the failure and hand it to the target's @fail (which never returns). */
static _Noreturn void fz_failf(fz_fail_fn fail, const char *fmt, ...) MM_PRINTF(2, 3);
static _Noreturn void fz_failf(fz_fail_fn fail, const char *fmt, ...)
{
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    mm_vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    fail(what);
    fuzz_fail("%s", what); /* a @fail that returned: fail anyway */
}

/* ---- saved bytes ---- */

#define CR_MAX_SAVE 4

static struct cr_saved {
    uint8_t *addr;
    size_t len;
    uint8_t bytes[64];
} cr_save_tab[CR_MAX_SAVE];
static unsigned int cr_nsave;

/* Slab slot that must be open while its bytes are touched (NULL: none). */
static struct kmem_cache *cr_slot_cache;
static void *cr_slot;
static bool cr_slot_alloc;

static void cr_save(void *p, size_t n)
{
    struct cr_saved *s = &cr_save_tab[cr_nsave++];

    s->addr = p;
    s->len = n;
    memcpy(s->bytes, p, n);
}

static void cr_open(void)
{
    if (cr_slot)
        slab_slot_open(cr_slot_cache, cr_slot);
}

static void cr_close(void)
{
    if (cr_slot)
        slab_slot_close(cr_slot_cache, cr_slot, cr_slot_alloc);
}

static void cr_restore(void)
{
    cr_open();
    while (cr_nsave) {
        struct cr_saved *s = &cr_save_tab[--cr_nsave];
        memcpy(s->addr, s->bytes, s->len);
    }
    cr_close();
}

/* ---- victims ---- */

static struct list_head cr_junk; /* a list link that is no struct page */

/* First pfn at or after x (wrapping) whose page satisfies @want. */
static bool cr_find_page(uint32_t x, bool (*want)(const struct page *p), unsigned long *out)
{
    unsigned long i, n = mm_max_pfn;

    for (i = 0; i < n; i++) {
        unsigned long pfn = (x + i) % n;
        if (want(pfn_to_page(pfn))) {
            *out = pfn;
            return true;
        }
    }
    return false;
}

static bool cr_is_buddy(const struct page *p) { return p->flags == PG_buddy; }
static bool cr_is_buddy_big(const struct page *p) { return p->flags == PG_buddy && p->order; }
static bool cr_is_pcp(const struct page *p) { return p->flags == PG_pcp; }
static bool cr_is_head(const struct page *p)
{
    return (p->flags & ~PG_OWNER_MASK) == PG_head && p->refcount >= 1;
}
static bool cr_is_head0(const struct page *p) { return cr_is_head(p) && p->order == 0; }

static struct zone *cr_zone(uint32_t x)
{
    unsigned int i;

    unsigned int n = mm_nr_nodes() * MM_NR_ZONES; /* every zone of every node */

    for (i = 0; i < n; i++) {
        unsigned int j = (x + i) % n;
        struct zone *z = &mm_state.phys.node[j / MM_NR_ZONES].zones[j % MM_NR_ZONES];
        if (z->managed)
            return z;
    }
    return NULL;
}

static unsigned int cr_nr_caches(void)
{
    unsigned int n = 0;
    struct list_head *pos;

    list_for_each(pos, &mm_state.heap.caches)
        n++;
    return n;
}

static struct kmem_cache *cr_cache_at(unsigned int k)
{
    struct list_head *pos;

    list_for_each(pos, &mm_state.heap.caches)
        if (k-- == 0)
            return list_entry(pos, struct kmem_cache, list);
    return NULL;
}

/*
 * The @x-th (wrapping) slab of any cache (starting the cache scan at x) that passes @want;
 * *cpu_out = the CPU holding it frozen or -1; *c_out its cache.
 */
enum cr_slab_want { CR_ANY_SLAB, CR_LISTED_SLAB, CR_CPU_SLAB };

static struct page *cr_find_slab(uint32_t x, enum cr_slab_want want, bool hardened_only,
                                 struct kmem_cache **c_out, int *cpu_out)
{
    unsigned int nc = cr_nr_caches(), i;

    for (i = 0; i < nc; i++) {
        struct kmem_cache *c = cr_cache_at((x + i) % nc);
        struct list_head *pos;
        unsigned int l, cpu;

        if (hardened_only && !c->hardened)
            continue;
        if (want != CR_LISTED_SLAB)
            for (cpu = 0; cpu < mm_nr_cpus(); cpu++)
                if (c->cpu[cpu].slab) {
                    *c_out = c;
                    *cpu_out = (int)cpu;
                    return c->cpu[cpu].slab;
                }
        if (want == CR_CPU_SLAB)
            continue;
        for (l = 0; l < SLAB_NR_LISTS; l++)
            list_for_each(pos, slab_list_at(c, l)) {
                *c_out = c;
                *cpu_out = -1;
                return list_entry(pos, struct page, lru);
            }
    }
    return NULL;
}

/* A free object at the head of some freelist (CPU or slab), its slab and cache. */
static void *cr_find_free_obj(uint32_t x, bool hardened_only, bool no_ctor, struct kmem_cache **c_out)
{
    unsigned int nc = cr_nr_caches(), i;

    for (i = 0; i < nc; i++) {
        struct kmem_cache *c = cr_cache_at((x + i) % nc);
        struct list_head *pos;
        unsigned int l, cpu;

        if ((hardened_only && !c->hardened) || (no_ctor && c->ctor))
            continue;
        *c_out = c;
        for (cpu = 0; cpu < mm_nr_cpus(); cpu++) {
            if (c->cpu[cpu].freelist)
                return c->cpu[cpu].freelist;
            if (c->cpu[cpu].slab && c->cpu[cpu].slab->freelist)
                return c->cpu[cpu].slab->freelist;
        }
        for (l = 0; l < SLAB_NR_LISTS; l++)
            list_for_each(pos, slab_list_at(c, l)) {
                struct page *s = list_entry(pos, struct page, lru);
                if (s->freelist)
                    return s->freelist;
            }
    }
    return NULL;
}

static void cr_use_slot(struct kmem_cache *c, void *obj, bool allocated)
{
    cr_slot_cache = c;
    cr_slot = slab_slot_of(c, obj);
    cr_slot_alloc = allocated;
}

static uintptr_t *cr_fp_addr(struct kmem_cache *c, void *obj)
{
    return (uintptr_t *)((char *)slab_slot_of(c, obj) + c->fp_offset);
}

/* ---- the cases: {victim, locate, damage, expected invariant} ---- */

#define CR_MAX_NAMES 3

/* What a locator found and its damage works on; x is the op's scan start. */
struct cr_ctx {
    uint32_t x;
    struct page *p;        /* a page (buddy, pcp, allocated head) or a slab */
    struct zone *z;
    struct kmem_cache *c;
    void *obj;             /* a slab object (its slot opened around the damage) */
};

struct cr_case {
    bool early;                                /* valid before mm_core_init (memblock) */
    bool (*locate)(struct cr_ctx *k);          /* find the victim from k->x; false: none */
    void (*damage)(struct cr_ctx *k);          /* cr_save, then change one field or byte */
    const char *expect[CR_MAX_NAMES];          /* what mm_check may name, NULL-terminated */
};

/* -- locators -- */

static bool cr_page_where(struct cr_ctx *k, bool (*want)(const struct page *p))
{
    unsigned long pfn;

    if (!cr_find_page(k->x, want, &pfn))
        return false;
    k->p = pfn_to_page(pfn);
    return true;
}

static bool cr_loc_buddy(struct cr_ctx *k) { return cr_page_where(k, cr_is_buddy); }
static bool cr_loc_buddy_big(struct cr_ctx *k) { return cr_page_where(k, cr_is_buddy_big); }
static bool cr_loc_pcp(struct cr_ctx *k) { return cr_page_where(k, cr_is_pcp); }
static bool cr_loc_head(struct cr_ctx *k) { return cr_page_where(k, cr_is_head); }
static bool cr_loc_head0(struct cr_ctx *k) { return cr_page_where(k, cr_is_head0); }
static bool cr_loc_zone(struct cr_ctx *k) { return (k->z = cr_zone(k->x)) != NULL; }
static bool cr_loc_memblock(struct cr_ctx *k) { (void)k; return mm_state.phys.early_ready; }

static bool cr_loc_cache(struct cr_ctx *k)
{
    unsigned int n = cr_nr_caches();

    return n && (k->c = cr_cache_at(k->x % n)) != NULL;
}

static bool cr_slab_where(struct cr_ctx *k, enum cr_slab_want want, bool hardened_only)
{
    int cpu;

    return (k->p = cr_find_slab(k->x, want, hardened_only, &k->c, &cpu)) != NULL;
}

static bool cr_loc_slab(struct cr_ctx *k) { return cr_slab_where(k, CR_ANY_SLAB, false); }
static bool cr_loc_cpu_slab(struct cr_ctx *k) { return cr_slab_where(k, CR_CPU_SLAB, false); }
static bool cr_loc_listed_slab(struct cr_ctx *k) { return cr_slab_where(k, CR_LISTED_SLAB, false); }

static bool cr_loc_free_obj(struct cr_ctx *k)
{
    if (!(k->obj = cr_find_free_obj(k->x, false, false, &k->c)))
        return false;
    cr_use_slot(k->c, k->obj, false);
    return true;
}

/* A free object of a hardened cache without a constructor (its poison is checkable). */
static bool cr_loc_poisoned_obj(struct cr_ctx *k)
{
    if (!(k->obj = cr_find_free_obj(k->x, true, true, &k->c)))
        return false;
    cr_use_slot(k->c, k->obj, false);
    return true;
}

/* Object x % objects of a slab of a hardened cache, allocated or free (see cr_dmg_slab_state). */
static bool cr_loc_hardened_obj(struct cr_ctx *k)
{
    if (!cr_slab_where(k, CR_ANY_SLAB, true))
        return false;
    k->obj = (char *)slab_obj_base(k->c, k->p) + (size_t)(k->x % k->c->objects) * k->c->size +
             k->c->obj_offset;
    cr_use_slot(k->c, k->obj, false);
    return true;
}

/* -- damage -- */

#define CR_SAVE(field) cr_save(&(field), sizeof(field))

/* +1, or -1 when x is even and the value is not 0 (never below zero) */
#define CR_NUDGE(x, v) ((x & 1) || !(v) ? 1 : -1)

static void cr_dmg_buddy_flags(struct cr_ctx *k) { CR_SAVE(k->p->flags); k->p->flags |= PG_head; }
static void cr_dmg_buddy_order(struct cr_ctx *k)
{
    CR_SAVE(k->p->order);
    k->p->order = (uint8_t)((k->p->order + 1 + k->x % MM_MAX_ORDER) % MM_NR_ORDERS);
}
static void cr_dmg_link_junk(struct cr_ctx *k) { CR_SAVE(k->p->lru.next); k->p->lru.next = &cr_junk; }
static void cr_dmg_link_self(struct cr_ctx *k) { CR_SAVE(k->p->lru.next); k->p->lru.next = &k->p->lru; }

static void cr_dmg_area_count(struct cr_ctx *k)
{
    unsigned long *n = &k->z->free_area[k->x % MM_NR_ORDERS].nr_free;

    cr_save(n, sizeof(*n));
    *n += (unsigned long)(long)CR_NUDGE(k->x, *n);
}

static void cr_dmg_zone_nr_free(struct cr_ctx *k) { CR_SAVE(k->z->nr_free); k->z->nr_free += 1 + k->x % 4; }

static void cr_dmg_free_tail(struct cr_ctx *k)
{
    struct page *t = k->p + 1 + k->x % ((1ul << k->p->order) - 1);

    CR_SAVE(t->flags);
    t->flags = (k->x & 1) ? PG_reserved : PG_buddy;
}

static void cr_dmg_pcp_cpu(struct cr_ctx *k)
{
    CR_SAVE(k->p->cpu);
    k->p->cpu = (uint8_t)((k->p->cpu + 1 + k->x % (MM_MAX_CPUS - 1)) % MM_MAX_CPUS);
}

static void cr_dmg_pcp_count(struct cr_ctx *k)
{
    struct per_cpu_pages *pcp = &mm_state.phys.node[k->p->node].zones[k->p->zone].pcp[k->p->cpu];

    CR_SAVE(pcp->count);
    pcp->count += (k->x & 1) ? 1u : (unsigned int)-1;
}

static void cr_dmg_refcount(struct cr_ctx *k) { CR_SAVE(k->p->refcount); k->p->refcount = (k->x & 1) ? 0 : -1; }
static void cr_dmg_stray(struct cr_ctx *k) { CR_SAVE(k->p->flags); k->p->flags = (k->x & 1) ? 0 : PG_slab; }
static void cr_dmg_claim_buddy(struct cr_ctx *k) { CR_SAVE(k->p->flags); k->p->flags = PG_buddy; }
static void cr_dmg_claim_pcp(struct cr_ctx *k) { CR_SAVE(k->p->flags); k->p->flags = PG_pcp; }

static void cr_dmg_managed(struct cr_ctx *k)
{
    CR_SAVE(k->z->managed);
    k->z->managed += (unsigned long)(long)CR_NUDGE(k->x, k->z->managed);
}

static void cr_dmg_reserved(struct cr_ctx *k) { CR_SAVE(k->z->reserved); k->z->reserved += 1 + k->x % 3; }

/* Region i (> 0) of one memblock type starts inside or at the end of region i - 1. */
static bool cr_loc_memblock_pair(struct cr_ctx *k, struct memblock_type **t)
{
    struct memblock_type *a = &mm_state.phys.memblock.memory, *b = &mm_state.phys.memblock.reserved;

    *t = (k->x & 1) ? a : b;
    if ((*t)->cnt < 2)
        *t = (k->x & 1) ? b : a;
    return (*t)->cnt >= 2;
}

static void cr_dmg_memblock(struct cr_ctx *k)
{
    struct memblock_type *t;
    unsigned int i;

    if (!cr_loc_memblock_pair(k, &t))
        return;
    i = 1 + k->x % (t->cnt - 1);
    CR_SAVE(t->r[i].base);
    t->r[i].base = (k->x & 2) ? t->r[i - 1].base : t->r[i - 1].base + t->r[i - 1].size;
}

static bool cr_loc_memblock_overlap(struct cr_ctx *k)
{
    struct memblock_type *t;

    return cr_loc_memblock(k) && cr_loc_memblock_pair(k, &t);
}

static void cr_dmg_cache_magic(struct cr_ctx *k) { CR_SAVE(k->c->magic); k->c->magic ^= 1ull << (k->x % 64); }

static void cr_dmg_slab_cache(struct cr_ctx *k)
{
    CR_SAVE(k->p->slab_cache);
    k->p->slab_cache = (struct kmem_cache *)((char *)k->c + 8 * (1 + k->x % 8));
}

static void cr_dmg_slab_frozen(struct cr_ctx *k) { CR_SAVE(k->p->cpu); k->p->cpu = (uint8_t)(k->p->cpu + 1 + k->x % 200); }

static void cr_dmg_slab_inuse(struct cr_ctx *k)
{
    CR_SAVE(k->p->inuse);
    k->p->inuse = (uint16_t)(k->p->inuse + CR_NUDGE(k->x, k->p->inuse));
}

static void cr_dmg_nr_partial(struct cr_ctx *k)
{
    CR_SAVE(k->c->nr_partial);
    k->c->nr_partial += (unsigned long)(long)CR_NUDGE(k->x, k->c->nr_partial);
}

static void cr_dmg_freelist(struct cr_ctx *k)
{
    uintptr_t *where = cr_fp_addr(k->c, k->obj);

    cr_save(where, sizeof(*where));
    *where ^= 1;
}

static void cr_dmg_freelist_dup(struct cr_ctx *k)
{
    uintptr_t *where = cr_fp_addr(k->c, k->obj), obj = (uintptr_t)k->obj;

    cr_save(where, sizeof(*where));
    *where = k->c->hardened ? obj ^ k->c->secret ^ (uintptr_t)where : obj;
}

static void cr_dmg_slab_state(struct cr_ctx *k)
{
    struct slab_meta *m = slab_meta_of(k->c, k->obj);

    cr_slot_alloc = m->state == SLAB_STATE_ALLOC; /* the slot closes as it was */
    CR_SAVE(m->state);
    m->state = cr_slot_alloc ? SLAB_STATE_FREE : SLAB_STATE_ALLOC;
}

/* a byte of the left red zone or of the right one (past the object: level 2 up to the metadata;
 * level 1 keeps only 8-byte canaries, the one before the object and the one after it) */
static void cr_dmg_redzone(struct cr_ctx *k)
{
    struct kmem_cache *c = k->c;
    unsigned int left = c->obj_offset - c->rz_start, right = c->rz_end - c->obj_offset - c->object_size;
    if (c->harden_level < 2)
        left = right = SLAB_CANARY;
    uint8_t *b = (k->x & 1) ? (uint8_t *)k->obj - left + (k->x >> 1) % left
                            : (uint8_t *)k->obj + c->object_size + (k->x >> 1) % right;

    cr_slot_alloc = slab_meta_of(c, k->obj)->state == SLAB_STATE_ALLOC;
    cr_save(b, 1);
    *b ^= (uint8_t)(1u << (k->x % 8));
}

/* a byte of a free object's poison (level 1: of one of its poison words) */
static void cr_dmg_poison(struct cr_ctx *k)
{
    uint32_t off = k->x;
    if (k->c->harden_level < 2 && k->c->object_size >= 8)
        off = slab_poison_word(k->c, off % SLAB_POISON_WORDS) + (off / SLAB_POISON_WORDS) % 8;
    uint8_t *b = (uint8_t *)k->obj + off % k->c->object_size;

    cr_save(b, 1);
    *b ^= 0x20;
}

static const struct cr_case cr_cases[FUZZ_NR_CORRUPT] = {
    [FUZZ_CR_BUDDY_FLAGS] = { false, cr_loc_buddy, cr_dmg_buddy_flags, { "buddy.flags" } },
    [FUZZ_CR_BUDDY_ORDER] = { false, cr_loc_buddy, cr_dmg_buddy_order, { "buddy.flags" } },
    [FUZZ_CR_BUDDY_LINK] = { false, cr_loc_buddy, cr_dmg_link_junk, { "buddy.list" } },
    [FUZZ_CR_BUDDY_LOOP] = { false, cr_loc_buddy, cr_dmg_link_self, { "buddy.duplicate" } },
    [FUZZ_CR_AREA_COUNT] = { false, cr_loc_zone, cr_dmg_area_count, { "buddy.count" } },
    [FUZZ_CR_ZONE_NR_FREE] = { false, cr_loc_zone, cr_dmg_zone_nr_free, { "buddy.nr_free" } },
    [FUZZ_CR_FREE_TAIL] = { false, cr_loc_buddy_big, cr_dmg_free_tail, { "page.block" } },
    [FUZZ_CR_PCP_CPU] = { false, cr_loc_pcp, cr_dmg_pcp_cpu, { "pcp.flags" } },
    [FUZZ_CR_PCP_COUNT] = { false, cr_loc_pcp, cr_dmg_pcp_count, { "pcp.count" } },
    [FUZZ_CR_PCP_LOOP] = { false, cr_loc_pcp, cr_dmg_link_self, { "pcp.duplicate" } },
    [FUZZ_CR_ALLOC_REFCOUNT] = { false, cr_loc_head, cr_dmg_refcount, { "page.refcount" } },
    [FUZZ_CR_ALLOC_STRAY] = { false, cr_loc_head0, cr_dmg_stray, { "page.stray" } },
    /* a free order-0 neighbour now sees a free buddy: either name is right */
    [FUZZ_CR_ALLOC_BUDDY] = { false, cr_loc_head0, cr_dmg_claim_buddy, { "buddy.orphan", "buddy.unmerged" } },
    [FUZZ_CR_ALLOC_PCP] = { false, cr_loc_head0, cr_dmg_claim_pcp, { "pcp.orphan" } },
    [FUZZ_CR_MANAGED] = { false, cr_loc_zone, cr_dmg_managed, { "conserve.managed" } },
    [FUZZ_CR_RESERVED] = { false, cr_loc_zone, cr_dmg_reserved, { "conserve.reserved" } },
    [FUZZ_CR_MEMBLOCK] = { true, cr_loc_memblock_overlap, cr_dmg_memblock, { "memblock.order" } },
    [FUZZ_CR_CACHE_MAGIC] = { false, cr_loc_cache, cr_dmg_cache_magic, { "slab.cache" } },
    [FUZZ_CR_SLAB_CACHE] = { false, cr_loc_slab, cr_dmg_slab_cache, { "slab.page" } },
    [FUZZ_CR_SLAB_FROZEN] = { false, cr_loc_cpu_slab, cr_dmg_slab_frozen, { "slab.frozen" } },
    [FUZZ_CR_SLAB_FREELIST] = { false, cr_loc_free_obj, cr_dmg_freelist, { "slab.freelist" } },
    [FUZZ_CR_SLAB_DUP] = { false, cr_loc_free_obj, cr_dmg_freelist_dup, { "slab.duplicate" } },
    [FUZZ_CR_SLAB_INUSE] = { false, cr_loc_listed_slab, cr_dmg_slab_inuse, { "slab.inuse" } },
    [FUZZ_CR_NR_PARTIAL] = { false, cr_loc_cache, cr_dmg_nr_partial, { "slab.count" } },
    [FUZZ_CR_SLAB_STATE] = { false, cr_loc_hardened_obj, cr_dmg_slab_state, { "slab.state" } },
    [FUZZ_CR_REDZONE] = { false, cr_loc_hardened_obj, cr_dmg_redzone, { "slab.redzone" } },
    [FUZZ_CR_POISON] = { false, cr_loc_poisoned_obj, cr_dmg_poison, { "slab.poison" } },
};

/* ---- the op: locate, damage, judge mm_check's report, restore, judge again ---- */

static bool cr_named(const struct cr_case *cc, const char *got)
{
    unsigned int i;

    for (i = 0; i < CR_MAX_NAMES && cc->expect[i]; i++)
        if (fuzz_streq(cc->expect[i], got))
            return true;
    return false;
}

bool fz_corrupt(uint32_t victim, uint32_t x, fz_fail_fn fail)
{
    const struct cr_case *cc = victim < FUZZ_NR_CORRUPT ? &cr_cases[victim] : NULL;
    const char *alt;
    struct cr_ctx k = { .x = x };
    struct mm_check_report rep;
    const char *step;
    int err;

    cr_nsave = 0;
    cr_slot = NULL;
    cr_slot_cache = NULL;
    if (!cc || !cc->locate || (!cc->early && !mm_ready()) || !cc->locate(&k))
        return false;
    cr_open();
    cc->damage(&k);
    cr_close();
    alt = cc->expect[1] ? cc->expect[1] : "";
    if (fuzz_trace)
        fuzz_log("  corrupted %u byte(s) at %p, expecting %s%s%s", (unsigned int)cr_save_tab[0].len,
                 (void *)cr_save_tab[0].addr, cc->expect[0], *alt ? " or " : "", alt);
    err = mm_check(&rep);
    /* the incremental checker, on the same damage (judged after mm_check's own verdicts) */
    step = err == -MM_ECORRUPT && rep.invariant ? fz_step_disagrees(rep.invariant, cc->expect,
                                                                    CR_MAX_NAMES) : NULL;
    cr_restore();
    fuzz_digest_ok(true);
    fuzz_digest_err(err);
    fuzz_digest_str(rep.invariant);
    if (err != -MM_ECORRUPT || rep.err != -MM_ECORRUPT || !rep.invariant)
        fz_failf(fail, "checker-missed-corruption: mm_check returned %s (report err %s, invariant %s), "
             "expected ECORRUPT %s", mm_strerror(err), mm_strerror(rep.err),
             rep.invariant ? rep.invariant : "none", cc->expect[0]);
    if (!cr_named(cc, rep.invariant))
        fz_failf(fail, "checker-wrong-invariant: mm_check named %s (%s), expected %s%s%s", rep.invariant,
             rep.detail, cc->expect[0], *alt ? " or " : "", alt);
    if (step)
        fz_failf(fail, "%s", step);
    if (fuzz_trace)
        fuzz_log("  mm_check: %s pfn=%lx: %s", rep.invariant, rep.pfn, rep.detail);
    err = mm_check(&rep);
    if (!err && (step = fz_step_disagrees(NULL, NULL, 0)))
        fz_failf(fail, "%s (after restore)", step);
    if (err)
        fz_failf(fail, "checker-after-restore: mm_check returned %s naming %s (%s) once the original bytes "
             "were back", mm_strerror(err), rep.invariant ? rep.invariant : "?", rep.detail);
    return true;
}

/* ---- the incremental checker against the full one ---- */

static char fz_step_msg[400];

const char *fz_step_disagrees(const char *found, const char *const *names, unsigned int nnames)
{
    struct mm_check_cursor cur = { .all_cpus = true };
    struct mm_check_report r;
    int err = 0;
    /* a cycle is bounded by the pages (16 per run) plus the caches and address spaces */
    for (unsigned long i = 0; i < (1ul << 22) && !err && cur.cycles == 0; i++)
        err = mm_check_step(&cur, 16, &r);
    if (!err && cur.cycles == 0) {
        mm_snprintf(fz_step_msg, sizeof(fz_step_msg), "checker-step-endless: mm_check_step did "
                    "not finish a cycle (phase %u zone %u pos %lu, %lu slices, %lu busy)",
                    cur.phase, cur.zone, cur.pos, cur.slices, cur.busy);
        return fz_step_msg;
    }
    if (found && !mm_check_step_sees(found))
        return NULL; /* the step may pass, or name what the same damage breaks in its view */
    if (!err) {
        if (!found)
            return NULL;
        mm_snprintf(fz_step_msg, sizeof(fz_step_msg), "checker-step-missed: mm_check named %s, "
                    "a cycle of mm_check_step (%lu slices) found nothing", found, cur.slices);
        return fz_step_msg;
    }
    if (found && r.invariant && fuzz_streq(found, r.invariant))
        return NULL;
    for (unsigned int i = 0; found && r.invariant && i < nnames && names[i]; i++)
        if (fuzz_streq(names[i], r.invariant))
            return NULL;
    mm_snprintf(fz_step_msg, sizeof(fz_step_msg), "checker-step-%s: mm_check_step returned %s "
                "naming %s (%s) where mm_check %s%s", found ? "wrong-invariant" : "false-positive",
                mm_strerror(err), r.invariant ? r.invariant : "?", r.detail,
                found ? "named " : "passed", found ? found : "");
    return fz_step_msg;
}

/* ---- stats ---- */

static struct page_alloc_stats fz_st;
static struct slab_cache_stats fz_sl[128];
static struct mm_alloc_site fz_sites[MM_ALLOC_SITE_GROUPS];

/* Outstanding objects of the caches named @name by the allocation-site groups (@ng of them). */
static unsigned long fz_sites_of(const char *name, int ng)
{
    unsigned long count = 0;
    for (int g = 0; g < ng; g++)
        if ((fz_sites[g].kind == MM_LEAK_SLAB || fz_sites[g].kind == MM_LEAK_KMALLOC) &&
            fuzz_streq(fz_sites[g].cache, name))
            count += fz_sites[g].count;
    return count;
}

/* Does a cache named @name (of the @n in fz_sl) keep slab_owner tracks? */
static bool fz_cache_owner(const char *name, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++)
        if (fz_sl[i].owner && fuzz_streq(fz_sl[i].name, name))
            return true;
    return false;
}

/* Ages in operations (mm_leak.h): a group of hardened slab objects (their site is recorded) or
 * of a slab_owner cache's, a vmalloc group and, since every fuzz boot turns page_owner on, a
 * group of page blocks or large kmallocs have one; its N objects took N distinct stamps, so the
 * oldest of them is at least N - 1 operations old. A slab_owner cache's group has a site too. */
static void fz_check_site_ages(fz_fail_fn fail, int ng, unsigned int n)
{
    for (int g = 0; g < ng; g++) {
        const struct mm_alloc_site *s = &fz_sites[g];
        bool slab = s->kind == MM_LEAK_SLAB || s->kind == MM_LEAK_KMALLOC;
        bool owner = slab && fz_cache_owner(s->cache, n);
        if (owner && !s->site)
            fz_failf(fail, "stats-sites-owner cache=%s count=%lu has no allocation site",
                     s->cache, s->count);
        bool stamped = s->kind == MM_LEAK_VMALLOC || s->kind == MM_LEAK_PAGES ||
                       s->kind == MM_LEAK_LARGE || (slab && (s->site || owner));
        if (stamped && (s->oldest == MM_LEAK_AGE_UNKNOWN || s->oldest + 1 < s->count))
            fz_failf(fail, "stats-sites-age kind=%s cache=%s count=%lu oldest=%ld",
                     mm_leak_kind_label(s->kind), s->cache, s->count,
                     s->oldest == MM_LEAK_AGE_UNKNOWN ? -1l : (long)s->oldest);
    }
}

void fz_check_sites(fz_fail_fn fail)
{
    struct kfence_stats ks;
    kfence_get_stats(&ks);
    unsigned int n = slab_get_stats(fz_sl, MM_ARRAY_SIZE(fz_sl));
    if (n > MM_ARRAY_SIZE(fz_sl))
        return;
    int ng = mm_alloc_sites(fz_sites, MM_ALLOC_SITE_GROUPS);
    if (ng == -MM_ENOSPC)
        return;
    if (ng < 0 || ng > (int)MM_ALLOC_SITE_GROUPS)
        fz_failf(fail, "stats-sites mm_alloc_sites=%d (%s)", ng, mm_strerror(ng));
    /* A cache's groups hold its live objects (active_objs) and its live KFENCE-sampled ones, which
     * the caches do not count: per name, the surplus lies in [0, nr_live], and over all names
     * it is the pool's nr_live exactly (each sampled object in one group). */
    unsigned long sampled = 0;
    for (unsigned int i = 0; i < n; i++) {
        unsigned long active = 0;
        bool seen = false;
        for (unsigned int j = 0; j < n; j++) /* caches may share a name: the groups do too */
            if (fuzz_streq(fz_sl[j].name, fz_sl[i].name)) {
                active += fz_sl[j].active_objs;
                seen |= j < i;
            }
        if (seen)
            continue; /* the name was judged at its first cache */
        unsigned long grouped = fz_sites_of(fz_sl[i].name, ng);
        if (grouped < active || grouped - active > ks.nr_live)
            fz_failf(fail, "stats-sites-slab cache=%s grouped=%lu active_objs=%lu kfence_live=%lu",
                     fz_sl[i].name, grouped, active, (unsigned long)ks.nr_live);
        sampled += grouped - active;
    }
    if (sampled != ks.nr_live)
        fz_failf(fail, "stats-sites-kfence grouped beyond active_objs=%lu, kfence live=%lu", sampled,
                 (unsigned long)ks.nr_live);
    struct vmalloc_stats vs;
    vmalloc_get_stats(&vs);
    unsigned long areas = 0;
    for (int g = 0; g < ng; g++)
        areas += fz_sites[g].kind == MM_LEAK_VMALLOC ? fz_sites[g].count : 0;
    if (areas != vs.nr_areas)
        fz_failf(fail, "stats-sites-vmalloc grouped=%lu nr_areas=%lu", areas, vs.nr_areas);
    fz_check_site_ages(fail, ng, n);
}

/* The per-node view against the zone view, and numastat against the allocation count. */
static void fz_check_node_stats(unsigned long free_all, fz_fail_fn fail)
{
    unsigned long managed = 0, free = 0, st[MM_NR_NUMA_STATS] = { 0 };
    unsigned int n, z, o, i;

    if (fz_st.nr_nodes != mm_nr_nodes() || fz_st.nr_nodes < 1 || fz_st.nr_nodes > MM_MAX_NUMNODES)
        fz_failf(fail, "stats-nodes nr_nodes=%u mm_nr_nodes=%u", fz_st.nr_nodes, mm_nr_nodes());
    for (n = 0; n < fz_st.nr_nodes; n++) {
        const struct node_stats *ns = &fz_st.node[n];
        unsigned long blocks = 0, zm = 0;
        for (z = 0; z < MM_NR_ZONES; z++) {
            zm += ns->zone_managed[z];
            for (o = 0; o < MM_NR_ORDERS; o++)
                blocks += ns->nr_free_blocks[z][o] << o;
        }
        if (zm != ns->managed || blocks != ns->nr_free ||
            ns->nr_free + ns->nr_pcp + ns->nr_alloc != ns->managed)
            fz_failf(fail, "stats-node node=%u managed=%lu (zones %lu) free=%lu (buddyinfo %lu) "
                     "pcp=%lu alloc=%lu", n, ns->managed, zm, ns->nr_free, blocks, ns->nr_pcp,
                     ns->nr_alloc);
        managed += ns->managed;
        free += ns->nr_free + ns->nr_pcp;
        for (i = 0; i < MM_NR_NUMA_STATS; i++)
            st[i] += ns->numa[i];
    }
    for (z = 0; z < MM_NR_ZONES; z++)
        managed -= fz_st.zone[z].managed;
    if (managed || free != free_all)
        fz_failf(fail, "stats-nodes-vs-zones managed differ by %ld, node free %lu zone free %lu",
                 (long)managed, free, free_all);
    if (st[NUMA_HIT] + st[NUMA_MISS] != fz_st.counters.alloc || st[NUMA_FOREIGN] != st[NUMA_MISS] ||
        st[NUMA_LOCAL] + st[NUMA_OTHER] != fz_st.counters.alloc || st[NUMA_INTERLEAVE_HIT])
        fz_failf(fail, "stats-numastat alloc=%lu hit=%lu miss=%lu foreign=%lu local=%lu other=%lu",
                 fz_st.counters.alloc, st[NUMA_HIT], st[NUMA_MISS], st[NUMA_FOREIGN],
                 st[NUMA_LOCAL], st[NUMA_OTHER]);
}

void fz_check_stats(bool slab, fz_fail_fn fail)
{
    unsigned long free_all = 0, slab_pages = 0;
    unsigned int z, o, c, n, i;

    page_alloc_get_stats(&fz_st);
    if (fz_st.nr_cpus != mm_nr_cpus())
        fz_failf(fail, "stats-cpus nr_cpus=%u mm_nr_cpus=%u", fz_st.nr_cpus, mm_nr_cpus());
    for (z = 0; z < MM_NR_ZONES; z++) {
        const struct zone_stats *zs = &fz_st.zone[z];
        unsigned long blocks = 0, pcp = 0;
        if (zs->nr_free + zs->nr_pcp + zs->nr_alloc != zs->managed || zs->nr_alloc > zs->managed)
            fz_failf(fail, "stats-zone-conservation zone=%s managed=%lu free=%lu pcp=%lu alloc=%lu",
                 zone_name(z), zs->managed, zs->nr_free, zs->nr_pcp, zs->nr_alloc);
        if (zs->present != zs->managed + zs->reserved || zs->end_pfn < zs->start_pfn ||
            zs->present > zs->end_pfn - zs->start_pfn)
            fz_failf(fail, "stats-zone-span zone=%s span=[%lu,%lu) present=%lu managed=%lu reserved=%lu",
                 zone_name(z), zs->start_pfn, zs->end_pfn, zs->present, zs->managed, zs->reserved);
        for (o = 0; o < MM_NR_ORDERS; o++) {
            unsigned int ui = page_alloc_unusable_index(z, o);
            blocks += zs->nr_free_blocks[o] << o;
            if (zs->unusable_index[o] > 1000 || ui != zs->unusable_index[o])
                fz_failf(fail, "stats-unusable-index zone=%s order=%u index=%u api=%u", zone_name(z), o,
                     zs->unusable_index[o], ui);
            if (o && zs->unusable_index[o] < zs->unusable_index[o - 1])
                fz_failf(fail, "stats-unusable-decreasing zone=%s order=%u index=%u < %u", zone_name(z), o,
                     zs->unusable_index[o], zs->unusable_index[o - 1]);
        }
        if (blocks != zs->nr_free)
            fz_failf(fail, "stats-buddyinfo zone=%s nr_free=%lu sum(blocks<<order)=%lu", zone_name(z),
                 zs->nr_free, blocks);
        if (zs->nr_free && zs->unusable_index[0] != 0)
            fz_failf(fail, "stats-unusable-order0 zone=%s index=%u with free pages", zone_name(z),
                 zs->unusable_index[0]);
        for (c = 0; c < MM_MAX_CPUS; c++)
            pcp += zs->pcp_count[c];
        if (pcp != zs->nr_pcp)
            fz_failf(fail, "stats-pcp zone=%s nr_pcp=%lu sum(pcp_count)=%lu", zone_name(z), zs->nr_pcp, pcp);
        if (zs->populated != (zs->managed != 0) && zs->populated != (zs->present != 0))
            fz_failf(fail, "stats-populated zone=%s populated=%d present=%lu managed=%lu", zone_name(z),
                 zs->populated, zs->present, zs->managed);
        if (zs->wmark[WMARK_MIN] > zs->wmark[WMARK_LOW] || zs->wmark[WMARK_LOW] > zs->wmark[WMARK_HIGH])
            fz_failf(fail, "stats-wmark zone=%s min=%lu low=%lu high=%lu", zone_name(z), zs->wmark[WMARK_MIN],
                 zs->wmark[WMARK_LOW], zs->wmark[WMARK_HIGH]);
        free_all += zs->nr_free + zs->nr_pcp;
    }
    if (free_all != page_alloc_nr_free())
        fz_failf(fail, "stats-nr-free sum(zone free+pcp)=%lu page_alloc_nr_free=%lu", free_all,
             page_alloc_nr_free());
    fz_check_node_stats(free_all, fail);
    if (page_alloc_unusable_index(MM_NR_ZONES, 0) || page_alloc_unusable_index(0, MM_NR_ORDERS))
        fz_failf(fail, "stats-unusable-out-of-range: an invalid zone/order gave a non-zero index");
    if (fz_st.counters.misuse != mm_misuse_count() || fz_st.counters.fail_injected > fz_st.counters.fail)
        fz_failf(fail, "stats-counters misuse=%lu (count %lu) fail=%lu injected=%lu", fz_st.counters.misuse,
             mm_misuse_count(), fz_st.counters.fail, fz_st.counters.fail_injected);
    page_alloc_show(ENV_LOG_DEBUG);
    fz_check_sites(fail); /* every target: the groups of page blocks too (page_alloc's) */
    if (!slab)
        return;
    n = slab_get_stats(fz_sl, MM_ARRAY_SIZE(fz_sl));
    if (slab_get_stats(NULL, 0) != n)
        fz_failf(fail, "stats-slab-count slab_get_stats(NULL)=%u, filled %u", slab_get_stats(NULL, 0), n);
    for (i = 0; i < n && i < MM_ARRAY_SIZE(fz_sl); i++) {
        const struct slab_cache_stats *s = &fz_sl[i];
        if (s->active_objs > s->total_objs || s->active_slabs > s->total_slabs ||
            s->total_objs != s->total_slabs * s->objs_per_slab)
            fz_failf(fail, "stats-slab-objs cache=%s active=%lu total=%lu slabs=%lu/%lu per_slab=%u",
                 s->name, s->active_objs, s->total_objs, s->active_slabs, s->total_slabs,
                 s->objs_per_slab);
        if (s->mem_bytes != s->total_slabs << (s->order + PAGE_SHIFT) ||
            s->waste_bytes != s->mem_bytes - s->active_objs * s->object_size)
            fz_failf(fail, "stats-slab-bytes cache=%s mem=%lu slabs=%lu order=%u waste=%lu", s->name,
                 s->mem_bytes, s->total_slabs, s->order, s->waste_bytes);
        if (s->slot_size < s->object_size || s->alloc - s->free != s->active_objs ||
            (s->objs_per_slab && s->objs_per_slab * s->slot_size > (PAGE_SIZE << s->order)))
            fz_failf(fail, "stats-slab-layout cache=%s object=%zu slot=%zu per_slab=%u order=%u alloc=%lu "
                 "free=%lu", s->name, s->object_size, s->slot_size, s->objs_per_slab, s->order,
                 s->alloc, s->free);
        slab_pages += s->mem_bytes >> PAGE_SHIFT;
    }
    if (n <= MM_ARRAY_SIZE(fz_sl) && slab_pages != slab_nr_pages())
        fz_failf(fail, "stats-slab-pages sum(mem_bytes)=%lu pages, slab_nr_pages=%lu", slab_pages,
             slab_nr_pages());
    slab_show(ENV_LOG_DEBUG);
}
