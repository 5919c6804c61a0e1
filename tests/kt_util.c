/*
 * kt_util.c - helpers shared by the mm test suites (see kt_util.h).
 */
#include "kt_util.h"

#include "machine_layout.h"
#include "machine_user.h"
#include "mm.h"

struct machine kt_m;
struct page_alloc_stats kt_st_a, kt_st_b, kt_st_c;
struct kt_block kt_blocks[KT_MAX_BLOCKS];
unsigned int kt_nr_blocks;

static struct mm_check_report kt_rep;
void (*kt_check_fail_hook)(const char *why);

int kt_boot_current(void)
{
    uint64_t end = machine_end(&kt_m), cap = machine_capacity();
    int rc;

    /* The one skip rule of the suites: a machine this platform cannot hold (the kernel's area). */
    if (end > cap)
        KT_SKIP("machine ends at %llu MiB, this platform boots machines up to %llu MiB",
                (unsigned long long)(end >> 20), (unsigned long long)(cap >> 20));
    kt_blocks_reset();
    machine_cpu_set(0);
    rc = machine_boot(&kt_m);
    if (rc != 0)
        KT_FAIL("machine_boot failed: %d", rc);
    /*
     * Boot may already allocate pages (slab caches) and leave some on per-CPU lists; start every
     * test from empty lists so buddyinfo baselines are exact.
     */
    drain_all_pages();
    return 0;
}

int kt_boot_small(unsigned int mib, unsigned int cpus, bool nopcp)
{
    machine_small(&kt_m, KT_MIB(mib), cpus);
    kt_m.pcp_disable = nopcp;
    return kt_boot_current();
}

int kt_boot_pc(unsigned int mib, unsigned int cpus)
{
    machine_pc(&kt_m, KT_MIB(mib), cpus);
    return kt_boot_current();
}

/* ---- user pages ---- */

uint64_t kt_user_token(uintptr_t va, unsigned int gen)
{
    return (va * 0x9e3779b97f4a7c15ull) ^ gen;
}

int kt_user_fill(struct mm_struct *mm, uintptr_t va, unsigned int gen)
{
    static uint64_t buf[PAGE_SIZE / 8];
    for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
        buf[i] = kt_user_token(va + i * 8, gen);
    KT_ASSERT_EQ(machine_user_copy(mm, va, buf, PAGE_SIZE, MMU_WRITE, NULL), VM_FAULT_HANDLED);
    return 0;
}

int kt_user_verify_as(struct mm_struct *mm, uintptr_t va, uintptr_t filled, unsigned int gen)
{
    static uint64_t buf[PAGE_SIZE / 8];
    KT_ASSERT_EQ(machine_user_copy(mm, va, buf, PAGE_SIZE, MMU_READ, NULL), VM_FAULT_HANDLED);
    for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
        KT_ASSERT_MSG(buf[i] == kt_user_token(filled + i * 8, gen), "va 0x%lx word %u",
                      (unsigned long)va, i);
    return 0;
}

int kt_user_verify(struct mm_struct *mm, uintptr_t va, unsigned int gen)
{
    return kt_user_verify_as(mm, va, va, gen);
}

uint64_t kt_user_pte(struct mm_struct *mm, uintptr_t va)
{
    pte_t *p = pt_walk(&mm->pt, va, false, 0);
    return p ? *p : 0;
}

int kt_check(void)
{
    int rc = mm_check(&kt_rep);

    if (rc != 0 && kt_check_fail_hook) {
        char why[64];
        mm_snprintf(why, sizeof(why), "test %s.%s: %s", ktest_cur_suite ? ktest_cur_suite : "?",
                    ktest_cur_case ? ktest_cur_case : "?", kt_rep.invariant ? kt_rep.invariant : "?");
        kt_check_fail_hook(why);
    }
    if (rc != 0)
        KT_FAIL("mm_check: %d invariant %s pfn %lu: %s", rc,
                kt_rep.invariant ? kt_rep.invariant : "(null)", kt_rep.pfn, kt_rep.detail);
    return 0;
}

int kt_conservation(void)
{
    page_alloc_get_stats(&kt_st_c);
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        const struct zone_stats *zs = &kt_st_c.zone[z];
        unsigned long sum = 0, pcp = 0;

        KT_ASSERT_EQ(zs->managed, zs->nr_free + zs->nr_pcp + zs->nr_alloc);
        for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
            sum += zs->nr_free_blocks[o] << o;
        KT_ASSERT_EQ(sum, zs->nr_free);
        for (unsigned int c = 0; c < MM_MAX_CPUS; c++)
            pcp += zs->pcp_count[c];
        KT_ASSERT_EQ(pcp, zs->nr_pcp);
    }
    return 0;
}

