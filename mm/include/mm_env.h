/*
 * mm_env.h - the environment contract: the only door through which mm/ reaches the world.
 *
 * mm/ owns this declaration; shims/hosted/ (libc, pthreads, the simulated machine, ASan) and
 * shims/kernel/ (freestanding) each implement it, and the implementation is chosen at link time.
 * Each function states its preconditions beside it. Atomics and barriers are compiler builtins,
 * so they are inline here; everything else is an out-of-line call into the shim.
 *
 * mem* routines: mm/ calls memset/memcpy/memmove/memcmp (directly or through the compiler);
 * hosted they come from libc, in the kernel from shims/kernel/string.c.
 */
#ifndef LEAXOS_MM_ENV_H
#define LEAXOS_MM_ENV_H

#include "mm_common.h"

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* ---- locks ---- */

/**
 * A spinlock. Zero-initialised means unlocked. Not recursive. The shims write owner_cpu with
 * atomic stores: 1 + the id of the CPU that holds it, 0 while it is free (cleared before the
 * release), so a CPU can ask whether it holds a lock (env_spin_held) without a race.
 */
typedef struct env_spinlock {
    volatile unsigned int locked;
    unsigned int owner_cpu; /* 1 + holder's CPU id, 0 when free */
    unsigned int irq_ctx;   /* the shims' lock validator: ENV_LOCK_* seen so far (atomic OR) */
} env_spinlock_t;

/* How a lock has been used, as the shims' validator records it (Linux lockdep's irq-safe and
 * irq-unsafe usage, per lock instance). A lock taken, spinning, inside a cross-CPU call
 * (ENV_LOCK_IN_CALL) must never be held with interrupts on (ENV_LOCK_IRQ_ON): the call can arrive
 * while its own CPU holds the lock and would then spin forever. The validator panics when a lock
 * has shown both, at whichever use comes second, so the single-threaded runs see the deadlock that
 * needs a real IPI at the wrong instruction to happen. */
#define ENV_LOCK_IN_CALL 1u
#define ENV_LOCK_IRQ_ON  2u

/** Take @l, spinning. Precondition: the caller does not already hold @l. */
void env_spin_lock(env_spinlock_t *l);
/** Take @l if it is free; true if taken. Never spins. */
bool env_spin_trylock(env_spinlock_t *l);
/** Release @l. Precondition: the caller holds @l. */
void env_spin_unlock(env_spinlock_t *l);

/**
 * Disable interrupts (kernel) / delivery of simulated cross-CPU calls (hosted) on this CPU and
 * return the previous state for env_irq_restore. Per-CPU data is touched only between the two.
 */
unsigned long env_irq_save(void);
void env_irq_restore(unsigned long flags);

/* ---- CPUs ---- */

/** Id of the CPU the caller runs on, in [0, nr_cpus). Stable between irq_save and restore. */
unsigned int env_cpu_id(void);

/** Does the calling CPU hold @l? (Another CPU's hold reads as false; no race: see owner_cpu.) */
static inline bool env_spin_held(const env_spinlock_t *l)
{
    return __atomic_load_n(&l->owner_cpu, __ATOMIC_RELAXED) == env_cpu_id() + 1;
}

/** Is @l held by any CPU? Meaningful only when no CPU can take or release it (quiescence). */
static inline bool env_spin_is_locked(const env_spinlock_t *l)
{
    return __atomic_load_n(&l->locked, __ATOMIC_RELAXED) != 0;
}

/**
 * Run fn(arg) on CPU @cpu with its interrupts disabled and wait until it returned (an IPI in the
 * kernel and on the threaded hosted machine, where the target takes it at its next interrupt
 * window; a switch of the simulated current CPU on the single-threaded one). Preconditions:
 * cpu < nr_cpus; the caller holds no spinlock that fn takes; the caller's interrupts are on when
 * @cpu is another CPU (two CPUs calling each other with interrupts off would wait forever: the
 * threaded hosted machine panics instead).
 */
void env_cpu_call(unsigned int cpu, void (*fn)(void *arg), void *arg);

