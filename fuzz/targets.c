/*
 * targets.c - the target registry and the failure/log helpers every target shares.
 * Freestanding-clean: output goes through fuzz_platform.write_line.
 */
#include "fuzz_target.h"

const struct fuzz_target *const fuzz_targets[] = {
    &fuzz_target_page_alloc,
    &fuzz_target_slab,
    &fuzz_target_misuse,
    &fuzz_target_boot,
    &fuzz_target_vm,
    NULL,
};

bool fuzz_trace;

static bool fz_streq(const char *a, const char *b)
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
        if (fz_streq(fuzz_targets[i]->name, name))
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

_Noreturn void fuzz_crash(void)
{
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
