/*
 * mmap.c - creating and changing address spaces: mm_create, do_mmap, do_munmap, do_mprotect,
 * do_brk, VMA split and merge, and releasing the pages of an unmapped range.
 *
 * Releasing a range drops one reference per page (anonymous pages leave the swap LRU with their
 * last mapper) and one slot reference per swap PTE.
 *
 * Invariants kept here (verified by mm_check_mm): VMAs are page aligned, disjoint and inside
 * [ARCH_USER_VA_START, ARCH_USER_VA_END); adjacent VMAs with the same flags and file (and
 * contiguous file offsets) are merged; every PTE lies inside a VMA; a PTE is writable only if its
 * VMA is writable and the page is not shared copy-on-write.
 */
#include "mmap_internal.h"
#include "../heap/slab_internal.h"


static void mm_lists_init(void)
{
    if (!mm_state.vm.mms.next) {
        list_init(&mm_state.vm.mms);
        list_init(&mm_state.vm.files);
    }
    if (!mm_state.swap.lru[0].next) /* file.c may have made the lists above first */
        swap_lru_init();
}

int vm_init(void)
{
    mm_state.vm.vma_cache = kmem_cache_create("vm_area_struct", sizeof(struct vm_area_struct), 0,
                                              SLAB_MM_INTERNAL, NULL);
    return mm_state.vm.vma_cache ? vm_tree_init() : -MM_ENOMEM;
}

static struct mm_struct *mm_create_locked(void)
{
    if (!mm_state.heap.ready)
        return NULL;
    mm_lists_init();
    struct mm_struct *mm = kzalloc(sizeof(*mm), GFP_KERNEL);
    if (!mm)
        return NULL;
    if (pt_init(&mm->pt, GFP_KERNEL)) {
        kfree(mm);
        return NULL;
    }
    if (anon_vma_create(mm)) {
        pt_destroy(&mm->pt);
        kfree(mm);
        return NULL;
    }
    rtree_init(&mm->tree, ARCH_USER_VA_START, ARCH_USER_VA_END, vm_tree_ops());
    list_init(&mm->vmas);
    mm->mmap_base = ARCH_USER_VA_END - (1ul << 30); /* 1 GiB below the top: room for stacks */
    mm->start_brk = mm->brk = 0x10000000ul;
    mm->id = ++mm_state.vm.next_mm_id;
    list_add_tail(&mm->list_all, &mm_state.vm.mms);
    swap_setup(); /* first address space on a machine with a swap device: swap comes up */
    return mm;
}

/* ---- releasing pages ---- */

void vm_put_pte_page(struct vm_area_struct *v, uintptr_t va, pte_t e)
{
    if (!pte_present(e) || (e & PTE_SW_ZERO))
        return;
    struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(e)));
    p->mapcount--;
    if ((p->flags & PG_cache) && (e & PTE_D) && (v->vm_flags & VM_SHARED))
        mm_file_set_dirty(v->vm_file, v->vm_pgoff + ((va - v->vm_start) >> PAGE_SHIFT));
    vm_page_put(p);
}

struct unmap_arg {
    struct mm_struct *mm;
    struct vm_area_struct *v;
};

static int vm_unmap_visit(void *arg, uintptr_t va, pte_t *ptep)
{
    struct unmap_arg *a = arg;
    pte_t e = *ptep;
    if (pte_is_swap(e)) {
        swap_entry_put(e); /* the slot is free with its last swap PTE */
        return 0;
    }
    if (pte_present(e) && !(e & PTE_SW_ZERO) &&
        !(pfn_to_page(MM_PFN_DOWN(pte_addr(e)))->flags & PG_cache))
        a->mm->nr_anon--;
    vm_put_pte_page(a->v, va, e);
    return 0;
}

void vm_unmap_pages(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t start, uintptr_t end)
{
    struct unmap_arg a = { mm, v };
    pt_unmap(&mm->pt, start, end, vm_unmap_visit, &a);
    env_tlb_flush_range(start, end);
}

/* ---- split and merge ---- */

/* Split @v at @addr (strictly inside) using the preallocated @n and tree nodes (vma_prealloc):
 * @v keeps [start, addr), @n gets [addr, end). Cannot fail. */
