/*
 * test_swap.c - suite "swap": anonymous pages go to the swap device under pressure and come back
 * intact; swap entries survive fork with per-slot reference counts; second chance keeps accessed
 * pages resident longer than idle ones; without swap, pressure fails cleanly; mm_check sees the
 * slot counts and LRU lists (and a corrupted count); a page vmap maps is pinned.
 *
 * Machines: 8 MiB small machines with 4096 swap slots (16 MiB of swap), so filling more
 * anonymous memory than the machine has is cheap.
 */
#include "machine_user.h"
#include "kt_util.h"
#include "ktest.h"
#include "slab.h"
#include "swap.h"
#include "vmalloc.h"

#define RW   (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)
#define SW_SLOTS 4096ul

static struct mm_check_report sw_rep;

static struct mm_struct *sw_boot(unsigned int mib, unsigned long slots)
{
    machine_small(&kt_m, KT_MIB(mib), 1);
    kt_m.swap_slots = slots;
    if (kt_boot_current())
        return NULL;
    return mm_create();
}

static unsigned long sw_used(void)
{
    struct swap_stats st;
    swap_get_stats(&st);
    return st.slots_used;
}

static int test_fill_beyond_memory(void)
{
    struct mm_struct *mm = sw_boot(8, SW_SLOTS);
    KT_ASSERT_NOT_NULL(mm);
    KT_ASSERT_TRUE(swap_enabled());
    unsigned long npages = page_alloc_nr_free() + 512; /* more than the machine has free */
    long a = do_mmap(mm, 0, npages * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    for (unsigned long i = 0; i < npages; i++)
        KT_TRY(kt_user_fill(mm, (uintptr_t)a + i * PAGE_SIZE, 1));
    struct swap_stats st;
    swap_get_stats(&st);
    KT_ASSERT_GE(st.swapped_out, 512);
    KT_MM_CHECK();
    for (unsigned long i = 0; i < npages; i++)
        KT_TRY(kt_user_verify(mm, (uintptr_t)a + i * PAGE_SIZE, 1));
    swap_get_stats(&st);
    KT_ASSERT_GT(st.swapped_in, 0);
    KT_MM_CHECK();
    mm_destroy(mm);
    KT_ASSERT_EQ(sw_used(), 0);
    KT_MM_CHECK();
    return 0;
}

static int test_swap_out_and_touch(void)
{
    struct mm_struct *mm = sw_boot(8, SW_SLOTS);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    for (unsigned int i = 0; i < 4; i++)
        KT_TRY(kt_user_fill(mm, (uintptr_t)a + i * PAGE_SIZE, 7));
    unsigned long anon = mm->nr_anon, free0 = page_alloc_nr_free();
    KT_ASSERT_EQ(swap_reclaim(4), 4);
    KT_ASSERT_EQ(mm->nr_anon, anon - 4);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0 + 4);
    KT_ASSERT_EQ(sw_used(), 4);
    KT_ASSERT_TRUE(pte_is_swap(kt_user_pte(mm, (uintptr_t)a + PAGE_SIZE)));
    KT_MM_CHECK();
    KT_TRY(kt_user_verify(mm, (uintptr_t)a + PAGE_SIZE, 7));
    KT_ASSERT_TRUE(pte_present(kt_user_pte(mm, (uintptr_t)a + PAGE_SIZE)));
    KT_ASSERT_EQ(sw_used(), 3);
    KT_TRY(kt_user_fill(mm, (uintptr_t)a + 2 * PAGE_SIZE, 8)); /* a write fault on a swap PTE */
    KT_TRY(kt_user_verify(mm, (uintptr_t)a + 2 * PAGE_SIZE, 8));
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a + 3 * PAGE_SIZE, PAGE_SIZE)); /* releases a slot */
    KT_ASSERT_EQ(sw_used(), 1);
    KT_MM_CHECK();
    mm_destroy(mm);
    KT_ASSERT_EQ(sw_used(), 0);
    KT_MM_CHECK();
    return 0;
}

