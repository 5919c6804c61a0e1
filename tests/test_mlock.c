/*
 * test_mlock.c - suite "mlock": mlock/munlock and MAP_LOCKED (mmap.h). Locking populates every
 * page of an accessible VMA, a locked page is never swapped out, munlock makes it swappable
 * again, a fork's child does not inherit the lock, mprotect of a locked PROT_NONE VMA populates
 * it, Linux's error codes, mm_check's vma.locked sees a locked page that is not present, and
 * population copies private file pages (mlock, MAP_POPULATE, a locked stack's growth), and a
 * population that fails is undone without memory (mlock, mprotect, MAP_LOCKED).
 */
#include "machine.h"
#include "machine_user.h"
#include "kt_util.h"
#include "mmap.h"
#include "page_alloc.h"
#include "slab.h"
#include "swap.h"

#define RW   (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

static struct mm_struct *ml_boot(unsigned long swap_slots)
{
    machine_small(&kt_m, KT_MIB(8), 1);
    kt_m.swap_slots = swap_slots;
    if (kt_boot_current())
        return NULL;
    return mm_create();
}

/* Pages of [va, va + n pages) with a present PTE. */
static unsigned int ml_present(struct mm_struct *mm, uintptr_t va, unsigned int n)
{
    unsigned int k = 0;
    for (unsigned int i = 0; i < n; i++)
        k += pte_present(kt_user_pte(mm, va + i * PAGE_SIZE));
    return k;
}

static unsigned long ml_flags(struct mm_struct *mm, uintptr_t va)
{
    struct vm_area_struct *v = find_vma(mm, va);
    return v && v->vm_start <= va ? v->vm_flags : 0;
}

