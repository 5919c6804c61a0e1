/*
 * bench_vm.c - virtual-memory benchmark over the hosted simulated machine.
 *
 * Boots simulated machines and times address spaces, page faults, copy-on-write fork and vmalloc.
 * One line per case:
 *
 *     BENCH name=<case> ns_per_op=<x.xx>
 *
 * plus human-readable context lines that start with '#'. Cases (1 GiB PC machine, 2 CPUs, the
 * benchmark on CPU 0):
 *
 *   fault_anon            one first-touch write fault of an anonymous private page: a round maps
 *                         FAULT_PAGES pages (hint 0), writes 8 bytes to each page once through
 *                         machine_user_copy(MMU_WRITE) (software MMU: fault, handle_mm_fault
 *                         allocates a zeroed page and maps it, retry), then unmaps. Only the touch
 *                         loop is timed; ns per page (a '#' line gives the cost of whole rounds,
 *                         mmap + touch + munmap, per page)
 *   fault_anon_read_zero  the same with MMU_READ: each fault maps the shared zero page read-only
 *   mmap_munmap_10        one do_mmap(anonymous private RW, 1..16 pages (seeded), hint 0) +
 *                         do_munmap pair in an address space that already holds 10 other VMAs
 *   mmap_munmap_10000     the same with 10,000 other VMAs, plus
 *                         `BENCH name=mmap_munmap_10000 ratio_vs_10=<x.xx>`, measured on both
 *                         address spaces (alive side by side) timed alternately (see
 *                         mmap_ratio_interleave). The other VMAs are one page each, packed
 *                         directly below mmap_base (where top-down placement puts a process's
 *                         libraries and earlier mappings), protections alternating PROT_READ and
 *                         PROT_READ|PROT_EXEC so no two merge and none merges with the timed
 *                         read-write mapping
 *   fork_cow_64m          an address space with 64 MiB of touched private anonymous memory;
 *                         mm_fork, a write to every page in the child (copy-on-write copy), then
 *                         mm_destroy of the child; ns per page (a '#' line splits the three phases)
 *   vmalloc_64k           one vmalloc(64 KiB) + vfree pair
 *   numa_alloc_local, numa_alloc_remote, numa_alloc_fallback   (the machine cut in two nodes of
 *                         512 MiB) alloc_pages_node from CPU 0 for node 0, for node 1, and for
 *                         node 1 held at its watermarks (every allocation falls back to node 0);
 *                         besides ns the work is counted per allocation: zones passed over,
 *                         pages from another node than the CPU's, than asked
 *   numa_migrate_16m      one page moved to the other node (mm_migrate_pages there and back)
 *   numa_hint_16m         one page through mm_numa_scan and a local hinting fault on its read
 *
 * Method (as bench_page): CLOCK_MONOTONIC around a fixed number of iterations per repetition
 * (sized for ~0.2-0.5 s on a machine that meets the targets; scaled down from the warm-up when the
 * code is much slower, so the whole run stays well under a minute), after a warm-up; 5
 * repetitions, the minimum is reported (median and maximum go on a '#' line). Work is kept
 * observable by folding results into a checksum stored to a volatile sink, and every call's
 * result is checked. After each case, untimed: mm_check() must pass, no misuse may have been
 * reported, and the free pages (buddy + per-CPU lists drained, plus the pages slab caches hold,
 * as the vm tests count them: VMAs and mm_structs are kmalloc'd) must equal their value before the
 * case. The shared zero page, the vmalloc upper table levels and the slab caches are primed once
 * per boot, before that baseline.
 *
 * Usage: bench_vm [--quick] [--reps N] [--list] [FILTER...]
 *   --quick   1/100 of the iterations and 2 repetitions (smoke run for tests, ~2 s; numbers rough)
 *   --reps N  repetitions per case (default 5)
 *   --list    print the case names
 *   FILTER    run only the case named FILTER (exact), or the cases whose name contains FILTER
 *             when no case has exactly that name; several FILTERs select the union
 * Exit status: 0, or 1 if a boot, mapping, fault, fork or vmalloc failed, a free or unmap was
 * rejected, mm_check found a broken invariant or pages went missing.
 *
 * Build (release): ./build.sh hosted release && build/release/bench_vm
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
#include "page_alloc.h"
#include "slab.h"
#include "vmalloc.h"
#include "mmap.h"
#include "machine.h"
#include "machine_mmu.h"
#include "machine_user.h"
#include "swap.h"
#include "numa.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

#define BENCH_CPUS 2             /* simulated CPUs; the benchmark runs on CPU 0 */
#define BENCH_SEED 0x5eedbe9cull /* mm seed */
#define BENCH_MEM  (1 * GIB)     /* every case: 64 MiB parent + 64 MiB of copies fit easily */

#define RW   (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

#define FAULT_PAGES 1024u                /* pages per fault round (4 MiB) */
#define FORK_BYTES  (64ul * MIB)         /* fork_cow_64m: touched private memory of the parent */
#define VMALLOC_SIZE (64u << 10)

/* ---- options and bookkeeping ---- */

static struct bench_opts opt = BENCH_OPTS_INIT;

static volatile uintptr_t g_sink;    /* keeps results observable */


static inline uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- machine and accounting ---- */

/**
 * Free pages as the vm tests count them: buddy + per-CPU lists (drained first, so the count does
 * not depend on what sits on them) plus the pages the slab caches hold.
 */
static unsigned long vm_free_pages(void)
{
    drain_all_pages();
    return page_alloc_nr_free() + slab_nr_pages();
}

/*
 * Untimed, once per boot: create what the mm allocates once and keeps (the shared zero page on the
 * first read fault, the vmalloc range's upper table levels) and warm the kmalloc caches, so the
 * baseline taken afterwards is reached again after every case.
 */
