/*
 * check_slab.c - slab invariants and slabinfo-style statistics.
 *
 * Invariant names (see check.c for the page-level ones):
 *   slab.cache        a cache on the list has a bad magic (or the list is longer than the
 *                     caches ever created)
 *   lock.held         a cache's lock is held at a quiescent point (judged after its magic)
 *   slab.page         a listed slab is not a PG_head|PG_slab block of this cache and order
 *   slab.frozen       PG_frozen disagrees with the CPU that holds the slab
 *   slab.freelist     a freelist entry is outside its slab or not at an object start
 *   slab.duplicate    an object is on the freelists twice (or the list loops), or buffered twice,
 *                     or buffered and on a freelist
 *   slab.rfree        a remote-free buffer entry is not an object of a slab of its cache, the
 *                     buffer is over its size, or its entries are not all in the cache's slabs
 *   slab.inuse        an unfrozen slab's inuse != objects - free objects, or it sits on the wrong
 *                     list (full with free objects, partial without)
 *   slab.node         a slab on node n's partial list has its pages on another node
 *   slab.count        nr_slabs / nr_partial / nr_full / nr_empty disagree with the lists
 *   slab.state        (hardened) an object's state tag disagrees with freelist membership (FREE)
 *                     or remote-free buffer membership (RFREE)
 *   slab.redzone      (hardened) a red zone is damaged (level 1: one of its 8-byte canaries)
 *   slab.poison       (hardened) a free object's poison is damaged (level 1: its poison words)
 *   slab.orphan       the page array holds more slab pages than the caches account for
 */
#include "../heap/slab_internal.h"
#include "check_internal.h"

struct slab_check_ctx {
    struct mm_check_report *rep;
    int only_cpu;                              /* the CPU whose buffer is walked; -1: every CPU's */
    uint64_t seen[SLAB_MAX_OBJECTS / 64];      /* objects on the slab's freelists */
    uint64_t buffered[SLAB_MAX_OBJECTS / 64];  /* objects in the walked remote-free buffers */
    unsigned long nbuffered;                   /* buffered objects found in the cache's slabs */
};

#define slab_fail(x, ...) mm_check_fail((x)->rep, __VA_ARGS__)

/* The error of a walk that stopped early (@got: a SLAB_WALK_* code, at entry @o) of the freelists
 * (@buffers false) or the remote-free buffers of @slab; 0 if it did not. */
static int slab_walk_verdict(struct slab_check_ctx *x, struct kmem_cache *c, struct page *slab,
                             long got, void *o, bool buffers)
{
    unsigned long pfn = page_to_pfn(slab);
    if (got == SLAB_WALK_FOREIGN)
        return slab_fail(x, buffers ? "slab.rfree" : "slab.freelist", pfn, "cache %s: %s entry "
                         "%p is not an object of slab pfn 0x%lx", c->name,
                         buffers ? "remote-free buffer" : "freelist", o, pfn);
    if (got == SLAB_WALK_REPEAT)
        return slab_fail(x, "slab.duplicate", pfn, "cache %s: object %p twice on the freelists%s "
                         "of slab pfn 0x%lx", c->name, o,
                         buffers ? " and remote-free buffers" : "", pfn);
    return 0;
}

/* Walk one freelist, marking objects in x->seen; adds the length to *n. */
static int slab_check_list(struct slab_check_ctx *x, struct kmem_cache *c, struct page *slab,
                           void *head, unsigned int *n)
{
    void *o = NULL;
    long got = slab_freelist_mark(c, slab, head, x->seen, &o);
    if (got < 0)
        return slab_walk_verdict(x, c, slab, got, o, false);
    *n += (unsigned int)got;
    return 0;
}

/* Mark the objects of @slab in the walked remote-free buffers in x->buffered: an entry that is no
 * object start of the slab, or is buffered twice or also on a freelist, is an error. */
static int slab_check_rfree_of(struct slab_check_ctx *x, struct kmem_cache *c, struct page *slab)
{
    uint64_t all[SLAB_MAX_OBJECTS / 64];
    void *o = NULL;
    memcpy(all, x->seen, sizeof(all));
    long got = slab_rfree_mark(c, slab, x->only_cpu, all, &o);
    if (got < 0)
        return slab_walk_verdict(x, c, slab, got, o, true);
    for (unsigned int w = 0; w < SLAB_MAX_OBJECTS / 64; w++)
        x->buffered[w] = all[w] & ~x->seen[w];
    x->nbuffered += (unsigned long)got;
    return 0;
}

