/*
 * check_vmalloc.c - the vmalloc invariants (vmalloc_check, declared in vmalloc.h with its
 * invariant names): the area list, the area tree and its agreement with the list, every area's
 * pages and guard page, the kernel page table of the range, and the vmap marks of the pages
 * (page_alloc.h). Like every validator it lives in mm/checks and reads the layer it checks
 * (vmalloc_internal.h); it changes nothing, but for the marks, which it takes and puts back
 * while it counts (vmalloc_check_marks).
 */
#include "../virtual/vmalloc_internal.h"
#include "check_internal.h"

struct vmalloc_check_ctx {
    struct mm_check_report *rep;
    const struct list_head *stray_at; /* pt_visit: the first area not wholly below the leaf */
    bool others_run;                  /* mm_check_step with other CPUs running (see below) */
};

#define vmalloc_fail_check(c, ...) mm_check_fail((c)->rep, __VA_ARGS__)

/* vmalloc.order: the list is sorted, separated by guard pages, aligned, inside the range. */
static int vmalloc_check_order(struct vmalloc_check_ctx *c)
{
    uintptr_t prev_end = mm_state.core.vmalloc_start;
    unsigned long n = 0, limit = mm_state.vmalloc.nr_areas;
    const struct list_head *pos;
    list_for_each(pos, &mm_state.vmalloc.areas) {
        const struct vmap_area *va = list_entry(pos, struct vmap_area, list);
        if (++n > limit)
            return vmalloc_fail_check(c, "vmalloc.order", ~0ul, "more areas on the list than "
                                      "the %lu counted (or the list loops)", limit);
        if (!va->size || va->size != va->nr_pages << PAGE_SHIFT ||
            !MM_IS_ALIGNED(va->start, PAGE_SIZE))
            return vmalloc_fail_check(c, "vmalloc.order", ~0ul, "area %p: size %zu, %lu pages, "
                                      "unaligned or empty", (void *)va->start, va->size,
                                      va->nr_pages);
        if (va->start < prev_end || va_guard_end(va) > mm_state.core.vmalloc_end)
            return vmalloc_fail_check(c, "vmalloc.order", ~0ul, "area %p overlaps its predecessor"
                                      "'s guard (ends %p) or leaves the range", (void *)va->start,
                                      (void *)prev_end);
        prev_end = va_guard_end(va);
    }
    if (n != limit)
        return vmalloc_fail_check(c, "vmalloc.order", ~0ul, "%lu areas listed, %lu counted",
                                  n, limit);
    return 0;
}

static pte_t vmalloc_pte_at(uintptr_t addr)
{
    pte_t *ep = pt_walk(&mm_state.vmalloc.pt, addr, false, 0);
    return ep ? *ep : 0;
}

/* One page of an area: PTE present with the area's bits, the page allocated (and owned). */
static int vmalloc_check_page(struct vmalloc_check_ctx *c, const struct vmap_area *va,
                              unsigned long i, const struct list_head *owned)
{
    uintptr_t addr = va->start + (i << PAGE_SHIFT);
    pte_t e = vmalloc_pte_at(addr);
    unsigned long pfn = MM_PFN_DOWN(pte_addr(e));
    if (!pte_present(e) || (e & PTE_FLAGS_MASK) != va->prot || !pfn_valid(pfn))
        return vmalloc_fail_check(c, "vmalloc.pte", pfn_valid(pfn) ? pfn : ~0ul, "area %p page "
                                  "%lu: PTE 0x%llx, expected bits 0x%llx", (void *)va->start, i,
                                  (unsigned long long)e, (unsigned long long)va->prot);
    const struct page *p = pfn_to_page(pfn);
    if (!vmalloc_page_allocated(p))
        return vmalloc_fail_check(c, "vmalloc.page", pfn, "area %p page %lu maps pfn 0x%lx, "
                                  "which is not allocated", (void *)va->start, i, pfn);
    if (va->kind != VMAP_AREA_ALLOC)
        return 0;
    if (owned == &va->pages || list_entry(owned, struct page, lru) != p ||
        (p->flags & ~(PG_checked | PG_VMAP_MASK)) != PG_head || p->order != 0)
        return vmalloc_fail_check(c, "vmalloc.page", pfn, "vmalloc area %p page %lu: pfn 0x%lx "
                                  "(flags 0x%x order %u) is not its own order-0 page",
                                  (void *)va->start, i, pfn, p->flags, p->order);
    return 0;
}

