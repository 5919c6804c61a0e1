/*
 * kmalloc.c - general-purpose allocation on top of the slab caches.
 *
 *   size:   1..8 | ..16 | ..32 | ..64 | ..96 | ..128 | ..192 | ..256 | ..512 | .. | ..8192 | larger
 *   class:    0  |   1  |   2  |   3  |   4  |   5   |   6   |   7   |   8   |    |   12   | pages
 *
 * Two sets of caches, normal and DMA (__GFP_DMA). Requests above 8 KiB take 2^order pages marked
 * PG_large, with the requested size in page->private_data.
 *
 * An object's owner may touch its requested size, not its class: hardened caches keep the
 * request in the object's metadata and red-zone the rest of the class (checked at free, krealloc
 * and kmem_cache_validate), and the sanitizer shadow opens only the request (slab objects and
 * large blocks alike). ksize() opens the whole class, as in Linux. kmalloc(0) returns
 * ZERO_SIZE_PTR, which kfree, ksize and krealloc accept and whose dereference faults.
 *
 * KFENCE (slab.h): a sampled object lives outside the direct map, in the pool's window; kfree,
 * ksize and krealloc route it to the pool's hooks on their slow paths (no slab, no page), ksize
 * returns its requested size (its page fits that only) and krealloc always moves it.
 */
#include "../physical/phys_internal.h"
#include "slab_internal.h"

static const unsigned int kmalloc_sizes[KMALLOC_NR_CLASSES] = {
    8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
};

static const char *const kmalloc_names[2][KMALLOC_NR_CLASSES] = {
    { "kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-96", "kmalloc-128",
      "kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1k", "kmalloc-2k", "kmalloc-4k",
      "kmalloc-8k" },
    { "dma-kmalloc-8", "dma-kmalloc-16", "dma-kmalloc-32", "dma-kmalloc-64", "dma-kmalloc-96",
      "dma-kmalloc-128", "dma-kmalloc-192", "dma-kmalloc-256", "dma-kmalloc-512",
      "dma-kmalloc-1k", "dma-kmalloc-2k", "dma-kmalloc-4k", "dma-kmalloc-8k" },
};

static inline unsigned int kmalloc_index(size_t size)
{
    if (size <= 64)
        return size <= 8 ? 0 : size <= 16 ? 1 : size <= 32 ? 2 : 3;
    if (size <= 192)
        return size <= 96 ? 4 : size <= 128 ? 5 : 6;
    return mm_ilog2(size - 1); /* 193..256 -> 7, 257..512 -> 8, ..., 4097..8192 -> 12 */
}

/* Power-of-two classes from 64 bytes are naturally aligned (up to a page), as Linux promises;
 * hardened caches keep 8 so red zones stay small. */
static size_t kmalloc_align(unsigned int size)
{
    if (mm_state.heap.hardened || size < 64 || (size & (size - 1)))
        return KMALLOC_MIN_ALIGN;
    return MM_MIN((size_t)size, (size_t)PAGE_SIZE);
}

int slab_init(void)
{
    for (unsigned int dma = 0; dma < 2; dma++)
        for (unsigned int i = 0; i < KMALLOC_NR_CLASSES; i++) {
            unsigned int sz = kmalloc_sizes[i];
            struct kmem_cache *c = kmem_cache_create(kmalloc_names[dma][i], sz, kmalloc_align(sz),
                                                     dma ? SLAB_CACHE_DMA : 0, NULL);
            if (!c)
                return -MM_ENOMEM;
            c->kmalloc = true;
            mm_state.heap.kmalloc_caches[dma][i] = c;
        }
    shrinker_init(&mm_state.heap.shrinker, "slab", slab_shrink_count, slab_shrink_scan, false);
    int err = register_shrinker(&mm_state.heap.shrinker);
    if (err)
        return err;
    mm_state.heap.ready = true;
    return 0;
}

