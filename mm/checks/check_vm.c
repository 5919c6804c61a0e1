/*
 * check_vm.c - address-space invariants (VMAs, user PTEs) and the map counts of user pages.
 *
 * Invariant names:
 *   vma.range      a VMA is empty, unaligned, or outside the user range
 *   vma.order      VMAs overlap or the list is not sorted
 *   vma.flags      unknown vm_flags bits
 *   vma.unmerged   two adjacent VMAs could be one
 *   vma.tree       the range tree disagrees with the list (entries, ranges, count); the tree's
 *                  own invariants are tree.* (check_tree.c)
 *   pte.outside    a user PTE lies in no VMA
 *   pte.perm       a present PTE grants more than its VMA (RW, exec), or its user bit disagrees
 *                  with the VMA being accessible at all (PROT_NONE pages stay supervisor-only)
 *   pte.cow        a copy-on-write or zero-page PTE is writable
 *   pte.page       a PTE maps a page that is not an allocated page of this machine
 *   pte.numa       a NUMA hinting entry (PTE_SW_NUMA) is not present, keeps its user bit, maps
 *                  the zero page or a page cache page, or lies in a file or PROT_NONE VMA (so
 *                  its rights could not be given back by setting the user bit); or a mapped
 *                  anonymous page's last hinting node is no node of the machine
 *   mm.nr_anon     the address space's anonymous page count disagrees with its PTEs
 *   mm.list        the list of address spaces is longer than the number ever created (a loop;
 *                  seen by mm_check_step's walk to the nth one)
 *   page.mapcount  a user page's mapcount differs from the PTEs mapping it (over all mms)
 *   page.refcount  an anonymous page's refcount differs from its mapcount, or a cache page's
 *                  refcount from mapcount + 1
 *   swap.slot      a non-present PTE is no swap entry, or names no allocated slot (bad type,
 *                  offset beyond the device, count 0)
 *   swap.count     a slot's reference count differs from the swap PTEs naming it over all mms
 *                  (an allocated slot no PTE names included), or the used-slot count is off
 *   lru.page       a page on an LRU list is not a mapped anonymous page that a PTE maps at the
 *                  address its bits record
 *   vma.locked     a page of an accessible VM_LOCKED VMA (mlock, MAP_LOCKED) is not present
 *                  (never faulted in, or swapped out)
 *   lru.list       a page is on two lists (or twice on one), on another list than its bits say,
 *                  marked on-LRU while on none, a mapped anonymous page is on none, or the list
 *                  lengths differ from the counts
 *   rmap.chain     an anon_vma chain is broken: an mm without its own anon_vma, a chain not on
 *                  its lists or naming another mm / anon_vma, an anon_vma chained twice by one
 *                  mm, a chain count that differs from the list (virtual/rmap.c)
 *   vm.policy      a private anonymous page (mapcount 1) lies outside the nodes of the strict
 *                  MPOL_BIND policy in force at its address (the VMA's, else the mm's). Only
 *                  BIND is held strictly: PREFERRED and INTERLEAVE fall back when their node is
 *                  full, and a policy set over pages placed before it is strict only when they all
 *                  conformed (mbind without MPOL_MF_MOVE, move_pages to another node clear it);
 *                  a COW-shared page may have been placed by another mapper's policy
 *   rmap.page      a PTE maps an anonymous page the reverse map does not find there (no
 *                  anon_vma, one the mm does not chain, another address), or the walk finds
 *                  a number of PTEs other than the page's mapcount
 *
 * Scratch state while checking (mm_check requires quiescence): map counts are verified by
 * subtracting every mapping PTE from page->mapcount and adding it back; slots use their `seen`
 * field; LRU pages carry PG_checked while the lists are walked. All are restored before return.
 */
#include "../virtual/mmap_internal.h"
#include "check_internal.h"
#include "../virtual/vm_internal.h"

#define VM_LEGAL_FLAGS (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_GROWSDOWN | VM_LOCKED)

#define vm_fail(r, ...) mm_check_fail((r), __VA_ARGS__)

static bool vm_mergeable(const struct vm_area_struct *a, const struct vm_area_struct *b)
{
    return a->vm_end == b->vm_start && a->vm_flags == b->vm_flags && a->vm_file == b->vm_file &&
           mempolicy_equal(&a->vm_policy, &b->vm_policy) &&
           (!a->vm_file || a->vm_pgoff + ((a->vm_end - a->vm_start) >> PAGE_SHIFT) == b->vm_pgoff);
}

