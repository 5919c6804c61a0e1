/*
 * test_vmalloc.c - suite "vmalloc": vmalloc/vzalloc/__vmalloc, vfree, vmap/vunmap, lookups,
 * guard pages, the vmap mark (a free of a vmapped page refused), misuse reports, exhaustion and
 * failure injection, and vmalloc_check on healthy and deliberately corrupted states. Every case
 * boots its own small machine.
 *
 * Not tested here: touching a guard page. It faults (a SEGV, or an ASan report on its poison),
 * which cannot be survived in-process; vmalloc_check's "vmalloc.guard" covers the mapping side.
 */
#include "kt_util.h"
#include "page_table.h"
#include "slab.h"
#include "vmalloc.h"

static struct mm_check_report vrep;
static struct vmalloc_stats vst;

static int boot(void)
{
    return kt_boot_small(64, 1, false);
}

/* vmalloc_check and mm_check both pass. */
static int vcheck(void)
{
    int rc = vmalloc_check(&vrep);

    if (rc != 0)
        KT_FAIL("vmalloc_check: %d invariant %s pfn %lu: %s", rc,
                vrep.invariant ? vrep.invariant : "(null)", vrep.pfn, vrep.detail);
    KT_MM_CHECK();
    return 0;
}

/* vmalloc_check fails naming @inv. */
static int vcheck_fails(const char *inv)
{
    memset(&vrep, 0, sizeof(vrep));
    KT_ASSERT_ERR(vmalloc_check(&vrep), MM_ECORRUPT);
    KT_ASSERT_EQ(vrep.err, -MM_ECORRUPT);
    KT_ASSERT_NOT_NULL(vrep.invariant);
    KT_ASSERT_MSG(ktest_strcmp(vrep.invariant, inv) == 0, "caught %s, expected %s: %s",
                  vrep.invariant, inv, vrep.detail);
    KT_ASSERT_NE(vrep.detail[0], 0);
    KT_ASSERT_ERR(vmalloc_check(NULL), MM_ECORRUPT);
    if (ktest_verbose)
        ktest_note("caught: %s: %s", vrep.invariant, vrep.detail);
    return 0;
}

/*
 * Free pages with the per-CPU lists drained, plus the pages slab caches hold (area nodes come
 * from kmalloc, whose caches keep some empty slabs), so every count is comparable.
 */
static unsigned long free_now(void)
{
    drain_all_pages();
    return page_alloc_nr_free() + slab_nr_pages();
}

/* One vmalloc/vfree so the area-node slab and the upper table levels exist before a baseline. */
static int warm_up(void)
{
    void *p = vmalloc(1);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(vfree(p));
    return 0;
}

static int fill_and_verify(unsigned char *p, size_t n, unsigned int seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 31u + seed);
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 31u + seed))
            KT_FAIL("byte %zu of %zu reads 0x%x", i, n, p[i]);
    return 0;
}

/* kfree/ksize of vmalloc memory: reported as not slab memory, nothing changes. */
static int test_kfree_of_vmalloc(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    void *p = vmalloc(100);

    KT_ASSERT_NOT_NULL(p);
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_NOT_SLAB), before = mm_misuse_count();
    KT_ASSERT_ERR(kfree(p), MM_EINVAL);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_NOT_SLAB), k + 1);
    KT_ASSERT_EQ(mm_misuse_count(), before + 1);
    KT_ASSERT_EQ(ksize(p), 0);
    KT_ASSERT_EQ(mm_misuse_count(), before + 1);
    memset(p, 7, 100); /* still mapped and usable */
    KT_ASSERT_OK(vfree(p));
    KT_MM_CHECK();
    return 0;
}

static int test_sizes_usable(void)
{
    static const size_t sizes[] = { 1, 100, 4095, 4096, 4097, 8193, 65536, (1u << 20) + 3,
                                    3u << 20, 6u << 20 };

    KT_TRY(boot());
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(sizes); i++) {
        unsigned char *p = vmalloc(sizes[i]);
        uintptr_t start;
        size_t size;

        KT_ASSERT_NOT_NULL(p);
        KT_ASSERT(is_vmalloc_addr(p));
        KT_ASSERT(MM_IS_ALIGNED((uintptr_t)p, PAGE_SIZE));
        KT_ASSERT(vmalloc_area_of(p + sizes[i] - 1, &start, &size));
        KT_ASSERT_EQ(start, (uintptr_t)p);
        KT_ASSERT_EQ(size, MM_ALIGN_UP(sizes[i], PAGE_SIZE));
        KT_TRY(fill_and_verify(p, sizes[i], i));
        KT_TRY(vcheck());
        KT_ASSERT_OK(vfree(p));
    }
    KT_ASSERT_NULL(vmalloc(0));
    KT_ASSERT_OK(vfree(NULL));
    KT_ASSERT_OK(vunmap(NULL));
    KT_TRY(vcheck());
    return 0;
}

