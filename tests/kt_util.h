/*
 * kt_util.h - helpers shared by the mm test suites.
 *
 * Owns: booting the standard test machines (and skipping a case whose machine the platform cannot
 * hold: kt_boot_current), statistics snapshots and comparisons, a block list that tests fill with
 * allocations and free at the end, the misuse-report check, and the few hooks a platform must
 * provide (kt_host_*: hosted in test_main.c, kernel in tests/kernel/ktest_kernel.c).
 *
 * Everything here uses only the mm API, the machine API and KT_ macros, so it stays
 * freestanding-clean. Big scratch objects are static (tests are single-threaded) so test bodies do
 * not need large stacks.
 */
#ifndef LEAXOS_KT_UTIL_H
#define LEAXOS_KT_UTIL_H

#include "ktest.h"
#include "machine.h"
#include "mm_env.h" /* memset and log levels; provided freestanding by shims/kernel too */

#define KT_MIB(x) ((uint64_t)(x) << 20)
#define KT_ANY_PFN (~0ul - 1)

/* ---- machines ---- */

/** The machine of the current test (filled by the kt_boot_* helpers, may be edited and re-booted). */
extern struct machine kt_m;

/** Boot a small machine of @mib MiB and @cpus CPUs (pcp lists disabled when @nopcp). 0 on success. */
int kt_boot_small(unsigned int mib, unsigned int cpus, bool nopcp);
/** Boot a PC-layout machine of @mib MiB and @cpus CPUs. 0 on success. */
int kt_boot_pc(unsigned int mib, unsigned int cpus);
/**
 * Boot kt_m as it is (then drain the per-CPU lists, so they start empty). 0 on success. When kt_m
 * ends beyond machine_capacity() (a 1 GiB PC in the kernel's 512 MiB machine area) the
 * case is skipped (KT_SKIP) instead of booted.
 */
int kt_boot_current(void);

/* ---- user pages (through the machine's MMU) ---- */

struct mm_struct;

/** The token word @gen gives the 8 bytes at user address @va (distinct per address and gen). */
uint64_t kt_user_token(uintptr_t va, unsigned int gen);
/** Write the page at @va of @mm through the MMU: each 8-byte word its token. 0 on success. */
int kt_user_fill(struct mm_struct *mm, uintptr_t va, unsigned int gen);
/** The page at @va holds what kt_user_fill(@gen) wrote at @filled (another mapping, or @va). */
int kt_user_verify_as(struct mm_struct *mm, uintptr_t va, uintptr_t filled, unsigned int gen);
/** kt_user_verify_as(mm, va, va, gen). */
int kt_user_verify(struct mm_struct *mm, uintptr_t va, unsigned int gen);
/** The leaf PTE of @va in @mm, 0 when no table maps it. */
uint64_t kt_user_pte(struct mm_struct *mm, uintptr_t va);

/* ---- stats ---- */

/** Scratch snapshots (large; static). */
extern struct page_alloc_stats kt_st_a, kt_st_b, kt_st_c;

/** mm_check() passes; otherwise prints the report and fails (after calling kt_check_fail_hook). */
int kt_check(void);
/** Set by a platform that keeps a record of a failed check (the kernel's "pmdump": the mm's dump,
 * mm_dump.h), called with "test SUITE.CASE: INVARIANT" while the broken state is live. NULL: none. */
extern void (*kt_check_fail_hook)(const char *why);
#define KT_MM_CHECK() KT_TRY(kt_check())

/** managed == nr_free + nr_pcp + nr_alloc in every zone, and nr_free matches the buddyinfo sum. */
int kt_conservation(void);

/** The page state of @a and @b (free/pcp/alloc counts, buddyinfo, pcp counts) is identical. */
int kt_state_same(const struct page_alloc_stats *a, const struct page_alloc_stats *b);

/** Buddyinfo of every zone identical. */
int kt_buddyinfo_same(const struct page_alloc_stats *a, const struct page_alloc_stats *b);

/** Free pages (buddy + pcp) of @zone now. */
unsigned long kt_zone_free(unsigned int zone);

/* ---- block list ---- */

struct kt_block {
    struct page *page;
    unsigned int order;
};

#define KT_MAX_BLOCKS 16384
extern struct kt_block kt_blocks[KT_MAX_BLOCKS];
extern unsigned int kt_nr_blocks;

/** Forget every block (without freeing). */
void kt_blocks_reset(void);
/** Record a block. Returns 0 or 1 when the list is full. */
int kt_blocks_push(struct page *p, unsigned int order);
/**
 * Allocate blocks of @order with @gfp until an allocation fails or @max were taken; every result
 * is recorded. Returns the number allocated; *@err gets the failing code (0 if @max reached).
 */
unsigned int kt_alloc_until_fail(gfp_t gfp, unsigned int order, unsigned int max, int *err);
/** Free every recorded block (asserting each free returns 0) and reset the list. */
int kt_blocks_free_all(void);

/**
 * Allocate (GFP_KERNEL) two order-@o blocks that are buddies of each other; other blocks taken on
 * the way are freed again. Uses the block list.
 */
int kt_alloc_buddy_pair(unsigned int o, struct page **a, struct page **b);

/* ---- misuse ---- */

/**
 * The last misuse report is of @kind and names @pfn (KT_ANY_PFN: do not check), and the count of
 * that kind is @before_kind + 1.
 */
int kt_expect_misuse(enum mm_misuse_kind kind, unsigned long pfn, unsigned long before_kind);

/* ---- misc ---- */

/** A deterministic pseudo-random number (xorshift64) from *@state. */
uint64_t kt_rand(uint64_t *state);

/** True if pfn lies in [lo, hi). */
static inline bool kt_in(unsigned long pfn, unsigned long lo, unsigned long hi)
{
    return pfn >= lo && pfn < hi;
}

/* ---- platform hooks (hosted: test_main.c, kernel: tests/kernel/ktest_kernel.c) ---- */

/** A page-aligned PAGE_SIZE buffer that is not part of the machine's memory, or NULL. */
void *kt_host_foreign_page(void);
void kt_host_free_foreign(void *p);

#endif /* LEAXOS_KT_UTIL_H */
