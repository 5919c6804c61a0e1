/*
 * test_kfence.c - suite "kfence": the sampled guarded allocator (slab.h, "KFENCE"). Sampling is
 * a deterministic count; a sampled object sits against a guard page, so an access past its end or
 * before its start faults at the access (machine_kernel_probe catches it: a signal handler hosted,
 * the #PF handler's probe in the kernel) and the report names the object, its cache and the
 * offset; a use after free faults too; double, interior, guard and wrong-cache frees are reported;
 * a full pool falls back to the cache; kfree, ksize, krealloc and kmem_cache_free route sampled
 * objects; mm_check sees a mapped guard page. Runs in every build: the pool is never poisoned in
 * the sanitizer shadow, so an access is a fault, not an ASan report.
 */
#include "kt_util.h"
#include "slab.h"
#include "../mm/heap/slab_internal.h"
#include "mm_describe.h"
#include "mm_leak.h"

bool kts_skip_under_asan(const char *what); /* test_slab.c */

static int kf_boot(unsigned int interval)
{
    machine_small(&kt_m, KT_MIB(16), 1);
    kt_m.kfence_interval = interval;
    kt_m.seed = 77;
    return kt_boot_current();
}

/* A sampled kmalloc(@size) object placed against the @right guard (interval 1: every
 * allocation is sampled, sides alternate). */
static char *kf_object(size_t size, bool right)
{
    for (int i = 0; i < 2; i++) {
        char *p = kmalloc(size, GFP_KERNEL);
        if (!p || !is_kfence_address(p))
            return NULL;
        bool at_right = ((uintptr_t)p & (PAGE_SIZE - 1)) != 0; /* a left object starts its page */
        if (at_right == right)
            return p;
        kfree(p);
    }
    return NULL;
}

static volatile char kf_sink;
static void kf_read(void *p) { kf_sink = *(volatile char *)p; }
static void kf_write(void *p) { *(volatile char *)p = 0x5a; }

/* Does @s contain @sub? (no strstr in the kernel's string routines) */
static bool kf_contains(const char *s, const char *sub)
{
    for (; *s; s++) {
        size_t i = 0;
        while (sub[i] && s[i] == sub[i])
            i++;
        if (!sub[i])
            return true;
    }
    return false;
}

/* The last misuse is @kind and its detail contains @what. */
static int kf_expect(enum mm_misuse_kind kind, unsigned long before, const char *what)
{
    struct mm_misuse m;
    KT_TRY(kt_expect_misuse(kind, KT_ANY_PFN, before));
    KT_ASSERT_TRUE(mm_misuse_last(&m));
    KT_ASSERT_MSG(kf_contains(m.detail, what), "report \"%s\" lacks \"%s\"", m.detail, what);
    return 0;
}

static int test_sampling_counts(void)
{
    KT_TRY(kf_boot(4));
    struct kmem_cache *c = kmem_cache_create("kf4", 40, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    void *o[8];
    unsigned int sampled = 0;
    for (int i = 0; i < 8; i++) {
        o[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(o[i]);
        sampled += is_kfence_address(o[i]);
        memset(o[i], i, 40);
    }
    KT_ASSERT_EQ(sampled, 2); /* the 4th and the 8th */
    KT_ASSERT_TRUE(is_kfence_address(o[3]) && is_kfence_address(o[7]));
    KT_MM_CHECK();
    for (int i = 0; i < 8; i++)
        KT_ASSERT_OK(kmem_cache_free(c, o[i]));
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_destroy(c));
    return 0;
}

static int test_off(void)
{
    KT_TRY(kf_boot(0));
    for (int i = 0; i < 64; i++) {
        void *p = kmalloc(32, GFP_KERNEL);
        KT_ASSERT_FALSE(is_kfence_address(p));
        KT_ASSERT_OK(kfree(p));
    }
    struct kfence_stats st;
    kfence_get_stats(&st);
    KT_ASSERT_EQ(st.nr_objects, 0);
    KT_ASSERT_EQ(st.interval, 0);
    return 0;
}

static int oob_case(bool right)
{
    KT_TRY(kf_boot(1));
    char *p = kf_object(64, right);
    KT_ASSERT_NOT_NULL(p);
    memset(p, 1, 64); /* the whole object is usable */
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_OUT_OF_BOUNDS);
    uintptr_t at = 0;
    char *bad = right ? p + 64 : p - 1;
    KT_ASSERT_TRUE(machine_kernel_probe(right ? kf_write : kf_read, bad, &at));
    KT_ASSERT_EQ(at, (uintptr_t)bad);
    KT_TRY(kf_expect(MM_MISUSE_OUT_OF_BOUNDS, before, right ? "offset 64 of 64-byte object"
                                                            : "offset -1 of 64-byte object"));
    KT_TRY(kf_expect(MM_MISUSE_OUT_OF_BOUNDS, before, "cache kmalloc-64, allocated at"));
    KT_TRY(kf_expect(MM_MISUSE_OUT_OF_BOUNDS, before, right ? "out-of-bounds write"
                                                            : "out-of-bounds read"));
    KT_MM_CHECK();
    KT_ASSERT_OK(kfree(p));
    KT_MM_CHECK();
    return 0;
}