static MM_NOINLINE void *kmalloc_large(size_t size, gfp_t gfp, uintptr_t site, int nid)
{
    if (size > KMALLOC_MAX_SIZE) {
        mm_report_misuse(MM_MISUSE_SIZE_OVERFLOW, -MM_EINVAL, "kmalloc", size, ~0ul,
                         "size %zu above KMALLOC_MAX_SIZE", size);
        return NULL;
    }
    unsigned int order = mm_ilog2(MM_PFN_UP(size) - 1) + 1; /* size > 8 KiB: 3+ pages */
    struct page *p = alloc_pages_node(nid, gfp & ~__GFP_HIGHMEM, order);
    if (!p)
        return NULL;
    p->flags |= PG_large;
    p->private_data = size;
    p->alloc_site = site;
    if (env_shadow_enabled) { /* the tail past the request is a red zone until ksize() */
        env_poison(page_address(p), (size_t)PAGE_SIZE << order, ENV_POISON_REDZONE);
        env_unpoison(page_address(p), size);
    }
    return page_address(p);
}

/* kmalloc of what no size class serves: before the slab is ready, size 0, above the classes. */
static MM_NOINLINE void *kmalloc_unusual(size_t size, gfp_t gfp, uintptr_t site)
{
    if (!mm_state.heap.ready) {
        mm_report_misuse(MM_MISUSE_NOT_READY, -MM_EINVAL, "kmalloc", size, ~0ul,
                         "slab not initialised");
        return NULL;
    }
    if (size == 0)
        return ZERO_SIZE_PTR;
    return kmalloc_large(size, gfp, site, NUMA_NO_NODE);
}

/* Only tail calls here (the rest is kmalloc_unusual's), so the fast path saves no registers. */
static void *kmalloc_site(size_t size, gfp_t gfp, uintptr_t site)
{
    if (mm_unlikely(size - 1 >= KMALLOC_MAX_CACHE_SIZE || !mm_state.heap.ready)) /* 0 wraps */
        return kmalloc_unusual(size, gfp, site);
    struct kmem_cache *c = mm_state.heap.kmalloc_caches[(gfp & __GFP_DMA) ? 1 : 0][kmalloc_index(size)];
    return slab_alloc(c, gfp & ~(__GFP_DMA | __GFP_HIGHMEM), site, size);
}

void *kmalloc_node(size_t size, gfp_t gfp, int nid)
{
    uintptr_t site = (uintptr_t)__builtin_return_address(0);
    if (mm_unlikely(numa_check_node(nid, __func__)))
        return NULL;
    if (nid == NUMA_NO_NODE || size == 0 || !mm_state.heap.ready)
        return kmalloc_site(size, gfp, site);
    nid = local_memory_node(nid);
    if (mm_unlikely(size > KMALLOC_MAX_CACHE_SIZE))
        return kmalloc_large(size, gfp, site, nid);
    struct kmem_cache *c = mm_state.heap.kmalloc_caches[(gfp & __GFP_DMA) ? 1 : 0][kmalloc_index(size)];
    return slab_alloc_node(c, gfp & ~(__GFP_DMA | __GFP_HIGHMEM), site, size, nid);
}

void *kmalloc(size_t size, gfp_t gfp)
{
    return kmalloc_site(size, gfp, (uintptr_t)__builtin_return_address(0));
}

void *kzalloc(size_t size, gfp_t gfp)
{
    return kmalloc_site(size, gfp | __GFP_ZERO, (uintptr_t)__builtin_return_address(0));
}

static bool kmalloc_array_size(size_t n, size_t size, size_t *out)
{
    if (__builtin_mul_overflow(n, size, out)) {
        mm_report_misuse(MM_MISUSE_SIZE_OVERFLOW, -MM_EOVERFLOW, "kmalloc_array", n, ~0ul,
                         "%zu * %zu overflows", n, size);
        return false;
    }
    return true;
}

void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
    size_t bytes;
    if (!kmalloc_array_size(n, size, &bytes))
        return NULL;
    return kmalloc_site(bytes, gfp, (uintptr_t)__builtin_return_address(0));
}

void *kcalloc(size_t n, size_t size, gfp_t gfp)
{
    size_t bytes;
    if (!kmalloc_array_size(n, size, &bytes))
        return NULL;
    return kmalloc_site(bytes, gfp | __GFP_ZERO, (uintptr_t)__builtin_return_address(0));
}

