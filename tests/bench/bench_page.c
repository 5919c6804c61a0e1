/*
 * bench_page.c - page allocator benchmark over the hosted simulated machine.
 *
 * Boots simulated machines and times the physical page allocator. One line per case:
 *
 *     BENCH name=<case> ns_per_op=<x.xx>
 *
 * (one op = one alloc + free pair unless a case says otherwise), plus human-readable context lines
 * that start with '#'. Cases:
 *
 *   page_order0_pcp       order-0 alloc_pages(GFP_KERNEL, 0) + __free_pages through the per-CPU
 *                         lists, 1 GiB PC machine
 *   page_order0_buddy     the same with the per-CPU lists bypassed (pcp_disable), free lists as
 *                         boot left them (how deep each alloc splits depends on what boot
 *                         allocated; a '#' line says)
 *   page_order0_buddy_split  (extra) the buddy case when the Normal zone holds only max-order
 *                         blocks: each alloc splits MM_MAX_ORDER levels, each free merges them back
 *   page_order0_buddy_frag   (extra) the buddy case on a pre-fragmented zone: no split, no merge
 *   page_mixed            random orders 0..MM_MAX_ORDER (seeded, small orders dominate) with a
 *                         working set of 256 live blocks, a random live block freed each step
 *   page_order0_pcp_64m   the pcp case on a 64 MiB machine
 *   page_order0_batch     512 order-0 allocations, then 512 frees (ns per page)
 *   mm_boot_16g           machine_boot of a 16 GiB machine (ms)
 *   page_order0_pcp_16g   the pcp case on a 16 GiB machine, plus
 *                         `BENCH name=page_order0_pcp_16g ratio_vs_64m=<x.xx>`, measured on 64 MiB
 *                         and 16 GiB machines booted alternately (see ratio_interleave)
 *   page_order0_pcp_traced, page_order0_buddy_traced   the pcp and buddy cases with every trace
 *                         class on (mm_trace.h: two events per op), plus
 *                         `BENCH name=<case> trace_on_vs_off=<x.xx>` from machines with tracing
 *                         off and on booted alternately (trace_interleave)
 *
 * Method: CLOCK_MONOTONIC around a fixed number of iterations per repetition (sized for ~0.2-0.5 s
 * on a machine that meets the targets; scaled down from the warm-up when the allocator is much
 * slower, so the whole run stays well under a minute), after a warm-up; 5 repetitions, the
 * minimum is reported (the median and maximum go on a '#' line). Work is kept observable by
 * folding every returned pointer into a checksum stored to a volatile sink, and every free's
 * return code is checked. After each case the allocator's invariants are verified (mm_check) and
 * the free-page count is compared with its value before the case, untimed.
 *
 * Usage: bench_page [--quick] [--reps N] [--list] [FILTER...]
 *   --quick   1/100 of the iterations and 2 repetitions (smoke run for tests, ~1 s; numbers rough)
 *   --reps N  repetitions per case (default 5)
 *   --list    print the case names
 *   FILTER    run only the case named FILTER (exact), or the cases whose name contains FILTER
 *             when no case has exactly that name; several FILTERs select the union
 * Exit status: 0, or 1 if an allocation failed, a free was rejected, a boot failed or mm_check
 * found a broken invariant.
 *
 * Build (release): see build.sh bench, or
 *   clang -std=gnu11 -O2 -g -DNDEBUG -Imm/include -Iarch/x86_64/include -Ishims/include \
 *       $(find mm shims/hosted -name '*.c') tests/bench/bench_page.c -o bench_page -lpthread
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "mm.h"
#include "mm_env.h"
#include "mm_trace.h"
#include "page_alloc.h"
#include "machine.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

#define BENCH_CPUS 4             /* simulated CPUs; the benchmark runs on CPU 0 */
#define BENCH_SEED 0x5eedbe9cull /* mm seed (freelist randomisation etc.) */
#define MIXED_LIVE 256           /* working set of page_mixed (a power of two) */
#define BATCH_PAGES 512          /* pages per round of page_order0_batch */

/* ---- options and bookkeeping ---- */

