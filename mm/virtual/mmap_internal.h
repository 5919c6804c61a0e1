/*
 * mmap_internal.h - shared between the address-space files of mm/virtual (vma.c, mmap.c,
 * fault.c, fork.c, file.c) and the address-space checker. Not public. (What they call of swap
 * is in ../swap/swap_internal.h.)
 */
#ifndef LEAXOS_MMAP_INTERNAL_H
#define LEAXOS_MMAP_INTERNAL_H

#include "../lib/core.h"
#include "../swap/swap_internal.h"
#include "mmap.h"
#include "vm_tree.h"

#define VM_PROT_MASK (VM_READ | VM_WRITE | VM_EXEC)

/** The id tracepoints give @mm (0 for NULL, which the entry points reject). */
static inline unsigned int vm_trace_id(const struct mm_struct *mm)
{
    return mm ? mm->id : 0;
}

/* vma.c */
int vma_link(struct mm_struct *mm, struct vm_area_struct *v);
void vma_unlink(struct mm_struct *mm, struct vm_area_struct *v);
void vma_set_range(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t start, uintptr_t end);
int vma_prealloc(struct mm_struct *mm, unsigned int nr_links);
void vma_prealloc_done(struct mm_struct *mm);
struct vm_area_struct *vma_next(struct mm_struct *mm, struct vm_area_struct *v);
struct vm_area_struct *vma_prev(struct mm_struct *mm, struct vm_area_struct *v);
/** Merge @v with compatible neighbours (mmap.c); returns the surviving VMA, @v may be freed. */
struct vm_area_struct *vma_merge_around(struct mm_struct *mm, struct vm_area_struct *v);
bool vma_range_free(struct mm_struct *mm, uintptr_t addr, size_t len);
uintptr_t vma_find_gap(struct mm_struct *mm, size_t len, uintptr_t top);

/* mmap.c */
struct vm_area_struct *vma_alloc(void);
void vma_free(struct vm_area_struct *v);
/** PTE permission bits a page of @v gets (RW only when @writable and the VMA allows it). */
pte_t vma_pte_prot(const struct vm_area_struct *v, bool writable);
/** Unmap the pages of [start, end) inside @v's range (no VMA changes). */
void vm_unmap_pages(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t start, uintptr_t end);
/** The shared zero page (allocated on first use); NULL on exhaustion. */
struct page *vm_zero_page(void);
/** Fault @va of @mm in as a user access with error code @pf would (fault.c), retrying as the
 * MMU does until the PTE grants the access (a private file or COW page needs two faults for a
 * write); the last fault's result. For population (MAP_POPULATE, mlock, locked stack growth). */
enum vm_fault_result fault_in_page(struct mm_struct *mm, uintptr_t va, unsigned int pf);
/** Make VMA boundaries fall on @start and @end (as mprotect); 0 and in *@first the first VMA
 * ending above @start, or -MM_ENOMEM (nothing changed). */
int vma_split_range(struct mm_struct *mm, uintptr_t start, uintptr_t end,
                    struct vm_area_struct **first);

/* mpol_place.c: where a user page of an address goes */
static inline unsigned int mempolicy_weight(uint64_t m) { return mm_popcount64(m); }
/** The @k-th (from 0) set bit of @m; @m non-empty. */
static inline int mempolicy_nth_node(uint64_t m, unsigned int k)
{
    for (int n = 0;; n++)
        if ((m >> n & 1) && k-- == 0)
            return n;
}
struct mpol_target {
    int nid;              /* preferred node, NUMA_NO_NODE: the calling CPU's */
    unsigned int nodes;   /* nodes that may serve (~0u: any) */
    bool interleave;      /* count interleave_hit when the page lands on @nid */
};
/** The target of a new page at @va of @v (NULL: no VMA) under the policy in force there. */
void mempolicy_target(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va,
                      struct mpol_target *t);
/** An order-0 page for @t (NULL: none, a bind policy's nodes exhausted included). */
struct page *mempolicy_alloc(const struct mpol_target *t, gfp_t gfp);
/** A page for @va of @v under its policy (mempolicy_target + mempolicy_alloc). */
struct page *vma_alloc_page(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va, gfp_t gfp);
/** Page @p now maps in @v by another choice than the policy (move_pages to a node): a bind
 * policy it breaks is no longer strict, and @v may merge with a neighbour (it may be freed). */
void mempolicy_note_page(struct mm_struct *mm, struct vm_area_struct *v, const struct page *p);

/** The node a hinting fault from node @nid may move a page of @v to under the policy in force:
 * @nid (default, local, or bind with @nid in its mask, and @nid has memory), else NUMA_NO_NODE
 * (preferred and interleave place pages themselves, as Linux without MPOL_F_NUMA_BALANCING). */
