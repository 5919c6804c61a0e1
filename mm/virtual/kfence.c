/*
 * kfence.c - the KFENCE pool: sampled slab/kmalloc objects, each alone on a page between two guard
 * pages that are never mapped, so out-of-bounds accesses and uses after free fault at the access
 * (the contract is slab.h, "KFENCE"). Owns mm_state.vmalloc.kfence and registers its hooks in
 * mm_state.heap (the heap, below this layer, calls them: kfence_ops in lib/core.h).
 *
 *   window (at the top of the vmalloc range, carved off by vmalloc_init):
 *   [guard][obj 0][guard][obj 1][guard] ... [obj N-1][guard]      N = KFENCE_NR_OBJECTS
 *            |                |
 *            pages[0]         pages[1]      (one block of N pages, allocated at boot)
 *
 * An object page holds one object against its right or left edge (alternating per allocation;
 * aligned to the cache's alignment, so the bytes between the object and the guarded edge are
 * fewer than that alignment); every other byte of the page is KFENCE_CANARY, checked at free.
 *
 * Invariants (kfence_check, mm/checks/check_kfence.c): no guard page is mapped; an object page is
 * mapped (to its own pool page, writable) exactly when its slot is LIVE; a LIVE or FREED slot's
 * object lies inside its page against the side it records, with a valid cache whose object size
 * holds it; the FIFO of free slots holds each non-LIVE slot exactly once.
 *
 * Locking: kfence.lock protects the slots, the FIFO, the page table and the counters. It is taken
 * with interrupts off from slab_alloc, after nothing, and takes only report.lock under it. The
 * page-table levels of the window are allocated at boot, so mapping never allocates.
 */
#include "vm_internal.h"
#include "../heap/slab_internal.h"

#define KFENCE_WINDOW_PAGES (2u * KFENCE_NR_OBJECTS + 1u)
#define KFENCE_CANARY       0xaa
#define KFENCE_PROT         (PTE_P | PTE_RW | PTE_G | PTE_NX)

static struct mm_kfence_state *const kf = &mm_state.vmalloc.kfence;

static uintptr_t kfence_page_va(unsigned int i)
{
    return mm_state.heap.kfence_start + ((2ul * i + 1) << PAGE_SHIFT);
}

static phys_addr_t kfence_page_pa(unsigned int i)
{
    return page_to_phys(kf->pages) + ((phys_addr_t)i << PAGE_SHIFT);
}

/* Page index of @addr in the window (odd: an object page, even: a guard page). */
static unsigned long kfence_window_page(uintptr_t addr)
{
    return (addr - mm_state.heap.kfence_start) >> PAGE_SHIFT;
}

/* Name of slot @s's cache for reports (a freed slot's cache may have been destroyed since). */
static const char *kfence_cache_name(const struct kfence_slot *s)
{
    return s->cache ? s->cache->name : "(destroyed)";
}

/* ---- mapping ---- */

static void kfence_map_locked(unsigned int i)
{
    (void)pt_update(&kf->pt, kfence_page_va(i), kfence_page_pa(i) | KFENCE_PROT);
    env_kernel_map(kfence_page_va(i), kfence_page_pa(i), PAGE_SIZE, true);
}

static void kfence_unmap_locked(unsigned int i)
{
    (void)pt_update(&kf->pt, kfence_page_va(i), 0); /* keeps the boot-time levels */
    env_kernel_unmap_strict(kfence_page_va(i), PAGE_SIZE);
}

/* ---- allocation ---- */

static void *kfence_place_locked(unsigned int i, struct kmem_cache *c, size_t req, uintptr_t site)
{
    struct kfence_slot *s = &kf->slot[i];
    uintptr_t page = kfence_page_va(i);
    size_t align = c->align ? c->align : 8;
    s->right = !(kf->nr_alloc & 1);
    s->addr = s->right ? MM_ALIGN_DOWN(page + PAGE_SIZE - req, align) : page;
    s->size = (uint32_t)req;
    s->cache = c;
    s->site = site;
    s->seq = env_atomic_add(&mm_state.core.alloc_seq, 1);
    s->cpu = (uint16_t)env_cpu_id();
    s->state = KFENCE_LIVE;
    kf->nr_alloc++;
    kfence_map_locked(i);
    return (void *)s->addr;
}

