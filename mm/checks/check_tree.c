/*
 * check_tree.c - the range-tree validator (range_tree.h). Each user adds the agreement of its tree
 * with the view it indexes through the visit callback: an address space's VMA list (check_vm.c),
 * the vmalloc area list (check_vmalloc.c).
 *
 * Invariant names:
 *   tree.depth    a leaf is not at the tree's depth (or an inner node is), the depth exceeds
 *                 RTREE_MAX_DEPTH, or root, depth and count disagree about emptiness
 *   tree.fill     a non-root node holds fewer than RTREE_MIN_FILL or more than RTREE_FANOUT
 *                 slots, the root none (an inner root fewer than two), or there are more nodes
 *                 than the entries allow (a cycle)
 *   tree.order    entries empty, unsorted, overlapping or outside [lo, hi); the tree's count
 *                 differs from its entries
 *   tree.key      an inner node's start/end of a child is not the child's first start/last end
 *   tree.gap      a leaf's gap is not the free space below its entry, or an inner node's is not
 *                 the largest gap of the child
 *
 * The walk is depth-bounded and counts nodes, so damaged links end it rather than loop it.
 */
#include "../virtual/mmap_internal.h"
#include "check_internal.h"

struct tree_walk {
    const struct range_tree *t;
    struct mm_check_report *r;
    const char *what;              /* names the tree in messages */
    check_tree_visit_fn visit;     /* each entry in order, for the agreement check */
    void *arg;
    uintptr_t prev_end;            /* end of the last entry met (t->lo before the first) */
    unsigned long entries, nodes;
};

/* What a subtree adds up to: the summary its parent must hold. */
struct tree_sum {
    uintptr_t first_start, last_end, max_gap;
};

#define tree_fail(w, inv, ...) mm_check_fail((w)->r, (inv), ~0ul, __VA_ARGS__)

static int check_tree_shape(struct tree_walk *w, const struct rtree_node *n, unsigned int level)
{
    const struct range_tree *t = w->t;
    if (++w->nodes > 2 * t->count + t->depth + 1)
        return tree_fail(w, "tree.fill", "%s: more nodes than %lu entries allow (a cycle?)",
                         w->what, t->count);
    if (level >= t->depth || !!n->leaf != (level + 1 == t->depth))
        return tree_fail(w, "tree.depth", "%s: a %s node at level %u of a tree of depth %u",
                         w->what, n->leaf ? "leaf" : "inner", level, t->depth);
    unsigned int min = level ? RTREE_MIN_FILL : n->leaf ? 1 : 2;
    if (n->count < min || n->count > RTREE_FANOUT)
        return tree_fail(w, "tree.fill", "%s: node at level %u holds %u slots (%u..%u allowed)",
                         w->what, level, n->count, min, RTREE_FANOUT);
    return 0;
}

static int check_tree_entry(struct tree_walk *w, const struct rtree_node *n, unsigned int i)
{
    uintptr_t s = n->start[i], e = n->end[i];
    if (s >= e || s < w->prev_end || s < w->t->lo || e > w->t->hi)
        return tree_fail(w, "tree.order", "%s: entry [0x%lx, 0x%lx) after one ending at 0x%lx",
                         w->what, (unsigned long)s, (unsigned long)e, (unsigned long)w->prev_end);
    if (n->gap[i] != s - w->prev_end)
        return tree_fail(w, "tree.gap", "%s: entry 0x%lx records gap 0x%lx, the free space "
                         "below it is 0x%lx", w->what, (unsigned long)s,
                         (unsigned long)n->gap[i], (unsigned long)(s - w->prev_end));
    w->prev_end = e;
    w->entries++;
    return w->visit ? w->visit(w->arg, s, e, n->slot[i]) : 0;
}

static int check_tree_node(struct tree_walk *w, const struct rtree_node *n, unsigned int level,
                           struct tree_sum *sum)
{
    int err = check_tree_shape(w, n, level);
    *sum = (struct tree_sum){ n->start[0], 0, 0 };
    for (unsigned int i = 0; !err && i < n->count; i++) {
        struct tree_sum c = { n->start[i], n->end[i], n->gap[i] };
        if (n->leaf)
            err = check_tree_entry(w, n, i);
        else
            err = check_tree_node(w, n->slot[i], level + 1, &c);
        if (!err && (c.first_start != n->start[i] || c.last_end != n->end[i]))
            err = tree_fail(w, "tree.key", "%s: level %u slot %u says [0x%lx, 0x%lx), its child "
                            "spans [0x%lx, 0x%lx)", w->what, level, i, (unsigned long)n->start[i],
                            (unsigned long)n->end[i], (unsigned long)c.first_start,
                            (unsigned long)c.last_end);
        if (!err && c.max_gap != n->gap[i])
            err = tree_fail(w, "tree.gap", "%s: level %u slot %u records largest gap 0x%lx, its "
                            "child's is 0x%lx", w->what, level, i, (unsigned long)n->gap[i],
                            (unsigned long)c.max_gap);
        sum->last_end = n->end[i];
        sum->max_gap = MM_MAX(sum->max_gap, n->gap[i]);
    }
    return err;
}

int check_range_tree(const struct range_tree *t, const char *what, check_tree_visit_fn visit,
                     void *arg, struct mm_check_report *r)
{
    struct tree_walk w = { t, r, what, visit, arg, t->lo, 0, 0 };
    if (t->depth > RTREE_MAX_DEPTH || !t->root != !t->depth || !t->root != !t->count)
        return tree_fail(&w, "tree.depth", "%s: root %p, depth %u, %lu entries", what,
                         (void *)t->root, t->depth, t->count);
    struct tree_sum sum;
    int err = t->root ? check_tree_node(&w, t->root, 0, &sum) : 0;
    if (!err && w.entries != t->count)
        err = tree_fail(&w, "tree.order", "%s: count %lu, the leaves hold %lu entries", what,
                        t->count, w.entries);
    return err;
}
