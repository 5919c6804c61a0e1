/*
 * mpol_place.c - where a new user page goes under the memory policy in force at its address
 * (mempolicy.c sets the policies; the fault, swap-in and migration paths call this). The modes'
 * placement rules are mempolicy.c's head comment. Invariant: a bind target's node mask is the
 * policy's (never wider), so nothing placed here lies outside a bind policy's nodes.
 */
#include "mmap_internal.h"

/* The policy in force at @va of VMA @v in @mm. */
static struct mempolicy *mpol_of(struct mm_struct *mm, struct vm_area_struct *v)
{
    return v && v->vm_policy.mode != MPOL_DEFAULT ? &v->vm_policy : &mm->policy;
}

void mempolicy_target(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va,
                      struct mpol_target *t)
{
    const struct mempolicy *pol = mpol_of(mm, v);
    *t = (struct mpol_target){ .nid = NUMA_NO_NODE, .nodes = ~0u };
    if (pol->mode == MPOL_PREFERRED) {
        t->nid = mempolicy_nth_node(pol->nodes, 0);
    } else if (pol->mode == MPOL_BIND) {
        t->nodes = pol->nodes;
    } else if (pol->mode == MPOL_INTERLEAVE) {
        uint64_t idx = v && v->vm_file ? v->vm_pgoff + ((va - v->vm_start) >> PAGE_SHIFT)
                                       : va >> PAGE_SHIFT;
        t->nid = mempolicy_nth_node(pol->nodes, (unsigned int)(idx % mempolicy_weight(pol->nodes)));
        t->interleave = true;
    }
}

struct page *mempolicy_alloc(const struct mpol_target *t, gfp_t gfp)
{
    if (t->nodes != ~0u)
        return alloc_pages_nodemask(t->nid, gfp, 0, t->nodes);
    struct page *p = alloc_pages_node(t->nid, gfp, 0);
    if (t->interleave)
        page_alloc_count_interleave(p, t->nid);
    return p;
}

struct page *vma_alloc_page(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va, gfp_t gfp)
{
    struct mpol_target t;
    mempolicy_target(mm, v, va, &t);
    return mempolicy_alloc(&t, gfp);
}

void mempolicy_note_page(struct mm_struct *mm, struct vm_area_struct *v, const struct page *p)
{
    struct mempolicy *pol = mpol_of(mm, v);
    if (pol->mode != MPOL_BIND || (pol->nodes >> page_to_nid(p) & 1) || !pol->strict)
        return;
    pol->strict = false;
    if (pol == &v->vm_policy) /* a neighbour that was apart only by strictness may merge now */
        (void)vma_merge_around(mm, v);
}

int mempolicy_misplaced(struct mm_struct *mm, struct vm_area_struct *v, int nid)
{
    const struct mempolicy *pol = mpol_of(mm, v);
    if (!node_has_memory(nid))
        return NUMA_NO_NODE;
    if (pol->mode == MPOL_DEFAULT || pol->mode == MPOL_LOCAL)
        return nid;
    if (pol->mode == MPOL_BIND && (pol->nodes >> nid & 1))
        return nid;
    return NUMA_NO_NODE;
}
