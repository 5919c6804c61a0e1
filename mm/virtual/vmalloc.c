/*
 * vmalloc.c - the vmalloc range: an address-ordered tree of areas with a guard page after each,
 * first-fit placement, the kernel PTEs that map the areas, vmalloc/vfree, vmap/vunmap, lookups
 * and statistics. The contract is vmalloc.h.
 *
 * Owns mm_state.vmalloc and the range in mm_state.core (set once, when vmalloc_init succeeds, so
 * the layers below may test an address with in_vmalloc_range), every struct vmap_area (from its
 * own SLAB_MM_INTERNAL cache, so kfree of one is refused) and the pages of vmalloc areas. The
 * areas sit in a range tree (range_tree.h) under the key [start, guard end), so the tree's free
 * gaps are exactly the free ranges, and on a list in address order:
 *
 *   tree:  [leaf: A B C] [leaf: D E]        list: A <-> B <-> C <-> D <-> E
 *
 * First fit for n bytes is the tree's lowest gap that holds n + a guard page: O(log n).
 *
 * Invariants (vmalloc_check, mm/checks/check_vmalloc.c): areas page aligned, non-empty, sorted
 * and separated by at least their guard page, inside the range; every guard page unmapped; every
 * page of an area mapped with the area's PTE bits to allocated memory (a vmalloc area: exactly
 * the order-0 PG_head pages on its list, in order); no PTE outside the areas; the tree valid and
 * indexing exactly the listed areas; every allocated block's vmap mark (page_alloc.h) counts the
 * vmap areas' PTEs that map its pages, no more, no fewer (vmalloc.vmap_mark).
 *
 * Locking: mm_state.vmalloc.lock protects the tree, the list, the page table and the counters.
 * Pages and area nodes are allocated and freed outside it; tree nodes are preallocated outside
 * it, but a link may take one GFP_ATOMIC and a merge may free one to the slab under it. A range
 * is free for others only when the lock is released after its PTEs and the CPU's mapping of it
 * are gone (detach). Order: vmalloc.lock may be taken under vm.lock (virtual/vm_lock.c); under it
 * only the slab's and the physical layer's locks and report.lock. An area is in the tree from the
 * moment its range is reserved (half-built areas are invisible only to vfree of a pointer nobody
 * has been given yet); mm_check-style checks need quiescence.
 */
#include "../physical/phys_internal.h"
#include "vmalloc_internal.h"
#include "../heap/slab_internal.h"

#define VMALLOC_FREED_SLOTS MM_ARRAY_SIZE(mm_state.vmalloc.freed)

/* ---- the area tree and list ---- */

/* Place @va (size set) at the start of the lowest gap that holds it and its guard page, and link
 * it. Returns 0, or -MM_ENOMEM: no gap is large enough, or no tree node was reserved. */
static int va_link_locked(struct vmap_area *va)
{
    struct range_tree *t = &mm_state.vmalloc.tree;
    struct rtree_gap g;
    if (!rtree_gap_lowest(t, t->lo, t->hi, va->size + PAGE_SIZE, PAGE_SIZE, &g))
        return -MM_ENOMEM;
    va->start = g.start;
    int err = rtree_insert_range(t, va->start, va_guard_end(va), va, GFP_ATOMIC | __GFP_NOWARN,
                                 NULL);
    if (err)
        return err;
    const struct vmap_area *above = g.above;
    list_add_tail(&va->list, above ? (struct list_head *)&above->list : &mm_state.vmalloc.areas);
    return 0;
}

