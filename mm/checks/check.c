/*
 * check.c - the invariant checker (mm_check). Validators return, they do not assert: the first
 * broken invariant is returned with a stable dotted name and the page, so a fuzzer reports it and
 * a kernel prints a post-mortem.
 *
 * Invariant names:
 *   memblock.order      early-allocator regions unsorted, overlapping or unmerged
 *   buddy.list          a free-list entry is not a struct page of this machine (corrupt link)
 *   buddy.span          a free block lies (partly) outside its zone
 *   buddy.misaligned    a free block is not aligned to its order
 *   buddy.flags         a free-list page is not exactly PG_buddy with the list's order
 *   buddy.duplicate     a block is on the free lists twice
 *   buddy.unmerged      a free block's buddy of the same order is free too
 *   buddy.count         a list's nr_free differs from its length
 *   buddy.nr_free       the zone's free page count differs from the lists
 *   buddy.orphan        a PG_buddy page is on no free list
 *   pcp.flags / pcp.duplicate / pcp.count / pcp.orphan   the same for per-CPU lists
 *   pcp.high            a per-CPU list holds more than `high` pages (a free must give a batch
 *                       back when it reaches high), or its batch is 0 or above high
 *   page.refcount       an allocated block head has refcount < 1
 *   page.block          an allocated or free block overlaps its zone end or has state in a tail
 *   page.stray          a managed page belongs to no block
 *   conserve.managed    free + per-CPU + allocated != managed in a zone
 *   conserve.reserved   reserved pages != present - managed in a zone
 *   lock.held           a lock of the mm is held while mm_check runs: mm_check runs only at a
 *                       quiescent point (no CPU inside the mm), where every lock must be free
 *   numa.node           a page's node (or a zone's) is not the node whose range holds its pfn
 *   numa.conserve       free + per-CPU + allocated pages of a node != the managed pages of its
 *                       zones (the zone walk counts pages under the node of their struct page)
 *   numa.zonelist       a node's fallback list misses a populated zone, repeats one, or is not
 *                       ordered by distance from the node (then zone, high to low)
 *   numa.stat           numastat disagrees with itself (per CPU): misses != foreign, misses or
 *                       remote allocations beyond a node's allocations, a remote allocation
 *                       from the CPU's own node, counts on a node that does not exist
 *
 * The PG_checked scratch flag marks pages seen on lists during one run and is always cleared
 * before returning.
 */
#include "../heap/slab_internal.h"
#include "check_internal.h"
#include "vmalloc.h"

struct check_ctx {
    struct mm_check_report *rep;
    unsigned long on_lists;   /* PG_checked marks set */
    unsigned long slab_heads; /* PG_slab blocks met by the page walk */
    unsigned long node_pages[MM_MAX_NUMNODES]; /* free + pcp + allocated pages the walk counted
                                                  in each node's zones, by the pages' node */
};

#define check_fail(c, ...) mm_check_fail((c)->rep, __VA_ARGS__)

static int check_memblock(struct check_ctx *c, const struct memblock_type *t, const char *name)
{
    for (unsigned int i = 1; i < t->cnt; i++)
        if (t->r[i].base <= t->r[i - 1].base + t->r[i - 1].size)
            return check_fail(c, "memblock.order", ~0ul, "%s region %u at 0x%llx overlaps or "
                              "touches its predecessor", name, i, (unsigned long long)t->r[i].base);
    return 0;
}

/* The page of one list entry, or NULL with the broken invariant in c->rep (a link that is not a
 * struct page of this machine, or a page outside the zone). */
static struct page *check_list_page(struct check_ctx *c, const struct zone *z,
                                    const struct list_head *pos)
{
    struct page *p = list_entry(pos, struct page, lru);
    if (!page_pointer_valid(p)) {
        check_fail(c, "buddy.list", ~0ul, "zone %s: list link %p is not a struct page",
                   zone_name(z->idx), (const void *)pos);
        return NULL;
    }
    unsigned long pfn = page_to_pfn(p);
    if (pfn < z->start_pfn || pfn >= z->end_pfn) {
        check_fail(c, "buddy.span", pfn, "pfn 0x%lx on a list of zone %s [0x%lx, 0x%lx)",
                   pfn, zone_name(z->idx), z->start_pfn, z->end_pfn);
        return NULL;
    }
    return p;
}