static struct bench_opts opt = BENCH_OPTS_INIT;

static volatile uintptr_t g_sink;    /* keeps results observable */
static uint32_t g_trace_mask;        /* trace classes the next boot enables (mm_trace.h) */


/* ---- deterministic PRNG (splitmix64) ---- */

static inline uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- machines ---- */

static bool boot_pc(uint64_t mem, bool pcp_disable)
{
    struct machine m;
    machine_pc(&m, mem, BENCH_CPUS);
    m.pcp_disable = pcp_disable;
    m.seed = BENCH_SEED;
    m.trace_mask = g_trace_mask;
    int err = machine_boot(&m);
    if (err) {
        fail("machine_boot(%llu MiB, pcp_disable=%d) = %d (%s)",
             (unsigned long long)(mem / MIB), pcp_disable, err, mm_strerror(err));
        return false;
    }
    machine_cpu_set(0);
    return true;
}

/** Untimed sanity check after a case: invariants hold and every page came back. */
static void verify_after(const char *name, unsigned long free_before)
{
    struct mm_check_report rep;
    memset(&rep, 0, sizeof(rep));
    int err = mm_check(&rep);
    if (err)
        fail("%s: mm_check: %s at pfn %lu: %s", name, rep.invariant ? rep.invariant : "?",
             rep.pfn, rep.detail);
    unsigned long free_after = page_alloc_nr_free();
    if (free_after != free_before)
        fail("%s: free pages %lu before the case, %lu after", name, free_before, free_after);
    if (mm_misuse_count())
        fail("%s: %lu misuse reports", name, mm_misuse_count());
}

static void print_counters(const char *name, const struct page_alloc_counters *a,
                           const struct page_alloc_counters *b)
{
    printf("# %s: counters alloc=%lu free=%lu fail=%lu pcp_hit=%lu pcp_refill=%lu pcp_drain=%lu "
           "wmark_low_miss=%lu\n", name, b->alloc - a->alloc, b->free - a->free,
           b->fail - a->fail, b->pcp_hit - a->pcp_hit, b->pcp_refill - a->pcp_refill,
           b->pcp_drain - a->pcp_drain, b->wmark_low_miss - a->wmark_low_miss);
}

/* ---- the timed kernels: each runs @iters ops and returns a checksum ---- */

typedef uint64_t (*bench_fn)(uint64_t iters, void *ctx);

static uint64_t k_order0(uint64_t iters, void *ctx)
{
    (void)ctx;
    uint64_t sum = 0;
    unsigned long bad = 0;
    for (uint64_t i = 0; i < iters; i++) {
        struct page *p = alloc_pages(GFP_KERNEL, 0);
        if (mm_unlikely(!p)) {
            bad++;
            continue;
        }
        sum += (uintptr_t)p;
        bad += __free_pages(p, 0) != 0;
    }
    if (bad)
        fail("order-0 alloc/free: %lu failures", bad);
    return sum;
}

static uint64_t k_batch(uint64_t rounds, void *ctx)
{
    (void)ctx;
    struct page *pages[BATCH_PAGES];
    uint64_t sum = 0;
    unsigned long bad = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        for (unsigned int i = 0; i < BATCH_PAGES; i++) {
            pages[i] = alloc_pages(GFP_KERNEL, 0);
            sum += (uintptr_t)pages[i];
        }
        for (unsigned int i = 0; i < BATCH_PAGES; i++) {
            if (mm_unlikely(!pages[i])) {
                bad++;
                continue;
            }
            bad += __free_pages(pages[i], 0) != 0;
        }
    }
    if (bad)
        fail("batch alloc/free: %lu failures", bad);
    return sum;
}

/*
 * Order distribution of page_mixed, in 1/1024ths: half the requests are order 0 and the share
 * roughly halves with each order (pages, slabs, small DMA buffers, huge-page-sized blocks), but
 * every order up to MM_MAX_ORDER occurs.
 */
