/*
 * test_harden.c - suite "slab_harden": what machine.slab_hardened buys. Red-zone overflow and
 * underflow, writes after free, kmem_cache_validate, a corrupted freelist pointer, seeded
 * freelist randomisation and destroy-with-live-objects reports; plus full usability of objects in
 * both modes (the one case meant for the ASan build). slab_hardened alone is level 2 (full); the
 * level_* cases boot each level through slab_harden_level: what level 1 catches, what it
 * deliberately does not (bytes between its canaries), and how the parameter maps to levels.
 *
 * The cases that write into red zones or freed objects on purpose test the mm's OWN detection;
 * under a sanitizer shadow (env_shadow_enabled, i.e. ASan) those writes are ASan reports that abort
 * the binary, so the cases print "# SKIP ..." there and pass. They run in a build without ASan.
 */
#include "kt_util.h"
#include "slab.h"
#include "../mm/heap/slab_internal.h"

/* Helpers from test_slab.c. */
int kts_boot(unsigned int mib, unsigned int cpus, bool hardened, uint64_t seed);
int kts_stats(const char *name, struct slab_cache_stats *out);
bool kts_skip_under_asan(const char *what);

static int overflow_case(long where, const char *what)
{
    KT_TRY(kts_boot(16, 1, true, 201));
    struct kmem_cache *c = kmem_cache_create("rz", 100, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    uint8_t *p = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    memset(p, 0x10, 100); /* the whole object is fine */
    KT_MM_CHECK();
    if (kts_skip_under_asan(what))
        goto out;
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_REDZONE), all = mm_misuse_count();

    p[where] = 0x00;
    KT_ASSERT_NE(mm_check(NULL), 0); /* the checker sees the damage */
    struct slab_cache_stats st;

    KT_TRY(kts_stats("rz", &st));
    KT_ASSERT_OK(kmem_cache_free(c, p)); /* reported, repaired, freed */
    KT_TRY(kt_expect_misuse(MM_MISUSE_REDZONE, KT_ANY_PFN, k));
    KT_ASSERT_EQ(mm_misuse_count(), all + 1);
    struct slab_cache_stats st2;

    KT_TRY(kts_stats("rz", &st2));
    KT_ASSERT_EQ(st2.active_objs, st.active_objs - 1);
    KT_MM_CHECK();
    KT_ASSERT_EQ(kmem_cache_validate(c), 0);
    p = kmem_cache_alloc(c, GFP_KERNEL); /* the repaired object is clean */
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(mm_misuse_count(), all + 1);
out:
    KT_ASSERT_OK(kmem_cache_free(c, p));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_redzone_overflow(void) { return overflow_case(100, "redzone_overflow"); }
static int test_redzone_underflow(void) { return overflow_case(-1, "redzone_underflow"); }

static int test_redzone_kmalloc(void)
{
    KT_TRY(kts_boot(16, 1, true, 203));
    uint8_t *p = kmalloc(64, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(ksize(p), 64);
    if (kts_skip_under_asan("redzone_kmalloc")) {
        KT_ASSERT_OK(kfree(p));
        return 0;
    }
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_REDZONE);

    p[64] = 0x5a;
    p[70] = 0x5a;
    KT_ASSERT_OK(kfree(p));
    KT_TRY(kt_expect_misuse(MM_MISUSE_REDZONE, KT_ANY_PFN, k));
    KT_MM_CHECK();
    return 0;
}

/*
 * A kmalloc object's red zone starts at the requested size, not the class: a write to byte 100
 * of kmalloc(100) (class 128) is reported at free, by kmem_cache_validate and by mm_check.
 */
static int test_redzone_kmalloc_request(void)
{
    KT_TRY(kts_boot(16, 1, true, 205));
    uint8_t *p = kmalloc(100, GFP_KERNEL), *q = kmalloc(100, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_NOT_NULL(q);
    memset(p, 0x10, 100);
    memset(q, 0x10, 100);
    KT_MM_CHECK();
    if (kts_skip_under_asan("redzone_kmalloc_request")) {
        KT_ASSERT_OK(kfree(p));
        KT_ASSERT_OK(kfree(q));
        return 0;
    }
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_REDZONE), all = mm_misuse_count();
    struct mm_check_report rep;

    p[100] = 0x00;
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "slab.redzone");
    KT_ASSERT_OK(kfree(p)); /* reported, repaired, freed */
    KT_TRY(kt_expect_misuse(MM_MISUSE_REDZONE, KT_ANY_PFN, k));
    KT_MM_CHECK();
    q[127] = 0x00; /* the last byte of the class */
    KT_ASSERT_EQ(kmem_cache_validate(virt_to_page(q)->slab_cache), 1);
    KT_TRY(kt_expect_misuse(MM_MISUSE_REDZONE, KT_ANY_PFN, k + 1));
    KT_ASSERT_OK(kfree(q)); /* repaired by validate: nothing more to report */
    KT_ASSERT_EQ(mm_misuse_count(), all + 2);
    KT_MM_CHECK();
    return 0;
}