/* The state tag object @i must have: FREE on a freelist, RFREE in a walked buffer, else ALLOC
 * (or RFREE when other CPUs' buffers were not walked). */
static bool slab_state_ok(struct slab_check_ctx *x, unsigned int i, uint32_t state)
{
    uint64_t bit = 1ull << (i % 64);
    if (x->seen[i / 64] & bit)
        return state == SLAB_STATE_FREE;
    if (x->buffered[i / 64] & bit)
        return state == SLAB_STATE_RFREE;
    return state == SLAB_STATE_ALLOC || (x->only_cpu >= 0 && state == SLAB_STATE_RFREE);
}

/* Hardened: every object's tag matches its freelist and buffer membership; red zones and poison
 * intact. */
static int slab_check_objects(struct slab_check_ctx *x, struct kmem_cache *c, struct page *slab)
{
    unsigned long pfn = page_to_pfn(slab);
    int err = 0;
    for (unsigned int i = 0; i < c->objects && !err; i++) {
        void *obj = (char *)slab_obj_base(c, slab) + (size_t)i * c->size + c->obj_offset;
        void *slot = slab_slot_of(c, obj);
        slab_slot_open(c, slot);
        uint32_t state = slab_meta_of(c, obj)->state;
        bool free = state == SLAB_STATE_FREE || state == SLAB_STATE_RFREE;
        long off;
        if (!slab_state_ok(x, i, state))
            err = slab_fail(x, "slab.state", pfn, "cache %s object %p: state 0x%x but %s a "
                            "freelist, %s a remote-free buffer", c->name, obj, state,
                            x->seen[i / 64] & (1ull << (i % 64)) ? "on" : "not on",
                            x->buffered[i / 64] & (1ull << (i % 64)) ? "in" : "not in");
        else if ((off = slab_redzone_damage(c, obj)) >= 0)
            err = slab_fail(x, "slab.redzone", pfn, "cache %s object %p: red zone byte %ld "
                            "damaged", c->name, obj, off - (long)c->obj_offset);
        else if (free && (off = slab_poison_damage(c, obj)) >= 0)
            err = slab_fail(x, "slab.poison", pfn, "cache %s free object %p: poison byte %ld "
                            "overwritten", c->name, obj, off);
        slab_slot_close(c, slot, !free);
    }
    return err;
}

static int slab_check_one(struct slab_check_ctx *x, struct kmem_cache *c, struct page *slab,
                          void *cpu_free, int cpu)
{
    if (!page_pointer_valid(slab) || (slab->flags & (PG_head | PG_slab)) != (PG_head | PG_slab) ||
        slab->slab_cache != c || slab->order != c->order)
        return slab_fail(x, "slab.page", page_pointer_valid(slab) ? page_to_pfn(slab) : ~0ul,
                         "cache %s: listed slab %p is not one of its slabs", c->name, (void *)slab);
    unsigned long pfn = page_to_pfn(slab);
    bool frozen = slab->flags & PG_frozen;
    if (frozen != (cpu >= 0) || (frozen && slab->cpu != cpu))
        return slab_fail(x, "slab.frozen", pfn, "cache %s slab pfn 0x%lx: frozen %d cpu %u, held "
                         "by cpu %d", c->name, pfn, frozen, slab->cpu, cpu);
    memset(x->seen, 0, sizeof(x->seen));
    unsigned int nfree = 0;
    int err = slab_check_list(x, c, slab, cpu_free, &nfree);
    if (!err)
        err = slab_check_list(x, c, slab, slab->freelist, &nfree);
    if (!err)
        err = slab_check_rfree_of(x, c, slab);
    if (err)
        return err;
    if (!frozen && slab->inuse != c->objects - nfree)
        return slab_fail(x, "slab.inuse", pfn, "cache %s slab pfn 0x%lx: inuse %u, objects %u, "
                         "free %u", c->name, pfn, slab->inuse, c->objects, nfree);
    return c->hardened ? slab_check_objects(x, c, slab) : 0;
}