static int test_vzalloc_zeroes(void)
{
    const size_t n = 40 * PAGE_SIZE + 17;

    KT_TRY(boot());
    unsigned char *p = vmalloc(n);
    KT_ASSERT_NOT_NULL(p);
    memset(p, 0xa5, n);
    KT_ASSERT_OK(vfree(p));
    p = vzalloc(n);
    KT_ASSERT_NOT_NULL(p);
    for (size_t i = 0; i < MM_ALIGN_UP(n, PAGE_SIZE); i++)
        KT_ASSERT_MSG(p[i] == 0, "vzalloc byte %zu is 0x%x", i, p[i]);
    memset(p, 0x5a, n);
    KT_ASSERT_OK(vfree(p));
    p = __vmalloc(n, GFP_KERNEL | __GFP_ZERO);
    KT_ASSERT_NOT_NULL(p);
    for (size_t i = 0; i < n; i++)
        KT_ASSERT_MSG(p[i] == 0, "__vmalloc(__GFP_ZERO) byte %zu is 0x%x", i, p[i]);
    KT_ASSERT_OK(vfree(p));
    KT_TRY(vcheck());
    return 0;
}

#define NR_SLOTS 64

static unsigned char *slot_p[NR_SLOTS];
static size_t slot_n[NR_SLOTS];

/* Every pair of live areas is disjoint with a guard page between, and each guard is unmapped. */
static int areas_disjoint(void)
{
    for (unsigned int i = 0; i < NR_SLOTS; i++) {
        if (!slot_p[i])
            continue;
        uintptr_t a = (uintptr_t)slot_p[i], ae = a + MM_ALIGN_UP(slot_n[i], PAGE_SIZE);
        KT_ASSERT_NULL(vmalloc_to_page((void *)ae));
        KT_ASSERT_NOT_NULL(vmalloc_to_page((void *)(ae - 1)));
        for (unsigned int j = 0; j < NR_SLOTS; j++) {
            if (j == i || !slot_p[j])
                continue;
            uintptr_t b = (uintptr_t)slot_p[j], be = b + MM_ALIGN_UP(slot_n[j], PAGE_SIZE);
            KT_ASSERT_MSG(ae + PAGE_SIZE <= b || be + PAGE_SIZE <= a,
                          "areas 0x%lx+%zu and 0x%lx+%zu overlap or share a guard page",
                          (unsigned long)a, slot_n[i], (unsigned long)b, slot_n[j]);
        }
    }
    return 0;
}

static int test_no_overlap_guard(void)
{
    uint64_t rng = 42;

    KT_TRY(boot());
    memset(slot_p, 0, sizeof(slot_p));
    for (unsigned int step = 0; step < 600; step++) {
        unsigned int i = (unsigned int)(kt_rand(&rng) % NR_SLOTS);
        if (slot_p[i]) {
            KT_ASSERT_EQ(slot_p[i][slot_n[i] - 1], (unsigned char)i);
            KT_ASSERT_OK(vfree(slot_p[i]));
            slot_p[i] = NULL;
        } else {
            slot_n[i] = 1 + kt_rand(&rng) % (6 * PAGE_SIZE);
            slot_p[i] = vmalloc(slot_n[i]);
            KT_ASSERT_NOT_NULL(slot_p[i]);
            slot_p[i][0] = slot_p[i][slot_n[i] - 1] = (unsigned char)i;
        }
        if (step % 8 == 0) {
            KT_TRY(areas_disjoint());
            KT_TRY(vcheck());
        }
    }
    KT_TRY(areas_disjoint());
    KT_TRY(vcheck());
    for (unsigned int i = 0; i < NR_SLOTS; i++)
        if (slot_p[i])
            KT_ASSERT_OK(vfree(slot_p[i]));
    vmalloc_get_stats(&vst);
    KT_ASSERT_EQ(vst.nr_areas, 0);
    KT_ASSERT_EQ(vst.nr_pages, 0);
    KT_ASSERT_EQ(vst.largest_free, vst.end - vst.start);
    KT_TRY(vcheck());
    return 0;
}

