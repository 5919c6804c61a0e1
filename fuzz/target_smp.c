/*
 * target_smp.c - fuzz target "smp": 2-4 CPUs run their own op streams at the same time on the
 * scheduled machine (fuzz_platform.smp_run: one CPU at a time, the input's schedule bytes choosing
 * which one runs at each preemption point), so a race is an input that reproduces like any other.
 *
 * Input: the machine header (cpus=1 runs as 2), then records. Each "smp <op> on=C ..." record is
 * queued on CPU C's stream; "smp sched b0 b1 b2 b345" adds 6 schedule bytes; "smp run" and the end
 * of the input run every queued stream concurrently with the schedule bytes given since the last
 * run, then 256 bytes drawn from the machine seed and the run number (cpu.c says how a byte picks
 * the next CPU), then check at that quiescent point.
 *
 *   stream ops   smp pages on= order=0..3     alloc_pages(GFP_KERNEL)
 *                smp kmalloc on= size=        kmalloc(GFP_KERNEL), size classes and the page path
 *                smp cache-alloc on=          kmem_cache_alloc of the one shared cache (object
 *                                             size 16000, 5000, 1000 or 96 by seed bits 28-29)
 *                smp vmalloc on= pages=1..4
 *                smp free on= h=              frees live[h % nr_live] whoever allocated it (so
 *                                             objects are often freed on another CPU)
 *                smp drain on= which=local|all
 *                smp mmap|munmap|mprotect|access|fork|exit on= ...  the shared address spaces and
 *                                             their model (smp_vm.c, whose head says what it accepts)
 *
 * Owns: live[], the objects the CPUs hold (one table all CPUs share; only the CPU holding the
 * baton runs, and an object leaves live[] before the free that may be preempted starts), the
 * per-CPU queues, the schedule bytes, the shared cache.
 *
 * Invariants:
 *   at allocation  the memory lies in the direct map (vmalloc: its range); it is filled with a
 *                  pattern tied to its tag (allocation number), so private data of one CPU that
 *                  another overwrites shows at the free
 *   at free        the pattern is intact; the free returns 0
 *   quiescent      (every CPU finished its stream, after each run and at teardown) mm_check(),
 *                  no misuse reported, every held object's pattern, and conservation:
 *                  free pages + slab pages + held page blocks and large kmalloc blocks +
 *                  vmalloc pages + vmalloc page-table pages grown since boot + what the address
 *                  spaces hold (smp_vm_pages) == boot value; every page of them matches the model
 *                  (smp_vm_check);
 *                  the shared cache's active objects == the cache objects the CPUs hold
 *   at the end     everything freed, the cache destroyed, conservation again
 *
 * Digest: every allocation's success, every free's result, and per run the switches and the hash
 * of the sequence of CPUs that ran (so two replays with different interleavings differ).
 * Freestanding-clean; in the kernel (no scheduled mode) the CPUs run their streams one after the
 * other, so its digests are not the hosted ones: build.mk's HOSTED_ONLY_TARGETS keeps corpus/smp
 * out of the kernel's pack.
 */
#include "fuzz_target.h"
#include "smp_vm.h"
#include "vmalloc.h"

#define SMP_MAX_LIVE  FUZZ_MAX_OPS
#define SMP_MAX_SCHED (FUZZ_MAX_OPS * 6 + 256)

/* Object size of the shared cache, from seed bits 28-29 (bits 24-26 pick the TLB): big objects
 * first, whose slabs hold 2-8 objects, so a CPU empties its slab and refills it in a few ops. */
static const size_t smp_cache_sizes[] = { 16000, 5000, 1000, 96 };