static const uint16_t mixed_weight[MM_NR_ORDERS] = {
    512, 184, 113, 72, 51, 36, 26, 15, 8, 5, 2,
};
MM_STATIC_ASSERT(MM_NR_ORDERS == 11, "mixed_weight assumes MM_MAX_ORDER == 10");
static uint8_t mixed_table[1024]; /* uniform 10-bit value -> order */

struct mixed_ctx {
    struct page *live[MIXED_LIVE];
    uint8_t order[MIXED_LIVE];
    uint64_t rng;
    unsigned long alloc_fail;
    unsigned long per_order[MM_NR_ORDERS];
    bool count_orders;
};

static void mixed_init_table(void)
{
    unsigned int k = 0;
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
        for (unsigned int w = 0; w < mixed_weight[o]; w++)
            mixed_table[k++] = (uint8_t)o;
    if (k != 1024) {
        fprintf(stderr, "mixed_weight does not sum to 1024\n");
        exit(2);
    }
}

/** Untimed: reseed and fill the working set. */
static void mixed_setup(struct mixed_ctx *c)
{
    c->rng = 0x1234abcdull;
    for (unsigned int i = 0; i < MIXED_LIVE; i++) {
        unsigned int o = mixed_table[splitmix64(&c->rng) & 1023];
        c->live[i] = alloc_pages(GFP_KERNEL, o);
        c->order[i] = (uint8_t)o;
        if (!c->live[i])
            c->alloc_fail++;
    }
}

/** Untimed: free the working set. */
static void mixed_teardown(struct mixed_ctx *c)
{
    for (unsigned int i = 0; i < MIXED_LIVE; i++) {
        if (c->live[i] && __free_pages(c->live[i], c->order[i]) != 0)
            fail("page_mixed: teardown free of order %u rejected", c->order[i]);
        c->live[i] = NULL;
    }
}

static uint64_t k_mixed(uint64_t iters, void *ctx)
{
    struct mixed_ctx *c = ctx;
    uint64_t sum = 0, rng = c->rng;
    unsigned long bad = 0, afail = 0;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t r = splitmix64(&rng);
        unsigned int o = mixed_table[r & 1023];
        unsigned int v = (unsigned int)(r >> 32) & (MIXED_LIVE - 1);
        struct page *old = c->live[v];
        if (mm_likely(old != NULL))
            bad += __free_pages(old, c->order[v]) != 0;
        struct page *p = alloc_pages(GFP_KERNEL, o);
        afail += p == NULL;
        sum += (uintptr_t)p;
        c->live[v] = p;
        c->order[v] = (uint8_t)o;
        if (c->count_orders)
            c->per_order[o]++;
    }
    c->rng = rng;
    c->alloc_fail += afail;
    if (bad)
        fail("page_mixed: %lu frees rejected", bad);
    return sum;
}

/* ---- the timing harness ---- */

struct timing {
    double min, median, max; /* ns per op */
    uint64_t iters;
    unsigned int reps;
};

static unsigned int reps_override; /* when non-zero, time_case runs this many repetitions */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/**
 * Warm up, then run @reps repetitions of @iters ops (each op counting @ops_per_iter), calling
 * @setup/@teardown untimed around each repetition. @iters shrinks if the warm-up predicts a
 * repetition longer than ~0.6 s.
 */
