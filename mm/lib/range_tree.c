/*
 * range_tree.c - the ordered-range B+tree of range_tree.h: descents, insert with node splits,
 * erase with borrow/merge, in-place range changes, lookups, ordered neighbours and gap search.
 *
 * Owns the tree's nodes (through the owner's rtree_ops) and its reserve; the entries are the
 * caller's. Every mutation keeps the invariants of range_tree.h on return: structure (fill,
 * depth), the inner summaries on every changed path, and the gap of the entry above every changed
 * range (which may sit in another leaf: then a second descent stores it).
 */
#include "range_tree.h"
#include "mm_env.h"

/* A root-to-leaf descent: node[l] and the slot taken there (at the leaf: see rtree_descend). */
struct rtree_path {
    struct rtree_node *node[RTREE_MAX_DEPTH];
    unsigned int idx[RTREE_MAX_DEPTH];
    uintptr_t prev_end;     /* end of the last entry before the leaf (t->lo if none) */
    uintptr_t next_start;   /* start of the first entry after the leaf (t->hi if none) */
    bool has_next;
    const struct rtree_node *before; /* the subtree just left of the descent (NULL if none) */
};

/* One slot's worth: an entry (leaf) or a child's summary (inner node). */
struct rtree_item {
    uintptr_t start, end, gap;
    void *slot;
};

#define RTREE_RESERVE_KEEP 2u /* freed nodes kept for the next insert (absorbs split/merge churn) */

/* ---- nodes and the reserve ---- */

static void rtree_reserve_push(struct range_tree *t, struct rtree_node *n)
{
    n->slot[0] = t->reserve;
    t->reserve = n;
    t->nr_reserve++;
}

/* Allocate until the reserve holds @want nodes. 0, or -MM_ENOMEM with the reserve as it was. */
static int rtree_reserve_fill(struct range_tree *t, unsigned int want, gfp_t gfp)
{
    unsigned int had = t->nr_reserve;
    while (t->nr_reserve < want) {
        struct rtree_node *n = t->ops->node_alloc(gfp);
        if (!n) {
            rtree_trim_reserve(t, had);
            return -MM_ENOMEM;
        }
        rtree_reserve_push(t, n);
    }
    return 0;
}

void rtree_trim_reserve(struct range_tree *t, unsigned int keep)
{
    while (t->nr_reserve > keep) {
        struct rtree_node *n = t->reserve;
        t->reserve = n->slot[0];
        t->nr_reserve--;
        t->ops->node_free(n);
    }
}

/* A node from the reserve (the caller filled it: cannot fail), zeroed as a leaf or inner node. */
static struct rtree_node *rtree_node_take(struct range_tree *t, bool leaf)
{
    struct rtree_node *n = t->reserve;
    if (!n)
        env_panic("range tree: reserve empty (an insert was not accounted)");
    t->reserve = n->slot[0];
    t->nr_reserve--;
    memset(n, 0, sizeof(*n));
    n->leaf = leaf;
    return n;
}

static void rtree_node_put(struct range_tree *t, struct rtree_node *n)
{
    if (t->nr_reserve < RTREE_RESERVE_KEEP)
        rtree_reserve_push(t, n);
    else
        t->ops->node_free(n);
}

/* ---- slots ---- */

static uintptr_t rtree_node_max_gap(const struct rtree_node *n)
{
    uintptr_t m = 0;
    for (unsigned int i = 0; i < n->count; i++)
        m = MM_MAX(m, n->gap[i]);
    return m;
}

/* Recompute the summary parent keeps of its child @c. */
static void rtree_summarise(struct rtree_node *parent, unsigned int c)
{
    const struct rtree_node *ch = parent->slot[c];
    parent->start[c] = ch->start[0];
    parent->end[c] = ch->end[ch->count - 1];
    parent->gap[c] = rtree_node_max_gap(ch);
}

static void rtree_item_get(const struct rtree_node *n, unsigned int i, struct rtree_item *it)
{
    *it = (struct rtree_item){ n->start[i], n->end[i], n->gap[i], n->slot[i] };
}

static void rtree_item_put(struct rtree_node *n, unsigned int i, const struct rtree_item *it)
{
    for (unsigned int k = n->count; k > i; k--) {
        n->start[k] = n->start[k - 1];
        n->end[k] = n->end[k - 1];
        n->gap[k] = n->gap[k - 1];
        n->slot[k] = n->slot[k - 1];
    }
    n->start[i] = it->start;
    n->end[i] = it->end;
    n->gap[i] = it->gap;
    n->slot[i] = it->slot;
    n->count++;
}

