/*
 * smp_stress.c - the boot-time SMP tests (KTAP suite "smp"), run on the boot CPU after the
 * single-CPU suites when QEMU gave the kernel more than one CPU (./build.sh qemu --smp N).
 *
 *   online     every CPU the MADT lists is online; in a concurrent run each CPU's env_cpu_id is
 *              its own index and its APIC id is its own
 *   cpu_call   every CPU makes SS_CALLS env_cpu_call round trips to the others at once: each call
 *              must run on its target, with interrupts off, and be done when env_cpu_call returns
 *   shootdown  CPU 1 reads a vmalloc area (its TLB caches the translation); CPU 0 vfrees it and
 *              vmallocs until the same address comes back on new pages; CPU 1 must then read the
 *              new contents: only the shootdown IPI of env_tlb_flush_range drops its entry
 *   stress     a machine with every CPU booted; each CPU runs rounds of a seeded op stream (page
 *              alloc/free orders 0..3, kmalloc/kfree, vmalloc/vfree, vmalloc areas handed to the
 *              next CPU, which checks them before the sender frees and replaces them, env_cpu_call round trips, drain_all_pages
 *              and kmem_cache_shrink_all IPI traffic), every object filled with a token checked at
 *              free; after each round all CPUs wait at a barrier while CPU 0 runs mm_check; at the
 *              end every CPU frees what it holds, the APs park, mm_check runs again and a leak scan
 *              (no roots beyond the mm's own state) finds nothing the stress left allocated;
 *              meanwhile the boot CPU's LAPIC timer runs mm_check_step every 1 ms (this CPU's
 *              lists only, locks by trylock): it must find nothing, and its cost is printed
 *   user       every CPU at once runs user address spaces through the real MMU
 *              (kernel_user_copy, per-CPU CR3): its own private space (mmap, munmap, mprotect,
 *              writes and reads of a token at this CPU's offset of a page, fork, the child's
 *              accesses, exit) and its own window of one space all CPUs share (the same page
 *              tables, VMA tree and lock; a fork of it by one CPU write-protects every CPU's pages
 *              and shoots their translations down while they copy). A model per region says what
 *              every read must return (zeroes before the first write, COW and fork keep the
 *              bytes) and a write to a read-only region must be refused; mm_check at the end of
 *              each round, a leak scan at the end
 *
 * Determinism: each CPU's op stream is a function of (SS_SEED, CPU) (xorshift); which allocations
 * succeed and the interleaving depend on the real CPUs, as on hardware. No wall clock.
 */
#include "arch_cpu.h"
#include "kernel_arch.h"
#include "kernel_boot.h"
#include "kernel_smp.h"
#include "kt_util.h"
#include "ktest.h"
#include "mm.h"
#include "mm_env.h"
#include "machine_mmu.h"
#include "machine_user.h"
#include "mm_leak.h"
#include "mmap.h"
#include "page_alloc.h"
#include "slab.h"
#include "vmalloc.h"

#define SS_SEED 1
#define SS_ROUNDS 4
#define SS_OPS 400
#define SS_CALLS 64
#define SS_PAGES 12
#define SS_OBJS 16
#define SS_VMS 4
#define SS_TOKEN 16
#define SS_VM_MAX_PAGES 4

struct ss_obj {
    uint8_t *p;
    size_t size;
    uint8_t tok;
};

struct ss_cpu {
    uint64_t rng;
    struct { struct page *p; unsigned int order; uint8_t tok; } pages[SS_PAGES];
    struct ss_obj objs[SS_OBJS];
    struct ss_obj vms[SS_VMS];
    unsigned long ops, calls, handed;
    const char *fail;  /* first failure, NULL when none */
    uintptr_t fail_at;
} MM_CACHE_ALIGNED;

static struct ss_cpu ss[KERNEL_SMP_MAX_CPUS];
static struct {
    struct ss_obj obj;
    unsigned int full; /* obj published (release / acquire) */
} ss_slot[KERNEL_SMP_MAX_CPUS];
static unsigned int ss_n;
static unsigned int ss_checks_failed;
static struct mm_check_report ss_rep;

