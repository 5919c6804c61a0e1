/*
 * machine.h - the machine API both builds share: describe a machine, boot the mm on it, its CPUs
 * and swap device. The hosted build simulates it (shims/hosted, below); the kernel implements the
 * same calls on the real machine (shims/kernel/machine_kernel.c), so tests and fuzz targets run
 * unchanged in both.
 *
 * Physical memory is one shared mapping of a memfd (the arena), reserved lazily (MAP_NORESERVE)
 * so multi-GiB layouts cost only what is touched; physical address pa lives at arena + pa, and
 * vmalloc/vmap alias arena pages into a reserved range (env_kernel_map). The machine
 * is described by an e820-style map (holes and reserved ranges allowed). CPUs (cpu.c) are ids:
 * by default one thread plays them all and the current CPU is a thread-local value that tests and
 * fuzz ops switch; machine_smp_run runs one thread per CPU with real locks and cross-CPU calls;
 * machine_sched_run runs the same threads one at a time, interleaved as a schedule says.
 *
 * Under ASan the whole arena is poisoned when a machine boots; the mm unpoisons what it hands out
 * and poisons what it takes back, so a touch of a free page is an ASan report.
 */
#ifndef LEAXOS_MACHINE_H
#define LEAXOS_MACHINE_H

#include "mm.h"
#include "numa.h"

/** TLB replacement of the hosted machine's CPUs (shims/hosted/tlb.c; the kernel ignores it). */
enum machine_tlb_policy {
    MACHINE_TLB_FIFO = 0,   /* fully associative, round-robin replacement */
    MACHINE_TLB_DIRECT = 1, /* direct-mapped: slot = virtual page number % entries */
};

struct machine {
    struct mm_mem_region map[MM_MAX_MEM_REGIONS];
    unsigned int nr_map;
    struct mm_mem_region reserve[16];
    unsigned int nr_reserve;
    phys_addr_t zone_dma_end;     /* 0: arch default */
    phys_addr_t zone_normal_end;  /* 0: arch default */
    unsigned int nr_cpus;
    unsigned int pcp_batch, pcp_high;
    bool pcp_disable;
    bool slab_hardened;
    unsigned int slab_harden_level; /* MM_SLAB_HARDEN_* (mm.h); 0: slab_hardened ? full : off */
    uint64_t seed;
    unsigned long swap_slots;     /* page-sized slots of the swap device (0: no swap) */
    unsigned int tlb_entries;     /* per-CPU TLB entries, 1 .. MACHINE_TLB_MAX_ENTRIES (0: default) */
    enum machine_tlb_policy tlb_policy;
    unsigned int kfence_interval; /* mm_boot_params.kfence_interval: 1 in N sampled, 0 = off */
    uint32_t trace_mask;          /* mm trace classes enabled from boot (mm_trace.h; 0: none) */
    bool page_owner;              /* mm_boot_params.page_owner: page blocks get age stamps */
    bool slab_owner;              /* mm_boot_params.slab_owner: unhardened slab objects too */
    struct mm_numa_topology numa; /* nodes, their ranges, CPUs, distances (numa.h); nr_nodes 0:
                                     one node owning everything */
};

/**
 * A machine of @mem_bytes with the seed's zone boundaries: usable RAM from 0 with the legacy hole
 * 640 KiB..1 MiB and the first page reserved (like a PC), @nr_cpus CPUs.
 */
void machine_pc(struct machine *m, uint64_t mem_bytes, unsigned int nr_cpus);

/**
 * A small machine of @mem_bytes with zone boundaries scaled down in proportion (DMA = 1/16 of
 * memory, NORMAL up to 7/8), for fuzzing and tests where exhaustion must be reachable.
 */
void machine_small(struct machine *m, uint64_t mem_bytes, unsigned int nr_cpus);

/** Append a region to the map (or the reserve list when @reserve_list). Returns 0 or -1 if full. */
int machine_add(struct machine *m, phys_addr_t base, uint64_t size, uint32_t type,
                       bool reserve_list);

/**
 * Boot the mm on @m: make the arena cover the map, poison it, set CPU 0 current, then run
 * mm_init. Resets any earlier instance. Returns mm_init's result (-MM_ENOMEM if the arena cannot
 * be mapped).
 */
int machine_boot(const struct machine *m);

/** Same as boot, but only mm_early_init (for early-allocator tests); mm_core_init is left to the caller. */
int machine_boot_early(const struct machine *m);

/**
 * Replace the swap device by @slots zeroed page-sized slots (0: no device). Memory comes from
 * libc, outside the arena. Boot calls it with the machine's swap_slots. Returns 0 or -MM_ENOMEM
 * (then the machine has no swap).
 */