/* A node allocation is sampled only when the pool (one block: one node) lies on its node; a
 * __GFP_THISNODE one never on a NUMA machine (Linux: KFENCE_COUNTER_SKIP_INCOMPAT). */
static bool kfence_node_ok(gfp_t gfp, int nid)
{
    if ((gfp & __GFP_THISNODE) && mm_nr_nodes() > 1)
        return false;
    return nid < 0 || page_to_nid(kf->pages) == nid;
}

static void *kfence_alloc(struct kmem_cache *c, size_t req, gfp_t gfp, uintptr_t site, int nid)
{
    if (!kfence_node_ok(gfp, nid))
        return NULL;
    env_spin_lock(&kf->lock);
    if (!kf->fifo_len) {
        kf->nr_fallback++;
        env_spin_unlock(&kf->lock);
        return NULL;
    }
    unsigned int i = kf->fifo[kf->fifo_head];
    kf->fifo_head = (kf->fifo_head + 1) % KFENCE_NR_OBJECTS;
    kf->fifo_len--;
    char *obj = kfence_place_locked(i, c, req, site);
    env_spin_unlock(&kf->lock);
    char *page = (char *)kfence_page_va(i);
    memset(page, KFENCE_CANARY, PAGE_SIZE);
    if (c->ctor)
        c->ctor(obj);
    return obj;
}

/* ---- free ---- */

/* Offset in the page of the first damaged canary byte around slot @s's object, or -1. */
static long kfence_canary_damage(const struct kfence_slot *s)
{
    const unsigned char *page = (const unsigned char *)MM_ALIGN_DOWN(s->addr, PAGE_SIZE);
    size_t lo = s->addr - (uintptr_t)page, hi = lo + s->size;
    for (size_t off = 0; off < PAGE_SIZE; off++) {
        if (off == lo)
            off = hi;
        if (off < PAGE_SIZE && page[off] != KFENCE_CANARY)
            return (long)off;
    }
    return -1;
}

/* Slot of object page @addr lies on, or -1 (a guard page). */
static long kfence_slot_of(uintptr_t addr)
{
    unsigned long pg = kfence_window_page(addr);
    return (pg & 1) ? (long)(pg - 1) / 2 : -1;
}

/* Every reason a free of @p is refused; returns the reported error, or 0 to free it. */
static MM_NOINLINE int kfence_free_reject_locked(long i, struct kmem_cache *c, uintptr_t p,
                                                 const char *func)
{
    if (i < 0)
        return mm_report_misuse(MM_MISUSE_NOT_OBJECT, -MM_EINVAL, func, p, ~0ul,
                                "%p is a KFENCE guard page, not an object", (void *)p);
    const struct kfence_slot *s = &kf->slot[i];
    if (s->state == KFENCE_FREED && p == s->addr)
        return mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, func, p, ~0ul,
                                "KFENCE object %p (%u bytes, cache %s, allocated at %p) is "
                                "already free", (void *)p, s->size, kfence_cache_name(s),
                                (void *)s->site);
    if (s->state != KFENCE_LIVE || p != s->addr)
        return mm_report_misuse(MM_MISUSE_NOT_OBJECT, -MM_EINVAL, func, p, ~0ul,
                                "%p is not a live KFENCE object start (slot %ld)", (void *)p, i);
    if (c && c != s->cache)
        return mm_report_misuse(MM_MISUSE_WRONG_CACHE, -MM_EINVAL, func, p, ~0ul,
                                "KFENCE object %p of cache %s freed into cache %s", (void *)p,
                                s->cache->name, c->name);
    return 0;
}

