/*
 * test_mmap.c - suite "vm": address spaces through the software MMU: mmap/munmap/mprotect/brk
 * and their errors, demand paging (zero page on read), file mappings over the page cache,
 * copy-on-write fork, stack growth, teardown conservation, the VMA tree at scale.
 */
#include "machine_user.h"
#include "kt_util.h"
#include "ktest.h"
#include "slab.h"
#include "swap.h"
#include "vmalloc.h"
#include "../mm/internal.h" /* nr_files: the live-file list the checks walk */

#define RW   (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

static struct mm_struct *vm_boot(void)
{
    if (kt_boot_small(32, 2, false))
        return NULL;
    return mm_create();
}

static enum vm_fault_result vm_rd(struct mm_struct *mm, uintptr_t va, void *buf, size_t n)
{
    return machine_user_copy(mm, va, buf, n, MMU_READ, NULL);
}

static enum vm_fault_result vm_wr(struct mm_struct *mm, uintptr_t va, const void *buf, size_t n)
{
    return machine_user_copy(mm, va, (void *)buf, n, MMU_WRITE, NULL);
}

static uint64_t vm_get64(struct mm_struct *mm, uintptr_t va)
{
    uint64_t x = ~0ull;
    if (vm_rd(mm, va, &x, sizeof(x)) != VM_FAULT_HANDLED)
        return 0xdeadull;
    return x;
}

static int vm_put64(struct mm_struct *mm, uintptr_t va, uint64_t x)
{
    KT_ASSERT_EQ(vm_wr(mm, va, &x, sizeof(x)), VM_FAULT_HANDLED);
    return 0;
}

/* Pages out of the allocator, counting those slab keeps for kmalloc'd VMAs as free. */
static unsigned long vm_free_pages(void) { return page_alloc_nr_free() + slab_nr_pages(); }