/* ksize() opens the whole class; krealloc within the class moves the red zone with the size. */
static int test_redzone_kmalloc_resize(void)
{
    KT_TRY(kts_boot(16, 1, true, 206));
    if (kts_skip_under_asan("redzone_kmalloc_resize"))
        return 0;
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_REDZONE), all = mm_misuse_count();
    uint8_t *p = kmalloc(100, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(ksize(p), 128);
    memset(p, 0x20, 128); /* all of it is the caller's now */
    KT_MM_CHECK();
    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_EQ(mm_misuse_count(), all);
    p = kmalloc(50, GFP_KERNEL); /* class 64 */
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT(krealloc(p, 64, GFP_KERNEL | __GFP_ZERO) == p); /* grows in place */
    KT_ASSERT_EQ(p[63], 0);
    memset(p, 0x30, 64);
    KT_ASSERT(krealloc(p, 20, GFP_KERNEL) == p); /* shrinks in place */
    KT_MM_CHECK();
    KT_ASSERT_EQ(mm_misuse_count(), all);
    p[20] = 0x00;
    KT_ASSERT_OK(kfree(p));
    KT_TRY(kt_expect_misuse(MM_MISUSE_REDZONE, KT_ANY_PFN, k));
    /* a damaged request red zone is reported by krealloc too, before it moves */
    p = kmalloc(40, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    p[45] = 0x00;
    KT_ASSERT(krealloc(p, 64, GFP_KERNEL) == p);
    KT_TRY(kt_expect_misuse(MM_MISUSE_REDZONE, KT_ANY_PFN, k + 1));
    KT_MM_CHECK();
    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_EQ(mm_misuse_count(), all + 2);
    return 0;
}

static int test_use_after_free(void)
{
    KT_TRY(kts_boot(16, 1, true, 207));
    struct kmem_cache *c = kmem_cache_create("uaf", 100, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    uint8_t *p = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(kmem_cache_free(c, p));
    if (kts_skip_under_asan("use_after_free"))
        goto out;
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_USE_AFTER_FREE), all = mm_misuse_count();

    p[42] = 0x01; /* write after free */
    KT_ASSERT_NE(mm_check(NULL), 0);
    uint8_t *q = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT(q == p); /* LIFO on the same CPU */
    KT_TRY(kt_expect_misuse(MM_MISUSE_USE_AFTER_FREE, KT_ANY_PFN, k));
    KT_ASSERT_EQ(mm_misuse_count(), all + 1);
    KT_MM_CHECK(); /* allocated now: no poison to check */
    memset(q, 0, 100);
    KT_ASSERT_OK(kmem_cache_free(c, q));
    KT_MM_CHECK();
    KT_ASSERT_EQ(mm_misuse_count(), all + 1);
out:
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_validate(void)
{
    KT_TRY(kts_boot(16, 2, true, 211));
    struct kmem_cache *c = kmem_cache_create("val", 200, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    uint8_t *a = kmem_cache_alloc(c, GFP_KERNEL), *b = kmem_cache_alloc(c, GFP_KERNEL);
    uint8_t *d = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    KT_ASSERT_NOT_NULL(d);
    KT_ASSERT_EQ(kmem_cache_validate(c), 0);
    KT_ASSERT_EQ(kmem_cache_validate(NULL), 0);
    KT_ASSERT_OK(kmem_cache_free(c, b));
    if (kts_skip_under_asan("validate"))
        goto out;
    unsigned long rz = mm_misuse_count_kind(MM_MISUSE_REDZONE);
    unsigned long uaf = mm_misuse_count_kind(MM_MISUSE_USE_AFTER_FREE);
    struct slab_cache_stats st;

    KT_TRY(kts_stats("val", &st));
    a[200] = 0;   /* right red zone of a live object */
    d[-3] = 0;    /* left red zone of another */
    b[17] = 0x77; /* a freed object */
    KT_ASSERT_NE(mm_check(NULL), 0);
    KT_ASSERT_EQ(kmem_cache_validate(c), 3);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_REDZONE), rz + 2);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_USE_AFTER_FREE), uaf + 1);
    KT_MM_CHECK(); /* repaired */
    KT_ASSERT_EQ(kmem_cache_validate(c), 0);
    struct slab_cache_stats st2;

    KT_TRY(kts_stats("val", &st2));
    KT_ASSERT_EQ(st2.active_objs, st.active_objs); /* no allocation or free happened */
    KT_ASSERT_EQ(st2.alloc, st.alloc);
    /* Freeing and reallocating the repaired objects reports nothing more. */
    unsigned long all = mm_misuse_count();

    KT_ASSERT_OK(kmem_cache_free(c, a));
    KT_ASSERT_OK(kmem_cache_free(c, d));
    b = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(b);
    KT_ASSERT_EQ(mm_misuse_count(), all);
    a = kmem_cache_alloc(c, GFP_KERNEL);
    d = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(d);
    KT_ASSERT_EQ(mm_misuse_count(), all);
    KT_ASSERT_OK(kmem_cache_free(c, b));
