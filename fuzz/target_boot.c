/*
 * target_boot.c - fuzz target "boot": the early (memblock) allocator, the hand-off to the buddy
 * allocator, and memory maps, against a model of its own.
 *
 * The input boots only the early stage (fuzz_platform.boot_early on the header's layout), then:
 *
 *   memblock alloc size= align= big=   valid: 0 < size <= 256 KiB, align a power of two 8..2 MiB;
 *                                      the result is aligned, lies in usable memory and overlaps
 *                                      nothing reserved (model); it may be 0 only when the model
 *                                      has no gap that fits. Invalid (size 0, big, align 0 / 4 /
 *                                      24 / 2^31): returns 0 + one MM_MISUSE_BAD_ARGUMENT
 *   memblock reserve off= len= where=  in / in-page / beyond memory: 0 (or -MM_ENOSPC when the
 *                                      model's array is full and the range touches nothing);
 *                                      empty or wrapping: -MM_EINVAL + MM_MISUSE_BAD_ARGUMENT
 *   memblock free h= part= x=          whole / head / tail / middle of a held range, or a range
 *                                      never reserved: 0 when one model region covers it (size
 *                                      rounded up to 8), else -MM_EINVAL + MM_MISUSE_NOT_ALLOCATED
 *   core init                          mm_core_init: 0 (or -MM_ENOMEM when nothing fits the page
 *                                      array); afterwards every page the model holds reserved is
 *                                      PG_reserved, holes are PG_hole, max_pfn is the end of
 *                                      usable memory, and memblock_* are rejected (0 / -MM_EINVAL
 *                                      + MM_MISUSE_NOT_READY); a second core init is rejected too
 *   buddy sweep order= gfp=            before core init: alloc_pages / kmalloc rejected with
 *                                      MM_MISUSE_NOT_READY; after: allocate at order..0 until
 *                                      -MM_ENOMEM; no block overlaps a hole, an e820-reserved
 *                                      region, a model reservation or another block; all freed,
 *                                      free pages back where they were
 *   boot map KIND n= x=                a fresh early boot on another memory map: many small
 *                                      regions, overlapping unsorted usable/reserved entries,
 *                                      sub-page edges (all succeed, the model recomputes usable
 *                                      memory page by page); a map whose usable regions all vanish
 *                                      after page alignment or with a bad entry (-MM_EINVAL), more
 *                                      disjoint regions than MM_MAX_MEM_REGIONS (-MM_ENOSPC): then
 *                                      the early allocator must refuse service (NOT_READY), and
 *                                      the header's layout is booted again
 *   corrupt memblock x= / stats / check (the shared checker ops)
 *
 * After every op: mm_check() == 0 (only when fuzz_check_due() or on "check": every op in replay,
 * every FUZZ_CHECK_EVERY_DEFAULT ops in the engines), memblock_usable_bytes() == model usable
 * bytes, memblock_reserved_bytes() == model reserved bytes (before core init; unchanged after),
 * the misuse counter moved only by the expected reports.
 *
 * Digest (digest.h): whether each memblock_alloc returned memory, the error of every reserve,
 * free, core init and map boot, the kind of every expected misuse report, the number of blocks a
 * sweep got; never a physical address.
 */
#include "checker.h"

#define BT_MAX_RES   512
#define BT_MAX_HELD  256
#define BT_MAX_XMAP  200
#define BT_MAX_SWEEP FUZZ_MEM_MAX_PAGES

static const uint8_t bt_kinds[] = {
    FOP_MEMBLOCK_ALLOC, FOP_MEMBLOCK_ALLOC, FOP_MEMBLOCK_ALLOC, FOP_MEMBLOCK_RESERVE,
    FOP_MEMBLOCK_RESERVE, FOP_MEMBLOCK_FREE, FOP_MEMBLOCK_FREE, FOP_CORE_INIT, FOP_BUDDY_SWEEP,
    FOP_BOOT_MAP, FOP_CORRUPT, FOP_STATS, FOP_CHECK,
};

static const struct fuzz_op_table bt_table = { bt_kinds, MM_ARRAY_SIZE(bt_kinds), 0, NULL };

struct bt_range {
    uint64_t s, e; /* [s, e) */
};

static struct bt_state {
    struct fuzz_machine m;
    struct fuzz_layout layout;
    struct mm_mem_region xmap[BT_MAX_XMAP];
    bool usable[FUZZ_MEM_MAX_PAGES];
    uint32_t nr_pages;                  /* pages the model knows (map end) */
    uint64_t usable_bytes, arena_end;
    struct bt_range res[BT_MAX_RES];    /* reserved, sorted, merged when touching */
    uint32_t nr_res;
    struct bt_range held[BT_MAX_HELD];  /* ranges this input allocated or reserved in the arena */
    uint32_t nr_held;
    bool core;                          /* mm_core_init succeeded */
    uint64_t reserved_after_core;
    unsigned long misuse_expected;
    uint32_t sweep_pfn[BT_MAX_SWEEP];
    uint8_t sweep_order[BT_MAX_SWEEP];
    uint8_t owned[FUZZ_MEM_MAX_PAGES];
} boot_fz;

_Noreturn static void bt_fail(const char *fmt, ...) MM_PRINTF(1, 2);

_Noreturn static void bt_fail(const char *fmt, ...)
{
    char what[256], line[448];
    va_list ap;

    va_start(ap, fmt);
    mm_vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    mm_snprintf(line, sizeof(line), "FUZZ-FAIL boot op#%u [%s]: %s", (unsigned int)fuzz_cur.opno,
                fuzz_cur_text(), what);
    fuzz_platform.write_line(line);
    fuzz_crash();
}