static bool prime(void)
{
    struct mm_struct *mm = mm_create();
    if (!mm) {
        fail("prime: mm_create failed");
        return false;
    }
    bool ok = true;
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, PRIV, NULL, 0);
    uint64_t x = 0;
    if (a < 0) {
        fail("prime: do_mmap = %ld", a);
        ok = false;
    } else {
        ok &= machine_user_copy(mm, (uintptr_t)a, &x, sizeof(x), MMU_READ, NULL) == VM_FAULT_HANDLED;
        ok &= machine_user_copy(mm, (uintptr_t)a + PAGE_SIZE, &x, sizeof(x), MMU_WRITE, NULL) ==
              VM_FAULT_HANDLED;
        if (!ok)
            fail("prime: user access faulted");
    }
    mm_destroy(mm);
    void *p = vmalloc(VMALLOC_SIZE);
    if (!p || vfree(p)) {
        fail("prime: vmalloc/vfree failed");
        ok = false;
    }
    return ok;
}

static unsigned long boot_swap_slots; /* the next boot's swap device (0: none) */
static bool boot_two_nodes;           /* the next boot: two nodes of half the memory each */

static bool boot_pc(uint64_t mem)
{
    struct machine m;
    machine_pc(&m, mem, BENCH_CPUS);
    m.seed = BENCH_SEED;
    m.swap_slots = boot_swap_slots;
    if (boot_two_nodes) { /* CPU 0 on node 0, CPU 1 on node 1 */
        m.numa.nr_nodes = 2;
        m.numa.node_start[1] = mem / 2;
        m.numa.cpu_node[1] = 1;
    }
    int err = machine_boot(&m);
    if (err) {
        fail("machine_boot(%llu MiB) = %d (%s)", (unsigned long long)(mem / MIB), err,
             mm_strerror(err));
        return false;
    }
    machine_cpu_set(0);
    return prime();
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
    unsigned long free_after = vm_free_pages();
    if (free_after != free_before)
        fail("%s: free pages (incl. slab) %lu before the case, %lu after", name, free_before,
             free_after);
    if (mm_misuse_count())
        fail("%s: %lu misuse reports", name, mm_misuse_count());
}

/* ---- the timing harness ---- */

/*
 * A kernel runs @iters iterations and returns the nanoseconds of its timed part (kernels that
 * set up or tear down per iteration keep that outside the clock); it folds its results into
 * g_sink itself.
 */
typedef uint64_t (*bench_fn)(uint64_t iters, void *ctx);

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
 * Warm up, then run @reps repetitions of @iters iterations (each counting @ops_per_iter ops).
 * @iters shrinks if the warm-up predicts a repetition longer than ~0.6 s (0.05 s quick).
 * @no_scale_down: quick mode does not divide @iters (already a small count).
 */
static struct timing time_case(const char *name, bench_fn fn, void *ctx, uint64_t iters,
                               double ops_per_iter, bool no_scale_down)
{
    struct timing t = { 0 };
    double ns[16];
    unsigned int reps = reps_override ? reps_override : opt.reps;

    if (opt.quick && !no_scale_down)
        iters = iters / 100 ? iters / 100 : 1;

    uint64_t warm = iters / 10 ? iters / 10 : 1;
    uint64_t w_ns = fn(warm, ctx);
    double per_iter = (double)w_ns / (double)warm;
    const double max_rep_ns = opt.quick ? 0.05e9 : 0.6e9;
    if (per_iter * (double)iters > max_rep_ns) {
        uint64_t scaled = (uint64_t)(0.4e9 / per_iter * (opt.quick ? 0.1 : 1.0));
        if (scaled < 1)
            scaled = 1;
        if (scaled < iters) {
            if (!reps_override)
                printf("# %s: slower than expected (%.1f ns/iter in warm-up); iterations %llu -> "
                       "%llu\n", name, per_iter, (unsigned long long)iters,
                       (unsigned long long)scaled);
            iters = scaled;
        }
    }
    for (unsigned int r = 0; r < reps; r++)
        ns[r] = (double)fn(iters, ctx) / ((double)iters * ops_per_iter);
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

static void print_alloc_counters(const char *name, const struct page_alloc_stats *a,
                                 const struct page_alloc_stats *b, double ops)
{
    printf("# %s: page allocator alloc=%lu free=%lu fail=%lu (%.2f allocations per op)\n", name,
           b->counters.alloc - a->counters.alloc, b->counters.free - a->counters.free,
           b->counters.fail - a->counters.fail,
           ops > 0 ? (double)(b->counters.alloc - a->counters.alloc) / ops : 0.0);
}

/* ---- fault_anon, fault_anon_read_zero ---- */

struct fault_ctx {
    struct mm_struct *mm;
    unsigned int access;        /* MMU_WRITE or MMU_READ */
    uint64_t rounds, pages;     /* totals over all calls */
    uint64_t best_round_ns;     /* fastest whole round: mmap + touch + munmap */
    unsigned long bad;
};

static uint64_t k_fault(uint64_t rounds, void *vctx)
{
    struct fault_ctx *c = vctx;
    uint64_t timed = 0, sum = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        uint64_t r0 = now_ns();
        long a = do_mmap(c->mm, 0, (size_t)FAULT_PAGES * PAGE_SIZE, RW, PRIV, NULL, 0);
        if (mm_unlikely(a < 0)) {
            c->bad++;
            continue;
        }
        uintptr_t base = (uintptr_t)a;
        uint64_t t0 = now_ns();
        for (unsigned int i = 0; i < FAULT_PAGES; i++) {
            uint64_t x = r ^ i;
            /* vary the offset inside the page a little (still one 8-byte access per page) */
            uintptr_t va = base + (uintptr_t)i * PAGE_SIZE + ((i & 7u) << 3);
            if (mm_unlikely(machine_user_copy(c->mm, va, &x, sizeof(x), c->access, NULL) !=
                            VM_FAULT_HANDLED))
                c->bad++;
            sum += x;
        }
        uint64_t t1 = now_ns();
        timed += t1 - t0;
        if (c->access == MMU_WRITE ? c->mm->nr_anon != FAULT_PAGES : c->mm->nr_anon != 0)
            c->bad++;
        if (do_munmap(c->mm, base, (size_t)FAULT_PAGES * PAGE_SIZE))
            c->bad++;
        uint64_t rn = now_ns() - r0;
        if (!c->best_round_ns || rn < c->best_round_ns)
            c->best_round_ns = rn;
        c->rounds++;
        c->pages += FAULT_PAGES;
    }
    /* reads of fresh anonymous memory see the zero page */
    if (c->access == MMU_READ && sum != 0)
        c->bad++;
    g_sink += sum;
    return timed;
}

