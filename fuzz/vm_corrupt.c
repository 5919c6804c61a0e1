/*
 * vm_corrupt.c - the two ops of fuzz target "vm" that break things on purpose and judge the mm's
 * answer: "vm corrupt VICTIM x=" (vm_corrupt: damage one structure of the address spaces, swap
 * slots, LRU lists, page tables or vmalloc range that mm_check must name, then restore it) and
 * "vm vmisuse KIND h=" (vm_vmisuse: vfree / vunmap / vmap / kfree misuse and frees of the mm's own
 * metadata that must be refused with the documented error and one misuse report). Each one's
 * contract is in the comment above it.
 *
 * Invariants: whatever vm_corrupt damages it saves first (vcr_saved: at most VCR_MAX_SAVE byte
 * ranges, or one swap slot's count) and puts back before it returns, so the op leaves the mm and
 * the model (vm_fz, vm_model.h) exactly as it found them; vm_vmisuse changes neither (what it
 * allocates for a misuse it frees again). vcr_cand (PTE candidates), vcr_junk and vmis_pages are
 * scratch of one op. A machine without a victim leaves the op a no-op.
 */
#include "vm_model.h"
#include "checker.h"

/* ---- vm corrupt VICTIM x= ----
 *
 * One structure of the address spaces, the swap slots, the LRU lists, a page table or the vmalloc
 * range is damaged in one specific way (see enum fuzz_vm_corrupt_kind); mm_check must return
 * -MM_ECORRUPT naming the expected invariant (a documented set where the same damage can be seen
 * by two checks first); the saved bytes (or slot count) are put back and mm_check must pass.
 * Victims are picked by a scan starting at x; a machine without one leaves the op a no-op.
 */

#define VCR_MAX_SAVE 4
#define VCR_MAX_CAND 64

static struct {
    struct { void *addr; size_t len; uint8_t bytes[32]; } s[VCR_MAX_SAVE]; /* a mempolicy: 24 */
    unsigned int n;
    long slot;               /* swap slot whose count is restored through the API, or -1 */
    unsigned long slot_count;
} vcr_saved;

static struct list_head vcr_junk; /* a list link that is no struct page */

static void vcr_save(void *p, size_t n)
{
    if (vcr_saved.n >= VCR_MAX_SAVE || n > sizeof(vcr_saved.s[0].bytes))
        vfail("corrupt: save table full");
    vcr_saved.s[vcr_saved.n].addr = p;
    vcr_saved.s[vcr_saved.n].len = n;
    memcpy(vcr_saved.s[vcr_saved.n].bytes, p, n);
    vcr_saved.n++;
}

/* Move counter @f one step (up when @x is odd or @f is 0, else down), saved for the undo. */
static void vcr_nudge(unsigned long *f, uint32_t x)
{
    vcr_save(f, sizeof(*f));
    *f += (x & 1) || !*f ? 1 : (unsigned long)-1;
}

static void vcr_restore(void)
{
    while (vcr_saved.n) {
        vcr_saved.n--;
        memcpy(vcr_saved.s[vcr_saved.n].addr, vcr_saved.s[vcr_saved.n].bytes, vcr_saved.s[vcr_saved.n].len);
    }
    if (vcr_saved.slot >= 0) {
        int err = swap_debug_set_count((unsigned long)vcr_saved.slot, vcr_saved.slot_count);
        if (err)
            vfail("corrupt: swap_debug_set_count(%ld, %lu) to restore = %s", vcr_saved.slot, vcr_saved.slot_count,
                  mm_strerror(err));
        vcr_saved.slot = -1;
    }
}

/* PTE candidates of one address space: pt_visit collects entries passing a filter. */
enum vcr_pte_want { VCR_PRESENT, VCR_COW, VCR_USER_PAGE, VCR_SWAP };

static struct {
    enum vcr_pte_want want;
    uint32_t n;
    pte_t *ptep[VCR_MAX_CAND];
    uintptr_t va[VCR_MAX_CAND];
} vcr_cand;

static int vcr_pte_cb(void *arg, uintptr_t va, pte_t *ptep)
{
    pte_t e = *ptep;
    bool ok;
    (void)arg;
    switch (vcr_cand.want) {
    case VCR_PRESENT: ok = pte_present(e); break;
    case VCR_COW: ok = pte_present(e) && (e & PTE_SW_COW) && !(e & PTE_SW_ZERO); break;
    case VCR_USER_PAGE: {
        unsigned long pfn = MM_PFN_DOWN(pte_addr(e));
        ok = pte_present(e) && !(e & PTE_SW_ZERO) && pfn_valid(pfn) &&
             (pfn_to_page(pfn)->flags & ~PG_cache) == PG_head && pfn_to_page(pfn)->order == 0;
        break;
    }
    default: ok = pte_is_swap(e); break;
    }
    if (ok && vcr_cand.n < VCR_MAX_CAND) {
        vcr_cand.ptep[vcr_cand.n] = ptep;
        vcr_cand.va[vcr_cand.n] = va;
        vcr_cand.n++;
    }
    return 0;
}

/* A PTE of kind @want in some address space (scan from mm x % nmm); *mi = its model index. */
static pte_t *vcr_find_pte(uint32_t x, enum vcr_pte_want want, uint32_t *mi, uintptr_t *va)
{
    for (uint32_t k = 0; k < vm_fz.nmm; k++) {
        uint32_t i = (x + k) % vm_fz.nmm;
        vcr_cand.want = want;
        vcr_cand.n = 0;
        pt_visit(&vm_fz.mm[i].mm->pt, 0, ARCH_USER_VA_END, vcr_pte_cb, NULL);
        if (vcr_cand.n) {
            uint32_t c = (x >> 3) % vcr_cand.n;
            *mi = i;
            *va = vcr_cand.va[c];
            return vcr_cand.ptep[c];
        }
    }
    return NULL;
}

