/*
 * kasan.h - the kernel's KASAN-style memory sanitizer runtime (shims/kernel/kasan.c).
 *
 * Generic KASAN shadow: one shadow byte per 8-byte granule of a covered region.
 *
 *   shadow byte   meaning
 *   0x00          all 8 bytes accessible
 *   0x01..0x07    the first k bytes accessible, the rest not
 *   0xf1..0xf5    poisoned; low nibble = enum env_poison_kind (KASAN_SHADOW_CODE(kind)):
 *                 f1 free page, f2 unused, f3 red zone, f4 freed slab object, f5 metadata
 *
 * Covered regions are registered at boot (the direct map of the machine area, the vmalloc
 * window); an address outside every region is never checked. In a hardened kernel
 * (-DKERNEL_HARDENED=1) env_poison/env_unpoison (mm_env.h) write this shadow and the code built
 * with -fsanitize=kernel-address calls the __asan_*_noabort checks; a bad access prints a report
 * (bug type, access, location as [<return address>], the shadow around it, and what the mm knows
 * of the address: cache, object, offset, page) once per location and execution continues.
 *
 * Boot order: kasan_set_describe(mm_describe_addr), kasan_add_region() for each region before
 * the first mm instance that uses it
 * boots; kasan_reset_regions() (or kasan_region_reset()) every time a fresh mm instance boots
 * over the machine area, before mm_init, the way the hosted machine poisons its arena.
 */
#ifndef LEAXOS_KASAN_H
#define LEAXOS_KASAN_H

#include "mm_env.h"

struct mm_addr_desc;

/**
 * What the runtime asks about a bad address for its report (mm_describe_addr of mm_describe.h):
 * fill *@d, return true if the address is memory of the live mm instance. The runtime is part of
 * the env, below mm/, so it does not call mm/ itself: the kernel registers mm_describe_addr here
 * at boot. Without a hook, reports name no owner.
 */
typedef bool (*kasan_describe_fn)(const void *addr, struct mm_addr_desc *d);
void kasan_set_describe(kasan_describe_fn fn);

/** Regions the runtime can cover. */
#define KASAN_MAX_REGIONS 4

/** Shadow byte of memory poisoned for @kind (an enum env_poison_kind). */
#define KASAN_SHADOW_CODE(kind) ((int8_t)(0xf0 | ((kind) & 0x0f)))

/** Bytes of shadow a region of @size bytes needs. */
#define KASAN_SHADOW_BYTES(size) ((size) >> 3)

/**
 * Cover [@start, @start + @size) with @shadow (KASAN_SHADOW_BYTES(@size) bytes the boot code
 * owns for the rest of the run, outside every covered region). @start and @size must be page
 * aligned and the region must not overlap another. The region starts all accessible. Panics on a
 * violated precondition or when KASAN_MAX_REGIONS regions exist (a boot bug, not a runtime one).
 */
void kasan_add_region(uintptr_t start, size_t size, int8_t *shadow);

/**
 * Poison the whole region that starts at @start with @kind. Cheap when little changed: only the
 * extent written since the previous reset to the same kind is rewritten. Returns 0, or -1 if no
 * region starts at @start.
 */
int kasan_region_reset(uintptr_t start, enum env_poison_kind kind);

/** kasan_region_reset(start, ENV_POISON_UNUSED) of every region: call when a fresh mm boots. */
void kasan_reset_regions(void);

/** Mark [@addr, @addr + @size) poisoned for @kind (granules entirely inside the range). */
void kasan_poison_range(const void *addr, size_t size, enum env_poison_kind kind);

/** Mark [@addr, @addr + @size) accessible (a partial last granule gets its byte count). */
void kasan_unpoison_range(const void *addr, size_t size);

/**
 * Check an access of @size bytes at @addr made from @ip (a return address); report it if it
 * touches poisoned shadow. Returns true if the access is fine. For code the compiler does not
 * instrument, e.g. mem* routines: kasan_check_range(dst, n, true, _RET_IP_).
 */
bool kasan_check_range(const void *addr, size_t size, bool write, uintptr_t ip);

/**
 * Shadow state of the byte at @addr: -1 not covered by any region, 0 accessible, otherwise the
 * enum env_poison_kind it is poisoned for (ENV_POISON_REDZONE for a byte past a partial granule's
 * accessible prefix, 0xf for an unknown code).
 */
int kasan_shadow_state(const void *addr);

/** True in a hardened kernel: the shadow is live (env_shadow_enabled) and a region exists. */
bool kasan_enabled(void);

/** What the last report said (for negative tests). */
struct kasan_report_info {
    const char *bug;          /* "slab-use-after-free", "slab-out-of-bounds", ... */
    uintptr_t addr;           /* first bad byte */
    uintptr_t access_addr;    /* start of the access */
    size_t size;              /* access size */
    bool write;
    uintptr_t ip;             /* return address into the code that made the access */
    int kind;                 /* poison kind of the bad byte (enum env_poison_kind), 0xf unknown */
    char cache[32];           /* slab cache name, "" if not a slab address */
    uintptr_t object;         /* object (or block) start the address was related to, 0 if none */
    size_t object_size;
    long offset;              /* addr - object */
    unsigned long pfn;        /* page frame, ~0ul if none */
};

/**
 * Open an expect window: reports until kasan_expect_end are printed and counted as expected,
 * not as failures, and deduplicated only within the window. Windows do not nest.
 */
void kasan_expect_begin(void);
/** Close the window; returns the number of reports made inside it. */
unsigned kasan_expect_end(void);

/** Reports outside any expect window (the kernel fails the run if non-zero). */
unsigned long kasan_unexpected_reports(void);
/** All reports printed so far (expected ones included). */
unsigned long kasan_total_reports(void);
/** Bad accesses not printed because their location had been reported already. */
unsigned long kasan_suppressed_reports(void);
/** The last report made, or NULL if there was none. */
const struct kasan_report_info *kasan_last_report(void);

#endif /* LEAXOS_KASAN_H */
