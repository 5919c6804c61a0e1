/*
 * page_table.c - the generic 4-level page-table layer (the contract is page_table.h).
 *
 *   pt->root --> [PML4 page] --e--> [PDPT page] --e--> [PD page] --e--> [PT page] --> leaf pte_t
 *                 level 3            level 2           level 1          level 0
 *
 * Owns: allocating, linking, counting and freeing table pages. Leaves belong to the caller (the
 * address-space code decides what a PTE says); this file only stores them and keeps the counts.
 *
 * Invariants (pt_check, mm/checks/check_pt.c, verifies them):
 *   - every table page reachable from the root is an allocated order-0 block with flags exactly
 *     PG_head|PG_pgtable, reached exactly once;
 *   - page->private_data of a table page = its number of non-zero entries;
 *   - a non-zero entry above level 0 is present and points at the next level's table page
 *     (PTE_P|PTE_RW, plus PTE_US in the user half, so the leaf alone decides permissions);
 *   - pt->nr_tables = number of reachable table pages, root included;
 *   - the root is never freed except by pt_destroy; pt_unmap frees every other level it empties.
 *
 * Addresses: only canonical ones ([0, ARCH_USER_VA_END) and [PT_KERNEL_HALF, 2^64)). The range
 * walker works on the 48-bit "linear" form (the canonical address with its sign extension cut
 * off), in which both halves are one contiguous interval [0, 2^48).
 *
 * Locking: none here; the caller serialises all changes to one page_table.
 */
#include "vm_internal.h"

#define PT_KERNEL_HALF  0xffff800000000000ull
#define PT_LIN_BITS     48
#define PT_LIN_MASK     ((1ull << PT_LIN_BITS) - 1)
#define PT_LIN_END      (1ull << PT_LIN_BITS)
#define PT_LIN_KERNEL   (1ull << (PT_LIN_BITS - 1))
#define PT_TOP          (PT_LEVELS - 1)

/* ---- addresses ---- */

static inline bool pt_va_canonical(uintptr_t va)
{
    return (uint64_t)va < ARCH_USER_VA_END || (uint64_t)va >= PT_KERNEL_HALF;
}

/* Linear form of a range bound: an address in the non-canonical hole clamps to the hole's edge. */
static uint64_t pt_lin_bound(uintptr_t va)
{
    if ((uint64_t)va < ARCH_USER_VA_END)
        return va;
    if ((uint64_t)va < PT_KERNEL_HALF)
        return PT_LIN_KERNEL;
    return (uint64_t)va & PT_LIN_MASK;
}

static inline uintptr_t pt_va_of_lin(uint64_t lin)
{
    return (uintptr_t)((lin & PT_LIN_KERNEL) ? (lin | ~PT_LIN_MASK) : lin);
}

/* ---- table pages ---- */

static inline pte_t *pt_table_virt(phys_addr_t pa) { return (pte_t *)env_phys_to_virt(pa); }

struct page *pt_table_page(const pte_t *ptep)
{
    return virt_to_page((const void *)((uintptr_t)ptep & ~(uintptr_t)(PAGE_SIZE - 1)));
}

static struct page *pt_alloc_table(struct page_table *pt, gfp_t gfp)
{
    struct page *pg = alloc_pages(gfp | __GFP_ZERO, 0);
    if (!pg)
        return NULL;
    pg->flags |= PG_pgtable;
    pg->private_data = 0;
    pt->nr_tables++;
    return pg;
}

static void pt_free_table(struct page_table *pt, struct page *pg)
{
    pg->flags &= ~PG_pgtable;
    pg->private_data = 0;
    pt->nr_tables--;
    __free_pages(pg, 0);
}

/* Store @e at @ptep, keeping the table's count of non-zero entries; returns the old entry. */
static pte_t pt_entry_store(pte_t *ptep, pte_t e)
{
    pte_t old = *ptep;
    if (!old != !e) {
        struct page *pg = pt_table_page(ptep);
        if (e)
            pg->private_data++;
        else
            pg->private_data--;
    }
    /* Publication: a CPU's page walker (hardware, or another CPU's hosted MMU) may read the slot
     * at any time and use what it points to at once. The write barrier orders what the caller
     * wrote before (a new table's zeroed entries, a page's zero fill, COW copy or swap-in) before
     * the entry that makes it reachable; the store is one atomic write, never torn. */
    env_wmb();
    env_atomic_store(ptep, e);
    return old;
}