static int check_free_area(struct check_ctx *c, struct zone *z, unsigned int o, unsigned long *pages)
{
    unsigned long n = 0, limit = z->end_pfn - z->start_pfn + 1;
    const struct list_head *head = &z->free_area[o].free_list, *pos;
    for (pos = head->next; pos != head; pos = pos->next) {
        struct page *p = check_list_page(c, z, pos);
        if (!p)
            return c->rep->err;
        unsigned long pfn = page_to_pfn(p);
        if (p->flags & PG_checked)
            return check_fail(c, "buddy.duplicate", pfn, "pfn 0x%lx seen twice on free lists", pfn);
        if ((p->flags & ~PG_checked) != PG_buddy || p->order != o)
            return check_fail(c, "buddy.flags", pfn, "pfn 0x%lx on order-%u list: flags 0x%x "
                              "order %u", pfn, o, p->flags, p->order);
        p->flags |= PG_checked;
        c->on_lists++;
        if (!MM_IS_ALIGNED(pfn, 1ul << o))
            return check_fail(c, "buddy.misaligned", pfn, "pfn 0x%lx not aligned to order %u", pfn, o);
        if (pfn + (1ul << o) > z->end_pfn)
            return check_fail(c, "buddy.span", pfn, "order-%u block at pfn 0x%lx crosses zone "
                              "%s end 0x%lx", o, pfn, zone_name(z->idx), z->end_pfn);
        unsigned long b = pfn ^ (1ul << o);
        if (o < MM_MAX_ORDER && b >= z->start_pfn && b < z->end_pfn &&
            (pfn_to_page(b)->flags & PG_buddy) && pfn_to_page(b)->order == o)
            return check_fail(c, "buddy.unmerged", pfn, "order-%u blocks at 0x%lx and buddy 0x%lx "
                              "both free", o, pfn, b);
        if (++n > limit)
            return check_fail(c, "buddy.list", pfn, "order-%u list of zone %s loops", o,
                              zone_name(z->idx));
    }
    if (n != z->free_area[o].nr_free)
        return check_fail(c, "buddy.count", ~0ul, "zone %s order %u: nr_free %lu, list holds %lu",
                          zone_name(z->idx), o, z->free_area[o].nr_free, n);
    *pages += n << o;
    return 0;
}

static int check_pcp_bounds(struct check_ctx *c, const struct zone *z, unsigned int cpu)
{
    const struct per_cpu_pages *pcp = &z->pcp[cpu];
    if (pcp->count > pcp->high || !pcp->batch || pcp->batch > pcp->high)
        return check_fail(c, "pcp.high", ~0ul, "zone %s cpu %u: count %u, batch %u, high %u "
                          "(want count <= high, 1 <= batch <= high)", zone_name(z->idx), cpu,
                          pcp->count, pcp->batch, pcp->high);
    return 0;
}

static int check_pcp(struct check_ctx *c, struct zone *z, unsigned int cpu, unsigned long *pages)
{
    struct per_cpu_pages *pcp = &z->pcp[cpu];
    unsigned long n = 0, limit = z->end_pfn - z->start_pfn + 1;
    const struct list_head *pos;
    for (pos = pcp->list.next; pos != &pcp->list; pos = pos->next) {
        struct page *p = check_list_page(c, z, pos);
        if (!p)
            return c->rep->err;
        unsigned long pfn = page_to_pfn(p);
        if (p->flags & PG_checked)
            return check_fail(c, "pcp.duplicate", pfn, "pfn 0x%lx seen twice on free lists", pfn);
        if (p->flags != PG_pcp || p->cpu != cpu || cpu >= mm_state.core.nr_cpus)
            return check_fail(c, "pcp.flags", pfn, "pfn 0x%lx on cpu %u list: flags 0x%x cpu %u",
                              pfn, cpu, p->flags, p->cpu);
        p->flags |= PG_checked;
        c->on_lists++;
        if (++n > limit)
            return check_fail(c, "pcp.count", pfn, "cpu %u list of zone %s loops", cpu,
                              zone_name(z->idx));
    }
    if (n != pcp->count)
        return check_fail(c, "pcp.count", ~0ul, "zone %s cpu %u: count %u, list holds %lu",
                          zone_name(z->idx), cpu, pcp->count, n);
    int err = check_pcp_bounds(c, z, cpu);
    if (err)
        return err;
    *pages += n;
    return 0;
}

