/*
 * test_boot.c - suites "boot" and "memblock": bringing the mm up on the simulated machines, zone
 * spans, holes and reserved ranges, the early allocator before and after mm_core_init, and
 * rejected boot parameters.
 */
#include "kt_util.h"
#include "slab.h"

/* ---- helpers ---- */

/* True if page @pfn is fully covered by one USABLE region of @m and touches no other range. */
static bool pfn_usable(const struct machine *m, unsigned long pfn)
{
    phys_addr_t lo = MM_PFN_PHYS(pfn), hi = lo + PAGE_SIZE;
    bool covered = false;

    for (unsigned int i = 0; i < m->nr_map; i++) {
        const struct mm_mem_region *r = &m->map[i];

        if (r->type == MM_MEM_USABLE) {
            if (r->base <= lo && r->base + r->size >= hi)
                covered = true;
        } else if (r->base < hi && r->base + r->size > lo) {
            return false;
        }
    }
    for (unsigned int i = 0; i < m->nr_reserve; i++) {
        const struct mm_mem_region *r = &m->reserve[i];

        if (r->base < hi && r->base + r->size > lo)
            return false;
    }
    return covered;
}

struct kt_range {
    phys_addr_t base;
    uint64_t size;
};

static bool pfn_in_ranges(const struct kt_range *r, unsigned int n, unsigned long pfn)
{
    phys_addr_t lo = MM_PFN_PHYS(pfn), hi = lo + PAGE_SIZE;

    for (unsigned int i = 0; i < n; i++)
        if (r[i].base < hi && r[i].base + r[i].size > lo)
            return true;
    return false;
}

/* Every page that may not be handed out is PG_reserved, and no free block (buddy or pcp) holds it. */
static int check_free_pages_usable(const struct kt_range *extra, unsigned int nr_extra)
{
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++) {
        const struct page *p = pfn_to_page(pfn);
        bool ok = pfn_usable(&kt_m, pfn) && !pfn_in_ranges(extra, nr_extra, pfn);

        if (!ok && !(p->flags & PG_reserved))
            KT_FAIL("pfn %lu is in a hole/reserved range but not PG_reserved (flags 0x%x)", pfn,
                    p->flags);
        if (p->flags & PG_buddy) {
            KT_ASSERT_LE(p->order, MM_MAX_ORDER);
            for (unsigned long i = 0; i < (1ul << p->order); i++) {
                unsigned long q = pfn + i;

                if (!pfn_usable(&kt_m, q) || pfn_in_ranges(extra, nr_extra, q))
                    KT_FAIL("free block pfn %lu order %u holds forbidden pfn %lu", pfn,
                            p->order, q);
            }
        }
        if ((p->flags & PG_pcp) && !ok)
            KT_FAIL("pcp page pfn %lu is in a hole/reserved range", pfn);
    }
    return 0;
}