static int test_first_fit_reuses_lowest(void)
{
    KT_TRY(boot());
    char *a = vmalloc(PAGE_SIZE), *b = vmalloc(3 * PAGE_SIZE), *c = vmalloc(PAGE_SIZE);
    KT_ASSERT(a && b && c);
    KT_ASSERT_EQ((uintptr_t)b, (uintptr_t)a + 2 * PAGE_SIZE); /* a, its guard, then b */
    KT_ASSERT_EQ((uintptr_t)c, (uintptr_t)b + 4 * PAGE_SIZE);
    KT_ASSERT_OK(vfree(b));
    char *d = vmalloc(2 * PAGE_SIZE); /* fits in b's hole: 3 pages + guard */
    KT_ASSERT_EQ((uintptr_t)d, (uintptr_t)b);
    char *e = vmalloc(2 * PAGE_SIZE); /* does not fit the remaining page: goes after c */
    KT_ASSERT_GT((uintptr_t)e, (uintptr_t)c);
    KT_TRY(vcheck());
    KT_ASSERT_OK(vfree(a));
    KT_ASSERT_OK(vfree(c));
    KT_ASSERT_OK(vfree(d));
    KT_ASSERT_OK(vfree(e));
    KT_TRY(vcheck());
    return 0;
}

static int test_to_page_roundtrip(void)
{
    KT_TRY(boot());
    unsigned char *p = vmalloc(5 * PAGE_SIZE);
    KT_ASSERT_NOT_NULL(p);
    for (unsigned int i = 0; i < 5; i++) {
        struct page *pg = vmalloc_to_page(p + i * PAGE_SIZE + 123);
        KT_ASSERT_NOT_NULL(pg);
        KT_ASSERT_EQ(vmalloc_to_page(p + i * PAGE_SIZE), pg);
        KT_ASSERT_EQ(pg->flags & ~PG_checked, PG_head);
        KT_ASSERT_EQ(pg->order, 0);
        unsigned char *direct = page_address(pg);
        p[i * PAGE_SIZE + 7] = (unsigned char)(0x40 + i); /* the same memory at both addresses */
        KT_ASSERT_EQ(direct[7], 0x40 + i);
        direct[4000] = (unsigned char)(0x80 + i);
        KT_ASSERT_EQ(p[i * PAGE_SIZE + 4000], 0x80 + i);
        for (unsigned int j = 0; j < i; j++)
            KT_ASSERT_NE(vmalloc_to_page(p + j * PAGE_SIZE), pg);
    }
    KT_ASSERT_NULL(vmalloc_to_page(p + 5 * PAGE_SIZE)); /* guard */
    KT_ASSERT_NULL(vmalloc_to_page(page_address(vmalloc_to_page(p))));
    KT_ASSERT_NULL(vmalloc_to_page(NULL));
    KT_ASSERT_FALSE(is_vmalloc_addr(page_address(vmalloc_to_page(p))));
    KT_ASSERT_OK(vfree(p));
    KT_ASSERT_NULL(vmalloc_to_page(p));
    return 0;
}

static int test_vfree_returns_pages(void)
{
    KT_TRY(boot());
    KT_TRY(warm_up());
    unsigned long before = free_now();
    unsigned long flushes = machine_tlb_flush_count();
    void *p = vmalloc(1u << 20);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_LE(free_now() + 256, before);
    vmalloc_get_stats(&vst);
    KT_ASSERT_EQ(vst.nr_areas, 1);
    KT_ASSERT_EQ(vst.nr_pages, 256);
    KT_ASSERT_EQ(vst.nr_owned, 256);
    KT_ASSERT_EQ(vst.bytes, 1u << 20);
    KT_ASSERT_GE(vst.nr_tables, 2);
    KT_ASSERT_OK(vfree(p));
    KT_ASSERT_EQ(free_now(), before);
    KT_ASSERT_GT(machine_tlb_flush_count(), flushes);
    vmalloc_get_stats(&vst);
    KT_ASSERT_EQ(vst.nr_areas, 0);
    KT_ASSERT_EQ(vst.nr_owned, 0);
    KT_ASSERT_EQ(vst.bytes, 0);
    KT_TRY(vcheck());
    return 0;
}

/* @rc from a bad vfree/vunmap: error @err, misuse @kind reported, nothing changed. */
static int expect_rejected(int rc, int err, enum mm_misuse_kind kind, unsigned long before_kind,
                           unsigned long free_before, unsigned long areas_before)
{
    KT_ASSERT_EQ(rc, -err);
    KT_TRY(kt_expect_misuse(kind, KT_ANY_PFN, before_kind));
    KT_ASSERT_EQ(free_now(), free_before);
    vmalloc_get_stats(&vst);
    KT_ASSERT_EQ(vst.nr_areas, areas_before);
    KT_TRY(vcheck());
    return 0;
}

