/*
 * mmap.h - address spaces: struct mm_struct, VMAs, mmap/munmap/mprotect/brk, page faults,
 * copy-on-write fork and teardown, and the in-memory file objects that back file mappings.
 *
 *   mm_struct ─┬─ page_table (arch format, walked by the MMU)
 *              ├─ VMA tree (a B+tree of ranges: O(log n) lookup, gap search) + ordered list
 *              └─ brk area, mmap base, placement hint
 *
 * Page ownership: an anonymous page is an order-0 allocation whose refcount counts the PTEs that
 * map it (page->mapcount the same); a file page belongs to its file's page cache (one reference)
 * plus one reference per PTE. A private page shared after fork is read-only and PTE_SW_COW in
 * every mapping; the first write copies it, or reuses it when it has one mapper left.
 *
 * Errors follow Linux (checked against the host kernel by fuzz target linux): mmap gives -MM_EINVAL
 * for a zero length, an unaligned fixed address or offset, bad flags and, once placed, a type other
 * than exactly one of MAP_SHARED / MAP_PRIVATE or a shared anonymous grows-down mapping;
 * -MM_ENOMEM for a length or fixed range beyond the user range, no room, too many VMAs or out of
 * memory; -MM_EEXIST for MAP_FIXED_NOREPLACE over a mapping (before the type is looked at);
 * -MM_EACCES for a mapping the file's mode forbids. munmap: -MM_EINVAL for unaligned, zero-length
 * or wrapping ranges. A hint fits only clear of the guard gap below a grows-down VMA. mprotect
 * as Linux's: an unaligned start is -MM_EINVAL, a zero length succeeds, a wrapping range or one
 * outside the user range is -MM_ENOMEM (it is unmapped memory), as is a hole. One deliberate
 * difference: a failing mprotect changes nothing (Linux has already changed the mapped prefix
 * of [mapped, hole) when it returns ENOMEM). Another: adjacent VMAs merge when flags, file and
 * offset agree; Linux also keeps apart VMAs whose pages belong to different anon_vmas and VMAs
 * that differ in accounting (a written, once-writable region made read-only).
 */
#ifndef LEAXOS_MMAP_H
#define LEAXOS_MMAP_H

#include "mm.h"
#include "mm_env.h"
#include "page_table.h"
#include "range_tree.h"

/* prot (Linux values) */
#define PROT_NONE   0x0u
#define PROT_READ   0x1u
#define PROT_WRITE  0x2u
#define PROT_EXEC   0x4u
#define PROT_SEM    0x8u   /* accepted by mprotect and ignored, as on x86 Linux */

/* flags (Linux values) */
#define MAP_SHARED          0x01u
#define MAP_PRIVATE         0x02u
#define MAP_FIXED           0x10u
#define MAP_ANONYMOUS       0x20u
#define MAP_GROWSDOWN       0x100u
#define MAP_FIXED_NOREPLACE 0x100000u
/* Accepted with Linux's meaning: MAP_POPULATE prefaults the mapping (write faults for a private
 * writable one; nothing with MAP_NONBLOCK); the rest are no-ops here as in Linux (MAP_NORESERVE:
 * there is no overcommit accounting; MAP_DENYWRITE, MAP_EXECUTABLE: ignored by Linux; MAP_STACK;
 * MAP_UNINITIALIZED: pages are zeroed anyway; MAP_SYNC: ignored without MAP_SHARED_VALIDATE).
 * MAP_LOCKED is mlock of the new mapping (see do_mlock). Any other bit is -MM_EINVAL, where Linux
 * ignores unknown bits unless MAP_SHARED_VALIDATE: a documented difference. */
#define MAP_DENYWRITE       0x0800u
#define MAP_EXECUTABLE      0x1000u
#define MAP_LOCKED          0x2000u
#define MAP_NORESERVE       0x4000u
#define MAP_POPULATE        0x8000u
#define MAP_NONBLOCK        0x10000u
#define MAP_STACK           0x20000u
#define MAP_SYNC            0x80000u
#define MAP_UNINITIALIZED   0x4000000u