/* Usable size of @p (its class), 0 if kmalloc does not own it. Reports nothing. */
static size_t kmalloc_usable(const void *p, struct page **slab_out, struct page **head_out)
{
    struct page *head;
    struct page *slab = slab_lookup(p, NULL, &head);
    *slab_out = slab;
    *head_out = head;
    if (!head && in_kfence_window(p)) { /* a sampled object: its requested size, nothing to open */
        struct kmem_cache *c;
        return mm_state.heap.kfence->live_size(p, NULL, &c);
    }
    if (slab)
        return slab_obj_index(slab->slab_cache, slab, p) >= 0 ? slab->slab_cache->object_size : 0;
    if (head && (head->flags & PG_large) && p == page_address(head))
        return (size_t)PAGE_SIZE << head->order;
    return 0;
}

/* A large block keeps its requested size in private_data and the tail poisoned in the shadow. */
static void kmalloc_large_resize(struct page *head, size_t old, size_t req, bool zero)
{
    char *p = page_address(head);
    if (env_shadow_enabled) {
        env_poison(p, (size_t)PAGE_SIZE << head->order, ENV_POISON_REDZONE);
        env_unpoison(p, req);
    }
    if (zero && req > old)
        memset(p + old, 0, req - old);
    head->private_data = req;
}

/* Opens the whole class of a live object to its owner (hardened metadata and shadow). */
size_t ksize(const void *p)
{
    if (ZERO_OR_NULL_PTR(p))
        return 0;
    struct page *slab, *head;
    size_t n = kmalloc_usable(p, &slab, &head);
    if (n && slab && slab_obj_is_live(slab->slab_cache, (void *)p))
        slab_obj_resize(slab->slab_cache, (void *)p, n, false, __func__);
    else if (n && !slab && head)
        kmalloc_large_resize(head, head->private_data, n, false);
    return n;
}

/*
 * The requested size of live kmalloc object @p, or 0 after reporting why @p is not one (not an
 * object start, freed, not kmalloc memory); *@slab_out = its slab (NULL for a large block).
 */
static size_t kmalloc_live_size(const void *p, const char *func, struct page **slab_out)
{
    struct page *head;
    struct page *slab = slab_lookup(p, func, &head);
    *slab_out = slab;
    if (slab && (slab->slab_cache->flags & SLAB_MM_INTERNAL)) {
        slab_reject_internal(slab->slab_cache, p, func);
        return 0;
    }
    if (slab)
        return slab_obj_check_live(slab->slab_cache, slab, (void *)p, func) ? 0
               : slab_obj_req(slab->slab_cache, (void *)p);
    if (!head && in_kfence_window(p)) {
        struct kmem_cache *c;
        return mm_state.heap.kfence->live_size(p, func, &c);
    }
    if (!head) /* reported by slab_lookup */
        return 0;
    unsigned long pfn = page_to_pfn(head);
    if ((head->flags & PG_large) && p == page_address(head))
        return head->private_data;
    if (head->flags & PG_large)
        mm_report_misuse(MM_MISUSE_NOT_OBJECT, -MM_EINVAL, func, (uintptr_t)p, pfn,
                         "%p is inside the large kmalloc block at pfn 0x%lx, not its start", p, pfn);
    else if (head->flags & (PG_buddy | PG_pcp))
        mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, func, (uintptr_t)p, pfn,
                         "%p is in free page 0x%lx (freed already?)", p, pfn);
    else
        mm_report_misuse(MM_MISUSE_NOT_SLAB, -MM_EINVAL, func, (uintptr_t)p, pfn,
                         "%p is not a kmalloc object (pfn 0x%lx)", p, pfn);
    return 0;
}

/* krealloc into a new object: copy min(@old, @new_size) bytes of live object @p, free @p. */
static void *krealloc_move(const void *p, size_t old, size_t new_size, gfp_t gfp, uintptr_t site,
                           bool slab)
{
    void *n = kmalloc_site(new_size, gfp, site);
    if (!n)
        return NULL;
    if (slab && env_shadow_enabled) /* without hardening old is the class: its shadow kept req */
        env_unpoison(p, old);
    memcpy(n, p, MM_MIN(old, new_size));
    kfree(p);
    return n;
}

