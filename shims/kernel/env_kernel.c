/*
 * env_kernel.c - the freestanding implementation of mm_env.h for the LeaxOS kernel, and the env
 * half of the hosted platform API (machine.h) the tests and the corpus replay drive.
 *
 * It behaves as shims/hosted/env_hosted.c does wherever the mm or a driver can observe it, so a
 * test or a corpus input has the same outcome in both builds:
 *   - env_cpu_id comes from the calling real CPU's per-CPU data (GS base, kernel_smp.h). Outside a
 *     concurrent run only the boot CPU runs the mm and it plays every simulated CPU, as the hosted
 *     single-threaded machine does: machine_cpu_set writes its per-CPU id; env_cpu_call switches
 *     it to the target, runs fn with interrupts off and switches back. Inside a concurrent run
 *     (kernel_smp_run) every CPU is itself: env_cpu_call to another CPU is a LAPIC IPI that the
 *     caller waits for, and env_tlb_flush_range shoots the range down on every other CPU by IPI.
 *     Spinlocks are test-and-test-and-set with pause and record the owner; a CPU spinning takes
 *     posted TLB flushes (smp_poll_flush), so a flush never waits for a CPU spinning on its lock.
 *     In a concurrent run a waiter whose interrupts are on sleeps in hlt instead (smp_lock_sleep)
 *     and the release wakes it (smp_lock_released); flushes reach it by IPI as ever.
 *     In a concurrent run, releasing a lock the caller does not hold panics (as hosted threaded),
 *     and so does taking one the caller's CPU already holds (a hang otherwise).
 *   - The log ring and the console are shared by every CPU under console_lock.
 *   - env_virt_to_phys translates the direct map (ARCH_DIRECT_MAP_BASE + pa) of the booted
 *     machine only, as the hosted arena's used length bounds it (kernel_env_reset).
 *   - vmalloc window [ARCH_VMALLOC_START, +KERNEL_VMALLOC_SIZE): env_kernel_map/unmap write and
 *     clear the live leaf PTEs (kernel_kmap_set/clear); the extent mapped since the last machine
 *     boot is remembered so the next boot clears it (kernel_vmalloc_reset), like the hosted
 *     machine's aliases.
 *   - env_tlb_flush_range counts its calls (machine_tlb_flush_count) and invalidates: invlpg per
 *     page, or a full flush (CR4.PGE toggle, which also drops global entries) for large ranges.
 *   - The swap device is a static RAM array of KERNEL_SWAP_CAPACITY slots; machine_swap_reset
 *     zeroes the slots written since the last reset, so a fresh device reads as zeroes (calloc).
 *   - env_panic prints the message, calls the panic hook when one is set (it must not return),
 *     otherwise prints a post-mortem and leaves QEMU with KERNEL_EXIT_FAIL.
 * Console output is formatted with mm_vsnprintf, kept in a log ring (post-mortem dumps) and written
 * to the console hook (COM1 by default). The trace clock is a counter, never the wall clock.
 * env_shadow_enabled, env_poison and env_unpoison live in kasan.c (the sanitizer runtime).
 */
#include "arch_cpu.h"
#include "arch_pgtable.h"
#include "machine_layout.h"
#include "kernel_arch.h"
#include "kernel_env.h"
#include "kernel_internal.h"
#include "kernel_smp.h"
#include "mm.h"
#include "mm_env.h"

#define COM1 0x3f8
#define LOG_RING_SIZE 16384
#define TLB_FLUSH_MAX_PAGES 64          /* above this, one full flush beats invlpg per page */
#define X86_CR4_PGE (1ul << 7)

static char log_ring[LOG_RING_SIZE];
static size_t log_head; /* total bytes ever written */
static int env_log_level = ENV_LOG_INFO;
static machine_panic_hook_t env_panic_hook;
static bool env_in_panic;

static uint64_t env_clock;
static unsigned long env_tlb_flushes;
static uint64_t env_phys_end = ARCH_DIRECT_MAP_SIZE; /* until a machine boots: all of it */