static int test_fork_after_swap_out(void)
{
    struct mm_struct *mm = sw_boot(8, SW_SLOTS), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 8 * PAGE_SIZE, RW, PRIV, NULL, 0);
    for (unsigned int i = 0; i < 8; i++)
        KT_TRY(kt_user_fill(mm, (uintptr_t)a + i * PAGE_SIZE, 3));
    KT_ASSERT_EQ(swap_reclaim(8), 8);
    KT_ASSERT_OK(mm_fork(mm, &child));
    pte_t e = kt_user_pte(mm, (uintptr_t)a);
    KT_ASSERT_TRUE(pte_is_swap(e));
    KT_ASSERT_EQ(kt_user_pte(child, (uintptr_t)a), e);
    KT_ASSERT_EQ(swap_slot_count(pte_swp_offset(e)), 2);
    KT_MM_CHECK();
    KT_TRY(kt_user_verify(child, (uintptr_t)a, 3)); /* both read the same data */
    KT_TRY(kt_user_verify(mm, (uintptr_t)a, 3));
    KT_ASSERT_EQ(swap_slot_count(pte_swp_offset(e)), 0);
    KT_TRY(kt_user_fill(child, (uintptr_t)a + PAGE_SIZE, 4)); /* each write is private */
    KT_TRY(kt_user_verify(mm, (uintptr_t)a + PAGE_SIZE, 3));
    KT_TRY(kt_user_fill(mm, (uintptr_t)a + 2 * PAGE_SIZE, 5));
    KT_TRY(kt_user_verify(child, (uintptr_t)a + 2 * PAGE_SIZE, 3));
    KT_TRY(kt_user_verify(child, (uintptr_t)a + PAGE_SIZE, 4));
    KT_TRY(kt_user_verify(mm, (uintptr_t)a + 2 * PAGE_SIZE, 5));
    KT_MM_CHECK();
    KT_ASSERT_GT(swap_reclaim(64), 0); /* the private copies swap again */
    KT_TRY(kt_user_verify(child, (uintptr_t)a + PAGE_SIZE, 4));
    KT_TRY(kt_user_verify(mm, (uintptr_t)a + 2 * PAGE_SIZE, 5));
    KT_MM_CHECK();
    mm_destroy(child);
    KT_MM_CHECK();
    mm_destroy(mm);
    KT_ASSERT_EQ(sw_used(), 0);
    KT_MM_CHECK();
    return 0;
}

static int test_second_chance(void)
{
    struct mm_struct *mm = sw_boot(8, SW_SLOTS);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 64 * PAGE_SIZE, RW, PRIV, NULL, 0);
    for (unsigned int i = 0; i < 64; i++)
        KT_TRY(kt_user_fill(mm, (uintptr_t)a + i * PAGE_SIZE, 1));
    KT_ASSERT_EQ(swap_reclaim(8), 8); /* one round clears every A bit, then 8 go */
    for (unsigned int i = 32; i < 64; i++) /* the hot half is used again */
        KT_TRY(kt_user_verify(mm, (uintptr_t)a + i * PAGE_SIZE, 1));
    unsigned long cold_left = 0;
    for (unsigned int i = 0; i < 32; i++)
        cold_left += pte_present(kt_user_pte(mm, (uintptr_t)a + i * PAGE_SIZE));
    KT_ASSERT_EQ(cold_left, 24);
    KT_ASSERT_EQ(swap_reclaim(cold_left), cold_left);
    for (unsigned int i = 0; i < 64; i++)
        KT_ASSERT_MSG(pte_present(kt_user_pte(mm, (uintptr_t)a + i * PAGE_SIZE)) == (i >= 32),
                      "page %u: hot pages stay, idle ones go", i);
    KT_MM_CHECK();
    for (unsigned int i = 0; i < 64; i++)
        KT_TRY(kt_user_verify(mm, (uintptr_t)a + i * PAGE_SIZE, 1));
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static int test_no_swap_oom(void)
{
    struct mm_struct *mm = sw_boot(8, 0);
    KT_ASSERT_NOT_NULL(mm);
    KT_ASSERT_FALSE(swap_enabled());
    unsigned long before = page_alloc_nr_free() + slab_nr_pages();
    unsigned long npages = page_alloc_nr_free() + 64;
    long a = do_mmap(mm, 0, npages * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    enum vm_fault_result r = VM_FAULT_HANDLED;
    uint64_t x = 1;
    for (unsigned long i = 0; i < npages && r == VM_FAULT_HANDLED; i++)
        r = machine_user_copy(mm, (uintptr_t)a + i * PAGE_SIZE, &x, 8, MMU_WRITE, NULL);
    KT_ASSERT_EQ(r, VM_FAULT_OOM);
    KT_MM_CHECK();
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a, npages * PAGE_SIZE));
    KT_MM_CHECK();
    KT_ASSERT_EQ(page_alloc_nr_free() + slab_nr_pages(), before); /* nothing leaked */
    mm_destroy(mm);
    return 0;
}

