/*
 * cpu.c - the simulated CPUs of the hosted machine: which CPU the caller is, its interrupt state,
 * spinlocks and cross-CPU calls (IPIs), in two modes.
 *
 * Single-threaded (the default: fuzz targets, unit tests, replay). One thread plays every CPU:
 * the current CPU is a thread-local id the driver switches (machine_cpu_set), env_cpu_call switches
 * it to the target, runs fn and switches back, and nothing interrupts a CPU. Runs are a function
 * of their input; this mode behaves exactly as it did before the threaded one existed.
 *
 * Threaded (machine_smp_run). One pthread per CPU; thread i is CPU i for its whole life.
 * Spinlocks are real test-and-set locks (__atomic, acquire/release). env_cpu_call posts fn to the
 * target CPU's mailbox and waits. A CPU takes a posted call only in an interrupt window: with its
 * interrupts on, when it re-enables them (env_irq_restore), spins on a lock, waits for its own
 * cross-CPU call, parks at machine_smp_barrier, or calls machine_cpu_poll; a CPU whose thread has
 * returned keeps taking calls until every CPU has returned. So a CPU inside
 * env_irq_save..env_irq_restore sees its per-CPU data change only through itself.
 *
 * Scheduled (machine_sched_run). One pthread per CPU as in the threaded mode, but they run one at a
 * time: a baton (sched.turn, under sched.mu) names the only CPU whose thread may run; the others
 * sleep on sched.cv. Only the baton holder runs mm code, so a run is a function of the schedule
 * bytes and nothing else (no clock, no OS scheduler). The holder offers the baton at each
 * preemption point: env_spin_lock and env_spin_trylock before the attempt, every failed spin,
 * env_irq_restore, env_sched_point, every env_atomic_* op when the run asked for atomic points
 * (machine_sched_set_atomics), and every wait (own cross-CPU call, a busy mailbox, the
 * barrier). The next holder is chosen among the eligible CPUs by the next schedule byte b:
 * eligible[(b & 3) % n] gets the baton and keeps it for the next (b >> 2) points at which it is
 * still eligible. With the bytes used up the holder keeps the baton until it blocks, and then it
 * passes round-robin. Eligible: running; or waiting (spinning on a lock, on a call, on a mailbox,
 * at a barrier) when the word it waits on changed or, with its interrupts on, a call was posted to
 * it; or finished, with a call posted to it. A finished CPU drops out otherwise; when every CPU is
 * finished and no call is pending the run ends. No eligible CPU while one waits is a deadlock: it
 * panics. The mode is used by fuzz target smp (fuzz/target_smp.c).
 *
 * Invariants: a mailbox holds at most one call (a sender owns it from posting to completion); a
 * call runs with the target's interrupts off; no CPU waits for another CPU's call with its own
 * interrupts off (two such CPUs would wait for each other forever, as on hardware: it panics);
 * owner_cpu of a lock is 1 + its holder's id while held, 0 while free (mm_env.h).
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "hosted_internal.h"

static __thread unsigned int hosted_current_cpu;
static __thread bool hosted_irq_off;
static __thread unsigned int hosted_call_depth; /* cross-CPU calls this thread is running */

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

/* Scheduled mode: set by the driver before the CPU threads start, cleared after they are joined. */
static bool hosted_sched;

/* mm_env.h: atomics are preemption points too. True only during a scheduled run that asked for it
 * (machine_sched_set_atomics); written by the driver while no CPU thread runs mm code. */
bool env_sched_atomics;
static bool sched_atomics_wanted;

void machine_sched_set_atomics(bool on) { sched_atomics_wanted = on; }

enum sched_state { SCHED_RUN, SCHED_WAIT, SCHED_IDLE };

#define SCHED_OVER ~0u /* sched.turn when the run has ended */

