/*
 * check_internal.h - shared between the files of mm/checks (not public). Nothing outside
 * mm/checks calls them: checks read every layer and are called by none (mm_check, the stats and
 * mm_describe_addr are entered only from outside mm/).
 */
#ifndef LEAXOS_MM_CHECK_INTERNAL_H
#define LEAXOS_MM_CHECK_INTERNAL_H

#include "../physical/phys_internal.h"
#include "page_table.h"

/* check_kfence.c: the KFENCE pool (its slots, FIFO, and page table: guards never mapped) */
int kfence_check(struct mm_check_report *rep);

/* check_vm.c: every address space and the map counts of user pages */
int vm_check_all(struct mm_check_report *rep);

/* check_pt.c */
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

/* check_tree.c */
/** Called for each entry of a range tree in order; returns 0 or the mm_check_fail result. */
typedef int (*check_tree_visit_fn)(void *arg, uintptr_t start, uintptr_t end, void *entry);
/**
 * Validate @t (tree.depth, tree.fill, tree.order, tree.key, tree.gap; @what names it in the
 * detail) and pass each entry to @visit (may be NULL). Returns 0 or -MM_ECORRUPT in *@r.
 */
int check_range_tree(const struct range_tree *t, const char *what, check_tree_visit_fn visit,
                     void *arg, struct mm_check_report *r);

/* ---- the slices of mm_check_step (check_step.c) ----
 * Each returns 0, -MM_ECORRUPT with the broken invariant in *rep, or one of these: */
#define CHECK_SLICE_BUSY 1 /* a lock it needs is held: nothing was checked, retry later */
#define CHECK_SLICE_END  2 /* no item of that ordinal: the phase is over */

/* check.c, with @z's lock held: the free lists, nr_free and the pcp lists (only @only_cpu's when
 * >= 0: other CPUs change theirs without the zone lock) */
int check_zone_lists(struct zone *z, int only_cpu, struct mm_check_report *rep);
/* check.c, with @z's lock held: the blocks from the one holding *@pfn to *@pfn + @pages (block
 * structure, flags, refcounts; not orphans or conservation), *@pfn moved past the last one. With
 * @others_run, what another CPU changes without the zone lock is accepted: an allocated head's
 * refcount of 0 (a free drops it before it takes the lock) and a page with no flags (in flight
 * between a per-CPU list or the free lists and its new owner). */
int check_zone_range(struct zone *z, unsigned long *pfn, unsigned long pages, bool others_run,
                     struct mm_check_report *rep);
/* check_slab.c: cache number @n of the cache list (heap.lock and its lock by trylock); only
 * @only_cpu's CPU slab is walked (the others are only counted) */
int slab_check_nth(unsigned long n, int only_cpu, struct mm_check_report *rep);
/* check_vmalloc.c: vmalloc's areas and tree (vmalloc.lock by trylock); with @others_run, areas
 * still being built are not walked */
int vmalloc_check_try(bool others_run, struct mm_check_report *rep);
/* check_vm.c: address space number @n of the mm list (vm.lock by trylock) */
int vm_check_nth(unsigned long n, struct mm_check_report *rep);

#endif /* LEAXOS_MM_CHECK_INTERNAL_H */
