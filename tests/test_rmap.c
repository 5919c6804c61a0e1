/*
 * test_rmap.c - suite "rmap": the reverse map of anonymous pages (virtual/rmap.c) across fork,
 * copy-on-write breaks, munmap, mprotect splits and exit; swap-out of pages several address spaces
 * share; page migration (virtual/migrate.c) of private, COW-shared and file pages with its
 * move_pages statuses; and mm_check seeing a broken reverse map.
 *
 * Machines: 8 MiB small machines with 1024 swap slots.
 */
#include "machine_user.h"
#include "kt_util.h"
#include "ktest.h"
#include "swap.h"
#include "../mm/virtual/mmap_internal.h" /* rmap_walk_anon: what the reverse map finds */

#define RW   (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

static struct mm_check_report rm_rep;

static struct mm_struct *rm_boot(void)
{
    machine_small(&kt_m, KT_MIB(8), 1);
    kt_m.swap_slots = 1024;
    if (kt_boot_current())
        return NULL;
    return mm_create();
}

/* The page @mm maps at @va (NULL if none present). */
static struct page *rm_page(struct mm_struct *mm, uintptr_t va)
{
    pte_t e = kt_user_pte(mm, va);
    return pte_present(e) ? pfn_to_page(MM_PFN_DOWN(pte_addr(e))) : NULL;
}

static unsigned int rm_mappers(struct mm_struct *mm, uintptr_t va)
{
    vm_lock();
    struct page *p = rm_page(mm, va);
    unsigned int n = p ? rmap_walk_anon(p, NULL, NULL) : 0;
    vm_unlock();
    return n;
}

static int test_fork_cow_unmap_exit(void)
{
    struct mm_struct *mm = rm_boot(), *c1 = NULL, *c2 = NULL;
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    for (unsigned int i = 0; i < 4; i++)
        KT_TRY(kt_user_fill(mm, (uintptr_t)a + i * PAGE_SIZE, 1));
    KT_ASSERT_EQ(rm_mappers(mm, (uintptr_t)a), 1);
    KT_ASSERT_OK(mm_fork(mm, &c1));
    KT_ASSERT_OK(mm_fork(c1, &c2)); /* a grandchild chains its grandparent's anon_vma too */
    KT_ASSERT_EQ(rm_mappers(mm, (uintptr_t)a), 3);
    KT_ASSERT_EQ(rm_page(mm, (uintptr_t)a)->mapcount, 3);
    KT_MM_CHECK();
    KT_TRY(kt_user_fill(c1, (uintptr_t)a, 2)); /* COW break: c1's own page, in c1's anon_vma */
    KT_ASSERT_EQ(rm_mappers(mm, (uintptr_t)a), 2);
    KT_ASSERT_EQ(rm_mappers(c1, (uintptr_t)a), 1);
    KT_ASSERT_OK(do_mprotect(c2, (uintptr_t)a + PAGE_SIZE, PAGE_SIZE, PROT_READ)); /* a split */
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a + 2 * PAGE_SIZE, PAGE_SIZE));
    KT_ASSERT_EQ(rm_mappers(c2, (uintptr_t)a + 2 * PAGE_SIZE), 2);
    KT_MM_CHECK();
    mm_destroy(mm); /* the parent goes first: its anon_vma lives on, chained by the children */
    KT_ASSERT_EQ(rm_mappers(c2, (uintptr_t)a + 3 * PAGE_SIZE), 2);
    KT_MM_CHECK();
    KT_TRY(kt_user_verify(c2, (uintptr_t)a, 1));
    KT_TRY(kt_user_verify(c1, (uintptr_t)a, 2));
    mm_destroy(c1);
    KT_ASSERT_EQ(rm_mappers(c2, (uintptr_t)a + 3 * PAGE_SIZE), 1);
    KT_MM_CHECK();
    mm_destroy(c2);
    KT_MM_CHECK();
    return 0;
}

