/*
 * target_page_alloc.c - fuzz target "page_alloc": random op sequences through the buddy allocator,
 * per-CPU lists, watermarks, reclaim and the shrinker registry, with a shadow model that checks
 * every result.
 *
 * Shadow state (one instance, reset at the start of every input):
 *
 *   live[]      blocks the harness holds, oldest first; "h=K" means live[K % nr_live]
 *               { tag, pfn, order, refs }   tag = allocation number, keys the content pattern
 *   pool        order-0 pages held by the test shrinker (FIFO ring), freed by its scan callback
 *   owner[pfn]  tag of the harness block covering pfn, 0 = not ours  (catches overlaps at once)
 *   grave[]     recently freed blocks: stale pointers for "misuse double-free"
 *
 * Invariants checked after every op: free pages + pages the harness holds == free pages at boot;
 * the misuse counter moved only by injected misuse, by exactly one each; mm_check() when
 * fuzz_check_due() (every op in replay, every FUZZ_CHECK_EVERY_DEFAULT ops in the engines).
 * Every block carries a pattern tied to its tag (in replay the whole block up to PA_FULL_ORDER;
 * otherwise, and always in the engines, PA_SAMPLES words per page: pa_sample_words), verified at
 * free, on "check" and (page edges only) every PA_VERIFY_EVERY ops. At the end
 * everything is freed and the free page count must equal the boot value.
 *
 * NUMA (inputs with a topology record: ops.h): every block's struct page names the node whose
 * layout range holds it; "alloc node" and "kmalloc node" with a node that had room (a zone the gfp
 * allows with free memory at the order above its high mark plus reserve, read before the call)
 * must get memory of that node; a bad node is refused as misuse; numastat is judged by mm_check.
 *
 * Policies, judged apart from the mm's own tests: every successful allocation left the zone that
 * served it above the loosest watermark its gfp allows plus the lowmem reserve (pa_check_watermark,
 * from the zone decision the mm records); reclaim freed exactly the pages it reported; per-CPU
 * lists never exceed their high mark (mm_check's pcp.high).
 *
 * Digest (digest.h): every allocation's error code, every free's result, reclaim counts, the
 * error and reported kind of every injected misuse, the invariant a corruption was named by,
 * and the shrinker's scan totals at the end; never a pfn or an address.
 *
 * Freestanding-clean: machine boot and CPU switch go through fuzz_platform.
 */
#include "checker.h"
#include "../mm/internal.h"

#define PA_MAX_LIVE        1024
#define PA_POOL_CAP        FUZZ_MEM_MAX_PAGES
#define PA_GRAVE           32
#define PA_FULL_ORDER      2      /* blocks up to this order get a full pattern */
#define PA_VERIFY_EVERY    16
#define PA_WORDS_PER_PAGE  (PAGE_SIZE / 8)

#define PA_KINDS                                                                            \
    FOP_ALLOC, FOP_ALLOC, FOP_ALLOC, FOP_ALLOC, FOP_ALLOC, FOP_ALLOC,                       \
    FOP_FREE, FOP_FREE, FOP_FREE, FOP_FREE,                                                 \
    FOP_GET, FOP_CPU, FOP_CPU, FOP_DRAIN, FOP_FAILNEXT, FOP_RECLAIM, FOP_KSWAPD,            \
    FOP_CACHE_FILL, FOP_CACHE_BUSY, FOP_CHECK,                                              \
    FOP_MISUSE_DOUBLE_FREE, FOP_MISUSE_WRONG_ORDER, FOP_MISUSE_TAIL, FOP_MISUSE_BAD_ADDR,   \
    FOP_MISUSE_BAD_ORDER, FOP_MISUSE_BAD_FLAGS, FOP_MISUSE_GET_FREE,                        \
    FOP_CORRUPT, FOP_STATS

static const uint8_t pa_kinds[] = { PA_KINDS };

/* Inputs with a topology record (ops.h) run this table: the same ops and the node-aware ones. */
static const uint8_t pa_numa_kinds[] = {
    PA_KINDS,
    FOP_ALLOC_NODE, FOP_ALLOC_NODE, FOP_ALLOC_NODE, FOP_ALLOC_NODE, FOP_KMALLOC_NODE,
    FOP_KMALLOC_NODE,
};

static const struct fuzz_op_table pa_numa_table = { pa_numa_kinds, MM_ARRAY_SIZE(pa_numa_kinds), 0,
                                                    NULL };
static const struct fuzz_op_table pa_table = { pa_kinds, MM_ARRAY_SIZE(pa_kinds), 0, &pa_numa_table };

struct pa_block {
    uint32_t tag;
    uint32_t pfn;
    uint32_t order;
    int32_t refs;
};

struct pa_grave {
    uint32_t pfn, order, tag;
};

static struct pa_state {
    struct fuzz_machine m;
    struct fuzz_layout layout;
    struct pa_block live[PA_MAX_LIVE];
    uint32_t nr_live;
    uint32_t pool_pfn[PA_POOL_CAP], pool_tag[PA_POOL_CAP];
    uint32_t pool_head, pool_count;
    bool pool_busy;
    unsigned long scans, scanned;
    struct pa_grave grave[PA_GRAVE];
    uint32_t nr_grave, grave_next;
    uint32_t owner[FUZZ_MEM_MAX_PAGES];
    uint32_t next_tag;
    unsigned long owned;            /* pages in live blocks and the pool */
    unsigned long boot_free, boot_alloc;
    unsigned long zstart[MM_NR_ZONES], zend[MM_NR_ZONES];
    bool zpop[MM_NR_ZONES];
    unsigned long misuse_expected;
    unsigned long injected_seen;    /* counters.fail_injected last looked at */
    bool inj_known;                 /* model of failure injection is exact */
    unsigned long inj_skip, inj_count;
} pa_fz;

static struct shrinker pa_shrinker;

/* ---- reporting ---- */

_Noreturn static void pa_fail(const char *fmt, ...) MM_PRINTF(1, 2);

_Noreturn static void pa_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fuzz_fail_op(page_alloc_show, fmt, ap);
}

static void pa_fail_fn(const char *what) { pa_fail("%s", what); }

#define PA_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)

/* ---- content patterns ---- */

static inline uint64_t pa_pattern(uint32_t tag, uint64_t word)
{
    uint64_t x = (uint64_t)tag * 0x9e3779b97f4a7c15ull ^ (word + 1) * 0xd6e8feb86659fd93ull;
    return x ^ (x >> 31);
}

static uint64_t *pa_words(uint32_t pfn)
{
    return (uint64_t *)page_address(pfn_to_page(pfn));
}

/*
 * Which words of page @pg of a block carry the pattern. Replay (fuzz_check_every == 1: triage,
 * repro, the corpus) patterns every word of blocks up to PA_FULL_ORDER; the engines pattern
 * PA_SAMPLES words per page of every block: both edges, the second word (where a list link
 * written into a held page would land) and five words at offsets a hash of the tag and page
 * picks, so different allocations sample different words.
 */
#define PA_SAMPLES 8

static unsigned int pa_sample_words(uint32_t tag, uint64_t pg, uint64_t *idx)
{
    uint64_t base = pg * PA_WORDS_PER_PAGE, h = pa_pattern(~tag, pg);
    unsigned int k;

    idx[0] = base;
    idx[1] = base + 1;
    idx[2] = base + PA_WORDS_PER_PAGE - 1;
    for (k = 3; k < PA_SAMPLES; k++) {
        idx[k] = base + 2 + h % (PA_WORDS_PER_PAGE - 3);
        h = h / (PA_WORDS_PER_PAGE - 3) ^ (h << 53);
    }
    return PA_SAMPLES;
}

static bool pa_whole(uint32_t order)
{
    return fuzz_check_every <= 1 && order <= PA_FULL_ORDER;
}

