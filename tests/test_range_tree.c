/*
 * test_range_tree.c - suite "range_tree": the ordered-range B+tree of range_tree.h (mm/lib) on
 * its own, against a reference model, and through the address spaces that use it.
 *
 * Each tree here takes its nodes one page each from the page allocator (tree_ops below), so the
 * failure-injection knob (page_alloc_fail_inject) reaches every node allocation, and the node
 * count tells leaks. The model is a plain array of ranges; every answer of the tree (insert and
 * erase results, lookups, neighbours, lowest and highest gap) is compared with a linear scan of
 * it, from deterministic seeds. check_range_tree (mm/checks) validates the structure as it goes.
 */
#include "../mm/checks/check_internal.h"
#include "../mm/heap/slab_internal.h"
#include "kt_util.h"
#include "ktest.h"
#include "mmap.h"
#include "range_tree.h"
#include "vmalloc.h"

/* ---- node allocator: one page per node, counted ---- */

static long tree_nodes; /* nodes allocated and not freed */

static struct rtree_node *tree_node_alloc(gfp_t gfp)
{
    struct page *p = alloc_pages(gfp | __GFP_NOWARN, 0);
    if (!p)
        return NULL;
    tree_nodes++;
    return page_address(p);
}

static void tree_node_free(struct rtree_node *n)
{
    tree_nodes--;
    __free_pages(virt_to_page(n), 0);
}

static const struct rtree_ops tree_ops = { tree_node_alloc, tree_node_free };

/* ---- the model ---- */

#define TM_LO    0x10000ul
#define TM_UNITS 4096ul /* the space is TM_UNITS units of TM_UNIT bytes */
#define TM_UNIT  0x1000ul
#define TM_HI    (TM_LO + TM_UNITS * TM_UNIT)
#define TM_MAX   700    /* live entries at most */

struct tm_entry {
    uintptr_t start, end;
    bool live;
};

static struct range_tree tt;
static struct tm_entry tm[TM_MAX];
static struct mm_check_report trep;

static uint64_t tm_rng;