static void bt_fail_fn(const char *what) { bt_fail("%s", what); }

#define BT_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)

/* ---- reserved-range model (its own algorithm: insert, sort, merge) ---- */

static uint64_t bt_res_bytes(void)
{
    uint64_t sum = 0;
    uint32_t i;

    for (i = 0; i < boot_fz.nr_res; i++)
        sum += boot_fz.res[i].e - boot_fz.res[i].s;
    return sum;
}

/* Would [s, e) touch or overlap a reserved range? */
FUZZ_VERIFY_FN static bool bt_res_touches(uint64_t s, uint64_t e)
{
    uint32_t i;

    for (i = 0; i < boot_fz.nr_res; i++)
        if (boot_fz.res[i].s <= e && s <= boot_fz.res[i].e)
            return true;
    return false;
}

static bool bt_res_overlaps(uint64_t s, uint64_t e)
{
    uint32_t i;

    for (i = 0; i < boot_fz.nr_res; i++)
        if (boot_fz.res[i].s < e && s < boot_fz.res[i].e)
            return true;
    return false;
}

static void bt_res_add(uint64_t s, uint64_t e)
{
    struct bt_range t;
    uint32_t i, j, n;

    if (boot_fz.nr_res == BT_MAX_RES)
        bt_fail("model-full reserved ranges");
    boot_fz.res[boot_fz.nr_res++] = (struct bt_range){ s, e };
    for (i = 1; i < boot_fz.nr_res; i++) /* insertion sort by start */
        for (j = i; j > 0 && boot_fz.res[j - 1].s > boot_fz.res[j].s; j--) {
            t = boot_fz.res[j];
            boot_fz.res[j] = boot_fz.res[j - 1];
            boot_fz.res[j - 1] = t;
        }
    for (i = 0, n = 0; i < boot_fz.nr_res; i++) {
        if (n && boot_fz.res[i].s <= boot_fz.res[n - 1].e) {
            boot_fz.res[n - 1].e = MM_MAX(boot_fz.res[n - 1].e, boot_fz.res[i].e);
            continue;
        }
        boot_fz.res[n++] = boot_fz.res[i];
    }
    boot_fz.nr_res = n;
}

FUZZ_VERIFY_FN static bool bt_res_covered(uint64_t s, uint64_t e)
{
    uint32_t i;

    for (i = 0; i < boot_fz.nr_res; i++)
        if (boot_fz.res[i].s <= s && e <= boot_fz.res[i].e)
            return true;
    return false;
}

/* Remove [s, e) which one range covers. Returns false if that needs a slot the mm lacks. */
FUZZ_VERIFY_FN static bool bt_res_remove(uint64_t s, uint64_t e)
{
    uint32_t i;

    for (i = 0; i < boot_fz.nr_res; i++) {
        struct bt_range r = boot_fz.res[i];
        if (!(r.s <= s && e <= r.e))
            continue;
        if (r.s < s && e < r.e) {
            if (boot_fz.nr_res == MM_MAX_MEM_REGIONS)
                return false;
            memmove(&boot_fz.res[i + 1], &boot_fz.res[i], (boot_fz.nr_res - i) * sizeof(boot_fz.res[0]));
            boot_fz.nr_res++;
            boot_fz.res[i].e = s;
            boot_fz.res[i + 1].s = e;
        } else if (r.s < s) {
            boot_fz.res[i].e = s;
        } else if (e < r.e) {
            boot_fz.res[i].s = e;
        } else {
            memmove(&boot_fz.res[i], &boot_fz.res[i + 1], (boot_fz.nr_res - i - 1) * sizeof(boot_fz.res[0]));
            boot_fz.nr_res--;
        }
        return true;
    }
    bt_fail("model-remove of an uncovered range");
}

/* ---- usable memory model ---- */

/* Page @p is wholly inside usable region @r (the test the model defines usable memory by). */
static bool bt_page_in(const struct mm_mem_region *r, uint32_t p)
{
    uint64_t ps = MM_PFN_PHYS(p), pe = ps + PAGE_SIZE;

    return r->type == MM_MEM_USABLE && r->base <= ps && pe <= r->base + r->size;
}

/* Page @p touches region @r of another type. */
static bool bt_page_out(const struct mm_mem_region *r, uint32_t p)
{
    uint64_t ps = MM_PFN_PHYS(p), pe = ps + PAGE_SIZE;

    return r->type != MM_MEM_USABLE && r->base < pe && ps < r->base + r->size;
}

/*
 * usable[p]: some usable region holds all of page p and no region of another type touches it.
 * Region by region: each region's candidate pages (the page holding its base, and the pages up
 * to its end unless it wraps) are tested with the predicates above, so the result is what a
 * test of every page against every region gives, in O(pages + regions x their pages).
 */