/* vm_flags */
#define VM_READ      0x0001ul
#define VM_WRITE     0x0002ul
#define VM_EXEC      0x0004ul
#define VM_SHARED    0x0008ul
#define VM_GROWSDOWN 0x0100ul
#define VM_LOCKED    0x2000ul /* mlock / MAP_LOCKED: every page present, never swapped out */

#define MM_MAX_MAP_COUNT   65530u  /* VMAs per address space */
#define MM_STACK_GUARD_GAP (256ul * PAGE_SIZE) /* kept between a stack and the VMA below */
#define MM_STACK_LIMIT     (8ul << 20) /* largest a grows-down VMA may become */

struct mm_file;

/*
 * A memory policy (virtual/mempolicy.c): a mode (MPOL_*), its mode flags and a node mask (bit n
 * = node n, only nodes with memory). In a VMA, MPOL_DEFAULT means "none: the address space's".
 * @user: the mask as given (MPOL_F_STATIC_NODES / MPOL_F_RELATIVE_NODES keep it for
 * get_mempolicy). @strict: every private anonymous page it covers was placed under it (set when
 * the policy was applied to pages that all conformed; mm_check holds MPOL_BIND to it).
 */
struct mempolicy {
    uint16_t mode, flags;
    uint32_t nodes;
    uint64_t user;
    bool strict;
};

/** Same policy (VMAs with equal ones may merge)? */
static inline bool mempolicy_equal(const struct mempolicy *a, const struct mempolicy *b)
{
    return a->mode == b->mode && a->flags == b->flags && a->nodes == b->nodes &&
           a->user == b->user && a->strict == b->strict;
}

struct vm_area_struct {
    uintptr_t vm_start, vm_end;   /* [start, end), page aligned */
    unsigned long vm_flags;
    struct mm_file *vm_file;      /* NULL: anonymous */
    uint64_t vm_pgoff;            /* file offset of vm_start, in pages */
    struct mm_struct *vm_mm;
    struct list_head vm_list;     /* address order */
    struct list_head vm_shared;   /* a file VMA: on its file's i_mmap list while linked */
    struct mempolicy vm_policy;   /* mbind's (MPOL_DEFAULT: the mm's applies) */
};

struct mm_struct {
    struct page_table pt;
    struct range_tree tree;       /* the VMAs by range, with free gaps (range_tree.h) */
    struct list_head vmas;        /* address-ordered list */
    unsigned long map_count;
    uintptr_t mmap_base;          /* top of the top-down placement area */
    uintptr_t start_brk, brk;     /* heap: [start_brk, brk) */
    unsigned long nr_anon;        /* anonymous pages mapped */
    unsigned int id;
    struct list_head list_all;    /* every live mm (for mm_check) */
    struct anon_vma *anon_vma;    /* where this mm's new anonymous pages go (virtual/rmap.c) */
    struct list_head anon_vma_chain; /* its anon_vma_chains: one per anon_vma it may map pages of */
    struct mempolicy policy;      /* set_mempolicy's (MPOL_DEFAULT: local allocation) */
    uintptr_t numa_scan_offset;   /* where the next mm_numa_scan starts (numa_balance.c) */
    env_spinlock_t lock;          /* unused for now: one lock, mm_state.vm.lock, guards every
                                     address space (virtual/vm_lock.c); kept for the per-mm split */
};

/** Create an empty address space. NULL when memory is exhausted (or the mm is not ready). */
struct mm_struct *mm_create(void);

/** Tear down @mm (exit): unmap everything, free every page, page-table page and the mm. */
void mm_destroy(struct mm_struct *mm);

/**
 * Duplicate @parent: private pages become copy-on-write in both, shared mappings are shared.
 * Returns 0 and *child, or -MM_ENOMEM (nothing left allocated, parent unchanged).
 */