static struct vm_area_struct *vcr_vma_at(struct mm_struct *mm, uint32_t k)
{
    struct list_head *pos;
    list_for_each(pos, &mm->vmas)
        if (k-- == 0)
            return list_entry(pos, struct vm_area_struct, vm_list);
    return NULL;
}

static struct vm_area_struct *vcr_vma_next(struct mm_struct *mm, struct vm_area_struct *v)
{
    return v->vm_list.next == &mm->vmas ? NULL : list_entry(v->vm_list.next, struct vm_area_struct, vm_list);
}

/* The address space x selects (modulo the live ones), or NULL when every one has exited. */
static struct mm_struct *vcr_mm_pick(uint32_t x)
{
    return vm_fz.nmm ? vm_fz.mm[x % vm_fz.nmm].mm : NULL;
}

/* An address space with at least @min VMAs (scan from x); NULL if none. */
static struct mm_struct *vcr_mm_with(uint32_t x, unsigned long min)
{
    for (uint32_t k = 0; k < vm_fz.nmm; k++) {
        struct mm_struct *mm = vm_fz.mm[(x + k) % vm_fz.nmm].mm;
        if (mm->map_count >= min)
            return mm;
    }
    return NULL;
}

/* The x-th page on some LRU list, or NULL. */
static struct page *vcr_lru_page(uint32_t x)
{
    for (unsigned int k = 0; k < 2 && mm_state.swap.lru[0].next; k++) {
        unsigned int l = (x + k) & 1;
        unsigned long n = 0;
        struct list_head *pos;
        list_for_each(pos, &mm_state.swap.lru[l])
            n++;
        if (!n)
            continue;
        unsigned long want = (x >> 4) % n;
        list_for_each(pos, &mm_state.swap.lru[l])
            if (want-- == 0)
                return list_entry(pos, struct page, lru);
    }
    return NULL;
}

/* The PTE of page @k of model area @a in the kernel page table (NULL: no table there). */
static pte_t *vcr_varea_pte(const struct varea *a, size_t off)
{
    return pt_walk(&mm_state.vmalloc.pt, (uintptr_t)a->addr + off, false, 0);
}

/* The leaf of @t that holds the entry starting at @start (and its slot), or NULL. */
static struct rtree_node *vcr_tree_leaf(const struct range_tree *t, uintptr_t start,
                                        unsigned int *slot)
{
    struct rtree_node *n = t->root;
    while (n && !n->leaf) {
        unsigned int i = n->count;
        while (i > 1 && n->start[i - 1] > start)
            i--;
        n = n->slot[i - 1];
    }
    for (unsigned int i = 0; n && i < n->count; i++)
        if (n->start[i] == start) {
            *slot = i;
            return n;
        }
    return NULL;
}

/*
 * Damage range tree @t near the entry starting at @key: its depth (tree-depth), the leaf's gap
 * record (tree-gap), or an inner node's key of a child, or in a one-leaf tree the leaf's entry
 * pointer (tree-key). Fills @names with what mm_check must report.
 */
static bool vcr_corrupt_tree(uint32_t victim, uint32_t x, struct range_tree *t, uintptr_t key,
                             const char **names)
{
    unsigned int i;
    struct rtree_node *leaf = vcr_tree_leaf(t, key, &i);
    if (!leaf)
        vfail("corrupt: no tree entry starts at 0x%lx", (unsigned long)key);
    if (victim == FUZZ_VCR_TREE_DEPTH) {
        vcr_save(&t->depth, sizeof(t->depth));
        t->depth += (x & 1) || t->depth > RTREE_MAX_DEPTH ? 1 : (unsigned int)-1;
        names[0] = "tree.depth";
    } else if (victim == FUZZ_VCR_TREE_GAP) {
        vcr_save(&leaf->gap[i], sizeof(leaf->gap[i]));
        leaf->gap[i] += PAGE_SIZE;
        names[0] = "tree.gap";
    } else if (t->depth > 1) {
        struct rtree_node *root = t->root;
        unsigned int c = (x >> 5) % root->count;
        vcr_save(&root->start[c], sizeof(root->start[c]));
        root->start[c] += (x & 1) ? PAGE_SIZE : -(uintptr_t)PAGE_SIZE;
        names[0] = "tree.key";
    } else {
        vcr_save(&leaf->slot[i], sizeof(leaf->slot[i]));
        leaf->slot[i] = (x & 1) && leaf->count > 1 ? leaf->slot[(i + 1) % leaf->count] : &vcr_junk;
        names[0] = t == &mm_state.vmalloc.tree ? "vmalloc.tree" : "vma.tree";
    }
    return true;
}