static struct timing time_case(const char *name, bench_fn fn, void *ctx, uint64_t iters,
                               double ops_per_iter, void (*setup)(void *),
                               void (*teardown)(void *))
{
    struct timing t = { 0 };
    double ns[16];
    unsigned int reps = reps_override ? reps_override : opt.reps;

    if (opt.quick)
        iters = iters / 100 ? iters / 100 : 1;

    /* warm-up: about a tenth of a repetition; also calibrates the iteration count */
    uint64_t warm = iters / 10 ? iters / 10 : 1;
    if (setup)
        setup(ctx);
    uint64_t t0 = now_ns();
    g_sink += fn(warm, ctx);
    uint64_t t1 = now_ns();
    if (teardown)
        teardown(ctx);
    double per_iter = (double)(t1 - t0) / (double)warm;
    const double max_rep_ns = opt.quick ? 0.05e9 : 0.6e9;
    if (per_iter * (double)iters > max_rep_ns) {
        uint64_t scaled = (uint64_t)(0.4e9 / per_iter * (opt.quick ? 0.1 : 1.0));
        if (scaled < 1)
            scaled = 1;
        printf("# %s: slower than expected (%.1f ns/iter in warm-up); iterations %llu -> %llu\n",
               name, per_iter, (unsigned long long)iters, (unsigned long long)scaled);
        iters = scaled;
    }

    for (unsigned int r = 0; r < reps; r++) {
        if (setup)
            setup(ctx);
        t0 = now_ns();
        g_sink += fn(iters, ctx);
        t1 = now_ns();
        if (teardown)
            teardown(ctx);
        ns[r] = (double)(t1 - t0) / ((double)iters * ops_per_iter);
    }
    qsort(ns, reps, sizeof(ns[0]), cmp_double);
    t.min = ns[0];
    t.median = ns[reps / 2];
    t.max = ns[reps - 1];
    t.iters = iters;
    t.reps = reps;
    return t;
}

static void print_timing(const char *name, const struct timing *t, const char *iter_unit,
                         const char *unit)
{
    printf("# %s: %llu %s x %u reps: min %.2f median %.2f max %.2f %s\n", name,
           (unsigned long long)t->iters, iter_unit, t->reps, t->min, t->median, t->max, unit);
}

/* ---- cases ---- */

static double result_pcp_64m = -1.0, result_pcp_16g = -1.0;

/** Nominal iteration counts (full run): ~0.3 s per repetition at the target speeds. */
#define ITERS_ORDER0_PCP    20000000ull
#define ITERS_ORDER0_BUDDY   6000000ull
#define ITERS_MIXED          2000000ull
#define ROUNDS_BATCH           12000ull

#define FRAG_PAGES 65536ul /* pages pre-allocated by page_order0_buddy_frag (256 MiB) */

enum order0_mode {
    MODE_PCP,          /* per-CPU lists on */
    MODE_BUDDY,        /* per-CPU lists off, the free lists as boot left them */
    MODE_BUDDY_SPLIT,  /* per-CPU lists off, Normal zone holds only max-order free blocks */
    MODE_BUDDY_FRAG,   /* per-CPU lists off, many order-0 free blocks whose buddies are in use */
};

/* Blocks a case holds while it runs (pre-fragmentation), freed untimed afterwards. */
struct held_blocks {
    struct page **page;
    uint8_t *order;
    unsigned long n, cap;
};

static bool held_push(struct held_blocks *h, struct page *p, unsigned int order)
{
    if (h->n == h->cap) {
        unsigned long cap = h->cap ? 2 * h->cap : 1024;
        struct page **np = realloc(h->page, cap * sizeof(*np));
        if (!np)
            return false;
        h->page = np;
        uint8_t *no = realloc(h->order, cap * sizeof(*no));
        if (!no)
            return false;
        h->order = no;
        h->cap = cap;
    }
    h->page[h->n] = p;
    h->order[h->n++] = (uint8_t)order;
    return true;
}

static void held_release(struct held_blocks *h)
{
    for (unsigned long i = 0; i < h->n; i++)
        if (__free_pages(h->page[i], h->order[i]))
            fail("releasing a held order-%u block: free rejected", h->order[i]);
    free(h->page);
    free(h->order);
    memset(h, 0, sizeof(*h));
}

static void normal_buddyinfo(unsigned long out[MM_NR_ORDERS])
{
    struct page_alloc_stats st;
    page_alloc_get_stats(&st);
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
        out[o] = st.zone[ZONE_NORMAL].nr_free_blocks[o];
}

static void print_buddyinfo(const char *name, const char *when)
{
    unsigned long bi[MM_NR_ORDERS];
    normal_buddyinfo(bi);
    printf("# %s: Normal zone free blocks by order %s:", name, when);
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
        printf(" %lu", bi[o]);
    printf("\n");
}

/*
 * MODE_BUDDY_SPLIT: allocate every free block below the max order in the Normal zone (each order
 * in turn, so each request is served from its own list), leaving only max-order blocks. Every
 * timed order-0 allocation then splits a max-order block all the way down and every free merges
 * it all the way back up: the worst case of the buddy path.
 */
