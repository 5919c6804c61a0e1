/*
 * check_sanitizers.c - negative checks proving that the hardened kernel's sanitizers are real:
 * deliberate use-after-free, out-of-bounds and undefined operations, each of which must produce
 * exactly one report of the right kind (see check_sanitizers.h for the output).
 *
 * Every check boots a fresh mm instance over the machine area (machine_* API, implemented
 * by the kernel), opens the sanitizer's expect window, makes one bad access from a noinline
 * function through a volatile pointer (so the compiler can neither drop nor move it), closes the
 * window, and then compares the runtime's record of the last report with what the bug was:
 * bug type, cache, object start, offset, access size and direction, page frame.
 *
 * This file must be built WITH the hardened kernel's instrumentation (-fsanitize=kernel-address
 * and the UBSan list): the bad accesses are in it. In a kernel without -DKERNEL_HARDENED=1 the
 * runtime has no shadow and no handlers are called, so every check is skipped.
 */
#include "check_sanitizers.h"
#include "machine.h"
#include "kasan.h"
#include "kernel_arch.h"
#include "slab.h"
#include "ubsan.h"
#include "vmalloc.h"

#define CS_INDENT "    "
#define CS_MACHINE_BYTES (64ull << 20)
#define CS_HOLE_PA (640ull << 10) /* the PC layout's legacy hole: never handed out */

static volatile uint8_t cs_sink;
static volatile int cs_int_sink;

static void cs_printf(const char *fmt, ...) MM_PRINTF(1, 2);
static void cs_printf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = mm_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        kernel_serial_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Fail the enclosing check with a diagnostic line when @cond is false. */
#define CS_CHECK(cond, ...) do { \
    if (!(cond)) { \
        cs_printf(CS_INDENT "# %s:%d: failed: %s: ", __FILE__, __LINE__, #cond); \
        cs_printf(__VA_ARGS__); \
        cs_printf("\n"); \
        return 1; \
    } \
} while (0)

