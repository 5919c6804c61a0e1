/*
 * mm_leak.h - kmemleak-style leak detection: which allocated objects of the live mm instance no
 * pointer reaches any more (mm/checks/leak.c).
 *
 * Owns: the registry of root ranges and of objects marked not-a-leak (mm_state.leak, reset with
 * the instance), and the scan. Objects: allocated slab objects of every cache (kmalloc included;
 * the requested bytes), large kmalloc blocks, page blocks from the page allocator that no user
 * PTE maps and that are neither page tables nor page-cache pages (those belong to the structures
 * mm_check verifies), and vmalloc/vmap areas. Roots: the registered ranges, the mm's own state
 * (mm_state, minus the last misuse report and the recently-freed vmalloc addresses, which name
 * objects without holding them) and the list of caches. Marking is transitive and conservative:
 * every aligned word of a reached object that points into an object (its start or anywhere
 * inside: interior pointers count) reaches it; a pointer to a struct page reaches its page block.
 * The mm's own descriptors of vmalloc areas (vmap_area, range-tree keys) do not hold the areas:
 * vmalloc addresses read from mm_state or from SLAB_MM_INTERNAL objects are ignored, and the
 * pages of a vmalloc area belong to the area (reported with it, never alone).
 *
 * Not recorded: the age of an object in operations (struct page and the slab metadata have no
 * room for a sequence number without growing them); the allocation site is reported where the
 * allocator records one (pages, large kmalloc, vmalloc, hardened slab caches; 0 otherwise).
 * Stacks are not scanned: the caller registers what it holds.
 *
 * Precondition of mm_leak_scan: quiescence, as mm_check (no lock is taken; it reads freelists
 * and, in sanitizer builds, opens and closes slab slots as the slab checker does).
 */
#ifndef LEAXOS_MM_LEAK_H
#define LEAXOS_MM_LEAK_H

#include "mm.h"

#define MM_LEAK_MAX_ROOTS    32u     /* registered root ranges */
#define MM_LEAK_MAX_IGNORED  64u     /* objects marked not-a-leak */
#define MM_LEAK_MAX_OBJECTS  16384u  /* objects one scan can track (fixed table, no allocation) */
#define MM_LEAK_MAX_RECORDS  16u     /* leaks described in a result (all are counted and logged) */

enum mm_leak_kind {
    MM_LEAK_SLAB = 1, /* object of a kmem_cache_create cache ("leak.slab") */
    MM_LEAK_KMALLOC,  /* object of a kmalloc size class ("leak.kmalloc") */
    MM_LEAK_LARGE,    /* page-backed large kmalloc ("leak.large") */
    MM_LEAK_PAGES,    /* page block from alloc_pages ("leak.pages") */
    MM_LEAK_VMALLOC,  /* vmalloc or vmap area ("leak.vmalloc") */
};

struct mm_leak_record {
    enum mm_leak_kind kind;
    const char *name;       /* stable report name: "leak.kmalloc", ... */
    uintptr_t addr;         /* object start (page block: direct-map address; vmalloc: area) */
    size_t size;            /* requested bytes (unhardened caches: the object size; page
                               block: 2^order pages; vmalloc: mapped bytes) */
    const char *cache;      /* cache name (slab/kmalloc), else the kind ("pages", "vmalloc") */
    uintptr_t site;         /* allocation site, 0 if not recorded */
    unsigned long pfn;      /* page frame of addr (~0ul for vmalloc) */
    unsigned long age;      /* allocations stamped since this one (MM_LEAK_AGE_UNKNOWN: none) */
};

/* Age in operations, page_owner-style: every hardened slab allocation and every vmalloc/vmap
 * area takes a stamp from one deterministic counter of the mm instance (mm_state.core.alloc_seq);
 * an object's age is how many stamps were taken after its own. Page blocks, large kmalloc,
 * KFENCE objects and unhardened caches have no stamp (struct page has no room for one). */
#define MM_LEAK_AGE_UNKNOWN (~0ul)