FUZZ_VERIFY_FN static void pa_fill(uint32_t tag, uint32_t pfn, uint32_t order)
{
    uint64_t *w = pa_words(pfn), npages = 1ull << order, i, idx[PA_SAMPLES];
    unsigned int k, n;

    if (pa_whole(order)) {
        for (i = 0; i < npages * PA_WORDS_PER_PAGE; i++)
            w[i] = pa_pattern(tag, i);
        return;
    }
    for (i = 0; i < npages; i++)
        for (k = 0, n = pa_sample_words(tag, i, idx); k < n; k++)
            w[idx[k]] = pa_pattern(tag, idx[k]);
}

/* A block's holder as reports name it: @who, with the live handle when @handle >= 0. */
struct pa_who {
    const char *who;
    int handle;
};

_Noreturn static void pa_fail_word(struct pa_who who, uint32_t tag, uint32_t pfn,
                                   const uint64_t *w, uint64_t i)
{
    char name[32];

    if (who.handle >= 0)
        mm_snprintf(name, sizeof(name), "%s=%d", who.who, who.handle);
    else
        mm_snprintf(name, sizeof(name), "%s", who.who);
    pa_fail("pattern-mismatch %s tag=%u pfn=%u page=%u word=%u expected=0x%llx got=0x%llx",
            name, (unsigned int)tag, (unsigned int)pfn, (unsigned int)(i / PA_WORDS_PER_PAGE),
            (unsigned int)(i % PA_WORDS_PER_PAGE), (unsigned long long)pa_pattern(tag, i),
            (unsigned long long)w[i]);
}

/* The OR of (word ^ pattern) over words [0, @n) of @w: one branch per block, not per word. */
static uint64_t pa_diff(const uint64_t *w, uint32_t tag, uint64_t n)
{
    uint64_t acc = 0, i;

    for (i = 0; i < n; i++)
        acc |= w[i] ^ pa_pattern(tag, i);
    return acc;
}

/* The same over the words of page @pg that pa_verify checks: the samples when @full, else the
 * page's first and last word. Fills @idx with them and returns how many. */
static unsigned int pa_page_words(uint32_t tag, uint64_t pg, bool full, uint64_t *idx)
{
    if (full)
        return pa_sample_words(tag, pg, idx);
    idx[0] = pg * PA_WORDS_PER_PAGE;
    idx[1] = pg * PA_WORDS_PER_PAGE + PA_WORDS_PER_PAGE - 1;
    return 2;
}

/* Verify a block's pattern: every patterned word when @full, else the page edges. The comparison
 * is one OR-reduction per block; only a mismatch walks the words again to name the first. */
FUZZ_VERIFY_FN static void pa_verify_who(struct pa_who who, uint32_t tag, uint32_t pfn,
                                        uint32_t order, bool full)
{
    uint64_t *w = pa_words(pfn), npages = 1ull << order, i, acc = 0, idx[PA_SAMPLES];
    unsigned int k, n;

    if (full && pa_whole(order)) {
        if (mm_unlikely(pa_diff(w, tag, npages * PA_WORDS_PER_PAGE)))
            for (i = 0; i < npages * PA_WORDS_PER_PAGE; i++)
                if (w[i] != pa_pattern(tag, i))
                    pa_fail_word(who, tag, pfn, w, i);
        return;
    }
    for (i = 0; i < npages; i++)
        for (k = 0, n = pa_page_words(tag, i, full, idx); k < n; k++)
            acc |= w[idx[k]] ^ pa_pattern(tag, idx[k]);
    if (mm_likely(!acc))
        return;
    for (i = 0; i < npages; i++)
        for (k = 0, n = pa_page_words(tag, i, full, idx); k < n; k++)
            if (w[idx[k]] != pa_pattern(tag, idx[k]))
                pa_fail_word(who, tag, pfn, w, idx[k]);
}

static void pa_verify(const char *who, uint32_t tag, uint32_t pfn, uint32_t order, bool full)
{
    pa_verify_who((struct pa_who){ who, -1 }, tag, pfn, order, full);
}

static void pa_verify_all(bool full)
{
    uint32_t i;

    for (i = 0; i < pa_fz.nr_live; i++)
        pa_verify_who((struct pa_who){ "handle", (int)i }, pa_fz.live[i].tag, pa_fz.live[i].pfn,
                      pa_fz.live[i].order, full);
    for (i = 0; i < pa_fz.pool_count; i++) {
        uint32_t k = (pa_fz.pool_head + i) % PA_POOL_CAP;
        pa_verify("pool", pa_fz.pool_tag[k], pa_fz.pool_pfn[k], 0, full);
    }
}

/* ---- checks on what the allocator hands out ---- */

static bool pa_zone_allowed(gfp_t gfp, unsigned int zone)
{
    if (gfp & __GFP_DMA)
        return zone == ZONE_DMA;
    if (!(gfp & __GFP_HIGHMEM))
        return zone != ZONE_HIGHMEM;
    return zone < MM_NR_ZONES;
}

/* The block must lie inside one usable region and touch no reserve range of the layout. */
FUZZ_VERIFY_FN static void pa_check_layout(uint32_t pfn, uint32_t order)
{
    phys_addr_t s = MM_PFN_PHYS(pfn), e = MM_PFN_PHYS(pfn + (1u << order));
    const struct fuzz_layout *l = &pa_fz.layout;
    unsigned int i;
    bool inside = false;

    for (i = 0; i < l->nr_map; i++) {
        const struct mm_mem_region *r = &l->map[i];
        if (r->type == MM_MEM_USABLE && s >= r->base && e <= r->base + r->size)
            inside = true;
        if (r->type != MM_MEM_USABLE && s < r->base + r->size && r->base < e)
            pa_fail("alloc-in-hole pfn=%u order=%u region=[0x%llx,+0x%llx)", (unsigned int)pfn,
                    (unsigned int)order, (unsigned long long)r->base,
                    (unsigned long long)r->size);
    }
    if (!inside)
        pa_fail("alloc-outside-usable pfn=%u order=%u", (unsigned int)pfn, (unsigned int)order);
    for (i = 0; i < l->nr_reserve; i++) {
        const struct mm_mem_region *r = &l->reserve[i];
        if (s < r->base + r->size && r->base < e)
            pa_fail("alloc-in-reserved pfn=%u order=%u reserve=[0x%llx,+0x%llx)",
                    (unsigned int)pfn, (unsigned int)order, (unsigned long long)r->base,
                    (unsigned long long)r->size);
    }
}

static void pa_check_head(const struct page *p, uint32_t order, int32_t refs, const char *when)
{
    unsigned long pfn = page_to_pfn(p);

    if (!(p->flags & PG_head) || (p->flags & (PG_buddy | PG_pcp | PG_reserved)))
        pa_fail("bad-head-state %s pfn=%lu flags=0x%x", when, pfn, (unsigned int)p->flags);
    if (p->order != order)
        pa_fail("bad-head-order %s pfn=%lu order=%u expected=%u", when, pfn,
                (unsigned int)p->order, (unsigned int)order);
    if (p->refcount != refs)
        pa_fail("bad-refcount %s pfn=%lu refcount=%d expected=%d", when, pfn, (int)p->refcount,
                (int)refs);
}

/* Everything a freshly allocated block must satisfy; then fill it and take ownership. */
/* A block just handed out (its head, zone and range checked by the caller): tails carry no
 * state, no page is already held, __GFP_ZERO zeroed all of it (one OR over the block, the words
 * walked only to name the first bad one). Verification only: in the coverage ignorelist. */
