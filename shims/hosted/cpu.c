/*
 * cpu.c - the simulated CPUs of the hosted machine: which CPU the caller is, its interrupt state,
 * spinlocks and cross-CPU calls (IPIs), in two modes.
 *
 * Single-threaded (the default: fuzz targets, unit tests, replay). One thread plays every CPU:
 * the current CPU is a thread-local id the driver switches (hosted_cpu_set), env_cpu_call switches
 * it to the target, runs fn and switches back, and nothing interrupts a CPU. Runs are a function
 * of their input; this mode behaves exactly as it did before the threaded one existed.
 *
 * Threaded (hosted_smp_run). One pthread per CPU; thread i is CPU i for its whole life.
 * Spinlocks are real test-and-set locks (__atomic, acquire/release). env_cpu_call posts fn to the
 * target CPU's mailbox and waits. A CPU takes a posted call only in an interrupt window: with its
 * interrupts on, when it re-enables them (env_irq_restore), spins on a lock, waits for its own
 * cross-CPU call, parks at hosted_smp_barrier, or calls hosted_cpu_poll; a CPU whose thread has
 * returned keeps taking calls until every CPU has returned. So a CPU inside
 * env_irq_save..env_irq_restore sees its per-CPU data change only through itself.
 *
 * Invariants: a mailbox holds at most one call (a sender owns it from posting to completion); a
 * call runs with the target's interrupts off; no CPU waits for another CPU's call with its own
 * interrupts off (two such CPUs would wait for each other forever, as on hardware: it panics);
 * owner_cpu of a lock is 1 + its holder's id while held, 0 while free (mm_env.h).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "hosted_internal.h"

static __thread unsigned int hosted_current_cpu;
static __thread bool hosted_irq_off;

/* Written by the driver thread only before the CPU threads start and after they are joined
 * (pthread_create/join order those writes against every CPU's reads). */
static bool hosted_threaded;
static unsigned int hosted_smp_nr;

/* One cross-CPU call slot per CPU. */
struct hosted_mailbox {
    unsigned int busy;              /* a sender owns the slot (acquire/release) */
    void (*fn)(void *arg);          /* the posted call, NULL when none (release/acquire) */
    void *arg;                      /* written before fn is published, read after it is seen */
    unsigned int done;              /* the call returned (release/acquire) */
} MM_CACHE_ALIGNED;

static struct hosted_mailbox hosted_mbox[MM_MAX_CPUS];
static unsigned int hosted_smp_finished;     /* CPU threads whose function returned */
static unsigned int hosted_barrier_count, hosted_barrier_gen;
static unsigned long hosted_ipis;            /* cross-CPU calls delivered to another thread */

/* ---- interrupt windows ---- */

void hosted_cpu_poll(void)
{
    if (!hosted_threaded || hosted_irq_off)
        return;
    struct hosted_mailbox *m = &hosted_mbox[hosted_current_cpu];
    void (*fn)(void *) = __atomic_load_n(&m->fn, __ATOMIC_ACQUIRE);
    if (!fn)
        return;
    void *arg = m->arg;
    __atomic_store_n(&m->fn, NULL, __ATOMIC_RELAXED);
    hosted_irq_off = true;
    fn(arg);
    hosted_irq_off = false;
    __atomic_store_n(&m->done, 1u, __ATOMIC_RELEASE); /* fn's writes before the sender goes on */
}

/* One turn of a wait loop: take a pending call if interrupts allow, then give the core away
 * (this machine has fewer cores than simulated CPUs). */
static void cpu_wait_relax(void)
{
    hosted_cpu_poll();
    __builtin_ia32_pause();
    if (hosted_threaded)
        sched_yield();
}

unsigned long env_irq_save(void)
{
    bool was_off = hosted_irq_off;
    hosted_irq_off = true;
    return was_off;
}

void env_irq_restore(unsigned long flags)
{
    hosted_irq_off = flags != 0;
    if (!flags)
        hosted_cpu_poll();
}

/* ---- spinlocks ---- */

void env_spin_lock(env_spinlock_t *l)
{
    unsigned int me = hosted_current_cpu + 1;
    while (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE)) {
        if (hosted_threaded && __atomic_load_n(&l->owner_cpu, __ATOMIC_RELAXED) == me)
            env_panic("spinlock %p taken again by CPU %u, which holds it", (void *)l, me - 1);
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            cpu_wait_relax();
    }
    __atomic_store_n(&l->owner_cpu, me, __ATOMIC_RELAXED);
}

bool env_spin_trylock(env_spinlock_t *l)
{
    if (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE))
        return false;
    __atomic_store_n(&l->owner_cpu, hosted_current_cpu + 1, __ATOMIC_RELAXED);
    return true;
}

void env_spin_unlock(env_spinlock_t *l)
{
    if (hosted_threaded &&
        __atomic_load_n(&l->owner_cpu, __ATOMIC_RELAXED) != hosted_current_cpu + 1)
        env_panic("spinlock %p released by CPU %u, which does not hold it", (void *)l,
                  hosted_current_cpu);
    __atomic_store_n(&l->owner_cpu, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&l->locked, 0u, __ATOMIC_RELEASE);
}