#define REJECT(expr, err, kind) do { \
    unsigned long kb_ = mm_misuse_count_kind(kind), fb_ = free_now(); \
    vmalloc_get_stats(&vst); \
    unsigned long ab_ = vst.nr_areas; \
    KT_TRY(expect_rejected((expr), (err), (kind), kb_, fb_, ab_)); \
} while (0)

static int test_bad_vfree_reported(void)
{
    KT_TRY(boot());
    KT_TRY(warm_up());
    unsigned char *p = vmalloc(3 * PAGE_SIZE);
    void *k = kmalloc(64, GFP_KERNEL);
    struct page *pg = alloc_page(GFP_KERNEL);
    void *foreign = kt_host_foreign_page();
    KT_ASSERT(p && k && pg && foreign);
    p[0] = 0x11;
    void *m = vmap(&pg, 1, VMALLOC_PROT_KERNEL);
    KT_ASSERT_NOT_NULL(m);
    vmalloc_get_stats(&vst);

    REJECT(vfree(p + 8), MM_EINVAL, MM_MISUSE_BAD_ADDRESS);             /* interior */
    REJECT(vfree(p + PAGE_SIZE), MM_EINVAL, MM_MISUSE_BAD_ADDRESS);     /* interior page */
    REJECT(vfree(p + 3 * PAGE_SIZE), MM_EINVAL, MM_MISUSE_BAD_ADDRESS); /* guard page */
    REJECT(vfree((void *)(vst.end - PAGE_SIZE)), MM_EINVAL, MM_MISUSE_BAD_ADDRESS); /* unused */
    REJECT(vfree(k), MM_EFAULT, MM_MISUSE_BAD_ADDRESS);                 /* kmalloc object */
    REJECT(vfree(page_address(pg)), MM_EFAULT, MM_MISUSE_BAD_ADDRESS);  /* direct map */
    REJECT(vfree(foreign), MM_EFAULT, MM_MISUSE_BAD_ADDRESS);           /* not this machine */
    REJECT(vfree(m), MM_EINVAL, MM_MISUSE_BAD_ARGUMENT);                /* a vmap area */
    REJECT(vunmap(p), MM_EINVAL, MM_MISUSE_BAD_ARGUMENT);               /* a vmalloc area */
    REJECT(vunmap(p + 8), MM_EINVAL, MM_MISUSE_BAD_ADDRESS);
    REJECT(vunmap(k), MM_EFAULT, MM_MISUSE_BAD_ADDRESS);
    KT_ASSERT_EQ(p[0], 0x11); /* still intact and usable */

    KT_ASSERT_OK(vfree(p));
    REJECT(vfree(p), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);
    KT_ASSERT_OK(vunmap(m));
    REJECT(vunmap(m), MM_EINVAL, MM_MISUSE_DOUBLE_FREE);

    KT_ASSERT_OK(kfree(k));
    KT_ASSERT_OK(__free_page(pg));
    kt_host_free_foreign(foreign);
    KT_TRY(vcheck());
    return 0;
}

static int test_bad_requests_reported(void)
{
    KT_TRY(boot());
    vmalloc_get_stats(&vst);
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_SIZE_OVERFLOW);
    KT_ASSERT_NULL(vmalloc(vst.end - vst.start));
    KT_TRY(kt_expect_misuse(MM_MISUSE_SIZE_OVERFLOW, KT_ANY_PFN, before));
    KT_ASSERT_NULL(vmalloc(SIZE_MAX));
    KT_TRY(kt_expect_misuse(MM_MISUSE_SIZE_OVERFLOW, KT_ANY_PFN, before + 1));
    before = mm_misuse_count_kind(MM_MISUSE_BAD_FLAGS);
    KT_ASSERT_NULL(__vmalloc(PAGE_SIZE, GFP_KERNEL | 0x8000u));
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_FLAGS, KT_ANY_PFN, before));
    vmalloc_get_stats(&vst);
    KT_ASSERT_EQ(vst.nr_areas, 0);
    KT_TRY(vcheck());
    return 0;
}

static int test_exhaustion_leaks_nothing(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    KT_TRY(warm_up());
    unsigned long before = free_now();
    vmalloc_get_stats(&vst);
    unsigned long fails = vst.nr_alloc_fail;
    KT_ASSERT_NULL(__vmalloc(32u << 20, GFP_KERNEL | __GFP_HIGHMEM | __GFP_NOWARN));
    KT_ASSERT_EQ(free_now(), before);
    vmalloc_get_stats(&vst);
    KT_ASSERT_EQ(vst.nr_areas, 0);
    KT_ASSERT_EQ(vst.nr_alloc_fail, fails + 1);
    KT_TRY(vcheck());

    /* many areas until memory runs out, then all back */
    static void *v[4096];
    unsigned int n = 0;
    while (n < MM_ARRAY_SIZE(v) && (v[n] = vmalloc(9 * PAGE_SIZE)) != NULL)
        n++;
    KT_ASSERT_GT(n, 10);
    KT_ASSERT_LT(n, MM_ARRAY_SIZE(v));
    KT_TRY(vcheck());
    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_OK(vfree(v[i]));
    KT_ASSERT_EQ(free_now(), before);
    KT_TRY(vcheck());
    return 0;
}