static void rtree_item_del(struct rtree_node *n, unsigned int i)
{
    for (unsigned int k = i + 1; k < n->count; k++) {
        n->start[k - 1] = n->start[k];
        n->end[k - 1] = n->end[k];
        n->gap[k - 1] = n->gap[k];
        n->slot[k - 1] = n->slot[k];
    }
    n->count--;
}

/* Slots of @n whose key in @keys (start[] or end[], both sorted) is <= @key: a scan that stops
 * at the first larger key (one node's keys share a cache line or two). */
static unsigned int rtree_rank(const struct rtree_node *n, const uintptr_t *keys, uintptr_t key)
{
    unsigned int r = 0;
    while (r < n->count && keys[r] <= key)
        r++;
    return r;
}

/*
 * Node @l of the path changed: refresh the summaries above it (levels l-1 .. 0), up to the first
 * that stays the same (nothing above it can change then). Above the first level whose largest
 * gap stays the same, only first start and last end are refreshed: an O(1) step per level.
 */
static void rtree_refresh_path(struct rtree_path *p, unsigned int l)
{
    bool gaps = true;
    while (l-- > 0) {
        struct rtree_node *parent = p->node[l];
        unsigned int c = p->idx[l];
        const struct rtree_node *ch = parent->slot[c];
        uintptr_t s = ch->start[0], e = ch->end[ch->count - 1];
        uintptr_t g = gaps ? rtree_node_max_gap(ch) : parent->gap[c];
        if (parent->start[c] == s && parent->end[c] == e && parent->gap[c] == g)
            return;
        gaps = parent->gap[c] != g;
        parent->start[c] = s;
        parent->end[c] = e;
        parent->gap[c] = g;
    }
}

/* ---- descents ---- */

/*
 * Descend towards @key: at each inner node the last child starting at or below @key (the first
 * child if none does). Fills @p and returns the leaf; at the leaf p->idx is the first entry
 * starting above @key (so an entry starting at @key is idx - 1). Precondition: t->root.
 */
static struct rtree_node *rtree_descend(const struct range_tree *t, uintptr_t key, struct rtree_path *p)
{
    struct rtree_node *n = t->root;
    p->prev_end = t->lo;
    p->next_start = t->hi;
    p->has_next = false;
    p->before = NULL;
    for (unsigned int l = 0;; l++) {
        unsigned int i = rtree_rank(n, n->start, key);
        p->node[l] = n;
        if (n->leaf) {
            p->idx[l] = i;
            return n;
        }
        unsigned int c = i ? i - 1 : 0;
        if (c > 0) {
            p->prev_end = n->end[c - 1];
            p->before = n->slot[c - 1];
        }
        if (c + 1 < n->count) {
            p->next_start = n->start[c + 1];
            p->has_next = true;
        }
        p->idx[l] = c;
        n = n->slot[c];
    }
}

/* Store the gap of the entry starting at @key (it follows a range ending at @pred_end). */
static void rtree_gap_store(struct range_tree *t, uintptr_t key, uintptr_t pred_end)
{
    struct rtree_path p;
    struct rtree_node *leaf = rtree_descend(t, key, &p);
    leaf->gap[p.idx[t->depth - 1] - 1] = key - pred_end;
    rtree_refresh_path(&p, t->depth - 1);
}

/* ---- insert ---- */

/* Nodes an insert along @p needs: one per full node from the leaf up, one more for a new root. */
static unsigned int rtree_insert_need(const struct range_tree *t, const struct rtree_path *p)
{
    unsigned int need = 0;
    for (unsigned int l = t->depth; l-- > 0;) {
        if (p->node[l]->count < RTREE_FANOUT)
            return need;
        need++;
    }
    return need + 1;
}

/* Move the upper half of the full node @n into the empty node @r. */
static void rtree_node_split(struct rtree_node *n, struct rtree_node *r)
{
    unsigned int keep = RTREE_FANOUT / 2, k = RTREE_FANOUT - keep;
    memcpy(r->start, &n->start[keep], k * sizeof(n->start[0]));
    memcpy(r->end, &n->end[keep], k * sizeof(n->end[0]));
    memcpy(r->gap, &n->gap[keep], k * sizeof(n->gap[0]));
    memcpy(r->slot, &n->slot[keep], k * sizeof(n->slot[0]));
    r->count = (uint8_t)k;
    n->count = (uint8_t)keep;
}

