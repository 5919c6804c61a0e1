/*
 * test_inject.c - suite "inject": the failure-injection knob page_alloc_fail_inject(skip, count).
 */
#include "kt_util.h"

static int test_skip_then_fail(void)
{
    struct page *p = NULL;

    KT_TRY(kt_boot_small(8, 1, false));
    page_alloc_get_stats(&kt_st_a);
    page_alloc_fail_inject(2, 3);
    for (unsigned int i = 0; i < 2; i++) {
        KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, 0, &p));
        KT_ASSERT_OK(kt_blocks_push(p, 0));
    }
    for (unsigned int i = 0; i < 3; i++)
        KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL | __GFP_NOWARN, i, &p), MM_ENOMEM);
    for (unsigned int i = 0; i < 3; i++) {
        KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, i, &p));
        KT_ASSERT_OK(kt_blocks_push(p, i));
    }
    page_alloc_get_stats(&kt_st_b);
    KT_ASSERT_EQ(kt_st_b.counters.fail_injected, kt_st_a.counters.fail_injected + 3);
    KT_ASSERT_EQ(kt_st_b.counters.fail, kt_st_a.counters.fail + 3);
    KT_ASSERT_EQ(kt_st_b.counters.alloc, kt_st_a.counters.alloc + 5);
    KT_ASSERT_EQ(mm_misuse_count(), 0);
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_all_entry_points_fail(void)
{
    KT_TRY(kt_boot_small(8, 1, false));
    page_alloc_fail_inject(0, 4);
    KT_ASSERT_NULL(alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0));
    KT_ASSERT_NULL(alloc_page(GFP_ATOMIC | __GFP_NOWARN));
    KT_ASSERT_EQ(__get_free_pages(GFP_KERNEL | __GFP_NOWARN, 2), 0);
    KT_ASSERT_EQ(get_zeroed_page(GFP_KERNEL | __GFP_NOWARN), 0);
    struct page *p = alloc_page(GFP_KERNEL);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_page(p));
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_EQ(kt_st_a.counters.fail_injected, 4);
    KT_TRY(kt_conservation());
    KT_MM_CHECK();
    return 0;
}

static int test_bad_request_not_counted(void)
{
    struct page *p = NULL;

    KT_TRY(kt_boot_small(8, 1, false));
    page_alloc_fail_inject(1, 1);
    /* a request rejected as misuse is not an allocation: it neither skips nor fails */
    KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL, MM_MAX_ORDER + 1, &p), MM_EINVAL);
    KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, 0, &p));
    KT_ASSERT_OK(__free_page(p));
    KT_ASSERT_ERR(page_alloc_try(GFP_KERNEL | __GFP_NOWARN, 0, &p), MM_ENOMEM);
    KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, 0, &p));
    KT_ASSERT_OK(__free_page(p));
    return 0;
}

static int test_reboot_and_zero_count_disarm(void)
{
    struct page *p = NULL;

    KT_TRY(kt_boot_small(8, 1, false));
    page_alloc_fail_inject(0, 100);
    KT_TRY(kt_boot_small(8, 1, false)); /* a new boot forgets the knob */
    KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, 0, &p));
    KT_ASSERT_OK(__free_page(p));
    page_alloc_fail_inject(0, 100);
    page_alloc_fail_inject(0, 0); /* count 0 disarms */
    KT_ASSERT_OK(page_alloc_try(GFP_KERNEL, 0, &p));
    KT_ASSERT_OK(__free_page(p));
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_EQ(kt_st_a.counters.fail_injected, 0);
    return 0;
}

static const struct ktest_case inject_cases[] = {
    KT_CASE(skip_then_fail),
    KT_CASE(all_entry_points_fail),
    KT_CASE(bad_request_not_counted),
    KT_CASE(reboot_and_zero_count_disarm),
};
KT_SUITE(inject, inject_cases);