static int test_swap_out_shared(void)
{
    struct mm_struct *mm = rm_boot(), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 8 * PAGE_SIZE, RW, PRIV, NULL, 0);
    for (unsigned int i = 0; i < 8; i++)
        KT_TRY(kt_user_fill(mm, (uintptr_t)a + i * PAGE_SIZE, 3));
    KT_ASSERT_OK(mm_fork(mm, &child));
    unsigned long free0 = page_alloc_nr_free();
    KT_ASSERT_EQ(swap_reclaim(8), 8); /* shared pages are evictable now */
    KT_ASSERT_EQ(page_alloc_nr_free(), free0 + 8);
    pte_t e = kt_user_pte(mm, (uintptr_t)a);
    KT_ASSERT_TRUE(pte_is_swap(e));
    KT_ASSERT_EQ(kt_user_pte(child, (uintptr_t)a), e);
    KT_ASSERT_EQ(swap_slot_count(pte_swp_offset(e)), 2); /* one reference per mapper */
    KT_ASSERT_EQ(mm->nr_anon, 0);
    KT_ASSERT_EQ(child->nr_anon, 0);
    KT_MM_CHECK();
    KT_TRY(kt_user_fill(child, (uintptr_t)a, 4)); /* copy-on-write across swap: each side private */
    KT_TRY(kt_user_verify(mm, (uintptr_t)a, 3));
    KT_TRY(kt_user_verify(child, (uintptr_t)a, 4));
    KT_ASSERT_EQ(swap_slot_count(pte_swp_offset(e)), 0);
    KT_MM_CHECK();
    mm_destroy(child);
    KT_TRY(kt_user_verify(mm, (uintptr_t)a + 7 * PAGE_SIZE, 3));
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static int test_migrate_private_and_shared(void)
{
    struct mm_struct *mm = rm_boot(), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_TRY(kt_user_fill(mm, (uintptr_t)a, 5));
    KT_TRY(kt_user_fill(mm, (uintptr_t)a + PAGE_SIZE, 5));
    struct page *old = rm_page(mm, (uintptr_t)a);
    unsigned long free0 = page_alloc_nr_free();
    uintptr_t addrs[2] = { (uintptr_t)a, (uintptr_t)a + PAGE_SIZE };
    int st[2] = { 1, 1 };
    KT_ASSERT_OK(mm_move_pages(mm, 1, addrs, st, MPOL_MF_MOVE));
    KT_ASSERT_EQ(st[0], 0);
    KT_ASSERT_NE(rm_page(mm, (uintptr_t)a), old);
    KT_ASSERT_EQ(page_alloc_nr_free(), free0); /* one allocated, the old one freed */
    KT_MM_CHECK();
    KT_TRY(kt_user_verify(mm, (uintptr_t)a, 5));
    KT_ASSERT_OK(mm_fork(mm, &child));
    old = rm_page(mm, (uintptr_t)a + PAGE_SIZE);
    KT_ASSERT_OK(mm_move_pages(mm, 2, addrs, st, MPOL_MF_MOVE));
    KT_ASSERT_EQ(st[0], -MM_EACCES); /* shared: only with MPOL_MF_MOVE_ALL, as Linux */
    KT_ASSERT_OK(mm_move_pages(child, 2, addrs, st, MPOL_MF_MOVE_ALL));
    KT_ASSERT_EQ(st[0], 0);
    KT_ASSERT_EQ(st[1], 0);
    KT_ASSERT_NE(rm_page(mm, (uintptr_t)a + PAGE_SIZE), old);
    KT_ASSERT_EQ(rm_page(mm, (uintptr_t)a + PAGE_SIZE), rm_page(child, (uintptr_t)a + PAGE_SIZE));
    KT_ASSERT_EQ(rm_page(child, (uintptr_t)a + PAGE_SIZE)->mapcount, 2);
    KT_MM_CHECK();
    KT_TRY(kt_user_fill(child, (uintptr_t)a + PAGE_SIZE, 6)); /* COW still breaks after the move */
    KT_TRY(kt_user_verify(mm, (uintptr_t)a + PAGE_SIZE, 5));
    KT_TRY(kt_user_verify(child, (uintptr_t)a + PAGE_SIZE, 6));
    KT_ASSERT_EQ(mm_migrate_range(mm, (uintptr_t)a, 2 * PAGE_SIZE, MPOL_MF_MOVE_ALL), 0);
    KT_MM_CHECK();
    mm_destroy(child);
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static int test_migrate_file(void)
{
    struct mm_struct *mm = rm_boot(), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    struct mm_file *f = mm_file_create(2 * PAGE_SIZE, true);
    KT_ASSERT_NOT_NULL(f);
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, MAP_SHARED, f, 0);
    long b = do_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, f, 0);
    KT_TRY(kt_user_fill(mm, (uintptr_t)a, 7));
    KT_TRY(kt_user_verify_as(mm, (uintptr_t)b, (uintptr_t)a, 7)); /* the private read-only mapping of the same page */
    KT_ASSERT_OK(mm_fork(mm, &child));
    struct page *old = rm_page(mm, (uintptr_t)a);
    KT_ASSERT_EQ(old->mapcount, 4);
    uintptr_t addr = (uintptr_t)b;
    int st = 1;
    KT_ASSERT_OK(mm_move_pages(child, 1, &addr, &st, MPOL_MF_MOVE_ALL));
    KT_ASSERT_EQ(st, 0);
    struct page *new = rm_page(mm, (uintptr_t)a);
    KT_ASSERT_NE(new, old);
    KT_ASSERT_EQ(rm_page(child, (uintptr_t)a), new);
    KT_ASSERT_EQ(rm_page(mm, (uintptr_t)b), new);
    KT_ASSERT_EQ(new->mapcount, 4);
    KT_MM_CHECK();
    KT_TRY(kt_user_fill(child, (uintptr_t)a, 8)); /* shared: the other side sees the write */
    KT_TRY(kt_user_verify_as(mm, (uintptr_t)b, (uintptr_t)a, 8));
    mm_destroy(child);
    mm_destroy(mm);
    static uint64_t buf[PAGE_SIZE / 8];
    KT_ASSERT_OK(mm_file_read(f, 0, buf, PAGE_SIZE)); /* written back from the new page */
    KT_ASSERT_EQ(buf[3], kt_user_token((uintptr_t)a + 24, 8));
    mm_file_put(f);
    KT_MM_CHECK();
    return 0;
}