static int kfence_free(struct kmem_cache *c, const void *p, const char *func)
{
    uintptr_t a = (uintptr_t)p;
    env_spin_lock(&kf->lock);
    long i = kfence_slot_of(a);
    int err = kfence_free_reject_locked(i, c, a, func);
    if (err) {
        env_spin_unlock(&kf->lock);
        return err;
    }
    struct kfence_slot *s = &kf->slot[i];
    if (env_shadow_enabled) /* the canary check reads the shadow's red zone past the request */
        env_unpoison((void *)MM_ALIGN_DOWN(s->addr, PAGE_SIZE), PAGE_SIZE);
    long bad = kfence_canary_damage(s);
    if (bad >= 0)
        mm_report_misuse(MM_MISUSE_REDZONE, -MM_EINVAL, func, a, ~0ul,
                         "KFENCE object %p (%u bytes, cache %s, allocated at %p): canary byte "
                         "at offset %ld overwritten", p, s->size, s->cache->name, (void *)s->site,
                         (long)(MM_ALIGN_DOWN(s->addr, PAGE_SIZE) + (uintptr_t)bad) - (long)a);
    s->state = KFENCE_FREED;
    const struct kmem_cache *owner = s->cache;
    kfence_unmap_locked((unsigned int)i);
    kf->fifo[(kf->fifo_head + kf->fifo_len) % KFENCE_NR_OBJECTS] = (uint8_t)i;
    kf->fifo_len++;
    env_spin_unlock(&kf->lock);
    mm_trace(MM_TRACE_SLAB_FREE, a, (uintptr_t)owner); /* as the cache's own frees */
    return 0;
}

static size_t kfence_live_size(const void *p, const char *func, struct kmem_cache **c_out)
{
    uintptr_t a = (uintptr_t)p;
    env_spin_lock(&kf->lock);
    long i = kfence_slot_of(a);
    size_t n = 0;
    if (i >= 0 && kf->slot[i].state == KFENCE_LIVE && kf->slot[i].addr == a) {
        n = kf->slot[i].size;
        *c_out = kf->slot[i].cache;
    } else if (func) {
        (void)kfence_free_reject_locked(i, NULL, a, func);
    }
    env_spin_unlock(&kf->lock);
    return n;
}

static unsigned long kfence_cache_gone(struct kmem_cache *c, bool destroy)
{
    unsigned long live = 0;
    env_spin_lock(&kf->lock);
    for (unsigned int i = 0; i < KFENCE_NR_OBJECTS; i++) {
        struct kfence_slot *s = &kf->slot[i];
        if (s->cache == c && s->state == KFENCE_LIVE) {
            env_log(ENV_LOG_ERR, "mm: cache %s: live KFENCE object %p allocated at %p on cpu %u\n",
                    c->name, (void *)s->addr, (void *)s->site, s->cpu);
            live++;
        }
    }
    for (unsigned int i = 0; i < KFENCE_NR_OBJECTS && destroy && !live; i++)
        if (kf->slot[i].cache == c)
            kf->slot[i].cache = NULL; /* FREED: reports say "destroyed cache" */
    env_spin_unlock(&kf->lock);
    return live;
}

static const struct kfence_ops kfence_hooks = {
    .alloc = kfence_alloc, .free = kfence_free, .live_size = kfence_live_size,
    .cache_gone = kfence_cache_gone,
};


/* ---- faults ---- */

/* The slot a fault on guard page @pg most likely belongs to: the object that abuts it, else the
 * nearer one in use; -1 if neither side has had an object. */
static long kfence_guard_owner(unsigned long pg, uintptr_t addr)
{
    long left = pg ? (long)pg / 2 - 1 : -1, right = pg / 2 < KFENCE_NR_OBJECTS ? (long)pg / 2 : -1;
    const struct kfence_slot *l = left >= 0 ? &kf->slot[left] : NULL;
    const struct kfence_slot *r = right >= 0 ? &kf->slot[right] : NULL;
    bool lu = l && l->state != KFENCE_UNUSED, ru = r && r->state != KFENCE_UNUSED;
    if (lu && l->right && (!ru || r->right))
        return left;
    if (ru && !r->right && (!lu || !l->right))
        return right;
    if (lu && ru) /* both abut or neither does: the nearer one */
        return addr - (l->addr + l->size) <= r->addr - addr ? left : right;
    return lu ? left : ru ? right : -1;
}

