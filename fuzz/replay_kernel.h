/*
 * replay_kernel.h - the boot-time replay of a corpus pack (fuzz/replay_kernel.c).
 */
#ifndef LEAXOS_FUZZ_REPLAY_KERNEL_H
#define LEAXOS_FUZZ_REPLAY_KERNEL_H

#include <stddef.h>

/**
 * Variants of every entry to run after it (fuzz_mutate, mutate.h), each with its own DIGEST line
 * named "<name>~m<index>"; 0 (the default) runs the entries only.
 */
extern unsigned int kernel_corpus_mutants;

/**
 * The full-check cadence of the replay (fuzz_check_every, fuzz_target.h): mm_check and the
 * targets' whole-state checks after every Nth op and the last one, the cheap ones after every
 * op. Default FUZZ_CHECK_EVERY_DEFAULT, as the fuzz engines; 1 checks after every op. An entry
 * that fails at a cadence above 1 has failed; it is run again at 1, so its report still names
 * the first bad op, and that run writes the dump (kernel_corpus_fail_dump). Digests do not depend
 * on the cadence (a passing run's are the same at every cadence).
 */
extern unsigned int kernel_corpus_check_every;

/**
 * Set by the kernel ("pmdump"): called when an entry fails (fuzz_crash, before the run returns to
 * the guarded call), with "corpus TARGET/NAME" and the failed instance still live, to write the
 * mm's dump; the failure is then reported as always. NULL (the default, and the hosted replay):
 * nothing.
 */
extern void (*kernel_corpus_fail_dump)(const char *why);

/**
 * Run every entry of the corpus pack at @pack (@size bytes; format corpus_pack.h) through its
 * fuzz target, one fresh mm instance per entry, and print one KTAP subtest block at the nesting
 * of a suite of the boot-time run (indented by 4; the caller prints the "ok N corpus" line):
 *
 *       KTAP version 1
 *       # Subtest: corpus
 *       1..T                                 T = targets in the pack (first appearance order)
 *   DIGEST <target> <name> <16 hex> ops=<n>  per entry, at column 0: the line the hosted
 *   DIGEST <target> <name> failed            "replay --digest" prints for the same file
 *       ok 1 - corpus/<target> (<count> inputs)      after each target's entries
 *       not ok 2 - corpus/<target> (<count> inputs)
 *       # failed: <name>                     per failed entry (the first 16, then a count)
 *       # corpus: <inputs> inputs, <failed> failed
 *
 * A failing input is one whose run ended in fuzz_fail (the platform's crash returns to the
 * guarded run), whose target is unknown, or a malformed pack entry (the walk stops there and an
 * extra "not ok" subtest says so). Returns the number of failed inputs (a pack whose header
 * cannot be read counts as 1) and, when @passed is not NULL, the passed ones in *@passed.
 * The mm's log is silenced for every run (fuzz_platform.set_quiet(true); a failing target
 * unsilences it for its report) and left at the platform's normal level (set_quiet(false)).
 */
int kernel_corpus_replay(const void *pack, size_t size, unsigned int *passed);

#endif /* LEAXOS_FUZZ_REPLAY_KERNEL_H */
