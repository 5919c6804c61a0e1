/*
 * swap.h - swapping anonymous pages to the machine's swap device (env_swap_* of mm_env.h).
 *
 *   lru[ACTIVE]   <-> page <-> page ...      second chance: a page with PTE_A set in any mapper
 *   lru[INACTIVE] <-> page <-> page ... tail  is moved back to active with A cleared; an idle
 *                                             page at the inactive tail is written out
 *   PTE:  [pfn | P | ...]  --swap-out-->  pte_mk_swap(0, slot)  --fault-->  [new pfn | P | ...]
 *
 * Swap comes up at the first mm_create on a machine whose device has slots (env_swap_slots() > 0):
 * the slot map is allocated and a shrinker joins the page allocator's registry, so memory
 * pressure swaps instead of failing. Without a device, pressure fails as before (VM_FAULT_OOM).
 *
 * The lists are global and hold every mapped anonymous page; page->private_data holds its
 * address (plus list bits). A page copy-on-write shared after fork is evicted from every mapper
 * at once, found through the reverse map (../virtual/rmap.c): each PTE becomes the swap entry,
 * one slot reference per mapper. Slots are reference counted: fork duplicates swap PTEs (one
 * reference each); a swap-in always gives the faulting mm its own private copy and drops one
 * reference, so copy-on-write holds across swap.
 */
#ifndef LEAXOS_SWAP_H
#define LEAXOS_SWAP_H

#include "mm_common.h"

struct swap_stats {
    unsigned long nr_slots;       /* slots the mm uses (0: swap off) */
    unsigned long slots_used;     /* slots holding a page (count > 0) */
    unsigned long swapped_out;    /* pages written out since boot */
    unsigned long swapped_in;     /* pages read back since boot */
    unsigned long nr_active, nr_inactive; /* pages on the LRU lists of all mms */
    unsigned long write_errors, read_errors;
};

/** Fill @st (NULL: nothing to do). */
void swap_get_stats(struct swap_stats *st);

/** True once swap is up (a device with slots and the first mm_create seen). */
bool swap_enabled(void);

/**
 * Write out up to @nr_pages idle anonymous pages (second chance over every mm's LRU lists).
 * Returns the number of pages freed; stops early when no slot is free or the device fails.
 */
unsigned long swap_reclaim(unsigned long nr_pages);

/** Reference count of @slot (0 = free, also for a slot out of range). */
unsigned long swap_slot_count(unsigned long slot);

/**
 * Overwrite the reference count of @slot (for checker tests that corrupt on purpose and repair).
 * Returns 0 or -MM_EINVAL (swap off or slot out of range). Keeps the used-slot count consistent.
 */
int swap_debug_set_count(unsigned long slot, unsigned long count);

#endif /* LEAXOS_SWAP_H */
