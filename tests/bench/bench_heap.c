/*
 * bench_heap.c - heap benchmark: the mm's kmalloc/kfree (hardening off, level 1 and level 2) against
 * glibc, mimalloc and jemalloc, same workloads, one run.
 *
 * Output, one line per (workload, allocator) and two per workload:
 *
 *     BENCH name=<workload> impl=<kmalloc|kmalloc_hardened1|kmalloc_hardened2|glibc|mimalloc|jemalloc>
 *           ns_per_op=<x.xx>
 *     BENCH name=<workload> ratio_vs_mimalloc=<kmalloc / mimalloc>
 *     BENCH name=<workload> hardened1_vs_plain=<kmalloc_hardened1 / kmalloc>   (target <= 1.3)
 *     BENCH name=<workload> hardened2_vs_plain=<kmalloc_hardened2 / kmalloc>
 *     BENCH name=<workload> kfence100_vs_plain=<kmalloc_kfence100 / kmalloc>  (KFENCE 1 in 100)
 *     BENCH name=<workload> kfence1000_vs_plain=<kmalloc_kfence1000 / kmalloc>
 *     BENCH name=<workload> trace_on_vs_off=<kmalloc_traced / kmalloc>   (every trace class on)
 *     BENCH name=<workload> slab_owner_on_vs_off=<kmalloc_owner / kmalloc>  (slab_owner, mm.h)
 *
 * plus human-readable context lines that start with '#'. One op = one allocation plus its free.
 * Workloads:
 *
 *   fixed_16 .. fixed_4096  alloc, touch, free of one size, repeated (LIFO reuse of one object)
 *   random_batch            10,000 allocations of seeded random sizes (uniform 8 B..8 KiB), each
 *                           touched, then all freed in a seeded random order; repeated
 *   producer_consumer       64-byte objects allocated on one CPU and freed on another, in batches
 *                           of 512: kmalloc switches the simulated CPU (machine_cpu_set) in one
 *                           thread; the malloc implementations run the same batch pattern in one
 *                           thread (see PC_MALLOC_MODE for why); two real threads with a lock-step
 *                           hand-over are timed for every allocator as a '#' variant
 *
 * How the allocators share one run: kmalloc runs in this process on a simulated 1 GiB PC machine
 * with 2 CPUs (booted afresh for each case, hardening off, level 1, level 2; mm_check, misuse count, live
 * kmalloc objects and page conservation are verified after each case, untimed). Each malloc
 * implementation runs in a child: this program re-executes itself (/proc/self/exe --child IMPL)
 * with LD_PRELOAD set to libmimalloc.so.2 or libjemalloc.so.2 (none for glibc), so the library
 * replaces malloc for the whole child exactly as it would for a real program and never for the
 * parent or the other children. The child checks which object malloc really resolves to (dladdr)
 * and prints its BENCH lines on a pipe; the parent relays them and computes the ratios. A missing
 * library prints '# <impl> not available' and is skipped.
 *
 * Method: the same timed loop (the same C function instantiated per allocator) for every
 * allocator; CLOCK_MONOTONIC around a fixed number of iterations per repetition, after a warm-up
 * of a tenth of a repetition (the count shrinks if the warm-up predicts a repetition above ~0.6 s,
 * so slow configurations keep the run short); 5 repetitions, the minimum is reported, median and
 * maximum on a '#' line. Every object gets one byte written, its pointer escapes through an empty
 * asm with a memory clobber and is folded into a checksum, so no allocation can be optimised away;
 * the requested size goes through an opaque register so no allocator gets a constant-folded size
 * class. Every allocation is checked for NULL and every kfree's return code is checked.
 *
 * Usage: bench_heap [--quick] [--reps N] [--impl NAME]... [--list] [FILTER...]
 *   --quick     1/100 of the iterations and 2 repetitions (smoke run, ~2 s; numbers rough)
 *   --reps N    repetitions per case (1..16, default 5)
 *   --impl NAME run only that allocator (repeatable): kmalloc, kmalloc_hardened1,
 *               kmalloc_hardened2, glibc, mimalloc, jemalloc, kmalloc_kfence100,
 *               kmalloc_kfence1000, kmalloc_traced, kmalloc_owner (e.g. for callgrind: bench_heap
 *               --impl kmalloc fixed_64)
 *   --list      print the workload names
 *   FILTER      run only the workload named FILTER (exact), or those whose name contains FILTER
 *               when none has exactly that name; several FILTERs select the union
 * Environment: BENCH_HEAP_MIMALLOC / BENCH_HEAP_JEMALLOC override the library paths.
 * Exit status: 0, or 1 if an allocation failed, a free was rejected, a boot failed, mm_check found
 * a broken invariant or a child crashed. A missing library is not an error.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "mm.h"
#include "mm_env.h"
#include "mm_trace.h"
#include "page_alloc.h"
#include "slab.h"
#include "machine.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

#define BENCH_MEM        (1 * GIB)
#define BENCH_CPUS       2
#define BENCH_SEED       0x5eedbe9cull /* mm seed (hardened freelist shuffles, secrets) */
#define BATCH_OBJECTS    10000u        /* random_batch: live objects per round */
#define BATCH_MIN_SIZE   8u
#define BATCH_MAX_SIZE   8192u
#define BATCH_SEED       0xba7c4ull
#define PC_BATCH         512u          /* producer_consumer: objects per hand-over */
#define PC_SIZE          64u
#ifndef PC_SPIN_LIMIT
#define PC_SPIN_LIMIT    128u          /* pause loops before a waiting thread yields */
#endif

