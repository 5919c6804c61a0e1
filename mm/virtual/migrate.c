/*
 * migrate.c - page migration: move a user page to a newly allocated frame while it stays mapped
 * (Linux's migrate_pages / move_pages). The target: a node given (move_pages' nodes[],
 * migrate_pages' new mask, mbind's MPOL_MF_MOVE: that node only, __GFP_THISNODE-like) or else
 * the memory policy in force at the page's address in the caller's address space (mempolicy.c).
 *
 *   old page ──copy──> new page (from migrate_alloc_target, the one allocation)
 *   every PTE that maps old (anonymous: rmap_walk_anon; page cache: the file's i_mmap)
 *        := new frame | the old entry's bits,  TLB flushed at that address
 *   mapcount, references, the LRU place / page cache slot move to new; old is freed
 *
 * A page moves only when nothing else may hold it: its references must be exactly its mappings
 * (plus the cache's own for a cache page); anything more, or a vmap mark, is a pin (-MM_EBUSY),
 * as is a reverse map that does not find every mapping. Every check and the allocation come
 * before the first change, so a failed move leaves the page, its PTEs and its counts as they were.
 *
 * Swap-cached pages: there is no swap cache (a swap-in always makes a private copy: mmap.h), so a
 * swapped-out page has no frame to move and reports -MM_ENOENT, as Linux does for a page that is
 * not present.
 *
 * Locking: under the address-space lock (vm_lock.c). The hosted MMU's accesses are bracketed by
 * mm_user_access_begin/end, so no CPU writes the page between the copy and the PTE switch.
 */
#include "mmap_internal.h"

/* The target frame for a move of @old: a page for @t. NULL when memory is exhausted. */
static struct page *migrate_alloc_target(const struct page *old, const struct mpol_target *t)
{
    (void)old;
    return mempolicy_alloc(t, GFP_HIGHUSER);
}

/*
 * A target holding a copy of @old, or NULL. @old is pinned while the target is allocated: the
 * allocation may reclaim, and swap-out skips a page with references beyond its mappings (it
 * would otherwise evict @old, every PTE of it, under the move).
 */
static struct page *migrate_alloc_target_pinned(struct page *old, const struct mpol_target *t)
{
    get_page(old);
    struct page *new = migrate_alloc_target(old, t);
    if (new)
        memcpy(page_address(new), page_address(old), PAGE_SIZE);
    env_atomic_sub(&old->refcount, 1); /* the pin goes: never the last reference */
    return new;
}

/* Point one PTE of the old page at the new frame, keeping every other bit of the entry. */
static int migrate_set_pte(void *arg, struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va,
                           pte_t *ptep)
{
    struct page *new = arg;
    (void)mm;
    (void)v;
    env_wmb(); /* the copy before the entry that exposes it */
    env_atomic_store(ptep, page_to_phys(new) | (*ptep & ~PTE_ADDR_MASK));
    env_tlb_flush_range(va, va + PAGE_SIZE); /* no CPU may go on using the old frame */
    return 0;
}

/* Counts and the old page's end after every PTE points at @new. */
static void migrate_finish(struct page *old, struct page *new)
{
    new->mapcount = old->mapcount;
    env_atomic_store(&new->refcount, env_atomic_load(&old->refcount));
    old->mapcount = 0;
    env_atomic_store(&old->refcount, 1);
    __free_pages(old, 0);
    mm_state.vm.migrated++;
}

/* Move anonymous page @old. 0, -MM_EBUSY (pinned, or the rmap misses a mapping), -MM_ENOMEM. */
static int migrate_anon_page(struct page *old, const struct mpol_target *t)
{
    if (old->refcount != old->mapcount || page_vmap_count(old) ||
        rmap_walk_anon(old, NULL, NULL) != (unsigned int)old->mapcount)
        return -MM_EBUSY;
    struct page *new = migrate_alloc_target_pinned(old, t);
    if (!new)
        return -MM_ENOMEM;
    new->anon_vma = old->anon_vma;
    new->last_nid = old->last_nid; /* the hinting history moves with the page (Linux) */
    rmap_walk_anon(old, migrate_set_pte, new);
    swap_lru_replace(old, new); /* after the walk, which reads old's address bits */
    old->anon_vma = NULL;
    migrate_finish(old, new);
    return 0;
}