static bool split_prepare(struct held_blocks *h)
{
    for (unsigned int o = 0; o < MM_MAX_ORDER; o++) {
        unsigned long bi[MM_NR_ORDERS];
        normal_buddyinfo(bi);
        for (unsigned long i = 0; i < bi[o]; i++) {
            struct page *p = alloc_pages(GFP_KERNEL, o);
            if (!p || !held_push(h, p, o)) {
                fail("split: pre-allocation of order %u failed", o);
                return false;
            }
        }
    }
    return true;
}

/*
 * MODE_BUDDY_FRAG: allocate FRAG_PAGES order-0 pages (whole max-order blocks get carved up), then
 * free those at even pfns. Their buddies (odd pfns) stay allocated, so the order-0 free list is
 * long and neither an allocation (no split) nor a free (no merge) walks the orders: the floor of
 * the buddy path.
 */
static bool frag_prepare(struct held_blocks *h)
{
    struct held_blocks all = { 0 };
    bool ok = true;
    for (unsigned long i = 0; i < FRAG_PAGES && ok; i++) {
        struct page *p = alloc_pages(GFP_KERNEL, 0);
        ok = p && held_push(&all, p, 0);
        if (!ok)
            fail("frag: pre-allocation %lu of %lu failed", i, FRAG_PAGES);
    }
    for (unsigned long i = 0; i < all.n; i++) {
        if (page_to_pfn(all.page[i]) & 1) {
            if (!held_push(h, all.page[i], 0)) {
                fail("frag: out of host memory");
                ok = false;
            }
        } else if (__free_pages(all.page[i], 0)) {
            fail("frag: free rejected");
        }
    }
    free(all.page);
    free(all.order);
    return ok;
}

/* Order of the Normal-zone free block one order-0 allocation takes (split levels = result). */
static int probe_split_order(void)
{
    unsigned long a[MM_NR_ORDERS], b[MM_NR_ORDERS];
    normal_buddyinfo(a);
    struct page *p = alloc_pages(GFP_KERNEL, 0);
    if (!p)
        return -1;
    normal_buddyinfo(b);
    __free_pages(p, 0);
    for (int o = MM_MAX_ORDER; o >= 0; o--)
        if (b[o] < a[o])
            return o;
    return -1;
}

static double run_order0(const char *name, uint64_t mem, enum order0_mode mode, bool quiet)
{
    bool pcp_disable = mode != MODE_PCP;
    if (!boot_pc(mem, pcp_disable))
        return -1.0;
    struct page_alloc_stats s0, s1;
    struct held_blocks held = { 0 };
    unsigned long free0 = page_alloc_nr_free();
    bool ok = true;
    if (mode == MODE_BUDDY_SPLIT)
        ok = split_prepare(&held);
    else if (mode == MODE_BUDDY_FRAG)
        ok = frag_prepare(&held);
    int split_order = pcp_disable ? probe_split_order() : -1;
    if (pcp_disable)
        print_buddyinfo(name, "before timing");
    page_alloc_get_stats(&s0);
    struct timing t = { 0 };
    if (ok)
        t = time_case(name, k_order0, NULL, pcp_disable ? ITERS_ORDER0_BUDDY : ITERS_ORDER0_PCP,
                      1.0, NULL, NULL);
    page_alloc_get_stats(&s1);
    if (ok && !quiet)
        printf("BENCH name=%s ns_per_op=%.2f\n", name, t.min);
    printf("# %s: %llu MiB PC machine, %u CPUs, per-CPU lists %s, free pages %lu\n", name,
           (unsigned long long)(mem / MIB), BENCH_CPUS, pcp_disable ? "disabled" : "enabled",
           free0);
    if (mode == MODE_BUDDY_SPLIT)
        printf("# %s: every free block below order %u in the Normal zone allocated first (%lu "
               "blocks)\n", name, MM_MAX_ORDER, held.n);
    else if (mode == MODE_BUDDY_FRAG)
        printf("# %s: %lu order-0 pages allocated first, the even-pfn half freed again\n", name,
               FRAG_PAGES);
    if (pcp_disable)
        printf("# %s: each timed allocation takes an order-%d block from the Normal zone "
               "(%d split levels on alloc, %d merges on free)\n", name, split_order,
               split_order, split_order);
    if (ok) {
        print_timing(name, &t, "iterations", "ns per alloc+free");
        print_counters(name, &s0.counters, &s1.counters);
    }
    if (!pcp_disable && s1.counters.pcp_hit == s0.counters.pcp_hit)
        printf("# %s: WARNING: no per-CPU list hits counted\n", name);
    if (pcp_disable && s1.counters.pcp_hit != s0.counters.pcp_hit)
        printf("# %s: WARNING: per-CPU list hits with pcp_disable\n", name);
    held_release(&held);
    verify_after(name, free0);
    fflush(stdout);
    return ok ? t.min : -1.0;
}

