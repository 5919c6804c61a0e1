/*
 * vma.c - the VMA set of an address space: an AVL tree keyed by vm_start (O(log n) lookup,
 * insert and erase) threaded with an address-ordered list (ordered iteration, neighbours).
 *
 *            [0x5000,0x8000)
 *             /           \
 *   [0x1000,0x2000)   [0x9000,0xa000)        list: 0x1000 <-> 0x5000 <-> 0x9000
 *
 * Invariants (checked by mm_check_mm): list and tree hold the same VMAs in the same order; VMAs
 * are disjoint and page aligned; every node's height is 1 + the larger child height and the two
 * child heights differ by at most one; map_count is the number of VMAs.
 */
#include "mmap_internal.h"

static int vma_height(const struct vm_area_struct *v) { return v ? v->height : 0; }

static void vma_fix_height(struct vm_area_struct *v)
{
    int l = vma_height(v->left), r = vma_height(v->right);
    v->height = 1 + (l > r ? l : r);
}

/* Point the link that referred to @old (parent's child or the root) at @new. */
static void vma_replace_child(struct mm_struct *mm, struct vm_area_struct *parent,
                              struct vm_area_struct *old, struct vm_area_struct *new)
{
    if (!parent)
        mm->root = new;
    else if (parent->left == old)
        parent->left = new;
    else
        parent->right = new;
    if (new)
        new->parent = parent;
}

/* Rotate @x down to the left; returns the new subtree root. */
static struct vm_area_struct *vma_rotate_left(struct mm_struct *mm, struct vm_area_struct *x)
{
    struct vm_area_struct *y = x->right;
    vma_replace_child(mm, x->parent, x, y);
    x->right = y->left;
    if (y->left)
        y->left->parent = x;
    y->left = x;
    x->parent = y;
    vma_fix_height(x);
    vma_fix_height(y);
    return y;
}

static struct vm_area_struct *vma_rotate_right(struct mm_struct *mm, struct vm_area_struct *x)
{
    struct vm_area_struct *y = x->left;
    vma_replace_child(mm, x->parent, x, y);
    x->left = y->right;
    if (y->right)
        y->right->parent = x;
    y->right = x;
    x->parent = y;
    vma_fix_height(x);
    vma_fix_height(y);
    return y;
}

/* Restore the AVL balance from @v up to the root. */
static void vma_rebalance(struct mm_struct *mm, struct vm_area_struct *v)
{
    while (v) {
        vma_fix_height(v);
        int bal = vma_height(v->left) - vma_height(v->right);
        if (bal > 1) {
            if (vma_height(v->left->left) < vma_height(v->left->right))
                vma_rotate_left(mm, v->left);
            v = vma_rotate_right(mm, v);
        } else if (bal < -1) {
            if (vma_height(v->right->right) < vma_height(v->right->left))
                vma_rotate_right(mm, v->right);
            v = vma_rotate_left(mm, v);
        }
        v = v->parent;
    }
}

/** Insert @v (disjoint from every VMA of @mm) into the tree and the list. */
void vma_link(struct mm_struct *mm, struct vm_area_struct *v)
{
    struct vm_area_struct *parent = NULL, **link = &mm->root, *prev = NULL;
    while (*link) {
        parent = *link;
        if (v->vm_start < parent->vm_start) {
            link = &parent->left;
        } else {
            prev = parent;
            link = &parent->right;
        }
    }
    v->left = v->right = NULL;
    v->parent = parent;
    v->height = 1;
    *link = v;
    v->vm_mm = mm;
    list_add(&v->vm_list, prev ? &prev->vm_list : &mm->vmas);
    mm->map_count++;
    vma_rebalance(mm, parent);
}

/** Remove @v from the tree and the list (it is not freed). */
void vma_unlink(struct mm_struct *mm, struct vm_area_struct *v)
{
    struct vm_area_struct *fix;
    if (v->left && v->right) {
        struct vm_area_struct *s = v->right; /* in-order successor takes v's place */
        while (s->left)
            s = s->left;
        fix = s->parent == v ? s : s->parent;
        if (s->parent != v) {
            vma_replace_child(mm, s->parent, s, s->right);
            s->right = v->right;
            s->right->parent = s;
        }
        vma_replace_child(mm, v->parent, v, s);
        s->left = v->left;
        s->left->parent = s;
    } else {
        fix = v->parent;
        vma_replace_child(mm, v->parent, v, v->left ? v->left : v->right);
    }
    vma_rebalance(mm, fix);
    list_del(&v->vm_list);
    mm->map_count--;
    v->left = v->right = v->parent = NULL;
}

struct vm_area_struct *find_vma(struct mm_struct *mm, uintptr_t addr)
{
    struct vm_area_struct *n = mm ? mm->root : NULL, *best = NULL;
    while (n) {
        if (n->vm_end > addr) {
            best = n;
            if (n->vm_start <= addr)
                return n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

struct vm_area_struct *vma_next(struct mm_struct *mm, struct vm_area_struct *v)
{
    return v->vm_list.next == &mm->vmas ? NULL : list_entry(v->vm_list.next, struct vm_area_struct, vm_list);
}

struct vm_area_struct *vma_prev(struct mm_struct *mm, struct vm_area_struct *v)
{
    return v->vm_list.prev == &mm->vmas ? NULL : list_entry(v->vm_list.prev, struct vm_area_struct, vm_list);
}

/** Last VMA that starts below @addr, or NULL. */
struct vm_area_struct *vma_before(struct mm_struct *mm, uintptr_t addr)
{
    struct vm_area_struct *n = mm->root, *best = NULL;
    while (n) {
        if (n->vm_start < addr) {
            best = n;
            n = n->right;
        } else {
            n = n->left;
        }
    }
    return best;
}

/* Is [addr, addr+len) free of VMAs? */
bool vma_range_free(struct mm_struct *mm, uintptr_t addr, size_t len)
{
    struct vm_area_struct *v = find_vma(mm, addr);
    return !v || v->vm_start >= addr + len;
}

/*
 * Top-down placement below mmap_base: walk the gaps between VMAs from the highest VMA that starts
 * below @top downwards. Returns the highest fitting address, or 0.
 */
uintptr_t vma_find_gap(struct mm_struct *mm, size_t len, uintptr_t top)
{
    struct vm_area_struct *v = vma_before(mm, top);
    uintptr_t hi = top;
    for (;;) {
        uintptr_t lo = v ? v->vm_end : ARCH_USER_VA_START;
        if (hi >= lo + len && hi - len >= ARCH_USER_VA_START)
            return hi - len;
        if (!v)
            return 0;
        hi = MM_MIN(hi, v->vm_start);
        if (v->vm_flags & VM_GROWSDOWN) /* leave room for the stack to grow */
            hi = hi > MM_STACK_GUARD_GAP ? hi - MM_STACK_GUARD_GAP : 0;
        v = vma_prev(mm, v);
    }
}