FUZZ_VERIFY_FN static void pa_check_fresh(struct page *p, unsigned long pfn, uint32_t order,
                                         gfp_t gfp)
{
    unsigned long i, n = 1ul << order;
    uint32_t held = 0;
    unsigned int tails = 0;

    for (i = 1; i < n; i++)
        tails |= p[i].flags & (PG_head | PG_buddy | PG_pcp | PG_reserved);
    if (mm_unlikely(tails))
        for (i = 1; i < n; i++)
            if (p[i].flags & (PG_head | PG_buddy | PG_pcp | PG_reserved))
                pa_fail("alloc-tail-state pfn=%lu tail=%lu flags=0x%x", pfn, pfn + i,
                        (unsigned int)p[i].flags);
    for (i = 0; i < n; i++)
        held |= pa_fz.owner[pfn + i];
    if (mm_unlikely(held))
        for (i = 0; i < n; i++)
            if (pa_fz.owner[pfn + i])
                pa_fail("overlap pfn=%lu order=%u page %lu already held by tag=%u", pfn,
                        (unsigned int)order, pfn + i, (unsigned int)pa_fz.owner[pfn + i]);
    if (gfp & __GFP_ZERO) {
        const uint64_t *w = page_address(p);
        uint64_t acc = 0;
        for (i = 0; i < n * PA_WORDS_PER_PAGE; i++)
            acc |= w[i];
        if (mm_unlikely(acc))
            for (i = 0; i < n * PA_WORDS_PER_PAGE; i++)
                if (w[i])
                    pa_fail("not-zeroed pfn=%lu order=%u byte=%lu value=0x%llx", pfn,
                            (unsigned int)order, i * 8, (unsigned long long)w[i]);
    }
}

/* The node whose layout range holds @pfn (the topology's own rule, restated). */
static unsigned int pa_layout_node(unsigned long pfn)
{
    const struct mm_numa_topology *t = &pa_fz.layout.numa;
    unsigned int nid = 0;

    for (unsigned int i = 1; i < t->nr_nodes; i++)
        if (MM_PFN_PHYS(pfn) >= t->node_start[i])
            nid = i;
    return nid;
}

static void pa_take_new(struct page *p, uint32_t order, gfp_t gfp, uint32_t tag)
{
    unsigned long pfn, i, n = 1ul << order;
    unsigned int z;

    if (!page_pointer_valid(p))
        pa_fail("alloc-bad-page page=%p", (void *)p);
    pfn = page_to_pfn(p);
    if (pfn + n > mm_max_pfn || pfn + n > pa_fz.m.mem_pages)
        pa_fail("alloc-out-of-range pfn=%lu order=%u max_pfn=%lu", pfn, (unsigned int)order,
                mm_max_pfn);
    if (pfn & (n - 1))
        pa_fail("alloc-misaligned pfn=%lu order=%u", pfn, (unsigned int)order);
    pa_check_head(p, order, 1, "after-alloc");
    z = p->zone;
    if (z >= MM_NR_ZONES || !pa_zone_allowed(gfp, z))
        pa_fail("alloc-wrong-zone pfn=%lu zone=%u gfp=0x%x", pfn, z, (unsigned int)gfp);
    if (pfn < pa_fz.zstart[z] || pfn + n > pa_fz.zend[z])
        pa_fail("alloc-crosses-zone pfn=%lu order=%u zone=%u span=[%lu,%lu)", pfn,
                (unsigned int)order, z, pa_fz.zstart[z], pa_fz.zend[z]);
    pa_check_fresh(p, pfn, order, gfp);
    pa_check_layout((uint32_t)pfn, order);
    if (pa_fz.layout.has_numa && p->node != pa_layout_node(pfn))
        pa_fail("numa-page-node pfn=%lu node=%u: the layout puts it on node %u", pfn,
                (unsigned int)p->node, pa_layout_node(pfn));
    for (i = 0; i < n; i++)
        pa_fz.owner[pfn + i] = tag;
    pa_fz.owned += n;
    pa_fill(tag, (uint32_t)pfn, order);
}

static void pa_release_owner(uint32_t pfn, uint32_t order)
{
    unsigned long i, n = 1ul << order;

    for (i = 0; i < n; i++)
        pa_fz.owner[pfn + i] = 0;
    pa_fz.owned -= n;
}

/* ---- failure injection model and ENOMEM plausibility ---- */

/* Account one valid allocation attempt; returns true if the model says it must fail. */
static bool pa_inject_step(void)
{
    if (!pa_fz.inj_known)
        return false;
    if (pa_fz.inj_skip) {
        pa_fz.inj_skip--;
        return false;
    }
    if (pa_fz.inj_count) {
        pa_fz.inj_count--;
        return true;
    }
    return false;
}

/* The zone @gfp prefers (the mm's gfp_high_zone rule, restated: the oracle does not call the mm). */
static unsigned int pa_gfp_top_zone(gfp_t gfp)
{
    return (gfp & __GFP_DMA) ? ZONE_DMA : (gfp & __GFP_HIGHMEM) ? ZONE_HIGHMEM : ZONE_NORMAL;
}

/*
 * After a failed allocation that was not injected: the gfp's preferred zone may not have a free
 * block of the order with free memory at orders >= it above the high watermark. (Fallback zones
 * are not judged: they keep a lowmem reserve from fallbacks that the stats do not show.)
 */
static void pa_check_enomem(gfp_t gfp, uint32_t order, bool must_fail)
{
    static struct page_alloc_stats st;
    unsigned int z, o;

    page_alloc_get_stats(&st);
    if (st.counters.fail_injected != pa_fz.injected_seen) {
        if (st.counters.fail_injected != pa_fz.injected_seen + 1)
            pa_fail("fail-injected-count jumped from %lu to %lu", pa_fz.injected_seen,
                    st.counters.fail_injected);
        pa_fz.injected_seen = st.counters.fail_injected;
        return;
    }
    if (must_fail)
        pa_fail("failinject-miscounted: failure expected to be injected, counter unchanged");
    z = pa_gfp_top_zone(gfp);
    for (unsigned int nid = 0; nid < st.nr_nodes; nid++) { /* every node failed it */
        const struct node_stats *ns = &st.node[nid];
        unsigned long usable = 0, high = mm_state.phys.node[nid].zones[z].wmark[WMARK_HIGH];
        bool block = false;
        if (!ns->zone_managed[z])
            continue;
        for (o = order; o < MM_NR_ORDERS; o++) {
            usable += ns->nr_free_blocks[z][o] << o;
            block |= ns->nr_free_blocks[z][o] != 0;
        }
        if (block && usable >= high + (1ul << order) + (1ul << order))
            pa_fail("spurious-enomem order=%u gfp=0x%x node=%u zone=%s free_at_order=%lu "
                    "wmark_high=%lu", (unsigned int)order, (unsigned int)gfp, nid, zone_name(z),
                    usable, high);
    }
}

/*
 * The watermark policy, judged apart from the mm's own test: the zone that served @p was, at the
 * decision (page_alloc_last_decision: its buddy free count read before the pages were taken),
 * above the loosest watermark @gfp allows - the min mark, halved for __GFP_HIGH and cut by a
 * quarter more for __GFP_ATOMIC - plus the lowmem reserve it keeps from the gfp's preferred zone.
 */
static void pa_check_watermark(gfp_t gfp, uint32_t order, struct page *p, unsigned long seq0)
{
    struct page_alloc_decision d;
    page_alloc_last_decision(env_cpu_id(), &d);
    if (d.seq == seq0)
        pa_fail("watermark-unrecorded order=%u gfp=0x%x: an allocation with no zone decision",
                (unsigned int)order, (unsigned int)gfp);
    if (d.zone >= MM_NR_ZONES || d.node >= mm_nr_nodes())
        pa_fail("watermark-decision zone index %u node %u", d.zone, d.node);
    const struct zone *z = &mm_state.phys.node[d.node].zones[d.zone];
    unsigned long pfn = page_to_pfn(p);
    if (d.order != order || pfn < z->start_pfn || pfn >= z->end_pfn)
        pa_fail("watermark-decision order=%u gfp=0x%x: decision says zone %s order %u, page pfn 0x%lx",
                (unsigned int)order, (unsigned int)gfp, zone_name(d.zone), d.order, pfn);
    unsigned int top = pa_gfp_top_zone(gfp);
    long mark = (long)z->wmark[WMARK_MIN];
    if (gfp & __GFP_HIGH)
        mark -= mark / 2;
    if (gfp & __GFP_ATOMIC)
        mark -= mark / 4;
    long left = (long)d.nr_free - (long)((1ul << order) - 1);
    if (left <= mark + (long)z->lowmem_reserve[top])
        pa_fail("watermark-breached order=%u gfp=0x%x zone=%s: %ld free after the block, min mark %ld "
                "+ reserve %lu", (unsigned int)order, (unsigned int)gfp, zone_name(d.zone), left, mark,
                z->lowmem_reserve[top]);
}