/* Tail pages of a block carry no state. */
static int check_block_tail(struct check_ctx *c, const struct zone *z, unsigned long pfn,
                            unsigned int order)
{
    if (order > MM_MAX_ORDER || !MM_IS_ALIGNED(pfn, 1ul << order) || pfn + (1ul << order) > z->end_pfn)
        return check_fail(c, "page.block", pfn, "block at pfn 0x%lx order %u misplaced in zone %s",
                          pfn, order, zone_name(z->idx));
    for (unsigned long t = pfn + 1; t < pfn + (1ul << order); t++)
        if (pfn_to_page(t)->flags)
            return check_fail(c, "page.block", t, "pfn 0x%lx inside the order-%u block at 0x%lx "
                              "has flags 0x%x", t, order, pfn, pfn_to_page(t)->flags);
    return 0;
}

struct zone_tally {
    unsigned long free, pcp, alloc, reserved;
};

#define CHECK_BLOCK_MARKED 1u     /* free pages carry the list walk's PG_checked mark */
#define CHECK_BLOCK_OTHERS_RUN 2u  /* other CPUs run: pages in flight are accepted (below) */

/* The block at @pfn (a head, a reserved page or a free page): judge it, count it in @t (may be
 * NULL) and return its order in *@order. With CHECK_BLOCK_MARKED in @how, a free page must carry
 * the PG_checked mark of the list walk that ran just before (else it is an orphan), and the mark
 * is cleared. */
static int check_block(struct check_ctx *c, struct zone *z, unsigned long pfn, unsigned int how,
                       struct zone_tally *t, unsigned int *order)
{
    bool marked = how & CHECK_BLOCK_MARKED;
    struct page *p = pfn_to_page(pfn);
    uint32_t f = p->flags;
    struct zone_tally none = { 0 };
    t = t ? t : &none;
    *order = 0;
    if (f & PG_reserved) {
        t->reserved += !(f & PG_hole);
    } else if ((f & ~PG_checked) == PG_buddy || (f & ~PG_checked) == PG_pcp) {
        if (marked && !(f & PG_checked))
            return check_fail(c, (f & PG_buddy) ? "buddy.orphan" : "pcp.orphan", pfn,
                              "free pfn 0x%lx (flags 0x%x) is on no list", pfn, f);
        if (marked) {
            p->flags &= ~PG_checked;
            c->on_lists--;
        }
        *order = (f & PG_buddy) ? p->order : 0;
        *((f & PG_buddy) ? &t->free : &t->pcp) += 1ul << *order;
    } else if ((f & ~(PG_OWNER_MASK | PG_VMAP_MASK)) == PG_head) {
        *order = p->order;
        if (p->refcount < 1 && !(how & CHECK_BLOCK_OTHERS_RUN))
            return check_fail(c, "page.refcount", pfn, "allocated pfn 0x%lx refcount %d",
                              pfn, (int)p->refcount);
        t->alloc += 1ul << *order;
        c->slab_heads += (f & PG_slab) != 0;
    } else if (f == 0 && (how & CHECK_BLOCK_OTHERS_RUN)) {
        return 0; /* in flight on another CPU: between its per-CPU list (no zone lock) or the
                   * free lists and its new owner, flags are 0 until prep or push sets them */
    } else {
        return check_fail(c, "page.stray", pfn, "pfn 0x%lx in zone %s has flags 0x%x and "
                          "belongs to no block", pfn, zone_name(z->idx), f);
    }
    return check_block_tail(c, z, pfn, *order);
}

/* Walk the zone's pages block by block, clearing PG_checked marks. */
static int check_zone_pages(struct check_ctx *c, struct zone *z, struct zone_tally *t)
{
    unsigned int order;
    for (unsigned long pfn = z->start_pfn; pfn < z->end_pfn; pfn += 1ul << order) {
        int err = check_block(c, z, pfn, CHECK_BLOCK_MARKED, t, &order);
        if (err)
            return err;
    }
    return 0;
}