static int test_fail_inject_midway(void)
{
    KT_TRY(boot());
    KT_TRY(warm_up());
    unsigned long before = free_now();
    void *first = vmalloc(PAGE_SIZE);
    KT_ASSERT_OK(vfree(first));
    unsigned int failed = 0;
    for (unsigned long skip = 0; skip < 24; skip++) {
        page_alloc_fail_inject(skip, 1);
        void *p = vmalloc(16 * PAGE_SIZE);
        page_alloc_fail_inject(0, 0);
        if (p) {
            KT_ASSERT_OK(vfree(p));
        } else {
            failed++;
            vmalloc_get_stats(&vst);
            KT_ASSERT_EQ(vst.nr_areas, 0);
        }
        KT_ASSERT_EQ(free_now(), before);
        KT_TRY(vcheck());
    }
    KT_ASSERT_GE(failed, 16); /* every data page (and table page) was a failure point */
    void *again = vmalloc(PAGE_SIZE);
    KT_ASSERT_EQ(again, first); /* the range was given back too */
    KT_ASSERT_OK(vfree(again));

    /* vmap: failure of a table page midway leaves the caller's pages alone */
    struct page *pages[3] = { alloc_page(GFP_KERNEL), alloc_page(GFP_KERNEL), alloc_page(GFP_KERNEL) };
    KT_ASSERT(pages[0] && pages[1] && pages[2]);
    before = free_now();
    page_alloc_fail_inject(0, 8);
    void *m = vmap(pages, 3, VMALLOC_PROT_KERNEL);
    page_alloc_fail_inject(0, 0);
    if (m)
        KT_ASSERT_OK(vunmap(m));
    KT_ASSERT_EQ(free_now(), before);
    for (unsigned int i = 0; i < 3; i++)
        KT_ASSERT_OK(__free_page(pages[i]));
    KT_TRY(vcheck());
    return 0;
}

static int test_vmap_aliases_pages(void)
{
    KT_TRY(boot());
    struct page *blk = alloc_pages(GFP_KERNEL, 2), *one = alloc_page(GFP_KERNEL | __GFP_HIGHMEM);
    KT_ASSERT(blk && one);
    struct page *pages[5] = { one, blk, blk + 1, blk + 2, blk + 3 };
    for (unsigned int i = 0; i < 5; i++)
        memset(page_address(pages[i]), 0x10 + i, PAGE_SIZE);
    unsigned long before = free_now();
    unsigned long flushes = machine_tlb_flush_count();
    unsigned char *v = vmap(pages, 5, VMALLOC_PROT_KERNEL);
    KT_ASSERT_NOT_NULL(v);
    for (unsigned int i = 0; i < 5; i++) {
        unsigned char *d = page_address(pages[i]);
        KT_ASSERT_EQ(vmalloc_to_page(v + i * PAGE_SIZE), pages[i]);
        for (size_t b = 0; b < PAGE_SIZE; b += 511)
            KT_ASSERT_EQ(v[i * PAGE_SIZE + b], 0x10 + i);
        v[i * PAGE_SIZE + 9] = 0xee;
        KT_ASSERT_EQ(d[9], 0xee);
    }
    vmalloc_get_stats(&vst);
    KT_ASSERT_EQ(vst.nr_vmap_areas, 1);
    KT_ASSERT_EQ(vst.nr_pages, 5);
    KT_ASSERT_EQ(vst.nr_owned, 0);
    KT_TRY(vcheck());
    unsigned char *ro = vmap(&blk, 1, VMALLOC_PROT_KERNEL_RO); /* a second alias, read-only */
    KT_ASSERT_NOT_NULL(ro);
    KT_ASSERT_EQ(ro[9], 0xee);
    KT_TRY(vcheck());
    KT_ASSERT_OK(vunmap(ro));
    KT_ASSERT_OK(vunmap(v));
    KT_ASSERT_GT(machine_tlb_flush_count(), flushes);
    KT_ASSERT_EQ(((unsigned char *)page_address(blk))[9], 0xee); /* pages stay the caller's */
    KT_TRY(vcheck());
    KT_ASSERT_OK(__free_pages(blk, 2));
    KT_ASSERT_OK(__free_page(one));
    (void)before;
    KT_TRY(vcheck());
    return 0;
}

