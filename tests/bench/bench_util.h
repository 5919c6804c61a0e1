/*
 * bench_util.h - what every benchmark program shares: the error counter that decides the exit
 * status, the "# ERROR:" reporter and the monotonic clock. Header-only; each program includes it
 * once (the bench programs are built one per source file).
 */
#ifndef LEAXOS_BENCH_UTIL_H
#define LEAXOS_BENCH_UTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
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

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