/* Entry that links a lower-level table: the leaf alone decides the access rights. */
static inline pte_t pt_mk_table_entry(struct page *child, uintptr_t va)
{
    pte_t e = page_to_phys(child) | PTE_P | PTE_RW;
    return (uint64_t)va < ARCH_USER_VA_END ? e | PTE_US : e;
}

/* ---- the walk primitive ---- */

/*
 * Free the empty tables of @va's path from @level upwards (never the root). Used to roll back
 * levels a failed walk allocated.
 */
static void pt_prune_path(struct page_table *pt, uintptr_t va, pte_t *tables[PT_LEVELS],
                          unsigned int level)
{
    for (; level < PT_TOP; level++) {
        struct page *pg = pt_table_page(tables[level]);
        if (pg->private_data)
            return;
        pt_entry_store(&tables[level + 1][PT_INDEX(va, level + 1)], 0);
        pt_free_table(pt, pg);
    }
}

/*
 * Walk to the leaf of @va, filling tables[level] with each level's table. With @alloc, a missing
 * level is allocated; on failure the levels this walk created are freed again and NULL returned.
 */
static pte_t *pt_walk_path(struct page_table *pt, uintptr_t va, bool alloc, gfp_t gfp,
                           pte_t *tables[PT_LEVELS])
{
    pte_t *table = pt_table_virt(pt->root);
    for (unsigned int level = PT_TOP; level > 0; level--) {
        tables[level] = table;
        pte_t *ep = &table[PT_INDEX(va, level)];
        if (!*ep) {
            struct page *child = alloc ? pt_alloc_table(pt, gfp) : NULL;
            if (!child) {
                if (alloc)
                    pt_prune_path(pt, va, tables, level);
                return NULL;
            }
            pt_entry_store(ep, pt_mk_table_entry(child, va));
        }
        table = pt_table_virt(pte_addr(*ep));
    }
    tables[0] = table;
    return &table[PT_INDEX(va, 0)];
}

pte_t *pt_walk(struct page_table *pt, uintptr_t va, bool alloc, gfp_t gfp)
{
    pte_t *tables[PT_LEVELS];
    if (!pt || !pt->root || !pt_va_canonical(va))
        return NULL;
    return pt_walk_path(pt, va, alloc, gfp, tables);
}

/* ---- the range walker ---- */

enum pt_reap { PT_REAP_NONE, PT_REAP_EMPTY, PT_REAP_ALL };

struct pt_range {
    struct page_table *pt;
    uint64_t start, end;        /* linear [start, end) */
    int (*leaf)(struct pt_range *r, uintptr_t va, pte_t *ptep);
    enum pt_reap reap;          /* which child tables to free once their range was walked */
    pt_visit_fn fn;
    void *arg;
    unsigned long nr;           /* leaves cleared (unmap, destroy) */
    uintptr_t first_va;         /* destroy: first leaf that was still set */
};

/* After a child table's part of the range was walked: free it if the walk's mode says so. */
static void pt_range_reap(struct pt_range *r, pte_t *parent_ep, pte_t *child)
{
    struct page *pg = pt_table_page(child);
    if (r->reap == PT_REAP_NONE || (r->reap == PT_REAP_EMPTY && pg->private_data))
        return;
    pt_entry_store(parent_ep, 0);
    pt_free_table(r->pt, pg);
}