/**
 * A preemption point: the scheduled hosted machine (machine_sched_run) may let another CPU run
 * here, as the schedule it replays says; everywhere else (the kernel, the other hosted modes) it
 * does nothing. mm/ may call it in long loops; env_spin_lock, env_spin_trylock and
 * env_irq_restore are preemption points already. Any context, locks held or not.
 */
void env_sched_point(void);

/* ---- atomics and barriers (compiler builtins) ---- */

/**
 * Set by the shims only while the scheduled hosted machine runs with atomic preemption points
 * (machine_sched_set_atomics): every env_atomic_* op below is then also an env_sched_point, so a
 * schedule can interleave lock-free code op by op. Always false in the kernel and every other
 * mode, where the cost is one load and a branch not taken.
 */
extern bool env_sched_atomics;
static inline void env_atomic_point(void)
{
    if (__builtin_expect(env_sched_atomics, 0))
        env_sched_point();
}

/* Quiet variants, for observers only (the trace rings): never a preemption point, so turning an
 * observer on does not change the interleaving a schedule replays (a traced replay of an smp
 * crash takes the same path as the crash). The ops below are these plus the point. */
#define env_atomic_load_quiet(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define env_atomic_store_quiet(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define env_atomic_add_quiet(p, v)   __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define env_atomic_load(p)          ({ env_atomic_point(); env_atomic_load_quiet(p); })
#define env_atomic_store(p, v)      ({ env_atomic_point(); env_atomic_store_quiet((p), (v)); })
#define env_atomic_add(p, v)        ({ env_atomic_point(); env_atomic_add_quiet((p), (v)); })
#define env_atomic_sub(p, v)        ({ env_atomic_point(); __atomic_sub_fetch((p), (v), __ATOMIC_RELAXED); })
#define env_atomic_xchg(p, v)       ({ env_atomic_point(); __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL); })
#define env_atomic_cmpxchg(p, o, n) ({ env_atomic_point(); \
    __atomic_compare_exchange_n((p), (o), (n), false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED); })
/* Ordered variants, for publication and for dropping shared references: each use says what it
 * orders against what. */
#define env_atomic_load_acquire(p)     ({ env_atomic_point(); __atomic_load_n((p), __ATOMIC_ACQUIRE); })
#define env_atomic_store_release(p, v) ({ env_atomic_point(); __atomic_store_n((p), (v), __ATOMIC_RELEASE); })
#define env_atomic_sub_acq_rel(p, v)   ({ env_atomic_point(); __atomic_sub_fetch((p), (v), __ATOMIC_ACQ_REL); })
#define env_mb()                    __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define env_rmb()                   __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define env_wmb()                   __atomic_thread_fence(__ATOMIC_RELEASE)
#define env_barrier()               __asm__ __volatile__("" ::: "memory")

/* ---- console ---- */

/** Log levels, as Linux's KERN_* (0 = emergency ... 7 = debug). */
enum env_log_level {
    ENV_LOG_EMERG = 0, ENV_LOG_ALERT, ENV_LOG_CRIT, ENV_LOG_ERR,
    ENV_LOG_WARN, ENV_LOG_NOTICE, ENV_LOG_INFO, ENV_LOG_DEBUG,
};

/** Print one formatted message at @level. May be called with spinlocks held; never allocates. */
void env_log(int level, const char *fmt, ...) MM_PRINTF(2, 3);
void env_vlog(int level, const char *fmt, va_list ap);

/** Report an unrecoverable state and stop. Never returns. */
_Noreturn void env_panic(const char *fmt, ...) MM_PRINTF(1, 2);

/* ---- physical <-> virtual ---- */

/**
 * Kernel virtual address of physical address @pa in the direct map. Precondition: @pa lies
 * inside the memory map the mm was booted with (or is one past its end).
 */
void *env_phys_to_virt(phys_addr_t pa);

/** Physical address of direct-map address @va, or MM_PHYS_INVALID if @va is not in the direct map. */
phys_addr_t env_virt_to_phys(const void *va);

/**
 * Invalidate cached translations of virtual range [start, end), user or kernel, in every address
 * space, on every CPU: the caller's at once and every other CPU's by a shootdown, done before the
 * call returns. Call it after narrowing a present translation (clearing it, changing its frame,
 * dropping write, user or execute, clearing PTE_A for second chance) and before the old frame
 * may be reused; widening one (not present -> present, read-only -> writable on the same frame)
 * needs none: the faulting CPU refetches. The hosted machine's TLB model reports an access served
 * from an entry the tables no longer grant as a missing flush.
 */
