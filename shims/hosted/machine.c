/*
 * machine.c - the simulated physical machine: the arena that stands for physical memory, booting
 * the mm on a machine description (presets: machine_layout.c), and the kernel virtual (vmalloc)
 * range that aliases it.
 *
 *   memfd (sparse):         [offset 0 ......................................... arena_size)
 *   arena (MAP_SHARED):     [pa 0 ............................................ pa end)
 *   direct map:             env_phys_to_virt(pa) == arena + pa
 *   vmalloc range (1 GiB):  PROT_NONE, except where env_kernel_map aliased memfd offset pa at va
 *                           (under ASan also where it did since the boot: env_kernel_unmap)
 *
 * The arena is a memfd mapped MAP_SHARED | MAP_NORESERVE, so the same physical page can appear a
 * second time in the vmalloc range (a real alias: a write through one address is seen through the
 * other). The file is sparse, so a 16 GiB machine costs only what is touched. The arena only
 * grows; a smaller machine reuses the mapping (the file is truncated to zero and back when it
 * grows, which drops stale contents). The vmalloc range is reserved once, PROT_NONE, and never
 * moves; a booting machine turns whatever the previous instance aliased back into PROT_NONE.
 *
 * ASan: before a mapping is dropped its shadow is unpoisoned, so ASan never sees stale poison on
 * recycled addresses. Guard pages are the mm's business (it env_poisons them); this file only
 * makes them fault.
 *
 * Shadow invariants (ASan builds), what keeps a boot's shadow work to what the last input changed:
 *   - From arena_prepare on, every byte of the mapping [0, arena_size) is poisoned except what
 *     env_unpoison opened since; bytes beyond arena_used stay poisoned (nothing may touch them).
 *   - Every chunk of the arena that env_unpoison touched since arena_prepare has its bit set in
 *     shadow_dirty; a clear bit means the chunk's shadow is poisoned whole. So arena_prepare
 *     re-poisons only dirty chunks, and env_poison (hosted_shadow_poison) skips clean ones: the
 *     mm's hand-off poisons every free range, which is poisoned already.
 *   - Unmapped parts of the vmalloc range are poisoned or were never aliased (PROT_NONE).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hosted_internal.h"
#include "machine_layout.h"
#include "slab.h"

#define VMALLOC_RANGE_SIZE (1ull << 30)

/* The smallest arena mapped: the memfd is sparse, so reserving the largest fuzz machine at once
 * costs nothing until touched and spares the remaps (and page faults) of growing step by step. */
#define ARENA_MIN_BYTES (64ull << 20)

static int arena_fd = -1;
static void *arena_base;
static uint64_t arena_size; /* bytes mapped (and the memfd's length) */
static uint64_t arena_used; /* bytes the current machine's map covers */

static void *vmalloc_base;             /* the reserved PROT_NONE range, NULL until first asked */
static uintptr_t vmalloc_lo, vmalloc_hi; /* extent aliased since the last reset (lo == hi: none) */
static pthread_mutex_t vmalloc_span_lock = PTHREAD_MUTEX_INITIALIZER; /* vmalloc_lo/hi */

void *machine_arena_base(void) { return arena_base; }
uint64_t machine_arena_size(void) { return arena_size; }
uint64_t hosted_arena_used(void) { return arena_used; }

static void arena_unpoison_all(void)
{
#ifdef HOSTED_ASAN
    if (arena_base && arena_size)
        ASAN_UNPOISON_MEMORY_REGION(arena_base, arena_size);
#endif
}

/* ---- what the mm unpoisoned in the arena since the last arena_prepare (ASan only) ----
 *
 * A bitmap of dirty chunks: a chunk's bit is set before any byte of it is unpoisoned
 * (env_unpoison -> hosted_shadow_note_unpoison). A chunk whose bit is clear has been poisoned
 * whole since arena_prepare, so a poison of it is a no-op (ASan's poison never makes a byte more
 * addressable): hosted_shadow_poison poisons only the dirty chunks of a range, and arena_prepare
 * re-poisons only the dirty chunks. Chunk boundaries are granule aligned (the arena is page
 * aligned), so poisoning a range piecewise at chunk boundaries equals poisoning it whole.
 * Bits are set with atomic ORs (CPU threads unpoison concurrently); arena_prepare reads and
 * clears them before any CPU thread runs.
 */

#define SHADOW_CHUNKS 4096u
#define SHADOW_CHUNK_MIN_SHIFT 14u /* 16 KiB of arena, 2 KiB of shadow */

