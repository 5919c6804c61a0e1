/*
 * kmalloc.c - general-purpose allocation on top of the slab caches.
 *
 *   size:   1..8 | ..16 | ..32 | ..64 | ..96 | ..128 | ..192 | ..256 | ..512 | .. | ..8192 | larger
 *   class:    0  |   1  |   2  |   3  |   4  |   5   |   6   |   7   |   8   |    |   12   | pages
 *
 * Two sets of caches, normal and DMA (__GFP_DMA). Requests above 8 KiB take 2^order pages marked
 * PG_large, with the requested size in page->private_data.
 */
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
    mm_state.heap.shrinker = (struct shrinker){
        .name = "slab", .count_objects = slab_shrink_count, .scan_objects = slab_shrink_scan,
    };
    int err = register_shrinker(&mm_state.heap.shrinker);
    if (err)
        return err;
    mm_state.heap.ready = true;
    return 0;
}

static MM_NOINLINE void *kmalloc_large(size_t size, gfp_t gfp, uintptr_t site)
{
    if (size > KMALLOC_MAX_SIZE) {
        mm_report_misuse(MM_MISUSE_SIZE_OVERFLOW, -MM_EINVAL, "kmalloc", size, ~0ul,
                         "size %zu above KMALLOC_MAX_SIZE", size);
        return NULL;
    }
    unsigned int order = mm_ilog2(MM_PFN_UP(size) - 1) + 1; /* size > 8 KiB: 3+ pages */
    struct page *p = alloc_pages(gfp & ~__GFP_HIGHMEM, order);
    if (!p)
        return NULL;
    p->flags |= PG_large;
    p->private_data = size;
    p->alloc_site = site;
    return page_address(p);
}

static void *kmalloc_site(size_t size, gfp_t gfp, uintptr_t site)
{
    if (mm_unlikely(size == 0 || !mm_state.heap.ready)) {
        if (!mm_state.heap.ready)
            mm_report_misuse(MM_MISUSE_NOT_READY, -MM_EINVAL, "kmalloc", size, ~0ul,
                             "slab not initialised");
        return NULL;
    }
    if (mm_unlikely(size > KMALLOC_MAX_CACHE_SIZE))
        return kmalloc_large(size, gfp, site);
    struct kmem_cache *c = mm_state.heap.kmalloc_caches[(gfp & __GFP_DMA) ? 1 : 0][kmalloc_index(size)];
    return slab_alloc(c, gfp & ~(__GFP_DMA | __GFP_HIGHMEM), site);
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

/* Usable size of @p, 0 (reported when @report) if kmalloc does not own it. */
static size_t kmalloc_usable(const void *p, const char *func, bool report)
{
    struct page *head;
    struct page *slab = slab_lookup(p, report ? func : NULL, &head);
    if (slab)
        return slab_obj_index(slab->slab_cache, slab, p) >= 0 ? slab->slab_cache->object_size : 0;
    if (head && (head->flags & PG_large) && p == page_address(head))
        return (size_t)PAGE_SIZE << head->order;
    if (report && head)
        mm_report_misuse(MM_MISUSE_NOT_SLAB, -MM_EINVAL, func, (uintptr_t)p, page_to_pfn(head),
                         "%p is not a kmalloc object", p);
    return 0;
}

size_t ksize(const void *p)
{
    if (!p)
        return 0;
    return kmalloc_usable(p, __func__, false);
}

void *krealloc(const void *p, size_t new_size, gfp_t gfp)
{
    uintptr_t site = (uintptr_t)__builtin_return_address(0);
    if (!p)
        return kmalloc_site(new_size, gfp, site);
    if (new_size == 0) {
        kfree(p);
        return NULL;
    }
    size_t old = kmalloc_usable(p, __func__, true);
    if (!old)
        return NULL;
    if (new_size <= old && (old <= KMALLOC_MAX_CACHE_SIZE || new_size > old / 2)) {
        if (gfp & __GFP_ZERO)
            memset((char *)p + new_size, 0, old - new_size);
        return (void *)p;
    }
    void *n = kmalloc_site(new_size, gfp, site);
    if (!n)
        return NULL;
    memcpy(n, p, MM_MIN(old, new_size));
    kfree(p);
    return n;
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

int kfree(const void *p)
{
    if (!p)
        return 0;
    struct page *head;
    struct page *slab = slab_lookup(p, __func__, &head);
    if (mm_likely(slab != NULL))
        return slab_free(slab->slab_cache, slab, (void *)p, __func__);
    if (!head) /* reported by slab_lookup */
        return in_vmalloc_range(p) ? -MM_EINVAL : -MM_EFAULT;
    unsigned long pfn = page_to_pfn(head);
    if (head->flags & PG_large)
        return kfree_large(head, p);
    if (head->flags & PG_head)
        return mm_report_misuse(MM_MISUSE_NOT_SLAB, -MM_EINVAL, __func__, (uintptr_t)p, pfn,
                                "%p is page-allocator memory (order-%u block at pfn 0x%lx), not "
                                "kmalloc memory", p, head->order, pfn);
    if (head->flags & (PG_buddy | PG_pcp))
        return mm_report_misuse(MM_MISUSE_DOUBLE_FREE, -MM_EINVAL, __func__, (uintptr_t)p, pfn,
                                "%p is in free page 0x%lx (freed already?)", p, pfn);
    return mm_report_misuse(MM_MISUSE_NOT_SLAB, -MM_EINVAL, __func__, (uintptr_t)p, pfn,
                            "%p is in reserved page 0x%lx", p, pfn);
}
