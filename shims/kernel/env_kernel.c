/*
 * env_kernel.c - the freestanding implementation of mm_env.h for the LeaxOS kernel.
 *
 * Single CPU for now (CPU 0): env_cpu_call runs locally. Spinlocks are test-and-test-and-set
 * with pause. Console output is formatted with mm_vsnprintf, kept in a log ring (for post-mortem
 * dumps) and written to the console hook (COM1 by default). The direct map is the arch's
 * ARCH_DIRECT_MAP_BASE + pa. Poison hooks are no-ops until the kernel sanitizer runtime lands.
 * The swap device is a static RAM array of KERNEL_SWAP_SLOTS pages until a block driver exists.
 */
#include "arch_cpu.h"
#include "arch_pgtable.h"
#include "kernel_env.h"
#include "mm.h"
#include "mm_env.h"

#define COM1 0x3f8
#define LOG_RING_SIZE 16384

static char log_ring[LOG_RING_SIZE];
static size_t log_head; /* total bytes ever written */
static int kernel_log_level = ENV_LOG_INFO;
static uint64_t trace_counter;

static void serial_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            arch_outb(COM1, '\r');
        arch_outb(COM1, (uint8_t)s[i]);
    }
}

static kernel_console_write_t console_write = serial_write;

void kernel_console_set(kernel_console_write_t write) { console_write = write ? write : serial_write; }
void kernel_set_log_level(int level) { kernel_log_level = level; }

size_t kernel_log_read(char *buf, size_t size)
{
    size_t avail = log_head < LOG_RING_SIZE ? log_head : LOG_RING_SIZE;
    size_t n = avail < size ? avail : size;
    for (size_t i = 0; i < n; i++)
        buf[i] = log_ring[(log_head - n + i) % LOG_RING_SIZE];
    return n;
}

void env_spin_lock(env_spinlock_t *l)
{
    while (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            arch_cpu_relax();
    l->owner_cpu = 0;
}

void env_spin_unlock(env_spinlock_t *l) { __atomic_store_n(&l->locked, 0u, __ATOMIC_RELEASE); }

unsigned long env_irq_save(void) { return arch_irq_save(); }
void env_irq_restore(unsigned long flags) { arch_irq_restore(flags); }

unsigned int env_cpu_id(void) { return 0; }

void env_cpu_call(unsigned int cpu, void (*fn)(void *arg), void *arg)
{
    if (cpu != 0)
        env_panic("env_cpu_call: cpu %u not online (single-CPU kernel)", cpu);
    unsigned long flags = arch_irq_save();
    fn(arg);
    arch_irq_restore(flags);
}

static void log_emit(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        log_ring[(log_head + i) % LOG_RING_SIZE] = s[i];
    log_head += len;
    console_write(s, len);
}

void env_vlog(int level, const char *fmt, va_list ap)
{
    char buf[512];
    if (level > kernel_log_level)
        return;
    int n = mm_vsnprintf(buf, sizeof(buf), fmt, ap);
    log_emit(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void env_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    env_vlog(level, fmt, ap);
    va_end(ap);
}

_Noreturn void env_panic(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = mm_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_emit("mm: PANIC: ", 11);
    log_emit(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    log_emit("\n", 1);
    for (;;)
        arch_halt();
}

void *env_phys_to_virt(phys_addr_t pa) { return (void *)(uintptr_t)(ARCH_DIRECT_MAP_BASE + pa); }

phys_addr_t env_virt_to_phys(const void *va)
{
    uintptr_t a = (uintptr_t)va;
    if (a < ARCH_DIRECT_MAP_BASE || a - ARCH_DIRECT_MAP_BASE >= ARCH_DIRECT_MAP_SIZE)
        return MM_PHYS_INVALID;
    return (phys_addr_t)(a - ARCH_DIRECT_MAP_BASE);
}

void env_tlb_flush_range(uintptr_t start, uintptr_t end)
{
    for (uintptr_t va = start & ~(uintptr_t)(PAGE_SIZE - 1); va < end; va += PAGE_SIZE)
        arch_invlpg(va);
}

const bool env_shadow_enabled = false; /* until the kernel sanitizer runtime lands */

void env_poison(const void *addr, size_t size, enum env_poison_kind kind)
{
    (void)addr;
    (void)size;
    (void)kind;
}

void env_unpoison(const void *addr, size_t size)
{
    (void)addr;
    (void)size;
}

uint64_t env_trace_clock(void) { return ++trace_counter; }

void env_vmalloc_range(uintptr_t *start, uintptr_t *end)
{
    *start = (uintptr_t)ARCH_VMALLOC_START;
    *end = (uintptr_t)ARCH_VMALLOC_END;
}

void env_kernel_map(uintptr_t va, phys_addr_t pa, size_t size, bool writable)
{
    (void)va;
    (void)pa;
    (void)size;
    (void)writable; /* the PTEs the mm wrote are what the MMU uses */
}

void env_kernel_unmap(uintptr_t va, size_t size) { env_tlb_flush_range(va, va + size); }

/* ---- swap device: RAM-backed slots (a stand-in until a block driver exists) ---- */

#define KERNEL_SWAP_SLOTS 256

static uint8_t kernel_swap[KERNEL_SWAP_SLOTS][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

unsigned long env_swap_slots(void) { return KERNEL_SWAP_SLOTS; }

int env_swap_write(unsigned long slot, const void *page)
{
    if (slot >= KERNEL_SWAP_SLOTS || !page)
        return -MM_EINVAL;
    memcpy(kernel_swap[slot], page, PAGE_SIZE);
    return 0;
}

int env_swap_read(unsigned long slot, void *page)
{
    if (slot >= KERNEL_SWAP_SLOTS || !page)
        return -MM_EINVAL;
    memcpy(page, kernel_swap[slot], PAGE_SIZE);
    return 0;
}
