/*
 * stress.c - the concurrent stress of the hosted mm: one thread per simulated CPU
 * (machine_smp_run), each running its own op stream, with mm_check at quiescent points.
 *
 * Ops (a mix drawn per step): page alloc/free (orders 0..3, a content token checked at free),
 * kmalloc/kfree (8 B..8 KiB, token), a shared kmem_cache with objects handed to the next CPU to
 * free (the remote-free path), vmalloc/vfree (token at both ends), mmap/munmap/mprotect and user
 * reads/writes through the hosted MMU (faults, COW breaks, swap-in) in a private address space and
 * in this CPU's window of one address space every CPU shares, a file every CPU maps MAP_SHARED
 * and reads and writes (each CPU its own bytes of every page), brk, fork and exit of both, and IPI
 * traffic (drain_all_pages, kmem_cache_shrink). Every user read is checked against a per-region
 * model of the bytes last written (COW, swap-out/in and fork must keep them).
 *
 * First, with CPU 1's interrupts off, CPU 0 calls it: the call must wait for CPU 1 to turn them
 * on and then run on CPU 1 with interrupts off (the IPI semantics of the threaded machine).
 *
 * Rounds: every CPU runs --ops ops, then parks at a barrier; CPU 0 runs mm_check (no lock may be
 * held, every structure consistent) and, every fourth round, exits the shared address space and
 * makes a new one; then the next round starts. At the end every CPU frees what it holds and a
 * last mm_check runs.
 *
 * Determinism: each CPU's op stream is a function of (--seed, CPU) alone: a xorshift generator,
 * no wall clock, no real randomness. Which ops succeed (memory pressure) and the interleaving
 * depend on the scheduler, as on hardware. --time S only decides, at a quiescent point, whether
 * to start another round; --rounds N fixes the count.
 *
 * Output: "STRESS cpus=N rounds=R ops=O seconds=S checks=C" then "stress: ok", or a "stress:
 * FAIL ..." line and exit status 1. ThreadSanitizer's reports go to stderr (./build.sh stress
 * counts them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include "machine.h"
#include "machine_mmu.h"
#include "machine_user.h"
#include "mm.h"
#include "mmap.h"
#include "page_alloc.h"
#include "slab.h"
#include "swap.h"
#include "vmalloc.h"

#define ST_PAGES     24
#define ST_OBJS      48
#define ST_COBJS     24
#define ST_VMAS      4
#define ST_REGIONS   4
#define ST_REGION_PAGES 16
#define ST_XCHG      8
#define ST_TOKEN     16     /* bytes of a content token */
#define ST_PRIV_BASE 0x40000000ul
#define ST_SHARED_BASE 0x80000000ul
#define ST_CPU_WINDOW  0x01000000ul
#define ST_REGION_STRIDE 0x00100000ul
#define ST_FILE_REGION 3     /* the last region of a space maps the shared file (MAP_SHARED) */
#define ST_FILE_PAGES  32

struct st_region {
    bool mapped;
    unsigned int npages, prot;
    unsigned int file_off;        /* ST_FILE_REGION: the file page of the region's first page */
    uint8_t val[ST_REGION_PAGES]; /* byte last written at the page's token; 0 = never */
};

struct st_space {
    struct mm_struct *mm;
    uintptr_t base;
    struct st_region r[ST_REGIONS];
};

struct st_cpu {
    unsigned int cpu;
    uint64_t rng;
    unsigned long ops;
    struct { struct page *p; unsigned int order; uint8_t tok; } pages[ST_PAGES];
    struct { uint8_t *p; size_t size; uint8_t tok; } objs[ST_OBJS];
    struct { uint8_t *p; uint8_t tok; } cobjs[ST_COBJS];
    struct { uint8_t *p; size_t size; uint8_t tok; } vmas[ST_VMAS];
    struct st_space priv, child, shared;
    uint8_t fval[ST_FILE_PAGES];  /* this CPU's token in each page of the shared file */
};