static uintptr_t vmalloc_lo, vmalloc_hi; /* extent mapped since the last reset (lo == hi: none) */
static env_spinlock_t vmalloc_extent_lock; /* vmalloc_lo/hi: CPUs map concurrently */
static unsigned int console_owner;          /* 1 + real CPU index holding the console, 0: free */

/* ---- console and log ring ---- */

/* One byte once the transmitter holds nothing (LSR.THRE): QEMU's UART drops what the guest writes
 * while its host side is blocked (a slow reader of -serial stdio), and a post-mortem dump is
 * megabytes in a burst. Bounded, so a UART that never gets ready cannot hang a crash report. */
static void serial_putc(uint8_t c)
{
    for (unsigned int spin = 0; !(arch_inb(COM1 + 5) & 0x20) && spin < (1u << 22); spin++)
        arch_cpu_relax();
    arch_outb(COM1, c);
}

static void serial_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc((uint8_t)s[i]);
    }
}

static kernel_console_write_t console_write = serial_write;

void kernel_console_set(kernel_console_write_t write)
{
    console_write = write ? write : serial_write;
}

void kernel_set_log_level(int level) { env_log_level = level; }
int kernel_get_log_level(void) { return env_log_level; }
void machine_set_log_level(int level) { env_log_level = level; }

size_t kernel_log_read(char *buf, size_t size)
{
    size_t avail = log_head < LOG_RING_SIZE ? log_head : LOG_RING_SIZE;
    size_t n = avail < size ? avail : size;
    for (size_t i = 0; i < n; i++)
        buf[i] = log_ring[(log_head - n + i) % LOG_RING_SIZE];
    return n;
}

/* The console lock: re-entered by its holder (a panic while printing) instead of deadlocking. */
static bool console_lock(void)
{
    unsigned int me = KERNEL_PERCPU_READ(index) + 1, free = 0;

    if (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) == me)
        return false;
    while (!__atomic_compare_exchange_n(&console_owner, &free, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        free = 0;
        smp_poll_flush();
        arch_cpu_relax();
    }
    return true;
}

static void log_emit(const char *s, size_t len)
{
    bool locked = console_lock();
    for (size_t i = 0; i < len; i++)
        log_ring[(log_head + i) % LOG_RING_SIZE] = s[i];
    log_head += len;
    console_write(s, len);
    if (locked)
        __atomic_store_n(&console_owner, 0u, __ATOMIC_RELEASE);
}

void env_vlog(int level, const char *fmt, va_list ap)
{
    char buf[512];
    if (level > env_log_level)
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

void machine_set_panic_hook(machine_panic_hook_t hook) { env_panic_hook = hook; }

_Noreturn void env_panic(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = mm_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_emit("mm: PANIC: ", 11);
    log_emit(msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
    log_emit("\n", 1);
    if (env_panic_hook)
        env_panic_hook(msg);
    if (!env_in_panic) { /* a panic inside the post-mortem goes straight out */
        env_in_panic = true;
        kernel_post_mortem();
    }
    kernel_exit(KERNEL_EXIT_FAIL);
}

/* ---- locks, interrupts, simulated CPUs ---- */

/* The lock validator (mm_env.h, ENV_LOCK_*), as on the hosted machine: record how @l is taken
 * now (@spins: env_spin_lock, which waits) and panic at the use that completes the deadly pair. */
static void kernel_lock_note(env_spinlock_t *l, bool spins)
{
    unsigned int use = (spins && KERNEL_PERCPU_READ(in_call) ? ENV_LOCK_IN_CALL : 0u) |
                       (arch_irq_enabled() ? ENV_LOCK_IRQ_ON : 0u);
    if (!use || (__atomic_load_n(&l->irq_ctx, __ATOMIC_RELAXED) & use) == use)
        return;
    if (__atomic_or_fetch(&l->irq_ctx, use, __ATOMIC_RELAXED) == (ENV_LOCK_IN_CALL | ENV_LOCK_IRQ_ON))
        env_panic("spinlock %p is taken inside cross-CPU calls and also held with interrupts on "
                  "(now by CPU %u, %s): a call arriving while its CPU holds it spins forever",
                  (void *)l, env_cpu_id(),
                  use & ENV_LOCK_IN_CALL ? "inside a call" : "with interrupts on");
}

void env_spin_lock(env_spinlock_t *l)
{
    kernel_lock_note(l, true);
    while (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE)) {
        /* an IPI taken while its CPU held this lock with interrupts on would spin here forever */
        if (smp_active() && __atomic_load_n(&l->owner_cpu, __ATOMIC_RELAXED) == env_cpu_id() + 1)
            env_panic("spinlock %p taken again by CPU %u, which holds it (a cross-CPU call that "
                      "takes a lock its CPU held with interrupts on?)", (void *)l, env_cpu_id());
        bool sleep = smp_active() && arch_irq_enabled();
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
            if (sleep) {
                smp_lock_sleep(&l->locked);
                continue;
            }
            smp_poll_flush();
            arch_cpu_relax();
        }
    }
    __atomic_store_n(&l->owner_cpu, env_cpu_id() + 1, __ATOMIC_RELAXED);
}

