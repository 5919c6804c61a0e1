/*
 * vmalloc.h - virtually contiguous kernel memory: vmalloc (the mm allocates and owns the pages)
 * and vmap (the caller's pages, mapped), both in the kernel's vmalloc range.
 *
 *   vmalloc range [start, end), from env_vmalloc_range:
 *   | area A (pages) |G| .. free .. | area B |G| area C |G| ....... free ........ |
 *                     ^ guard page: never mapped, poisoned under a sanitizer
 *
 * Each area is page aligned and followed by one unmapped guard page, so running off its end
 * faults. Its PTEs live in the mm's kernel page table (page_table.h); the environment is told
 * about every contiguous run (env_kernel_map / env_kernel_unmap), so hosted, the range really
 * aliases the arena. vmalloc pages are order-0 allocations (any zone, HIGHMEM included: all
 * memory is direct-mapped on x86_64) freed by vfree; vmap pages stay the caller's.
 *
 * Misuse (reported through the mm's misuse reports; nothing changes):
 *   vfree/vunmap of a pointer that is not an area start (interior, guard page, kmalloc or
 *   direct-map memory, outside the range)                     MM_MISUSE_BAD_ADDRESS
 *   vfree/vunmap of an area freed already                       MM_MISUSE_DOUBLE_FREE
 *   vfree of a vmap area, vunmap of a vmalloc area, bad vmap pages or prot, zero count
 *                                                               MM_MISUSE_BAD_ARGUMENT
 *   a size larger than the whole range                          MM_MISUSE_SIZE_OVERFLOW
 *
 * Locking: one spinlock (mm_state.vmalloc.lock) protects the area tree, the list and the kernel
 * page table of the range; page allocation happens outside it.
 */
#ifndef LEAXOS_VMALLOC_H
#define LEAXOS_VMALLOC_H

#include "arch_pgtable.h"
#include "mm.h"
#include "page_alloc.h"

struct page_table;

/** PTE protection of vmalloc memory (read/write, global, never executable). */
#define VMALLOC_PROT_KERNEL    (PTE_P | PTE_RW | PTE_G | PTE_NX)
/** Read-only kernel mapping for vmap. */
#define VMALLOC_PROT_KERNEL_RO (PTE_P | PTE_G | PTE_NX)
/** The PTE bits vmap accepts in @prot (PTE_P is implied; RW without NX is refused: W^X). */
#define VMALLOC_PROT_ALLOWED   (PTE_P | PTE_RW | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G | PTE_NX)

/**
 * Allocate @size bytes (rounded up to pages) of virtually contiguous memory, GFP_KERNEL |
 * __GFP_HIGHMEM pages. Returns the area start, or NULL when @size is 0, larger than the range
 * (reported), no range is free, or pages run out (everything taken is given back).
 */
void *vmalloc(size_t size);
/** As vmalloc, zero-filled. */
void *vzalloc(size_t size);
/** As vmalloc with the caller's @gfp for the pages (__GFP_ZERO zeroes, __GFP_HIGHMEM allowed). */
void *__vmalloc(size_t size, gfp_t gfp);

/**
 * Free a vmalloc area and its pages. vfree(NULL) is a no-op. Returns 0, or (reported, nothing
 * changed): -MM_EFAULT for an address outside the vmalloc range, -MM_EINVAL for one inside it
 * that is not a live area start, an area freed already, or a vmap area (use vunmap).
 */
int vfree(const void *addr);

/**
 * Map @count pages (each an allocated page: a block head or a page inside an allocated block,
 * not a slab or page-table page of the mm's own) contiguously with PTE bits @prot
 * (VMALLOC_PROT_*). The pages stay the caller's: vunmap does not free them, and the caller must
 * not free them before vunmap: each mapped page adds one to its block's vmap mark
 * (page_alloc.h), and a free of a marked block is refused (-MM_EBUSY, free-still-mapped) until
 * vunmap takes the marks back. Returns the start or NULL (bad arguments, a block already
 * mapped PG_VMAP_MAX times, are reported).
 */
void *vmap(struct page **pages, unsigned int count, pte_t prot);

/** Remove a vmap area (not its pages). Returns as vfree; a vmalloc area is -MM_EINVAL. */
int vunmap(const void *addr);

/** True if @addr lies inside the vmalloc range (mapped or not). */
bool is_vmalloc_addr(const void *addr);

/** The page mapped at vmalloc address @addr (any byte of it), or NULL if none is. */
struct page *vmalloc_to_page(const void *addr);

/** The area containing @addr (its mapped pages or its guard): start and mapped size (either
 * output may be NULL). */
bool vmalloc_area_of(const void *addr, uintptr_t *start, size_t *size);

struct vmalloc_stats {
    uintptr_t start, end;        /* the vmalloc range */
    unsigned long nr_areas;      /* live areas, vmalloc + vmap */
    unsigned long nr_vmap_areas; /* of which vmap */
    unsigned long nr_pages;      /* pages mapped in all areas */
    unsigned long nr_owned;      /* of which owned by vmalloc (freed by vfree) */
    uint64_t bytes;              /* mapped bytes (nr_pages * PAGE_SIZE) */
    uint64_t largest_free;       /* largest free gap, bytes (guard pages excluded) */
    unsigned long nr_tables;     /* page-table pages of the kernel page table */
    unsigned long nr_alloc_fail; /* vmalloc/vmap calls that returned NULL */
};

/** Fill @st (NULL: nothing to do). */
void vmalloc_get_stats(struct vmalloc_stats *st);

/**
 * The mm's kernel page table that maps the vmalloc range (for checks and tests; changes to it
 * other than through this API break vmalloc_check, which is the point of a corruption test).
 */
struct page_table *vmalloc_page_table(void);

/**
 * Set up the vmalloc range and its kernel page table (called at the end of mm_core_init).
 * Returns 0, -MM_EINVAL (mm not ready, bad range from the environment) or -MM_ENOMEM; until it
 * succeeded vmalloc/vmap return NULL.
 */
int vmalloc_init(void);

/**
 * Set up the KFENCE pool (slab.h) in the window vmalloc_init kept at the top of the range when
 * mm_boot_params.kfence_interval is not 0 (mm_core_init calls it). Returns 0, -MM_EINVAL
 * (sampling off, vmalloc not ready) or -MM_ENOMEM (pool pages); sampling stays off on error.
 */
int kfence_init(void);

/* ---- checks ---- */

/**
 * Verify the vmalloc invariants; returns 0 or -MM_ECORRUPT with the first broken one in *@rep
 * (may be NULL):
 *   vmalloc.order  areas unsorted, overlapping, unaligned, empty or outside the range
 *   vmalloc.guard  the page after an area is mapped
 *   vmalloc.pte    an area page's PTE is missing or has other bits than the area's; a PTE outside
 *                  every live area
 *   vmalloc.page   a mapped page is not allocated memory (vmalloc: not an order-0 PG_head page,
 *                  or not the page the area owns at that index)
 *   vmalloc.tree   the area tree does not index exactly the listed areas, each under
 *                  [start, guard end), or counts another number of them
 *   vmalloc.vmap_mark  a block's vmap mark (page_alloc.h) counts fewer or more PTEs of vmap
 *                  areas than map its pages, or a page that is no allocated head carries one
 *   tree.*         the area tree itself is broken (range_tree.h: depth, fill, order, key, gap)
 * Lives in mm/checks (check_vmalloc.c) with the other validators.
 * Precondition: quiescence, as mm_check.
 */
int vmalloc_check(struct mm_check_report *rep);

#endif /* LEAXOS_VMALLOC_H */
