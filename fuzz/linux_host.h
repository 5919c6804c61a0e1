/*
 * linux_host.h - what target linux (target_linux.c) asks of the host kernel, and the few pure
 * helpers both sides of the comparison share. The host side is linux_child_hosted.c: a persistent
 * child process that owns a window of its own address space (the zone) and runs each request there
 * with the real syscalls; the kernel build has no host (fuzz_platform.linux_call is NULL).
 *
 * The zone is LX_ZONE_PAGES pages: at LX_MM_BASE in the mm's address space, at the child's own
 * base in the host's; every request names addresses as byte offsets from the zone's start, so the
 * two sides see the same op. The child checks at start that the zone and one page on either side
 * are free in its address space, and empties the zone on LX_REQ_RESET (every input starts empty).
 *
 * Freestanding-clean: no libc (the target includes it), only the request/reply layout and inline
 * helpers.
 */
#ifndef LEAXOS_FUZZ_LINUX_HOST_H
#define LEAXOS_FUZZ_LINUX_HOST_H

#include "mm.h"

#define LX_ZONE_PAGES       128u
#define LX_MM_BASE          0x40000000ul    /* the zone in the mm's user address space */
#define LX_MAX_ACCESS_PAGES 4u
#define LX_ELSEWHERE        (-1l)           /* mmap reply: placed outside the zone (then unmapped) */

enum lx_req_kind {
    LX_REQ_RESET = 1,   /* start the child if needed; empty the zone */
    LX_REQ_MMAP,        /* mmap(zone + off or NULL, len, prot, flags | MAP_ANONYMOUS..., -1, 0) */
    LX_REQ_MUNMAP,      /* munmap(zone + off, len) */
    LX_REQ_MPROTECT,    /* mprotect(zone + off, len, prot) */
    LX_REQ_ACCESS,      /* read (hash) or write (pattern) @pages pages from zone + off */
    LX_REQ_MAPS,        /* the zone's part of /proc/self/maps */
    LX_REQ_MLOCK,       /* mlock (access 0) or munlock (access 1) of (zone + off, len) */
};

/* fault classes of an access (the child's si_code; the mm's vm_fault_result mapped the same way) */
enum lx_fault { LX_FAULT_NONE = 0, LX_FAULT_MAPERR, LX_FAULT_ACCERR, LX_FAULT_OTHER };

/* bits of a range in the zone */
#define LX_R 1u
#define LX_W 2u
#define LX_X 4u
#define LX_S 8u     /* shared */

struct lx_req {
    uint32_t kind;          /* enum lx_req_kind */
    uint32_t prot, flags;   /* Linux values, passed through unchanged */
    uint32_t access;        /* LX_REQ_ACCESS: 0 read, 1 write */
    uint32_t pages;         /* LX_REQ_ACCESS: pages, 1..LX_MAX_ACCESS_PAGES */
    uint32_t tok;           /* LX_REQ_ACCESS write: the pattern's token */
    uint32_t no_addr;       /* LX_REQ_MMAP: pass NULL rather than zone + off */
    uint32_t pad;
    uint64_t off;           /* byte offset from the zone's start (may be unaligned) */
    uint64_t len;           /* bytes, passed through unchanged */
};

struct lx_range {
    uint32_t start, end;    /* pages from the zone's start, [start, end) */
    uint32_t bits;          /* LX_R | LX_W | LX_X | LX_S */
};

struct lx_reply {
    int64_t ret;            /* mmap: zone byte offset of the mapping, or LX_ELSEWHERE */
    int32_t err;            /* errno of a failed call (Linux numbers = MM_E*), 0 on success */
    uint32_t done;          /* access: pages completed before the fault */
    int32_t fault;          /* access: enum lx_fault of the faulting page */
    uint32_t nr;            /* maps: ranges in r[] */
    uint64_t hash[LX_MAX_ACCESS_PAGES]; /* access read: lx_hash of each completed page */
    struct lx_range r[LX_ZONE_PAGES];   /* maps: zone ranges in address order */
    char msg[128];          /* reset: why the child could not start, "" when it did */
};

/** Byte @i of page @p of a write with token @tok: both sides write exactly these bytes. */
static inline uint8_t lx_pattern(uint32_t tok, uint32_t p, uint32_t i)
{
    uint32_t x = tok * 0x9e3779b1u + p * 0x85ebca77u + i * 0xc2b2ae3du;
    return (uint8_t)(x ^ (x >> 15) ^ (x >> 24));
}

/** FNV-1a of one page's bytes (the child hashes what it read, the target what the mm read). */
static inline uint64_t lx_hash_step(uint64_t h, uint8_t b)
{
    return (h ^ b) * 0x100000001b3ull;
}
#define LX_HASH_INIT 0xcbf29ce484222325ull

/**
 * Normalise @n ranges in place to what an access can tell: on x86 without protection keys write
 * and exec imply read (Linux shows "-w-p", the mm stores VM_READ with VM_WRITE), and adjacent
 * ranges with equal bits merge whatever split them (Linux keeps VMAs of different anon_vmas apart,
 * the mm does not). Returns the new count.
 */
static inline uint32_t lx_ranges_normalise(struct lx_range *r, uint32_t n)
{
    uint32_t out = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct lx_range x = r[i];
        if (x.bits & (LX_W | LX_X))
            x.bits |= LX_R;
        if (out && r[out - 1].end == x.start && r[out - 1].bits == x.bits)
            r[out - 1].end = x.end;
        else
            r[out++] = x;
    }
    return out;
}

#endif /* LEAXOS_FUZZ_LINUX_HOST_H */
