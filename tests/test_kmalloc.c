/*
 * test_kmalloc.c - suite "kmalloc": size classes and ksize at every class boundary, large
 * (page-backed) allocations, kzalloc/kcalloc zeroing, kmalloc_array/kcalloc overflow, krealloc,
 * the DMA caches, kmalloc(0) (ZERO_SIZE_PTR), kfree(NULL) and the size limit, krealloc of
 * what is not a live object, the requested-size shadow. Runs hardened and not.
 */
#include "kt_util.h"
#include "slab.h"

/* Helpers from test_slab.c. */
struct kts_snap;
int kts_boot(unsigned int mib, unsigned int cpus, bool hardened, uint64_t seed);
int kts_stats(const char *name, struct slab_cache_stats *out);

static int classes_case(bool hardened)
{
    static const struct { size_t size, cls; } b[] = {
        { 1, 8 }, { 8, 8 }, { 9, 16 }, { 16, 16 }, { 17, 32 }, { 33, 64 }, { 64, 64 },
        { 65, 96 }, { 96, 96 }, { 97, 128 }, { 128, 128 }, { 129, 192 }, { 192, 192 },
        { 193, 256 }, { 256, 256 }, { 257, 512 }, { 1000, 1024 }, { 1025, 2048 },
        { 4096, 4096 }, { 4097, 8192 }, { 8192, 8192 },
    };

    KT_TRY(kts_boot(16, 2, hardened, 101));
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(b); i++) {
        uint8_t *p = kmalloc(b[i].size, GFP_KERNEL);

        KT_ASSERT_MSG(p != NULL, "kmalloc(%zu)", b[i].size);
        KT_ASSERT_MSG(ksize(p) == b[i].cls, "ksize(kmalloc(%zu)) = %zu, expected %zu", b[i].size,
                      ksize(p), b[i].cls);
        KT_ASSERT_EQ((uintptr_t)p % KMALLOC_MIN_ALIGN, 0);
        memset(p, 0x5c, ksize(p)); /* the whole class size is usable */
        KT_ASSERT_EQ(virt_to_page(p)->zone, ZONE_NORMAL);
        KT_ASSERT_OK(kfree(p));
    }
    /* Above 8 KiB: whole pages, a power-of-two number of them. */
    static const size_t big[] = { 8193, 12288, 16384, 16385, 100 << 10, 1 << 20 };

    for (unsigned int i = 0; i < MM_ARRAY_SIZE(big); i++) {
        uint8_t *p = kmalloc(big[i], GFP_KERNEL);

        KT_ASSERT_MSG(p != NULL, "kmalloc(%zu)", big[i]);
        size_t ks = ksize(p);

        KT_ASSERT_GE(ks, big[i]);
        KT_ASSERT_EQ(ks % PAGE_SIZE, 0);
        KT_ASSERT_EQ(ks & (ks - 1), 0);
        KT_ASSERT_LT(ks, 2 * MM_ALIGN_UP(big[i], PAGE_SIZE));
        KT_ASSERT_EQ((uintptr_t)p % PAGE_SIZE, 0);
        memset(p, 0x3a, ks);
        KT_ASSERT_OK(kfree(p));
    }
    KT_ASSERT_EQ(ksize(NULL), 0);
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    KT_MM_CHECK();
    return 0;
}

/* Regression: ksize() of memory the mm does not own returned 0 but also recorded a misuse. */
static int test_ksize_foreign_no_report(void)
{
    static char global_buf[64];
    char stack_buf[64];

    KT_TRY(kts_boot(16, 1, false, 103));
    unsigned long before = mm_misuse_count();

    KT_ASSERT_EQ(ksize(global_buf), 0);
    KT_ASSERT_EQ(ksize(stack_buf), 0);
    KT_ASSERT_EQ(ksize(NULL), 0);
    KT_ASSERT_EQ(mm_misuse_count(), before);
    KT_MM_CHECK();
    return 0;
}

static int test_size_classes(void) { return classes_case(false); }
static int test_size_classes_hardened(void) { return classes_case(true); }

