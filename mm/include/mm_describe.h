/*
 * mm_describe.h - what the live mm instance knows about one kernel virtual address, for the
 * reports of a memory sanitizer (the kernel's KASAN-style runtime in shims/kernel/kasan.c, which
 * is below mm/ and so gets mm_describe_addr as a hook the kernel registers: kasan_set_describe).
 *
 * Owns: the description record and the one query that fills it. The query reads allocator state
 * (struct page flags, slab layout, hardened object metadata, freelists, vmalloc areas) without
 * taking locks and without changing any shadow, so it may run in the middle of an allocator
 * operation that a bad access interrupted. Because it reads free objects and metadata, call it
 * only from a sanitizer report with the sanitizer's own checks suppressed.
 *
 *   direct map:  page -> block head -> PG_slab? -> cache -> slot -> part of the slot
 *                                   -> PG_large? -> kmalloc size
 *   vmalloc:     area (mapped pages + guard page)
 *   KFENCE pool: the nearest object (its page, or a guard page beside it) -> its cache and state
 */
#ifndef LEAXOS_MM_DESCRIBE_H
#define LEAXOS_MM_DESCRIBE_H

#include "mm_common.h"

/** Who owns the memory at the address. */
enum mm_addr_owner {
    MM_ADDR_NONE = 0,   /* not memory of the live mm instance (or the mm is not booted) */
    MM_ADDR_RESERVED,   /* reserved page: hole, firmware range or early-allocator memory */
    MM_ADDR_FREE_PAGE,  /* inside a free buddy block */
    MM_ADDR_PCP_PAGE,   /* a free page on a per-CPU list */
    MM_ADDR_PAGE,       /* an allocated page block that is neither a slab nor large kmalloc */
    MM_ADDR_LARGE,      /* a page-backed (large) kmalloc allocation */
    MM_ADDR_SLAB,       /* a slab of a kmem_cache */
    MM_ADDR_VMALLOC,    /* a vmalloc/vmap area or its guard page */
    MM_ADDR_VMALLOC_UNUSED, /* inside the vmalloc range but in no area */
    MM_ADDR_KFENCE,     /* the KFENCE pool: a sampled object's page or a guard page (slab.h) */
};

/** Where in a slab the address falls. */
enum mm_slab_part {
    MM_SLAB_OBJECT = 0,     /* inside [object, object + object_size) */
    MM_SLAB_LEFT_REDZONE,   /* slot bytes before the object (hardened red zone) */
    MM_SLAB_RIGHT_REDZONE,  /* slot bytes after the object that are not metadata */
    MM_SLAB_METADATA,       /* the hardened per-object metadata (freelist pointer, state, site) */
    MM_SLAB_PADDING,        /* slab bytes outside every slot (colour offset, tail) */
};

/** State of the slab object the address belongs to. */
enum mm_obj_state {
    MM_OBJ_UNKNOWN = 0,     /* metadata damaged or freelist unreadable */
    MM_OBJ_ALLOCATED,
    MM_OBJ_FREE,            /* free; whether it was ever allocated is not recorded */
    MM_OBJ_FREED,           /* free after having been allocated (hardened caches record it) */
    MM_OBJ_NEVER_ALLOCATED, /* free since its slab was created (hardened caches record it) */
};

struct mm_addr_desc {
    enum mm_addr_owner owner;
    unsigned long pfn;        /* page frame of the address, ~0ul if none */
    uintptr_t block;          /* start of the enclosing page block / vmalloc area, 0 if none */
    unsigned int order;       /* its order (page blocks) */
    unsigned int cpu;         /* MM_ADDR_PCP_PAGE: the CPU whose list holds it */
    uintptr_t alloc_site;     /* allocation site of the block or (hardened) object, 0 unknown */
    /* MM_ADDR_SLAB: the object whose slot holds the address (the nearest one for padding) */
    const char *cache;        /* cache name (lives as long as the cache) */
    uintptr_t object;         /* object start; MM_ADDR_LARGE / MM_ADDR_VMALLOC: block start */
    size_t object_size;       /* requested object size; LARGE: requested size; VMALLOC: mapped */
    size_t slot_size;         /* slot stride of the cache */
    long offset;              /* address - object (negative: before the object) */
    enum mm_slab_part part;
    enum mm_obj_state state;
    bool hardened;            /* the cache keeps red zones and per-object metadata */
};

/**
 * Describe kernel virtual address @addr into *@d. Returns true if the address belongs to the
 * live mm instance (direct-map memory of its machine or its vmalloc range), false otherwise
 * (then d->owner == MM_ADDR_NONE). Takes no lock; see the file comment for when to call it.
 */
bool mm_describe_addr(const void *addr, struct mm_addr_desc *d);

/** Short name of an owner ("slab", "free page", ...). Inline: a sanitizer runtime below mm/
 * names owners without calling into it. */
static inline const char *mm_addr_owner_name(enum mm_addr_owner owner)
{
    static const char *const names[] = {
        [MM_ADDR_NONE] = "no mm memory", [MM_ADDR_RESERVED] = "reserved page",
        [MM_ADDR_FREE_PAGE] = "free page", [MM_ADDR_PCP_PAGE] = "free per-CPU page",
        [MM_ADDR_PAGE] = "allocated page", [MM_ADDR_LARGE] = "large kmalloc",
        [MM_ADDR_SLAB] = "slab", [MM_ADDR_VMALLOC] = "vmalloc area",
        [MM_ADDR_VMALLOC_UNUSED] = "unused vmalloc range", [MM_ADDR_KFENCE] = "KFENCE pool",
    };
    return (unsigned int)owner < MM_ARRAY_SIZE(names) ? names[owner] : "?";
}

#endif /* LEAXOS_MM_DESCRIBE_H */