static int test_vmap_bad_arguments(void)
{
    KT_TRY(boot());
    struct page *pg = alloc_page(GFP_KERNEL), *gone = alloc_page(GFP_KERNEL);
    KT_ASSERT(pg && gone);
    KT_ASSERT_OK(__free_page(gone));
    drain_all_pages();
    struct page *bad[2] = { pg, gone };
    struct page *wild[1] = { (struct page *)(uintptr_t)0x1000 };
    const struct { struct page **pages; unsigned int count; pte_t prot; } cases[] = {
        { bad, 0, VMALLOC_PROT_KERNEL },
        { NULL, 1, VMALLOC_PROT_KERNEL },
        { bad, 2, VMALLOC_PROT_KERNEL },                   /* a free page */
        { wild, 1, VMALLOC_PROT_KERNEL },                  /* not a struct page */
        { bad, 1, VMALLOC_PROT_KERNEL | PTE_US },          /* user bit */
        { bad, 1, VMALLOC_PROT_KERNEL & ~PTE_NX },         /* writable + executable */
        { bad, 1, VMALLOC_PROT_KERNEL | PTE_SW_COW },      /* software bit */
    };
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(cases); i++) {
        unsigned long kb = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
        KT_ASSERT_NULL(vmap(cases[i].pages, cases[i].count, cases[i].prot));
        KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, kb));
    }
    vmalloc_get_stats(&vst);
    KT_ASSERT_EQ(vst.nr_areas, 0);
    void *x = vmap(bad, 1, VMALLOC_PROT_KERNEL_RO & ~PTE_NX); /* read-only executable is fine */
    KT_ASSERT_NOT_NULL(x);
    KT_ASSERT_OK(vunmap(x));
    KT_ASSERT_OK(__free_page(pg));
    KT_TRY(vcheck());
    return 0;
}

static int test_check_catches_corruption(void)
{
    KT_TRY(boot());
    unsigned char *p = vmalloc(4 * PAGE_SIZE);
    struct page *other = alloc_page(GFP_KERNEL);
    struct page_table *pt = vmalloc_page_table();
    KT_ASSERT(p && other && pt);
    KT_TRY(vcheck());
    uintptr_t a = (uintptr_t)p;
    pte_t good = *pt_walk(pt, a + PAGE_SIZE, false, 0);

    /* a mapped guard page */
    KT_ASSERT_OK(pt_set(pt, a + 4 * PAGE_SIZE, page_to_phys(other) | VMALLOC_PROT_KERNEL, GFP_KERNEL));
    KT_TRY(vcheck_fails("vmalloc.guard"));
    KT_ASSERT_EQ(pt_unmap(pt, a + 4 * PAGE_SIZE, a + 5 * PAGE_SIZE, NULL, NULL), 1);
    KT_TRY(vcheck());

    /* wrong PTE bits */
    pt_update(pt, a + PAGE_SIZE, good & ~PTE_NX);
    KT_TRY(vcheck_fails("vmalloc.pte"));
    pt_update(pt, a + PAGE_SIZE, good);
    KT_TRY(vcheck());

    /* the PTE maps a page the area does not own */
    pt_update(pt, a + PAGE_SIZE, page_to_phys(other) | (good & PTE_FLAGS_MASK));
    KT_TRY(vcheck_fails("vmalloc.page"));
    pt_update(pt, a + PAGE_SIZE, good);
    KT_TRY(vcheck());

    /* a PTE far from every area */
    vmalloc_get_stats(&vst);
    uintptr_t far = vst.start + (vst.end - vst.start) / 2;
    KT_ASSERT_OK(pt_set(pt, far, page_to_phys(other) | VMALLOC_PROT_KERNEL, GFP_KERNEL));
    KT_TRY(vcheck_fails("vmalloc.pte"));
    KT_ASSERT_EQ(pt_unmap(pt, far, far + PAGE_SIZE, NULL, NULL), 1);
    KT_TRY(vcheck());

    /* an area page freed behind vmalloc's back */
    struct page *own = vmalloc_to_page(p);
    own->flags |= PG_large;
    KT_TRY(vcheck_fails("vmalloc.page"));
    own->flags &= ~PG_large;
    KT_TRY(vcheck());

    KT_ASSERT_OK(vfree(p));
    KT_ASSERT_OK(__free_page(other));
    KT_TRY(vcheck());
    return 0;
}

