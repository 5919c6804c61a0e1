/*
 * check_vm.c - address-space invariants (VMAs, user PTEs) and the map counts of user pages.
 *
 * Invariant names:
 *   vma.range      a VMA is empty, unaligned, or outside the user range
 *   vma.order      VMAs overlap or the list is not sorted
 *   vma.flags      unknown vm_flags bits
 *   vma.unmerged   two adjacent VMAs could be one
 *   vma.tree       the AVL tree disagrees with the list (order, parents, heights, balance, count)
 *   pte.outside    a user PTE lies in no VMA
 *   pte.perm       a present PTE grants more than its VMA (RW, exec) or lacks the user bit
 *   pte.cow        a copy-on-write or zero-page PTE is writable
 *   pte.page       a PTE maps a page that is not an allocated page of this machine
 *   mm.nr_anon     the address space's anonymous page count disagrees with its PTEs
 *   page.mapcount  a user page's mapcount differs from the PTEs mapping it (over all mms)
 *   page.refcount  an anonymous page's refcount differs from its mapcount, or a cache page's
 *                  refcount from mapcount + 1
 */
#include "../virtual/mmap_internal.h"
#include "../virtual/vm_internal.h"

#define VM_LEGAL_FLAGS (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_GROWSDOWN)

static int vm_fail(struct mm_check_report *r, const char *inv, unsigned long pfn, const char *fmt, ...)
    MM_PRINTF(4, 5);

static int vm_fail(struct mm_check_report *r, const char *inv, unsigned long pfn, const char *fmt, ...)
{
    r->err = -MM_ECORRUPT;
    r->invariant = inv;
    r->pfn = pfn;
    va_list ap;
    va_start(ap, fmt);
    mm_vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
    return -MM_ECORRUPT;
}

static bool vm_mergeable(const struct vm_area_struct *a, const struct vm_area_struct *b)
{
    return a->vm_end == b->vm_start && a->vm_flags == b->vm_flags && a->vm_file == b->vm_file &&
           (!a->vm_file || a->vm_pgoff + ((a->vm_end - a->vm_start) >> PAGE_SHIFT) == b->vm_pgoff);
}

static int check_vma_list(struct mm_struct *mm, struct mm_check_report *r)
{
    struct vm_area_struct *prev = NULL;
    unsigned long n = 0;
    struct list_head *pos;
    list_for_each(pos, &mm->vmas) {
        struct vm_area_struct *v = list_entry(pos, struct vm_area_struct, vm_list);
        if (v->vm_start >= v->vm_end || !MM_IS_ALIGNED(v->vm_start | v->vm_end, PAGE_SIZE) ||
            v->vm_start < ARCH_USER_VA_START || v->vm_end > ARCH_USER_VA_END)
            return vm_fail(r, "vma.range", ~0ul, "mm %u: VMA [0x%lx, 0x%lx)", mm->id,
                           (unsigned long)v->vm_start, (unsigned long)v->vm_end);
        if (v->vm_flags & ~VM_LEGAL_FLAGS)
            return vm_fail(r, "vma.flags", ~0ul, "mm %u: VMA 0x%lx flags 0x%lx", mm->id,
                           (unsigned long)v->vm_start, v->vm_flags);
        if (prev && prev->vm_end > v->vm_start)
            return vm_fail(r, "vma.order", ~0ul, "mm %u: VMA 0x%lx overlaps or precedes 0x%lx",
                           mm->id, (unsigned long)v->vm_start, (unsigned long)prev->vm_start);
        if (prev && vm_mergeable(prev, v))
            return vm_fail(r, "vma.unmerged", ~0ul, "mm %u: VMAs at 0x%lx and 0x%lx could merge",
                           mm->id, (unsigned long)prev->vm_start, (unsigned long)v->vm_start);
        prev = v;
        if (++n > mm->map_count)
            break;
    }
    if (n != mm->map_count)
        return vm_fail(r, "vma.tree", ~0ul, "mm %u: map_count %lu, list holds %lu", mm->id,
                       mm->map_count, n);
    return 0;
}

/* In-order walk of the tree must meet the list's VMAs in order; returns subtree height or -1. */
static int check_vma_node(struct vm_area_struct *v, struct vm_area_struct *parent,
                          struct list_head **cursor, struct list_head *head)
{
    if (!v)
        return 0;
    if (v->parent != parent)
        return -1;
    int hl = check_vma_node(v->left, v, cursor, head);
    if (hl < 0 || *cursor == head || list_entry(*cursor, struct vm_area_struct, vm_list) != v)
        return -1;
    *cursor = (*cursor)->next;
    int hr = check_vma_node(v->right, v, cursor, head);
    int h = 1 + (hl > hr ? hl : hr);
    if (hr < 0 || hl - hr > 1 || hr - hl > 1 || v->height != h)
        return -1;
    return h;
}

struct pte_check {
    struct mm_struct *mm;
    struct mm_check_report *r;
    unsigned long anon;
    bool count;          /* accumulate per-page PTE counts in page->lru.next */
};