out:
    KT_ASSERT_OK(kmem_cache_free(c, a));
    KT_ASSERT_OK(kmem_cache_free(c, d));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_corrupt_freelist(void)
{
    static void *v[64];
    struct slab_cache_stats st;

    KT_TRY(kts_boot(16, 1, true, 223));
    struct kmem_cache *c = kmem_cache_create("fl", 64, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_TRY(kts_stats("fl", &st));
    uint64_t bytes = PAGE_SIZE << st.order;
    unsigned int n = MM_MIN(st.objs_per_slab, 64u);

    KT_ASSERT_GE(n, 4);
    for (unsigned int i = 0; i < n; i++) {
        v[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(v[i]);
    }
    uintptr_t slab = (uintptr_t)v[0] & ~(uintptr_t)(bytes - 1);

    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_EQ((uintptr_t)v[i] & ~(uintptr_t)(bytes - 1), slab); /* one slab */
    if (kts_skip_under_asan("corrupt_freelist"))
        goto out;
    /*
     * Pick A and B whose slot tails stay inside the slab. The bytes of B's slot after its object
     * (right red zone + metadata with the encoded next pointer and the state tag) are overwritten;
     * the left red zone of the next slot is at least 16 bytes and is left alone.
     */
    unsigned int ia = n, ib = n;

    for (unsigned int i = 0; i < n && ib == n; i++) {
        uintptr_t end = (uintptr_t)v[i] + st.slot_size - 16;

        if (end <= slab + bytes) {
            if (ia == n)
                ia = i;
            else
                ib = i;
        }
    }
    KT_ASSERT_LT(ib, n);
    uint8_t *A = v[ia], *B = v[ib];

    KT_ASSERT_OK(kmem_cache_free(c, A));
    KT_ASSERT_OK(kmem_cache_free(c, B));
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_FREELIST) +
                           mm_misuse_count_kind(MM_MISUSE_REDZONE);

    memset(B + st.object_size, 0x41, st.slot_size - st.object_size - 16);
    void *x = kmem_cache_alloc(c, GFP_KERNEL);
    void *y = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(x);
    KT_ASSERT_NOT_NULL(y);
    KT_ASSERT(x != y);
    KT_ASSERT_GT(mm_misuse_count_kind(MM_MISUSE_FREELIST) +
                 mm_misuse_count_kind(MM_MISUSE_REDZONE), before);
    KT_ASSERT_MSG(mm_misuse_count_kind(MM_MISUSE_FREELIST) > 0,
                  "corrupted next pointer of a free object not reported as a freelist misuse");
    /* Both are objects of this cache's slab (nothing outside it was handed out). */
    struct page *px = virt_to_page(x), *py = virt_to_page(y);

    KT_ASSERT_NOT_NULL(px);
    KT_ASSERT_NOT_NULL(py);
    KT_ASSERT_EQ((uintptr_t)x & ~(uintptr_t)(bytes - 1), slab);
    KT_ASSERT_EQ((uintptr_t)y & ~(uintptr_t)(bytes - 1), slab);
    KT_ASSERT_EQ(((intptr_t)x - (intptr_t)v[0]) % (intptr_t)st.slot_size, 0);
    KT_ASSERT_EQ(((intptr_t)y - (intptr_t)v[0]) % (intptr_t)st.slot_size, 0);
    KT_ASSERT(x == A || x == B);
    KT_ASSERT(y == A || y == B);
    memset(x, 1, 64);
    memset(y, 2, 64);
    kmem_cache_validate(c);
    KT_MM_CHECK();
    v[ia] = x;
    v[ib] = y;
out:
    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_OK(kmem_cache_free(c, v[i]));
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/* Offsets (within the slab) of the objects of a new slab in allocation order. */
static unsigned long order_a[512], order_b[512];

static int record_order_on(unsigned int mem_mib, uint64_t seed, unsigned long *out,
                           unsigned int *n_out)
{
    struct slab_cache_stats st;

    KT_TRY(kts_boot(mem_mib, 1, true, seed));
    struct kmem_cache *c = kmem_cache_create("rnd", 64, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_TRY(kts_stats("rnd", &st));
    uint64_t bytes = PAGE_SIZE << st.order;
    unsigned int n = MM_MIN(st.objs_per_slab, 512u);
    static void *v[512];

    for (unsigned int i = 0; i < n; i++) {
        v[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(v[i]);
        out[i] = (unsigned long)((uintptr_t)v[i] & (bytes - 1));
    }
    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_OK(kmem_cache_free(c, v[i]));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    *n_out = n;
    return 0;
}

static int record_order(uint64_t seed, unsigned long *out, unsigned int *n_out)
{
    return record_order_on(16, seed, out, n_out);
}

/* Regression: the shuffle was seeded with the cache's virtual address, so the same seed gave
 * another order whenever the arena (or the cache) sat elsewhere. Machines of different sizes put
 * the cache at different addresses; the order must still be a function of the seed alone. */
static int test_freelist_order_independent_of_address(void)
{
    unsigned int na, nb;

    KT_TRY(record_order_on(16, 7, order_a, &na));
    KT_TRY(record_order_on(24, 7, order_b, &nb));
    KT_ASSERT_EQ(na, nb);
    for (unsigned int i = 0; i < na; i++)
        KT_ASSERT_MSG(order_a[i] == order_b[i], "same seed, object %u at offset %lu vs %lu", i,
                      order_a[i], order_b[i]);
    return 0;
}

static int test_freelist_random_seeded(void)
{
    unsigned int na, nb;
    bool increasing = true;

    KT_TRY(record_order(1, order_a, &na));
    for (unsigned int i = 1; i < na; i++)
        increasing &= order_a[i] > order_a[i - 1];
    KT_ASSERT_MSG(!increasing, "hardened slab freelist is in address order (not randomised)");
    KT_TRY(record_order(1, order_b, &nb));
    KT_ASSERT_EQ(na, nb);
    for (unsigned int i = 0; i < na; i++)
        KT_ASSERT_MSG(order_a[i] == order_b[i], "same seed, object %u at offset %lu vs %lu", i,
                      order_a[i], order_b[i]);
    KT_TRY(record_order(2, order_b, &nb));
    KT_ASSERT_EQ(na, nb);
    unsigned int diff = 0;

    for (unsigned int i = 0; i < na; i++)
        diff += order_a[i] != order_b[i];
    KT_ASSERT_MSG(diff > 0, "seeds 1 and 2 give the same freelist order");
    return 0;
}

static int test_destroy_live_reports(void)
{
    KT_TRY(kts_boot(16, 2, true, 227));
    struct kmem_cache *c = kmem_cache_create("live", 48, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    void *a = kmem_cache_alloc(c, GFP_KERNEL);

    machine_cpu_set(1);
    void *b = kmem_cache_alloc(c, GFP_KERNEL);

    machine_cpu_set(0);
    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_CACHE_BUSY);

    mm_misuse_set_log_level(ENV_LOG_DEBUG);
    KT_ASSERT_ERR(kmem_cache_destroy(c), MM_EBUSY);
    mm_misuse_set_log_level(ENV_LOG_ERR);
    KT_TRY(kt_expect_misuse(MM_MISUSE_CACHE_BUSY, KT_ANY_PFN, k));
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_free(c, a));
    KT_ASSERT_ERR(kmem_cache_destroy(c), MM_EBUSY);
    KT_ASSERT_OK(kmem_cache_free(c, b));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static void ctor_zero_dummy(void *obj)
{
    memset(obj, 0, 64);
}

/* Every byte of every object is usable (no false positives from red zones or shadow), in both
 * modes; meant for the ASan build, where a wrong unpoison would abort here. */
static int usable_case(bool hardened)
{
    static const size_t sizes[] = { 1, 13, 64, 100, 256, 3000, 4096, 9000 };
    static void *v[8][20];

    KT_TRY(kts_boot(32, 2, hardened, 229));
    for (unsigned int s = 0; s < MM_ARRAY_SIZE(sizes); s++) {
        struct kmem_cache *c = kmem_cache_create("use", sizes[s], s & 1 ? 64 : 0, 0,
                                                 s == 2 ? ctor_zero_dummy : NULL);

        KT_ASSERT_NOT_NULL(c);
        for (unsigned int i = 0; i < 20; i++) {
            machine_cpu_set(i & 1);
            v[s][i] = kmem_cache_alloc(c, GFP_KERNEL);
            KT_ASSERT_NOT_NULL(v[s][i]);
            memset(v[s][i], (int)i, sizes[s]);
        }
        for (unsigned int i = 0; i < 20; i++) {
            const uint8_t *p = v[s][i];

            KT_ASSERT_EQ(p[0], (uint8_t)i);
            KT_ASSERT_EQ(p[sizes[s] - 1], (uint8_t)i);
            machine_cpu_set((i + 1) & 1);
            if (s == 2)
                memset(v[s][i], 0, 64); /* back to the constructed state */
            KT_ASSERT_OK(kmem_cache_free(c, v[s][i]));
        }
        machine_cpu_set(0);
        KT_ASSERT_OK(kmem_cache_destroy(c));
        uint8_t *k = kmalloc(sizes[s], GFP_KERNEL);

        KT_ASSERT_NOT_NULL(k);
        memset(k, 0xa5, ksize(k));
        KT_ASSERT_EQ(k[ksize(k) - 1], 0xa5);
        k = krealloc(k, sizes[s] * 3, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(k);
        memset(k, 0x5a, sizes[s] * 3);
        KT_ASSERT_OK(kfree(k));
    }
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    KT_MM_CHECK();
    return 0;
}

static int test_objects_usable(void) { return usable_case(false); }
static int test_objects_usable_hardened(void) { return usable_case(true); }

/* ---- levels (mm.h MM_SLAB_HARDEN_*) ---- */

/* Boot a small machine at hardening parameter @param (MM_SLAB_HARDEN_*). */
static int kth_boot_level(unsigned int param, uint64_t seed)
{
    machine_small(&kt_m, KT_MIB(16), 1);
    kt_m.slab_hardened = false;
    kt_m.slab_harden_level = param;
    kt_m.seed = seed;
    return kt_boot_current();
}

/* Slot size of kmalloc-128 as booted. */
static size_t kth_slot_128(void)
{
    struct slab_cache_stats st;
    return kts_stats("kmalloc-128", &st) ? 0 : (st.hardened ? st.slot_size : 0);
}

/* slab_harden_level maps to levels as mm.h says; AUTO keeps slab_hardened's meaning (full). */
static int test_level_params(void)
{
    KT_TRY(kth_boot_level(MM_SLAB_HARDEN_CHEAP, 301));
    size_t cheap = kth_slot_128();
    KT_ASSERT_EQ(mm_state.heap.harden_level, 1);
    KT_TRY(kth_boot_level(MM_SLAB_HARDEN_FULL, 301));
    size_t full = kth_slot_128();
    KT_ASSERT_EQ(mm_state.heap.harden_level, 2);
    KT_ASSERT_GT(cheap, 128);
    KT_ASSERT_LT(cheap, full); /* level 1 has 8-byte canaries, not 16-byte red zones */
    KT_TRY(kts_boot(16, 1, true, 301)); /* slab_hardened alone: AUTO -> full */
    KT_ASSERT_EQ(mm_state.heap.harden_level, 2);
    KT_ASSERT_EQ(kth_slot_128(), full);
    KT_TRY(kts_boot(16, 1, false, 301));
    KT_ASSERT_EQ(mm_state.heap.harden_level, 0);
    machine_small(&kt_m, KT_MIB(16), 1);
    kt_m.slab_hardened = true; /* OFF wins over slab_hardened */
    kt_m.slab_harden_level = MM_SLAB_HARDEN_OFF;
    KT_TRY(kt_boot_current());
    KT_ASSERT_EQ(mm_state.heap.harden_level, 0);
    KT_ASSERT_EQ(kth_slot_128(), 0);
    kt_m.slab_harden_level = MM_SLAB_HARDEN_OFF + 1;
    struct machine bad = kt_m;
    KT_ASSERT_ERR(machine_boot(&bad), MM_EINVAL);
    kt_m.slab_harden_level = 0;
    return 0;
}

/* Level 1 rejects double, interior and wrong-cache frees exactly as level 2 does. */
static int test_level1_bad_frees(void)
{
    KT_TRY(kth_boot_level(MM_SLAB_HARDEN_CHEAP, 303));
    struct kmem_cache *a = kmem_cache_create("l1a", 48, 0, 0, NULL);
    struct kmem_cache *b = kmem_cache_create("l1b", 48, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    uint8_t *p = kmem_cache_alloc(a, GFP_KERNEL), *q = kmem_cache_alloc(a, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_NOT_NULL(q);
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_WRONG_CACHE);
    KT_ASSERT_ERR(kmem_cache_free(b, p), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_WRONG_CACHE, KT_ANY_PFN, k));
    k = mm_misuse_count_kind(MM_MISUSE_NOT_OBJECT);
    KT_ASSERT_ERR(kmem_cache_free(a, p + 8), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_NOT_OBJECT, KT_ANY_PFN, k));
    KT_ASSERT_OK(kmem_cache_free(a, p));
    KT_ASSERT_OK(kmem_cache_free(a, q));
    k = mm_misuse_count_kind(MM_MISUSE_DOUBLE_FREE);
    KT_ASSERT_ERR(kmem_cache_free(a, p), MM_EINVAL); /* not the freelist head: the state tag */
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOUBLE_FREE, KT_ANY_PFN, k));
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_destroy(a));
    KT_ASSERT_OK(kmem_cache_destroy(b));
    KT_MM_CHECK();
    return 0;
}

/* Damage byte @off of live kmalloc(@req) object: mm_check names slab.redzone, kfree reports one
 * MM_MISUSE_REDZONE and repairs. */
static int kth_redzone_caught(size_t req, long off)
{
    uint8_t *p = kmalloc(req, GFP_KERNEL);
    struct mm_check_report rep;
    KT_ASSERT_NOT_NULL(p);
    memset(p, 0x10, req);
    KT_MM_CHECK();
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_REDZONE), all = mm_misuse_count();
    p[off] ^= 0x5a;
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "slab.redzone");
    KT_ASSERT_OK(kfree(p));
    KT_TRY(kt_expect_misuse(MM_MISUSE_REDZONE, KT_ANY_PFN, k));
    KT_ASSERT_EQ(mm_misuse_count(), all + 1);
    KT_MM_CHECK();
    return 0;
}