/* Nominal iterations per repetition (full run). */
#define ITERS_FIXED      4000000ull    /* alloc+free pairs */
#define ROUNDS_BATCH     100ull        /* x BATCH_OBJECTS */
#define ROUNDS_PC        2000ull       /* x PC_BATCH */

/* ---- options and bookkeeping ---- */

enum impl {
    IMPL_KMALLOC,
    IMPL_KMALLOC_HARDENED1,   /* slab hardening level 1 (cheap checks) */
    IMPL_KMALLOC_HARDENED2,   /* level 2 (full red zones and poison) */
    IMPL_GLIBC,
    IMPL_MIMALLOC,
    IMPL_JEMALLOC,
    IMPL_KMALLOC_KFENCE100,   /* hardening off, KFENCE sampling 1 in 100 */
    IMPL_KMALLOC_KFENCE1000,  /* hardening off, KFENCE sampling 1 in 1000 */
    IMPL_KMALLOC_TRACED,      /* hardening off, every trace class on (mm_trace.h) */
    IMPL_KMALLOC_OWNER,       /* hardening off, slab_owner on (a site and a stamp per object) */
    NR_IMPLS,
};

static const char *const impl_name[NR_IMPLS] = {
    "kmalloc", "kmalloc_hardened1", "kmalloc_hardened2", "glibc", "mimalloc", "jemalloc",
    "kmalloc_kfence100", "kmalloc_kfence1000", "kmalloc_traced", "kmalloc_owner",
};

/* Library preloaded into the child, and a substring of the object malloc must resolve to. */
static const char *const impl_soname[NR_IMPLS] = { NULL, NULL, NULL, NULL, "libmimalloc.so.2",
                                                   "libjemalloc.so.2" };
static const char *const impl_env[NR_IMPLS] = { NULL, NULL, NULL, NULL, "BENCH_HEAP_MIMALLOC",
                                                "BENCH_HEAP_JEMALLOC" };
static const char *const impl_provider[NR_IMPLS] = { NULL, NULL, NULL, "libc.so", "mimalloc",
                                                     "jemalloc" };

static struct {
    struct bench_opts b; /* --quick, --reps, --list, FILTER... (bench_util.h) */
    bool impl_sel[NR_IMPLS];
    bool impl_filtered;
    int child;           /* enum impl when running as a child, else -1 */
} opt = { .b = BENCH_OPTS_INIT, .child = -1 };

static volatile uintptr_t g_sink;


static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static inline uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- workloads ---- */

enum wkind { W_FIXED, W_BATCH, W_PC };

static const struct workload {
    const char *name;
    enum wkind kind;
    size_t size;
} workloads[] = {
    { "fixed_16", W_FIXED, 16 },
    { "fixed_64", W_FIXED, 64 },
    { "fixed_256", W_FIXED, 256 },
    { "fixed_1024", W_FIXED, 1024 },
    { "fixed_4096", W_FIXED, 4096 },
    { "random_batch", W_BATCH, 0 },
    { "producer_consumer", W_PC, PC_SIZE },
};
#define NR_WORKLOADS MM_ARRAY_SIZE(workloads)

/* producer_consumer patterns */
enum pc_mode {
    PC_SIM_CPUS,   /* kmalloc only: one thread, alloc on simulated CPU 0, free on CPU 1 */
    PC_THREADS,    /* two real threads, batches handed over in lock-step */
    PC_LOCAL,      /* one thread, alloc a batch and free it on the same CPU/thread */
};
static const char *const pc_mode_name[] = { "simulated CPUs 0->1, one thread",
                                            "two real threads, lock-step hand-over",
                                            "one thread, same CPU (no hand-over)" };
/*
 * The malloc implementations' producer_consumer line uses the single-thread batch pattern (alloc
 * 512, free 512, same thread). Two real threads handing batches over in lock-step (the producer
 * waits while the consumer frees, so alloc and free never overlap) were tried and are still timed
 * as a '#' variant for every allocator, kmalloc included (one pthread per simulated CPU): on a
 * 2-vCPU host shared with other work their medians spread 2x from run to run, and they add
 * cross-core cache-line transfers and hand-over latency that kmalloc's simulated CPU switch in one
 * thread never pays, so comparing the two would flatter kmalloc by about 2x. The single-thread
 * pattern keeps thread, core and cache conditions identical; what differs is that kmalloc takes
 * its remote-free path while malloc takes its local one (kmalloc's own same-CPU batch, also a '#'
 * variant, costs about the same as its remote path, because a 512-object batch spans several
 * slabs and frees into non-active slabs take the locked path either way).
 */
#define PC_MALLOC_MODE PC_LOCAL

/* ---- what the timed loops share ---- */

struct pc_shared {
    _Atomic unsigned int turn;   /* 0: producer's turn, 1: consumer's, 2: consumer exits */
    char pad[60];
    void *obj[PC_BATCH];
    unsigned long bad;
    pthread_t thread;
    bool running;
};

struct case_ctx {
    size_t size;
    uint32_t *bsize;   /* random_batch sizes */
    uint32_t *perm;    /* random_batch free order */
    void **ptr;        /* random_batch live objects */
    struct pc_shared *pc;
    unsigned long fail, bad; /* NULL allocations, rejected frees */
};

#define OPAQUE(x) __asm__ volatile("" : "+r"(x))
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")
#define ALWAYS_INLINE inline __attribute__((always_inline))

typedef void *(*alloc_fn)(size_t);
typedef int (*free_fn)(void *); /* 1 if the free was rejected */

static void *km_alloc(size_t n) { return kmalloc(n, GFP_KERNEL); }
static int km_free(void *p) { return kfree(p) != 0; }
static void *libc_alloc(size_t n) { return malloc(n); }
static int libc_free(void *p) { free(p); return 0; }