/* vma.locked: every page of an accessible locked VMA has a present PTE. */
static int check_vma_locked(struct mm_struct *mm, struct vm_area_struct *v,
                            struct mm_check_report *r)
{
    if (!(v->vm_flags & VM_LOCKED) || !(v->vm_flags & VM_PROT_MASK))
        return 0;
    for (uintptr_t va = v->vm_start; va < v->vm_end; va += PAGE_SIZE) {
        pte_t *ep = pt_walk(&mm->pt, va, false, 0);
        if (!ep || !pte_present(*ep))
            return vm_fail(r, "vma.locked", ~0ul, "mm %u: page 0x%lx of locked VMA [0x%lx, 0x%lx) "
                           "%s", mm->id, (unsigned long)va, (unsigned long)v->vm_start,
                           (unsigned long)v->vm_end, ep && *ep ? "is swapped out" : "is not present");
    }
    return 0;
}

static int check_vma_list(struct mm_struct *mm, struct mm_check_report *r)
{
    struct vm_area_struct *prev = NULL;
    unsigned long n = 0;
    struct list_head *pos;
    list_for_each(pos, &mm->vmas) {
        struct vm_area_struct *v = list_entry(pos, struct vm_area_struct, vm_list);
        if (v->vm_start >= v->vm_end || !MM_IS_ALIGNED(v->vm_start | v->vm_end, PAGE_SIZE) ||
            v->vm_start < ARCH_USER_VA_START || v->vm_end > ARCH_USER_VA_END)
            return vm_fail(r, "vma.range", ~0ul, "mm %u: VMA [0x%lx, 0x%lx)", mm->id,
                           (unsigned long)v->vm_start, (unsigned long)v->vm_end);
        if (v->vm_flags & ~VM_LEGAL_FLAGS)
            return vm_fail(r, "vma.flags", ~0ul, "mm %u: VMA 0x%lx flags 0x%lx", mm->id,
                           (unsigned long)v->vm_start, v->vm_flags);
        if (prev && prev->vm_end > v->vm_start)
            return vm_fail(r, "vma.order", ~0ul, "mm %u: VMA 0x%lx overlaps or precedes 0x%lx",
                           mm->id, (unsigned long)v->vm_start, (unsigned long)prev->vm_start);
        if (prev && vm_mergeable(prev, v))
            return vm_fail(r, "vma.unmerged", ~0ul, "mm %u: VMAs at 0x%lx and 0x%lx could merge",
                           mm->id, (unsigned long)prev->vm_start, (unsigned long)v->vm_start);
        prev = v;
        if (++n > mm->map_count)
            break;
    }
    if (n != mm->map_count)
        return vm_fail(r, "vma.tree", ~0ul, "mm %u: map_count %lu, list holds %lu", mm->id,
                       mm->map_count, n);
    return 0;
}

/*
 * vma.locked over every VMA: a content check, so it runs once the VMA list and the page tables
 * are known sound (mm_check_mm) - a VMA stretched over its successor would fail it on a page it
 * does not really map before vma.order is seen, and a damaged upper table would send its walk
 * into a freed page.
 */
static int check_vmas_locked(struct mm_struct *mm, struct mm_check_report *r)
{
    struct list_head *pos;
    list_for_each(pos, &mm->vmas) {
        int err = check_vma_locked(mm, list_entry(pos, struct vm_area_struct, vm_list), r);
        if (err)
            return err;
    }
    return 0;
}

/* The tree's entries, in order, are the list's VMAs under their own ranges (vma.tree). */
struct vma_tree_walk {
    struct mm_struct *mm;
    struct list_head *cursor;
    struct mm_check_report *r;
};

static int check_vma_entry(void *arg, uintptr_t start, uintptr_t end, void *entry)
{
    struct vma_tree_walk *w = arg;
    w->cursor = w->cursor->next;
    struct vm_area_struct *v = w->cursor == &w->mm->vmas ? NULL :
                               list_entry(w->cursor, struct vm_area_struct, vm_list);
    if (!v || v != entry || v->vm_start != start || v->vm_end != end)
        return vm_fail(w->r, "vma.tree", ~0ul, "mm %u: tree entry [0x%lx, 0x%lx) is not the next "
                       "VMA of the list (%p)", w->mm->id, (unsigned long)start,
                       (unsigned long)end, v ? (void *)v->vm_start : NULL);
    return 0;
}