static int test_anon_demand_zero(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 8 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)a + 3 * PAGE_SIZE), 0);
    KT_ASSERT_EQ(mm->nr_anon, 0); /* a read maps the shared zero page */
    KT_TRY(vm_put64(mm, (uintptr_t)a + 3 * PAGE_SIZE + 8, 0x1122334455667788ull));
    KT_ASSERT_EQ(mm->nr_anon, 1);
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)a + 3 * PAGE_SIZE + 8), 0x1122334455667788ull);
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)a + 3 * PAGE_SIZE), 0);
    KT_MM_CHECK();
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static int test_errors(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    KT_ASSERT_EQ(do_mmap(mm, 0, 0, RW, PRIV, NULL, 0), -MM_EINVAL);
    KT_ASSERT_EQ(do_mmap(mm, 0x10001000, PAGE_SIZE, RW, PRIV | MAP_FIXED, NULL, 1), -MM_EINVAL);
    KT_ASSERT_EQ(do_mmap(mm, 0x10000800, PAGE_SIZE, RW, PRIV | MAP_FIXED, NULL, 0), -MM_EINVAL);
    KT_ASSERT_EQ(do_mmap(mm, 0, PAGE_SIZE, RW, MAP_ANONYMOUS, NULL, 0), -MM_EINVAL);
    KT_ASSERT_EQ(do_mmap(mm, 0, PAGE_SIZE, RW, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS, NULL, 0),
                 -MM_EINVAL);
    KT_ASSERT_EQ(do_mmap(mm, ~0ul & PAGE_MASK, 2 * PAGE_SIZE, RW, PRIV | MAP_FIXED, NULL, 0),
                 -MM_ENOMEM); /* wraps: ends beyond the user range, ENOMEM as in Linux */
    KT_ASSERT_EQ(do_mmap(mm, 0x10000000, PAGE_SIZE, 0x80, PRIV, NULL, 0), -MM_EINVAL);
    long a = do_mmap(mm, 0x20000000, 4 * PAGE_SIZE, RW, PRIV | MAP_FIXED, NULL, 0);
    KT_ASSERT_EQ(a, 0x20000000);
    KT_ASSERT_EQ(do_mmap(mm, 0x20001000, PAGE_SIZE, RW, PRIV | MAP_FIXED_NOREPLACE, NULL, 0),
                 -MM_EEXIST);
    KT_ASSERT_EQ(do_munmap(mm, 0x20000001, PAGE_SIZE), -MM_EINVAL);
    KT_ASSERT_EQ(do_munmap(mm, 0x20000000, 0), -MM_EINVAL);
    KT_ASSERT_EQ(do_mprotect(mm, 0x20000000, 8 * PAGE_SIZE, PROT_READ), -MM_ENOMEM); /* hole */
    KT_ASSERT_EQ(do_munmap(mm, 0x30000000, PAGE_SIZE), 0); /* munmap of nothing is fine */
    KT_ASSERT_EQ(mm->map_count, 1);
    struct mm_file *ro = mm_file_create(PAGE_SIZE, false);
    KT_ASSERT_NOT_NULL(ro);
    KT_ASSERT_EQ(do_mmap(mm, 0, PAGE_SIZE, RW, MAP_SHARED, ro, 0), -MM_EACCES);
    KT_ASSERT_GT(do_mmap(mm, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, ro, 0), 0);
    mm_file_put(ro);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_munmap_frees_and_faults(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    unsigned long before = vm_free_pages();
    long a = do_mmap(mm, 0, 16 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    for (unsigned int i = 0; i < 16; i++)
        KT_TRY(vm_put64(mm, (uintptr_t)a + i * PAGE_SIZE, i));
    KT_ASSERT_LT(vm_free_pages(), before - 15);
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a + 4 * PAGE_SIZE, 8 * PAGE_SIZE)); /* split in two */
    KT_ASSERT_EQ(mm->map_count, 2);
    uint64_t x;
    uintptr_t fva = 0;
    KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)a + 5 * PAGE_SIZE, &x, 8, MMU_READ, &fva),
                 VM_FAULT_SIGSEGV);
    KT_ASSERT_EQ(fva, (uintptr_t)a + 5 * PAGE_SIZE);
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)a + 12 * PAGE_SIZE), 12);
    KT_MM_CHECK();
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a, 16 * PAGE_SIZE));
    KT_ASSERT_EQ(mm->map_count, 0);
    KT_ASSERT_EQ(mm->pt.nr_tables, 1); /* emptied levels were freed */
    KT_ASSERT_EQ(vm_free_pages(), before);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_mprotect_and_merge(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0x40000000, 4 * PAGE_SIZE, RW, PRIV | MAP_FIXED, NULL, 0);
    long b = do_mmap(mm, 0x40004000, 4 * PAGE_SIZE, RW, PRIV | MAP_FIXED, NULL, 0);
    KT_ASSERT_EQ(a, 0x40000000);
    KT_ASSERT_EQ(b, 0x40004000);
    KT_ASSERT_EQ(mm->map_count, 1); /* adjacent, same flags: merged */
    KT_TRY(vm_put64(mm, 0x40003000, 77));
    KT_ASSERT_OK(do_mprotect(mm, 0x40002000, 2 * PAGE_SIZE, PROT_READ));
    KT_ASSERT_EQ(mm->map_count, 3);
    uint64_t v = 1;
    KT_ASSERT_EQ(vm_wr(mm, 0x40003000, &v, 8), VM_FAULT_ACCESS);
    KT_ASSERT_EQ(vm_get64(mm, 0x40003000), 77);
    KT_ASSERT_EQ(machine_user_copy(mm, 0x40003000, &v, 8, MMU_EXEC, NULL), VM_FAULT_ACCESS);
    KT_MM_CHECK();
    KT_ASSERT_OK(do_mprotect(mm, 0x40002000, 2 * PAGE_SIZE, RW));
    KT_ASSERT_EQ(mm->map_count, 1);
    KT_TRY(vm_put64(mm, 0x40003000, 78));
    KT_ASSERT_OK(do_mprotect(mm, 0x40000000, PAGE_SIZE, PROT_NONE));
    KT_ASSERT_EQ(vm_rd(mm, 0x40000000, &v, 8), VM_FAULT_ACCESS);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_fork_cow(void)
{
    struct mm_struct *mm = vm_boot(), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    long s = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_ASSERT_GT(s, 0);
    KT_TRY(vm_put64(mm, (uintptr_t)a, 1));
    KT_TRY(vm_put64(mm, (uintptr_t)a + PAGE_SIZE, 2));
    KT_TRY(vm_put64(mm, (uintptr_t)s, 3));
    KT_ASSERT_OK(mm_fork(mm, &child));
    KT_MM_CHECK();
    KT_ASSERT_EQ(vm_get64(child, (uintptr_t)a), 1);
    KT_TRY(vm_put64(child, (uintptr_t)a, 10)); /* COW break in the child */
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)a), 1);
    KT_ASSERT_EQ(vm_get64(child, (uintptr_t)a), 10);
    KT_TRY(vm_put64(mm, (uintptr_t)a + PAGE_SIZE, 20)); /* COW break in the parent */
    KT_ASSERT_EQ(vm_get64(child, (uintptr_t)a + PAGE_SIZE), 2);
    KT_TRY(vm_put64(child, (uintptr_t)s, 30)); /* shared: both see it */
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)s), 30);
    KT_TRY(vm_put64(child, (uintptr_t)s + PAGE_SIZE, 31)); /* faulted in after fork: still shared */
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)s + PAGE_SIZE), 31);
    KT_MM_CHECK();
    unsigned long anon = mm->nr_anon;
    mm_destroy(child);
    KT_MM_CHECK();
    KT_TRY(vm_put64(mm, (uintptr_t)a + 2 * PAGE_SIZE, 5));
    KT_ASSERT_EQ(mm->nr_anon, anon + 1);
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static int test_cow_reuse_last_mapper(void)
{
    struct mm_struct *mm = vm_boot(), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_TRY(vm_put64(mm, (uintptr_t)a, 9));
    KT_ASSERT_OK(mm_fork(mm, &child));
    mm_destroy(child);
    unsigned long before = page_alloc_nr_free();
    KT_TRY(vm_put64(mm, (uintptr_t)a, 10)); /* one mapper left: reused, no copy */
    KT_ASSERT_EQ(page_alloc_nr_free(), before);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_file_mappings(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    struct mm_file *f = mm_file_create(3 * PAGE_SIZE + 100, true);
    KT_ASSERT_NOT_NULL(f);
    const char msg[] = "page cache";
    KT_ASSERT_OK(mm_file_write(f, PAGE_SIZE + 5, msg, sizeof(msg)));
    long p = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_PRIVATE, f, 0);
    long s = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_SHARED, f, 0);
    KT_ASSERT_GT(p, 0);
    KT_ASSERT_GT(s, 0);
    char buf[sizeof(msg)];
    KT_ASSERT_EQ(vm_rd(mm, (uintptr_t)p + PAGE_SIZE + 5, buf, sizeof(buf)), VM_FAULT_HANDLED);
    KT_ASSERT_OK(memcmp(buf, msg, sizeof(msg)));
    KT_ASSERT_EQ(vm_wr(mm, (uintptr_t)p + PAGE_SIZE + 5, "PRIVATE", 7), VM_FAULT_HANDLED);
    KT_ASSERT_OK(mm_file_read(f, PAGE_SIZE + 5, buf, sizeof(buf)));
    KT_ASSERT_OK(memcmp(buf, msg, sizeof(msg))); /* private writes stay private */
    KT_ASSERT_EQ(vm_wr(mm, (uintptr_t)s + PAGE_SIZE + 5, "SHARED", 6), VM_FAULT_HANDLED);
    KT_ASSERT_OK(mm_file_read(f, PAGE_SIZE + 5, buf, 6));
    KT_ASSERT_OK(memcmp(buf, "SHARED", 6));
    uintptr_t fva;
    KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)s + 3 * PAGE_SIZE + 200, buf, 1, MMU_READ, &fva),
                 VM_FAULT_HANDLED); /* last, partial page exists */
    char c = 0;
    KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)s + 4 * PAGE_SIZE - 1, &c, 1, MMU_READ, &fva),
                 VM_FAULT_HANDLED);
    KT_MM_CHECK();
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)s, 4 * PAGE_SIZE));
    mm_file_sync(f);
    KT_ASSERT_OK(mm_file_read(f, PAGE_SIZE + 5, buf, 6));
    KT_ASSERT_OK(memcmp(buf, "SHARED", 6));
    mm_file_put(f);
    KT_MM_CHECK();
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static int test_file_sigbus(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    struct mm_file *f = mm_file_create(PAGE_SIZE, true);
    long p = do_mmap(mm, 0, 3 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, f, 0);
    KT_ASSERT_GT(p, 0);
    char c;
    KT_ASSERT_EQ(vm_rd(mm, (uintptr_t)p + 2 * PAGE_SIZE, &c, 1), VM_FAULT_SIGBUS);
    mm_file_put(f);
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static int test_stack_growth(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    uintptr_t top = 0x7f0000000000ul;
    long st = do_mmap(mm, top - PAGE_SIZE, PAGE_SIZE, RW, PRIV | MAP_FIXED | MAP_GROWSDOWN, NULL, 0);
    KT_ASSERT_EQ(st, (long)(top - PAGE_SIZE));
    KT_TRY(vm_put64(mm, top - 10 * PAGE_SIZE, 42)); /* grows down */
    KT_ASSERT_EQ(find_vma(mm, top - 10 * PAGE_SIZE)->vm_start, top - 10 * PAGE_SIZE);
    uint64_t x = 0;
    KT_ASSERT_EQ(vm_wr(mm, top - MM_STACK_LIMIT - PAGE_SIZE, &x, 8), VM_FAULT_SIGSEGV);
    long below = do_mmap(mm, top - 64 * PAGE_SIZE - 300 * PAGE_SIZE, PAGE_SIZE, RW, PRIV | MAP_FIXED,
                         NULL, 0);
    KT_ASSERT_GT(below, 0);
    /* within the guard gap of the VMA below: refused */
    KT_ASSERT_EQ(vm_wr(mm, (uintptr_t)below + PAGE_SIZE + 8 * PAGE_SIZE, &x, 8), VM_FAULT_SIGSEGV);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_brk(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    uintptr_t b0 = mm->brk;
    KT_ASSERT_EQ(do_brk(mm, b0 + 3 * PAGE_SIZE + 5), b0 + 3 * PAGE_SIZE + 5);
    KT_TRY(vm_put64(mm, b0 + 3 * PAGE_SIZE - 8, 6));
    KT_ASSERT_EQ(do_brk(mm, b0 - PAGE_SIZE), b0 + 3 * PAGE_SIZE + 5); /* below start: refused */
    KT_ASSERT_EQ(do_brk(mm, b0 + PAGE_SIZE), b0 + PAGE_SIZE);
    uint64_t x;
    KT_ASSERT_EQ(vm_rd(mm, b0 + 3 * PAGE_SIZE - 8, &x, 8), VM_FAULT_SIGSEGV);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_exit_conservation(void)
{
    struct mm_struct *mm = vm_boot(), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    long w = do_mmap(mm, 0, PAGE_SIZE, PROT_READ, PRIV, NULL, 0); /* warm the shared zero page */
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)w), 0);
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)w, PAGE_SIZE));
    unsigned long before = vm_free_pages();
    for (unsigned int i = 0; i < 20; i++) {
        long a = do_mmap(mm, 0, 8 * PAGE_SIZE, RW, (i & 1) ? PRIV : (MAP_SHARED | MAP_ANONYMOUS),
                         NULL, 0);
        KT_ASSERT_GT(a, 0);
        for (unsigned int j = 0; j < 8; j += 1 + (i % 3))
            KT_TRY(vm_put64(mm, (uintptr_t)a + j * PAGE_SIZE, i * 100 + j));
    }
    KT_ASSERT_OK(mm_fork(mm, &child));
    mm_destroy(mm);
    mm_destroy(child);
    KT_MM_CHECK();
    KT_ASSERT_EQ(vm_free_pages(), before + 1); /* + the parent's root table, taken before */
    return 0;
}

