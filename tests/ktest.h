/*
 * ktest.h - a tiny KTAP (version 1) unit-test framework for the LeaxOS mm.
 *
 * Owns: the test-case and suite descriptors, the KT_ASSERT* macros and the runner entry point.
 *
 *   struct ktest_suite  { name, cases[], nr_cases, init?, exit? }
 *        |
 *        +-- struct ktest_case { name, fn }   fn: static int test_xxx(void), 0 = pass
 *
 * A test body calls only the mm API, the machine API and KT_ macros, so the same sources run
 * hosted and inside the freestanding kernel. A KT_ASSERT* that fails prints one diagnostic line
 * "# file:line: message" and makes the test return 1. The runner prints KTAP version 1 (one subtest
 * per suite), a "# Totals:" line and ends with the plain line "N passed, N failed" counting test
 * cases (skipped ones are in neither number).
 *
 * Skips: a case calls KT_SKIP("reason") (directly or in a helper, e.g. kt_boot_current when the
 * platform cannot provide the machine) and is reported "ok N name # SKIP reason"; a suite whose
 * .skip is set is not run and reported the same way. A platform decides skips by an explicit rule,
 * never by a failure.
 *
 * Nothing in here needs libc: ktest.c formats with the mm's mm_vsnprintf and writes through the
 * platform's ktest_host_write (hosted: test_main.c, kernel: tests/kernel/ktest_kernel.c).
 */
#ifndef LEAXOS_KTEST_H
#define LEAXOS_KTEST_H

#include <stdbool.h>
#include <stddef.h>

struct ktest_case {
    const char *name;
    int (*fn)(void);
};

struct ktest_suite {
    const char *name;
    const struct ktest_case *cases;
    unsigned int nr_cases;
    int (*init)(void);  /* optional: run before each case; non-zero fails the case */
    void (*exit)(void); /* optional: run after each case */
    const char *skip;   /* non-NULL: not run on this platform; reported skipped with this reason */
    /**
     * Optional, instead of cases: a block that runs and prints its own subtest (indented four
     * spaces: "KTAP version 1", "# Subtest: name", "1..N", "ok i ..."), e.g. the kernel's corpus
     * replay. Returns the number failed and adds its passed and skipped counts.
     */
    int (*run_block)(unsigned int *passed, unsigned int *skipped);
};

/** { "name", test_name } for a function static int test_name(void). */
#define KT_CASE(name) { #name, test_##name }

/** Define `const struct ktest_suite suite_<name>` over the array @cases. */
#define KT_SUITE(sname, cases_arr) \
    const struct ktest_suite suite_##sname = { #sname, cases_arr, \
                                               (unsigned int)(sizeof(cases_arr) / sizeof((cases_arr)[0])), \
                                               NULL, NULL, NULL, NULL }

/** printf-style output (formatted by mm_vsnprintf, written through ktest_host_write). */
void ktest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** The platform's output sink: write @len bytes of runner output (one or more whole lines). */
void ktest_host_write(const char *s, size_t len);

/**
 * Mark the running case skipped, with a printf-style reason. The case should return non-zero at
 * once (KT_SKIP does); it is then reported as skipped, neither passed nor failed.
 */
void ktest_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** True once the running case called ktest_skip. */
bool ktest_skipping(void);