static void vma_split(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t addr,
                      struct vm_area_struct *n)
{
    n->vm_start = addr;
    n->vm_end = v->vm_end;
    n->vm_flags = v->vm_flags;
    n->vm_file = v->vm_file;
    n->vm_pgoff = v->vm_pgoff + ((addr - v->vm_start) >> PAGE_SHIFT);
    n->vm_policy = v->vm_policy;
    if (n->vm_file)
        mm_file_get(n->vm_file);
    vma_set_range(mm, v, v->vm_start, addr);
    if (vma_link(mm, n))
        env_panic("vma_split: the preallocated link of [0x%lx, 0x%lx) failed",
                  (unsigned long)n->vm_start, (unsigned long)n->vm_end);
}

/* ---- argument checks ---- */

static bool vm_range_ok(uintptr_t addr, size_t len)
{
    return len && MM_IS_ALIGNED(addr, PAGE_SIZE) && addr + len > addr &&
           addr >= ARCH_USER_VA_START && addr + len <= ARCH_USER_VA_END;
}

static unsigned long vm_flags_of(unsigned int prot, unsigned int flags)
{
    unsigned long vf = 0;
    if (prot & PROT_READ)
        vf |= VM_READ;
    if (prot & PROT_WRITE)
        vf |= VM_WRITE | VM_READ; /* x86 cannot map write-only */
    if (prot & PROT_EXEC)
        vf |= VM_EXEC | VM_READ;
    if (flags & MAP_SHARED)
        vf |= VM_SHARED;
    if (flags & MAP_GROWSDOWN)
        vf |= VM_GROWSDOWN;
    if (flags & MAP_LOCKED)
        vf |= VM_LOCKED;
    return vf;
}

/*
 * Validate do_mmap arguments before placement; returns 0 or the error. Linux's order: the file and
 * offset (the syscall's own checks), a zero length EINVAL, a length beyond the user range ENOMEM
 * (PAGE_ALIGN wrapping to 0 included); then the mm's own refusal of unknown bits. Placement then
 * gives ENOMEM for a fixed range ending beyond the user range, EINVAL for an unaligned or too low
 * one (Linux: EPERM below mmap_min_addr), EEXIST for MAP_FIXED_NOREPLACE over a mapping. The mapping type
 * is checked after placement (mmap_check_type), as Linux does.
 */
static int mmap_check_args(size_t len, unsigned int prot, unsigned int flags,
                           struct mm_file *file, uint64_t off)
{
    unsigned int known = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN |
                         MAP_FIXED_NOREPLACE | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_NORESERVE |
                         MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_SYNC | MAP_UNINITIALIZED |
                         MAP_LOCKED;
    unsigned int prots = PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM;
    if (file && mm_file_check_live(file, "do_mmap"))
        return -MM_EINVAL;
    if (!(flags & MAP_ANONYMOUS) == !file || !MM_IS_ALIGNED(off, PAGE_SIZE))
        return -MM_EINVAL;
    if (!len)
        return -MM_EINVAL;
    if (len > ARCH_USER_VA_END - PAGE_SIZE) /* Linux's TASK_SIZE */
        return -MM_ENOMEM;
    if ((flags & ~known) || (prot & ~prots))
        return -MM_EINVAL;
    return 0;
}

/* After placement (Linux checks the type once the address is known, so MAP_FIXED_NOREPLACE over
 * a mapping is EEXIST whatever the type): exactly one of MAP_SHARED / MAP_PRIVATE, no shared
 * anonymous grows-down mapping, and a shared writable file mapping needs a writable file. */
static int mmap_check_type(unsigned int prot, unsigned int flags, struct mm_file *file)
{
    if (!!(flags & MAP_SHARED) == !!(flags & MAP_PRIVATE))
        return -MM_EINVAL;
    if (!file && (flags & MAP_SHARED) && (flags & MAP_GROWSDOWN))
        return -MM_EINVAL;
    if (file && (flags & MAP_SHARED) && (prot & PROT_WRITE) && !file->writable)
        return -MM_EACCES;
    return 0;
}

/* Does a hint's [@addr, @addr + @len) fit? Free, and (x86 Linux's vm_start_gap) clear of the guard
 * gap below a grows-down VMA above it. */
static bool mmap_hint_fits(struct mm_struct *mm, uintptr_t addr, size_t len)
{
    if (!addr || !vm_range_ok(addr, len) || !vma_range_free(mm, addr, len))
        return false;
    struct vm_area_struct *next = find_vma(mm, addr);
    if (!next || !(next->vm_flags & VM_GROWSDOWN))
        return true;
    uintptr_t gap_start = next->vm_start > MM_STACK_GUARD_GAP ? next->vm_start - MM_STACK_GUARD_GAP : 0;
    return addr + len <= gap_start;
}