static void check_clear_marks(struct zone *z)
{
    for (unsigned long pfn = z->start_pfn; pfn < z->end_pfn; pfn++)
        pfn_to_page(pfn)->flags &= ~PG_checked;
}

/* Every free list of @z, each pcp list (only @only_cpu's when >= 0) and nr_free; leaves the
 * PG_checked mark on every page it met. */
static int check_zone_lists_marked(struct check_ctx *c, struct zone *z, int only_cpu)
{
    unsigned long free = 0, pcp = 0;
    int err = 0;
    for (unsigned int o = 0; o < MM_NR_ORDERS && !err; o++)
        err = check_free_area(c, z, o, &free);
    if (!err && free != z->nr_free)
        err = check_fail(c, "buddy.nr_free", ~0ul, "zone %s: nr_free %lu, lists hold %lu",
                         zone_name(z->idx), z->nr_free, free);
    for (unsigned int cpu = 0; cpu < MM_MAX_CPUS && !err; cpu++)
        if (only_cpu < 0 || cpu == (unsigned int)only_cpu)
            err = check_pcp(c, z, cpu, &pcp);
    return err;
}

static int check_zone_locked(struct check_ctx *c, struct zone *z)
{
    int err = check_zone_lists_marked(c, z, -1);
    struct zone_tally t = { 0 };
    if (!err)
        err = check_zone_pages(c, z, &t);
    if (!err && z->start_pfn < z->end_pfn)
        c->node_pages[pfn_to_page(z->start_pfn)->node % MM_MAX_NUMNODES] += t.free + t.pcp + t.alloc;
    if (!err && t.free + t.pcp + t.alloc != z->managed)
        err = check_fail(c, "conserve.managed", ~0ul, "zone %s: free %lu + pcp %lu + allocated %lu "
                         "!= managed %lu", zone_name(z->idx), t.free, t.pcp, t.alloc, z->managed);
    if (!err && (t.reserved != z->reserved || z->present != z->managed + z->reserved))
        err = check_fail(c, "conserve.reserved", ~0ul, "zone %s: reserved %lu (counted %lu), "
                         "present %lu, managed %lu", zone_name(z->idx), z->reserved, t.reserved,
                         z->present, z->managed);
    if (err || c->on_lists)
        check_clear_marks(z);
    return err;
}

/* ---- slices for mm_check_step (check_step.c); the caller holds the zone lock ---- */

/* Clear the marks check_zone_lists_marked left, by the lists (valid ones: it passed). */
static void check_unmark_list(struct list_head *head)
{
    for (struct list_head *pos = head->next; pos != head; pos = pos->next)
        list_entry(pos, struct page, lru)->flags &= ~PG_checked;
}

int check_zone_lists(struct zone *z, int only_cpu, struct mm_check_report *rep)
{
    struct check_ctx c = { .rep = rep };
    int err = check_zone_lists_marked(&c, z, only_cpu);
    if (err) {
        check_clear_marks(z); /* the lists may be broken: the whole zone */
        return err;
    }
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
        check_unmark_list(&z->free_area[o].free_list);
    for (unsigned int cpu = 0; cpu < MM_MAX_CPUS; cpu++)
        if (only_cpu < 0 || cpu == (unsigned int)only_cpu)
            check_unmark_list(&z->pcp[cpu].list);
    return 0;
}

/* The first page of the block that holds @pfn (@pfn itself unless it is the tail of a block). */
static unsigned long check_block_start(const struct zone *z, unsigned long pfn)
{
    if (pfn_to_page(pfn)->flags)
        return pfn;
    for (unsigned int o = 1; o <= MM_MAX_ORDER; o++) {
        unsigned long h = pfn & ~((1ul << o) - 1);
        if (h < z->start_pfn)
            break;
        const struct page *p = pfn_to_page(h);
        if ((p->flags & (PG_buddy | PG_head)) && p->order >= o && h + (1ul << p->order) > pfn)
            return h;
    }
    return pfn;
}

