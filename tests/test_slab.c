/*
 * test_slab.c - suites "slab" (object caches: layout, alignment, constructors, DMA, colouring,
 * shrinking, reclaim, cross-CPU frees, statistics) and "slab_misuse" (bad input to the cache and
 * kmalloc entry points: each rejected call returns its documented code, is reported with the right
 * kind, changes neither the slab statistics nor the free page count, and leaves mm_check happy).
 *
 * Also defines the kts_* helpers shared with test_kmalloc.c and test_harden.c (declared there).
 */
#include "kt_util.h"
#include "../mm/internal.h" /* the mm's own metadata caches and objects */
#include "mm_leak.h"
#include "slab.h"
#include "vmalloc.h"

/* ---- shared helpers ---- */

#define KTS_MAX_CACHES 64

struct kts_snap {
    unsigned int n;
    struct slab_cache_stats s[KTS_MAX_CACHES];
    unsigned long nr_free;
    unsigned long slab_pages;
};

struct kts_snap kts_a, kts_b;

/** Boot a small machine with hardening on or off and a seed. 0 on success. */
int kts_boot(unsigned int mib, unsigned int cpus, bool hardened, uint64_t seed)
{
    machine_small(&kt_m, KT_MIB(mib), cpus);
    kt_m.slab_hardened = hardened;
    kt_m.seed = seed;
    return kt_boot_current();
}

void kts_take(struct kts_snap *s)
{
    s->n = slab_get_stats(s->s, KTS_MAX_CACHES);
    s->nr_free = page_alloc_nr_free();
    s->slab_pages = slab_nr_pages();
}

/** Slab statistics and free page count of @a and @b agree. */
int kts_same(const struct kts_snap *a, const struct kts_snap *b)
{
    KT_ASSERT_EQ(a->n, b->n);
    KT_ASSERT_EQ(a->nr_free, b->nr_free);
    KT_ASSERT_EQ(a->slab_pages, b->slab_pages);
    for (unsigned int i = 0; i < a->n && i < KTS_MAX_CACHES; i++) {
        const struct slab_cache_stats *x = &a->s[i], *y = &b->s[i];

        KT_ASSERT_STREQ(x->name, y->name);
        KT_ASSERT_MSG(x->active_objs == y->active_objs && x->total_objs == y->total_objs &&
                      x->total_slabs == y->total_slabs && x->mem_bytes == y->mem_bytes &&
                      x->alloc == y->alloc && x->free == y->free,
                      "cache %s: active %lu/%lu total %lu/%lu slabs %lu/%lu mem %lu/%lu "
                      "alloc %lu/%lu free %lu/%lu", x->name, x->active_objs, y->active_objs,
                      x->total_objs, y->total_objs, x->total_slabs, y->total_slabs,
                      x->mem_bytes, y->mem_bytes, x->alloc, y->alloc, x->free, y->free);
    }
    return 0;
}

/** Statistics of the cache named @name. 0 on success. */
int kts_stats(const char *name, struct slab_cache_stats *out)
{
    static struct slab_cache_stats all[KTS_MAX_CACHES];
    unsigned int n = slab_get_stats(all, KTS_MAX_CACHES);

    for (unsigned int i = 0; i < n && i < KTS_MAX_CACHES; i++) {
        if (ktest_strcmp(all[i].name, name) == 0) {
            *out = all[i];
            return 0;
        }
    }
    KT_FAIL("no cache named %s among %u", name, n);
}

/**
 * True if the rest of the test must be skipped because a sanitizer shadow (ASan, KASAN) would
 * report its deliberate misuse first. The case then cleans up and is reported skipped, not passed:
 * its point is made by the builds without a shadow (hosted noasan, the normal kernel).
 */
bool kts_skip_under_asan(const char *what)
{
    if (!env_shadow_enabled)
        return false;
    ktest_skip("%s: deliberate red-zone/freed-object writes are reports of the sanitizer shadow "
               "itself (the noasan build and the normal kernel run it)", what);
    return true;
}

/* Run @call, which must return -@code, be reported as @kind, and change no slab/page state. */
#define KTS_REJECTED(call, code, kind) do { \
    unsigned long kb_ = mm_misuse_count_kind(kind); \
    kts_take(&kts_a); \
    KT_ASSERT_ERR(call, code); \
    kts_take(&kts_b); \
    KT_TRY(kts_same(&kts_a, &kts_b)); \
    KT_TRY(kt_expect_misuse(kind, KT_ANY_PFN, kb_)); \
    KT_MM_CHECK(); \
} while (0)

/* Same for a call returning a pointer: it must return NULL. */
#define KTS_REJECTED_NULL(call, kind) do { \
    unsigned long kb_ = mm_misuse_count_kind(kind); \
    kts_take(&kts_a); \
    KT_ASSERT_NULL(call); \
    kts_take(&kts_b); \
    KT_TRY(kts_same(&kts_a, &kts_b)); \
    KT_TRY(kt_expect_misuse(kind, KT_ANY_PFN, kb_)); \
    KT_MM_CHECK(); \
} while (0)

/* ---- suite "slab" ---- */

#define KTS_MAX_OBJS 512
static void *objs[KTS_MAX_OBJS];
static void *objs2[KTS_MAX_OBJS];

static uint8_t token(unsigned int i) { return (uint8_t)(i * 37u + 11u); }

/* Fill objs[0..n) (each @size bytes) with per-object tokens, then verify all of them. */
static int fill_and_verify(void **v, unsigned int n, size_t size)
{
    for (unsigned int i = 0; i < n; i++)
        memset(v[i], token(i), size);
    for (unsigned int i = 0; i < n; i++) {
        const uint8_t *p = v[i];

        for (size_t b = 0; b < size; b++)
            if (p[b] != token(i))
                KT_FAIL("object %u (%p) byte %zu is 0x%x, expected 0x%x: objects overlap", i,
                        v[i], b, p[b], token(i));
    }
    for (unsigned int i = 0; i < n; i++)
        for (unsigned int j = i + 1; j < n; j++) {
            uintptr_t a = (uintptr_t)v[i], b = (uintptr_t)v[j];

            KT_ASSERT_MSG(a + size <= b || b + size <= a, "objects %p and %p overlap", v[i], v[j]);
        }
    return 0;
}

