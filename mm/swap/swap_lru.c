/*
 * swap_lru.c - the active/inactive LRU lists of anonymous pages, swap-out by second chance, the
 * shrinker that makes memory pressure swap, bringing swap up (slot map + shrinker) and swap
 * statistics. Above swap_slot.c, which it calls for slots; never the other way round.
 *
 *   mm_state.swap.lru[ACTIVE]:    head -> newest ... oldest <- tail   (refill takes from the tail)
 *   mm_state.swap.lru[INACTIVE]:  head -> newest ... oldest <- tail   (scan takes from the tail)
 *
 *   inactive tail, a PTE_A set  -> clear A in every mapper, move to the active head (second chance)
 *   inactive tail, none set     -> write to a slot; every mapper's PTE := the swap entry (the slot
 *                                  holds one reference per mapper), TLBs flushed, page freed
 *   inactive empty: active tail, A set -> clear A, back to the active head; clear -> inactive head
 *
 * Every mapped anonymous page is on one list, private_data = address | SWAP_PD_ON_LRU [| ACTIVE]
 * (the address is the page's in every mapper: rmap.c). The lists are global; node reclaim
 * (shrink_control.node_only) looks only at its node's pages on them, oldest first, as Linux's
 * per-node LRU would (the walk past other nodes' pages costs O(list)). A page copy-on-write shared by several address spaces is found from the list and all its
 * PTEs through the reverse map (rmap_walk_anon). A page in a VM_LOCKED VMA of any mapper, or with
 * references beyond its mappings, is not evicted (back to the active list).
 *
 * Invariants (checked by check_vm.c, "lru.page" / "lru.list"): every page on a list is an
 * anonymous, allocated order-0 page with mapcount >= 1 that the PTE of a chained mm at its
 * recorded address maps; it is on exactly one list, the one its private_data names; every mapped
 * anonymous page is on a list; mm_state.swap.nr_lru[] equal the list lengths.
 *
 * Locking: the lists, counts and PTEs here are the address-space lock's (../virtual/vm_lock.c).
 * Callers from mm/virtual hold it; swap_reclaim and swap_get_stats take it; the shrinker only
 * tries it (it runs under shrink_lock, which vm.lock precedes).
 */
#include "swap_internal.h"
#include "../virtual/mmap_internal.h" /* the reverse map (rmap_walk_anon) */

static unsigned long swap_shrink_count(struct shrinker *s, struct shrink_control *sc);
static unsigned long swap_shrink_scan(struct shrinker *s, struct shrink_control *sc);