/*
 * One valid allocation through page_alloc_try or __get_free_pages. Returns the page or NULL
 * (-ENOMEM, checked for plausibility); any other outcome is a failure.
 */
static struct page *pa_alloc_one(gfp_t gfp, uint32_t order, uint32_t via)
{
    bool must_fail = pa_inject_step();
    struct page *p = NULL;
    struct page_alloc_decision d0;
    int err;

    page_alloc_last_decision(env_cpu_id(), &d0);

    if (via == FUZZ_VIA_ADDR) {
        uintptr_t addr = __get_free_pages(gfp, order);
        err = addr ? 0 : -MM_ENOMEM;
        if (addr) {
            p = virt_to_page((void *)addr);
            if (!p || page_address(p) != (void *)addr)
                pa_fail("get_free_pages-bad-address addr=0x%lx page=%p", (unsigned long)addr,
                        (void *)p);
        }
    } else {
        err = page_alloc_try(gfp, order, &p);
    }
    fuzz_digest_err(err);
    if (err == -MM_ENOMEM) {
        pa_check_enomem(gfp, order, must_fail);
        return NULL;
    }
    if (err)
        pa_fail("alloc-error order=%u gfp=0x%x err=%s", (unsigned int)order, (unsigned int)gfp,
                mm_strerror(err));
    if (must_fail)
        pa_fail("failinject-ignored order=%u gfp=0x%x: allocation succeeded", (unsigned int)order,
                (unsigned int)gfp);
    if (!p)
        pa_fail("alloc-null order=%u: success without a page", (unsigned int)order);
    pa_check_watermark(gfp, order, p, d0.seq);
    return p;
}

/* ---- the live set ---- */

static struct pa_block *pa_pick(uint32_t h)
{
    return pa_fz.nr_live ? &pa_fz.live[h % pa_fz.nr_live] : NULL;
}

static void pa_bury(const struct pa_block *b)
{
    struct pa_grave *g = &pa_fz.grave[pa_fz.grave_next];

    g->pfn = b->pfn;
    g->order = b->order;
    g->tag = b->tag;
    pa_fz.grave_next = (pa_fz.grave_next + 1) % PA_GRAVE;
    if (pa_fz.nr_grave < PA_GRAVE)
        pa_fz.nr_grave++;
}

static void pa_remove(struct pa_block *b)
{
    uint32_t i = (uint32_t)(b - pa_fz.live);

    pa_bury(b);
    pa_release_owner(b->pfn, b->order);
    memmove(&pa_fz.live[i], &pa_fz.live[i + 1], (pa_fz.nr_live - i - 1) * sizeof(pa_fz.live[0]));
    pa_fz.nr_live--;
}

/* Drop one reference through __free_pages or free_pages; verifies content first. */
static void pa_put(struct pa_block *b, uint32_t via)
{
    struct page *p = pfn_to_page(b->pfn);
    int err;

    pa_verify("at-free", b->tag, b->pfn, b->order, true);
    if (via == FUZZ_VIA_ADDR)
        err = free_pages((uintptr_t)page_address(p), b->order);
    else
        err = __free_pages(p, b->order);
    fuzz_digest_err(err);
    if (err)
        pa_fail("free-error tag=%u pfn=%u order=%u refs=%d err=%s", (unsigned int)b->tag,
                (unsigned int)b->pfn, (unsigned int)b->order, (int)b->refs, mm_strerror(err));
    if (--b->refs == 0) {
        PA_TRACE("  freed tag=%u pfn=%u order=%u", (unsigned int)b->tag, (unsigned int)b->pfn,
                 (unsigned int)b->order);
        pa_remove(b);
        return;
    }
    pa_check_head(p, b->order, b->refs, "after-put");
    pa_verify("after-put", b->tag, b->pfn, b->order, false);
}

/* ---- the test shrinker ---- */

static void pa_pool_push(uint32_t pfn, uint32_t tag)
{
    uint32_t k = (pa_fz.pool_head + pa_fz.pool_count) % PA_POOL_CAP;

    pa_fz.pool_pfn[k] = pfn;
    pa_fz.pool_tag[k] = tag;
    pa_fz.pool_count++;
}

static void pa_pool_release_one(void)
{
    uint32_t pfn = pa_fz.pool_pfn[pa_fz.pool_head], tag = pa_fz.pool_tag[pa_fz.pool_head];
    int err;

    pa_verify("pool", tag, pfn, 0, true);
    pa_fz.pool_head = (pa_fz.pool_head + 1) % PA_POOL_CAP;
    pa_fz.pool_count--;
    pa_release_owner(pfn, 0);
    err = __free_pages(pfn_to_page(pfn), 0);
    fuzz_digest_err(err);
    if (err)
        pa_fail("pool-free-error pfn=%u err=%s", (unsigned int)pfn, mm_strerror(err));
}

static unsigned long pa_shrink_count(struct shrinker *s, struct shrink_control *sc)
{
    if (s != &pa_shrinker || !sc)
        pa_fail("shrinker-count called with shrinker=%p sc=%p", (void *)s, (void *)sc);
    return pa_fz.pool_count;
}

static unsigned long pa_shrink_scan(struct shrinker *s, struct shrink_control *sc)
{
    unsigned long n, i;

    if (s != &pa_shrinker || !sc)
        pa_fail("shrinker-scan called with shrinker=%p sc=%p", (void *)s, (void *)sc);
    pa_fz.scans++;
    if (pa_fz.pool_busy)
        return SHRINK_STOP;
    n = MM_MIN(sc->nr_to_scan, (unsigned long)pa_fz.pool_count);
    for (i = 0; i < n; i++)
        pa_pool_release_one();
    pa_fz.scanned += n;
    return n;
}

/* ---- ops ---- */

static void pa_op_alloc(uint32_t order, gfp_t gfp, uint32_t via)
{
    struct page *p;
    uint32_t tag;

    if (pa_fz.nr_live == PA_MAX_LIVE) {
        PA_TRACE("  skipped: live set full");
        return;
    }
    p = pa_alloc_one(gfp, order, via);
    if (!p) {
        PA_TRACE("  -> ENOMEM");
        return;
    }
    tag = pa_fz.next_tag++;
    pa_take_new(p, order, gfp, tag);
    pa_fz.live[pa_fz.nr_live++] = (struct pa_block){ tag, (uint32_t)page_to_pfn(p), order, 1 };
    PA_TRACE("  -> h=%u tag=%u pfn=%lu zone=%s", (unsigned int)(pa_fz.nr_live - 1), (unsigned int)tag,
             page_to_pfn(p), zone_name(p->zone));
}

static void pa_op_get(uint32_t h)
{
    struct pa_block *b = pa_pick(h);

    if (!b)
        return;
    get_page(pfn_to_page(b->pfn));
    b->refs++;
    pa_check_head(pfn_to_page(b->pfn), b->order, b->refs, "after-get");
    PA_TRACE("  -> tag=%u refs=%d", (unsigned int)b->tag, (int)b->refs);
}

static uint32_t pa_cur_cpu;