/* A new root above the two halves @a and @b of the old one. */
static void rtree_grow_root(struct range_tree *t, struct rtree_node *a, struct rtree_node *b)
{
    struct rtree_node *root = rtree_node_take(t, false);
    root->slot[0] = a;
    root->slot[1] = b;
    root->count = 2;
    rtree_summarise(root, 0);
    rtree_summarise(root, 1);
    t->root = root;
    t->depth++;
}

/*
 * Make room in the full node at path level @l, where an item goes to slot *@pos, by moving an end
 * slot to a sibling with room (so sequential inserts fill nodes instead of leaving halves).
 * Returns false when neither sibling can take one.
 */
static bool rtree_shift_to_sibling(struct rtree_path *p, unsigned int l, unsigned int *pos)
{
    if (l == 0)
        return false;
    struct rtree_node *parent = p->node[l - 1], *n = p->node[l];
    unsigned int c = p->idx[l - 1];
    struct rtree_item it;
    if (c > 0 && *pos > 0 && ((struct rtree_node *)parent->slot[c - 1])->count < RTREE_FANOUT) {
        struct rtree_node *left = parent->slot[c - 1];
        rtree_item_get(n, 0, &it);
        rtree_item_del(n, 0);
        rtree_item_put(left, left->count, &it);
        rtree_summarise(parent, c - 1);
        (*pos)--;
        return true;
    }
    if (c + 1 < parent->count && *pos < n->count &&
        ((struct rtree_node *)parent->slot[c + 1])->count < RTREE_FANOUT) {
        struct rtree_node *right = parent->slot[c + 1];
        rtree_item_get(n, n->count - 1, &it);
        rtree_item_del(n, n->count - 1);
        rtree_item_put(right, 0, &it);
        rtree_summarise(parent, c + 1);
        return true;
    }
    return false;
}

/* Put @it at slot @pos of path level @l, splitting full nodes upwards (nodes are reserved). */
static void rtree_insert_at(struct range_tree *t, struct rtree_path *p, unsigned int l,
                            unsigned int pos, struct rtree_item it)
{
    for (;;) {
        struct rtree_node *n = p->node[l];
        if (n->count < RTREE_FANOUT) {
            rtree_item_put(n, pos, &it);
            rtree_refresh_path(p, l);
            return;
        }
        if (rtree_shift_to_sibling(p, l, &pos)) { /* the parent changed in two slots */
            rtree_item_put(n, pos, &it);
            rtree_summarise(p->node[l - 1], p->idx[l - 1]);
            rtree_refresh_path(p, l - 1);
            return;
        }
        struct rtree_node *r = rtree_node_take(t, n->leaf);
        rtree_node_split(n, r);
        if (pos <= n->count)
            rtree_item_put(n, pos, &it);
        else
            rtree_item_put(r, pos - n->count, &it);
        if (l == 0) {
            rtree_grow_root(t, n, r);
            return;
        }
        rtree_summarise(p->node[l - 1], p->idx[l - 1]);
        it = (struct rtree_item){ r->start[0], r->end[r->count - 1], rtree_node_max_gap(r), r };
        pos = p->idx[--l] + 1;
    }
}

static int rtree_insert_first(struct range_tree *t, uintptr_t start, uintptr_t end, void *entry,
                              gfp_t gfp)
{
    int err = rtree_reserve_fill(t, 1, gfp);
    if (err)
        return err;
    struct rtree_node *n = rtree_node_take(t, true);
    rtree_item_put(n, 0, &(struct rtree_item){ start, end, start - t->lo, entry });
    t->root = n;
    t->depth = 1;
    t->count = 1;
    return 0;
}

static void *rtree_rightmost(const struct rtree_node *n)
{
    while (!n->leaf)
        n = n->slot[n->count - 1];
    return n->slot[n->count - 1];
}