/* The baton. Every field is read and written under mu only, by the holder (or the driver before
 * the threads start and after they are joined). */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned int turn;                  /* the CPU that may run, or SCHED_OVER */
    unsigned int gen, done;             /* runs started; CPUs done with the current one */
    unsigned int stay;                  /* points the holder keeps the baton without a choice */
    const uint8_t *bytes;               /* the schedule */
    size_t len, pos;
    struct {
        uint8_t state;                  /* enum sched_state */
        bool irq_on;                    /* SCHED_WAIT: interrupts on, a posted call wakes it */
        const unsigned int *word;       /* SCHED_WAIT: blocked while *word == busy */
        unsigned int busy;
    } cpu[MM_MAX_CPUS];
    struct machine_sched_stats stats;
} sched = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
static unsigned int hosted_smp_finished;     /* CPU threads whose function returned */
static unsigned int hosted_barrier_count, hosted_barrier_gen;
static unsigned long hosted_ipis;            /* cross-CPU calls delivered to another thread */

/* ---- interrupt windows ---- */

void machine_cpu_poll(void)
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
    hosted_call_depth++;
    fn(arg);
    hosted_call_depth--;
    hosted_irq_off = false;
    __atomic_store_n(&m->done, 1u, __ATOMIC_RELEASE); /* fn's writes before the sender goes on */
}

/* One turn of a wait loop: take a pending call if interrupts allow, then give the core away
 * (this machine has fewer cores than simulated CPUs). */
static void cpu_wait_relax(void)
{
    machine_cpu_poll();
    __builtin_ia32_pause();
    if (hosted_threaded)
        sched_yield();
}

/* ---- scheduled mode: the baton ---- */

static bool sched_eligible(unsigned int c)
{
    bool mail = __atomic_load_n(&hosted_mbox[c].fn, __ATOMIC_RELAXED) != NULL;
    switch (sched.cpu[c].state) {
    case SCHED_RUN:
        return true;
    case SCHED_WAIT:
        return (sched.cpu[c].irq_on && mail) ||
               __atomic_load_n(sched.cpu[c].word, __ATOMIC_RELAXED) != sched.cpu[c].busy;
    default:
        return mail;
    }
}

/* The next holder after @me (which may itself be chosen if eligible), or SCHED_OVER if none. */
static unsigned int sched_pick(unsigned int me)
{
    unsigned int elig[MM_MAX_CPUS], n = 0, c;
    for (c = 0; c < hosted_smp_nr; c++)
        if (sched_eligible(c))
            elig[n++] = c;
    if (!n)
        return SCHED_OVER;
    bool me_ok = me < hosted_smp_nr && sched_eligible(me);
    if (me_ok && sched.stay) {
        sched.stay--;
        return me;
    }
    if (sched.pos < sched.len) {
        uint8_t b = sched.bytes[sched.pos++];
        sched.stay = b >> 2;
        return elig[(b & 3u) % n];
    }
    if (me_ok) {
        sched.stay = ~0u;
        return me;
    }
    for (c = 1; c <= hosted_smp_nr; c++)
        if (sched_eligible((me + c) % hosted_smp_nr))
            break;
    return (me + c) % hosted_smp_nr;
}

/* No CPU can run: the end of the run when every CPU is finished, else a deadlock. */
static void sched_end_locked(void)
{
    for (unsigned int c = 0; c < hosted_smp_nr; c++)
        if (sched.cpu[c].state != SCHED_IDLE)
            env_panic("scheduled run: deadlock, no CPU can run (CPU %u waits on %p == %u)", c,
                      (const void *)sched.cpu[c].word, sched.cpu[c].busy);
    sched.turn = SCHED_OVER;
    pthread_cond_broadcast(&sched.cv);
}

/* A preemption point of the holder @me (sched.mu held, its state set): pass the baton as the
 * schedule says and sleep until it comes back or the run ends. */
static void sched_point_locked(unsigned int me)
{
    unsigned int next = sched_pick(me);
    sched.stats.points++;
    if (next == SCHED_OVER) {
        sched_end_locked();
        return;
    }
    if (next != me) {
        sched.stats.switches++;
        sched.stats.trace = (sched.stats.trace ^ (next + 1)) * 0x100000001b3ull;
        sched.turn = next;
        pthread_cond_broadcast(&sched.cv);
    }
    while (sched.turn != me && sched.turn != SCHED_OVER)
        pthread_cond_wait(&sched.cv, &sched.mu);
}