/* Every page of @va, then its guard page. While other CPUs run, an area still being built
 * (nr_mapped < nr_pages: published in the tree, its pages added and mapped one by one, its page
 * list its builder's without the lock) is checked only for its guard page; at a quiescent point
 * none exists, so mm_check judges every area in full. */
static int vmalloc_check_area(struct vmalloc_check_ctx *c, const struct vmap_area *va)
{
    pte_t g = vmalloc_pte_at(va_map_end(va));
    if (g)
        return vmalloc_fail_check(c, "vmalloc.guard", pte_present(g) ? MM_PFN_DOWN(pte_addr(g)) :
                                  ~0ul, "guard page %p of area %p has PTE 0x%llx",
                                  (void *)va_map_end(va), (void *)va->start, (unsigned long long)g);
    if (c->others_run && va->nr_mapped < va->nr_pages)
        return 0;
    const struct list_head *owned = va->pages.next;
    for (unsigned long i = 0; i < va->nr_pages; i++) {
        int err = vmalloc_check_page(c, va, i, owned);
        if (err)
            return err;
        owned = owned->next;
    }
    if (va->kind == VMAP_AREA_ALLOC && owned != &va->pages)
        return vmalloc_fail_check(c, "vmalloc.page", ~0ul, "vmalloc area %p owns more than its "
                                  "%lu pages", (void *)va->start, va->nr_pages);
    return 0;
}

/* pt_visit callback: a leaf must lie inside the mapped part of a live area. */
static int vmalloc_check_leaf(void *arg, uintptr_t addr, pte_t *ep)
{
    struct vmalloc_check_ctx *c = arg;
    const struct list_head *head = &mm_state.vmalloc.areas;
    while (c->stray_at != head && va_map_end(list_entry(c->stray_at, struct vmap_area, list)) <= addr)
        c->stray_at = c->stray_at->next;
    const struct vmap_area *va = c->stray_at == head ? NULL :
                                 list_entry(c->stray_at, struct vmap_area, list);
    if (va && addr >= va->start && addr < va_map_end(va))
        return 0;
    return vmalloc_fail_check(c, "vmalloc.pte", pte_present(*ep) ? MM_PFN_DOWN(pte_addr(*ep)) :
                              ~0ul, "PTE 0x%llx at %p lies in no vmalloc area",
                              (unsigned long long)*ep, (void *)addr);
}

struct vmalloc_tree_walk {
    const struct list_head *cursor;
    struct mm_check_report *r;
};

static int check_vmalloc_entry(void *arg, uintptr_t start, uintptr_t end, void *entry)
{
    struct vmalloc_tree_walk *w = arg;
    w->cursor = w->cursor->next;
    const struct vmap_area *va = w->cursor == &mm_state.vmalloc.areas ? NULL :
                                 list_entry(w->cursor, struct vmap_area, list);
    if (!va || va != entry || va->start != start || va_guard_end(va) != end)
        return mm_check_fail(w->r, "vmalloc.tree", ~0ul, "tree entry [0x%lx, 0x%lx) is not the "
                             "next area of the list (%p)", (unsigned long)start,
                             (unsigned long)end, va ? (void *)va->start : NULL);
    return 0;
}

/* vmalloc.tree (and tree.*): the tree indexes exactly the listed areas, each under
 * [start, guard end). */
static int vmalloc_check_tree(struct vmalloc_check_ctx *c)
{
    struct vmalloc_tree_walk w = { &mm_state.vmalloc.areas, c->rep };
    int err = check_range_tree(&mm_state.vmalloc.tree, "vmalloc tree", check_vmalloc_entry, &w,
                               c->rep);
    if (!err && (w.cursor->next != &mm_state.vmalloc.areas ||
                 mm_state.vmalloc.tree.count != mm_state.vmalloc.nr_areas))
        err = vmalloc_fail_check(c, "vmalloc.tree", ~0ul, "the tree holds %lu areas, the list "
                                 "more, or nr_areas is %lu", mm_state.vmalloc.tree.count,
                                 mm_state.vmalloc.nr_areas);
    return err;
}

/*
 * Walk the PTEs of the vmap areas, at most @limit of them: @give puts one vmap mark back on each
 * one's block head, otherwise one is taken and a PTE whose block has none left stops the walk
 * (vmalloc.vmap_mark). Returns 0 or that failure; *@done counts the PTEs handled.
 */