void swap_setup(void)
{
    if (swap_enabled() || swap_slots_init())
        return; /* up already, or no device / no memory: tried again at the next mm_create */
    /* numa_aware: node reclaim evicts only that node's pages */
    shrinker_init(&mm_state.swap.shrinker, "swap", swap_shrink_count, swap_shrink_scan, true);
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

void swap_lru_init(void)
{
    list_init(&mm_state.swap.lru[SWAP_LRU_INACTIVE]);
    list_init(&mm_state.swap.lru[SWAP_LRU_ACTIVE]);
}

void swap_lru_add(struct page *p, uintptr_t va)
{
    p->private_data = (va & PAGE_MASK) | SWAP_PD_ON_LRU;
    list_add(&p->lru, &mm_state.swap.lru[SWAP_LRU_INACTIVE]);
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

void swap_lru_replace(struct page *old, struct page *new)
{
    new->private_data = old->private_data;
    list_insert_between(&new->lru, old->lru.prev, old->lru.next);
    list_init(&old->lru);
    old->private_data = 0;
}

/* Move @p to the head of list @to. */
static void swap_lru_move(struct page *p, unsigned int to)
{
    list_del(&p->lru);
    mm_state.swap.nr_lru[lru_index(p)]--;
    p->private_data = rmap_address(p) | SWAP_PD_ON_LRU |
                      (to == SWAP_LRU_ACTIVE ? SWAP_PD_ACTIVE : 0);
    list_add(&p->lru, &mm_state.swap.lru[to]);
    mm_state.swap.nr_lru[to]++;
}

/* What a look at every mapper of a page found (the young bits are cleared as they are seen). */
struct swap_look {
    bool young, locked;
    struct mm_struct *first; /* the first mapper (for the trace) */
};

static int swap_look_pte(void *arg, struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va,
                         pte_t *ptep)
{
    struct swap_look *l = arg;
    if (!l->first)
        l->first = mm;
    if (v && (v->vm_flags & VM_LOCKED))
        l->locked = true;
    if (*ptep & PTE_A) { /* test-and-clear-young */
        *ptep &= ~PTE_A;
        env_tlb_flush_range(va, va + PAGE_SIZE);
        l->young = true;
    }
    return 0;
}

/* Look at every mapper of @p: false if the reverse map does not find them all (mm_check reports
 * it; the page stays on the LRU, rotated to the active list, and is not evicted). */
static bool swap_look_page(struct page *p, struct swap_look *l)
{
    *l = (struct swap_look){ false, false, NULL };
    unsigned int n = rmap_walk_anon(p, swap_look_pte, l);
    if (n && n == (unsigned int)p->mapcount && !(p->flags & PG_cache))
        return true;
    env_log(ENV_LOG_ERR, "swap: LRU page pfn 0x%lx at 0x%lx: the rmap finds %u of %d mappers\n",
            page_to_pfn(p), (unsigned long)rmap_address(p), n, (int)p->mapcount);
    swap_lru_move(p, SWAP_LRU_ACTIVE);
    return false;
}

/* One mapper's PTE of the page being evicted becomes the swap entry (one slot reference each). */
struct swap_evict {
    pte_t entry;
    unsigned int done;
};

static int swap_evict_pte(void *arg, struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va,
                          pte_t *ptep)
{
    struct swap_evict *ev = arg;
    (void)v;
    if (ev->done++)
        (void)swap_entry_dup(ev->entry); /* the write gave the first reference */
    *ptep = ev->entry;
    env_tlb_flush_range(va, va + PAGE_SIZE); /* every CPU that may cache the old translation */
    mm->nr_anon--;
    return 0;
}

/* Write @p out and replace every PTE of it by the swap entry. Returns 1, or -1 (no slot / device
 * error). The caller saw that the reverse map finds all p->mapcount PTEs. */
static int swap_evict_page(struct page *p, struct mm_struct *first)
{
    uintptr_t va = rmap_address(p);
    pte_t e = swap_page_write(page_address(p));
    mm_trace(MM_TRACE_SWAP_OUT, first->id, va, page_to_pfn(p), e);
    if (!e)
        return -1;
    struct swap_evict ev = { e, 0 };
    rmap_walk_anon(p, swap_evict_pte, &ev);
    swap_lru_del(p);
    p->mapcount = 0;
    while (ev.done--)
        __free_pages(p, 0); /* one reference per PTE: the last put frees it */
    return 1;
}

/* The oldest page of list @l, or (node reclaim, @nid >= 0) the oldest page of node @nid on it,
 * as if each node had lists of its own (Linux's per-node LRU); NULL when there is none. */
static struct page *swap_lru_oldest(unsigned int l, int nid)
{
    struct list_head *head = &mm_state.swap.lru[l];
    for (struct list_head *pos = head->prev; pos != head; pos = pos->prev) {
        struct page *p = list_entry(pos, struct page, lru);
        if (nid < 0 || page_to_nid(p) == nid)
            return p;
    }
    return NULL;
}

/* Refill: look at the active tail (node @nid's, if >= 0). Returns 0 (moved), or -1 when no page
 * (of that node) is on any list. */
static int swap_refill_one(int nid)
{
    struct page *p = swap_lru_oldest(SWAP_LRU_ACTIVE, nid);
    if (!p)
        return -1;
    struct swap_look l;
    if (swap_look_page(p, &l))
        swap_lru_move(p, l.young ? SWAP_LRU_ACTIVE : SWAP_LRU_INACTIVE);
    return 0;
}

/* One step: returns 1 (a page freed), 0 (a page moved), -1 (nothing to do), -2 (device stop). */
static int swap_scan_one(int nid)
{
    struct page *p = swap_lru_oldest(SWAP_LRU_INACTIVE, nid);
    if (!p)
        return swap_refill_one(nid);
    struct swap_look l;
    if (!swap_look_page(p, &l))
        return 0;
    /* mlocked in some mapper (never swapped out), referenced since the last look, or pinned by
     * references beyond its mappings or by vmap: back to the active list */
    if (l.locked || l.young || p->refcount != p->mapcount || page_vmap_count(p)) {
        swap_lru_move(p, SWAP_LRU_ACTIVE);
        return 0;
    }
    return swap_evict_page(p, l.first) < 0 ? -2 : 1;
}

/*
 * Free up to @nr pages. Each page is looked at most three times without an access in between
 * (inactive -> active -> inactive -> out), so a budget of three steps per LRU page always finds
 * the idle ones.
 */
static unsigned long swap_reclaim_locked(unsigned long nr_pages, int nid)
{
    if (!mm_state.swap.ready || !mm_state.swap.lru[0].next)
        return 0;
    unsigned long budget = 3 * (mm_state.swap.nr_lru[0] + mm_state.swap.nr_lru[1]) + 3;
    unsigned long freed = 0;
    while (freed < nr_pages && budget--) {
        int r = swap_scan_one(nid);
        if (r < 0)
            break;
        freed += (unsigned long)r;
    }
    return freed;
}

/* ---- the shrinker: memory pressure swaps ---- */

unsigned long swap_reclaim(unsigned long nr_pages)
{
    vm_lock();
    unsigned long freed = swap_reclaim_locked(nr_pages, NUMA_NO_NODE);
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
    unsigned long freed = swap_reclaim_locked(sc->nr_to_scan, sc->node_only ? sc->nid : NUMA_NO_NODE);
    vm_unlock();
    return freed ? freed : SHRINK_STOP;
}