static void case_order0_pcp(void)
{
    run_order0("page_order0_pcp", 1 * GIB, MODE_PCP, false);
}

static void case_order0_buddy(void)
{
    run_order0("page_order0_buddy", 1 * GIB, MODE_BUDDY, false);
}

static void case_order0_buddy_split(void)
{
    run_order0("page_order0_buddy_split", 1 * GIB, MODE_BUDDY_SPLIT, false);
}

static void case_order0_buddy_frag(void)
{
    run_order0("page_order0_buddy_frag", 1 * GIB, MODE_BUDDY_FRAG, false);
}

static void case_order0_pcp_64m(void)
{
    result_pcp_64m = run_order0("page_order0_pcp_64m", 64 * MIB, MODE_PCP, false);
}

/*
 * The ratio of two case minima taken seconds apart moves with the load on a shared machine (a
 * burst during one case and not the other reads as a size effect). So the ratio is measured
 * separately: the 64 MiB and 16 GiB machines are booted alternately, @rounds times, one timed
 * repetition each, and the ratio is min(16 GiB samples) / min(64 MiB samples). Returns -1 on
 * failure.
 */
static double ratio_interleave(unsigned int rounds, double *min64, double *min16)
{
    static const uint64_t sizes[2] = { 64 * MIB, 16 * GIB };
    double best[2] = { -1.0, -1.0 };
    reps_override = 1;
    for (unsigned int r = 0; r < rounds; r++) {
        for (unsigned int k = 0; k < 2; k++) {
            if (!boot_pc(sizes[k], false)) {
                reps_override = 0;
                return -1.0;
            }
            struct timing t = time_case("ratio sample", k_order0, NULL, ITERS_ORDER0_PCP, 1.0,
                                        NULL, NULL);
            if (best[k] < 0 || t.min < best[k])
                best[k] = t.min;
        }
    }
    reps_override = 0;
    *min64 = best[0];
    *min16 = best[1];
    return best[0] > 0 ? best[1] / best[0] : -1.0;
}

static void case_order0_pcp_16g(void)
{
    result_pcp_16g = run_order0("page_order0_pcp_16g", 16 * GIB, MODE_PCP, false);
    if (result_pcp_16g <= 0)
        return;
    unsigned int rounds = opt.quick ? 1 : 5;
    double m64 = 0, m16 = 0;
    double ratio = ratio_interleave(rounds, &m64, &m16);
    if (ratio <= 0)
        return;
    printf("BENCH name=page_order0_pcp_16g ratio_vs_64m=%.2f\n", ratio);
    printf("# page_order0_pcp_16g: ratio from %u alternating 64m/16g boots, one repetition each: "
           "min %.2f ns / min %.2f ns", rounds, m16, m64);
    if (result_pcp_64m > 0)
        printf(" (the case minima give %.2f / %.2f = %.2f)", result_pcp_16g, result_pcp_64m,
               result_pcp_16g / result_pcp_64m);
    printf("\n");
    fflush(stdout);
}

/*
 * Tracing off against on, as ratio_interleave does for sizes: machines booted alternately with
 * the mask 0 and MM_TRACE_ALL, one timed repetition each, @rounds times; the ratio of the minima.
 */
