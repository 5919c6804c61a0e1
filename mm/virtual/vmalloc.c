/*
 * vmalloc.c - the vmalloc range: an address-ordered tree of areas with a guard page after each,
 * first-fit placement, the kernel PTEs that map the areas, vmalloc/vfree, vmap/vunmap, lookups,
 * statistics and the vmalloc invariant checker. The contract is vmalloc.h.
 *
 * Owns mm_state.vmalloc and the range in mm_state.core (set once, when vmalloc_init succeeds, so
 * the layers below may test an address with in_vmalloc_range), every struct vmap_area (kmalloc'd)
 * and the pages of vmalloc areas. The area tree:
 *
 *            [B gap=0]                    an AVL tree keyed by start; each node also holds
 *           /         \                   gap     = free bytes between the end of the previous
 *   [A gap=8K]       [S gap=1G-..]                  area's guard page (or the range start) and
 *                                                   this area's start
 *   list: A <-> B <-> S (sentinel)       max_gap = the largest gap in its subtree
 *
 * S is an empty sentinel area at the range end, so every free range is the gap before some node.
 * First fit for n bytes descends to the leftmost node whose gap holds n + a guard page: O(log n).
 * The new area goes at the start of that gap; only its successor's gap changes, and the successor
 * is on the insert path (likewise on removal), so one refresh of that path keeps max_gap right.
 *
 * Invariants (vmalloc_check): areas page aligned, non-empty, sorted and separated by at least
 * their guard page, inside the range; every guard page unmapped; every page of an area mapped
 * with the area's PTE bits to allocated memory (a vmalloc area: exactly the order-0 PG_head pages
 * on its list, in order); no PTE outside the areas; the tree's in-order sequence is the list, and
 * heights, balance, gaps and max_gaps are exact.
 *
 * Locking: mm_state.vmalloc.lock protects the tree, the list, the page table and the counters.
 * Pages and area nodes are allocated and freed outside it. A range is free for others only
 * when the lock is released after its PTEs and the CPU's mapping of it are gone (detach). Order:
 * vmalloc.lock may be taken under vm.lock (virtual/vm_lock.c); under it only the physical
 * layer's locks (page-table pages) and report.lock. An area is in the tree from the
 * moment its range is reserved (half-built areas are invisible only to vfree of a pointer nobody
 * has been given yet); mm_check-style checks need quiescence.
 */
#include "vm_internal.h"
#include "vmalloc.h"

enum vmap_area_kind {
    VMAP_AREA_ALLOC = 1, /* vmalloc: owns its pages */
    VMAP_AREA_MAP,       /* vmap: the caller's pages */
    VMAP_AREA_SENTINEL,  /* the empty area at the range end */
};

struct vmap_area {
    uintptr_t start;            /* first byte, page aligned */
    size_t size;                /* mapped bytes; the guard page follows */
    unsigned long nr_pages;     /* size >> PAGE_SHIFT */
    unsigned long nr_mapped;    /* pages mapped so far (== nr_pages once built) */
    unsigned int kind;          /* enum vmap_area_kind */
    pte_t prot;                 /* PTE bits of every page (PTE_P included) */
    uintptr_t alloc_site;       /* caller of vmalloc/vmap, for reports */
    struct list_head pages;     /* VMAP_AREA_ALLOC: its pages in address order (page->lru) */
    struct list_head list;      /* mm_state.vmalloc.areas, address order */
    struct vmap_area *left, *right;
    int height;
    uintptr_t gap, max_gap;     /* see the file comment */
};

#define VMALLOC_FREED_SLOTS MM_ARRAY_SIZE(mm_state.vmalloc.freed)

static inline uintptr_t va_map_end(const struct vmap_area *va) { return va->start + va->size; }
/* One past the area's guard page: where the next area may start. */
static inline uintptr_t va_guard_end(const struct vmap_area *va) { return va_map_end(va) + PAGE_SIZE; }

/* ---- the AVL tree ---- */

static inline int va_height(const struct vmap_area *n) { return n ? n->height : 0; }
static inline uintptr_t va_max_gap(const struct vmap_area *n) { return n ? n->max_gap : 0; }

static void va_update(struct vmap_area *n)
{
    n->height = 1 + MM_MAX(va_height(n->left), va_height(n->right));
    n->max_gap = MM_MAX(n->gap, MM_MAX(va_max_gap(n->left), va_max_gap(n->right)));
}

static struct vmap_area *va_rotate_right(struct vmap_area *n)
{
    struct vmap_area *l = n->left;
    n->left = l->right;
    l->right = n;
    va_update(n);
    va_update(l);
    return l;
}

static struct vmap_area *va_rotate_left(struct vmap_area *n)
{
    struct vmap_area *r = n->right;
    n->right = r->left;
    r->left = n;
    va_update(n);
    va_update(r);
    return r;
}

