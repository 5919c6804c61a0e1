/*
 * ubsan.h - the kernel's UndefinedBehaviorSanitizer runtime (shims/kernel/ubsan.c): handlers for
 * the checks listed at the top of ubsan.c (UBSAN_CHECKS below is the same list), each report
 * printed once per source location with the values the compiler passes, counted, and an expect
 * window for negative tests. Recoverable checks continue after the report; reaching
 * __builtin_unreachable or the end of a value-returning function panics after it.
 */
#ifndef LEAXOS_UBSAN_H
#define LEAXOS_UBSAN_H

#include <stdbool.h>
#include <stdint.h>

/** The -fsanitize= list the hardened kernel is built with (and ubsan.c has handlers for). */
#define UBSAN_CHECKS \
    "alignment,bool,builtin,enum,integer-divide-by-zero,nonnull-attribute,null,object-size," \
    "pointer-overflow,return,returns-nonnull-attribute,shift,signed-integer-overflow," \
    "unreachable,vla-bound,array-bounds"

/** What the last report said (for negative tests). */
struct ubsan_report_info {
    const char *check;   /* "signed-integer-overflow", "shift-out-of-bounds", ... */
    const char *file;    /* source location of the bad operation */
    uint32_t line, column;
    uintptr_t ip;        /* return address into the function that did it */
};

/** True when the runtime belongs to a hardened kernel (the code is built with the checks). */
bool ubsan_enabled(void);

/** Open an expect window: reports until ubsan_expect_end count as expected, not as failures. */
void ubsan_expect_begin(void);
/** Close the window; returns the number of reports made inside it. */
unsigned ubsan_expect_end(void);

/** Reports outside any expect window (the kernel fails the run if non-zero). */
unsigned long ubsan_unexpected_reports(void);
/** All reports printed so far. */
unsigned long ubsan_total_reports(void);
/** The last report, or NULL if there was none. */
const struct ubsan_report_info *ubsan_last_report(void);

#endif /* LEAXOS_UBSAN_H */
