/*
 * swap_slot.c - the swap device's slot map: next-fit slot allocation, per-slot reference counts,
 * swap entries in PTEs, reads and writes of the device. A device layer under swap_lru.c: it never
 * calls the LRU (swap_setup and the shrinker that swaps under pressure live there).
 *
 *   device (env_swap_*):   [slot 0][slot 1] ... [slot n-1]        one page each
 *   mm_state.swap.map:     {count, seen} per slot                  count 0 = free
 *   swap PTE:              pte_mk_swap(0, slot)                    one reference per PTE
 *
 * Invariants (checked by check_vm.c, "swap.slot" / "swap.count"): a swap PTE has type 0 and
 * names a slot < mm_state.swap.nr_slots whose count is > 0; each slot's count equals the number
 * of swap PTEs naming it over all address spaces (so no allocated slot is referenced by nothing);
 * mm_state.swap.used equals the number of slots with count > 0.
 *
 * Locking: like the rest of the address-space code, callers serialise (mm_check needs quiescence).
 *
 * Locking: the slot map and every counter of mm_state.swap are the address-space lock's
 * (../virtual/vm_lock.c); every caller holds it.
 */
#include "swap_internal.h"

#define SWAP_MAX_SLOTS (1ul << 16) /* the map stays a modest kmalloc */

int swap_slots_init(void)
{
    if (mm_state.swap.ready)
        return -MM_ENOSPC;
    unsigned long n = MM_MIN(env_swap_slots(), SWAP_MAX_SLOTS);
    if (!n)
        return -MM_ENOSPC;
    struct swap_slot *map = kzalloc(n * sizeof(*map), GFP_KERNEL);
    if (!map)
        return -MM_ENOMEM;
    mm_state.swap.map = map;
    mm_state.swap.nr_slots = n;
    mm_state.swap.ready = true;
    return 0;
}

void swap_slots_exit(void)
{
    kfree(mm_state.swap.map);
    mm_state.swap.map = NULL;
    mm_state.swap.nr_slots = 0;
    mm_state.swap.ready = false;
}

bool swap_enabled(void) { return mm_state.swap.ready; }

unsigned long swap_slots_free(void) { return mm_state.swap.nr_slots - mm_state.swap.used; }

/* Allocate a free slot with one reference. Returns it, or -MM_ENOSPC when the device is full. */
static long swap_slot_alloc(void)
{
    unsigned long n = mm_state.swap.nr_slots;
    if (mm_state.swap.used >= n)
        return -MM_ENOSPC;
    for (unsigned long i = 0; i < n; i++) {
        unsigned long s = (mm_state.swap.cursor + i) % n;
        if (!mm_state.swap.map[s].count) {
            mm_state.swap.map[s].count = 1;
            mm_state.swap.used++;
            mm_state.swap.cursor = s + 1;
            return (long)s;
        }
    }
    return -MM_ENOSPC;
}

static void swap_slot_put(unsigned long slot)
{
    if (--mm_state.swap.map[slot].count == 0)
        mm_state.swap.used--;
}

/**
 * Write @page to a fresh slot. Returns the swap PTE naming it, or 0 when no slot is free or the
 * device failed (nothing allocated then).
 */
pte_t swap_page_write(const void *page)
{
    long slot = swap_slot_alloc();
    if (slot < 0)
        return 0;
    if (env_swap_write((unsigned long)slot, page)) {
        swap_slot_put((unsigned long)slot);
        mm_state.swap.write_fail++;
        return 0;
    }
    mm_state.swap.out++;
    return pte_mk_swap(0, (uint64_t)slot);
}

bool swap_entry_valid(pte_t e)
{
    return mm_state.swap.ready && pte_is_swap(e) && pte_swp_type(e) == 0 &&
           pte_swp_offset(e) < mm_state.swap.nr_slots && mm_state.swap.map[pte_swp_offset(e)].count;
}

int swap_entry_dup(pte_t e)
{
    if (!swap_entry_valid(e))
        return -MM_EINVAL;
    struct swap_slot *s = &mm_state.swap.map[pte_swp_offset(e)];
    if (s->count == UINT32_MAX)
        return -MM_EOVERFLOW;
    s->count++;
    return 0;
}

void swap_entry_put(pte_t e)
{
    if (!swap_entry_valid(e)) {
        env_log(ENV_LOG_ERR, "swap: put of invalid swap entry 0x%llx\n", (unsigned long long)e);
        return;
    }
    swap_slot_put((unsigned long)pte_swp_offset(e));
}

int swap_entry_read(pte_t e, void *page)
{
    if (!swap_entry_valid(e))
        return -MM_EINVAL;
    if (env_swap_read((unsigned long)pte_swp_offset(e), page)) {
        mm_state.swap.read_fail++;
        return -MM_EIO;
    }
    mm_state.swap.in++;
    return 0;
}

unsigned long swap_slot_count(unsigned long slot)
{
    return mm_state.swap.ready && slot < mm_state.swap.nr_slots ? mm_state.swap.map[slot].count : 0;
}

int swap_debug_set_count(unsigned long slot, unsigned long count)
{
    if (!mm_state.swap.ready || slot >= mm_state.swap.nr_slots || count > UINT32_MAX)
        return -MM_EINVAL;
    struct swap_slot *s = &mm_state.swap.map[slot];
    mm_state.swap.used += (count != 0) - (s->count != 0);
    s->count = (uint32_t)count;
    return 0;
}
