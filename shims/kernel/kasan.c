/*
 * kasan.c - the kernel's KASAN-style memory sanitizer runtime: the shadow of the covered regions,
 * the env_poison/env_unpoison hooks of mm_env.h that write it, the __asan_*_noabort callbacks
 * that clang's -fsanitize=kernel-address (outline mode) calls before every load and store, the
 * reports, and the expect window of negative tests. Build this file without instrumentation
 * (-fno-sanitize=all): it is what the instrumented code calls.
 *
 *   region r:  [start ............................................. end)   covered memory
 *   shadow:    r->shadow[(a - start) >> 3]  one byte per 8-byte granule (encoding in kasan.h)
 *   dirty:     [dirty_lo, dirty_hi) the extent written since the last reset; outside it every
 *              shadow byte equals base_code, so a reset rewrites only the dirty extent
 *
 * Invariants: regions are disjoint and page aligned; an address outside every region is never
 * checked and never reported (except a non-canonical one: a wild access). While a report is
 * being printed (kasan_in_report) no check reports, so the report may read poisoned memory
 * (through the describe hook, mm_describe_addr) and call instrumented code (env_log) safely.
 *
 * Freed slab objects: mm/heap/slab.c poisons a whole slot ENV_POISON_REDZONE whenever it closes
 * one, free or not, so the kind alone cannot tell a freed object from a never-used slot. The
 * allocator always opens a slot (unpoison of exactly the slot) right before closing it (poison of
 * exactly the slot, REDZONE); the runtime remembers which granules of the opened slot were
 * accessible or already marked freed, and the matching close marks those granules
 * ENV_POISON_FREE_OBJECT instead. So an object that was live becomes "freed" when its slot is
 * closed free, keeps that mark through later opens and closes, and turns accessible again only
 * when it is allocated (the allocator unpoisons the object itself). Never-allocated slots stay
 * REDZONE. If the mm ever poisons freed objects with ENV_POISON_FREE_OBJECT itself, that works too.
 *
 * CPUs: the shadow itself is written byte- and word-wise by whichever CPU poisons (slots never
 * share a granule); the slot memo is per real CPU (an open and its close run on one CPU, which a
 * single memo shared by all CPUs broke as soon as the APs ran the mm: another CPU's open in
 * between made a close mark a freed slot's granules wrongly, and KASAN then reported
 * slab-use-after-free on fresh objects); a region's dirty extent only grows between resets and
 * is extended under kasan_dirty_lock. The rest (expect windows, report bookkeeping) is touched
 * by the boot CPU's tests, with interrupts as the caller left them; a report that interrupts
 * another one is suppressed by kasan_in_report.
 */
#include "kasan.h"
#include "kernel_smp.h"
#include "mm_describe.h"
#include "machine.h"

#ifndef KERNEL_HARDENED
#define KERNEL_HARDENED 0
#endif

#define KASAN_GRANULE        8u
#define KASAN_SEEN_MAX       128u       /* distinct unexpected report locations remembered */
#define KASAN_WINDOW_SEEN    32u        /* distinct locations remembered inside a window */
#define KASAN_MEMO_MAX_SLOT  (80u << 10) /* largest range the slot memo scans (a slab slot) */
#define KASAN_RULE \
    "=================================================================="

struct kasan_region {
    uintptr_t start, end;
    int8_t *shadow;
    uintptr_t dirty_lo, dirty_hi; /* granule aligned; empty when lo >= hi */
    int8_t base_code;             /* shadow value outside the dirty extent */
};

/* The slot opened last (kasan_unpoison_range) and the granules of it that held a live or freed
 * object before it was opened: [lo, hi), empty when lo >= hi. */
struct kasan_slot_memo {
    uintptr_t addr;
    size_t size;
    uintptr_t lo, hi;
};

static struct kasan_region kasan_regions[KASAN_MAX_REGIONS];
static kasan_describe_fn kasan_describe_hook; /* mm_describe_addr, registered by the kernel */
static unsigned int kasan_nr_regions;
static uintptr_t kasan_hull_start, kasan_hull_size; /* smallest range holding every region */
static struct kasan_slot_memo kasan_memos[KERNEL_SMP_MAX_CPUS]; /* by real CPU index */
static unsigned int kasan_dirty_lock;
#define kasan_memo (kasan_memos[KERNEL_PERCPU_READ(index)])