int check_zone_range(struct zone *z, unsigned long *pfn, unsigned long pages, bool others_run,
                     struct mm_check_report *rep)
{
    struct check_ctx c = { .rep = rep };
    unsigned long p = *pfn < z->start_pfn ? z->start_pfn : check_block_start(z, *pfn);
    unsigned long end = *pfn + pages < z->end_pfn ? *pfn + pages : z->end_pfn;
    unsigned int order;
    for (; p < end; p += 1ul << order) {
        int err = check_block(&c, z, p, others_run ? CHECK_BLOCK_OTHERS_RUN : 0, NULL, &order);
        if (err)
            return err;
    }
    *pfn = p;
    return 0;
}

static int check_lock_free(struct check_ctx *c, const env_spinlock_t *l, const char *what)
{
    if (!env_spin_is_locked(l))
        return 0;
    unsigned int owner = __atomic_load_n(&l->owner_cpu, __ATOMIC_RELAXED);
    return check_fail(c, "lock.held", ~0ul, "%s is held (by CPU %d) at a quiescent point", what,
                      (int)owner - 1);
}

/* Every lock of the mm, each named in the file that owns it. */
static int check_locks_free(struct check_ctx *c)
{
    int err = check_lock_free(c, &mm_state.vm.lock, "vm.lock");
    if (!err)
        err = check_lock_free(c, &mm_state.vmalloc.lock, "vmalloc.lock");
    if (!err)
        err = check_lock_free(c, &mm_state.heap.lock, "heap.lock");
    if (!err)
        err = check_lock_free(c, &mm_state.phys.shrink_lock, "phys.shrink_lock");
    if (!err)
        err = check_lock_free(c, &mm_state.report.lock, "report.lock");
    for (unsigned int i = 0; i < phys_nr_zone_slots() && !err; i++)
        err = check_lock_free(c, &phys_zone_slot(i)->lock, "a zone lock");
    return err; /* each cache's lock: slab_check, once it has judged the cache's descriptor */
}

/* A zone's counters against each other; the caller holds its lock. */
static int check_zone_counts_locked(struct check_ctx *c, const struct zone *z)
{
    unsigned long free = 0, pcp = 0;
    int err = 0;
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
        free += z->free_area[o].nr_free << o;
    if (free != z->nr_free)
        return check_fail(c, "buddy.nr_free", ~0ul, "zone %s: nr_free %lu, order counts hold %lu",
                          zone_name(z->idx), z->nr_free, free);
    for (unsigned int cpu = 0; cpu < MM_MAX_CPUS && !err; cpu++) {
        pcp += z->pcp[cpu].count;
        if (z->pcp[cpu].count && cpu >= mm_state.core.nr_cpus)
            return check_fail(c, "pcp.flags", ~0ul, "zone %s: %u pages on the list of absent "
                              "cpu %u", zone_name(z->idx), z->pcp[cpu].count, cpu);
        err = check_pcp_bounds(c, z, cpu);
    }
    if (!err && free + pcp > z->managed)
        err = check_fail(c, "conserve.managed", ~0ul, "zone %s: free %lu + pcp %lu > managed %lu",
                         zone_name(z->idx), free, pcp, z->managed);
    return err;
}

/* ---- NUMA (numa.h) ---- */

/* The first pfn of node @n's range the topology gives another node, or its end: numa_pfn_node
 * only changes where a pfn reaches some node_start, so the range's first pfn and those points
 * are the only candidates (one call each instead of one per pfn). */
static unsigned long check_numa_topology_bad(const struct mm_node *n)
{
    unsigned long bad = n->end_pfn;
    if (n->start_pfn < n->end_pfn && numa_pfn_node(n->start_pfn) != n->id)
        return n->start_pfn;
    for (unsigned int i = 1; i < mm_state.phys.nr_nodes; i++) {
        unsigned long b = MM_PFN_UP(mm_state.phys.numa.node_start[i]);
        if (b > n->start_pfn && b < bad && numa_pfn_node(b) != n->id)
            bad = b;
    }
    return bad;
}