int mm_fork(struct mm_struct *parent, struct mm_struct **child);

/**
 * Map @len bytes. @addr is a hint (or exact with MAP_FIXED / MAP_FIXED_NOREPLACE); exactly one
 * of MAP_SHARED / MAP_PRIVATE; MAP_ANONYMOUS or a @file with page-aligned @off. Returns the
 * address, or a negative MM_E* code (as a long).
 */
long do_mmap(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int prot,
             unsigned int flags, struct mm_file *file, uint64_t off);

/** Unmap [addr, addr+len). Returns 0, or -MM_EINVAL (unaligned, zero, wrapping, outside user). */
int do_munmap(struct mm_struct *mm, uintptr_t addr, size_t len);

/**
 * Change the protection of [addr, addr+len). Returns 0 (also for len 0 at an aligned @addr),
 * -MM_EINVAL (NULL @mm, unaligned @addr, prot bits other than PROT_READ/WRITE/EXEC/SEM),
 * -MM_ENOMEM (a wrapping range, one outside the user range, a hole in the range, or too many
 * VMAs after splitting) or -MM_EACCES (PROT_WRITE on a shared mapping of a read-only file).
 * Nothing changes on error (Linux changes the mapped prefix before a hole: a documented
 * difference).
 */
int do_mprotect(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int prot);

/**
 * mlock(2) / mlock2(2) without MLOCK_ONFAULT: lock [addr & PAGE_MASK, PAGE_ALIGN(addr + len)):
 * its VMAs get VM_LOCKED and every page of an accessible one is faulted in (a write fault for a
 * private writable mapping, as MAP_POPULATE); a locked page is never swapped out, and a locked
 * VMA that becomes accessible (mprotect) or grows (a stack) is populated too. A fork's child does
 * not inherit the lock (as in Linux). Returns 0 (also for an empty range: len 0, or a len that
 * PAGE_ALIGN wraps to 0, as in Linux), or as Linux: -MM_EINVAL (NULL @mm, @flags other than 0, a
 * wrapping range), -MM_ENOMEM (a hole in the range or a range outside
 * user space, too many VMAs after splitting, a PROT_NONE VMA in the range, or the pages could not
 * be populated). There is no
 * lock limit (Linux: RLIMIT_MEMLOCK, unlimited for root). Differences: MLOCK_ONFAULT is -MM_EINVAL;
 * on a population failure the range is left unlocked (Linux keeps VM_LOCKED on what it locked).
 */
int do_mlock(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int flags);

/** munlock(2): clear VM_LOCKED over the range (the pages stay mapped, swappable again). Returns
 * 0, -MM_EINVAL (NULL @mm, wrapping) or -MM_ENOMEM (a hole, outside user space, VMA count). */
int do_munlock(struct mm_struct *mm, uintptr_t addr, size_t len);

/** Move the program break; returns the new break, or the old one when the move is refused. */
uintptr_t do_brk(struct mm_struct *mm, uintptr_t new_brk);

/** First VMA with vm_end > @addr, or NULL. */
struct vm_area_struct *find_vma(struct mm_struct *mm, uintptr_t addr);

/* ---- faults ---- */

enum vm_fault_result {
    VM_FAULT_HANDLED = 0,   /* mapping installed or upgraded: retry the access */
    VM_FAULT_OOM,           /* no memory for the page or a page-table page */
    VM_FAULT_SIGSEGV,       /* no VMA covers the address (and no stack can grow to it) */
    VM_FAULT_ACCESS,        /* a VMA covers it, but its permissions forbid the access */
    VM_FAULT_SIGBUS,        /* file mapping beyond the end of its file, or a swap entry that is
                               invalid or whose device read failed */
};

/*
 * Which error wins when several could: a fault obtains what it needs in order - the page-table
 * page, then the new page, then the data (file page cache or swap device) - and returns the first
 * failure. So when memory is exhausted a swap-in returns VM_FAULT_OOM without reading the device,
 * whatever the device would have said (Linux's do_swap_page does the same: no page, no read);
 * VM_FAULT_SIGBUS from a failing device means the page was obtained and the read failed. An
 * invalid swap entry is SIGBUS before any allocation.
 */

