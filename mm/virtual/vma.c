/*
 * vma.c - the VMA set of an address space: the mm's range tree (range_tree.h: a B+tree of
 * [vm_start, vm_end) with free-gap search, O(log n) lookup, insert and erase) threaded with an
 * address-ordered list (O(1) neighbours, ordered walks), and top-down placement.
 *
 *   mm->tree:  [leaf: A B C] [leaf: D E]      mm->vmas: A <-> B <-> C <-> D <-> E
 *
 * Invariants (checked by mm_check_mm and check_range_tree): list and tree hold the same VMAs in
 * the same order, each under its own [vm_start, vm_end); VMAs are disjoint and page aligned;
 * map_count is the number of VMAs. A VMA's range changes only through vma_set_range, which moves
 * its key in the tree too.
 *
 * Tree nodes come from the slab cache of vm_tree.c. vma_link can fail (-MM_ENOMEM, nothing
 * changed); a caller that must not fail (a split) preallocates with vma_prealloc first.
 *
 * Placement: the tree's gaps are the exact free ranges between VMAs. The top-down search takes
 * the highest gap that holds the request, then keeps the stack guard gap below a grows-down VMA
 * above it (except above the search limit itself); a gap the guard makes too small sends the
 * search on below it.
 *
 * Also here: the VMA objects (vma_alloc / vma_free, from the mm's internal cache) and merging of
 * compatible neighbours (same flags and file, contiguous offsets), which mmap, mprotect and stack
 * growth (fault.c) share.
 */
#include "mmap_internal.h"
#include "../heap/slab_internal.h"

/** Insert @v (disjoint from every VMA of @mm) into the tree and the list. 0 or -MM_ENOMEM. */
int vma_link(struct mm_struct *mm, struct vm_area_struct *v)
{
    void *prev;
    int err = rtree_insert_range(&mm->tree, v->vm_start, v->vm_end, v, GFP_KERNEL, &prev);
    if (err)
        return err;
    v->vm_mm = mm;
    if (v->vm_file)
        list_add_tail(&v->vm_shared, &v->vm_file->i_mmap);
    list_add(&v->vm_list, prev ? &((struct vm_area_struct *)prev)->vm_list : &mm->vmas);
    mm->map_count++;
    return 0;
}

/** Remove @v from the tree and the list (it is not freed). */
void vma_unlink(struct mm_struct *mm, struct vm_area_struct *v)
{
    if (rtree_erase_range(&mm->tree, v->vm_start) != v)
        env_panic("vma_unlink: VMA [0x%lx, 0x%lx) is not in the tree of mm %u",
                  (unsigned long)v->vm_start, (unsigned long)v->vm_end, mm->id);
    list_del(&v->vm_list);
    list_del(&v->vm_shared); /* self-linked for an anonymous VMA: harmless */
    mm->map_count--;
}

/** Move @v to [@start, @end) (it must stay clear of its neighbours). Never fails. */
void vma_set_range(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t start, uintptr_t end)
{
    if (rtree_set_range(&mm->tree, v->vm_start, start, end))
        env_panic("vma_set_range: [0x%lx, 0x%lx) -> [0x%lx, 0x%lx) in mm %u",
                  (unsigned long)v->vm_start, (unsigned long)v->vm_end, (unsigned long)start,
                  (unsigned long)end, mm->id);
    v->vm_start = start;
    v->vm_end = end;
}

/** Make the next @nr_links vma_link calls on @mm unable to fail. 0 or -MM_ENOMEM. */
int vma_prealloc(struct mm_struct *mm, unsigned int nr_links)
{
    return rtree_preallocate(&mm->tree, nr_links, GFP_KERNEL);
}

/** Give back what vma_prealloc reserved and the links did not use. */
void vma_prealloc_done(struct mm_struct *mm)
{
    rtree_trim_reserve(&mm->tree, 0);
}

struct vm_area_struct *find_vma(struct mm_struct *mm, uintptr_t addr)
{
    return mm ? rtree_find_after(&mm->tree, addr) : NULL;
}

struct vm_area_struct *vma_next(struct mm_struct *mm, struct vm_area_struct *v)
{
    return v->vm_list.next == &mm->vmas ? NULL : list_entry(v->vm_list.next, struct vm_area_struct, vm_list);
}

struct vm_area_struct *vma_prev(struct mm_struct *mm, struct vm_area_struct *v)
{
    return v->vm_list.prev == &mm->vmas ? NULL : list_entry(v->vm_list.prev, struct vm_area_struct, vm_list);
}

/* Is [addr, addr+len) free of VMAs? */
bool vma_range_free(struct mm_struct *mm, uintptr_t addr, size_t len)
{
    struct vm_area_struct *v = find_vma(mm, addr);
    return !v || v->vm_start >= addr + len;
}

/* Top-down placement below @top: the highest address where @len bytes fit, or 0. */
uintptr_t vma_find_gap(struct mm_struct *mm, size_t len, uintptr_t top)
{
    struct rtree_gap g;
    uintptr_t hi = top;
    while (hi > ARCH_USER_VA_START &&
           rtree_gap_highest(&mm->tree, ARCH_USER_VA_START, hi, len, PAGE_SIZE, &g)) {
        const struct vm_area_struct *above = g.above;
        uintptr_t end = g.end;
        if (above && (above->vm_flags & VM_GROWSDOWN) && above->vm_start < top)
            end = end > MM_STACK_GUARD_GAP ? end - MM_STACK_GUARD_GAP : 0;
        if (end >= g.start + len)
            return end - len;
        hi = g.start; /* the guard leaves too little: look below this gap */
    }
    return 0;
}

/* ---- VMA objects and merging (mmap.c, fault.c and fork.c use them) ---- */

struct vm_area_struct *vma_alloc(void)
{
    struct vm_area_struct *v = kmem_cache_zalloc(mm_state.vm.vma_cache, GFP_KERNEL);
    if (v) {
        list_init(&v->vm_list);
        list_init(&v->vm_shared);
    }
    return v;
}

void vma_free(struct vm_area_struct *v)
{
    if (v->vm_file)
        mm_file_put(v->vm_file);
    kmem_cache_free_mm(mm_state.vm.vma_cache, v);
}

static bool vma_mergeable(const struct vm_area_struct *a, const struct vm_area_struct *b)
{
    if (!a || !b || a->vm_end != b->vm_start || a->vm_flags != b->vm_flags || a->vm_file != b->vm_file ||
        !mempolicy_equal(&a->vm_policy, &b->vm_policy))
        return false;
    return !a->vm_file || a->vm_pgoff + ((a->vm_end - a->vm_start) >> PAGE_SHIFT) == b->vm_pgoff;
}

/* Merge @v with its neighbours where possible; returns the surviving VMA (@v may be freed). */
struct vm_area_struct *vma_merge_around(struct mm_struct *mm, struct vm_area_struct *v)
{
    struct vm_area_struct *next = vma_next(mm, v), *prev = vma_prev(mm, v);
    if (vma_mergeable(v, next)) {
        uintptr_t end = next->vm_end;
        vma_unlink(mm, next);
        vma_set_range(mm, v, v->vm_start, end);
        vma_free(next);
    }
    if (vma_mergeable(prev, v)) {
        uintptr_t end = v->vm_end;
        vma_unlink(mm, v);
        vma_set_range(mm, prev, prev->vm_start, end);
        vma_free(v);
        v = prev;
    }
    return v;
}