/* Choose the address for a new mapping of @len bytes; returns it or a negative error. */
static long mmap_place(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int flags)
{
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (addr > ARCH_USER_VA_END - len) /* ends beyond the user range: ENOMEM, as in Linux */
            return -MM_ENOMEM;
        if (!vm_range_ok(addr, len))
            return -MM_EINVAL;
        if ((flags & MAP_FIXED_NOREPLACE) && !vma_range_free(mm, addr, len))
            return -MM_EEXIST;
        return (long)addr;
    }
    addr = MM_ALIGN_DOWN(addr, PAGE_SIZE);
    if (mmap_hint_fits(mm, addr, len))
        return (long)addr; /* the hint fits */
    uintptr_t a = vma_find_gap(mm, len, mm->mmap_base);
    if (!a)
        a = vma_find_gap(mm, len, ARCH_USER_VA_END);
    return a ? (long)a : -MM_ENOMEM;
}

/* MAP_POPULATE: fault every page of the new mapping in, as a user access would (a write for a
 * private writable mapping, so no copy-on-write is left to break); stops at the first failure,
 * which the mapping itself survives, as in Linux. */
static void mmap_populate(struct mm_struct *mm, uintptr_t addr, size_t len)
{
    struct vm_area_struct *v = find_vma(mm, addr);
    if (!v || !(v->vm_flags & VM_PROT_MASK))
        return;
    unsigned int pf = PF_ERR_U | ((v->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE ? PF_ERR_W : 0);
    for (uintptr_t va = addr; va < addr + len; va += PAGE_SIZE)
        if (fault_in_page(mm, va, pf) != VM_FAULT_HANDLED)
            return;
}

/* ---- mlock: VM_LOCKED VMAs have every accessible page present (never swapped out) ---- */

/* Fault in the pages of @v inside [start, end) as mmap_populate does; false at the first failure.
 * A VMA no access reaches (PROT_NONE) cannot be populated: a failure with @none_fails (mlock, as
 * in Linux), else nothing to do (MAP_LOCKED, mprotect; the lock holds no page there). */
static bool mlock_populate_vma(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t start,
                               uintptr_t end, bool none_fails)
{
    if (!(v->vm_flags & VM_PROT_MASK))
        return !none_fails;
    unsigned int pf = PF_ERR_U | ((v->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE ? PF_ERR_W : 0);
    uintptr_t hi = MM_MIN(end, v->vm_end);
    for (uintptr_t va = MM_MAX(start, v->vm_start); va < hi; va += PAGE_SIZE)
        if (fault_in_page(mm, va, pf) != VM_FAULT_HANDLED)
            return false;
    return true;
}

/* Populate the locked VMAs of [start, end) (all of it is mapped). */
static bool mlock_populate_range(struct mm_struct *mm, uintptr_t start, uintptr_t end,
                                 bool none_fails)
{
    for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;
         v = vma_next(mm, v))
        if ((v->vm_flags & VM_LOCKED) && !mlock_populate_vma(mm, v, start, end, none_fails))
            return false;
    return true;
}

static int do_munmap_locked(struct mm_struct *mm, uintptr_t addr, size_t len);
static bool vma_range_covered(struct mm_struct *mm, uintptr_t start, uintptr_t end);

/* Set or clear VM_LOCKED on every VMA of [start, end), whose boundaries are already at @start
 * and @end (vma_split_range). Merges nothing, so it needs no memory and cannot fail: the way back
 * when a population fails (a merge first would make undoing it a split, which may find no memory
 * and leave a locked VMA unpopulated; the vm fuzz target found that:
 * corpus/vm/regress-mlock-unlock-after-failed-populate). */
static void mlock_flag_range(struct mm_struct *mm, uintptr_t start, uintptr_t end, bool lock)
{
    for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end; v = vma_next(mm, v))
        v->vm_flags = lock ? v->vm_flags | VM_LOCKED : v->vm_flags & ~VM_LOCKED;
}