static struct {
    unsigned int cpus, rounds_max, ops;
    uint64_t seed;
    double time_limit;
    struct kmem_cache *cache;
    struct mm_file *file;                /* mapped MAP_SHARED by every CPU; CPU c owns the bytes
                                            at 64 * c of each page, so each CPU's model holds */
    struct mm_struct *shared_mm;
    uint8_t *xchg[MM_MAX_CPUS][ST_XCHG]; /* objects of the shared cache waiting for their CPU */
    struct page *pxchg[MM_MAX_CPUS][ST_XCHG]; /* order-0 pages with a reference for that CPU */
    struct st_cpu cpu[MM_MAX_CPUS];
    unsigned int round, rounds_done, stop;
    unsigned int shared_gen;             /* bumped by every new shared address space */
    unsigned long forks;                 /* successful mm_fork calls (atomic) */
    unsigned long checks;
    struct timespec t0;
} st;

/* ---- helpers ---- */

static _Noreturn void st_fail(struct st_cpu *c, const char *what)
{
    fprintf(stderr, "stress: FAIL cpu %u round %u op %lu: %s\n", c ? c->cpu : 0, st.round,
            c ? c->ops : 0, what);
    exit(1);
}

static uint64_t st_rand(struct st_cpu *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static unsigned int st_pick(struct st_cpu *c, unsigned int n) { return (unsigned int)(st_rand(c) % n); }

static uint8_t st_token(struct st_cpu *c) { return (uint8_t)(1 + st_pick(c, 255)); }

static void st_fill(void *p, size_t n, uint8_t tok) { memset(p, tok, n); }

static void st_expect(struct st_cpu *c, const uint8_t *p, size_t n, uint8_t tok, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != tok) {
            char msg[160];
            snprintf(msg, sizeof(msg), "%s: byte %zu is 0x%02x, expected 0x%02x", what, i, p[i], tok);
            st_fail(c, msg);
        }
}

static double st_elapsed(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - st.t0.tv_sec) + (double)(t.tv_nsec - st.t0.tv_nsec) / 1e9;
}

/* ---- physical pages, kmalloc, the shared cache, vmalloc ---- */

static void st_op_page(struct st_cpu *c)
{
    unsigned int i = st_pick(c, ST_PAGES);
    if (c->pages[i].p) {
        st_expect(c, page_address(c->pages[i].p), ST_TOKEN, c->pages[i].tok, "page token");
        if (__free_pages(c->pages[i].p, c->pages[i].order))
            st_fail(c, "__free_pages refused a page it handed out");
        c->pages[i].p = NULL;
        return;
    }
    unsigned int order = st_pick(c, 4);
    struct page *p = alloc_pages(GFP_KERNEL | (st_pick(c, 4) ? 0 : __GFP_ZERO), order);
    if (!p)
        return;
    c->pages[i].p = p;
    c->pages[i].order = order;
    c->pages[i].tok = st_token(c);
    st_fill(page_address(p), ST_TOKEN, c->pages[i].tok);
}

/* A page both this CPU and the next one hold a reference to (get_page): each drops its own, in
 * whatever order the CPUs get there; the last put frees it. */
static void st_op_page_share(struct st_cpu *c)
{
    struct page *mine = __atomic_exchange_n(&st.pxchg[c->cpu][st_pick(c, ST_XCHG)], NULL,
                                            __ATOMIC_ACQ_REL);
    if (mine && __free_pages(mine, 0))
        st_fail(c, "__free_pages of a shared page failed");
    struct page *p = alloc_pages(GFP_KERNEL, 0);
    if (!p)
        return;
    get_page(p);
    unsigned int to = (c->cpu + 1) % st.cpus;
    struct page *old = __atomic_exchange_n(&st.pxchg[to][st_pick(c, ST_XCHG)], p, __ATOMIC_ACQ_REL);
    if (old && __free_pages(old, 0))
        st_fail(c, "__free_pages of a shared page failed");
    if (__free_pages(p, 0)) /* our reference; the next CPU's may already be gone */
        st_fail(c, "__free_pages of a shared page failed");
}

static void st_op_kmalloc(struct st_cpu *c)
{
    unsigned int i = st_pick(c, ST_OBJS);
    if (c->objs[i].p) {
        st_expect(c, c->objs[i].p, c->objs[i].size, c->objs[i].tok, "kmalloc token");
        if (kfree(c->objs[i].p))
            st_fail(c, "kfree refused an object it handed out");
        c->objs[i].p = NULL;
        return;
    }
    size_t size = (size_t)8 << st_pick(c, 11);
    size = size > 8192 ? 8192 : size - st_pick(c, 4);
    uint8_t *p = kmalloc(size, GFP_KERNEL);
    if (!p)
        return;
    c->objs[i].p = p;
    c->objs[i].size = size;
    c->objs[i].tok = st_token(c);
    st_fill(p, size, c->objs[i].tok);
}