static int test_guard_touch_skipped(void)
{
    /* A touch of a guard page is a SEGV (PROT_NONE) or, under ASan, a use-after-poison report:
     * neither is survivable in-process, so only the mapping side is checked here. */
    KT_TRY(boot());
    unsigned char *p = vmalloc(PAGE_SIZE);
    KT_ASSERT_NOT_NULL(p);
    uintptr_t start;
    size_t size;
    KT_ASSERT(vmalloc_area_of(p + PAGE_SIZE, &start, &size)); /* the guard belongs to the area */
    KT_ASSERT_EQ(start, (uintptr_t)p);
    KT_ASSERT_NULL(vmalloc_to_page(p + PAGE_SIZE));
    pte_t *ge = pt_walk(vmalloc_page_table(), (uintptr_t)p + PAGE_SIZE, false, 0);
    KT_ASSERT(!ge || *ge == 0);
    ktest_note("guard-page touch not exercised in-process (it faults by design)");
    KT_ASSERT_OK(vfree(p));
    return 0;
}

/*
 * The vmap mark (page_alloc.h): a free of a page vmap maps is refused at the call and reported
 * (free-still-mapped, -EBUSY) with nothing lost, whether the page is a block head or a tail;
 * a reference of the caller's own beyond it can still be dropped; after vunmap the free works.
 */
static int test_free_vmapped_refused(void)
{
    KT_TRY(boot());
    KT_TRY(warm_up());
    struct page *pg = alloc_page(GFP_KERNEL), *blk = alloc_pages(GFP_KERNEL, 2);
    KT_ASSERT(pg && blk);
    unsigned long base = free_now();
    memset(page_address(pg), 0x5a, PAGE_SIZE);
    struct page *pages[2] = { pg, blk + 3 };
    unsigned char *v = vmap(pages, 2, VMALLOC_PROT_KERNEL);
    KT_ASSERT_NOT_NULL(v);
    KT_ASSERT_EQ(page_vmap_count(pg), 1);
    KT_ASSERT_EQ(page_vmap_count(blk), 1); /* the tail's block carries it at its head */
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_STILL_MAPPED), free0 = free_now();
    KT_ASSERT_ERR(__free_page(pg), MM_EBUSY);
    KT_TRY(kt_expect_misuse(MM_MISUSE_STILL_MAPPED, page_to_pfn(pg), k));
    KT_ASSERT_ERR(free_pages((uintptr_t)page_address(pg), 0), MM_EBUSY);
    KT_TRY(kt_expect_misuse(MM_MISUSE_STILL_MAPPED, page_to_pfn(pg), k + 1));
    KT_ASSERT_ERR(__free_pages(blk, 2), MM_EBUSY);
    KT_TRY(kt_expect_misuse(MM_MISUSE_STILL_MAPPED, page_to_pfn(blk), k + 2));
    KT_ASSERT_EQ(free_now(), free0);
    KT_ASSERT_EQ(pg->refcount, 1);
    KT_ASSERT_EQ(v[100], 0x5a); /* still mapped, still the caller's bytes */
    v[PAGE_SIZE + 7] = 0x77;
    KT_ASSERT_EQ(((unsigned char *)page_address(blk + 3))[7], 0x77);
    KT_TRY(vcheck());
    get_page(pg); /* a reference of the caller's own beyond the last one may go */
    KT_ASSERT_OK(__free_page(pg));
    KT_ASSERT_EQ(pg->refcount, 1);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_STILL_MAPPED), k + 3);
    KT_ASSERT_OK(vunmap(v));
    KT_ASSERT_EQ(page_vmap_count(pg), 0);
    KT_ASSERT_EQ(page_vmap_count(blk), 0);
    KT_ASSERT_OK(__free_page(pg));
    KT_ASSERT_OK(__free_pages(blk, 2));
    KT_ASSERT_EQ(free_now(), base + 5);
    KT_TRY(vcheck());
    return 0;
}

/* A page vmapped twice (two areas, and twice in one area) stays refused until its last vmap
 * PTE goes; at PG_VMAP_MAX PTEs a further vmap of its block is refused and changes nothing. */