/* Allocate as much as possible at every order (high first) and check each block is usable. */
static int alloc_all_check(const struct kt_range *extra, unsigned int nr_extra)
{
    int err;

    kt_blocks_reset();
    for (int o = MM_MAX_ORDER; o >= 0; o--) {
        unsigned int first = kt_nr_blocks;

        kt_alloc_until_fail(GFP_ATOMIC | __GFP_HIGHMEM, (unsigned int)o, KT_MAX_BLOCKS, &err);
        KT_ASSERT(err == -MM_ENOMEM || kt_nr_blocks == KT_MAX_BLOCKS);
        for (unsigned int i = first; i < kt_nr_blocks; i++) {
            unsigned long pfn = page_to_pfn(kt_blocks[i].page);

            KT_ASSERT_EQ(pfn & ((1ul << o) - 1), 0);
            for (unsigned long j = 0; j < (1ul << o); j++) {
                if (!pfn_usable(&kt_m, pfn + j) || pfn_in_ranges(extra, nr_extra, pfn + j))
                    KT_FAIL("allocated block pfn %lu order %d holds forbidden pfn %lu", pfn, o,
                            pfn + j);
            }
        }
    }
    KT_ASSERT_GT(kt_nr_blocks, 0);
    KT_TRY(check_free_pages_usable(extra, nr_extra));
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int check_zone(const struct zone_stats *z, unsigned long start_max, unsigned long start,
                      unsigned long end)
{
    KT_ASSERT(z->populated);
    KT_ASSERT_LE(z->start_pfn, start_max);
    KT_ASSERT_GE(z->start_pfn, start);
    KT_ASSERT_EQ(z->end_pfn, end);
    KT_ASSERT_LE(z->present, z->end_pfn - z->start_pfn);
    KT_ASSERT_LE(z->managed, z->present);
    KT_ASSERT_EQ(z->managed + z->reserved, z->present);
    KT_ASSERT_GT(z->managed, 0);
    KT_ASSERT_EQ(z->managed, z->nr_free + z->nr_pcp + z->nr_alloc);
    for (unsigned long pfn = z->start_pfn; pfn < z->end_pfn; pfn++)
        if (!(pfn_to_page(pfn)->flags & PG_hole))
            KT_ASSERT_EQ(pfn_to_page(pfn)->zone, (long long)(z - kt_st_a.zone));
    return 0;
}

/* ---- suite boot ---- */

static int test_pc_1g_two_cpus(void)
{
    const unsigned long dma = ARCH_ZONE_DMA_END >> PAGE_SHIFT;
    const unsigned long normal = ARCH_ZONE_NORMAL_END >> PAGE_SHIFT;
    const unsigned long max = KT_MIB(1024) >> PAGE_SHIFT;

    KT_TRY(kt_boot_pc(1024, 2));
    KT_ASSERT(mm_ready());
    KT_ASSERT_EQ(mm_nr_cpus(), 2);
    KT_ASSERT_EQ(mm_max_pfn, max);
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_EQ(kt_st_a.nr_cpus, 2);
    KT_TRY(check_zone(&kt_st_a.zone[ZONE_DMA], 1, 0, dma));
    KT_TRY(check_zone(&kt_st_a.zone[ZONE_NORMAL], dma, dma, normal));
    KT_TRY(check_zone(&kt_st_a.zone[ZONE_HIGHMEM], normal, normal, max));
    /* The 640 KiB..1 MiB legacy hole is not present memory. */
    KT_ASSERT_LE(kt_st_a.zone[ZONE_DMA].present, dma - ((KT_MIB(1) - 640 * 1024) >> PAGE_SHIFT));
    KT_ASSERT_EQ(kt_st_a.zone[ZONE_NORMAL].present, normal - dma);
    KT_ASSERT_EQ(kt_st_a.zone[ZONE_HIGHMEM].present, max - normal);
    for (unsigned long pfn = (640 * 1024) >> PAGE_SHIFT; pfn < 256; pfn++) {
        KT_ASSERT(pfn_to_page(pfn)->flags & PG_reserved);
        KT_ASSERT(pfn_to_page(pfn)->flags & PG_hole);
    }
    KT_ASSERT(pfn_to_page(0)->flags & PG_reserved);
    KT_TRY(check_free_pages_usable(NULL, 0));
    KT_ASSERT_EQ(page_alloc_nr_free(), kt_st_a.zone[0].nr_free + kt_st_a.zone[0].nr_pcp +
                 kt_st_a.zone[1].nr_free + kt_st_a.zone[1].nr_pcp + kt_st_a.zone[2].nr_free +
                 kt_st_a.zone[2].nr_pcp);
    KT_MM_CHECK();
    return 0;
}

static int test_pc_zone_names(void)
{
    KT_TRY(kt_boot_pc(1024, 1));
    KT_ASSERT_STREQ(zone_name(ZONE_DMA), "DMA");
    KT_ASSERT_STREQ(zone_name(ZONE_NORMAL), "Normal");
    KT_ASSERT_STREQ(zone_name(ZONE_HIGHMEM), "HighMem");
    page_alloc_get_stats(&kt_st_a);
    for (unsigned int z = 0; z < MM_NR_ZONES; z++)
        KT_ASSERT_STREQ(kt_st_a.zone[z].name, zone_name(z));
    return 0;
}

static int test_pc_without_highmem(void)
{
    /* 512 MiB: no HIGH zone; GFP_HIGHUSER still works from NORMAL. */
    KT_TRY(kt_boot_pc(512, 1));
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT(kt_st_a.zone[ZONE_DMA].populated);
    KT_ASSERT(kt_st_a.zone[ZONE_NORMAL].populated);
    KT_ASSERT(!kt_st_a.zone[ZONE_HIGHMEM].populated);
    KT_ASSERT_EQ(kt_st_a.zone[ZONE_HIGHMEM].managed, 0);
    KT_ASSERT_EQ(kt_st_a.zone[ZONE_NORMAL].end_pfn, KT_MIB(512) >> PAGE_SHIFT);
    struct page *p = alloc_pages(GFP_HIGHUSER, 0);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(p->zone, ZONE_NORMAL);
    KT_ASSERT_OK(__free_pages(p, 0));
    KT_MM_CHECK();
    return 0;
}

static int small_layout(unsigned int mib)
{
    const uint64_t mem = KT_MIB(mib);
    const unsigned long dma = (mem / 16) >> PAGE_SHIFT, normal = (mem / 8 * 7) >> PAGE_SHIFT;

    KT_TRY(kt_boot_small(mib, 2, false));
    KT_ASSERT_EQ(mm_max_pfn, mem >> PAGE_SHIFT);
    page_alloc_get_stats(&kt_st_a);
    KT_TRY(check_zone(&kt_st_a.zone[ZONE_DMA], 1, 0, dma));
    KT_TRY(check_zone(&kt_st_a.zone[ZONE_NORMAL], dma, dma, normal));
    KT_TRY(check_zone(&kt_st_a.zone[ZONE_HIGHMEM], normal, normal, mem >> PAGE_SHIFT));
    KT_TRY(check_free_pages_usable(NULL, 0));
    KT_MM_CHECK();
    return 0;
}

static int test_small_8m_layout(void) { return small_layout(8); }
static int test_small_16m_layout(void) { return small_layout(16); }
static int test_small_32m_layout(void) { return small_layout(32); }

static int test_max_cpus(void)
{
    machine_small(&kt_m, KT_MIB(8), MM_MAX_CPUS);
    KT_TRY(kt_boot_current());
    KT_ASSERT_EQ(mm_nr_cpus(), MM_MAX_CPUS);
    machine_small(&kt_m, KT_MIB(8), 1);
    kt_m.nr_cpus = 0; /* 0 means 1 */
    KT_TRY(kt_boot_current());
    KT_ASSERT_EQ(mm_nr_cpus(), 1);
    KT_MM_CHECK();
    return 0;
}

static int test_holes_and_reserved_never_allocated(void)
{
    machine_small(&kt_m, KT_MIB(16), 1);
    kt_m.nr_map = 0;
    /* Unsorted map with a gap, a partial last page, and non-usable ranges overlapping RAM. */
    KT_ASSERT_OK(machine_add(&kt_m, KT_MIB(8), KT_MIB(8), MM_MEM_USABLE, false));
    KT_ASSERT_OK(machine_add(&kt_m, 0, KT_MIB(3) - 100, MM_MEM_USABLE, false));
    KT_ASSERT_OK(machine_add(&kt_m, KT_MIB(3) + 256 * 1024, KT_MIB(5) - 256 * 1024,
                                    MM_MEM_USABLE, false));
    KT_ASSERT_OK(machine_add(&kt_m, KT_MIB(12), 128 * 1024, MM_MEM_RESERVED, false));
    KT_ASSERT_OK(machine_add(&kt_m, KT_MIB(14), 64 * 1024, MM_MEM_ACPI, false));
    KT_ASSERT_OK(machine_add(&kt_m, KT_MIB(10) + 4096, 3 * 4096, MM_MEM_BAD, false));
    /* A reserve-list entry that starts and ends in the middle of pages. */
    KT_ASSERT_OK(machine_add(&kt_m, KT_MIB(6) + 8192 + 100, 20 * 1024, 0, true));
    KT_TRY(kt_boot_current());
    KT_ASSERT(!pfn_usable(&kt_m, (KT_MIB(3) >> PAGE_SHIFT) - 1));
    KT_ASSERT(pfn_to_page((KT_MIB(3) >> PAGE_SHIFT) - 1)->flags & PG_reserved);
    KT_ASSERT(pfn_to_page(KT_MIB(3) >> PAGE_SHIFT)->flags & PG_hole);
    KT_ASSERT(pfn_to_page((KT_MIB(6) + 8192 + 100 + 20 * 1024) >> PAGE_SHIFT)->flags & PG_reserved);
    KT_TRY(check_free_pages_usable(NULL, 0));
    KT_MM_CHECK();
    KT_TRY(alloc_all_check(NULL, 0));
    return 0;
}

/* Every 8-byte granule of pfn @pfn is poisoned. */
static int page_poisoned(unsigned long pfn, const char *what)
{
    const uint8_t *va = env_phys_to_virt(MM_PFN_PHYS(pfn));

    for (unsigned int off = 0; off < PAGE_SIZE; off += 8)
        if (!machine_shadow_poisoned(va + off))
            KT_FAIL("%s pfn %lu: byte %u is not poisoned", what, pfn, off);
    return 0;
}

/* Every free block (buddy; the pcp lists are drained) and every page kt_m does not make usable is
 * poisoned: what a boot leaves addressable does not depend on the machine before it. */
static int check_unused_poisoned(void)
{
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++) {
        const struct page *p = pfn_to_page(pfn);

        if (!pfn_usable(&kt_m, pfn))
            KT_TRY(page_poisoned(pfn, "hole/reserved"));
        if (p->flags & PG_buddy)
            for (unsigned long i = 0; i < (1ul << p->order); i++)
                KT_TRY(page_poisoned(pfn + i, "free"));
    }
    return 0;
}