static int check_vma_tree(struct mm_struct *mm, struct mm_check_report *r)
{
    struct vma_tree_walk w = { mm, &mm->vmas, r };
    char what[32];
    mm_snprintf(what, sizeof(what), "mm %u VMA tree", mm->id);
    int err = check_range_tree(&mm->tree, what, check_vma_entry, &w, r);
    if (!err && (w.cursor->next != &mm->vmas || mm->tree.count != mm->map_count))
        err = vm_fail(r, "vma.tree", ~0ul, "mm %u: the tree holds %lu VMAs, map_count is %lu",
                      mm->id, mm->tree.count, mm->map_count);
    return err;
}

struct pte_check {
    struct mm_struct *mm;
    struct mm_check_report *r;
    unsigned long anon;
};

static int check_pte(void *arg, uintptr_t va, pte_t *ptep)
{
    struct pte_check *c = arg;
    pte_t e = *ptep;
    struct vm_area_struct *v = find_vma(c->mm, va);
    if (!v || v->vm_start > va)
        return vm_fail(c->r, "pte.outside", ~0ul, "mm %u: PTE 0x%llx at 0x%lx is in no VMA",
                       c->mm->id, (unsigned long long)e, (unsigned long)va);
    if (!pte_present(e))
        return (e & PTE_SW_NUMA) ? vm_fail(c->r, "pte.numa", ~0ul, "mm %u: non-present PTE 0x%llx "
                                           "at 0x%lx is a NUMA hinting entry", c->mm->id,
                                           (unsigned long long)e, (unsigned long)va) : 0;
    unsigned long pfn = MM_PFN_DOWN(pte_addr(e));
    bool user = v->vm_flags & (VM_READ | VM_WRITE | VM_EXEC); /* PROT_NONE: supervisor-only */
    bool hint = e & PTE_SW_NUMA; /* the user bit taken away until the next access */
    if (hint && (!user || v->vm_file || (e & (PTE_SW_ZERO | PTE_US))))
        return vm_fail(c->r, "pte.numa", pfn, "mm %u: NUMA hinting PTE 0x%llx at 0x%lx in a VMA "
                       "with flags 0x%lx%s", c->mm->id, (unsigned long long)e, (unsigned long)va,
                       v->vm_flags, v->vm_file ? " and a file" : "");
    if (!!(e & PTE_US) != (user && !hint) || ((e & PTE_RW) && !(v->vm_flags & VM_WRITE)) ||
        (!(e & PTE_NX) && !(v->vm_flags & VM_EXEC)))
        return vm_fail(c->r, "pte.perm", pfn, "mm %u: PTE 0x%llx at 0x%lx exceeds VMA flags 0x%lx",
                       c->mm->id, (unsigned long long)e, (unsigned long)va, v->vm_flags);
    if ((e & (PTE_SW_COW | PTE_SW_ZERO)) && (e & PTE_RW))
        return vm_fail(c->r, "pte.cow", pfn, "mm %u: shared page at 0x%lx is writable", c->mm->id,
                       (unsigned long)va);
    struct page *p = pfn_valid(pfn) ? pfn_to_page(pfn) : NULL;
    if (e & PTE_SW_ZERO) {
        if (p != mm_state.vm.zero_page)
            return vm_fail(c->r, "pte.page", pfn, "mm %u: zero-page PTE at 0x%lx maps pfn 0x%lx",
                           c->mm->id, (unsigned long)va, pfn);
        return 0;
    }
    if (!p || (p->flags & ~(PG_cache | PG_VMAP_MASK)) != PG_head || p->order != 0)
        return vm_fail(c->r, "pte.page", pfn, "mm %u: PTE at 0x%lx maps pfn 0x%lx with flags 0x%x",
                       c->mm->id, (unsigned long)va, pfn, p ? p->flags : 0);
    c->anon += !(p->flags & PG_cache);
    if (!(p->flags & PG_cache) && p->last_nid != MM_NUMA_NO_LAST && p->last_nid >= mm_nr_nodes())
        return vm_fail(c->r, "pte.numa", pfn, "mm %u: anonymous page at 0x%lx has last node %u "
                       "of %u", c->mm->id, (unsigned long)va, p->last_nid, mm_nr_nodes());
    if (hint && (p->flags & PG_cache))
        return vm_fail(c->r, "pte.numa", pfn, "mm %u: NUMA hinting PTE at 0x%lx maps a page cache "
                       "page", c->mm->id, (unsigned long)va);
    const struct mempolicy *pol = v->vm_policy.mode != MPOL_DEFAULT ? &v->vm_policy : &c->mm->policy;
    if (!(p->flags & PG_cache) && p->mapcount == 1 && pol->mode == MPOL_BIND && pol->strict &&
        !(pol->nodes >> page_to_nid(p) & 1))
        return vm_fail(c->r, "vm.policy", pfn, "mm %u: page at 0x%lx is on node %d, outside its "
                       "%s bind policy's nodes 0x%x", c->mm->id, (unsigned long)va, page_to_nid(p),
                       pol == &v->vm_policy ? "VMA's" : "address space's", pol->nodes);
    return 0;
}

