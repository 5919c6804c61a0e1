/*
 * check_sanitizers.h - negative checks proving the kernel sanitizers are real
 * (arch/x86_64/kernel/check_sanitizers.c): each check boots a fresh mm instance, makes one
 * deliberate bad access or undefined operation inside a sanitizer expect window, and requires
 * exactly one report of the right kind.
 */
#ifndef LEAXOS_CHECK_SANITIZERS_H
#define LEAXOS_CHECK_SANITIZERS_H

/** Number of checks kernel_check_sanitizers runs (the plan of its KTAP block). */
#define KERNEL_SANITIZER_CHECKS 9

/**
 * Run the checks and print them as one KTAP subtest block on the serial console:
 *
 *       KTAP version 1
 *       # Subtest: sanitizers
 *       1..9
 *       ok 1 - kasan_shadow_tracks_mm
 *       ...
 *
 * (indented four spaces, like the unit-test suites; the caller prints the parent "ok K
 * sanitizers" line). In a kernel built without -DKERNEL_HARDENED=1 every check prints
 * "ok N - name # SKIP not hardened". Returns the number of checks that failed. Boots fresh mm
 * instances over the machine area, so the live instance is gone afterwards.
 */
int kernel_check_sanitizers(void);

#endif /* LEAXOS_CHECK_SANITIZERS_H */
