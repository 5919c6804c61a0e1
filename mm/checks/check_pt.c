/*
 * check_pt.c - the page-table validator (pt_check), for every page table of the mm: the
 * vmalloc range's (check_vmalloc.c) and each address space's (check_vm.c). The invariants are
 * page_table.c's (its file comment); the invariant names are listed at pt_check in
 * check_internal.h. Reads table pages through the env's physical map and marks each one
 * PG_checked while it runs, so like mm_check it needs quiescence.
 */
#include "../virtual/vm_internal.h"
#include "check_internal.h"

#define PT_TOP (PT_LEVELS - 1)

static inline const pte_t *pt_table_virt(phys_addr_t pa) { return (const pte_t *)env_phys_to_virt(pa); }

struct pt_check_ctx {
    struct mm_check_report *rep;
    unsigned long nr_tables;
};

#define pt_check_fail(c, ...) mm_check_fail((c)->rep, __VA_ARGS__)

/* Validate the table page at @pa (level @level) before it is read, and mark it seen. */
static int pt_check_table_page(struct pt_check_ctx *c, phys_addr_t pa, unsigned int level,
                               struct page **out)
{
    unsigned long pfn = MM_PFN_DOWN(pa);
    if (!pfn_valid(pfn))
        return pt_check_fail(c, "pt.table", pfn, "level-%u table at pa 0x%llx is beyond memory",
                             level, (unsigned long long)pa);
    struct page *pg = pfn_to_page(pfn);
    if (pg->flags & PG_checked)
        return pt_check_fail(c, "pt.duplicate", pfn, "level-%u table pfn 0x%lx is reachable "
                             "twice", level, pfn);
    if (pg->flags != (PG_head | PG_pgtable) || pg->order != 0 || pg->refcount < 1)
        return pt_check_fail(c, "pt.table", pfn, "level-%u table pfn 0x%lx: flags 0x%x order %u "
                             "refcount %d", level, pfn, pg->flags, pg->order, (int)pg->refcount);
    pg->flags |= PG_checked;
    c->nr_tables++;
    *out = pg;
    return 0;
}

/* Check one entry of a level-@level table (the table's pfn is @pfn). */
static int pt_check_level(struct pt_check_ctx *c, phys_addr_t pa, unsigned int level);

static int pt_check_entry(struct pt_check_ctx *c, pte_t e, unsigned int level, unsigned long pfn,
                          unsigned int i)
{
    if (level == 0) {
        if (pte_present(e) && !pfn_valid(MM_PFN_DOWN(pte_addr(e))))
            return pt_check_fail(c, "pt.leaf", pfn, "leaf %u of table pfn 0x%lx maps pa 0x%llx "
                                 "beyond memory", i, pfn, (unsigned long long)pte_addr(e));
        return 0;
    }
    if (!pte_present(e))
        return pt_check_fail(c, "pt.table", pfn, "entry %u of level-%u table pfn 0x%lx is set "
                             "but not present (0x%llx)", i, level, pfn, (unsigned long long)e);
    return pt_check_level(c, pte_addr(e), level - 1);
}

static int pt_check_level(struct pt_check_ctx *c, phys_addr_t pa, unsigned int level)
{
    struct page *pg = NULL; /* set when pt_check_table_page succeeds (gcc -O2 cannot tell) */
    int err = pt_check_table_page(c, pa, level, &pg);
    if (err)
        return err;
    const pte_t *table = pt_table_virt(pa);
    unsigned long pfn = page_to_pfn(pg), used = 0;
    for (unsigned int i = 0; i < PT_ENTRIES; i++)
        used += table[i] != 0;
    if (used != pg->private_data)
        return pt_check_fail(c, "pt.count", pfn, "level-%u table pfn 0x%lx: count %lu, %lu "
                             "entries set", level, pfn, (unsigned long)pg->private_data, used);
    for (unsigned int i = 0; i < PT_ENTRIES; i++) {
        if (table[i] && (err = pt_check_entry(c, table[i], level, pfn, i)) != 0)
            return err;
    }
    return 0;
}

/* Clear the PG_checked marks: every marked page was reached through marked tables only. */
static void pt_check_unmark(phys_addr_t pa, unsigned int level)
{
    struct page *pg = pfn_to_page(MM_PFN_DOWN(pa));
    pg->flags &= ~PG_checked;
    if (level == 0)
        return;
    const pte_t *table = pt_table_virt(pa);
    for (unsigned int i = 0; i < PT_ENTRIES; i++) {
        unsigned long cpfn = MM_PFN_DOWN(pte_addr(table[i]));
        if (table[i] && pfn_valid(cpfn) && (pfn_to_page(cpfn)->flags & PG_checked))
            pt_check_unmark(pte_addr(table[i]), level - 1);
    }
}

int pt_check(struct page_table *pt, struct mm_check_report *rep)
{
    struct mm_check_report local;
    struct pt_check_ctx c = { .rep = rep ? rep : &local };
    c.rep->err = 0;
    c.rep->invariant = NULL;
    c.rep->pfn = ~0ul;
    c.rep->detail[0] = '\0';
    if (!pt)
        return 0;
    int err = 0;
    if (pt->root) {
        err = pt_check_level(&c, pt->root, PT_TOP);
        if (pfn_valid(MM_PFN_DOWN(pt->root)) &&
            (pfn_to_page(MM_PFN_DOWN(pt->root))->flags & PG_checked))
            pt_check_unmark(pt->root, PT_TOP);
    }
    if (!err && c.nr_tables != pt->nr_tables)
        err = pt_check_fail(&c, "pt.nr_tables", ~0ul, "nr_tables %lu, %lu tables reachable",
                            pt->nr_tables, c.nr_tables);
    return err;
}
