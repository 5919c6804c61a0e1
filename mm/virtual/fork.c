/*
 * fork.c - duplicating an address space (copy-on-write) and tearing one down.
 *
 * fork: every VMA is copied; for every non-empty PTE of the parent
 *   - shared mapping:        the child maps the same page, writable as in the parent
 *   - private page:          both PTEs become read-only and PTE_SW_COW; the page gains a mapper
 *   - zero-page mapping:     copied as is (the zero page is not reference counted)
 *   - swap entry:            copied; the slot gains a reference (each side swaps in its own copy)
 * so the first write on either side copies the page (or reuses it if the other side is gone).
 * The child chains every anon_vma its parent chains (rmap.c) before any PTE is copied, so the
 * reverse map finds the child's PTEs of shared anonymous pages; the pages stay on the swap LRU.
 * teardown: every VMA's pages and every page-table page are released, then the mm itself.
 */
#include "mmap_internal.h"

struct fork_arg {
    struct mm_struct *child;
    struct vm_area_struct *v;
    int err;
};

/* A swapped-out page: the child's PTE holds the same slot, which gains a reference. */
static int fork_copy_swap(struct fork_arg *a, uintptr_t va, pte_t e)
{
    if (swap_entry_dup(e))
        return 0; /* an invalid entry is not copied (mm_check reports the parent's) */
    if (pt_set(&a->child->pt, va, e, GFP_KERNEL)) {
        swap_entry_put(e);
        a->err = -MM_ENOMEM;
        return 1;
    }
    return 0;
}

static int fork_copy_pte(void *arg, uintptr_t va, pte_t *ptep)
{
    struct fork_arg *a = arg;
    if (!*ptep)
        return 0;
    /* The child's table first: its allocation may reclaim, and swap-out may replace this very
     * entry (a page the reverse map finds in every mapper); so the entry is read after it, and
     * no page is half-shared (a mapper counted, its PTE not yet set) while memory is reclaimed. */
    if (!pt_walk(&a->child->pt, va, true, GFP_KERNEL)) {
        a->err = -MM_ENOMEM;
        return 1;
    }
    pte_t e = *ptep;
    if (pte_is_swap(e))
        return fork_copy_swap(a, va, e);
    if (!pte_present(e))
        return 0; /* nothing else is stored in non-present entries */
    if (!(e & PTE_SW_ZERO)) {
        struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(e)));
        if (!(a->v->vm_flags & VM_SHARED))
            e = *ptep = (e & ~PTE_RW) | PTE_SW_COW;
        get_page(p);
        p->mapcount++;
        if (!(p->flags & PG_cache))
            a->child->nr_anon++;
    }
    if (pt_set(&a->child->pt, va, e, GFP_KERNEL)) {
        vm_put_pte_page(a->v, va, e); /* undo this page's extra reference */
        if (!(e & PTE_SW_ZERO) && !(pfn_to_page(MM_PFN_DOWN(pte_addr(e)))->flags & PG_cache))
            a->child->nr_anon--;
        a->err = -MM_ENOMEM;
        return 1;
    }
    return 0;
}

static int fork_copy_vma(struct mm_struct *parent, struct mm_struct *child, struct vm_area_struct *v)
{
    struct vm_area_struct *n = vma_alloc();
    if (!n)
        return -MM_ENOMEM;
    n->vm_start = v->vm_start;
    n->vm_end = v->vm_end;
    n->vm_flags = v->vm_flags & ~VM_LOCKED; /* as Linux: a child does not inherit mlock */
    n->vm_file = v->vm_file;
    n->vm_pgoff = v->vm_pgoff;
    n->vm_policy = v->vm_policy; /* fork copies policies */
    if (n->vm_file)
        mm_file_get(n->vm_file);
    int err = vma_link(child, n);
    if (err) {
        vma_free(n);
        return err;
    }
    struct fork_arg a = { child, n, 0 };
    pt_visit(&parent->pt, v->vm_start, v->vm_end, fork_copy_pte, &a);
    if (!a.err) /* without the parent's VM_LOCKED it may be one with the VMA before it now */
        (void)vma_merge_around(child, n);
    return a.err;
}

static int mm_fork_locked(struct mm_struct *parent, struct mm_struct **out)
{
    if (!parent || !out)
        return -MM_EINVAL;
    struct mm_struct *child = mm_create();
    if (!child)
        return -MM_ENOMEM;
    child->mmap_base = parent->mmap_base;
    child->start_brk = parent->start_brk;
    child->brk = parent->brk;
    child->policy = parent->policy;
    if (anon_vma_fork(child, parent)) {
        mm_destroy(child);
        return -MM_ENOMEM;
    }
    struct list_head *pos;
    list_for_each(pos, &parent->vmas) {
        int err = fork_copy_vma(parent, child, list_entry(pos, struct vm_area_struct, vm_list));
        if (err) {
            mm_destroy(child);
            return err;
        }
    }
    env_tlb_flush_range(ARCH_USER_VA_START, ARCH_USER_VA_END); /* parent PTEs went read-only */
    *out = child;
    return 0;
}

static void mm_destroy_locked(struct mm_struct *mm)
{
    if (!mm)
        return;
    while (!list_empty(&mm->vmas)) {
        struct vm_area_struct *v = list_entry(mm->vmas.next, struct vm_area_struct, vm_list);
        vm_unmap_pages(mm, v, v->vm_start, v->vm_end);
        vma_unlink(mm, v);
        vma_free(v);
    }
    anon_vma_unlink_mm(mm); /* no PTE left: nothing maps a page of an anon_vma freed here */
    rtree_destroy(&mm->tree);
    pt_destroy(&mm->pt);
    list_del(&mm->list_all);
    kfree(mm);
}

/* ---- the public entries: each under the address-space lock (vm_lock.c) ---- */

int mm_fork(struct mm_struct *parent, struct mm_struct **out)
{
    vm_lock();
    int err = mm_fork_locked(parent, out);
    mm_trace(MM_TRACE_FORK, vm_trace_id(parent), err ? 0 : vm_trace_id(*out), err);
    vm_unlock();
    return err;
}

void mm_destroy(struct mm_struct *mm)
{
    vm_lock();
    if (mm)
        mm_trace(MM_TRACE_EXIT, mm->id, mm->nr_anon, mm->map_count);
    mm_destroy_locked(mm);
    vm_unlock();
}