/* Every struct page and zone of node @n carries @n; the node's range is the topology's. */
static int check_numa_pages(struct check_ctx *c, const struct mm_node *n)
{
    for (unsigned int zi = 0; zi < MM_NR_ZONES; zi++) {
        const struct zone *z = &n->zones[zi];
        if (z->node != n->id || z->start_pfn < n->start_pfn || z->end_pfn > n->end_pfn)
            return check_fail(c, "numa.node", ~0ul, "node %u zone %s: owner %u, span [0x%lx, "
                              "0x%lx) outside the node's [0x%lx, 0x%lx)", n->id, zone_name(zi),
                              z->node, z->start_pfn, z->end_pfn, n->start_pfn, n->end_pfn);
    }
    unsigned long topo_bad = check_numa_topology_bad(n);
    for (unsigned long pfn = n->start_pfn; pfn < n->end_pfn; pfn++) {
        const struct page *p = pfn_to_page(pfn);
        if (p->node != n->id || pfn == topo_bad)
            return check_fail(c, "numa.node", pfn, "pfn 0x%lx: struct page says node %u, the "
                              "topology node %u, its range is node %u's", pfn, p->node,
                              numa_pfn_node(pfn), n->id);
    }
    return 0;
}

static int check_numa_conserve(struct check_ctx *c, const struct mm_node *n)
{
    unsigned long managed = 0;
    for (unsigned int zi = 0; zi < MM_NR_ZONES; zi++)
        managed += n->zones[zi].managed;
    if (c->node_pages[n->id] != managed)
        return check_fail(c, "numa.conserve", ~0ul, "node %u: free + pcp + allocated %lu != "
                          "managed %lu", n->id, c->node_pages[n->id], managed);
    return 0;
}

/* Is zonelist entry @b allowed right after @a for node @n? */
static bool check_zonelist_pair(const struct mm_node *n, const struct zone *a, const struct zone *b)
{
    unsigned int da = node_distance((int)n->id, (int)a->node);
    unsigned int db = node_distance((int)n->id, (int)b->node);
    if (a->node == b->node)
        return b->idx < a->idx;
    return db > da || (db == da && b->node > a->node);
}

/* Node @n's list for top zone @top: every populated zone of type <= top once, in order. */
static int check_numa_zonelist_top(struct check_ctx *c, const struct mm_node *n, unsigned int top)
{
    struct zone *const *zl = n->zonelist[top];
    unsigned int seen = 0, k;
    for (k = 0; k + 1 < MM_ZONELIST_MAX && zl[k]; k++) {
        const struct zone *z = zl[k];
        unsigned int slot = z->node * MM_NR_ZONES + z->idx;
        if (z->node >= mm_nr_nodes() || z->idx > top || z != phys_zone_slot(slot) ||
            !zone_populated(z) || (seen & (1u << slot)))
            return check_fail(c, "numa.zonelist", ~0ul, "node %u list %s entry %u: zone %p is "
                              "not a populated zone up to %s seen once", n->id, zone_name(top),
                              k, (const void *)z, zone_name(top));
        if (k && !check_zonelist_pair(n, zl[k - 1], z))
            return check_fail(c, "numa.zonelist", ~0ul, "node %u list %s entry %u: node %u "
                              "zone %s (distance %u) after node %u zone %s (distance %u)", n->id,
                              zone_name(top), k, z->node, zone_name(z->idx),
                              node_distance((int)n->id, (int)z->node), zl[k - 1]->node,
                              zone_name(zl[k - 1]->idx),
                              node_distance((int)n->id, (int)zl[k - 1]->node));
        seen |= 1u << slot;
    }
    for (unsigned int i = 0; i < phys_nr_zone_slots(); i++)
        if (i % MM_NR_ZONES <= top && zone_populated(phys_zone_slot(i)) && !(seen & (1u << i)))
            return check_fail(c, "numa.zonelist", ~0ul, "node %u list %s: populated node %u "
                              "zone %s is missing", n->id, zone_name(top), i / MM_NR_ZONES,
                              zone_name(i % MM_NR_ZONES));
    return 0;
}

static int check_numa_zonelist(struct check_ctx *c, const struct mm_node *n)
{
    int err = 0;
    for (unsigned int top = 0; top < MM_NR_ZONES && !err; top++)
        err = check_numa_zonelist_top(c, n, top);
    return err;
}

/* numastat of one CPU: each miss counted as foreign on the preferred node, misses and remote
 * allocations within the allocations of their node, none remote from the CPU's own node, nothing
 * on a node that does not exist. */