static int test_mlock_populates(void)
{
    struct mm_struct *mm = ml_boot(0);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 8 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a, 8), 0);
    KT_ASSERT_OK(do_mlock(mm, (uintptr_t)a + 2 * PAGE_SIZE + 5, 3 * PAGE_SIZE, 0)); /* pages 2..5 */
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a, 8), 4);
    KT_ASSERT_TRUE(pte_present(kt_user_pte(mm, (uintptr_t)a + 5 * PAGE_SIZE)));
    KT_ASSERT_TRUE(ml_flags(mm, (uintptr_t)a + 2 * PAGE_SIZE) & VM_LOCKED);
    KT_ASSERT_FALSE(ml_flags(mm, (uintptr_t)a) & VM_LOCKED);
    KT_ASSERT_EQ(mm->map_count, 3);
    KT_MM_CHECK();
    KT_ASSERT_OK(do_munlock(mm, (uintptr_t)a, 8 * PAGE_SIZE));
    KT_ASSERT_EQ(mm->map_count, 1); /* merged again */
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a, 8), 4); /* munlock leaves the pages mapped */
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_map_locked(void)
{
    struct mm_struct *mm = ml_boot(0);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV | MAP_LOCKED, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a, 4), 4);
    KT_ASSERT_TRUE(ml_flags(mm, (uintptr_t)a) & VM_LOCKED);
    long r = do_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ, PRIV | MAP_LOCKED, NULL, 0);
    KT_ASSERT_GT(r, 0);
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)r, 2), 2); /* read-only: the zero page */
    long n = do_mmap(mm, 0, 2 * PAGE_SIZE, PROT_NONE, PRIV | MAP_LOCKED, NULL, 0);
    KT_ASSERT_GT(n, 0); /* locked, nothing to populate */
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)n, 2), 0);
    KT_MM_CHECK();
    long z = do_mmap(mm, 0, PAGE_SIZE, PROT_NONE, PRIV, NULL, 0);
    KT_ASSERT_EQ(do_mlock(mm, (uintptr_t)z, PAGE_SIZE, 0), -MM_ENOMEM); /* as Linux 6.18 */
    KT_ASSERT_FALSE(ml_flags(mm, (uintptr_t)z) & VM_LOCKED); /* and left unlocked */
    KT_ASSERT_OK(do_mprotect(mm, (uintptr_t)n, 2 * PAGE_SIZE, RW)); /* now accessible: populated */
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)n, 2), 2);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_errors(void)
{
    struct mm_struct *mm = ml_boot(0);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_ASSERT_EQ(do_mlock(NULL, (uintptr_t)a, PAGE_SIZE, 0), -MM_EINVAL);
    KT_ASSERT_EQ(do_mlock(mm, (uintptr_t)a, PAGE_SIZE, 1), -MM_EINVAL); /* MLOCK_ONFAULT */
    KT_ASSERT_EQ(do_mlock(mm, (uintptr_t)a, (size_t)0 - 4 * PAGE_SIZE, 0), -MM_EINVAL); /* wraps */
    KT_ASSERT_EQ(do_munlock(mm, (uintptr_t)a, (size_t)0 - 4 * PAGE_SIZE - 100), -MM_EINVAL);
    KT_ASSERT_OK(do_mlock(mm, (uintptr_t)a, ~(size_t)0, 0)); /* PAGE_ALIGN wraps to 0: empty */
    KT_ASSERT_OK(do_mlock(mm, (uintptr_t)a, 0, 0));
    KT_ASSERT_EQ(do_mlock(mm, (uintptr_t)a, 5 * PAGE_SIZE, 0), -MM_ENOMEM); /* runs into a hole */
    KT_ASSERT_EQ(do_munlock(mm, (uintptr_t)a - PAGE_SIZE, 2 * PAGE_SIZE), -MM_ENOMEM);
    KT_ASSERT_EQ(do_mlock(mm, ARCH_USER_VA_END, PAGE_SIZE, 0), -MM_ENOMEM);
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a, 4), 0); /* nothing changed */
    KT_ASSERT_FALSE(ml_flags(mm, (uintptr_t)a) & VM_LOCKED);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_never_swapped(void)
{
    struct mm_struct *mm = ml_boot(1024);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 8 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    uint64_t x = 0x1234;
    for (unsigned int i = 0; i < 8; i++)
        KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)a + i * PAGE_SIZE, &x, 8, MMU_WRITE, NULL),
                     VM_FAULT_HANDLED);
    KT_ASSERT_OK(do_mlock(mm, (uintptr_t)a, 4 * PAGE_SIZE, 0));
    KT_ASSERT_EQ(swap_reclaim(8), 4); /* only the unlocked half goes */
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a, 4), 4);
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a + 4 * PAGE_SIZE, 4), 0);
    KT_MM_CHECK();
    KT_ASSERT_OK(do_munlock(mm, (uintptr_t)a, 4 * PAGE_SIZE));
    KT_ASSERT_EQ(swap_reclaim(8), 4); /* swappable again */
    KT_ASSERT_OK(do_mlock(mm, (uintptr_t)a, 8 * PAGE_SIZE, 0)); /* swaps every page back in */
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a, 8), 8);
    for (unsigned int i = 0; i < 8; i++) {
        uint64_t y = 0;
        KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)a + i * PAGE_SIZE, &y, 8, MMU_READ, NULL),
                     VM_FAULT_HANDLED);
        KT_ASSERT_EQ(y, x);
    }
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static int test_fork_does_not_inherit(void)
{
    struct mm_struct *mm = ml_boot(0), *child;
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_ASSERT_OK(do_mlock(mm, (uintptr_t)a, 2 * PAGE_SIZE, 0)); /* [locked | unlocked] */
    KT_ASSERT_EQ(mm->map_count, 2);
    KT_ASSERT_OK(mm_fork(mm, &child));
    KT_ASSERT_FALSE(ml_flags(child, (uintptr_t)a) & VM_LOCKED);
    KT_ASSERT_EQ(child->map_count, 1); /* both halves alike in the child: one VMA */
    KT_ASSERT_TRUE(ml_flags(mm, (uintptr_t)a) & VM_LOCKED);
    uint64_t x = 9; /* a COW break in the parent keeps its locked page present */
    KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)a, &x, 8, MMU_WRITE, NULL), VM_FAULT_HANDLED);
    KT_MM_CHECK();
    mm_destroy(child);
    mm_destroy(mm);
    return 0;
}