int machine_swap_reset(unsigned long slots);

/** Make the next @count swap device reads or writes fail with -MM_EIO (a knob for tests). */
void machine_swap_fail_inject(unsigned long count);

/**
 * Is the byte at @p poisoned in the sanitizer shadow (ASan hosted, KASAN in the hardened kernel)?
 * False when there is no shadow (env_shadow_enabled false). For tests of what the mm poisons.
 */
bool machine_shadow_poisoned(const void *p);

/** Switch the simulated current CPU of the calling thread. */
void machine_cpu_set(unsigned int cpu);
unsigned int machine_cpu_get(void);

/**
 * Threaded mode: run fn(cpu, arg) on one new thread per CPU of the booted machine (thread i is
 * CPU i, interrupts on) and return when every one has returned; until then a finished CPU still
 * takes cross-CPU calls. The calling thread is no CPU meanwhile. Returns 0.
 */
int machine_smp_run(void (*fn)(unsigned int cpu, void *arg), void *arg);

/** What a scheduled run did (machine_sched_run): a function of the mm's code and the schedule. */
struct machine_sched_stats {
    unsigned long points;       /* preemption points offered */
    unsigned long switches;     /* baton passes to another CPU */
    unsigned long waits;        /* points at which the holder could not go on (lock, call, ...) */
    uint64_t trace;             /* hash of the sequence of CPUs the baton went to */
};

/**
 * Scheduled mode: as machine_smp_run (thread i is CPU i, real cross-CPU calls), but the CPUs run
 * one at a time and @sched (@len bytes, may be NULL) picks which one runs at each preemption point
 * (cpu.c says how), so the same bytes give the same interleaving on every run. Ends when every
 * CPU's fn has returned and no call is pending; panics on a deadlock. Returns 0.
 */
int machine_sched_run(void (*fn)(unsigned int cpu, void *arg), void *arg, const uint8_t *sched,
                     size_t len);

/** Make every env_atomic_* op of the mm a preemption point in the scheduled runs that follow
 * (@on), or not (the default): the schedule then interleaves lock-free code op by op. */
void machine_sched_set_atomics(bool on);

/** The statistics of the last (or running) scheduled run. */
void machine_sched_get_stats(struct machine_sched_stats *st);

/** Is machine_smp_run or machine_sched_run in progress? */
bool machine_smp_active(void);

/**
 * Threaded mode: park until every CPU has arrived, taking cross-CPU calls meanwhile (interrupts
 * must be on). Everything every CPU did before it happens before what any CPU does after it.
 */
void machine_smp_barrier(void);

/** Cross-CPU calls delivered to another CPU's thread since the process started. */
unsigned long machine_ipi_count(void);

/** Threaded mode: an interrupt window: take a pending cross-CPU call now if interrupts are on. */
void machine_cpu_poll(void);

/** Highest log level printed (default ENV_LOG_WARN); -1 silences everything. */
void machine_set_log_level(int level);

/** Number of env_panic calls survived when a panic hook is set (tests). */
typedef void (*machine_panic_hook_t)(const char *msg);
/** Replace abort() on env_panic with @hook (which must not return normally, e.g. longjmp). */
void machine_set_panic_hook(machine_panic_hook_t hook);

/**
 * Run fn(arg) as kernel code that may fault on a kernel address (a KFENCE guard page or freed
 * object, an unmapped vmalloc page). Returns true if it faulted (*@addr, may be NULL, = the
 * faulting address; execution resumes here), false if fn returned. The fault is shown to the mm
 * (kfence_handle_fault) as the kernel's #PF handler shows it. Hosted: a SIGSEGV/SIGBUS handler
 * around the call and siglongjmp; kernel: kernel_probe (arch/x86_64/kernel/trap.c).
 */
bool machine_kernel_probe(void (*fn)(void *arg), void *arg, uintptr_t *addr);

/** Base of the arena (physical address 0) and its mapped length. */
void *machine_arena_base(void);
uint64_t machine_arena_size(void);

/** Number of env_tlb_flush_range calls since the machine booted (a recording shim). */
unsigned long machine_tlb_flush_count(void);

/**
 * Hosted only (the post-mortem tool): make the arena an empty, accessible [0, @bytes) with
 * @nr_cpus CPUs and no mm booted, for a dump's pages to be loaded into, and reserve the vmalloc
 * range at @vmalloc_at if it can (*@vmalloc_ok: it is there; false for a kernel address or an
 * address in use). Returns 0 or -MM_ENOMEM.
 */
int machine_arena_load(uint64_t bytes, unsigned int nr_cpus, uintptr_t vmalloc_at,
                       bool *vmalloc_ok);

#endif /* LEAXOS_MACHINE_H */