static int test_vma_tree_scale(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    uint64_t x = 12345;
    for (unsigned int i = 0; i < 3000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uintptr_t at = 0x100000000ul + ((x >> 20) % 20000) * 2 * PAGE_SIZE;
        unsigned int prot = (x >> 8) & 1 ? RW : PROT_READ;
        if ((x >> 12) % 4 == 0)
            KT_ASSERT_OK(do_munmap(mm, at, 3 * PAGE_SIZE));
        else if ((x >> 12) % 4 == 1) /* splits and merges; ENOMEM over holes is fine */
            (void)do_mprotect(mm, at, 2 * PAGE_SIZE, prot ^ PROT_WRITE);
        else
            KT_ASSERT_EQ(do_mmap(mm, at, PAGE_SIZE, prot, PRIV | MAP_FIXED, NULL, 0), (long)at);
        /* regression: unlinking a two-child node let an early-exit rebalance keep stale heights */
        KT_ASSERT_OK(mm_check_mm(mm, NULL));
    }
    KT_ASSERT_GT(mm->map_count, 100);
    KT_ASSERT_OK(mm_check_mm(mm, NULL));
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_fault_oom(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, PAGE_SIZE, RW, PRIV, NULL, 0);
    page_alloc_fail_inject(0, 8);
    uint64_t x = 1;
    KT_ASSERT_EQ(vm_wr(mm, (uintptr_t)a, &x, 8), VM_FAULT_OOM);
    page_alloc_fail_inject(0, 0);
    KT_MM_CHECK();
    KT_TRY(vm_put64(mm, (uintptr_t)a, 2));
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

/* Regression (vm fuzz target): mprotect(PROT_NONE) left already-present pages user-readable. */
static int test_prot_none_hides_present_pages(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_TRY(vm_put64(mm, (uintptr_t)a, 0x5151));
    KT_TRY(vm_put64(mm, (uintptr_t)a + PAGE_SIZE, 0x5252));
    KT_ASSERT_OK(do_mprotect(mm, (uintptr_t)a, 4 * PAGE_SIZE, PROT_NONE));
    uint64_t x = 0;
    KT_ASSERT_EQ(vm_rd(mm, (uintptr_t)a, &x, 8), VM_FAULT_ACCESS);
    KT_ASSERT_EQ(vm_wr(mm, (uintptr_t)a + PAGE_SIZE, &x, 8), VM_FAULT_ACCESS);
    KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)a, &x, 8, MMU_EXEC, NULL), VM_FAULT_ACCESS);
    KT_MM_CHECK();
    KT_ASSERT_OK(do_mprotect(mm, (uintptr_t)a, 4 * PAGE_SIZE, PROT_READ));
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)a), 0x5151); /* the contents stayed */
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)a + PAGE_SIZE), 0x5252);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* Regression (found reading the fault path): a file-backed grows-down VMA kept its file offset
 * when it grew, so every page after a growth mapped the wrong file page. */