static volatile bool kasan_in_report;
static bool kasan_window_open;
static unsigned int kasan_window_reports, kasan_window_nr_seen;
static uintptr_t kasan_window_seen[KASAN_WINDOW_SEEN];
static uintptr_t kasan_seen[KASAN_SEEN_MAX];
static unsigned int kasan_nr_seen;
static bool kasan_seen_full_noted;
static unsigned long kasan_unexpected, kasan_total, kasan_suppressed;
static struct kasan_report_info kasan_last;
static bool kasan_have_last;

/* ---- env_poison / env_unpoison (mm_env.h) ---- */

#if KERNEL_HARDENED
const bool env_shadow_enabled = true;

void env_poison(const void *addr, size_t size, enum env_poison_kind kind)
{
    kasan_poison_range(addr, size, kind);
}

void env_unpoison(const void *addr, size_t size) { kasan_unpoison_range(addr, size); }
#else
/* Not hardened: nothing is instrumented, so there is no shadow for the mm to keep. */
const bool env_shadow_enabled = false;

void env_poison(const void *addr, size_t size, enum env_poison_kind kind)
{
    (void)addr;
    (void)size;
    (void)kind;
}

void env_unpoison(const void *addr, size_t size)
{
    (void)addr;
    (void)size;
}
#endif

/* ---- regions and shadow ---- */

static struct kasan_region *kasan_region_of(uintptr_t a)
{
    if (a - kasan_hull_start >= kasan_hull_size)
        return NULL;
    for (unsigned int i = 0; i < kasan_nr_regions; i++) {
        struct kasan_region *r = &kasan_regions[i];
        if (a - r->start < r->end - r->start)
            return r;
    }
    return NULL;
}

static inline int8_t *kasan_shadow_of(const struct kasan_region *r, uintptr_t a)
{
    return r->shadow + ((a - r->start) >> 3);
}

/* Write @code to the shadow of granules [lo, hi) of @r (granule aligned, inside @r). */
/* Grow @r's dirty extent to cover [lo, hi). Lock-free when it already does: it only grows. */
static void kasan_dirty_extend(struct kasan_region *r, uintptr_t lo, uintptr_t hi)
{
    if (__atomic_load_n(&r->dirty_lo, __ATOMIC_RELAXED) <= lo &&
        __atomic_load_n(&r->dirty_hi, __ATOMIC_RELAXED) >= hi &&
        __atomic_load_n(&r->dirty_lo, __ATOMIC_RELAXED) < __atomic_load_n(&r->dirty_hi, __ATOMIC_RELAXED))
        return;
    while (__atomic_exchange_n(&kasan_dirty_lock, 1u, __ATOMIC_ACQUIRE))
        __asm__ __volatile__("pause" ::: "memory");
    if (r->dirty_lo >= r->dirty_hi) {
        r->dirty_lo = lo;
        r->dirty_hi = hi;
    } else {
        r->dirty_lo = MM_MIN(r->dirty_lo, lo);
        r->dirty_hi = MM_MAX(r->dirty_hi, hi);
    }
    __atomic_store_n(&kasan_dirty_lock, 0u, __ATOMIC_RELEASE);
}

static void kasan_fill(struct kasan_region *r, uintptr_t lo, uintptr_t hi, int8_t code)
{
    if (lo >= hi)
        return;
    int8_t *s = kasan_shadow_of(r, lo), *e = kasan_shadow_of(r, hi);
    while (s < e && ((uintptr_t)s & 7))
        *s++ = code;
    uint64_t word = 0x0101010101010101ull * (uint8_t)code;
    for (; e - s >= 8; s += 8)
        *(volatile uint64_t *)s = word; /* volatile: no call to memset from the runtime */
    while (s < e)
        *s++ = code;
    kasan_dirty_extend(r, lo, hi);
}

static void kasan_hull_update(void)
{
    uintptr_t lo = ~(uintptr_t)0, hi = 0;
    for (unsigned int i = 0; i < kasan_nr_regions; i++) {
        lo = MM_MIN(lo, kasan_regions[i].start);
        hi = MM_MAX(hi, kasan_regions[i].end);
    }
    kasan_hull_start = kasan_nr_regions ? lo : 0;
    kasan_hull_size = kasan_nr_regions ? hi - lo : 0;
}

