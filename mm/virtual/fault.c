/*
 * fault.c - the page-fault handler: demand-zero pages (the shared zero page on reads), file
 * read-in through the page cache, copy-on-write breaks (reusing a page that has one mapper
 * left), permission errors and stack growth (a locked stack's new pages populated too).
 *
 *   fault(va, err) -> VMA? -> allowed? -> PTE absent:  anon read  -> zero page, read-only
 *                                                      anon write -> new zeroed page
 *                                                      file       -> cache page (private: RO+COW)
 *                                         PTE swap:    read the slot into a private page
 *                                         PTE present: NUMA hinting entry -> numa_balance.c
 *                                                      write to COW/zero page -> copy or reuse
 *
 * Result is an enum the caller tests (handled, OOM, SIGSEGV, access error, SIGBUS).
 */
#include "mmap_internal.h"

/* ---- the pages faults install (mmap.c and fork.c use them too; mmap.c calls the handler for
 * MAP_POPULATE, so they live here and the two files do not call each other in a circle) ---- */

struct page *vm_zero_page(void)
{
    if (!mm_state.vm.zero_page)
        mm_state.vm.zero_page = alloc_pages(GFP_KERNEL | __GFP_ZERO, 0);
    return mm_state.vm.zero_page;
}

pte_t vma_pte_prot(const struct vm_area_struct *v, bool writable)
{
    /* PROT_NONE keeps resident pages present but supervisor-only: any user access faults with
     * a protection error, and the page (and its contents) stay where they are */
    if (!(v->vm_flags & VM_PROT_MASK))
        return PTE_P | PTE_NX;
    pte_t e = PTE_P | PTE_US;
    if (writable && (v->vm_flags & VM_WRITE))
        e |= PTE_RW;
    if (!(v->vm_flags & VM_EXEC))
        e |= PTE_NX;
    return e;
}

/* Drop one mapping's reference to @p (its mapcount already dropped by the caller). */
void vm_page_put(struct page *p)
{
    if (p->flags & PG_cache)
        env_atomic_sub(&p->refcount, 1); /* the page cache's own reference keeps it */
    else {
        if (p->refcount == 1)
            swap_lru_del(p); /* the last mapper goes: off the LRU before the page is freed */
        __free_pages(p, 0); /* anonymous: frees the page with its last mapper */
    }
}

const char *vm_fault_name(enum vm_fault_result r)
{
    static const char *const names[] = { "handled", "oom", "sigsegv", "access", "sigbus" };
    return (unsigned int)r < MM_ARRAY_SIZE(names) ? names[r] : "?";
}

/*
 * Grow the grows-down VMA @v down to cover @va, keeping the guard gap to the VMA below. As in
 * Linux (expand_downwards), only an accessible VMA below that is not a stack itself needs the
 * gap: a PROT_NONE mapping below (a guard) or another grows-down VMA does not stop the growth.
 */
static struct vm_area_struct *fault_grow_stack(struct mm_struct *mm, struct vm_area_struct *v,
                                               uintptr_t va)
{
    uintptr_t new_start = MM_ALIGN_DOWN(va, PAGE_SIZE);
    struct vm_area_struct *prev = vma_prev(mm, v);
    if (!(v->vm_flags & VM_GROWSDOWN) || v->vm_end - new_start > MM_STACK_LIMIT ||
        new_start < ARCH_USER_VA_START)
        return NULL;
    if (prev && !(prev->vm_flags & VM_GROWSDOWN) && (prev->vm_flags & VM_PROT_MASK) &&
        new_start < prev->vm_end + MM_STACK_GUARD_GAP)
        return NULL;
    uint64_t grown = (v->vm_start - new_start) >> PAGE_SHIFT;
    if (v->vm_file) { /* the file offset moves down with the start, and cannot go below 0 */
        if (grown > v->vm_pgoff)
            return NULL;
        v->vm_pgoff -= grown;
    }
    vma_set_range(mm, v, new_start, v->vm_end); /* nothing lies in between: the key moves */
    /* grown up to a compatible VMA below (a stack or PROT_NONE mapping may be adjacent now):
     * adjacent compatible VMAs are one */
    return prev && prev->vm_end == new_start ? vma_merge_around(mm, v) : v;
}

static bool fault_allowed(const struct vm_area_struct *v, unsigned int err)
{
    if (err & PF_ERR_W)
        return v->vm_flags & VM_WRITE;
    if (err & PF_ERR_I)
        return v->vm_flags & VM_EXEC;
    return v->vm_flags & VM_READ;
}

/* Store @e for @va: through pt_set when the slot was empty (it keeps the table's entry count). */
static void fault_set(struct mm_struct *mm, uintptr_t va, pte_t *ptep, pte_t e)
{
    if (*ptep == 0) {
        pt_set(&mm->pt, va, e, GFP_KERNEL); /* the tables exist: cannot fail */
    } else {
        env_wmb(); /* the new page's contents (COW copy, swap-in) before the entry: page_table.c */
        env_atomic_store(ptep, e);
    }
}