int kt_buddyinfo_same(const struct page_alloc_stats *a, const struct page_alloc_stats *b)
{
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        for (unsigned int o = 0; o < MM_NR_ORDERS; o++) {
            if (a->zone[z].nr_free_blocks[o] != b->zone[z].nr_free_blocks[o])
                KT_FAIL("zone %u order %u: %lu free blocks vs %lu", z, o,
                        a->zone[z].nr_free_blocks[o], b->zone[z].nr_free_blocks[o]);
        }
    }
    return 0;
}

int kt_state_same(const struct page_alloc_stats *a, const struct page_alloc_stats *b)
{
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        const struct zone_stats *x = &a->zone[z], *y = &b->zone[z];

        KT_ASSERT_EQ(x->nr_free, y->nr_free);
        KT_ASSERT_EQ(x->nr_pcp, y->nr_pcp);
        KT_ASSERT_EQ(x->nr_alloc, y->nr_alloc);
        KT_ASSERT_EQ(x->managed, y->managed);
        for (unsigned int c = 0; c < MM_MAX_CPUS; c++)
            KT_ASSERT_EQ(x->pcp_count[c], y->pcp_count[c]);
    }
    KT_TRY(kt_buddyinfo_same(a, b));
    KT_ASSERT_EQ(a->counters.alloc, b->counters.alloc);
    KT_ASSERT_EQ(a->counters.free, b->counters.free);
    KT_ASSERT_EQ(a->counters.fail, b->counters.fail);
    return 0;
}

unsigned long kt_zone_free(unsigned int zone)
{
    page_alloc_get_stats(&kt_st_c);
    return kt_st_c.zone[zone].nr_free + kt_st_c.zone[zone].nr_pcp;
}

void kt_blocks_reset(void)
{
    kt_nr_blocks = 0;
}

int kt_blocks_push(struct page *p, unsigned int order)
{
    if (kt_nr_blocks >= KT_MAX_BLOCKS)
        return 1;
    kt_blocks[kt_nr_blocks].page = p;
    kt_blocks[kt_nr_blocks].order = order;
    kt_nr_blocks++;
    return 0;
}

unsigned int kt_alloc_until_fail(gfp_t gfp, unsigned int order, unsigned int max, int *err)
{
    unsigned int n = 0;

    *err = 0;
    while (n < max && kt_nr_blocks < KT_MAX_BLOCKS) {
        struct page *p = NULL;
        int rc = page_alloc_try(gfp | __GFP_NOWARN, order, &p);

        if (rc != 0) {
            *err = rc;
            break;
        }
        kt_blocks_push(p, order);
        n++;
    }
    return n;
}

int kt_blocks_free_all(void)
{
    for (unsigned int i = 0; i < kt_nr_blocks; i++) {
        int rc = __free_pages(kt_blocks[i].page, kt_blocks[i].order);

        if (rc != 0)
            KT_FAIL("freeing block %u (pfn %lu order %u) returned %d", i,
                    page_to_pfn(kt_blocks[i].page), kt_blocks[i].order, rc);
    }
    kt_nr_blocks = 0;
    return 0;
}

/* Allocate two order-@o blocks that are buddies of each other (others allocated meanwhile are freed). */
int kt_alloc_buddy_pair(unsigned int o, struct page **a, struct page **b)
{
    int err;

    *a = *b = NULL;
    kt_blocks_reset();
    kt_alloc_until_fail(GFP_KERNEL, o, 64, &err);
    for (unsigned int i = 0; i < kt_nr_blocks && !*a; i++) {
        for (unsigned int j = 0; j < kt_nr_blocks; j++) {
            if (page_to_pfn(kt_blocks[j].page) == (page_to_pfn(kt_blocks[i].page) ^ (1ul << o))) {
                *a = kt_blocks[i].page;
                *b = kt_blocks[j].page;
                kt_blocks[i].page = NULL;
                kt_blocks[j].page = NULL;
                break;
            }
        }
    }
    KT_ASSERT_MSG(*a != NULL, "no buddy pair among %u order-%u blocks", kt_nr_blocks, o);
    for (unsigned int i = 0; i < kt_nr_blocks; i++)
        if (kt_blocks[i].page)
            KT_ASSERT_OK(__free_pages(kt_blocks[i].page, o));
    kt_blocks_reset();
    return 0;
}

int kt_expect_misuse(enum mm_misuse_kind kind, unsigned long pfn, unsigned long before_kind)
{
    static struct mm_misuse mu;

    KT_ASSERT(mm_misuse_last(&mu));
    if (mu.kind != kind)
        KT_FAIL("misuse kind %d (%s), expected %d (%s); func %s detail %s", (int)mu.kind,
                mm_misuse_name(mu.kind), (int)kind, mm_misuse_name(kind),
                mu.func ? mu.func : "(null)", mu.detail);
    if (pfn != KT_ANY_PFN && mu.pfn != pfn)
        KT_FAIL("misuse pfn %lu, expected %lu (%s)", mu.pfn, pfn, mu.detail);
    KT_ASSERT_NOT_NULL(mu.func);
    KT_ASSERT_EQ(mm_misuse_count_kind(kind), before_kind + 1);
    return 0;
}

uint64_t kt_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}