/* Move page cache page @old (page @index of @f). Errors as migrate_anon_page. */
static int migrate_file_page(struct mm_file *f, uint64_t index, struct page *old,
                             const struct mpol_target *t)
{
    if (old->refcount != old->mapcount + 1 || page_vmap_count(old) ||
        rmap_walk_file(f, index, old, NULL, NULL) != (unsigned int)old->mapcount)
        return -MM_EBUSY;
    struct page *new = migrate_alloc_target_pinned(old, t);
    if (!new)
        return -MM_ENOMEM;
    new->flags |= PG_cache;
    new->private_data = old->private_data;
    rmap_walk_file(f, index, old, migrate_set_pte, new);
    f->cache[index] = new;
    old->flags &= ~PG_cache;
    old->private_data = 0;
    migrate_finish(old, new);
    return 0;
}

int migrate_page_to(struct mm_struct *mm, uintptr_t va, unsigned int flags,
                    const struct mpol_target *t)
{
    struct vm_area_struct *v = va < ARCH_USER_VA_END ? find_vma(mm, va) : NULL;
    if (!v || va < v->vm_start)
        return -MM_EFAULT;
    pte_t *ptep = pt_walk(&mm->pt, va, false, 0);
    if (!ptep || !pte_present(*ptep))
        return -MM_ENOENT; /* never touched, or swapped out */
    if (*ptep & PTE_SW_ZERO)
        return -MM_EFAULT; /* the zero page (Linux: -EFAULT) */
    struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(*ptep)));
    if (p->mapcount > 1 && !(flags & MPOL_MF_MOVE_ALL))
        return -MM_EACCES;
    struct mpol_target pt;
    if (!t) {
        mempolicy_target(mm, v, va, &pt);
        t = &pt;
    }
    if (!(p->flags & PG_cache))
        return migrate_anon_page(p, t);
    struct mm_file *f = (struct mm_file *)p->private_data;
    uint64_t index = v->vm_pgoff + ((va - v->vm_start) >> PAGE_SHIFT);
    if (f != v->vm_file || index >= f->npages || f->cache[index] != p)
        return -MM_EBUSY; /* not the page the VMA's file caches there: mm_check reports it */
    return migrate_file_page(f, index, p, t);
}

/* Move the page mapped at @va of @mm under its policy. The move_pages status. */
static int migrate_one(struct mm_struct *mm, uintptr_t va, unsigned int flags)
{
    return migrate_page_to(mm, va, flags, NULL);
}

/* A move that was tried and failed (the page was busy or no target came): not the pages with
 * nothing to move or a shared page refused without MPOL_MF_MOVE_ALL (as Linux's pgmigrate_fail). */
static void migrate_count(int status)
{
    if (status == -MM_EBUSY || status == -MM_ENOMEM)
        mm_state.vm.migrate_failed++;
}

/* Move the page at @va onto node @nid alone (no fallback), counted: migrate_page_to's status. */
static int migrate_onto_node(struct mm_struct *mm, uintptr_t va, int nid, unsigned int flags)
{
    struct mpol_target t = { .nid = nid, .nodes = 1u << nid };
    int st = migrate_page_to(mm, va, flags, &t);
    migrate_count(st);
    return st;
}

int migrate_misplaced_page(struct mm_struct *mm, uintptr_t va, int nid)
{
    return migrate_onto_node(mm, va, nid, MPOL_MF_MOVE_ALL);
}

static bool migrate_flags_ok(unsigned int flags)
{
    return flags == MPOL_MF_MOVE || flags == MPOL_MF_MOVE_ALL;
}

int mm_move_pages(struct mm_struct *mm, unsigned long count, const uintptr_t *addrs, int *status,
                  unsigned int flags)
{
    if (!mm || (count && (!addrs || !status)) || !migrate_flags_ok(flags))
        return -MM_EINVAL;
    vm_lock();
    for (unsigned long i = 0; i < count; i++) {
        status[i] = migrate_one(mm, addrs[i] & PAGE_MASK, flags);
        migrate_count(status[i]);
    }
    vm_unlock();
    return 0;
}

long mm_migrate_range(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int flags)
{
    if (!mm || !MM_IS_ALIGNED(addr, PAGE_SIZE) || addr + len < addr || !migrate_flags_ok(flags))
        return -MM_EINVAL;
    long left = 0;
    vm_lock();
    for (uintptr_t va = addr; va - addr < len; va += PAGE_SIZE) {
        int st = migrate_one(mm, va, flags);
        if (st == -MM_EFAULT || st == -MM_ENOENT)
            continue; /* nothing there to move */
        migrate_count(st);
        left += st != 0;
    }
    vm_unlock();
    return left;
}

/* The node of the page mapped at @va (Linux's do_pages_stat status): its node, -MM_EFAULT (no
 * VMA, the zero page) or -MM_ENOENT (nothing present). */
