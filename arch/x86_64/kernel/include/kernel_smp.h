/*
 * kernel_smp.h - the kernel's CPUs (arch/x86_64/kernel/smp.c): per-CPU data, the application
 * processors started from the ACPI MADT, cross-CPU calls by LAPIC IPI, and concurrent runs.
 *
 * Per-CPU data: each real CPU's GS base points at its struct kernel_percpu (set before anything
 * else runs on that CPU and never changed). env_cpu_id reads percpu->cpu with one GS-relative load.
 * On the boot CPU outside a concurrent run, `cpu` is the simulated CPU the single-CPU tests switch
 * (machine_cpu_set); on an AP it is the AP's index and never changes.
 *
 * Concurrent mode (kernel_smp_run, between its start and its end): every online CPU runs the mm,
 * env_cpu_call to another CPU sends a LAPIC IPI and waits, env_tlb_flush_range shoots down the
 * range on every other online CPU. Outside it, only the boot CPU runs mm code and the APs sit
 * parked (interrupts on, hlt), so the single-CPU behaviour is unchanged.
 */
#ifndef LEAXOS_KERNEL_SMP_H
#define LEAXOS_KERNEL_SMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KERNEL_SMP_MAX_CPUS 8
#define KERNEL_IPI_VECTOR 0xf0      /* cross-CPU calls (fixed delivery) */
#define KERNEL_SPURIOUS_VECTOR 0xff /* LAPIC spurious interrupts: no EOI */
#define KERNEL_TIMER_VECTOR 0xef    /* the boot CPU's LAPIC timer (smp_timer_start) */

struct kernel_percpu {
    struct kernel_percpu *self; /* GS:0 */
    unsigned int cpu;           /* what env_cpu_id returns (see above) */
    unsigned int index;         /* this real CPU's index: 0 = boot CPU */
    uint32_t apic_id;
    unsigned int in_call;       /* cross-CPU calls this CPU is running (the lock validator) */
};

/** The calling CPU's per-CPU data field @field (a GS-relative load; volatile: may change). */
#define KERNEL_PERCPU_READ(field)                                                              \
    ({                                                                                         \
        unsigned int v_;                                                                       \
        __asm__ __volatile__("movl %%gs:%c1, %0"                                               \
                             : "=r"(v_)                                                        \
                             : "i"(offsetof(struct kernel_percpu, field)));                    \
        v_;                                                                                    \
    })
#define KERNEL_PERCPU_WRITE(field, v)                                                          \
    __asm__ __volatile__("movl %0, %%gs:%c1"                                                   \
                         :                                                                     \
                         : "r"((unsigned int)(v)), "i"(offsetof(struct kernel_percpu, field))  \
                         : "memory")

/** Point GS at the boot CPU's per-CPU data. First thing kmain does. */
void smp_init_boot_cpu(void);

/** Read the MADT (before the BIOS area is overwritten) and mask the legacy PIC. */
void smp_read_acpi(void);

struct mm_numa_topology;
/** The NUMA topology the ACPI SRAT (and SLIT) described, or NULL (none, or refused). */
const struct mm_numa_topology *smp_numa_topology(void);

/** The LAPIC's physical address (for the uncached mapping paging_build makes). */
uint64_t smp_lapic_phys(void);

/**
 * Enable the boot CPU's LAPIC, start up to @want CPUs in all (0: every CPU the MADT lists), each
 * reported "smp: CPU n (APIC id a) online" on the console. Runs after paging_build, before any
 * machine boots in the machine area (the trampoline lives at SMP_TRAMPOLINE_PA there). Returns
 * the number of CPUs online (>= 1).
 */
unsigned int smp_start_aps(unsigned int want);

/** CPUs online (the boot CPU included), and how many the MADT listed as enabled. */
unsigned int smp_nr_online(void);
unsigned int smp_nr_listed(void);

/** Is a concurrent run (kernel_smp_run) in progress? */
bool smp_active(void);

/**
 * Run fn(i, arg) on online CPUs 0..n-1 at once (the caller is CPU 0, interrupts on meanwhile), and
 * return when every one has returned; the APs then park again. n <= smp_nr_online(). The mm's
 * CPU ids equal the real indices meanwhile, so the booted machine must have n CPUs.
 */
void kernel_smp_run(unsigned int n, void (*fn)(unsigned int cpu, void *arg), void *arg);

/** Inside kernel_smp_run: wait until all n CPUs arrived (interrupts on: calls are taken). */
void kernel_smp_barrier(void);

/**
 * Inside kernel_smp_run: run fn(arg) on CPU @cpu with its interrupts off, by IPI, and wait. The
 * caller's interrupts must be on unless @flush (a TLB flush callback: it touches no mm state, so a
 * CPU waiting with interrupts off takes it too, see smp.c).
 */
void smp_call(unsigned int cpu, void (*fn)(void *arg), void *arg, bool flush);

/** Shoot down [start, end) on every other online CPU (concurrent mode only; IPIs counted). */
void smp_tlb_shootdown(uintptr_t start, uintptr_t end, void (*flush)(void *range));

/** While waiting with interrupts off: run a TLB flush posted to this CPU, if any. */
void smp_poll_flush(void);

/**
 * Concurrent mode, a spinlock found taken while the caller's interrupts are on: sleep (hlt) while
 * *@word is set, until smp_lock_released(@word) on another CPU or any interrupt wakes it; the
 * caller then tries again. Under TCG with more vCPUs than host cores, spinning took the host
 * time the holder needed. Interrupts are on again at return.
 */
void smp_lock_sleep(const volatile unsigned int *word);
/** After clearing lock word @word in concurrent mode: wake the CPUs asleep on it. */
void smp_lock_released(const volatile unsigned int *word);

/** The IPI handler (trap.c, vector KERNEL_IPI_VECTOR): run the posted call, EOI. */
void smp_ipi_handle(void);

/**
 * Run @tick from the boot CPU's LAPIC timer, periodically, every @count timer counts (bus clock
 * / 16), with interrupts off inside @tick. The caller is the boot CPU. smp_timer_stop masks the
 * timer again; smp_timer_handle is the vector's handler (trap.c) and acknowledges the interrupt.
 */
void smp_timer_start(uint32_t count, void (*tick)(void));
void smp_timer_stop(void);
void smp_timer_handle(void);

/** Cross-CPU calls delivered by IPI since boot (env_cpu_call and shootdowns). */
unsigned long smp_ipi_count(void);
unsigned long smp_shootdown_count(void);

/** Test hook for the break-the-code check: when set, shootdowns send no IPI (a planted bug). */
extern bool smp_skip_shootdown;

/** The boot-time SMP tests (smp_stress.c): suite_smp with several CPUs, else the skipped one. */
struct ktest_suite;
extern const struct ktest_suite suite_smp, suite_smp_one_cpu;

#endif /* LEAXOS_KERNEL_SMP_H */