/* Recompute @n and restore the AVL balance at it; returns the subtree's new root. */
static struct vmap_area *va_balance(struct vmap_area *n)
{
    va_update(n);
    int bf = va_height(n->left) - va_height(n->right);
    if (bf > 1) {
        if (va_height(n->left->left) < va_height(n->left->right))
            n->left = va_rotate_left(n->left);
        return va_rotate_right(n);
    }
    if (bf < -1) {
        if (va_height(n->right->right) < va_height(n->right->left))
            n->right = va_rotate_right(n->right);
        return va_rotate_left(n);
    }
    return n;
}

static struct vmap_area *va_insert(struct vmap_area *root, struct vmap_area *n)
{
    if (!root) {
        n->left = n->right = NULL;
        va_update(n);
        return n;
    }
    if (n->start < root->start)
        root->left = va_insert(root->left, n);
    else
        root->right = va_insert(root->right, n);
    return va_balance(root);
}

static struct vmap_area *va_remove_min(struct vmap_area *root, struct vmap_area **min)
{
    if (!root->left) {
        *min = root;
        return root->right;
    }
    root->left = va_remove_min(root->left, min);
    return va_balance(root);
}

static struct vmap_area *va_remove(struct vmap_area *root, const struct vmap_area *n)
{
    if (!root)
        return NULL;
    if (n->start < root->start) {
        root->left = va_remove(root->left, n);
    } else if (n->start > root->start) {
        root->right = va_remove(root->right, n);
    } else {
        if (!root->left || !root->right)
            return root->left ? root->left : root->right;
        struct vmap_area *m;
        struct vmap_area *rest = va_remove_min(root->right, &m);
        m->left = root->left;
        m->right = rest;
        return va_balance(m);
    }
    return va_balance(root);
}

/* Recompute max_gap along the path to the node at @key (after its gap changed). */
static void va_refresh(struct vmap_area *n, uintptr_t key)
{
    if (!n)
        return;
    if (key < n->start)
        va_refresh(n->left, key);
    else if (key > n->start)
        va_refresh(n->right, key);
    va_update(n);
}

/* The leftmost node whose gap holds @need bytes, or NULL. */
static struct vmap_area *va_find_gap(struct vmap_area *n, uintptr_t need)
{
    while (n) {
        if (va_max_gap(n->left) >= need)
            n = n->left;
        else if (n->gap >= need)
            return n;
        else if (va_max_gap(n->right) >= need)
            n = n->right;
        else
            return NULL;
    }
    return NULL;
}

/* The area with the highest start <= @addr, or NULL. */
static struct vmap_area *va_floor_locked(uintptr_t addr)
{
    struct vmap_area *n = mm_state.vmalloc.root, *best = NULL;
    while (n) {
        if (n->start <= addr) {
            best = n;
            n = n->right;
        } else {
            n = n->left;
        }
    }
    return best;
}

/* Place @va at the start of the gap before @next and link it into the tree and list. */
static void va_link_locked(struct vmap_area *va, struct vmap_area *next)
{
    va->start = next->start - next->gap;
    va->gap = 0;
    next->gap -= va->size + PAGE_SIZE;
    mm_state.vmalloc.root = va_insert(mm_state.vmalloc.root, va);
    va_refresh(mm_state.vmalloc.root, next->start);
    list_add_tail(&va->list, &next->list);
}

static void va_unlink_locked(struct vmap_area *va)
{
    struct vmap_area *next = list_entry(va->list.next, struct vmap_area, list);
    next->gap += va->gap + va->size + PAGE_SIZE;
    mm_state.vmalloc.root = va_remove(mm_state.vmalloc.root, va);
    va_refresh(mm_state.vmalloc.root, next->start);
    list_del(&va->list);
}

/* ---- freed-area history (tells a double free from a wild pointer) ---- */

static void vmalloc_remember_freed_locked(uintptr_t start)
{
    mm_state.vmalloc.freed[mm_state.vmalloc.freed_next] = start;
    mm_state.vmalloc.freed_next = (mm_state.vmalloc.freed_next + 1) % VMALLOC_FREED_SLOTS;
}

/* A new area covers [start, guard end): starts of freed areas in there are live again. */
static void vmalloc_forget_freed_locked(const struct vmap_area *va)
{
    for (unsigned int i = 0; i < VMALLOC_FREED_SLOTS; i++) {
        uintptr_t s = mm_state.vmalloc.freed[i];
        if (s >= va->start && s < va_guard_end(va))
            mm_state.vmalloc.freed[i] = 0;
    }
}

static bool vmalloc_was_freed_locked(uintptr_t addr)
{
    for (unsigned int i = 0; i < VMALLOC_FREED_SLOTS; i++)
        if (addr && mm_state.vmalloc.freed[i] == addr)
            return true;
    return false;
}