const char *vm_fault_name(enum vm_fault_result r);

/** Resolve a page fault at @va with x86 #PF error code @pf_error (PF_ERR_* of arch_pgtable.h). */
enum vm_fault_result handle_mm_fault(struct mm_struct *mm, uintptr_t va, unsigned int pf_error);

/* ---- in-memory files ---- */

/**
 * A file whose contents live in memory (its backing store), read into the page cache on first
 * touch; shared mappings write dirty pages back at munmap/teardown and by mm_file_sync.
 * @writable: whether MAP_SHARED mappings may be PROT_WRITE. Returns NULL on exhaustion.
 */
struct mm_file *mm_file_create(uint64_t size, bool writable);
/**
 * Drop the creator's reference; the file goes away with its last mapping. NULL is a no-op; a file
 * that is not live (released already: a second put) is reported (MM_MISUSE_DOUBLE_FREE) and
 * nothing changes.
 */
void mm_file_put(struct mm_file *f);

/** Create the address-space layer's metadata cache (called by mm_core_init). 0 or -MM_ENOMEM. */
int vm_init(void);
/** Write dirty page-cache pages back to the backing store (a file not live: reported). */
void mm_file_sync(struct mm_file *f);
/**
 * Copy file bytes (backing store merged with the page cache) for tests and models. Returns 0, or
 * -MM_EINVAL: the range is outside the file (not misuse), or reported: @f is NULL or not live,
 * @buf is NULL with @len > 0.
 */
int mm_file_read(struct mm_file *f, uint64_t off, void *buf, size_t len);
/** Write into the file (page cache if the page is cached, else the backing store); errors as
 * mm_file_read. */
int mm_file_write(struct mm_file *f, uint64_t off, const void *buf, size_t len);
uint64_t mm_file_size(const struct mm_file *f);

/* ---- page migration (virtual/migrate.c) ---- */

/* move_pages flags (Linux values): MOVE moves only pages mapped once (a shared page: -MM_EACCES),
 * MOVE_ALL also pages other address spaces map (COW-shared after fork, shared file pages). */
#define MPOL_MF_MOVE     (1u << 1)
#define MPOL_MF_MOVE_ALL (1u << 2)

/**
 * move_pages(2) without nodes (the target is any other page frame until nodes exist): move the
 * page mapped at each of @addrs[0..@count) of @mm to a newly allocated page: contents kept, every
 * PTE that maps it (in every address space, found by the reverse map or the file's i_mmap) moved,
 * TLBs flushed, the old page freed. @status[i] gets 0 (moved) or, as Linux: -MM_EFAULT (no VMA,
 * or the zero page), -MM_ENOENT (nothing present: never touched, or swapped out), -MM_EACCES (a
 * page mapped more than once without MPOL_MF_MOVE_ALL), -MM_EBUSY (pinned: references beyond its
 * mappings, or the reverse map does not find every mapping), -MM_ENOMEM (no target page). A page
 * whose move failed is untouched. Returns 0, or -MM_EINVAL (NULL @mm/@addrs/@status with @count,
 * @flags not exactly one of MPOL_MF_MOVE / MPOL_MF_MOVE_ALL) and then writes no status.
 */
int mm_move_pages(struct mm_struct *mm, unsigned long count, const uintptr_t *addrs, int *status,
                  unsigned int flags);

/**
 * migrate_pages analog on a range: move every present page of [@addr, @addr + @len) of @mm (as
 * mm_move_pages with @flags). Returns the number of pages present but not moved (>= 0; absent
 * and zero pages are not counted), or -MM_EINVAL (NULL @mm, unaligned or wrapping range, bad
 * @flags).
 */
long mm_migrate_range(struct mm_struct *mm, uintptr_t addr, size_t len, unsigned int flags);

