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
 *
 * Placement: each node keeps the free gap below it (to the previous VMA, less the stack guard
 * gap of a grows-down VMA) and the largest gap of its subtree, maintained by link and unlink, so
 * the top-down search for room is a descent, not a walk. A VMA whose start moves in place (stack
 * growth) can leave a gap value too large until its next link/unlink; the search re-measures every
 * candidate against its real neighbours, so a stale value costs time, never a wrong answer.
 */
#include "mmap_internal.h"

static int vma_height(const struct vm_area_struct *v) { return v ? v->height : 0; }

static uintptr_t vma_max_gap(const struct vm_area_struct *v) { return v ? v->max_gap : 0; }

static void vma_fix_height(struct vm_area_struct *v)
{
    int l = vma_height(v->left), r = vma_height(v->right);
    v->height = 1 + (l > r ? l : r);
    v->max_gap = MM_MAX(v->gap, MM_MAX(vma_max_gap(v->left), vma_max_gap(v->right)));
}

/* Usable bytes below @v, measured against its real predecessor @prev. */
static uintptr_t vma_gap_below(const struct vm_area_struct *v, const struct vm_area_struct *prev)
{
    uintptr_t lo = prev ? prev->vm_end : ARCH_USER_VA_START;
    uintptr_t hi = v->vm_start;
    if ((v->vm_flags & VM_GROWSDOWN))
        hi = hi > MM_STACK_GUARD_GAP ? hi - MM_STACK_GUARD_GAP : 0;
    return hi > lo ? hi - lo : 0;
}

/* Re-measure @v's gap and refresh the maxima on the path to the root. */
static void vma_gap_update(struct mm_struct *mm, struct vm_area_struct *v)
{
    if (!v)
        return;
    v->gap = vma_gap_below(v, vma_prev(mm, v));
    for (; v; v = v->parent) {
        uintptr_t old = v->max_gap;
        vma_fix_height(v);
        if (v->max_gap == old)
            break; /* the subtree maximum is unchanged, so nothing above changes */
    }
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
        int old_h = v->height;
        uintptr_t old_gap = v->max_gap;
        vma_fix_height(v);
        int bal = vma_height(v->left) - vma_height(v->right);
        if (bal >= -1 && bal <= 1 && v->height == old_h && v->max_gap == old_gap)
            break; /* balanced and unchanged: the ancestors are too */
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
    v->gap = vma_gap_below(v, prev);
    v->max_gap = v->gap;
    vma_rebalance(mm, parent);
    vma_gap_update(mm, vma_next(mm, v));
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
        /* s takes v's place: it inherits the cached values the ancestors were computed from,
         * so the rebalance below sees every real change (and may stop where nothing changed) */
        s->height = v->height;
        s->max_gap = v->max_gap;
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
    struct vm_area_struct *next = vma_next(mm, v);
    list_del(&v->vm_list);
    mm->map_count--;
    v->left = v->right = v->parent = NULL;
    vma_gap_update(mm, next);
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
 * Highest VMA starting at or below @limit whose recorded gap is at least @len and whose real gap
 * (re-measured) is too: a descent pruned by max_gap.
 */
static struct vm_area_struct *vma_gap_search(struct mm_struct *mm, struct vm_area_struct *n,
                                             uintptr_t limit, size_t len)
{
    if (!n || n->max_gap < len)
        return NULL;
    if (n->vm_start <= limit) {
        struct vm_area_struct *r = vma_gap_search(mm, n->right, limit, len);
        if (r)
            return r;
        if (n->gap >= len && vma_gap_below(n, vma_prev(mm, n)) >= len)
            return n;
    }
    return vma_gap_search(mm, n->left, limit, len);
}

/* Top-down placement below @top: the highest address where @len bytes fit, or 0. */
uintptr_t vma_find_gap(struct mm_struct *mm, size_t len, uintptr_t top)
{
    struct vm_area_struct *v = vma_before(mm, top);
    uintptr_t lo = v ? v->vm_end : ARCH_USER_VA_START;
    if (top >= lo + len && top - len >= ARCH_USER_VA_START)
        return top - len; /* room above the highest VMA below @top */
    if (!v)
        return 0;
    struct vm_area_struct *n = vma_gap_search(mm, mm->root, v->vm_start, len);
    if (!n)
        return 0;
    uintptr_t hi = n->vm_start;
    if (n->vm_flags & VM_GROWSDOWN)
        hi -= MM_STACK_GUARD_GAP;
    return hi - len;
}
