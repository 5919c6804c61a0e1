/*
 * swap_lru.c - the active/inactive LRU lists of anonymous pages, swap-out by second chance, the
 * shrinker that makes memory pressure swap, bringing swap up (slot map + shrinker) and swap
 * statistics. Above swap_slot.c, which it calls for slots; never the other way round.
 *
 *   mm->lru[ACTIVE]:    head -> newest ... oldest <- tail   (refill takes from the tail)
 *   mm->lru[INACTIVE]:  head -> newest ... oldest <- tail   (scan takes from the tail)
 *
 *   inactive tail, PTE_A set   -> clear A, move to the active head (second chance)
 *   inactive tail, PTE_A clear -> write to a slot, PTE := swap entry, free the page
 *   inactive empty: active tail, A set -> clear A, back to the active head; clear -> inactive head
 *
 * Reverse map: a page is on a list only while exactly one PTE maps it (mapcount 1, anonymous);
 * the list is its mapper's mm and page->private_data = address | SWAP_PD_ON_LRU [| ACTIVE].
 * New anonymous pages enter at the inactive head; fork takes a page off when it becomes shared.
 *
 * Invariants (checked by check_vm.c, "lru.page" / "lru.list"): every page on a list is an
 * anonymous, allocated order-0 page with mapcount 1 whose PTE at its recorded address in the
 * list's mm maps it; it is on exactly one list, the one its private_data names; the global counts
 * mm_state.swap.nr_lru[] equal the list lengths summed over all mms.
 *
 * Locking: the lists, counts and PTEs here are the address-space lock's (../virtual/vm_lock.c).
 * Callers from mm/virtual hold it; swap_reclaim and swap_get_stats take it; the shrinker only
 * tries it (it runs under shrink_lock, which vm.lock precedes).
 */
#include "swap_internal.h"

static unsigned long swap_shrink_count(struct shrinker *s, struct shrink_control *sc);
static unsigned long swap_shrink_scan(struct shrinker *s, struct shrink_control *sc);

void swap_setup(void)
{
    if (swap_enabled() || swap_slots_init())
        return; /* up already, or no device / no memory: tried again at the next mm_create */
    mm_state.swap.shrinker = (struct shrinker){
        .name = "swap", .count_objects = swap_shrink_count, .scan_objects = swap_shrink_scan,
    };
    if (register_shrinker(&mm_state.swap.shrinker))
        swap_slots_exit();
}

void swap_get_stats(struct swap_stats *st)
{
    if (!st)
        return;
    vm_lock();
    *st = (struct swap_stats){
        .nr_slots = mm_state.swap.nr_slots, .slots_used = mm_state.swap.used,
        .swapped_out = mm_state.swap.out, .swapped_in = mm_state.swap.in,
        .nr_inactive = mm_state.swap.nr_lru[SWAP_LRU_INACTIVE],
        .nr_active = mm_state.swap.nr_lru[SWAP_LRU_ACTIVE],
        .write_errors = mm_state.swap.write_fail, .read_errors = mm_state.swap.read_fail,
    };
    vm_unlock();
}

static inline unsigned int lru_index(const struct page *p)
{
    return (p->private_data & SWAP_PD_ACTIVE) ? SWAP_LRU_ACTIVE : SWAP_LRU_INACTIVE;
}

static inline uintptr_t lru_address(const struct page *p) { return p->private_data & PAGE_MASK; }

void swap_lru_add(struct mm_struct *mm, struct page *p, uintptr_t va)
{
    p->private_data = (va & PAGE_MASK) | SWAP_PD_ON_LRU;
    list_add(&p->lru, &mm->lru[SWAP_LRU_INACTIVE]);
    mm_state.swap.nr_lru[SWAP_LRU_INACTIVE]++;
}

void swap_lru_del(struct page *p)
{
    if (!swap_page_on_lru(p))
        return;
    list_del(&p->lru);
    mm_state.swap.nr_lru[lru_index(p)]--;
    p->private_data = 0;
}

/* Move @p (on one of @mm's lists) to the head of list @to. */
static void swap_lru_move(struct mm_struct *mm, struct page *p, unsigned int to)
{
    list_del(&p->lru);
    mm_state.swap.nr_lru[lru_index(p)]--;
    p->private_data = lru_address(p) | SWAP_PD_ON_LRU | (to == SWAP_LRU_ACTIVE ? SWAP_PD_ACTIVE : 0);
    list_add(&p->lru, &mm->lru[to]);
    mm_state.swap.nr_lru[to]++;
}

/* The PTE mapping LRU page @p in @mm, or NULL (and @p leaves the LRU) if the rmap is stale. */
static pte_t *swap_lru_pte(struct mm_struct *mm, struct page *p)
{
    uintptr_t va = lru_address(p);
    pte_t *ptep = pt_walk(&mm->pt, va, false, 0);
    if (ptep && pte_present(*ptep) && pte_addr(*ptep) == page_to_phys(p) && p->mapcount == 1 &&
        !(p->flags & PG_cache))
        return ptep;
    env_log(ENV_LOG_ERR, "swap: stale LRU page pfn 0x%lx at 0x%lx of mm %u\n", page_to_pfn(p),
            (unsigned long)va, mm->id);
    swap_lru_del(p);
    return NULL;
}

/* Was the page referenced since the last look? Clears PTE_A (test-and-clear-young). */
static bool swap_pte_young(pte_t *ptep, uintptr_t va)
{
    if (!(*ptep & PTE_A))
        return false;
    *ptep &= ~PTE_A;
    env_tlb_flush_range(va, va + PAGE_SIZE);
    return true;
}