/* Objects of the shared cache carry their token in byte 0 and fill the rest with it. */
static void st_cobj_free(struct st_cpu *c, uint8_t *p)
{
    st_expect(c, p + 1, 63, p[0], "cache object token");
    if (kmem_cache_free(st.cache, p))
        st_fail(c, "kmem_cache_free refused an object it handed out");
}

static void st_op_cache(struct st_cpu *c)
{
    unsigned int i = st_pick(c, ST_COBJS);
    uint8_t *mine = __atomic_exchange_n(&st.xchg[c->cpu][st_pick(c, ST_XCHG)], NULL,
                                        __ATOMIC_ACQ_REL);
    if (mine)
        st_cobj_free(c, mine); /* allocated by the previous CPU: a remote free */
    if (!c->cobjs[i].p) {
        uint8_t *p = kmem_cache_alloc(st.cache, GFP_KERNEL);
        if (p) {
            p[0] = st_token(c);
            memset(p + 1, p[0], 63);
            c->cobjs[i].p = p;
        }
        return;
    }
    uint8_t *p = c->cobjs[i].p;
    c->cobjs[i].p = NULL;
    if (st_pick(c, 2)) {
        st_cobj_free(c, p);
        return;
    }
    unsigned int to = (c->cpu + 1) % st.cpus; /* hand it over; free what was there */
    uint8_t *old = __atomic_exchange_n(&st.xchg[to][st_pick(c, ST_XCHG)], p, __ATOMIC_ACQ_REL);
    if (old)
        st_cobj_free(c, old);
}

static void st_op_vmalloc(struct st_cpu *c)
{
    unsigned int i = st_pick(c, ST_VMAS);
    if (c->vmas[i].p) {
        st_expect(c, c->vmas[i].p, ST_TOKEN, c->vmas[i].tok, "vmalloc head token");
        st_expect(c, c->vmas[i].p + c->vmas[i].size - ST_TOKEN, ST_TOKEN, c->vmas[i].tok,
                  "vmalloc tail token");
        if (vfree(c->vmas[i].p))
            st_fail(c, "vfree refused an area it handed out");
        c->vmas[i].p = NULL;
        return;
    }
    size_t size = (1 + st_pick(c, 16)) * PAGE_SIZE - st_pick(c, 64);
    uint8_t *p = vmalloc(size);
    if (!p)
        return;
    c->vmas[i].p = p;
    c->vmas[i].size = size;
    c->vmas[i].tok = st_token(c);
    st_fill(p, ST_TOKEN, c->vmas[i].tok);
    st_fill(p + size - ST_TOKEN, ST_TOKEN, c->vmas[i].tok);
}

/* ---- address spaces ---- */

static uintptr_t st_region_va(const struct st_space *s, unsigned int r)
{
    return s->base + (uintptr_t)r * ST_REGION_STRIDE;
}

static void st_space_forget(struct st_space *s)
{
    memset(s->r, 0, sizeof(s->r));
}