static uint64_t ss_rand(struct ss_cpu *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static void ss_fail(struct ss_cpu *c, const char *what, uintptr_t at)
{
    if (!c->fail) {
        c->fail = what;
        c->fail_at = at;
    }
}

/* A token: @tok in the first SS_TOKEN bytes of each page of [p, p + size), and in its last ones
 * where the page holds both without overlap. */
static void ss_fill(uint8_t *p, size_t size, uint8_t tok)
{
    for (size_t off = 0; off < size; off += PAGE_SIZE) {
        size_t n = size - off < PAGE_SIZE ? size - off : PAGE_SIZE;
        for (size_t i = 0; i < SS_TOKEN && i < n; i++)
            p[off + i] = (uint8_t)(tok + i);
        for (size_t i = 0; i < SS_TOKEN && n >= 2 * SS_TOKEN; i++)
            p[off + n - 1 - i] = (uint8_t)(tok ^ i);
    }
}

static bool ss_token_ok(const uint8_t *p, size_t size, uint8_t tok)
{
    for (size_t off = 0; off < size; off += PAGE_SIZE) {
        size_t n = size - off < PAGE_SIZE ? size - off : PAGE_SIZE;
        for (size_t i = 0; i < SS_TOKEN && i < n; i++)
            if (p[off + i] != (uint8_t)(tok + i))
                return false;
        for (size_t i = 0; i < SS_TOKEN && n >= 2 * SS_TOKEN; i++)
            if (p[off + n - 1 - i] != (uint8_t)(tok ^ i))
                return false;
    }
    return true;
}

/* ---- cross-CPU calls ---- */

struct ss_call {
    unsigned int target, ran, on_cpu, irq_on;
};

static void ss_call_fn(void *arg)
{
    struct ss_call *k = arg;
    unsigned long flags;

    __asm__ __volatile__("pushfq; popq %0" : "=r"(flags));
    k->on_cpu = env_cpu_id();
    k->irq_on = (flags & 0x200) != 0;
    __atomic_store_n(&k->ran, 1u, __ATOMIC_RELEASE);
}

static void ss_call_one(struct ss_cpu *c, unsigned int me)
{
    struct ss_call k = { .target = (me + 1 + (unsigned int)(ss_rand(c) % (ss_n - 1))) % ss_n };

    env_cpu_call(k.target, ss_call_fn, &k);
    if (!__atomic_load_n(&k.ran, __ATOMIC_ACQUIRE))
        ss_fail(c, "env_cpu_call returned before its call ran", k.target);
    else if (k.on_cpu != k.target || k.irq_on)
        ss_fail(c, "a cross-CPU call ran on the wrong CPU or with interrupts on", k.on_cpu);
    c->calls++;
}

/* ---- the op stream ---- */

static void ss_step_pages(struct ss_cpu *c)
{
    unsigned int i = (unsigned int)(ss_rand(c) % SS_PAGES);

    if (c->pages[i].p) {
        size_t size = PAGE_SIZE << c->pages[i].order;
        if (!ss_token_ok(page_address(c->pages[i].p), size, c->pages[i].tok))
            ss_fail(c, "page token changed", (uintptr_t)page_address(c->pages[i].p));
        if (__free_pages(c->pages[i].p, c->pages[i].order))
            ss_fail(c, "__free_pages refused a page", (uintptr_t)page_address(c->pages[i].p));
        c->pages[i].p = NULL;
        return;
    }
    unsigned int order = (unsigned int)(ss_rand(c) % 4);
    struct page *p = alloc_pages(GFP_KERNEL, order);
    if (!p)
        return;
    c->pages[i].p = p;
    c->pages[i].order = order;
    c->pages[i].tok = (uint8_t)ss_rand(c);
    ss_fill(page_address(p), PAGE_SIZE << order, c->pages[i].tok);
}

static void ss_obj_free(struct ss_cpu *c, struct ss_obj *o, bool vm)
{
    if (!ss_token_ok(o->p, o->size, o->tok))
        ss_fail(c, vm ? "vmalloc token changed (stale TLB entry?)" : "kmalloc token changed",
                (uintptr_t)o->p);
    if (vm ? vfree(o->p) : kfree(o->p))
        ss_fail(c, vm ? "vfree refused an area" : "kfree refused an object", (uintptr_t)o->p);
    o->p = NULL;
}

static void ss_obj_alloc(struct ss_cpu *c, struct ss_obj *o, bool vm)
{
    size_t size = vm ? (size_t)(1 + ss_rand(c) % SS_VM_MAX_PAGES) * PAGE_SIZE
                     : (size_t)(8 + ss_rand(c) % 2040);
    o->p = vm ? vmalloc(size) : kmalloc(size, GFP_KERNEL);
    if (!o->p)
        return;
    o->size = size;
    o->tok = (uint8_t)ss_rand(c);
    ss_fill(o->p, size, o->tok);
}

/* Free the object in slot @o, or allocate one into it when empty. */
static void ss_obj_toggle(struct ss_cpu *c, struct ss_obj *o, bool vm)
{
    if (o->p)
        ss_obj_free(c, o, vm);
    else
        ss_obj_alloc(c, o, vm);
}

/*
 * Hand-offs: CPU i publishes a vmalloc area in slot[i + 1] (SS_FULL); CPU i + 1 checks its token
 * (its TLB now caches the translation) and marks it SS_CHECKED; CPU i vfrees it and publishes a
 * new one, often at the same address, on another page (CPU i holds the freed one meanwhile): CPU
 * i + 1 reads that through a stale translation unless the vfree shot its TLB down.
 */
enum { SS_EMPTY, SS_FULL, SS_CHECKED };

static void ss_step_handoff(struct ss_cpu *c, unsigned int me)
{
    unsigned int next = (me + 1) % ss_n;
    struct ss_obj *o = &ss_slot[next].obj;

    if (__atomic_load_n(&ss_slot[me].full, __ATOMIC_ACQUIRE) == SS_FULL) {
        const struct ss_obj *in = &ss_slot[me].obj;
        if (!ss_token_ok(in->p, in->size, in->tok))
            ss_fail(c, "handed-off vmalloc token changed (stale TLB entry?)", (uintptr_t)in->p);
        __atomic_store_n(&ss_slot[me].full, (unsigned int)SS_CHECKED, __ATOMIC_RELEASE);
        return;
    }
    unsigned int state = __atomic_load_n(&ss_slot[next].full, __ATOMIC_ACQUIRE);
    if (state == SS_FULL)
        return;
    struct page *hold = NULL;
    if (state == SS_CHECKED) { /* hold the freed page: the new area gets another one */
        ss_obj_free(c, o, true);
        hold = alloc_page(GFP_KERNEL | __GFP_HIGHMEM);
    }
    ss_obj_alloc(c, o, true);
    if (hold)
        __free_page(hold);
    __atomic_store_n(&ss_slot[next].full, o->p ? (unsigned int)SS_FULL : (unsigned int)SS_EMPTY,
                     __ATOMIC_RELEASE);
    c->handed += o->p != NULL;
}

static void ss_step(struct ss_cpu *c, unsigned int me)
{
    uint64_t r = ss_rand(c);

    switch (r % 16) {
    case 0: case 1: case 2: case 3: case 4:
        ss_step_pages(c);
        break;
    case 5: case 6: case 7: case 8: case 9:
        ss_obj_toggle(c, &c->objs[(r >> 8) % SS_OBJS], false);
        break;
    case 10: case 11:
        ss_obj_toggle(c, &c->vms[(r >> 8) % SS_VMS], true);
        break;
    case 12: case 13:
        ss_step_handoff(c, me);
        break;
    case 14:
        ss_call_one(c, me);
        break;
    default:
        if ((r >> 8) % 4 == 0)
            drain_all_pages();
        else if ((r >> 8) % 4 == 1)
            kmem_cache_shrink_all();
        break;
    }
    c->ops++;
}

static void ss_release_all(struct ss_cpu *c, unsigned int me)
{
    for (unsigned int i = 0; i < SS_PAGES; i++)
        if (c->pages[i].p) {
            __free_pages(c->pages[i].p, c->pages[i].order);
            c->pages[i].p = NULL;
        }
    for (unsigned int i = 0; i < SS_OBJS; i++)
        if (c->objs[i].p)
            ss_obj_free(c, &c->objs[i], false);
    for (unsigned int i = 0; i < SS_VMS; i++)
        if (c->vms[i].p)
            ss_obj_free(c, &c->vms[i], true);
    unsigned int next = (me + 1) % ss_n;
    if (ss_slot[next].full != SS_EMPTY) /* the area this CPU handed on is its to free */
        ss_obj_free(c, &ss_slot[next].obj, true);
    ss_slot[next].full = SS_EMPTY;
}

static void ss_quiescent_check(void)
{
    unsigned long irq = env_irq_save(); /* no timer tick inside: both use the PG_checked marks */
    if (mm_check(&ss_rep))
        ss_checks_failed++;
    env_irq_restore(irq);
}

/* ---- the incremental checker, from the boot CPU's LAPIC timer while the stress runs ---- */

#define SS_TICK_COUNT 62500u /* 1 ms at QEMU's 1 GHz APIC bus clock / 16 */
#define SS_STEP_PAGES 256ul

static struct mm_check_cursor ss_cur;
static struct mm_check_report ss_step_rep;
static unsigned long ss_ticks, ss_step_errors;
static uint64_t ss_tick_max, ss_tick_total;

static void ss_tick(void)
{
    if (ss_step_errors)
        return; /* keep the first report */
    uint64_t t0 = arch_rdtsc();
    int err = mm_check_step(&ss_cur, SS_STEP_PAGES, &ss_step_rep);
    uint64_t dt = arch_rdtsc() - t0;
    ss_ticks++;
    ss_tick_total += dt;
    ss_tick_max = dt > ss_tick_max ? dt : ss_tick_max;
    if (err)
        ss_step_errors++;
}

static void ss_tick_reset(void)
{
    ss_cur = (struct mm_check_cursor){ 0 }; /* other CPUs run: this CPU's lists only */
    ss_ticks = ss_step_errors = 0;
    ss_tick_max = ss_tick_total = 0;
}

static void ss_stress_main(unsigned int cpu, void *arg)
{
    struct ss_cpu *c = &ss[cpu];

    (void)arg;
    c->rng = SS_SEED * 0x9e3779b97f4a7c15ull + (cpu + 1) * 0xbf58476d1ce4e5b9ull;
    for (unsigned int round = 0; round < SS_ROUNDS; round++) {
        for (unsigned int i = 0; i < SS_OPS; i++)
            ss_step(c, cpu);
        kernel_smp_barrier();
        if (cpu == 0)
            ss_quiescent_check(); /* every other CPU waits at the next barrier */
        kernel_smp_barrier();
    }
    ss_release_all(c, cpu);
}

static int ss_report(void)
{
    int bad = 0;

    for (unsigned int i = 0; i < ss_n; i++)
        if (ss[i].fail) {
            ktest_printf("        # CPU %u: %s (0x%lx)\n", i, ss[i].fail, (unsigned long)ss[i].fail_at);
            bad = 1;
        }
    if (ss_checks_failed)
        ktest_printf("        # mm_check: %s pfn 0x%lx: %s\n",
                     ss_rep.invariant ? ss_rep.invariant : "?", ss_rep.pfn, ss_rep.detail);
    return bad || ss_checks_failed;
}

static void ss_reset(void)
{
    ss_n = smp_nr_online();
    ss_checks_failed = 0;
    for (unsigned int i = 0; i < KERNEL_SMP_MAX_CPUS; i++) {
        ss[i] = (struct ss_cpu){ 0 };
        ss_slot[i].full = 0;
    }
}

static int test_stress(void)
{
    ss_reset();
    KT_ASSERT_EQ(kt_boot_small(16, ss_n, false), 0);
    unsigned long ipis = smp_ipi_count(), downs = smp_shootdown_count();
    ss_tick_reset();
    smp_timer_start(SS_TICK_COUNT, ss_tick);
    kernel_smp_run(ss_n, ss_stress_main, NULL);
    smp_timer_stop();
    drain_all_pages();
    kmem_cache_shrink_all();
    ss_quiescent_check(); /* the APs are parked */
    unsigned long ops = 0, calls = 0, handed = 0;
    for (unsigned int i = 0; i < ss_n; i++) {
        ops += ss[i].ops;
        calls += ss[i].calls;
        handed += ss[i].handed;
    }
    ktest_printf("        # %u CPUs, %u rounds: %lu ops, %lu calls, %lu handoffs, %lu IPIs, "
                 "%lu shootdowns, %u mm_check runs\n", ss_n, SS_ROUNDS, ops, calls, handed,
                 smp_ipi_count() - ipis, smp_shootdown_count() - downs, SS_ROUNDS + 1);
    ktest_printf("        # incremental check from the timer: %lu ticks, %lu slices, %lu busy, "
                 "%lu cycles; TSC per tick max %llu, mean %llu\n", ss_ticks, ss_cur.slices,
                 ss_cur.busy, ss_cur.cycles, (unsigned long long)ss_tick_max,
                 (unsigned long long)(ss_ticks ? ss_tick_total / ss_ticks : 0));
    if (ss_step_errors)
        ktest_printf("        # mm_check_step: %s pfn 0x%lx: %s\n", ss_step_rep.invariant ?
                     ss_step_rep.invariant : "?", ss_step_rep.pfn, ss_step_rep.detail);
    KT_ASSERT_EQ(ss_step_errors, 0);
    KT_ASSERT_GT(ss_ticks, 0);
    KT_ASSERT_EQ(ss_report(), 0);
    static struct mm_leak_result leaks;
    KT_ASSERT_EQ(mm_leak_scan(&leaks), 0); /* nothing the stress allocated is left */
    KT_ASSERT_EQ(ops, (unsigned long)ss_n * SS_ROUNDS * SS_OPS);
    return 0;
}

/* ---- online, cpu_call ---- */

static unsigned int ss_seen_cpu[KERNEL_SMP_MAX_CPUS];

static void ss_online_main(unsigned int cpu, void *arg)
{
    (void)arg;
    ss_seen_cpu[cpu] = env_cpu_id() + 1;
}

static int test_online(void)
{
    ss_reset();
    KT_ASSERT_EQ(smp_nr_online(), smp_nr_listed());
    KT_ASSERT_EQ(kt_boot_small(8, ss_n, false), 0);
    for (unsigned int i = 0; i < KERNEL_SMP_MAX_CPUS; i++)
        ss_seen_cpu[i] = 0;
    kernel_smp_run(ss_n, ss_online_main, NULL);
    for (unsigned int i = 0; i < ss_n; i++)
        KT_ASSERT_EQ(ss_seen_cpu[i], i + 1);
    KT_ASSERT_EQ(env_cpu_id(), 0u);
    return 0;
}

static void ss_calls_main(unsigned int cpu, void *arg)
{
    (void)arg;
    ss[cpu].rng = SS_SEED + cpu + 1;
    for (unsigned int i = 0; i < SS_CALLS; i++)
        ss_call_one(&ss[cpu], cpu);
}

static int test_cpu_call(void)
{
    ss_reset();
    KT_ASSERT_EQ(kt_boot_small(8, ss_n, false), 0);
    unsigned long ipis = smp_ipi_count();
    kernel_smp_run(ss_n, ss_calls_main, NULL);
    KT_ASSERT_EQ(ss_report(), 0);
    for (unsigned int i = 0; i < ss_n; i++)
        KT_ASSERT_EQ(ss[i].calls, (unsigned long)SS_CALLS);
    KT_ASSERT_EQ(smp_ipi_count() - ipis, (unsigned long)ss_n * SS_CALLS);
    return 0;
}

/* ---- shootdown ---- */

static struct {
    uint8_t *va;
    uint8_t seen;  /* what CPU 1 read after the remap */
    bool reused;   /* the address came back */
    uint64_t old_pte, new_pte;
} ss_sd;

static void ss_shootdown_main(unsigned int cpu, void *arg)
{
    uint8_t *keep[32] = { 0 };
    struct page *hold[4] = { 0 };
    unsigned int nkeep = 0;

    (void)arg;
    if (cpu == 0) {
        ss_sd.va = vmalloc(PAGE_SIZE);
        if (ss_sd.va)
            ss_sd.va[0] = 0xa1;
    }
    kernel_smp_barrier();
    if (cpu == 1 && ss_sd.va)
        ss_sd.seen = *(volatile uint8_t *)ss_sd.va; /* CPU 1's TLB caches the translation */
    kernel_smp_barrier();
    if (cpu == 0 && ss_sd.va) {
        ss_sd.old_pte = paging_lookup((uintptr_t)ss_sd.va);
        vfree(ss_sd.va);
        /* the freed page is first in line (per-CPU list): hold it, so the new area gets another
         * page, and mark it so a read through the old translation cannot pass for the new one */
        for (unsigned int i = 0; i < MM_ARRAY_SIZE(hold); i++)
            if ((hold[i] = alloc_page(GFP_KERNEL | __GFP_HIGHMEM))) /* as vmalloc asks */
                *(uint8_t *)page_address(hold[i]) = 0xc3;
        for (nkeep = 0; nkeep < MM_ARRAY_SIZE(keep); nkeep++) {
            keep[nkeep] = vmalloc(PAGE_SIZE);
            if (!keep[nkeep] || keep[nkeep] == ss_sd.va)
                break;
        }
        ss_sd.reused = nkeep < MM_ARRAY_SIZE(keep) && keep[nkeep] == ss_sd.va;
        if (ss_sd.reused)
            ss_sd.va[0] = 0xb2;
        ss_sd.new_pte = paging_lookup((uintptr_t)ss_sd.va);
    }
    kernel_smp_barrier();
    if (cpu == 1 && ss_sd.reused)
        ss_sd.seen = *(volatile uint8_t *)ss_sd.va;
    kernel_smp_barrier();
    if (cpu == 0) {
        for (unsigned int i = 0; i <= nkeep && i < MM_ARRAY_SIZE(keep); i++)
            if (keep[i])
                vfree(keep[i]);
        for (unsigned int i = 0; i < MM_ARRAY_SIZE(hold); i++)
            if (hold[i])
                __free_page(hold[i]);
    }
}

static int test_shootdown(void)
{
    ss_reset();
    KT_ASSERT_EQ(kt_boot_small(8, ss_n, false), 0);
    ss_sd.va = NULL;
    ss_sd.seen = 0;
    ss_sd.reused = false;
    unsigned long downs = smp_shootdown_count();
    kernel_smp_run(ss_n, ss_shootdown_main, NULL);
    KT_ASSERT(ss_sd.va != NULL);
    KT_ASSERT_MSG(ss_sd.reused, "vmalloc never gave the freed address back");
    KT_ASSERT_MSG(ss_sd.seen == 0xb2, "CPU 1 read 0x%x through its old translation (want 0xb2; "
                  "pte 0x%llx -> 0x%llx)", ss_sd.seen, (unsigned long long)ss_sd.old_pte,
                  (unsigned long long)ss_sd.new_pte);
    ktest_printf("        # pte 0x%llx -> 0x%llx, CPU 1 read 0x%x\n", (unsigned long long)ss_sd.old_pte,
                 (unsigned long long)ss_sd.new_pte, ss_sd.seen);
    KT_ASSERT(smp_shootdown_count() > downs);
    KT_ASSERT_EQ(kt_check(), 0);
    return 0;
}

/* ---- user address spaces on every CPU ---- */

#define SU_ROUNDS 3
#define SU_OPS 300
#define SU_REGIONS 4
#define SU_REGION_PAGES 6
#define SU_PRIV_BASE 0x40000000ul
#define SU_SHARED_BASE 0x80000000ul
#define SU_WINDOW 0x01000000ul  /* each CPU's part of the shared space */
#define SU_STRIDE 0x00100000ul  /* between regions of a space */

struct su_region {
    bool mapped;
    uint8_t npages, prot;
    uint8_t val[SU_REGION_PAGES]; /* token last written at this CPU's offset; 0: never (zeroes) */
};

struct su_space {
    struct mm_struct *mm;
    uintptr_t base;
    struct su_region r[SU_REGIONS];
};

struct su_cpu {
    struct su_space priv, child, shared;
    unsigned long accesses, refused, forks, maps;
} MM_CACHE_ALIGNED;

static struct su_cpu su[KERNEL_SMP_MAX_CPUS];
static struct mm_struct *su_shared_mm;

static uintptr_t su_va(const struct su_space *s, unsigned int i, unsigned int pg, unsigned int cpu)
{
    return s->base + (uintptr_t)i * SU_STRIDE + (uintptr_t)pg * PAGE_SIZE + 64u * cpu;
}

static void su_map(struct ss_cpu *c, struct su_cpu *u, struct su_space *s)
{
    unsigned int i = (unsigned int)(ss_rand(c) % SU_REGIONS);
    struct su_region *r = &s->r[i];
    uintptr_t va = su_va(s, i, 0, 0);
    if (!r->mapped) {
        unsigned int n = 1 + (unsigned int)(ss_rand(c) % SU_REGION_PAGES);
        long got = do_mmap(s->mm, va, (size_t)n * PAGE_SIZE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
        if (got < 0 && got != -MM_ENOMEM)
            ss_fail(c, "do_mmap of a free fixed range failed", va);
        else if (got >= 0 && (uintptr_t)got != va)
            ss_fail(c, "do_mmap MAP_FIXED placed elsewhere", (uintptr_t)got);
        else if (got >= 0)
            *r = (struct su_region){ .mapped = true, .npages = (uint8_t)n,
                                     .prot = PROT_READ | PROT_WRITE };
        u->maps += got >= 0;
        return;
    }
    if (ss_rand(c) % 3 == 0) {
        if (do_munmap(s->mm, va, (size_t)r->npages * PAGE_SIZE))
            ss_fail(c, "do_munmap of a mapped region failed", va);
        *r = (struct su_region){ 0 };
        return;
    }
    static const uint8_t prots[] = { PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE };
    uint8_t prot = prots[ss_rand(c) % 3];
    int err = do_mprotect(s->mm, va, (size_t)r->npages * PAGE_SIZE, prot);
    if (err && err != -MM_ENOMEM)
        ss_fail(c, "do_mprotect of a mapped region failed", va);
    if (!err)
        r->prot = prot;
}

/* A user write or read of SS_TOKEN bytes at this CPU's offset of one page, judged by the model. */
static void su_access(struct ss_cpu *c, struct su_cpu *u, struct su_space *s, unsigned int cpu)
{
    unsigned int i = (unsigned int)(ss_rand(c) % SU_REGIONS);
    struct su_region *r = &s->r[i];
    if (!r->mapped)
        return;
    unsigned int pg = (unsigned int)(ss_rand(c) % r->npages);
    uintptr_t va = su_va(s, i, pg, cpu);
    bool write = ss_rand(c) % 2;
    bool allowed = (r->prot & (write ? PROT_WRITE : PROT_READ)) != 0;
    uint8_t buf[SS_TOKEN], tok = (uint8_t)(1 + ss_rand(c) % 255);
    for (unsigned int k = 0; k < SS_TOKEN; k++)
        buf[k] = write ? (uint8_t)(tok + k) : 0xee;
    enum vm_fault_result res = machine_user_copy(s->mm, va, buf, sizeof(buf),
                                                 write ? MMU_WRITE : MMU_READ, NULL);
    u->accesses++;
    if (res == VM_FAULT_OOM)
        return;
    if (!allowed) {
        if (res == VM_FAULT_HANDLED)
            ss_fail(c, write ? "a user write to a read-only region succeeded"
                             : "a user read of a PROT_NONE region succeeded", va);
        u->refused++;
        return;
    }
    if (res != VM_FAULT_HANDLED) {
        ss_fail(c, write ? "an allowed user write faulted" : "an allowed user read faulted", va);
        return;
    }
    if (write) {
        r->val[pg] = tok;
        return;
    }
    for (unsigned int k = 0; k < SS_TOKEN; k++)
        if (buf[k] != (r->val[pg] ? (uint8_t)(r->val[pg] + k) : 0)) {
            ss_fail(c, r->val[pg] ? "a user read missed the last write (lost COW copy or "
                                    "stale translation?)" : "a never-written user page is not zero",
                    va);
            return;
        }
}

/* Fork @parent, counted: the child, or NULL (out of memory is allowed; another error fails @c). */
static struct mm_struct *su_fork(struct ss_cpu *c, struct su_cpu *u, struct mm_struct *parent,
                                 const char *what)
{
    struct mm_struct *child = NULL;
    int err = mm_fork(parent, &child);
    if (err && err != -MM_ENOMEM)
        ss_fail(c, what, (uintptr_t)err);
    if (err)
        return NULL;
    u->forks++;
    return child;
}

static void su_fork_private(struct ss_cpu *c, struct su_cpu *u, unsigned int cpu)
{
    if (u->child.mm) {
        if (ss_rand(c) % 3) {
            su_access(c, u, ss_rand(c) % 2 ? &u->child : &u->priv, cpu);
            return;
        }
        mm_destroy(u->child.mm); /* exit */
        u->child.mm = NULL;
        return;
    }
    struct mm_struct *child = su_fork(c, u, u->priv.mm, "mm_fork of the private space failed");
    if (!child)
        return;
    u->child = u->priv;
    u->child.mm = child;
}

/* Fork the shared space (as one of its threads would): this CPU's window in the child reads as the
 * parent's, a write there is the child's alone; then the child exits. */
static void su_fork_shared(struct ss_cpu *c, struct su_cpu *u, unsigned int cpu)
{
    struct mm_struct *child = su_fork(c, u, u->shared.mm, "mm_fork of the shared space failed");
    if (!child)
        return;
    struct su_space copy = u->shared;
    copy.mm = child;
    for (unsigned int k = 0; k < 3; k++)
        su_access(c, u, &copy, cpu);
    mm_destroy(child);
}

static void su_step(struct ss_cpu *c, struct su_cpu *u, unsigned int cpu)
{
    uint64_t r = ss_rand(c);
    switch (r % 12) {
    case 0: case 1: case 2:
        su_access(c, u, &u->priv, cpu);
        break;
    case 3: case 4: case 5:
        su_access(c, u, &u->shared, cpu);
        break;
    case 6:
        su_map(c, u, &u->priv);
        break;
    case 7:
        su_map(c, u, &u->shared);
        break;
    case 8:
        su_fork_private(c, u, cpu);
        break;
    case 9:
        if ((r >> 8) % 4 == 0)
            su_fork_shared(c, u, cpu);
        else
            su_access(c, u, u->child.mm ? &u->child : &u->priv, cpu);
        break;
    case 10:
        ss_step_pages(c); /* kernel allocations compete for the same memory */
        break;
    default:
        if ((r >> 8) % 4 == 0)
            drain_all_pages();
        else
            ss_obj_toggle(c, &c->objs[(r >> 8) % SS_OBJS], false);
        break;
    }
    c->ops++;
}

static void su_main(unsigned int cpu, void *arg)
{
    struct ss_cpu *c = &ss[cpu];
    struct su_cpu *u = &su[cpu];

    (void)arg;
    c->rng = SS_SEED * 0x94d049bb133111ebull + (cpu + 1) * 0xbf58476d1ce4e5b9ull;
    u->priv.mm = mm_create(); /* concurrently with the other CPUs' */
    u->priv.base = SU_PRIV_BASE;
    u->shared.mm = su_shared_mm;
    u->shared.base = SU_SHARED_BASE + (uintptr_t)cpu * SU_WINDOW;
    if (!u->priv.mm)
        ss_fail(c, "mm_create failed", 0);
    for (unsigned int round = 0; round < SU_ROUNDS; round++) {
        for (unsigned int i = 0; i < SU_OPS && u->priv.mm; i++)
            su_step(c, u, cpu);
        kernel_smp_barrier();
        if (cpu == 0)
            ss_quiescent_check();
        kernel_smp_barrier();
    }
    if (u->child.mm)
        mm_destroy(u->child.mm);
    if (u->priv.mm)
        mm_destroy(u->priv.mm);
    u->child.mm = u->priv.mm = NULL;
    ss_release_all(c, cpu);
}

static int test_user(void)
{
    ss_reset();
    for (unsigned int i = 0; i < KERNEL_SMP_MAX_CPUS; i++)
        su[i] = (struct su_cpu){ 0 };
    KT_ASSERT_EQ(kt_boot_small(16, ss_n, false), 0);
    su_shared_mm = mm_create();
    KT_ASSERT_NOT_NULL(su_shared_mm);
    unsigned long ipis = smp_ipi_count(), downs = smp_shootdown_count();
    kernel_smp_run(ss_n, su_main, NULL);
    mm_destroy(su_shared_mm);
    su_shared_mm = NULL;
    drain_all_pages();
    kmem_cache_shrink_all();
    ss_quiescent_check();
    unsigned long acc = 0, refused = 0, forks = 0, maps = 0;
    for (unsigned int i = 0; i < ss_n; i++) {
        acc += su[i].accesses;
        refused += su[i].refused;
        forks += su[i].forks;
        maps += su[i].maps;
    }
    ktest_printf("        # %u CPUs, %u rounds: %lu user accesses (%lu refused as the model "
                 "said), %lu mmaps, %lu forks, %lu IPIs, %lu shootdowns\n", ss_n, SU_ROUNDS, acc,
                 refused, maps, forks, smp_ipi_count() - ipis, smp_shootdown_count() - downs);
    KT_ASSERT_EQ(ss_report(), 0);
    KT_ASSERT_GT(forks, 0);
    KT_ASSERT_GT(refused, 0);
    static struct mm_leak_result leaks;
    KT_ASSERT_EQ(mm_leak_scan(&leaks), 0);
    return 0;
}

static const struct ktest_case smp_cases[] = {
    KT_CASE(online),
    KT_CASE(cpu_call),
    KT_CASE(shootdown),
    KT_CASE(stress),
    KT_CASE(user),
};
KT_SUITE(smp, smp_cases);
const struct ktest_suite suite_smp_one_cpu = {
    .name = "smp", .skip = "one CPU (./build.sh qemu --smp N runs it)",
};