/* The checker: a locked page whose PTE is gone is vma.locked. */
static int test_check_sees_unpopulated(void)
{
    struct mm_struct *mm = ml_boot(0);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ, PRIV | MAP_LOCKED, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_MM_CHECK();
    struct vm_area_struct *v = find_vma(mm, (uintptr_t)a);
    v->vm_flags &= ~VM_LOCKED; /* unmap a page behind the lock's back */
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a, PAGE_SIZE));
    KT_ASSERT_OK(do_mmap(mm, (uintptr_t)a, PAGE_SIZE, PROT_READ, PRIV | MAP_FIXED, NULL, 0) < 0);
    v = find_vma(mm, (uintptr_t)a);
    v->vm_flags |= VM_LOCKED; /* the new page was never faulted in */
    struct mm_check_report rep;
    KT_ASSERT_NE(mm_check(&rep), 0);
    KT_ASSERT_STREQ(rep.invariant, "vma.locked");
    v->vm_flags &= ~VM_LOCKED;
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/*
 * Populating a private writable file mapping (mlock, MAP_POPULATE) breaks copy-on-write as a
 * write would: the pages become the mapping's own copies, so a later write to the file is not
 * seen through it, and the PTEs are writable. (The population used to fault each page once,
 * which maps a private file page read-only from the page cache: the vm fuzz target found the
 * file write showing through a locked mapping.)
 */
static int test_private_file_copied(void)
{
    struct mm_struct *mm = ml_boot(0);
    KT_ASSERT_NOT_NULL(mm);
    struct mm_file *f = mm_file_create(2 * PAGE_SIZE, true);
    KT_ASSERT_NOT_NULL(f);
    static const uint64_t old = 0x0101010101010101ull, new = 0x7777777777777777ull;
    KT_ASSERT_OK(mm_file_write(f, 0, &old, sizeof(old)));
    KT_ASSERT_OK(mm_file_write(f, PAGE_SIZE, &old, sizeof(old)));
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, MAP_PRIVATE, f, 0);
    long b = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_POPULATE, f, 0);
    KT_ASSERT(a > 0 && b > 0);
    KT_ASSERT_OK(do_mlock(mm, (uintptr_t)a, 2 * PAGE_SIZE, 0));
    for (unsigned int i = 0; i < 2; i++) {
        KT_ASSERT_TRUE(kt_user_pte(mm, (uintptr_t)a + i * PAGE_SIZE) & PTE_RW);
        KT_ASSERT_TRUE(kt_user_pte(mm, (uintptr_t)b + i * PAGE_SIZE) & PTE_RW);
    }
    KT_ASSERT_OK(mm_file_write(f, 0, &new, sizeof(new)));
    KT_ASSERT_OK(mm_file_write(f, PAGE_SIZE, &new, sizeof(new)));
    uint64_t x = 0;
    for (unsigned int i = 0; i < 2; i++) {
        KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)a + i * PAGE_SIZE, &x, 8, MMU_READ, NULL),
                     VM_FAULT_HANDLED);
        KT_ASSERT_EQ(x, old);
        KT_ASSERT_EQ(machine_user_copy(mm, (uintptr_t)b + i * PAGE_SIZE, &x, 8, MMU_READ, NULL),
                     VM_FAULT_HANDLED);
        KT_ASSERT_EQ(x, old);
    }
    KT_MM_CHECK();
    mm_destroy(mm);
    mm_file_put(f);
    KT_MM_CHECK();
    return 0;
}

/* A locked stack that grows by a fault gets its new pages populated (a locked grows-down VMA
 * grown by several pages had only the faulting one present: vma.locked, and the vm target's
 * model check, failed on corpus/vm/regress-mlock-stack-growth). */
static int test_locked_stack_growth(void)
{
    struct mm_struct *mm = ml_boot(0);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, PRIV | MAP_GROWSDOWN, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_ASSERT_OK(do_mlock(mm, (uintptr_t)a, 2 * PAGE_SIZE, 0));
    uint64_t x = 0x1234;
    uintptr_t below = (uintptr_t)a - 5 * PAGE_SIZE + 16;
    KT_ASSERT_EQ(machine_user_copy(mm, below, &x, 8, MMU_WRITE, NULL), VM_FAULT_HANDLED);
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a - 5 * PAGE_SIZE, 7), 7);
    KT_ASSERT_TRUE(ml_flags(mm, below) & VM_LOCKED);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* Allocations of the VMA cache so far (slab_get_stats). */