static uint64_t shadow_dirty[SHADOW_CHUNKS / 64];
static unsigned int shadow_shift = SHADOW_CHUNK_MIN_SHIFT;

/* Chunk size for an arena of @bytes: SHADOW_CHUNKS chunks cover it. */
static void shadow_set_geometry(uint64_t bytes)
{
    shadow_shift = SHADOW_CHUNK_MIN_SHIFT;
    while ((uint64_t)SHADOW_CHUNKS << shadow_shift < bytes)
        shadow_shift++;
}

/* Clip [a, a+size) to the arena mapping: offsets [*lo, *hi). False when they do not meet. */
static bool shadow_clip(uintptr_t a, size_t size, uint64_t *lo, uint64_t *hi)
{
    uintptr_t base = (uintptr_t)arena_base;

    if (!arena_base || !size || a >= base + arena_size || a + size <= base)
        return false;
    *lo = a > base ? a - base : 0;
    *hi = MM_MIN((uint64_t)(a + size - base), arena_size);
    return true;
}

static bool shadow_chunk_dirty(uint64_t c)
{
    return (__atomic_load_n(&shadow_dirty[c / 64], __ATOMIC_RELAXED) >> (c % 64)) & 1;
}

void hosted_shadow_note_unpoison(const void *addr, size_t size)
{
    uint64_t lo, hi;

    if (!shadow_clip((uintptr_t)addr, size, &lo, &hi))
        return;
    for (uint64_t c = lo >> shadow_shift, last = (hi - 1) >> shadow_shift; c <= last; c++)
        if (!shadow_chunk_dirty(c))
            __atomic_fetch_or(&shadow_dirty[c / 64], 1ull << (c % 64), __ATOMIC_RELAXED);
}

static void shadow_poison_bytes(const void *addr, size_t size)
{
#ifdef HOSTED_ASAN
    ASAN_POISON_MEMORY_REGION(addr, size);
#else
    (void)addr;
    (void)size;
#endif
}

/* The first dirty chunk in [c, last], or last + 1: whole clean words are skipped. */
static uint64_t shadow_next_dirty(uint64_t c, uint64_t last)
{
    while (c <= last) {
        uint64_t w = __atomic_load_n(&shadow_dirty[c / 64], __ATOMIC_RELAXED) >> (c % 64);
        if (w)
            return c + (uint64_t)__builtin_ctzll(w);
        c = (c | 63) + 1;
    }
    return c;
}

/* Poison arena offsets [lo, hi) where they meet dirty chunks, run by run. */
static void shadow_poison_dirty(uint64_t lo, uint64_t hi)
{
    uint64_t last = (hi - 1) >> shadow_shift;

    for (uint64_t c = shadow_next_dirty(lo >> shadow_shift, last); c <= last;) {
        uint64_t run = c;
        while (run + 1 <= last && shadow_chunk_dirty(run + 1))
            run++;
        uint64_t s = MM_MAX(lo, c << shadow_shift), e = MM_MIN(hi, (run + 1) << shadow_shift);
        shadow_poison_bytes((char *)arena_base + s, e - s);
        c = shadow_next_dirty(run + 1, last);
    }
}

void hosted_shadow_poison(const void *addr, size_t size)
{
    uintptr_t a = (uintptr_t)addr, base = (uintptr_t)arena_base;

    if (!arena_base || a < base || a - base > arena_size || size > arena_size - (a - base)) {
        shadow_poison_bytes(addr, size); /* not (only) the arena: as asked */
        return;
    }
    if (size)
        shadow_poison_dirty(a - base, a - base + size);
}

/* Open the memfd once. Returns 0 or -MM_ENOMEM. */
static int arena_open(void)
{
    if (arena_fd >= 0)
        return 0;
    arena_fd = memfd_create("leaxos-mm-arena", MFD_CLOEXEC);
    return arena_fd >= 0 ? 0 : -MM_ENOMEM;
}

/* Drop the arena mapping and the file's contents (the file stays open). */
static void arena_drop(void)
{
    if (arena_base)
        munmap(arena_base, arena_size);
    if (arena_fd >= 0) {
        int rc = ftruncate(arena_fd, 0); /* frees the old contents; cannot fail on a memfd */
        (void)rc;
    }
    arena_base = NULL;
    arena_size = arena_used = 0;
}