static const uint8_t smp_kinds[] = {
    FOP_SMP_PAGES, FOP_SMP_PAGES, FOP_SMP_PAGES,
    FOP_SMP_KMALLOC, FOP_SMP_KMALLOC, FOP_SMP_KMALLOC,
    FOP_SMP_CACHE_ALLOC, FOP_SMP_CACHE_ALLOC, FOP_SMP_CACHE_ALLOC,
    FOP_SMP_VMALLOC,
    FOP_SMP_FREE, FOP_SMP_FREE, FOP_SMP_FREE, FOP_SMP_FREE, FOP_SMP_FREE, FOP_SMP_FREE,
    FOP_SMP_DRAIN, FOP_SMP_RUN,
    FOP_SMP_SCHED, FOP_SMP_SCHED, FOP_SMP_SCHED, FOP_SMP_SCHED,
    /* appended: the shared address spaces (smp_vm.c) */
    FOP_SMP_MMAP, FOP_SMP_MMAP, FOP_SMP_MUNMAP, FOP_SMP_MPROTECT, FOP_SMP_MPROTECT,
    FOP_SMP_ACCESS, FOP_SMP_ACCESS, FOP_SMP_ACCESS, FOP_SMP_ACCESS, FOP_SMP_FORK, FOP_SMP_EXIT,
};

static const struct fuzz_op_table smp_table = { smp_kinds, MM_ARRAY_SIZE(smp_kinds),
                                                FUZZ_TABLE_SMP | FUZZ_TABLE_ATOMICS, NULL };

enum smp_kind { SMP_PAGES, SMP_KMALLOC, SMP_CACHE, SMP_VMALLOC };

struct smp_obj {
    uint8_t *p;
    struct page *pg;            /* SMP_PAGES */
    size_t size;                /* bytes the pattern covers */
    uint32_t tag;
    uint8_t kind, cpu, order;   /* order: SMP_PAGES and large kmalloc blocks */
};

/* One queued op: the record it came from (for reports) and its decoded form. */
struct smp_rec {
    uint32_t opno;
    struct fuzz_op op;
};

static struct {
    struct fuzz_machine m;
    struct smp_obj live[SMP_MAX_LIVE];
    uint32_t nr_live, next_tag;
    struct smp_rec queue[FUZZ_MAX_CPUS][FUZZ_MAX_OPS];
    uint32_t nr_queued[FUZZ_MAX_CPUS];
    uint8_t sched[SMP_MAX_SCHED];
    uint32_t nr_sched;
    struct kmem_cache *cache;
    size_t cache_size;
    unsigned long held_pages;   /* page blocks and large kmalloc blocks held */
    unsigned long boot_sum, boot_tables, misuse;
    bool ran;                   /* a run since the last check */
    uint32_t runs;
} smp_fz;

#define SMP_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)

static void smp_vfail(const char *fmt, va_list ap)
{
    fuzz_fail_op(NULL, fmt, ap);
}

/* Fail naming the running op (the engine's cursor, or the stream op of a CPU). */
static _Noreturn MM_PRINTF(1, 2) void smp_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    smp_vfail(fmt, ap);
    va_end(ap);
    fuzz_crash();
}

/* ---- content patterns ---- */

static uint8_t smp_byte(uint32_t tag, size_t i)
{
    uint32_t x = tag * 0x9e3779b1u + (uint32_t)(i >> 3) * 0x85ebca6bu;
    return (uint8_t)((x >> 24) ^ (x >> (8 * (i & 3))) ^ (uint32_t)i);
}

static void smp_fill(const struct smp_obj *o)
{
    for (size_t i = 0; i < o->size; i++)
        o->p[i] = smp_byte(o->tag, i);
}

static FUZZ_VERIFY_FN void smp_verify(const char *when, const struct smp_obj *o)
{
    static const char *const kn[] = { "pages", "kmalloc", "cache", "vmalloc" };
    for (size_t i = 0; i < o->size; i++)
        if (o->p[i] != smp_byte(o->tag, i))
            smp_fail("smp-pattern: %s: %s object tag %u of CPU %u (%zu bytes) byte %zu is 0x%02x, "
                     "want 0x%02x: another CPU wrote it", when, kn[o->kind], (unsigned int)o->tag,
                     (unsigned int)o->cpu, o->size, i, o->p[i], smp_byte(o->tag, i));
}

/* ---- the stream ops (run by the CPU holding the baton) ---- */

static unsigned int smp_order_of(size_t size)
{
    unsigned int order = 0;
    while (((size_t)PAGE_SIZE << order) < size)
        order++;
    return order;
}