/* Drain this CPU's or every CPU's lists; afterwards those lists must be empty in every zone. */
static void pa_op_drain(bool all)
{
    static struct page_alloc_stats st;
    unsigned int z, c;

    if (all)
        drain_all_pages();
    else
        drain_local_pages();
    page_alloc_get_stats(&st);
    for (z = 0; z < MM_NR_ZONES; z++) {
        if (all && st.zone[z].nr_pcp)
            pa_fail("drain-incomplete zone=%s nr_pcp=%lu after drain all", zone_name(z),
                    st.zone[z].nr_pcp);
        for (c = 0; c < pa_fz.m.nr_cpus; c++)
            if ((all || c == pa_cur_cpu) && st.zone[z].pcp_count[c])
                pa_fail("drain-incomplete zone=%s cpu=%u pcp_count=%lu after drain %s",
                        zone_name(z), c, st.zone[z].pcp_count[c], all ? "all" : "local");
    }
}

static void pa_op_cache_fill(uint32_t n, gfp_t gfp)
{
    uint32_t i;

    for (i = 0; i < n && pa_fz.pool_count < PA_POOL_CAP; i++) {
        struct page *p = pa_alloc_one(gfp, 0, FUZZ_VIA_PAGE);
        uint32_t tag;
        if (!p)
            break;
        tag = pa_fz.next_tag++;
        pa_take_new(p, 0, gfp, tag);
        pa_pool_push((uint32_t)page_to_pfn(p), tag);
    }
    fuzz_digest_count(i);
    PA_TRACE("  -> filled %u, pool=%u", (unsigned int)i, (unsigned int)pa_fz.pool_count);
}

static void pa_op_reclaim(unsigned long nr, gfp_t gfp, bool background)
{
    unsigned long before = pa_fz.pool_count, got, free0 = page_alloc_nr_free(), free1;

    got = background ? page_reclaim_background() : page_reclaim(gfp, nr);
    fuzz_digest_count(got);
    if (got > pa_fz.m.mem_pages)
        pa_fail("reclaim-implausible returned=%lu pages on a %u-page machine", got,
                (unsigned int)pa_fz.m.mem_pages);
    /* reclaim freed what it reported: every page a shrinker returns lands on a free list */
    free1 = page_alloc_nr_free();
    if (free1 - free0 != got)
        pa_fail("reclaim-miscounted reported=%lu free pages %lu -> %lu (+%ld)", got, free0, free1,
                (long)(free1 - free0));
    PA_TRACE("  -> reclaimed %lu, pool %lu -> %u", got, before, (unsigned int)pa_fz.pool_count);
}

/* ---- misuse ---- */

#define PA_KIND(k) (1u << (k))

/* Check the outcome of one injected misuse: error code, counter +1, recorded kind. */
static void pa_expect_misuse(const char *name, unsigned long before, int err, int want,
                             uint32_t kinds)
{
    unsigned long after = mm_misuse_count();
    struct mm_misuse mu;

    fuzz_digest_err(err);
    fuzz_digest_count(after - before);
    if (err == 0)
        pa_fail("misuse-undetected kind=%s: call returned 0", name);
    if (err != want)
        pa_fail("misuse-wrong-error kind=%s expected=%s got=%s", name, mm_strerror(want),
                mm_strerror(err));
    if (after != before + 1)
        pa_fail("misuse-count kind=%s count went %lu -> %lu (expected +1)", name, before, after);
    if (!mm_misuse_last(&mu))
        pa_fail("misuse-unrecorded kind=%s: mm_misuse_last has nothing", name);
    fuzz_digest_count(mu.kind);
    if (mu.kind >= 32 || !(kinds & PA_KIND(mu.kind)) || mu.err != err)
        pa_fail("misuse-wrong-kind kind=%s reported=%s err=%s (returned %s)", name,
                mm_misuse_name(mu.kind), mm_strerror(mu.err), mm_strerror(err));
    pa_fz.misuse_expected++;
    PA_TRACE("  -> rejected %s as %s", mm_strerror(err), mm_misuse_name(mu.kind));
}

/* The block a rejected misuse aimed at must be untouched. */
static void pa_check_intact(const struct pa_block *b)
{
    pa_check_head(pfn_to_page(b->pfn), b->order, b->refs, "after-misuse");
    pa_verify("after-misuse", b->tag, b->pfn, b->order, false);
}

static int pa_free_via(struct page *p, uint32_t order, uint32_t via)
{
    if (via == FUZZ_VIA_ADDR)
        return free_pages((uintptr_t)page_address(p), order);
    return __free_pages(p, order);
}

/*
 * True if @pfn is free by the documented page states: a PG_pcp page, or inside a PG_buddy block.
 * (The mm may hold pages of its own, e.g. slab pages, so "not ours" does not mean free.)
 */
static bool pa_pfn_is_free(uint32_t pfn)
{
    unsigned int k;

    if (pfn_to_page(pfn)->flags & PG_pcp)
        return true;
    for (k = 0; k <= MM_MAX_ORDER; k++) {
        const struct page *h = pfn_to_page(pfn & ~((1u << k) - 1));
        if ((h->flags & PG_buddy) && h->order >= k)
            return true;
        if (h->flags & (PG_head | PG_reserved | PG_pcp) && k)
            return false;
    }
    return false;
}

enum pa_pfn_class { PA_PFN_RESERVED, PA_PFN_FREE, PA_PFN_MM_OWNED };

/* A pfn of @cls the harness does not hold, scanning up from @start. */
static bool pa_find_pfn(uint32_t start, enum pa_pfn_class cls, uint32_t *out)
{
    uint32_t i, n = (uint32_t)mm_max_pfn;

    for (i = 0; i < n; i++) {
        uint32_t pfn = (start + i) % n;
        bool reserved = pfn_to_page(pfn)->flags & PG_reserved;
        if (pa_fz.owner[pfn])
            continue;
        if ((cls == PA_PFN_RESERVED && reserved) ||
            (cls == PA_PFN_FREE && !reserved && pa_pfn_is_free(pfn)) ||
            (cls == PA_PFN_MM_OWNED && !reserved && !pa_pfn_is_free(pfn))) {
            *out = pfn;
            return true;
        }
    }
    return false;
}

static void pa_misuse_double_free(uint32_t g, uint32_t via)
{
    unsigned long before = mm_misuse_count();
    uint32_t i;

    for (i = 0; i < pa_fz.nr_grave; i++) {
        const struct pa_grave *gr = &pa_fz.grave[(g + i) % pa_fz.nr_grave];
        if (pa_fz.owner[gr->pfn] || !pa_pfn_is_free(gr->pfn))
            continue; /* reallocated since: a free now would be legal or another misuse */
        int err = pa_free_via(pfn_to_page(gr->pfn), gr->order, via);
        PA_TRACE("  stale tag=%u pfn=%u order=%u", (unsigned int)gr->tag, (unsigned int)gr->pfn,
                 (unsigned int)gr->order);
        pa_expect_misuse("double-free", before, err, -MM_EINVAL,
                         PA_KIND(MM_MISUSE_DOUBLE_FREE) | PA_KIND(MM_MISUSE_NOT_ALLOCATED));
        return;
    }
    PA_TRACE("  skipped: no stale block");
}

static void pa_misuse_wrong_order(uint32_t h, uint32_t delta, uint32_t via)
{
    unsigned long before = mm_misuse_count();
    struct pa_block *b = pa_pick(h);
    int err;

    if (!b)
        return;
    err = pa_free_via(pfn_to_page(b->pfn), (b->order + delta) % MM_NR_ORDERS, via);
    pa_expect_misuse("wrong-order", before, err, -MM_EINVAL, PA_KIND(MM_MISUSE_WRONG_ORDER));
    pa_check_intact(b);
}

static void pa_misuse_tail(uint32_t h, uint32_t k, uint32_t as_block)
{
    unsigned long before = mm_misuse_count();
    struct pa_block *b = NULL;
    uint32_t i, t;
    int err;

    for (i = 0; i < pa_fz.nr_live && !b; i++)
        if (pa_fz.live[(h + i) % pa_fz.nr_live].order)
            b = &pa_fz.live[(h + i) % pa_fz.nr_live];
    if (!b) {
        PA_TRACE("  skipped: no block of order >= 1");
        return;
    }
    t = 1 + k % ((1u << b->order) - 1);
    err = __free_pages(pfn_to_page(b->pfn + t), as_block ? b->order : 0);
    PA_TRACE("  tail pfn=%u of tag=%u", (unsigned int)(b->pfn + t), (unsigned int)b->tag);
    pa_expect_misuse("tail", before, err, -MM_EINVAL, PA_KIND(MM_MISUSE_NOT_HEAD));
    pa_check_intact(b);
}

