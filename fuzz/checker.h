/*
 * checker.h - checks shared by the page_alloc, slab and boot targets: "corrupt VICTIM x=" (the
 * invariant checker must name a deliberately broken invariant, then pass again once the exact
 * original bytes are back) and "stats" (statistics consistency; page_alloc_show / slab_show run).
 * Freestanding-clean; reads mm internals (mm/heap/slab_internal.h) to find victims.
 */
#ifndef LEAXOS_FUZZ_CHECKER_H
#define LEAXOS_FUZZ_CHECKER_H

#include "fuzz_target.h"

/** A target's failure function: reports @what (already formatted) in the target's own "FUZZ-FAIL"
 * form and never returns. */
typedef void (*fz_fail_fn)(const char *what);

/**
 * Corrupt one structure of kind @victim (enum fuzz_corrupt_kind) picked from @x, require
 * mm_check() == -MM_ECORRUPT naming an expected invariant, restore, require mm_check() == 0.
 * Returns false (nothing done) when the machine has no such victim.
 */
bool fz_corrupt(uint32_t victim, uint32_t x, fz_fail_fn fail);

/**
 * Run one cycle of mm_check_step (every CPU's lists: the harness's CPUs stand still) and judge it
 * against mm_check, which named @found (NULL: it passed). Agreement: both pass; or the step names
 * @found or one of @names (the other names that damage may carry, up to @nnames); or @found is
 * an invariant the step cannot see (mm_check_step_sees), and whatever the step finds (perhaps the
 * same damage under the name its view gives it) is accepted. Returns NULL when they
 * agree, else a message for the target's failure ("checker-step-...").
 */
const char *fz_step_disagrees(const char *found, const char *const *names, unsigned int nnames);

/** Allocation-site accounting (mm_alloc_sites) against the counters: per cache name the grouped
 * objects are the caches' active_objs, and the vmalloc groups count every live area (more
 * objects or groups than mm_alloc_sites holds, or KFENCE sampling on, is not judged). */
void fz_check_sites(fz_fail_fn fail);

/** Statistics consistency of the page allocator (and of every cache when @slab). */
void fz_check_stats(bool slab, fz_fail_fn fail);

#endif /* LEAXOS_FUZZ_CHECKER_H */