/* Walk the non-zero entries of @table (level @level, covering linear [base, ...)) in range. */
static int pt_range_level(struct pt_range *r, pte_t *table, unsigned int level, uint64_t base)
{
    uint64_t size = PT_LEVEL_SIZE(level);
    unsigned int i = r->start > base ? (unsigned int)((r->start - base) >> PT_SHIFT(level)) : 0;
    for (; i < PT_ENTRIES; i++) {
        uint64_t lo = base + (uint64_t)i * size;
        if (lo >= r->end)
            break;
        pte_t e = table[i];
        if (!e)
            continue;
        int rc;
        if (level == 0) {
            rc = r->leaf(r, pt_va_of_lin(lo), &table[i]);
        } else {
            pte_t *child = pt_table_virt(pte_addr(e));
            rc = pt_range_level(r, child, level - 1, lo);
            pt_range_reap(r, &table[i], child);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int pt_range_run(struct pt_range *r, uintptr_t start, uintptr_t end)
{
    r->start = pt_lin_bound(start);
    r->end = pt_lin_bound(end);
    if (!r->pt || !r->pt->root || r->start >= r->end)
        return 0;
    return pt_range_level(r, pt_table_virt(r->pt->root), PT_TOP, 0);
}

/* ---- visit, unmap, set, update ---- */

/* A visitor may rewrite the entry; clearing it is accounted (a later pt_unmap frees the level). */
static int pt_visit_leaf(struct pt_range *r, uintptr_t va, pte_t *ptep)
{
    int rc = r->fn(r->arg, va, ptep);
    if (!*ptep)
        pt_table_page(ptep)->private_data--;
    return rc;
}

int pt_visit(struct page_table *pt, uintptr_t start, uintptr_t end, pt_visit_fn fn, void *arg)
{
    if (!fn)
        return -MM_EINVAL;
    struct pt_range r = { .pt = pt, .leaf = pt_visit_leaf, .reap = PT_REAP_NONE, .fn = fn,
                          .arg = arg };
    return pt_range_run(&r, start, end);
}

static int pt_unmap_leaf(struct pt_range *r, uintptr_t va, pte_t *ptep)
{
    if (r->fn)
        r->fn(r->arg, va, ptep);
    pt_entry_store(ptep, 0);
    r->nr++;
    return 0;
}

unsigned long pt_unmap(struct page_table *pt, uintptr_t start, uintptr_t end, pt_visit_fn fn,
                       void *arg)
{
    struct pt_range r = { .pt = pt, .leaf = pt_unmap_leaf, .reap = PT_REAP_EMPTY, .fn = fn,
                          .arg = arg };
    pt_range_run(&r, start, end);
    return r.nr;
}

/* Clearing a leaf goes through pt_unmap so the levels it empties are freed. */
static void pt_clear_one(struct page_table *pt, uintptr_t va)
{
    uintptr_t page = va & ~(uintptr_t)(PAGE_SIZE - 1);
    struct pt_range r = { .pt = pt, .leaf = pt_unmap_leaf, .reap = PT_REAP_EMPTY };
    r.start = pt_lin_bound(page);
    r.end = r.start + PAGE_SIZE;
    pt_range_level(&r, pt_table_virt(pt->root), PT_TOP, 0);
}

int pt_set(struct page_table *pt, uintptr_t va, pte_t e, gfp_t gfp)
{
    if (!pt || !pt->root || !pt_va_canonical(va))
        return -MM_EINVAL;
    if (!e) {
        pt_clear_one(pt, va);
        return 0;
    }
    pte_t *ptep = pt_walk(pt, va, true, gfp);
    if (!ptep)
        return -MM_ENOMEM;
    pt_entry_store(ptep, e);
    return 0;
}

pte_t pt_update(struct page_table *pt, uintptr_t va, pte_t e)
{
    pte_t *ptep = pt_walk(pt, va, false, 0);
    if (!ptep) {
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, va, ~0ul,
                         "no page table covers 0x%lx", (unsigned long)va);
        return 0;
    }
    return pt_entry_store(ptep, e);
}

/* ---- setup and teardown ---- */

int pt_init(struct page_table *pt, gfp_t gfp)
{
    if (!pt || pt->root)
        return -MM_EINVAL;
    pt->nr_tables = 0;
    struct page *pg = pt_alloc_table(pt, gfp);
    if (!pg)
        return -MM_ENOMEM;
    pt->root = page_to_phys(pg);
    return 0;
}

/* pt_destroy's leaf: there should be none; clear it so the tables can go, and count it. */
static int pt_destroy_leaf(struct pt_range *r, uintptr_t va, pte_t *ptep)
{
    if (!r->nr)
        r->first_va = va;
    pt_entry_store(ptep, 0);
    r->nr++;
    return 0;
}

void pt_destroy(struct page_table *pt)
{
    if (!pt || !pt->root)
        return;
    struct pt_range r = { .pt = pt, .leaf = pt_destroy_leaf, .reap = PT_REAP_ALL };
    r.start = 0;
    r.end = PT_LIN_END;
    pte_t *root = pt_table_virt(pt->root);
    pt_range_level(&r, root, PT_TOP, 0);
    if (r.nr)
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, r.first_va, ~0ul,
                         "%lu leaves still set (first at 0x%lx); tables freed anyway", r.nr,
                         (unsigned long)r.first_va);
    pt_free_table(pt, pt_table_page(root));
    pt->root = 0;
    pt->nr_tables = 0;
}