static int test_class_boundaries_8193(void)
{
    KT_TRY(kts_boot(16, 1, false, 103));
    void *p = kmalloc(8193, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(ksize(p), 16384);
    struct page *pg = virt_to_page(p);

    KT_ASSERT(pg->flags & PG_head);
    KT_ASSERT(pg->flags & PG_large);
    KT_ASSERT_EQ(pg->order, 2);
    unsigned long before = page_alloc_nr_free();

    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_EQ(page_alloc_nr_free(), before + 4);
    KT_MM_CHECK();
    return 0;
}

static int kzalloc_case(bool hardened)
{
    KT_TRY(kts_boot(16, 1, hardened, 107));
    static const size_t sizes[] = { 8, 100, 200, 3000, 8192, 20000 };

    for (unsigned int i = 0; i < MM_ARRAY_SIZE(sizes); i++) {
        size_t n = sizes[i];
        uint8_t *p = kmalloc(n, GFP_KERNEL);

        KT_ASSERT_NOT_NULL(p);
        memset(p, 0xab, ksize(p));
        KT_ASSERT_OK(kfree(p));
        uint8_t *q = kzalloc(n, GFP_KERNEL);

        KT_ASSERT_NOT_NULL(q);
        if (n <= KMALLOC_MAX_CACHE_SIZE)
            KT_ASSERT(q == p); /* LIFO on the same CPU: the dirtied object comes back */
        for (size_t b = 0; b < n; b++)
            if (q[b] != 0)
                KT_FAIL("kzalloc(%zu) byte %zu is 0x%x", n, b, q[b]);
        memset(q, 0xcd, n);
        KT_ASSERT_OK(kfree(q));
        uint8_t *r = kcalloc(n / 4 ? n / 4 : 1, 4, GFP_KERNEL);

        KT_ASSERT_NOT_NULL(r);
        for (size_t b = 0; b < (n / 4 ? n / 4 : 1) * 4; b++)
            if (r[b] != 0)
                KT_FAIL("kcalloc(%zu, 4) byte %zu is 0x%x", n / 4, b, r[b]);
        KT_ASSERT_OK(kfree(r));
    }
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    KT_MM_CHECK();
    return 0;
}

static int test_kzalloc(void) { return kzalloc_case(false); }
static int test_kzalloc_hardened(void) { return kzalloc_case(true); }

static int test_array_overflow(void)
{
    KT_TRY(kts_boot(8, 1, false, 109));
    unsigned long before = page_alloc_nr_free();
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_SIZE_OVERFLOW);

    KT_ASSERT_NULL(kmalloc_array(SIZE_MAX / 2 + 1, 2, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_SIZE_OVERFLOW, KT_ANY_PFN, k));
    KT_ASSERT_NULL(kcalloc(SIZE_MAX / 2 + 1, 2, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_SIZE_OVERFLOW, KT_ANY_PFN, k + 1));
    KT_ASSERT_NULL(kcalloc(2, SIZE_MAX / 2 + 1, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_SIZE_OVERFLOW, KT_ANY_PFN, k + 2));
    KT_ASSERT_NULL(kmalloc_array(SIZE_MAX, SIZE_MAX, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_SIZE_OVERFLOW, KT_ANY_PFN, k + 3));
    KT_ASSERT_EQ(page_alloc_nr_free(), before);
    /* No overflow: fine, and a zero count is kmalloc(0). */
    void *p = kmalloc_array(10, 24, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(ksize(p), 256);
    KT_ASSERT_OK(kfree(p));
    unsigned long all = mm_misuse_count();

    KT_ASSERT(kmalloc_array(0, 24, GFP_KERNEL) == ZERO_SIZE_PTR);
    KT_ASSERT(kcalloc(24, 0, GFP_KERNEL) == ZERO_SIZE_PTR);
    KT_ASSERT_EQ(mm_misuse_count(), all);
    KT_MM_CHECK();
    return 0;
}

static int test_zero_and_limits(void)
{
    KT_TRY(kts_boot(32, 1, false, 113));
    unsigned long all = mm_misuse_count();
    unsigned long before = page_alloc_nr_free();

    KT_ASSERT(kmalloc(0, GFP_KERNEL) == ZERO_SIZE_PTR);
    KT_ASSERT(kzalloc(0, GFP_KERNEL) == ZERO_SIZE_PTR);
    KT_ASSERT_EQ(mm_misuse_count(), all); /* size 0 is not misuse */
    KT_ASSERT_OK(kfree(NULL));
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_SIZE_OVERFLOW);

    KT_ASSERT_NULL(kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_SIZE_OVERFLOW, KT_ANY_PFN, k));
    KT_ASSERT_NULL(kmalloc(SIZE_MAX, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_SIZE_OVERFLOW, KT_ANY_PFN, k + 1));
    KT_ASSERT_NULL(krealloc(NULL, KMALLOC_MAX_SIZE + 1, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_SIZE_OVERFLOW, KT_ANY_PFN, k + 2));
    KT_ASSERT_EQ(page_alloc_nr_free(), before);
    /* The largest size itself works on a 32 MiB machine. */
    uint8_t *p = kmalloc(KMALLOC_MAX_SIZE, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(ksize(p), KMALLOC_MAX_SIZE);
    p[0] = 1;
    p[KMALLOC_MAX_SIZE - 1] = 2;
    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_EQ(page_alloc_nr_free(), before);
    KT_MM_CHECK();
    return 0;
}