static int sizes_and_aligns(bool hardened)
{
    static const size_t sizes[] = { 1, 8, 13, 64, 100, 3000, 4096, 8192, 20000, 65536 };
    static const size_t aligns[] = { 0, 8, 64, 256 };

    KT_TRY(kts_boot(32, 2, hardened, 1));
    for (unsigned int si = 0; si < MM_ARRAY_SIZE(sizes); si++)
        for (unsigned int ai = 0; ai < MM_ARRAY_SIZE(aligns); ai++)
            for (unsigned int hw = 0; hw < 2; hw++) {
                size_t size = sizes[si], align = aligns[ai];
                unsigned int flags = hw ? SLAB_HWCACHE_ALIGN : 0;
                size_t want = align ? align : 8;
                struct slab_cache_stats st;

                if (hw && want < MM_CACHE_LINE)
                    want = MM_CACHE_LINE;
                struct kmem_cache *c = kmem_cache_create("sz", size, align, flags, NULL);

                KT_ASSERT_MSG(c != NULL, "size %zu align %zu flags %u", size, align, flags);
                KT_ASSERT_EQ(kmem_cache_size(c), size);
                KT_ASSERT_STREQ(kmem_cache_name(c), "sz");
                KT_TRY(kts_stats("sz", &st));
                KT_ASSERT_EQ(st.hardened, hardened);
                KT_ASSERT_GE(st.slot_size, size);
                KT_ASSERT_GE(st.objs_per_slab, 1);
                KT_ASSERT_LE((uint64_t)st.objs_per_slab * st.slot_size, PAGE_SIZE << st.order);
                unsigned int n = MM_MIN(st.objs_per_slab * 2 + 1, 24u);

                for (unsigned int i = 0; i < n; i++) {
                    objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
                    KT_ASSERT_MSG(objs[i] != NULL, "size %zu align %zu obj %u", size, align, i);
                    KT_ASSERT_MSG(((uintptr_t)objs[i] & (want - 1)) == 0,
                                  "size %zu align %zu flags %u: object %p not %zu-aligned", size,
                                  align, flags, objs[i], want);
                }
                KT_TRY(fill_and_verify(objs, n, size));
                KT_TRY(kts_stats("sz", &st));
                KT_ASSERT_EQ(st.active_objs, n);
                KT_MM_CHECK();
                for (unsigned int i = 0; i < n; i++)
                    KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
                KT_ASSERT_OK(kmem_cache_destroy(c));
                KT_MM_CHECK();
            }
    return 0;
}

static int test_sizes_aligns(void) { return sizes_and_aligns(false); }
static int test_sizes_aligns_hardened(void) { return sizes_and_aligns(true); }

static unsigned long ctor_calls;

static void ctor_fill(void *obj)
{
    ctor_calls++;
    memset(obj, 0xc7, 100);
}

static int check_constructed(const void *obj)
{
    const uint8_t *p = obj;

    for (unsigned int b = 0; b < 100; b++)
        if (p[b] != 0xc7)
            KT_FAIL("object %p byte %u is 0x%x, not constructed", obj, b, p[b]);
    return 0;
}

static int ctor_case(bool hardened)
{
    struct slab_cache_stats st;

    KT_TRY(kts_boot(16, 1, hardened, 7));
    ctor_calls = 0;
    struct kmem_cache *c = kmem_cache_create("ctor", 100, 0, 0, ctor_fill);

    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_EQ(ctor_calls, 0); /* no slab yet */
    KT_TRY(kts_stats("ctor", &st));
    unsigned int per = st.objs_per_slab, n = MM_MIN(per * 3 + 1, (unsigned int)KTS_MAX_OBJS);

    objs[0] = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(objs[0]);
    KT_ASSERT_EQ(ctor_calls, per); /* the whole first slab was constructed, once */
    KT_TRY(check_constructed(objs[0]));
    for (unsigned int i = 1; i < n; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
        KT_TRY(check_constructed(objs[i]));
    }
    KT_TRY(kts_stats("ctor", &st));
    KT_ASSERT_EQ(ctor_calls, st.total_slabs * per);
    KT_ASSERT_EQ(st.total_slabs, (n + per - 1) / per);
    unsigned long calls = ctor_calls;

    /* Objects are returned in their constructed state; they come back constructed, without
     * another ctor call as long as their slab survives. */
    for (unsigned int i = 0; i < n; i += 2)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    for (unsigned int i = 0; i < n; i += 2) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
        KT_TRY(check_constructed(objs[i]));
    }
    KT_ASSERT_EQ(ctor_calls, calls);
    KT_MM_CHECK();
    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_ctor(void) { return ctor_case(false); }
static int test_ctor_hardened(void) { return ctor_case(true); }