static bool cs_streq(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static bool cs_contains(const char *hay, const char *needle)
{
    for (; hay && *hay; hay++) {
        size_t i = 0;
        while (needle[i] && hay[i] == needle[i])
            i++;
        if (!needle[i])
            return true;
    }
    return false;
}

/* A fresh mm instance on a 64 MiB PC-like machine with one CPU. Returns mm_init's result. */
static int cs_boot(bool slab_hardened)
{
    struct machine m;
    machine_pc(&m, CS_MACHINE_BYTES, 1);
    m.slab_hardened = slab_hardened;
    return machine_boot(&m);
}

/* ---- the deliberate bugs (noinline, volatile: the access happens exactly as written) ---- */

static MM_NOINLINE uint8_t cs_bad_read(const volatile uint8_t *p) { return *p; }

static MM_NOINLINE void cs_bad_write(volatile uint8_t *p, uint8_t v) { *p = v; }

static void cs_probe_read(void *arg) { cs_sink = cs_bad_read(arg); }

static MM_NOINLINE int cs_bad_add(int a, int b) { return a + b; }

static MM_NOINLINE int cs_bad_shift(int v, int n) { return v << n; }

struct cs_array {
    int a[4];
    int after; /* keeps a[4] inside the struct: the read itself stays harmless */
};

static MM_NOINLINE int cs_bad_index(const struct cs_array *s, int i) { return s->a[i]; }

/* ---- KASAN checks ---- */

/* The report the window saw: exactly one, of type @bug, for an access of @size at @addr. */
static int cs_kasan_one(unsigned int n, const char *bug, uintptr_t addr, size_t size, bool write)
{
    const struct kasan_report_info *r = kasan_last_report();
    CS_CHECK(n == 1, "%u KASAN reports in the window, expected 1", n);
    CS_CHECK(r && cs_streq(r->bug, bug), "bug type %s, expected %s", r ? r->bug : "-", bug);
    CS_CHECK(r->addr == addr && r->size == size && r->write == write,
             "report says %s of %zu at %p, expected %s of %zu at %p", r->write ? "write" : "read",
             r->size, (void *)r->addr, write ? "write" : "read", size, (void *)addr);
    return 0;
}

/* The slab part of the last report: cache @cache, object @obj, offset @off. */
static int cs_kasan_slab(const char *cache, const void *obj, long off)
{
    const struct kasan_report_info *r = kasan_last_report();
    CS_CHECK(cs_streq(r->cache, cache), "cache \"%s\", expected %s", r->cache, cache);
    CS_CHECK(r->object == (uintptr_t)obj && r->offset == off,
             "object %p offset %ld, expected object %p offset %ld", (void *)r->object, r->offset,
             obj, off);
    return 0;
}

/* Without a report: the shadow follows what the mm hands out and takes back. */
static int check_kasan_shadow_tracks_mm(void)
{
    CS_CHECK(cs_boot(false) == 0, "boot failed");
    unsigned long before = kasan_total_reports();
    CS_CHECK(kasan_shadow_state(env_phys_to_virt(CS_HOLE_PA)) == ENV_POISON_UNUSED,
             "memory hole: shadow state %d", kasan_shadow_state(env_phys_to_virt(CS_HOLE_PA)));
    uint8_t *p = kmalloc(32, GFP_KERNEL);
    CS_CHECK(p != NULL, "kmalloc(32) failed");
    CS_CHECK(kasan_shadow_state(p) == 0 && kasan_shadow_state(p + 31) == 0,
             "live object: shadow %d..%d", kasan_shadow_state(p), kasan_shadow_state(p + 31));
    CS_CHECK(kfree(p) == 0, "kfree failed");
    CS_CHECK(kasan_shadow_state(p) == ENV_POISON_FREE_OBJECT, "freed object: shadow %d",
             kasan_shadow_state(p));
    uintptr_t page = __get_free_pages(GFP_KERNEL, 0);
    CS_CHECK(page != 0, "page allocation failed");
    CS_CHECK(kasan_shadow_state((void *)page) == 0, "allocated page: shadow %d",
             kasan_shadow_state((void *)page));
    CS_CHECK(free_pages(page, 0) == 0, "free_pages failed");
    CS_CHECK(kasan_shadow_state((void *)(page + PAGE_SIZE - 1)) == ENV_POISON_FREE_PAGE,
             "freed page: shadow %d", kasan_shadow_state((void *)(page + PAGE_SIZE - 1)));
    uint8_t *v = vmalloc(PAGE_SIZE);
    CS_CHECK(v != NULL, "vmalloc failed");
    CS_CHECK(kasan_shadow_state(v) == 0 && kasan_shadow_state(v + PAGE_SIZE) == ENV_POISON_REDZONE,
             "vmalloc area / guard page: shadow %d / %d", kasan_shadow_state(v),
             kasan_shadow_state(v + PAGE_SIZE));
    CS_CHECK(kasan_total_reports() == before, "%lu reports without a bad access",
             kasan_total_reports() - before);
    return 0;
}

static int check_kasan_slab_use_after_free(void)
{
    CS_CHECK(cs_boot(false) == 0, "boot failed");
    uint8_t *p = kmalloc(32, GFP_KERNEL);
    CS_CHECK(p != NULL, "kmalloc(32) failed");
    cs_bad_write(p + 8, 0x5a); /* in bounds, before the free: no report */
    CS_CHECK(kfree(p) == 0, "kfree failed");
    kasan_expect_begin();
    cs_sink = cs_bad_read(p + 8);
    unsigned int n = kasan_expect_end();
    CS_CHECK(cs_kasan_one(n, "slab-use-after-free", (uintptr_t)(p + 8), 1, false) == 0, "report");
    return cs_kasan_slab("kmalloc-32", p, 8);
}

static int check_kasan_slab_out_of_bounds(void)
{
    CS_CHECK(cs_boot(false) == 0, "boot failed");
    uint8_t *q = kmalloc(32, GFP_KERNEL);
    CS_CHECK(q != NULL, "kmalloc(32) failed");
    cs_sink = cs_bad_read(q + 31); /* last byte: no report */
    kasan_expect_begin();
    cs_sink = cs_bad_read(q + 32);
    unsigned int n = kasan_expect_end();
    CS_CHECK(cs_kasan_one(n, "slab-out-of-bounds", (uintptr_t)(q + 32), 1, false) == 0, "report");
    return cs_kasan_slab("kmalloc-32", q, 32);
}

/* Hardened slab: the byte after the object is its red zone. The write stores the red-zone fill
 * byte (0xcc), so the mm's own red-zone check at kfree finds nothing to repair. */
static int check_kasan_slab_redzone_write(void)
{
    CS_CHECK(cs_boot(true) == 0, "boot failed");
    uint8_t *q = kmalloc(32, GFP_KERNEL);
    CS_CHECK(q != NULL, "kmalloc(32) failed");
    kasan_expect_begin();
    cs_bad_write(q + 32, 0xcc);
    unsigned int n = kasan_expect_end();
    CS_CHECK(cs_kasan_one(n, "slab-out-of-bounds", (uintptr_t)(q + 32), 1, true) == 0, "report");
    CS_CHECK(cs_kasan_slab("kmalloc-32", q, 32) == 0, "slab description");
    CS_CHECK(kfree(q) == 0, "kfree after the red-zone write failed");
    return 0;
}

static int check_kasan_page_use_after_free(void)
{
    CS_CHECK(cs_boot(false) == 0, "boot failed");
    uintptr_t page = __get_free_pages(GFP_KERNEL, 0);
    CS_CHECK(page != 0, "page allocation failed");
    CS_CHECK(free_pages(page, 0) == 0, "free_pages failed");
    kasan_expect_begin();
    cs_sink = cs_bad_read((uint8_t *)page + 16);
    unsigned int n = kasan_expect_end();
    CS_CHECK(cs_kasan_one(n, "page-use-after-free", page + 16, 1, false) == 0, "report");
    unsigned long pfn = (unsigned long)MM_PFN_DOWN(env_virt_to_phys((void *)page));
    CS_CHECK(kasan_last_report()->pfn == pfn, "pfn 0x%lx, expected 0x%lx",
             kasan_last_report()->pfn, pfn);
    return 0;
}

/* The guard page after a vmalloc area: a report, then the fault the probe absorbs. */
static int check_kasan_vmalloc_guard(void)
{
    CS_CHECK(cs_boot(false) == 0, "boot failed");
    uint8_t *v = vmalloc(PAGE_SIZE);
    CS_CHECK(v != NULL, "vmalloc failed");
    struct kernel_fault f;
    kasan_expect_begin();
    bool faulted = kernel_probe(cs_probe_read, v + PAGE_SIZE, &f);
    unsigned int n = kasan_expect_end();
    CS_CHECK(cs_kasan_one(n, "vmalloc-out-of-bounds", (uintptr_t)(v + PAGE_SIZE), 1, false) == 0,
             "report");
    CS_CHECK(faulted, "the guard page did not fault");
    return 0;
}

/* ---- UBSan checks ---- */

static int cs_ubsan_one(unsigned int n, const char *check)
{
    const struct ubsan_report_info *r = ubsan_last_report();
    CS_CHECK(n == 1, "%u UBSan reports in the window, expected 1", n);
    CS_CHECK(r && cs_streq(r->check, check), "check %s, expected %s", r ? r->check : "-", check);
    CS_CHECK(cs_contains(r->file, "check_sanitizers.c") && r->line > 0,
             "location %s:%u is not this file", r->file, r->line);
    return 0;
}

static int check_ubsan_signed_integer_overflow(void)
{
    CS_CHECK(cs_boot(false) == 0, "boot failed");
    volatile int big = __INT_MAX__;
    ubsan_expect_begin();
    cs_int_sink = cs_bad_add(big, 1);
    return cs_ubsan_one(ubsan_expect_end(), "signed-integer-overflow");
}

static int check_ubsan_shift_out_of_bounds(void)
{
    CS_CHECK(cs_boot(false) == 0, "boot failed");
    volatile int by = 40;
    ubsan_expect_begin();
    cs_int_sink = cs_bad_shift(1, by);
    return cs_ubsan_one(ubsan_expect_end(), "shift-out-of-bounds");
}

static int check_ubsan_array_index_out_of_bounds(void)
{
    CS_CHECK(cs_boot(false) == 0, "boot failed");
    struct cs_array s = { { 1, 2, 3, 4 }, 5 };
    volatile int idx = 4;
    ubsan_expect_begin();
    cs_int_sink = cs_bad_index(&s, idx);
    return cs_ubsan_one(ubsan_expect_end(), "array-index-out-of-bounds");
}

/* ---- runner ---- */

struct cs_check {
    const char *name;
    int (*fn)(void);
    bool kasan; /* needs the KASAN shadow (else UBSan) */
};

static const struct cs_check cs_checks[KERNEL_SANITIZER_CHECKS] = {
    { "kasan_shadow_tracks_mm", check_kasan_shadow_tracks_mm, true },
    { "kasan_slab_use_after_free", check_kasan_slab_use_after_free, true },
    { "kasan_slab_out_of_bounds", check_kasan_slab_out_of_bounds, true },
    { "kasan_slab_redzone_write", check_kasan_slab_redzone_write, true },
    { "kasan_page_use_after_free", check_kasan_page_use_after_free, true },
    { "kasan_vmalloc_guard", check_kasan_vmalloc_guard, true },
    { "ubsan_signed_integer_overflow", check_ubsan_signed_integer_overflow, false },
    { "ubsan_shift_out_of_bounds", check_ubsan_shift_out_of_bounds, false },
    { "ubsan_array_index_out_of_bounds", check_ubsan_array_index_out_of_bounds, false },
};

/* Run one check; a pass also requires that it caused no report outside its window. */
static bool cs_run(const struct cs_check *c)
{
    unsigned long kasan_before = kasan_unexpected_reports();
    unsigned long ubsan_before = ubsan_unexpected_reports();
    if (c->fn() != 0)
        return false;
    unsigned long extra = kasan_unexpected_reports() - kasan_before +
                          ubsan_unexpected_reports() - ubsan_before;
    if (extra) {
        cs_printf(CS_INDENT "# %s: %lu unexpected sanitizer reports\n", c->name, extra);
        return false;
    }
    return true;
}

int kernel_check_sanitizers(void)
{
    int failed = 0;
    cs_printf(CS_INDENT "KTAP version 1\n" CS_INDENT "# Subtest: sanitizers\n" CS_INDENT "1..%u\n",
              (unsigned int)KERNEL_SANITIZER_CHECKS);
    for (unsigned int i = 0; i < KERNEL_SANITIZER_CHECKS; i++) {
        const struct cs_check *c = &cs_checks[i];
        bool live = c->kasan ? env_shadow_enabled : ubsan_enabled();
        if (!live) {
            cs_printf(CS_INDENT "ok %u - %s # SKIP not hardened\n", i + 1, c->name);
            continue;
        }
        bool ok = cs_run(c);
        failed += !ok;
        cs_printf(CS_INDENT "%sok %u - %s\n", ok ? "" : "not ", i + 1, c->name);
    }
    return failed;
}
