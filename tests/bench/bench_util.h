/*
 * bench_util.h - what every benchmark program shares: the error counter that decides the exit
 * status, the "# ERROR:" reporter, the monotonic clock, and the command line (--quick, --reps N,
 * --list, FILTER...) with its case selection and the run banner. Header-only; each program includes it
 * once (the bench programs are built one per source file).
 */
#ifndef LEAXOS_BENCH_UTIL_H
#define LEAXOS_BENCH_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_errors; /* failures that make the run exit non-zero */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ERROR: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    g_errors++;
}

/*
 * The clock of every timed loop: CLOCK_MONOTONIC, or with BENCH_CLOCK=cpu in the environment the
 * calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which leaves out the time other processes
 * of a loaded shared machine take from it (for comparing two builds there; multi-threaded cases
 * then count the main thread only).
 */
static uint64_t now_ns(void)
{
    static int clock_id = -1;
    if (clock_id < 0) {
        const char *c = getenv("BENCH_CLOCK");
        clock_id = c && !strcmp(c, "cpu") ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    }
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- command line and case selection ---- */

struct bench_opts {
    bool quick;             /* --quick: scaled-down iterations, 2 repetitions unless --reps */
    unsigned int reps;      /* repetitions per case; the minimum is reported */
    const char *filters[64];
    int nr_filters;
    const char *(*name_of)(size_t i); /* every case name, for the exact-name rule of filters */
    size_t nr_names;
};

#define BENCH_OPTS_INIT { .reps = 5 }

/* A FILTER that names a case exactly selects that case only; any other FILTER is a substring. */
static inline bool bench_filter_matches(const struct bench_opts *o, const char *filter, const char *name)
{
    for (size_t i = 0; i < o->nr_names; i++)
        if (!strcmp(filter, o->name_of(i)))
            return !strcmp(filter, name);
    return strstr(name, filter) != NULL;
}

static inline bool bench_selected(const struct bench_opts *o, const char *name)
{
    if (o->nr_filters == 0)
        return true;
    for (int i = 0; i < o->nr_filters; i++)
        if (bench_filter_matches(o, o->filters[i], name))
            return true;
    return false;
}

/**
 * Parse argv into @o. @extra (may be NULL) takes a program-specific option at argv[*i] (advancing
 * *i past its argument) and returns 1, 0 when it does not know it, or -1 on a bad argument.
 * Returns -1 to go on, or the exit status (0 after --list / --help, 2 on a usage error).
 */
static inline int bench_parse_args(struct bench_opts *o, int argc, char **argv,
                            void (*usage)(FILE *f, const char *argv0),
                            int (*extra)(int argc, char **argv, int *i))
{
    bool reps_given = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = extra ? extra(argc, argv, &i) : 0;
        if (r < 0) {
            usage(stderr, argv[0]);
            return 2;
        }
        if (r > 0)
            continue;
        if (!strcmp(a, "--quick")) {
            o->quick = true;
        } else if (!strcmp(a, "--reps") && i + 1 < argc) {
            int n = atoi(argv[++i]);
            if (n < 1 || n > 16) {
                usage(stderr, argv[0]);
                return 2;
            }
            o->reps = (unsigned int)n;
            reps_given = true;
        } else if (!strcmp(a, "--list")) {
            for (size_t c = 0; c < o->nr_names; c++)
                printf("%s\n", o->name_of(c));
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout, argv[0]);
            return 0;
        } else if (a[0] == '-') {
            usage(stderr, argv[0]);
            return 2;
        } else if (o->nr_filters < (int)(sizeof(o->filters) / sizeof(o->filters[0]))) {
            o->filters[o->nr_filters++] = a;
        }
    }
    if (o->quick && !reps_given)
        o->reps = 2;
    return -1;
}

/* True if some case is selected; otherwise says so on stderr. */
static inline bool bench_any_selected(const struct bench_opts *o, const char *prog)
{
    for (size_t c = 0; c < o->nr_names; c++)
        if (bench_selected(o, o->name_of(c)))
            return true;
    fprintf(stderr, "%s: no case matches the filter (--list shows the names)\n", prog);
    return false;
}

/* The first '#' line of a run: kind, repetitions, and a warning for a build with assertions. */
static inline void bench_print_banner(const struct bench_opts *o, const char *prog)
{
    printf("# %s: %s run, %u repetitions per case, minimum reported%s\n", prog,
           o->quick ? "quick (smoke)" : "full", o->reps,
#ifdef NDEBUG
           ""
#else
           " (WARNING: built without -DNDEBUG)"
#endif
    );
}

/* ---- a program that is a list of cases ---- */

struct bench_case {
    const char *name;
    void (*fn)(void);
};

/* Run the selected @cases (after bench_any_selected) and print the closing line; exit status. */
static inline int bench_run_cases(const struct bench_opts *o, const char *prog,
                           const struct bench_case *cases, size_t n, const volatile uintptr_t *sink)
{
    unsigned int ran = 0;
    uint64_t t0 = now_ns();

    bench_print_banner(o, prog);
    fflush(stdout);
    for (size_t c = 0; c < n; c++) {
        if (!bench_selected(o, cases[c].name))
            continue;
        cases[c].fn();
        ran++;
    }
    printf("# %s: %u cases in %.1f s, %d errors (sink %llx)\n", prog, ran,
           (double)(now_ns() - t0) / 1e9, g_errors, (unsigned long long)(*sink & 0xff));
    return g_errors ? 1 : 0;
}

#endif