int rtree_insert_range(struct range_tree *t, uintptr_t start, uintptr_t end, void *entry,
                       gfp_t gfp, void **prev)
{
    if (prev)
        *prev = NULL;
    if (!entry || start >= end || start < t->lo || end > t->hi)
        return -MM_EINVAL;
    if (!t->root)
        return rtree_insert_first(t, start, end, entry, gfp);
    struct rtree_path p;
    struct rtree_node *leaf = rtree_descend(t, start, &p);
    unsigned int lv = t->depth - 1, i = p.idx[lv];
    uintptr_t pred_end = i ? leaf->end[i - 1] : p.prev_end;
    bool succ_here = i < leaf->count, succ_far = !succ_here && p.has_next;
    uintptr_t succ_start = succ_here ? leaf->start[i] : p.next_start;
    if (pred_end > start || end > succ_start)
        return -MM_EINVAL;
    int err = rtree_reserve_fill(t, rtree_insert_need(t, &p), gfp);
    if (err)
        return err;
    if (prev)
        *prev = i ? leaf->slot[i - 1] : p.before ? rtree_rightmost(p.before) : NULL;
    if (succ_here)
        leaf->gap[i] = succ_start - end;
    rtree_insert_at(t, &p, lv, i, (struct rtree_item){ start, end, start - pred_end, entry });
    t->count++;
    if (succ_far)
        rtree_gap_store(t, succ_start, end);
    return 0;
}

/* Nodes the reserve must hold so that @nr_inserts inserts cannot run out. */
static unsigned int rtree_reserve_want(const struct range_tree *t, unsigned int nr_inserts)
{
    /* each insert splits at most every level and adds a root; an earlier one may add a level */
    unsigned int want = nr_inserts * (t->depth + 1) + nr_inserts * (nr_inserts - 1) / 2;
    return MM_MAX(want, nr_inserts);
}

int rtree_preallocate(struct range_tree *t, unsigned int nr_inserts, gfp_t gfp)
{
    return rtree_reserve_fill(t, rtree_reserve_want(t, nr_inserts), gfp);
}

unsigned int rtree_reserve_shortfall(const struct range_tree *t, unsigned int nr_inserts)
{
    unsigned int want = rtree_reserve_want(t, nr_inserts);
    return want > t->nr_reserve ? want - t->nr_reserve : 0;
}

struct rtree_node *rtree_node_alloc(const struct range_tree *t, gfp_t gfp)
{
    return t->ops->node_alloc(gfp);
}

void rtree_reserve_add(struct range_tree *t, struct rtree_node *n)
{
    rtree_reserve_push(t, n);
}

/* ---- erase ---- */

/* Refill the underfull child @c of @parent from a sibling, or merge it with one. */
static void rtree_fix_underflow(struct range_tree *t, struct rtree_node *parent, unsigned int c)
{
    struct rtree_node *n = parent->slot[c];
    struct rtree_item it;
    if (c > 0 && ((struct rtree_node *)parent->slot[c - 1])->count > RTREE_MIN_FILL) {
        struct rtree_node *left = parent->slot[c - 1];
        rtree_item_get(left, left->count - 1, &it);
        rtree_item_del(left, left->count - 1);
        rtree_item_put(n, 0, &it);
        rtree_summarise(parent, c - 1);
        rtree_summarise(parent, c);
        return;
    }
    if (c + 1 < parent->count && ((struct rtree_node *)parent->slot[c + 1])->count > RTREE_MIN_FILL) {
        struct rtree_node *right = parent->slot[c + 1];
        rtree_item_get(right, 0, &it);
        rtree_item_del(right, 0);
        rtree_item_put(n, n->count, &it);
        rtree_summarise(parent, c);
        rtree_summarise(parent, c + 1);
        return;
    }
    unsigned int a = c > 0 ? c - 1 : c; /* merge children a and a + 1 into a */
    struct rtree_node *dst = parent->slot[a], *src = parent->slot[a + 1];
    for (unsigned int i = 0; i < src->count; i++) {
        rtree_item_get(src, i, &it);
        rtree_item_put(dst, dst->count, &it);
    }
    rtree_item_del(parent, a + 1);
    rtree_summarise(parent, a);
    rtree_node_put(t, src);
}

/* The root lost its last entry, or an inner root its second child: the tree gets lower. */
static void rtree_shrink_root(struct range_tree *t)
{
    struct rtree_node *root = t->root;
    if (root->count == 0) {
        t->root = NULL;
        t->depth = 0;
        rtree_node_put(t, root);
    } else if (!root->leaf && root->count == 1) {
        t->root = root->slot[0];
        t->depth--;
        rtree_node_put(t, root);
    }
}

/* After a slot left path level @l: restore the fill bounds and the summaries up to the root. */
static void rtree_rebalance(struct range_tree *t, struct rtree_path *p, unsigned int l)
{
    for (; l > 0; l--) {
        struct rtree_node *parent = p->node[l - 1];
        if (p->node[l]->count >= RTREE_MIN_FILL) {
            rtree_refresh_path(p, l);
            return;
        }
        rtree_fix_underflow(t, parent, p->idx[l - 1]);
    }
    rtree_shrink_root(t);
}