void kasan_add_region(uintptr_t start, size_t size, int8_t *shadow)
{
    uintptr_t end = start + size;
    if (kasan_nr_regions >= KASAN_MAX_REGIONS || !shadow || size == 0 || end < start ||
        !MM_IS_ALIGNED(start | size, PAGE_SIZE))
        env_panic("kasan: bad region 0x%lx+0x%zx (shadow %p, %u regions)", (unsigned long)start,
                  size, (void *)shadow, kasan_nr_regions);
    for (unsigned int i = 0; i < kasan_nr_regions; i++)
        if (start < kasan_regions[i].end && kasan_regions[i].start < end)
            env_panic("kasan: region 0x%lx+0x%zx overlaps region %u", (unsigned long)start,
                      size, i);
    struct kasan_region *r = &kasan_regions[kasan_nr_regions];
    *r = (struct kasan_region){ .start = start, .end = end, .shadow = shadow, .base_code = 0 };
    kasan_fill(r, start, end, 0);
    r->dirty_lo = r->dirty_hi = 0;
    kasan_nr_regions++;
    kasan_hull_update();
}

int kasan_region_reset(uintptr_t start, enum env_poison_kind kind)
{
    for (unsigned int i = 0; i < kasan_nr_regions; i++) {
        struct kasan_region *r = &kasan_regions[i];
        if (r->start != start)
            continue;
        int8_t code = KASAN_SHADOW_CODE(kind);
        if (code != r->base_code)
            kasan_fill(r, r->start, r->end, code);
        else
            kasan_fill(r, r->dirty_lo, r->dirty_hi, code);
        r->base_code = code;
        r->dirty_lo = r->dirty_hi = 0;
        for (unsigned int c = 0; c < KERNEL_SMP_MAX_CPUS; c++)
            kasan_memos[c].size = 0;
        return 0;
    }
    return -1;
}

void kasan_reset_regions(void)
{
    for (unsigned int i = 0; i < kasan_nr_regions; i++)
        kasan_region_reset(kasan_regions[i].start, ENV_POISON_UNUSED);
}

/* Clip [a, b) to region @r into [*lo, *hi); false if they do not meet. */
static bool kasan_clip(const struct kasan_region *r, uintptr_t a, uintptr_t b, uintptr_t *lo,
                       uintptr_t *hi)
{
    *lo = MM_MAX(a, r->start);
    *hi = MM_MIN(b, r->end);
    return *lo < *hi;
}

void kasan_poison_range(const void *addr, size_t size, enum env_poison_kind kind)
{
    uintptr_t a = (uintptr_t)addr, b = a + size;
    if (b < a)
        b = ~(uintptr_t)0;
    bool freed = kind == ENV_POISON_REDZONE && kasan_memo.addr == a && kasan_memo.size == size &&
                 kasan_memo.lo < kasan_memo.hi;
    struct kasan_slot_memo memo = kasan_memo;
    kasan_memo.size = 0;
    for (unsigned int i = 0; i < kasan_nr_regions; i++) {
        struct kasan_region *r = &kasan_regions[i];
        uintptr_t lo, hi;
        if (kasan_clip(r, a, b, &lo, &hi))
            kasan_fill(r, MM_ALIGN_UP(lo, KASAN_GRANULE), MM_ALIGN_DOWN(hi, KASAN_GRANULE),
                       KASAN_SHADOW_CODE(kind));
    }
    if (freed) {
        struct kasan_region *r = kasan_region_of(memo.lo);
        if (r && memo.hi <= r->end)
            kasan_fill(r, memo.lo, memo.hi, KASAN_SHADOW_CODE(ENV_POISON_FREE_OBJECT));
    }
}

/* Remember which granules of the slot-sized range [a, a+size) hold a live or freed object, for
 * the close that follows (see the file comment). */