/* Merge every VMA of [start, end) with its neighbours where their flags now allow it. */
static void vma_merge_range(struct mm_struct *mm, uintptr_t start, uintptr_t end)
{
    struct vm_area_struct *v = find_vma(mm, start);
    while (v && v->vm_start < end) {
        uintptr_t next_start = v->vm_end;
        (void)vma_merge_around(mm, v); /* may free v: go on from next_start */
        v = next_start < end ? find_vma(mm, next_start) : NULL;
    }
}

/* Set or clear VM_LOCKED on every VMA of mapped range [start, end); when locking, populate them
 * (a PROT_NONE VMA fails, as in Linux's mlock). A failed population leaves the
 * range unlocked (documented in mmap.h), the pages it faulted in stay. Merging comes last, so the
 * way back needs no memory. Returns 0 or -MM_ENOMEM (a split found no memory and nothing
 * changed, or the population failed). */
static int mlock_apply_locked(struct mm_struct *mm, uintptr_t start, uintptr_t end, bool lock)
{
    struct vm_area_struct *v;
    int err = vma_split_range(mm, start, end, &v);
    if (err)
        return err;
    mlock_flag_range(mm, start, end, lock);
    if (lock && !mlock_populate_range(mm, start, end, true)) {
        mlock_flag_range(mm, start, end, false);
        err = -MM_ENOMEM;
    }
    vma_merge_range(mm, start, end);
    return err;
}

/* Linux's arithmetic and order (mlock, apply_vma_lock_flags): flags EINVAL; the length is
 * PAGE_ALIGN(len + offset in page), wrapping as unsigned arithmetic does (so a length that aligns
 * to 0 is an empty range: 0); a range that wraps EINVAL; a hole (or a range outside user space,
 * where nothing is mapped) ENOMEM. */
static int do_mlock_locked(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int flags,
                           bool lock)
{
    if (!mm || flags)
        return -MM_EINVAL;
    uintptr_t start = MM_ALIGN_DOWN(addr, PAGE_SIZE);
    size_t span = MM_ALIGN_UP(len + (addr - start), (size_t)PAGE_SIZE); /* may wrap, as Linux */
    uintptr_t end = start + span;
    if (end < start)
        return -MM_EINVAL;
    if (end == start)
        return 0;
    if (start < ARCH_USER_VA_START || end > ARCH_USER_VA_END || !vma_range_covered(mm, start, end))
        return -MM_ENOMEM;
    return mlock_apply_locked(mm, start, end, lock);
}