void *rtree_erase_range(struct range_tree *t, uintptr_t start)
{
    if (!t->root)
        return NULL;
    struct rtree_path p;
    struct rtree_node *leaf = rtree_descend(t, start, &p);
    unsigned int lv = t->depth - 1, i = p.idx[lv];
    if (!i || leaf->start[i - 1] != start)
        return NULL;
    i--;
    void *entry = leaf->slot[i];
    uintptr_t pred_end = leaf->start[i] - leaf->gap[i];
    bool succ_here = i + 1 < leaf->count, succ_far = !succ_here && p.has_next;
    if (succ_here)
        leaf->gap[i + 1] = leaf->start[i + 1] - pred_end;
    rtree_item_del(leaf, i);
    t->count--;
    rtree_rebalance(t, &p, lv);
    if (succ_far)
        rtree_gap_store(t, p.next_start, pred_end);
    return entry;
}

/* ---- in-place change ---- */

int rtree_set_range(struct range_tree *t, uintptr_t start, uintptr_t new_start, uintptr_t new_end)
{
    if (!t->root || new_start >= new_end)
        return -MM_EINVAL;
    struct rtree_path p;
    struct rtree_node *leaf = rtree_descend(t, start, &p);
    unsigned int lv = t->depth - 1, i = p.idx[lv];
    if (!i || leaf->start[i - 1] != start)
        return -MM_EINVAL;
    i--;
    uintptr_t pred_end = i ? leaf->end[i - 1] : p.prev_end;
    bool succ_here = i + 1 < leaf->count, succ_far = !succ_here && p.has_next;
    uintptr_t succ_start = succ_here ? leaf->start[i + 1] : p.next_start;
    if (new_start < pred_end || new_end > succ_start)
        return -MM_EINVAL;
    leaf->start[i] = new_start;
    leaf->end[i] = new_end;
    leaf->gap[i] = new_start - pred_end;
    if (succ_here)
        leaf->gap[i + 1] = succ_start - new_end;
    rtree_refresh_path(&p, lv);
    if (succ_far)
        rtree_gap_store(t, succ_start, new_end);
    return 0;
}

/* ---- setup ---- */

void rtree_init(struct range_tree *t, uintptr_t lo, uintptr_t hi, const struct rtree_ops *ops)
{
    *t = (struct range_tree){ .lo = lo, .hi = hi, .ops = ops };
}

static void rtree_free_subtree(struct range_tree *t, struct rtree_node *n, unsigned int level)
{
    if (!n->leaf && level + 1 < RTREE_MAX_DEPTH)
        for (unsigned int i = 0; i < n->count; i++)
            rtree_free_subtree(t, n->slot[i], level + 1);
    t->ops->node_free(n);
}

void rtree_destroy(struct range_tree *t)
{
    if (t->root)
        rtree_free_subtree(t, t->root, 0);
    t->root = NULL;
    t->depth = 0;
    t->count = 0;
    rtree_trim_reserve(t, 0);
}

/* ---- lookups ---- */

/* The leaf slot of the first range ending above @addr, its start in *@start; NULL if none. */
static void *rtree_first_ending_above(const struct range_tree *t, uintptr_t addr, uintptr_t *start)
{
    const struct rtree_node *n = t->root;
    while (n) {
        unsigned int i = rtree_rank(n, n->end, addr);
        if (i == n->count)
            return NULL;
        if (n->leaf) {
            *start = n->start[i];
            return n->slot[i];
        }
        n = n->slot[i];
    }
    return NULL;
}

void *rtree_find_after(const struct range_tree *t, uintptr_t addr)
{
    uintptr_t start;
    return rtree_first_ending_above(t, addr, &start);
}

void *rtree_find(const struct range_tree *t, uintptr_t addr)
{
    uintptr_t start = 0;
    void *e = rtree_first_ending_above(t, addr, &start);
    return e && start <= addr ? e : NULL;
}

void *rtree_find_before(const struct range_tree *t, uintptr_t addr)
{
    const struct rtree_node *n = t->root;
    while (n && addr) {
        unsigned int i = rtree_rank(n, n->start, addr - 1); /* slots starting below @addr */
        if (i == 0)
            return NULL;
        if (n->leaf)
            return n->slot[i - 1];
        n = n->slot[i - 1];
    }
    return NULL;
}

static void *rtree_leftmost(const struct rtree_node *n)
{
    while (!n->leaf)
        n = n->slot[0];
    return n->slot[0];
}