/* ---- CPU ids and cross-CPU calls ---- */

unsigned int env_cpu_id(void) { return hosted_current_cpu; }

void hosted_cpu_set(unsigned int cpu)
{
    unsigned int n = mm_nr_cpus();
    hosted_current_cpu = cpu < n ? cpu : cpu % n;
}

unsigned int hosted_cpu_get(void) { return hosted_current_cpu; }

static void cpu_call_remote(unsigned int cpu, void (*fn)(void *arg), void *arg)
{
    struct hosted_mailbox *m = &hosted_mbox[cpu];
    unsigned int free_ = 0;
    while (!__atomic_compare_exchange_n(&m->busy, &free_, 1u, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        free_ = 0;
        cpu_wait_relax();
    }
    m->arg = arg;
    __atomic_store_n(&m->done, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&m->fn, fn, __ATOMIC_RELEASE); /* arg and done before the target sees fn */
    while (!__atomic_load_n(&m->done, __ATOMIC_ACQUIRE))
        cpu_wait_relax();
    __atomic_store_n(&m->busy, 0u, __ATOMIC_RELEASE);
    __atomic_add_fetch(&hosted_ipis, 1ul, __ATOMIC_RELAXED);
}

unsigned long hosted_ipi_count(void) { return __atomic_load_n(&hosted_ipis, __ATOMIC_RELAXED); }

void env_cpu_call(unsigned int cpu, void (*fn)(void *arg), void *arg)
{
    if (!hosted_threaded) {
        unsigned int saved = hosted_current_cpu;
        hosted_current_cpu = cpu;
        fn(arg);
        hosted_current_cpu = saved;
        return;
    }
    if (cpu == hosted_current_cpu) {
        unsigned long irq = env_irq_save();
        fn(arg);
        env_irq_restore(irq);
        return;
    }
    if (hosted_irq_off)
        env_panic("env_cpu_call to CPU %u from CPU %u with interrupts off", cpu, hosted_current_cpu);
    cpu_call_remote(cpu, fn, arg);
}

/* ---- threaded mode ---- */

struct smp_thread {
    pthread_t thread;
    unsigned int cpu;
    void (*fn)(unsigned int cpu, void *arg);
    void *arg;
};

static void *smp_thread_main(void *p)
{
    struct smp_thread *t = p;
    hosted_current_cpu = t->cpu;
    hosted_irq_off = false;
    t->fn(t->cpu, t->arg);
    if (hosted_irq_off)
        env_panic("CPU %u returned from hosted_smp_run with interrupts off", t->cpu);
    __atomic_add_fetch(&hosted_smp_finished, 1u, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&hosted_smp_finished, __ATOMIC_ACQUIRE) < hosted_smp_nr)
        cpu_wait_relax(); /* keep taking calls from CPUs still running */
    return NULL;
}

int hosted_smp_run(void (*fn)(unsigned int cpu, void *arg), void *arg)
{
    static struct smp_thread threads[MM_MAX_CPUS];
    unsigned int n = mm_nr_cpus(), started = 0;
    hosted_smp_nr = n;
    hosted_smp_finished = 0;
    hosted_barrier_count = hosted_barrier_gen = 0;
    for (unsigned int i = 0; i < n; i++)
        hosted_mbox[i] = (struct hosted_mailbox){ 0 };
    hosted_threaded = true;
    for (; started < n; started++) {
        threads[started] = (struct smp_thread){ .cpu = started, .fn = fn, .arg = arg };
        if (pthread_create(&threads[started].thread, NULL, smp_thread_main, &threads[started]))
            env_panic("hosted_smp_run: cannot start the thread of CPU %u", started);
    }
    for (unsigned int i = 0; i < started; i++)
        pthread_join(threads[i].thread, NULL);
    hosted_threaded = false;
    return 0;
}

bool hosted_smp_active(void) { return hosted_threaded; }

/* Sense-reversing barrier: the last CPU to arrive opens the next generation. Every CPU's writes
 * before the barrier happen before every CPU's reads after it (the acq_rel count chain, then the
 * release of gen against each waiter's acquire). */
void hosted_smp_barrier(void)
{
    if (hosted_irq_off)
        env_panic("CPU %u parks at a barrier with interrupts off", hosted_current_cpu);
    unsigned int gen = __atomic_load_n(&hosted_barrier_gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&hosted_barrier_count, 1u, __ATOMIC_ACQ_REL) == hosted_smp_nr) {
        __atomic_store_n(&hosted_barrier_count, 0u, __ATOMIC_RELAXED);
        __atomic_store_n(&hosted_barrier_gen, gen + 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&hosted_barrier_gen, __ATOMIC_ACQUIRE) == gen)
        cpu_wait_relax();
}

void hosted_cpu_reset(void)
{
    hosted_current_cpu = 0;
    hosted_irq_off = false;
}