static double trace_interleave(bool pcp_disable, unsigned int rounds, double *off, double *on)
{
    double best[2] = { -1.0, -1.0 };
    reps_override = 1;
    for (unsigned int r = 0; r < rounds; r++) {
        for (unsigned int k = 0; k < 2; k++) {
            g_trace_mask = k ? MM_TRACE_ALL : 0;
            bool booted = boot_pc(1 * GIB, pcp_disable);
            g_trace_mask = 0;
            if (!booted) {
                reps_override = 0;
                return -1.0;
            }
            struct timing t = time_case("trace sample", k_order0, NULL,
                                        pcp_disable ? ITERS_ORDER0_BUDDY : ITERS_ORDER0_PCP, 1.0,
                                        NULL, NULL);
            if (k && mm_trace_last_seq() == 0)
                fail("trace sample: tracing on, but no event recorded");
            if (best[k] < 0 || t.min < best[k])
                best[k] = t.min;
        }
    }
    reps_override = 0;
    *off = best[0];
    *on = best[1];
    return best[0] > 0 ? best[1] / best[0] : -1.0;
}

static void run_traced(const char *name, enum order0_mode mode)
{
    g_trace_mask = MM_TRACE_ALL;
    double ns = run_order0(name, 1 * GIB, mode, false);
    g_trace_mask = 0;
    if (ns <= 0)
        return;
    unsigned int rounds = opt.quick ? 1 : 5;
    double off = 0, on = 0, ratio = trace_interleave(mode != MODE_PCP, rounds, &off, &on);
    if (ratio <= 0)
        return;
    printf("BENCH name=%s trace_on_vs_off=%.2f\n", name, ratio);
    printf("# %s: every trace class on (%u events per CPU ring): ratio from %u alternating "
           "off/on boots, one repetition each: min %.2f ns / min %.2f ns (+%.2f ns per op)\n",
           name, MM_TRACE_RING_EVENTS, rounds, on, off, on - off);
    fflush(stdout);
}

static void case_order0_pcp_traced(void) { run_traced("page_order0_pcp_traced", MODE_PCP); }
static void case_order0_buddy_traced(void) { run_traced("page_order0_buddy_traced", MODE_BUDDY); }

static void mixed_setup_cb(void *ctx) { mixed_setup(ctx); }
static void mixed_teardown_cb(void *ctx) { mixed_teardown(ctx); }

static void case_mixed(void)
{
    const char *name = "page_mixed";
    static struct mixed_ctx c;
    memset(&c, 0, sizeof(c));
    if (!boot_pc(1 * GIB, false))
        return;
    unsigned long free0 = page_alloc_nr_free();
    struct page_alloc_stats s0, s1;
    page_alloc_get_stats(&s0);
    struct timing t = time_case(name, k_mixed, &c, ITERS_MIXED, 1.0, mixed_setup_cb,
                                mixed_teardown_cb);
    page_alloc_get_stats(&s1);
    printf("BENCH name=%s ns_per_op=%.2f\n", name, t.min);
    printf("# %s: 1024 MiB PC machine, %u live blocks, orders 0..%u weighted", name, MIXED_LIVE,
           MM_MAX_ORDER);
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
        printf("%s%u/1024", o ? ":" : " ", mixed_weight[o]);
    printf("\n");
    print_timing(name, &t, "iterations", "ns per alloc+free");
    print_counters(name, &s0.counters, &s1.counters);

    /* one more untimed pass to show what was drawn */
    c.count_orders = true;
    mixed_setup(&c);
    g_sink += k_mixed(100000, &c);
    mixed_teardown(&c);
    printf("# %s: orders drawn in 100000 steps:", name);
    for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
        printf(" o%u=%lu", o, c.per_order[o]);
    printf("\n");
    if (c.alloc_fail)
        fail("%s: %lu allocations failed", name, c.alloc_fail);
    verify_after(name, free0);
    fflush(stdout);
}

static void batch_noop(void *ctx) { (void)ctx; }