void *rtree_next(const struct range_tree *t, uintptr_t start)
{
    const struct rtree_node *n = t->root, *after = NULL; /* the subtree right of the descent */
    while (n) {
        unsigned int i = rtree_rank(n, n->start, start);
        if (n->leaf)
            return i < n->count ? n->slot[i] : after ? rtree_leftmost(after) : NULL;
        if (i == 0)
            return rtree_leftmost(n);
        if (i < n->count)
            after = n->slot[i];
        n = n->slot[i - 1];
    }
    return NULL;
}

/* ---- gap search ---- */

struct rtree_search {
    uintptr_t lo, hi, align;
    size_t size;
    struct rtree_gap *gap;
};

/* Does the free range [gs, ge), clipped to the window, hold the request? Fills s->gap if so. */
static bool rtree_gap_fits(const struct rtree_search *s, uintptr_t gs, uintptr_t ge, bool high)
{
    gs = MM_MAX(gs, s->lo);
    ge = ge < s->hi ? ge : s->hi;
    if (ge <= gs || ge - gs < s->size)
        return false;
    if (high) {
        if (MM_ALIGN_DOWN(ge - s->size, s->align) < gs)
            return false;
    } else {
        uintptr_t a = MM_ALIGN_UP(gs, s->align);
        if (a < gs || a > ge || ge - a < s->size)
            return false;
    }
    s->gap->start = gs;
    s->gap->end = ge;
    return true;
}

/* The highest fitting gap below an entry of @n's subtree; @prev_end ends the range before it. */
static bool rtree_search_high(const struct rtree_search *s, const struct rtree_node *n,
                              uintptr_t prev_end)
{
    for (unsigned int c = n->count; c-- > 0;) {
        if (n->gap[c] < s->size)
            continue;
        uintptr_t pe = c ? n->end[c - 1] : prev_end;
        if ((n->leaf ? n->start[c] : n->end[c]) <= s->lo)
            return false; /* this gap and every lower one lie below the window */
        if (pe >= s->hi)
            continue;
        if (n->leaf) {
            if (rtree_gap_fits(s, pe, n->start[c], true)) {
                s->gap->above = n->slot[c];
                return true;
            }
        } else if (rtree_search_high(s, n->slot[c], pe)) {
            return true;
        }
    }
    return false;
}

static bool rtree_search_low(const struct rtree_search *s, const struct rtree_node *n,
                             uintptr_t prev_end)
{
    for (unsigned int c = 0; c < n->count; c++) {
        if (n->gap[c] < s->size)
            continue;
        uintptr_t pe = c ? n->end[c - 1] : prev_end;
        if (pe >= s->hi)
            return false; /* this gap and every higher one lie above the window */
        if ((n->leaf ? n->start[c] : n->end[c]) <= s->lo)
            continue;
        if (n->leaf) {
            if (rtree_gap_fits(s, pe, n->start[c], false)) {
                s->gap->above = n->slot[c];
                return true;
            }
        } else if (rtree_search_low(s, n->slot[c], pe)) {
            return true;
        }
    }
    return false;
}

/* The free space above the last entry. */
static uintptr_t rtree_last_end(const struct range_tree *t)
{
    return t->root ? t->root->end[t->root->count - 1] : t->lo;
}

bool rtree_gap_lowest(const struct range_tree *t, uintptr_t lo, uintptr_t hi, size_t size,
                      uintptr_t align, struct rtree_gap *gap)
{
    struct rtree_search s = { lo, hi, align ? align : 1, size ? size : 1, gap };
    if (t->root && rtree_search_low(&s, t->root, t->lo))
        return true;
    gap->above = NULL;
    return rtree_gap_fits(&s, rtree_last_end(t), t->hi, false);
}

bool rtree_gap_highest(const struct range_tree *t, uintptr_t lo, uintptr_t hi, size_t size,
                       uintptr_t align, struct rtree_gap *gap)
{
    struct rtree_search s = { lo, hi, align ? align : 1, size ? size : 1, gap };
    gap->above = NULL;
    if (rtree_gap_fits(&s, rtree_last_end(t), t->hi, true))
        return true;
    return t->root && rtree_search_high(&s, t->root, t->lo);
}

uintptr_t rtree_largest_gap(const struct range_tree *t)
{
    uintptr_t top = t->hi - rtree_last_end(t);
    return t->root ? MM_MAX(top, rtree_node_max_gap(t->root)) : top;
}