static int vmalloc_marks_walk(struct vmalloc_check_ctx *c, bool give, unsigned long limit,
                              unsigned long *done)
{
    const struct list_head *pos;
    *done = 0;
    list_for_each(pos, &mm_state.vmalloc.areas) {
        const struct vmap_area *va = list_entry(pos, struct vmap_area, list);
        for (unsigned long i = 0; va->kind == VMAP_AREA_MAP && i < va->nr_pages; i++) {
            if (*done == limit)
                return 0;
            unsigned long pfn = MM_PFN_DOWN(pte_addr(vmalloc_pte_at(va->start + (i << PAGE_SHIFT))));
            struct page *h = vmalloc_page_head(pfn_to_page(pfn)); /* vmalloc.page held */
            if (!give && !page_vmap_count(h))
                return vmalloc_fail_check(c, "vmalloc.vmap_mark", pfn, "vmap area %p page %lu "
                                          "maps pfn 0x%lx, but its block (head pfn 0x%lx) has "
                                          "fewer vmap marks than vmap PTEs", (void *)va->start, i,
                                          pfn, page_to_pfn(h));
            h->flags = give ? h->flags + PG_VMAP_ONE : h->flags - PG_VMAP_ONE;
            ++*done;
        }
    }
    return 0;
}

/*
 * vmalloc.vmap_mark, both ways: every vmap PTE takes one mark from its block's head (a PTE whose
 * block has none left is one the marks miss); then no page may keep one (a mark no PTE
 * explains); then every mark goes back. The marks are their own tally, so this needs
 * quiescence: it runs only when no other CPU does (a free meanwhile would see them gone).
 */
static int vmalloc_check_marks(struct vmalloc_check_ctx *c)
{
    unsigned long taken, given;
    int err = vmalloc_marks_walk(c, false, ~0ul, &taken);
    for (unsigned long pfn = 0; !err && pfn < mm_max_pfn; pfn++) {
        const struct page *p = pfn_to_page(pfn);
        if (p->flags & PG_VMAP_MASK)
            err = vmalloc_fail_check(c, "vmalloc.vmap_mark", pfn, "pfn 0x%lx (flags 0x%x) "
                                     "carries %u vmap marks that no vmap PTE explains", pfn,
                                     p->flags, page_vmap_count(p));
    }
    (void)vmalloc_marks_walk(c, true, taken, &given);
    return err;
}

static int vmalloc_check_locked(struct vmalloc_check_ctx *c)
{
    /* the tables first: the area checks below walk them and must not follow a corrupt link */
    int err = pt_check(&mm_state.vmalloc.pt, c->rep);
    if (!err)
        err = vmalloc_check_order(c);
    const struct list_head *pos;
    for (pos = mm_state.vmalloc.areas.next; !err && pos != &mm_state.vmalloc.areas; pos = pos->next)
        err = vmalloc_check_area(c, list_entry(pos, struct vmap_area, list));
    if (!err) {
        c->stray_at = mm_state.vmalloc.areas.next;
        err = pt_visit(&mm_state.vmalloc.pt, mm_state.core.vmalloc_start, mm_state.core.vmalloc_end,
                       vmalloc_check_leaf, c);
    }
    if (!err)
        err = vmalloc_check_tree(c);
    if (!err && !c->others_run)
        err = vmalloc_check_marks(c);
    return err;
}

int vmalloc_check(struct mm_check_report *rep)
{
    struct mm_check_report local;
    struct vmalloc_check_ctx c = { .rep = rep ? rep : &local };
    *c.rep = (struct mm_check_report){ .pfn = ~0ul };
    if (!mm_state.vmalloc.ready)
        return 0;
    env_spin_lock(&mm_state.vmalloc.lock);
    int err = vmalloc_check_locked(&c);
    env_spin_unlock(&mm_state.vmalloc.lock);
    return err;
}

int vmalloc_check_try(bool others_run, struct mm_check_report *rep)
{
    struct vmalloc_check_ctx c = { .rep = rep, .others_run = others_run };
    if (!mm_state.vmalloc.ready)
        return 0;
    if (!env_spin_trylock(&mm_state.vmalloc.lock))
        return CHECK_SLICE_BUSY;
    int err = vmalloc_check_locked(&c);
    env_spin_unlock(&mm_state.vmalloc.lock);
    return err;
}