static int test_large(void)
{
    KT_TRY(kts_boot(32, 2, false, 127));
    unsigned long before = page_alloc_nr_free(), slab_before = slab_nr_pages();
    uint8_t *a = kmalloc(100 << 10, GFP_KERNEL);
    uint8_t *b = kmalloc(4 << 20, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    KT_ASSERT_EQ(ksize(a), 128 << 10);
    KT_ASSERT_EQ(ksize(b), 4 << 20);
    KT_ASSERT_EQ(page_alloc_nr_free(), before - 32 - 1024);
    KT_ASSERT_EQ(slab_nr_pages(), slab_before); /* large blocks are not slab pages */
    for (size_t i = 0; i < (100 << 10); i += 61)
        a[i] = (uint8_t)i;
    memset(b, 0x77, 4 << 20);
    for (size_t i = 0; i < (100 << 10); i += 61)
        KT_ASSERT_EQ(a[i], (uint8_t)i);
    KT_MM_CHECK();
    machine_cpu_set(1); /* freed from another CPU */
    KT_ASSERT_OK(kfree(a));
    machine_cpu_set(0);
    KT_ASSERT_OK(kfree(b));
    KT_ASSERT_EQ(page_alloc_nr_free(), before);
    /* kzalloc of a large block zeroes it. */
    uint8_t *z = kzalloc(40000, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(z);
    for (size_t i = 0; i < 40000; i++)
        if (z[i])
            KT_FAIL("kzalloc(40000) byte %zu is 0x%x", i, z[i]);
    KT_ASSERT_OK(kfree(z));
    KT_MM_CHECK();
    return 0;
}

static int krealloc_case(bool hardened)
{
    KT_TRY(kts_boot(16, 1, hardened, 131));
    /* NULL: like kmalloc. */
    uint8_t *p = krealloc(NULL, 50, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(ksize(p), 64);
    for (unsigned int i = 0; i < 50; i++)
        p[i] = (uint8_t)(i + 1);
    /* Grow across classes and into pages, keeping contents. */
    static const size_t grow[] = { 64, 300, 5000, 9000, 70000 };
    size_t prev = 50;

    for (unsigned int g = 0; g < MM_ARRAY_SIZE(grow); g++) {
        uint8_t *q = krealloc(p, grow[g], GFP_KERNEL);

        KT_ASSERT_NOT_NULL(q);
        KT_ASSERT_GE(ksize(q), grow[g]);
        for (unsigned int i = 0; i < 50; i++)
            KT_ASSERT_EQ(q[i], (uint8_t)(i + 1));
        memset(q + prev, 0xee, grow[g] - prev);
        prev = grow[g];
        p = q;
    }
    /* Shrink a large block a little: in place. */
    uint8_t *q = krealloc(p, 65536 + 1, GFP_KERNEL);

    KT_ASSERT(q == p);
    for (unsigned int i = 0; i < 50; i++)
        KT_ASSERT_EQ(q[i], (uint8_t)(i + 1));
    /* Shrink a lot: contents kept up to the new size. */
    q = krealloc(p, 40, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(q);
    KT_ASSERT_EQ(ksize(q), 64);
    for (unsigned int i = 0; i < 40; i++)
        KT_ASSERT_EQ(q[i], (uint8_t)(i + 1));
    p = q;
    /* Shrinking within a slab object stays in place. */
    uint8_t *s = kmalloc(1000, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(s);
    memset(s, 0x42, 1000);
    KT_ASSERT(krealloc(s, 600, GFP_KERNEL) == s);
    KT_ASSERT(krealloc(s, 1024, GFP_KERNEL) == s); /* grows within its class */
    KT_ASSERT_EQ(s[599], 0x42);
    /* krealloc(p, 0) frees p and returns ZERO_SIZE_PTR. */
    struct slab_cache_stats st;

    KT_TRY(kts_stats("kmalloc-64", &st));
    unsigned long active = st.active_objs;

    KT_ASSERT(krealloc(p, 0, GFP_KERNEL) == ZERO_SIZE_PTR);
    KT_TRY(kts_stats("kmalloc-64", &st));
    KT_ASSERT_EQ(st.active_objs, active - 1);
    KT_ASSERT_OK(kfree(s));
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    KT_MM_CHECK();
    return 0;
}

static int test_krealloc(void) { return krealloc_case(false); }
static int test_krealloc_hardened(void) { return krealloc_case(true); }

static int test_krealloc_bad(void)
{
    long local = 0;

    KT_TRY(kts_boot(16, 1, false, 137));
    struct page *pg = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(pg);
    unsigned long before = page_alloc_nr_free();
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_NOT_SLAB);

    KT_ASSERT_NULL(krealloc(page_address(pg), 100, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_NOT_SLAB, KT_ANY_PFN, k));
    KT_ASSERT_NULL(krealloc(&local, 100, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_NOT_SLAB, KT_ANY_PFN, k + 1));
    KT_ASSERT_EQ(page_alloc_nr_free(), before);
    KT_ASSERT_OK(__free_page(pg));
    KT_MM_CHECK();
    return 0;
}

/* kmalloc(0) is ZERO_SIZE_PTR, as in Linux: not NULL, no memory, accepted by kfree/ksize/krealloc. */
static int zero_size_case(bool hardened)
{
    KT_TRY(kts_boot(16, 1, hardened, 141));
    unsigned long all = mm_misuse_count(), before = page_alloc_nr_free();
    void *z = kmalloc(0, GFP_KERNEL);

    KT_ASSERT(z == ZERO_SIZE_PTR);
    KT_ASSERT(z != NULL);
    KT_ASSERT(ZERO_OR_NULL_PTR(z) && ZERO_OR_NULL_PTR(NULL));
    KT_ASSERT(kzalloc(0, GFP_DMA) == ZERO_SIZE_PTR);
    KT_ASSERT(kcalloc(0, 0, GFP_KERNEL) == ZERO_SIZE_PTR);
    KT_ASSERT_EQ(ksize(z), 0);
    KT_ASSERT_OK(kfree(z));
    KT_ASSERT(krealloc(z, 0, GFP_KERNEL) == ZERO_SIZE_PTR);
    KT_ASSERT_EQ(page_alloc_nr_free(), before); /* nothing was allocated */
    /* krealloc(ZERO_SIZE_PTR, n) is kmalloc(n) */
    uint8_t *p = krealloc(z, 40, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT(!ZERO_OR_NULL_PTR(p));
    memset(p, 0x11, 40);
    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_EQ(mm_misuse_count(), all);
    KT_MM_CHECK();
    return 0;
}

static int test_zero_size_ptr(void) { return zero_size_case(false); }
static int test_zero_size_ptr_hardened(void) { return zero_size_case(true); }

/*
 * krealloc of something that is not a live kmalloc object (an interior pointer, a freed object,
 * an interior or freed large block) reports it, returns NULL, allocates and copies nothing.
 */
static int krealloc_misuse_case(bool hardened)
{
    KT_TRY(kts_boot(16, 1, hardened, 143));
    uint8_t *p = kmalloc(100, GFP_KERNEL), *big = kmalloc(20000, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_NOT_NULL(big);
    memset(p, 0x21, 100);
    unsigned long free0 = page_alloc_nr_free(), all = mm_misuse_count();
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_NOT_OBJECT);
    struct slab_cache_stats st0, st1;

    KT_TRY(kts_stats("kmalloc-128", &st0));
    KT_ASSERT_NULL(krealloc(p + 8, 200, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_NOT_OBJECT, KT_ANY_PFN, k));
    KT_ASSERT_NULL(krealloc(big + 8, 200, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_NOT_OBJECT, KT_ANY_PFN, k + 1));
    KT_ASSERT_NULL(krealloc(p + 8, 0, GFP_KERNEL)); /* not freed either */
    KT_TRY(kt_expect_misuse(MM_MISUSE_NOT_OBJECT, KT_ANY_PFN, k + 2));
    KT_TRY(kts_stats("kmalloc-128", &st1));
    KT_ASSERT_EQ(st1.active_objs, st0.active_objs);
    KT_ASSERT_EQ(st1.alloc, st0.alloc);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0);
    for (unsigned int i = 0; i < 100; i++)
        KT_ASSERT_EQ(p[i], 0x21);
    /* freed: a double free at the call, and no new object holding stale bytes */
    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_OK(kfree(big));
    unsigned long d = mm_misuse_count_kind(MM_MISUSE_DOUBLE_FREE);

    KT_TRY(kts_stats("kmalloc-128", &st0));
    KT_ASSERT_NULL(krealloc(p, 300, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOUBLE_FREE, KT_ANY_PFN, d));
    KT_ASSERT_NULL(krealloc(p, 50, GFP_KERNEL)); /* in place would have been possible */
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOUBLE_FREE, KT_ANY_PFN, d + 1));
    KT_ASSERT_NULL(krealloc(big, 300, GFP_KERNEL));
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOUBLE_FREE, KT_ANY_PFN, d + 2));
    KT_TRY(kts_stats("kmalloc-128", &st1));
    KT_ASSERT_EQ(st1.alloc, st0.alloc);
    KT_ASSERT_EQ(mm_misuse_count(), all + 6);
    KT_MM_CHECK();
    return 0;
}

