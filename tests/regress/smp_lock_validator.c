/*
 * Regression: the shims' lock validator (mm_env.h, ENV_LOCK_*). The slab cache lock was held with
 * interrupts on (slab_trim_empty, slab_new's colour, slabinfo, the cache checks) although
 * slab_flush_cb takes it inside a cross-CPU call: in the kernel an IPI arriving in that window
 * spins forever on its own CPU's lock. Nothing saw it until an IPI hit the window; the validator
 * records how each lock is used and panics at the use that completes the pair, on one thread.
 *
 *   irq_on_then_call   a lock held with interrupts on, later taken inside a call: panics
 *   call_then_irq_on   the other order: panics
 *   trylock_irq_on     a trylock with interrupts on counts as holding with them on: panics
 *   irqsave_clean      the lock always taken with interrupts off, in and out of calls: no panic
 *   trylock_in_call    a trylock inside a call never spins, so it pairs with nothing: no panic
 *
 * Each case runs in a child process; the parent checks its exit and the panic text.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm_env.h"

static env_spinlock_t lk;

static void lock_in_call(void *arg)
{
    (void)arg;
    env_spin_lock(&lk);
    env_spin_unlock(&lk);
}

static void trylock_in_call(void *arg)
{
    (void)arg;
    if (env_spin_trylock(&lk))
        env_spin_unlock(&lk);
}

static void hold_irq_on(void)
{
    env_spin_lock(&lk);
    env_spin_unlock(&lk);
}

static void hold_irq_off(void)
{
    unsigned long irq = env_irq_save();
    env_spin_lock(&lk);
    env_spin_unlock(&lk);
    env_irq_restore(irq);
}

static void case_irq_on_then_call(void) { hold_irq_on(); env_cpu_call(0, lock_in_call, NULL); }
static void case_call_then_irq_on(void) { env_cpu_call(0, lock_in_call, NULL); hold_irq_on(); }
static void case_trylock_irq_on(void)
{
    env_cpu_call(0, lock_in_call, NULL);
    if (env_spin_trylock(&lk))
        env_spin_unlock(&lk);
}
static void case_irqsave_clean(void)
{
    for (int i = 0; i < 3; i++) {
        hold_irq_off();
        env_cpu_call(0, lock_in_call, NULL);
    }
}
static void case_trylock_in_call(void) { hold_irq_on(); env_cpu_call(0, trylock_in_call, NULL); }

/* Run @fn in a child; true if it panicked with the validator's message iff @want_panic. */
static bool run_case(const char *name, void (*fn)(void), bool want_panic)
{
    int fds[2];
    if (pipe(fds))
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    char out[1024] = { 0 };
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(out) - 1 && (n = read(fds[0], out + got, sizeof(out) - 1 - got)) > 0)
        got += (size_t)n;
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    bool panicked = WIFSIGNALED(st) && strstr(out, "taken inside cross-CPU calls and also held "
                                                   "with interrupts on");
    bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == 0;
    bool ok = want_panic ? panicked : clean;
    printf("%s %s%s%s\n", ok ? "ok" : "not ok", name, ok ? "" : ": ", ok ? "" : out);
    return ok;
}

int main(void)
{
    bool ok = run_case("irq_on_then_call", case_irq_on_then_call, true);
    ok &= run_case("call_then_irq_on", case_call_then_irq_on, true);
    ok &= run_case("trylock_irq_on", case_trylock_irq_on, true);
    ok &= run_case("irqsave_clean", case_irqsave_clean, false);
    ok &= run_case("trylock_in_call", case_trylock_in_call, false);
    return ok ? 0 : 1;
}