#define ROUNDS_FAULT 256ull /* 256 x 1024 pages per repetition */

static void run_fault(const char *name, unsigned int access)
{
    if (!boot_pc(BENCH_MEM))
        return;
    unsigned long free0 = vm_free_pages();
    struct fault_ctx c = { .access = access };
    c.mm = mm_create();
    if (!c.mm) {
        fail("%s: mm_create failed", name);
        return;
    }
    struct page_alloc_stats s0, s1;
    struct machine_mmu_stats m0, m1;
    page_alloc_get_stats(&s0);
    machine_mmu_get_stats(&m0);
    struct timing t = time_case(name, k_fault, &c, ROUNDS_FAULT, FAULT_PAGES, false);
    machine_mmu_get_stats(&m1);
    page_alloc_get_stats(&s1);
    unsigned long tables = c.mm->pt.nr_tables, map_count = c.mm->map_count;
    mm_destroy(c.mm);
    if (c.bad)
        fail("%s: %lu failed mmaps, faults, munmaps or wrong contents", name, c.bad);
    if (map_count != 0)
        fail("%s: %lu VMAs left after the rounds", name, map_count);
    printf("BENCH name=%s ns_per_op=%.2f\n", name, t.min);
    printf("# %s: %llu MiB PC machine, %u CPUs; op = first %s of one page of a fresh %u-page "
           "anonymous private mapping through machine_user_copy (%s)\n", name,
           (unsigned long long)(BENCH_MEM / MIB), BENCH_CPUS,
           access == MMU_WRITE ? "write" : "read", FAULT_PAGES,
           access == MMU_WRITE ? "new zeroed page" : "maps the shared zero page read-only");
    print_timing(name, &t, "rounds", "ns per page fault");
    double pages = (double)c.pages;
    printf("# %s: whole round (mmap + touch + munmap), fastest of %llu: %.2f ns per page\n",
           name, (unsigned long long)c.rounds, (double)c.best_round_ns / FAULT_PAGES);
    printf("# %s: software MMU per page: %.2f translations, %.2f faults; page-table pages after "
           "the last munmap %lu\n", name,
           (double)(m1.translations - m0.translations) / pages,
           (double)(m1.faults - m0.faults) / pages, tables);
    print_alloc_counters(name, &s0, &s1, pages);
    verify_after(name, free0);
    fflush(stdout);
}

static void case_fault_anon(void) { run_fault("fault_anon", MMU_WRITE); }
static void case_fault_anon_read_zero(void) { run_fault("fault_anon_read_zero", MMU_READ); }

/* ---- mmap_munmap_10, mmap_munmap_10000 ---- */

struct mmap_ctx {
    struct mm_struct *mm;
    unsigned long others;       /* VMAs besides the timed one */
    uint64_t rng;
    uint64_t pages;             /* pages mapped in total (for the mean length) */
    uint64_t ops;
    unsigned long bad;
};

static uint64_t k_mmap(uint64_t iters, void *vctx)
{
    struct mmap_ctx *c = vctx;
    uint64_t rng = c->rng, sum = 0, pages = 0;
    unsigned long bad = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        size_t n = 1 + (size_t)(splitmix64(&rng) & 15);
        long a = do_mmap(c->mm, 0, n * PAGE_SIZE, RW, PRIV, NULL, 0);
        if (mm_unlikely(a < 0)) {
            bad++;
            continue;
        }
        sum += (uint64_t)a;
        pages += n;
        bad += do_munmap(c->mm, (uintptr_t)a, n * PAGE_SIZE) != 0;
    }
    uint64_t t1 = now_ns();
    c->rng = rng;
    c->pages += pages;
    c->ops += iters;
    c->bad += bad;
    if (c->mm->map_count != c->others)
        c->bad++;
    g_sink += sum;
    return t1 - t0;
}

/*
 * An address space holding @others one-page VMAs packed directly below mmap_base (the top-down
 * area: exactly where hint-0 mappings would have gone), alternating PROT_READ and
 * PROT_READ|PROT_EXEC so that no two merge and none merges with a read-write mapping. Placed with
 * MAP_FIXED_NOREPLACE so building 10,000 costs O(n log n).
 */
static struct mm_struct *mmap_build(const char *name, unsigned long others)
{
    struct mm_struct *mm = mm_create();
    if (!mm) {
        fail("%s: mm_create failed", name);
        return NULL;
    }
    for (unsigned long i = 0; i < others; i++) {
        uintptr_t va = mm->mmap_base - (i + 1) * PAGE_SIZE;
        unsigned int prot = (i & 1) ? (PROT_READ | PROT_EXEC) : PROT_READ;
        long a = do_mmap(mm, va, PAGE_SIZE, prot, PRIV | MAP_FIXED_NOREPLACE, NULL, 0);
        if (a != (long)va) {
            fail("%s: building VMA %lu of %lu: do_mmap = %ld", name, i, others, a);
            mm_destroy(mm);
            return NULL;
        }
    }
    if (mm->map_count != others) {
        fail("%s: %lu VMAs after building %lu (merged?)", name, mm->map_count, others);
        mm_destroy(mm);
        return NULL;
    }
    return mm;
}