static void va_unlink_locked(struct vmap_area *va)
{
    rtree_erase_range(&mm_state.vmalloc.tree, va->start);
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

/*
 * Tree nodes for one insert, allocated outside the lock and put into the tree's reserve under it
 * (the reserve is shared by every CPU: filling it unlocked raced, found by the TSan stress).
 * Should a concurrent insert use them up meanwhile, the link takes a node GFP_ATOMIC under the
 * lock, or fails cleanly. Returns 0 or -MM_ENOMEM.
 */
static int vmalloc_tree_topup(gfp_t gfp)
{
    struct range_tree *t = &mm_state.vmalloc.tree;
    env_spin_lock(&mm_state.vmalloc.lock);
    unsigned int need = rtree_reserve_shortfall(t, 1);
    env_spin_unlock(&mm_state.vmalloc.lock);
    struct rtree_node *got[RTREE_MAX_DEPTH + 1];
    unsigned int n = 0;
    for (; n < need && n < MM_ARRAY_SIZE(got); n++)
        if (!(got[n] = rtree_node_alloc(t, gfp)))
            break;
    if (n) { /* the common case, a reserve already full, takes the lock once */
        env_spin_lock(&mm_state.vmalloc.lock);
        for (unsigned int i = 0; i < n; i++)
            rtree_reserve_add(t, got[i]);
        env_spin_unlock(&mm_state.vmalloc.lock);
    }
    return n < need ? -MM_ENOMEM : 0;
}

/**
 * Reserve @nr_pages pages plus a guard page at the lowest free address. Returns the area (linked,
 * nothing mapped) or NULL: no node memory, or no gap is large enough.
 */
static struct vmap_area *vmalloc_reserve(unsigned long nr_pages, unsigned int kind, pte_t prot,
                                         gfp_t gfp, uintptr_t site)
{
    struct vmap_area *va = kmem_cache_alloc(mm_state.vmalloc.va_cache, vmalloc_meta_gfp(gfp));
    if (!va)
        return NULL;
    *va = (struct vmap_area){ .size = nr_pages << PAGE_SHIFT, .nr_pages = nr_pages, .kind = kind,
                              .prot = prot | PTE_P, .alloc_site = site,
                              .alloc_seq = env_atomic_add(&mm_state.core.alloc_seq, 1) };
    list_init(&va->pages);
    int err = vmalloc_tree_topup(vmalloc_meta_gfp(gfp));
    if (!err) {
        env_spin_lock(&mm_state.vmalloc.lock);
        err = va_link_locked(va);
        if (!err) {
            vmalloc_forget_freed_locked(va);
            mm_state.vmalloc.nr_areas++;
            mm_state.vmalloc.nr_vmap += kind == VMAP_AREA_MAP;
        }
        env_spin_unlock(&mm_state.vmalloc.lock);
    }
    if (err) {
        kmem_cache_free_mm(mm_state.vmalloc.va_cache, va);
        return NULL;
    }
    return va;
}

/* ---- the vmap mark (page_alloc.h: PG_VMAP_MASK) ---- */

/*
 * vmap: the head of @p's block, its vmap mark (page_alloc.h) about to take one more PTE; NULL
 * after reporting a page freed since vmap's checks or a block at PG_VMAP_MAX. Caller holds the
 * lock.
 */
static struct page *vmap_mark_head_locked(const struct page *p)
{
    struct page *h = vmalloc_page_head(p);
    if (h && page_vmap_count(h) < PG_VMAP_MAX)
        return h;
    if (h)
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "vmap", (uintptr_t)p, page_to_pfn(p),
                         "pfn 0x%lx: its block is mapped by %u vmap PTEs already (the most)",
                         page_to_pfn(p), PG_VMAP_MAX);
    else
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "vmap", (uintptr_t)p, page_to_pfn(p),
                         "pfn 0x%lx was freed during vmap", page_to_pfn(p));
    return NULL;
}

/* Take the vmap marks of @va's mapped pages back (vunmap, or an aborted vmap). Caller holds the
 * lock; the PTEs are still there. */
static void vmap_unmark_locked(const struct vmap_area *va)
{
    for (unsigned long i = 0; va->kind == VMAP_AREA_MAP && i < va->nr_mapped; i++) {
        pte_t *ep = pt_walk(&mm_state.vmalloc.pt, va->start + (i << PAGE_SHIFT), false, 0);
        unsigned long pfn = ep ? MM_PFN_DOWN(pte_addr(*ep)) : ~0ul;
        struct page *h = ep && pte_present(*ep) && pfn_valid(pfn) ?
                         vmalloc_page_head(pfn_to_page(pfn)) : NULL;
        if (h && page_vmap_count(h)) /* else corrupted: vmalloc.vmap_mark reports it */
            env_atomic_sub(&h->flags, PG_VMAP_ONE);
    }
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
    vmap_unmark_locked(va);
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
    kmem_cache_free_mm(mm_state.vmalloc.va_cache, va);
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

/* Map @p as the next page of @va (a vmap area: marking its block). Returns 0, -MM_ENOMEM (no
 * table page) or -MM_EINVAL (vmap_mark_head_locked refused it); nothing changed on error. */
static int vmalloc_map_next(struct vmap_area *va, struct page *p, gfp_t gfp, struct vmalloc_run *r)
{
    uintptr_t addr = va->start + (va->nr_mapped << PAGE_SHIFT);
    phys_addr_t pa = page_to_phys(p);
    env_spin_lock(&mm_state.vmalloc.lock);
    struct page *h = va->kind == VMAP_AREA_MAP ? vmap_mark_head_locked(p) : NULL;
    int err = va->kind == VMAP_AREA_MAP && !h ? -MM_EINVAL :
              pt_set(&mm_state.vmalloc.pt, addr, pa | va->prot, vmalloc_meta_gfp(gfp));
    if (!err) {
        if (h)
            env_atomic_add(&h->flags, PG_VMAP_ONE);
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

/* @nid: the node the pages prefer (NUMA_NO_NODE: the calling CPU's). */
static void *vmalloc_build(size_t size, gfp_t gfp, uintptr_t site, int nid)
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
        if (page_alloc_try_node(nid, gfp, 0, &p))
            return vmalloc_abort(va, &run);
        list_add_tail(&p->lru, &va->pages);
        if (vmalloc_map_next(va, p, gfp, &run))
            return vmalloc_abort(va, &run);
    }
    return vmalloc_publish(va, &run);
}

static void *vmalloc_site(size_t size, gfp_t gfp, uintptr_t site, int nid)
{
    void *p = vmalloc_build(size, gfp, site, nid);
    mm_trace(MM_TRACE_VMALLOC, (uintptr_t)p, size, gfp, site, 0);
    return p;
}

void *vmalloc(size_t size)
{
    return vmalloc_site(size, GFP_KERNEL | __GFP_HIGHMEM, (uintptr_t)__builtin_return_address(0),
                        NUMA_NO_NODE);
}

void *vmalloc_node(size_t size, int nid)
{
    if (numa_check_node(nid, __func__))
        return vmalloc_fail();
    return vmalloc_site(size, GFP_KERNEL | __GFP_HIGHMEM, (uintptr_t)__builtin_return_address(0),
                        nid);
}

void *vzalloc(size_t size)
{
    return vmalloc_site(size, GFP_KERNEL | __GFP_HIGHMEM | __GFP_ZERO,
                        (uintptr_t)__builtin_return_address(0), NUMA_NO_NODE);
}

void *__vmalloc(size_t size, gfp_t gfp)
{
    return vmalloc_site(size, gfp, (uintptr_t)__builtin_return_address(0), NUMA_NO_NODE);
}

/* ---- vmap ---- */

struct page *vmalloc_page_head(const struct page *p)
{
    unsigned long pfn = page_to_pfn(p);
    for (unsigned int o = 0; o <= MM_MAX_ORDER; o++) {
        struct page *h = pfn_to_page(pfn & ~((1ul << o) - 1));
        if (!(h->flags & (PG_head | PG_buddy | PG_pcp | PG_reserved)))
            continue;
        bool covers = (h->flags & PG_reserved) ? h == p : page_to_pfn(h) + (1ul << h->order) > pfn;
        if (covers)
            return (h->flags & PG_head) ? h : NULL;
    }
    return NULL;
}

bool vmalloc_page_allocated(const struct page *p)
{
    return vmalloc_page_head(p) != NULL;
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
        const struct page *h = vmalloc_page_head(p);
        if (!h)
            return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "vmap", (uintptr_t)p,
                                    page_to_pfn(p), "pages[%u] (pfn 0x%lx) is not allocated", i,
                                    page_to_pfn(p));
        if (h->flags & (PG_slab | PG_pgtable))
            return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, "vmap", (uintptr_t)p,
                                    page_to_pfn(p), "pages[%u] (pfn 0x%lx) is a %s page of the "
                                    "mm's own", i, page_to_pfn(p),
                                    (h->flags & PG_slab) ? "slab" : "page-table");
    }
    return 0;
}