bool env_spin_trylock(env_spinlock_t *l)
{
    if (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE))
        return false;
    kernel_lock_note(l, false);
    __atomic_store_n(&l->owner_cpu, env_cpu_id() + 1, __ATOMIC_RELAXED);
    return true;
}

void env_spin_unlock(env_spinlock_t *l)
{
    if (smp_active() && __atomic_load_n(&l->owner_cpu, __ATOMIC_RELAXED) != env_cpu_id() + 1)
        env_panic("spinlock %p released by CPU %u, which does not hold it", (void *)l,
                  env_cpu_id());
    __atomic_store_n(&l->owner_cpu, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&l->locked, 0u, __ATOMIC_RELEASE);
    if (smp_active())
        smp_lock_released(&l->locked);
}

/* Preemption points exist only on the scheduled hosted machine; the one real CPU never switches. */
void env_sched_point(void) {}
bool env_sched_atomics; /* never set here (mm_env.h) */

unsigned long env_irq_save(void) { return arch_irq_save(); }
void env_irq_restore(unsigned long flags) { arch_irq_restore(flags); }

unsigned int env_cpu_id(void) { return KERNEL_PERCPU_READ(cpu); }

/* Simulated CPUs exist only outside a concurrent run, where every CPU is itself. */
void machine_cpu_set(unsigned int cpu)
{
    unsigned int n = mm_nr_cpus();
    if (smp_active())
        env_panic("machine_cpu_set(%u) on CPU %u during a concurrent run", cpu, env_cpu_id());
    KERNEL_PERCPU_WRITE(cpu, cpu < n ? cpu : cpu % n);
}

unsigned int machine_cpu_get(void) { return env_cpu_id(); }

void env_cpu_call(unsigned int cpu, void (*fn)(void *arg), void *arg)
{
    unsigned long flags = arch_irq_save();
    unsigned int saved = env_cpu_id();

    if (smp_active() && cpu != saved) {
        if (!(flags & X86_EFLAGS_IF))
            env_panic("env_cpu_call to CPU %u from CPU %u with interrupts off", cpu, saved);
        arch_irq_restore(flags);
        smp_call(cpu, fn, arg, false);
        return;
    }
    if (!smp_active())
        KERNEL_PERCPU_WRITE(cpu, cpu);
    KERNEL_PERCPU_WRITE(in_call, KERNEL_PERCPU_READ(in_call) + 1);
    fn(arg);
    KERNEL_PERCPU_WRITE(in_call, KERNEL_PERCPU_READ(in_call) - 1);
    if (!smp_active())
        KERNEL_PERCPU_WRITE(cpu, saved);
    arch_irq_restore(flags);
}

void kernel_env_reset(uint64_t phys_end)
{
    KERNEL_PERCPU_WRITE(cpu, 0);
    env_clock = 0;
    env_tlb_flushes = 0;
    if (phys_end)
        env_phys_end = phys_end;
}