#define ITERS_MMAP 1000000ull /* at ~300 ns per pair */

static double result_mmap_10 = -1.0, result_mmap_10000 = -1.0;

static void mmap_report(const char *name, struct mmap_ctx *c, const struct timing *t)
{
    printf("BENCH name=%s ns_per_op=%.2f\n", name, t->min);
    printf("# %s: %llu MiB PC machine; op = do_mmap(anonymous private RW, 1..16 pages, hint 0) + "
           "do_munmap with %lu other VMAs (1 page each, packed below mmap_base, PROT_READ / "
           "PROT_READ|PROT_EXEC alternating); mean length %.2f pages\n", name,
           (unsigned long long)(BENCH_MEM / MIB), c->others,
           c->ops ? (double)c->pages / (double)c->ops : 0.0);
    print_timing(name, t, "iterations", "ns per mmap+munmap");
}

static void mmap_finish(const char *name, struct mmap_ctx *c)
{
    if (c->bad)
        fail("%s: %lu failed mmaps/munmaps or a wrong VMA count", name, c->bad);
}

static double run_mmap(const char *name, unsigned long others)
{
    if (!boot_pc(BENCH_MEM))
        return -1.0;
    unsigned long free0 = vm_free_pages();
    struct mmap_ctx c = { .others = others, .rng = 0xabcdef12ull };
    uint64_t b0 = now_ns();
    c.mm = mmap_build(name, others);
    uint64_t b1 = now_ns();
    if (!c.mm)
        return -1.0;
    struct timing t = time_case(name, k_mmap, &c, ITERS_MMAP, 1.0, false);
    mmap_report(name, &c, &t);
    printf("# %s: building the %lu VMAs took %.1f ms (untimed)\n", name, others,
           (double)(b1 - b0) / 1e6);
    mmap_finish(name, &c);
    uint64_t d0 = now_ns();
    mm_destroy(c.mm);
    uint64_t d1 = now_ns();
    printf("# %s: mm_destroy of the address space %.1f ms (untimed)\n", name,
           (double)(d1 - d0) / 1e6);
    verify_after(name, free0);
    fflush(stdout);
    return t.min;
}

static void case_mmap_10(void)
{
    result_mmap_10 = run_mmap("mmap_munmap_10", 10);
}

/*
 * The ratio of two case minima taken seconds apart moves with the load on a shared machine, so
 * it is measured separately: both address spaces live side by side on one machine and are timed
 * alternately, @rounds times, one repetition each; ratio = min(10,000 samples) / min(10 samples).
 */
static double mmap_ratio_interleave(unsigned int rounds, double *min10, double *min10000)
{
    const char *name = "mmap_munmap_10000 ratio";
    struct mmap_ctx c[2] = { { .others = 10, .rng = 0x1111ull },
                             { .others = 10000, .rng = 0x1111ull } };
    double best[2] = { -1.0, -1.0 };
    c[0].mm = mmap_build(name, 10);
    c[1].mm = c[0].mm ? mmap_build(name, 10000) : NULL;
    if (c[1].mm) {
        reps_override = 1;
        for (unsigned int r = 0; r < rounds; r++)
            for (unsigned int k = 0; k < 2; k++) {
                struct timing t = time_case(name, k_mmap, &c[k], ITERS_MMAP, 1.0, false);
                if (best[k] < 0 || t.min < best[k])
                    best[k] = t.min;
            }
        reps_override = 0;
    }
    for (unsigned int k = 0; k < 2; k++) {
        mmap_finish(name, &c[k]);
        mm_destroy(c[k].mm);
    }
    *min10 = best[0];
    *min10000 = best[1];
    return best[0] > 0 && best[1] > 0 ? best[1] / best[0] : -1.0;
}

static void case_mmap_10000(void)
{
    const char *name = "mmap_munmap_10000";
    result_mmap_10000 = run_mmap(name, 10000);
    if (result_mmap_10000 <= 0)
        return;
    if (!boot_pc(BENCH_MEM))
        return;
    unsigned long free0 = vm_free_pages();
    unsigned int rounds = opt.quick ? 1 : 5;
    double m10 = 0, m10000 = 0;
    double ratio = mmap_ratio_interleave(rounds, &m10, &m10000);
    verify_after(name, free0);
    if (ratio <= 0)
        return;
    printf("BENCH name=%s ratio_vs_10=%.2f\n", name, ratio);
    printf("# %s: ratio from %u alternating repetitions on two address spaces alive side by side: "
           "min %.2f ns / min %.2f ns", name, rounds, m10000, m10);
    if (result_mmap_10 > 0)
        printf(" (the case minima give %.2f / %.2f = %.2f)", result_mmap_10000, result_mmap_10,
               result_mmap_10000 / result_mmap_10);
    printf("; target: within 2x -> %s\n", ratio <= 2.0 ? "met" : "MISSED");
    fflush(stdout);
}

/* ---- fork_cow_64m ---- */

struct fork_ctx {
    struct mm_struct *parent;
    uintptr_t base;
    unsigned long npages;
    uint64_t fork_ns, cow_ns, destroy_ns; /* phases of the fastest fork */
    uint64_t forks;
    unsigned long bad;
};