static uint64_t tm_rand(void)
{
    uint64_t z = (tm_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uintptr_t tm_addr(void) { return TM_LO + (uintptr_t)(tm_rand() % (TM_UNITS + 1)) * TM_UNIT; }

/* The live model entry that contains @a / ends first above @a / starts last below @a. */
static struct tm_entry *tm_find(uintptr_t a)
{
    for (unsigned int i = 0; i < TM_MAX; i++)
        if (tm[i].live && tm[i].start <= a && a < tm[i].end)
            return &tm[i];
    return NULL;
}

static struct tm_entry *tm_find_after(uintptr_t a)
{
    struct tm_entry *best = NULL;
    for (unsigned int i = 0; i < TM_MAX; i++)
        if (tm[i].live && tm[i].end > a && (!best || tm[i].start < best->start))
            best = &tm[i];
    return best;
}

static struct tm_entry *tm_find_before(uintptr_t a)
{
    struct tm_entry *best = NULL;
    for (unsigned int i = 0; i < TM_MAX; i++)
        if (tm[i].live && tm[i].start < a && (!best || tm[i].start > best->start))
            best = &tm[i];
    return best;
}

static bool tm_overlaps(uintptr_t s, uintptr_t e, const struct tm_entry *skip)
{
    for (unsigned int i = 0; i < TM_MAX; i++)
        if (tm[i].live && &tm[i] != skip && tm[i].start < e && s < tm[i].end)
            return true;
    return false;
}

static unsigned long tm_count(void)
{
    unsigned long n = 0;
    for (unsigned int i = 0; i < TM_MAX; i++)
        n += tm[i].live;
    return n;
}

/*
 * The model's lowest (@high false) or highest free gap in [lo, hi) holding @size at @align: one
 * pass over the units (random ops keep every range and window on unit boundaries).
 */
static bool tm_gap(uintptr_t lo, uintptr_t hi, size_t size, uintptr_t align, bool high,
                   struct rtree_gap *g)
{
    static struct tm_entry *own[TM_UNITS + 1];
    bool found = false;
    for (unsigned long u = 0; u < TM_UNITS; u++)
        own[u] = NULL;
    for (unsigned int i = 0; i < TM_MAX; i++)
        for (uintptr_t a = tm[i].start; tm[i].live && a < tm[i].end; a += TM_UNIT)
            own[(a - TM_LO) / TM_UNIT] = &tm[i];
    unsigned long u = 0;
    while (u < TM_UNITS) {
        if (own[u]) {
            u++;
            continue;
        }
        unsigned long v = u;
        while (v < TM_UNITS && !own[v])
            v++;
        uintptr_t gs = MM_MAX(TM_LO + u * TM_UNIT, lo), ge = TM_LO + v * TM_UNIT;
        struct tm_entry *above = v < TM_UNITS ? own[v] : NULL;
        ge = ge < hi ? ge : hi;
        bool fits = ge > gs && ge - gs >= size &&
                    (high ? MM_ALIGN_DOWN(ge - size, align) >= gs
                          : MM_ALIGN_UP(gs, align) + size <= ge);
        if (fits) {
            *g = (struct rtree_gap){ gs, ge, above };
            found = true;
            if (!high)
                return true;
        }
        u = v;
    }
    return found;
}

/* ---- helpers ---- */

static int tree_valid(void)
{
    if (check_range_tree(&tt, "test tree", NULL, NULL, &trep))
        KT_FAIL("check_range_tree: %s: %s", trep.invariant, trep.detail);
    KT_ASSERT_EQ(tt.count, tm_count());
    return 0;
}

static int tree_setup(uint64_t seed)
{
    if (kt_boot_small(32, 1, true))
        return 1;
    rtree_init(&tt, TM_LO, TM_HI, &tree_ops);
    memset(tm, 0, sizeof(tm));
    tree_nodes = 0;
    tm_rng = seed;
    return 0;
}

static int tree_teardown(void)
{
    rtree_destroy(&tt);
    KT_ASSERT_EQ(tree_nodes, 0);
    KT_MM_CHECK();
    return 0;
}

/* ---- random operations against the model ---- */

static int tm_op_insert(void)
{
    unsigned int slot = (unsigned int)(tm_rand() % TM_MAX);
    if (tm[slot].live)
        return 0;
    uintptr_t s = tm_addr(), len = (uintptr_t)(1 + tm_rand() % 8) * TM_UNIT;
    bool ok = s + len <= TM_HI && !tm_overlaps(s, s + len, NULL);
    void *prev = (void *)1;
    int err = rtree_insert_range(&tt, s, s + len, &tm[slot], GFP_KERNEL, &prev);
    KT_ASSERT_MSG(err == (ok ? 0 : -MM_EINVAL), "insert [0x%lx, 0x%lx): %d", (unsigned long)s,
                  (unsigned long)(s + len), err);
    if (!ok)
        return 0;
    KT_ASSERT_EQ(prev, tm_find_before(s));
    tm[slot] = (struct tm_entry){ s, s + len, true };
    return 0;
}

static int tm_op_erase(void)
{
    struct tm_entry *e = &tm[tm_rand() % TM_MAX];
    if (!e->live) {
        uintptr_t a = tm_addr();
        struct tm_entry *c = tm_find(a);
        KT_ASSERT_EQ(rtree_erase_range(&tt, a), c && c->start == a ? c : NULL);
        if (c && c->start == a)
            c->live = false;
        return 0;
    }
    KT_ASSERT_EQ(rtree_erase_range(&tt, e->start), e);
    e->live = false;
    return 0;
}

/* Grow, shrink or shift a live entry in place; refused exactly when it would overlap. */
static int tm_op_set(void)
{
    struct tm_entry *e = &tm[tm_rand() % TM_MAX];
    if (!e->live)
        return 0;
    long ds = (long)(tm_rand() % 5) - 2, de = (long)(tm_rand() % 5) - 2;
    uintptr_t s = e->start + (uintptr_t)(ds * (long)TM_UNIT), en = e->end + (uintptr_t)(de * (long)TM_UNIT);
    bool ok = s < en && s >= TM_LO && en <= TM_HI && !tm_overlaps(s, en, e);
    int err = rtree_set_range(&tt, e->start, s, en);
    KT_ASSERT_EQ(err, ok ? 0 : -MM_EINVAL);
    if (ok) {
        e->start = s;
        e->end = en;
    }
    return 0;
}

static int tm_op_lookup(void)
{
    uintptr_t a = tm_addr();
    KT_ASSERT_EQ(rtree_find(&tt, a), tm_find(a));
    KT_ASSERT_EQ(rtree_find_after(&tt, a), tm_find_after(a));
    KT_ASSERT_EQ(rtree_find_before(&tt, a), tm_find_before(a));
    struct tm_entry *e = tm_find_after(a);
    if (e) {
        KT_ASSERT_EQ(rtree_next(&tt, e->start), tm_find_after(e->end));
        KT_ASSERT_EQ(rtree_prev(&tt, e->start), tm_find_before(e->start));
    }
    return 0;
}

static int tm_op_gap(void)
{
    uintptr_t lo = tm_addr(), hi = tm_addr(), align = TM_UNIT << (tm_rand() % 4);
    size_t size = (size_t)(1 + tm_rand() % 24) * TM_UNIT;
    if (lo > hi) {
        uintptr_t x = lo;
        lo = hi;
        hi = x;
    }
    for (int high = 0; high < 2; high++) {
        struct rtree_gap got = { 0 }, want = { 0 };
        bool f = high ? rtree_gap_highest(&tt, lo, hi, size, align, &got)
                      : rtree_gap_lowest(&tt, lo, hi, size, align, &got);
        bool w = tm_gap(lo, hi, size, align, high, &want);
        KT_ASSERT_MSG(f == w, "%s gap of 0x%zx in [0x%lx, 0x%lx): tree %d, model %d",
                      high ? "highest" : "lowest", size, (unsigned long)lo, (unsigned long)hi, f, w);
        if (f && (got.start != want.start || got.end != want.end || got.above != want.above))
            KT_FAIL("%s gap: tree [0x%lx, 0x%lx) above %p, model [0x%lx, 0x%lx) above %p",
                    high ? "highest" : "lowest", (unsigned long)got.start, (unsigned long)got.end,
                    got.above, (unsigned long)want.start, (unsigned long)want.end, want.above);
    }
    return 0;
}

static int tm_run(unsigned int nops, unsigned int insert_weight)
{
    for (unsigned int i = 0; i < nops; i++) {
        unsigned int k = (unsigned int)(tm_rand() % (insert_weight + 5));
        if (k < insert_weight)
            KT_TRY(tm_op_insert());
        else if (k == insert_weight)
            KT_TRY(tm_op_erase());
        else if (k == insert_weight + 1)
            KT_TRY(tm_op_set());
        else if (k == insert_weight + 2)
            KT_TRY(tm_op_gap());
        else
            KT_TRY(tm_op_lookup());
        if (i % 8 == 0)
            KT_TRY(tree_valid());
    }
    return tree_valid();
}

/* ---- cases ---- */

/* Random inserts, erases, moves, lookups and gap searches from three seeds agree with the model;
 * the tree grows to several levels, then empties again without leaking a node. */
static int test_random_vs_model(void)
{
    static const uint64_t seeds[] = { 1, 0x5eed, 0xfeedbeef };
    for (unsigned int s = 0; s < MM_ARRAY_SIZE(seeds); s++) {
        KT_TRY(tree_setup(seeds[s]));
        KT_TRY(tm_run(3000, 6)); /* insert-heavy: grows */
        KT_ASSERT_GE(tt.depth, 3u);
        KT_TRY(tm_run(3000, 1)); /* erase-heavy: shrinks */
        for (unsigned int i = 0; i < TM_MAX; i++)
            if (tm[i].live) {
                KT_ASSERT_EQ(rtree_erase_range(&tt, tm[i].start), &tm[i]);
                tm[i].live = false;
                if (i % 16 == 0)
                    KT_TRY(tree_valid());
            }
        KT_ASSERT_EQ(tt.depth, 0u);
        KT_ASSERT_NULL(tt.root);
        KT_TRY(tree_teardown());
    }
    return 0;
}

/* Sequential inserts at either end (mmap's top-down pattern, a heap's bottom-up) and erases. */
static int test_sequential(void)
{
    KT_TRY(tree_setup(7));
    for (unsigned int i = 0; i < TM_MAX; i++) {
        uintptr_t s = TM_HI - (i + 1) * 2 * TM_UNIT; /* descending, one unit apart */
        KT_ASSERT_OK(rtree_insert_range(&tt, s, s + TM_UNIT, &tm[i], GFP_KERNEL, NULL));
        tm[i] = (struct tm_entry){ s, s + TM_UNIT, true };
    }
    KT_TRY(tree_valid());
    KT_TRY(tm_op_gap());
    for (unsigned int i = 0; i < TM_MAX; i += 2) {
        KT_ASSERT_EQ(rtree_erase_range(&tt, tm[i].start), &tm[i]);
        tm[i].live = false;
    }
    KT_TRY(tree_valid());
    for (unsigned int i = 1; i < TM_MAX; i += 2) {
        KT_ASSERT_EQ(rtree_erase_range(&tt, tm[i].start), &tm[i]);
        tm[i].live = false;
    }
    KT_TRY(tree_valid());
    return tree_teardown();
}

/* The edges: empty and outside ranges, the space's first and last byte, empty trees. */
static int test_boundaries(void)
{
    struct rtree_gap g;
    KT_TRY(tree_setup(3));
    KT_ASSERT_NULL(rtree_find(&tt, TM_LO));
    KT_ASSERT_NULL(rtree_erase_range(&tt, TM_LO));
    KT_ASSERT_ERR(rtree_set_range(&tt, TM_LO, TM_LO, TM_LO + 1), MM_EINVAL);
    KT_ASSERT_TRUE(rtree_gap_lowest(&tt, 0, ~0ul, TM_UNITS * TM_UNIT, TM_UNIT, &g));
    KT_ASSERT_EQ(g.start, TM_LO);
    KT_ASSERT_EQ(g.end, TM_HI);
    KT_ASSERT_NULL(g.above);
    KT_ASSERT_FALSE(rtree_gap_highest(&tt, 0, ~0ul, TM_UNITS * TM_UNIT + 1, 1, &g));
    KT_ASSERT_EQ(rtree_largest_gap(&tt), TM_HI - TM_LO);
    KT_ASSERT_ERR(rtree_insert_range(&tt, TM_LO, TM_LO, &tm[0], GFP_KERNEL, NULL), MM_EINVAL);
    KT_ASSERT_ERR(rtree_insert_range(&tt, TM_LO - 1, TM_LO + 1, &tm[0], GFP_KERNEL, NULL), MM_EINVAL);
    KT_ASSERT_ERR(rtree_insert_range(&tt, TM_HI - 1, TM_HI + 1, &tm[0], GFP_KERNEL, NULL), MM_EINVAL);
    KT_ASSERT_ERR(rtree_insert_range(&tt, TM_LO, TM_HI, NULL, GFP_KERNEL, NULL), MM_EINVAL);
    KT_ASSERT_OK(rtree_insert_range(&tt, TM_LO, TM_LO + 1, &tm[0], GFP_KERNEL, NULL));
    KT_ASSERT_OK(rtree_insert_range(&tt, TM_HI - 1, TM_HI, &tm[1], GFP_KERNEL, NULL));
    tm[0] = (struct tm_entry){ TM_LO, TM_LO + 1, true };
    tm[1] = (struct tm_entry){ TM_HI - 1, TM_HI, true };
    KT_ASSERT_ERR(rtree_insert_range(&tt, TM_LO, TM_LO + 2, &tm[2], GFP_KERNEL, NULL), MM_EINVAL);
    KT_ASSERT_ERR(rtree_insert_range(&tt, TM_HI - 2, TM_HI - 1 + 1, &tm[2], GFP_KERNEL, NULL),
                  MM_EINVAL);
    KT_ASSERT_EQ(rtree_find(&tt, TM_HI - 1), &tm[1]);
    KT_ASSERT_NULL(rtree_find(&tt, TM_HI));
    KT_ASSERT_EQ(rtree_find_after(&tt, TM_HI - 1), &tm[1]);
    KT_ASSERT_NULL(rtree_find_after(&tt, TM_HI));
    KT_ASSERT_NULL(rtree_find_before(&tt, TM_LO));
    KT_ASSERT_NULL(rtree_find_before(&tt, 0));
    KT_ASSERT_NULL(rtree_next(&tt, TM_HI - 1));
    KT_ASSERT_EQ(rtree_next(&tt, TM_LO), &tm[1]);
    KT_ASSERT_EQ(rtree_largest_gap(&tt), TM_HI - 1 - (TM_LO + 1));
    /* a gap exactly as large as the request, at both ends of the window */
    KT_ASSERT_TRUE(rtree_gap_highest(&tt, TM_LO, TM_HI, TM_HI - 1 - (TM_LO + 1), 1, &g));
    KT_ASSERT_EQ(g.start, TM_LO + 1);
    KT_ASSERT_EQ(g.above, &tm[1]);
    KT_ASSERT_ERR(rtree_set_range(&tt, TM_LO, TM_LO, TM_HI), MM_EINVAL); /* would overlap */
    KT_ASSERT_OK(rtree_set_range(&tt, TM_LO, TM_LO, TM_HI - 1));          /* touches: fine */
    tm[0].end = TM_HI - 1;
    KT_ASSERT_EQ(rtree_largest_gap(&tt), 0ul);
    KT_ASSERT_FALSE(rtree_gap_lowest(&tt, TM_LO, TM_HI, 1, 1, &g));
    KT_TRY(tree_valid());
    return tree_teardown();
}

/* Walk to the leaf that holds the entry starting at @start (for the failure test). */
static const struct rtree_node *tree_leaf_of(uintptr_t start)
{
    const struct rtree_node *n = tt.root;
    while (n && !n->leaf) {
        unsigned int i = n->count;
        while (i > 1 && n->start[i - 1] > start)
            i--;
        n = n->slot[i - 1];
    }
    return n;
}

/* An insert that needs a node it cannot get fails with -MM_ENOMEM and changes nothing; one that
 * needs none succeeds under the same injection; preallocated inserts cannot fail. */
static int test_alloc_failure(void)
{
    KT_TRY(tree_setup(11));
    unsigned int n = 0;
    /* ascending entries two units apart until the last leaf is full with no sibling room */
    while (n < TM_MAX && !(tt.depth == 1 && tt.count == RTREE_FANOUT)) {
        uintptr_t s = TM_LO + n * 2 * TM_UNIT;
        KT_ASSERT_OK(rtree_insert_range(&tt, s, s + TM_UNIT, &tm[n], GFP_KERNEL, NULL));
        tm[n++] = (struct tm_entry){ s, s + TM_UNIT, true };
    }
    KT_ASSERT_EQ(tree_leaf_of(tm[0].start)->count, (unsigned int)RTREE_FANOUT);
    rtree_trim_reserve(&tt, 0);
    long nodes = tree_nodes;
    page_alloc_fail_inject(0, 1000);
    uintptr_t s = TM_LO + n * 2 * TM_UNIT;
    KT_ASSERT_ERR(rtree_insert_range(&tt, s, s + TM_UNIT, &tm[n], GFP_KERNEL, NULL), MM_ENOMEM);
    KT_ASSERT_ERR(rtree_preallocate(&tt, 2, GFP_KERNEL), MM_ENOMEM);
    page_alloc_fail_inject(0, 0);
    KT_ASSERT_EQ(tree_nodes, nodes);
    KT_ASSERT_EQ(tt.nr_reserve, 0u);
    KT_ASSERT_EQ(tt.depth, 1u);
    KT_TRY(tree_valid());
    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_EQ(rtree_find(&tt, tm[i].start), &tm[i]);
    /* erase one: the leaf has room, so the insert needs no node even while every page fails */
    KT_ASSERT_EQ(rtree_erase_range(&tt, tm[3].start), &tm[3]);
    tm[3].live = false;
    page_alloc_fail_inject(0, 1000);
    KT_ASSERT_OK(rtree_insert_range(&tt, s, s + TM_UNIT, &tm[n], GFP_KERNEL, NULL));
    tm[n++] = (struct tm_entry){ s, s + TM_UNIT, true };
    page_alloc_fail_inject(0, 0);
    /* preallocated: two inserts that split succeed while allocation fails */
    KT_ASSERT_OK(rtree_preallocate(&tt, 2, GFP_KERNEL));
    page_alloc_fail_inject(0, 1000);
    for (unsigned int k = 0; k < 2; k++, n++) {
        s = TM_LO + n * 2 * TM_UNIT;
        KT_ASSERT_OK(rtree_insert_range(&tt, s, s + TM_UNIT, &tm[n], GFP_KERNEL, NULL));
        tm[n] = (struct tm_entry){ s, s + TM_UNIT, true };
    }
    page_alloc_fail_inject(0, 0);
    KT_ASSERT_EQ(tt.depth, 2u);
    KT_TRY(tree_valid());
    return tree_teardown();
}

/* mm_check (check_range_tree) names each kind of damage; restored, the tree is valid again. */
static int tree_expect(const char *inv)
{
    KT_ASSERT_ERR(check_range_tree(&tt, "test tree", NULL, NULL, &trep), MM_ECORRUPT);
    KT_ASSERT_MSG(ktest_strcmp(trep.invariant, inv) == 0, "named %s (%s), expected %s",
                  trep.invariant, trep.detail, inv);
    return 0;
}

static int test_validator(void)
{
    KT_TRY(tree_setup(13));
    KT_TRY(tm_run(3000, 8));
    KT_ASSERT_GE(tt.depth, 2u);
    struct rtree_node *root = tt.root, *leaf = (struct rtree_node *)tree_leaf_of(TM_HI);
    uintptr_t saved = leaf->gap[1];
    leaf->gap[1] += TM_UNIT;
    KT_TRY(tree_expect("tree.gap"));
    leaf->gap[1] = saved;
    saved = root->start[1];
    root->start[1] += 1;
    KT_TRY(tree_expect("tree.key"));
    root->start[1] = saved;
    saved = leaf->end[0];
    leaf->end[0] = leaf->start[1] + 1; /* overlaps its successor */
    KT_TRY(tree_expect("tree.order"));
    leaf->end[0] = saved;
    tt.depth++;
    KT_TRY(tree_expect("tree.depth"));
    tt.depth--;
    uint8_t c = leaf->count;
    leaf->count = RTREE_MIN_FILL - 1;
    KT_TRY(tree_expect("tree.fill"));
    leaf->count = c;
    tt.count++;
    KT_TRY(tree_expect("tree.order"));
    tt.count--;
    KT_TRY(tree_valid());
    return tree_teardown();
}

/* Through address spaces: thousands of VMAs, mmap under injected failure, vmalloc areas. */
static int test_vma_tree(void)
{
    KT_ASSERT_OK(kt_boot_small(32, 1, false));
    struct mm_struct *mm = mm_create();
    KT_ASSERT_NOT_NULL(mm);
    for (unsigned int i = 0; i < 3000; i++) {
        unsigned int prot = (i & 1) ? PROT_READ : PROT_READ | PROT_EXEC;
        KT_ASSERT_GT(do_mmap(mm, 0, PAGE_SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0), 0);
    }
    KT_ASSERT_EQ(mm->map_count, 3000ul);
    KT_ASSERT_GE(mm->tree.depth, 3u);
    KT_MM_CHECK();
    /* every allocation fails: mmap and a splitting munmap fail cleanly, or need no memory */
    page_alloc_fail_inject(0, 1u << 30);
    for (unsigned int i = 0; i < 64; i++) {
        long a = do_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         NULL, 0);
        KT_ASSERT_MSG(a > 0 || a == -MM_ENOMEM, "do_mmap = %ld", a);
        if (a > 0)
            KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a, 2 * PAGE_SIZE));
    }
    page_alloc_fail_inject(0, 0);
    KT_MM_CHECK();
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

