/*
 * swap_slot.c - the swap device's slot map: next-fit slot allocation, per-slot reference counts,
 * swap entries in PTEs, statistics, and bringing swap up (map + shrinker).
 *
 *   device (env_swap_*):   [slot 0][slot 1] ... [slot n-1]        one page each
 *   mm_state.swap_map:     {count, seen} per slot                  count 0 = free
 *   swap PTE:              pte_mk_swap(0, slot)                    one reference per PTE
 *
 * Invariants (checked by check_vm.c, "swap.slot" / "swap.count"): a swap PTE has type 0 and names
 * a slot < swap_nr_slots whose count is > 0; each slot's count equals the number of swap PTEs
 * naming it over all address spaces (so no allocated slot is referenced by nothing);
 * swap_used equals the number of slots with count > 0.
 *
 * Locking: like the rest of the address-space code, callers serialise (mm_check needs quiescence).
 */
#include "../virtual/mmap_internal.h"

#define SWAP_MAX_SLOTS (1ul << 16) /* the map stays a modest kmalloc */

static unsigned long swap_shrink_count(struct shrinker *s, struct shrink_control *sc);
static unsigned long swap_shrink_scan(struct shrinker *s, struct shrink_control *sc);

void swap_setup(void)
{
    if (mm_state.swap_ready)
        return;
    unsigned long n = MM_MIN(env_swap_slots(), SWAP_MAX_SLOTS);
    if (!n)
        return;
    struct swap_slot *map = kzalloc(n * sizeof(*map), GFP_KERNEL);
    if (!map)
        return; /* tried again at the next mm_create */
    mm_state.swap_shrinker = (struct shrinker){
        .name = "swap", .count_objects = swap_shrink_count, .scan_objects = swap_shrink_scan,
    };
    if (register_shrinker(&mm_state.swap_shrinker)) {
        kfree(map);
        return;
    }
    mm_state.swap_map = map;
    mm_state.swap_nr_slots = n;
    mm_state.swap_ready = true;
}

bool swap_enabled(void) { return mm_state.swap_ready; }

/* Allocate a free slot with one reference. Returns it, or -MM_ENOSPC when the device is full. */
static long swap_slot_alloc(void)
{
    unsigned long n = mm_state.swap_nr_slots;
    if (mm_state.swap_used >= n)
        return -MM_ENOSPC;
    for (unsigned long i = 0; i < n; i++) {
        unsigned long s = (mm_state.swap_cursor + i) % n;
        if (!mm_state.swap_map[s].count) {
            mm_state.swap_map[s].count = 1;
            mm_state.swap_used++;
            mm_state.swap_cursor = s + 1;
            return (long)s;
        }
    }
    return -MM_ENOSPC;
}

static void swap_slot_put(unsigned long slot)
{
    if (--mm_state.swap_map[slot].count == 0)
        mm_state.swap_used--;
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
        mm_state.swap_write_fail++;
        return 0;
    }
    mm_state.swap_out++;
    return pte_mk_swap(0, (uint64_t)slot);
}

bool swap_entry_valid(pte_t e)
{
    return mm_state.swap_ready && pte_is_swap(e) && pte_swp_type(e) == 0 &&
           pte_swp_offset(e) < mm_state.swap_nr_slots && mm_state.swap_map[pte_swp_offset(e)].count;
}

int swap_entry_dup(pte_t e)
{
    if (!swap_entry_valid(e))
        return -MM_EINVAL;
    struct swap_slot *s = &mm_state.swap_map[pte_swp_offset(e)];
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
        mm_state.swap_read_fail++;
        return -MM_EIO;
    }
    mm_state.swap_in++;
    return 0;
}

unsigned long swap_slot_count(unsigned long slot)
{
    return mm_state.swap_ready && slot < mm_state.swap_nr_slots ? mm_state.swap_map[slot].count : 0;
}

int swap_debug_set_count(unsigned long slot, unsigned long count)
{
    if (!mm_state.swap_ready || slot >= mm_state.swap_nr_slots || count > UINT32_MAX)
        return -MM_EINVAL;
    struct swap_slot *s = &mm_state.swap_map[slot];
    mm_state.swap_used += (count != 0) - (s->count != 0);
    s->count = (uint32_t)count;
    return 0;
}

void swap_get_stats(struct swap_stats *st)
{
    *st = (struct swap_stats){
        .nr_slots = mm_state.swap_nr_slots, .slots_used = mm_state.swap_used,
        .swapped_out = mm_state.swap_out, .swapped_in = mm_state.swap_in,
        .nr_inactive = mm_state.swap_nr_lru[SWAP_LRU_INACTIVE],
        .nr_active = mm_state.swap_nr_lru[SWAP_LRU_ACTIVE],
        .write_errors = mm_state.swap_write_fail, .read_errors = mm_state.swap_read_fail,
    };
}

/* ---- the shrinker: memory pressure swaps ---- */

static unsigned long swap_shrink_count(struct shrinker *s, struct shrink_control *sc)
{
    (void)s;
    (void)sc;
    unsigned long lru = mm_state.swap_nr_lru[0] + mm_state.swap_nr_lru[1];
    return MM_MIN(lru, mm_state.swap_nr_slots - mm_state.swap_used);
}

static unsigned long swap_shrink_scan(struct shrinker *s, struct shrink_control *sc)
{
    (void)s;
    unsigned long freed = swap_reclaim(sc->nr_to_scan);
    return freed ? freed : SHRINK_STOP;
}