/* Level 1: the 8 canary bytes at the requested size and the 8 before the object. */
static int test_level1_canaries(void)
{
    KT_TRY(kth_boot_level(MM_SLAB_HARDEN_CHEAP, 305));
    if (kts_skip_under_asan("level1_canaries"))
        return 0;
    for (long off = 100; off < 108; off++)
        KT_TRY(kth_redzone_caught(100, off)); /* class 128: the canary is inside the class */
    KT_TRY(kth_redzone_caught(128, 128));     /* no slack: the canary after the object */
    KT_TRY(kth_redzone_caught(128, 135));
    KT_TRY(kth_redzone_caught(13, 13));       /* canary spanning the class end (16) */
    KT_TRY(kth_redzone_caught(13, 20));
    for (long off = -8; off < 0; off++)
        KT_TRY(kth_redzone_caught(64, off));
    /* krealloc within the class moves the canary with the size; ksize opens the class */
    uint8_t *p = kmalloc(100, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT(krealloc(p, 40, GFP_KERNEL) == p);
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_REDZONE), all = mm_misuse_count();
    p[40] = 0;
    KT_ASSERT_OK(kfree(p));
    KT_TRY(kt_expect_misuse(MM_MISUSE_REDZONE, KT_ANY_PFN, k));
    p = kmalloc(100, GFP_KERNEL);
    KT_ASSERT_EQ(ksize(p), 128);
    memset(p, 0x33, 128);
    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_EQ(mm_misuse_count(), all + 1);
    KT_MM_CHECK();
    return 0;
}

