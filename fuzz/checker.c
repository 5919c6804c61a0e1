/*
 * checker.c - "corrupt VICTIM x=" and "stats" (see checker.h).
 *
 * corrupt: the victim is found by a deterministic scan starting at x (pfn x % max_pfn, cache
 * x % nr_caches, ...); one field or byte is changed in one specific way (the table below names
 * the invariant mm_check must report, see the lists at the top of mm/checks/check.c and
 * check_slab.c); every changed byte is saved first and put back afterwards. Required:
 *   corrupted:  mm_check() == -MM_ECORRUPT, rep.invariant one of the expected names, rep.err set
 *   restored:   mm_check() == 0 (the checker left no scratch marks behind)
 * Slab object slots are opened (ASan unpoisoned) around each access the way the mm does.
 * Digest: a done corruption feeds "ok", mm_check's error and the invariant it named (the caller
 * feeds "not ok" when there was no victim).
 */
#include "checker.h"
#include "../mm/heap/slab_internal.h"

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

    for (i = 0; i < MM_NR_ZONES; i++) {
        struct zone *z = &mm_state.phys.zones[(x + i) % MM_NR_ZONES];
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
        struct list_head *lists[2] = { &c->partial, &c->full }, *pos;
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
        for (l = 0; l < 2; l++)
            list_for_each(pos, lists[l]) {
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
        struct list_head *lists[2] = { &c->partial, &c->full }, *pos;
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
        for (l = 0; l < 2; l++)
            list_for_each(pos, lists[l]) {
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

/* ---- the op ---- */

#define CR_MAX_NAMES 3

bool fz_corrupt(uint32_t victim, uint32_t x, fz_fail_fn fail)
{
    const char *names[CR_MAX_NAMES] = { NULL, NULL, NULL };
    struct mm_check_report rep;
    struct kmem_cache *c = NULL;
    struct page *p = NULL, *slab;
    struct zone *z = NULL;
    unsigned long pfn = 0;
    unsigned int i, cpu;
    int err, scpu;
    void *obj;

    cr_nsave = 0;
    cr_slot = NULL;
    cr_slot_cache = NULL;
    if (victim < FUZZ_CR_MEMBLOCK || victim > FUZZ_CR_MEMBLOCK) {
        if (!mm_ready())
            return false;
    }
    switch (victim) {
    case FUZZ_CR_BUDDY_FLAGS:
    case FUZZ_CR_BUDDY_ORDER:
    case FUZZ_CR_BUDDY_LINK:
    case FUZZ_CR_BUDDY_LOOP:
        if (!cr_find_page(x, cr_is_buddy, &pfn))
            return false;
        p = pfn_to_page(pfn);
        if (victim == FUZZ_CR_BUDDY_FLAGS) {
            cr_save(&p->flags, sizeof(p->flags));
            p->flags |= PG_head;
            names[0] = "buddy.flags";
        } else if (victim == FUZZ_CR_BUDDY_ORDER) {
            cr_save(&p->order, sizeof(p->order));
            p->order = (uint8_t)((p->order + 1 + x % MM_MAX_ORDER) % MM_NR_ORDERS);
            names[0] = "buddy.flags";
        } else if (victim == FUZZ_CR_BUDDY_LINK) {
            cr_save(&p->lru.next, sizeof(p->lru.next));
            p->lru.next = &cr_junk;
            names[0] = "buddy.list";
        } else {
            cr_save(&p->lru.next, sizeof(p->lru.next));
            p->lru.next = &p->lru;
            names[0] = "buddy.duplicate";
        }
        break;
    case FUZZ_CR_AREA_COUNT:
        if (!(z = cr_zone(x)))
            return false;
        i = x % MM_NR_ORDERS;
        cr_save(&z->free_area[i].nr_free, sizeof(z->free_area[i].nr_free));
        z->free_area[i].nr_free += (x & 1) || !z->free_area[i].nr_free ? 1 : (unsigned long)-1;
        names[0] = "buddy.count";
        break;
    case FUZZ_CR_ZONE_NR_FREE:
        if (!(z = cr_zone(x)))
            return false;
        cr_save(&z->nr_free, sizeof(z->nr_free));
        z->nr_free += 1 + x % 4;
        names[0] = "buddy.nr_free";
        break;
    case FUZZ_CR_FREE_TAIL:
        if (!cr_find_page(x, cr_is_buddy_big, &pfn))
            return false;
        p = pfn_to_page(pfn + 1 + x % ((1ul << pfn_to_page(pfn)->order) - 1));
        cr_save(&p->flags, sizeof(p->flags));
        p->flags = (x & 1) ? PG_reserved : PG_buddy;
        names[0] = "page.block";
        break;
    case FUZZ_CR_PCP_CPU:
    case FUZZ_CR_PCP_COUNT:
    case FUZZ_CR_PCP_LOOP:
        if (!cr_find_page(x, cr_is_pcp, &pfn))
            return false;
        p = pfn_to_page(pfn);
        if (victim == FUZZ_CR_PCP_CPU) {
            cr_save(&p->cpu, sizeof(p->cpu));
            p->cpu = (uint8_t)((p->cpu + 1 + x % (MM_MAX_CPUS - 1)) % MM_MAX_CPUS);
            names[0] = "pcp.flags";
        } else if (victim == FUZZ_CR_PCP_COUNT) {
            struct per_cpu_pages *pcp = &mm_state.phys.zones[p->zone].pcp[p->cpu];
            cr_save(&pcp->count, sizeof(pcp->count));
            pcp->count += (x & 1) ? 1u : (unsigned int)-1;
            names[0] = "pcp.count";
        } else {
            cr_save(&p->lru.next, sizeof(p->lru.next));
            p->lru.next = &p->lru;
            names[0] = "pcp.duplicate";
        }
        break;
    case FUZZ_CR_ALLOC_REFCOUNT:
        if (!cr_find_page(x, cr_is_head, &pfn))
            return false;
        p = pfn_to_page(pfn);
        cr_save(&p->refcount, sizeof(p->refcount));
        p->refcount = (x & 1) ? 0 : -1;
        names[0] = "page.refcount";
        break;
    case FUZZ_CR_ALLOC_STRAY:
    case FUZZ_CR_ALLOC_BUDDY:
    case FUZZ_CR_ALLOC_PCP:
        if (!cr_find_page(x, cr_is_head0, &pfn))
            return false;
        p = pfn_to_page(pfn);
        cr_save(&p->flags, sizeof(p->flags));
        if (victim == FUZZ_CR_ALLOC_STRAY) {
            p->flags = (x & 1) ? 0 : PG_slab;
            names[0] = "page.stray";
        } else if (victim == FUZZ_CR_ALLOC_BUDDY) {
            p->flags = PG_buddy;
            names[0] = "buddy.orphan";
            names[1] = "buddy.unmerged"; /* a free order-0 neighbour now sees a free buddy */
        } else {
            p->flags = PG_pcp;
            names[0] = "pcp.orphan";
        }
        break;
    case FUZZ_CR_MANAGED:
    case FUZZ_CR_RESERVED:
        if (!(z = cr_zone(x)))
            return false;
        if (victim == FUZZ_CR_MANAGED) {
            cr_save(&z->managed, sizeof(z->managed));
            z->managed += (x & 1) || !z->managed ? 1 : (unsigned long)-1;
            names[0] = "conserve.managed";
        } else {
            cr_save(&z->reserved, sizeof(z->reserved));
            z->reserved += 1 + x % 3;
            names[0] = "conserve.reserved";
        }
        break;
    case FUZZ_CR_MEMBLOCK: {
        struct memblock_type *t = (x & 1) ? &mm_state.phys.memblock.memory : &mm_state.phys.memblock.reserved;
        if (!mm_state.phys.early_ready)
            return false;
        if (t->cnt < 2)
            t = (x & 1) ? &mm_state.phys.memblock.reserved : &mm_state.phys.memblock.memory;
        if (t->cnt < 2)
            return false;
        i = 1 + x % (t->cnt - 1);
        cr_save(&t->r[i].base, sizeof(t->r[i].base));
        t->r[i].base = (x & 2) ? t->r[i - 1].base : t->r[i - 1].base + t->r[i - 1].size;
        names[0] = "memblock.order";
        break;
    }
    case FUZZ_CR_CACHE_MAGIC:
        if (!(i = cr_nr_caches()))
            return false;
        c = cr_cache_at(x % i);
        cr_save(&c->magic, sizeof(c->magic));
        c->magic ^= 1ull << (x % 64);
        names[0] = "slab.cache";
        break;
    case FUZZ_CR_SLAB_CACHE:
    case FUZZ_CR_SLAB_FROZEN:
    case FUZZ_CR_SLAB_INUSE:
        slab = cr_find_slab(x, victim == FUZZ_CR_SLAB_FROZEN ? CR_CPU_SLAB : victim ==
                            FUZZ_CR_SLAB_INUSE ? CR_LISTED_SLAB : CR_ANY_SLAB, false, &c, &scpu);
        if (!slab)
            return false;
        if (victim == FUZZ_CR_SLAB_CACHE) {
            cr_save(&slab->slab_cache, sizeof(slab->slab_cache));
            slab->slab_cache = (struct kmem_cache *)((char *)c + 8 * (1 + x % 8));
            names[0] = "slab.page";
        } else if (victim == FUZZ_CR_SLAB_FROZEN) {
            cr_save(&slab->cpu, sizeof(slab->cpu));
            slab->cpu = (uint8_t)(slab->cpu + 1 + x % 200);
            names[0] = "slab.frozen";
        } else {
            cr_save(&slab->inuse, sizeof(slab->inuse));
            slab->inuse = (uint16_t)(slab->inuse + ((x & 1) || !slab->inuse ? 1 : -1));
            names[0] = "slab.inuse";
        }
        break;
    case FUZZ_CR_NR_PARTIAL:
        if (!(i = cr_nr_caches()))
            return false;
        c = cr_cache_at(x % i);
        cr_save(&c->nr_partial, sizeof(c->nr_partial));
        c->nr_partial += (x & 1) || !c->nr_partial ? 1 : (unsigned long)-1;
        names[0] = "slab.count";
        break;
    case FUZZ_CR_SLAB_FREELIST:
    case FUZZ_CR_SLAB_DUP: {
        uintptr_t *where;
        if (!(obj = cr_find_free_obj(x, false, false, &c)))
            return false;
        cr_use_slot(c, obj, false);
        cr_open();
        where = cr_fp_addr(c, obj);
        cr_save(where, sizeof(*where));
        if (victim == FUZZ_CR_SLAB_FREELIST) {
            *where ^= 1;
            names[0] = "slab.freelist";
        } else {
            *where = c->hardened ? (uintptr_t)obj ^ c->secret ^ (uintptr_t)where : (uintptr_t)obj;
            names[0] = "slab.duplicate";
        }
        cr_close();
        break;
    }
    case FUZZ_CR_SLAB_STATE:
    case FUZZ_CR_REDZONE: {
        struct slab_meta *m;
        unsigned int k;
        slab = cr_find_slab(x, CR_ANY_SLAB, true, &c, &scpu);
        if (!slab)
            return false;
        k = x % c->objects;
        obj = (char *)slab_obj_base(c, slab) + (size_t)k * c->size + c->obj_offset;
        cr_use_slot(c, obj, false);
        cr_open();
        m = slab_meta_of(c, obj);
        cr_slot_alloc = m->state == SLAB_STATE_ALLOC;
        if (victim == FUZZ_CR_SLAB_STATE) {
            cr_save(&m->state, sizeof(m->state));
            m->state = cr_slot_alloc ? SLAB_STATE_FREE : SLAB_STATE_ALLOC;
            names[0] = "slab.state";
        } else {
            /* a byte of the left red zone or of the right one (between object and metadata) */
            unsigned int right = c->meta_offset - c->obj_offset - c->object_size;
            uint8_t *b = (x & 1) ? (uint8_t *)cr_slot + (x >> 1) % c->obj_offset
                                 : (uint8_t *)obj + c->object_size + (x >> 1) % right;
            cr_save(b, 1);
            *b ^= (uint8_t)(1u << (x % 8));
            names[0] = "slab.redzone";
        }
        cr_close();
        break;
    }
    case FUZZ_CR_POISON: {
        uint8_t *b;
        if (!(obj = cr_find_free_obj(x, true, true, &c)))
            return false;
        cr_use_slot(c, obj, false);
        cr_open();
        b = (uint8_t *)obj + x % c->object_size;
        cr_save(b, 1);
        *b ^= 0x20;
        names[0] = "slab.poison";
        cr_close();
        break;
    }
    default:
        return false;
    }
    if (fuzz_trace)
        fuzz_log("  corrupted %u byte(s) at %p, expecting %s%s%s", (unsigned int)cr_save_tab[0].len,
                 (void *)cr_save_tab[0].addr, names[0], names[1] ? " or " : "",
                 names[1] ? names[1] : "");
    err = mm_check(&rep);
    cr_restore();
    fuzz_digest_ok(true);
    fuzz_digest_err(err);
    fuzz_digest_str(rep.invariant);
    if (err != -MM_ECORRUPT || rep.err != -MM_ECORRUPT || !rep.invariant)
        fail("checker-missed-corruption: mm_check returned %s (report err %s, invariant %s), "
             "expected ECORRUPT %s", mm_strerror(err), mm_strerror(rep.err),
             rep.invariant ? rep.invariant : "none", names[0]);
    for (i = 0; i < CR_MAX_NAMES && names[i]; i++) {
        const char *a = names[i], *b = rep.invariant;
        while (*a && *a == *b) {
            a++;
            b++;
        }
        if (*a == *b)
            break;
    }
    if (i == CR_MAX_NAMES || !names[i])
        fail("checker-wrong-invariant: mm_check named %s (%s), expected %s%s%s", rep.invariant,
             rep.detail, names[0], names[1] ? " or " : "", names[1] ? names[1] : "");
    if (fuzz_trace)
        fuzz_log("  mm_check: %s pfn=%lx: %s", rep.invariant, rep.pfn, rep.detail);
    err = mm_check(&rep);
    if (err)
        fail("checker-after-restore: mm_check returned %s naming %s (%s) once the original bytes "
             "were back", mm_strerror(err), rep.invariant ? rep.invariant : "?", rep.detail);
    (void)cpu;
    return true;
}

/* ---- stats ---- */

static struct page_alloc_stats fz_st;
static struct slab_cache_stats fz_sl[128];

void fz_check_stats(bool slab, fz_fail_fn fail)
{
    unsigned long free_all = 0, slab_pages = 0;
    unsigned int z, o, c, n, i;

    page_alloc_get_stats(&fz_st);
    if (fz_st.nr_cpus != mm_nr_cpus())
        fail("stats-cpus nr_cpus=%u mm_nr_cpus=%u", fz_st.nr_cpus, mm_nr_cpus());
    for (z = 0; z < MM_NR_ZONES; z++) {
        const struct zone_stats *zs = &fz_st.zone[z];
        unsigned long blocks = 0, pcp = 0;
        if (zs->nr_free + zs->nr_pcp + zs->nr_alloc != zs->managed || zs->nr_alloc > zs->managed)
            fail("stats-zone-conservation zone=%s managed=%lu free=%lu pcp=%lu alloc=%lu",
                 zone_name(z), zs->managed, zs->nr_free, zs->nr_pcp, zs->nr_alloc);
        if (zs->present != zs->managed + zs->reserved || zs->end_pfn < zs->start_pfn ||
            zs->present > zs->end_pfn - zs->start_pfn)
            fail("stats-zone-span zone=%s span=[%lu,%lu) present=%lu managed=%lu reserved=%lu",
                 zone_name(z), zs->start_pfn, zs->end_pfn, zs->present, zs->managed, zs->reserved);
        for (o = 0; o < MM_NR_ORDERS; o++) {
            unsigned int ui = page_alloc_unusable_index(z, o);
            blocks += zs->nr_free_blocks[o] << o;
            if (zs->unusable_index[o] > 1000 || ui != zs->unusable_index[o])
                fail("stats-unusable-index zone=%s order=%u index=%u api=%u", zone_name(z), o,
                     zs->unusable_index[o], ui);
            if (o && zs->unusable_index[o] < zs->unusable_index[o - 1])
                fail("stats-unusable-decreasing zone=%s order=%u index=%u < %u", zone_name(z), o,
                     zs->unusable_index[o], zs->unusable_index[o - 1]);
        }
        if (blocks != zs->nr_free)
            fail("stats-buddyinfo zone=%s nr_free=%lu sum(blocks<<order)=%lu", zone_name(z),
                 zs->nr_free, blocks);
        if (zs->nr_free && zs->unusable_index[0] != 0)
            fail("stats-unusable-order0 zone=%s index=%u with free pages", zone_name(z),
                 zs->unusable_index[0]);
        for (c = 0; c < MM_MAX_CPUS; c++)
            pcp += zs->pcp_count[c];
        if (pcp != zs->nr_pcp)
            fail("stats-pcp zone=%s nr_pcp=%lu sum(pcp_count)=%lu", zone_name(z), zs->nr_pcp, pcp);
        if (zs->populated != (zs->managed != 0) && zs->populated != (zs->present != 0))
            fail("stats-populated zone=%s populated=%d present=%lu managed=%lu", zone_name(z),
                 zs->populated, zs->present, zs->managed);
        if (zs->wmark[WMARK_MIN] > zs->wmark[WMARK_LOW] || zs->wmark[WMARK_LOW] > zs->wmark[WMARK_HIGH])
            fail("stats-wmark zone=%s min=%lu low=%lu high=%lu", zone_name(z), zs->wmark[WMARK_MIN],
                 zs->wmark[WMARK_LOW], zs->wmark[WMARK_HIGH]);
        free_all += zs->nr_free + zs->nr_pcp;
    }
    if (free_all != page_alloc_nr_free())
        fail("stats-nr-free sum(zone free+pcp)=%lu page_alloc_nr_free=%lu", free_all,
             page_alloc_nr_free());
    if (page_alloc_unusable_index(MM_NR_ZONES, 0) || page_alloc_unusable_index(0, MM_NR_ORDERS))
        fail("stats-unusable-out-of-range: an invalid zone/order gave a non-zero index");
    if (fz_st.counters.misuse != mm_misuse_count() || fz_st.counters.fail_injected > fz_st.counters.fail)
        fail("stats-counters misuse=%lu (count %lu) fail=%lu injected=%lu", fz_st.counters.misuse,
             mm_misuse_count(), fz_st.counters.fail, fz_st.counters.fail_injected);
    page_alloc_show(ENV_LOG_DEBUG);
    if (!slab)
        return;
    n = slab_get_stats(fz_sl, MM_ARRAY_SIZE(fz_sl));
    if (slab_get_stats(NULL, 0) != n)
        fail("stats-slab-count slab_get_stats(NULL)=%u, filled %u", slab_get_stats(NULL, 0), n);
    for (i = 0; i < n && i < MM_ARRAY_SIZE(fz_sl); i++) {
        const struct slab_cache_stats *s = &fz_sl[i];
        if (s->active_objs > s->total_objs || s->active_slabs > s->total_slabs ||
            s->total_objs != s->total_slabs * s->objs_per_slab)
            fail("stats-slab-objs cache=%s active=%lu total=%lu slabs=%lu/%lu per_slab=%u",
                 s->name, s->active_objs, s->total_objs, s->active_slabs, s->total_slabs,
                 s->objs_per_slab);
        if (s->mem_bytes != s->total_slabs << (s->order + PAGE_SHIFT) ||
            s->waste_bytes != s->mem_bytes - s->active_objs * s->object_size)
            fail("stats-slab-bytes cache=%s mem=%lu slabs=%lu order=%u waste=%lu", s->name,
                 s->mem_bytes, s->total_slabs, s->order, s->waste_bytes);
        if (s->slot_size < s->object_size || s->alloc - s->free != s->active_objs ||
            (s->objs_per_slab && s->objs_per_slab * s->slot_size > (PAGE_SIZE << s->order)))
            fail("stats-slab-layout cache=%s object=%zu slot=%zu per_slab=%u order=%u alloc=%lu "
                 "free=%lu", s->name, s->object_size, s->slot_size, s->objs_per_slab, s->order,
                 s->alloc, s->free);
        slab_pages += s->mem_bytes >> PAGE_SHIFT;
    }
    if (n <= MM_ARRAY_SIZE(fz_sl) && slab_pages != slab_nr_pages())
        fail("stats-slab-pages sum(mem_bytes)=%lu pages, slab_nr_pages=%lu", slab_pages,
             slab_nr_pages());
    slab_show(ENV_LOG_DEBUG);
}