/** Print a diagnostic line "# file:line: <message>" at the current KTAP indentation. */
void ktest_fail_msg(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Print an informational diagnostic line "# <message>" at the current KTAP indentation. */
void ktest_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** True when the runner was asked to be verbose. */
extern bool ktest_verbose;

/** The suite and case running now (NULL between cases), for reports that name the test. */
extern const char *ktest_cur_suite, *ktest_cur_case;

/**
 * Optional platform clock (NULL: none). When set, the runner prints "# time <suite> <N> Mcycles"
 * after each suite and "# time <suite>.<case> ..." for a case of a billion ticks or more, so a slow
 * boot can be split. The kernel sets it to the TSC; the hosted runner leaves it NULL (its output
 * stays a function of the tests).
 */
extern unsigned long long (*ktest_clock)(void);

/**
 * Run @nr suites (those whose name, or whose case names, contain @filter; NULL = all) and print
 * KTAP. Returns the number of failed cases.
 */
int ktest_run(const struct ktest_suite *const *suites, unsigned int nr, const char *filter);

/** Freestanding string helpers for the macros. */
int ktest_strcmp(const char *a, const char *b);
bool ktest_strstr(const char *hay, const char *needle);

/* ---- assertions: each returns 1 from the enclosing test (or helper) on failure ---- */

#define KT_FAIL(...) do { ktest_fail_msg(__FILE__, __LINE__, __VA_ARGS__); return 1; } while (0)

/** Skip the enclosing test (from a helper: the helper returns 1 and KT_TRY passes it up quietly). */
#define KT_SKIP(...) do { ktest_skip(__VA_ARGS__); return 1; } while (0)

#define KT_ASSERT(cond) do { \
    if (!(cond)) \
        KT_FAIL("assertion failed: %s", #cond); \
} while (0)

#define KT_ASSERT_MSG(cond, ...) do { \
    if (!(cond)) { \
        ktest_fail_msg(__FILE__, __LINE__, "assertion failed: %s", #cond); \
        ktest_note(__VA_ARGS__); \
        return 1; \
    } \
} while (0)

#define KT__CMP(a, b, op) do { \
    long long kt_a_ = (long long)(a), kt_b_ = (long long)(b); \
    if (!(kt_a_ op kt_b_)) \
        KT_FAIL("expected %s %s %s (%lld vs %lld)", #a, #op, #b, kt_a_, kt_b_); \
} while (0)

#define KT_ASSERT_EQ(a, b) KT__CMP(a, b, ==)
#define KT_ASSERT_NE(a, b) KT__CMP(a, b, !=)
#define KT_ASSERT_LT(a, b) KT__CMP(a, b, <)
#define KT_ASSERT_LE(a, b) KT__CMP(a, b, <=)
#define KT_ASSERT_GT(a, b) KT__CMP(a, b, >)
#define KT_ASSERT_GE(a, b) KT__CMP(a, b, >=)

#define KT_ASSERT_TRUE(x)  KT_ASSERT(x)
#define KT_ASSERT_FALSE(x) KT_ASSERT(!(x))

/** @expr must evaluate to 0. */
#define KT_ASSERT_OK(expr) do { \
    long long kt_r_ = (long long)(expr); \
    if (kt_r_ != 0) \
        KT_FAIL("expected %s == 0, got %lld", #expr, kt_r_); \
} while (0)

/** @expr must return the negated error code @code (pass the positive MM_E* constant). */
#define KT_ASSERT_ERR(expr, code) do { \
    long long kt_r_ = (long long)(expr), kt_c_ = -(long long)(code); \
    if (kt_r_ != kt_c_) \
        KT_FAIL("expected %s == -%s (%lld), got %lld", #expr, #code, kt_c_, kt_r_); \
} while (0)

#define KT_ASSERT_NULL(p) do { \
    const void *kt_p_ = (const void *)(p); \
    if (kt_p_ != NULL) \
        KT_FAIL("expected %s == NULL, got %p", #p, kt_p_); \
} while (0)

#define KT_ASSERT_NOT_NULL(p) do { \
    if ((const void *)(p) == NULL) \
        KT_FAIL("expected %s != NULL", #p); \
} while (0)

#define KT_ASSERT_STREQ(a, b) do { \
    const char *kt_s1_ = (a), *kt_s2_ = (b); \
    if (kt_s1_ == NULL || kt_s2_ == NULL || ktest_strcmp(kt_s1_, kt_s2_) != 0) \
        KT_FAIL("expected %s == %s (\"%s\" vs \"%s\")", #a, #b, \
                kt_s1_ ? kt_s1_ : "(null)", kt_s2_ ? kt_s2_ : "(null)"); \
} while (0)

/**
 * Propagate the failure of a helper that itself uses KT_ asserts (returns non-zero on failure),
 * or its skip (then without a diagnostic).
 */
#define KT_TRY(expr) do { \
    if ((expr) != 0) { \
        if (ktest_skipping()) \
            return 1; \
        KT_FAIL("helper failed: %s", #expr); \
    } \
} while (0)

#endif /* LEAXOS_KTEST_H */