struct mm_leak_result {
    unsigned long objects;       /* objects tracked */
    unsigned long reached;       /* of which reached from the roots (or ignored) */
    unsigned long leaks;         /* unreferenced objects: each one logged as "mm: leak: ..." */
    unsigned long scanned_bytes; /* bytes of roots and objects read */
    unsigned int nr_records;     /* min(leaks, MM_LEAK_MAX_RECORDS) */
    struct mm_leak_record rec[MM_LEAK_MAX_RECORDS]; /* the first leaks, in address order */
    struct mm_check_report rep;  /* the first leak as a named failure, or why the scan failed */
};

/**
 * Register [start, start + len) as a root: every aligned word in it is scanned. Returns 0, or
 * -MM_EINVAL (NULL start, zero length or a range that wraps: reported as bad-argument misuse),
 * -MM_EEXIST (a root with this start is registered), -MM_ENOSPC (MM_LEAK_MAX_ROOTS registered).
 * A root inside an object of the mm also keeps that object.
 */
int mm_leak_root_add(const void *start, size_t len);

/** Unregister the root starting at @start: 0, or -MM_ENOENT (reported as bad-argument misuse). */
int mm_leak_root_remove(const void *start);

/**
 * Mark the object holding @ptr as not a leak (kmemleak_not_leak): it counts as reached, so what
 * it points to is reached too. Returns 0, -MM_EINVAL (NULL: bad-argument misuse), -MM_EFAULT
 * (not direct-map or vmalloc memory of the mm: bad-address misuse), -MM_EEXIST (marked already),
 * -MM_ENOSPC (MM_LEAK_MAX_IGNORED marked). A mark whose object is gone at a scan is dropped then.
 */
int mm_leak_ignore(const void *ptr);

/**
 * Scan: returns the number of leaks (>= 0; each logged through the report library and counted
 * in mm_leak_count()), filling *@res (may be NULL). Errors: -MM_EINVAL (mm not booted),
 * -MM_ENOSPC (more than MM_LEAK_MAX_OBJECTS objects: res->rep names "leak.table" and nothing is
 * reported, since an untracked object could hold any of the others).
 */
int mm_leak_scan(struct mm_leak_result *res);

/** Leaks reported by every scan since boot. */
unsigned long mm_leak_count(void);

/* ---- allocation-site accounting (page_owner-style), on the scan's object table ---- */

#define MM_ALLOC_SITE_GROUPS 512u /* distinct (kind, site, cache) groups one call can count */

struct mm_alloc_site {
    enum mm_leak_kind kind;
    uintptr_t site;         /* allocation site (0: not recorded, unhardened caches) */
    const char *cache;      /* cache name for slab and kmalloc objects, else the kind */
    unsigned long count;    /* outstanding allocations */
    unsigned long bytes;    /* their bytes (as mm_leak_record.size) */
    unsigned long oldest;   /* the largest age of the group (MM_LEAK_AGE_UNKNOWN: no stamp) */
};

/**
 * Outstanding allocations (the objects mm_leak_scan tracks: slab and kmalloc objects, large
 * kmalloc, unmapped page blocks that are not a vmalloc area's, vmalloc areas) grouped by kind,
 * site and cache; the @max groups with the most bytes go to @out, largest first. Returns the
 * number of groups (may exceed @max), -MM_EINVAL (NULL @out with @max > 0, or the mm is not
 * booted) or -MM_ENOSPC (more objects than MM_LEAK_MAX_OBJECTS or groups than
 * MM_ALLOC_SITE_GROUPS). Age is not recorded, so there is no "oldest". Quiescence, as the scan.
 */
int mm_alloc_sites(struct mm_alloc_site *out, unsigned int max);

/** Short name of @kind: "slab", "kmalloc", "large", "pages", "vmalloc"; "?" for anything else. */
const char *mm_leak_kind_label(enum mm_leak_kind kind);

#endif /* LEAXOS_MM_LEAK_H */