FUZZ_VERIFY_FN static void bt_model_map(const struct mm_mem_region *map, unsigned int nr)
{
    static uint8_t mark[FUZZ_MEM_MAX_PAGES]; /* bit 0: in, bit 1: out */
    uint64_t end = 0;
    unsigned int i;
    uint32_t p;

    for (i = 0; i < nr; i++)
        if (map[i].base + map[i].size >= map[i].base)
            end = MM_MAX(end, map[i].base + map[i].size);
    boot_fz.arena_end = MM_ALIGN_UP(end, PAGE_SIZE);
    boot_fz.nr_pages = (uint32_t)MM_MIN(boot_fz.arena_end >> PAGE_SHIFT, (uint64_t)FUZZ_MEM_MAX_PAGES);
    memset(mark, 0, boot_fz.nr_pages);
    for (i = 0; i < nr; i++) {
        const struct mm_mem_region *r = &map[i];
        uint64_t first = r->base >> PAGE_SHIFT, last = first + 1, e = r->base + r->size;
        if (e > r->base)
            last = MM_MAX(last, (e >> PAGE_SHIFT) + 1); /* a superset: no overflow near 2^64 */
        first = MM_MIN(first, (uint64_t)boot_fz.nr_pages);
        last = MM_MIN(last, (uint64_t)boot_fz.nr_pages);
        for (p = (uint32_t)first; p < last; p++) {
            if (bt_page_in(r, p))
                mark[p] |= 1;
            if (bt_page_out(r, p))
                mark[p] |= 2;
        }
    }
    boot_fz.usable_bytes = 0;
    for (p = 0; p < boot_fz.nr_pages; p++) {
        boot_fz.usable[p] = mark[p] == 1;
        boot_fz.usable_bytes += boot_fz.usable[p] ? PAGE_SIZE : 0;
    }
}

static bool bt_usable_range(uint64_t s, uint64_t e)
{
    uint64_t p;

    if (e > MM_PFN_PHYS(boot_fz.nr_pages))
        return false;
    for (p = s >> PAGE_SHIFT; p < MM_PFN_UP(e); p++)
        if (!boot_fz.usable[p])
            return false;
    return true;
}

/* Does the model have a gap (usable memory minus reserved, above the first page) where
 * @size bytes aligned to @align fit? */
static bool bt_fits(uint64_t size, uint64_t align)
{
    uint32_t p = 1, q;

    while (p < boot_fz.nr_pages) {
        if (!boot_fz.usable[p]) {
            p++;
            continue;
        }
        for (q = p; q < boot_fz.nr_pages && boot_fz.usable[q]; q++)
            ;
        uint64_t lo = MM_PFN_PHYS(p), hi = MM_PFN_PHYS(q), cur = lo;
        uint32_t i;
        for (i = 0; i <= boot_fz.nr_res; i++) { /* gaps between reserved ranges inside [lo, hi) */
            uint64_t gs = cur, ge = i < boot_fz.nr_res ? MM_MIN(hi, boot_fz.res[i].s) : hi;
            if (i < boot_fz.nr_res && boot_fz.res[i].e <= lo)
                continue;
            if (ge > gs && ge - gs >= size && MM_ALIGN_DOWN(ge - size, align) >= gs)
                return true;
            if (i < boot_fz.nr_res)
                cur = MM_MAX(cur, boot_fz.res[i].e);
            if (cur >= hi)
                break;
        }
        p = q;
    }
    return false;
}

/* ---- misuse expectations ---- */

static void bt_expect_misuse(const char *what, unsigned long before, enum mm_misuse_kind kind,
                             int err)
{
    struct mm_misuse mu;

    fuzz_digest_count(mm_misuse_count() - before);
    if (mm_misuse_count() != before + 1)
        bt_fail("misuse-count %s: count %lu -> %lu (expected +1 %s)", what, before,
                mm_misuse_count(), mm_misuse_name(kind));
    if (!mm_misuse_last(&mu) || mu.kind != kind || mu.err != err)
        bt_fail("misuse-wrong-kind %s: reported %s err=%s, expected %s err=%s", what,
                mm_misuse_name(mu.kind), mm_strerror(mu.err), mm_misuse_name(kind),
                mm_strerror(err));
    fuzz_digest_count(mu.kind);
    fuzz_digest_err(mu.err);
    boot_fz.misuse_expected++;
    BT_TRACE("  -> rejected as %s: %s", mm_misuse_name(mu.kind), mu.detail);
}

/* After core init (or a failed boot): every memblock entry point refuses service. */
static void bt_expect_retired(void)
{
    unsigned long before = mm_misuse_count();
    phys_addr_t pa = memblock_alloc(PAGE_SIZE, 8);
    int err;

    fuzz_digest_ok(pa != 0);
    if (pa)
        bt_fail("memblock-alloc-when-not-ready returned 0x%llx", (unsigned long long)pa);
    bt_expect_misuse("memblock_alloc", before, MM_MISUSE_NOT_READY, -MM_EINVAL);
    before = mm_misuse_count();
    err = memblock_reserve(PAGE_SIZE, PAGE_SIZE);
    fuzz_digest_err(err);
    if (err != -MM_EINVAL)
        bt_fail("memblock-reserve-when-not-ready returned %s", mm_strerror(err));
    bt_expect_misuse("memblock_reserve", before, MM_MISUSE_NOT_READY, -MM_EINVAL);
    before = mm_misuse_count();
    err = memblock_free(0, PAGE_SIZE);
    fuzz_digest_err(err);
    if (err != -MM_EINVAL)
        bt_fail("memblock-free-when-not-ready returned %s", mm_strerror(err));
    bt_expect_misuse("memblock_free", before, MM_MISUSE_NOT_READY, -MM_EINVAL);
}

/* ---- boot ---- */

static void bt_model_reset(const struct mm_mem_region *map, unsigned int nr)
{
    unsigned int i;

    boot_fz.nr_res = 0;
    boot_fz.nr_held = 0;
    boot_fz.core = false;
    bt_model_map(map, nr);
    bt_res_add(0, PAGE_SIZE);
    for (i = 0; i < boot_fz.layout.nr_reserve; i++)
        bt_res_add(boot_fz.layout.reserve[i].base, boot_fz.layout.reserve[i].base + boot_fz.layout.reserve[i].size);
}