static int dma_case(bool hardened)
{
    KT_TRY(kts_boot(32, 1, hardened, 3));
    struct kmem_cache *c = kmem_cache_create("dma", 3000, 0, SLAB_CACHE_DMA, NULL);
    struct kmem_cache *n = kmem_cache_create("nodma", 3000, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_NOT_NULL(n);
    for (unsigned int i = 0; i < 40; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
        struct page *pg = virt_to_page(objs[i]);
        struct page *end = virt_to_page((char *)objs[i] + 2999);

        KT_ASSERT_NOT_NULL(pg);
        KT_ASSERT_EQ(pg->zone, ZONE_DMA);
        KT_ASSERT_EQ(end->zone, ZONE_DMA);
        objs2[i] = kmem_cache_alloc(n, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs2[i]);
        KT_ASSERT_EQ(virt_to_page(objs2[i])->zone, ZONE_NORMAL);
    }
    KT_MM_CHECK();
    for (unsigned int i = 0; i < 40; i++) {
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
        KT_ASSERT_OK(kmem_cache_free(n, objs2[i]));
    }
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_ASSERT_OK(kmem_cache_destroy(n));
    KT_MM_CHECK();
    return 0;
}

static int test_dma(void) { return dma_case(false); }
static int test_dma_hardened(void) { return dma_case(true); }

static int test_no_overlap_many(void)
{
    KT_TRY(kts_boot(16, 1, false, 5));
    struct kmem_cache *c = kmem_cache_create("tok", 24, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    for (unsigned int i = 0; i < 400; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
    }
    KT_TRY(fill_and_verify(objs, 400, 24));
    /* Free every third, reallocate: still no overlap with the live ones. */
    for (unsigned int i = 0; i < 400; i += 3)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    for (unsigned int i = 0; i < 400; i += 3) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
    }
    KT_TRY(fill_and_verify(objs, 400, 24));
    KT_MM_CHECK();
    for (unsigned int i = 0; i < 400; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int colour_case(bool hardened)
{
    struct slab_cache_stats st;
    uintptr_t base[8];
    unsigned long first[8];
    unsigned int nslabs = 0;

    KT_TRY(kts_boot(16, 1, hardened, 9));
    struct kmem_cache *c = kmem_cache_create("colour", 1000, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_TRY(kts_stats("colour", &st));
    uint64_t bytes = PAGE_SIZE << st.order;
    uint64_t spare = bytes - (uint64_t)st.objs_per_slab * st.slot_size;
    unsigned int step = MM_MAX(st.align, (unsigned int)MM_CACHE_LINE);

    KT_ASSERT_MSG(spare >= step, "slab of size-1000 cache has no spare room (%llu bytes)",
                  (unsigned long long)spare);
    unsigned int n = st.objs_per_slab * 4;

    KT_ASSERT_LE(n, KTS_MAX_OBJS);
    for (unsigned int i = 0; i < n; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
        uintptr_t b = (uintptr_t)objs[i] & ~(uintptr_t)(bytes - 1);
        unsigned long off = (unsigned long)((uintptr_t)objs[i] - b);
        unsigned int k = 0;

        while (k < nslabs && base[k] != b)
            k++;
        if (k == nslabs) {
            KT_ASSERT_LT(nslabs, 8);
            base[nslabs] = b;
            first[nslabs++] = off;
        } else if (off < first[k]) {
            first[k] = off;
        }
    }
    KT_ASSERT_EQ(nslabs, 4);
    unsigned int expect = (unsigned int)MM_MIN((uint64_t)nslabs, spare / step + 1);
    unsigned int distinct = 0;

    for (unsigned int k = 0; k < nslabs; k++) {
        bool dup = false;

        for (unsigned int j = 0; j < k; j++)
            dup |= first[j] == first[k];
        distinct += !dup;
        KT_ASSERT_LE(first[k] + (uint64_t)st.objs_per_slab * st.slot_size - (st.slot_size - 1000),
                     bytes);
    }
    KT_ASSERT_MSG(distinct == expect, "%u distinct first-object offsets over %u slabs, expected "
                  "%u (spare %llu): %lu %lu %lu %lu", distinct, nslabs, expect,
                  (unsigned long long)spare, first[0], first[1], first[2], first[3]);
    KT_MM_CHECK();
    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_colouring(void) { return colour_case(false); }
static int test_colouring_hardened(void) { return colour_case(true); }

static int test_shrink(void)
{
    struct slab_cache_stats st;

    KT_TRY(kts_boot(16, 1, false, 11));
    struct kmem_cache *c = kmem_cache_create("shrink", 1000, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_TRY(kts_stats("shrink", &st));
    unsigned int n = MM_MIN(st.objs_per_slab * 10, (unsigned int)KTS_MAX_OBJS);

    for (unsigned int i = 0; i < n; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
    }
    KT_TRY(kts_stats("shrink", &st));
    KT_ASSERT_GE(st.total_slabs, 10);
    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_TRY(kts_stats("shrink", &st));
    KT_ASSERT_EQ(st.active_objs, 0);
    KT_ASSERT_GE(st.total_slabs, 1);
    KT_ASSERT_LE(st.total_slabs, 11); /* at most 10 empty slabs are kept (plus the CPU slab) */
    unsigned long pages_before = slab_nr_pages(), free_before = page_alloc_nr_free();
    unsigned long slabs_before = st.total_slabs;
    unsigned long got = kmem_cache_shrink(c);

    unsigned long freed = slabs_before << st.order;

    KT_ASSERT_EQ(slab_nr_pages(), pages_before - freed);
    KT_ASSERT_EQ(page_alloc_nr_free(), free_before + freed);
    KT_TRY(kts_stats("shrink", &st));
    KT_ASSERT_EQ(st.total_slabs, 0);
    KT_ASSERT_EQ(st.mem_bytes, 0);
    KT_ASSERT_EQ(kmem_cache_shrink(c), 0);
    KT_MM_CHECK();
    /* "Returns the pages freed": that includes the flushed (empty) CPU slab. */
    KT_ASSERT_MSG(got == freed, "kmem_cache_shrink returned %lu, but %lu pages were freed", got,
                  freed);
    /* Still usable after shrinking. */
    objs[0] = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(objs[0]);
    KT_ASSERT_OK(kmem_cache_free(c, objs[0]));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/*
 * Regression (found by AFL++ in the misuse target): a cache created and destroyed on another CPU
 * left the cache of caches an empty per-CPU slab that no public shrink reached, so slab pages
 * never returned to their boot value. kmem_cache_shrink_all covers the mm's own caches.
 */
static int test_shrink_all_returns_cache_cache_slab(void)
{
    KT_TRY(kts_boot(8, 4, true, 17));
    unsigned long boot_pages = slab_nr_pages();

    machine_cpu_set(2);
    struct kmem_cache *c = kmem_cache_create("other-cpu", 108, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_OK(kmem_cache_destroy(c));
    machine_cpu_set(0);
    kmem_cache_shrink_all();
    KT_ASSERT_LE(slab_nr_pages(), boot_pages);
    KT_MM_CHECK();
    return 0;
}

static int test_shrinker_under_pressure(void)
{
    struct slab_cache_stats st;
    int err;

    KT_TRY(kts_boot(16, 1, false, 13));
    struct kmem_cache *c = kmem_cache_create("pressure", 1000, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_TRY(kts_stats("pressure", &st));
    unsigned int n = MM_MIN(st.objs_per_slab * 8, (unsigned int)KTS_MAX_OBJS);

    for (unsigned int i = 0; i < n; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
    }
    /* Free from the oldest slabs first so the CPU slab keeps objects: the empties are listed. */
    for (unsigned int i = 0; i < n - 1; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_TRY(kts_stats("pressure", &st));
    unsigned long empty = st.total_slabs - st.active_slabs;

    KT_ASSERT_GE(empty, 1);
    page_alloc_get_stats(&kt_st_a);
    kt_blocks_reset();
    kt_alloc_until_fail(GFP_KERNEL, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kts_stats("pressure", &st));
    KT_ASSERT_MSG(st.total_slabs - st.active_slabs == 0,
                  "%lu empty slabs left after memory was exhausted (had %lu)",
                  st.total_slabs - st.active_slabs, empty);
    KT_ASSERT_GE(kt_st_b.counters.reclaimed - kt_st_a.counters.reclaimed, empty << st.order);
    KT_ASSERT_EQ(st.active_objs, 1);
    KT_MM_CHECK();
    KT_TRY(kt_blocks_free_all());
    KT_ASSERT_OK(kmem_cache_free(c, objs[n - 1]));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_remote_free(void)
{
    struct slab_cache_stats st;

    KT_TRY(kts_boot(16, 4, false, 17));
    struct kmem_cache *c = kmem_cache_create("remote", 200, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_TRY(kts_stats("remote", &st));
    unsigned int n = MM_MIN(st.objs_per_slab * 3, (unsigned int)KTS_MAX_OBJS);

    machine_cpu_set(0);
    for (unsigned int i = 0; i < n; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
        memset(objs[i], 0x11, 200);
    }
    machine_cpu_set(1);
    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_TRY(kts_stats("remote", &st));
    KT_ASSERT_EQ(st.active_objs, 0);
    KT_ASSERT_EQ(st.free_remote, n);
    KT_MM_CHECK();
    /* Reuse on the freeing CPU, on the allocating CPU and on a third one. */
    for (unsigned int i = 0; i < n; i++) {
        machine_cpu_set(i % 3);
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
    }
    KT_TRY(fill_and_verify(objs, n, 200));
    KT_TRY(kts_stats("remote", &st));
    KT_ASSERT_EQ(st.active_objs, n);
    KT_MM_CHECK();
    for (unsigned int i = 0; i < n; i++) {
        machine_cpu_set((i + 1) % 4);
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    }
    machine_cpu_set(0);
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_remote_free_hardened(void)
{
    KT_TRY(kts_boot(16, 2, true, 19));
    struct kmem_cache *c = kmem_cache_create("remote", 64, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    for (unsigned int i = 0; i < 200; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
    }
    machine_cpu_set(1);
    for (unsigned int i = 0; i < 200; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_MM_CHECK();
    machine_cpu_set(0);
    for (unsigned int i = 0; i < 200; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
    }
    KT_TRY(fill_and_verify(objs, 200, 64));
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    for (unsigned int i = 0; i < 200; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/* ---- remote-free buffers (slab_internal.h) ---- */

/* The objects of @c in CPU @cpu's remote-free buffer. */
static unsigned int kts_buffered(struct kmem_cache *c, unsigned int cpu)
{
    return c->cpu[cpu].nr_rfree;
}

/* Frees on a CPU whose active slab is another one wait in that CPU's buffer: free for the stats,
 * still counted by their slab, accepted by mm_check and not leaks; a full buffer returns itself,
 * and shrink (a call to the CPU, which has no slab of its own) and destroy return the rest. */
static int test_remote_free_buffer(void)
{
    static struct mm_leak_result leaks;
    struct slab_cache_stats st;

    KT_TRY(kts_boot(16, 2, false, 43));
    struct kmem_cache *c = kmem_cache_create("rbuf", 64, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_EQ(c->rfree_max, SLAB_RFREE_MAX);
    machine_cpu_set(0);
    for (unsigned int i = 0; i < 3; i++)
        KT_ASSERT_NOT_NULL(objs[i] = kmem_cache_alloc(c, GFP_KERNEL));
    machine_cpu_set(1);
    for (unsigned int i = 0; i < 3; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_ASSERT_EQ(kts_buffered(c, 1), 3);
    KT_ASSERT_NULL(c->cpu[1].slab);
    KT_TRY(kts_stats("rbuf", &st));
    KT_ASSERT_EQ(st.active_objs, 0);
    KT_ASSERT_EQ(st.free_remote, 3);
    KT_MM_CHECK();
    KT_ASSERT_EQ(mm_leak_scan(&leaks), 0);
    machine_cpu_set(0);
    kmem_cache_shrink(c); /* CPU 0's slab and, by a call, CPU 1's buffer */
    KT_ASSERT_EQ(kts_buffered(c, 1), 0);
    KT_TRY(kts_stats("rbuf", &st));
    KT_ASSERT_EQ(st.total_slabs, 0);
    KT_MM_CHECK();
    /* rfree_max frees return the buffer under one lock hold; one more starts it again */
    for (unsigned int i = 0; i <= c->rfree_max; i++)
        KT_ASSERT_NOT_NULL(objs[i] = kmem_cache_alloc(c, GFP_KERNEL));
    machine_cpu_set(1);
    for (unsigned int i = 0; i <= c->rfree_max; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_ASSERT_EQ(kts_buffered(c, 1), 1);
    KT_MM_CHECK();
    machine_cpu_set(0);
    unsigned long busy = mm_misuse_count_kind(MM_MISUSE_CACHE_BUSY);
    KT_ASSERT_OK(kmem_cache_destroy(c)); /* the buffered object is returned first */
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_CACHE_BUSY), busy);
    KT_MM_CHECK();
    return 0;
}

/* Without hardening a second free of the last buffered object is refused at once; of another
 * buffered object, mm_check finds it (slab.duplicate). A buffer entry outside the cache's slabs
 * is slab.rfree. */
static int test_remote_free_buffer_misuse(void)
{
    KT_TRY(kts_boot(16, 2, false, 47));
    struct kmem_cache *c = kmem_cache_create("rbuf", 64, 0, 0, NULL);
    struct mm_check_report rep;
    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_NOT_NULL(objs[0] = kmem_cache_alloc(c, GFP_KERNEL));
    KT_ASSERT_NOT_NULL(objs[1] = kmem_cache_alloc(c, GFP_KERNEL));
    machine_cpu_set(1);
    KT_ASSERT_OK(kmem_cache_free(c, objs[0]));
    KTS_REJECTED(kmem_cache_free(c, objs[0]), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
    KT_ASSERT_OK(kmem_cache_free(c, objs[1]));
    KT_ASSERT_OK(kmem_cache_free(c, objs[0])); /* not the last entry: taken */
    KT_ASSERT_EQ(kts_buffered(c, 1), 3);
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "slab.duplicate");
    c->cpu[1].nr_rfree = 2; /* forget the second entry of objs[0] */
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT); /* rfree_last still names it */
    KT_ASSERT_STREQ(rep.invariant, "slab.rfree");
    c->cpu[1].rfree_last = c->cpu[1].rfree[1];
    KT_MM_CHECK();
    struct page *slab = c->cpu[1].rfree_slab[0];
    c->cpu[1].rfree_slab[0] = virt_to_page(c); /* a slab of the cache of caches */
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "slab.rfree");
    c->cpu[1].rfree_slab[0] = slab;
    KT_MM_CHECK();
    machine_cpu_set(0);
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/* Hardened: a buffered object is tagged RFREE (mm_check holds the tag to the buffer), a second
 * free of it is refused on any CPU, kmem_cache_validate and mm_check see a write after its free,
 * and freelist repair on its slab's CPU leaves it where it is. */
static int test_remote_free_buffer_hardened(void)
{
    KT_TRY(kts_boot(16, 2, true, 53));
    struct kmem_cache *c = kmem_cache_create("rbuf", 64, 0, 0, NULL);
    struct mm_check_report rep;
    KT_ASSERT_NOT_NULL(c);
    for (unsigned int i = 0; i < 4; i++)
        KT_ASSERT_NOT_NULL(objs[i] = kmem_cache_alloc(c, GFP_KERNEL));
    machine_cpu_set(1);
    KT_ASSERT_OK(kmem_cache_free(c, objs[0]));
    KT_ASSERT_OK(kmem_cache_free(c, objs[1]));
    KTS_REJECTED(kmem_cache_free(c, objs[0]), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
    machine_cpu_set(0);
    KTS_REJECTED(kmem_cache_free(c, objs[0]), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
    struct slab_meta *m = slab_meta_of(c, objs[0]);
    slab_slot_open(c, slab_slot_of(c, objs[0]));
    KT_ASSERT_EQ(m->state, SLAB_STATE_RFREE);
    m->state = SLAB_STATE_FREE;
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "slab.state");
    slab_slot_open(c, slab_slot_of(c, objs[0])); /* mm_check closed it */
    m->state = SLAB_STATE_RFREE;
    slab_slot_close(c, slab_slot_of(c, objs[0]), false);
    KT_MM_CHECK();
    if (!kts_skip_under_asan("remote_free_buffer_hardened write after free")) {
        unsigned long uaf = mm_misuse_count_kind(MM_MISUSE_USE_AFTER_FREE);
        ((char *)objs[1])[3] ^= 1;
        KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
        KT_ASSERT_STREQ(rep.invariant, "slab.poison");
        KT_ASSERT_EQ(kmem_cache_validate(c), 1); /* reported and repaired */
        KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_USE_AFTER_FREE), uaf + 1);
        KT_MM_CHECK();
        /* a damaged link on CPU 0's freelist: the repair rebuilds it from FREE tags only */
        unsigned long fl = mm_misuse_count_kind(MM_MISUSE_FREELIST);
        void *head = c->cpu[0].freelist;
        KT_ASSERT_NOT_NULL(head);
        slab_slot_open(c, slab_slot_of(c, head));
        *(uintptr_t *)((char *)slab_slot_of(c, head) + c->fp_offset) ^= 0x40;
        slab_slot_close(c, slab_slot_of(c, head), false);
        KT_ASSERT_NOT_NULL(objs[4] = kmem_cache_alloc(c, GFP_KERNEL));
        KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_FREELIST), fl + 1);
        KT_ASSERT_EQ(kts_buffered(c, 1), 2);
        KT_MM_CHECK();
        KT_ASSERT_OK(kmem_cache_free(c, objs[4]));
    }
    for (unsigned int i = 2; i < 4; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_stats(void)
{
    struct slab_cache_stats st;

    KT_TRY(kts_boot(16, 2, false, 23));
    unsigned long pages0 = slab_nr_pages();
    struct kmem_cache *c = kmem_cache_create("stats", 300, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_TRY(kts_stats("stats", &st));
    KT_ASSERT_EQ(st.object_size, 300);
    KT_ASSERT_EQ(st.active_objs, 0);
    KT_ASSERT_EQ(st.total_slabs, 0);
    KT_ASSERT_EQ(st.mem_bytes, 0);
    KT_ASSERT_FALSE(st.hardened);
    unsigned int per = st.objs_per_slab, n = MM_MIN(per * 2 + 3, (unsigned int)KTS_MAX_OBJS);
    unsigned long pages1 = slab_nr_pages();

    for (unsigned int i = 0; i < n; i++) {
        objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(objs[i]);
    }
    KT_TRY(kts_stats("stats", &st));
    KT_ASSERT_EQ(st.active_objs, n);
    KT_ASSERT_EQ(st.alloc, n);
    KT_ASSERT_EQ(st.free, 0);
    KT_ASSERT_EQ(st.total_slabs, (n + per - 1) / per);
    KT_ASSERT_EQ(st.total_objs, st.total_slabs * per);
    KT_ASSERT_GE(st.total_objs, st.active_objs);
    KT_ASSERT_EQ(st.mem_bytes, st.total_slabs * (PAGE_SIZE << st.order));
    KT_ASSERT_EQ(st.waste_bytes, st.mem_bytes - n * 300ul);
    KT_ASSERT_EQ(st.active_slabs, st.total_slabs);
    KT_ASSERT_EQ(slab_nr_pages(), pages1 + (st.total_slabs << st.order));
    KT_ASSERT_GE(pages1, pages0);
    /* Free a few on another CPU and a few locally. */
    machine_cpu_set(1);
    for (unsigned int i = 0; i < 3; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    machine_cpu_set(0);
    for (unsigned int i = 3; i < 5; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_TRY(kts_stats("stats", &st));
    KT_ASSERT_EQ(st.active_objs, n - 5);
    KT_ASSERT_EQ(st.free, 5);
    KT_ASSERT_GE(st.free_remote, 3);
    KT_ASSERT_EQ(st.total_objs, st.total_slabs * per);
    KT_ASSERT_EQ(st.mem_bytes, st.total_slabs * (PAGE_SIZE << st.order));
    slab_show(ENV_LOG_DEBUG);
    /* slab_get_stats with no buffer counts the caches. */
    unsigned int nc = slab_get_stats(NULL, 0);

    KT_ASSERT_GE(nc, 2 * 13 + 2); /* cache of caches, 26 kmalloc caches, ours */
    for (unsigned int i = 5; i < n; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_TRY(kts_stats("stats", &st));
    KT_ASSERT_EQ(st.active_objs, 0);
    KT_ASSERT_EQ(st.alloc, st.free);
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_ASSERT_EQ(slab_get_stats(NULL, 0), nc - 1);
    KT_MM_CHECK();
    return 0;
}

static int test_zalloc_and_name(void)
{
    KT_TRY(kts_boot(8, 1, false, 29));
    struct kmem_cache *c =
        kmem_cache_create("a-rather-long-cache-name-that-exceeds-31-chars", 40, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_EQ(ktest_strcmp(kmem_cache_name(c), "a-rather-long-cache-name-that-e"), 0);
    uint8_t *p = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    memset(p, 0xee, 40);
    KT_ASSERT_OK(kmem_cache_free(c, p));
    uint8_t *q = kmem_cache_zalloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(q);
    for (unsigned int i = 0; i < 40; i++)
        KT_ASSERT_EQ(q[i], 0);
    KT_ASSERT_OK(kmem_cache_free(c, q));
    KT_ASSERT_OK(kmem_cache_free(c, NULL));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case slab_cases[] = {
    KT_CASE(sizes_aligns),
    KT_CASE(sizes_aligns_hardened),
    KT_CASE(ctor),
    KT_CASE(ctor_hardened),
    KT_CASE(dma),
    KT_CASE(dma_hardened),
    KT_CASE(no_overlap_many),
    KT_CASE(colouring),
    KT_CASE(colouring_hardened),
    KT_CASE(shrink),
    KT_CASE(shrink_all_returns_cache_cache_slab),
    KT_CASE(shrinker_under_pressure),
    KT_CASE(remote_free),
    KT_CASE(remote_free_hardened),
    KT_CASE(stats),
    KT_CASE(zalloc_and_name),
    KT_CASE(remote_free_buffer),
    KT_CASE(remote_free_buffer_misuse),
    KT_CASE(remote_free_buffer_hardened),
};
KT_SUITE(slab, slab_cases);

/* ---- suite "slab_misuse" ---- */

static int double_free_case(bool hardened)
{
    KT_TRY(kts_boot(16, 1, hardened, 31));
    struct kmem_cache *c = kmem_cache_create("df", 64, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    void *a = kmem_cache_alloc(c, GFP_KERNEL), *b = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    KT_ASSERT_OK(kmem_cache_free(c, a));
    /* Freed twice in a row on the same CPU: detected with and without hardening. */
    KTS_REJECTED(kmem_cache_free(c, a), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
    KTS_REJECTED(kfree(a), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
    if (hardened) {
        /* Hardened: exact, also when the object is not the freelist head. */
        KT_ASSERT_OK(kmem_cache_free(c, b));
        KTS_REJECTED(kmem_cache_free(c, a), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
        void *x = kmem_cache_alloc(c, GFP_KERNEL);

        KT_ASSERT(x == b); /* LIFO */
        KTS_REJECTED(kmem_cache_free(c, a), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
        machine_cpu_set(0);
        KT_ASSERT_OK(kmem_cache_free(c, x));
    } else {
        KT_ASSERT_OK(kmem_cache_free(c, b));
    }
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_double_free(void) { return double_free_case(false); }
static int test_double_free_hardened(void) { return double_free_case(true); }

static int test_double_free_remote_hardened(void)
{
    KT_TRY(kts_boot(16, 2, true, 37));
    struct kmem_cache *c = kmem_cache_create("df", 64, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    void *a = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(a);
    machine_cpu_set(1);
    KT_ASSERT_OK(kmem_cache_free(c, a));
    KTS_REJECTED(kmem_cache_free(c, a), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
    machine_cpu_set(0);
    KTS_REJECTED(kmem_cache_free(c, a), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int interior_case(bool hardened)
{
    KT_TRY(kts_boot(16, 1, hardened, 41));
    struct kmem_cache *c = kmem_cache_create("int", 100, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    char *a = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(a);
    KTS_REJECTED(kmem_cache_free(c, a + 1), MM_EINVAL, MM_MISUSE_NOT_OBJECT);
    KTS_REJECTED(kmem_cache_free(c, a + 8), MM_EINVAL, MM_MISUSE_NOT_OBJECT);
    KTS_REJECTED(kmem_cache_free(c, a + 99), MM_EINVAL, MM_MISUSE_NOT_OBJECT);
    KTS_REJECTED(kfree(a + 50), MM_EINVAL, MM_MISUSE_NOT_OBJECT);
    char *k = kmalloc(64, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(k);
    KTS_REJECTED(kfree(k + 8), MM_EINVAL, MM_MISUSE_NOT_OBJECT);
    KT_ASSERT_EQ(ksize(k + 8), 0);
    KT_ASSERT_OK(kfree(k));
    KT_ASSERT_OK(kmem_cache_free(c, a));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/*
 * Every byte offset of several objects: ksize() (which goes through the object-index computation)
 * is the object size exactly at object starts and 0 everywhere else. Guards the division-free
 * index (one multiply by the inverse of the stride's odd part, slab_index_of_offset) for strides
 * that are not powers of two and multi-page slabs.
 */
static int test_object_index_every_offset(void)
{
    static const size_t sizes[] = { 8, 24, 100, 192, 1000, 3000, 4096, 12000 };
    char *objs_local[8];

    for (unsigned int h = 0; h < 2; h++)
        for (unsigned int s = 0; s < MM_ARRAY_SIZE(sizes); s++) {
            KT_TRY(kts_boot(16, 1, h, 47));
            struct kmem_cache *c = kmem_cache_create("idx", sizes[s], 0, 0, NULL);

            KT_ASSERT_NOT_NULL(c);
            for (unsigned int i = 0; i < MM_ARRAY_SIZE(objs_local); i++) {
                objs_local[i] = kmem_cache_alloc(c, GFP_KERNEL);
                KT_ASSERT_NOT_NULL(objs_local[i]);
                KT_ASSERT_EQ(ksize(objs_local[i]), sizes[s]);
                for (size_t d = 1; d < sizes[s]; d++)
                    KT_ASSERT_MSG(ksize(objs_local[i] + d) == 0, "size %zu: offset %zu of object %u "
                                  "taken for an object start", sizes[s], d, i);
            }
            for (unsigned int i = 0; i < MM_ARRAY_SIZE(objs_local); i++)
                KT_ASSERT_OK(kmem_cache_free(c, objs_local[i]));
            KT_ASSERT_OK(kmem_cache_destroy(c));
            KT_MM_CHECK();
        }
    return 0;
}

static int test_interior_pointer(void) { return interior_case(false); }
static int test_interior_pointer_hardened(void) { return interior_case(true); }

static int wrong_cache_case(bool hardened)
{
    KT_TRY(kts_boot(16, 1, hardened, 43));
    struct kmem_cache *c1 = kmem_cache_create("one", 64, 0, 0, NULL);
    struct kmem_cache *c2 = kmem_cache_create("two", 64, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c1);
    KT_ASSERT_NOT_NULL(c2);
    void *a = kmem_cache_alloc(c1, GFP_KERNEL);
    void *k = kmalloc(64, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(k);
    KTS_REJECTED(kmem_cache_free(c2, a), MM_EINVAL, MM_MISUSE_WRONG_CACHE);
    KTS_REJECTED(kmem_cache_free(c1, k), MM_EINVAL, MM_MISUSE_WRONG_CACHE);
    KT_ASSERT_OK(kmem_cache_free(c1, a));
    KT_ASSERT_OK(kfree(k));
    KT_ASSERT_OK(kmem_cache_destroy(c1));
    KT_ASSERT_OK(kmem_cache_destroy(c2));
    KT_MM_CHECK();
    return 0;
}

static int test_wrong_cache(void) { return wrong_cache_case(false); }
static int test_wrong_cache_hardened(void) { return wrong_cache_case(true); }

static int test_kfree_page_block(void)
{
    KT_TRY(kts_boot(16, 1, false, 47));
    struct page *p = alloc_pages(GFP_KERNEL, 1);

    KT_ASSERT_NOT_NULL(p);
    char *va = page_address(p);

    KTS_REJECTED(kfree(va), MM_EINVAL, MM_MISUSE_NOT_SLAB);
    KTS_REJECTED(kfree(va + 100), MM_EINVAL, MM_MISUSE_NOT_SLAB);
    KTS_REJECTED(kfree(va + PAGE_SIZE), MM_EINVAL, MM_MISUSE_NOT_SLAB);
    struct kmem_cache *c = kmem_cache_create("x", 32, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KTS_REJECTED(kmem_cache_free(c, va), MM_EINVAL, MM_MISUSE_NOT_SLAB);
    KT_ASSERT_EQ(ksize(va), 0);
    KT_ASSERT(p->flags & PG_head);
    KT_ASSERT_OK(__free_pages(p, 1));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_kfree_foreign(void)
{
    long local = 0;

    KT_TRY(kts_boot(16, 1, false, 53));
    KTS_REJECTED(kfree(&local), MM_EFAULT, MM_MISUSE_NOT_SLAB);
    void *foreign = kt_host_foreign_page();

    KT_ASSERT_NOT_NULL(foreign);
    KTS_REJECTED(kfree(foreign), MM_EFAULT, MM_MISUSE_NOT_SLAB);
    KTS_REJECTED(kfree((char *)foreign + 24), MM_EFAULT, MM_MISUSE_NOT_SLAB);
    struct kmem_cache *c = kmem_cache_create("x", 32, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KTS_REJECTED(kmem_cache_free(c, &local), MM_EFAULT, MM_MISUSE_NOT_SLAB);
    KTS_REJECTED(kmem_cache_free(c, foreign), MM_EFAULT, MM_MISUSE_NOT_SLAB);
    KT_ASSERT_EQ(ksize(foreign), 0);
    kt_host_free_foreign(foreign);
    KT_ASSERT_OK(kfree(NULL));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_kfree_large_interior(void)
{
    KT_TRY(kts_boot(16, 1, false, 59));
    char *p = kmalloc(100 << 10, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KTS_REJECTED(kfree(p + 8), MM_EINVAL, MM_MISUSE_NOT_OBJECT);
    KTS_REJECTED(kfree(p + PAGE_SIZE), MM_EINVAL, MM_MISUSE_NOT_OBJECT);
    KTS_REJECTED(kfree(p + (100 << 10) - 1), MM_EINVAL, MM_MISUSE_NOT_OBJECT);
    KT_ASSERT_EQ(ksize(p + PAGE_SIZE), 0);
    KT_ASSERT_OK(kfree(p));
    /* Now it is free pages: a second kfree is a double free, not a crash. */
    KTS_REJECTED(kfree(p), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
    KT_MM_CHECK();
    return 0;
}

static int destroy_busy_case(bool hardened)
{
    KT_TRY(kts_boot(16, 2, hardened, 61));
    struct kmem_cache *c = kmem_cache_create("busy", 128, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    void *a = kmem_cache_alloc(c, GFP_KERNEL), *b = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(a);
    KT_ASSERT_NOT_NULL(b);
    KTS_REJECTED(kmem_cache_destroy(c), MM_EBUSY, MM_MISUSE_CACHE_BUSY);
    /* Still usable. */
    void *x = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(x);
    memset(x, 1, 128);
    KT_ASSERT_OK(kmem_cache_free(c, x));
    KT_ASSERT_OK(kmem_cache_free(c, a));
    KTS_REJECTED(kmem_cache_destroy(c), MM_EBUSY, MM_MISUSE_CACHE_BUSY);
    machine_cpu_set(1);
    KT_ASSERT_OK(kmem_cache_free(c, b));
    machine_cpu_set(0);
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_destroy_busy(void) { return destroy_busy_case(false); }
static int test_destroy_busy_hardened(void) { return destroy_busy_case(true); }

static int test_create_bad_args(void)
{
    KT_TRY(kts_boot(8, 1, false, 67));
    KTS_REJECTED_NULL(kmem_cache_create("z", 0, 0, 0, NULL), MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_create("big", SLAB_MAX_OBJECT_SIZE + 1, 0, 0, NULL),
                      MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_create("huge", (size_t)1 << 40, 0, 0, NULL),
                      MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_create("a3", 64, 3, 0, NULL), MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_create("a24", 64, 24, 0, NULL), MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_create("a8k", 64, 2 * PAGE_SIZE, 0, NULL),
                      MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_create("fl", 64, 0, 0x100, NULL), MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_create("fl2", 64, 0, SLAB_VALID_FLAGS + 1, NULL),
                      MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_create(NULL, 64, 0, 0, NULL), MM_MISUSE_BAD_ARGUMENT);
    /* The limits themselves are accepted. */
    struct kmem_cache *c = kmem_cache_create("max", SLAB_MAX_OBJECT_SIZE, PAGE_SIZE,
                                             SLAB_VALID_FLAGS, NULL);

    KT_ASSERT_NOT_NULL(c);
    void *p = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ((uintptr_t)p & (PAGE_SIZE - 1), 0);
    KT_ASSERT_EQ(virt_to_page(p)->zone, ZONE_DMA);
    KT_ASSERT_OK(kmem_cache_free(c, p));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_alloc_bad_gfp(void)
{
    KT_TRY(kts_boot(8, 1, false, 71));
    struct kmem_cache *c = kmem_cache_create("gfp", 64, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KTS_REJECTED_NULL(kmem_cache_alloc(c, GFP_KERNEL | 0x100u), MM_MISUSE_BAD_FLAGS);
    KTS_REJECTED_NULL(kmem_cache_alloc(c, 0x80000000u), MM_MISUSE_BAD_FLAGS);
    KTS_REJECTED_NULL(kmem_cache_zalloc(c, ~0u), MM_MISUSE_BAD_FLAGS);
    void *p = kmem_cache_alloc(c, GFP_ATOMIC | __GFP_NOWARN);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(kmem_cache_free(c, p));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_null_cache(void)
{
    KT_TRY(kts_boot(8, 1, false, 73));
    void *k = kmalloc(32, GFP_KERNEL);
    static uint64_t fake[64] __attribute__((aligned(64)));

    KT_ASSERT_NOT_NULL(k);
    KTS_REJECTED_NULL(kmem_cache_alloc(NULL, GFP_KERNEL), MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_zalloc(NULL, GFP_KERNEL), MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED(kmem_cache_free(NULL, k), MM_EINVAL, MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_alloc((struct kmem_cache *)fake, GFP_KERNEL),
                      MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED(kmem_cache_free((struct kmem_cache *)fake, k), MM_EINVAL,
                 MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED(kmem_cache_destroy(NULL), MM_EINVAL, MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_EQ(kmem_cache_size(NULL), 0);
    KT_ASSERT_OK(kfree(k));
    KT_MM_CHECK();
    return 0;
}

static int test_free_pages_of_slab(void)
{
    KT_TRY(kts_boot(16, 1, false, 79));
    struct kmem_cache *c = kmem_cache_create("pg", 64, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    void *a = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(a);
    struct page *pg = virt_to_page(a);
    struct slab_cache_stats st;

    KT_TRY(kts_stats("pg", &st));
    KT_ASSERT(pg->flags & PG_head);
    KT_ASSERT(pg->flags & PG_slab);
    KTS_REJECTED(__free_pages(pg, st.order), MM_EINVAL, MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED(free_pages((uintptr_t)page_address(pg), st.order), MM_EINVAL,
                 MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT(pg->flags & PG_slab);
    /* A large kmalloc block is refused too. */
    char *big = kmalloc(64 << 10, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(big);
    struct page *bp = virt_to_page(big);

    KTS_REJECTED(__free_pages(bp, bp->order), MM_EINVAL, MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_OK(kfree(big));
    KT_ASSERT_OK(kmem_cache_free(c, a));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_destroy_twice(void)
{
    KT_TRY(kts_boot(8, 1, false, 83));
    struct kmem_cache *c = kmem_cache_create("twice", 64, 0, 0, NULL);

    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_OK(kmem_cache_destroy(c));
    /* Reading a destroyed cache is a use after free for ASan (the caller's bug, not the mm's). */
    if (kts_skip_under_asan("destroy_twice"))
        return 0;
    /* The cache's memory went back to the cache of caches: a second destroy is rejected. */
    KTS_REJECTED(kmem_cache_destroy(c), MM_EINVAL, MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED_NULL(kmem_cache_alloc(c, GFP_KERNEL), MM_MISUSE_BAD_ARGUMENT);
    KT_MM_CHECK();
    return 0;
}

/*
 * The mm's own metadata (a live cache descriptor, a VMA, a vmap area, a range-tree node) lives in SLAB_MM_INTERNAL
 * caches: kfree, kmem_cache_free, krealloc of it and kmem_cache_destroy of its cache are refused
 * and reported, and everything keeps working (the descriptor freed used to hang mm_check).
 */
static int free_mm_metadata_case(bool hardened)
{
    KT_TRY(kts_boot(16, 1, hardened, 89));
    struct kmem_cache *c = kmem_cache_create("meta", 64, 0, 0, NULL);
    struct mm_struct *mm = mm_create();

    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    KT_ASSERT_GT(a, 0);
    struct vm_area_struct *v = find_vma(mm, (uintptr_t)a);
    void *area = vmalloc(PAGE_SIZE);

    KT_ASSERT_NOT_NULL(v);
    KT_ASSERT_NOT_NULL(area);
    void *va = rtree_find(&mm_state.vmalloc.tree, (uintptr_t)area); /* its struct vmap_area */
    struct rtree_node *node = mm->tree.root;                       /* a VMA tree node */

    KT_ASSERT_NOT_NULL(va);
    KT_ASSERT_NOT_NULL(node);
    KTS_REJECTED(kfree(c), MM_EINVAL, MM_MISUSE_INTERNAL_OBJECT);
    KTS_REJECTED(kmem_cache_free(mm_state.heap.cache_cache, c), MM_EINVAL,
                 MM_MISUSE_INTERNAL_OBJECT);
    KTS_REJECTED(kfree(v), MM_EINVAL, MM_MISUSE_INTERNAL_OBJECT);
    KTS_REJECTED(kmem_cache_free(mm_state.vm.vma_cache, v), MM_EINVAL, MM_MISUSE_INTERNAL_OBJECT);
    KTS_REJECTED(kfree(va), MM_EINVAL, MM_MISUSE_INTERNAL_OBJECT);
    KTS_REJECTED(kfree(node), MM_EINVAL, MM_MISUSE_INTERNAL_OBJECT);
    KTS_REJECTED_NULL(krealloc(v, 500, GFP_KERNEL), MM_MISUSE_INTERNAL_OBJECT);
    KTS_REJECTED(kmem_cache_destroy(mm_state.vm.vma_cache), MM_EINVAL, MM_MISUSE_BAD_ARGUMENT);
    KTS_REJECTED(kmem_cache_destroy(mm_state.vmalloc.va_cache), MM_EINVAL,
                 MM_MISUSE_BAD_ARGUMENT);
    /* all of them still work */
    void *o = kmem_cache_alloc(c, GFP_KERNEL);

    KT_ASSERT_NOT_NULL(o);
    KT_ASSERT_OK(kmem_cache_free(c, o));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_ASSERT(find_vma(mm, (uintptr_t)a) == v);
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a, PAGE_SIZE));
    KT_ASSERT_OK(vfree(area));
    void *vm = vmalloc(3 * PAGE_SIZE);

    KT_ASSERT_NOT_NULL(vm);
    KT_ASSERT_OK(vfree(vm));
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static int test_free_mm_metadata(void) { return free_mm_metadata_case(false); }
static int test_free_mm_metadata_hardened(void) { return free_mm_metadata_case(true); }

/*
 * mm_check on a cache descriptor overwritten the way a kfree of it used to (poison over magic and
 * lock), and on a cache list that loops: "slab.cache" is reported, nothing spins.
 */
static int test_check_damaged_cache_bounded(void)
{
    KT_TRY(kts_boot(16, 1, false, 97));
    struct kmem_cache *c = kmem_cache_create("dmg", 64, 0, 0, NULL);
    struct mm_check_report rep;

    KT_ASSERT_NOT_NULL(c);
    uint64_t magic = c->magic;
    env_spinlock_t lock = c->lock;

    c->magic = 0x6b6b6b6b6b6b6b6bull;
    c->lock.locked = 0x6b6b6b6bu; /* taken forever: the checker must not wait for it */
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "slab.cache");
    c->magic = magic;
    c->lock = lock;
    KT_MM_CHECK();
    struct list_head *next = c->list.next;

    c->list.next = &c->list; /* a loop that never comes back to the list head */
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "slab.cache");
    c->list.next = next;
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_destroy(c));
    return 0;
}

/*
 * A lock of the mm held at a quiescent point is "lock.held": a zone lock (check.c) and a cache's
 * lock (slab_check, after the descriptor is judged sound), and mm_check is clean once released.
 */
static int test_check_lock_held(void)
{
    KT_TRY(kts_boot(16, 1, false, 98));
    struct kmem_cache *c = kmem_cache_create("held", 64, 0, 0, NULL);
    struct mm_check_report rep;

    KT_ASSERT_NOT_NULL(c);
    env_spin_lock(&mm_state.phys.node[0].zones[ZONE_NORMAL].lock);
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "lock.held");
    env_spin_unlock(&mm_state.phys.node[0].zones[ZONE_NORMAL].lock);
    KT_MM_CHECK();
    env_spin_lock(&c->lock);
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "lock.held");
    env_spin_unlock(&c->lock);
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_destroy(c));
    return 0;
}

static const struct ktest_case slab_misuse_cases[] = {
    KT_CASE(check_damaged_cache_bounded),
    KT_CASE(check_lock_held),
    KT_CASE(free_mm_metadata),
    KT_CASE(free_mm_metadata_hardened),
    KT_CASE(double_free),
    KT_CASE(double_free_hardened),
    KT_CASE(double_free_remote_hardened),
    KT_CASE(interior_pointer),
    KT_CASE(object_index_every_offset),
    KT_CASE(interior_pointer_hardened),
    KT_CASE(wrong_cache),
    KT_CASE(wrong_cache_hardened),
    KT_CASE(kfree_page_block),
    KT_CASE(kfree_foreign),
    KT_CASE(kfree_large_interior),
    KT_CASE(destroy_busy),
    KT_CASE(destroy_busy_hardened),
    KT_CASE(create_bad_args),
    KT_CASE(alloc_bad_gfp),
    KT_CASE(null_cache),
    KT_CASE(free_pages_of_slab),
    KT_CASE(destroy_twice),
};
KT_SUITE(slab_misuse, slab_misuse_cases);