/* Reboots over an arena whose shadow the last machine opened (every page allocated, a kmalloc
 * object): the platform re-poisons only what changed since the last boot and the mm's hand-off
 * skips what is poisoned already (shims/hosted/machine.c), so check the result granule by granule,
 * on a smaller machine with holes and reserved ranges, then on the larger one again. */
static int test_reboot_shadow_fresh(void)
{
    int err;

    if (!env_shadow_enabled)
        KT_SKIP("no shadow in this build");
    KT_TRY(kt_boot_small(16, 1, true));
    KT_ASSERT_NOT_NULL(kmalloc(100, GFP_KERNEL));
    kt_blocks_reset();
    for (int o = MM_MAX_ORDER; o >= 0; o--)
        kt_alloc_until_fail(GFP_ATOMIC | __GFP_HIGHMEM, (unsigned int)o, KT_MAX_BLOCKS, &err);
    KT_ASSERT_GT(kt_nr_blocks, 0);
    kt_blocks_reset(); /* abandoned with the instance */
    machine_small(&kt_m, KT_MIB(12), 1);
    kt_m.nr_map = 0;
    KT_ASSERT_OK(machine_add(&kt_m, 0, KT_MIB(3) - 100, MM_MEM_USABLE, false));
    KT_ASSERT_OK(machine_add(&kt_m, KT_MIB(4), KT_MIB(8), MM_MEM_USABLE, false));
    KT_ASSERT_OK(machine_add(&kt_m, KT_MIB(6), 128 * 1024, MM_MEM_RESERVED, false));
    KT_ASSERT_OK(machine_add(&kt_m, KT_MIB(9) + 8192 + 100, 20 * 1024, 0, true));
    KT_TRY(kt_boot_current());
    KT_TRY(check_unused_poisoned());
    KT_TRY(kt_boot_small(16, 1, true));
    KT_TRY(check_unused_poisoned());
    struct page *p = alloc_pages(GFP_KERNEL, 1); /* and a free after the boot poisons again */
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT(!machine_shadow_poisoned(page_address(p)));
    KT_ASSERT_OK(__free_pages(p, 1));
    KT_TRY(page_poisoned(page_to_pfn(p) + 1, "freed"));
    KT_MM_CHECK();
    return 0;
}