/* ---- reserving and releasing ranges ---- */

/* The gfp bits that make sense for metadata (area nodes, table pages). */
static gfp_t vmalloc_meta_gfp(gfp_t gfp)
{
    return gfp & (__GFP_HIGH | __GFP_ATOMIC | __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM |
                  __GFP_NOWARN);
}

/**
 * Reserve @nr_pages pages plus a guard page at the lowest free address. Returns the area (linked,
 * nothing mapped) or NULL: no node memory, or no gap is large enough.
 */
static struct vmap_area *vmalloc_reserve(unsigned long nr_pages, unsigned int kind, pte_t prot,
                                         gfp_t gfp, uintptr_t site)
{
    struct vmap_area *va = kmalloc(sizeof(*va), vmalloc_meta_gfp(gfp));
    if (!va)
        return NULL;
    *va = (struct vmap_area){ .size = nr_pages << PAGE_SHIFT, .nr_pages = nr_pages, .kind = kind,
                              .prot = prot | PTE_P, .alloc_site = site };
    list_init(&va->pages);
    env_spin_lock(&mm_state.vmalloc.lock);
    struct vmap_area *next = va_find_gap(mm_state.vmalloc.root, va->size + PAGE_SIZE);
    if (next) {
        va_link_locked(va, next);
        vmalloc_forget_freed_locked(va);
        mm_state.vmalloc.nr_areas++;
        mm_state.vmalloc.nr_vmap += kind == VMAP_AREA_MAP;
    }
    env_spin_unlock(&mm_state.vmalloc.lock);
    if (!next) {
        kfree(va);
        return NULL;
    }
    return va;
}

/*
 * Take @va out of the tree, clear its PTEs and drop the CPU's view of the range. Caller holds the
 * lock. The CPU's mapping goes here, under the lock, not after it: once the lock is released the
 * range is free, and another CPU's vmalloc may take it and map its own pages there, which a late
 * env_kernel_unmap would tear down (the stress found this: a CPU faulted on its fresh area).
 */
static void vmalloc_detach_locked(struct vmap_area *va, bool remember)
{
    va_unlink_locked(va);
    pt_unmap(&mm_state.vmalloc.pt, va->start, va_guard_end(va), NULL, NULL);
    if (va->size)
        env_kernel_unmap(va->start, va->size);
    if (env_shadow_enabled)
        env_poison((void *)va->start, va->size + PAGE_SIZE, ENV_POISON_UNUSED);
    mm_state.vmalloc.nr_areas--;
    mm_state.vmalloc.nr_vmap -= va->kind == VMAP_AREA_MAP;
    mm_state.vmalloc.nr_pages -= va->nr_mapped;
    if (va->kind == VMAP_AREA_ALLOC)
        mm_state.vmalloc.nr_owned -= va->nr_mapped;
    if (remember)
        vmalloc_remember_freed_locked(va->start);
}

/* After detach: free the owned pages and the node (the range may be someone else's by now). */
static void vmalloc_destroy(struct vmap_area *va)
{
    while (!list_empty(&va->pages)) {
        struct page *p = list_entry(va->pages.next, struct page, lru);
        list_del(&p->lru);
        __free_page(p);
    }
    kfree(va);
}

/* ---- mapping ---- */

/* A run of pages contiguous both virtually and physically: one env_kernel_map call. */
struct vmalloc_run {
    uintptr_t va;
    phys_addr_t pa;
    size_t size;
    bool writable;
};

static void vmalloc_run_flush(struct vmalloc_run *r)
{
    if (r->size)
        env_kernel_map(r->va, r->pa, r->size, r->writable);
    r->size = 0;
}

static void vmalloc_run_add(struct vmalloc_run *r, uintptr_t va, phys_addr_t pa)
{
    if (r->size && r->va + r->size == va && r->pa + r->size == pa) {
        r->size += PAGE_SIZE;
        return;
    }
    vmalloc_run_flush(r);
    r->va = va;
    r->pa = pa;
    r->size = PAGE_SIZE;
}

/* Map @p as the next page of @va. Returns 0 or -MM_ENOMEM (no table page; nothing changed). */
static int vmalloc_map_next(struct vmap_area *va, struct page *p, gfp_t gfp, struct vmalloc_run *r)
{
    uintptr_t addr = va->start + (va->nr_mapped << PAGE_SHIFT);
    phys_addr_t pa = page_to_phys(p);
    env_spin_lock(&mm_state.vmalloc.lock);
    int err = pt_set(&mm_state.vmalloc.pt, addr, pa | va->prot, vmalloc_meta_gfp(gfp));
    if (!err) {
        va->nr_mapped++;
        mm_state.vmalloc.nr_pages++;
        if (va->kind == VMAP_AREA_ALLOC)
            mm_state.vmalloc.nr_owned++;
    }
    env_spin_unlock(&mm_state.vmalloc.lock);
    if (!err)
        vmalloc_run_add(r, addr, pa);
    return err;
}