static unsigned long ml_vma_allocs(void)
{
    static struct slab_cache_stats st[64];
    unsigned int n = slab_get_stats(st, 64);
    for (unsigned int i = 0; i < n && i < 64; i++)
        if (!ktest_strcmp(st[i].name, "vm_area_struct"))
            return st[i].alloc;
    return ~0ul;
}

/*
 * A population that fails (no memory for the pages) is undone without memory: the range ends up
 * unlocked and nothing was merged before, so taking the lock away needs no split. mlock used to
 * merge the newly locked range with a locked neighbour first, and the split of the way back could
 * find no memory either and leave a locked VMA unpopulated (the vm fuzz target found it under
 * memory exhaustion: corpus/vm/regress-mlock-unlock-after-failed-populate); mprotect of a locked
 * PROT_NONE VMA and a MAP_LOCKED mmap next to a locked neighbour had the same order. Here page
 * allocation fails, so the old way back took a VMA object (a split) where the new one takes none.
 */
static int test_failed_populate_needs_no_memory(void)
{
    struct mm_struct *mm = ml_boot(0);
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_ASSERT_OK(do_mlock(mm, (uintptr_t)a, 2 * PAGE_SIZE, 0)); /* [locked | unlocked] */
    long m = do_mmap(mm, 0, 4 * PAGE_SIZE, PROT_NONE, PRIV | MAP_LOCKED, NULL, 0);
    KT_ASSERT_GT(m, 0);
    KT_ASSERT_OK(do_mprotect(mm, (uintptr_t)m, 2 * PAGE_SIZE, RW)); /* [locked rw | locked none] */
    long h = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV | MAP_LOCKED, NULL, 0);
    KT_ASSERT_GT(h, 0);
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)h + 2 * PAGE_SIZE, 2 * PAGE_SIZE)); /* [locked | hole] */
    int count = mm->map_count;
    unsigned long allocs = ml_vma_allocs();
    page_alloc_fail_inject(0, ~0ul);
    KT_ASSERT_EQ(do_mlock(mm, (uintptr_t)a + 2 * PAGE_SIZE, 2 * PAGE_SIZE, 0), -MM_ENOMEM);
    KT_ASSERT_OK(do_mprotect(mm, (uintptr_t)m + 2 * PAGE_SIZE, 2 * PAGE_SIZE, RW));
    KT_ASSERT_EQ(do_mmap(mm, (uintptr_t)h + 2 * PAGE_SIZE, 2 * PAGE_SIZE, RW,
                         PRIV | MAP_FIXED | MAP_LOCKED, NULL, 0), -MM_EAGAIN);
    page_alloc_fail_inject(0, 0);
    KT_ASSERT_EQ(ml_vma_allocs(), allocs + 1); /* the MAP_LOCKED mapping's own VMA, no split */
    KT_ASSERT_TRUE(ml_flags(mm, (uintptr_t)a) & VM_LOCKED);
    KT_ASSERT_FALSE(ml_flags(mm, (uintptr_t)a + 2 * PAGE_SIZE) & VM_LOCKED);
    KT_ASSERT_TRUE(ml_flags(mm, (uintptr_t)m) & VM_LOCKED);
    KT_ASSERT_FALSE(ml_flags(mm, (uintptr_t)m + 2 * PAGE_SIZE) & VM_LOCKED); /* accessible now */
    KT_ASSERT_TRUE(ml_flags(mm, (uintptr_t)h) & VM_LOCKED);
    KT_ASSERT_EQ(ml_flags(mm, (uintptr_t)h + 2 * PAGE_SIZE), 0); /* unmapped again */
    KT_ASSERT_EQ(ml_present(mm, (uintptr_t)a, 2) + ml_present(mm, (uintptr_t)m, 2) +
                 ml_present(mm, (uintptr_t)h, 2), 6);
    KT_ASSERT_EQ(mm->map_count, count); /* nothing merged, nothing split */
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static const struct ktest_case mlock_cases[] = {
    KT_CASE(mlock_populates),
    KT_CASE(map_locked),
    KT_CASE(errors),
    KT_CASE(never_swapped),
    KT_CASE(fork_does_not_inherit),
    KT_CASE(check_sees_unpopulated),
    KT_CASE(private_file_copied),
    KT_CASE(locked_stack_growth),
    KT_CASE(failed_populate_needs_no_memory),
};
KT_SUITE(mlock, mlock_cases);