static void st_op_map(struct st_cpu *c, struct st_space *s)
{
    unsigned int i = st_pick(c, ST_REGIONS);
    struct st_region *r = &s->r[i];
    uintptr_t va = st_region_va(s, i);
    if (!r->mapped) {
        unsigned int n = 1 + st_pick(c, ST_REGION_PAGES), off = 0;
        bool file = i == ST_FILE_REGION;
        if (file)
            off = st_pick(c, ST_FILE_PAGES - n + 1);
        long got = do_mmap(s->mm, va, (size_t)n * PAGE_SIZE, PROT_READ | PROT_WRITE,
                           file ? MAP_SHARED | MAP_FIXED : MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                           file ? st.file : NULL, (uint64_t)off * PAGE_SIZE);
        if (got < 0 && got != -MM_ENOMEM)
            st_fail(c, "do_mmap of a free fixed range failed");
        if (got >= 0) {
            if ((uintptr_t)got != va)
                st_fail(c, "do_mmap MAP_FIXED placed elsewhere");
            *r = (struct st_region){ .mapped = true, .npages = n, .prot = PROT_READ | PROT_WRITE,
                                     .file_off = off };
        }
        return;
    }
    if (s == &c->priv && st_pick(c, 8) == 0) { /* the heap: grow or shrink it */
        uintptr_t want = 0x10000000ul + (uintptr_t)st_pick(c, 64) * PAGE_SIZE;
        do_brk(s->mm, want);
        return;
    }
    if (st_pick(c, 3) == 0) {
        if (do_munmap(s->mm, va, (size_t)r->npages * PAGE_SIZE))
            st_fail(c, "do_munmap of a mapped region failed");
        *r = (struct st_region){ 0 };
        return;
    }
    static const unsigned int prots[] = { PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE,
                                          PROT_READ | PROT_WRITE };
    unsigned int prot = prots[st_pick(c, 4)];
    int err = do_mprotect(s->mm, va, (size_t)r->npages * PAGE_SIZE, prot);
    if (err && err != -MM_ENOMEM)
        st_fail(c, "do_mprotect of a mapped region failed");
    if (!err)
        r->prot = prot;
}

/* A user read or write of one page's token; the model says what a read must return. */
static void st_op_access(struct st_cpu *c, struct st_space *s)
{
    unsigned int i = st_pick(c, ST_REGIONS), pg;
    struct st_region *r = &s->r[i];
    if (!r->mapped)
        return;
    pg = st_pick(c, r->npages);
    uintptr_t va = st_region_va(s, i) + (uintptr_t)pg * PAGE_SIZE + 64 * (c->cpu % 16);
    uint8_t buf[ST_TOKEN];
    bool write = st_pick(c, 2) && (r->prot & PROT_WRITE);
    if (!write && !(r->prot & PROT_READ))
        return;
    if (write)
        st_fill(buf, sizeof(buf), st_token(c));
    enum vm_fault_result res = machine_user_copy(s->mm, va, buf, sizeof(buf),
                                                write ? MMU_WRITE : MMU_READ, NULL);
    if (res == VM_FAULT_OOM)
        return;
    if (res != VM_FAULT_HANDLED) {
        char msg[96];
        snprintf(msg, sizeof(msg), "user %s at 0x%lx: %s", write ? "write" : "read",
                 (unsigned long)va, vm_fault_name(res));
        st_fail(c, msg);
    }
    uint8_t *model = i == ST_FILE_REGION ? &c->fval[r->file_off + pg] : &r->val[pg];
    if (write)
        *model = buf[0];
    else
        st_expect(c, buf, sizeof(buf), *model, i == ST_FILE_REGION ? "shared file page contents"
                                                                 : "user page contents");
}

/* read() / write() of this CPU's bytes of a file page: the same page cache as the mappings. */
static void st_op_file_io(struct st_cpu *c)
{
    unsigned int pg = st_pick(c, ST_FILE_PAGES);
    uint64_t off = (uint64_t)pg * PAGE_SIZE + 64 * (c->cpu % 16);
    uint8_t buf[ST_TOKEN];
    if (st_pick(c, 2)) {
        st_fill(buf, sizeof(buf), st_token(c));
        int err = mm_file_write(st.file, off, buf, sizeof(buf));
        if (err && err != -MM_ENOMEM)
            st_fail(c, "mm_file_write failed");
        if (!err)
            c->fval[pg] = buf[0];
        return;
    }
    if (mm_file_read(st.file, off, buf, sizeof(buf)))
        st_fail(c, "mm_file_read failed");
    st_expect(c, buf, sizeof(buf), c->fval[pg], "file read contents");
}

static void st_op_fork_private(struct st_cpu *c)
{
    if (c->child.mm) {
        if (st_pick(c, 3)) {
            st_op_access(c, st_pick(c, 2) ? &c->child : &c->priv);
            return;
        }
        mm_destroy(c->child.mm); /* exit */
        c->child.mm = NULL;
        return;
    }
    struct mm_struct *child;
    int err = mm_fork(c->priv.mm, &child);
    if (err == -MM_ENOMEM)
        return;
    if (err)
        st_fail(c, "mm_fork of the private address space failed");
    __atomic_add_fetch(&st.forks, 1ul, __ATOMIC_RELAXED);
    c->child = c->priv;
    c->child.mm = child;
}