static int test_krealloc_misuse(void) { return krealloc_misuse_case(false); }
static int test_krealloc_misuse_hardened(void) { return krealloc_misuse_case(true); }

/*
 * The sanitizer shadow opens the requested size only: bytes [size, class) stay poisoned until
 * ksize() opens them; krealloc within the class moves the boundary. Large blocks alike.
 */
static int request_shadow_case(bool hardened)
{
    KT_TRY(kts_boot(16, 1, hardened, 149));
    if (!env_shadow_enabled)
        KT_SKIP("no sanitizer shadow in this build (the hardened checks are in slab_harden)");
    uint8_t *p = kmalloc(100, GFP_KERNEL), *big = kmalloc(9000, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_NOT_NULL(big);
    KT_ASSERT(!machine_shadow_poisoned(p + 99));
    KT_ASSERT(machine_shadow_poisoned(p + 100));
    KT_ASSERT(machine_shadow_poisoned(p + 127));
    KT_ASSERT(!machine_shadow_poisoned(big + 8999));
    KT_ASSERT(machine_shadow_poisoned(big + 9000));
    KT_ASSERT(krealloc(p, 60, GFP_KERNEL) == p);
    KT_ASSERT(!machine_shadow_poisoned(p + 59));
    KT_ASSERT(machine_shadow_poisoned(p + 60));
    KT_ASSERT(krealloc(p, 110, GFP_KERNEL) == p);
    KT_ASSERT(!machine_shadow_poisoned(p + 109));
    KT_ASSERT(machine_shadow_poisoned(p + 110));
    KT_ASSERT_EQ(ksize(p), 128);
    KT_ASSERT(!machine_shadow_poisoned(p + 127));
    KT_ASSERT(machine_shadow_poisoned(p + 128));
    memset(p, 0x33, 128);
    KT_ASSERT_EQ(ksize(big), 3 * PAGE_SIZE + PAGE_SIZE);
    KT_ASSERT(!machine_shadow_poisoned(big + 4 * PAGE_SIZE - 1));
    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_OK(kfree(big));
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    KT_MM_CHECK();
    return 0;
}

static int test_request_shadow(void) { return request_shadow_case(false); }
static int test_request_shadow_hardened(void) { return request_shadow_case(true); }

static int dma_case(bool hardened)
{
    KT_TRY(kts_boot(32, 1, hardened, 139));
    static const size_t sizes[] = { 8, 96, 192, 1000, 8192 };

    for (unsigned int i = 0; i < MM_ARRAY_SIZE(sizes); i++) {
        void *p = kmalloc(sizes[i], GFP_KERNEL | __GFP_DMA);

        KT_ASSERT_MSG(p != NULL, "kmalloc(%zu, DMA)", sizes[i]);
        KT_ASSERT_EQ(virt_to_page(p)->zone, ZONE_DMA);
        memset(p, 0x99, sizes[i]);
        void *z = kzalloc(sizes[i], GFP_DMA);

        KT_ASSERT_NOT_NULL(z);
        KT_ASSERT_EQ(virt_to_page(z)->zone, ZONE_DMA);
        KT_ASSERT_OK(kfree(p));
        KT_ASSERT_OK(kfree(z));
    }
    struct slab_cache_stats st;

    KT_TRY(kts_stats("dma-kmalloc-1k", &st));
    KT_ASSERT_EQ(st.alloc, 2);
    KT_ASSERT_EQ(st.free, 2);
    KT_MM_CHECK();
    return 0;
}

static int test_dma(void) { return dma_case(false); }
static int test_dma_hardened(void) { return dma_case(true); }

static int test_many_random(void)
{
    static void *ptr[600];
    static size_t len[600];
    uint64_t rnd = 0x1234;

    KT_TRY(kts_boot(32, 3, false, 149));
    for (unsigned int i = 0; i < 600; i++) {
        machine_cpu_set(i % 3);
        len[i] = 1 + kt_rand(&rnd) % ((kt_rand(&rnd) & 7) ? 512 : 20000);
        ptr[i] = kmalloc(len[i], GFP_KERNEL);
        KT_ASSERT_NOT_NULL(ptr[i]);
        memset(ptr[i], (int)(i & 0xff), len[i]);
    }
    for (unsigned int i = 0; i < 600; i++) {
        const uint8_t *p = ptr[i];

        for (size_t b = 0; b < len[i]; b++)
            if (p[b] != (uint8_t)(i & 0xff))
                KT_FAIL("block %u (%zu bytes) byte %zu overwritten", i, len[i], b);
    }
    KT_MM_CHECK();
    for (unsigned int i = 0; i < 600; i++) {
        machine_cpu_set((i * 7) % 3);
        KT_ASSERT_OK(kfree(ptr[i]));
    }
    machine_cpu_set(0);
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case kmalloc_cases[] = {
    KT_CASE(size_classes),
    KT_CASE(ksize_foreign_no_report),
    KT_CASE(size_classes_hardened),
    KT_CASE(class_boundaries_8193),
    KT_CASE(kzalloc),
    KT_CASE(kzalloc_hardened),
    KT_CASE(array_overflow),
    KT_CASE(zero_and_limits),
    KT_CASE(large),
    KT_CASE(krealloc),
    KT_CASE(krealloc_hardened),
    KT_CASE(krealloc_bad),
    KT_CASE(zero_size_ptr),
    KT_CASE(zero_size_ptr_hardened),
    KT_CASE(krealloc_misuse),
    KT_CASE(krealloc_misuse_hardened),
    KT_CASE(request_shadow),
    KT_CASE(request_shadow_hardened),
    KT_CASE(dma),
    KT_CASE(dma_hardened),
    KT_CASE(many_random),
};
KT_SUITE(kmalloc, kmalloc_cases);