static int test_pc_hole_never_allocated(void)
{
    KT_TRY(kt_boot_pc(64, 1));
    /* Only the DMA zone holds the legacy hole: exhaust it and inspect every block. */
    int err;

    kt_alloc_until_fail(GFP_DMA | GFP_ATOMIC, 0, KT_MAX_BLOCKS, &err);
    KT_ASSERT_ERR(err, MM_ENOMEM);
    for (unsigned int i = 0; i < kt_nr_blocks; i++) {
        unsigned long pfn = page_to_pfn(kt_blocks[i].page);

        KT_ASSERT_MSG(pfn_usable(&kt_m, pfn), "pfn %lu", pfn);
        KT_ASSERT_EQ(kt_blocks[i].page->zone, ZONE_DMA);
    }
    KT_TRY(check_free_pages_usable(NULL, 0));
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_reboot_resets(void)
{
    int err;

    KT_TRY(kt_boot_small(8, 2, false));
    page_alloc_get_stats(&kt_st_a);
    kt_alloc_until_fail(GFP_KERNEL, 1, 50, &err);
    KT_ASSERT_OK(err);
    KT_ASSERT_ERR(__free_pages(kt_blocks[0].page, 3), MM_EINVAL); /* a misuse */
    KT_ASSERT_GT(mm_misuse_count(), 0);
    KT_TRY(kt_boot_small(8, 2, false));
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    struct mm_misuse mu;

    KT_ASSERT(!mm_misuse_last(&mu));
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_state_same(&kt_st_a, &kt_st_b)); /* boots are deterministic */
    KT_MM_CHECK();
    return 0;
}