/* Write @p out and replace its PTE by the swap entry. Returns 1, or -1 (no slot / device error). */
static int swap_evict_page(struct mm_struct *mm, struct page *p, pte_t *ptep)
{
    uintptr_t va = lru_address(p);
    pte_t e = swap_page_write(page_address(p));
    mm_trace(MM_TRACE_SWAP_OUT, mm->id, va, page_to_pfn(p), e);
    if (!e)
        return -1;
    *ptep = e;
    env_tlb_flush_range(va, va + PAGE_SIZE);
    swap_lru_del(p);
    p->mapcount--;
    mm->nr_anon--;
    __free_pages(p, 0);
    return 1;
}

/* Refill: look at the active tail. Returns 0 (moved), or -1 when @mm has no LRU pages at all. */
static int swap_refill_one(struct mm_struct *mm)
{
    if (list_empty(&mm->lru[SWAP_LRU_ACTIVE]))
        return -1;
    struct page *p = list_entry(mm->lru[SWAP_LRU_ACTIVE].prev, struct page, lru);
    pte_t *ptep = swap_lru_pte(mm, p);
    if (ptep)
        swap_lru_move(mm, p, swap_pte_young(ptep, lru_address(p)) ? SWAP_LRU_ACTIVE
                                                                  : SWAP_LRU_INACTIVE);
    return 0;
}

/* Is LRU page @p in a VM_LOCKED VMA of @mm (mlock, MAP_LOCKED)? */
static bool swap_page_mlocked(struct mm_struct *mm, struct page *p)
{
    const struct vm_area_struct *v = find_vma(mm, lru_address(p));
    return v && v->vm_start <= lru_address(p) && (v->vm_flags & VM_LOCKED);
}

/* One step on @mm: returns 1 (a page freed), 0 (a page moved), -1 (nothing to do / stop). */
static int swap_scan_one(struct mm_struct *mm)
{
    if (list_empty(&mm->lru[SWAP_LRU_INACTIVE]))
        return swap_refill_one(mm);
    struct page *p = list_entry(mm->lru[SWAP_LRU_INACTIVE].prev, struct page, lru);
    pte_t *ptep = swap_lru_pte(mm, p);
    if (!ptep)
        return 0;
    if (swap_page_mlocked(mm, p)) { /* never swapped out: back to the active list */
        swap_lru_move(mm, p, SWAP_LRU_ACTIVE);
        return 0;
    }
    if (swap_pte_young(ptep, lru_address(p))) {
        swap_lru_move(mm, p, SWAP_LRU_ACTIVE);
        return 0;
    }
    return swap_evict_page(mm, p, ptep) < 0 ? -2 : 1;
}

/*
 * Scan @mm until @nr pages are freed or *@budget steps are spent. Each page is looked at most
 * three times without an access in between (inactive -> active -> inactive -> out), so a budget
 * of three steps per LRU page always finds the idle ones. Sets *@stop on a device stop.
 */
static unsigned long swap_scan_mm(struct mm_struct *mm, unsigned long nr, unsigned long *budget,
                                  bool *stop)
{
    unsigned long freed = 0;
    while (freed < nr && *budget) {
        (*budget)--;
        int r = swap_scan_one(mm);
        if (r == -1)
            break;
        if (r == -2) {
            *stop = true;
            break;
        }
        freed += (unsigned long)r;
    }
    return freed;
}

static unsigned long swap_reclaim_locked(unsigned long nr_pages)
{
    if (!mm_state.swap.ready || !mm_state.vm.mms.next || list_empty(&mm_state.vm.mms))
        return 0;
    unsigned long budget = 3 * (mm_state.swap.nr_lru[0] + mm_state.swap.nr_lru[1]) + 3;
    unsigned long freed = 0;
    bool stop = false;
    struct list_head *pos;
    list_for_each(pos, &mm_state.vm.mms) {
        struct mm_struct *mm = list_entry(pos, struct mm_struct, list_all);
        freed += swap_scan_mm(mm, nr_pages - freed, &budget, &stop);
        if (stop || freed >= nr_pages || !budget)
            break;
    }
    /* fairness: the next pass starts with the address space after the first one */
    struct list_head *first = mm_state.vm.mms.next;
    list_del(first);
    list_add_tail(first, &mm_state.vm.mms);
    return freed;
}

/* ---- the shrinker: memory pressure swaps ---- */

unsigned long swap_reclaim(unsigned long nr_pages)
{
    vm_lock();
    unsigned long freed = swap_reclaim_locked(nr_pages);
    vm_unlock();
    return freed;
}

/* The shrinker runs under shrink_lock, below vm.lock in the lock order, so it never waits for
 * vm.lock: it goes on when its own CPU holds it (reclaim inside a fault), takes it when free, and
 * otherwise reports nothing to do (another CPU is changing address spaces right now). */
static unsigned long swap_shrink_count(struct shrinker *s, struct shrink_control *sc)
{
    (void)s;
    (void)sc;
    if (!vm_trylock())
        return 0;
    unsigned long lru = mm_state.swap.nr_lru[0] + mm_state.swap.nr_lru[1];
    unsigned long n = MM_MIN(lru, swap_slots_free());
    vm_unlock();
    return n;
}

static unsigned long swap_shrink_scan(struct shrinker *s, struct shrink_control *sc)
{
    (void)s;
    if (!vm_trylock())
        return SHRINK_STOP;
    unsigned long freed = swap_reclaim_locked(sc->nr_to_scan);
    vm_unlock();
    return freed ? freed : SHRINK_STOP;
}
