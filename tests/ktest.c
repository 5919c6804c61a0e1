/*
 * ktest.c - the KTAP runner.
 *
 * Owns: the KTAP output format and the pass/fail/skip counting. Output shape:
 *
 *   KTAP version 1
 *   1..N                      N = suites selected
 *       KTAP version 1        one subtest per suite
 *       # Subtest: suite_name
 *       1..M
 *       # file:line: msg      diagnostics of a failing case
 *       ok 1 case_name
 *       not ok 2 case_name
 *       ok 3 case_name # SKIP reason
 *   ok 1 suite_name           "not ok" if any case failed
 *   ok 2 other_suite # SKIP reason        a suite the platform does not run
 *   # Totals: pass:P fail:F skip:S        S = skipped cases + skipped suites
 *   P passed, F failed        cases, alone on the last line
 *
 * Freestanding: formatting is the mm's mm_vsnprintf, output the platform's ktest_host_write.
 * Single-threaded: the format buffers and the skip state are static.
 */
#include "ktest.h"

#include <stdarg.h>

#include "mm_common.h"

bool ktest_verbose;

/* Indentation of the current KTAP level: 0 outside suites, 4 inside a suite. */
static int ktest_indent;

static bool ktest_skip_pending;
static char ktest_skip_reason[160];

static void ktest_vprintf(const char *fmt, va_list ap)
{
    static char out[1024];
    int n = mm_vsnprintf(out, sizeof(out), fmt, ap);

    ktest_host_write(out, n < (int)sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

void ktest_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ktest_vprintf(fmt, ap);
    va_end(ap);
}

static void ktest_vdiag(const char *prefix_file, int line, const char *fmt, va_list ap)
{
    static char buf[512];

    mm_vsnprintf(buf, sizeof(buf), fmt, ap);
    if (prefix_file)
        ktest_printf("%*s# %s:%d: %s\n", ktest_indent, "", prefix_file, line, buf);
    else
        ktest_printf("%*s# %s\n", ktest_indent, "", buf);
}

void ktest_fail_msg(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ktest_vdiag(file, line, fmt, ap);
    va_end(ap);
}

void ktest_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ktest_vdiag(NULL, 0, fmt, ap);
    va_end(ap);
}

void ktest_skip(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mm_vsnprintf(ktest_skip_reason, sizeof(ktest_skip_reason), fmt, ap);
    va_end(ap);
    ktest_skip_pending = true;
}

bool ktest_skipping(void)
{
    return ktest_skip_pending;
}

int ktest_strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

bool ktest_strstr(const char *hay, const char *needle)
{
    if (!needle || !*needle)
        return true;
    for (; *hay; hay++) {
        const char *h = hay, *n = needle;

        while (*h && *n && *h == *n) {
            h++;
            n++;
        }
        if (!*n)
            return true;
    }
    return false;
}

static bool ktest_case_selected(const struct ktest_suite *s, const struct ktest_case *c,
                                const char *filter)
{
    return !filter || ktest_strstr(s->name, filter) || ktest_strstr(c->name, filter);
}

static unsigned int ktest_suite_selected(const struct ktest_suite *s, const char *filter)
{
    unsigned int n = 0;

    if (s->skip || s->run_block)
        return !filter || ktest_strstr(s->name, filter);
    for (unsigned int i = 0; i < s->nr_cases; i++)
        n += ktest_case_selected(s, &s->cases[i], filter);
    return n;
}

const char *ktest_cur_suite, *ktest_cur_case;

/* Run one case: 0 passed, 1 failed, 2 skipped. */
static int ktest_run_case(const struct ktest_suite *s, const struct ktest_case *c)
{
    int rc = 0;

    ktest_skip_pending = false;
    if (s->init && s->init() != 0) {
        ktest_note("suite init failed");
        return 1;
    }
    ktest_cur_suite = s->name;
    ktest_cur_case = c->name;
    rc = c->fn();
    ktest_cur_suite = ktest_cur_case = NULL;
    if (s->exit)
        s->exit();
    if (ktest_skip_pending)
        return 2;
    return rc != 0;
}

struct ktest_totals {
    unsigned int passed, failed, skipped;
};

/* A case that takes at least this many million clock ticks gets its own "# time" line. */
#define KTEST_SLOW_MCYCLES 1000ull

/* Run the selected cases of @s as subtest @k. */
static void ktest_run_suite(const struct ktest_suite *s, unsigned int k, const char *filter,
                            struct ktest_totals *t)
{
    unsigned int idx = 0, suite_failed = 0;

    ktest_indent = 4;
    ktest_printf("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", s->name,
                 ktest_suite_selected(s, filter));
    for (unsigned int j = 0; j < s->nr_cases; j++) {
        const struct ktest_case *c = &s->cases[j];

        if (!ktest_case_selected(s, c, filter))
            continue;
        unsigned long long t0 = ktest_clock ? ktest_clock() : 0;
        int res = ktest_run_case(s, c);
        unsigned long long mcycles = ktest_clock ? (ktest_clock() - t0) / 1000000ull : 0;
        if (mcycles >= KTEST_SLOW_MCYCLES)
            ktest_printf("    # time %s.%s %llu Mcycles\n", s->name, c->name, mcycles);

        idx++;
        if (res == 2) {
            ktest_printf("    ok %u %s # SKIP %s\n", idx, c->name, ktest_skip_reason);
            t->skipped++;
        } else if (res) {
            ktest_printf("    not ok %u %s\n", idx, c->name);
            t->failed++;
            suite_failed++;
        } else {
            ktest_printf("    ok %u %s\n", idx, c->name);
            t->passed++;
        }
    }
    ktest_indent = 0;
    ktest_printf("%sok %u %s\n", suite_failed ? "not " : "", k, s->name);
}

/* Run suite @s as subtest @k (skipped, a block suite, or case by case). */
static void ktest_run_one(const struct ktest_suite *s, unsigned int k, const char *filter,
                          struct ktest_totals *t)
{
    if (s->skip) {
        ktest_printf("ok %u %s # SKIP %s\n", k, s->name, s->skip);
        t->skipped++;
        return;
    }
    if (s->run_block) {
        unsigned int passed = 0, skipped = 0;
        int failed = s->run_block(&passed, &skipped);
        t->passed += passed;
        t->skipped += skipped;
        t->failed += (unsigned int)failed;
        ktest_printf("%sok %u %s\n", failed ? "not " : "", k, s->name);
        return;
    }
    ktest_run_suite(s, k, filter, t);
}

unsigned long long (*ktest_clock)(void);

int ktest_run(const struct ktest_suite *const *suites, unsigned int nr, const char *filter)
{
    struct ktest_totals t = { 0, 0, 0 };
    unsigned int nr_suites = 0, k = 0;

    for (unsigned int i = 0; i < nr; i++)
        nr_suites += ktest_suite_selected(suites[i], filter) > 0;

    ktest_printf("KTAP version 1\n1..%u\n", nr_suites);
    for (unsigned int i = 0; i < nr; i++) {
        const struct ktest_suite *s = suites[i];

        if (ktest_suite_selected(s, filter) == 0)
            continue;
        unsigned long long t0 = ktest_clock ? ktest_clock() : 0;
        ktest_run_one(s, ++k, filter, &t);
        if (ktest_clock)
            ktest_printf("# time %s %llu Mcycles\n", s->name, (ktest_clock() - t0) / 1000000ull);
    }
    ktest_printf("# Totals: pass:%u fail:%u skip:%u\n", t.passed, t.failed, t.skipped);
    ktest_printf("%u passed, %u failed\n", t.passed, t.failed);
    return (int)t.failed;
}