static int test_oob_right(void) { return oob_case(true); }
static int test_oob_left(void) { return oob_case(false); }

static int test_use_after_free(void)
{
    KT_TRY(kf_boot(1));
    char *p = kmalloc(100, GFP_KERNEL);
    KT_ASSERT_TRUE(is_kfence_address(p));
    KT_ASSERT_OK(kfree(p));
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_USE_AFTER_FREE);
    KT_ASSERT_TRUE(machine_kernel_probe(kf_read, p + 10, NULL));
    KT_TRY(kf_expect(MM_MISUSE_USE_AFTER_FREE, before, "use-after-free read"));
    KT_TRY(kf_expect(MM_MISUSE_USE_AFTER_FREE, before, "offset 10 of freed 100-byte object"));
    KT_MM_CHECK();
    return 0;
}

static int test_double_and_invalid_free(void)
{
    KT_TRY(kf_boot(1));
    struct kmem_cache *a = kmem_cache_create("kfa", 48, 0, 0, NULL);
    struct kmem_cache *b = kmem_cache_create("kfb", 48, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    char *p = kmem_cache_alloc(a, GFP_KERNEL);
    KT_ASSERT_TRUE(is_kfence_address(p));
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_NOT_OBJECT);
    KT_ASSERT_EQ(kfree(p + 8), -MM_EINVAL);
    KT_TRY(kf_expect(MM_MISUSE_NOT_OBJECT, k, "not a live KFENCE object start"));
    k = mm_misuse_count_kind(MM_MISUSE_NOT_OBJECT);
    char *guard = (char *)MM_ALIGN_DOWN((uintptr_t)p, PAGE_SIZE) + PAGE_SIZE;
    KT_ASSERT_EQ(kfree(guard), -MM_EINVAL);
    KT_TRY(kf_expect(MM_MISUSE_NOT_OBJECT, k, "guard page"));
    k = mm_misuse_count_kind(MM_MISUSE_WRONG_CACHE);
    KT_ASSERT_EQ(kmem_cache_free(b, p), -MM_EINVAL);
    KT_TRY(kf_expect(MM_MISUSE_WRONG_CACHE, k, "freed into cache kfb"));
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_free(a, p));
    k = mm_misuse_count_kind(MM_MISUSE_DOUBLE_FREE);
    KT_ASSERT_EQ(kmem_cache_free(a, p), -MM_EINVAL);
    KT_TRY(kf_expect(MM_MISUSE_DOUBLE_FREE, k, "already free"));
    k = mm_misuse_count_kind(MM_MISUSE_DOUBLE_FREE);
    KT_ASSERT_EQ(kfree(p), -MM_EINVAL);
    KT_TRY(kf_expect(MM_MISUSE_DOUBLE_FREE, k, "cache kfa"));
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_destroy(a));
    KT_ASSERT_OK(kmem_cache_destroy(b));
    return 0;
}

static int test_canary_at_free(void)
{
    KT_TRY(kf_boot(1));
    char *p = kf_object(60, true); /* right: 4 canary bytes between it and the guard */
    KT_ASSERT_NOT_NULL(p);
    if (kts_skip_under_asan("a write past the request is a shadow report first")) {
        KT_ASSERT_OK(kfree(p));
        return 0;
    }
    KT_ASSERT_EQ(((uintptr_t)p + 64) % PAGE_SIZE, 0);
    p[60] = 0; /* one byte past the request, inside the page */
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_REDZONE);
    KT_ASSERT_OK(kfree(p)); /* reported, still freed */
    KT_TRY(kf_expect(MM_MISUSE_REDZONE, k, "canary byte at offset 60"));
    KT_MM_CHECK();
    return 0;
}

