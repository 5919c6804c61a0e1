/*
 * mm_dump.h - the post-mortem dump: a versioned, self-describing binary image of the live mm
 * instance (crash/drgn-style), written by mm_dump_write through a sink the caller gives (a file in
 * the hosted build, the serial line in the kernel), loaded offline by tools/postmortem.c.
 *
 * Format (version 1; every integer little-endian, every record 8-byte aligned):
 *
 *   struct mm_dump_header                      magic "LXMMDUMP", version, sizes of the ABI
 *   { struct mm_dump_rec; u8 data[len]; pad to 8 }...
 *   MM_DUMP_REC_END record                     addr = FNV-1a 64 of every byte before it
 *
 *   record       addr                         data
 *   LAYOUT       0                            struct mm_dump_layout: where things were
 *   STATE        &mm_state                    mm_state's bytes
 *   TRACE        the trace rings' start        the per-CPU rings (mm_trace_storage)
 *   PHYS         physical address of the run  the bytes of a run of pages: every page with a
 *                                             struct page that is not free (not in a buddy block,
 *                                             not on a per-CPU list), not a hole, not all zero
 *   ROOT         start of a leak-scan root    its bytes (registered roots up to 1 MiB each, so
 *                                             the leak scan can run offline)
 *   END          checksum                     none
 *
 * A reader skips record types it does not know (the length says how far), so a later version may
 * add records; a change to an existing record's layout bumps MM_DUMP_VERSION. Pointers in the
 * image are the dumping machine's addresses; LAYOUT says where the direct map, mm_state, the
 * struct page array, the trace rings and the vmalloc range were, so a reader can relocate them.
 */
#ifndef LEAXOS_MM_DUMP_H
#define LEAXOS_MM_DUMP_H

#include "mm_common.h"

#define MM_DUMP_MAGIC   "LXMMDUMP"
#define MM_DUMP_VERSION 1u
#define MM_DUMP_ROOT_MAX (1u << 20) /* bytes of one root range dumped at most */

enum mm_dump_rec_type {
    MM_DUMP_REC_LAYOUT = 1,
    MM_DUMP_REC_STATE = 2,
    MM_DUMP_REC_TRACE = 3,
    MM_DUMP_REC_PHYS = 4,
    MM_DUMP_REC_ROOT = 5,
    MM_DUMP_REC_END = 0x454e44, /* "END" */
};

struct mm_dump_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;   /* sizeof(struct mm_dump_header) */
    uint32_t page_size;
    uint32_t ptr_size;
    uint32_t struct_page_size;
    uint32_t state_size;    /* sizeof(struct mm_state) of the writer */
    uint32_t max_cpus;      /* MM_MAX_CPUS of the writer */
    uint32_t abi;           /* mm_dump_abi() of the writer: a reader built from other sources
                               (another layout of mm_state or of the structures it points to)
                               refuses the dump */
};

struct mm_dump_rec {
    uint32_t type;          /* enum mm_dump_rec_type */
    uint32_t flags;         /* 0 */
    uint64_t addr;          /* see the table above */
    uint64_t len;           /* bytes of data that follow (then padding to 8) */
};

struct mm_dump_layout {
    uint64_t direct_map;    /* env_phys_to_virt(0) */
    uint64_t phys_end;      /* one past the last physical byte with a struct page */
    uint64_t state_addr;    /* &mm_state */
    uint64_t mem_map;       /* mm_mem_map */
    uint64_t max_pfn;       /* mm_max_pfn */
    uint64_t trace_start, trace_end; /* mm_trace_storage */
    uint64_t trace_seq;     /* mm_trace_last_seq() */
    uint32_t trace_mask;    /* mm_trace_get_mask() */
    uint32_t nr_cpus;
    uint64_t vmalloc_start, vmalloc_end;
    uint64_t kfence_start, kfence_end;
    uint64_t pages_dumped;  /* pages in the PHYS records */
    char why[64];           /* the caller's reason ("crash", "on request", ...), NUL-terminated */
};

/** A fingerprint of the layouts a reader relies on (the parts of mm_state, struct page, zone,
 * kmem_cache, slab metadata, vmap_area, mm_struct, VMA): equal in writer and reader, or the dump
 * cannot be read by this build. */
uint32_t mm_dump_abi(void);

/** The sink: take @len bytes at @buf; return 0, or non-zero to stop the dump. */
typedef int (*mm_dump_emit_t)(void *ctx, const void *buf, size_t len);

/**
 * Write the dump of the live mm instance to @emit (@why goes into the layout, truncated to 63
 * characters). Takes no lock and allocates nothing: call it quiescent, or from a crash path
 * where the state may be damaged (it reads struct pages and page contents only through the
 * struct page array's bounds). Returns 0, -MM_EINVAL (NULL @emit or @why, no mm instance) or
 * -MM_EIO (the sink refused).
 */
int mm_dump_write(mm_dump_emit_t emit, void *ctx, const char *why);

#endif /* LEAXOS_MM_DUMP_H */