static long do_mmap_locked(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int prot,
                           unsigned int flags, struct mm_file *file, uint64_t off)
{
    if (!mm)
        return -MM_EINVAL;
    int err = mmap_check_args(len, prot, flags, file, off);
    if (err)
        return err;
    len = MM_ALIGN_UP(len, PAGE_SIZE);
    long where = mmap_place(mm, addr, len, flags);
    if (where < 0)
        return where;
    err = mmap_check_type(prot, flags, file);
    if (err)
        return err;
    addr = (uintptr_t)where;
    if ((flags & MAP_FIXED) && !vma_range_free(mm, addr, len)) {
        err = do_munmap(mm, addr, len);
        if (err)
            return err;
    }
    if (mm->map_count >= MM_MAX_MAP_COUNT)
        return -MM_ENOMEM;
    struct mm_file *anon_file = NULL;
    if ((flags & MAP_SHARED) && !file) { /* shared anonymous memory: an anonymous file backs it */
        file = anon_file = mm_file_create(len, true);
        if (!file)
            return -MM_ENOMEM;
        off = 0;
    }
    struct vm_area_struct *v = vma_alloc();
    if (!v) {
        mm_file_put(anon_file);
        return -MM_ENOMEM;
    }
    v->vm_start = addr;
    v->vm_end = addr + len;
    v->vm_flags = vm_flags_of(prot & ~PROT_SEM, flags);
    v->vm_file = file;
    v->vm_pgoff = off >> PAGE_SHIFT;
    if (file && !anon_file)
        mm_file_get(file); /* an anonymous file's creation reference goes to the VMA */
    err = vma_link(mm, v);
    if (err) { /* no tree node: the VMA (and an anonymous file with it) goes again */
        vma_free(v);
        return err;
    }
    /* populated before it merges: unmapping it again is then exactly one VMA, no split */
    if ((flags & MAP_LOCKED) && !mlock_populate_range(mm, addr, addr + len, false)) {
        (void)do_munmap_locked(mm, addr, len); /* documented: Linux keeps the mapping */
        return -MM_EAGAIN;
    }
    vma_merge_around(mm, v);
    if ((flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE)
        mmap_populate(mm, addr, len);
    return (long)addr;
}

/*
 * Make VMA boundaries fall on @start and @end; returns 0 and in *@first the first VMA ending
 * above @start afterwards (NULL if none), or -MM_ENOMEM (no change made).
 */
int vma_split_range(struct mm_struct *mm, uintptr_t start, uintptr_t end,
                    struct vm_area_struct **first)
{
    struct vm_area_struct *v = find_vma(mm, start), *w = v; /* w: the VMA around @end, if any */
    if (v && v->vm_end == end)
        w = NULL; /* the boundary is there already */
    else if (v && v->vm_end < end)
        w = find_vma(mm, end);
    bool split_v = v && v->vm_start < start, split_w = w && w->vm_start < end;
    unsigned long splits = (unsigned long)split_v + (unsigned long)split_w;
    *first = v;
    if (mm->map_count + splits > MM_MAX_MAP_COUNT)
        return -MM_ENOMEM;
    if (!splits)
        return 0;
    /* take both new VMAs and their tree nodes first: a failure after the first split would
     * change the map */
    struct vm_area_struct *nv = split_v ? vma_alloc() : NULL, *nw = split_w ? vma_alloc() : NULL;
    if ((split_v && !nv) || (split_w && !nw) || vma_prealloc(mm, (unsigned int)splits)) {
        if (nv)
            kmem_cache_free_mm(mm_state.vm.vma_cache, nv);
        if (nw)
            kmem_cache_free_mm(mm_state.vm.vma_cache, nw);
        return -MM_ENOMEM;
    }
    if (split_v) {
        vma_split(mm, v, start, nv);
        *first = nv;
    }
    if (split_w)
        vma_split(mm, find_vma(mm, end), end, nw);
    vma_prealloc_done(mm);
    return 0;
}

static int do_munmap_locked(struct mm_struct *mm, uintptr_t addr, size_t len)
{
    if (!mm || !vm_range_ok(addr, MM_ALIGN_UP(len, PAGE_SIZE)) || !len)
        return -MM_EINVAL;
    uintptr_t end = addr + MM_ALIGN_UP(len, PAGE_SIZE);
    struct vm_area_struct *v;
    int err = vma_split_range(mm, addr, end, &v);
    if (err)
        return err;
    while (v && v->vm_start < end) {
        struct vm_area_struct *next = vma_next(mm, v);
        vm_unmap_pages(mm, v, v->vm_start, v->vm_end);
        vma_unlink(mm, v);
        vma_free(v);
        v = next;
    }
    return 0;
}

/* Is [start, end) completely covered by VMAs? */
static bool vma_range_covered(struct mm_struct *mm, uintptr_t start, uintptr_t end)
{
    struct vm_area_struct *v = find_vma(mm, start);
    uintptr_t at = start;
    for (; v && v->vm_start <= at && at < end; v = vma_next(mm, v))
        at = v->vm_end;
    return at >= end;
}

struct protect_arg {
    struct vm_area_struct *v;
};

/* Recompute a present PTE's RW, NX and user bits for its (changed) VMA. */
static int vm_protect_visit(void *arg, uintptr_t va, pte_t *ptep)
{
    struct vm_area_struct *v = ((struct protect_arg *)arg)->v;
    pte_t e = *ptep;
    if (!pte_present(e))
        return 0;
    struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(e)));
    bool exclusive = !(e & (PTE_SW_COW | PTE_SW_ZERO)) &&
                     ((v->vm_flags & VM_SHARED) || !(p->flags & PG_cache));
    pte_t prot = vma_pte_prot(v, exclusive);
    /* a NUMA hinting entry becomes an ordinary one: the new rights replace it */
    *ptep = (e & ~(PTE_RW | PTE_NX | PTE_US | PTE_SW_NUMA)) | (prot & (PTE_RW | PTE_NX | PTE_US));
    (void)va;
    return 0;
}

/* Linux's order: unaligned start EINVAL; zero length 0; wrapping ENOMEM; bad prot EINVAL; a range
 * outside the user range is unmapped memory: ENOMEM. */