/* The vmalloc tree: vmalloc_check (and so mm_check) names damage to it, and to its agreement
 * with the area list. */
static int test_vmalloc_tree(void)
{
    KT_ASSERT_OK(kt_boot_small(32, 1, false));
    void *a = vmalloc(3 * PAGE_SIZE), *b = vmalloc(PAGE_SIZE);
    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    KT_ASSERT_OK(vmalloc_check(&trep));
    struct range_tree *t = &mm_state.vmalloc.tree;
    struct rtree_node *leaf = t->root;
    KT_ASSERT_EQ(t->depth, 1u);
    KT_ASSERT_EQ(leaf->count, 2u);
    leaf->gap[1] += PAGE_SIZE;
    KT_ASSERT_ERR(vmalloc_check(&trep), MM_ECORRUPT);
    KT_ASSERT_MSG(ktest_strcmp(trep.invariant, "tree.gap") == 0, "named %s", trep.invariant);
    leaf->gap[1] -= PAGE_SIZE;
    void *slot = leaf->slot[0];
    leaf->slot[0] = leaf->slot[1];
    KT_ASSERT_ERR(mm_check(&trep), MM_ECORRUPT);
    KT_ASSERT_MSG(ktest_strcmp(trep.invariant, "vmalloc.tree") == 0, "named %s", trep.invariant);
    leaf->slot[0] = slot;
    KT_ASSERT_OK(vfree(a));
    KT_ASSERT_OK(vfree(b));
    KT_ASSERT_EQ(t->count, 0ul);
    KT_MM_CHECK();
    return 0;
}

/* The node cache exists once boot returns, before any tree grows: CPUs growing trees of different
 * address spaces under different locks must not race to create it (regression: TSan in CI). */
static int test_node_cache_at_boot(void)
{
    KT_ASSERT_OK(kt_boot_small(32, 2, false));
    KT_ASSERT_NOT_NULL(mm_state.vm.tree_cache);
    KT_ASSERT_EQ(mm_state.vmalloc.tree.count, 0ul);
    KT_ASSERT_EQ(mm_state.vm.tree_cache->magic, KMEM_CACHE_MAGIC);
    return 0;
}

static const struct ktest_case range_tree_cases[] = {
    KT_CASE(random_vs_model),
    KT_CASE(sequential),
    KT_CASE(boundaries),
    KT_CASE(alloc_failure),
    KT_CASE(validator),
    KT_CASE(vma_tree),
    KT_CASE(vmalloc_tree),
    KT_CASE(node_cache_at_boot),
};
KT_SUITE(range_tree, range_tree_cases);