/* Spin (pause) while *v == val; yield now and then so an oversubscribed host still progresses. */
static ALWAYS_INLINE void wait_while(_Atomic unsigned int *v, unsigned int val)
{
    unsigned int spins = 0;
    while (atomic_load_explicit(v, memory_order_acquire) == val) {
        if (++spins < PC_SPIN_LIMIT) {
            __builtin_ia32_pause();
        } else {
            sched_yield();
            spins = 0;
        }
    }
}

/* ---- the timed loops (instantiated per allocator with direct calls) ---- */

static ALWAYS_INLINE uint64_t loop_fixed(uint64_t iters, struct case_ctx *c, alloc_fn A,
                                         free_fn F)
{
    uint64_t sum = 0;
    unsigned long bad = 0, nul = 0;
    for (uint64_t i = 0; i < iters; i++) {
        size_t n = c->size;
        OPAQUE(n);
        unsigned char *p = A(n);
        if (mm_unlikely(!p)) {
            nul++;
            continue;
        }
        p[0] = (unsigned char)i;
        ESCAPE(p);
        sum += (uintptr_t)p;
        bad += (unsigned long)F(p);
    }
    c->fail += nul;
    c->bad += bad;
    return sum;
}

static ALWAYS_INLINE uint64_t loop_batch(uint64_t rounds, struct case_ctx *c, alloc_fn A,
                                         free_fn F)
{
    uint64_t sum = 0;
    unsigned long bad = 0, nul = 0;
    void **ptr = c->ptr;
    for (uint64_t r = 0; r < rounds; r++) {
        for (unsigned int i = 0; i < BATCH_OBJECTS; i++) {
            size_t n = c->bsize[i];
            unsigned char *p = A(n);
            ptr[i] = p;
            if (mm_unlikely(!p)) {
                nul++;
                continue;
            }
            p[0] = (unsigned char)i;
            ESCAPE(p);
            sum += (uintptr_t)p;
        }
        for (unsigned int i = 0; i < BATCH_OBJECTS; i++) {
            void *p = ptr[c->perm[i]];
            if (mm_likely(p != NULL))
                bad += (unsigned long)F(p);
        }
    }
    c->fail += nul;
    c->bad += bad;
    return sum;
}

/* Allocate one batch of producer_consumer objects into s->obj. */
static ALWAYS_INLINE uint64_t pc_fill(struct pc_shared *s, struct case_ctx *c, alloc_fn A,
                                      unsigned long *nul)
{
    uint64_t sum = 0;
    for (unsigned int i = 0; i < PC_BATCH; i++) {
        size_t n = c->size;
        OPAQUE(n);
        unsigned char *p = A(n);
        s->obj[i] = p;
        if (mm_unlikely(!p)) {
            (*nul)++;
            continue;
        }
        p[0] = (unsigned char)i;
        ESCAPE(p);
        sum += (uintptr_t)p;
    }
    return sum;
}

static ALWAYS_INLINE unsigned long pc_drain(struct pc_shared *s, free_fn F)
{
    unsigned long bad = 0;
    for (unsigned int i = 0; i < PC_BATCH; i++)
        if (mm_likely(s->obj[i] != NULL))
            bad += (unsigned long)F(s->obj[i]);
    return bad;
}

/* One thread; kmalloc: allocate on simulated CPU 0, free on CPU 1 (when @switch_cpu). */
static ALWAYS_INLINE uint64_t loop_pc_one_thread(uint64_t rounds, struct case_ctx *c, alloc_fn A,
                                                 free_fn F, bool switch_cpu)
{
    uint64_t sum = 0;
    unsigned long bad = 0, nul = 0;
    struct pc_shared *s = c->pc;
    for (uint64_t r = 0; r < rounds; r++) {
        if (switch_cpu)
            machine_cpu_set(0);
        sum += pc_fill(s, c, A, &nul);
        if (switch_cpu)
            machine_cpu_set(1);
        bad += pc_drain(s, F);
    }
    if (switch_cpu)
        machine_cpu_set(0);
    c->fail += nul;
    c->bad += bad;
    return sum;
}

/* Producer side of the two-thread pattern (the consumer thread runs consumer_loop). */
static ALWAYS_INLINE uint64_t loop_pc_threads(uint64_t rounds, struct case_ctx *c, alloc_fn A)
{
    uint64_t sum = 0;
    unsigned long nul = 0;
    struct pc_shared *s = c->pc;
    for (uint64_t r = 0; r < rounds; r++) {
        sum += pc_fill(s, c, A, &nul);
        atomic_store_explicit(&s->turn, 1, memory_order_release);
        wait_while(&s->turn, 1);
    }
    c->fail += nul;
    return sum;
}

static ALWAYS_INLINE void consumer_loop(struct pc_shared *s, free_fn F)
{
    for (;;) {
        wait_while(&s->turn, 0);
        if (atomic_load_explicit(&s->turn, memory_order_acquire) == 2)
            return;
        s->bad += pc_drain(s, F);
        atomic_store_explicit(&s->turn, 0, memory_order_release);
    }
}

static void *consumer_km(void *arg)
{
    machine_cpu_set(1); /* this thread is simulated CPU 1 */
    consumer_loop(arg, km_free);
    return NULL;
}

static void *consumer_libc(void *arg)
{
    consumer_loop(arg, libc_free);
    return NULL;
}

typedef uint64_t (*bench_fn)(uint64_t iters, struct case_ctx *c);

