/*
 * targets.c - the target registry, the failure/log helpers every target shares and the run guard
 * a driver that must survive a failing input uses (the kernel's corpus replay).
 * Freestanding-clean: output goes through fuzz_platform.write_line.
 *
 * Guard: fuzz_run_guarded() saves a __builtin_setjmp context; a platform crash that calls
 * fuzz_guard_escape() while it runs resumes there. Only one guarded run at a time (no nesting).
 * After an escape only the interrupt state is put back; locks the failed run held and every
 * other piece of mm state belong to the abandoned instance, which the next boot resets.
 */
#include "fuzz_target.h"

const struct fuzz_target *const fuzz_targets[] = {
    &fuzz_target_page_alloc,
    &fuzz_target_slab,
    &fuzz_target_misuse,
    &fuzz_target_boot,
    &fuzz_target_vm,
    &fuzz_target_smp,
    &fuzz_target_linux,
    NULL,
};

bool fuzz_trace;
unsigned int fuzz_sites_top;
void (*fuzz_dump_hook)(const char *why);
unsigned int fuzz_check_every = 1;

bool fuzz_streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

const struct fuzz_target *fuzz_target_find(const char *name)
{
    unsigned int i;

    for (i = 0; fuzz_targets[i]; i++)
        if (fuzz_streq(fuzz_targets[i]->name, name))
            return fuzz_targets[i];
    return NULL;
}

void fuzz_log(const char *fmt, ...)
{
    char line[320];
    va_list ap;

    va_start(ap, fmt);
    mm_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fuzz_platform.write_line(line);
}

static void *fuzz_guard_ctx[5];
static volatile bool fuzz_guard_armed;
static unsigned long fuzz_guard_irq; /* the caller's interrupt state, put back after an escape */

int fuzz_run_guarded(const struct fuzz_target *t, const uint8_t *data, size_t size)
{
    fuzz_guard_irq = env_irq_save();
    env_irq_restore(fuzz_guard_irq);
    if (__builtin_setjmp(fuzz_guard_ctx)) {
        fuzz_guard_armed = false;
        env_irq_restore(fuzz_guard_irq); /* the run may have failed inside an irq-saved section */
        return -1;
    }
    fuzz_guard_armed = true;
    fuzz_run(t, data, size);
    fuzz_guard_armed = false;
    return 0;
}

void fuzz_guard_escape(void)
{
    if (fuzz_guard_armed)
        __builtin_longjmp(fuzz_guard_ctx, 1);
}

_Noreturn void fuzz_crash(void)
{
    void (*dump)(const char *why) = fuzz_dump_hook;

    fuzz_dump_hook = NULL;
    if (dump)
        dump("crash");
    fuzz_trace_print_tail();
    fuzz_platform.crash();
    __builtin_trap();
}

_Noreturn void fuzz_fail(const char *fmt, ...)
{
    char line[400];
    va_list ap;
    int n;

    n = mm_snprintf(line, sizeof(line), "FUZZ-FAIL ");
    va_start(ap, fmt);
    mm_vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fuzz_platform.write_line(line);
    fuzz_crash();
}

_Noreturn void fuzz_fail_op(void (*show)(int level), const char *fmt, va_list ap)
{
    char what[256], head[256], line[448];
    size_t colon;

    mm_vsnprintf(what, sizeof(what), fmt, ap);
    /* "head: detail" reads as "FUZZ-FAIL head op#N [op text]: detail" */
    for (colon = 0; what[colon] && !(what[colon] == ':' && what[colon + 1] == ' '); colon++)
        ;
    memcpy(head, what, colon);
    head[colon] = '\0';
    mm_snprintf(line, sizeof(line), "FUZZ-FAIL %s op#%u [%s]%s", head, (unsigned int)fuzz_cur.opno,
                fuzz_cur_text(), what + colon);
    fuzz_platform.write_line(line);
    fuzz_platform.set_quiet(false);
    if (show)
        show(ENV_LOG_WARN);
    fuzz_platform.write_line(line); /* again, last: triage reads the final FUZZ-FAIL line */
    fuzz_crash();
}