/*
 * Map @p at @va with @prot; the PTE takes over the caller's reference. A new anonymous page
 * (one mapper) joins @mm's anon_vma (rmap.c) and the swap LRU.
 */
static void fault_install(struct mm_struct *mm, uintptr_t va, pte_t *ptep, struct page *p, pte_t prot)
{
    fault_set(mm, va, ptep, page_to_phys(p) | prot);
    p->mapcount++;
    if (!(p->flags & PG_cache)) {
        mm->nr_anon++;
        if (p->mapcount == 1) {
            rmap_add_new_anon(mm, p);
            swap_lru_add(p, va);
        }
    }
}

/*
 * A swap PTE: read its slot into a new page that only this PTE maps (so the page is private
 * whether or not other PTEs still hold the slot after fork), then drop this PTE's reference.
 * Returns OOM without a page, SIGBUS when the entry is invalid or the device fails.
 */
static enum vm_fault_result fault_swap(struct mm_struct *mm, struct vm_area_struct *v,
                                       uintptr_t va, pte_t *ptep)
{
    pte_t e = *ptep;
    if (!swap_entry_valid(e))
        return VM_FAULT_SIGBUS;
    struct page *p = vma_alloc_page(mm, v, va, GFP_HIGHUSER);
    if (!p) {
        mm_trace(MM_TRACE_SWAP_IN, mm->id, va, ~0ull, e, -MM_ENOMEM);
        return VM_FAULT_OOM;
    }
    int err = swap_entry_read(e, page_address(p));
    mm_trace(MM_TRACE_SWAP_IN, mm->id, va, page_to_pfn(p), e, err);
    if (err) {
        __free_pages(p, 0);
        return VM_FAULT_SIGBUS;
    }
    swap_entry_put(e);
    fault_install(mm, va, ptep, p, vma_pte_prot(v, true));
    return VM_FAULT_HANDLED;
}

static enum vm_fault_result fault_anon(struct mm_struct *mm, struct vm_area_struct *v,
                                       uintptr_t va, pte_t *ptep, unsigned int err)
{
    if (!(err & PF_ERR_W)) {
        struct page *z = vm_zero_page();
        if (!z)
            return VM_FAULT_OOM;
        fault_set(mm, va, ptep, page_to_phys(z) | vma_pte_prot(v, false) | PTE_SW_ZERO);
        return VM_FAULT_HANDLED;
    }
    struct page *p = vma_alloc_page(mm, v, va, GFP_HIGHUSER | __GFP_ZERO);
    if (!p)
        return VM_FAULT_OOM;
    fault_install(mm, va, ptep, p, vma_pte_prot(v, true));
    return VM_FAULT_HANDLED;
}

static enum vm_fault_result fault_file(struct mm_struct *mm, struct vm_area_struct *v,
                                       uintptr_t va, pte_t *ptep, unsigned int err)
{
    uint64_t index = v->vm_pgoff + ((va - v->vm_start) >> PAGE_SHIFT);
    if (index >= (v->vm_file->size + PAGE_SIZE - 1) >> PAGE_SHIFT)
        return VM_FAULT_SIGBUS;
    int e = 0;
    struct page *p = mm_file_page(v->vm_file, index, GFP_HIGHUSER, &e);
    if (!p)
        return VM_FAULT_OOM;
    if (v->vm_flags & VM_SHARED)
        fault_install(mm, va, ptep, p, vma_pte_prot(v, true));
    else /* private: read-only; a write retries into the copy-on-write path */
        fault_install(mm, va, ptep, p, vma_pte_prot(v, false) | PTE_SW_COW);
    (void)err;
    return VM_FAULT_HANDLED;
}

