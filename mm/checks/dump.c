/*
 * dump.c - mm_dump_write: the post-mortem dump of the live mm instance (format in mm_dump.h).
 *
 * Owns no state. Reads mm_state, the trace rings and physical memory page by page; every read of
 * page contents is a plain word copy without sanitizer checks (an allocated page holds red zones
 * and poisoned free objects, which a sanitizer would report), and only pages that have a struct
 * page are read. Free pages (buddy blocks, per-CPU lists) and holes are left out: what they hold
 * is nobody's; all-zero pages too (a reader maps zeroes). The struct page array itself lies in
 * memblock-reserved pages, so it is dumped as any other page.
 *
 * The checksum (FNV-1a 64) covers every byte emitted before the END record, so a truncated or
 * garbled transfer (a serial log) is detected by the reader.
 */
#include "../heap/slab_internal.h"
#include "../virtual/vmalloc_internal.h"
#include "mm_dump.h"
#include "mmap.h"

struct dump_out {
    mm_dump_emit_t emit;
    void *ctx;
    uint64_t hash;
    int err;
};

#define DUMP_FNV_OFFSET 0xcbf29ce484222325ull
#define DUMP_FNV_PRIME  0x100000001b3ull

static void dump_bytes(struct dump_out *o, const void *buf, size_t len)
{
    const uint8_t *b = buf;

    if (o->err)
        return;
    for (size_t i = 0; i < len; i++)
        o->hash = (o->hash ^ b[i]) * DUMP_FNV_PRIME;
    if (o->emit(o->ctx, buf, len))
        o->err = -MM_EIO;
}

static void dump_rec(struct dump_out *o, uint32_t type, uint64_t addr, uint64_t len)
{
    struct mm_dump_rec r = { .type = type, .flags = 0, .addr = addr, .len = len };
    dump_bytes(o, &r, sizeof(r));
}

static void dump_pad(struct dump_out *o, uint64_t len)
{
    static const uint8_t zero[8];
    if (len % 8)
        dump_bytes(o, zero, 8 - len % 8);
}

/* Copy one page into @buf without sanitizer checks; true if it is all zero. */
__attribute__((no_sanitize("address", "kernel-address"))) static bool
dump_copy_page(uint64_t *buf, const volatile uint64_t *src)
{
    uint64_t any = 0;
    for (size_t i = 0; i < PAGE_SIZE / 8; i++) {
        buf[i] = src[i];
        any |= buf[i];
    }
    return any == 0;
}

/* Pages of @pfn's kind to skip (free block, per-CPU page, hole): 0 when it is dumpable. */
static unsigned long dump_skip(unsigned long pfn)
{
    const struct page *p = &mm_mem_map[pfn];
    if ((p->flags & PG_buddy) && p->order <= MM_MAX_ORDER)
        return 1ul << p->order;
    return (p->flags & (PG_pcp | PG_hole)) ? 1 : 0;
}

static uint64_t dump_page_buf[PAGE_SIZE / 8]; /* one page in flight (the dump is not reentrant) */

/* Copy page @pfn into dump_page_buf; true if it is all zero. */
static bool dump_page_fetch(unsigned long pfn)
{
    return dump_copy_page(dump_page_buf, env_phys_to_virt((phys_addr_t)pfn << PAGE_SHIFT));
}

/* One PHYS record for the run [s, e) of dumpable, non-zero pages. */
static void dump_run(struct dump_out *o, unsigned long s, unsigned long e)
{
    dump_rec(o, MM_DUMP_REC_PHYS, (uint64_t)s << PAGE_SHIFT, (uint64_t)(e - s) << PAGE_SHIFT);
    for (unsigned long pfn = s; pfn < e; pfn++) {
        dump_page_fetch(pfn);
        dump_bytes(o, dump_page_buf, PAGE_SIZE);
    }
}

/* Every dumpable page, in runs; returns how many pages were written. */
static uint64_t dump_phys(struct dump_out *o)
{
    uint64_t pages = 0;
    unsigned long pfn = 0;

    while (pfn < mm_max_pfn && !o->err) {
        unsigned long skip = dump_skip(pfn);
        if (skip || dump_page_fetch(pfn)) {
            pfn += skip ? skip : 1;
            continue;
        }
        unsigned long e = pfn + 1;
        while (e < mm_max_pfn && !dump_skip(e) && !dump_page_fetch(e))
            e++;
        dump_run(o, pfn, e);
        pages += e - pfn;
        pfn = e;
    }
    return pages;
}