static int test_growsdown_file_offset(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    struct mm_file *f = mm_file_create(8 * PAGE_SIZE, true);
    KT_ASSERT_NOT_NULL(f);
    for (unsigned int i = 0; i < 8; i++) {
        uint64_t tag = 0xf11e0000u + i;
        KT_ASSERT_OK(mm_file_write(f, (uint64_t)i * PAGE_SIZE, &tag, sizeof(tag)));
    }
    uintptr_t at = 0x500000000ul;
    KT_ASSERT_EQ(do_mmap(mm, at, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_GROWSDOWN,
                         f, 4 * PAGE_SIZE), (long)at);
    KT_ASSERT_EQ(vm_get64(mm, at), 0xf11e0004u);
    KT_ASSERT_EQ(vm_get64(mm, at - 2 * PAGE_SIZE), 0xf11e0002u); /* grew by two pages */
    KT_ASSERT_EQ(vm_get64(mm, at + PAGE_SIZE), 0xf11e0005u);
    uint64_t x;
    KT_ASSERT_EQ(vm_rd(mm, at - 5 * PAGE_SIZE, &x, 8), VM_FAULT_SIGSEGV); /* below offset 0 */
    KT_MM_CHECK();
    mm_file_put(f);
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

/*
 * Regression (vm fuzz target): unlinking a VMA with two children moved its in-order successor
 * into its place with the successor's own cached height, and the rebalance stopped early, so
 * the AVL tree kept a wrong height after this mprotect merged VMAs.
 */
static int test_mprotect_merge_tree_heights(void)
{
    static const uintptr_t fixed[] = { 0x7fffbfffd000, 0x7fffc0029000, 0x7fffc0055000,
                                       0x7fffc0081000, 0x7fffc002d000, 0x7fffbfffd000 };
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    struct mm_file *f = mm_file_create(8 * PAGE_SIZE, true);
    KT_ASSERT_NOT_NULL(f);
    KT_ASSERT_GT(do_mmap(mm, 0, PAGE_SIZE, PROT_NONE, PRIV, NULL, 0), 0);
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(fixed); i++)
        KT_ASSERT_EQ(do_mmap(mm, fixed[i], 45 * PAGE_SIZE, PROT_EXEC, MAP_PRIVATE | MAP_FIXED, f, 0),
                     (long)fixed[i]);
    KT_ASSERT_GT(do_mmap(mm, 0, 28 * PAGE_SIZE, PROT_NONE, MAP_SHARED, f, 0), 0);
    KT_ASSERT_OK(mm_check_mm(mm, NULL));
    KT_ASSERT_OK(do_mprotect(mm, 0x7fffc007e000, 4 * PAGE_SIZE, PROT_EXEC));
    KT_ASSERT_OK(mm_check_mm(mm, NULL));
    KT_MM_CHECK();
    mm_file_put(f);
    mm_destroy(mm);
    return 0;
}