/* A fully mapped area becomes usable: open its pages to checked code and close its guard page. */
static void *vmalloc_publish(struct vmap_area *va, struct vmalloc_run *r)
{
    vmalloc_run_flush(r);
    if (env_shadow_enabled) {
        env_unpoison((void *)va->start, va->size);
        env_poison((void *)va_map_end(va), PAGE_SIZE, ENV_POISON_REDZONE);
    }
    return (void *)va->start;
}

/* Undo a half-built area: everything taken so far goes back. */
static void *vmalloc_abort(struct vmap_area *va, struct vmalloc_run *r)
{
    vmalloc_run_flush(r);
    env_spin_lock(&mm_state.vmalloc.lock);
    vmalloc_detach_locked(va, false);
    mm_state.vmalloc.nr_fail++;
    env_spin_unlock(&mm_state.vmalloc.lock);
    vmalloc_destroy(va);
    return NULL;
}

static void *vmalloc_fail(void)
{
    env_spin_lock(&mm_state.vmalloc.lock);
    mm_state.vmalloc.nr_fail++;
    env_spin_unlock(&mm_state.vmalloc.lock);
    return NULL;
}

/* Pages of a @bytes request, or 0 after reporting why it cannot be served. */
static unsigned long vmalloc_check_size(uint64_t bytes, const char *func, uintptr_t arg)
{
    if (!mm_state.vmalloc.ready) {
        mm_report_misuse(MM_MISUSE_NOT_READY, -MM_EINVAL, func, arg, ~0ul,
                         "%s before vmalloc_init", func);
        return 0;
    }
    uint64_t range = mm_state.core.vmalloc_end - mm_state.core.vmalloc_start;
    if (bytes > range - PAGE_SIZE) {
        mm_report_misuse(MM_MISUSE_SIZE_OVERFLOW, -MM_EINVAL, func, arg, ~0ul,
                         "%llu bytes exceed the vmalloc range (%llu bytes)",
                         (unsigned long long)bytes, (unsigned long long)range);
        return 0;
    }
    return (unsigned long)MM_PFN_UP(bytes);
}

static void *vmalloc_site(size_t size, gfp_t gfp, uintptr_t site)
{
    if (size == 0)
        return NULL; /* like kmalloc(0): nothing to hand out, not misuse */
    unsigned long nr = vmalloc_check_size(size, "vmalloc", size);
    struct vmap_area *va = nr ? vmalloc_reserve(nr, VMAP_AREA_ALLOC, VMALLOC_PROT_KERNEL, gfp, site)
                              : NULL;
    if (!va)
        return vmalloc_fail();
    struct vmalloc_run run = { .writable = true };
    while (va->nr_mapped < va->nr_pages) {
        struct page *p;
        if (page_alloc_try(gfp, 0, &p))
            return vmalloc_abort(va, &run);
        list_add_tail(&p->lru, &va->pages);
        if (vmalloc_map_next(va, p, gfp, &run))
            return vmalloc_abort(va, &run);
    }
    return vmalloc_publish(va, &run);
}

void *vmalloc(size_t size)
{
    return vmalloc_site(size, GFP_KERNEL | __GFP_HIGHMEM, (uintptr_t)__builtin_return_address(0));
}

void *vzalloc(size_t size)
{
    return vmalloc_site(size, GFP_KERNEL | __GFP_HIGHMEM | __GFP_ZERO,
                        (uintptr_t)__builtin_return_address(0));
}

void *__vmalloc(size_t size, gfp_t gfp)
{
    return vmalloc_site(size, gfp, (uintptr_t)__builtin_return_address(0));
}

/* ---- vmap ---- */

/* True if @p is a page of an allocated block (its head or a tail). */
static bool vmalloc_page_allocated(const struct page *p)
{
    unsigned long pfn = page_to_pfn(p);
    for (unsigned int o = 0; o <= MM_MAX_ORDER; o++) {
        const struct page *h = pfn_to_page(pfn & ~((1ul << o) - 1));
        if (!(h->flags & (PG_head | PG_buddy | PG_pcp | PG_reserved)))
            continue;
        bool covers = (h->flags & PG_reserved) ? h == p : page_to_pfn(h) + (1ul << h->order) > pfn;
        if (covers)
            return (h->flags & PG_head) != 0;
    }
    return false;
}