static int check_pte(void *arg, uintptr_t va, pte_t *ptep)
{
    struct pte_check *c = arg;
    pte_t e = *ptep;
    struct vm_area_struct *v = find_vma(c->mm, va);
    if (!v || v->vm_start > va)
        return vm_fail(c->r, "pte.outside", ~0ul, "mm %u: PTE 0x%llx at 0x%lx is in no VMA",
                       c->mm->id, (unsigned long long)e, (unsigned long)va);
    if (!pte_present(e))
        return 0;
    unsigned long pfn = MM_PFN_DOWN(pte_addr(e));
    if (!(e & PTE_US) || ((e & PTE_RW) && !(v->vm_flags & VM_WRITE)) ||
        (!(e & PTE_NX) && !(v->vm_flags & VM_EXEC)))
        return vm_fail(c->r, "pte.perm", pfn, "mm %u: PTE 0x%llx at 0x%lx exceeds VMA flags 0x%lx",
                       c->mm->id, (unsigned long long)e, (unsigned long)va, v->vm_flags);
    if ((e & (PTE_SW_COW | PTE_SW_ZERO)) && (e & PTE_RW))
        return vm_fail(c->r, "pte.cow", pfn, "mm %u: shared page at 0x%lx is writable", c->mm->id,
                       (unsigned long)va);
    struct page *p = pfn_valid(pfn) ? pfn_to_page(pfn) : NULL;
    if (e & PTE_SW_ZERO) {
        if (p != mm_state.zero_page)
            return vm_fail(c->r, "pte.page", pfn, "mm %u: zero-page PTE at 0x%lx maps pfn 0x%lx",
                           c->mm->id, (unsigned long)va, pfn);
        return 0;
    }
    if (!p || (p->flags & ~PG_cache) != PG_head || p->order != 0)
        return vm_fail(c->r, "pte.page", pfn, "mm %u: PTE at 0x%lx maps pfn 0x%lx with flags 0x%x",
                       c->mm->id, (unsigned long)va, pfn, p ? p->flags : 0);
    c->anon += !(p->flags & PG_cache);
    if (c->count)
        p->lru.next = (struct list_head *)((uintptr_t)p->lru.next + 1);
    return 0;
}

int mm_check_mm(struct mm_struct *mm, struct mm_check_report *rep)
{
    struct mm_check_report local;
    struct mm_check_report *r = rep ? rep : &local;
    *r = (struct mm_check_report){ .pfn = ~0ul };
    if (!mm)
        return 0;
    int err = check_vma_list(mm, r);
    struct list_head *cursor = mm->vmas.next;
    if (!err && (check_vma_node(mm->root, NULL, &cursor, &mm->vmas) < 0 || cursor != &mm->vmas))
        err = vm_fail(r, "vma.tree", ~0ul, "mm %u: tree order, parents or balance broken", mm->id);
    struct pte_check c = { mm, r, 0, false };
    if (!err)
        err = pt_check(&mm->pt, r);
    if (!err)
        err = pt_visit(&mm->pt, 0, ARCH_USER_VA_END, check_pte, &c);
    if (!err && c.anon != mm->nr_anon)
        err = vm_fail(r, "mm.nr_anon", ~0ul, "mm %u: nr_anon %lu, PTEs map %lu anonymous pages",
                      mm->id, mm->nr_anon, c.anon);
    return err;
}

/* Is @p a page user PTEs may map (anonymous or page cache)? */
static bool vm_user_page(const struct page *p)
{
    return (p->flags & ~PG_cache) == PG_head && p->order == 0 && p != mm_state.zero_page;
}

/* Compare every user page's mapcount/refcount with the PTEs of all address spaces. */
static int check_mapcounts(struct mm_check_report *r)
{
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++)
        if (vm_user_page(pfn_to_page(pfn)))
            pfn_to_page(pfn)->lru.next = NULL;
    struct list_head *pos;
    int err = 0;
    list_for_each(pos, &mm_state.mms) {
        struct pte_check c = { list_entry(pos, struct mm_struct, list_all), r, 0, true };
        if ((err = pt_visit(&c.mm->pt, 0, ARCH_USER_VA_END, check_pte, &c)))
            break;
    }
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++) {
        struct page *p = pfn_to_page(pfn);
        if (!vm_user_page(p))
            continue;
        long n = (long)(uintptr_t)p->lru.next;
        list_init(&p->lru);
        if (err)
            continue;
        if (p->mapcount != n)
            err = vm_fail(r, "page.mapcount", pfn, "pfn 0x%lx: mapcount %d, %ld PTEs map it", pfn,
                          (int)p->mapcount, n);
        else if (p->refcount != n + ((p->flags & PG_cache) ? 1 : 0) && (n || (p->flags & PG_cache)))
            err = vm_fail(r, "page.refcount", pfn, "pfn 0x%lx: refcount %d with %ld mappings%s",
                          pfn, (int)p->refcount, n, (p->flags & PG_cache) ? " (+1 cache)" : "");
    }
    return err;
}

/** Check every live address space, then the map counts over all of them. */
int vm_check_all(struct mm_check_report *r)
{
    if (!mm_state.mms.next)
        return 0;
    struct list_head *pos;
    list_for_each(pos, &mm_state.mms) {
        int err = mm_check_mm(list_entry(pos, struct mm_struct, list_all), r);
        if (err)
            return err;
    }
    return check_mapcounts(r);
}