static void bt_boot_layout(void)
{
    int err;

    fuzz_machine_layout(&boot_fz.m, &boot_fz.layout);
    err = fuzz_platform.boot_early(&boot_fz.layout);
    fuzz_digest_err(err);
    if (err)
        bt_fail("boot-early-failed err=%s", mm_strerror(err));
    bt_model_reset(boot_fz.layout.map, boot_fz.layout.nr_map);
    boot_fz.misuse_expected = mm_misuse_count();
    if (mm_ready())
        bt_fail("boot-early: mm_ready() before mm_core_init");
}

static uint64_t bt_rand(uint64_t *r) { return fuzz_rand_next(r); }

static void bt_shuffle(struct mm_mem_region *m, unsigned int n, uint64_t *r)
{
    unsigned int i;

    for (i = n; i > 1; i--) {
        unsigned int j = (unsigned int)(bt_rand(r) % i);
        struct mm_mem_region t = m[i - 1];
        m[i - 1] = m[j];
        m[j] = t;
    }
}

static void bt_op_map(uint32_t kind, uint32_t n, uint32_t x)
{
    uint64_t rng = 0x626f6f74ull ^ ((uint64_t)x << 8) ^ n, mem = MM_PFN_PHYS(boot_fz.m.mem_pages);
    unsigned int nr = 0, i;
    int err, want = 0;

    switch (kind) {
    case FUZZ_MAP_LAYOUT:
        bt_boot_layout();
        return;
    case FUZZ_MAP_MANY: { /* n usable runs of 1..16 pages with gaps (absent or typed) */
        uint64_t cur = 0;
        for (i = 0; i < n && cur < mem; i++) {
            uint64_t r = bt_rand(&rng), len = MM_PFN_PHYS(1 + r % 16), gap = MM_PFN_PHYS((r >> 8) % 8);
            len = MM_MIN(len, mem - cur);
            boot_fz.xmap[nr++] = (struct mm_mem_region){ cur, len, MM_MEM_USABLE };
            cur += len;
            if (gap && cur + gap <= mem && ((r >> 16) & 1))
                boot_fz.xmap[nr++] = (struct mm_mem_region){ cur, gap, MM_MEM_RESERVED + (uint32_t)((r >> 20) % 4) };
            cur += gap;
        }
        if (cur < mem)
            boot_fz.xmap[nr++] = (struct mm_mem_region){ cur, mem - cur, MM_MEM_USABLE };
        bt_shuffle(boot_fz.xmap, nr, &rng);
        break;
    }
    case FUZZ_MAP_OVERLAP: /* all memory usable, plus overlapping usable and reserved entries */
        boot_fz.xmap[nr++] = (struct mm_mem_region){ 0, mem, MM_MEM_USABLE };
        for (i = 0; i < n && nr + 2 <= BT_MAX_XMAP; i++) {
            uint64_t r = bt_rand(&rng), s = (r % (mem / 512)) * 512, len = 512 + ((r >> 24) % 256) * 512;
            len = MM_MIN(len, mem - s);
            boot_fz.xmap[nr++] = (struct mm_mem_region){ s, len, (r >> 40) % 3 ? MM_MEM_USABLE : MM_MEM_ACPI };
            if (((r >> 42) & 3) == 0 && i < 4)
                boot_fz.xmap[nr++] = (struct mm_mem_region){ s / 2, len, MM_MEM_RESERVED };
        }
        bt_shuffle(boot_fz.xmap, nr, &rng);
        break;
    case FUZZ_MAP_SUBPAGE: { /* usable regions with sub-page edges, 0..3 pages apart */
        uint64_t cur = 0;
        for (i = 0; i < n && cur + PAGE_SIZE < mem; i++) {
            uint64_t r = bt_rand(&rng), s = cur + (r % 8) * 512;
            uint64_t len = MM_MIN((uint64_t)(1 + (r >> 8) % 64) * 512 * 3, mem - s);
            boot_fz.xmap[nr++] = (struct mm_mem_region){ s, len, MM_MEM_USABLE };
            cur = s + len + ((r >> 20) % 4) * 1024;
        }
        if (cur < mem)
            boot_fz.xmap[nr++] = (struct mm_mem_region){ cur, mem - cur, MM_MEM_USABLE };
        break;
    }
    case FUZZ_MAP_VANISH: /* every usable region is shorter than its page-aligned interior */
        for (i = 0; i < n; i++) {
            uint64_t r = bt_rand(&rng), p = MM_PFN_PHYS(1 + r % (boot_fz.m.mem_pages - 2));
            if ((r >> 32) & 1)
                boot_fz.xmap[nr++] = (struct mm_mem_region){ p + 8 * (1 + (r >> 40) % 64), 2048, MM_MEM_USABLE };
            else
                boot_fz.xmap[nr++] = (struct mm_mem_region){ p - 2048 + 8 * ((r >> 40) % 64), 4000, MM_MEM_USABLE };
            if (((r >> 50) & 3) == 0)
                boot_fz.xmap[nr++] = (struct mm_mem_region){ p, PAGE_SIZE, MM_MEM_RESERVED };
        }
        /* and whole usable pages a reserved entry covers completely */
        boot_fz.xmap[nr++] = (struct mm_mem_region){ MM_PFN_PHYS(1), MM_PFN_PHYS(4), MM_MEM_USABLE };
        boot_fz.xmap[nr++] = (struct mm_mem_region){ 512, MM_PFN_PHYS(5), MM_MEM_BAD };
        want = -MM_EINVAL;
        break;
    case FUZZ_MAP_BADENTRY:
        boot_fz.xmap[nr++] = (struct mm_mem_region){ 0, mem, MM_MEM_USABLE };
        if (x & 1)
            boot_fz.xmap[nr++] = (struct mm_mem_region){ MM_PFN_PHYS(n), 0, MM_MEM_RESERVED };
        else
            boot_fz.xmap[nr++] = (struct mm_mem_region){ ~0ull - PAGE_SIZE * n, PAGE_SIZE * (n + 2),
                                                   (x & 2) ? MM_MEM_USABLE : MM_MEM_RESERVED };
        bt_shuffle(boot_fz.xmap, nr, &rng);
        want = -MM_EINVAL;
        break;
    case FUZZ_MAP_TOOMANY: {
        /* more disjoint usable regions than the early allocator has slots; this is beyond what
         * the hosted machine description holds, so mm_early_init is called directly (it fails
         * before touching memory) */
        static struct mm_mem_region big[MM_MAX_MEM_REGIONS + 64];
        struct mm_boot_params bp;
        unsigned int cnt = MM_MAX_MEM_REGIONS + 1 + n % 63;
        for (i = 0; i < cnt; i++)
            big[i] = (struct mm_mem_region){ MM_PFN_PHYS(2 * i + 1), PAGE_SIZE, MM_MEM_USABLE };
        bt_shuffle(big, cnt, &rng);
        memset(&bp, 0, sizeof(bp));
        bp.map = big;
        bp.nr_map = cnt;
        bp.nr_cpus = boot_fz.m.nr_cpus;
        bp.zone_dma_end = MM_PFN_PHYS(64);
        bp.zone_normal_end = MM_PFN_PHYS(boot_fz.m.mem_pages / 8 * 7);
        bp.seed = x;
        err = mm_early_init(&bp);
        fuzz_digest_err(err);
        BT_TRACE("  %u disjoint regions -> %s", cnt, mm_strerror(err));
        if (err != -MM_ENOSPC)
            bt_fail("map-toomany: mm_early_init with %u disjoint regions returned %s, expected "
                    "ENOSPC", cnt, mm_strerror(err));
        goto refused;
    }
    default:
        return;
    }
    boot_fz.layout.xmap = boot_fz.xmap;
    boot_fz.layout.nr_xmap = nr;
    err = fuzz_platform.boot_early(&boot_fz.layout);
    fuzz_digest_err(err);
    boot_fz.layout.xmap = NULL;
    boot_fz.layout.nr_xmap = 0;
    BT_TRACE("  %u map entries -> %s", nr, mm_strerror(err));
    if (err != want)
        bt_fail("map-boot %u entries returned %s, expected %s", nr, mm_strerror(err),
                mm_strerror(want));
    if (!err) {
        bt_model_reset(boot_fz.xmap, nr);
        boot_fz.misuse_expected = mm_misuse_count();
        return;
    }
    /* nothing else: no usable memory known, nothing reserved, no report */
    if (memblock_usable_bytes() || memblock_reserved_bytes())
        bt_fail("map-failed-boot-left-memory usable=%llu reserved=%llu",
                (unsigned long long)memblock_usable_bytes(),
                (unsigned long long)memblock_reserved_bytes());
refused:
    /* no boot, no report; the early allocator refuses service */
    if (mm_ready() || mm_misuse_count())
        bt_fail("map-failed-boot-left-state ready=%d usable=%llu reserved=%llu misuse=%lu",
                mm_ready(), (unsigned long long)memblock_usable_bytes(),
                (unsigned long long)memblock_reserved_bytes(), mm_misuse_count());
    boot_fz.misuse_expected = 0;
    bt_expect_retired();
    {
        unsigned long before = mm_misuse_count();
        err = fuzz_platform.core_init();
        fuzz_digest_err(err);
        if (err != -MM_EINVAL)
            bt_fail("core-init-after-failed-boot returned %s", mm_strerror(err));
        bt_expect_misuse("mm_core_init", before, MM_MISUSE_NOT_READY, -MM_EINVAL);
    }
    bt_boot_layout();
}

