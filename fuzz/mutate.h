/*
 * mutate.h - a deterministic mutator of fuzz inputs, for differential runs: the hosted replay
 * ("replay --pack FILE --mutants K") and the kernel ("mutants=K" on its command line) derive the
 * same K variants of every corpus file and print one DIGEST line for each, so the two builds are
 * compared on inputs nobody checked in, not only on the corpus. Freestanding.
 *
 * A variant is a function of (the input bytes, its name, its index): nothing random, nothing from
 * the clock. It keeps the 8-byte machine header (the layout) except for one mutation kind in
 * eight, and edits whole 8-byte op records (the decoder folds any bytes into a valid op).
 */
#ifndef LEAXOS_FUZZ_MUTATE_H
#define LEAXOS_FUZZ_MUTATE_H

#include "ops.h"

/** Largest variant fuzz_mutate writes (the decoder reads at most FUZZ_MAX_INPUT bytes). */
#define FUZZ_MUTANT_MAX FUZZ_MAX_INPUT

/**
 * Write variant @index (1, 2, ...) of @in (@n bytes), named @name, into @out (FUZZ_MUTANT_MAX
 * bytes). Returns its size.
 */
size_t fuzz_mutate(const uint8_t *in, size_t n, const char *name, unsigned int index,
                   uint8_t out[FUZZ_MUTANT_MAX]);

#endif /* LEAXOS_FUZZ_MUTATE_H */