static void *vmap_build(struct page **pages, unsigned int count, pte_t prot, uintptr_t site)
{
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

void *vmap(struct page **pages, unsigned int count, pte_t prot)
{
    uintptr_t site = (uintptr_t)__builtin_return_address(0);
    void *p = vmap_build(pages, count, prot, site);
    mm_trace(MM_TRACE_VMALLOC, (uintptr_t)p, (uint64_t)count << PAGE_SHIFT, GFP_KERNEL, site, 1);
    return p;
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
    struct vmap_area *va = rtree_find(&mm_state.vmalloc.tree, addr);
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
    int err = addr ? vmalloc_free_area(addr, VMAP_AREA_ALLOC, __func__) : 0;
    mm_trace(MM_TRACE_VFREE, (uintptr_t)addr, 0, err);
    return err;
}

int vunmap(const void *addr)
{
    int err = addr ? vmalloc_free_area(addr, VMAP_AREA_MAP, __func__) : 0;
    mm_trace(MM_TRACE_VFREE, (uintptr_t)addr, 1, err);
    return err;
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
    const struct vmap_area *va = rtree_find(&mm_state.vmalloc.tree, (uintptr_t)addr);
    bool hit = va != NULL;
    if (hit && start)
        *start = va->start;
    if (hit && size)
        *size = va->size;
    env_spin_unlock(&mm_state.vmalloc.lock);
    return hit;
}

void vmalloc_get_stats(struct vmalloc_stats *st)
{
    if (!st)
        return;
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
    st->largest_free = rtree_largest_gap(&mm_state.vmalloc.tree);
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
    if (start >= end || end - start < 2 * PAGE_SIZE + kfence_window_size() ||
        !MM_IS_ALIGNED(start | end, PAGE_SIZE))
        return -MM_EINVAL;
    end -= kfence_window_size(); /* the KFENCE pool's window (kfence.c) sits above the range */
    if (!mm_state.vmalloc.va_cache)
        mm_state.vmalloc.va_cache = kmem_cache_create("vmap_area", sizeof(struct vmap_area), 0,
                                                      SLAB_MM_INTERNAL, NULL);
    if (!mm_state.vmalloc.va_cache || vm_tree_init())
        return -MM_ENOMEM;
    int err = pt_init(&mm_state.vmalloc.pt, GFP_KERNEL);
    if (err)
        return err;
    rtree_init(&mm_state.vmalloc.tree, start, end, vm_tree_ops());
    list_init(&mm_state.vmalloc.areas);
    mm_state.core.vmalloc_start = start;
    mm_state.core.vmalloc_end = end;
    mm_state.vmalloc.ready = true;
    return 0;
}