static uint64_t k_fork(uint64_t iters, void *vctx)
{
    struct fork_ctx *c = vctx;
    uint64_t total = 0;
    for (uint64_t it = 0; it < iters; it++) {
        struct mm_struct *child = NULL;
        uint64_t t0 = now_ns();
        int err = mm_fork(c->parent, &child);
        uint64_t t1 = now_ns();
        if (mm_unlikely(err || !child)) {
            c->bad++;
            continue;
        }
        for (unsigned long i = 0; i < c->npages; i++) {
            uint64_t x = ~(uint64_t)i;
            if (mm_unlikely(machine_user_copy(child, c->base + i * PAGE_SIZE, &x, sizeof(x),
                                             MMU_WRITE, NULL) != VM_FAULT_HANDLED))
                c->bad++;
        }
        uint64_t t2 = now_ns();
        if (child->nr_anon != c->npages)
            c->bad++;
        mm_destroy(child);
        uint64_t t3 = now_ns();
        if (!c->forks || t3 - t0 < c->fork_ns + c->cow_ns + c->destroy_ns) {
            c->fork_ns = t1 - t0;
            c->cow_ns = t2 - t1;
            c->destroy_ns = t3 - t2;
        }
        c->forks++;
        total += t3 - t0;
    }
    g_sink += c->forks;
    return total;
}

#define ITERS_FORK 8ull  /* forks per repetition (16384 pages each) */

static void case_fork(void)
{
    const char *name = "fork_cow_64m";
    if (!boot_pc(BENCH_MEM))
        return;
    unsigned long free0 = vm_free_pages();
    struct fork_ctx c = { .npages = FORK_BYTES / PAGE_SIZE };
    c.parent = mm_create();
    if (!c.parent) {
        fail("%s: mm_create failed", name);
        return;
    }
    long a = do_mmap(c.parent, 0, FORK_BYTES, RW, PRIV, NULL, 0);
    if (a < 0) {
        fail("%s: do_mmap(64 MiB) = %ld", name, a);
        mm_destroy(c.parent);
        return;
    }
    c.base = (uintptr_t)a;
    for (unsigned long i = 0; i < c.npages; i++) {
        uint64_t x = i * 0x9e3779b97f4a7c15ull;
        if (machine_user_copy(c.parent, c.base + i * PAGE_SIZE, &x, sizeof(x), MMU_WRITE, NULL) !=
            VM_FAULT_HANDLED) {
            fail("%s: touching parent page %lu failed", name, i);
            mm_destroy(c.parent);
            return;
        }
    }
    unsigned long parent_anon = c.parent->nr_anon;
    struct page_alloc_stats s0, s1;
    page_alloc_get_stats(&s0);
    /* quick mode: 1 fork per repetition (a fork of 64 MiB is already tens of ms) */
    struct timing t = time_case(name, k_fork, &c, opt.quick ? 1 : ITERS_FORK, (double)c.npages,
                                opt.quick);
    page_alloc_get_stats(&s1);
    /* the parent's memory must be intact: spot-check a few pages */
    for (unsigned long i = 0; i < c.npages; i += c.npages / 8) {
        uint64_t x = 0;
        if (machine_user_copy(c.parent, c.base + i * PAGE_SIZE, &x, sizeof(x), MMU_READ, NULL) !=
                VM_FAULT_HANDLED || x != i * 0x9e3779b97f4a7c15ull)
            c.bad++;
    }
    if (c.parent->nr_anon != parent_anon)
        c.bad++;
    mm_destroy(c.parent);
    if (c.bad)
        fail("%s: %lu failed forks, faults or wrong contents", name, c.bad);
    double pages = (double)c.forks * (double)c.npages;
    printf("BENCH name=%s ns_per_op=%.2f\n", name, t.min);
    printf("# %s: %llu MiB PC machine; parent holds %lu touched private anonymous pages (%lu "
           "MiB); op = one page of: mm_fork + a write to every page in the child (COW copy) + "
           "mm_destroy(child)\n", name, (unsigned long long)(BENCH_MEM / MIB), c.npages,
           (unsigned long)(FORK_BYTES / MIB));
    print_timing(name, &t, "forks", "ns per page");
    if (c.forks)
        printf("# %s: phases of the fastest of %llu forks: mm_fork %.2f, COW write %.2f, "
               "mm_destroy(child) %.2f ns per page (%.2f ms for the 64 MiB)\n", name,
               (unsigned long long)c.forks, (double)c.fork_ns / (double)c.npages,
               (double)c.cow_ns / (double)c.npages, (double)c.destroy_ns / (double)c.npages,
               (double)(c.fork_ns + c.cow_ns + c.destroy_ns) / 1e6);
    print_alloc_counters(name, &s0, &s1, pages);
    verify_after(name, free0);
    fflush(stdout);
}

/* ---- vmalloc_64k ---- */

static uint64_t k_vmalloc(uint64_t iters, void *ctx)
{
    unsigned long *bad = ctx;
    uint64_t sum = 0;
    unsigned long b = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        void *p = vmalloc(VMALLOC_SIZE);
        if (mm_unlikely(!p)) {
            b++;
            continue;
        }
        sum += (uintptr_t)p;
        b += vfree(p) != 0;
    }
    uint64_t t1 = now_ns();
    *bad += b;
    g_sink += sum;
    return t1 - t0;
}

#define ITERS_VMALLOC 10000ull