/* Level 1: a write after free on one of a freed object's poison words is reported when the object
 * is allocated again and by mm_check (slab.poison) and kmem_cache_validate. */
static int test_level1_write_after_free(void)
{
    KT_TRY(kth_boot_level(MM_SLAB_HARDEN_CHEAP, 307));
    if (kts_skip_under_asan("level1_write_after_free"))
        return 0;
    struct kmem_cache *c = kmem_cache_create("l1uaf", 1000, 0, 0, NULL);
    struct mm_check_report rep;
    KT_ASSERT_NOT_NULL(c);
    for (unsigned int w = 0; w < SLAB_POISON_WORDS; w++)
        for (unsigned int b = 0; b < 8; b += 7) {
            uint8_t *p = kmem_cache_alloc(c, GFP_KERNEL);
            KT_ASSERT_NOT_NULL(p);
            KT_ASSERT_OK(kmem_cache_free(c, p));
            unsigned long k = mm_misuse_count_kind(MM_MISUSE_USE_AFTER_FREE);
            unsigned int off = slab_poison_word(c, w) + b;
            p[off] ^= 0x01;
            KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
            KT_ASSERT_STREQ(rep.invariant, "slab.poison");
            if (w & 1) { /* found by validate (and repaired) */
                KT_ASSERT_EQ(kmem_cache_validate(c), 1);
                KT_TRY(kt_expect_misuse(MM_MISUSE_USE_AFTER_FREE, KT_ANY_PFN, k));
                KT_MM_CHECK();
                continue;
            }
            uint8_t *q = kmem_cache_alloc(c, GFP_KERNEL); /* LIFO: the damaged object */
            KT_ASSERT(q == p);
            KT_TRY(kt_expect_misuse(MM_MISUSE_USE_AFTER_FREE, KT_ANY_PFN, k));
            KT_ASSERT_OK(kmem_cache_free(c, q));
        }
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_destroy(c));
    return 0;
}