static void kfence_report_fault(long i, uintptr_t addr, bool write)
{
    const struct kfence_slot *s = &kf->slot[i];
    bool uaf = s->state == KFENCE_FREED && kfence_slot_of(addr) == i;
    mm_report_misuse(uaf ? MM_MISUSE_USE_AFTER_FREE : MM_MISUSE_OUT_OF_BOUNDS, -MM_EFAULT,
                     "kfence", addr, ~0ul, "KFENCE: %s %s at %p: offset %ld of %s%u-byte object "
                     "%p, cache %s, allocated at %p", uaf ? "use-after-free" : "out-of-bounds",
                     write ? "write" : "read", (void *)addr, (long)(addr - s->addr),
                     s->state == KFENCE_FREED ? "freed " : "", s->size, (void *)s->addr,
                     kfence_cache_name(s), (void *)s->site);
}

bool kfence_handle_fault(uintptr_t addr, bool write)
{
    if (!in_kfence_window((const void *)addr))
        return false;
    env_spin_lock(&kf->lock);
    kf->nr_fault++;
    unsigned long pg = kfence_window_page(addr);
    long i = (pg & 1) ? (long)(pg - 1) / 2 : kfence_guard_owner(pg, addr);
    if (i >= 0 && kf->slot[i].state != KFENCE_UNUSED)
        kfence_report_fault(i, addr, write);
    else
        mm_report_misuse(MM_MISUSE_OUT_OF_BOUNDS, -MM_EFAULT, "kfence", addr, ~0ul,
                         "KFENCE: %s at %p: a page of the pool no object has used",
                         write ? "write" : "read", (void *)addr);
    env_spin_unlock(&kf->lock);
    return true;
}

bool is_kfence_address(const void *p) { return in_kfence_window(p); }

void kfence_get_stats(struct kfence_stats *st)
{
    if (!st)
        return;
    *st = (struct kfence_stats){ .interval = mm_state.heap.kfence_interval };
    if (!mm_state.heap.kfence)
        return;
    env_spin_lock(&kf->lock);
    st->nr_objects = KFENCE_NR_OBJECTS;
    st->nr_live = KFENCE_NR_OBJECTS - kf->fifo_len;
    st->nr_alloc = kf->nr_alloc;
    st->nr_fallback = kf->nr_fallback;
    st->nr_fault = kf->nr_fault;
    env_spin_unlock(&kf->lock);
}

/* ---- boot ---- */

static int kfence_build_tables(uintptr_t start)
{
    if (pt_init(&kf->pt, GFP_KERNEL))
        return -MM_ENOMEM;
    for (unsigned int p = 0; p < KFENCE_WINDOW_PAGES; p++)
        if (!pt_walk(&kf->pt, start + ((uintptr_t)p << PAGE_SHIFT), true, GFP_KERNEL)) {
            pt_destroy(&kf->pt);
            return -MM_ENOMEM;
        }
    return 0;
}

int kfence_init(void)
{
    if (!mm_state.vmalloc.ready || !mm_state.heap.kfence_interval || mm_state.heap.kfence)
        return -MM_EINVAL;
    uintptr_t start = mm_state.core.vmalloc_end; /* vmalloc_init kept the window above its range */
    struct page *pages = alloc_pages(GFP_KERNEL, mm_ilog2(KFENCE_NR_OBJECTS));
    if (!pages)
        return -MM_ENOMEM;
    if (kfence_build_tables(start)) {
        __free_pages(pages, mm_ilog2(KFENCE_NR_OBJECTS));
        return -MM_ENOMEM;
    }
    kf->pages = pages;
    for (unsigned int i = 0; i < KFENCE_NR_OBJECTS; i++)
        kf->fifo[i] = (uint8_t)i;
    kf->fifo_len = KFENCE_NR_OBJECTS;
    if (env_shadow_enabled) /* a guard must fault, not be a stale shadow report */
        env_unpoison((void *)start, (size_t)KFENCE_WINDOW_PAGES << PAGE_SHIFT);
    mm_state.heap.kfence_start = start;
    mm_state.heap.kfence_end = start + ((uintptr_t)KFENCE_WINDOW_PAGES << PAGE_SHIFT);
    mm_state.heap.kfence = &kfence_hooks;
    return 0;
}

/* vmalloc_init: the bytes the window takes off the top of the range (0 when sampling is off). */
size_t kfence_window_size(void)
{
    return mm_state.heap.kfence_interval ? (size_t)KFENCE_WINDOW_PAGES << PAGE_SHIFT : 0;
}