static void case_batch(void)
{
    const char *name = "page_order0_batch";
    if (!boot_pc(1 * GIB, false))
        return;
    unsigned long free0 = page_alloc_nr_free();
    struct page_alloc_stats s0, s1;
    page_alloc_get_stats(&s0);
    struct timing t = time_case(name, k_batch, NULL, ROUNDS_BATCH, BATCH_PAGES, batch_noop,
                                batch_noop);
    page_alloc_get_stats(&s1);
    printf("BENCH name=%s ns_per_op=%.2f\n", name, t.min);
    printf("# %s: 1024 MiB PC machine, %u CPUs, per-CPU lists enabled; op = one page of a round "
           "of %u allocations then %u frees\n", name, BENCH_CPUS, BATCH_PAGES, BATCH_PAGES);
    print_timing(name, &t, "rounds", "ns per page (alloc+free)");
    print_counters(name, &s0.counters, &s1.counters);
    verify_after(name, free0);
    fflush(stdout);
}

static void case_boot_16g(void)
{
    const char *name = "mm_boot_16g";
    unsigned int reps = opt.quick ? 1 : 3;
    double best = 0, first = 0;
    uint64_t arena_before = machine_arena_size();
    bool cold = false;
    for (unsigned int r = 0; r < reps; r++) {
        struct machine m;
        machine_pc(&m, 16 * GIB, BENCH_CPUS);
        m.seed = BENCH_SEED;
        uint64_t t0 = now_ns();
        int err = machine_boot(&m);
        uint64_t t1 = now_ns();
        if (err) {
            fail("%s: machine_boot = %d (%s)", name, err, mm_strerror(err));
            return;
        }
        double ms = (double)(t1 - t0) / 1e6;
        if (r == 0) {
            first = best = ms;
            cold = machine_arena_size() != arena_before;
        }
        else if (ms < best)
            best = ms;
    }
    printf("BENCH name=%s ms=%.1f\n", name, best);
    printf("# %s: machine_boot of a 16 GiB PC machine (%lu struct pages, %zu bytes each), "
           "min of %u boots; first %.1f ms (%s); free pages after boot %lu\n", name, mm_max_pfn,
           sizeof(struct page), reps, first,
           cold ? "fresh arena: includes first-touch page faults" : "arena already mapped",
           page_alloc_nr_free());
    fflush(stdout);
}

/* ---- main ---- */

static const struct bench_case cases[] = {
    { "page_order0_pcp", case_order0_pcp },
    { "page_order0_buddy", case_order0_buddy },
    { "page_order0_buddy_split", case_order0_buddy_split },
    { "page_order0_buddy_frag", case_order0_buddy_frag },
    { "page_mixed", case_mixed },
    { "page_order0_pcp_64m", case_order0_pcp_64m },
    { "page_order0_batch", case_batch },
    { "mm_boot_16g", case_boot_16g },
    { "page_order0_pcp_16g", case_order0_pcp_16g },
    { "page_order0_pcp_traced", case_order0_pcp_traced },
    { "page_order0_buddy_traced", case_order0_buddy_traced },
};

static const char *case_name(size_t i) { return cases[i].name; }

static void usage(FILE *f, const char *argv0)
{
    fprintf(f, "usage: %s [--quick] [--reps N] [--list] [FILTER...]\n"
               "  --quick   few iterations, 2 repetitions (smoke run)\n"
               "  --reps N  repetitions per case (1..16, default 5); the minimum is reported\n"
               "  --list    print the case names and exit\n"
               "  FILTER    run only the case named FILTER, or if no case has that name, the cases whose\n"
               "            name contains it (e.g. 'pcp', '16g')\n", argv0);
}

int main(int argc, char **argv)
{
    opt.name_of = case_name;
    opt.nr_names = MM_ARRAY_SIZE(cases);
    int rc = bench_parse_args(&opt, argc, argv, usage, NULL);
    if (rc >= 0)
        return rc;
    machine_set_log_level(ENV_LOG_ERR);
    mixed_init_table();
    if (!bench_any_selected(&opt, "bench_page"))
        return 2;
    return bench_run_cases(&opt, "bench_page", cases, MM_ARRAY_SIZE(cases), &g_sink);
}