static uint8_t pa_foreign_page[PAGE_SIZE] __attribute__((aligned(4096)));
static struct page pa_fake_page;

static void pa_misuse_bad_addr(uint32_t kind, uint32_t x)
{
    unsigned long before = mm_misuse_count();
    struct pa_block *b = pa_pick(x);
    uintptr_t base = (uintptr_t)page_address(pfn_to_page(0));
    uint32_t pfn, end = (uint32_t)MM_MAX(mm_max_pfn, (unsigned long)pa_fz.m.mem_pages);
    int err;

    switch (kind) {
    case FUZZ_BAD_BEYOND_END:
        err = free_pages(base + ((uintptr_t)end + x % 64) * PAGE_SIZE, 0);
        pa_expect_misuse("beyond-end", before, err, -MM_EFAULT, PA_KIND(MM_MISUSE_BAD_ADDRESS));
        return;
    case FUZZ_BAD_UNALIGNED:
        if (!b)
            return;
        err = free_pages((uintptr_t)page_address(pfn_to_page(b->pfn)) + 8 * (1 + x % 511),
                         b->order);
        pa_expect_misuse("unaligned", before, err, -MM_EFAULT, PA_KIND(MM_MISUSE_BAD_ADDRESS));
        pa_check_intact(b);
        return;
    case FUZZ_BAD_FOREIGN:
        err = free_pages((uintptr_t)pa_foreign_page, 0);
        pa_expect_misuse("foreign", before, err, -MM_EFAULT, PA_KIND(MM_MISUSE_BAD_ADDRESS));
        return;
    case FUZZ_BAD_FOREIGN_PAGE:
        /* a convincing copy of a real allocated head that lives outside mm_mem_map */
        if (b)
            memcpy(&pa_fake_page, pfn_to_page(b->pfn), sizeof(pa_fake_page));
        err = __free_pages(&pa_fake_page, b ? b->order : 0);
        pa_expect_misuse("foreign-page", before, err, -MM_EFAULT, PA_KIND(MM_MISUSE_BAD_ADDRESS));
        if (b)
            pa_check_intact(b);
        return;
    case FUZZ_BAD_MID_PAGE:
        pfn = b ? b->pfn : x % (uint32_t)mm_max_pfn;
        err = __free_pages((struct page *)((char *)pfn_to_page(pfn) + 8 *
                                           (1 + x % (sizeof(struct page) / 8 - 1))), 0);
        pa_expect_misuse("mid-page", before, err, -MM_EFAULT, PA_KIND(MM_MISUSE_BAD_ADDRESS));
        if (b)
            pa_check_intact(b);
        return;
    case FUZZ_BAD_MM_PAGE:
        if (!pa_find_pfn(x, PA_PFN_MM_OWNED, &pfn)) {
            PA_TRACE("  skipped: the mm holds no page of its own");
            return;
        }
        err = __free_pages(pfn_to_page(pfn), pfn_to_page(pfn)->order);
        PA_TRACE("  pfn=%u flags=0x%x", (unsigned int)pfn, (unsigned int)pfn_to_page(pfn)->flags);
        pa_expect_misuse("mm-page", before, err, -MM_EINVAL,
                         PA_KIND(MM_MISUSE_BAD_ARGUMENT) | PA_KIND(MM_MISUSE_NOT_HEAD));
        return;
    case FUZZ_BAD_RESERVED:
    case FUZZ_BAD_FREE_PAGE:
        if (!pa_find_pfn(x, kind == FUZZ_BAD_RESERVED ? PA_PFN_RESERVED : PA_PFN_FREE, &pfn)) {
            PA_TRACE("  skipped: no candidate page");
            return;
        }
        err = __free_pages(pfn_to_page(pfn), 0);
        PA_TRACE("  pfn=%u flags=0x%x", (unsigned int)pfn, (unsigned int)pfn_to_page(pfn)->flags);
        pa_expect_misuse(kind == FUZZ_BAD_RESERVED ? "reserved" : "free-page", before, err,
                         -MM_EINVAL, kind == FUZZ_BAD_RESERVED ? PA_KIND(MM_MISUSE_NOT_ALLOCATED)
                         : PA_KIND(MM_MISUSE_DOUBLE_FREE) | PA_KIND(MM_MISUSE_NOT_ALLOCATED));
        return;
    case FUZZ_BAD_NULL_PAGE:
        err = __free_pages(NULL, 0);
        pa_expect_misuse("null-page", before, err, -MM_EFAULT, PA_KIND(MM_MISUSE_BAD_ADDRESS));
        return;
    case FUZZ_BAD_NULL_ADDR:
        err = free_pages(0, x % MM_NR_ORDERS);
        fuzz_digest_err(err);
        if (err)
            pa_fail("free_pages(0) returned %s, documented as a no-op", mm_strerror(err));
        return;
    }
}

static void pa_misuse_bad_order(uint32_t order, uint32_t on, uint32_t h)
{
    unsigned long before = mm_misuse_count();
    struct pa_block *b = pa_pick(h);
    struct page *p = NULL;
    int err;

    if (on == 0) {
        pa_fz.inj_known = false; /* whether a rejected request counts as an allocation is open */
        err = page_alloc_try(GFP_KERNEL, order, &p);
        pa_expect_misuse("bad-order", before, err, -MM_EINVAL, PA_KIND(MM_MISUSE_BAD_ORDER));
        return;
    }
    if (!b)
        return;
    err = pa_free_via(pfn_to_page(b->pfn), order, on == 2 ? FUZZ_VIA_ADDR : FUZZ_VIA_PAGE);
    pa_expect_misuse("bad-order", before, err, -MM_EINVAL, PA_KIND(MM_MISUSE_BAD_ORDER));
    pa_check_intact(b);
}

static void pa_misuse_bad_flags(gfp_t gfp, uint32_t order)
{
    unsigned long before = mm_misuse_count();
    struct page *p = NULL;
    int err;

    pa_fz.inj_known = false;
    err = page_alloc_try(gfp, order, &p);
    pa_expect_misuse("bad-flags", before, err, -MM_EINVAL, PA_KIND(MM_MISUSE_BAD_FLAGS));
}

/* get_page on a free page: nothing to return, but it must be reported and change nothing. */
static void pa_misuse_get_free(uint32_t x)
{
    unsigned long before = mm_misuse_count();
    struct mm_misuse mu;
    uint32_t pfn;

    if (!pa_find_pfn(x, PA_PFN_FREE, &pfn)) {
        PA_TRACE("  skipped: no free page");
        return;
    }
    get_page(pfn_to_page(pfn));
    PA_TRACE("  pfn=%u flags=0x%x", (unsigned int)pfn, (unsigned int)pfn_to_page(pfn)->flags);
    if (mm_misuse_count() == before)
        pa_fail("misuse-undetected kind=get-free pfn=%u", (unsigned int)pfn);
    mm_misuse_last(&mu);
    pa_expect_misuse("get-free", before, mu.err ? mu.err : -MM_EINVAL, -MM_EINVAL,
                     PA_KIND(MM_MISUSE_BAD_REFCOUNT) | PA_KIND(MM_MISUSE_NOT_ALLOCATED) |
                     PA_KIND(MM_MISUSE_DOUBLE_FREE));
    if (!pa_pfn_is_free(pfn) || pfn_to_page(pfn)->refcount)
        pa_fail("get-free-changed-page pfn=%u flags=0x%x refcount=%d", (unsigned int)pfn,
                (unsigned int)pfn_to_page(pfn)->flags, (int)pfn_to_page(pfn)->refcount);
}