bool vm_corrupt(uint32_t victim, uint32_t x)
{
    const char *names[3] = { NULL, NULL, NULL };
    struct mm_check_report rep;
    struct vm_area_struct *v, *w;
    struct mm_struct *mm;
    struct page *p;
    uint32_t mi;
    uintptr_t va;
    pte_t *ptep;

    vcr_saved.n = 0;
    vcr_saved.slot = -1;
    switch (victim) {
    case FUZZ_VCR_COW_WRITABLE:
        if (!(ptep = vcr_find_pte(x, VCR_COW, &mi, &va)))
            return false;
        vcr_save(ptep, sizeof(*ptep));
        *ptep |= PTE_RW;
        names[0] = "pte.cow";
        names[1] = "pte.perm"; /* a COW page of a VMA that is not writable (mprotect after fork) */
        break;
    case FUZZ_VCR_PTE_OUTSIDE: {
        /* an empty entry of an existing table page just outside a VMA; counted so pt_check agrees */
        ptep = NULL;
        for (uint32_t k = 0; k < vm_fz.nmm && !ptep; k++) {
            mm = vm_fz.mm[(x + k) % vm_fz.nmm].mm;
            struct list_head *pos;
            list_for_each(pos, &mm->vmas) {
                v = list_entry(pos, struct vm_area_struct, vm_list);
                uintptr_t cand[2] = { v->vm_end, v->vm_start - PAGE_SIZE };
                for (int c = 0; c < 2 && !ptep; c++) {
                    uintptr_t a = cand[(c + x) & 1];
                    if (a < ARCH_USER_VA_START || a >= ARCH_USER_VA_END)
                        continue;
                    w = find_vma(mm, a);
                    if (w && w->vm_start <= a)
                        continue;
                    pte_t *e = pt_walk(&mm->pt, a, false, 0);
                    if (e && !*e)
                        ptep = e;
                }
                if (ptep)
                    break;
            }
        }
        if (!ptep)
            return false;
        p = virt_to_page(ptep);
        if (!p)
            vfail("corrupt: a page-table entry %p has no struct page", (void *)ptep);
        vcr_save(ptep, sizeof(*ptep));
        vcr_save(&p->private_data, sizeof(p->private_data));
        *ptep = PTE_D; /* non-present, not a swap entry */
        p->private_data++;
        names[0] = "pte.outside";
        break;
    }
    case FUZZ_VCR_PTE_USER:
        if (!(ptep = vcr_find_pte(x, VCR_PRESENT, &mi, &va)))
            return false;
        vcr_save(ptep, sizeof(*ptep));
        *ptep ^= PTE_US;
        names[0] = "pte.perm";
        break;
    case FUZZ_VCR_PTE_PAGE: {
        if (!(ptep = vcr_find_pte(x, VCR_USER_PAGE, &mi, &va)))
            return false;
        struct page *f = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
        if (!f)
            return false;
        __free_pages(f, 0); /* a free page now */
        vcr_save(ptep, sizeof(*ptep));
        *ptep = (*ptep & PTE_FLAGS_MASK) | (pte_t)page_to_phys(f);
        names[0] = "pte.page";
        break;
    }
    case FUZZ_VCR_MAPCOUNT:
    case FUZZ_VCR_REFCOUNT:
        if (!(ptep = vcr_find_pte(x, VCR_USER_PAGE, &mi, &va)))
            return false;
        p = pfn_to_page(MM_PFN_DOWN(pte_addr(*ptep)));
        if (victim == FUZZ_VCR_MAPCOUNT) {
            vcr_save(&p->mapcount, sizeof(p->mapcount));
            p->mapcount++;
            names[0] = "page.mapcount";
        } else {
            vcr_save(&p->refcount, sizeof(p->refcount));
            p->refcount++;
            names[0] = "page.refcount";
        }
        break;
    case FUZZ_VCR_NR_ANON:
        if (!(mm = vcr_mm_pick(x)))
            return false;
        vcr_nudge(&mm->nr_anon, x);
        names[0] = "mm.nr_anon";
        break;
    case FUZZ_VCR_TREE_DEPTH:
    case FUZZ_VCR_TREE_GAP:
    case FUZZ_VCR_TREE_KEY: {
        struct range_tree *t;
        uintptr_t key;
        if ((x & 2) && vm_fz.nva) { /* the vmalloc tree, at a model area */
            t = &mm_state.vmalloc.tree;
            key = (uintptr_t)vm_fz.va[(x >> 3) % vm_fz.nva].addr;
        } else {
            if (!(mm = vcr_mm_with(x, 1)))
                return false;
            t = &mm->tree;
            key = vcr_vma_at(mm, (x >> 3) % (uint32_t)mm->map_count)->vm_start;
        }
        if (!vcr_corrupt_tree(victim, x, t, key, names))
            return false;
        break;
    }
    case FUZZ_VCR_VMA_RANGE:
    case FUZZ_VCR_VMA_FLAGS:
        if (!(mm = vcr_mm_with(x, 1)))
            return false;
        v = vcr_vma_at(mm, (x >> 3) % (uint32_t)mm->map_count);
        if (victim == FUZZ_VCR_VMA_RANGE) {
            vcr_save(&v->vm_end, sizeof(v->vm_end));
            v->vm_end = (x & 1) ? v->vm_start : v->vm_end - 1;
            names[0] = "vma.range";
        } else {
            vcr_save(&v->vm_flags, sizeof(v->vm_flags));
            v->vm_flags |= 1ul << (20 + x % 8);
            names[0] = "vma.flags";
        }
        break;
    case FUZZ_VCR_MAP_COUNT:
        if (!(mm = vcr_mm_pick(x)))
            return false;
        vcr_nudge(&mm->map_count, x);
        names[0] = "vma.tree";
        break;
    case FUZZ_VCR_VMA_ORDER:
        if (!(mm = vcr_mm_with(x, 2)))
            return false;
        v = vcr_vma_at(mm, (x >> 3) % (uint32_t)(mm->map_count - 1));
        w = vcr_vma_next(mm, v);
        vcr_save(&v->vm_end, sizeof(v->vm_end));
        v->vm_end = w->vm_start + PAGE_SIZE;
        names[0] = "vma.order";
        break;
    case FUZZ_VCR_VMA_UNMERGED:
        /* two touching VMAs of one mapping: give the second the first's flags and memory policy
         * (mbind may have split them by policy alone), so nothing but the check keeps them apart */
        v = w = NULL;
        for (uint32_t k = 0; k < vm_fz.nmm && !w; k++) {
            mm = vm_fz.mm[(x + k) % vm_fz.nmm].mm;
            struct list_head *pos;
            list_for_each(pos, &mm->vmas) {
                struct vm_area_struct *a = list_entry(pos, struct vm_area_struct, vm_list);
                struct vm_area_struct *b = vcr_vma_next(mm, a);
                if (b && a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
                    (!a->vm_file || a->vm_pgoff + ((a->vm_end - a->vm_start) >> PAGE_SHIFT) == b->vm_pgoff)) {
                    v = a;
                    w = b;
                    break;
                }
            }
        }
        if (!w)
            return false;
        vcr_save(&w->vm_flags, sizeof(w->vm_flags));
        vcr_save(&w->vm_policy, sizeof(w->vm_policy));
        w->vm_flags = v->vm_flags;
        w->vm_policy = v->vm_policy;
        names[0] = "vma.unmerged";
        break;
    case FUZZ_VCR_SWAP_COUNT:
    case FUZZ_VCR_SWAP_ORPHAN: {
        if (!swap_enabled() || !mm_state.swap.nr_slots)
            return false;
        unsigned long n = mm_state.swap.nr_slots, s = 0, k;
        bool used = victim == FUZZ_VCR_SWAP_COUNT;
        for (k = 0; k < n; k++) {
            s = (x + k) % n;
            if ((swap_slot_count(s) != 0) == used)
                break;
        }
        if (k == n)
            return false;
        vcr_saved.slot = (long)s;
        vcr_saved.slot_count = swap_slot_count(s);
        int err = swap_debug_set_count(s, used ? vcr_saved.slot_count + 1 : 1);
        if (err)
            vfail("corrupt: swap_debug_set_count(%lu) = %s", s, mm_strerror(err));
        names[0] = "swap.count";
        break;
    }
    case FUZZ_VCR_SWAP_PTE:
        if (!(ptep = vcr_find_pte(x, VCR_SWAP, &mi, &va)))
            return false;
        vcr_save(ptep, sizeof(*ptep));
        if (x & 1)
            *ptep = (*ptep & ~PTE_SW_SWAP) | PTE_D; /* non-present, no swap entry */
        else
            *ptep = pte_mk_swap(0, mm_state.swap.nr_slots + x % 4);
        names[0] = "swap.slot";
        break;
    case FUZZ_VCR_LRU_LINK:
    case FUZZ_VCR_LRU_BITS:
        if (!(p = vcr_lru_page(x)))
            return false;
        if (victim == FUZZ_VCR_LRU_LINK) {
            vcr_save(&p->lru.next, sizeof(p->lru.next));
            p->lru.next = (x & 1) ? &vcr_junk : &p->lru;
        } else {
            vcr_save(&p->private_data, sizeof(p->private_data));
            p->private_data ^= (x & 1) ? SWAP_PD_ACTIVE : SWAP_PD_ON_LRU;
        }
        names[0] = "lru.list";
        break;
    case FUZZ_VCR_PT_COUNT:
        if ((x & 1) && vm_fz.nva) {
            const struct varea *a = &vm_fz.va[(x >> 1) % vm_fz.nva];
            ptep = vcr_varea_pte(a, 0);
        } else {
            ptep = vcr_find_pte(x, VCR_PRESENT, &mi, &va);
        }
        if (!ptep)
            return false;
        p = virt_to_page(ptep);
        if (!p)
            vfail("corrupt: a page-table entry %p has no struct page", (void *)ptep);
        vcr_save(&p->private_data, sizeof(p->private_data));
        p->private_data += (x & 2) || p->private_data <= 1 ? 1 : (unsigned long)-1;
        names[0] = "pt.count";
        break;
    case FUZZ_VCR_PT_TABLES: {
        mm = (x & 1) ? NULL : vcr_mm_pick(x);
        if (!(x & 1) && !mm)
            return false;
        struct page_table *pt = mm ? &mm->pt : &mm_state.vmalloc.pt;
        vcr_save(&pt->nr_tables, sizeof(pt->nr_tables));
        pt->nr_tables += 1 + x % 3;
        names[0] = "pt.nr_tables";
        break;
    }
    case FUZZ_VCR_VMALLOC_GUARD:
    case FUZZ_VCR_VMALLOC_PAGE:
    case FUZZ_VCR_VMALLOC_PROT: {
        const struct varea *a = NULL;
        for (uint32_t k = 0; k < vm_fz.nva && !a; k++) {
            const struct varea *c = &vm_fz.va[(x + k) % vm_fz.nva];
            if (victim != FUZZ_VCR_VMALLOC_PAGE || !c->vmap)
                a = c;
        }
        if (!a)
            return false;
        size_t mapped = MM_ALIGN_UP(a->size, PAGE_SIZE);
        size_t off = (size_t)((x >> 4) % (mapped / PAGE_SIZE)) * PAGE_SIZE;
        pte_t *pe = vcr_varea_pte(a, off);
        if (!pe || !pte_present(*pe))
            vfail("corrupt: area %p page %zu has no present PTE", a->addr, off / PAGE_SIZE);
        if (victim == FUZZ_VCR_VMALLOC_GUARD && (x & 2)) {
            /* variant: an entry (counted) in the free page after the guard page -> vmalloc.pte */
            uintptr_t s0;
            size_t sz0;
            ptep = vcr_varea_pte(a, mapped + PAGE_SIZE);
            if (!ptep || *ptep || vmalloc_area_of((const char *)a->addr + mapped + PAGE_SIZE, &s0, &sz0))
                return false;
            p = virt_to_page(ptep);
            vcr_save(ptep, sizeof(*ptep));
            vcr_save(&p->private_data, sizeof(p->private_data));
            *ptep = *pe;
            p->private_data++;
            names[0] = "vmalloc.pte";
        } else if (victim == FUZZ_VCR_VMALLOC_GUARD) {
            ptep = vcr_varea_pte(a, mapped);
            if (!ptep || *ptep)
                return false; /* no table there (or the check will fail anyway) */
            p = virt_to_page(ptep); /* keep the table's entry count right: only the guard breaks */
            vcr_save(ptep, sizeof(*ptep));
            vcr_save(&p->private_data, sizeof(p->private_data));
            *ptep = *pe;
            p->private_data++;
            names[0] = "vmalloc.guard";
        } else if (victim == FUZZ_VCR_VMALLOC_PAGE) {
            unsigned long pfn = MM_PFN_DOWN(pte_addr(*pe));
            unsigned long other = (x & 1) ? pfn + 1 : (pfn ? pfn - 1 : pfn + 1);
            struct page *f = (x & 2) ? alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0) : NULL;
            if (f) { /* a page that is free while the check runs */
                __free_pages(f, 0);
                other = page_to_pfn(f);
            }
            vcr_save(pe, sizeof(*pe));
            *pe = (*pe & PTE_FLAGS_MASK) | ((pte_t)other << PAGE_SHIFT);
            /* a neighbour pfn beyond memory is a broken leaf for every page table, which the
             * page-table check (run before the vmalloc one) names; inside memory the leaf is
             * well formed and only the vmalloc layer knows the page is not the area's */
            names[0] = pfn_valid(other) ? "vmalloc.page" : "pt.leaf";
        } else {
            static const pte_t bits[4] = { PTE_NX, PTE_G, PTE_US, PTE_PCD };
            vcr_save(pe, sizeof(*pe));
            *pe ^= bits[x % 4];
            names[0] = "vmalloc.pte";
        }
        break;
    }
    case FUZZ_VCR_PT_LEAF:
        if (!(ptep = vcr_find_pte(x, VCR_PRESENT, &mi, &va)))
            return false;
        vcr_save(ptep, sizeof(*ptep));
        *ptep = (*ptep & PTE_FLAGS_MASK) | ((pte_t)(mm_max_pfn + x % 1024) << PAGE_SHIFT);
        names[0] = "pt.leaf";
        break;
    case FUZZ_VCR_PT_UPPER:
    case FUZZ_VCR_PT_DUP: {
        /* the top-level table of an address space (user half) or of the vmalloc range */
        mm = (x & 8) ? NULL : vcr_mm_pick(x);
        if (!(x & 8) && !mm)
            return false;
        struct page_table *pt = mm ? &mm->pt : &mm_state.vmalloc.pt;
        pte_t *top = env_phys_to_virt(pt->root);
        unsigned int used = PT_ENTRIES, empty = PT_ENTRIES;
        for (unsigned int k = 0; k < PT_ENTRIES; k++) {
            unsigned int i = (k + (x >> 4)) % PT_ENTRIES;
            if (top[i] && used == PT_ENTRIES)
                used = i;
            if (!top[i] && empty == PT_ENTRIES && ((x & 8) ? i >= PT_ENTRIES / 2 : i < PT_ENTRIES / 2))
                empty = i;
        }
        if (used == PT_ENTRIES)
            return false;
        if (victim == FUZZ_VCR_PT_DUP) {
            if (empty == PT_ENTRIES)
                return false;
            p = virt_to_page(top);
            vcr_save(&top[empty], sizeof(top[empty]));
            vcr_save(&p->private_data, sizeof(p->private_data));
            top[empty] = top[used];
            p->private_data++;
            names[0] = "pt.duplicate";
        } else if (x % 3 == 0 || ((x & 8) && x % 3 == 1)) {
            /* (the vmalloc table only this way: vmalloc_check walks its tables with pt_walk
             * before pt_check validates them, and an entry beyond memory crashes that walk) */
            vcr_save(&top[used], sizeof(top[used]));
            top[used] &= ~PTE_P;
            names[0] = "pt.table";
        } else if (x % 3 == 1) {
            vcr_save(&top[used], sizeof(top[used]));
            top[used] = (top[used] & PTE_FLAGS_MASK) | ((pte_t)(mm_max_pfn + x % 64) << PAGE_SHIFT);
            names[0] = "pt.table";
        } else {
            p = pfn_to_page(MM_PFN_DOWN(pte_addr(top[used])));
            vcr_save(&p->flags, sizeof(p->flags));
            p->flags &= ~PG_pgtable;
            names[0] = "pt.table";
            names[1] = "page.stray"; /* the page checks may see the plain allocated page first */
        }
        break;
    }
    default:
        return false;
    }
    VM_TRACE("  corrupted, expecting %s%s%s", names[0], names[1] ? " or " : "", names[1] ? names[1] : "");
    int err = mm_check(&rep);
    /* the incremental checker, on the same damage (judged after mm_check's own verdicts) */
    const char *step = err == -MM_ECORRUPT && rep.invariant ?
                       fz_step_disagrees(rep.invariant, names, 3) : NULL;
    vcr_restore();
    fuzz_digest_ok(true);
    fuzz_digest_err(err);
    fuzz_digest_str(rep.invariant);
    if (err != -MM_ECORRUPT || rep.err != -MM_ECORRUPT || !rep.invariant)
        vfail("checker-missed-corruption: mm_check returned %s (report err %s, invariant %s), "
              "expected ECORRUPT %s", mm_strerror(err), mm_strerror(rep.err),
              rep.invariant ? rep.invariant : "none", names[0]);
    uint32_t i;
    for (i = 0; i < 3 && names[i]; i++)
        if (vm_same_name(names[i], rep.invariant))
            break;
    if (i == 3 || !names[i])
        vfail("checker-wrong-invariant: mm_check named %s (%s), expected %s%s%s", rep.invariant,
              rep.detail, names[0], names[1] ? " or " : "", names[1] ? names[1] : "");
    if (step)
        vfail("%s", step);
    VM_TRACE("  mm_check: %s: %s", rep.invariant, rep.detail);
    err = mm_check(&rep);
    if (err)
        vfail("checker-after-restore: mm_check returned %s naming %s (%s) once the original bytes "
              "were back", mm_strerror(err), rep.invariant ? rep.invariant : "?", rep.detail);
    return true;
}