/* Regression (vm fuzz target): munmap of a middle page split the VMA once, then failed the
 * second split with ENOMEM and left two mergeable halves behind. */
static int test_munmap_split_failure_changes_nothing(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0x40000000, 6 * PAGE_SIZE, RW, PRIV | MAP_FIXED, NULL, 0);
    KT_ASSERT_EQ(a, 0x40000000);
    KT_ASSERT_EQ(mm->map_count, 1);
    /* fill the cache VMAs come from up to one free object */
    static void *fill[4096];
    unsigned int nfill = 0;
    struct kmem_cache *vc = mm_state.vm.vma_cache;
    static struct slab_cache_stats st[64]; /* ~10 KiB: off the (kernel) stack */
    for (;;) {
        unsigned int n = slab_get_stats(st, 64), i;
        for (i = 0; i < n && ktest_strcmp(st[i].name, kmem_cache_name(vc)) != 0; i++)
            ;
        KT_ASSERT_LT(i, n);
        if (st[i].total_objs - st[i].active_objs == 1 || nfill == MM_ARRAY_SIZE(fill))
            break; /* one free object: the first split takes it, the second needs a page */
        fill[nfill] = kmem_cache_alloc(vc, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(fill[nfill]);
        nfill++;
    }
    for (unsigned int skip = 0; skip < 1; skip++) {
        page_alloc_fail_inject(skip, 8);
        int err = do_munmap(mm, 0x40002000, PAGE_SIZE);
        page_alloc_fail_inject(0, 0);
        if (err) {
            KT_ASSERT_EQ(err, -MM_ENOMEM);
            KT_ASSERT_EQ(mm->map_count, 1); /* nothing changed */
        }
        KT_ASSERT_OK(mm_check_mm(mm, NULL));
        if (!err)
            break;
    }
    while (nfill)
        kmem_cache_free_mm(vc, fill[--nfill]);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* The page a present user PTE maps at @va, or NULL. */
static struct page *vm_page_at(struct mm_struct *mm, uintptr_t va)
{
    pte_t *e = pt_walk(&mm->pt, va & PAGE_MASK, false, 0);
    return e && pte_present(*e) ? pfn_to_page(MM_PFN_DOWN(pte_addr(*e))) : NULL;
}

/*
 * __free_pages of a page user PTEs still map is refused at the call (Linux's bad-page check of a
 * nonzero mapcount): the mapping's references stay, the page keeps its contents; an extra
 * reference of the caller's own can still be dropped.
 */
static int test_free_mapped_page(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_TRY(vm_put64(mm, (uintptr_t)a, 0x5151));
    struct page *p = vm_page_at(mm, (uintptr_t)a);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(p->mapcount, 1);
    unsigned long k = mm_misuse_count_kind(MM_MISUSE_STILL_MAPPED);
    unsigned long free0 = page_alloc_nr_free();
    KT_ASSERT_ERR(__free_pages(p, 0), MM_EBUSY);
    KT_TRY(kt_expect_misuse(MM_MISUSE_STILL_MAPPED, page_to_pfn(p), k));
    KT_ASSERT_ERR(free_pages((uintptr_t)page_address(p), 0), MM_EBUSY);
    KT_TRY(kt_expect_misuse(MM_MISUSE_STILL_MAPPED, page_to_pfn(p), k + 1));
    KT_ASSERT_EQ(page_alloc_nr_free(), free0);
    KT_ASSERT_EQ(p->refcount, 1);
    KT_MM_CHECK();
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)a), 0x5151);
    /* shared by fork: two mappings, two references; still refused */
    struct mm_struct *child = NULL;
    KT_ASSERT_OK(mm_fork(mm, &child));
    KT_ASSERT_NOT_NULL(child);
    KT_ASSERT_EQ(p->mapcount, 2);
    KT_ASSERT_ERR(__free_pages(p, 0), MM_EBUSY);
    KT_TRY(kt_expect_misuse(MM_MISUSE_STILL_MAPPED, page_to_pfn(p), k + 2));
    /* a reference of the caller's own beyond the mappings' is fine to drop */
    get_page(p);
    KT_ASSERT_OK(__free_pages(p, 0));
    KT_ASSERT_EQ(p->refcount, 2);
    KT_MM_CHECK();
    mm_destroy(child);
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

