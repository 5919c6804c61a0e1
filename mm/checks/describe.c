/*
 * describe.c - mm_describe_addr: name the page block, slab cache, object and slot part that
 * hold a kernel virtual address, for sanitizer reports (see mm_describe.h). It sits beside the
 * checkers because, like them, it reads every layer (pages, slabs, vmalloc areas) and no layer
 * calls it; the kernel's KASAN runtime reaches it through the hook the kernel registers
 * (kasan_set_describe), so the env never calls up into mm/.
 *
 * Owns no state. Invariants it relies on (and never changes): a block head carries PG_head or
 * PG_buddy with its order; a slab head carries PG_slab and slab_cache; slot i of a slab starts at
 * page_address + colour + i * size and holds its object at obj_offset. Everything read here may
 * be damaged by the very bug being reported, so every pointer is range-checked before use and
 * every freelist walk (slab_freelist_mark) ends at the first link that leaves the slab or repeats.
 */
#include "../heap/slab_internal.h"
#include "mm_describe.h"
#include "vmalloc.h"

/* State of object @obj of @slab, and its allocation site when the cache records it. */
static enum mm_obj_state describe_obj_state(const struct kmem_cache *c, const struct page *slab,
                                            void *obj, uintptr_t *site)
{
    if (c->hardened) {
        const struct slab_meta *m = slab_meta_of(c, obj);
        *site = m->site;
        if (m->state == SLAB_STATE_ALLOC)
            return MM_OBJ_ALLOCATED;
        if (m->state == SLAB_STATE_FREE)
            return m->site ? MM_OBJ_FREED : MM_OBJ_NEVER_ALLOCATED;
        if (m->state == SLAB_STATE_RFREE) /* in a remote-free buffer: it was allocated */
            return MM_OBJ_FREED;
        return MM_OBJ_UNKNOWN;
    }
    uint64_t free[SLAB_MAX_OBJECTS / 64] = { 0 };
    void *bad; /* a damaged list ends the walk: what it reached so far counts as free */
    slab_freelist_mark(c, slab, slab->freelist, free, &bad);
    unsigned int cpu = slab->cpu;
    if ((slab->flags & PG_frozen) && cpu < mm_nr_cpus() && c->cpu[cpu].slab == slab)
        slab_freelist_mark(c, slab, c->cpu[cpu].freelist, free, &bad);
    slab_rfree_mark(c, slab, -1, free, &bad);
    long i = slab_obj_index(c, slab, obj);
    return i >= 0 && (free[i / 64] & (1ull << (i % 64))) ? MM_OBJ_FREE : MM_OBJ_ALLOCATED;
}

/* Part of the slot at byte @off (0 <= off < c->size). */
static enum mm_slab_part describe_slot_part(const struct kmem_cache *c, uintptr_t off)
{
    if (c->hardened && off >= c->meta_offset && off < c->meta_offset + sizeof(struct slab_meta))
        return MM_SLAB_METADATA; /* level 1 keeps it before the object, level 2 after */
    if (off < c->obj_offset)
        return MM_SLAB_LEFT_REDZONE;
    if (off < (uintptr_t)c->obj_offset + c->object_size)
        return MM_SLAB_OBJECT;
    return MM_SLAB_RIGHT_REDZONE;
}

static void describe_slab(const void *addr, struct page *slab, struct mm_addr_desc *d)
{
    const struct kmem_cache *c = slab->slab_cache;
    d->owner = MM_ADDR_SLAB;
    if (!c || c->magic != KMEM_CACHE_MAGIC || c->size == 0 || c->objects == 0) {
        d->cache = "(damaged cache pointer)";
        d->state = MM_OBJ_UNKNOWN;
        return;
    }
    d->cache = c->name;
    d->object_size = c->object_size;
    d->slot_size = c->size;
    d->hardened = c->hardened;
    uintptr_t a = (uintptr_t)addr, base = (uintptr_t)slab_obj_base(c, slab);
    uintptr_t idx = a < base ? 0 : (a - base) / c->size;
    d->part = MM_SLAB_PADDING;
    if (idx >= c->objects)
        idx = c->objects - 1;
    else if (a >= base)
        d->part = describe_slot_part(c, a - base - idx * c->size);
    d->object = base + idx * c->size + c->obj_offset;
    d->offset = (long)(a - d->object);
    d->state = describe_obj_state(c, slab, (void *)d->object, &d->alloc_site);
}