void env_sched_point(void)
{
    if (!hosted_sched)
        return;
    pthread_mutex_lock(&sched.mu);
    sched_point_locked(hosted_current_cpu);
    pthread_mutex_unlock(&sched.mu);
}

/* The holder waits until *@w != @busy: it gives the baton away and gets it back when the word
 * changed or (interrupts on) a call was posted to it. */
static void sched_block(const unsigned int *w, unsigned int busy)
{
    unsigned int me = hosted_current_cpu;
    pthread_mutex_lock(&sched.mu);
    sched.cpu[me].state = SCHED_WAIT;
    sched.cpu[me].irq_on = !hosted_irq_off;
    sched.cpu[me].word = w;
    sched.cpu[me].busy = busy;
    sched.stats.waits++;
    sched_point_locked(me);
    sched.cpu[me].state = SCHED_RUN;
    pthread_mutex_unlock(&sched.mu);
}

/* Wait until *@w != @busy (acquire), taking calls meanwhile as the mode allows. */
static void cpu_wait_word(const unsigned int *w, unsigned int busy)
{
    while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == busy) {
        if (!hosted_sched) {
            cpu_wait_relax();
            continue;
        }
        machine_cpu_poll();
        if (__atomic_load_n(w, __ATOMIC_ACQUIRE) != busy)
            break;
        sched_block(w, busy);
    }
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
        machine_cpu_poll();
    env_sched_point();
}

/* ---- spinlocks ---- */

/* The lock validator (mm_env.h, ENV_LOCK_*): record how @l is taken now (@spins: env_spin_lock,
 * which waits, unlike a trylock) and panic at the first use that completes the deadly pair. */
static void cpu_lock_note(env_spinlock_t *l, bool spins)
{
    unsigned int use = (spins && hosted_call_depth ? ENV_LOCK_IN_CALL : 0u) |
                       (hosted_irq_off ? 0u : ENV_LOCK_IRQ_ON);
    if (!use || (__atomic_load_n(&l->irq_ctx, __ATOMIC_RELAXED) & use) == use)
        return;
    unsigned int seen = __atomic_or_fetch(&l->irq_ctx, use, __ATOMIC_RELAXED);
    if (seen == (ENV_LOCK_IN_CALL | ENV_LOCK_IRQ_ON))
        env_panic("spinlock %p is taken inside cross-CPU calls and also held with interrupts on "
                  "(now by CPU %u, %s): a call arriving while its CPU holds it spins forever",
                  (void *)l, hosted_current_cpu,
                  use & ENV_LOCK_IN_CALL ? "inside a call" : "with interrupts on");
}

void env_spin_lock(env_spinlock_t *l)
{
    unsigned int me = hosted_current_cpu + 1;
    cpu_lock_note(l, true);
    env_sched_point();
    while (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE)) {
        if (hosted_threaded && __atomic_load_n(&l->owner_cpu, __ATOMIC_RELAXED) == me)
            env_panic("spinlock %p taken again by CPU %u, which holds it", (void *)l, me - 1);
        if (hosted_sched)
            cpu_wait_word((const unsigned int *)&l->locked, 1u);
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            cpu_wait_relax();
    }
    __atomic_store_n(&l->owner_cpu, me, __ATOMIC_RELAXED);
}

bool env_spin_trylock(env_spinlock_t *l)
{
    env_sched_point();
    if (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE))
        return false;
    cpu_lock_note(l, false);
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

void machine_cpu_set(unsigned int cpu)
{
    unsigned int n = mm_nr_cpus();
    hosted_current_cpu = cpu < n ? cpu : cpu % n;
}

unsigned int machine_cpu_get(void) { return hosted_current_cpu; }