static void smp_hold(unsigned int cpu, enum smp_kind kind, void *p, size_t size, unsigned int order)
{
    struct smp_obj *o;

    fuzz_digest_ok(p != NULL);
    if (!p || p == ZERO_SIZE_PTR)
        return;
    if (smp_fz.nr_live == SMP_MAX_LIVE)
        smp_fail("smp-model: more than %u live objects", SMP_MAX_LIVE);
    o = &smp_fz.live[smp_fz.nr_live++];
    *o = (struct smp_obj){ .p = p, .size = size, .tag = smp_fz.next_tag++, .kind = (uint8_t)kind,
                           .cpu = (uint8_t)cpu, .order = (uint8_t)order };
    smp_fill(o);
    SMP_TRACE("  cpu%u holds tag %u (%zu bytes)", cpu, (unsigned int)o->tag, size);
}

static void smp_op_pages(unsigned int cpu, unsigned int order)
{
    struct page *pg = alloc_pages(GFP_KERNEL, order);

    smp_hold(cpu, SMP_PAGES, pg ? page_address(pg) : NULL, (size_t)PAGE_SIZE << order, order);
    if (pg) {
        smp_fz.live[smp_fz.nr_live - 1].pg = pg;
        smp_fz.held_pages += 1ul << order;
    }
}

static void smp_op_kmalloc(unsigned int cpu, size_t size)
{
    void *p = kmalloc(size, GFP_KERNEL);
    bool large = size > KMALLOC_MAX_CACHE_SIZE;

    smp_hold(cpu, SMP_KMALLOC, p, size, large ? smp_order_of(size) : 0);
    if (p && large)
        smp_fz.held_pages += 1ul << smp_order_of(size);
}

/* Take live[h % nr_live] out of the table (before anything can preempt) and free it. */
static void smp_op_free(uint32_t h)
{
    struct smp_obj o;
    int err = 0;

    if (!smp_fz.nr_live)
        return;
    h %= smp_fz.nr_live;
    o = smp_fz.live[h];
    smp_fz.live[h] = smp_fz.live[--smp_fz.nr_live];
    smp_verify("at free", &o);
    switch (o.kind) {
    case SMP_PAGES:
        err = __free_pages(o.pg, o.order);
        smp_fz.held_pages -= 1ul << o.order;
        break;
    case SMP_KMALLOC:
        err = kfree(o.p);
        if (o.size > KMALLOC_MAX_CACHE_SIZE)
            smp_fz.held_pages -= 1ul << o.order;
        break;
    case SMP_CACHE:
        err = kmem_cache_free(smp_fz.cache, o.p);
        break;
    default:
        err = vfree(o.p);
        break;
    }
    fuzz_digest_err(err);
    if (err)
        smp_fail("smp-free: freeing tag %u (kind %u) of CPU %u failed: %s", (unsigned int)o.tag,
                 (unsigned int)o.kind, (unsigned int)o.cpu, mm_strerror(err));
}

static void smp_op_exec(unsigned int cpu, const struct fuzz_op *op)
{
    switch (op->kind) {
    case FOP_SMP_PAGES:
        smp_op_pages(cpu, op->arg[1]);
        break;
    case FOP_SMP_KMALLOC:
        smp_op_kmalloc(cpu, op->arg[1]);
        break;
    case FOP_SMP_CACHE_ALLOC:
        smp_hold(cpu, SMP_CACHE, kmem_cache_alloc(smp_fz.cache, GFP_KERNEL), smp_fz.cache_size, 0);
        break;
    case FOP_SMP_VMALLOC:
        smp_hold(cpu, SMP_VMALLOC, vmalloc((size_t)op->arg[1] * PAGE_SIZE),
                 (size_t)op->arg[1] * PAGE_SIZE, 0);
        break;
    case FOP_SMP_FREE:
        smp_op_free(op->arg[1]);
        break;
    case FOP_SMP_DRAIN:
        if (op->arg[1])
            drain_all_pages();
        else
            drain_local_pages();
        break;
    default:
        smp_vm_exec(cpu, fuzz_cur.opno, op);
        break;
    }
}