static struct mm_mem_region bad_map[MM_MAX_MEM_REGIONS + 8];

static int test_bad_boot_params(void)
{
    struct mm_boot_params bp;
    struct page *p = NULL;

    KT_ASSERT_ERR(mm_early_init(NULL), MM_EINVAL);
    KT_ASSERT(!mm_ready());
    KT_ASSERT_ERR(mm_init(NULL), MM_EINVAL);

    memset(&bp, 0, sizeof(bp));
    bad_map[0] = (struct mm_mem_region){ 0, KT_MIB(8), MM_MEM_USABLE };
    bp.map = bad_map;
    bp.nr_map = 1;
    bp.nr_cpus = MM_MAX_CPUS + 1;
    KT_ASSERT_ERR(mm_early_init(&bp), MM_EINVAL);
    KT_ASSERT(!mm_ready());

    bp.nr_cpus = 1;
    bp.nr_map = 0; /* no memory at all */
    KT_ASSERT_ERR(mm_early_init(&bp), MM_EINVAL);

    bad_map[0] = (struct mm_mem_region){ 0, KT_MIB(8), MM_MEM_RESERVED }; /* no usable memory */
    bp.nr_map = 1;
    KT_ASSERT_ERR(mm_early_init(&bp), MM_EINVAL);

    bad_map[0] = (struct mm_mem_region){ 0, KT_MIB(8), MM_MEM_USABLE };
    bad_map[1] = (struct mm_mem_region){ ~0ull - 4095, 8192, MM_MEM_USABLE }; /* wraps */
    bp.nr_map = 2;
    KT_ASSERT_ERR(mm_early_init(&bp), MM_EINVAL);

    bad_map[1] = (struct mm_mem_region){ 1ull << ARCH_PHYS_BITS, 8192, MM_MEM_USABLE };
    KT_ASSERT_ERR(mm_early_init(&bp), MM_EINVAL);

    bp.nr_map = 1;
    bp.zone_dma_end = KT_MIB(4);
    bp.zone_normal_end = KT_MIB(2); /* zone ends out of order */
    KT_ASSERT_ERR(mm_early_init(&bp), MM_EINVAL);
    bp.zone_dma_end = 0;
    bp.zone_normal_end = 0;

    bp.map = NULL; /* non-zero count without a map */
    bp.nr_map = 1;
    KT_ASSERT_ERR(mm_early_init(&bp), MM_EINVAL);

    /* After a failed init the allocator refuses service as misuse. */
    KT_ASSERT(!mm_ready());
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_NOT_READY);

    KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL, 0, &p), MM_EINVAL);
    KT_ASSERT_GT(mm_misuse_count_kind(MM_MISUSE_NOT_READY), before);
    KT_ASSERT_NULL(alloc_pages(GFP_KERNEL, 0));
    KT_ASSERT_ERR(mm_core_init(), MM_EINVAL);

    /* A good machine still boots afterwards. */
    KT_TRY(kt_boot_small(8, 1, false));
    KT_MM_CHECK();
    return 0;
}