static void cpu_call_remote(unsigned int cpu, void (*fn)(void *arg), void *arg)
{
    struct hosted_mailbox *m = &hosted_mbox[cpu];
    unsigned int free_ = 0;
    while (!__atomic_compare_exchange_n(&m->busy, &free_, 1u, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        free_ = 0;
        if (hosted_sched)
            cpu_wait_word(&m->busy, 1u);
        else
            cpu_wait_relax();
    }
    m->arg = arg;
    __atomic_store_n(&m->done, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&m->fn, fn, __ATOMIC_RELEASE); /* arg and done before the target sees fn */
    if (hosted_sched)
        cpu_wait_word(&m->done, 0u);
    while (!__atomic_load_n(&m->done, __ATOMIC_ACQUIRE))
        cpu_wait_relax();
    __atomic_store_n(&m->busy, 0u, __ATOMIC_RELEASE);
    __atomic_add_fetch(&hosted_ipis, 1ul, __ATOMIC_RELAXED);
}

unsigned long machine_ipi_count(void) { return __atomic_load_n(&hosted_ipis, __ATOMIC_RELAXED); }

void env_cpu_call(unsigned int cpu, void (*fn)(void *arg), void *arg)
{
    if (!hosted_threaded) { /* fn runs as the call would: on @cpu, interrupts off */
        unsigned int saved = hosted_current_cpu;
        bool saved_irq_off = hosted_irq_off;
        hosted_current_cpu = cpu;
        hosted_irq_off = true;
        hosted_call_depth++;
        fn(arg);
        hosted_call_depth--;
        hosted_irq_off = saved_irq_off;
        hosted_current_cpu = saved;
        return;
    }
    if (cpu == hosted_current_cpu) {
        unsigned long irq = env_irq_save();
        hosted_call_depth++;
        fn(arg);
        hosted_call_depth--;
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
        env_panic("CPU %u returned from machine_smp_run with interrupts off", t->cpu);
    __atomic_add_fetch(&hosted_smp_finished, 1u, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&hosted_smp_finished, __ATOMIC_ACQUIRE) < hosted_smp_nr)
        cpu_wait_relax(); /* keep taking calls from CPUs still running */
    return NULL;
}

int machine_smp_run(void (*fn)(unsigned int cpu, void *arg), void *arg)
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
            env_panic("machine_smp_run: cannot start the thread of CPU %u", started);
    }
    for (unsigned int i = 0; i < started; i++)
        pthread_join(threads[i].thread, NULL);
    hosted_threaded = false;
    return 0;
}

bool machine_smp_active(void) { return hosted_threaded; }

/* ---- scheduled mode: the CPU threads ---- */

/* One scheduled run of CPU @t->cpu: wait for the baton, run fn, then stay out of the schedule
 * except to take calls posted to it until the run ends. */
static void sched_cpu_run(struct smp_thread *t)
{
    hosted_current_cpu = t->cpu;
    hosted_irq_off = false;
    while (sched.turn != t->cpu && sched.turn != SCHED_OVER)
        pthread_cond_wait(&sched.cv, &sched.mu);
    pthread_mutex_unlock(&sched.mu);
    t->fn(t->cpu, t->arg);
    if (hosted_irq_off)
        env_panic("CPU %u returned from machine_sched_run with interrupts off", t->cpu);
    pthread_mutex_lock(&sched.mu);
    for (;;) {
        sched.cpu[t->cpu].state = SCHED_IDLE;
        sched_point_locked(t->cpu);
        if (sched.turn == SCHED_OVER)
            break;
        sched.cpu[t->cpu].state = SCHED_RUN;
        pthread_mutex_unlock(&sched.mu);
        machine_cpu_poll();
        pthread_mutex_lock(&sched.mu);
    }
}

/* A CPU thread lives as long as the process (a thread per run cost more than the run under
 * ASan): it sleeps until a run that includes its CPU starts (sched.gen moves), runs it and
 * reports back (sched.done). */