static int check_numa_stat_cpu(struct check_ctx *c, unsigned int cpu)
{
    const struct mm_cpu_counters *k = &mm_state.phys.cpu[cpu];
    unsigned long miss = 0, foreign = 0;
    unsigned int nr_nodes = mm_nr_nodes(), own = (unsigned int)cpu_to_node(cpu);
    for (unsigned int nid = 0; nid < MM_MAX_NUMNODES; nid++) {
        bool exists = nid < nr_nodes;
        miss += k->numa_miss[nid];
        foreign += k->numa_foreign[nid];
        if (k->numa_miss[nid] > k->node_alloc[nid] || k->numa_other[nid] > k->node_alloc[nid] ||
            (!exists && (k->node_alloc[nid] || k->numa_foreign[nid])) ||
            (nid == own && k->numa_other[nid]))
            return check_fail(c, "numa.stat", ~0ul, "cpu %u node %u: allocations %lu, miss %lu, "
                              "other %lu, foreign %lu", cpu, nid, k->node_alloc[nid],
                              k->numa_miss[nid], k->numa_other[nid], k->numa_foreign[nid]);
    }
    if (miss != foreign)
        return check_fail(c, "numa.stat", ~0ul, "cpu %u: %lu misses but %lu foreign", cpu, miss,
                          foreign);
    return 0;
}

static int check_numa_stat(struct check_ctx *c)
{
    int err = 0;
    for (unsigned int cpu = 0; cpu < MM_MAX_CPUS && !err; cpu++)
        err = check_numa_stat_cpu(c, cpu);
    return err;
}

static int check_numa(struct check_ctx *c)
{
    int err = 0;
    for (unsigned int nid = 0; nid < mm_nr_nodes() && !err; nid++) {
        const struct mm_node *n = &mm_state.phys.node[nid];
        err = check_numa_pages(c, n);
        if (!err)
            err = check_numa_conserve(c, n);
        if (!err)
            err = check_numa_zonelist(c, n);
    }
    return err ? err : check_numa_stat(c);
}

int mm_check_counts(struct mm_check_report *rep)
{
    struct mm_check_report local;
    struct check_ctx c = { .rep = rep ? rep : &local };
    *c.rep = (struct mm_check_report){ .pfn = ~0ul };
    int err = check_locks_free(&c);
    for (unsigned int i = 0; i < phys_nr_zone_slots() && !err && mm_state.phys.ready; i++) {
        struct zone *z = phys_zone_slot(i);
        unsigned long irq = env_irq_save();
        env_spin_lock(&z->lock);
        err = check_zone_counts_locked(&c, z);
        env_spin_unlock(&z->lock);
        env_irq_restore(irq);
    }
    return err;
}

int mm_check(struct mm_check_report *rep)
{
    struct mm_check_report local;
    struct check_ctx c = { .rep = rep ? rep : &local };
    *c.rep = (struct mm_check_report){ .pfn = ~0ul };
    int err = check_locks_free(&c);
    if (!err && mm_state.phys.early_ready) {
        err = check_memblock(&c, &mm_state.phys.memblock.memory, "memory");
        if (!err)
            err = check_memblock(&c, &mm_state.phys.memblock.reserved, "reserved");
    }
    for (unsigned int i = 0; i < phys_nr_zone_slots() && !err && mm_state.phys.ready; i++) {
        struct zone *z = phys_zone_slot(i);
        unsigned long irq = env_irq_save();
        env_spin_lock(&z->lock);
        c.on_lists = 0;
        err = check_zone_locked(&c, z);
        env_spin_unlock(&z->lock);
        env_irq_restore(irq);
    }
    if (!err && mm_state.phys.ready)
        err = check_numa(&c);
    if (!err && mm_state.phys.ready)
        err = slab_check(c.rep, c.slab_heads);
    if (!err && mm_state.phys.ready)
        err = vmalloc_check(c.rep);
    if (!err && mm_state.phys.ready)
        err = kfence_check(c.rep);
    if (!err && mm_state.phys.ready)
        err = vm_check_all(c.rep);
    if (!err && mm_state.phys.ready)
        err = domain_check(c.rep);
    return err;
}
