/*
 * vm_lock.c - the address-space lock: mm_state.vm.lock, one lock for every address space.
 *
 * What it protects: every mm_struct (its VMAs and tree, page tables, counters, LRU lists), the
 * pages those tables map as far as mapping goes (mapcount, PG_* mapping flags, page->private_data
 * of anonymous pages), the lists mm_state.vm.mms and .files, the zero page, every mm_file (its
 * page cache and dirty map), and all of mm_state.swap (the slot map, the LRU counts, the swap
 * counters). Every public entry of mm/virtual but vmalloc takes it (mmap.c, fault.c, fork.c,
 * file.c); the swap shrinker takes it with vm_trylock; the hosted MMU holds it across a walk
 * and the copy (mm_user_access_begin), so its TLB oracle compares a cached entry with tables that
 * no path can be changing (every PTE change and its env_tlb_flush_range happen under it).
 *
 * It is recursive for its holder (lock_depth, written only by the holder): public entries call
 * each other (mm_fork -> mm_create, vma_free -> mm_file_put), and an allocation inside a fault may
 * enter direct reclaim, whose swap shrinker then finds the lock held by its own CPU and goes on.
 *
 * Order: vm.lock first. Under it any lower lock may be taken (shrink_lock by reclaim, heap.lock,
 * cache locks, zone locks, vmalloc.lock, report.lock); no code takes vm.lock while holding one of
 * them except through vm_trylock (the swap shrinker runs under shrink_lock), which never waits.
 *
 * One lock for all address spaces is the first step of issue 12: correct and simple, but two CPUs
 * faulting in different address spaces serialise. Splitting it (a lock per mm, a page-table lock,
 * a swap lock) is later work.
 */
#include "mmap_internal.h"

void vm_lock(void)
{
    if (env_spin_held(&mm_state.vm.lock)) {
        mm_state.vm.lock_depth++;
        return;
    }
    env_spin_lock(&mm_state.vm.lock);
    mm_state.vm.lock_depth = 1;
}

bool vm_trylock(void)
{
    if (env_spin_held(&mm_state.vm.lock)) {
        mm_state.vm.lock_depth++;
        return true;
    }
    if (!env_spin_trylock(&mm_state.vm.lock))
        return false;
    mm_state.vm.lock_depth = 1;
    return true;
}

void vm_unlock(void)
{
    if (--mm_state.vm.lock_depth == 0)
        env_spin_unlock(&mm_state.vm.lock);
}

void mm_user_access_begin(struct mm_struct *mm)
{
    (void)mm;
    vm_lock();
}

void mm_user_access_end(struct mm_struct *mm)
{
    (void)mm;
    vm_unlock();
}
