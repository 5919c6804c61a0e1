/*
 * ktest_kernel.h - the kernel's entry point into the mm unit tests (tests/kernel/ktest_kernel.c).
 */
#ifndef LEAXOS_KTEST_KERNEL_H
#define LEAXOS_KTEST_KERNEL_H

#include "ktest.h"

/**
 * Every suite of kt_suites.h in run order, as the kernel runs them: hosted-only suites are
 * entries that report "# SKIP <reason>"; cases whose machine does not fit the machine area skip
 * themselves (kt_boot_current). Each case boots its own mm instance inside the machine area.
 * The kernel's runner (arch/x86_64/kernel/run.c) runs them with its own suites in one KTAP run.
 */
extern const struct ktest_suite *const kernel_unit_suites[];
extern const unsigned int kernel_nr_unit_suites;

#endif /* LEAXOS_KTEST_KERNEL_H */