/* The registered leak-scan roots that are not part of the mm (no larger than MM_DUMP_ROOT_MAX). */
static void dump_roots(struct dump_out *o)
{
    for (unsigned int i = 0; i < mm_state.leak.nr_roots && i < MM_LEAK_MAX_ROOTS; i++) {
        const struct mm_leak_root *r = &mm_state.leak.roots[i];
        if (!r->start || !r->len || r->len > MM_DUMP_ROOT_MAX)
            continue;
        dump_rec(o, MM_DUMP_REC_ROOT, r->start, r->len);
        dump_bytes(o, (const void *)r->start, r->len);
        dump_pad(o, r->len);
    }
}

static void dump_layout(struct dump_out *o, const char *why, uint64_t pages)
{
    struct mm_dump_layout l;
    uintptr_t ts, te;

    memset(&l, 0, sizeof(l));
    mm_trace_storage(&ts, &te);
    l.direct_map = (uint64_t)(uintptr_t)env_phys_to_virt(0);
    l.phys_end = (uint64_t)mm_max_pfn << PAGE_SHIFT;
    l.state_addr = (uint64_t)(uintptr_t)&mm_state;
    l.mem_map = (uint64_t)(uintptr_t)mm_mem_map;
    l.max_pfn = mm_max_pfn;
    l.trace_start = ts;
    l.trace_end = te;
    l.trace_seq = mm_trace_last_seq();
    l.trace_mask = mm_trace_get_mask();
    l.nr_cpus = mm_state.core.nr_cpus;
    l.vmalloc_start = mm_state.core.vmalloc_start;
    l.vmalloc_end = mm_state.core.vmalloc_end;
    l.kfence_start = mm_state.heap.kfence_start;
    l.kfence_end = mm_state.heap.kfence_end;
    l.pages_dumped = pages;
    for (size_t i = 0; i + 1 < sizeof(l.why) && why[i]; i++)
        l.why[i] = why[i];
    dump_rec(o, MM_DUMP_REC_LAYOUT, 0, sizeof(l));
    dump_bytes(o, &l, sizeof(l));
}

/* Pages dumpable now (a first pass, so LAYOUT can come first and say how many follow). */
static uint64_t dump_count_pages(void)
{
    uint64_t n = 0;
    for (unsigned long pfn = 0; pfn < mm_max_pfn;) {
        unsigned long skip = dump_skip(pfn);
        if (!skip && !dump_page_fetch(pfn))
            n++;
        pfn += skip ? skip : 1;
    }
    return n;
}

uint32_t mm_dump_abi(void)
{
    static const uint32_t v[] = {
        sizeof(struct mm_state), offsetof(struct mm_state, phys), offsetof(struct mm_state, heap),
        offsetof(struct mm_state, vm), offsetof(struct mm_state, vmalloc),
        offsetof(struct mm_state, swap), offsetof(struct mm_state, report),
        offsetof(struct mm_state, leak), sizeof(struct page), sizeof(struct zone),
        sizeof(struct kmem_cache), sizeof(struct kmem_cache_cpu), sizeof(struct slab_meta),
        sizeof(struct vmap_area), sizeof(struct mm_struct), sizeof(struct vm_area_struct),
        MM_MAX_CPUS, MM_NR_ORDERS, MM_NR_ZONES, MM_TRACE_RING_EVENTS,
    };
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < MM_ARRAY_SIZE(v); i++)
        h = (h ^ v[i]) * 16777619u;
    return h;
}

int mm_dump_write(mm_dump_emit_t emit, void *ctx, const char *why)
{
    struct dump_out o = { .emit = emit, .ctx = ctx, .hash = DUMP_FNV_OFFSET, .err = 0 };
    struct mm_dump_header h;
    uintptr_t ts, te;

    if (!emit || !why || !mm_mem_map || !mm_max_pfn)
        return -MM_EINVAL;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, MM_DUMP_MAGIC, sizeof(h.magic));
    h.version = MM_DUMP_VERSION;
    h.header_size = sizeof(h);
    h.page_size = PAGE_SIZE;
    h.ptr_size = sizeof(void *);
    h.struct_page_size = sizeof(struct page);
    h.state_size = sizeof(struct mm_state);
    h.max_cpus = MM_MAX_CPUS;
    h.abi = mm_dump_abi();
    dump_bytes(&o, &h, sizeof(h));
    dump_layout(&o, why, dump_count_pages());
    dump_rec(&o, MM_DUMP_REC_STATE, (uint64_t)(uintptr_t)&mm_state, sizeof(mm_state));
    dump_bytes(&o, &mm_state, sizeof(mm_state));
    dump_pad(&o, sizeof(mm_state));
    mm_trace_storage(&ts, &te);
    dump_rec(&o, MM_DUMP_REC_TRACE, ts, te - ts);
    dump_bytes(&o, (const void *)ts, te - ts);
    dump_pad(&o, te - ts);
    dump_roots(&o);
    dump_phys(&o);
    uint64_t sum = o.hash;
    dump_rec(&o, MM_DUMP_REC_END, sum, 0);
    return o.err;
}