static int test_migrate_status(void)
{
    struct mm_struct *mm = rm_boot();
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_TRY(kt_user_fill(mm, (uintptr_t)a, 9));
    KT_TRY(kt_user_fill(mm, (uintptr_t)a + 3 * PAGE_SIZE, 9));
    uint64_t x;
    KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)a + PAGE_SIZE, &x, 8, MMU_READ, NULL),
                 VM_FAULT_HANDLED); /* the zero page */
    KT_ASSERT_EQ(swap_reclaim(8), 2); /* ... both written pages out */
    KT_TRY(kt_user_fill(mm, (uintptr_t)a, 9));
    uintptr_t addrs[5] = { (uintptr_t)a - PAGE_SIZE, (uintptr_t)a + PAGE_SIZE,
                           (uintptr_t)a + 2 * PAGE_SIZE, (uintptr_t)a + 3 * PAGE_SIZE, (uintptr_t)a };
    int st[5];
    struct page *p = rm_page(mm, (uintptr_t)a);
    struct migrate_stats m0, m1;
    mm_migrate_get_stats(&m0);
    get_page(p); /* a pin: references beyond the mappings */
    KT_ASSERT_OK(mm_move_pages(mm, 5, addrs, st, MPOL_MF_MOVE));
    __free_pages(p, 0); /* the pin goes */
    KT_ASSERT_EQ(st[0], -MM_EFAULT); /* no VMA */
    KT_ASSERT_EQ(st[1], -MM_EFAULT); /* the zero page */
    KT_ASSERT_EQ(st[2], -MM_ENOENT); /* never touched */
    KT_ASSERT_EQ(st[3], -MM_ENOENT); /* swapped out */
    KT_ASSERT_EQ(st[4], -MM_EBUSY);
    KT_ASSERT_EQ(rm_page(mm, (uintptr_t)a), p);
    page_alloc_fail_inject(0, 1);
    KT_ASSERT_OK(mm_move_pages(mm, 1, &addrs[4], st, MPOL_MF_MOVE));
    KT_ASSERT_EQ(st[0], -MM_ENOMEM); /* no target: nothing changed */
    KT_ASSERT_EQ(rm_page(mm, (uintptr_t)a), p);
    mm_migrate_get_stats(&m1); /* tried and failed: EBUSY, ENOMEM (nothing to move: not counted) */
    KT_ASSERT_EQ(m1.failed - m0.failed, 2);
    KT_ASSERT_EQ(m1.succeeded, m0.succeeded);
    KT_ASSERT_OK(mm_move_pages(mm, 1, &addrs[4], st, MPOL_MF_MOVE));
    mm_migrate_get_stats(&m1);
    KT_ASSERT_EQ(m1.succeeded - m0.succeeded, 1);
    KT_MM_CHECK();
    KT_TRY(kt_user_verify(mm, (uintptr_t)a, 9));
    KT_ASSERT_ERR(mm_move_pages(NULL, 1, addrs, st, MPOL_MF_MOVE), MM_EINVAL);
    KT_ASSERT_ERR(mm_move_pages(mm, 1, NULL, st, MPOL_MF_MOVE), MM_EINVAL);
    KT_ASSERT_ERR(mm_move_pages(mm, 1, addrs, st, 0), MM_EINVAL);
    KT_ASSERT_ERR(mm_move_pages(mm, 1, addrs, st, MPOL_MF_MOVE | MPOL_MF_MOVE_ALL), MM_EINVAL);
    KT_ASSERT_ERR(mm_migrate_range(mm, (uintptr_t)a + 1, PAGE_SIZE, MPOL_MF_MOVE), MM_EINVAL);
    KT_ASSERT_ERR(mm_migrate_range(mm, (uintptr_t)a, ~(size_t)0, MPOL_MF_MOVE), MM_EINVAL);
    KT_ASSERT_OK(mm_move_pages(mm, 0, NULL, NULL, MPOL_MF_MOVE));
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

