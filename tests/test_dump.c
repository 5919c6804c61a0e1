/*
 * test_dump.c - suite "dump": the post-mortem dump (mm_dump.h). A dump of a small machine holds,
 * in order, the header, LAYOUT (where mm_state, the struct page array, the direct map and the
 * trace rings are), STATE (mm_state's bytes), TRACE, the leak roots, PHYS runs and END with the
 * checksum of everything before it; an allocated page's bytes are in a PHYS record at its
 * physical address, a free page's are not; a sink that refuses stops the dump with -MM_EIO; bad
 * arguments are refused. The offline side (loading, relocation, mm_check over the image) is
 * tested by ./build.sh test on dumps of deliberate crashes (build.sh: test_postmortem).
 */
#include "kt_util.h"
#include "ktest.h"
#include "mm_dump.h"
#include "mm_leak.h"
#include "mm_trace.h"
#include "slab.h"

#define DP_BUF (1u << 20)

static uint8_t dp_buf[DP_BUF];
static size_t dp_len;
static size_t dp_limit; /* the sink refuses once this many bytes are in (0: never) */
static unsigned long dp_calls_after_refusal;
static bool dp_refused;

static int dp_emit(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    if (dp_refused) {
        dp_calls_after_refusal++;
        return 1;
    }
    if (dp_len + len > DP_BUF || (dp_limit && dp_len + len > dp_limit)) {
        dp_refused = true;
        return 1;
    }
    memcpy(dp_buf + dp_len, buf, len);
    dp_len += len;
    return 0;
}

static int dp_write(void)
{
    dp_len = 0;
    dp_refused = false;
    dp_calls_after_refusal = 0;
    return mm_dump_write(dp_emit, NULL, "test");
}

/* The record at *@off (its data in *@data), advancing *@off; NULL past the end. */
static const struct mm_dump_rec *dp_rec(size_t *off, const uint8_t **data)
{
    if (*off + sizeof(struct mm_dump_rec) > dp_len)
        return NULL;
    const struct mm_dump_rec *r = (const void *)(dp_buf + *off);
    *data = dp_buf + *off + sizeof(*r);
    *off += sizeof(*r) + ((r->len + 7) & ~7ull);
    return *off <= dp_len ? r : NULL;
}

/* The bytes of physical address @pa in the dump's PHYS records, or NULL. */
static const uint8_t *dp_phys(uint64_t pa)
{
    size_t off = sizeof(struct mm_dump_header);
    const uint8_t *d;
    const struct mm_dump_rec *r;
    while ((r = dp_rec(&off, &d)) != NULL)
        if (r->type == MM_DUMP_REC_PHYS && pa >= r->addr && pa - r->addr < r->len)
            return d + (pa - r->addr);
    return NULL;
}

static int dp_boot(void)
{
    machine_small(&kt_m, KT_MIB(4), 2);
    kt_m.trace_mask = MM_TRACE_ALL;
    return kt_boot_current();
}

static int test_records_in_order_with_checksum(void)
{
    KT_TRY(dp_boot());
    KT_ASSERT_OK(dp_write());
    const struct mm_dump_header *h = (const void *)dp_buf;
    KT_ASSERT_EQ(memcmp(h->magic, MM_DUMP_MAGIC, 8), 0);
    KT_ASSERT_EQ(h->version, MM_DUMP_VERSION);
    KT_ASSERT_EQ(h->page_size, PAGE_SIZE);
    KT_ASSERT_EQ(h->struct_page_size, sizeof(struct page));
    KT_ASSERT_EQ(h->abi, mm_dump_abi());
    KT_ASSERT_NE(h->abi, 0);
    size_t off = sizeof(*h), end_at = 0;
    const uint8_t *d;
    const struct mm_dump_rec *r = dp_rec(&off, &d);
    KT_ASSERT_TRUE(r && r->type == MM_DUMP_REC_LAYOUT && r->len == sizeof(struct mm_dump_layout));
    const struct mm_dump_layout *l = (const void *)d;
    KT_ASSERT_EQ(l->mem_map, (uint64_t)(uintptr_t)mm_mem_map);
    KT_ASSERT_EQ(l->max_pfn, mm_max_pfn);
    KT_ASSERT_EQ(l->direct_map, (uint64_t)(uintptr_t)page_address(pfn_to_page(0)));
    KT_ASSERT_EQ(l->nr_cpus, 2);
    KT_ASSERT_EQ(l->trace_mask, MM_TRACE_ALL);
    KT_ASSERT_STREQ(l->why, "test");
    r = dp_rec(&off, &d);
    KT_ASSERT_TRUE(r && r->type == MM_DUMP_REC_STATE && r->addr == l->state_addr);
    r = dp_rec(&off, &d);
    KT_ASSERT_TRUE(r && r->type == MM_DUMP_REC_TRACE && r->addr == l->trace_start);
    KT_ASSERT_EQ(r->len, l->trace_end - l->trace_start);
    uint64_t pages = 0;
    for (size_t at = off; (r = dp_rec(&off, &d)) != NULL; at = off) {
        if (r->type == MM_DUMP_REC_PHYS)
            pages += r->len / PAGE_SIZE;
        if (r->type == MM_DUMP_REC_END) {
            end_at = at;
            break;
        }
    }
    KT_ASSERT_MSG(end_at && off == dp_len, "END at %zu, next %zu of %zu", end_at, off, dp_len);
    KT_ASSERT_EQ(pages, l->pages_dumped);
    uint64_t sum = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < end_at; i++)
        sum = (sum ^ dp_buf[i]) * 0x100000001b3ull;
    KT_ASSERT_EQ(r->addr, sum);
    return 0;
}