/* ---- NUMA ops ---- */

/* node= of alloc node / kmalloc node: a node id (maybe not of this machine), NUMA_NO_NODE, or a
 * node no machine has. */
static int pa_node_arg(uint32_t sel)
{
    return sel == FUZZ_NODE_LOCAL ? NUMA_NO_NODE : sel == FUZZ_NODE_BAD ? 77 : (int)sel;
}

/* Must node @nid serve @order under @gfp: a zone of it the gfp allows holds a free block of the
 * order and free memory at orders >= it above its high mark plus the reserve against @gfp's top
 * zone (read before the call, from the zone's lists: the oracle's restatement of the policy). */
static bool pa_node_has_room(unsigned int nid, gfp_t gfp, uint32_t order)
{
    unsigned int top = pa_gfp_top_zone(gfp);

    for (unsigned int z = 0; z <= top; z++) {
        const struct zone *zn = &mm_state.phys.node[nid].zones[z];
        unsigned long usable = 0;
        if (!pa_zone_allowed(gfp, z))
            continue;
        for (unsigned int o = order; o < MM_NR_ORDERS; o++)
            usable += zn->free_area[o].nr_free << o;
        if (usable && usable >= zn->wmark[WMARK_HIGH] + zn->lowmem_reserve[top] + (2ul << order))
            return true;
    }
    return false;
}

/* The node-aware call @fn with node @nid; *@p the page (NULL on failure). */
static int pa_call_node(uint32_t fn, int nid, gfp_t gfp, uint32_t order, struct page **p)
{
    *p = NULL;
    if (fn == FUZZ_NODE_FN_TRY)
        return page_alloc_try_node(nid, gfp, order, p);
    *p = fn == FUZZ_NODE_FN_ALLOC ? alloc_pages_node(nid, gfp, order)
                                  : __alloc_pages_node(nid, gfp, order);
    return *p ? 0 : -MM_ENOMEM;
}

static void pa_op_alloc_node_bad(uint32_t order, gfp_t gfp, int nid, uint32_t fn)
{
    unsigned long before = mm_misuse_count();
    struct page *p;
    int err = pa_call_node(fn, nid, gfp, order, &p);

    if (p)
        pa_fail("numa-bad-node-served node=%d fn=%u pfn=%lu", nid, (unsigned int)fn,
                page_to_pfn(p));
    pa_expect_misuse("bad-node", before, err == -MM_ENOMEM ? -MM_EINVAL : err, -MM_EINVAL,
                     PA_KIND(MM_MISUSE_BAD_ARGUMENT));
}

static void pa_op_alloc_node(uint32_t order, gfp_t gfp, uint32_t sel, uint32_t fn)
{
    int nid = pa_node_arg(sel);
    struct page_alloc_decision d0;
    struct page *p;

    if (nid >= (int)mm_nr_nodes() || (fn == FUZZ_NODE_FN_RAW && nid == NUMA_NO_NODE)) {
        pa_op_alloc_node_bad(order, gfp, nid, fn);
        return;
    }
    if (pa_fz.nr_live == PA_MAX_LIVE) {
        PA_TRACE("  skipped: live set full");
        return;
    }
    unsigned int pref = nid < 0 ? pa_fz.layout.numa.cpu_node[pa_cur_cpu] : (unsigned int)nid;
    bool room = pa_node_has_room(pref, gfp, order), must_fail = pa_inject_step();
    page_alloc_last_decision(env_cpu_id(), &d0);
    int err = pa_call_node(fn, nid, gfp, order, &p);
    fuzz_digest_err(err);
    if (err) {
        PA_TRACE("  -> ENOMEM");
        pa_check_enomem(gfp, order, must_fail);
        return;
    }
    if (must_fail)
        pa_fail("failinject-ignored order=%u gfp=0x%x node=%d", (unsigned int)order,
                (unsigned int)gfp, nid);
    pa_check_watermark(gfp, order, p, d0.seq);
    if (room && p->node != pref)
        pa_fail("numa-remote order=%u gfp=0x%x node=%d: node %u had room, got pfn %lu of node %u",
                (unsigned int)order, (unsigned int)gfp, nid, pref, page_to_pfn(p),
                (unsigned int)p->node);
    uint32_t tag = pa_fz.next_tag++;
    pa_take_new(p, order, gfp, tag);
    pa_fz.live[pa_fz.nr_live++] = (struct pa_block){ tag, (uint32_t)page_to_pfn(p), order, 1 };
    PA_TRACE("  -> h=%u tag=%u pfn=%lu node=%u zone=%s room=%d", (unsigned int)(pa_fz.nr_live - 1),
             (unsigned int)tag, page_to_pfn(p), (unsigned int)p->node, zone_name(p->zone), room);
}

/*
 * kmalloc_node, checked and freed at once; then every cache gives its empty slabs back, so the
 * page count is what it was (pa_boot shrank the caches of a topology input before counting). Not
 * while failure injection is armed: the slab's page allocation would eat an injected failure.
 */
static void pa_op_kmalloc_node(uint32_t size, uint32_t sel)
{
    int nid = pa_node_arg(sel);
    unsigned long before = mm_misuse_count();

    if (nid >= (int)mm_nr_nodes()) {
        void *o = kmalloc_node(size, GFP_KERNEL, nid);
        if (o)
            pa_fail("numa-bad-node-served kmalloc node=%d", nid);
        pa_expect_misuse("kmalloc-bad-node", before, -MM_EINVAL, -MM_EINVAL,
                         PA_KIND(MM_MISUSE_BAD_ARGUMENT));
        return;
    }
    if (mm_state.phys.fail_count) {
        PA_TRACE("  skipped: failure injection armed");
        return;
    }
    bool room = nid >= 0 && pa_node_has_room((unsigned int)nid, GFP_KERNEL, 4);
    void *o = kmalloc_node(size, GFP_KERNEL | __GFP_NOWARN, nid);
    fuzz_digest_ok(o != NULL);
    if (!o) {
        if (room)
            pa_fail("numa-kmalloc-enomem size=%u node=%d with room", (unsigned int)size, nid);
        return;
    }
    struct page *pg = o == ZERO_SIZE_PTR ? NULL : virt_to_page(o);
    if (pg && room && pg->node != nid)
        pa_fail("numa-remote kmalloc size=%u node=%d: object %p on node %u", (unsigned int)size,
                nid, o, (unsigned int)pg->node);
    if (pg)
        memset(o, 0x5a, size);
    PA_TRACE("  -> %p node=%d room=%d", o, pg ? (int)pg->node : -1, room);
    if (kfree(o))
        pa_fail("numa-kfree-failed %p", o);
    kmem_cache_shrink_all();
}

/* ---- per-op checks ---- */

static void pa_check_stats(void)
{
    static struct page_alloc_stats st;
    unsigned long alloc = 0;
    unsigned int z, c;

    page_alloc_get_stats(&st);
    for (z = 0; z < MM_NR_ZONES; z++) {
        alloc += st.zone[z].nr_alloc;
        if (!pa_fz.m.pcp && st.zone[z].nr_pcp)
            pa_fail("pcp-used-while-disabled zone=%s nr_pcp=%lu", zone_name(z), st.zone[z].nr_pcp);
        for (c = pa_fz.m.nr_cpus; c < MM_MAX_CPUS; c++)
            if (st.zone[z].pcp_count[c])
                pa_fail("pcp-on-absent-cpu zone=%s cpu=%u", zone_name(z), c);
    }
    if (alloc != pa_fz.boot_alloc + pa_fz.owned)
        pa_fail("alloc-accounting sum(nr_alloc)=%lu expected=%lu (boot %lu + held %lu)", alloc,
                pa_fz.boot_alloc + pa_fz.owned, pa_fz.boot_alloc, pa_fz.owned);
}