/* A second mm_file_put (and any use of a released file) is reported at the call; NULL buffers too. */
static int test_file_put_twice(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    struct mm_file *f = mm_file_create(2 * PAGE_SIZE, true), *g = mm_file_create(PAGE_SIZE, true);
    KT_ASSERT_NOT_NULL(f);
    KT_ASSERT_NOT_NULL(g);
    long a = do_mmap(mm, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, f, 0);
    KT_ASSERT_GT(a, 0);
    char buf[8] = { 0 };
    unsigned long d = mm_misuse_count_kind(MM_MISUSE_DOUBLE_FREE);
    unsigned long b = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_ERR(mm_file_read(f, 0, NULL, 8), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, b));
    KT_ASSERT_ERR(mm_file_write(NULL, 0, buf, 8), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, b + 1));
    KT_ASSERT_OK(mm_file_read(f, 0, NULL, 0));
    mm_file_put(f); /* the mapping still holds it */
    KT_ASSERT_OK(mm_file_read(f, 0, buf, 8));
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a, PAGE_SIZE)); /* the last reference */
    unsigned long all = mm_misuse_count(), files = mm_state.vm.nr_files;
    mm_file_put(f);
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOUBLE_FREE, KT_ANY_PFN, d));
    KT_ASSERT_ERR(mm_file_read(f, 0, buf, 8), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOUBLE_FREE, KT_ANY_PFN, d + 1));
    mm_file_sync(f);
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOUBLE_FREE, KT_ANY_PFN, d + 2));
    KT_ASSERT_EQ(mm_misuse_count(), all + 3);
    KT_ASSERT_EQ(mm_state.vm.nr_files, files);
    mm_file_put(g);
    KT_ASSERT_EQ(mm_state.vm.nr_files, files - 1);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* Statistics and lookups take NULL outputs without crashing. */