int mm_check_mm(struct mm_struct *mm, struct mm_check_report *rep)
{
    struct mm_check_report local;
    struct mm_check_report *r = rep ? rep : &local;
    *r = (struct mm_check_report){ .pfn = ~0ul };
    if (!mm)
        return 0;
    int err = check_vma_list(mm, r);
    if (!err)
        err = check_vma_tree(mm, r);
    struct pte_check c = { mm, r, 0 };
    if (!err)
        err = pt_check(&mm->pt, r);
    if (!err)
        err = pt_visit(&mm->pt, 0, ARCH_USER_VA_END, check_pte, &c);
    if (!err)
        err = check_vmas_locked(mm, r);
    if (!err && c.anon != mm->nr_anon)
        err = vm_fail(r, "mm.nr_anon", ~0ul, "mm %u: nr_anon %lu, PTEs map %lu anonymous pages",
                      mm->id, mm->nr_anon, c.anon);
    return err;
}

/* Is @p a page user PTEs may map (anonymous or page cache)? */
static bool vm_user_page(const struct page *p)
{
    return (p->flags & ~(PG_cache | PG_VMAP_MASK)) == PG_head && p->order == 0 &&
           p != mm_state.vm.zero_page;
}

/* ---- map counts: subtract every mapping PTE from page->mapcount, compare with 0, add back ---- */

static int count_pte(void *arg, uintptr_t va, pte_t *ptep)
{
    int delta = *(int *)arg;
    pte_t e = *ptep;
    unsigned long pfn = MM_PFN_DOWN(pte_addr(e));
    (void)va;
    if (pte_present(e) && !(e & PTE_SW_ZERO) && pfn_valid(pfn) && vm_user_page(pfn_to_page(pfn)))
        pfn_to_page(pfn)->mapcount += delta;
    return 0;
}

static void count_all_ptes(int delta)
{
    struct list_head *pos;
    list_for_each(pos, &mm_state.vm.mms)
        pt_visit(&list_entry(pos, struct mm_struct, list_all)->pt, 0, ARCH_USER_VA_END, count_pte,
                 &delta);
}

/* Compare every user page's mapcount/refcount with the PTEs of all address spaces. */
static int check_mapcounts(struct mm_check_report *r)
{
    unsigned long bad = ~0ul;
    int excess = 0;
    count_all_ptes(-1);
    for (unsigned long pfn = 0; pfn < mm_max_pfn && bad == ~0ul; pfn++) {
        struct page *p = pfn_to_page(pfn);
        if (vm_user_page(p) && p->mapcount != 0) {
            bad = pfn;
            excess = p->mapcount;
        }
    }
    count_all_ptes(+1);
    if (bad != ~0ul) {
        int m = pfn_to_page(bad)->mapcount;
        return vm_fail(r, "page.mapcount", bad, "pfn 0x%lx: mapcount %d, %d PTEs map it", bad, m,
                       m - excess);
    }
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++) {
        struct page *p = pfn_to_page(pfn);
        long n = p->mapcount;
        if (vm_user_page(p) && p->refcount != n + ((p->flags & PG_cache) ? 1 : 0) &&
            (n || (p->flags & PG_cache)))
            return vm_fail(r, "page.refcount", pfn, "pfn 0x%lx: refcount %d with %ld mappings%s",
                           pfn, (int)p->refcount, n, (p->flags & PG_cache) ? " (+1 cache)" : "");
    }
    return 0;
}