/* ---- vm vmisuse KIND h= ----
 *
 * Each misuse must return the documented error (vmalloc.h, kmalloc.c), add exactly one misuse
 * report of the documented kind (mm_misuse_last: kind and err), and change nothing: the vmalloc
 * statistics (areas, pages) are the same and every model area still holds its contents.
 * free-mapped, free-vmapped, kfree-vma and kfree-vmap-area (the mm's own metadata) are refused
 * the same way; the model's check after the op reads every user page back.
 */

static struct page *vmis_pages[2];
static uint64_t vmis_not_a_page[8];

static void vmis_expect(const char *what, long ret, long want, enum mm_misuse_kind kind,
                        unsigned long before, unsigned long before_kind)
{
    struct mm_misuse last;
    fuzz_digest_count((uint64_t)ret);
    fuzz_digest_count(mm_misuse_count() - before);
    if (ret != want)
        vfail("%s = %ld (%s), expected %s", what, ret, mm_strerror((int)ret), mm_strerror((int)want));
    if (mm_misuse_count() != before + 1 || mm_misuse_count_kind(kind) != before_kind + 1)
        vfail("%s: %lu misuse reports (%lu of kind %s), expected exactly one", what,
              mm_misuse_count() - before, mm_misuse_count_kind(kind) - before_kind, mm_misuse_name(kind));
    fuzz_digest_count(mm_misuse_last(&last) ? last.kind : ~0u);
    if (!mm_misuse_last(&last) || last.kind != kind)
        vfail("%s: last misuse report is %s, expected %s", what, mm_misuse_name(last.kind),
              mm_misuse_name(kind));
    if (want && last.err != (int)want)
        vfail("%s: misuse report err %s, returned %s", what, mm_strerror(last.err), mm_strerror((int)want));
    VM_TRACE("  %s: %s, misuse %s: %s", what, mm_strerror((int)ret), mm_misuse_name(kind), last.detail);
}

