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
 * ASan: before a mapping is dropped, reused or replaced its shadow is unpoisoned, so ASan never
 * sees stale poison on recycled addresses. Guard pages are the mm's business (it env_poisons them);
 * this file only makes them fault.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hosted_internal.h"
#include "hosted_machine_layout.h"

#define VMALLOC_RANGE_SIZE (1ull << 30)

static int arena_fd = -1;
static void *arena_base;
static uint64_t arena_size; /* bytes mapped (and the memfd's length) */
static uint64_t arena_used; /* bytes the current machine's map covers */

static void *vmalloc_base;             /* the reserved PROT_NONE range, NULL until first asked */
static uintptr_t vmalloc_lo, vmalloc_hi; /* extent aliased since the last reset (lo == hi: none) */
static pthread_mutex_t vmalloc_span_lock = PTHREAD_MUTEX_INITIALIZER; /* vmalloc_lo/hi */

void *hosted_arena_base(void) { return arena_base; }
uint64_t hosted_arena_size(void) { return arena_size; }
uint64_t hosted_arena_used(void) { return arena_used; }

static void arena_unpoison_all(void)
{
#ifdef HOSTED_ASAN
    if (arena_base && arena_used)
        ASAN_UNPOISON_MEMORY_REGION(arena_base, arena_used);
#endif
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
    /* the mm poisons the guard page after the last alias too */
    uintptr_t top = MM_MIN(vmalloc_hi + PAGE_SIZE, (uintptr_t)vmalloc_base + VMALLOC_RANGE_SIZE);
    ASAN_UNPOISON_MEMORY_REGION((void *)vmalloc_lo, top - vmalloc_lo);
#endif
    mmap((void *)vmalloc_lo, vmalloc_hi - vmalloc_lo, PROT_NONE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    vmalloc_lo = vmalloc_hi = 0;
}

/* Make the arena cover [0, bytes) and poison that range. Returns 0 or -MM_ENOMEM.
 * One pass over the shadow per boot: poisoning [0, bytes) overwrites whatever the last machine
 * left there, so only what it stops covering is unpoisoned (all of it before the mapping is
 * dropped). Unpoisoning the whole arena first made ASan hand its shadow pages back to the kernel
 * (large unpoisons are madvised away) and the poison fault them in again, every input. */
static int arena_prepare(uint64_t bytes)
{
    vmalloc_range_reset(); /* aliases point into the arena: gone before it is reused or dropped */
    if (bytes > arena_size) {
        arena_unpoison_all();
        if (arena_grow(bytes))
            return -MM_ENOMEM;
    }
#ifdef HOSTED_ASAN
    else if (arena_used > bytes)
        ASAN_UNPOISON_MEMORY_REGION((char *)arena_base + bytes, arena_used - bytes);
#endif
    arena_used = bytes;
#ifdef HOSTED_ASAN
    ASAN_POISON_MEMORY_REGION(arena_base, arena_used);
#endif
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
    hosted_range_extend(&vmalloc_lo, &vmalloc_hi, va, va + size);
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

/* The layout builders and hosted_machine_end live in machine_layout.c (shared with the kernel). */

uint64_t hosted_machine_capacity(void) { return 1ull << ARCH_PHYS_BITS; }

int hosted_machine_prepare(const struct hosted_machine *m, struct mm_boot_params *bp)
{
    uint64_t end = hosted_machine_end(m);
    if (end && arena_prepare(end))
        return -MM_ENOMEM;
    hosted_env_reset();
    hosted_tlb_configure(m->nr_cpus, m->tlb_entries, m->tlb_policy);
    if (hosted_swap_reset(m->swap_slots))
        return -MM_ENOMEM;
    hosted_machine_boot_params(m, bp);
    return 0;
}