/* Validate vmap's arguments; 0 or the reported error. */
static int vmap_check_args(struct page **pages, unsigned int count, pte_t prot)
{
    if ((prot & ~VMALLOC_PROT_ALLOWED) || ((prot & PTE_RW) && !(prot & PTE_NX)))
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "vmap", (uintptr_t)pages,
                                ~0ul, "vmap prot 0x%llx: unknown bits or writable+executable",
                                (unsigned long long)prot);
    for (unsigned int i = 0; i < count; i++) {
        struct page *p = pages[i];
        if (!page_pointer_valid(p))
            return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "vmap", (uintptr_t)p,
                                    ~0ul, "pages[%u] = %p is not a struct page", i, (void *)p);
        if (!vmalloc_page_allocated(p))
            return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "vmap", (uintptr_t)p,
                                    page_to_pfn(p), "pages[%u] (pfn 0x%lx) is not allocated", i,
                                    page_to_pfn(p));
    }
    return 0;
}

void *vmap(struct page **pages, unsigned int count, pte_t prot)
{
    uintptr_t site = (uintptr_t)__builtin_return_address(0);
    if (!pages || !count) {
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "vmap", (uintptr_t)pages, ~0ul,
                         "vmap of %u pages from %p", count, (void *)pages);
        return vmalloc_fail();
    }
    unsigned long nr = vmalloc_check_size((uint64_t)count << PAGE_SHIFT, "vmap", count);
    if (!nr || vmap_check_args(pages, count, prot))
        return vmalloc_fail();
    struct vmap_area *va = vmalloc_reserve(nr, VMAP_AREA_MAP, prot, GFP_KERNEL, site);
    if (!va)
        return vmalloc_fail();
    struct vmalloc_run run = { .writable = (prot & PTE_RW) != 0 };
    for (unsigned int i = 0; i < count; i++)
        if (vmalloc_map_next(va, pages[i], GFP_KERNEL, &run))
            return vmalloc_abort(va, &run);
    return vmalloc_publish(va, &run);
}

/* ---- vfree / vunmap ---- */

/* Report why @addr cannot be freed as an area of @kind. Caller holds the lock. */
static int vmalloc_reject_locked(uintptr_t addr, const struct vmap_area *va, unsigned int kind,
                                 const char *func)
{
    if (va && va->start == addr)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, func, addr, ~0ul,
                                "%p is a %s area: use %s", (void *)addr,
                                va->kind == VMAP_AREA_MAP ? "vmap" : "vmalloc",
                                va->kind == VMAP_AREA_MAP ? "vunmap" : "vfree");
    if (vmalloc_was_freed_locked(addr))
        return mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, func, addr, ~0ul,
                                "%p: area freed already", (void *)addr);
    if (va && addr < va_map_end(va))
        return mm_report_misuse(MM_MISUSE_BAD_ADDRESS, -MM_EINVAL, func, addr, ~0ul,
                                "%p is %lu bytes inside the area at %p, not its start",
                                (void *)addr, (unsigned long)(addr - va->start), (void *)va->start);
    if (va && addr < va_guard_end(va))
        return mm_report_misuse(MM_MISUSE_BAD_ADDRESS, -MM_EINVAL, func, addr, ~0ul,
                                "%p is the guard page of the area at %p", (void *)addr,
                                (void *)va->start);
    return mm_report_misuse(MM_MISUSE_BAD_ADDRESS, -MM_EINVAL, func, addr, ~0ul,
                            "%p is in no vmalloc area", (void *)addr);
}

static int vmalloc_reject_foreign(uintptr_t addr, const char *func)
{
    phys_addr_t pa = env_virt_to_phys((const void *)addr);
    if (pa != MM_PHYS_INVALID)
        return mm_report_misuse(MM_MISUSE_BAD_ADDRESS, -MM_EFAULT, func, addr, MM_PFN_DOWN(pa),
                                "%p is direct-map memory (pfn 0x%lx), not a vmalloc area",
                                (void *)addr, (unsigned long)MM_PFN_DOWN(pa));
    return mm_report_misuse(MM_MISUSE_BAD_ADDRESS, -MM_EFAULT, func, addr, ~0ul,
                            "%p is not a vmalloc address", (void *)addr);
}

/* Free the area starting at @p if it is a live area of @kind; otherwise report. */
static int vmalloc_free_area(const void *p, unsigned int kind, const char *func)
{
    uintptr_t addr = (uintptr_t)p;
    if (!mm_state.vmalloc.ready)
        return mm_report_misuse(MM_MISUSE_NOT_READY, -MM_EINVAL, func, addr, ~0ul,
                                "%s before vmalloc_init", func);
    if (!is_vmalloc_addr(p))
        return vmalloc_reject_foreign(addr, func);
    env_spin_lock(&mm_state.vmalloc.lock);
    struct vmap_area *va = va_floor_locked(addr);
    if (!va || va->start != addr || va->kind != kind) {
        int err = vmalloc_reject_locked(addr, va, kind, func);
        env_spin_unlock(&mm_state.vmalloc.lock);
        return err;
    }
    vmalloc_detach_locked(va, true);
    env_spin_unlock(&mm_state.vmalloc.lock);
    vmalloc_destroy(va);
    return 0;
}