/* A NULL pointer result: the report carries the error the call would have returned. */
static void vmis_expect_null(const char *what, const void *p, int err, enum mm_misuse_kind kind,
                             unsigned long before, unsigned long before_kind)
{
    if (p)
        vfail("%s = %p, expected NULL", what, p);
    vmis_expect(what, err, err, kind, before, before_kind);
}

static int vmis_free(const struct varea *a, const void *p)
{
    return a->vmap ? vunmap(p) : vfree(p);
}

struct vmis_find {
    uint32_t n, want;
    struct page *page;
};

/* The @want-th (modulo what there is) anonymous page a PTE of the current address space maps. */
static int vmis_find_cb(void *arg, uintptr_t va, pte_t *ptep)
{
    struct vmis_find *f = arg;
    unsigned long pfn = MM_PFN_DOWN(pte_addr(*ptep));
    if (!pte_present(*ptep) || (*ptep & PTE_SW_ZERO) || !pfn_valid(pfn))
        return 0;
    struct page *p = pfn_to_page(pfn);
    if (p->flags != PG_head || p->order != 0 || p == mm_state.vm.zero_page)
        return 0;
    if (!f->page || f->n <= f->want)
        f->page = p;
    f->n++;
    return 0;
}

/* __free_pages of a mapped anonymous page, or kfree of a VMA: refused, nothing changes (the
 * model's check after the op reads every page back). */