struct slab_list_tally {
    unsigned long n, empty;
};

/* @node: the node of partial list @h (-1: the full list). */
static int slab_check_list_of(struct slab_check_ctx *x, struct kmem_cache *c, struct list_head *h,
                              int node, struct slab_list_tally *t)
{
    struct list_head *pos;
    bool full = node < 0;
    list_for_each(pos, h) {
        struct page *slab = list_entry(pos, struct page, lru);
        int err = slab_check_one(x, c, slab, NULL, -1);
        if (err)
            return err;
        if (!full && slab->node != node)
            return slab_fail(x, "slab.node", page_to_pfn(slab), "cache %s slab pfn 0x%lx of "
                             "node %u is on node %d's partial list", c->name, page_to_pfn(slab),
                             slab->node, node);
        if (full != (slab->inuse == c->objects))
            return slab_fail(x, "slab.inuse", page_to_pfn(slab), "cache %s slab pfn 0x%lx with "
                             "inuse %u/%u is on the %s list", c->name, page_to_pfn(slab),
                             slab->inuse, c->objects, full ? "full" : "partial");
        t->n++;
        t->empty += slab->inuse == 0;
        if (t->n > c->nr_slabs)
            return slab_fail(x, "slab.count", ~0ul, "cache %s: lists longer than nr_slabs %lu",
                             c->name, c->nr_slabs);
    }
    return 0;
}

/* Every entry of the walked buffers is an object of a slab of @c, each buffer within its size, and
 * all of them were found in the slabs walked (x->nbuffered, to which the entries of the CPU slabs
 * not walked are added here). */
static int slab_check_rfree(struct slab_check_ctx *x, struct kmem_cache *c)
{
    unsigned long entries = 0;
    unsigned int k = x->only_cpu < 0 ? 0 : (unsigned int)x->only_cpu;
    unsigned int end = x->only_cpu < 0 ? mm_nr_cpus() : k + 1;
    for (; k < end; k++) {
        const struct kmem_cache_cpu *cc = &c->cpu[k];
        if (cc->nr_rfree >= c->rfree_max)
            return slab_fail(x, "slab.rfree", ~0ul, "cache %s cpu %u: %u entries in a remote-free "
                             "buffer of %u", c->name, k, cc->nr_rfree, c->rfree_max);
        if (cc->rfree_last != (cc->nr_rfree ? cc->rfree[cc->nr_rfree - 1] : NULL))
            return slab_fail(x, "slab.rfree", ~0ul, "cache %s cpu %u: the remote-free buffer's "
                             "last entry is %p, rfree_last says %p", c->name, k,
                             cc->nr_rfree ? cc->rfree[cc->nr_rfree - 1] : NULL, cc->rfree_last);
        for (unsigned int i = 0; i < cc->nr_rfree; i++, entries++) {
            const struct page *slab = cc->rfree_slab[i];
            if (!page_pointer_valid(slab) || (slab->flags & (PG_head | PG_slab)) != (PG_head | PG_slab) ||
                slab->slab_cache != c)
                return slab_fail(x, "slab.rfree", ~0ul, "cache %s cpu %u: remote-free buffer entry "
                                 "%p names %p, not a slab of the cache", c->name, k, cc->rfree[i],
                                 (const void *)slab);
        }
    }
    for (unsigned int cpu = 0; cpu < mm_nr_cpus(); cpu++) { /* CPU slabs slab_check_one skipped */
        struct page *slab = c->cpu[cpu].slab;
        uint64_t scratch[SLAB_MAX_OBJECTS / 64] = { 0 };
        void *o;
        long got = slab && x->only_cpu >= 0 && cpu != (unsigned int)x->only_cpu
                       ? slab_rfree_mark(c, slab, x->only_cpu, scratch, &o) : 0;
        x->nbuffered += got > 0 ? (unsigned long)got : 0;
    }
    if (entries != x->nbuffered)
        return slab_fail(x, "slab.rfree", ~0ul, "cache %s: %lu objects in remote-free buffers, %lu "
                         "of them in its slabs", c->name, entries, x->nbuffered);
    return 0;
}