static void case_vmalloc(void)
{
    const char *name = "vmalloc_64k";
    if (!boot_pc(BENCH_MEM))
        return;
    unsigned long free0 = vm_free_pages();
    unsigned long bad = 0;
    struct page_alloc_stats s0, s1;
    page_alloc_get_stats(&s0);
    struct timing t = time_case(name, k_vmalloc, &bad, ITERS_VMALLOC, 1.0, false);
    page_alloc_get_stats(&s1);
    if (bad)
        fail("%s: %lu failed vmalloc/vfree calls", name, bad);
    struct vmalloc_stats vs;
    vmalloc_get_stats(&vs);
    if (vs.nr_areas != 0)
        fail("%s: %lu vmalloc areas left", name, vs.nr_areas);
    printf("BENCH name=%s ns_per_op=%.2f\n", name, t.min);
    printf("# %s: %llu MiB PC machine; op = vmalloc(%u KiB) + vfree (hosted: each physically "
           "contiguous run is also aliased into the host range with mmap, and unmapped again)\n",
           name, (unsigned long long)(BENCH_MEM / MIB), VMALLOC_SIZE >> 10);
    print_timing(name, &t, "iterations", "ns per vmalloc+vfree");
    double ops = (double)(s1.counters.alloc - s0.counters.alloc) /
                 ((double)VMALLOC_SIZE / PAGE_SIZE);
    print_alloc_counters(name, &s0, &s1, ops);
    printf("# %s: kernel page-table pages of the vmalloc range afterwards %lu\n", name,
           vs.nr_tables);
    verify_after(name, free0);
    fflush(stdout);
}

/* ---- migrate_16m, swapout_forked_16m: the reverse map at work (issue 14) ---- */

#define RMAP_PAGES 4096ul /* 16 MiB of touched private anonymous memory */

struct rmap_ctx {
    struct mm_struct *parent, *child;
    uintptr_t base;
    unsigned long bad;
};

/* A parent with RMAP_PAGES touched pages (word i of page i set), forked when @fork. */
static bool rmap_setup(struct rmap_ctx *c, bool fork)
{
    *c = (struct rmap_ctx){ 0 };
    c->parent = mm_create();
    long a = c->parent ? do_mmap(c->parent, 0, RMAP_PAGES * PAGE_SIZE, RW, PRIV, NULL, 0) : -1;
    if (a < 0)
        return false;
    c->base = (uintptr_t)a;
    for (unsigned long i = 0; i < RMAP_PAGES; i++) {
        uint64_t x = i;
        if (machine_user_copy(c->parent, c->base + i * PAGE_SIZE, &x, sizeof(x), MMU_WRITE,
                              NULL) != VM_FAULT_HANDLED)
            return false;
    }
    return !fork || !mm_fork(c->parent, &c->child);
}

/* Every page still holds its word, in both address spaces. */
static void rmap_teardown(struct rmap_ctx *c)
{
    for (unsigned long i = 0; i < RMAP_PAGES; i += 97) {
        for (int k = 0; k < 2; k++) {
            struct mm_struct *mm = k ? c->child : c->parent;
            uint64_t x = ~0ull;
            if (mm && (machine_user_copy(mm, c->base + i * PAGE_SIZE, &x, sizeof(x), MMU_READ,
                                         NULL) != VM_FAULT_HANDLED || x != i))
                c->bad++;
        }
    }
    if (c->child)
        mm_destroy(c->child);
    if (c->parent)
        mm_destroy(c->parent);
}

static uint64_t k_migrate(uint64_t iters, void *ctx)
{
    struct rmap_ctx *c = ctx;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++)
        c->bad += mm_migrate_range(c->parent, c->base, RMAP_PAGES * PAGE_SIZE,
                                   MPOL_MF_MOVE_ALL) != 0;
    return now_ns() - t0;
}

static void case_migrate_one(const char *name, bool fork)
{
    boot_swap_slots = 0;
    if (!boot_pc(BENCH_MEM))
        return;
    unsigned long free0 = vm_free_pages();
    struct rmap_ctx c;
    if (!rmap_setup(&c, fork)) {
        fail("%s: setup failed", name);
        rmap_teardown(&c);
        return;
    }
    struct migrate_stats m0, m1;
    mm_migrate_get_stats(&m0);
    struct timing t = time_case(name, k_migrate, &c, opt.quick ? 2 : 20, (double)RMAP_PAGES, true);
    mm_migrate_get_stats(&m1);
    rmap_teardown(&c);
    if (c.bad || m1.failed != m0.failed)
        fail("%s: %lu failed migrations or wrong contents", name, c.bad);
    printf("BENCH name=%s ns_per_op=%.2f\n", name, t.min);
    printf("# %s: %llu MiB PC machine; op = moving one page (mm_migrate_range over %lu touched "
           "private anonymous pages%s): copy, every PTE re-pointed + flushed, old page freed; "
           "%lu pages moved\n", name, (unsigned long long)(BENCH_MEM / MIB), RMAP_PAGES,
           fork ? ", each COW-shared with a forked child: two PTEs per page" : "",
           m1.succeeded - m0.succeeded);
    print_timing(name, &t, "ranges", "ns per page");
    verify_after(name, free0);
    fflush(stdout);
}

static void case_migrate(void) { case_migrate_one("migrate_16m", false); }
static void case_migrate_shared(void) { case_migrate_one("migrate_shared_16m", true); }

/* Each iteration: a fresh parent + child sharing every page (untimed), one swap_reclaim of all
 * of them (timed), then both torn down after a read-back spot check (untimed). */
static uint64_t k_swapout_forked(uint64_t iters, void *ctx)
{
    unsigned long *bad = ctx;
    uint64_t ns = 0;
    for (uint64_t i = 0; i < iters; i++) {
        struct rmap_ctx c;
        if (!rmap_setup(&c, true)) {
            (*bad)++;
            rmap_teardown(&c);
            continue;
        }
        uint64_t t0 = now_ns();
        unsigned long freed = swap_reclaim(RMAP_PAGES);
        ns += now_ns() - t0;
        *bad += freed != RMAP_PAGES;
        rmap_teardown(&c);
        *bad += c.bad;
    }
    return ns;
}