/* B's freelist pointer set to @next (encoded as the allocator stores it). */
static void kth_set_next(struct kmem_cache *c, uint8_t *b, uintptr_t next)
{
    uintptr_t *where = (uintptr_t *)(b - c->obj_offset + c->fp_offset);
    *where = next ^ c->secret ^ (uintptr_t)where;
}

/*
 * Both levels: the successor check (slab_fp_valid's one-multiply index test) accepts exactly the
 * free object starts of the slab. B heads the CPU freelist; its next pointer is set to each bad
 * candidate in turn and B allocated: every interior pointer (1, 8 and size - 8 bytes in), the
 * slab end, one slot before the slab and an allocated object start are one MM_MISUSE_FREELIST
 * each. Then every other object of the slab (the rebuilt list, in address order: the last
 * object included) is allocated without a report. Slot sizes odd and even multiples of 8.
 */
static int test_successor_exact(void)
{
    static const unsigned int levels[] = { MM_SLAB_HARDEN_CHEAP, MM_SLAB_HARDEN_FULL };
    static const size_t sizes[] = { 16, 64, 200, 256, 1000, 3000 };
    for (unsigned int l = 0; l < MM_ARRAY_SIZE(levels); l++) {
        KT_TRY(kth_boot_level(levels[l], 311 + l));
        if (kts_skip_under_asan("successor_exact"))
            return 0;
        for (unsigned int si = 0; si < MM_ARRAY_SIZE(sizes); si++) {
            struct kmem_cache *c = kmem_cache_create("succ", sizes[si], 0, 0, NULL);
            KT_ASSERT_NOT_NULL(c);
            uint8_t *live = kmem_cache_alloc(c, GFP_KERNEL);
            uint8_t *a = kmem_cache_alloc(c, GFP_KERNEL), *b = kmem_cache_alloc(c, GFP_KERNEL);
            KT_ASSERT(live && a && b);
            struct page *head, *slab = slab_lookup(a, NULL, &head);
            KT_ASSERT(slab && slab == slab_lookup(b, NULL, &head) && slab == slab_lookup(live, NULL, &head));
            uintptr_t first = (uintptr_t)slab_obj_base(c, slab) + c->obj_offset, sz = c->size;
            uintptr_t end = first + (uintptr_t)c->objects * sz;
            KT_ASSERT_OK(kmem_cache_free(c, a));
            const uintptr_t bad[] = { (uintptr_t)a + 1, (uintptr_t)a + 8, (uintptr_t)a + sz - 8,
                                      end, first - sz, first + 8, (uintptr_t)live };
            for (unsigned int i = 0; i < MM_ARRAY_SIZE(bad); i++) {
                KT_ASSERT_OK(kmem_cache_free(c, b)); /* b heads the CPU freelist */
                kth_set_next(c, b, bad[i]);
                unsigned long k = mm_misuse_count_kind(MM_MISUSE_FREELIST), all = mm_misuse_count();
                KT_ASSERT(kmem_cache_alloc(c, GFP_KERNEL) == b);
                KT_ASSERT_MSG(mm_misuse_count_kind(MM_MISUSE_FREELIST) == k + 1,
                              "level %u size %zu candidate %u", levels[l], sizes[si], i);
                KT_ASSERT_EQ(mm_misuse_count(), all + 1);
                KT_MM_CHECK();
            }
            unsigned long all = mm_misuse_count(), n = c->objects - 2;
            void **rest = kmalloc(n * sizeof(void *), GFP_KERNEL);
            KT_ASSERT_NOT_NULL(rest);
            for (unsigned long j = 0; j < n; j++) {
                rest[j] = kmem_cache_alloc(c, GFP_KERNEL);
                KT_ASSERT(rest[j] && slab_lookup(rest[j], NULL, &head) == slab);
            }
            KT_ASSERT_EQ(mm_misuse_count(), all);
            for (unsigned long j = 0; j < n; j++)
                KT_ASSERT_OK(kmem_cache_free(c, rest[j]));
            KT_ASSERT_OK(kfree(rest));
            KT_ASSERT_OK(kmem_cache_free(c, b));
            KT_ASSERT_OK(kmem_cache_free(c, live));
            KT_ASSERT_OK(kmem_cache_destroy(c));
        }
    }
    KT_MM_CHECK();
    return 0;
}