static void kasan_memo_open(uintptr_t a, size_t size)
{
    kasan_memo = (struct kasan_slot_memo){ .addr = a, .size = size };
    struct kasan_region *r = kasan_region_of(a);
    if (!r || size > KASAN_MEMO_MAX_SLOT || size > r->end - a || !MM_IS_ALIGNED(a, KASAN_GRANULE))
        return;
    const int8_t freed = KASAN_SHADOW_CODE(ENV_POISON_FREE_OBJECT);
    const int8_t redzone = KASAN_SHADOW_CODE(ENV_POISON_REDZONE);
    int8_t first = *kasan_shadow_of(r, a);
    if (first != redzone && first != freed && first < 0)
        return; /* a page or unused memory, not a slot */
    uintptr_t lo = 0, hi = 0;
    for (uintptr_t g = a; g < a + size; g += KASAN_GRANULE) {
        int8_t s = *kasan_shadow_of(r, g);
        if (s >= 0 || s == freed) {
            if (lo >= hi)
                lo = g;
            hi = g + KASAN_GRANULE;
        }
    }
    kasan_memo.lo = lo;
    kasan_memo.hi = hi;
}

void kasan_unpoison_range(const void *addr, size_t size)
{
    uintptr_t a = (uintptr_t)addr, b = a + size;
    if (b < a)
        b = ~(uintptr_t)0;
    kasan_memo_open(a, size);
    for (unsigned int i = 0; i < kasan_nr_regions; i++) {
        struct kasan_region *r = &kasan_regions[i];
        uintptr_t lo, hi;
        if (!kasan_clip(r, a, b, &lo, &hi))
            continue;
        uintptr_t full = MM_ALIGN_DOWN(hi, KASAN_GRANULE);
        kasan_fill(r, MM_ALIGN_DOWN(lo, KASAN_GRANULE), full, 0);
        if (full < hi) {
            kasan_fill(r, full, full + KASAN_GRANULE, 0);
            *kasan_shadow_of(r, full) = (int8_t)(hi - full);
        }
    }
}

/* enum env_poison_kind of a poisoned shadow byte (@s < 0), 0xf for an unknown code. */
static int kasan_code_kind(int8_t s)
{
    int kind = (uint8_t)s & 0x0f;
    bool known = ((uint8_t)s & 0xf0) == 0xf0 && kind >= ENV_POISON_FREE_PAGE &&
                 kind <= ENV_POISON_METADATA;
    return known ? kind : 0xf;
}

int kasan_shadow_state(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    const struct kasan_region *r = kasan_region_of(a);
    if (!r)
        return -1;
    int8_t s = *kasan_shadow_of(r, a);
    if (s == 0 || (s > 0 && (int)(a & 7) < s))
        return 0;
    return s > 0 ? ENV_POISON_REDZONE : kasan_code_kind(s);
}

bool kasan_enabled(void) { return env_shadow_enabled && kasan_nr_regions > 0; }

bool machine_shadow_poisoned(const void *p) { return env_shadow_enabled && kasan_shadow_state(p) > 0; }

/* ---- reports ---- */

static const char *kasan_kind_name(int kind)
{
    switch (kind) {
    case ENV_POISON_FREE_PAGE: return "free page";
    case ENV_POISON_UNUSED: return "unused memory";
    case ENV_POISON_REDZONE: return "red zone";
    case ENV_POISON_FREE_OBJECT: return "freed object";
    case ENV_POISON_METADATA: return "allocator metadata";
    default: return "unknown poison";
    }
}

/* Poison kind of the bad byte at @a: a byte past a partial granule's prefix takes the kind of
 * the next granule (the memory that follows the short object). */
static int kasan_bad_kind(const struct kasan_region *r, uintptr_t a)
{
    int8_t s = *kasan_shadow_of(r, a);
    if (s > 0) {
        uintptr_t next = MM_ALIGN_DOWN(a, KASAN_GRANULE) + KASAN_GRANULE;
        s = next < r->end ? *kasan_shadow_of(r, next) : 0;
        if (s >= 0)
            return ENV_POISON_REDZONE;
    }
    return kasan_code_kind(s);
}

void kasan_set_describe(kasan_describe_fn fn) { kasan_describe_hook = fn; }

/* What the mm knows of @addr (through the hook); false, owner NONE, when nothing is registered. */
static bool kasan_describe(const void *addr, struct mm_addr_desc *d)
{
    if (kasan_describe_hook)
        return kasan_describe_hook(addr, d);
    *d = (struct mm_addr_desc){ .owner = MM_ADDR_NONE, .pfn = ~0ul };
    return false;
}

