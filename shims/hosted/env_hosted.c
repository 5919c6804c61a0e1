/*
 * env_hosted.c - the hosted implementation of mm_env.h: libc, pthreads-compatible spinlocks,
 * simulated CPUs, the arena as the direct map, and ASan annotations.
 *
 * Simulated CPUs, spinlocks, interrupts and cross-CPU calls live in cpu.c; the TLBs and
 * env_tlb_flush_range in tlb.c.
 *
 * Determinism: env_trace_clock is a counter, never the wall clock.
 *
 * Swap device: machine_swap_reset (at every boot) gets zeroed slots; env_swap_* copy
 * pages in and out, failing on demand (machine_swap_fail_inject).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosted_internal.h"
#include "machine_layout.h"

static int hosted_log_level = ENV_LOG_WARN;
static machine_panic_hook_t hosted_panic_hook;
static uint64_t hosted_clock; /* atomic: every CPU thread ticks it */

void machine_set_log_level(int level) { hosted_log_level = level; }

void env_vlog(int level, const char *fmt, va_list ap)
{
    if (level > hosted_log_level)
        return;
    vfprintf(stderr, fmt, ap);
}

void env_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    env_vlog(level, fmt, ap);
    va_end(ap);
}

void machine_set_panic_hook(machine_panic_hook_t hook) { hosted_panic_hook = hook; }

_Noreturn void env_panic(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "mm: PANIC: %s\n", msg);
    if (hosted_panic_hook)
        hosted_panic_hook(msg);
    abort();
}

void *env_phys_to_virt(phys_addr_t pa)
{
    return (char *)machine_arena_base() + pa;
}

phys_addr_t env_virt_to_phys(const void *va)
{
    uintptr_t base = (uintptr_t)machine_arena_base(), a = (uintptr_t)va;
    if (!base || a < base || a - base >= hosted_arena_used())
        return MM_PHYS_INVALID;
    return (phys_addr_t)(a - base);
}

/* env_tlb_flush_range and machine_tlb_flush_count: tlb.c */

void env_poison(const void *addr, size_t size, enum env_poison_kind kind)
{
    (void)kind;
#ifdef HOSTED_ASAN
    hosted_shadow_poison(addr, size);
#else
    (void)addr;
    (void)size;
#endif
}

void env_unpoison(const void *addr, size_t size)
{
#ifdef HOSTED_ASAN
    hosted_shadow_note_unpoison(addr, size);
    ASAN_UNPOISON_MEMORY_REGION(addr, size);
#else
    (void)addr;
    (void)size;
#endif
}

uint64_t env_trace_clock(void) { return __atomic_add_fetch(&hosted_clock, 1, __ATOMIC_RELAXED); }

bool machine_shadow_poisoned(const void *p)
{
#ifdef HOSTED_ASAN
    return __asan_address_is_poisoned(p) != 0;
#else
    (void)p;
    return false;
#endif
}

void hosted_env_reset(void)
{
    hosted_cpu_reset();
    hosted_clock = 0;
}

#ifdef HOSTED_ASAN
const bool env_shadow_enabled = true;
#else
const bool env_shadow_enabled = false;
#endif

/* ---- swap device storage: a libc array of page-sized slots outside the arena ---- */

static unsigned char *hosted_swap;
static unsigned long hosted_swap_cap; /* slots allocated */

/* One buffer for every device, grown when a larger one is asked for: a calloc and free per boot
 * cost a fresh mapping (page faults, munmap) and, under libFuzzer, a malloc/free imbalance per
 * input that made it rerun every input for leak detection. Only the slots written since the
 * last reset are zeroed again. */
unsigned char *machine_swap_storage(unsigned long slots, unsigned long old_slots)
{
    if (slots > hosted_swap_cap) {
        free(hosted_swap);
        hosted_swap = calloc(slots, PAGE_SIZE);
        hosted_swap_cap = hosted_swap ? slots : 0;
        return hosted_swap;
    }
    if (hosted_swap)
        memset(hosted_swap, 0, MM_MIN(old_slots, hosted_swap_cap) * PAGE_SIZE);
    return slots ? hosted_swap : NULL;
}