void *krealloc(const void *p, size_t new_size, gfp_t gfp)
{
    uintptr_t site = (uintptr_t)__builtin_return_address(0);
    if (ZERO_OR_NULL_PTR(p))
        return kmalloc_site(new_size, gfp, site);
    struct page *slab;
    size_t old = kmalloc_live_size(p, __func__, &slab);
    if (!old)
        return NULL; /* reported; nothing copied, nothing freed */
    if (new_size == 0) {
        kfree(p);
        return ZERO_SIZE_PTR;
    }
    if (in_kfence_window(p)) /* a sampled object always moves (its page fits its request only) */
        return krealloc_move(p, old, new_size, gfp, site, false);
    if (slab && new_size <= slab->slab_cache->object_size) {
        slab_obj_resize(slab->slab_cache, (void *)p, new_size, gfp & __GFP_ZERO, __func__);
        return (void *)p;
    }
    struct page *head = virt_to_page(p);
    size_t block = slab ? 0 : (size_t)PAGE_SIZE << head->order;
    if (!slab && new_size <= block && new_size > block / 2) {
        kmalloc_large_resize(head, old, new_size, gfp & __GFP_ZERO);
        return (void *)p;
    }
    return krealloc_move(p, old, new_size, gfp, site, slab != NULL);
}

static MM_NOINLINE int kfree_large(struct page *head, const void *p)
{
    unsigned long pfn = page_to_pfn(head);
    if (p != page_address(head))
        return mm_report_misuse(MM_MISUSE_NOT_OBJECT, -MM_EINVAL, "kfree", (uintptr_t)p, pfn,
                                "%p is inside the large kmalloc block at pfn 0x%lx, not its start",
                                p, pfn);
    head->flags &= ~PG_large;
    head->private_data = 0;
    return __free_pages(head, head->order);
}

/* kfree of everything but an object in the first page of a slab: the other slab objects, large
 * blocks, KFENCE objects, and misuse. */
static MM_NOINLINE int kfree_slow(const void *p)
{
    struct page *head;
    struct page *slab = slab_lookup(p, "kfree", &head);
    if (mm_likely(slab != NULL)) {
        if (mm_unlikely(slab->slab_cache->flags & SLAB_MM_INTERNAL))
            return slab_reject_internal(slab->slab_cache, p, "kfree");
        return slab_free(slab->slab_cache, slab, (void *)p, "kfree");
    }
    if (!head && in_kfence_window(p))
        return mm_state.heap.kfence->free(NULL, p, "kfree");
    if (!head) /* reported by slab_lookup */
        return in_vmalloc_range(p) ? -MM_EINVAL : -MM_EFAULT;
    unsigned long pfn = page_to_pfn(head);
    if (head->flags & PG_large)
        return kfree_large(head, p);
    if (head->flags & PG_head)
        return mm_report_misuse(MM_MISUSE_NOT_SLAB, -MM_EINVAL, "kfree", (uintptr_t)p, pfn,
                                "%p is page-allocator memory (order-%u block at pfn 0x%lx), not "
                                "kmalloc memory", p, head->order, pfn);
    if (head->flags & (PG_buddy | PG_pcp))
        return mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, "kfree", (uintptr_t)p, pfn,
                                "%p is in free page 0x%lx (freed already?)", p, pfn);
    return mm_report_misuse(MM_MISUSE_NOT_SLAB, -MM_EINVAL, "kfree", (uintptr_t)p, pfn,
                            "%p is in reserved page 0x%lx", p, pfn);
}

/* Only tail calls here (the rest is kfree_slow's), so the fast path saves no registers. */
int kfree(const void *p)
{
    if (ZERO_OR_NULL_PTR(p))
        return 0;
    struct page *slab = slab_lookup_fast(p);
    if (mm_likely(slab != NULL) && !(slab->slab_cache->flags & SLAB_MM_INTERNAL))
        return slab_free(slab->slab_cache, slab, (void *)p, "kfree");
    return kfree_slow(p);
}