static bool kasan_in_vmalloc(const struct mm_addr_desc *d)
{
    return d->owner == MM_ADDR_VMALLOC || d->owner == MM_ADDR_VMALLOC_UNUSED;
}

/* The bug type from the shadow kind and what the mm says about the address. */
static const char *kasan_bug_type(int kind, const struct mm_addr_desc *d)
{
    bool slab = d->owner == MM_ADDR_SLAB;
    switch (kind) {
    case ENV_POISON_FREE_OBJECT:
        return "slab-use-after-free";
    case ENV_POISON_REDZONE:
        if (slab)
            return d->part == MM_SLAB_OBJECT && d->state == MM_OBJ_FREED ? "slab-use-after-free"
                                                                         : "slab-out-of-bounds";
        return kasan_in_vmalloc(d) ? "vmalloc-out-of-bounds" : "out-of-bounds";
    case ENV_POISON_FREE_PAGE:
        return "page-use-after-free";
    case ENV_POISON_UNUSED:
        return kasan_in_vmalloc(d) ? "vmalloc-unmapped-access" : "unused-memory-access";
    case ENV_POISON_METADATA:
        return slab ? "slab-out-of-bounds" : "metadata-access";
    default:
        return "invalid-access";
    }
}

/* An out-of-bounds access into a slot whose object is not allocated most likely ran off the
 * allocated object before it: describe relative to that one (into *@prev). Returns true if so. */
static bool kasan_prefer_previous(uintptr_t bad, const struct mm_addr_desc *d,
                                  struct mm_addr_desc *prev)
{
    if (d->owner != MM_ADDR_SLAB || d->state == MM_OBJ_ALLOCATED || d->slot_size == 0 ||
        d->object < d->slot_size || d->offset >= (long)d->object_size)
        return false;
    if (!kasan_describe((const void *)(d->object - d->slot_size), prev) ||
        prev->owner != MM_ADDR_SLAB || prev->state != MM_OBJ_ALLOCATED ||
        prev->object + prev->slot_size != d->object)
        return false;
    prev->offset = (long)(bad - prev->object);
    return true;
}

static const char *kasan_state_name(enum mm_obj_state s)
{
    switch (s) {
    case MM_OBJ_ALLOCATED: return "allocated";
    case MM_OBJ_FREE: return "free";
    case MM_OBJ_FREED: return "freed";
    case MM_OBJ_NEVER_ALLOCATED: return "free, never allocated";
    default: return "in an unknown state";
    }
}

static const char *kasan_part_name(enum mm_slab_part p)
{
    switch (p) {
    case MM_SLAB_OBJECT: return "the object";
    case MM_SLAB_LEFT_REDZONE: return "the slot's left red zone";
    case MM_SLAB_RIGHT_REDZONE: return "the slot's right red zone";
    case MM_SLAB_METADATA: return "the slot's metadata";
    default: return "slab padding outside every slot";
    }
}

/* "N bytes inside of / to the right of / to the left of the S-byte region [a, b)" */
static void kasan_print_region_offset(uintptr_t start, size_t size, long off)
{
    const char *rel = "inside of";
    long n = off;
    if (off < 0) {
        rel = "to the left of";
        n = -off;
    } else if ((size_t)off >= size) {
        rel = "to the right of";
        n = off - (long)size;
    }
    env_log(ENV_LOG_ERR, "The buggy address is located %ld bytes %s the %zu-byte region "
            "[%016lx, %016lx)\n", n, rel, size, (unsigned long)start,
            (unsigned long)(start + size));
}

/* @d: the object the report is about; @next: the slot the bad byte lies in when that is the
 * following one (an overflow off the end of @d's object), else NULL. */
static void kasan_print_slab(const struct mm_addr_desc *d, const struct mm_addr_desc *next)
{
    env_log(ENV_LOG_ERR, "The buggy address belongs to the object at %016lx which belongs to the "
            "cache %s of size %zu (slot %zu bytes%s)\n", (unsigned long)d->object, d->cache,
            d->object_size, d->slot_size, d->hardened ? ", hardened" : "");
    kasan_print_region_offset(d->object, d->object_size, d->offset);
    if (next)
        env_log(ENV_LOG_ERR, "The object is %s; the buggy address lies in %s of the next slot "
                "(object at %016lx, %s)\n", kasan_state_name(d->state), kasan_part_name(next->part),
                (unsigned long)next->object, kasan_state_name(next->state));
    else
        env_log(ENV_LOG_ERR, "It lies in %s; the object is %s\n", kasan_part_name(d->part),
                kasan_state_name(d->state));
    if (d->alloc_site && d->state != MM_OBJ_UNKNOWN)
        env_log(ENV_LOG_ERR, "The object was last allocated at [<%016lx>]\n",
                (unsigned long)d->alloc_site);
}