/* Replace the arena by a fresh one of @bytes. Returns 0 or -MM_ENOMEM. */
static int arena_grow(uint64_t bytes)
{
    arena_drop();
    bytes = MM_MAX(bytes, ARENA_MIN_BYTES);
    if (arena_open() || ftruncate(arena_fd, (off_t)bytes) != 0)
        return -MM_ENOMEM;
    /* Align the direct map like the kernel's: physical and virtual addresses then agree in
     * their low bits up to the largest buddy block, as they do on the real machine. */
    const uint64_t align = PAGE_SIZE << MM_MAX_ORDER;
    void *r = mmap(NULL, bytes + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) {
        arena_drop();
        return -MM_ENOMEM;
    }
    uintptr_t at = MM_ALIGN_UP((uintptr_t)r, (uintptr_t)align);
    if (at > (uintptr_t)r)
        munmap(r, at - (uintptr_t)r);
    if ((uintptr_t)r + align > at)
        munmap((void *)(at + bytes), (uintptr_t)r + align - at);
    void *p = mmap((void *)at, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED,
                   arena_fd, 0);
    if (p == MAP_FAILED) {
        munmap((void *)at, bytes);
        arena_drop();
        return -MM_ENOMEM;
    }
    arena_base = p;
    arena_size = bytes;
    return 0;
}