/* The cache's lists, CPU slabs, remote-free buffers and counts; CPU slabs and buffers other than
 * @only_cpu's (when >= 0) are counted but not walked: their CPUs use them without the cache
 * lock. */
static int slab_check_cache(struct slab_check_ctx *x, struct kmem_cache *c, int only_cpu)
{
    struct slab_list_tally partial = { 0 }, full = { 0 };
    unsigned long frozen = 0;
    int err = 0;
    x->only_cpu = only_cpu;
    x->nbuffered = 0;
    for (unsigned int n = 0; n < mm_nr_nodes() && !err; n++)
        err = slab_check_list_of(x, c, &c->partial[n], (int)n, &partial);
    if (!err)
        err = slab_check_list_of(x, c, &c->full, -1, &full);
    for (unsigned int cpu = 0; cpu < mm_nr_cpus() && !err; cpu++) {
        struct kmem_cache_cpu *cc = &c->cpu[cpu];
        if (cc->slab) {
            frozen++;
            if (only_cpu < 0 || cpu == (unsigned int)only_cpu)
                err = slab_check_one(x, c, cc->slab, cc->freelist, (int)cpu);
        } else if (cc->freelist) {
            err = slab_fail(x, "slab.frozen", ~0ul, "cache %s cpu %u: freelist without a slab",
                            c->name, cpu);
        }
    }
    if (!err && (partial.n != c->nr_partial || full.n != c->nr_full || partial.empty != c->nr_empty ||
                 partial.n + full.n + frozen != c->nr_slabs))
        err = slab_fail(x, "slab.count", ~0ul, "cache %s: partial %lu/%lu full %lu/%lu empty "
                        "%lu/%lu frozen %lu, nr_slabs %lu", c->name, partial.n, c->nr_partial,
                        full.n, c->nr_full, partial.empty, c->nr_empty, frozen, c->nr_slabs);
    return err ? err : slab_check_rfree(x, c);
}

/*
 * Every walk here is bounded and every cache is judged before its lock is taken: a damaged cache
 * list or a descriptor overwritten by its user is reported, never followed forever or spun on.
 * Caches ever created (the cache of caches included) bound the list's length.
 */
int slab_check(struct mm_check_report *rep, unsigned long slab_blocks)
{
    struct slab_check_ctx x = { .rep = rep };
    unsigned long slabs = 0, n = 0, max = mm_state.heap.nr_created + 1;
    struct list_head *pos;
    int err = 0;
    env_spin_lock(&mm_state.heap.lock);
    list_for_each(pos, &mm_state.heap.caches) {
        struct kmem_cache *c = list_entry(pos, struct kmem_cache, list);
        if (++n > max) {
            err = slab_fail(&x, "slab.cache", ~0ul, "the cache list is longer than the %lu caches "
                            "ever created (a loop?)", max);
            break;
        }
        if (c->magic != KMEM_CACHE_MAGIC) {
            err = slab_fail(&x, "slab.cache", ~0ul, "cache %p on the cache list has magic 0x%llx",
                            (void *)c, (unsigned long long)c->magic);
            break;
        }
        if (env_spin_is_locked(&c->lock)) {
            err = slab_fail(&x, "lock.held", ~0ul, "the lock of cache %s is held at a quiescent "
                            "point", c->name);
            break;
        }
        unsigned long irq = slab_lock(c);
        err = slab_check_cache(&x, c, -1);
        slabs += c->nr_slabs;
        slab_unlock(c, irq);
        if (err)
            break;
    }
    env_spin_unlock(&mm_state.heap.lock);
    if (!err && slab_blocks != slabs)
        err = slab_fail(&x, "slab.orphan", ~0ul, "%lu slab blocks in the page array, caches "
                        "account for %lu", slab_blocks, slabs);
    return err;
}

/* ---- statistics ---- */

