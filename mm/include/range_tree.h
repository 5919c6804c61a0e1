/*
 * range_tree.h - one ordered set of disjoint ranges [start, end) with free-gap search: the
 * structure behind an address space's VMAs (mm/virtual/vma.c) and the vmalloc areas
 * (mm/virtual/vmalloc.c). Implemented in mm/lib/range_tree.c; public because struct mm_struct
 * embeds one.
 *
 * A B+tree with wide nodes (maple-tree-like in spirit: few, cache-friendly levels). Leaves hold
 * the entries; an inner node holds, per child, a summary of the child's subtree:
 *
 *                 root (inner)  start[] = first start of each child, end[] = last end,
 *                /     |    \   gap[] = largest free gap below any entry of the child
 *        leaf [A B C] [D E] [F G H]      leaf: start[i], end[i], slot[i] = the caller's entry,
 *                                        gap[i] = start[i] - (end of the previous entry, or lo)
 *
 * The free space above the last entry (up to hi) is not stored: it is computed from the root.
 *
 * Invariants (validated by check_range_tree, mm/checks/check_tree.c, with these names):
 *   tree.depth  every leaf is at depth `depth`; no root iff the tree is empty iff depth == 0
 *   tree.fill   a non-root node holds RTREE_MIN_FILL..RTREE_FANOUT slots; the root at least 1
 *               (2 when it is an inner node)
 *   tree.order  entries are non-empty, sorted and disjoint, inside [lo, hi); count is their number
 *   tree.key    an inner node's start[c]/end[c] are its child's first start and last end
 *   tree.gap    a leaf's gap[i] is exact; an inner node's gap[c] is the largest gap of child c
 *
 * Costs: every operation is one or two root-to-leaf descents, O(log n) nodes of RTREE_FANOUT
 * slots each; gap search prunes children whose largest gap is too small or that lie outside the
 * window, so it visits O(log n) nodes plus the two window-boundary paths.
 *
 * Memory: nodes come from the owner's allocator (struct rtree_ops, e.g. a slab cache of the mm).
 * An insert that cannot get the nodes it needs fails with -MM_ENOMEM and changes nothing. A caller
 * that must not fail later preallocates (rtree_preallocate): inserts take reserved nodes first, as
 * Linux's maple tree does. Erase never allocates; freed nodes refill the reserve (up to a cap)
 * before going back to the allocator.
 *
 * Locking: none of its own; the owner serialises every call (vmalloc.lock, the mm's callers).
 */
#ifndef LEAXOS_MM_RANGE_TREE_H
#define LEAXOS_MM_RANGE_TREE_H

#include "mm_common.h"
#include "page_alloc.h"

#define RTREE_FANOUT    16                  /* slots per node */
#define RTREE_MIN_FILL  (RTREE_FANOUT / 2)  /* slots of a non-root node, at least */
#define RTREE_MAX_DEPTH 24                  /* levels; 8^24 entries cannot exist */
#define RTREE_RESERVE_MAX (2 * RTREE_MAX_DEPTH) /* nodes kept in the reserve at most */

struct rtree_node {
    uint8_t leaf;                   /* 1: slots are entries; 0: slots are child nodes */
    uint8_t count;                  /* used slots */
    uintptr_t start[RTREE_FANOUT];  /* see the file comment */
    uintptr_t end[RTREE_FANOUT];
    uintptr_t gap[RTREE_FANOUT];
    void *slot[RTREE_FANOUT];
};

/** The owner's node allocator. alloc returns NULL on exhaustion; free may run under its lock. */
struct rtree_ops {
    struct rtree_node *(*node_alloc)(gfp_t gfp);
    void (*node_free)(struct rtree_node *n);
};

struct range_tree {
    struct rtree_node *root;        /* NULL when empty */
    unsigned int depth;             /* levels (leaves are at depth - 1), 0 when empty */
    unsigned long count;            /* entries */
    uintptr_t lo, hi;               /* the space the ranges live in: [lo, hi) */
    const struct rtree_ops *ops;
    struct rtree_node *reserve;     /* preallocated nodes, linked through slot[0] */
    unsigned int nr_reserve;
};

/** A free gap found by the gap search: [start, end) clipped to the window, and the entry just
 * above it (NULL for the space above the last entry). */
struct rtree_gap {
    uintptr_t start, end;
    void *above;
};