/* One CPU's stream: each op with the engine's cursor naming it, a preemption point in between. */
static void smp_cpu_main(unsigned int cpu, void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < smp_fz.nr_queued[cpu]; i++) {
        const struct smp_rec *r = &smp_fz.queue[cpu][i];
        env_sched_point();
        fuzz_cur.opno = r->opno;
        fuzz_cur.op = r->op;
        if (fuzz_trace)
            fuzz_log("  cpu%u runs op#%u %s", cpu, (unsigned int)r->opno, fuzz_cur_text());
        smp_vm_note_op(cpu, true);
        smp_op_exec(cpu, &r->op);
        smp_vm_note_op(cpu, false);
    }
}

/* ---- runs and checks (the engine's thread, every CPU quiescent) ---- */

/* After the input's schedule bytes, SMP_PAD_BYTES more from an xorshift seeded by the machine
 * seed and the run number, each switching often (stay 0-3): every input explores an interleaving,
 * not only those whose sched records the fuzzer has grown. */
#define SMP_PAD_BYTES 256

static void smp_sched_pad(void)
{
    uint32_t x = (smp_fz.m.seed ^ (smp_fz.runs++ * 0x9e3779b9u)) | 1;

    for (unsigned int i = 0; i < SMP_PAD_BYTES; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        smp_fz.sched[smp_fz.nr_sched++] = (uint8_t)(x >> 8) & 0x0f;
    }
}

static void smp_run_queued(void)
{
    struct fuzz_smp_stats st = { 0 };
    uint32_t opno = fuzz_cur.opno;
    struct fuzz_op op = fuzz_cur.op;
    unsigned int cpu;

    smp_sched_pad();
    if (fuzz_platform.smp_run(smp_cpu_main, NULL, smp_fz.sched, smp_fz.nr_sched,
                              fuzz_machine_sched_atomics(&smp_fz.m, smp_table.flags), &st))
        smp_fail("smp-run: the scheduled run failed");
    fuzz_cur.opno = opno;
    fuzz_cur.op = op;
    fuzz_digest_count(st.switches);
    fuzz_digest_count(st.trace);
    SMP_TRACE("  run: %lu points, %lu switches, %lu waits, %u schedule bytes", st.points,
              st.switches, st.waits, (unsigned int)smp_fz.nr_sched);
    for (cpu = 0; cpu < FUZZ_MAX_CPUS; cpu++)
        smp_fz.nr_queued[cpu] = 0;
    smp_fz.nr_sched = 0;
    smp_fz.ran = true;
}

static unsigned long smp_tables(void)
{
    struct vmalloc_stats st;
    vmalloc_get_stats(&st);
    return st.nr_tables;
}

static FUZZ_VERIFY_FN void smp_check_conservation(void)
{
    struct vmalloc_stats vs;
    vmalloc_get_stats(&vs);
    unsigned long user = smp_vm_pages();
    unsigned long sum = page_alloc_nr_free() + slab_nr_pages() + smp_fz.held_pages + vs.nr_pages +
                        (vs.nr_tables - smp_fz.boot_tables) + user;
    if (sum != smp_fz.boot_sum)
        smp_fail("invariant=harness.conservation: free %lu + slab %lu + held %lu + vmalloc %lu + "
                 "tables +%lu + address spaces %lu = %lu, boot %lu", page_alloc_nr_free(),
                 slab_nr_pages(), smp_fz.held_pages, vs.nr_pages, vs.nr_tables - smp_fz.boot_tables,
                 user, sum, smp_fz.boot_sum);
}

/* The shared cache counts exactly the objects the CPUs hold (an object lost between the lists of
 * a slab stays counted as active). */
static FUZZ_VERIFY_FN void smp_check_cache(void)
{
    static struct slab_cache_stats st[96];
    unsigned int n = MM_MIN(slab_get_stats(st, MM_ARRAY_SIZE(st)), (unsigned int)MM_ARRAY_SIZE(st));
    unsigned long held = 0;

    for (uint32_t i = 0; i < smp_fz.nr_live; i++)
        held += smp_fz.live[i].kind == SMP_CACHE;
    for (unsigned int i = 0; i < n; i++)
        if (fuzz_streq(st[i].name, "smp-shared") && st[i].active_objs != held)
            smp_fail("invariant=harness.cache-active: smp-shared counts %lu active objects, the CPUs "
                     "hold %lu", st[i].active_objs, held);
}