static void pa_check_all(bool deep)
{
    struct mm_check_report rep;
    unsigned long nfree, mis;
    int err;

    err = deep || fuzz_cur_check_due() ? mm_check(&rep) : mm_check_counts(&rep);
    if (err)
        pa_fail("invariant=%s pfn=%lu: %s (%s)", rep.invariant ? rep.invariant : "?",
                rep.pfn, rep.detail, mm_strerror(err));
    nfree = page_alloc_nr_free();
    if (nfree + pa_fz.owned != pa_fz.boot_free)
        pa_fail("invariant=harness.conservation free=%lu held=%lu boot_free=%lu (diff %ld)", nfree,
                pa_fz.owned, pa_fz.boot_free, (long)(nfree + pa_fz.owned) - (long)pa_fz.boot_free);
    mis = mm_misuse_count();
    if (mis != pa_fz.misuse_expected)
        pa_fail("misuse-spurious count=%lu expected=%lu", mis, pa_fz.misuse_expected);
    if (deep || fuzz_cur.opno % PA_VERIFY_EVERY == 0) {
        pa_verify_all(deep);
        pa_check_stats();
    }
}

/* ---- run ---- */

static void pa_boot(void)
{
    static struct page_alloc_stats st;
    unsigned int z;
    int err;

    fuzz_machine_layout(&pa_fz.m, &pa_fz.layout);
    err = fuzz_platform.boot(&pa_fz.layout);
    if (err)
        pa_fail("boot-failed err=%s", mm_strerror(err));
    if (mm_max_pfn > FUZZ_MEM_MAX_PAGES || mm_max_pfn > pa_fz.m.mem_pages || mm_nr_cpus() != pa_fz.m.nr_cpus)
        pa_fail("boot-geometry max_pfn=%lu mem_pages=%u cpus=%u", mm_max_pfn,
                (unsigned int)pa_fz.m.mem_pages, mm_nr_cpus());
    shrinker_init(&pa_shrinker, "fuzz-pool", pa_shrink_count, pa_shrink_scan, false);
    err = register_shrinker(&pa_shrinker);
    if (err)
        pa_fail("register_shrinker err=%s", mm_strerror(err));
    if (pa_fz.m.nr_nodes) /* kmalloc node frees what it takes: start without empty slabs */
        kmem_cache_shrink_all();
    page_alloc_get_stats(&st);
    pa_fz.boot_alloc = 0;
    for (z = 0; z < MM_NR_ZONES; z++) {
        pa_fz.zpop[z] = st.zone[z].populated;
        pa_fz.zstart[z] = st.zone[z].start_pfn;
        pa_fz.zend[z] = st.zone[z].end_pfn;
        pa_fz.boot_alloc += st.zone[z].nr_alloc;
    }
    pa_fz.boot_free = page_alloc_nr_free();
    pa_fz.injected_seen = st.counters.fail_injected;
    pa_fz.misuse_expected = mm_misuse_count();
    pa_fz.inj_known = true;
}

static void pa_reset(void)
{
    /* Everything but the big arrays, which are only read where the counters say they're valid;
     * owner[] is read for pfns below mem_pages (mm_max_pfn never exceeds it). */
    pa_fz.nr_live = 0;
    pa_fz.pool_head = pa_fz.pool_count = 0;
    pa_fz.pool_busy = false;
    pa_fz.scans = pa_fz.scanned = 0;
    pa_fz.nr_grave = pa_fz.grave_next = 0;
    memset(pa_fz.owner, 0, MM_MIN(pa_fz.m.mem_pages, FUZZ_MEM_MAX_PAGES) * sizeof(pa_fz.owner[0]));
    pa_fz.next_tag = 1;
    pa_fz.owned = 0;
    pa_fz.inj_skip = pa_fz.inj_count = 0;
    pa_cur_cpu = 0;
}

static void pa_exec(const struct fuzz_op *op)
{
    const uint32_t *a = op->arg;

    switch (op->kind) {
    case FOP_ALLOC: pa_op_alloc(a[0], a[1], a[2]); break;
    case FOP_FREE:
        if (pa_pick(a[0]))
            pa_put(pa_pick(a[0]), a[1]);
        break;
    case FOP_GET: pa_op_get(a[0]); break;
    case FOP_CPU:
        fuzz_platform.cpu_set(a[0]);
        pa_cur_cpu = a[0];
        break;
    case FOP_DRAIN:
        pa_op_drain(a[0]);
        break;
    case FOP_FAILNEXT:
        page_alloc_fail_inject(a[0], a[1]);
        pa_fz.inj_known = true;
        pa_fz.inj_skip = a[0];
        pa_fz.inj_count = a[1];
        break;
    case FOP_RECLAIM: pa_op_reclaim(a[0], a[1], false); break;
    case FOP_KSWAPD: pa_op_reclaim(0, 0, true); break;
    case FOP_CACHE_FILL: pa_op_cache_fill(a[0], a[1]); break;
    case FOP_CACHE_BUSY: pa_fz.pool_busy = a[0]; break;
    case FOP_CHECK: break; /* the deep check below does the work */
    case FOP_MISUSE_DOUBLE_FREE: pa_misuse_double_free(a[0], a[1]); break;
    case FOP_MISUSE_WRONG_ORDER: pa_misuse_wrong_order(a[0], a[1], a[2]); break;
    case FOP_MISUSE_TAIL: pa_misuse_tail(a[0], a[1], a[2]); break;
    case FOP_MISUSE_BAD_ADDR: pa_misuse_bad_addr(a[0], a[1]); break;
    case FOP_MISUSE_BAD_ORDER: pa_misuse_bad_order(a[0], a[1], a[2]); break;
    case FOP_MISUSE_BAD_FLAGS: pa_misuse_bad_flags(a[0], a[1]); break;
    case FOP_MISUSE_GET_FREE: pa_misuse_get_free(a[0]); break;
    case FOP_CORRUPT:
        if (!fz_corrupt(a[0], a[1], pa_fail_fn)) {
            fuzz_digest_ok(false);
            PA_TRACE("  skipped: no victim");
        }
        break;
    case FOP_STATS: fz_check_stats(false, pa_fail_fn); break;
    case FOP_ALLOC_NODE: pa_op_alloc_node(a[0], a[1], a[2], a[3]); break;
    case FOP_KMALLOC_NODE: pa_op_kmalloc_node(a[0], a[1]); break;
    default: break;
    }
}

/* Free everything, then the free page count must be back at its boot value. */
static void pa_teardown(void)
{
    unsigned long nfree;
    int err;

    page_alloc_fail_inject(0, 0);
    while (pa_fz.nr_live)
        pa_put(&pa_fz.live[pa_fz.nr_live - 1], FUZZ_VIA_PAGE);
    while (pa_fz.pool_count)
        pa_pool_release_one();
    err = unregister_shrinker(&pa_shrinker);
    if (err)
        pa_fail("unregister_shrinker err=%s", mm_strerror(err));
    drain_all_pages();
    pa_check_all(true);
    nfree = page_alloc_nr_free();
    if (nfree != pa_fz.boot_free)
        pa_fail("invariant=harness.conservation at teardown free=%lu boot_free=%lu", nfree,
                pa_fz.boot_free);
    fuzz_digest_count(pa_fz.scans);
    fuzz_digest_count(pa_fz.scanned);
    PA_TRACE("done: %u ops, shrinker scans=%lu scanned=%lu", (unsigned int)fuzz_cur.nops, pa_fz.scans,
             pa_fz.scanned);
}

static uint32_t pa_setup(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    pa_reset();
    pa_boot();
    return pa_fz.m.nr_nodes ? 1 : 0; /* the topology record is the machine's, not an op */
}

const struct fuzz_target fuzz_target_page_alloc = {
    .name = "page_alloc",
    .table = &pa_table,
    .machine = &pa_fz.m,
    .setup = pa_setup,
    .exec = pa_exec,
    .check = pa_check_all,
    .teardown = pa_teardown,
};