/* ---- swap slots ---- */

/* What a per-PTE check of one address space needs (the swap and reverse-map walks below). */
struct mm_pte_check {
    struct mm_struct *mm;
    struct mm_check_report *r;
};

static int check_swap_pte(void *arg, uintptr_t va, pte_t *ptep)
{
    struct mm_pte_check *c = arg;
    pte_t e = *ptep;
    if (pte_present(e))
        return 0;
    if (!pte_is_swap(e))
        return vm_fail(c->r, "swap.slot", ~0ul, "mm %u: non-present PTE 0x%llx at 0x%lx is no "
                       "swap entry", c->mm->id, (unsigned long long)e, (unsigned long)va);
    uint64_t off = pte_swp_offset(e);
    if (!mm_state.swap.ready || pte_swp_type(e) != 0 || off >= mm_state.swap.nr_slots ||
        !mm_state.swap.map[off].count)
        return vm_fail(c->r, "swap.slot", ~0ul, "mm %u: swap PTE 0x%llx at 0x%lx names no "
                       "allocated slot", c->mm->id, (unsigned long long)e, (unsigned long)va);
    mm_state.swap.map[off].seen++;
    return 0;
}

/* Every swap PTE names an allocated slot; every slot's count equals the swap PTEs naming it. */
static int check_swap_slots(struct mm_check_report *r)
{
    for (unsigned long s = 0; s < mm_state.swap.nr_slots; s++)
        mm_state.swap.map[s].seen = 0;
    struct list_head *pos;
    list_for_each(pos, &mm_state.vm.mms) {
        struct mm_pte_check c = { list_entry(pos, struct mm_struct, list_all), r };
        int err = pt_visit(&c.mm->pt, 0, ARCH_USER_VA_END, check_swap_pte, &c);
        if (err)
            return err;
    }
    unsigned long used = 0;
    for (unsigned long s = 0; s < mm_state.swap.nr_slots; s++) {
        const struct swap_slot *sl = &mm_state.swap.map[s];
        used += sl->count != 0;
        if (sl->count != sl->seen)
            return vm_fail(r, "swap.count", ~0ul, "slot %lu: count %u, %u swap PTEs name it", s,
                           sl->count, sl->seen);
    }
    if (used != mm_state.swap.used)
        return vm_fail(r, "swap.count", ~0ul, "%lu slots in use, counted %lu", used,
                       mm_state.swap.used);
    return 0;
}

/* ---- LRU lists ---- */

/* Check one page found on list @idx and mark it (PG_checked). */
static int check_lru_page(struct page *p, unsigned int idx, struct mm_check_report *r)
{
    if (!page_pointer_valid(p))
        return vm_fail(r, "lru.list", ~0ul, "LRU list %u links a non-page %p", idx, (void *)p);
    unsigned long pfn = page_to_pfn(p);
    if (p->flags & PG_checked)
        return vm_fail(r, "lru.list", pfn, "pfn 0x%lx is on an LRU list twice", pfn);
    if ((p->flags & ~PG_VMAP_MASK) != PG_head || p->order != 0 || p == mm_state.vm.zero_page ||
        p->mapcount < 1)
        return vm_fail(r, "lru.page", pfn, "pfn 0x%lx on the LRU: flags 0x%x mapcount %d", pfn,
                       p->flags, (int)p->mapcount);
    unsigned int want = (p->private_data & SWAP_PD_ACTIVE) ? SWAP_LRU_ACTIVE : SWAP_LRU_INACTIVE;
    if (!(p->private_data & SWAP_PD_ON_LRU) || want != idx)
        return vm_fail(r, "lru.list", pfn, "pfn 0x%lx on list %u, its bits 0x%lx", pfn, idx,
                       (unsigned long)(p->private_data & ~PAGE_MASK));
    if (!rmap_walk_anon(p, NULL, NULL))
        return vm_fail(r, "lru.page", pfn, "pfn 0x%lx: no PTE maps it at 0x%lx", pfn,
                       (unsigned long)rmap_address(p));
    p->flags |= PG_checked;
    return 0;
}