/* ---- memblock ops ---- */

static void bt_hold(uint64_t s, uint64_t e)
{
    if (boot_fz.nr_held < BT_MAX_HELD && e <= boot_fz.arena_end)
        boot_fz.held[boot_fz.nr_held++] = (struct bt_range){ s, e };
}

static void bt_op_alloc(uint32_t size, uint32_t align, bool big)
{
    unsigned long before = mm_misuse_count();
    uint64_t sz = big ? (1ull << ARCH_PHYS_BITS) + 8 * (1 + size % 64) : size, sz8;
    bool valid = sz && !big && align >= 8 && !(align & (align - 1)) && align <= (1u << 30);
    bool fits;
    phys_addr_t pa;

    if (boot_fz.core) {
        bt_expect_retired();
        return;
    }
    sz8 = MM_ALIGN_UP(sz, 8);
    fits = valid && bt_fits(sz8, align);
    pa = memblock_alloc(sz, align);
    fuzz_digest_ok(pa != 0);
    BT_TRACE("  -> 0x%llx", (unsigned long long)pa);
    if (!valid) {
        if (pa)
            bt_fail("memblock-alloc-invalid size=%llu align=%u returned 0x%llx",
                    (unsigned long long)sz, (unsigned int)align, (unsigned long long)pa);
        bt_expect_misuse("memblock_alloc", before, MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL);
        return;
    }
    if (!pa) {
        if (fits && boot_fz.nr_res < MM_MAX_MEM_REGIONS - 1)
            bt_fail("memblock-spurious-failure size=%llu align=%u: the model has a gap",
                    (unsigned long long)sz, (unsigned int)align);
        return;
    }
    if (!fits)
        bt_fail("memblock-alloc-impossible 0x%llx size=%llu align=%u: the model has no gap",
                (unsigned long long)pa, (unsigned long long)sz, (unsigned int)align);
    if (pa & (align - 1))
        bt_fail("memblock-alloc-misaligned 0x%llx align=%u", (unsigned long long)pa,
                (unsigned int)align);
    if (pa < PAGE_SIZE || !bt_usable_range(pa, pa + sz8))
        bt_fail("memblock-alloc-not-usable [0x%llx, +%llu) outside usable memory",
                (unsigned long long)pa, (unsigned long long)sz8);
    if (bt_res_overlaps(pa, pa + sz8))
        bt_fail("memblock-alloc-overlap [0x%llx, +%llu) overlaps a reserved range",
                (unsigned long long)pa, (unsigned long long)sz8);
    bt_res_add(pa, pa + sz8);
    bt_hold(pa, pa + sz8);
}