static int migrate_page_node(struct mm_struct *mm, uintptr_t va)
{
    struct vm_area_struct *v = va < ARCH_USER_VA_END ? find_vma(mm, va) : NULL;
    if (!v || va < v->vm_start)
        return -MM_EFAULT;
    pte_t *ptep = pt_walk(&mm->pt, va, false, 0);
    if (!ptep || !pte_present(*ptep))
        return -MM_ENOENT;
    if (*ptep & PTE_SW_ZERO)
        return -MM_EFAULT;
    return page_to_nid(pfn_to_page(MM_PFN_DOWN(pte_addr(*ptep))));
}

/* Move the page at @va to node @nid: its status (the node on success, as Linux). */
static int migrate_to_node(struct mm_struct *mm, uintptr_t va, int nid, unsigned int flags)
{
    int cur = migrate_page_node(mm, va);
    if (cur < 0 || cur == nid)
        return cur;
    int st = migrate_onto_node(mm, va, nid, flags);
    if (st)
        return st;
    struct vm_area_struct *v = find_vma(mm, va);
    pte_t *ptep = pt_walk(&mm->pt, va, false, 0);
    mempolicy_note_page(mm, v, pfn_to_page(MM_PFN_DOWN(pte_addr(*ptep))));
    return nid;
}

static bool migrate_node_ok(int nid)
{
    return nid >= 0 && (unsigned int)nid < mm_nr_nodes() && node_has_memory(nid);
}

int mm_move_pages_node(struct mm_struct *mm, unsigned long count, const uintptr_t *addrs,
                       const int *nodes, int *status, unsigned int flags)
{
    if (!mm || (count && (!addrs || !status)) || !migrate_flags_ok(flags))
        return -MM_EINVAL;
    int err = 0;
    vm_lock();
    for (unsigned long i = 0; i < count && !err; i++) {
        uintptr_t va = addrs[i] & PAGE_MASK;
        if (!nodes)
            status[i] = migrate_page_node(mm, va);
        else if (!migrate_node_ok(nodes[i]))
            err = -MM_ENODEV;
        else
            status[i] = migrate_to_node(mm, va, nodes[i], flags);
    }
    vm_unlock();
    return err;
}

/* The node of @new_nodes a page on @nid moves to: the same rank, modulo the new weight. */
static int migrate_map_node(uint32_t old_nodes, uint32_t new_nodes, int nid)
{
    unsigned int rank = mm_popcount64(old_nodes & ((1u << nid) - 1));
    unsigned int k = rank % mm_popcount64(new_nodes);
    for (int n = 0;; n++)
        if ((new_nodes >> n & 1) && k-- == 0)
            return n;
}

long mm_migrate_pages(struct mm_struct *mm, unsigned long old_nodes, unsigned long new_nodes)
{
    uint32_t all = (1u << mm_nr_nodes()) - 1, mem = 0;
    for (unsigned int n = 0; n < mm_nr_nodes(); n++)
        mem |= node_has_memory((int)n) ? 1u << n : 0;
    if (!mm || (old_nodes & ~(unsigned long)all) || (new_nodes & ~(unsigned long)all) ||
        !(new_nodes & mem))
        return -MM_EINVAL;
    uint32_t from = (uint32_t)old_nodes, to = (uint32_t)new_nodes & mem;
    long left = 0;
    vm_lock();
    for (struct vm_area_struct *v = find_vma(mm, 0); v; v = vma_next(mm, v))
        for (uintptr_t va = v->vm_start; va < v->vm_end; va += PAGE_SIZE) {
            int cur = migrate_page_node(mm, va);
            if (cur < 0 || !(from >> cur & 1))
                continue; /* nothing there, or not on a node asked for */
            int dst = migrate_map_node(from, to, cur);
            if (dst != cur) /* a node that maps to itself stays (Linux skips it) */
                left += migrate_to_node(mm, va, dst, MPOL_MF_MOVE) < 0;
        }
    vm_unlock();
    return left;
}

void mm_migrate_get_stats(struct migrate_stats *st)
{
    if (!st)
        return;
    vm_lock();
    st->succeeded = mm_state.vm.migrated;
    st->failed = mm_state.vm.migrate_failed;
    st->numa_pte_updates = mm_state.vm.numa_pte_updates;
    st->numa_hint_faults = mm_state.vm.numa_hint_faults;
    st->numa_hint_faults_local = mm_state.vm.numa_hint_faults_local;
    st->numa_pages_migrated = mm_state.vm.numa_pages_migrated;
    vm_unlock();
}