/* Walk both lists (bounded), counting their lengths into @n[]. */
static int check_lru_lists(unsigned long n[2], struct mm_check_report *r)
{
    if (!mm_state.swap.lru[0].next)
        return 0; /* no address space was ever made */
    for (unsigned int idx = 0; idx < 2; idx++) {
        struct list_head *pos;
        list_for_each(pos, &mm_state.swap.lru[idx]) {
            if (++n[idx] > mm_max_pfn)
                return vm_fail(r, "lru.list", ~0ul, "LRU list %u does not end", idx);
            int err = check_lru_page(list_entry(pos, struct page, lru), idx, r);
            if (err)
                return err;
        }
    }
    return 0;
}

/* LRU pages are mapped anonymous pages, on exactly one list; every such page is; counts agree. */
static int check_lru(struct mm_check_report *r)
{
    unsigned long n[2] = { 0, 0 };
    int err = check_lru_lists(n, r);
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++) { /* clear marks; find unlisted pages */
        struct page *p = pfn_to_page(pfn);
        bool marked = p->flags & PG_checked;
        p->flags &= ~PG_checked;
        if (!err && !marked && (p->flags & ~PG_VMAP_MASK) == PG_head && p->order == 0 &&
            p->mapcount > 0 && p != mm_state.vm.zero_page)
            err = vm_fail(r, "lru.list", pfn, "pfn 0x%lx: mapped anonymous page on no LRU list%s",
                          pfn, swap_page_on_lru(p) ? " (marked on-LRU)" : "");
    }
    if (!err && (n[0] != mm_state.swap.nr_lru[0] || n[1] != mm_state.swap.nr_lru[1]))
        err = vm_fail(r, "lru.list", ~0ul, "lists hold %lu inactive + %lu active, counts say %lu + "
                      "%lu", n[0], n[1], mm_state.swap.nr_lru[0], mm_state.swap.nr_lru[1]);
    return err;
}

/* ---- the reverse map (virtual/rmap.c) ---- */

/* Does @mm chain @av? (Bounded by the chain counts checked before.) */
static bool rmap_mm_chains(struct mm_struct *mm, const struct anon_vma *av)
{
    struct list_head *pos;
    list_for_each(pos, &mm->anon_vma_chain) {
        if (list_entry(pos, struct anon_vma_chain, same_mm)->anon_vma == av)
            return true;
    }
    return false;
}

/* rmap.chain for one chain @avc of @mm (@bound: most chains an anon_vma may have). */
static int check_rmap_chain(struct mm_struct *mm, struct anon_vma_chain *avc, unsigned long bound,
                            struct mm_check_report *r)
{
    struct anon_vma *av = avc->anon_vma;
    if (avc->mm != mm || !av)
        return vm_fail(r, "rmap.chain", ~0ul, "mm %u: a chain names mm %p, anon_vma %p", mm->id,
                       (void *)avc->mm, (void *)av);
    unsigned long n = 0, mine = 0;
    struct list_head *pos;
    list_for_each(pos, &av->chains) {
        struct anon_vma_chain *c = list_entry(pos, struct anon_vma_chain, same_anon_vma);
        if (++n > bound)
            return vm_fail(r, "rmap.chain", ~0ul, "anon_vma %p: its chain list does not end",
                           (void *)av);
        if (c->anon_vma != av)
            return vm_fail(r, "rmap.chain", ~0ul, "anon_vma %p lists a chain of anon_vma %p",
                           (void *)av, (void *)c->anon_vma);
        mine += c->mm == mm;
        if (c == avc && c->mm != mm)
            return vm_fail(r, "rmap.chain", ~0ul, "mm %u: chain mm mismatch", mm->id);
    }
    if (n != av->nr_chains || mine != 1)
        return vm_fail(r, "rmap.chain", ~0ul, "mm %u: anon_vma %p has %lu chains (count %u), %lu "
                       "of them this mm's", mm->id, (void *)av, n, av->nr_chains, mine);
    return 0;
}

