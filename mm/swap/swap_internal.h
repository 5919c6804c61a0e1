/*
 * swap_internal.h - swap as the rest of mm/ sees it (the address-space code of mm/virtual and the
 * checker); the public part is swap.h. Not public.
 *
 * Two files, one above the other (the layer check keeps it so):
 *
 *   swap_lru.c    LRU lists of anonymous pages, second-chance swap-out, the shrinker, swap_setup
 *       |
 *   swap_slot.c   the device's slot map: slots, reference counts, swap entries, read and write
 *
 * The slot map is a device layer: it never calls the LRU. Both keep their state in mm_state.swap
 * (../lib/core.h); the fields the LRU owns are marked there.
 */
#ifndef LEAXOS_MM_SWAP_INTERNAL_H
#define LEAXOS_MM_SWAP_INTERNAL_H

#include "../lib/core.h"
#include "mmap.h"
#include "swap.h"

/** One slot of the swap device: @count swap PTEs name it (0 = free); @seen is checker scratch. */
struct swap_slot {
    uint32_t count;
    uint32_t seen;
};

/* ---- the address-space lock (../virtual/vm_lock.c: what it protects, its order) ---- */

/** Take mm_state.vm.lock, or nest inside this CPU's hold of it. */
void vm_lock(void);
/** As vm_lock, but give up (false) instead of waiting when another CPU holds it. */
bool vm_trylock(void);
/** Undo one vm_lock or successful vm_trylock. */
void vm_unlock(void);

/* ---- swap_lru.c ---- */

#define SWAP_LRU_INACTIVE 0u
#define SWAP_LRU_ACTIVE   1u
#define SWAP_PD_ON_LRU    0x1ul /* page->private_data of an anonymous page: on an LRU list */
#define SWAP_PD_ACTIVE    0x2ul /* ... on the active list (else inactive); bits 12+: address */

/** Bring swap up if the device has slots and it is not up yet (called by mm_create). */
void swap_setup(void);
/** Make the (empty) LRU lists (once, with the address-space lists). */
void swap_lru_init(void);
/** Put new anonymous page @p, mapped at @va (by every mapper), at the head of the inactive list. */
void swap_lru_add(struct page *p, uintptr_t va);
/** Page migration: @new takes @old's place on its list (and its address bits); @old leaves. */
void swap_lru_replace(struct page *old, struct page *new);
/** Take @p off its LRU list (no-op when it is on none). */
void swap_lru_del(struct page *p);
static inline bool swap_page_on_lru(const struct page *p)
{
    return (p->private_data & SWAP_PD_ON_LRU) != 0;
}

/* ---- swap_slot.c ---- */

/**
 * Allocate the slot map for the device's slots and mark swap ready. Returns 0, -MM_ENOSPC (no
 * device, or swap is up already) or -MM_ENOMEM.
 */
int swap_slots_init(void);
/** Undo swap_slots_init (swap_setup failed after it): free the map, swap is off again. */
void swap_slots_exit(void);
/** Slots with no reference (0 when swap is off). */
unsigned long swap_slots_free(void);
/** True if swap PTE @e names an allocated slot of the device. */
bool swap_entry_valid(pte_t e);
/** One more PTE holds @e. Returns 0, or -MM_EINVAL (invalid entry) / -MM_EOVERFLOW. */
int swap_entry_dup(pte_t e);
/** A PTE holding @e went away: drop its reference (the slot is free at zero). */
void swap_entry_put(pte_t e);
/** Write @page to a fresh slot: the swap PTE naming it, or 0 (no free slot, device error). */
pte_t swap_page_write(const void *page);
/** Read the page @e names into @page. Returns 0, -MM_EINVAL (invalid entry) or -MM_EIO. */
int swap_entry_read(pte_t e, void *page);

#endif /* LEAXOS_MM_SWAP_INTERNAL_H */
