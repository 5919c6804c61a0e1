/*
 * page_table.h - the generic 4-level page-table layer: one walk primitive that allocates missing
 * levels, range visits, and unmapping that frees levels which became empty.
 *
 *   struct page_table.root --> PML4 page --> PDPT page --> PD page --> PT page --> leaf pte_t
 *
 * Table pages come from the page allocator (order 0, zeroed) and are marked PG_pgtable; each
 * keeps the number of its non-zero entries in page->private_data, so an empty level is noticed
 * (and freed) without scanning it. Entries use the arch format of arch_pgtable.h.
 *
 * Locking: the caller serialises all changes to one page_table (the address space's lock).
 */
#ifndef LEAXOS_PAGE_TABLE_H
#define LEAXOS_PAGE_TABLE_H

#include "arch_pgtable.h"
#include "mm_common.h"
#include "page_alloc.h"

struct page_table {
    phys_addr_t root;         /* physical address of the top-level table; 0 when not set up */
    unsigned long nr_tables;  /* table pages, root included */
};

/** Allocate a zeroed root. Returns 0, -MM_EINVAL (NULL @pt or already set up), -MM_ENOMEM. */
int pt_init(struct page_table *pt, gfp_t gfp);

/**
 * The single walk primitive: return a pointer to the leaf entry for @va. With @alloc, missing
 * levels are allocated (gfp) and NULL means -MM_ENOMEM; without, NULL means no table covers @va.
 * @va must be canonical; the leaf pointer stays valid until the range is unmapped.
 */
pte_t *pt_walk(struct page_table *pt, uintptr_t va, bool alloc, gfp_t gfp);

/**
 * Store @e as the leaf entry for @va (allocating levels). Keeps the level's entry count right when
 * an entry goes from zero to non-zero or back. Returns 0 or -MM_ENOMEM (nothing changed).
 */
int pt_set(struct page_table *pt, uintptr_t va, pte_t e, gfp_t gfp);

/** Replace the existing leaf for @va (which must have a table) and return the old entry. */
pte_t pt_update(struct page_table *pt, uintptr_t va, pte_t e);

/** Called for each non-zero leaf in [start, end), in address order; a non-zero return stops. */
typedef int (*pt_visit_fn)(void *arg, uintptr_t va, pte_t *ptep);

/** Visit the non-zero leaves of [start, end). Returns the first non-zero visitor result, or 0. */
int pt_visit(struct page_table *pt, uintptr_t start, uintptr_t end, pt_visit_fn fn, void *arg);

/**
 * Clear every non-zero leaf of [start, end) after calling @fn on it (may be NULL; its result is
 * ignored), then free the table pages that became empty. Returns the number of leaves cleared.
 */
unsigned long pt_unmap(struct page_table *pt, uintptr_t start, uintptr_t end, pt_visit_fn fn,
                       void *arg);

/** Free every table page. Precondition: no leaf is non-zero (unmap first). */
void pt_destroy(struct page_table *pt);

/** The table page holding the entry @ptep points at (for checks and counts). */
struct page *pt_table_page(const pte_t *ptep);

#endif /* LEAXOS_PAGE_TABLE_H */
