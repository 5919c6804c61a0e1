/*
 * rmap.c - the reverse map: from a user page, every (address space, VMA, address) whose PTE maps
 * it. Anonymous pages go through anon_vmas (Linux's anon_vma / anon_vma_chain); page cache pages
 * through their file's i_mmap list of VMAs.
 *
 *   page->anon_vma ─> anon_vma ─chains─> anon_vma_chain ─> mm A   (the mm that created the page)
 *                                   └──> anon_vma_chain ─> mm B   (forked from A, or from B's
 *                                                                  descendants, while A chained it)
 *   rmap_address(page) = page->private_data & PAGE_MASK: the page's address in every mapper
 *
 * Granularity: Linux chains VMAs to anon_vmas because mremap can move a VMA's pages to another
 * address. There is no mremap here, and fork maps a page at the same address in the child, so a
 * page's address is one for all mappers and the VMA that maps it in a chained mm is
 * find_vma(mm, address). Chaining address spaces instead of VMAs means VMA split, merge,
 * mprotect and munmap need no reverse-map work (and cannot fail for it); only mm_create (an mm's
 * own anon_vma), fork (the child chains every anon_vma its parent chains) and exit change chains.
 * As in Linux, a child's new pages go to its own anon_vma, which its parent does not chain.
 *
 * Invariants (checked by check_vm.c, "rmap.*"):
 *   rmap.chain  every live mm has an anon_vma it chains; every chain is on its mm's list and its
 *               anon_vma's list, names that mm and anon_vma, and an mm chains an anon_vma once;
 *               anon_vma->nr_chains is the length of its list (an anon_vma lives while chained)
 *   rmap.page   for every PTE (mm, va) mapping an anonymous page: the page's anon_vma is one
 *               @mm chains and rmap_address(page) == va, so the walk finds the PTE; and the walk
 *               finds exactly page->mapcount PTEs (it names no PTE that does not map the page,
 *               by construction: it compares each PTE's frame)
 * Lifetime: a page of anon_vma X is only ever mapped by mms chained to X (its creator, and the
 * children forked from a mapper, which chain all their parent's anon_vmas), so when X's last
 * chain goes (exit) no PTE maps a page naming it, and X is freed.
 *
 * Locking: everything here is the address-space lock's (vm_lock.c); every caller holds it.
 */
#include "mmap_internal.h"

/* Chain @mm to @av. 0 or -MM_ENOMEM. */
static int anon_vma_chain_link(struct mm_struct *mm, struct anon_vma *av)
{
    struct anon_vma_chain *avc = kzalloc(sizeof(*avc), GFP_KERNEL);
    if (!avc)
        return -MM_ENOMEM;
    avc->mm = mm;
    avc->anon_vma = av;
    list_add_tail(&avc->same_mm, &mm->anon_vma_chain);
    list_add_tail(&avc->same_anon_vma, &av->chains);
    av->nr_chains++;
    return 0;
}

int anon_vma_create(struct mm_struct *mm)
{
    list_init(&mm->anon_vma_chain);
    struct anon_vma *av = kzalloc(sizeof(*av), GFP_KERNEL);
    if (!av)
        return -MM_ENOMEM;
    list_init(&av->chains);
    if (anon_vma_chain_link(mm, av)) {
        kfree(av);
        return -MM_ENOMEM;
    }
    mm->anon_vma = av;
    return 0;
}

int anon_vma_fork(struct mm_struct *child, struct mm_struct *parent)
{
    struct list_head *pos;
    list_for_each(pos, &parent->anon_vma_chain) {
        struct anon_vma_chain *avc = list_entry(pos, struct anon_vma_chain, same_mm);
        if (anon_vma_chain_link(child, avc->anon_vma))
            return -MM_ENOMEM;
    }
    return 0;
}

/* Free chain @avc (its mm's list is the caller's); its anon_vma goes with its last chain. */
static void anon_vma_chain_free(struct anon_vma_chain *avc)
{
    struct anon_vma *av = avc->anon_vma;
    list_del(&avc->same_anon_vma);
    kfree(avc);
    if (--av->nr_chains == 0)
        kfree(av);
}

void anon_vma_unlink_mm(struct mm_struct *mm)
{
    if (!mm->anon_vma_chain.next)
        return; /* anon_vma_create never ran */
    struct list_head *pos = mm->anon_vma_chain.next;
    while (pos != &mm->anon_vma_chain) {
        struct anon_vma_chain *avc = list_entry(pos, struct anon_vma_chain, same_mm);
        pos = pos->next;
        anon_vma_chain_free(avc);
    }
    list_init(&mm->anon_vma_chain);
    mm->anon_vma = NULL;
}

void rmap_add_new_anon(struct mm_struct *mm, struct page *p)
{
    p->anon_vma = mm->anon_vma;
    p->last_nid = MM_NUMA_NO_LAST; /* the field was the per-CPU list's CPU until now */
}

/* Does @ptep (may be NULL) map @p? */
static bool rmap_pte_maps(const pte_t *ptep, const struct page *p)
{
    return ptep && pte_present(*ptep) && !(*ptep & PTE_SW_ZERO) &&
           pte_addr(*ptep) == page_to_phys(p);
}

unsigned int rmap_walk_anon(struct page *p, rmap_visit_fn fn, void *arg)
{
    struct anon_vma *av = p->anon_vma;
    uintptr_t va = rmap_address(p);
    unsigned int n = 0;
    if (!av)
        return 0;
    struct list_head *pos;
    list_for_each(pos, &av->chains) {
        struct mm_struct *mm = list_entry(pos, struct anon_vma_chain, same_anon_vma)->mm;
        pte_t *ptep = pt_walk(&mm->pt, va, false, 0);
        if (!rmap_pte_maps(ptep, p))
            continue;
        struct vm_area_struct *v = find_vma(mm, va);
        n++;
        if (fn && fn(arg, mm, v && v->vm_start <= va ? v : NULL, va, ptep))
            break;
    }
    return n;
}

unsigned int rmap_walk_file(struct mm_file *f, uint64_t index, struct page *p, rmap_visit_fn fn,
                            void *arg)
{
    unsigned int n = 0;
    struct list_head *pos;
    list_for_each(pos, &f->i_mmap) {
        struct vm_area_struct *v = list_entry(pos, struct vm_area_struct, vm_shared);
        uint64_t pages = (v->vm_end - v->vm_start) >> PAGE_SHIFT;
        if (index < v->vm_pgoff || index - v->vm_pgoff >= pages)
            continue;
        uintptr_t va = v->vm_start + (uintptr_t)((index - v->vm_pgoff) << PAGE_SHIFT);
        pte_t *ptep = pt_walk(&v->vm_mm->pt, va, false, 0);
        if (!rmap_pte_maps(ptep, p)) /* not touched yet, or a private copy-on-write copy */
            continue;
        n++;
        if (fn && fn(arg, v->vm_mm, v, va, ptep))
            break;
    }
    return n;
}