static int test_too_many_regions(void)
{
    struct mm_boot_params bp;

    /* More disjoint regions than MM_MAX_MEM_REGIONS: -MM_ENOSPC (mm.h). */
    memset(&bp, 0, sizeof(bp));
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(bad_map); i++)
        bad_map[i] = (struct mm_mem_region){ (phys_addr_t)i * 2 * PAGE_SIZE, PAGE_SIZE,
                                             MM_MEM_USABLE };
    bp.map = bad_map;
    bp.nr_map = (unsigned int)MM_ARRAY_SIZE(bad_map);
    bp.nr_cpus = 1;
    KT_ASSERT_ERR(mm_early_init(&bp), MM_ENOSPC);
    KT_ASSERT(!mm_ready());
    KT_ASSERT_EQ(memblock_usable_bytes(), 0); /* regression: the failed map was left half-built */
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_many_regions_merge(void)
{
    struct mm_boot_params bp;

    /* More entries than MM_MAX_MEM_REGIONS that merge into one range are fine ("after merging"). */
    memset(&bp, 0, sizeof(bp));
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(bad_map); i++)
        bad_map[i] = (struct mm_mem_region){ (phys_addr_t)i * 16 * PAGE_SIZE, 16 * PAGE_SIZE,
                                             MM_MEM_USABLE };
    bp.map = bad_map;
    bp.nr_map = (unsigned int)MM_ARRAY_SIZE(bad_map);
    bp.nr_cpus = 1;
    KT_ASSERT_OK(mm_early_init(&bp));
    KT_ASSERT_EQ(memblock_usable_bytes(), MM_ARRAY_SIZE(bad_map) * 16 * PAGE_SIZE);
    KT_TRY(kt_boot_small(8, 1, false)); /* back to a machine with an arena behind it */
    return 0;
}

static const struct ktest_case boot_cases[] = {
    KT_CASE(pc_1g_two_cpus),
    KT_CASE(pc_zone_names),
    KT_CASE(pc_without_highmem),
    KT_CASE(small_8m_layout),
    KT_CASE(small_16m_layout),
    KT_CASE(small_32m_layout),
    KT_CASE(max_cpus),
    KT_CASE(holes_and_reserved_never_allocated),
    KT_CASE(pc_hole_never_allocated),
    KT_CASE(reboot_resets),
    KT_CASE(reboot_shadow_fresh),
    KT_CASE(bad_boot_params),
    KT_CASE(too_many_regions),
    KT_CASE(many_regions_merge),
};
KT_SUITE(boot, boot_cases);

/* ---- suite memblock ---- */

static struct kt_range mb_ranges[8];