/* mm_check sees a page its reverse map does not lead to, and a broken chain count. */
static int test_check_sees_broken_rmap(void)
{
    struct mm_struct *mm = rm_boot(), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_TRY(kt_user_fill(mm, (uintptr_t)a, 1));
    KT_ASSERT_OK(mm_fork(mm, &child));
    KT_MM_CHECK();
    struct page *p = rm_page(mm, (uintptr_t)a);
    struct anon_vma *av = p->anon_vma;
    p->anon_vma = child->anon_vma; /* an anon_vma the parent does not chain */
    KT_ASSERT_EQ(mm_check(&rm_rep), -MM_ECORRUPT);
    KT_ASSERT_STREQ(rm_rep.invariant, "rmap.page");
    p->anon_vma = av;
    av->nr_chains++;
    KT_ASSERT_EQ(mm_check(&rm_rep), -MM_ECORRUPT);
    KT_ASSERT_STREQ(rm_rep.invariant, "rmap.chain");
    av->nr_chains--;
    KT_MM_CHECK();
    mm_destroy(child);
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case rmap_cases[] = {
    KT_CASE(fork_cow_unmap_exit),
    KT_CASE(swap_out_shared),
    KT_CASE(migrate_private_and_shared),
    KT_CASE(migrate_file),
    KT_CASE(migrate_status),
    KT_CASE(check_sees_broken_rmap),
};
KT_SUITE(rmap, rmap_cases);