static void vmis_mm_metadata(uint32_t kind, uint32_t h, enum mm_misuse_kind want, unsigned long mis,
                             unsigned long mk)
{
    struct vmm *m = vm_cur_mm();
    if (!m || !m->mm)
        return;
    if (kind == FUZZ_VMIS_KFREE_VMA) {
        struct vm_area_struct *v = find_vma(m->mm, (uintptr_t)(h % 64) * PAGE_SIZE * 4096);
        if (!v && !(v = find_vma(m->mm, 0)))
            return;
        vmis_expect("kfree(VMA)", kfree(v), -MM_EINVAL, want, mis, mk);
        return;
    }
    struct vmis_find f = { .want = h };
    pt_visit(&m->mm->pt, ARCH_USER_VA_START, ARCH_USER_VA_END, vmis_find_cb, &f);
    if (!f.page)
        return;
    int32_t ref = f.page->refcount, map = f.page->mapcount;
    vmis_expect("__free_pages(mapped page)", __free_pages(f.page, 0), -MM_EBUSY, want, mis, mk);
    if (f.page->refcount != ref || f.page->mapcount != map || f.page->flags != PG_head)
        vfail("the refused free changed the page: refcount %d -> %d, mapcount %d -> %d", ref,
              (int)f.page->refcount, map, (int)f.page->mapcount);
}

/* __free_pages (even h) or free_pages (odd h) of a page of a live vmap area (the h-th modulo
 * their number, its page h / 2 modulo its pages): refused, the page keeps its reference and its vmap mark (the area's
 * contents are read back after the op). No vmap area: nothing to do. */
static void vmis_free_vmapped(uint32_t h, enum mm_misuse_kind want, unsigned long mis,
                              unsigned long mk)
{
    uint32_t n = 0, pick;
    for (uint32_t i = 0; i < vm_fz.nva; i++)
        n += vm_fz.va[i].vmap;
    if (!n)
        return;
    pick = h % n;
    const struct varea *a = vm_fz.va;
    while (!a->vmap || pick--)
        a++;
    struct page *p = a->pages[(h >> 1) % a->n];
    uint32_t flags = p->flags;
    int32_t ref = p->refcount;
    int ret = (h & 1) ? free_pages((uintptr_t)page_address(p), 0) : __free_pages(p, 0);
    vmis_expect((h & 1) ? "free_pages(vmapped page)" : "__free_pages(vmapped page)", ret, -MM_EBUSY,
                want, mis, mk);
    if (p->refcount != ref || p->flags != flags || !page_vmap_count(p))
        vfail("the refused free changed the page: refcount %d -> %d, flags 0x%x -> 0x%x", ref,
              (int)p->refcount, flags, p->flags);
}

