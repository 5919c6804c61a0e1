/*
 * test_describe.c - mm_describe_addr, the query behind the kernel sanitizer's reports: for each
 * kind of memory (slab object, its red zone, a freed object, a large kmalloc, pages allocated and
 * free, vmalloc areas and their guard pages, foreign memory) the owner and the object it names.
 *
 * The query reads free objects and allocator metadata on purpose (a report describes memory the
 * bad access should not have touched), so it runs only where no sanitizer shadow watches those
 * reads: the hosted UBSan-only build and the normal kernel. Under ASan or KASAN the cases skip.
 */
#include "kt_util.h"
#include "mm_describe.h"
#include "slab.h"
#include "vmalloc.h"

static struct mm_addr_desc d;

static int describe_boot(bool hardened)
{
    if (env_shadow_enabled)
        KT_SKIP("the query reads poisoned memory; it runs unwatched only inside a sanitizer report");
    machine_pc(&kt_m, KT_MIB(64), 1);
    kt_m.slab_hardened = hardened;
    return kt_boot_current();
}

static int test_slab_object_and_offset(void)
{
    KT_TRY(describe_boot(false));
    char *p = kmalloc(40, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_TRUE(mm_describe_addr(p + 8, &d));
    KT_ASSERT_EQ(d.owner, MM_ADDR_SLAB);
    KT_ASSERT_STREQ(d.cache, "kmalloc-64");
    KT_ASSERT_EQ(d.object, (uintptr_t)p);
    KT_ASSERT_EQ(d.offset, 8);
    KT_ASSERT_EQ(d.part, MM_SLAB_OBJECT);
    KT_ASSERT_EQ(d.pfn, env_virt_to_phys(p) >> PAGE_SHIFT);
    kfree(p);
    KT_MM_CHECK();
    return 0;
}

static int test_hardened_redzone_and_freed_object(void)
{
    KT_TRY(describe_boot(true));
    char *p = kmalloc(40, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_TRUE(mm_describe_addr(p, &d));
    KT_ASSERT_TRUE(d.hardened);
    KT_ASSERT_EQ(d.state, MM_OBJ_ALLOCATED);
    KT_ASSERT_EQ(d.object_size, 64); /* the cache's object size, not the request */
    KT_ASSERT_TRUE(mm_describe_addr(p - 1, &d)); /* the byte before the object */
    KT_ASSERT_EQ(d.part, MM_SLAB_LEFT_REDZONE);
    KT_ASSERT_EQ(d.offset, -1);
    kfree(p);
    KT_ASSERT_TRUE(mm_describe_addr(p, &d));
    KT_ASSERT_EQ(d.state, MM_OBJ_FREED);
    KT_MM_CHECK();
    return 0;
}

static int test_pages_allocated_and_free(void)
{
    KT_TRY(describe_boot(false));
    struct page *pg = alloc_pages(GFP_KERNEL, 2);
    KT_ASSERT_NOT_NULL(pg);
    char *va = page_address(pg);
    KT_ASSERT_TRUE(mm_describe_addr(va + 3 * PAGE_SIZE + 5, &d));
    KT_ASSERT_EQ(d.owner, MM_ADDR_PAGE);
    KT_ASSERT_EQ(d.block, (uintptr_t)va);
    KT_ASSERT_EQ(d.order, 2);
    KT_ASSERT_OK(__free_pages(pg, 2));
    KT_ASSERT_TRUE(mm_describe_addr(va, &d));
    KT_ASSERT(d.owner == MM_ADDR_FREE_PAGE || d.owner == MM_ADDR_PCP_PAGE);
    KT_MM_CHECK();
    return 0;
}

static int test_large_kmalloc(void)
{
    KT_TRY(describe_boot(false));
    char *p = kmalloc(5 * PAGE_SIZE, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_TRUE(mm_describe_addr(p + PAGE_SIZE, &d));
    KT_ASSERT_EQ(d.owner, MM_ADDR_LARGE);
    KT_ASSERT_EQ(d.object, (uintptr_t)p);
    KT_ASSERT_EQ(d.object_size, 5 * PAGE_SIZE);
    kfree(p);
    return 0;
}

static int test_vmalloc_area_and_guard(void)
{
    KT_TRY(describe_boot(false));
    char *p = vmalloc(2 * PAGE_SIZE);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_TRUE(mm_describe_addr(p + PAGE_SIZE, &d));
    KT_ASSERT_EQ(d.owner, MM_ADDR_VMALLOC);
    KT_ASSERT_EQ(d.object, (uintptr_t)p);
    KT_ASSERT_EQ(d.object_size, 2 * PAGE_SIZE);
    KT_ASSERT_TRUE(mm_describe_addr(p + 2 * PAGE_SIZE, &d)); /* the guard page: still the area */
    KT_ASSERT_EQ(d.owner, MM_ADDR_VMALLOC);
    KT_ASSERT_EQ(d.offset, 2 * PAGE_SIZE);
    vfree(p);
    KT_ASSERT_TRUE(mm_describe_addr(p, &d));
    KT_ASSERT_EQ(d.owner, MM_ADDR_VMALLOC_UNUSED);
    return 0;
}

static int test_foreign_memory_is_nobodys(void)
{
    KT_TRY(describe_boot(false));
    void *f = kt_host_foreign_page();
    KT_ASSERT_NOT_NULL(f);
    KT_ASSERT_FALSE(mm_describe_addr(f, &d));
    KT_ASSERT_EQ(d.owner, MM_ADDR_NONE);
    kt_host_free_foreign(f);
    KT_ASSERT_FALSE(mm_describe_addr(NULL, &d));
    return 0;
}

static const struct ktest_case describe_cases[] = {
    KT_CASE(slab_object_and_offset),
    KT_CASE(hardened_redzone_and_freed_object),
    KT_CASE(pages_allocated_and_free),
    KT_CASE(large_kmalloc),
    KT_CASE(vmalloc_area_and_guard),
    KT_CASE(foreign_memory_is_nobodys),
};
KT_SUITE(describe, describe_cases);