/* rmap.chain over every mm. */
static int check_rmap_chains(struct mm_check_report *r)
{
    unsigned long bound = (unsigned long)mm_state.vm.next_mm_id + 1;
    struct list_head *pos;
    list_for_each(pos, &mm_state.vm.mms) {
        struct mm_struct *mm = list_entry(pos, struct mm_struct, list_all);
        if (!mm->anon_vma || !rmap_mm_chains(mm, mm->anon_vma))
            return vm_fail(r, "rmap.chain", ~0ul, "mm %u does not chain its own anon_vma %p",
                           mm->id, (void *)mm->anon_vma);
        unsigned long n = 0;
        struct list_head *c;
        list_for_each(c, &mm->anon_vma_chain) {
            if (++n > bound * bound)
                return vm_fail(r, "rmap.chain", ~0ul, "mm %u: its chain list does not end", mm->id);
            int err = check_rmap_chain(mm, list_entry(c, struct anon_vma_chain, same_mm), bound, r);
            if (err)
                return err;
        }
    }
    return 0;
}

/* rmap.page for one PTE: an anonymous page it maps is found from its reverse map, here. */
static int check_rmap_pte(void *arg, uintptr_t va, pte_t *ptep)
{
    struct mm_pte_check *c = arg;
    pte_t e = *ptep;
    unsigned long pfn = MM_PFN_DOWN(pte_addr(e));
    if (!pte_present(e) || (e & PTE_SW_ZERO) || !pfn_valid(pfn))
        return 0;
    struct page *p = pfn_to_page(pfn);
    if (!vm_user_page(p) || (p->flags & PG_cache))
        return 0;
    if (!p->anon_vma || rmap_address(p) != va || !rmap_mm_chains(c->mm, p->anon_vma))
        return vm_fail(c->r, "rmap.page", pfn, "pfn 0x%lx mapped at 0x%lx of mm %u: its rmap "
                       "(anon_vma %p, address 0x%lx) does not lead here", pfn, (unsigned long)va,
                       c->mm->id, (void *)p->anon_vma, (unsigned long)rmap_address(p));
    unsigned int n = rmap_walk_anon(p, NULL, NULL);
    if (n != (unsigned int)p->mapcount)
        return vm_fail(c->r, "rmap.page", pfn, "pfn 0x%lx: the rmap walk finds %u PTEs, mapcount "
                       "%d", pfn, n, (int)p->mapcount);
    return 0;
}

/* Chains are well formed; every anonymous PTE is found from its page (mapcount checked before). */
static int check_rmap(struct mm_check_report *r)
{
    int err = check_rmap_chains(r);
    struct list_head *pos;
    list_for_each(pos, &mm_state.vm.mms) {
        if (err)
            break;
        struct mm_pte_check c = { list_entry(pos, struct mm_struct, list_all), r };
        err = pt_visit(&c.mm->pt, 0, ARCH_USER_VA_END, check_rmap_pte, &c);
    }
    return err;
}

/** Check every live address space, then map counts, swap slots and LRU lists over all of them. */
int vm_check_all(struct mm_check_report *r)
{
    if (!mm_state.vm.mms.next)
        return 0;
    struct list_head *pos;
    list_for_each(pos, &mm_state.vm.mms) {
        int err = mm_check_mm(list_entry(pos, struct mm_struct, list_all), r);
        if (err)
            return err;
    }
    int err = check_mapcounts(r);
    if (!err)
        err = check_swap_slots(r);
    if (!err)
        err = check_rmap(r);
    if (!err)
        err = check_lru(r);
    return err;
}

int vm_check_nth(unsigned long n, struct mm_check_report *rep)
{
    if (!mm_state.vm.mms.next)
        return CHECK_SLICE_END;
    if (!env_spin_trylock(&mm_state.vm.lock))
        return CHECK_SLICE_BUSY; /* held, maybe by the very CPU this tick interrupted */
    struct mm_struct *mm = NULL;
    unsigned long i = 0, max = (unsigned long)mm_state.vm.next_mm_id + 1;
    struct list_head *pos;
    int err = CHECK_SLICE_END;
    list_for_each(pos, &mm_state.vm.mms) {
        if (i > max) { /* more than were ever created */
            err = vm_fail(rep, "mm.list", ~0ul, "the address-space list is longer than the %lu "
                          "ever created (a loop?)", max);
            break;
        }
        if (i++ == n) {
            mm = list_entry(pos, struct mm_struct, list_all);
            break;
        }
    }
    if (mm)
        err = mm_check_mm(mm, rep);
    env_spin_unlock(&mm_state.vm.lock);
    return err;
}
