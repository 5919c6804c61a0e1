/*
 * bench_scaling.c - how the per-CPU paths scale: the same loop on one simulated CPU, then on two
 * at once (the threaded hosted machine, machine_smp_run: one pthread per CPU, real spinlocks and
 * cross-CPU calls), each CPU with its own objects.
 *
 *   page_order0   alloc_pages(GFP_KERNEL, 0) + __free_pages, a page at a time (per-CPU lists)
 *   kmalloc_64    kmalloc(64) + kfree (the CPU's own slab)
 *   kmalloc_4k    kmalloc(4096) + kfree
 *   prodcons      kmalloc(64) on one CPU, kfree on another: threads=1 is one CPU allocating a
 *                 batch of SC_PC_BATCH and freeing it itself; threads=2 is CPU 0 allocating batches
 *                 into a ring of SC_PC_SLOTS slots and CPU 1 freeing each (remote frees), the two
 *                 overlapping, so the ideal scaling is again 2 (each CPU does half the work);
 *                 a pair is one object allocated and freed
 *   control       no mm call: a dependent arithmetic chain per "pair", touching no shared memory;
 *                 its scaling is what this machine's free cores allow right now
 *
 * Output per case:
 *   BENCH name=scale_<case> threads=1 mops=<million pairs per second, all CPUs>
 *   BENCH name=scale_<case> threads=2 mops=<...>
 *   BENCH name=scale_<case> threads=2 scaling=<threads=2 mops / threads=1 mops>   (goal >= 1.8)
 *   BENCH name=scale_<case> threads=2 scaling_vs_control=<scaling / control's scaling>
 * (the control case runs first; the last line is the ratio to read on a shared, loaded machine)
 * Throughput is pairs done by the working CPUs over the wall time from the first one's start (after
 * the barrier) to the last one's end; the idle CPU of a one-CPU run is not timed (until this was
 * so, an idle thread descheduled after the barrier stretched one-CPU runs: scaling 3.44 was
 * printed at load 7); each case keeps the best of --reps runs. On a machine whose other processes
 * take cores the two-thread figure is the first to suffer: read the ratio with the load average.
 * Checks (untimed): every allocation succeeded, and free pages and slab pages return to their
 * values before the case (else "# ERROR" and exit status 1).
 */
#include <pthread.h>
#include <sched.h>

#include "bench_util.h"
#include "machine.h"
#include "mm.h"
#include "page_alloc.h"
#include "slab.h"

#define SC_MEM (1ull << 30)
#define SC_CPUS 2u
#define SC_PAIRS 10000000ul
#define SC_SEED 0x5ca1e

#define SC_PC_BATCH 64u /* prodcons: objects per hand-over */
#define SC_PC_SLOTS 8u  /* prodcons: batches in flight between the producer and the consumer */

enum sc_kind { SC_CONTROL, SC_PAGE, SC_KM64, SC_KM4K, SC_PRODCONS };

static const struct { const char *name; enum sc_kind kind; } sc_cases[] = {
    { "control", SC_CONTROL },
    { "page_order0", SC_PAGE },
    { "kmalloc_64", SC_KM64 },
    { "kmalloc_4k", SC_KM4K },
    { "prodcons", SC_PRODCONS },
};

/* prodcons, threads=2: slot i holds a batch while full[i] (release by the producer, acquire by
 * the consumer; the consumer's release hands it back). */
struct sc_ring {
    void *obj[SC_PC_SLOTS][SC_PC_BATCH];
    unsigned int full[SC_PC_SLOTS];
};
static struct sc_ring sc_ring;

struct sc_run {
    enum sc_kind kind;
    unsigned int threads;   /* CPUs that work; the others return at once */
    unsigned long pairs;    /* per working CPU */
    uint64_t start[SC_CPUS], end[SC_CPUS];
    unsigned long failed[SC_CPUS];
};