/* Fork the shared address space (as one of its threads would), check this CPU's window in the
 * child, write there (a COW break), and exit it. */
static void st_op_fork_shared(struct st_cpu *c)
{
    struct mm_struct *child;
    int err = mm_fork(c->shared.mm, &child);
    if (err == -MM_ENOMEM)
        return;
    if (err)
        st_fail(c, "mm_fork of the shared address space failed");
    __atomic_add_fetch(&st.forks, 1ul, __ATOMIC_RELAXED);
    struct st_space copy = c->shared;
    copy.mm = child;
    st_op_access(c, &copy);
    st_op_access(c, &copy);
    mm_destroy(child);
}

/* A cache of this CPU's own: created, used, destroyed (heap.lock against the other CPUs). */
static void st_op_cache_life(struct st_cpu *c)
{
    char name[24];
    snprintf(name, sizeof(name), "stress-cpu%u", c->cpu);
    struct kmem_cache *k = kmem_cache_create(name, 24 + 8 * st_pick(c, 40), 0, 0, NULL);
    if (!k)
        return;
    void *objs[16];
    unsigned int n = 1 + st_pick(c, 16);
    for (unsigned int i = 0; i < n; i++)
        objs[i] = kmem_cache_alloc(k, GFP_KERNEL);
    for (unsigned int i = 0; i < n; i++)
        if (objs[i] && kmem_cache_free(k, objs[i]))
            st_fail(c, "kmem_cache_free of a private cache failed");
    if (kmem_cache_destroy(k))
        st_fail(c, "kmem_cache_destroy of an empty cache failed");
}

/* Cross-CPU work (drains and cache flushes are IPIs) and reclaim (drains, the shrinkers, swap). */
static void st_op_ipi(struct st_cpu *c)
{
    switch (st_pick(c, 6)) {
    case 0: drain_all_pages(); break;
    case 1: kmem_cache_shrink(st.cache); break;
    case 2: page_reclaim(GFP_KERNEL, 1 + st_pick(c, 32)); break;
    case 3: kmem_cache_shrink_all(); break;
    case 4: st_op_cache_life(c); break;
    default: swap_reclaim(1 + st_pick(c, 16)); break;
    }
}

static void st_step(struct st_cpu *c)
{
    unsigned int r = st_pick(c, 100);
    c->ops++;
    if (r < 11)
        st_op_page(c);
    else if (r < 14)
        st_op_page_share(c);
    else if (r < 30)
        st_op_kmalloc(c);
    else if (r < 42)
        st_op_cache(c);
    else if (r < 47)
        st_op_vmalloc(c);
    else if (r < 57)
        st_op_map(c, st_pick(c, 2) ? &c->priv : &c->shared);
    else if (r < 82)
        st_op_access(c, st_pick(c, 2) ? &c->priv : &c->shared);
    else if (r < 85)
        st_op_file_io(c);
    else if (r < 93)
        st_op_fork_private(c);
    else if (r < 97)
        st_op_fork_shared(c);
    else
        st_op_ipi(c);
}

/* ---- rounds and quiescent points ---- */

static void st_check(const char *when)
{
    struct mm_check_report rep;
    st.checks++;
    if (mm_check(&rep)) {
        fprintf(stderr, "stress: FAIL round %u, mm_check %s: %s pfn 0x%lx: %s\n", st.round, when,
                rep.invariant, rep.pfn, rep.detail);
        exit(1);
    }
}

/* A new shared address space; the old one exits. Under memory pressure the old one stays. */
static void st_shared_renew(void)
{
    struct mm_struct *mm = mm_create();
    if (!mm) {
        if (!st.shared_mm)
            st_fail(NULL, "mm_create of the shared address space failed");
        return;
    }
    if (st.shared_mm)
        mm_destroy(st.shared_mm);
    st.shared_mm = mm;
    st.shared_gen++;
}

/* CPU 0 alone, every other CPU parked (between two barriers). */
static void st_quiescent(void)
{
    st_check("at a quiescent point");
    st.rounds_done++;
    if (st.rounds_done % 4 == 0)
        st_shared_renew();
    bool more = st.rounds_max ? st.rounds_done < st.rounds_max : st_elapsed() < st.time_limit;
    st.stop = !more;
}