static void bt_op_reserve(uint32_t off, uint32_t len, uint32_t where)
{
    unsigned long before = mm_misuse_count();
    uint64_t mem = MM_PFN_PHYS(boot_fz.m.mem_pages), base, size;
    int err, want = 0;

    if (boot_fz.core) {
        bt_expect_retired();
        return;
    }
    switch (where) {
    case 0: base = ((uint64_t)off * 512) % mem; size = ((uint64_t)len + 1) * 1024 - (off & 7) * 8; break;
    case 1: base = MM_PFN_PHYS(off % boot_fz.m.mem_pages); size = MM_PFN_PHYS(len % 16 + 1); break;
    case 2: base = mem + (uint64_t)off * 512; size = ((uint64_t)len + 1) * 4096; break;
    case 3: base = ((uint64_t)off * 512) % mem; size = 0; want = -MM_EINVAL; break;
    default: base = ~0ull - off; size = (uint64_t)off + 2 + len; want = -MM_EINVAL; break;
    }
    if (!want && !bt_res_touches(base, base + size) && boot_fz.nr_res == MM_MAX_MEM_REGIONS)
        want = -MM_ENOSPC;
    err = memblock_reserve(base, size);
    fuzz_digest_err(err);
    BT_TRACE("  [0x%llx, +%llu) -> %s", (unsigned long long)base, (unsigned long long)size,
             mm_strerror(err));
    if (err != want)
        bt_fail("memblock-reserve [0x%llx, +%llu) returned %s, expected %s",
                (unsigned long long)base, (unsigned long long)size, mm_strerror(err),
                mm_strerror(want));
    if (want == -MM_EINVAL)
        bt_expect_misuse("memblock_reserve", before, MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL);
    if (err)
        return;
    bt_res_add(base, base + size);
    bt_hold(base, base + size);
}

static void bt_op_free(uint32_t h, uint32_t part, uint32_t x)
{
    unsigned long before = mm_misuse_count();
    uint64_t s, e, s8;
    int err, want;
    uint32_t i;

    if (boot_fz.core) {
        bt_expect_retired();
        return;
    }
    if (part == 4) { /* a range inside a gap: never reserved */
        uint32_t p;
        for (i = 0; i < boot_fz.nr_pages; i++) {
            p = (x + i) % boot_fz.nr_pages;
            if (boot_fz.usable[p] && !bt_res_overlaps(MM_PFN_PHYS(p), MM_PFN_PHYS(p + 1)))
                break;
        }
        if (i == boot_fz.nr_pages) {
            BT_TRACE("  skipped: no unreserved page");
            return;
        }
        s = MM_PFN_PHYS(p) + (x % 256) * 8;
        e = s + 8 * (1 + (x >> 8) % (512 - x % 256 - 1));
    } else {
        struct bt_range *r;
        uint64_t n;
        if (!boot_fz.nr_held) {
            BT_TRACE("  skipped: nothing held");
            return;
        }
        r = &boot_fz.held[h % boot_fz.nr_held];
        n = (r->e - r->s + 7) / 8; /* 8-byte units */
        s = r->s;
        e = r->e;
        if (part == 1 && n > 1)
            e = s + 8 * (1 + x % (n - 1));
        else if (part == 2 && n > 1)
            s = MM_ALIGN_UP(s, 8) + 8 * (1 + x % (n - 1));
        else if (part == 3 && n > 2) {
            s = MM_ALIGN_UP(s, 8) + 8 * (1 + x % (n - 2));
            e = MM_MIN(e, s + 8 * (1 + (x >> 4) % (n - 2)));
        }
        if (s >= e)
            e = s + 8;
    }
    s8 = s + MM_ALIGN_UP(e - s, 8);
    /* page 0 is the mm's own reservation: a range reaching into it is refused */
    want = bt_res_covered(s, s8) && s >= PAGE_SIZE ? 0 : -MM_EINVAL;
    if (!want && !bt_res_remove(s, s8))
        want = -MM_ENOSPC;
    err = memblock_free(s, e - s);
    fuzz_digest_err(err);
    BT_TRACE("  [0x%llx, +%llu) -> %s", (unsigned long long)s, (unsigned long long)(e - s),
             mm_strerror(err));
    if (err != want)
        bt_fail("memblock-free [0x%llx, +%llu) returned %s, expected %s", (unsigned long long)s,
                (unsigned long long)(e - s), mm_strerror(err), mm_strerror(want));
    if (want == -MM_EINVAL)
        bt_expect_misuse("memblock_free", before, MM_MISUSE_NOT_ALLOCATED, -MM_EINVAL);
    if (!err && part == 0 && boot_fz.nr_held) {
        i = h % boot_fz.nr_held;
        memmove(&boot_fz.held[i], &boot_fz.held[i + 1], (boot_fz.nr_held - i - 1) * sizeof(boot_fz.held[0]));
        boot_fz.nr_held--;
    }
}