static unsigned long sc_loop(enum sc_kind kind, unsigned long pairs)
{
    unsigned long failed = 0;
    uint64_t x = pairs | 1;
    for (unsigned long i = 0; i < pairs; i++) {
        if (kind == SC_CONTROL) {
            for (unsigned int k = 0; k < 24; k++) { /* about one kmalloc pair's time */
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            __asm__ volatile("" : "+r"(x));
        } else if (kind == SC_PAGE) {
            struct page *p = alloc_pages(GFP_KERNEL, 0);
            failed += !p || __free_pages(p, 0);
        } else {
            void *o = kmalloc(kind == SC_KM64 ? 64 : 4096, GFP_KERNEL);
            __asm__ volatile("" : : "r"(o) : "memory");
            failed += !o || kfree(o);
        }
    }
    return failed;
}

/* Wait until sc_ring.full[@slot] != @busy, taking cross-CPU calls meanwhile (a slab growing on
 * the other CPU may call this one), and yielding now and then: on a host whose other processes
 * take cores the two threads may share one, and a pure spin would wait out time slices. */
static void sc_ring_wait(unsigned int slot, unsigned int busy)
{
    for (unsigned int spins = 0; __atomic_load_n(&sc_ring.full[slot], __ATOMIC_ACQUIRE) == busy;) {
        machine_cpu_poll();
        if (++spins % 128 == 0)
            sched_yield();
        else
            __builtin_ia32_pause();
    }
}

/* prodcons on one CPU (@cpu < 0) or as CPU @cpu of two: @pairs objects in batches. */
static unsigned long sc_prodcons(int cpu, unsigned long pairs)
{
    unsigned long failed = 0, batches = pairs / SC_PC_BATCH;
    void *own[SC_PC_BATCH]; /* one CPU alone: its own batch, the ring stays the two CPUs' */
    for (unsigned long b = 0; b < batches; b++) {
        unsigned int slot = (unsigned int)(b % SC_PC_SLOTS);
        void **obj = cpu < 0 ? own : sc_ring.obj[slot];
        if (cpu != 1) { /* produce */
            if (cpu == 0)
                sc_ring_wait(slot, 1u);
            for (unsigned int i = 0; i < SC_PC_BATCH; i++) {
                obj[i] = kmalloc(64, GFP_KERNEL);
                failed += !obj[i];
            }
            if (cpu == 0)
                __atomic_store_n(&sc_ring.full[slot], 1u, __ATOMIC_RELEASE);
        }
        if (cpu != 0) { /* consume */
            if (cpu == 1)
                sc_ring_wait(slot, 0u);
            for (unsigned int i = 0; i < SC_PC_BATCH; i++)
                failed += obj[i] && kfree(obj[i]);
            if (cpu == 1)
                __atomic_store_n(&sc_ring.full[slot], 0u, __ATOMIC_RELEASE);
        }
    }
    return failed;
}

static void sc_cpu_main(unsigned int cpu, void *arg)
{
    struct sc_run *r = arg;
    bool pc = r->kind == SC_PRODCONS;
    if (pc)
        sc_prodcons(-1, SC_PC_BATCH * 16); /* warm up alone: the ring's slots are all empty after */
    else
        sc_loop(r->kind, 1000); /* warm this CPU's lists and slab before the clock */
    machine_smp_barrier();
    r->start[cpu] = now_ns();
    if (pc && r->threads == 2)
        r->failed[cpu] = sc_prodcons((int)cpu, r->pairs * 2); /* both CPUs' pairs, split by role */
    else if (cpu < r->threads)
        r->failed[cpu] = pc ? sc_prodcons(-1, r->pairs) : sc_loop(r->kind, r->pairs);
    r->end[cpu] = now_ns();
}

/* Million pairs per second of @threads CPUs, the best of @reps runs; < 0 on failure. */
static double sc_measure(enum sc_kind kind, unsigned int threads, unsigned long pairs,
                         unsigned int reps, const char *name)
{
    double best = -1.0;
    for (unsigned int rep = 0; rep < reps; rep++) {
        struct sc_run r = { .kind = kind, .threads = threads, .pairs = pairs };
        unsigned long free0 = page_alloc_nr_free(), slab0 = slab_nr_pages();
        machine_smp_run(sc_cpu_main, &r);
        uint64_t t0 = r.start[0], t1 = r.end[0];
        unsigned long failed = 0;
        for (unsigned int c = 0; c < threads; c++) { /* an idle CPU's stamps are not the run's: */
            t0 = r.start[c] < t0 ? r.start[c] : t0; /* descheduled after the barrier, it would
                                                       stretch a one-CPU run and flatter scaling */
            t1 = r.end[c] > t1 ? r.end[c] : t1;
            failed += r.failed[c];
        }
        if (failed)
            fail("%s threads=%u: %lu allocations or frees failed", name, threads, failed);
        drain_all_pages();
        kmem_cache_shrink_all();
        if (page_alloc_nr_free() + slab_nr_pages() != free0 + slab0)
            fail("%s threads=%u: free %lu + slab %lu pages after the run, %lu + %lu before", name,
                 threads, page_alloc_nr_free(), slab_nr_pages(), free0, slab0);
        double mops = (double)pairs * threads / (double)(t1 - t0) * 1e3;
        best = mops > best ? mops : best;
    }
    return best;
}

static const char *sc_name_of(size_t i) { return sc_cases[i].name; }

static void sc_usage(FILE *f, const char *argv0)
{
    fprintf(f, "usage: %s [--quick] [--reps N] [--list] [FILTER...]\n"
               "  page_order0, kmalloc_64, kmalloc_4k, prodcons on 1 and on 2 CPUs at once; prints "
               "mops and the scaling ratio\n", argv0);
}

int main(int argc, char **argv)
{
    struct bench_opts o = BENCH_OPTS_INIT;
    o.reps = 3;
    o.name_of = sc_name_of;
    o.nr_names = sizeof(sc_cases) / sizeof(sc_cases[0]);
    int rc = bench_parse_args(&o, argc, argv, sc_usage, NULL);
    if (rc >= 0)
        return rc;
    if (!bench_any_selected(&o, argv[0]))
        return 2;
    struct machine m;
    machine_pc(&m, SC_MEM, SC_CPUS);
    m.seed = SC_SEED;
    int err = machine_boot(&m);
    if (err) {
        fail("machine_boot(1 GiB, %u CPUs) = %d (%s)", SC_CPUS, err, mm_strerror(err));
        return 1;
    }
    unsigned long pairs = o.quick ? SC_PAIRS / 20 : SC_PAIRS;
    printf("# scaling: %lu pairs per CPU, best of %u runs, 1 GiB PC machine with %u CPUs\n", pairs,
           o.reps, SC_CPUS);
    double control = 0.0;
    for (size_t i = 0; i < o.nr_names; i++) {
        if (i > 0 && !bench_selected(&o, sc_cases[i].name))
            continue; /* the control always runs: the other cases are read against it */
        double one = sc_measure(sc_cases[i].kind, 1, pairs, o.reps, sc_cases[i].name);
        double two = sc_measure(sc_cases[i].kind, 2, pairs, o.reps, sc_cases[i].name);
        double scaling = one > 0 ? two / one : 0.0;
        printf("BENCH name=scale_%s threads=1 mops=%.2f\n", sc_cases[i].name, one);
        printf("BENCH name=scale_%s threads=2 mops=%.2f\n", sc_cases[i].name, two);
        printf("BENCH name=scale_%s threads=2 scaling=%.2f\n", sc_cases[i].name, scaling);
        if (i == 0)
            control = scaling;
        else if (control > 0)
            printf("BENCH name=scale_%s threads=2 scaling_vs_control=%.2f\n", sc_cases[i].name,
                   scaling / control);
        fflush(stdout);
    }
    struct mm_check_report rep;
    if (mm_check(&rep))
        fail("mm_check after the cases: %s: %s", rep.invariant ? rep.invariant : "?", rep.detail);
    return g_errors ? 1 : 0;
}
