/*
 * numa_balance.c - automatic NUMA balancing (Linux's task_numa_work + do_numa_page): a scan step
 * turns a window of an address space's present anonymous PTEs into hinting entries, and the next
 * access to each faults here, says which node touches the page and moves a misplaced page there.
 *
 *   mm_numa_scan(mm, n):  from mm->numa_scan_offset, n pages of anonymous, accessible VMAs:
 *       present anonymous PTE e  :=  (e & ~PTE_US) | PTE_SW_NUMA,  TLB flushed   (numa_pte_updates)
 *     the offset moves past the window; past the last VMA it goes back to 0 (a pass ends)
 *   user access -> #PF (present, no user bit) -> numa_hint_fault:
 *       e := (e & ~PTE_SW_NUMA) | PTE_US        (the rights it had: nothing else was touched)
 *       last = page->last_nid; page->last_nid = this CPU's node                (numa_hint_faults)
 *       page on this node                   -> stays                     (numa_hint_faults_local)
 *       last != this node (first remote)    -> stays   (Linux's two-stage filter: one remote
 *                                              access is not a pattern; two in a row from one node is)
 *       policy forbids this node            -> stays   (mempolicy_misplaced: bind outside its
 *                                              mask, preferred, interleave)
 *       else migrate to this node only (no fallback), every mapper's PTE  (numa_pages_migrated)
 *
 * Invariants (mm_check, check_vm.c: pte.numa): a hinting entry is present, lies in an accessible
 * VMA without a file, maps an anonymous page (never the zero page), and has no PTE_US; its other
 * permission bits obey the VMA as any PTE's do, so setting PTE_US back restores exactly the
 * rights it had. A mapped anonymous page's last_nid is a node of the machine or MM_NUMA_NO_LAST.
 * The field shares its byte with page->cpu, which only a PG_pcp page uses (rmap_add_new_anon
 * resets it when the page becomes anonymous). Locking: the address-space lock (vm_lock.c).
 */
#include "mmap_internal.h"

/* Pages the scan's walk of one VMA looks at, and what it changed. */
struct numa_scan_walk {
    long updated;
};

static bool numa_vma_scannable(const struct vm_area_struct *v)
{
    return !v->vm_file && (v->vm_flags & VM_PROT_MASK);
}

/* Make one present anonymous PTE a hinting entry. */
static int numa_scan_pte(void *arg, uintptr_t va, pte_t *ptep)
{
    struct numa_scan_walk *w = arg;
    pte_t e = *ptep;
    if (!pte_present(e) || (e & (PTE_SW_ZERO | PTE_SW_NUMA)) || !(e & PTE_US))
        return 0;
    env_atomic_store(ptep, (e & ~PTE_US) | PTE_SW_NUMA);
    env_tlb_flush_range(va, va + PAGE_SIZE); /* no CPU may go on using the user bit */
    w->updated++;
    return 0;
}

long mm_numa_scan(struct mm_struct *mm, unsigned long nr_pages)
{
    if (!mm || !nr_pages || nr_pages > MM_NUMA_SCAN_MAX_PAGES)
        return -MM_EINVAL;
    struct numa_scan_walk w = { 0 };
    vm_lock();
    uintptr_t va = mm->numa_scan_offset;
    struct vm_area_struct *v = find_vma(mm, va);
    while (v && nr_pages) {
        if (!numa_vma_scannable(v)) { /* not counted in the window */
            v = vma_next(mm, v);
            continue;
        }
        va = va > v->vm_start ? va : v->vm_start;
        uintptr_t end = v->vm_end;
        if ((end - va) >> PAGE_SHIFT > nr_pages)
            end = va + (nr_pages << PAGE_SHIFT);
        pt_visit(&mm->pt, va, end, numa_scan_pte, &w);
        nr_pages -= (end - va) >> PAGE_SHIFT;
        va = end;
        if (va == v->vm_end)
            v = vma_next(mm, v);
    }
    mm->numa_scan_offset = v ? va : 0; /* past the last VMA: the next pass starts over */
    mm_state.vm.numa_pte_updates += (unsigned long)w.updated;
    vm_unlock();
    return w.updated;
}

enum vm_fault_result numa_hint_fault(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va,
                                     pte_t *ptep)
{
    pte_t e = *ptep;
    env_atomic_store(ptep, (e & ~PTE_SW_NUMA) | PTE_US); /* more rights: no flush needed */
    struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(e)));
    int here = numa_node_id();
    int last = p->last_nid;
    p->last_nid = (uint8_t)here;
    mm_state.vm.numa_hint_faults++;
    if (page_to_nid(p) == here) {
        mm_state.vm.numa_hint_faults_local++;
        return VM_FAULT_HANDLED;
    }
    if (last != here || mempolicy_misplaced(mm, v, here) != here)
        return VM_FAULT_HANDLED;
    if (migrate_misplaced_page(mm, va, here) == 0)
        mm_state.vm.numa_pages_migrated++;
    return VM_FAULT_HANDLED; /* a move that failed leaves the page where it was: still mapped */
}

size_t mm_numa_vmstat_show(char *buf, size_t size)
{
    if (!buf || !size)
        return 0;
    vm_lock();
    int n = mm_snprintf(buf, size, "numa_pte_updates %lu\nnuma_hint_faults %lu\n"
                        "numa_hint_faults_local %lu\nnuma_pages_migrated %lu\n"
                        "pgmigrate_success %lu\npgmigrate_fail %lu\n",
                        mm_state.vm.numa_pte_updates, mm_state.vm.numa_hint_faults,
                        mm_state.vm.numa_hint_faults_local, mm_state.vm.numa_pages_migrated,
                        mm_state.vm.migrated, mm_state.vm.migrate_failed);
    vm_unlock();
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}