/* Write to a present read-only PTE of a writable VMA: break COW, leave the zero page, or upgrade. */
static enum vm_fault_result fault_wp(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va,
                                     pte_t *ptep)
{
    pte_t e = *ptep;
    struct page *old = pfn_to_page(MM_PFN_DOWN(pte_addr(e)));
    bool anon = !(e & PTE_SW_ZERO) && !(old->flags & PG_cache);
    if ((v->vm_flags & VM_SHARED) || (anon && old->mapcount == 1 && old->refcount == 1)) {
        *ptep = (e & ~PTE_SW_COW) | PTE_RW; /* shared mapping, or the last mapper: reuse */
        return VM_FAULT_HANDLED;
    }
    /* pinned while the copy is allocated: the allocation may reclaim, and swap-out could evict
     * the shared page (every mapper's PTE) under us; it skips pages with extra references */
    bool pin = !(e & PTE_SW_ZERO);
    if (pin)
        get_page(old);
    struct page *p = vma_alloc_page(mm, v, va, GFP_HIGHUSER);
    if (p)
        memcpy(page_address(p), page_address(old), PAGE_SIZE);
    if (pin)
        env_atomic_sub(&old->refcount, 1); /* the pin goes: never the last reference */
    if (!p)
        return VM_FAULT_OOM;
    fault_install(mm, va, ptep, p, vma_pte_prot(v, true) | (e & (PTE_A | PTE_D)));
    /* The entry changed frames: another CPU may still cache the old, read-only one and read the
     * old page, which the other mappers go on changing. Flush before the old page is put. */
    env_tlb_flush_range(va, va + PAGE_SIZE);
    if (!(e & PTE_SW_ZERO)) {
        if (anon)
            mm->nr_anon--;
        old->mapcount--;
        vm_page_put(old);
    }
    return VM_FAULT_HANDLED;
}

/*
 * A locked stack (VM_LOCKED) grew from @old_start down to the page of @va: fault in its new
 * pages, that one included, as mlock would have. If one cannot be, the VMA loses its lock, as
 * a failed mlock leaves its range (mmap.h), so that every page of a locked accessible VMA stays
 * present (vma.locked) even when the fault itself fails. Returns the VMA that covers @va.
 */
static struct vm_area_struct *fault_populate_grown(struct mm_struct *mm, struct vm_area_struct *v,
                                                   uintptr_t va, uintptr_t old_start)
{
    if (!(v->vm_flags & VM_LOCKED) || !(v->vm_flags & VM_PROT_MASK))
        return v;
    unsigned int pf = PF_ERR_U | ((v->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE ? PF_ERR_W : 0);
    for (uintptr_t p = MM_ALIGN_DOWN(va, PAGE_SIZE); p < old_start; p += PAGE_SIZE)
        if (fault_in_page(mm, p, pf) != VM_FAULT_HANDLED) {
            v = find_vma(mm, va);
            v->vm_flags &= ~VM_LOCKED;
            return vma_merge_around(mm, v);
        }
    return find_vma(mm, va);
}

static enum vm_fault_result handle_mm_fault_locked(struct mm_struct *mm, uintptr_t va,
                                                   unsigned int err)
{
    if (!mm || va >= ARCH_USER_VA_END)
        return VM_FAULT_SIGSEGV;
    struct vm_area_struct *v = find_vma(mm, va);
    if (v && va < v->vm_start) {
        uintptr_t old_start = v->vm_start;
        v = fault_grow_stack(mm, v, va);
        if (v)
            v = fault_populate_grown(mm, v, va, old_start);
    }
    if (!v)
        return VM_FAULT_SIGSEGV;
    if (!fault_allowed(v, err))
        return VM_FAULT_ACCESS;
    pte_t *ptep = pt_walk(&mm->pt, va, true, GFP_KERNEL);
    if (!ptep)
        return VM_FAULT_OOM;
    pte_t e = *ptep;
    if (pte_is_swap(e))
        return fault_swap(mm, v, va, ptep);
    if (!pte_present(e)) {
        return v->vm_file ? fault_file(mm, v, va, ptep, err) : fault_anon(mm, v, va, ptep, err);
    }
    if (e & PTE_SW_NUMA)
        return numa_hint_fault(mm, v, va, ptep); /* a write to a COW page faults again after */
    if ((err & PF_ERR_W) && !(e & PTE_RW))
        return fault_wp(mm, v, va, ptep);
    if ((err & PF_ERR_I) && (e & PTE_NX))
        *ptep = e & ~PTE_NX;
    return VM_FAULT_HANDLED; /* spurious: another path already fixed the entry */
}

enum vm_fault_result fault_in_page(struct mm_struct *mm, uintptr_t va, unsigned int pf)
{
    enum vm_fault_result r = VM_FAULT_HANDLED;
    for (unsigned int tries = 0; tries < 3; tries++) { /* absent -> read-only -> copied */
        r = handle_mm_fault(mm, va, pf);
        pte_t *ep = pt_walk(&mm->pt, va, false, 0);
        if (r != VM_FAULT_HANDLED || (ep && pte_present(*ep) && (!(pf & PF_ERR_W) || (*ep & PTE_RW))))
            break;
    }
    return r;
}

/* The #PF entry: under the address-space lock (vm_lock.c), which the MMU's walk dropped. */
enum vm_fault_result handle_mm_fault(struct mm_struct *mm, uintptr_t va, unsigned int err)
{
    vm_lock();
    enum vm_fault_result r = handle_mm_fault_locked(mm, va, err);
    mm_trace(MM_TRACE_FAULT, vm_trace_id(mm), va, err, r);
    vm_unlock();
    return r;
}