static uint64_t k_fixed_km(uint64_t n, struct case_ctx *c) { return loop_fixed(n, c, km_alloc, km_free); }
static uint64_t k_fixed_libc(uint64_t n, struct case_ctx *c) { return loop_fixed(n, c, libc_alloc, libc_free); }
static uint64_t k_batch_km(uint64_t n, struct case_ctx *c) { return loop_batch(n, c, km_alloc, km_free); }
static uint64_t k_batch_libc(uint64_t n, struct case_ctx *c) { return loop_batch(n, c, libc_alloc, libc_free); }
static uint64_t k_pc_sim_km(uint64_t n, struct case_ctx *c) { return loop_pc_one_thread(n, c, km_alloc, km_free, true); }
static uint64_t k_pc_local_km(uint64_t n, struct case_ctx *c) { return loop_pc_one_thread(n, c, km_alloc, km_free, false); }
static uint64_t k_pc_local_libc(uint64_t n, struct case_ctx *c) { return loop_pc_one_thread(n, c, libc_alloc, libc_free, false); }
static uint64_t k_pc_thr_km(uint64_t n, struct case_ctx *c) { return loop_pc_threads(n, c, km_alloc); }
static uint64_t k_pc_thr_libc(uint64_t n, struct case_ctx *c) { return loop_pc_threads(n, c, libc_alloc); }

/* Untimed setup/teardown of one repetition of the two-thread pattern. */
static void pc_start(struct case_ctx *c, void *(*consumer)(void *))
{
    struct pc_shared *s = c->pc;
    atomic_store(&s->turn, 0);
    s->bad = 0;
    if (pthread_create(&s->thread, NULL, consumer, s)) {
        fail("pthread_create failed");
        exit(1);
    }
    s->running = true;
}

static void pc_stop(struct case_ctx *c)
{
    struct pc_shared *s = c->pc;
    if (!s->running)
        return;
    atomic_store_explicit(&s->turn, 2, memory_order_release);
    pthread_join(s->thread, NULL);
    s->running = false;
    c->bad += s->bad;
}

static void pc_start_km(struct case_ctx *c) { pc_start(c, consumer_km); }
static void pc_start_libc(struct case_ctx *c) { pc_start(c, consumer_libc); }

/* ---- the timing harness ---- */