static void kasan_print_desc(const struct mm_addr_desc *d, const struct mm_addr_desc *next)
{
    switch (d->owner) {
    case MM_ADDR_SLAB:
        kasan_print_slab(d, next);
        break;
    case MM_ADDR_LARGE:
        env_log(ENV_LOG_ERR, "The buggy address belongs to a large kmalloc allocation at %016lx "
                "(order %u)\n", (unsigned long)d->object, d->order);
        kasan_print_region_offset(d->object, d->object_size, d->offset);
        break;
    case MM_ADDR_VMALLOC:
        env_log(ENV_LOG_ERR, "The buggy address belongs to the vmalloc area at %016lx (its guard "
                "page follows the mapped bytes)\n", (unsigned long)d->object);
        kasan_print_region_offset(d->object, d->object_size, d->offset);
        break;
    case MM_ADDR_NONE:
        env_log(ENV_LOG_ERR, "The buggy address is not memory of the live mm instance\n");
        return;
    default:
        env_log(ENV_LOG_ERR, "The buggy address belongs to a %s\n", mm_addr_owner_name(d->owner));
        break;
    }
    if (d->owner == MM_ADDR_PCP_PAGE)
        env_log(ENV_LOG_ERR, "The page is on CPU %u's per-CPU free list\n", d->cpu);
    if (d->pfn != ~0ul)
        env_log(ENV_LOG_ERR, "The buggy address belongs to the physical page: pfn 0x%lx (%s, "
                "block %016lx order %u)\n", d->pfn, mm_addr_owner_name(d->owner),
                (unsigned long)d->block, d->order);
    if (d->alloc_site && d->owner != MM_ADDR_SLAB)
        env_log(ENV_LOG_ERR, "The block was allocated at [<%016lx>]\n",
                (unsigned long)d->alloc_site);
}

/* Five rows of 16 shadow bytes (128 bytes of memory each) around @bad, the row of @bad marked. */
static void kasan_print_shadow(const struct kasan_region *r, uintptr_t bad)
{
    const uintptr_t row_bytes = 16 * KASAN_GRANULE;
    uintptr_t bad_row = bad & ~(row_bytes - 1);
    env_log(ENV_LOG_ERR, "Memory state around the buggy address (f1 free page, f2 unused, "
            "f3 red zone, f4 freed object, f5 metadata):\n");
    for (int i = -2; i <= 2; i++) {
        uintptr_t row = bad_row + (uintptr_t)((long)i * (long)row_bytes);
        if (row + row_bytes <= r->start || row >= r->end)
            continue; /* nothing of this row is covered */
        char line[96];
        int n = mm_snprintf(line, sizeof(line), "%c%016lx:", row == bad_row ? '>' : ' ',
                            (unsigned long)row);
        for (unsigned int j = 0; j < 16 && n > 0 && n < (int)sizeof(line); j++) {
            uintptr_t g = row + j * KASAN_GRANULE;
            if (g >= r->start && g < r->end)
                n += mm_snprintf(line + n, sizeof(line) - (size_t)n, " %02x",
                                 (unsigned int)(uint8_t)*kasan_shadow_of(r, g));
            else
                n += mm_snprintf(line + n, sizeof(line) - (size_t)n, "   ");
        }
        env_log(ENV_LOG_ERR, "%s\n", line);
        if (row == bad_row)
            env_log(ENV_LOG_ERR, "%*s^\n", 1 + 16 + 1 + 3 * (int)((bad - row) / KASAN_GRANULE) + 1,
                    "");
    }
}

/* Was @ip reported already? Remembers it if not. Returns true for a repeat. */
static bool kasan_seen_before(uintptr_t ip, uintptr_t *table, unsigned int *nr, unsigned int max)
{
    for (unsigned int i = 0; i < *nr; i++)
        if (table[i] == ip)
            return true;
    if (*nr < max)
        table[(*nr)++] = ip;
    return false;
}