/** Migration counters since boot: pages moved, moves tried that failed (EBUSY, ENOMEM), and
 * automatic NUMA balancing's (Linux's /proc/vmstat names; mm_numa_scan below). */
struct migrate_stats {
    unsigned long succeeded, failed;
    unsigned long numa_pte_updates, numa_hint_faults, numa_hint_faults_local, numa_pages_migrated;
};
void mm_migrate_get_stats(struct migrate_stats *st);

/* ---- automatic NUMA balancing (virtual/numa_balance.c; Linux's NUMA hinting faults) ---- */

/** Most pages one mm_numa_scan may cover (Linux's numa_balancing_scan_size_mb is 256 MiB). */
#define MM_NUMA_SCAN_MAX_PAGES 65536ul

/**
 * One scan step (Linux's task_numa_work): from @mm's scan offset, go over @nr_pages pages of its
 * accessible anonymous VMAs and make every present anonymous PTE there a NUMA hinting entry (the
 * user bit taken away, PTE_SW_NUMA set, TLB flushed), so the next user access faults: the fault
 * gives the rights back, records the accessing CPU's node in the page, and migrates the page to
 * that node when its last two hinting faults came from it and it lies elsewhere (the memory
 * policy permitting: default and local, or bind with that node). The offset advances past the
 * window; past the last VMA it goes back to 0. Deterministic (no clock). Returns the number of
 * PTEs updated, or -MM_EINVAL (NULL @mm, @nr_pages 0 or above MM_NUMA_SCAN_MAX_PAGES).
 */
long mm_numa_scan(struct mm_struct *mm, unsigned long nr_pages);

/** /proc/vmstat-style lines of the balancing and migration counters ("numa_hint_faults N\n"...)
 * into @buf (NUL-terminated, cut at @size); returns the length written (0 for a NULL @buf). */
size_t mm_numa_vmstat_show(char *buf, size_t size);

/* ---- memory policies (virtual/mempolicy.c; Linux's values and errors) ---- */

#define MPOL_DEFAULT    0
#define MPOL_PREFERRED  1
#define MPOL_BIND       2
#define MPOL_INTERLEAVE 3
#define MPOL_LOCAL      4
#define MPOL_MAX        5
#define MPOL_F_STATIC_NODES   (1 << 15)
#define MPOL_F_RELATIVE_NODES (1 << 14)
#define MPOL_MF_STRICT   (1u << 0)
/* get_mempolicy flags */
#define MPOL_F_NODE         (1u << 0)
#define MPOL_F_ADDR         (1u << 1)
#define MPOL_F_MEMS_ALLOWED (1u << 2)
/** Bits of a node mask word (Linux's MAX_NUMNODES here: one unsigned long). */
#define MPOL_MAX_NUMNODES 64

/**
 * set_mempolicy(2) for @mm: @mode (with MPOL_F_STATIC_NODES or MPOL_F_RELATIVE_NODES), node mask
 * @nmask of @maxnode - 1 bits (Linux's off-by-one). Nodes without memory are dropped from the mask
 * (Linux: mems_allowed & N_MEMORY). Returns 0 or -MM_EINVAL: NULL @mm, unknown mode or flags, both
 * node flags, MPOL_DEFAULT or MPOL_LOCAL with nodes, an empty mask (after dropping) for BIND,
 * INTERLEAVE or PREFERRED with a flag, @maxnode above 8 * PAGE_SIZE with a mask, bits set beyond
 * MPOL_MAX_NUMNODES. PREFERRED with an empty mask is MPOL_LOCAL. Applies to later faults.
 */
int mm_set_mempolicy(struct mm_struct *mm, int mode, const unsigned long *nmask,
                     unsigned long maxnode);