static int test_null_contracts(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    void *v = vmalloc(2 * PAGE_SIZE);
    KT_ASSERT_NOT_NULL(v);
    unsigned long all = mm_misuse_count();
    vmalloc_get_stats(NULL);
    swap_get_stats(NULL);
    KT_ASSERT(vmalloc_area_of((char *)v + 10, NULL, NULL));
    uintptr_t start = 0;
    KT_ASSERT(vmalloc_area_of((char *)v + 10, &start, NULL));
    KT_ASSERT_EQ(start, (uintptr_t)v);
    size_t size = 0;
    KT_ASSERT(vmalloc_area_of(v, NULL, &size));
    KT_ASSERT_EQ(size, 2 * PAGE_SIZE);
    KT_ASSERT_EQ(mm_misuse_count(), all);
    KT_ASSERT_OK(vfree(v));
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* What target linux found against the host kernel (x86_64, 6.x), each now as Linux does it. */
static int test_mmap_linux_differential_finds(void)
{
    struct mm_struct *mm = vm_boot();
    uint64_t x = 0;
    KT_ASSERT_NOT_NULL(mm);
    /* a length beyond the user range is ENOMEM (a zero one stays EINVAL) */
    KT_ASSERT_EQ(do_mmap(mm, 0, 1ul << 47, RW, PRIV, NULL, 0), -MM_ENOMEM);
    KT_ASSERT_EQ(do_mmap(mm, 0, SIZE_MAX - 100, RW, PRIV | MAP_FIXED, NULL, 0), -MM_ENOMEM);
    /* a shared anonymous mapping cannot grow down */
    KT_ASSERT_EQ(do_mmap(mm, 0x20000000, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN,
                         NULL, 0), -MM_EINVAL);
    /* the type is checked after placement: MAP_FIXED_NOREPLACE over a mapping is EEXIST first */
    KT_ASSERT_EQ(do_mmap(mm, 0x20000000, 2 * PAGE_SIZE, RW, PRIV | MAP_FIXED, NULL, 0), 0x20000000);
    KT_ASSERT_EQ(do_mmap(mm, 0x20000000, PAGE_SIZE, RW, MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, NULL, 0),
                 -MM_EEXIST);
    KT_ASSERT_EQ(do_mmap(mm, 0x30000000, PAGE_SIZE, RW, MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, NULL, 0),
                 -MM_EINVAL);
    KT_ASSERT_EQ(mm->map_count, 1);
    /* a hint inside the guard gap below a stack does not fit; one below the gap does */
    uintptr_t st = 0x40100000;
    KT_ASSERT_EQ(do_mmap(mm, st, PAGE_SIZE, RW, PRIV | MAP_FIXED | MAP_GROWSDOWN, NULL, 0), (long)st);
    long h = do_mmap(mm, st - 10 * PAGE_SIZE, PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(h, 0);
    KT_ASSERT((uintptr_t)h != st - 10 * PAGE_SIZE);
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)h, PAGE_SIZE));
    h = do_mmap(mm, st - MM_STACK_GUARD_GAP - PAGE_SIZE, PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_EQ(h, (long)(st - MM_STACK_GUARD_GAP - PAGE_SIZE));
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)h, PAGE_SIZE));
    /* the stack grows close to a PROT_NONE mapping or another stack below, not to an accessible one */
    KT_ASSERT_EQ(do_mmap(mm, st - 20 * PAGE_SIZE, PAGE_SIZE, PROT_NONE, PRIV | MAP_FIXED, NULL, 0),
                 (long)(st - 20 * PAGE_SIZE));
    KT_TRY(vm_put64(mm, st - 5 * PAGE_SIZE, 5));
    KT_ASSERT_EQ(find_vma(mm, st - 5 * PAGE_SIZE)->vm_start, st - 5 * PAGE_SIZE);
    KT_ASSERT_OK(do_mprotect(mm, st - 20 * PAGE_SIZE, PAGE_SIZE, PROT_READ));
    KT_ASSERT_EQ(vm_wr(mm, st - 10 * PAGE_SIZE, &x, 8), VM_FAULT_SIGSEGV);
    KT_ASSERT_OK(do_munmap(mm, st - 20 * PAGE_SIZE, PAGE_SIZE));
    KT_ASSERT_EQ(do_mmap(mm, st - 30 * PAGE_SIZE, PAGE_SIZE, RW, PRIV | MAP_FIXED | MAP_GROWSDOWN, NULL, 0),
                 (long)(st - 30 * PAGE_SIZE));
    KT_TRY(vm_put64(mm, st - 10 * PAGE_SIZE, 10));
    KT_ASSERT_EQ(vm_get64(mm, st - 10 * PAGE_SIZE), 10);
    /* grown until it touches the stack below: the two are one VMA (mm_check: vma.unmerged) */
    unsigned long n = mm->map_count;
    KT_TRY(vm_put64(mm, st - 29 * PAGE_SIZE, 29));
    KT_ASSERT_EQ(mm->map_count, n - 1);
    KT_ASSERT_EQ(find_vma(mm, st - 29 * PAGE_SIZE)->vm_start, st - 30 * PAGE_SIZE);
    KT_ASSERT_EQ(find_vma(mm, st - 29 * PAGE_SIZE)->vm_end, st + PAGE_SIZE);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* mprotect's error codes and edge cases, compared with Linux (x86_64, 6.x). */
static int test_mprotect_linux_errors(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0x20000000, 2 * PAGE_SIZE, RW, PRIV | MAP_FIXED, NULL, 0);
    KT_ASSERT_EQ(a, 0x20000000);
    KT_TRY(vm_put64(mm, 0x20000000, 77));
    KT_ASSERT_OK(do_mprotect(mm, 0x20000000, 0, PROT_READ));   /* zero length: 0 */
    KT_ASSERT_OK(do_mprotect(mm, 0x50000000, 0, PROT_READ));   /* ... even over nothing */
    KT_ASSERT_EQ(do_mprotect(mm, 0x20000800, 0, PROT_READ), -MM_EINVAL); /* alignment first */
    KT_ASSERT_EQ(do_mprotect(mm, 0x20000000, SIZE_MAX - 0x1000, PROT_READ), -MM_ENOMEM); /* wraps */
    KT_ASSERT_EQ(do_mprotect(mm, 0x20000000, SIZE_MAX, PROT_READ), -MM_ENOMEM); /* rounds to 0 */
    KT_ASSERT_EQ(do_mprotect(mm, ARCH_USER_VA_END, PAGE_SIZE, PROT_READ), -MM_ENOMEM);
    KT_ASSERT_EQ(do_mprotect(mm, 0, PAGE_SIZE, PROT_READ), -MM_ENOMEM); /* below the user range */
    KT_ASSERT_EQ(do_mprotect(mm, 0x20000000, PAGE_SIZE, 0x80), -MM_EINVAL);
    KT_ASSERT_EQ(do_mprotect(NULL, 0x20000000, PAGE_SIZE, PROT_READ), -MM_EINVAL);
    /* [mapped, hole): ENOMEM, and (unlike Linux) the mapped prefix is unchanged */
    KT_ASSERT_EQ(do_mprotect(mm, 0x20000000, 3 * PAGE_SIZE, PROT_READ), -MM_ENOMEM);
    KT_ASSERT(find_vma(mm, 0x20000000)->vm_flags & VM_WRITE);
    KT_TRY(vm_put64(mm, 0x20000000, 78));
    KT_ASSERT_OK(do_mprotect(mm, 0x20000000, PAGE_SIZE, PROT_READ | PROT_SEM)); /* PROT_SEM: no-op */
    KT_ASSERT(!(find_vma(mm, 0x20000000)->vm_flags & VM_WRITE));
    KT_ASSERT_EQ(vm_get64(mm, 0x20000000), 78);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* mmap flags Linux accepts: MAP_POPULATE prefaults, the others are accepted no-ops. */