static int test_exhaustion_falls_back(void)
{
    KT_TRY(kf_boot(1));
    struct kfence_stats st;
    kfence_get_stats(&st);
    unsigned int free_slots = st.nr_objects - st.nr_live;
    KT_ASSERT_EQ(st.nr_objects, KFENCE_NR_OBJECTS);
    void *o[KFENCE_NR_OBJECTS + 4];
    unsigned int sampled = 0;
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(o); i++) {
        o[i] = kmalloc(24, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(o[i]);
        sampled += is_kfence_address(o[i]);
    }
    KT_ASSERT_EQ(sampled, free_slots);
    struct kfence_stats st2;
    kfence_get_stats(&st2);
    KT_ASSERT_EQ(st2.nr_live, KFENCE_NR_OBJECTS);
    KT_ASSERT_TRUE(st2.nr_fallback >= MM_ARRAY_SIZE(o) - free_slots);
    KT_MM_CHECK();
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(o); i++)
        KT_ASSERT_OK(kfree(o[i]));
    KT_MM_CHECK();
    return 0;
}

static int test_ksize_krealloc(void)
{
    KT_TRY(kf_boot(1));
    char *p = kmalloc(100, GFP_KERNEL);
    KT_ASSERT_TRUE(is_kfence_address(p));
    KT_ASSERT_EQ(ksize(p), 100); /* the request: the page fits nothing more against the guard */
    for (int i = 0; i < 100; i++)
        p[i] = (char)i;
    char *q = krealloc(p, 300, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(q);
    KT_ASSERT_NE((uintptr_t)q, (uintptr_t)p);
    for (int i = 0; i < 100; i++)
        KT_ASSERT_EQ(q[i], (char)i);
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_DOUBLE_FREE);
    KT_ASSERT_NULL(krealloc(p, 10, GFP_KERNEL)); /* p was freed by the move */
    KT_TRY(kf_expect(MM_MISUSE_DOUBLE_FREE, k, "already free"));
    KT_ASSERT_OK(kfree(q));
    KT_MM_CHECK();
    return 0;
}

static int kf_ctor_runs;
static void kf_ctor(void *obj)
{
    kf_ctor_runs++;
    memset(obj, 0x3c, 32);
}

static int test_ctor(void)
{
    KT_TRY(kf_boot(1));
    struct kmem_cache *c = kmem_cache_create("kfctor", 32, 0, 0, kf_ctor);
    KT_ASSERT_NOT_NULL(c);
    unsigned char *p = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT_TRUE(is_kfence_address(p));
    for (int i = 0; i < 32; i++)
        KT_ASSERT_EQ(p[i], 0x3c);
    KT_ASSERT_OK(kmem_cache_free(c, p));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    return 0;
}

/* The checker: a mapped guard page, a live slot whose page is unmapped, a broken FIFO. */
static int test_check_sees_damage(void)
{
    KT_TRY(kf_boot(1));
    char *p = kmalloc(64, GFP_KERNEL);
    KT_ASSERT_TRUE(is_kfence_address(p));
    KT_MM_CHECK();
    struct mm_kfence_state *kf = &mm_state.vmalloc.kfence;
    struct mm_check_report rep;
    uintptr_t guard = mm_state.heap.kfence_start;
    KT_ASSERT_OK(pt_set(&kf->pt, guard, page_to_phys(kf->pages) | PTE_P | PTE_RW, GFP_KERNEL));
    KT_ASSERT_NE(mm_check(&rep), 0);
    KT_ASSERT_STREQ(rep.invariant, "kfence.guard");
    KT_ASSERT_OK(pt_set(&kf->pt, guard, 0, GFP_KERNEL));
    KT_MM_CHECK();
    kf->fifo_len--;
    KT_ASSERT_NE(mm_check(&rep), 0);
    KT_ASSERT_STREQ(rep.invariant, "kfence.fifo");
    kf->fifo_len++;
    KT_MM_CHECK();
    KT_ASSERT_OK(kfree(p));
    return 0;
}