/**
 * mbind(2): give [@addr, @addr + PAGE_ALIGN(@len)) its own policy (VMAs split and merge as for
 * mprotect; MPOL_DEFAULT removes it). @flags: MPOL_MF_STRICT, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL.
 * With MOVE(_ALL), private anonymous and page cache pages on nodes outside the new mask are
 * migrated to the policy's nodes (MOVE: pages mapped once only). Returns 0; -MM_EINVAL (mode,
 * mask or flags as set_mempolicy, unknown @flags, unaligned @addr, a wrapping range); -MM_EFAULT
 * (a hole in the range; nothing changed); -MM_ENOMEM (no memory for a split); -MM_EIO (STRICT:
 * a page stayed outside the mask; the policy is set all the same, as Linux).
 */
int mm_mbind(struct mm_struct *mm, uintptr_t addr, size_t len, int mode,
             const unsigned long *nmask, unsigned long maxnode, unsigned int flags);

/**
 * get_mempolicy(2): *@mode and the mask (into @nmask, @maxnode - 1 bits, when @nmask) of @mm's
 * policy, or with MPOL_F_ADDR of the VMA's at @addr (MPOL_DEFAULT when it has none);
 * MPOL_F_NODE|MPOL_F_ADDR: *@mode = the node of the page at @addr (faulted in for reading first,
 * as Linux); MPOL_F_NODE alone: the next interleave node (EINVAL unless interleaving);
 * MPOL_F_MEMS_ALLOWED: the nodes with memory. -MM_EINVAL: NULL @mm, unknown flags,
 * MEMS_ALLOWED with another flag, @addr without MPOL_F_ADDR, @maxnode below the node count with
 * @nmask; -MM_EFAULT: no VMA at @addr (or the fault failed).
 */
int mm_get_mempolicy(struct mm_struct *mm, int *mode, unsigned long *nmask, unsigned long maxnode,
                     uintptr_t addr, unsigned int flags);

/**
 * move_pages(2) with target nodes: move the page at each @addrs[i] to node @nodes[i];
 * @status[i] = the node it is on afterwards, or the errors of mm_move_pages (a page already on
 * its node stays: status its node). @nodes NULL: only report each page's node (Linux's
 * do_pages_stat). Returns 0, -MM_EINVAL (as mm_move_pages), or -MM_ENODEV for a node that is not
 * one of the machine's or has no memory (statuses before it written, that page and later ones
 * not).
 */
int mm_move_pages_node(struct mm_struct *mm, unsigned long count, const uintptr_t *addrs,
                       const int *nodes, int *status, unsigned int flags);

/**
 * migrate_pages(2): move every private anonymous page of @mm on a node of @old_nodes to the node
 * of @new_nodes at the same rank (Linux's do_migrate_pages mapping when the masks differ in size:
 * rank modulo the new mask's weight). Returns the number of pages not moved, or -MM_EINVAL (NULL
 * @mm, empty @new_nodes after dropping memoryless nodes, bits beyond the machine's nodes).
 */
long mm_migrate_pages(struct mm_struct *mm, unsigned long old_nodes, unsigned long new_nodes);

/* ---- the MMU's side ---- */

/**
 * Hold off every change to address spaces while a (simulated) CPU walks @mm's page tables and
 * touches the pages they map, then let them go on. The hosted MMU brackets each access step with
 * these (never the fault handler it calls after); they stand in for the TLB shootdown that would
 * make such a walk safe on hardware until the hosted MMU caches translations (issue 12). Not
 * nestable with the calls above on the same CPU except inside them.
 */
void mm_user_access_begin(struct mm_struct *mm);
void mm_user_access_end(struct mm_struct *mm);

/* ---- checks ---- */

/**
 * VMA and page-table invariants of @mm: VMAs sorted, non-overlapping, page aligned, inside the
 * user range, flags legal, tree == list, adjacent compatible VMAs merged; every present user PTE
 * inside a VMA whose permissions allow it; COW pages read-only; no PTE maps a free page.
 */
int mm_check_mm(struct mm_struct *mm, struct mm_check_report *rep);

#endif /* LEAXOS_MMAP_H */