/* An allocated page's bytes are in the dump at its physical address; a freed page's are not;
 * the struct page array is. */
static int test_allocated_pages_in_free_pages_out(void)
{
    KT_TRY(dp_boot());
    struct page *kept = alloc_pages(GFP_KERNEL, 0), *gone = alloc_pages(GFP_KERNEL, 2);
    KT_ASSERT_TRUE(kept && gone);
    memset(page_address(kept), 0x5a, PAGE_SIZE);
    memset(page_address(gone), 0xa5, PAGE_SIZE << 2);
    uint64_t kept_pa = (uint64_t)page_to_pfn(kept) << PAGE_SHIFT;
    uint64_t gone_pa = (uint64_t)page_to_pfn(gone) << PAGE_SHIFT;
    __free_pages(gone, 2);
    KT_ASSERT_OK(dp_write());
    const uint8_t *k = dp_phys(kept_pa);
    KT_ASSERT_TRUE(k != NULL);
    KT_ASSERT_EQ(k[0], 0x5a);
    KT_ASSERT_EQ(k[PAGE_SIZE - 1], 0x5a);
    for (unsigned int i = 0; i < 4; i++)
        KT_ASSERT_NULL(dp_phys(gone_pa + (uint64_t)i * PAGE_SIZE));
    const struct mm_dump_layout *l = (const void *)(dp_buf + sizeof(struct mm_dump_header) +
                                                    sizeof(struct mm_dump_rec));
    uint64_t map_pa = l->mem_map - l->direct_map;
    const struct page *p = (const void *)dp_phys(map_pa + page_to_pfn(kept) * sizeof(struct page));
    KT_ASSERT_TRUE(p != NULL);
    KT_ASSERT_EQ(p->flags, kept->flags);
    KT_ASSERT_EQ(p->refcount, kept->refcount);
    __free_pages(kept, 0);
    return 0;
}

static int test_leak_roots_dumped(void)
{
    static uint64_t root[8] = { 0x1122334455667788ull, 2, 3, 4, 5, 6, 7, 8 };
    KT_TRY(dp_boot());
    KT_ASSERT_OK(mm_leak_root_add(root, sizeof(root)));
    KT_ASSERT_OK(dp_write());
    size_t off = sizeof(struct mm_dump_header);
    const uint8_t *d;
    const struct mm_dump_rec *r;
    bool found = false;
    while ((r = dp_rec(&off, &d)) != NULL)
        if (r->type == MM_DUMP_REC_ROOT && r->addr == (uint64_t)(uintptr_t)root) {
            KT_ASSERT_EQ(r->len, sizeof(root));
            KT_ASSERT_EQ(memcmp(d, root, sizeof(root)), 0);
            found = true;
        }
    KT_ASSERT_TRUE(found);
    KT_ASSERT_OK(mm_leak_root_remove(root));
    return 0;
}

static int test_sink_refusal_stops(void)
{
    KT_TRY(dp_boot());
    dp_limit = 3 * PAGE_SIZE;
    int rc = dp_write();
    dp_limit = 0;
    KT_ASSERT_ERR(rc, MM_EIO);
    KT_ASSERT_EQ(dp_calls_after_refusal, 0);
    return 0;
}

static int test_bad_arguments(void)
{
    KT_TRY(dp_boot());
    KT_ASSERT_ERR(mm_dump_write(NULL, NULL, "x"), MM_EINVAL);
    KT_ASSERT_ERR(mm_dump_write(dp_emit, NULL, NULL), MM_EINVAL);
    return 0;
}

static const struct ktest_case dump_cases[] = {
    KT_CASE(records_in_order_with_checksum),
    KT_CASE(allocated_pages_in_free_pages_out),
    KT_CASE(leak_roots_dumped),
    KT_CASE(sink_refusal_stops),
    KT_CASE(bad_arguments),
};
KT_SUITE(dump, dump_cases);