/* Direct-map address of the live machine: the page block, then the slab if it is one. */
static bool describe_direct(const void *addr, struct mm_addr_desc *d)
{
    struct page *pg = virt_to_page(addr);
    if (!pg)
        return false;
    d->pfn = page_to_pfn(pg);
    if (pg->flags & PG_reserved) {
        d->owner = MM_ADDR_RESERVED;
        return true;
    }
    if (pg->flags & PG_pcp) {
        d->owner = MM_ADDR_PCP_PAGE;
        d->cpu = pg->cpu;
        d->block = (uintptr_t)page_address(pg);
        return true;
    }
    struct page *head;
    struct page *slab = slab_lookup(addr, NULL, &head);
    if (!head)
        return false;
    d->block = (uintptr_t)page_address(head);
    d->order = head->order;
    if (slab) {
        describe_slab(addr, slab, d);
        return true;
    }
    if (head->flags & PG_buddy) {
        d->owner = MM_ADDR_FREE_PAGE;
        return true;
    }
    d->owner = (head->flags & PG_large) ? MM_ADDR_LARGE : MM_ADDR_PAGE;
    d->alloc_site = head->alloc_site;
    if (d->owner == MM_ADDR_LARGE) {
        d->object = d->block;
        d->object_size = head->private_data;
        d->offset = (long)((uintptr_t)addr - d->block);
    }
    return true;
}

/* vmalloc range: the area (mapped pages or guard page), unless its lock is held (the bad access
 * may have come from inside vmalloc, and the lookup takes that lock). */
static bool describe_vmalloc(const void *addr, struct mm_addr_desc *d)
{
    uintptr_t start;
    size_t size;
    d->owner = MM_ADDR_VMALLOC_UNUSED;
    if (__atomic_load_n(&mm_state.vmalloc.lock.locked, __ATOMIC_RELAXED))
        return true;
    if (vmalloc_area_of(addr, &start, &size)) {
        d->owner = MM_ADDR_VMALLOC;
        d->block = d->object = start;
        d->object_size = size;
        d->offset = (long)((uintptr_t)addr - start);
    }
    return true;
}

/* KFENCE pool: the object whose page holds the address, or for a guard page the nearer object
 * of its two neighbours that has been used (read without the pool's lock). */
static bool describe_kfence(const void *addr, struct mm_addr_desc *d)
{
    const struct mm_kfence_state *kf = &mm_state.vmalloc.kfence;
    uintptr_t a = (uintptr_t)addr;
    unsigned long pg = (a - mm_state.heap.kfence_start) >> PAGE_SHIFT;
    long i = (pg & 1) ? (long)(pg - 1) / 2 : (long)pg / 2; /* guard: the object to its right */
    if (!(pg & 1) && (i >= (long)KFENCE_NR_OBJECTS || kf->slot[i].state == KFENCE_UNUSED ||
                      (i > 0 && kf->slot[i - 1].right && kf->slot[i - 1].state != KFENCE_UNUSED)))
        i--; /* the object to its left abuts it, or is the only one */
    d->owner = MM_ADDR_KFENCE;
    if (i < 0 || kf->slot[i].state == KFENCE_UNUSED)
        return true;
    const struct kfence_slot *s = &kf->slot[i];
    d->cache = s->cache ? s->cache->name : "(destroyed)";
    d->object = s->addr;
    d->object_size = s->size;
    d->block = MM_ALIGN_DOWN(s->addr, PAGE_SIZE);
    d->alloc_site = s->site;
    d->offset = (long)(a - s->addr);
    d->state = s->state == KFENCE_LIVE ? MM_OBJ_ALLOCATED : MM_OBJ_FREED;
    d->part = d->offset < 0 ? MM_SLAB_LEFT_REDZONE
              : (uintptr_t)d->offset >= s->size ? MM_SLAB_RIGHT_REDZONE : MM_SLAB_OBJECT;
    return true;
}

bool mm_describe_addr(const void *addr, struct mm_addr_desc *d)
{
    *d = (struct mm_addr_desc){ .owner = MM_ADDR_NONE, .pfn = ~0ul };
    if (!mm_state.phys.ready || !mm_mem_map)
        return false;
    if (in_vmalloc_range(addr))
        return describe_vmalloc(addr, d);
    if (in_kfence_window(addr))
        return describe_kfence(addr, d);
    if (describe_direct(addr, d))
        return true;
    d->owner = MM_ADDR_NONE;
    return false;
}