void vm_vmisuse(uint32_t kind, uint32_t h)
{
    struct vmalloc_stats st0, st1;
    unsigned long mis, mk;
    const struct varea *a = vm_fz.nva ? &vm_fz.va[h % vm_fz.nva] : NULL;
    void *p;
    long ret;
    enum mm_misuse_kind want;

    vmalloc_get_stats(&st0);
    static const enum mm_misuse_kind kinds[FUZZ_NR_VMIS] = {
        [FUZZ_VMIS_INTERIOR] = MM_MISUSE_BAD_ADDRESS, [FUZZ_VMIS_GUARD] = MM_MISUSE_BAD_ADDRESS,
        [FUZZ_VMIS_FOREIGN] = MM_MISUSE_BAD_ADDRESS, [FUZZ_VMIS_KMALLOC] = MM_MISUSE_BAD_ADDRESS,
        [FUZZ_VMIS_NOWHERE] = MM_MISUSE_BAD_ADDRESS, [FUZZ_VMIS_DOUBLE_VFREE] = MM_MISUSE_DOUBLE_FREE,
        [FUZZ_VMIS_DOUBLE_VUNMAP] = MM_MISUSE_DOUBLE_FREE, [FUZZ_VMIS_WRONG_KIND] = MM_MISUSE_BAD_ARGUMENT,
        [FUZZ_VMIS_VMAP_NULL] = MM_MISUSE_BAD_ARGUMENT, [FUZZ_VMIS_VMAP_ZERO] = MM_MISUSE_BAD_ARGUMENT,
        [FUZZ_VMIS_VMAP_WX] = MM_MISUSE_BAD_ARGUMENT, [FUZZ_VMIS_VMAP_BITS] = MM_MISUSE_BAD_ARGUMENT,
        [FUZZ_VMIS_VMAP_NOTPAGE] = MM_MISUSE_BAD_ARGUMENT, [FUZZ_VMIS_VMAP_FREE] = MM_MISUSE_BAD_ARGUMENT,
        [FUZZ_VMIS_HUGE] = MM_MISUSE_SIZE_OVERFLOW, [FUZZ_VMIS_KFREE] = MM_MISUSE_NOT_SLAB,
        [FUZZ_VMIS_FREE_MAPPED] = MM_MISUSE_STILL_MAPPED,
        [FUZZ_VMIS_KFREE_VMA] = MM_MISUSE_INTERNAL_OBJECT,
        [FUZZ_VMIS_KFREE_AREA] = MM_MISUSE_INTERNAL_OBJECT,
        [FUZZ_VMIS_FREE_VMAPPED] = MM_MISUSE_STILL_MAPPED,
    };
    want = kinds[kind];
    mis = mm_misuse_count();
    mk = mm_misuse_count_kind(want);
    switch (kind) {
    case FUZZ_VMIS_INTERIOR:
    case FUZZ_VMIS_GUARD:
    case FUZZ_VMIS_WRONG_KIND:
    case FUZZ_VMIS_KFREE: {
        if (!a)
            return;
        size_t mapped = MM_ALIGN_UP(a->size, PAGE_SIZE);
        if (kind == FUZZ_VMIS_INTERIOR) {
            size_t off = (h & 1) || mapped == PAGE_SIZE ? 1 + (h >> 1) % (PAGE_SIZE - 1)
                                                         : PAGE_SIZE * (1 + (h >> 1) % (mapped / PAGE_SIZE - 1));
            ret = vmis_free(a, (const char *)a->addr + off);
            vmis_expect(a->vmap ? "vunmap(interior)" : "vfree(interior)", ret, -MM_EINVAL, want, mis, mk);
        } else if (kind == FUZZ_VMIS_GUARD) {
            ret = vmis_free(a, (const char *)a->addr + mapped + (h & 1 ? 8 : 0));
            vmis_expect(a->vmap ? "vunmap(guard)" : "vfree(guard)", ret, -MM_EINVAL, want, mis, mk);
        } else if (kind == FUZZ_VMIS_WRONG_KIND) {
            ret = a->vmap ? vfree(a->addr) : vunmap(a->addr);
            vmis_expect(a->vmap ? "vfree(vmap area)" : "vunmap(vmalloc area)", ret, -MM_EINVAL, want, mis, mk);
        } else {
            ret = kfree(a->addr);
            vmis_expect("kfree(vmalloc area)", ret, -MM_EINVAL, want, mis, mk);
        }
        break;
    }
    case FUZZ_VMIS_FOREIGN:
        ret = (h & 1) ? vunmap((const void *)(uintptr_t)(PAGE_SIZE * (1 + h))) : vfree((const void *)(uintptr_t)(PAGE_SIZE * (1 + h)));
        vmis_expect("vfree(no memory)", ret, -MM_EFAULT, want, mis, mk);
        break;
    case FUZZ_VMIS_KMALLOC: {
        void *k = kmalloc(16 + h * 8, GFP_KERNEL | __GFP_NOWARN);
        if (!k) {
            if (!vm_oom_justified())
                vfail("kmalloc(%u) failed with memory available", 16 + h * 8);
            return;
        }
        ret = (h & 1) ? vunmap(k) : vfree(k);
        vmis_expect("vfree(kmalloc pointer)", ret, -MM_EFAULT, want, mis, mk);
        if ((ret = kfree(k)))
            vfail("kfree after the rejected vfree = %s", mm_strerror((int)ret));
        break;
    }
    case FUZZ_VMIS_NOWHERE: {
        uintptr_t s;
        size_t sz;
        uintptr_t addr = st0.end - PAGE_SIZE * (1 + h % 16);
        if (vmalloc_area_of((const void *)addr, &s, &sz) ||
            vmalloc_area_of((const void *)(addr - PAGE_SIZE), &s, &sz))
            return; /* the end of the range is in use (or its guard page) */
        ret = vfree((const void *)addr);
        vmis_expect("vfree(free vmalloc space)", ret, -MM_EINVAL, want, mis, mk);
        break;
    }
    case FUZZ_VMIS_DOUBLE_VFREE:
    case FUZZ_VMIS_DOUBLE_VUNMAP: {
        if (kind == FUZZ_VMIS_DOUBLE_VFREE) {
            p = vmalloc(PAGE_SIZE * (1 + h % 3));
        } else {
            vmis_pages[0] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
            p = vmis_pages[0] ? vmap(vmis_pages, 1, VMALLOC_PROT_KERNEL) : NULL;
        }
        if (!p) {
            /* judged before the page goes back: up to 3 pages + node + tables */
            if (!vm_oom_justified_n(3 + VM_OOM_NEED_OP + 1))
                vfail("vmalloc/vmap for a double free failed with memory available");
            if (kind == FUZZ_VMIS_DOUBLE_VUNMAP && vmis_pages[0])
                __free_pages(vmis_pages[0], 0);
            return;
        }
        ret = kind == FUZZ_VMIS_DOUBLE_VFREE ? vfree(p) : vunmap(p);
        if (ret)
            vfail("first %s(%p) = %s", kind == FUZZ_VMIS_DOUBLE_VFREE ? "vfree" : "vunmap", p,
                  mm_strerror((int)ret));
        vmalloc_get_stats(&st0);
        mis = mm_misuse_count();
        mk = mm_misuse_count_kind(want);
        ret = kind == FUZZ_VMIS_DOUBLE_VFREE ? vfree(p) : vunmap(p);
        vmis_expect(kind == FUZZ_VMIS_DOUBLE_VFREE ? "second vfree" : "second vunmap", ret, -MM_EINVAL,
                    want, mis, mk);
        if (kind == FUZZ_VMIS_DOUBLE_VUNMAP)
            __free_pages(vmis_pages[0], 0);
        break;
    }
    case FUZZ_VMIS_VMAP_NULL:
    case FUZZ_VMIS_VMAP_ZERO:
    case FUZZ_VMIS_VMAP_WX:
    case FUZZ_VMIS_VMAP_BITS:
    case FUZZ_VMIS_VMAP_NOTPAGE:
    case FUZZ_VMIS_VMAP_FREE: {
        static const char *const what[] = { "vmap(NULL)", "vmap(count 0)", "vmap(W+X)", "vmap(user bit)",
                                            "vmap(not a page)", "vmap(free page)" };
        struct page *held = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
        if (!held) {
            if (!vm_oom_justified())
                vfail("alloc_pages for vmap misuse failed with memory available");
            return;
        }
        vmis_pages[0] = vmis_pages[1] = held;
        unsigned int count = 1 + (h & 1);
        pte_t prot = (h & 2) ? VMALLOC_PROT_KERNEL_RO : VMALLOC_PROT_KERNEL;
        struct page **pg = vmis_pages;
        if (kind == FUZZ_VMIS_VMAP_NULL)
            pg = NULL;
        else if (kind == FUZZ_VMIS_VMAP_ZERO)
            count = 0;
        else if (kind == FUZZ_VMIS_VMAP_WX)
            prot = (VMALLOC_PROT_KERNEL & ~PTE_NX) | ((h & 4) ? PTE_A : 0);
        else if (kind == FUZZ_VMIS_VMAP_BITS)
            prot |= (h & 4) ? PTE_US : PTE_SW_COW;
        else if (kind == FUZZ_VMIS_VMAP_NOTPAGE)
            vmis_pages[count - 1] = (struct page *)(void *)&vmis_not_a_page[h % 4];
        if (kind == FUZZ_VMIS_VMAP_FREE)
            __free_pages(held, 0);
        p = vmap(pg, count, prot);
        vmis_expect_null(what[kind - FUZZ_VMIS_VMAP_NULL], p, -MM_EINVAL, want, mis, mk);
        if (kind != FUZZ_VMIS_VMAP_FREE)
            __free_pages(held, 0);
        break;
    }
    case FUZZ_VMIS_HUGE: {
        uint64_t range = st0.end - st0.start;
        if (h & 1) {
            unsigned int count = (unsigned int)MM_MIN((uint64_t)UINT32_MAX, (range >> PAGE_SHIFT) + 1 + h);
            vmis_pages[0] = vmis_pages[1] = NULL;
            if (((uint64_t)count << PAGE_SHIFT) <= range - PAGE_SIZE)
                return;
            p = vmap(vmis_pages, count, VMALLOC_PROT_KERNEL);
            vmis_expect_null("vmap(more pages than the range)", p, -MM_EINVAL, want, mis, mk);
        } else {
            p = vmalloc((size_t)range + (h >> 1) * PAGE_SIZE);
            vmis_expect_null("vmalloc(more than the range)", p, -MM_EINVAL, want, mis, mk);
        }
        break;
    }
    case FUZZ_VMIS_FREE_MAPPED:
    case FUZZ_VMIS_KFREE_VMA:
        vmis_mm_metadata(kind, h, want, mis, mk);
        break;
    case FUZZ_VMIS_FREE_VMAPPED:
        vmis_free_vmapped(h, want, mis, mk);
        break;
    case FUZZ_VMIS_KFREE_AREA: {
        /* a live area's struct vmap_area, or (odd h, or no area) a node of the area tree */
        void *meta = vm_fz.nva && !(h & 1) ? rtree_find(&mm_state.vmalloc.tree,
                                                    (uintptr_t)vm_fz.va[(h >> 1) % vm_fz.nva].addr)
                                       : (void *)mm_state.vmalloc.tree.root;
        if (!meta)
            return;
        ret = kfree(meta);
        vmis_expect(vm_fz.nva && !(h & 1) ? "kfree(vmap area)" : "kfree(range-tree node)", ret,
                    -MM_EINVAL, want, mis, mk);
        break;
    }
    default:
        return;
    }
    vmalloc_get_stats(&st1);
    if (st1.nr_areas != st0.nr_areas || st1.nr_pages != st0.nr_pages || st1.nr_owned != st0.nr_owned ||
        st1.nr_vmap_areas != st0.nr_vmap_areas)
        vfail("misuse changed the vmalloc range: areas %lu -> %lu, pages %lu -> %lu", st0.nr_areas,
              st1.nr_areas, st0.nr_pages, st1.nr_pages);
    for (uint32_t i = 0; i < vm_fz.nva; i++)
        vm_area_check(&vm_fz.va[i]);
}
