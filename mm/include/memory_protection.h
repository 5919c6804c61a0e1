/*
 * memory_protection.h - protection domains: the kernel core, driver domains and user domains,
 * each owning memory that only it (and the domains it granted) may touch, enforced by x86
 * protection keys (PKS for supervisor pages, PKU for user pages).
 *
 *   domain (id, kind, key)        owns regions: a page block, a vmalloc-style run or a slab page
 *      |                          of its own objects, each mapped in the domain window
 *      +-- grants (read | rw) ->  a second mapping of one region, keyed for the grantee
 *
 *   domain window (one page table the mm owns, mm_state.prot.pt):
 *     kernel half  DOMAIN_KWIN + slot * DOMAIN_SLOT_SPAN   regions of core / driver domains
 *                  DOMAIN_KWIN + DOMAIN_GRANT_OFF + ...     grants to core / driver domains
 *     user half    DOMAIN_UWIN + ...                        the same for user domains (PTE_US)
 *   every slot is DOMAIN_REGION_PAGES pages plus one guard page that is never mapped.
 *
 * Keys. A leaf PTE carries a 4-bit key (bits 59..62); the CPU's rights register has two bits per
 * key (AD access-disable, WD write-disable): PKRS for supervisor pages, PKRU for user pages. Key 0
 * is everything outside domains and stays open. Each kind space (supervisor, user) has 15 keys
 * for domains, so at most 15 core/driver domains and 15 user domains live at once: domain_create
 * beyond that is refused with -MM_ENOSPC. That is the limit of 16 keys. Two ways past it, both
 * cost isolation or time and neither is done here: sharing one key among domains that trust each
 * other (they can then read each other's memory), or virtualising keys (libmpk-style: re-key a
 * victim domain's PTEs to a parked key and flush every CPU's TLB before its key serves another
 * domain). What is done is recycling: a destroyed domain's key returns to the pool only after
 * every PTE carrying it was cleared and the range flushed on every CPU (env_tlb_flush_range), so
 * no TLB entry of the old domain can still be used under the key's new owner.
 *
 * Switching. domain_enter loads this CPU's PKRS/PKRU (env_pkey_set_rights) with the domain's
 * view: key 0 and its own key open, every other key AD|WD; a supervisor domain closes every user
 * key but 0, a user domain every supervisor key but 0. Grants need no register change: a grant
 * mapping carries the grantee's key, and a read grant is a PTE without PTE_RW.
 *
 * Allocation. Domain memory never shares a page with another domain: page blocks and runs are
 * whole pages, and domain_kmalloc carves objects from slab pages owned by one domain (size
 * classes 64..512). Pages come zeroed from the buddy allocator and every page a domain gives back
 * (free, destroy, object slot on kfree) is scrubbed to zero before it goes back, so another
 * domain (or any other user of the page allocator) never sees a previous owner's bytes.
 *
 * Migration (domain_migrate). A region moves from @src to @dst: it is refused, with nothing
 * changed, when pinned (-MM_EBUSY), under I/O (-MM_EBUSY) or granted to a third domain
 * (-MM_EBUSY); every source mapping (its own and a grant to @dst) is cleared and flushed on
 * every CPU before the destination's mapping (its key) is written; MOVE keeps the contents,
 * SCRUB zeroes them; an audit record (src, dst, range, kind, site) is kept. An object moves by
 * copy (or zero) into a @dst object and the scrubbed free of the source slot; the source slab page
 * stays the source's (a key covers whole pages).
 *
 * Misuse (reported as MM_MISUSE_DOMAIN, nothing changes): an unknown domain or address, freeing
 * or granting memory of another domain, a refused migration, a fault on the domain window
 * (domain_report_fault: a key refusal or a revoked grant).
 *
 * Limits of this model: the window is one page table of the mm, not yet the kernel's own page
 * table nor a user address space's (a user domain's pages are user pages of the window); the
 * hosted software MMU enforces keys per simulated CPU; the LeaxOS kernel sets CR4.PKE/PKS when
 * CPUID has them and loads PKRS/PKRU on domain entry (its suite pkeys maps the window's two
 * top-level entries into a CR3 of its own to touch domain memory); without them it only records
 * the registers and nothing enforces the keys.
 *
 * Locking: one spinlock (mm_state.prot.lock) protects every field; page allocation and table
 * changes happen under it (nothing below calls back into domains).
 */
#ifndef LEAXOS_MEMORY_PROTECTION_H
#define LEAXOS_MEMORY_PROTECTION_H