int vfree(const void *addr)
{
    return addr ? vmalloc_free_area(addr, VMAP_AREA_ALLOC, __func__) : 0;
}

int vunmap(const void *addr)
{
    return addr ? vmalloc_free_area(addr, VMAP_AREA_MAP, __func__) : 0;
}

/* ---- lookups and statistics ---- */

bool is_vmalloc_addr(const void *addr)
{
    return in_vmalloc_range(addr); /* the range is [0, 0) until vmalloc_init succeeds */
}

struct page *vmalloc_to_page(const void *addr)
{
    if (!is_vmalloc_addr(addr))
        return NULL;
    env_spin_lock(&mm_state.vmalloc.lock);
    pte_t *ep = pt_walk(&mm_state.vmalloc.pt, (uintptr_t)addr & PAGE_MASK, false, 0);
    pte_t e = ep ? *ep : 0;
    env_spin_unlock(&mm_state.vmalloc.lock);
    unsigned long pfn = MM_PFN_DOWN(pte_addr(e));
    return pte_present(e) && pfn_valid(pfn) ? pfn_to_page(pfn) : NULL;
}

bool vmalloc_area_of(const void *addr, uintptr_t *start, size_t *size)
{
    if (!is_vmalloc_addr(addr))
        return false;
    env_spin_lock(&mm_state.vmalloc.lock);
    struct vmap_area *va = va_floor_locked((uintptr_t)addr);
    bool hit = va && va->kind != VMAP_AREA_SENTINEL && (uintptr_t)addr < va_guard_end(va);
    if (hit) {
        *start = va->start;
        *size = va->size;
    }
    env_spin_unlock(&mm_state.vmalloc.lock);
    return hit;
}

void vmalloc_get_stats(struct vmalloc_stats *st)
{
    *st = (struct vmalloc_stats){ 0 };
    if (!mm_state.vmalloc.ready)
        return;
    env_spin_lock(&mm_state.vmalloc.lock);
    st->start = mm_state.core.vmalloc_start;
    st->end = mm_state.core.vmalloc_end;
    st->nr_areas = mm_state.vmalloc.nr_areas;
    st->nr_vmap_areas = mm_state.vmalloc.nr_vmap;
    st->nr_pages = mm_state.vmalloc.nr_pages;
    st->nr_owned = mm_state.vmalloc.nr_owned;
    st->bytes = (uint64_t)st->nr_pages << PAGE_SHIFT;
    st->largest_free = va_max_gap(mm_state.vmalloc.root);
    st->nr_tables = mm_state.vmalloc.pt.nr_tables;
    st->nr_alloc_fail = mm_state.vmalloc.nr_fail;
    env_spin_unlock(&mm_state.vmalloc.lock);
}

struct page_table *vmalloc_page_table(void)
{
    return mm_state.vmalloc.ready ? &mm_state.vmalloc.pt : NULL;
}

/* ---- boot ---- */

int vmalloc_init(void)
{
    uintptr_t start, end;
    if (!mm_state.phys.ready || !mm_state.heap.ready)
        return -MM_EINVAL;
    env_vmalloc_range(&start, &end);
    if (start >= end || end - start < 2 * PAGE_SIZE || !MM_IS_ALIGNED(start | end, PAGE_SIZE))
        return -MM_EINVAL;
    int err = pt_init(&mm_state.vmalloc.pt, GFP_KERNEL);
    if (err)
        return err;
    struct vmap_area *s = kzalloc(sizeof(*s), GFP_KERNEL);
    if (!s) {
        pt_destroy(&mm_state.vmalloc.pt);
        return -MM_ENOMEM;
    }
    s->start = end;
    s->kind = VMAP_AREA_SENTINEL;
    s->gap = end - start;
    list_init(&s->pages);
    list_init(&mm_state.vmalloc.areas);
    list_add_tail(&s->list, &mm_state.vmalloc.areas);
    mm_state.vmalloc.root = va_insert(NULL, s);
    mm_state.vmalloc.sentinel = s;
    mm_state.core.vmalloc_start = start;
    mm_state.core.vmalloc_end = end;
    mm_state.vmalloc.ready = true;
    return 0;
}

/* ---- checks ---- */

struct vmalloc_check_ctx {
    struct mm_check_report *rep;
    const struct list_head *cursor; /* in-order walk of the tree against the list */
    unsigned long nodes;
    const struct vmap_area *stray_at; /* pt_visit: the first area not wholly below the leaf */
};

#define vmalloc_fail_check(c, ...) mm_check_fail((c)->rep, __VA_ARGS__)

