/*
 * vmalloc_internal.h - struct vmap_area and what vmalloc.c (its owner) shares with its validator,
 * vmalloc_check in mm/checks/check_vmalloc.c. Not public.
 */
#ifndef LEAXOS_MM_VMALLOC_INTERNAL_H
#define LEAXOS_MM_VMALLOC_INTERNAL_H

#include "vm_internal.h"
#include "vm_tree.h"
#include "vmalloc.h"

enum vmap_area_kind {
    VMAP_AREA_ALLOC = 1, /* vmalloc: owns its pages */
    VMAP_AREA_MAP,       /* vmap: the caller's pages */
};

struct vmap_area {
    uintptr_t start;            /* first byte, page aligned */
    size_t size;                /* mapped bytes; the guard page follows */
    unsigned long nr_pages;     /* size >> PAGE_SHIFT */
    unsigned long nr_mapped;    /* pages mapped so far (== nr_pages once built) */
    unsigned int kind;          /* enum vmap_area_kind */
    pte_t prot;                 /* PTE bits of every page (PTE_P included) */
    uintptr_t alloc_site;       /* caller of vmalloc/vmap, for reports */
    unsigned long alloc_seq;    /* its mm_state.core.alloc_seq stamp (the leak scan's age) */
    struct list_head pages;     /* VMAP_AREA_ALLOC: its pages in address order (page->lru) */
    struct list_head list;      /* mm_state.vmalloc.areas, address order */
};

static inline uintptr_t va_map_end(const struct vmap_area *va) { return va->start + va->size; }
/* One past the area's guard page: where the next area may start (the end of its tree key). */
static inline uintptr_t va_guard_end(const struct vmap_area *va) { return va_map_end(va) + PAGE_SIZE; }

/** True if @p is a page of an allocated block (its head or a tail); vmap and the checker ask. */
bool vmalloc_page_allocated(const struct page *p);

/** The head of the allocated block @p belongs to (@p itself or the head of its tail), or NULL. */
struct page *vmalloc_page_head(const struct page *p);

#endif /* LEAXOS_MM_VMALLOC_INTERNAL_H */