static int do_mprotect_locked(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int prot)
{
    if (!mm || !MM_IS_ALIGNED(addr, PAGE_SIZE))
        return -MM_EINVAL;
    if (!len)
        return 0;
    uintptr_t end = addr + MM_ALIGN_UP(len, PAGE_SIZE); /* a len that rounds past ~0 wraps too */
    if (end <= addr)
        return -MM_ENOMEM;
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
        return -MM_EINVAL;
    if (addr < ARCH_USER_VA_START || end > ARCH_USER_VA_END || !vma_range_covered(mm, addr, end))
        return -MM_ENOMEM;
    for (struct vm_area_struct *v = find_vma(mm, addr); v && v->vm_start < end; v = vma_next(mm, v))
        if ((prot & PROT_WRITE) && (v->vm_flags & VM_SHARED) && v->vm_file && !v->vm_file->writable)
            return -MM_EACCES;
    struct vm_area_struct *v;
    int err = vma_split_range(mm, addr, end, &v);
    if (err)
        return err;
    unsigned long vf = vm_flags_of(prot & ~PROT_SEM, 0);
    for (; v && v->vm_start < end; v = vma_next(mm, v)) {
        v->vm_flags = (v->vm_flags & ~VM_PROT_MASK) | vf;
        struct protect_arg a = { v };
        pt_visit(&mm->pt, v->vm_start, v->vm_end, vm_protect_visit, &a);
    }
    env_tlb_flush_range(addr, end);
    /* a locked VMA made accessible is faulted in, or loses its lock; merging comes after, so
     * taking the lock away needs no split (mlock_flag_range) */
    if (!mlock_populate_range(mm, addr, end, false))
        mlock_flag_range(mm, addr, end, false);
    vma_merge_range(mm, addr, end);
    return 0;
}

static uintptr_t do_brk_locked(struct mm_struct *mm, uintptr_t new_brk)
{
    if (!mm)
        return 0;
    uintptr_t old_top = MM_ALIGN_UP(mm->brk, PAGE_SIZE), new_top = MM_ALIGN_UP(new_brk, PAGE_SIZE);
    if (new_brk < mm->start_brk || new_brk >= mm->mmap_base)
        return mm->brk;
    if (new_top < old_top) {
        if (do_munmap(mm, new_top, old_top - new_top))
            return mm->brk;
    } else if (new_top > old_top) {
        if (!vma_range_free(mm, old_top, new_top - old_top) ||
            do_mmap(mm, old_top, new_top - old_top, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0) < 0)
            return mm->brk;
    }
    mm->brk = new_brk;
    return mm->brk;
}

/* ---- the public entries: each under the address-space lock (vm_lock.c) ---- */

struct mm_struct *mm_create(void)
{
    vm_lock();
    struct mm_struct *mm = mm_create_locked();
    vm_unlock();
    return mm;
}

long do_mmap(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int prot,
             unsigned int flags, struct mm_file *file, uint64_t off)
{
    vm_lock();
    long r = do_mmap_locked(mm, addr, len, prot, flags, file, off);
    mm_trace(MM_TRACE_MMAP, vm_trace_id(mm), addr, len, prot, flags, r);
    vm_unlock();
    return r;
}

int do_munmap(struct mm_struct *mm, uintptr_t addr, size_t len)
{
    vm_lock();
    int r = do_munmap_locked(mm, addr, len);
    mm_trace(MM_TRACE_MUNMAP, vm_trace_id(mm), addr, len, r);
    vm_unlock();
    return r;
}

int do_mprotect(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int prot)
{
    vm_lock();
    int r = do_mprotect_locked(mm, addr, len, prot);
    mm_trace(MM_TRACE_MPROTECT, vm_trace_id(mm), addr, len, prot, r);
    vm_unlock();
    return r;
}

int do_mlock(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int flags)
{
    vm_lock();
    int r = do_mlock_locked(mm, addr, len, flags, true);
    vm_unlock();
    return r;
}

int do_munlock(struct mm_struct *mm, uintptr_t addr, size_t len)
{
    vm_lock();
    int r = do_mlock_locked(mm, addr, len, 0, false);
    vm_unlock();
    return r;
}

uintptr_t do_brk(struct mm_struct *mm, uintptr_t new_brk)
{
    vm_lock();
    uintptr_t r = do_brk_locked(mm, new_brk);
    mm_trace(MM_TRACE_BRK, vm_trace_id(mm), new_brk, r);
    vm_unlock();
    return r;
}