#include "arch_pgtable.h"
#include "mm.h"

enum domain_kind {
    DOMAIN_CORE = 1,   /* the kernel core: supervisor pages, PKS key (one at a time) */
    DOMAIN_DRIVER = 2, /* a driver: supervisor pages, PKS key */
    DOMAIN_USER = 3,   /* a user domain: user pages, PKU key */
};

enum domain_rights { DOMAIN_GRANT_READ = 1, DOMAIN_GRANT_RW = 2 };
enum domain_migrate_mode { DOMAIN_MIGRATE_MOVE = 1, DOMAIN_MIGRATE_SCRUB = 2 };
enum domain_mem_kind { DOMAIN_MEM_PAGES = 1, DOMAIN_MEM_VMALLOC = 2, DOMAIN_MEM_SLAB = 3 };

#define DOMAIN_MAX          32u  /* live domains at once (keys limit each kind to 15) */
#define DOMAIN_MAX_REGIONS  64u
#define DOMAIN_MAX_GRANTS   32u
#define DOMAIN_REGION_PAGES 8u   /* largest region: order 3, or 8 vmalloc pages */
#define DOMAIN_MAX_ORDER    3u
#define DOMAIN_AUDIT_RING   32u
#define DOMAIN_OBJ_MIN      64u  /* domain_kmalloc size classes: 64, 128, 256, 512 */
#define DOMAIN_OBJ_MAX      512u

#define DOMAIN_SLOT_SPAN    ((uintptr_t)(DOMAIN_REGION_PAGES + 1) * PAGE_SIZE)
#define DOMAIN_KWIN         0xfffff40000000000ull
#define DOMAIN_UWIN         0x0000600000000000ull
#define DOMAIN_GRANT_OFF    ((uintptr_t)DOMAIN_MAX_REGIONS * DOMAIN_SLOT_SPAN)
#define DOMAIN_WIN_SIZE     (DOMAIN_GRANT_OFF + (uintptr_t)DOMAIN_MAX_GRANTS * DOMAIN_SLOT_SPAN)

/** Create a domain of @kind. Returns its id (> 0, never reused since boot), or -MM_EINVAL (bad
 * kind; a second DOMAIN_CORE is -MM_EEXIST), -MM_ENOSPC (no key or slot left), -MM_ENOMEM. */
int domain_create(enum domain_kind kind);

/**
 * Destroy domain @id: revoke every grant from and to it, scrub and free its memory, clear its
 * PTEs (flushed on every CPU), then return its key to the pool. Returns 0, -MM_ENOENT (no such
 * domain), -MM_EBUSY (a CPU is inside it, or a region is pinned or under I/O; nothing changes).
 */
int domain_destroy(int id);

/** Enter domain @id on this CPU (0: no domain, every key open). Returns the domain this CPU was
 * in (0: none) for domain_enter on exit, or -MM_ENOENT. */
int domain_enter(int id);

/** The domain this CPU is in (0: none). */
int domain_current(void);

/** The key of domain @id (1..15), or -MM_ENOENT. */
int domain_key(int id);

/** A zeroed block of 2^@order pages (@order <= DOMAIN_MAX_ORDER) owned by @id, mapped with its
 * key; returns the window address or 0 (bad arguments reported, no slot, no memory). */
uintptr_t domain_alloc_pages(int id, unsigned int order);

/** @size bytes (rounded up to pages, at most DOMAIN_REGION_PAGES) of zeroed order-0 pages owned
 * by @id, mapped contiguously with its key; the window address or 0. */
uintptr_t domain_vmalloc(int id, size_t size);

/** Free the region starting at @addr (domain_alloc_pages / domain_vmalloc) owned by @id: its
 * pages are scrubbed and freed. Returns 0, or (reported) -MM_EINVAL (no region starts there),
 * -MM_EACCES (another domain owns it), -MM_EBUSY (pinned or under I/O). */
int domain_free(int id, uintptr_t addr);

/** An object of @size (1..DOMAIN_OBJ_MAX) bytes from a slab page owned by @id; zeroed. Returns
 * the window address or 0. */
uintptr_t domain_kmalloc(int id, size_t size);

/** Free object @addr of @id (scrubbed). Returns 0, or (reported) -MM_EINVAL (not a live object
 * start), -MM_EACCES (another domain's object). An empty slab page is freed. */
int domain_kfree(int id, uintptr_t addr);