static void slab_fill_stats(struct slab_cache_stats *s, struct kmem_cache *c)
{
    memset(s, 0, sizeof(*s));
    for (unsigned int i = 0; i < sizeof(s->name) - 1 && c->name[i]; i++)
        s->name[i] = c->name[i];
    s->object_size = c->object_size;
    s->slot_size = c->size;
    s->align = c->align;
    s->order = c->order;
    s->objs_per_slab = c->objects;
    s->hardened = c->hardened;
    s->owner = c->owner;
    for (unsigned int cpu = 0; cpu < mm_nr_cpus(); cpu++) {
        s->alloc += c->cpu[cpu].alloc;
        s->free += c->cpu[cpu].free;
        s->free_remote += c->cpu[cpu].free_remote;
    }
    unsigned long irq = slab_lock(c);
    s->total_slabs = c->nr_slabs;
    s->active_slabs = c->nr_slabs - c->nr_empty;
    s->alloc_slow = c->alloc_slow;
    slab_unlock(c, irq);
    s->active_objs = s->alloc - s->free;
    s->total_objs = s->total_slabs * c->objects;
    s->mem_bytes = s->total_slabs << (c->order + PAGE_SHIFT);
    s->waste_bytes = s->mem_bytes - s->active_objs * c->object_size;
}

unsigned int slab_get_stats(struct slab_cache_stats *out, unsigned int max)
{
    unsigned int n = 0;
    struct list_head *pos;
    env_spin_lock(&mm_state.heap.lock);
    list_for_each(pos, &mm_state.heap.caches) {
        if (out && n < max)
            slab_fill_stats(&out[n], list_entry(pos, struct kmem_cache, list));
        n++;
    }
    env_spin_unlock(&mm_state.heap.lock);
    return n;
}

unsigned long slab_nr_pages(void)
{
    unsigned long pages = 0;
    struct list_head *pos;
    env_spin_lock(&mm_state.heap.lock);
    list_for_each(pos, &mm_state.heap.caches) {
        struct kmem_cache *c = list_entry(pos, struct kmem_cache, list);
        pages += c->nr_slabs << c->order;
    }
    env_spin_unlock(&mm_state.heap.lock);
    return pages;
}

void slab_show(int level)
{
    struct slab_cache_stats s;
    struct list_head *pos;
    env_log(level, "# name               active_objs num_objs objsize slotsize objperslab "
            "pagesperslab active_slabs num_slabs mem_kb waste_kb\n");
    env_spin_lock(&mm_state.heap.lock);
    list_for_each(pos, &mm_state.heap.caches) {
        slab_fill_stats(&s, list_entry(pos, struct kmem_cache, list));
        env_log(level, "%-20s %11lu %8lu %7zu %8zu %10u %12u %12lu %9lu %6lu %8lu\n", s.name,
                s.active_objs, s.total_objs, s.object_size, s.slot_size, s.objs_per_slab,
                1u << s.order, s.active_slabs, s.total_slabs, s.mem_bytes >> 10,
                s.waste_bytes >> 10);
    }
    env_spin_unlock(&mm_state.heap.lock);
}

int slab_check_nth(unsigned long n, int only_cpu, struct mm_check_report *rep)
{
    struct slab_check_ctx x = { .rep = rep };
    if (!env_spin_trylock(&mm_state.heap.lock))
        return CHECK_SLICE_BUSY;
    struct kmem_cache *c = NULL;
    unsigned long i = 0, max = mm_state.heap.nr_created + 1;
    struct list_head *pos;
    int err = CHECK_SLICE_END;
    list_for_each(pos, &mm_state.heap.caches) {
        if (i > max) {
            err = slab_fail(&x, "slab.cache", ~0ul, "the cache list is longer than the %lu caches "
                            "ever created (a loop?)", max);
            break;
        }
        if (i++ == n) {
            c = list_entry(pos, struct kmem_cache, list);
            break;
        }
    }
    if (c && c->magic != KMEM_CACHE_MAGIC) {
        err = slab_fail(&x, "slab.cache", ~0ul, "cache %p on the cache list has magic 0x%llx",
                        (void *)c, (unsigned long long)c->magic);
    } else if (c) {
        unsigned long irq = env_irq_save(); /* the cache lock is held with interrupts off only */
        if (env_spin_trylock(&c->lock)) {
            err = slab_check_cache(&x, c, only_cpu);
            env_spin_unlock(&c->lock);
        } else {
            err = CHECK_SLICE_BUSY;
        }
        env_irq_restore(irq);
    }
    env_spin_unlock(&mm_state.heap.lock);
    return err;
}