/* vmalloc.order: the list is sorted, separated by guard pages, aligned, inside the range. */
static int vmalloc_check_order(struct vmalloc_check_ctx *c)
{
    uintptr_t prev_end = mm_state.core.vmalloc_start;
    unsigned long n = 0, limit = mm_state.vmalloc.nr_areas + 1;
    const struct list_head *pos;
    list_for_each(pos, &mm_state.vmalloc.areas) {
        const struct vmap_area *va = list_entry(pos, struct vmap_area, list);
        bool last = pos->next == &mm_state.vmalloc.areas;
        if (++n > limit)
            return vmalloc_fail_check(c, "vmalloc.order", ~0ul, "more areas on the list than "
                                      "the %lu counted (or the list loops)", limit - 1);
        if (last != (va == mm_state.vmalloc.sentinel) ||
            (last && va->start != mm_state.core.vmalloc_end))
            return vmalloc_fail_check(c, "vmalloc.order", ~0ul, "the end sentinel is not last");
        if (!last && (!va->size || va->size != va->nr_pages << PAGE_SHIFT ||
                      !MM_IS_ALIGNED(va->start, PAGE_SIZE)))
            return vmalloc_fail_check(c, "vmalloc.order", ~0ul, "area %p: size %zu, %lu pages, "
                                      "unaligned or empty", (void *)va->start, va->size,
                                      va->nr_pages);
        if (va->start < prev_end || (!last && va_guard_end(va) > mm_state.core.vmalloc_end))
            return vmalloc_fail_check(c, "vmalloc.order", ~0ul, "area %p overlaps its predecessor"
                                      "'s guard (ends %p) or leaves the range", (void *)va->start,
                                      (void *)prev_end);
        prev_end = last ? prev_end : va_guard_end(va);
    }
    if (n != limit)
        return vmalloc_fail_check(c, "vmalloc.order", ~0ul, "%lu areas listed, %lu counted",
                                  n - 1, limit - 1);
    return 0;
}

/* vmalloc.tree: in-order walk equals the list; height, balance, gap and max_gap are exact. */
static int vmalloc_check_node(struct vmalloc_check_ctx *c, const struct vmap_area *n,
                              unsigned int depth)
{
    if (!n)
        return 0;
    if (depth > 96 || ++c->nodes > mm_state.vmalloc.nr_areas + 1)
        return vmalloc_fail_check(c, "vmalloc.tree", ~0ul, "tree deeper or larger than its "
                                  "%lu areas allow (a cycle?)", mm_state.vmalloc.nr_areas);
    int err = vmalloc_check_node(c, n->left, depth + 1);
    if (err)
        return err;
    c->cursor = c->cursor->next;
    if (c->cursor == &mm_state.vmalloc.areas || list_entry(c->cursor, struct vmap_area, list) != n)
        return vmalloc_fail_check(c, "vmalloc.tree", ~0ul, "tree node %p is not the next area "
                                  "of the ordered list", (void *)n->start);
    const struct vmap_area *prev = c->cursor->prev == &mm_state.vmalloc.areas ? NULL :
        list_entry(c->cursor->prev, struct vmap_area, list);
    uintptr_t prev_end = prev ? va_guard_end(prev) : mm_state.core.vmalloc_start;
    int lh = va_height(n->left), rh = va_height(n->right);
    uintptr_t mg = MM_MAX(n->gap, MM_MAX(va_max_gap(n->left), va_max_gap(n->right)));
    if (n->gap != n->start - prev_end || n->max_gap != mg || n->height != 1 + MM_MAX(lh, rh) ||
        lh - rh > 1 || rh - lh > 1)
        return vmalloc_fail_check(c, "vmalloc.tree", ~0ul, "node %p: gap %lu (expected %lu), "
                                  "max_gap %lu (%lu), height %d, children %d/%d",
                                  (void *)n->start, (unsigned long)n->gap,
                                  (unsigned long)(n->start - prev_end), (unsigned long)n->max_gap,
                                  (unsigned long)mg, n->height, lh, rh);
    return vmalloc_check_node(c, n->right, depth + 1);
}

static int vmalloc_check_tree(struct vmalloc_check_ctx *c)
{
    c->cursor = &mm_state.vmalloc.areas;
    int err = vmalloc_check_node(c, mm_state.vmalloc.root, 0);
    if (!err && c->cursor->next != &mm_state.vmalloc.areas)
        return vmalloc_fail_check(c, "vmalloc.tree", ~0ul, "the tree holds %lu areas, the list "
                                  "more", c->nodes);
    return err;
}

static pte_t vmalloc_pte_at(uintptr_t addr)
{
    pte_t *ep = pt_walk(&mm_state.vmalloc.pt, addr, false, 0);
    return ep ? *ep : 0;
}