/**
 * Grant @grantee access (@rights) to the region at @addr owned by @owner: a second mapping keyed
 * for the grantee. Returns 0 and *@grant_addr, or (reported) -MM_EINVAL (bad arguments, a grant
 * to the owner itself, a slab region), -MM_EACCES (@owner does not own it), -MM_ENOSPC.
 */
int domain_grant(int owner, uintptr_t addr, int grantee, enum domain_rights rights,
                 uintptr_t *grant_addr);

/** Revoke the grant mapped at @grant_addr (cleared and flushed on every CPU). Only the region's
 * owner may revoke. Returns 0, or (reported) -MM_EINVAL (no live grant there), -MM_EACCES. */
int domain_revoke(int owner, uintptr_t grant_addr);

/** Pin (@on) or unpin the region at @addr of @id: a pinned region refuses migration. Returns 0,
 * -MM_EINVAL, -MM_EACCES (reported). */
int domain_pin(int id, uintptr_t addr, bool on);

/** Mark the region at @addr of @id under I/O (@on) or done: refuses migration meanwhile. */
int domain_io(int id, uintptr_t addr, bool on);

/**
 * Hand the region (or object) at @addr from @src to @dst, @mode MOVE or SCRUB, as the head
 * comment says. Returns 0 and the address in @dst (*@new_addr, may be NULL), or (reported,
 * nothing changed) -MM_EINVAL (bad arguments, @src == @dst), -MM_EACCES (@src does not own it),
 * -MM_EBUSY (pinned, under I/O, granted to a third domain), -MM_ENOMEM (object: no dst slot).
 */
int domain_migrate(int src, uintptr_t addr, int dst, enum domain_migrate_mode mode,
                   uintptr_t *new_addr);

/**
 * The #PF path for an access to the domain window that faulted with error code @pf_error on this
 * CPU: reported as MM_MISUSE_DOMAIN naming the domain running, the owner and what refused it (a
 * key, PF_ERR_PK; a revoked grant or unmapped slot; a read-only grant). Returns -MM_EACCES, or
 * -MM_EINVAL for an address outside the window (not reported).
 */
int domain_report_fault(uintptr_t va, unsigned int pf_error);

/** The root of the domain window's page table (for the hosted MMU and tests), 0 before use. */
phys_addr_t domain_window_root(void);

/** One audit record of a migration. */
struct domain_audit {
    int src, dst;
    uintptr_t from, to;       /* window addresses before and after */
    unsigned int npages;      /* pages of the region (1 for an object) */
    uint32_t bytes;           /* object size (0 for a region) */
    uint8_t mode;             /* enum domain_migrate_mode */
    uintptr_t site;           /* caller of domain_migrate */
    uint64_t seq;             /* env_trace_clock at the migration */
};

/** Copy up to @max of the latest audit records, oldest first. Returns how many were copied;
 * *@total (may be NULL) counts every migration since boot. */
unsigned int domain_audit_read(struct domain_audit *out, unsigned int max, unsigned long *total);

struct domain_stats {
    unsigned int nr_domains, nr_regions, nr_grants;
    unsigned int keys_used_kernel, keys_used_user;
    unsigned long pages, objects, migrations, refused, scrubbed_pages, switches;
};

void domain_get_stats(struct domain_stats *st);

/**
 * Verify the domain invariants; 0 or -MM_ECORRUPT with the first broken one in *@rep:
 *   domain.key    a PTE mapping a domain page carries another key than its owner's (or, in a
 *                 grant slot, the grantee's), or the wrong user bit
 *   domain.grant  a PTE gives another domain access without a live grant (wrong frame in a grant
 *                 slot, write access through a read grant, a mapping in a dead slot)
 *   domain.owner  a page owned by two regions, or a region page not allocated
 *   domain.pte    a region page is not mapped at its slot, or maps another frame
 *   domain.scrub  a scrubbed page not yet written (no dirty PTE) holds a non-zero byte
 *   domain.count  per-domain region/grant counts or the key pool disagree with the tables
 *   domain.tables the window's page table holds a table page no leaf needs (left empty)
 * Lives in mm/checks/check_domain.c; mm_check calls it. Precondition: quiescence.
 */
int domain_check(struct mm_check_report *rep);

/** Scrub and free everything of every domain and the window's tables (a teardown's last step).
 * Returns the number of domains that were still live. */
unsigned int domain_teardown(void);

#endif /* LEAXOS_MEMORY_PROTECTION_H */