static void st_release_all(struct st_cpu *c)
{
    for (unsigned int i = 0; i < ST_PAGES; i++)
        if (c->pages[i].p && __free_pages(c->pages[i].p, c->pages[i].order))
            st_fail(c, "final __free_pages failed");
    for (unsigned int i = 0; i < ST_OBJS; i++)
        if (c->objs[i].p && kfree(c->objs[i].p))
            st_fail(c, "final kfree failed");
    for (unsigned int i = 0; i < ST_COBJS; i++)
        if (c->cobjs[i].p)
            st_cobj_free(c, c->cobjs[i].p);
    for (unsigned int i = 0; i < ST_XCHG; i++) {
        uint8_t *p = __atomic_exchange_n(&st.xchg[c->cpu][i], NULL, __ATOMIC_ACQ_REL);
        if (p)
            st_cobj_free(c, p);
        struct page *pg = __atomic_exchange_n(&st.pxchg[c->cpu][i], NULL, __ATOMIC_ACQ_REL);
        if (pg && __free_pages(pg, 0))
            st_fail(c, "final __free_pages of a shared page failed");
    }
    for (unsigned int i = 0; i < ST_VMAS; i++)
        if (c->vmas[i].p && vfree(c->vmas[i].p))
            st_fail(c, "final vfree failed");
    if (c->child.mm)
        mm_destroy(c->child.mm);
    mm_destroy(c->priv.mm);
    memset(c, 0, sizeof(*c));
}

/* ---- the cross-CPU call semantics, once before the rounds ---- */

static unsigned int st_ipi_posted, st_ipi_ran, st_ipi_cpu, st_ipi_irq_off;

static void st_ipi_fn(void *arg)
{
    (void)arg;
    unsigned long was_off = env_irq_save(); /* hosted: 1 when interrupts were already off */
    env_irq_restore(was_off);
    __atomic_store_n(&st_ipi_cpu, env_cpu_id(), __ATOMIC_RELAXED);
    __atomic_store_n(&st_ipi_irq_off, (unsigned int)was_off, __ATOMIC_RELAXED);
    __atomic_store_n(&st_ipi_ran, 1u, __ATOMIC_RELEASE);
}

/* CPU 0 calls CPU 1 while CPU 1 has interrupts off: the call must wait until CPU 1 turns them
 * on, then run on CPU 1 with interrupts off, and CPU 0's env_cpu_call must return after it. */
static void st_selftest_ipi(unsigned int cpu)
{
    if (cpu == 0) {
        while (!__atomic_load_n(&st_ipi_posted, __ATOMIC_ACQUIRE)) /* CPU 1 has irqs off */
            machine_cpu_poll();
        env_cpu_call(1, st_ipi_fn, NULL);
        if (!__atomic_load_n(&st_ipi_ran, __ATOMIC_ACQUIRE))
            st_fail(NULL, "env_cpu_call returned before the call ran");
    } else if (cpu == 1) {
        unsigned long irq = env_irq_save();
        __atomic_store_n(&st_ipi_posted, 1u, __ATOMIC_RELEASE);
        for (unsigned int i = 0; i < 2000; i++) { /* long enough for CPU 0 to post its call */
            machine_cpu_poll();
            sched_yield();
        }
        if (__atomic_load_n(&st_ipi_ran, __ATOMIC_ACQUIRE))
            st_fail(NULL, "a cross-CPU call ran while its target had interrupts off");
        env_irq_restore(irq); /* the interrupt window: the call runs here, or at a later poll */
        while (!__atomic_load_n(&st_ipi_ran, __ATOMIC_ACQUIRE))
            machine_cpu_poll();
        if (st_ipi_cpu != 1 || !st_ipi_irq_off)
            st_fail(NULL, "a cross-CPU call ran on the wrong CPU or with interrupts on");
    }
    machine_smp_barrier();
}