/* Level 1: a corrupted freelist pointer (in the metadata before the object) is reported and the
 * freelist rebuilt, as at level 2. */
static int test_level1_corrupt_freelist(void)
{
    KT_TRY(kth_boot_level(MM_SLAB_HARDEN_CHEAP, 309));
    if (kts_skip_under_asan("level1_corrupt_freelist"))
        return 0;
    struct kmem_cache *c = kmem_cache_create("l1fl", 64, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    uint8_t *a = kmem_cache_alloc(c, GFP_KERNEL), *b = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    KT_ASSERT_OK(kmem_cache_free(c, a));
    KT_ASSERT_OK(kmem_cache_free(c, b)); /* b heads the freelist, its next pointer names a */
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_FREELIST), all = mm_misuse_count();
    memset(b - c->obj_offset + c->fp_offset, 0x41, sizeof(uintptr_t));
    void *x = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT(x == b);
    KT_TRY(kt_expect_misuse(MM_MISUSE_FREELIST, KT_ANY_PFN, k));
    KT_ASSERT_EQ(mm_misuse_count(), all + 1);
    void *y = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(y);
    KT_ASSERT(y != x);
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_free(c, x));
    KT_ASSERT_OK(kmem_cache_free(c, y));
    KT_ASSERT_EQ(mm_misuse_count(), all + 1);
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/*
 * What level 1 deliberately does not see and level 2 does: a write past the requested size
 * beyond its 8-byte canary (still inside the class), and a write after free in the middle of a
 * large object away from the poison words. Level 1 reports nothing and mm_check passes.
 */
