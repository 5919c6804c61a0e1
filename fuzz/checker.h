/*
 * checker.h - checks shared by the page_alloc, slab and boot targets: "corrupt VICTIM x=" (the
 * invariant checker must name a deliberately broken invariant, then pass again once the exact
 * original bytes are back) and "stats" (statistics consistency; page_alloc_show / slab_show run).
 * Freestanding-clean; reads mm internals (mm/heap/slab_internal.h) to find victims.
 */
#ifndef LEAXOS_FUZZ_CHECKER_H
#define LEAXOS_FUZZ_CHECKER_H

#include "fuzz_target.h"

/** A target's failure function: formats "head: detail", never returns. */
typedef void (*fz_fail_fn)(const char *fmt, ...);

/**
 * Corrupt one structure of kind @victim (enum fuzz_corrupt_kind) picked from @x, require
 * mm_check() == -MM_ECORRUPT naming an expected invariant, restore, require mm_check() == 0.
 * Returns false (nothing done) when the machine has no such victim.
 */
bool fz_corrupt(uint32_t victim, uint32_t x, fz_fail_fn fail);

/** Statistics consistency of the page allocator (and of every cache when @slab). */
void fz_check_stats(bool slab, fz_fail_fn fail);

#endif /* LEAXOS_FUZZ_CHECKER_H */