/** Start an empty tree over [@lo, @hi) whose nodes come from @ops. Allocates nothing. */
void rtree_init(struct range_tree *t, uintptr_t lo, uintptr_t hi, const struct rtree_ops *ops);

/** Free every node (entries are the caller's) and the reserve; the tree is empty afterwards. */
void rtree_destroy(struct range_tree *t);

/**
 * Insert @entry (non-NULL) as [@start, @end); *@prev (if @prev) gets the entry before it, or NULL.
 * Returns 0; -MM_EINVAL when the range is empty, leaves [lo, hi) or overlaps an entry;
 * -MM_ENOMEM when a node is needed and neither the reserve nor @ops with @gfp gives one. On error
 * the tree is unchanged.
 */
int rtree_insert_range(struct range_tree *t, uintptr_t start, uintptr_t end, void *entry,
                       gfp_t gfp, void **prev);

/** Remove the entry that starts at @start; returns it, or NULL (nothing changed) if none does. */
void *rtree_erase_range(struct range_tree *t, uintptr_t start);

/**
 * Move the entry starting at @start to [@new_start, @new_end) in place (grow, shrink or shift it
 * without passing a neighbour). Never allocates. Returns 0, or -MM_EINVAL (no entry starts at
 * @start, the new range is empty, leaves [lo, hi) or overlaps a neighbour; nothing changed).
 */
int rtree_set_range(struct range_tree *t, uintptr_t start, uintptr_t new_start, uintptr_t new_end);

/**
 * Make sure the next @nr_inserts inserts cannot fail for want of nodes (whatever they split).
 * Returns 0 or -MM_ENOMEM (the reserve keeps what it had before the call). The reserve is the
 * tree's: call it under the lock that serialises the tree's inserts.
 */
int rtree_preallocate(struct range_tree *t, unsigned int nr_inserts, gfp_t gfp);

/*
 * The same in three steps, for a tree whose lock is a spinlock that must not be held while
 * allocating: under the lock, how many nodes the reserve lacks for @nr_inserts inserts
 * (rtree_reserve_shortfall); outside it, that many nodes from the tree's allocator
 * (rtree_node_alloc, NULL on failure; it reads only the constant ops); under the lock again,
 * each one into the reserve (rtree_reserve_add). Another inserter may use them up meanwhile:
 * then the insert itself allocates with its own gfp, or fails cleanly.
 */
unsigned int rtree_reserve_shortfall(const struct range_tree *t, unsigned int nr_inserts);
struct rtree_node *rtree_node_alloc(const struct range_tree *t, gfp_t gfp);
void rtree_reserve_add(struct range_tree *t, struct rtree_node *n);

/** Give reserved nodes back to the allocator until at most @keep remain. */
void rtree_trim_reserve(struct range_tree *t, unsigned int keep);

/** The entry whose range contains @addr, or NULL. */
void *rtree_find(const struct range_tree *t, uintptr_t addr);

/** The first entry (lowest range) whose end is above @addr, or NULL (find_vma's question). */
void *rtree_find_after(const struct range_tree *t, uintptr_t addr);

/** The last entry whose start is below @addr, or NULL. */
void *rtree_find_before(const struct range_tree *t, uintptr_t addr);

/** The entry after the one starting at @start (the first starting above @start), or NULL. */
void *rtree_next(const struct range_tree *t, uintptr_t start);

/** The entry before the one starting at @start (the last starting below it), or NULL. */
static inline void *rtree_prev(const struct range_tree *t, uintptr_t start)
{
    return rtree_find_before(t, start);
}

/**
 * The lowest free gap inside the window [@lo, @hi) that holds @size bytes at an @align-aligned
 * address (@align a power of two). Returns true and *@gap (clipped to the window; the address is
 * MM_ALIGN_UP(gap->start, align)), or false when no gap fits.
 */
bool rtree_gap_lowest(const struct range_tree *t, uintptr_t lo, uintptr_t hi, size_t size,
                      uintptr_t align, struct rtree_gap *gap);

/** As rtree_gap_lowest for the highest gap (the address is MM_ALIGN_DOWN(gap->end - size)). */
bool rtree_gap_highest(const struct range_tree *t, uintptr_t lo, uintptr_t hi, size_t size,
                       uintptr_t align, struct rtree_gap *gap);

/** The largest free gap of the tree, the space above the last entry included. */
uintptr_t rtree_largest_gap(const struct range_tree *t);

#endif /* LEAXOS_MM_RANGE_TREE_H */