/* Turn every alias the previous machine left in the vmalloc range back into PROT_NONE. */
static void vmalloc_range_reset(void)
{
    if (vmalloc_lo >= vmalloc_hi)
        return;
#ifdef HOSTED_ASAN
    /* Poisoned, not unpoisoned: nothing is mapped there any more, and a large unpoison makes ASan
     * hand the shadow pages back to the kernel, which the next boot's aliases fault in again. */
    ASAN_POISON_MEMORY_REGION((void *)vmalloc_lo, vmalloc_hi - vmalloc_lo);
#endif
    mmap((void *)vmalloc_lo, vmalloc_hi - vmalloc_lo, PROT_NONE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    vmalloc_lo = vmalloc_hi = 0;
}

/* Make the arena cover [0, bytes), all of the mapping poisoned. Returns 0 or -MM_ENOMEM. Only the
 * chunks unpoisoned since the last prepare are poisoned again (the rest still are); nothing is
 * unpoisoned until the mapping is dropped (a large unpoison makes ASan hand its shadow pages back
 * to the kernel, and the next poison faults them in again). */
static int arena_prepare(uint64_t bytes)
{
    vmalloc_range_reset(); /* aliases point into the arena: gone before it is reused or dropped */
    if (bytes > arena_size) {
        arena_unpoison_all();
        if (arena_grow(bytes))
            return -MM_ENOMEM;
        shadow_set_geometry(arena_size);
#ifdef HOSTED_ASAN
        /* a fresh mapping's shadow is clear: all of it once, tail included */
        ASAN_POISON_MEMORY_REGION(arena_base, arena_size);
#endif
    } else {
        shadow_poison_dirty(0, arena_size);
    }
    memset(shadow_dirty, 0, sizeof(shadow_dirty));
    arena_used = bytes;
    return 0;
}

/* ---- kernel virtual mappings (mm_env.h) ---- */

void env_vmalloc_range(uintptr_t *start, uintptr_t *end)
{
    if (!vmalloc_base) {
        void *p = mmap(NULL, VMALLOC_RANGE_SIZE, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            env_panic("hosted: cannot reserve %llu bytes for the vmalloc range",
                      (unsigned long long)VMALLOC_RANGE_SIZE);
        vmalloc_base = p;
    }
    *start = (uintptr_t)vmalloc_base;
    *end = (uintptr_t)vmalloc_base + VMALLOC_RANGE_SIZE;
}

/* Precondition of both calls: [va, va+size) lies in the reserved range, page aligned. */
static void vmalloc_range_check(uintptr_t va, size_t size, const char *func)
{
    uintptr_t base = (uintptr_t)vmalloc_base;
    if (!base || va < base || size > VMALLOC_RANGE_SIZE || va - base > VMALLOC_RANGE_SIZE - size ||
        !MM_IS_ALIGNED(va | size, PAGE_SIZE))
        env_panic("hosted: %s(%#lx, %zu) outside the vmalloc range", func, (unsigned long)va, size);
}

void env_kernel_map(uintptr_t va, phys_addr_t pa, size_t size, bool writable)
{
    vmalloc_range_check(va, size, __func__);
    if (pa > arena_used || size > arena_used - pa || !MM_IS_ALIGNED(pa, PAGE_SIZE))
        env_panic("hosted: env_kernel_map of pa %#llx+%zu outside the arena",
                  (unsigned long long)pa, size);
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void *p = mmap((void *)va, size, prot, MAP_SHARED | MAP_FIXED, arena_fd, (off_t)pa);
    if (p == MAP_FAILED)
        env_panic("hosted: cannot alias pa %#llx at %#lx", (unsigned long long)pa,
                  (unsigned long)va);
    /* vmalloc_lo/hi: every CPU thread maps; the span is extended under its own lock */
    pthread_mutex_lock(&vmalloc_span_lock);
    machine_range_extend(&vmalloc_lo, &vmalloc_hi, va, va + size);
    pthread_mutex_unlock(&vmalloc_span_lock);
}

/*
 * Under ASan the alias stays mapped until the next env_kernel_map over it or the next boot: the
 * mm poisons an unmapped range's shadow (env_shadow_enabled), so a stale access is reported by
 * ASan instead of faulting, and the host is spared an mmap and its TLB shootdown per vfree (about
 * a tenth of a vm fuzz input). Without ASan nothing else would catch it: PROT_NONE at once.
 */
void env_kernel_unmap(uintptr_t va, size_t size)
{
    vmalloc_range_check(va, size, __func__);
#ifndef HOSTED_ASAN
    void *p = mmap((void *)va, size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED)
        env_panic("hosted: cannot unmap %#lx+%zu", (unsigned long)va, size);
#endif
    env_tlb_flush_range(va, va + size);
}

void env_kernel_unmap_strict(uintptr_t va, size_t size)
{
    vmalloc_range_check(va, size, __func__);
    void *p = mmap((void *)va, size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED)
        env_panic("hosted: cannot unmap %#lx+%zu", (unsigned long)va, size);
    env_tlb_flush_range(va, va + size);
}

/* ---- kernel-access probes: a fault on a kernel address, caught (machine_kernel_probe) ---- */

static __thread sigjmp_buf probe_jmp;
static __thread volatile uintptr_t probe_addr;
static __thread volatile bool probe_write;

static void probe_on_fault(int sig, siginfo_t *si, void *uc_v)
{
    (void)sig;
    const ucontext_t *uc = uc_v;
    probe_addr = (uintptr_t)si->si_addr;
    probe_write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0; /* x86 #PF error code bit 1 */
    siglongjmp(probe_jmp, 1);
}

bool machine_kernel_probe(void (*fn)(void *arg), void *arg, uintptr_t *addr)
{
    struct sigaction sa = { .sa_sigaction = probe_on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };
    struct sigaction old_segv, old_bus;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    bool faulted = sigsetjmp(probe_jmp, 1) != 0;
    if (!faulted)
        fn(arg);
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    if (faulted) {
        if (addr)
            *addr = probe_addr;
        (void)kfence_handle_fault(probe_addr, probe_write);
    }
    return faulted;
}

/* The layout builders and machine_end live in machine_layout.c (shared with the kernel). */

uint64_t machine_capacity(void) { return 1ull << ARCH_PHYS_BITS; }

int machine_prepare(const struct machine *m, struct mm_boot_params *bp)
{
    uint64_t end = machine_end(m);
    if (end && arena_prepare(end))
        return -MM_ENOMEM;
    hosted_env_reset();
    hosted_tlb_configure(m->nr_cpus, m->tlb_entries, m->tlb_policy);
    if (machine_swap_reset(m->swap_slots))
        return -MM_ENOMEM;
    machine_boot_params(m, bp);
    return 0;
}

/* The post-mortem loader (fuzz/postmortem.c): an empty arena of @bytes, all of it accessible, and
 * @nr_cpus CPUs, without booting an mm; the loader then writes a dump's pages and state into it.
 * The vmalloc range is reserved at @vmalloc_at when it is not reserved yet and that address is
 * free (the dumped machine's page tables index the range by its addresses, so it cannot move). */
int machine_arena_load(uint64_t bytes, unsigned int nr_cpus, uintptr_t vmalloc_at, bool *vmalloc_ok)
{
    /* the range first: the arena, mapped anywhere, could take its place */
    if (!vmalloc_base && vmalloc_at) {
        void *p = mmap((void *)vmalloc_at, VMALLOC_RANGE_SIZE, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (p != MAP_FAILED && (uintptr_t)p != vmalloc_at)
            munmap(p, VMALLOC_RANGE_SIZE); /* a kernel without MAP_FIXED_NOREPLACE: elsewhere */
        else if (p != MAP_FAILED)
            vmalloc_base = p;
    }
    *vmalloc_ok = vmalloc_base && (uintptr_t)vmalloc_base == vmalloc_at;
    if (!bytes || arena_prepare(bytes))
        return -MM_ENOMEM;
    arena_unpoison_all();
    hosted_env_reset();
    hosted_tlb_configure(nr_cpus ? nr_cpus : 1, 0, MACHINE_TLB_FIFO);
    return 0;
}