static void case_swapout_forked(void)
{
    const char *name = "swapout_forked_16m";
    boot_swap_slots = 2 * RMAP_PAGES;
    bool up = boot_pc(BENCH_MEM);
    boot_swap_slots = 0;
    if (!up)
        return;
    unsigned long free0 = vm_free_pages(), bad = 0;
    struct swap_stats s0, s1;
    swap_get_stats(&s0);
    struct timing t = time_case(name, k_swapout_forked, &bad, opt.quick ? 1 : 3, (double)RMAP_PAGES,
                                true);
    swap_get_stats(&s1);
    if (bad)
        fail("%s: %lu short swap-outs or wrong contents", name, bad);
    printf("BENCH name=%s ns_per_op=%.2f\n", name, t.min);
    printf("# %s: %llu MiB PC machine, %lu swap slots; op = evicting one page that a parent and "
           "its forked child both map (swap_reclaim of all %lu: rmap walk, one slot with two "
           "references, both PTEs swap entries + flushed); %.0f pages/s; %lu pages written, %lu "
           "read back (the spot checks)\n", name, (unsigned long long)(BENCH_MEM / MIB),
           2 * RMAP_PAGES, RMAP_PAGES, t.min > 0 ? 1e9 / t.min : 0.0,
           s1.swapped_out - s0.swapped_out, s1.swapped_in - s0.swapped_in);
    print_timing(name, &t, "workloads", "ns per page");
    verify_after(name, free0);
    fflush(stdout);
}

/* ---- numa_alloc_*, numa_migrate_16m, numa_hint_16m: the NUMA paths (issue 14) ---- */

#define NUMA_BATCH 1024u /* pages allocated, then freed, per iteration */

static struct page *numa_pages[NUMA_BATCH];
static struct page *numa_hog[1u << 17]; /* a whole node of the 1 GiB machine, for fallback */
static unsigned long numa_nhog;

/* The 1 GiB PC machine cut in two nodes of 512 MiB; CPU 0 on node 0, CPU 1 on node 1. */
static bool boot_pc_numa(void)
{
    boot_swap_slots = 0;
    boot_two_nodes = true;
    bool up = boot_pc(BENCH_MEM);
    boot_two_nodes = false;
    return up;
}

struct numa_alloc_ctx {
    int nid;
    unsigned long bad;
};

/* NUMA_BATCH order-0 allocations for the context's node from CPU 0 (timed), then their frees. */
static uint64_t k_numa_alloc(uint64_t iters, void *ctx)
{
    struct numa_alloc_ctx *c = ctx;
    uint64_t ns = 0;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t t0 = now_ns();
        for (unsigned int k = 0; k < NUMA_BATCH; k++)
            numa_pages[k] = alloc_pages_node(c->nid, GFP_KERNEL, 0);
        ns += now_ns() - t0;
        for (unsigned int k = 0; k < NUMA_BATCH; k++) {
            c->bad += !numa_pages[k];
            if (numa_pages[k])
                __free_page(numa_pages[k]);
        }
    }
    return ns;
}

/* Take node 1's memory down to its watermarks (__GFP_THISNODE: no fallback), or give it back. */
static void numa_fill_node1(bool fill)
{
    while (fill && numa_nhog < MM_ARRAY_SIZE(numa_hog)) {
        struct page *p = alloc_pages_node(1, GFP_KERNEL | __GFP_NOWARN | __GFP_THISNODE, 0);
        if (!p)
            break;
        numa_hog[numa_nhog++] = p;
    }
    while (!fill && numa_nhog)
        __free_page(numa_hog[--numa_nhog]);
}

/* @nid: 0 local, 1 remote (node 1 has room), 2 remote under fallback (node 1 full: node 0 serves). */
static void case_numa_alloc_one(const char *name, int how)
{
    if (!boot_pc_numa())
        return;
    unsigned long free0 = vm_free_pages();
    struct numa_alloc_ctx c = { how == 0 ? 0 : 1, 0 };
    if (how == 2)
        numa_fill_node1(true);
    static struct page_alloc_stats a, b;
    page_alloc_get_stats(&a);
    struct timing t = time_case(name, k_numa_alloc, &c, opt.quick ? 20 : 400, NUMA_BATCH, true);
    page_alloc_get_stats(&b);
    unsigned long n = b.counters.alloc - a.counters.alloc;
    double ops = n ? (double)n : 1.0;
    unsigned long on0 = b.node[0].numa[NUMA_HIT] + b.node[0].numa[NUMA_MISS] -
                        a.node[0].numa[NUMA_HIT] - a.node[0].numa[NUMA_MISS];
    numa_fill_node1(false);
    if (c.bad)
        fail("%s: %lu allocations failed", name, c.bad);
    printf("BENCH name=%s ns_per_op=%.2f zones_passed_per_op=%.3f remote_per_op=%.3f "
           "miss_per_op=%.3f\n", name, t.min,
           (double)(b.counters.wmark_low_miss - a.counters.wmark_low_miss) / ops,
           (double)(b.node[0].numa[NUMA_OTHER] + b.node[1].numa[NUMA_OTHER] -
                    a.node[0].numa[NUMA_OTHER] - a.node[1].numa[NUMA_OTHER]) / ops,
           (double)(b.node[0].numa[NUMA_MISS] + b.node[1].numa[NUMA_MISS] -
                    a.node[0].numa[NUMA_MISS] - a.node[1].numa[NUMA_MISS]) / ops);
    printf("# %s: 2 nodes of %llu MiB, CPU 0 on node 0; op = alloc_pages_node(%d, GFP_KERNEL, 0) "
           "in batches of %u (frees untimed)%s; work per op counted: zones the fast path passed "
           "over (wmark_low_miss), pages from another node than the CPU's (other_node), pages "
           "from another node than asked (numa_miss); %lu of %lu on node 0\n", name,
           (unsigned long long)(BENCH_MEM / 2 / MIB), c.nid, NUMA_BATCH,
           how == 2 ? ", node 1 held at its watermarks: every allocation falls back to node 0" : "",
           on0, n);
    print_timing(name, &t, "batches", "ns per allocation");
    verify_after(name, free0);
    fflush(stdout);
}