/* One page of an area: PTE present with the area's bits, the page allocated (and owned). */
static int vmalloc_check_page(struct vmalloc_check_ctx *c, const struct vmap_area *va,
                              unsigned long i, const struct list_head *owned)
{
    uintptr_t addr = va->start + (i << PAGE_SHIFT);
    pte_t e = vmalloc_pte_at(addr);
    unsigned long pfn = MM_PFN_DOWN(pte_addr(e));
    if (!pte_present(e) || (e & PTE_FLAGS_MASK) != va->prot || !pfn_valid(pfn))
        return vmalloc_fail_check(c, "vmalloc.pte", pfn_valid(pfn) ? pfn : ~0ul, "area %p page "
                                  "%lu: PTE 0x%llx, expected bits 0x%llx", (void *)va->start, i,
                                  (unsigned long long)e, (unsigned long long)va->prot);
    const struct page *p = pfn_to_page(pfn);
    if (!vmalloc_page_allocated(p))
        return vmalloc_fail_check(c, "vmalloc.page", pfn, "area %p page %lu maps pfn 0x%lx, "
                                  "which is not allocated", (void *)va->start, i, pfn);
    if (va->kind != VMAP_AREA_ALLOC)
        return 0;
    if (owned == &va->pages || list_entry(owned, struct page, lru) != p ||
        (p->flags & ~PG_checked) != PG_head || p->order != 0)
        return vmalloc_fail_check(c, "vmalloc.page", pfn, "vmalloc area %p page %lu: pfn 0x%lx "
                                  "(flags 0x%x order %u) is not its own order-0 page",
                                  (void *)va->start, i, pfn, p->flags, p->order);
    return 0;
}

/* Every page of @va, then its guard page. */
static int vmalloc_check_area(struct vmalloc_check_ctx *c, const struct vmap_area *va)
{
    pte_t g = vmalloc_pte_at(va_map_end(va));
    if (g)
        return vmalloc_fail_check(c, "vmalloc.guard", pte_present(g) ? MM_PFN_DOWN(pte_addr(g)) :
                                  ~0ul, "guard page %p of area %p has PTE 0x%llx",
                                  (void *)va_map_end(va), (void *)va->start, (unsigned long long)g);
    const struct list_head *owned = va->pages.next;
    for (unsigned long i = 0; i < va->nr_pages; i++) {
        int err = vmalloc_check_page(c, va, i, owned);
        if (err)
            return err;
        owned = owned->next;
    }
    if (va->kind == VMAP_AREA_ALLOC && owned != &va->pages)
        return vmalloc_fail_check(c, "vmalloc.page", ~0ul, "vmalloc area %p owns more than its "
                                  "%lu pages", (void *)va->start, va->nr_pages);
    return 0;
}

/* pt_visit callback: a leaf must lie inside the mapped part of a live area. */
static int vmalloc_check_leaf(void *arg, uintptr_t addr, pte_t *ep)
{
    struct vmalloc_check_ctx *c = arg;
    while (va_map_end(c->stray_at) <= addr && c->stray_at != mm_state.vmalloc.sentinel)
        c->stray_at = list_entry(c->stray_at->list.next, struct vmap_area, list);
    if (addr >= c->stray_at->start && addr < va_map_end(c->stray_at))
        return 0;
    return vmalloc_fail_check(c, "vmalloc.pte", pte_present(*ep) ? MM_PFN_DOWN(pte_addr(*ep)) :
                              ~0ul, "PTE 0x%llx at %p lies in no vmalloc area",
                              (unsigned long long)*ep, (void *)addr);
}

static int vmalloc_check_locked(struct vmalloc_check_ctx *c)
{
    /* the tables first: the area checks below walk them and must not follow a corrupt link */
    int err = pt_check(&mm_state.vmalloc.pt, c->rep);
    if (!err)
        err = vmalloc_check_order(c);
    if (!err)
        err = vmalloc_check_tree(c);
    const struct list_head *pos;
    for (pos = mm_state.vmalloc.areas.next; !err && pos != &mm_state.vmalloc.areas; pos = pos->next) {
        const struct vmap_area *va = list_entry(pos, struct vmap_area, list);
        if (va != mm_state.vmalloc.sentinel)
            err = vmalloc_check_area(c, va);
    }
    if (!err) {
        c->stray_at = list_entry(mm_state.vmalloc.areas.next, struct vmap_area, list);
        err = pt_visit(&mm_state.vmalloc.pt, mm_state.core.vmalloc_start, mm_state.core.vmalloc_end,
                       vmalloc_check_leaf, c);
    }
    return err;
}

int vmalloc_check(struct mm_check_report *rep)
{
    struct mm_check_report local;
    struct vmalloc_check_ctx c = { .rep = rep ? rep : &local };
    *c.rep = (struct mm_check_report){ .pfn = ~0ul };
    if (!mm_state.vmalloc.ready)
        return 0;
    env_spin_lock(&mm_state.vmalloc.lock);
    int err = vmalloc_check_locked(&c);
    env_spin_unlock(&mm_state.vmalloc.lock);
    return err;
}