static int test_alloc_before_core_init(void)
{
    static const uint64_t sizes[] = { 4096, 100, 8192, KT_MIB(1), 24, 3 * 4096 + 5 };
    static const uint64_t aligns[] = { 4096, 8, 65536, KT_MIB(2), 16, 4096 };
    const unsigned int n = (unsigned int)MM_ARRAY_SIZE(sizes);

    machine_small(&kt_m, KT_MIB(16), 1);
    KT_ASSERT_OK(machine_boot_early(&kt_m));
    KT_ASSERT(!mm_ready());
    uint64_t usable = memblock_usable_bytes(), reserved0 = memblock_reserved_bytes();

    KT_ASSERT_GT(usable, KT_MIB(15));
    KT_ASSERT_LE(usable, KT_MIB(16));
    for (unsigned int i = 0; i < n; i++) {
        phys_addr_t pa = memblock_alloc(sizes[i], aligns[i]);

        KT_ASSERT_NE(pa, 0);
        KT_ASSERT_EQ(pa & (aligns[i] - 1), 0);
        /* top-down below the NORMAL end when possible */
        KT_ASSERT_LE(pa + sizes[i], kt_m.zone_normal_end ? kt_m.zone_normal_end : KT_MIB(14));
        for (unsigned int j = 0; j < i; j++)
            KT_ASSERT(pa + sizes[i] <= mb_ranges[j].base ||
                      mb_ranges[j].base + mb_ranges[j].size <= pa);
        mb_ranges[i].base = pa;
        mb_ranges[i].size = sizes[i];
    }
    uint64_t total = 0;

    for (unsigned int i = 0; i < n; i++)
        total += sizes[i];
    KT_ASSERT_GE(memblock_reserved_bytes(), reserved0 + total);
    KT_ASSERT_EQ(memblock_usable_bytes(), usable);

    KT_ASSERT_OK(mm_core_init());
    KT_ASSERT(mm_ready());
    /* The struct page array itself does not overlap them either. */
    phys_addr_t map_pa = (phys_addr_t)((uintptr_t)mm_mem_map - (uintptr_t)machine_arena_base());
    uint64_t map_sz = (uint64_t)mm_max_pfn * sizeof(struct page);

    KT_ASSERT_LE(map_pa + map_sz, machine_arena_size());
    for (unsigned int i = 0; i < n; i++) {
        KT_ASSERT(map_pa + map_sz <= mb_ranges[i].base ||
                  mb_ranges[i].base + mb_ranges[i].size <= map_pa);
        for (unsigned long pfn = MM_PFN_DOWN(mb_ranges[i].base);
             pfn < MM_PFN_UP(mb_ranges[i].base + mb_ranges[i].size); pfn++)
            KT_ASSERT_MSG(pfn_to_page(pfn)->flags & PG_reserved, "pfn %lu", pfn);
    }
    for (unsigned long pfn = MM_PFN_DOWN(map_pa); pfn < MM_PFN_UP(map_pa + map_sz); pfn++)
        KT_ASSERT(pfn_to_page(pfn)->flags & PG_reserved);
    KT_MM_CHECK();
    KT_TRY(alloc_all_check(mb_ranges, n));
    return 0;
}

static int test_reserve_and_free(void)
{
    machine_small(&kt_m, KT_MIB(16), 1);
    KT_ASSERT_OK(machine_boot_early(&kt_m));
    uint64_t r0 = memblock_reserved_bytes();

    KT_ASSERT_OK(memblock_reserve(KT_MIB(5), 64 * 1024));
    KT_ASSERT_EQ(memblock_reserved_bytes(), r0 + 64 * 1024);
    phys_addr_t pa = memblock_alloc(KT_MIB(1), 4096);

    KT_ASSERT_NE(pa, 0);
    KT_ASSERT(pa + KT_MIB(1) <= KT_MIB(5) || pa >= KT_MIB(5) + 64 * 1024);
    KT_ASSERT_EQ(memblock_reserved_bytes(), r0 + 64 * 1024 + KT_MIB(1));
    KT_ASSERT_OK(memblock_free(pa, KT_MIB(1)));
    KT_ASSERT_EQ(memblock_reserved_bytes(), r0 + 64 * 1024);
    KT_ASSERT_ERR(memblock_free(pa, KT_MIB(1)), MM_EINVAL); /* not reserved any more */
    /* A range nobody allocated cannot be freed. */
    KT_ASSERT_ERR(memblock_free(KT_MIB(9), 4096), MM_EINVAL);
    /* Page 0 stays the mm's even when a caller reserved over it (fuzz boot found a vmalloc page
     * table root at pa 0, which reads as "no table"): its free is refused and reported. */
    unsigned long mis = mm_misuse_count();
    KT_ASSERT_OK(memblock_reserve(0, 4));
    KT_ASSERT_ERR(memblock_free(0, 4), MM_EINVAL);
    KT_ASSERT_EQ(mm_misuse_count(), mis + 1);
    KT_ASSERT_EQ(memblock_reserved_bytes(), r0 + 64 * 1024);
    /* Nothing fits: 0, not a crash. */
    KT_ASSERT_EQ(memblock_alloc(KT_MIB(64), 4096), 0);
    KT_ASSERT_OK(mm_core_init());
    for (unsigned long pfn = MM_PFN_DOWN(KT_MIB(5)); pfn < MM_PFN_UP(KT_MIB(5) + 64 * 1024); pfn++)
        KT_ASSERT(pfn_to_page(pfn)->flags & PG_reserved);
    /* The freed megabyte went to the buddy allocator. */
    KT_ASSERT(!(pfn_to_page(MM_PFN_DOWN(pa))->flags & PG_reserved));
    struct kt_range r = { KT_MIB(5), 64 * 1024 };

    KT_TRY(alloc_all_check(&r, 1));
    return 0;
}

