/*
 * ktest.c - the KTAP runner.
 *
 * Owns: the KTAP output format and the pass/fail counting. Output shape:
 *
 *   KTAP version 1
 *   1..N                      N = suites selected
 *       KTAP version 1        one subtest per suite
 *       1..M
 *       # file:line: msg      diagnostics of a failing case
 *       ok 1 case_name
 *       not ok 2 case_name
 *   ok 1 suite_name           "not ok" if any case failed
 *   P passed, F failed        cases, alone on the last line
 *
 * The only libc use is the output hook ktest_printf (vprintf); a freestanding build replaces it.
 */
#include "ktest.h"

#include <stdarg.h>
#include <stdio.h>

bool ktest_verbose;

/* Indentation of the current KTAP level: 0 outside suites, 4 inside a suite. */
static int ktest_indent;

void ktest_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static void ktest_vdiag(const char *prefix_file, int line, const char *fmt, va_list ap)
{
    char buf[512];

    vsnprintf(buf, sizeof(buf), fmt, ap);
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

    for (unsigned int i = 0; i < s->nr_cases; i++)
        n += ktest_case_selected(s, &s->cases[i], filter);
    return n;
}

static int ktest_run_case(const struct ktest_suite *s, const struct ktest_case *c)
{
    int rc = 0;

    if (s->init && s->init() != 0) {
        ktest_note("suite init failed");
        return 1;
    }
    rc = c->fn();
    if (s->exit)
        s->exit();
    return rc != 0;
}

int ktest_run(const struct ktest_suite *const *suites, unsigned int nr, const char *filter)
{
    unsigned int nr_suites = 0, passed = 0, failed = 0, k = 0;

    for (unsigned int i = 0; i < nr; i++)
        nr_suites += ktest_suite_selected(suites[i], filter) > 0;

    ktest_printf("KTAP version 1\n1..%u\n", nr_suites);
    for (unsigned int i = 0; i < nr; i++) {
        const struct ktest_suite *s = suites[i];
        unsigned int m = ktest_suite_selected(s, filter), idx = 0, suite_failed = 0;

        if (m == 0)
            continue;
        ktest_indent = 4;
        ktest_printf("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", s->name, m);
        for (unsigned int j = 0; j < s->nr_cases; j++) {
            const struct ktest_case *c = &s->cases[j];

            if (!ktest_case_selected(s, c, filter))
                continue;
            int bad = ktest_run_case(s, c);

            idx++;
            ktest_printf("    %sok %u %s\n", bad ? "not " : "", idx, c->name);
            if (bad) {
                failed++;
                suite_failed++;
            } else {
                passed++;
            }
        }
        ktest_indent = 0;
        ktest_printf("%sok %u %s\n", suite_failed ? "not " : "", ++k, s->name);
    }
    ktest_printf("%u passed, %u failed\n", passed, failed);
    return (int)failed;
}