static int test_check_detects_bad_count(void)
{
    struct mm_struct *mm = sw_boot(8, SW_SLOTS);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_TRY(kt_user_fill(mm, (uintptr_t)a, 1));
    KT_ASSERT_EQ(swap_reclaim(1), 1);
    unsigned long slot = pte_swp_offset(kt_user_pte(mm, (uintptr_t)a));
    KT_MM_CHECK();
    KT_ASSERT_OK(swap_debug_set_count(slot, 2));
    KT_ASSERT_EQ(mm_check(&sw_rep), -MM_ECORRUPT);
    KT_ASSERT_STREQ(sw_rep.invariant, "swap.count");
    KT_ASSERT_OK(swap_debug_set_count(slot, 0));
    KT_ASSERT_EQ(mm_check(&sw_rep), -MM_ECORRUPT);
    KT_ASSERT_STREQ(sw_rep.invariant, "swap.slot");
    KT_ASSERT_OK(swap_debug_set_count(slot + 1, 1)); /* a slot nothing references */
    KT_ASSERT_OK(swap_debug_set_count(slot, 1));
    KT_ASSERT_EQ(mm_check(&sw_rep), -MM_ECORRUPT);
    KT_ASSERT_STREQ(sw_rep.invariant, "swap.count");
    KT_ASSERT_OK(swap_debug_set_count(slot + 1, 0)); /* repaired */
    KT_MM_CHECK();
    KT_TRY(kt_user_verify(mm, (uintptr_t)a, 1));
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static int test_device_error(void)
{
    struct mm_struct *mm = sw_boot(8, SW_SLOTS);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_TRY(kt_user_fill(mm, (uintptr_t)a, 1));
    KT_TRY(kt_user_fill(mm, (uintptr_t)a + PAGE_SIZE, 1));
    machine_swap_fail_inject(1);
    KT_ASSERT_EQ(swap_reclaim(2), 0); /* the write fails: nothing changes */
    KT_ASSERT_EQ(sw_used(), 0);
    KT_MM_CHECK();
    KT_ASSERT_EQ(swap_reclaim(2), 2);
    machine_swap_fail_inject(1);
    uint64_t x;
    KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)a, &x, 8, MMU_READ, NULL), VM_FAULT_SIGBUS);
    KT_MM_CHECK();
    KT_TRY(kt_user_verify(mm, (uintptr_t)a, 1)); /* the entry is still there: a retry works */
    mm_destroy(mm);
    KT_ASSERT_EQ(sw_used(), 0);
    KT_MM_CHECK();
    return 0;
}

/*
 * A user page vmap maps (without a reference of the vmap caller's: the vmap mark, page_alloc.h)
 * is pinned: reclaim does not swap it out (whose last put would be a refused free) and
 * move_pages reports it busy; after vunmap both work again.
 */
static int test_vmapped_page_pinned(void)
{
    struct mm_struct *mm = sw_boot(8, SW_SLOTS);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_TRY(kt_user_fill(mm, (uintptr_t)a, 3));
    KT_TRY(kt_user_fill(mm, (uintptr_t)a + PAGE_SIZE, 3));
    struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(kt_user_pte(mm, (uintptr_t)a))));
    const uint64_t *v = vmap(&p, 1, VMALLOC_PROT_KERNEL_RO);
    KT_ASSERT_NOT_NULL(v);
    unsigned long k = mm_misuse_count();
    KT_ASSERT_EQ(swap_reclaim(2), 1); /* only the other page goes */
    KT_ASSERT_TRUE(pte_present(kt_user_pte(mm, (uintptr_t)a)));
    KT_ASSERT_TRUE(pte_is_swap(kt_user_pte(mm, (uintptr_t)a + PAGE_SIZE)));
    uintptr_t addr = (uintptr_t)a;
    int status = 1;
    KT_ASSERT_OK(mm_move_pages(mm, 1, &addr, &status, MPOL_MF_MOVE));
    KT_ASSERT_EQ(status, -MM_EBUSY);
    KT_ASSERT_EQ(mm_misuse_count(), k);
    KT_ASSERT_EQ(v[5], kt_user_token((uintptr_t)a + 40, 3));
    KT_MM_CHECK();
    KT_ASSERT_OK(vunmap(v));
    KT_ASSERT_OK(mm_move_pages(mm, 1, &addr, &status, MPOL_MF_MOVE));
    KT_ASSERT_EQ(status, 0);
    KT_ASSERT_EQ(swap_reclaim(1), 1);
    KT_TRY(kt_user_verify(mm, (uintptr_t)a, 3));
    KT_MM_CHECK();
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case swap_cases[] = {
    KT_CASE(fill_beyond_memory),
    KT_CASE(swap_out_and_touch),
    KT_CASE(fork_after_swap_out),
    KT_CASE(second_chance),
    KT_CASE(no_swap_oom),
    KT_CASE(check_detects_bad_count),
    KT_CASE(device_error),
    KT_CASE(vmapped_page_pinned),
};
KT_SUITE(swap, swap_cases);
