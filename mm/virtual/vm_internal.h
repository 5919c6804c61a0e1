/*
 * vm_internal.h - state and helpers shared by the files of mm/virtual (not public).
 *
 * Owns the declarations of the virtual-memory layer's internal checkers; each returns 0 or
 * -MM_ECORRUPT and fills a struct mm_check_report (as mm_check does) with a stable dotted
 * invariant name.
 */
#ifndef LEAXOS_MM_VM_INTERNAL_H
#define LEAXOS_MM_VM_INTERNAL_H

#include "../lib/core.h"
#include "page_table.h"

/**
 * Verify the structure of @pt. Returns 0, or -MM_ECORRUPT with the first broken invariant in
 * *@rep (may be NULL):
 *   pt.table       a non-zero upper-level entry is not present, or points beyond memory or at a
 *                  page that is not an order-0 PG_head|PG_pgtable block (the root included)
 *   pt.count       a table page's private_data differs from its number of non-zero entries
 *   pt.duplicate   a table page is reachable twice (two links, or a cycle)
 *   pt.nr_tables   pt->nr_tables differs from the number of reachable table pages
 *   pt.leaf        a present leaf maps a physical address with no struct page (!pfn_valid)
 * rep->pfn names the table page concerned (~0ul for pt.nr_tables). Uses the PG_checked scratch
 * mark and clears it again, so like mm_check it requires that nothing else runs meanwhile.
 */
int pt_check(struct page_table *pt, struct mm_check_report *rep);

#endif /* LEAXOS_MM_VM_INTERNAL_H */