static void *sched_thread_main(void *p)
{
    struct smp_thread *t = p;
    unsigned int seen = 0;
    pthread_mutex_lock(&sched.mu);
    for (;;) {
        while (sched.gen == seen)
            pthread_cond_wait(&sched.cv, &sched.mu);
        seen = sched.gen;
        if (t->cpu >= hosted_smp_nr)
            continue;
        sched_cpu_run(t);
        sched.done++;
        pthread_cond_broadcast(&sched.cv);
    }
    return NULL;
}

static struct smp_thread sched_threads[MM_MAX_CPUS];
static unsigned int sched_nr_threads;

/* A forked child (replay's and triage's per-input children) has none of the parent's CPU threads:
 * it starts its own, with a fresh baton. */
static void sched_atfork_child(void)
{
    sched_nr_threads = 0;
    sched.gen = sched.done = 0;
    pthread_mutex_init(&sched.mu, NULL);
    pthread_cond_init(&sched.cv, NULL);
}

int machine_sched_run(void (*fn)(unsigned int cpu, void *arg), void *arg, const uint8_t *sched_bytes,
                     size_t len)
{
    static bool atfork_set;
    struct smp_thread *threads = sched_threads;
    unsigned int n = mm_nr_cpus();
    if (!atfork_set) {
        pthread_atfork(NULL, NULL, sched_atfork_child);
        atfork_set = true;
    }
    pthread_mutex_lock(&sched.mu);
    hosted_smp_nr = n;
    hosted_barrier_count = hosted_barrier_gen = 0;
    for (unsigned int i = 0; i < n; i++) {
        hosted_mbox[i] = (struct hosted_mailbox){ 0 };
        sched.cpu[i].state = SCHED_RUN;
        threads[i].fn = fn;
        threads[i].arg = arg;
    }
    sched.bytes = sched_bytes;
    sched.len = sched_bytes ? len : 0;
    sched.pos = 0;
    sched.stay = 0;
    sched.stats = (struct machine_sched_stats){ 0 };
    sched.turn = sched_pick(0); /* the first holder is the schedule's first choice */
    sched.done = 0;
    hosted_threaded = hosted_sched = true;
    env_sched_atomics = sched_atomics_wanted;
    for (; sched_nr_threads < n; sched_nr_threads++) {
        threads[sched_nr_threads].cpu = sched_nr_threads;
        if (pthread_create(&threads[sched_nr_threads].thread, NULL, sched_thread_main,
                           &threads[sched_nr_threads]))
            env_panic("machine_sched_run: cannot start the thread of CPU %u", sched_nr_threads);
    }
    sched.gen++;
    pthread_cond_broadcast(&sched.cv);
    while (sched.done < n)
        pthread_cond_wait(&sched.cv, &sched.mu);
    env_sched_atomics = false;
    hosted_threaded = hosted_sched = false;
    pthread_mutex_unlock(&sched.mu);
    return 0;
}

void machine_sched_get_stats(struct machine_sched_stats *st) { *st = sched.stats; }

/* Sense-reversing barrier: the last CPU to arrive opens the next generation. Every CPU's writes
 * before the barrier happen before every CPU's reads after it (the acq_rel count chain, then the
 * release of gen against each waiter's acquire). */
void machine_smp_barrier(void)
{
    if (hosted_irq_off)
        env_panic("CPU %u parks at a barrier with interrupts off", hosted_current_cpu);
    unsigned int gen = __atomic_load_n(&hosted_barrier_gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&hosted_barrier_count, 1u, __ATOMIC_ACQ_REL) == hosted_smp_nr) {
        __atomic_store_n(&hosted_barrier_count, 0u, __ATOMIC_RELAXED);
        __atomic_store_n(&hosted_barrier_gen, gen + 1, __ATOMIC_RELEASE);
        return;
    }
    if (hosted_sched)
        cpu_wait_word(&hosted_barrier_gen, gen);
    while (__atomic_load_n(&hosted_barrier_gen, __ATOMIC_ACQUIRE) == gen)
        cpu_wait_relax();
}

void hosted_cpu_reset(void)
{
    hosted_current_cpu = 0;
    hosted_irq_off = false;
}