static int test_vmap_twice_and_limit(void)
{
    KT_TRY(boot());
    struct page *pg = alloc_page(GFP_KERNEL);
    KT_ASSERT_NOT_NULL(pg);
    struct page *twice[2] = { pg, pg };
    void *a = vmap(&pg, 1, VMALLOC_PROT_KERNEL_RO), *b = vmap(twice, 2, VMALLOC_PROT_KERNEL);
    KT_ASSERT(a && b);
    KT_ASSERT_EQ(page_vmap_count(pg), 3);
    KT_TRY(vcheck());
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_STILL_MAPPED);
    KT_ASSERT_OK(vunmap(b));
    KT_ASSERT_EQ(page_vmap_count(pg), 1);
    KT_ASSERT_ERR(__free_page(pg), MM_EBUSY);
    KT_TRY(kt_expect_misuse(MM_MISUSE_STILL_MAPPED, page_to_pfn(pg), k));
    KT_ASSERT_OK(vunmap(a));
    KT_TRY(vcheck());

    static struct page *many[PG_VMAP_MAX + 1];
    for (unsigned int i = 0; i <= PG_VMAP_MAX; i++)
        many[i] = pg;
    void *full = vmap(many, PG_VMAP_MAX, VMALLOC_PROT_KERNEL_RO);
    KT_ASSERT_NOT_NULL(full);
    KT_ASSERT_EQ(page_vmap_count(pg), PG_VMAP_MAX);
    vmalloc_get_stats(&vst);
    unsigned long areas = vst.nr_areas, kb = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_NULL(vmap(many, 1, VMALLOC_PROT_KERNEL_RO));
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, page_to_pfn(pg), kb));
    KT_ASSERT_OK(vunmap(full));
    KT_ASSERT_NULL(vmap(many, PG_VMAP_MAX + 1, VMALLOC_PROT_KERNEL_RO)); /* one too many in one call */
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, page_to_pfn(pg), kb + 1));
    KT_ASSERT_EQ(page_vmap_count(pg), 0); /* the aborted area took its marks back */
    vmalloc_get_stats(&vst);
    KT_ASSERT_EQ(vst.nr_areas, areas - 1);
    KT_TRY(vcheck());
    KT_ASSERT_OK(__free_page(pg));
    KT_TRY(vcheck());
    return 0;
}

/* vmap refuses the mm's own slab pages (their head's flags change under the slab's lock alone). */
static int test_vmap_refuses_slab_pages(void)
{
    KT_TRY(boot());
    void *k = kmalloc(64, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(k);
    struct page *sp = virt_to_page(k);
    unsigned long kb = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_NULL(vmap(&sp, 1, VMALLOC_PROT_KERNEL_RO));
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, page_to_pfn(sp), kb));
    KT_ASSERT_OK(kfree(k));
    KT_TRY(vcheck());
    return 0;
}

/* vmalloc.vmap_mark sees a missing mark, one too many, and one on a page no vmap maps. */
static int test_check_catches_vmap_marks(void)
{
    KT_TRY(boot());
    struct page *pg = alloc_page(GFP_KERNEL), *other = alloc_page(GFP_KERNEL);
    KT_ASSERT(pg && other);
    void *v = vmap(&pg, 1, VMALLOC_PROT_KERNEL);
    KT_ASSERT_NOT_NULL(v);
    KT_TRY(vcheck());
    pg->flags -= PG_VMAP_ONE;
    KT_TRY(vcheck_fails("vmalloc.vmap_mark"));
    KT_ASSERT_EQ(page_vmap_count(pg), 0); /* the checker put back what it took */
    pg->flags += 2 * PG_VMAP_ONE;
    KT_TRY(vcheck_fails("vmalloc.vmap_mark"));
    KT_ASSERT_EQ(page_vmap_count(pg), 2);
    pg->flags -= PG_VMAP_ONE;
    KT_TRY(vcheck());
    other->flags += PG_VMAP_ONE;
    KT_TRY(vcheck_fails("vmalloc.vmap_mark"));
    other->flags -= PG_VMAP_ONE;
    KT_ASSERT_OK(vunmap(v));
    KT_ASSERT_OK(__free_page(pg));
    KT_ASSERT_OK(__free_page(other));
    KT_TRY(vcheck());
    return 0;
}

static const struct ktest_case vmalloc_cases[] = {
    KT_CASE(sizes_usable),
    KT_CASE(kfree_of_vmalloc),
    KT_CASE(vzalloc_zeroes),
    KT_CASE(no_overlap_guard),
    KT_CASE(first_fit_reuses_lowest),
    KT_CASE(to_page_roundtrip),
    KT_CASE(vfree_returns_pages),
    KT_CASE(bad_vfree_reported),
    KT_CASE(bad_requests_reported),
    KT_CASE(exhaustion_leaks_nothing),
    KT_CASE(fail_inject_midway),
    KT_CASE(vmap_aliases_pages),
    KT_CASE(vmap_bad_arguments),
    KT_CASE(check_catches_corruption),
    KT_CASE(guard_touch_skipped),
    KT_CASE(free_vmapped_refused),
    KT_CASE(vmap_twice_and_limit),
    KT_CASE(vmap_refuses_slab_pages),
    KT_CASE(check_catches_vmap_marks),
};

KT_SUITE(vmalloc, vmalloc_cases);