static void st_cpu_main(unsigned int cpu, void *arg)
{
    (void)arg;
    struct st_cpu *c = &st.cpu[cpu];
    if (st.cpus > 1)
        st_selftest_ipi(cpu);
    c->cpu = cpu;
    c->rng = st.seed * 0x9e3779b97f4a7c15ull + (cpu + 1) * 0xbf58476d1ce4e5b9ull;
    if (!c->rng)
        c->rng = 1;
    c->priv.mm = mm_create();
    if (!c->priv.mm)
        st_fail(c, "mm_create failed");
    c->priv.base = ST_PRIV_BASE;
    c->child.base = ST_PRIV_BASE;
    c->shared.base = ST_SHARED_BASE + (uintptr_t)cpu * ST_CPU_WINDOW;
    unsigned int gen = st.shared_gen;
    for (;;) {
        c->shared.mm = st.shared_mm; /* read after the barrier that published it */
        for (unsigned int i = 0; i < st.ops; i++)
            st_step(c);
        machine_smp_barrier();
        if (cpu == 0)
            st_quiescent();
        machine_smp_barrier();
        if (st.shared_gen != gen) { /* (a new mm may reuse the old one's address) */
            st_space_forget(&c->shared);
            gen = st.shared_gen;
        }
        if (st.stop)
            break;
        if (cpu == 0)
            st.round++;
        machine_smp_barrier();
    }
    st_release_all(c);
}

static void st_usage(void)
{
    fprintf(stderr, "usage: stress [--seed K] [--rounds N | --time S] [--ops N] [--cpus N] "
                    "[--mem MIB]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    unsigned long mem_mib = 2; /* small enough that allocations fail and reclaim swaps */
    st.cpus = 4;
    st.ops = 400;
    st.seed = 1;
    st.time_limit = 10;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            st_usage();
        const char *a = argv[i], *v = argv[++i];
        if (!strcmp(a, "--seed"))
            st.seed = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--rounds"))
            st.rounds_max = (unsigned int)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--time"))
            st.time_limit = strtod(v, NULL);
        else if (!strcmp(a, "--ops"))
            st.ops = (unsigned int)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--cpus"))
            st.cpus = (unsigned int)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--mem"))
            mem_mib = strtoul(v, NULL, 0);
        else
            st_usage();
    }
    if (!st.cpus || st.cpus > MM_MAX_CPUS)
        st_usage();
    struct machine m;
    machine_small(&m, (uint64_t)mem_mib << 20, st.cpus);
    m.swap_slots = 2048;
    m.seed = st.seed;
    machine_set_log_level(ENV_LOG_ERR);
    if (machine_boot(&m))
        st_fail(NULL, "boot failed");
    st.cache = kmem_cache_create("stress-64", 64, 0, 0, NULL);
    if (!st.cache)
        st_fail(NULL, "kmem_cache_create failed");
    st.file = mm_file_create((uint64_t)ST_FILE_PAGES * PAGE_SIZE, true);
    if (!st.file)
        st_fail(NULL, "mm_file_create failed");
    st_shared_renew();
    clock_gettime(CLOCK_MONOTONIC, &st.t0);
    machine_smp_run(st_cpu_main, NULL);
    double secs = st_elapsed();
    mm_destroy(st.shared_mm);
    mm_file_put(st.file);
    if (kmem_cache_destroy(st.cache))
        st_fail(NULL, "kmem_cache_destroy: objects left");
    st_check("after teardown");
    unsigned long ops = (unsigned long)st.cpus * st.ops * st.rounds_done;
    struct page_alloc_stats ps;
    struct swap_stats ss;
    struct machine_mmu_stats ms;
    page_alloc_get_stats(&ps);
    swap_get_stats(&ss);
    machine_mmu_get_stats(&ms);
    printf("STRESS cpus=%u rounds=%u ops=%lu seconds=%.1f checks=%lu seed=%llu\n", st.cpus,
           st.rounds_done, ops, secs, st.checks, (unsigned long long)st.seed);
    printf("STRESS_MM page_allocs=%lu alloc_fails=%lu reclaim_runs=%lu swapped_out=%lu "
           "swapped_in=%lu user_faults=%lu ipis=%lu forks=%lu\n", ps.counters.alloc,
           ps.counters.fail, ps.counters.reclaim_runs, ss.swapped_out, ss.swapped_in, ms.faults,
           machine_ipi_count(), st.forks);
    printf("stress: ok\n");
    return 0;
}