/* ---- core init and the buddy allocator ---- */

static void bt_op_core_init(void)
{
    unsigned long before = mm_misuse_count();
    uint32_t last = 0, p;
    uint64_t map_bytes;
    bool fits;
    int err;

    if (boot_fz.core) {
        err = fuzz_platform.core_init();
        fuzz_digest_err(err);
        if (err != -MM_EINVAL)
            bt_fail("core-init-twice returned %s", mm_strerror(err));
        bt_expect_misuse("mm_core_init", before, MM_MISUSE_NOT_READY, -MM_EINVAL);
        return;
    }
    for (p = 0; p < boot_fz.nr_pages; p++)
        if (boot_fz.usable[p])
            last = p + 1;
    map_bytes = MM_ALIGN_UP((uint64_t)last * sizeof(struct page), PAGE_SIZE);
    fits = bt_fits(map_bytes, PAGE_SIZE);
    err = fuzz_platform.core_init();
    fuzz_digest_err(err);
    BT_TRACE("  -> %s (max_pfn %lu)", mm_strerror(err), mm_max_pfn);
    if (!fits && err != -MM_ENOMEM)
        bt_fail("core-init returned %s, but the page array (%llu bytes) fits nowhere",
                mm_strerror(err), (unsigned long long)map_bytes);
    if (err) {
        if (err != -MM_ENOMEM)
            bt_fail("core-init returned %s", mm_strerror(err));
        bt_boot_layout(); /* a half-built instance: start over */
        return;
    }
    if (!mm_ready() || mm_max_pfn != last)
        bt_fail("core-init-geometry ready=%d max_pfn=%lu expected=%u", mm_ready(), mm_max_pfn,
                (unsigned int)last);
    for (p = 0; p < last; p++) {
        const struct page *pg = pfn_to_page(p);
        if (!boot_fz.usable[p] && (pg->flags & (PG_reserved | PG_hole)) != (PG_reserved | PG_hole))
            bt_fail("core-init-hole pfn=%u flags=0x%x: not a reserved hole", (unsigned int)p,
                    (unsigned int)pg->flags);
        if (boot_fz.usable[p] && (pg->flags & PG_hole))
            bt_fail("core-init-fake-hole pfn=%u flags=0x%x", (unsigned int)p, (unsigned int)pg->flags);
        if (bt_res_overlaps(MM_PFN_PHYS(p), MM_PFN_PHYS(p + 1)) && !(pg->flags & PG_reserved))
            bt_fail("core-init-reserved-page-handed-off pfn=%u flags=0x%x", (unsigned int)p,
                    (unsigned int)pg->flags);
    }
    if (memblock_usable_bytes() != boot_fz.usable_bytes ||
        memblock_reserved_bytes() < bt_res_bytes() + map_bytes)
        bt_fail("core-init-memblock usable=%llu (model %llu) reserved=%llu (model %llu + map %llu)",
                (unsigned long long)memblock_usable_bytes(), (unsigned long long)boot_fz.usable_bytes,
                (unsigned long long)memblock_reserved_bytes(), (unsigned long long)bt_res_bytes(),
                (unsigned long long)map_bytes);
    boot_fz.core = true;
    boot_fz.reserved_after_core = memblock_reserved_bytes();
    bt_expect_retired();
}

FUZZ_VERIFY_FN static bool bt_block_ok(uint32_t pfn, uint32_t order, const char **why)
{
    uint32_t i, n = 1u << order;

    *why = NULL;
    if (pfn & (n - 1))
        *why = "misaligned";
    else if (pfn + n > boot_fz.nr_pages || !bt_usable_range(MM_PFN_PHYS(pfn), MM_PFN_PHYS(pfn + n)))
        *why = "in a hole or an e820-reserved region";
    else if (bt_res_overlaps(MM_PFN_PHYS(pfn), MM_PFN_PHYS(pfn + n)))
        *why = "overlapping an early allocation or reservation";
    else
        for (i = 0; i < n; i++)
            if (boot_fz.owned[pfn + i])
                *why = "overlapping another block of the sweep";
    return !*why;
}