/* mm_describe_addr (what a sanitizer or the #PF report prints) names the object beside a guard. */
static int test_describe(void)
{
    KT_TRY(kf_boot(1));
    char *p = kf_object(64, true);
    KT_ASSERT_NOT_NULL(p);
    struct mm_addr_desc d;
    KT_ASSERT_TRUE(mm_describe_addr(p + 64, &d)); /* the guard page after it */
    KT_ASSERT_EQ(d.owner, MM_ADDR_KFENCE);
    KT_ASSERT_STREQ(d.cache, "kmalloc-64");
    KT_ASSERT_EQ(d.object, (uintptr_t)p);
    KT_ASSERT_EQ(d.offset, 64);
    KT_ASSERT_EQ(d.part, MM_SLAB_RIGHT_REDZONE);
    KT_ASSERT_EQ(d.state, MM_OBJ_ALLOCATED);
    KT_ASSERT_NE(d.alloc_site, 0);
    KT_ASSERT_OK(kfree(p));
    KT_ASSERT_TRUE(mm_describe_addr(p + 3, &d));
    KT_ASSERT_EQ(d.state, MM_OBJ_FREED);
    KT_ASSERT_EQ(d.part, MM_SLAB_OBJECT);
    KT_ASSERT_EQ(d.offset, 3);
    return 0;
}

/* The leak scan with sampling on: the pool's pages are not reported, a slab object referenced only
 * from a sampled object is reached through it, and once nothing references the sampled object
 * both are reported: the sampled one as a kmalloc leak at its pool address. */
static void *kf_root[2];
static int test_leak_scan(void)
{
    KT_TRY(kf_boot(2));
    static struct mm_leak_result r;
    KT_ASSERT_OK(mm_leak_root_add(kf_root, sizeof(kf_root)));
    void **a = kmalloc(64, GFP_KERNEL), **b = kmalloc(64, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    void **sampled = is_kfence_address(a) ? a : b, **plain = sampled == a ? b : a;
    KT_ASSERT_TRUE(is_kfence_address(sampled) && !is_kfence_address(plain));
    kf_root[0] = sampled;
    sampled[0] = plain; /* plain is reachable only through the sampled object */
    plain[0] = NULL;
    int n = mm_leak_scan(&r);
    KT_ASSERT_MSG(n == 0, "leak scan: %d (%s: %s)", n, r.rep.invariant ? r.rep.invariant : "-",
                  r.rep.detail);
    kf_root[0] = NULL;
    KT_ASSERT_EQ(mm_leak_scan(&r), 2);
    bool found = false;
    for (unsigned int i = 0; i < r.nr_records; i++)
        found |= r.rec[i].addr == (uintptr_t)sampled && r.rec[i].kind == MM_LEAK_KMALLOC &&
                 r.rec[i].size == 64 && r.rec[i].age != MM_LEAK_AGE_UNKNOWN; /* stamped too */
    KT_ASSERT_MSG(found, "the sampled object %p is not among the %u leak records",
                  (void *)sampled, r.nr_records);
    KT_ASSERT_OK(kfree(a));
    KT_ASSERT_OK(kfree(b));
    KT_ASSERT_OK(mm_leak_root_remove(kf_root));
    return 0;
}

static int test_bad_interval(void)
{
    machine_small(&kt_m, KT_MIB(16), 1);
    kt_m.kfence_interval = MM_KFENCE_MAX_INTERVAL + 1;
    KT_ASSERT_EQ(machine_boot(&kt_m), -MM_EINVAL);
    return 0;
}

static const struct ktest_case kfence_cases[] = {
    KT_CASE(sampling_counts),
    KT_CASE(off),
    KT_CASE(oob_right),
    KT_CASE(oob_left),
    KT_CASE(use_after_free),
    KT_CASE(double_and_invalid_free),
    KT_CASE(canary_at_free),
    KT_CASE(exhaustion_falls_back),
    KT_CASE(ksize_krealloc),
    KT_CASE(ctor),
    KT_CASE(check_sees_damage),
    KT_CASE(describe),
    KT_CASE(leak_scan),
    KT_CASE(bad_interval),
};
KT_SUITE(kfence, kfence_cases);