static FUZZ_VERIFY_FN void smp_check(bool deep)
{
    struct mm_check_report rep;
    int err;

    if (!deep && !smp_fz.ran)
        return; /* nothing ran since the last check: queuing an op touches no mm state */
    smp_fz.ran = false;
    err = mm_check(&rep);
    if (err)
        smp_fail("invariant=%s: pfn %lu: %s (%s)", rep.invariant ? rep.invariant : "?", rep.pfn,
                 rep.detail, mm_strerror(err));
    if (mm_misuse_count() != smp_fz.misuse) {
        struct mm_misuse mu;
        mm_misuse_last(&mu);
        smp_fail("misuse-spurious: count %lu, expected %lu, last %s in %s: %s", mm_misuse_count(),
                 smp_fz.misuse, mm_misuse_name(mu.kind), mu.func ? mu.func : "?", mu.detail);
    }
    for (uint32_t i = 0; i < smp_fz.nr_live; i++)
        smp_verify("quiescent", &smp_fz.live[i]);
    smp_vm_check();
    smp_check_conservation();
    if (smp_fz.cache)
        smp_check_cache();
}

/* ---- the engine's callbacks ---- */

static uint32_t smp_setup(const uint8_t *data, size_t size)
{
    struct fuzz_machine m = smp_fz.m; /* decoded by the engine */
    struct fuzz_layout l;
    int err;

    (void)data;
    (void)size;
    memset(&smp_fz, 0, sizeof(smp_fz));
    fuzz_machine_clamp(&smp_table, &m);
    smp_fz.m = m;
    smp_fz.next_tag = 1;
    fuzz_machine_layout(&smp_fz.m, &l);
    if ((err = fuzz_platform.boot(&l)))
        smp_fail("boot: %s", mm_strerror(err));
    smp_fz.cache_size = smp_cache_sizes[(m.seed >> 28) & 3];
    smp_fz.cache = kmem_cache_create("smp-shared", smp_fz.cache_size, 0, 0, NULL);
    if (!smp_fz.cache)
        smp_fail("boot: kmem_cache_create of the shared cache failed");
    smp_fz.boot_sum = page_alloc_nr_free() + slab_nr_pages();
    smp_fz.boot_tables = smp_tables();
    smp_vm_setup(m.seed);
    smp_fz.misuse = mm_misuse_count();
    smp_fz.ran = true;
    return 0;
}

static void smp_exec(const struct fuzz_op *op)
{
    unsigned int cpu = op->arg[0];

    switch (op->kind) {
    case FOP_SMP_SCHED:
        smp_fz.sched[smp_fz.nr_sched++] = (uint8_t)op->arg[0];
        smp_fz.sched[smp_fz.nr_sched++] = (uint8_t)op->arg[1];
        smp_fz.sched[smp_fz.nr_sched++] = (uint8_t)op->arg[2];
        for (unsigned int k = 0; k < 3; k++)
            smp_fz.sched[smp_fz.nr_sched++] = (uint8_t)(op->arg[3] >> (8 * k));
        break;
    case FOP_SMP_RUN:
        smp_run_queued();
        break;
    default:
        smp_fz.queue[cpu][smp_fz.nr_queued[cpu]++] = (struct smp_rec){ fuzz_cur.opno, *op };
        break;
    }
    if (fuzz_cur.opno == fuzz_cur.nops && op->kind != FOP_SMP_RUN)
        smp_run_queued(); /* the end of the input is a run */
}

static void smp_teardown(void)
{
    while (smp_fz.nr_live)
        smp_op_free(smp_fz.nr_live - 1);
    smp_check(true);
    smp_vm_teardown();
    int err = kmem_cache_destroy(smp_fz.cache);
    if (err)
        smp_fail("teardown: destroying the shared cache: %s", mm_strerror(err));
    smp_fz.cache = NULL;
    kmem_cache_shrink_all();
    smp_check(true);
}

const struct fuzz_target fuzz_target_smp = {
    .name = "smp",
    .table = &smp_table,
    .machine = &smp_fz.m,
    .setup = smp_setup,
    .exec = smp_exec,
    .check = smp_check,
    .teardown = smp_teardown,
};