static void case_numa_alloc_local(void) { case_numa_alloc_one("numa_alloc_local", 0); }
static void case_numa_alloc_remote(void) { case_numa_alloc_one("numa_alloc_remote", 1); }
static void case_numa_alloc_fallback(void) { case_numa_alloc_one("numa_alloc_fallback", 2); }

/* Each iteration moves every page of the range to the other node and back (mm_migrate_pages). */
static uint64_t k_numa_migrate(uint64_t iters, void *ctx)
{
    struct rmap_ctx *c = ctx;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        c->bad += mm_migrate_pages(c->parent, 1, 2) != 0;
        c->bad += mm_migrate_pages(c->parent, 2, 1) != 0;
    }
    return now_ns() - t0;
}

/* Each iteration: one scan of the whole range (every PTE a hinting entry), then a read of every
 * page from CPU 0 (a local hinting fault each: rights back, node recorded, no move). */
static uint64_t k_numa_hint(uint64_t iters, void *ctx)
{
    struct rmap_ctx *c = ctx;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        c->bad += mm_numa_scan(c->parent, RMAP_PAGES) != (long)RMAP_PAGES;
        for (unsigned long k = 0; k < RMAP_PAGES; k++) {
            uint64_t x = ~0ull;
            c->bad += machine_user_copy(c->parent, c->base + k * PAGE_SIZE, &x, sizeof(x),
                                        MMU_READ, NULL) != VM_FAULT_HANDLED || x != k;
        }
    }
    return now_ns() - t0;
}

static void case_numa_pages(const char *name, bool hint)
{
    if (!boot_pc_numa())
        return;
    unsigned long free0 = vm_free_pages();
    struct rmap_ctx c;
    if (!rmap_setup(&c, false)) {
        fail("%s: setup failed", name);
        rmap_teardown(&c);
        return;
    }
    struct migrate_stats m0, m1;
    mm_migrate_get_stats(&m0);
    struct timing t = time_case(name, hint ? k_numa_hint : k_numa_migrate, &c, opt.quick ? 2 : 10,
                                (double)RMAP_PAGES * (hint ? 1 : 2), true);
    mm_migrate_get_stats(&m1);
    rmap_teardown(&c);
    if (c.bad || m1.failed != m0.failed)
        fail("%s: %lu failed moves, scans or reads", name, c.bad);
    printf("BENCH name=%s ns_per_op=%.2f\n", name, t.min);
    if (hint)
        printf("# %s: 2 nodes; op = one page of a %lu-page range through mm_numa_scan (hinting "
               "entry + TLB flush) and a local hinting fault on its next read (rights back, node "
               "recorded, no move); %lu PTEs hinted, %lu hinting faults (%lu local), %lu moved\n",
               name, RMAP_PAGES, m1.numa_pte_updates - m0.numa_pte_updates,
               m1.numa_hint_faults - m0.numa_hint_faults,
               m1.numa_hint_faults_local - m0.numa_hint_faults_local,
               m1.numa_pages_migrated - m0.numa_pages_migrated);
    else
        printf("# %s: 2 nodes; op = moving one private anonymous page to the other node "
               "(mm_migrate_pages 0->1, then 1->0, over %lu pages): a one-node target page, copy, "
               "PTE re-pointed + flushed, old page freed; %lu pages moved\n", name, RMAP_PAGES,
               m1.succeeded - m0.succeeded);
    print_timing(name, &t, hint ? "passes" : "round trips", "ns per page");
    verify_after(name, free0);
    fflush(stdout);
}

static void case_numa_migrate(void) { case_numa_pages("numa_migrate_16m", false); }
static void case_numa_hint(void) { case_numa_pages("numa_hint_16m", true); }

/* ---- main ---- */

static const struct bench_case cases[] = {
    { "fault_anon", case_fault_anon },
    { "fault_anon_read_zero", case_fault_anon_read_zero },
    { "mmap_munmap_10", case_mmap_10 },
    { "mmap_munmap_10000", case_mmap_10000 },
    { "fork_cow_64m", case_fork },
    { "vmalloc_64k", case_vmalloc },
    { "migrate_16m", case_migrate },
    { "migrate_shared_16m", case_migrate_shared },
    { "swapout_forked_16m", case_swapout_forked },
    { "numa_alloc_local", case_numa_alloc_local },
    { "numa_alloc_remote", case_numa_alloc_remote },
    { "numa_alloc_fallback", case_numa_alloc_fallback },
    { "numa_migrate_16m", case_numa_migrate },
    { "numa_hint_16m", case_numa_hint },
};

static const char *case_name(size_t i) { return cases[i].name; }

static void usage(FILE *f, const char *argv0)
{
    fprintf(f, "usage: %s [--quick] [--reps N] [--list] [FILTER...]\n"
               "  --quick   few iterations, 2 repetitions (smoke run)\n"
               "  --reps N  repetitions per case (1..16, default 5); the minimum is reported\n"
               "  --list    print the case names and exit\n"
               "  FILTER    run only the case named FILTER, or if no case has that name, the cases whose\n"
               "            name contains it (e.g. 'fault', 'mmap')\n", argv0);
}

int main(int argc, char **argv)
{
    opt.name_of = case_name;
    opt.nr_names = MM_ARRAY_SIZE(cases);
    int rc = bench_parse_args(&opt, argc, argv, usage, NULL);
    if (rc >= 0)
        return rc;
    machine_set_log_level(ENV_LOG_ERR);
    if (!bench_any_selected(&opt, "bench_vm"))
        return 2;
    return bench_run_cases(&opt, "bench_vm", cases, MM_ARRAY_SIZE(cases), &g_sink);
}