struct timing {
    double min, median, max; /* ns per op */
    uint64_t iters;
    unsigned int reps;
    double faults_per_op;     /* minor page faults in the timed repetitions */
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static struct timing time_case(const char *label, bench_fn fn, struct case_ctx *c, uint64_t iters,
                               double ops_per_iter, void (*setup)(struct case_ctx *),
                               void (*teardown)(struct case_ctx *))
{
    struct timing t = { 0 };
    double ns[16];
    unsigned int reps = opt.b.reps;
    if (opt.b.quick)
        iters = iters / 100 ? iters / 100 : 1;

    uint64_t warm = iters / 10 ? iters / 10 : 1;
    if (setup)
        setup(c);
    uint64_t t0 = now_ns();
    g_sink += fn(warm, c);
    uint64_t t1 = now_ns();
    if (teardown)
        teardown(c);
    double per_iter = (double)(t1 - t0) / (double)warm;
    double max_rep = opt.b.quick ? 0.03e9 : 0.6e9, target = opt.b.quick ? 0.01e9 : 0.3e9;
    if (per_iter * (double)iters > max_rep) {
        uint64_t scaled = (uint64_t)(target / per_iter);
        if (scaled < 1)
            scaled = 1;
        printf("# %s: slow (%.1f ns/iteration in warm-up): iterations %llu -> %llu\n", label,
               per_iter, (unsigned long long)iters, (unsigned long long)scaled);
        iters = scaled;
    }

    long faults = 0;
    for (unsigned int r = 0; r < reps; r++) {
        if (setup)
            setup(c);
        long f0 = minor_faults();
        t0 = now_ns();
        g_sink += fn(iters, c);
        t1 = now_ns();
        faults += minor_faults() - f0;
        if (teardown)
            teardown(c);
        ns[r] = (double)(t1 - t0) / ((double)iters * ops_per_iter);
    }
    qsort(ns, reps, sizeof(ns[0]), cmp_double);
    t.min = ns[0];
    t.median = ns[reps / 2];
    t.max = ns[reps - 1];
    t.iters = iters;
    t.reps = reps;
    t.faults_per_op = (double)faults / ((double)iters * ops_per_iter * reps);
    return t;
}

static void print_timing(const char *label, const struct timing *t, const char *unit)
{
    printf("# %s: %llu %s x %u reps: min %.2f median %.2f max %.2f ns per alloc+free; "
           "%.4f minor faults per op\n", label, (unsigned long long)t->iters, unit, t->reps,
           t->min, t->median, t->max, t->faults_per_op);
}

/* ---- random_batch data (the same for every allocator) ---- */

static uint32_t g_bsize[BATCH_OBJECTS], g_perm[BATCH_OBJECTS];
static void *g_ptr[BATCH_OBJECTS];
static struct pc_shared g_pc __attribute__((aligned(64)));

static void batch_init(void)
{
    uint64_t rng = BATCH_SEED;
    for (unsigned int i = 0; i < BATCH_OBJECTS; i++) {
        g_bsize[i] = BATCH_MIN_SIZE +
                     (uint32_t)(splitmix64(&rng) % (BATCH_MAX_SIZE - BATCH_MIN_SIZE + 1));
        g_perm[i] = i;
    }
    for (unsigned int i = BATCH_OBJECTS - 1; i > 0; i--) {
        unsigned int j = (unsigned int)(splitmix64(&rng) % (i + 1));
        uint32_t tmp = g_perm[i];
        g_perm[i] = g_perm[j];
        g_perm[j] = tmp;
    }
}

static void ctx_init(struct case_ctx *c, const struct workload *w)
{
    memset(c, 0, sizeof(*c));
    c->size = w->size;
    c->bsize = g_bsize;
    c->perm = g_perm;
    c->ptr = g_ptr;
    c->pc = &g_pc;
}

/* ---- one (workload, allocator) measurement ---- */

/* producer_consumer minima per allocator and pattern (-1: not run), for the closing comparison */
static double pc_variant[NR_IMPLS][3] = {
    { -1, -1, -1 }, { -1, -1, -1 }, { -1, -1, -1 }, { -1, -1, -1 }, { -1, -1, -1 }, { -1, -1, -1 },
    { -1, -1, -1 },
};

static bool is_kmalloc(enum impl im)
{
    return im <= IMPL_KMALLOC_HARDENED2 || im >= IMPL_KMALLOC_KFENCE100;
}

/* Slab hardening level of a kmalloc impl: 0, 1, 2. */
static unsigned int km_level(enum impl im)
{
    return im <= IMPL_KMALLOC_HARDENED2 ? (unsigned int)im : 0; /* kfence, traced: level 0 */
}

static unsigned int km_kfence_interval(enum impl im)
{
    return im == IMPL_KMALLOC_KFENCE100 ? 100 : im == IMPL_KMALLOC_KFENCE1000 ? 1000 : 0;
}

/* Time @w with allocator @im in this process (the machine is booted for kmalloc); print the BENCH
 * line and context; return ns per op or -1. */
static double measure(const struct workload *w, enum impl im)
{
    struct case_ctx c;
    char label[96];
    bool km = is_kmalloc(im);
    struct timing t;
    snprintf(label, sizeof(label), "%s %s", w->name, impl_name[im]);
    ctx_init(&c, w);

    switch (w->kind) {
    case W_FIXED:
        t = time_case(label, km ? k_fixed_km : k_fixed_libc, &c, ITERS_FIXED, 1.0, NULL, NULL);
        print_timing(label, &t, "pairs");
        break;
    case W_BATCH:
        t = time_case(label, km ? k_batch_km : k_batch_libc, &c, ROUNDS_BATCH, BATCH_OBJECTS,
                      NULL, NULL);
        print_timing(label, &t, "rounds of 10000");
        break;
    case W_PC: {
        /* the reported pattern, then the other patterns as '#' variants */
        enum pc_mode modes[3];
        unsigned int nm = 0;
        if (km) {
            modes[nm++] = PC_SIM_CPUS;
            modes[nm++] = PC_THREADS;
            modes[nm++] = PC_LOCAL;
        } else {
            modes[nm++] = PC_MALLOC_MODE;
            modes[nm++] = PC_MALLOC_MODE == PC_THREADS ? PC_LOCAL : PC_THREADS;
        }
        for (unsigned int k = 0; k < nm; k++) {
            struct timing tk;
            char vlabel[160];
            snprintf(vlabel, sizeof(vlabel), "%s [%s]", label, pc_mode_name[modes[k]]);
            switch (modes[k]) {
            case PC_SIM_CPUS:
                tk = time_case(vlabel, k_pc_sim_km, &c, ROUNDS_PC, PC_BATCH, NULL, NULL);
                break;
            case PC_THREADS:
                tk = time_case(vlabel, km ? k_pc_thr_km : k_pc_thr_libc, &c, ROUNDS_PC, PC_BATCH,
                               km ? pc_start_km : pc_start_libc, pc_stop);
                break;
            default:
                tk = time_case(vlabel, km ? k_pc_local_km : k_pc_local_libc, &c, ROUNDS_PC,
                               PC_BATCH, NULL, NULL);
                break;
            }
            print_timing(vlabel, &tk, "batches of 512");
            if (!c.fail && !c.bad)
                pc_variant[im][modes[k]] = tk.min;
            if (k == 0)
                t = tk;
        }
        break;
    }
    default:
        return -1.0;
    }
    if (c.fail)
        fail("%s: %lu allocations returned NULL", label, c.fail);
    if (c.bad)
        fail("%s: %lu frees rejected", label, c.bad);
    if (c.fail || c.bad)
        return -1.0;
    printf("BENCH name=%s impl=%s ns_per_op=%.2f\n", w->name, impl_name[im], t.min);
    fflush(stdout);
    return t.min;
}

/* ---- kmalloc on the simulated machine ---- */

struct km_counts {
    unsigned long alloc, free, alloc_slow, free_remote, live;
};

static void km_counts(struct km_counts *k)
{
    static struct slab_cache_stats st[128];
    unsigned int n = slab_get_stats(st, MM_ARRAY_SIZE(st));
    memset(k, 0, sizeof(*k));
    for (unsigned int i = 0; i < n && i < MM_ARRAY_SIZE(st); i++) {
        if (strncmp(st[i].name, "kmalloc-", 8) != 0)
            continue;
        k->alloc += st[i].alloc;
        k->free += st[i].free;
        k->alloc_slow += st[i].alloc_slow;
        k->free_remote += st[i].free_remote;
        k->live += st[i].active_objs;
    }
}

static double run_kmalloc(const struct workload *w, enum impl im)
{
    static const unsigned int level_param[3] = { MM_SLAB_HARDEN_OFF, MM_SLAB_HARDEN_CHEAP,
                                                 MM_SLAB_HARDEN_FULL };
    struct machine m;
    machine_pc(&m, BENCH_MEM, BENCH_CPUS);
    m.slab_harden_level = level_param[km_level(im)];
    m.kfence_interval = km_kfence_interval(im);
    m.seed = BENCH_SEED;
    m.trace_mask = im == IMPL_KMALLOC_TRACED ? MM_TRACE_ALL : 0;
    m.slab_owner = im == IMPL_KMALLOC_OWNER;
    int err = machine_boot(&m);
    if (err) {
        fail("%s %s: machine_boot(1 GiB, %u CPUs) = %d (%s)", w->name, impl_name[im],
             BENCH_CPUS, err, mm_strerror(err));
        return -1.0;
    }
    machine_cpu_set(0);
    unsigned long free0 = page_alloc_nr_free(), slab0 = slab_nr_pages();
    struct km_counts k0, k1;
    km_counts(&k0);

    double ns = measure(w, im);

    /* untimed checks */
    km_counts(&k1);
    unsigned long free1 = page_alloc_nr_free(), slab1 = slab_nr_pages();
    printf("# %s %s: 1 GiB PC machine, %u CPUs, hardening level %u; kmalloc caches: %lu allocs, "
           "%lu slow allocs, %lu remote frees; %lu slab pages kept after the case, %lu pages "
           "free\n", w->name, impl_name[im], BENCH_CPUS, km_level(im),
           k1.alloc - k0.alloc, k1.alloc_slow - k0.alloc_slow, k1.free_remote - k0.free_remote,
           slab1 - slab0, free1);
    struct mm_check_report rep;
    memset(&rep, 0, sizeof(rep));
    err = mm_check(&rep);
    if (err)
        fail("%s %s: mm_check: %s at pfn %lu: %s", w->name, impl_name[im],
             rep.invariant ? rep.invariant : "?", rep.pfn, rep.detail);
    if (mm_misuse_count())
        fail("%s %s: %lu misuse reports", w->name, impl_name[im], mm_misuse_count());
    if (k1.alloc - k0.alloc != k1.free - k0.free || k1.live != k0.live)
        fail("%s %s: kmalloc objects leaked (%lu allocs, %lu frees, %lu live)", w->name,
             impl_name[im], k1.alloc - k0.alloc, k1.free - k0.free, k1.live);
    if (free0 - free1 != slab1 - slab0)
        fail("%s %s: page conservation: %lu free pages before, %lu after, slab pages %lu -> %lu",
             w->name, impl_name[im], free0, free1, slab0, slab1);
    fflush(stdout);
    return err ? -1.0 : ns;
}

/* ---- malloc implementations in child processes ---- */

static const char *impl_library(enum impl im)
{
    static char buf[NR_IMPLS][512];
    if (!impl_soname[im])
        return NULL;
    const char *env = impl_env[im] ? getenv(impl_env[im]) : NULL;
    if (env && *env)
        return access(env, R_OK) == 0 ? env : NULL;
    static const char *const dirs[] = { "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib",
                                        "/usr/local/lib" };
    for (size_t i = 0; i < MM_ARRAY_SIZE(dirs); i++) {
        snprintf(buf[im], sizeof(buf[im]), "%s/%s", dirs[i], impl_soname[im]);
        if (access(buf[im], R_OK) == 0)
            return buf[im];
    }
    return NULL;
}

/* Child: the object that really provides malloc here. */
static const char *malloc_provider(void)
{
    Dl_info di;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (!sym || !dladdr(sym, &di) || !di.dli_fname)
        return "?";
    return di.dli_fname;
}

static int child_main(enum impl im)
{
    const char *prov = malloc_provider();
    if (!strstr(prov, impl_provider[im])) {
        printf("#P %s not available (malloc resolves to %s, LD_PRELOAD=%s)\n", impl_name[im],
               prov, getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
        return 3;
    }
    printf("#P %s: child process, malloc/free from %s%s%s\n", impl_name[im], prov,
           getenv("LD_PRELOAD") ? " via LD_PRELOAD=" : " (no preload)",
           getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
    for (size_t i = 0; i < NR_WORKLOADS; i++) {
        bool sel = false;
        for (int f = 0; f < opt.b.nr_filters; f++)
            sel |= !strcmp(opt.b.filters[f], workloads[i].name);
        if (sel)
            measure(&workloads[i], im);
    }
    fflush(stdout);
    return g_errors ? 1 : 0;
}

static bool impl_missing_reported[NR_IMPLS];
static bool impl_unavailable[NR_IMPLS];
static bool provider_printed[NR_IMPLS];

/* Parent: run workload @w in a child with allocator @im; relay its lines; return ns or -1. */
static double run_child(const struct workload *w, enum impl im)
{
    const char *lib = NULL;
    if (impl_soname[im]) {
        lib = impl_library(im);
        if (!lib) {
            if (!impl_missing_reported[im])
                printf("# %s not available (%s not found)\n", impl_name[im], impl_soname[im]);
            impl_missing_reported[im] = true;
            impl_unavailable[im] = true;
            return -1.0;
        }
    }
    char reps[16];
    snprintf(reps, sizeof(reps), "%u", opt.b.reps);
    char *argv[] = { "bench_heap", "--child", (char *)impl_name[im], "--reps", reps,
                     opt.b.quick ? "--quick" : (char *)w->name, opt.b.quick ? (char *)w->name : NULL,
                     NULL };
    int fd[2];
    fflush(stdout);
    if (pipe(fd)) {
        fail("pipe: %s", strerror(errno));
        return -1.0;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fail("fork: %s", strerror(errno));
        return -1.0;
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDOUT_FILENO);
        close(fd[1]);
        if (lib)
            setenv("LD_PRELOAD", lib, 1);
        else
            unsetenv("LD_PRELOAD");
        execv("/proc/self/exe", argv);
        fprintf(stderr, "bench_heap: exec /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    FILE *in = fdopen(fd[0], "r");
    char line[1024];
    double ns = -1.0;
    char want[160];
    snprintf(want, sizeof(want), "BENCH name=%s impl=%s ns_per_op=", w->name, impl_name[im]);
    while (in && fgets(line, sizeof(line), in)) {
        if (!strncmp(line, "#P ", 3)) {
            if (!provider_printed[im])
                printf("# %s", line + 3);
            provider_printed[im] = true;
            continue;
        }
        if (!strncmp(line, want, strlen(want)))
            ns = strtod(line + strlen(want), NULL);
        for (int m = 0; m < 3 && w->kind == W_PC; m++) {
            char vwant[160];
            snprintf(vwant, sizeof(vwant), "# %s %s [%s]: ", w->name, impl_name[im],
                     pc_mode_name[m]);
            const char *mn = strstr(line, "min ");
            if (!strncmp(line, vwant, strlen(vwant)) && mn)
                pc_variant[im][m] = strtod(mn + 4, NULL);
        }
        fputs(line, stdout);
    }
    if (in)
        fclose(in);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
        impl_unavailable[im] = impl_missing_reported[im] = true;
        return -1.0;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail("%s %s: child %s (status 0x%x)", w->name, impl_name[im],
             WIFSIGNALED(status) ? "killed by a signal" : "failed", status);
        return -1.0;
    }
    if (ns < 0)
        fail("%s %s: child printed no BENCH line", w->name, impl_name[im]);
    fflush(stdout);
    return ns;
}

/* ---- selection ---- */

static const char *workload_name(size_t i) { return workloads[i].name; }

static bool selected(const char *name) { return bench_selected(&opt.b, name); }

static bool impl_selected(enum impl im)
{
    return !opt.impl_filtered || opt.impl_sel[im];
}

static int impl_lookup(const char *s)
{
    for (int i = 0; i < NR_IMPLS; i++)
        if (!strcmp(s, impl_name[i]))
            return i;
    return -1;
}

static void usage(FILE *f, const char *argv0)
{
    fprintf(f, "usage: %s [--quick] [--reps N] [--impl NAME]... [--list] [FILTER...]\n"
               "  --quick      few iterations, 2 repetitions (smoke run)\n"
               "  --reps N     repetitions per case (1..16, default 5); the minimum is reported\n"
               "  --impl NAME  only this allocator (repeatable): kmalloc, kmalloc_hardened1, "
               "kmalloc_hardened2, glibc, mimalloc, jemalloc, kmalloc_traced, kmalloc_owner\n"
               "  --list       print the workload names and exit\n"
               "  FILTER       run only the workload named FILTER, or if none has that name, the "
               "workloads whose name contains it (e.g. 'fixed')\n", argv0);
}

/* ---- main ---- */

static double results[NR_WORKLOADS][NR_IMPLS];

static void print_targets(void)
{
    bool any_fixed = false, fixed_mi_ok = true, glibc_ok = true, hard_ok = true;
    bool have_fixed_mi = false, have_glibc = false, have_hard = false;
    char miss_mi[512] = "", miss_gl[512] = "", miss_hd[512] = "";
    for (size_t i = 0; i < NR_WORKLOADS; i++) {
        double km = results[i][IMPL_KMALLOC], kh = results[i][IMPL_KMALLOC_HARDENED1];
        double mi = results[i][IMPL_MIMALLOC], gl = results[i][IMPL_GLIBC];
        char item[64];
        if (workloads[i].kind == W_FIXED && km > 0 && mi > 0) {
            any_fixed = have_fixed_mi = true;
            if (km > mi) {
                fixed_mi_ok = false;
                snprintf(item, sizeof(item), " %s(%.2fx)", workloads[i].name, km / mi);
                strncat(miss_mi, item, sizeof(miss_mi) - strlen(miss_mi) - 1);
            }
        }
        if (km > 0 && gl > 0) {
            have_glibc = true;
            if (km >= gl) {
                glibc_ok = false;
                snprintf(item, sizeof(item), " %s(%.2fx)", workloads[i].name, km / gl);
                strncat(miss_gl, item, sizeof(miss_gl) - strlen(miss_gl) - 1);
            }
        }
        if (km > 0 && kh > 0) {
            have_hard = true;
            if (kh > 1.3 * km) {
                hard_ok = false;
                snprintf(item, sizeof(item), " %s(%.2fx)", workloads[i].name, kh / km);
                strncat(miss_hd, item, sizeof(miss_hd) - strlen(miss_hd) - 1);
            }
        }
    }
    (void)any_fixed;
    for (int m = PC_THREADS; m <= PC_LOCAL; m++) {
        bool any = false;
        for (int im = 0; im < NR_IMPLS; im++)
            any |= pc_variant[im][m] > 0;
        if (!any)
            continue;
        printf("# producer_consumer [%s], min ns per op:", pc_mode_name[m]);
        for (int im = 0; im < NR_IMPLS; im++)
            if (pc_variant[im][m] > 0)
                printf(" %s=%.2f", impl_name[im], pc_variant[im][m]);
        if (pc_variant[IMPL_KMALLOC][m] > 0 && pc_variant[IMPL_MIMALLOC][m] > 0)
            printf(" (kmalloc/mimalloc %.2f)",
                   pc_variant[IMPL_KMALLOC][m] / pc_variant[IMPL_MIMALLOC][m]);
        printf("\n");
    }
    if (have_fixed_mi)
        printf("# target kmalloc <= mimalloc on every fixed_* workload: %s%s\n",
               fixed_mi_ok ? "met" : "MISSED on", miss_mi);
    if (have_glibc)
        printf("# target kmalloc faster than glibc on every workload: %s%s\n",
               glibc_ok ? "met" : "MISSED on", miss_gl);
    if (have_hard)
        printf("# target kmalloc_hardened1 <= 1.3x kmalloc: %s%s\n", hard_ok ? "met" : "MISSED on",
               miss_hd);
}

/* The options only this program has: --impl NAME (repeatable), --child NAME (internal). */
static int heap_parse_extra(int argc, char **argv, int *i)
{
    if (!strcmp(argv[*i], "--impl") && *i + 1 < argc) {
        int im = impl_lookup(argv[++*i]);
        if (im < 0)
            return -1;
        opt.impl_sel[im] = true;
        opt.impl_filtered = true;
        return 1;
    }
    if (!strcmp(argv[*i], "--child") && *i + 1 < argc) {
        opt.child = impl_lookup(argv[++*i]);
        return opt.child < 0 || is_kmalloc((enum impl)opt.child) ? -1 : 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opt.b.name_of = workload_name;
    opt.b.nr_names = NR_WORKLOADS;
    int rc = bench_parse_args(&opt.b, argc, argv, usage, heap_parse_extra);
    if (rc >= 0)
        return rc;

    batch_init();
    if (opt.child >= 0)
        return child_main((enum impl)opt.child);

    machine_set_log_level(ENV_LOG_ERR);
    if (!bench_any_selected(&opt.b, "bench_heap"))
        return 2;

    uint64_t t0 = now_ns();
    bench_print_banner(&opt.b, "bench_heap");
    printf("# bench_heap: kmalloc/kfree in this process on a simulated 1 GiB PC machine with %u "
           "CPUs (booted per case, hardening off, level 1, level 2); glibc, mimalloc and jemalloc each in a "
           "child process (re-exec of this program, LD_PRELOAD of the library, none for glibc) "
           "so no allocator replaces another\n", BENCH_CPUS);
    printf("# bench_heap: op = alloc + one-byte write + free; sizes opaque to the compiler; "
           "random_batch: %u objects per round, sizes uniform %u..%u B (seed 0x%llx), freed in a "
           "seeded random order; producer_consumer: %u-byte objects, batches of %u\n",
           BATCH_OBJECTS, BATCH_MIN_SIZE, BATCH_MAX_SIZE, (unsigned long long)BATCH_SEED,
           PC_SIZE, PC_BATCH);
    printf("# bench_heap: producer_consumer: kmalloc allocates a batch on simulated CPU 0 and "
           "frees it on CPU 1 in one thread (machine_cpu_set); the malloc implementations run the "
           "same batches in %s: two real threads (lock-step hand-over) were tried, but on this "
           "kind of 2-vCPU host their medians spread 2x between runs and they add cross-core "
           "cache transfers and hand-over waits kmalloc's one-thread CPU switch never pays; so "
           "the one-thread pattern keeps conditions identical (kmalloc: remote-free path, "
           "malloc: local path). The two-thread pattern (kmalloc: one pthread per simulated "
           "CPU) is timed for everyone as a '#' variant and compared at the end\n",
           pc_mode_name[PC_MALLOC_MODE]);
    fflush(stdout);

    unsigned int ran = 0;
    for (size_t w = 0; w < NR_WORKLOADS; w++) {
        if (!selected(workloads[w].name))
            continue;
        for (int im = 0; im < NR_IMPLS; im++) {
            results[w][im] = -1.0;
            if (!impl_selected((enum impl)im) || impl_unavailable[im])
                continue;
            if (is_kmalloc((enum impl)im))
                results[w][im] = run_kmalloc(&workloads[w], (enum impl)im);
            else
                results[w][im] = run_child(&workloads[w], (enum impl)im);
        }
        double km = results[w][IMPL_KMALLOC], mi = results[w][IMPL_MIMALLOC];
        double kh1 = results[w][IMPL_KMALLOC_HARDENED1], kh2 = results[w][IMPL_KMALLOC_HARDENED2];
        if (km > 0 && mi > 0)
            printf("BENCH name=%s ratio_vs_mimalloc=%.2f\n", workloads[w].name, km / mi);
        if (km > 0 && kh1 > 0)
            printf("BENCH name=%s hardened1_vs_plain=%.2f\n", workloads[w].name, kh1 / km);
        if (km > 0 && kh2 > 0)
            printf("BENCH name=%s hardened2_vs_plain=%.2f\n", workloads[w].name, kh2 / km);
        double kf100 = results[w][IMPL_KMALLOC_KFENCE100];
        double kf1000 = results[w][IMPL_KMALLOC_KFENCE1000];
        if (km > 0 && kf100 > 0)
            printf("BENCH name=%s kfence100_vs_plain=%.2f\n", workloads[w].name, kf100 / km);
        if (km > 0 && kf1000 > 0)
            printf("BENCH name=%s kfence1000_vs_plain=%.2f\n", workloads[w].name, kf1000 / km);
        double kt = results[w][IMPL_KMALLOC_TRACED];
        if (km > 0 && kt > 0)
            printf("BENCH name=%s trace_on_vs_off=%.2f\n", workloads[w].name, kt / km);
        double ko = results[w][IMPL_KMALLOC_OWNER];
        if (km > 0 && ko > 0)
            printf("BENCH name=%s slab_owner_on_vs_off=%.2f\n", workloads[w].name, ko / km);
        fflush(stdout);
        ran++;
    }
    for (int im = 0; im < NR_IMPLS; im++)
        if (impl_unavailable[im] && !impl_missing_reported[im])
            printf("# %s not available\n", impl_name[im]);
    print_targets();
    printf("# bench_heap: %u workloads in %.1f s, %d errors (sink %llx)\n", ran,
           (double)(now_ns() - t0) / 1e9, g_errors, (unsigned long long)(g_sink & 0xff));
    return g_errors ? 1 : 0;
}