static int test_bad_arguments(void)
{
    machine_small(&kt_m, KT_MIB(16), 1);
    KT_ASSERT_OK(machine_boot_early(&kt_m));
    unsigned long m0 = mm_misuse_count();

    KT_ASSERT_EQ(memblock_alloc(4096, 3), 0);    /* not a power of two */
    KT_ASSERT_EQ(memblock_alloc(4096, 4), 0);    /* below 8 */
    KT_ASSERT_EQ(memblock_alloc(4096, 0), 0);
    KT_ASSERT_EQ(memblock_alloc(0, 4096), 0);    /* empty */
    KT_ASSERT_EQ(memblock_alloc(~0ull, 4096), 0); /* wraps */
    KT_ASSERT_GE(mm_misuse_count(), m0 + 4);
    KT_ASSERT_ERR(memblock_reserve(~0ull - 4095, 8192), MM_EINVAL); /* wraps */
    KT_ASSERT_OK(mm_core_init());
    KT_MM_CHECK();
    return 0;
}

static int test_alloc_after_core_init_is_misuse(void)
{
    struct mm_misuse mu;

    KT_TRY(kt_boot_small(16, 1, false));
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_NOT_READY);
    uint64_t reserved = memblock_reserved_bytes();

    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_EQ(memblock_alloc(4096, 4096), 0);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_NOT_READY), before + 1);
    KT_ASSERT(mm_misuse_last(&mu));
    KT_ASSERT_EQ(mu.kind, MM_MISUSE_NOT_READY);
    KT_ASSERT_NOT_NULL(mu.func);
    KT_ASSERT_ERR(memblock_reserve(KT_MIB(4), 4096), MM_EINVAL);
    KT_ASSERT_EQ(memblock_reserved_bytes(), reserved);
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_state_same(&kt_st_a, &kt_st_b));
    KT_MM_CHECK();
    return 0;
}

static int test_page_alloc_before_core_init(void)
{
    struct page *p = NULL;

    machine_small(&kt_m, KT_MIB(8), 1);
    KT_ASSERT_OK(machine_boot_early(&kt_m));
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_NOT_READY);

    KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL, 0, &p), MM_EINVAL);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_NOT_READY), before + 1);
    KT_ASSERT_OK(mm_core_init());
    KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, 0, &p));
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_pages(p, 0));
    KT_ASSERT_ERR(mm_core_init(), MM_EINVAL); /* twice */
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case memblock_cases[] = {
    KT_CASE(alloc_before_core_init),
    KT_CASE(reserve_and_free),
    KT_CASE(bad_arguments),
    KT_CASE(alloc_after_core_init_is_misuse),
    KT_CASE(page_alloc_before_core_init),
};
KT_SUITE(memblock, memblock_cases);