static void kasan_record(const char *bug, uintptr_t access, size_t size, bool write, uintptr_t ip,
                         uintptr_t bad, int kind, const struct mm_addr_desc *d)
{
    kasan_last = (struct kasan_report_info){
        .bug = bug, .addr = bad, .access_addr = access, .size = size, .write = write, .ip = ip,
        .kind = kind, .object = d->object, .object_size = d->object_size, .offset = d->offset,
        .pfn = d->pfn,
    };
    for (unsigned int i = 0; d->owner == MM_ADDR_SLAB && d->cache &&
                             i < sizeof(kasan_last.cache) - 1 && d->cache[i]; i++)
        kasan_last.cache[i] = d->cache[i];
    kasan_have_last = true;
}

/* Count the report; returns false if it must not be printed (a repeated location). */
static bool kasan_count(uintptr_t ip)
{
    if (kasan_window_open) {
        if (kasan_seen_before(ip, kasan_window_seen, &kasan_window_nr_seen, KASAN_WINDOW_SEEN)) {
            kasan_suppressed++;
            return false;
        }
        kasan_window_reports++;
        kasan_total++;
        return true;
    }
    bool full = kasan_nr_seen >= KASAN_SEEN_MAX;
    if (kasan_seen_before(ip, kasan_seen, &kasan_nr_seen, KASAN_SEEN_MAX)) {
        kasan_suppressed++;
        return false;
    }
    kasan_unexpected++;
    if (full) { /* a new location we cannot remember: counted, not printed */
        if (!kasan_seen_full_noted)
            env_log(ENV_LOG_ERR, "kasan: more than %u report locations; counting the rest "
                    "without printing them\n", KASAN_SEEN_MAX);
        kasan_seen_full_noted = true;
        kasan_suppressed++;
        return false;
    }
    kasan_total++;
    return true;
}

static MM_NOINLINE void kasan_report(const struct kasan_region *r, uintptr_t access, size_t size,
                                     bool write, uintptr_t ip, uintptr_t bad)
{
    if (kasan_in_report)
        return;
    kasan_in_report = true;
    if (kasan_count(ip)) {
        struct mm_addr_desc d = { .owner = MM_ADDR_NONE, .pfn = ~0ul }, at;
        int kind = r ? kasan_bad_kind(r, bad) : 0xf;
        const char *bug = "wild-memory-access";
        bool moved = false;
        if (r) {
            kasan_describe((const void *)bad, &at);
            bug = kasan_bug_type(kind, &at);
            moved = kind != ENV_POISON_FREE_OBJECT && at.state != MM_OBJ_FREED &&
                    kasan_prefer_previous(bad, &at, &d);
            if (!moved)
                d = at;
        }
        env_log(ENV_LOG_ERR, "%s\nBUG: KASAN: %s in [<%016lx>]%s\n", KASAN_RULE, bug,
                (unsigned long)ip, kasan_window_open ? " (expected by a test)" : "");
        env_log(ENV_LOG_ERR, "%s of size %zu at addr %016lx (first bad byte %016lx: %s)\n",
                write ? "Write" : "Read", size, (unsigned long)access, (unsigned long)bad,
                r ? kasan_kind_name(kind) : "non-canonical address");
        if (r) {
            kasan_print_desc(&d, moved ? &at : NULL);
            kasan_print_shadow(r, bad);
        }
        env_log(ENV_LOG_ERR, "%s\n", KASAN_RULE);
        kasan_record(bug, access, size, write, ip, bad, kind, &d);
    }
    kasan_in_report = false;
}

/* ---- checks ---- */

static bool kasan_canonical(uintptr_t a)
{
    intptr_t top = (intptr_t)a >> 47;
    return top == 0 || top == -1;
}

/* First byte of [a, end) that the shadow of @r forbids, or 0 with *ok = true. */
static uintptr_t kasan_first_bad(const struct kasan_region *r, uintptr_t a, uintptr_t end, bool *ok)
{
    for (uintptr_t g = MM_ALIGN_DOWN(a, KASAN_GRANULE); g < end; g += KASAN_GRANULE) {
        int8_t s = *kasan_shadow_of(r, g);
        if (s == 0)
            continue;
        uintptr_t lo = MM_MAX(a, g);
        if (s < 0 || end > g + (uintptr_t)s) {
            *ok = false;
            return s < 0 ? lo : MM_MAX(lo, g + (uintptr_t)s);
        }
    }
    *ok = true;
    return 0;
}