void env_tlb_flush_range(uintptr_t start, uintptr_t end);

/* ---- kernel virtual mappings (vmalloc / vmap) ---- */

/** The kernel virtual range vmalloc and vmap may use: [*start, *end), page aligned, non-empty. */
void env_vmalloc_range(uintptr_t *start, uintptr_t *end);

/**
 * The mm has written kernel PTEs mapping [va, va+size) to [pa, pa+size) (page aligned; @pa lies
 * in the memory map). Make the mapping usable by the CPU: the hosted machine aliases its arena
 * there, so a touch of an unmapped guard page still faults; the LeaxOS kernel writes the same
 * leaves into the page table the CPU uses (built at boot; every mm instance a test boots keeps
 * its own table of the vmalloc range, which is what the mm's checks walk).
 */
void env_kernel_map(uintptr_t va, phys_addr_t pa, size_t size, bool writable);

/** The mm has cleared the kernel PTEs of [va, va+size): drop the mapping and its TLB entries. */
void env_kernel_unmap(uintptr_t va, size_t size);

/**
 * As env_kernel_unmap, but every later access to [va, va+size) faults at once in every build
 * (the hosted machine otherwise leaves an ASan build's stale alias to the shadow): KFENCE pages,
 * whose use-after-free must fault, not be caught by a sanitizer only.
 */
void env_kernel_unmap_strict(uintptr_t va, size_t size);

/* ---- sanitizer hooks ---- */

/** Why memory is poisoned; a sanitizer may show it in a report. */
enum env_poison_kind {
    ENV_POISON_FREE_PAGE = 1, /* page in the buddy allocator or on a per-CPU list */
    ENV_POISON_UNUSED,        /* memory never handed out (early allocator, holes) */
    ENV_POISON_REDZONE,       /* guard bytes around an object */
    ENV_POISON_FREE_OBJECT,   /* a freed slab object */
    ENV_POISON_METADATA,      /* allocator-private data inside managed memory */
};

/**
 * True when env_poison/env_unpoison have an effect (a sanitizer shadow exists). The mm skips the
 * calls on hot paths when it is false. Set by the shim before mm_early_init, never changed after.
 */
extern const bool env_shadow_enabled;

/** Make [addr, addr+size) inaccessible to checked code. @addr and @size are 8-byte aligned. */
void env_poison(const void *addr, size_t size, enum env_poison_kind kind);
/** Make [addr, addr+size) accessible again. */
void env_unpoison(const void *addr, size_t size);

/* ---- swap device ---- */

/**
 * Number of page-sized slots of the machine's swap device; 0 means the machine has no swap.
 * Constant between two boots of the mm.
 */
unsigned long env_swap_slots(void);

/**
 * Copy the PAGE_SIZE bytes at @page into slot @slot. Precondition: @page is a direct-map page.
 * Returns 0, -MM_EINVAL (slot >= env_swap_slots()) or -MM_EIO (device error).
 */
int env_swap_write(unsigned long slot, const void *page);

/** Copy slot @slot into the PAGE_SIZE bytes at @page. Returns as env_swap_write. */
int env_swap_read(unsigned long slot, void *page);

/* ---- time ---- */

/**
 * A monotonic clock for traces and report ordering. Hosted it is a logical counter, so runs stay
 * a function of their input; it must never drive allocation decisions.
 */
uint64_t env_trace_clock(void);

/* ---- protection keys ---- */

/**
 * Load the calling CPU's protection-key rights registers: @pkrs (supervisor pages; the PKRS MSR)
 * and @pkru (user pages; WRPKRU), each two bits per key (arch_pgtable.h PKR_AD / PKR_WD). The
 * hosted machine's MMU checks every access against them; the kernel writes the registers when
 * the CPU has PKS / PKU enabled and only records the values otherwise. Any context; takes effect
 * for the next access of this CPU (no TLB flush: keys are checked on every access).
 */
void env_pkey_set_rights(uint32_t pkrs, uint32_t pkru);

#endif /* LEAXOS_MM_ENV_H */