static void bt_op_sweep(uint32_t order, gfp_t gfp)
{
    unsigned long before = mm_misuse_count(), free0;
    uint32_t nr = 0, i;
    int o, err;

    if (!boot_fz.core) {
        struct page *pg = NULL;
        void *k;
        err = page_alloc_try(GFP_KERNEL, 0, &pg);
        fuzz_digest_err(err);
        if (err != -MM_EINVAL || pg)
            bt_fail("alloc-before-core-init returned %s page=%p", mm_strerror(err), (void *)pg);
        bt_expect_misuse("alloc_pages", before, MM_MISUSE_NOT_READY, -MM_EINVAL);
        before = mm_misuse_count();
        k = kmalloc(64, GFP_KERNEL);
        fuzz_digest_ok(k != NULL);
        if (k)
            bt_fail("kmalloc-before-core-init returned %p", k);
        bt_expect_misuse("kmalloc", before, MM_MISUSE_NOT_READY, -MM_EINVAL);
        return;
    }
    if (gfp & __GFP_DMA) /* keep the sweep meaningful: everything a normal caller can get */
        gfp = GFP_HIGHUSER;
    gfp |= __GFP_NOWARN;
    free0 = page_alloc_nr_free();
    memset(boot_fz.owned, 0, boot_fz.nr_pages); /* bt_block_ok reads no pfn beyond nr_pages */
    for (o = (int)order; o >= 0; o--)
        for (;;) {
            struct page *pg = NULL;
            const char *why;
            uint32_t pfn;
            if (nr == BT_MAX_SWEEP)
                break;
            err = page_alloc_try(gfp, (unsigned int)o, &pg);
            if (err == -MM_ENOMEM)
                break;
            if (err || !pg || !page_pointer_valid(pg))
                bt_fail("sweep-alloc order=%d returned %s page=%p", o, mm_strerror(err), (void *)pg);
            pfn = (uint32_t)page_to_pfn(pg);
            if (!bt_block_ok(pfn, (uint32_t)o, &why))
                bt_fail("sweep-bad-block pfn=%u order=%d %s", (unsigned int)pfn, o, why);
            for (i = 0; i < (1u << o); i++)
                boot_fz.owned[pfn + i] = 1;
            boot_fz.sweep_pfn[nr] = pfn;
            boot_fz.sweep_order[nr++] = (uint8_t)o;
        }
    fuzz_digest_count(nr);
    BT_TRACE("  swept %u blocks, %lu pages left free", (unsigned int)nr, page_alloc_nr_free());
    while (nr) {
        nr--;
        err = __free_pages(pfn_to_page(boot_fz.sweep_pfn[nr]), boot_fz.sweep_order[nr]);
        if (err)
            bt_fail("sweep-free pfn=%u returned %s", (unsigned int)boot_fz.sweep_pfn[nr], mm_strerror(err));
    }
    drain_all_pages();
    if (page_alloc_nr_free() < free0)
        bt_fail("sweep-leak free pages %lu after the sweep, %lu before", page_alloc_nr_free(), free0);
}

/* ---- per-op checks ---- */

static void bt_check(bool full)
{
    struct mm_check_report rep;
    int err = full || fuzz_cur_check_due() ? mm_check(&rep) : mm_check_counts(&rep);

    if (err)
        bt_fail("invariant=%s pfn=%lu: %s (%s)", rep.invariant ? rep.invariant : "?", rep.pfn,
                rep.detail, mm_strerror(err));
    if (mm_misuse_count() != boot_fz.misuse_expected)
        bt_fail("misuse-spurious count=%lu expected=%lu", mm_misuse_count(), boot_fz.misuse_expected);
    if (memblock_usable_bytes() != boot_fz.usable_bytes)
        bt_fail("memblock-usable-bytes %llu, model %llu", (unsigned long long)memblock_usable_bytes(),
                (unsigned long long)boot_fz.usable_bytes);
    if (!boot_fz.core && memblock_reserved_bytes() != bt_res_bytes())
        bt_fail("memblock-reserved-bytes %llu, model %llu",
                (unsigned long long)memblock_reserved_bytes(), (unsigned long long)bt_res_bytes());
    if (boot_fz.core && memblock_reserved_bytes() != boot_fz.reserved_after_core)
        bt_fail("memblock-reserved-bytes changed after retirement: %llu, was %llu",
                (unsigned long long)memblock_reserved_bytes(),
                (unsigned long long)boot_fz.reserved_after_core);
}

static void bt_exec(const struct fuzz_op *op)
{
    const uint32_t *a = op->arg;

    switch (op->kind) {
    case FOP_MEMBLOCK_ALLOC: bt_op_alloc(a[0], a[1], a[2]); break;
    case FOP_MEMBLOCK_RESERVE: bt_op_reserve(a[0], a[1], a[2]); break;
    case FOP_MEMBLOCK_FREE: bt_op_free(a[0], a[1], a[2]); break;
    case FOP_CORE_INIT: bt_op_core_init(); break;
    case FOP_BUDDY_SWEEP: bt_op_sweep(a[0], a[1]); break;
    case FOP_BOOT_MAP: bt_op_map(a[0], a[1], a[2]); break;
    case FOP_CORRUPT:
        /* before core init only the early allocator's regions exist */
        if (!fz_corrupt(boot_fz.core ? a[0] : FUZZ_CR_MEMBLOCK, a[1], bt_fail_fn)) {
            fuzz_digest_ok(false);
            BT_TRACE("  skipped: no victim");
        }
        break;
    case FOP_STATS:
        if (boot_fz.core)
            fz_check_stats(true, bt_fail_fn);
        break;
    default: break;
    }
}

static uint32_t bt_setup(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    bt_boot_layout();
    bt_check(true); /* the boot is this target's subject: checked in full at any cadence */
    return 0;
}

const struct fuzz_target fuzz_target_boot = {
    .name = "boot",
    .table = &bt_table,
    .machine = &boot_fz.m,
    .setup = bt_setup,
    .exec = bt_exec,
    .check = bt_check,
};