static MM_NOINLINE bool kasan_check_slow(uintptr_t a, size_t size, bool write, uintptr_t ip)
{
    const struct kasan_region *r = kasan_region_of(a);
    if (!r) {
        if (!kasan_canonical(a) && kasan_nr_regions) {
            kasan_report(NULL, a, size, write, ip, a);
            return false;
        }
        return true;
    }
    uintptr_t end = a + size;
    if (end < a || end > r->end)
        end = r->end;
    bool ok;
    uintptr_t bad = kasan_first_bad(r, a, end, &ok);
    if (!ok)
        kasan_report(r, a, size, write, ip, bad);
    return ok;
}

/* The hot path: an access of 1..16 bytes inside one granule whose shadow allows it. */
static inline __attribute__((always_inline)) void kasan_check_access(uintptr_t a, size_t size,
                                                                     bool write, uintptr_t ip)
{
    if (mm_likely(a - kasan_hull_start >= kasan_hull_size)) {
        if (mm_unlikely(!kasan_canonical(a)))
            kasan_check_slow(a, size, write, ip);
        return;
    }
    const struct kasan_region *r = &kasan_regions[0]; /* the machine area: nearly every access */
    if (a - r->start >= r->end - r->start) {
        r = kasan_region_of(a); /* inside the hull: canonical */
        if (!r)
            return;
    }
    if ((a & 7) + size <= KASAN_GRANULE) {
        int8_t s = *kasan_shadow_of(r, a);
        if (mm_likely(s == 0) || (s > 0 && (int)((a & 7) + size) <= s))
            return;
    }
    kasan_check_slow(a, size, write, ip);
}

bool kasan_check_range(const void *addr, size_t size, bool write, uintptr_t ip)
{
    if (size == 0)
        return true;
    return kasan_check_slow((uintptr_t)addr, size, write, ip);
}

/* ---- expect window and counters ---- */

void kasan_expect_begin(void)
{
    kasan_window_open = true;
    kasan_window_reports = 0;
    kasan_window_nr_seen = 0;
}

unsigned kasan_expect_end(void)
{
    kasan_window_open = false;
    return kasan_window_reports;
}

unsigned long kasan_unexpected_reports(void) { return kasan_unexpected; }
unsigned long kasan_total_reports(void) { return kasan_total; }
unsigned long kasan_suppressed_reports(void) { return kasan_suppressed; }
const struct kasan_report_info *kasan_last_report(void)
{
    return kasan_have_last ? &kasan_last : NULL;
}

/* ---- compiler callbacks (clang -fsanitize=kernel-address, outline, recoverable) ---- */

#define KASAN_RET_IP ((uintptr_t)__builtin_return_address(0))

#define KASAN_CALLBACKS(n) \
    void __asan_load##n##_noabort(uintptr_t addr); \
    void __asan_store##n##_noabort(uintptr_t addr); \
    void __asan_load##n##_noabort(uintptr_t addr) \
    { \
        kasan_check_access(addr, n, false, KASAN_RET_IP); \
    } \
    void __asan_store##n##_noabort(uintptr_t addr) \
    { \
        kasan_check_access(addr, n, true, KASAN_RET_IP); \
    }

KASAN_CALLBACKS(1)
KASAN_CALLBACKS(2)
KASAN_CALLBACKS(4)
KASAN_CALLBACKS(8)
KASAN_CALLBACKS(16)

void __asan_loadN_noabort(uintptr_t addr, size_t size);
void __asan_storeN_noabort(uintptr_t addr, size_t size);
void __asan_handle_no_return(void);

void __asan_loadN_noabort(uintptr_t addr, size_t size)
{
    if (size)
        kasan_check_slow(addr, size, false, KASAN_RET_IP);
}

void __asan_storeN_noabort(uintptr_t addr, size_t size)
{
    if (size)
        kasan_check_slow(addr, size, true, KASAN_RET_IP);
}

/* Called before a noreturn call. Stack variables are not instrumented (-asan-stack=0), so there is
 * no stack poison to drop. */
void __asan_handle_no_return(void) {}