uint64_t env_trace_clock(void) { return __atomic_add_fetch(&env_clock, 1, __ATOMIC_RELAXED); }

/* ---- direct map and TLB ---- */

void *env_phys_to_virt(phys_addr_t pa) { return (void *)(uintptr_t)(ARCH_DIRECT_MAP_BASE + pa); }

phys_addr_t env_virt_to_phys(const void *va)
{
    uintptr_t a = (uintptr_t)va;
    if (a < ARCH_DIRECT_MAP_BASE || a - ARCH_DIRECT_MAP_BASE >= env_phys_end)
        return MM_PHYS_INVALID;
    return (phys_addr_t)(a - ARCH_DIRECT_MAP_BASE);
}

/* Drop every TLB entry, global ones included (a CR3 reload alone keeps those). */
static void tlb_flush_all(void)
{
    unsigned long flags = arch_irq_save(), cr4, cr3;
    __asm__ __volatile__("mov %%cr4, %0" : "=r"(cr4));
    if (cr4 & X86_CR4_PGE) {
        __asm__ __volatile__("mov %0, %%cr4" : : "r"(cr4 & ~X86_CR4_PGE) : "memory");
        __asm__ __volatile__("mov %0, %%cr4" : : "r"(cr4) : "memory");
    } else {
        __asm__ __volatile__("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
    }
    arch_irq_restore(flags);
}

static void tlb_flush_pages(uintptr_t start, uintptr_t end)
{
    start = MM_ALIGN_DOWN(start, PAGE_SIZE);
    if (end <= start)
        return;
    if ((end - start) / PAGE_SIZE > TLB_FLUSH_MAX_PAGES) {
        tlb_flush_all();
        return;
    }
    for (uintptr_t va = start; va < end; va += PAGE_SIZE)
        arch_invlpg(va);
}

/* A shootdown's work on the receiving CPU (runs in its IPI handler or a wait loop). */
static void tlb_flush_remote(void *range)
{
    const uintptr_t *r = range; /* { start, end } */
    tlb_flush_pages(r[0], r[1]);
}

void env_tlb_flush_range(uintptr_t start, uintptr_t end)
{
    __atomic_add_fetch(&env_tlb_flushes, 1, __ATOMIC_RELAXED);
    tlb_flush_pages(start, end);
    smp_tlb_shootdown(start, end, tlb_flush_remote);
}

unsigned long machine_tlb_flush_count(void) { return __atomic_load_n(&env_tlb_flushes, __ATOMIC_RELAXED); }

/* ---- the vmalloc window ---- */

void env_vmalloc_range(uintptr_t *start, uintptr_t *end)
{
    *start = (uintptr_t)ARCH_VMALLOC_START;
    *end = (uintptr_t)(ARCH_VMALLOC_START + KERNEL_VMALLOC_SIZE);
}

/* Precondition of both calls: [va, va+size) lies in the window, page aligned. */
static void vmalloc_window_check(uintptr_t va, size_t size, const char *func)
{
    uintptr_t base = (uintptr_t)ARCH_VMALLOC_START;
    if (va < base || size > KERNEL_VMALLOC_SIZE || va - base > KERNEL_VMALLOC_SIZE - size ||
        !MM_IS_ALIGNED(va | size, PAGE_SIZE))
        env_panic("kernel: %s(0x%lx, %zu) outside the vmalloc window", func, (unsigned long)va,
                  size);
}

void env_kernel_map(uintptr_t va, phys_addr_t pa, size_t size, bool writable)
{
    vmalloc_window_check(va, size, __func__);
    if (pa > env_phys_end || size > env_phys_end - pa || !MM_IS_ALIGNED(pa, PAGE_SIZE))
        env_panic("kernel: env_kernel_map of pa 0x%llx+%zu outside the machine",
                  (unsigned long long)pa, size);
    for (size_t off = 0; off < size; off += PAGE_SIZE) {
        if (kernel_kmap_set(va + off, pa + off, writable))
            env_panic("kernel: cannot map pa 0x%llx at 0x%lx", (unsigned long long)(pa + off),
                      (unsigned long)(va + off));
    }
    tlb_flush_pages(va, va + size); /* not counted: hosted maps without a flush call */
    env_spin_lock(&vmalloc_extent_lock);
    machine_range_extend(&vmalloc_lo, &vmalloc_hi, va, va + size);
    env_spin_unlock(&vmalloc_extent_lock);
}

void env_kernel_unmap(uintptr_t va, size_t size)
{
    vmalloc_window_check(va, size, __func__);
    for (size_t off = 0; off < size; off += PAGE_SIZE)
        if (kernel_kmap_clear(va + off))
            env_panic("kernel: cannot unmap 0x%lx", (unsigned long)(va + off));
    env_tlb_flush_range(va, va + size);
}

void env_kernel_unmap_strict(uintptr_t va, size_t size)
{
    env_kernel_unmap(va, size); /* the kernel's unmap is immediate already */
}

static kernel_probe_fn_t kernel_probe_hook;

void kernel_probe_set(kernel_probe_fn_t probe) { kernel_probe_hook = probe; }

/* The #PF handler has shown the fault to the mm already (trap.c). */
bool machine_kernel_probe(void (*fn)(void *arg), void *arg, uintptr_t *addr)
{
    if (!kernel_probe_hook)
        env_panic("kernel: machine_kernel_probe before kmain set the probe");
    return kernel_probe_hook(fn, arg, addr);
}

void kernel_vmalloc_reset(void)
{
    if (vmalloc_lo >= vmalloc_hi)
        return;
    for (uintptr_t va = vmalloc_lo; va < vmalloc_hi; va += PAGE_SIZE)
        kernel_kmap_clear(va);
    tlb_flush_pages(vmalloc_lo, vmalloc_hi);
    vmalloc_lo = vmalloc_hi = 0;
}

/* ---- swap device storage: RAM-backed slots (a stand-in until a block driver exists) ---- */

/* 16 MiB: the unit tests' swap machines have 4096 slots; the vm fuzz target asks for <= 512. */
#define KERNEL_SWAP_CAPACITY 4096ul

static uint8_t kernel_swap[KERNEL_SWAP_CAPACITY][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

unsigned char *machine_swap_storage(unsigned long slots, unsigned long old_slots)
{
    if (slots > KERNEL_SWAP_CAPACITY)
        return NULL;
    memset(kernel_swap, 0, old_slots * PAGE_SIZE); /* only these slots were written */
    return kernel_swap[0];
}

/*
 * Protection-key rights (mm_env.h): recorded per CPU, and loaded into the CPU when the boot set
 * CR4.PKS (WRMSR IA32_PKRS, 0x6E1) / CR4.PKE (WRPKRU). Without them (a CPU lacking PKS/PKU)
 * WRMSR would #GP and WRPKRU #UD, so the values are only recorded: the keys stay in the PTEs
 * and the domains are not enforced by the hardware.
 */
static uint32_t kernel_pkr[MM_MAX_CPUS][2];

void env_pkey_set_rights(uint32_t pkrs, uint32_t pkru)
{
    unsigned int cpu = env_cpu_id();
    uint64_t cr4;
    __atomic_store_n(&kernel_pkr[cpu][0], pkrs, __ATOMIC_RELAXED);
    __atomic_store_n(&kernel_pkr[cpu][1], pkru, __ATOMIC_RELAXED);
    __asm__ __volatile__("mov %%cr4, %0" : "=r"(cr4));
    if (cr4 & CR4_PKS)
        __asm__ __volatile__("wrmsr" : : "c"(MSR_IA32_PKRS), "a"(pkrs), "d"(0u) : "memory");
    if (cr4 & CR4_PKE)
        __asm__ __volatile__(".byte 0x0f, 0x01, 0xef" : : "a"(pkru), "c"(0u), "d"(0u) : "memory");
}