int mempolicy_misplaced(struct mm_struct *mm, struct vm_area_struct *v, int nid);

/* numa_balance.c */
/** A user access to hinting entry *@ptep of @va (@v allows it): rights back, node recorded,
 * maybe migrated. Always VM_FAULT_HANDLED (a failed move leaves the page mapped where it is). */
enum vm_fault_result numa_hint_fault(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t va,
                                     pte_t *ptep);

/* migrate.c */
/** Move the page at @va of @mm (every mapper) to node @nid only (numa balancing). The status, as
 * migrate_page_to's; a failed move is counted (pgmigrate_fail). */
int migrate_misplaced_page(struct mm_struct *mm, uintptr_t va, int nid);
/** Move the page at @va of @mm to a page from @t (NULL: the policy's target). The move_pages
 * status: 0 or a negative MM_E* code. Under the lock. */
int migrate_page_to(struct mm_struct *mm, uintptr_t va, unsigned int flags,
                    const struct mpol_target *t);

/* file.c */
struct mm_file {
    uint64_t size;
    bool writable;
    int refs;                 /* creator + one per VMA */
    unsigned long npages;
    struct page **cache;      /* page cache: cached pages (PG_head|PG_cache), NULL if absent */
    struct page **store;      /* backing store pages, NULL = zeros */
    uint8_t *dirty;           /* per page: cache page newer than the store */
    struct list_head list;    /* mm_state.vm.files */
    struct list_head i_mmap;  /* every linked VMA mapping it (vm_area_struct.vm_shared) */
};
void mm_file_get(struct mm_file *f);
/** 0 if @f is a live file; else reported (NULL, released, never created) as misuse of @func and
 * -MM_EINVAL returned. Walks at most nr_files entries. */
int mm_file_check_live(const struct mm_file *f, const char *func);
/** The cached page @index, read in from the store if needed (one reference for the caller). */
struct page *mm_file_page(struct mm_file *f, uint64_t index, gfp_t gfp, int *err);
void mm_file_set_dirty(struct mm_file *f, uint64_t index);

/* rmap.c: the reverse map of anonymous pages (what it owns and its invariants: there) */
struct anon_vma {
    unsigned int nr_chains;          /* anon_vma_chains naming it; freed when it drops to 0 */
    struct list_head chains;         /* anon_vma_chain.same_anon_vma */
};
struct anon_vma_chain {
    struct mm_struct *mm;
    struct anon_vma *anon_vma;
    struct list_head same_mm;        /* mm->anon_vma_chain */
    struct list_head same_anon_vma;  /* anon_vma->chains */
};
/** Give new @mm its own anon_vma (chained to it). 0 or -MM_ENOMEM. */
int anon_vma_create(struct mm_struct *mm);
/** Chain @child to every anon_vma @parent chains (fork). 0 or -MM_ENOMEM (mm_destroy undoes). */
int anon_vma_fork(struct mm_struct *child, struct mm_struct *parent);
/** Drop every chain of @mm (exit, after its pages are unmapped); frees unchained anon_vmas. */
void anon_vma_unlink_mm(struct mm_struct *mm);
/** A new anonymous page @p, mapped once by @mm: into @mm's anon_vma (the caller puts it on the
 * swap LRU, whose bits hold its address). */
void rmap_add_new_anon(struct mm_struct *mm, struct page *p);
/** The address every mapper of anonymous page @p maps it at. */
static inline uintptr_t rmap_address(const struct page *p) { return p->private_data & PAGE_MASK; }
/** Visited for each PTE that maps the page; return non-zero to stop the walk. @v may be NULL
 * only when the address space is broken (a PTE outside every VMA, which mm_check reports). */
typedef int (*rmap_visit_fn)(void *arg, struct mm_struct *mm, struct vm_area_struct *v,
                             uintptr_t va, pte_t *ptep);
/** Call @fn (NULL: just count) on every PTE that maps anonymous page @p; returns how many. */
unsigned int rmap_walk_anon(struct page *p, rmap_visit_fn fn, void *arg);
/** As rmap_walk_anon for page cache page @p (page @index of @f) over @f's i_mmap. */
unsigned int rmap_walk_file(struct mm_file *f, uint64_t index, struct page *p, rmap_visit_fn fn,
                            void *arg);

/** Drop one mapping reference of user page @p (anonymous pages are freed with the last). */
void vm_page_put(struct page *p);
/** Release one PTE reference of the page @e maps (anon: free at zero; cache: mark dirty). */
void vm_put_pte_page(struct vm_area_struct *v, uintptr_t va, pte_t e);

#endif /* LEAXOS_MMAP_INTERNAL_H */