static int test_mmap_linux_flags(void)
{
    struct mm_struct *mm = vm_boot();
    KT_ASSERT_NOT_NULL(mm);
    static const unsigned int noop[] = { MAP_NORESERVE, MAP_STACK, MAP_DENYWRITE, MAP_EXECUTABLE,
                                         MAP_UNINITIALIZED, MAP_SYNC, MAP_NONBLOCK };
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(noop); i++) {
        long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, PRIV | noop[i], NULL, 0);
        KT_ASSERT_MSG(a > 0, "flag 0x%x: %ld", noop[i], a);
        KT_ASSERT_NULL(vm_page_at(mm, (uintptr_t)a)); /* nothing faulted in */
        KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a, 2 * PAGE_SIZE));
    }
    KT_ASSERT_GT(do_mmap(mm, 0, PAGE_SIZE, PROT_READ | PROT_SEM, PRIV, NULL, 0), 0);
    /* MAP_POPULATE: private writable memory gets its own pages at once */
    unsigned long anon = mm->nr_anon;
    long p = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV | MAP_POPULATE, NULL, 0);
    KT_ASSERT_GT(p, 0);
    KT_ASSERT_EQ(mm->nr_anon, anon + 4);
    for (unsigned int i = 0; i < 4; i++)
        KT_ASSERT_NOT_NULL(vm_page_at(mm, (uintptr_t)p + i * PAGE_SIZE));
    KT_ASSERT_EQ(vm_get64(mm, (uintptr_t)p + 3 * PAGE_SIZE), 0);
    /* read-only: the zero page is mapped, no memory spent; with MAP_NONBLOCK nothing at all */
    long r = do_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ, PRIV | MAP_POPULATE, NULL, 0);
    KT_ASSERT_GT(r, 0);
    KT_ASSERT_EQ(mm->nr_anon, anon + 4);
    pte_t *e = pt_walk(&mm->pt, (uintptr_t)r, false, 0);
    KT_ASSERT(e && pte_present(*e));
    long nb = do_mmap(mm, 0, PAGE_SIZE, RW, PRIV | MAP_POPULATE | MAP_NONBLOCK, NULL, 0);
    KT_ASSERT_GT(nb, 0);
    KT_ASSERT_NULL(vm_page_at(mm, (uintptr_t)nb));
    long lk = do_mmap(mm, 0, PAGE_SIZE, RW, PRIV | MAP_LOCKED, NULL, 0); /* mlock: test_mlock.c */
    KT_ASSERT_GT(lk, 0);
    KT_ASSERT_NOT_NULL(vm_page_at(mm, (uintptr_t)lk));
    /* a released file is refused and reported */
    struct mm_file *f = mm_file_create(PAGE_SIZE, true);
    KT_ASSERT_NOT_NULL(f);
    mm_file_put(f);
    unsigned long d = mm_misuse_count_kind(MM_MISUSE_DOUBLE_FREE);
    KT_ASSERT_EQ(do_mmap(mm, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, f, 0), -MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOUBLE_FREE, KT_ANY_PFN, d));
    KT_MM_CHECK();
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case vm_cases[] = {
    KT_CASE(mmap_linux_flags),
    KT_CASE(mprotect_linux_errors),
    KT_CASE(mmap_linux_differential_finds),
    KT_CASE(file_put_twice),
    KT_CASE(null_contracts),
    KT_CASE(free_mapped_page),
    KT_CASE(munmap_split_failure_changes_nothing),
    KT_CASE(mprotect_merge_tree_heights),
    KT_CASE(prot_none_hides_present_pages),
    KT_CASE(growsdown_file_offset),
    KT_CASE(anon_demand_zero),
    KT_CASE(errors),
    KT_CASE(munmap_frees_and_faults),
    KT_CASE(mprotect_and_merge),
    KT_CASE(fork_cow),
    KT_CASE(cow_reuse_last_mapper),
    KT_CASE(file_mappings),
    KT_CASE(file_sigbus),
    KT_CASE(stack_growth),
    KT_CASE(brk),
    KT_CASE(exit_conservation),
    KT_CASE(vma_tree_scale),
    KT_CASE(fault_oom),
};
KT_SUITE(vm, vm_cases);