static int level_blind_spots(unsigned int param, bool caught)
{
    KT_TRY(kth_boot_level(param, 311));
    if (kts_skip_under_asan("level_blind_spots"))
        return 0;
    unsigned long all = mm_misuse_count();
    uint8_t *p = kmalloc(1000, GFP_KERNEL); /* class 1024 */
    KT_ASSERT_NOT_NULL(p);
    p[1010] = 0;
    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_EQ(mm_misuse_count(), all + caught);
    struct kmem_cache *c = kmem_cache_create("blind", 4000, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    p = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(kmem_cache_free(c, p));
    unsigned int off = 8;
    for (bool hit = true; hit; off += 8) { /* the first word no poison word covers */
        hit = false;
        for (unsigned int w = 0; w < SLAB_POISON_WORDS; w++)
            hit |= slab_poison_word(c, w) == off;
        if (!hit)
            break;
    }
    p[off + 3] ^= 0x10;
    KT_ASSERT_EQ(mm_check(NULL) != 0, caught);
    uint8_t *q = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT(q == p);
    KT_ASSERT_EQ(mm_misuse_count(), all + 2 * caught);
    KT_ASSERT_OK(kmem_cache_free(c, q));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_level1_blind_spots(void) { return level_blind_spots(MM_SLAB_HARDEN_CHEAP, false); }
static int test_level2_blind_spots_caught(void) { return level_blind_spots(MM_SLAB_HARDEN_FULL, true); }

/* Every level keeps objects usable and the heap consistent through mixed traffic. */
static int test_level_traffic(void)
{
    static void *v[256];
    for (unsigned int level = 0; level < 3; level++) {
        static const unsigned int param[3] = { MM_SLAB_HARDEN_OFF, MM_SLAB_HARDEN_CHEAP,
                                               MM_SLAB_HARDEN_FULL };
        KT_TRY(kth_boot_level(param[level], 313 + level));
        unsigned long all = mm_misuse_count();
        for (unsigned int i = 0; i < 256; i++) {
            size_t n = 1 + (i * 37) % 3000;
            v[i] = (i & 1) ? kzalloc(n, GFP_KERNEL) : kmalloc(n, GFP_KERNEL);
            KT_ASSERT_NOT_NULL(v[i]);
            memset(v[i], (int)i, n);
        }
        KT_MM_CHECK();
        for (unsigned int i = 0; i < 256; i += 2)
            KT_ASSERT_OK(kfree(v[i]));
        for (unsigned int i = 1; i < 256; i += 2) {
            v[i] = krealloc(v[i], 1 + (i * 11) % 700, GFP_KERNEL);
            KT_ASSERT_NOT_NULL(v[i]);
        }
        KT_MM_CHECK();
        for (unsigned int i = 1; i < 256; i += 2)
            KT_ASSERT_OK(kfree(v[i]));
        KT_ASSERT_EQ(mm_misuse_count(), all);
        KT_MM_CHECK();
    }
    return 0;
}

static const struct ktest_case harden_cases[] = {
    KT_CASE(redzone_overflow),
    KT_CASE(redzone_underflow),
    KT_CASE(redzone_kmalloc),
    KT_CASE(redzone_kmalloc_request),
    KT_CASE(redzone_kmalloc_resize),
    KT_CASE(use_after_free),
    KT_CASE(validate),
    KT_CASE(corrupt_freelist),
    KT_CASE(freelist_random_seeded),
    KT_CASE(freelist_order_independent_of_address),
    KT_CASE(destroy_live_reports),
    KT_CASE(objects_usable),
    KT_CASE(objects_usable_hardened),
    KT_CASE(level_params),
    KT_CASE(level1_bad_frees),
    KT_CASE(level1_canaries),
    KT_CASE(level1_write_after_free),
    KT_CASE(level1_corrupt_freelist),
    KT_CASE(level1_blind_spots),
    KT_CASE(level2_blind_spots_caught),
    KT_CASE(level_traffic),
    KT_CASE(successor_exact),
};
KT_SUITE(slab_harden, harden_cases);
