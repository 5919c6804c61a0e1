/*
 * test_check.c - suite "check": mm_check passes on healthy machines and fails, naming the broken
 * invariant and the page, when the page state is corrupted on purpose; and mm_check_step, the
 * same checker in bounded slices, finds the same damage within one cycle unless only the
 * whole-machine view can see it. Every corrupting case re-boots a fresh machine at its end so no
 * later test sees the damage.
 */
#include "kt_util.h"
#include "../mm/internal.h" /* pcp.high: a per-CPU list count is mm-internal */
#include "vmalloc.h"

static struct mm_check_report rep;

static struct page *find_free_head(unsigned int min_order)
{
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++) {
        struct page *p = pfn_to_page(pfn);

        if ((p->flags & PG_buddy) && p->order >= min_order)
            return p;
    }
    return NULL;
}

/* Step from a fresh cursor through up to two cycles of 16-page slices; the first error or 0. */
static int step_cycles(struct mm_check_cursor *cur, struct mm_check_report *r)
{
    *cur = (struct mm_check_cursor){ .all_cpus = true }; /* the simulated CPUs stand still */
    for (unsigned long i = 0; i < 200000 && cur->cycles < 2; i++) {
        int rc = mm_check_step(cur, 16, r);
        if (rc)
            return rc;
    }
    return 0;
}

/* The step finds @inv (what mm_check named) within a cycle, or @inv is one it cannot see. */
static int expect_step_finds(const char *inv)
{
    struct mm_check_cursor cur;
    struct mm_check_report r;
    int rc = step_cycles(&cur, &r);
    if (rc == 0) {
        KT_ASSERT_MSG(!mm_check_step_sees(inv), "mm_check_step missed %s in %lu slices", inv,
                      cur.slices);
        KT_ASSERT_EQ(cur.cycles, 2);
        return 0;
    }
    KT_ASSERT_ERR(rc, MM_ECORRUPT);
    KT_ASSERT_MSG(!ktest_strcmp(r.invariant, inv), "mm_check_step named %s, mm_check %s (%s)",
                  r.invariant, inv, r.detail);
    KT_ASSERT_ERR(mm_check_step(&cur, 16, NULL), MM_ECORRUPT); /* the cursor stays on it */
    return 0;
}

/* mm_check must fail with a named invariant at a pfn in [lo, hi); so must mm_check_step. */
static int expect_corrupt(unsigned long lo, unsigned long hi)
{
    memset(&rep, 0, sizeof(rep));
    int rc = mm_check(&rep);

    KT_ASSERT_ERR(rc, MM_ECORRUPT);
    KT_ASSERT_EQ(rep.err, -MM_ECORRUPT);
    KT_ASSERT_NOT_NULL(rep.invariant);
    KT_ASSERT_MSG(ktest_strstr(rep.invariant, "."), "invariant name '%s' is not dotted",
                  rep.invariant);
    KT_ASSERT_MSG(rep.pfn >= lo && rep.pfn < hi, "invariant %s at pfn %lu, expected [%lu, %lu): %s",
                  rep.invariant, rep.pfn, lo, hi, rep.detail);
    KT_ASSERT_NE(rep.detail[0], 0);
    KT_ASSERT_ERR(mm_check(NULL), MM_ECORRUPT); /* NULL report is allowed */
    if (ktest_verbose)
        ktest_note("caught: %s at pfn %lu: %s", rep.invariant, rep.pfn, rep.detail);
    return expect_step_finds(rep.invariant);
}

static int test_fresh_machines_pass(void)
{
    KT_TRY(kt_boot_small(8, 1, false));
    memset(&rep, 0x7f, sizeof(rep));
    KT_ASSERT_OK(mm_check(&rep));
    KT_ASSERT_EQ(rep.err, 0);
    KT_ASSERT_NULL(rep.invariant);
    KT_ASSERT_OK(mm_check(NULL));
    KT_TRY(kt_boot_small(32, 4, true));
    KT_MM_CHECK();
    KT_TRY(kt_boot_pc(1024, 2));
    KT_MM_CHECK();
    return 0;
}

static int test_check_is_repeatable(void)
{
    int err;

    KT_TRY(kt_boot_small(16, 2, false));
    kt_alloc_until_fail(GFP_KERNEL, 0, 50, &err);
    kt_alloc_until_fail(GFP_KERNEL, 3, 20, &err);
    machine_cpu_set(1);
    KT_ASSERT_OK(__free_page(kt_blocks[1].page));
    kt_blocks[1] = kt_blocks[--kt_nr_blocks];
    machine_cpu_set(0);
    page_alloc_get_stats(&kt_st_a);
    for (int i = 0; i < 3; i++)
        KT_MM_CHECK();
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_state_same(&kt_st_a, &kt_st_b)); /* checking changes nothing */
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++)
        KT_ASSERT(!(pfn_to_page(pfn)->flags & PG_checked));
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_free_head_without_buddy_flag(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = find_free_head(0);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);

    p->flags &= ~PG_buddy;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->flags |= PG_buddy; /* repaired: passes again, the failed walk left no marks */
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_free_block_wrong_order(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = find_free_head(2);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);
    const unsigned int order = p->order;

    p->order = (uint8_t)(order - 1);
    KT_TRY(expect_corrupt(pfn, pfn + (1ul << order)));
    p->order = (uint8_t)order;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_free_block_order_too_big(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = find_free_head(0);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);
    const unsigned int order = p->order;

    p->order = MM_MAX_ORDER + 3;
    KT_TRY(expect_corrupt(pfn, pfn + (1ul << order)));
    p->order = (uint8_t)order;
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_allocated_page_with_buddy_flag(void)
{
    struct page *p, *q;

    KT_TRY(kt_boot_small(16, 1, true));
    KT_TRY(kt_alloc_buddy_pair(0, &p, &q)); /* its buddy is allocated: no merge question */
    const unsigned long pfn = page_to_pfn(p);

    p->flags |= PG_buddy;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->flags &= ~PG_buddy;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

/* Boot a 16 MiB machine with @cpus CPUs and put one page on CPU 0's per-CPU list; NULL if any
 * step failed. */
static struct page *page_on_pcp(unsigned int cpus)
{
    struct page *p;

    if (kt_boot_small(16, cpus, false))
        return NULL;
    p = alloc_page(GFP_KERNEL);
    if (!p || __free_page(p))
        return NULL;
    return p;
}

static int test_pcp_page_marked_head(void)
{
    struct page *p = page_on_pcp(2);

    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT(p->flags & PG_pcp);
    const unsigned long pfn = page_to_pfn(p);

    p->flags |= PG_head;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->flags &= ~PG_head;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_pcp_page_wrong_cpu(void)
{
    struct page *p = page_on_pcp(2);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);

    p->cpu = 1; /* it sits on CPU 0's list */
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->cpu = 0;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

/* A per-CPU list longer than its high mark (a free that did not give its batch back). */
static int test_pcp_list_above_high(void)
{
    struct page *p = page_on_pcp(1);

    KT_ASSERT_NOT_NULL(p);
    struct per_cpu_pages *pcp = &mm_state.phys.node[p->node].zones[p->zone].pcp[0];
    const unsigned int high = pcp->high;

    KT_ASSERT_GT(pcp->count, 0);
    pcp->high = pcp->count - 1; /* the same as count > high */
    memset(&rep, 0, sizeof(rep));
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "pcp.high");
    pcp->high = high;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_allocated_refcount_zero(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = alloc_pages(GFP_KERNEL, 1);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);

    p->refcount = 0;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    p->refcount = 1;
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_tail_of_free_block_flagged(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = find_free_head(3);

    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p) + 5;

    pfn_to_page(pfn)->flags |= PG_head;
    KT_TRY(expect_corrupt(page_to_pfn(p), page_to_pfn(p) + (1ul << p->order)));
    pfn_to_page(pfn)->flags &= ~PG_head;
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

static int test_reserved_page_made_free(void)
{
    KT_TRY(kt_boot_small(16, 1, true));
    struct page *p = NULL;

    /* a reserved page whose buddy is reserved too, so only the page itself is wrong */
    for (unsigned long pfn = 0; pfn + 1 < mm_max_pfn && !p; pfn++)
        if ((pfn_to_page(pfn)->flags & PG_reserved) && !(pfn_to_page(pfn)->flags & PG_hole) &&
            (pfn_to_page(pfn ^ 1)->flags & PG_reserved))
            p = pfn_to_page(pfn);
    KT_ASSERT_NOT_NULL(p);
    const unsigned long pfn = page_to_pfn(p);

    p->flags = PG_buddy; /* looks free, is on no free list */
    p->order = 0;
    KT_TRY(expect_corrupt(pfn, pfn + 1));
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

/* Damage away from the page array: mm_check names @inv, and so does mm_check_step. */
static int expect_named(const char *inv)
{
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, inv);
    return expect_step_finds(inv);
}

/* A healthy, busy machine: cycles of every slice kind pass, check nothing twice per slice and
 * change nothing; a cycle walks every zone page once in runs of the asked size. */
static int test_step_cycles_clean(void)
{
    KT_TRY(kt_boot_small(16, 2, false));
    struct kmem_cache *c = kmem_cache_create("step", 96, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    void *o = kmem_cache_alloc(c, GFP_KERNEL), *v = vmalloc(3 * PAGE_SIZE);
    struct mm_struct *mm = mm_create();
    KT_ASSERT(o && v && mm);
    KT_ASSERT_GT(do_mmap(mm, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, NULL, 0), 0);
    page_alloc_get_stats(&kt_st_a);
    struct mm_check_cursor cur;
    struct mm_check_report r;
    memset(&r, 0x7f, sizeof(r));
    KT_ASSERT_OK(step_cycles(&cur, &r));
    KT_ASSERT_NULL(r.invariant);
    KT_ASSERT_EQ(cur.cycles, 2);
    KT_ASSERT_EQ(cur.busy, 0);
    unsigned long pages = 0, zones = 0;
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        const struct zone *zn = &mm_state.phys.node[0].zones[z];
        pages += zn->end_pfn - zn->start_pfn;
        zones += zn->end_pfn > zn->start_pfn;
    }
    /* per cycle: lists and >= 1 run per zone (a run ends after the block that reaches 16
     * pages), >= 2 caches, vmalloc, the address space; never more runs than pages */
    KT_ASSERT_MSG(cur.slices >= 2 * (2 * zones + 4) && cur.slices <= 2 * (pages + 16),
                  "%lu slices for %lu pages in %lu zones", cur.slices, pages, zones);
    page_alloc_get_stats(&kt_st_b);
    KT_TRY(kt_state_same(&kt_st_a, &kt_st_b));
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++)
        KT_ASSERT(!(pfn_to_page(pfn)->flags & PG_checked));
    mm_destroy(mm);
    KT_ASSERT_OK(vfree(v));
    kmem_cache_free(c, o);
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/* Damage mm_check finds outside the page array: a cache's counts and an address space's. */
static int test_step_finds_cache_and_mm_damage(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    struct kmem_cache *c = kmem_cache_create("step_dmg", 64, 0, 0, NULL);
    struct mm_struct *mm = mm_create();
    KT_ASSERT(c && mm);
    void *o = kmem_cache_alloc(c, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(o);
    c->nr_partial++;
    KT_TRY(expect_named("slab.count"));
    c->nr_partial--;
    KT_MM_CHECK();
    void *next = c->cpu[0].freelist; /* this CPU's slab: walked by the step too */
    KT_ASSERT_NOT_NULL(next);
    c->cpu[0].freelist = (char *)o + 1;
    KT_TRY(expect_named("slab.freelist"));
    c->cpu[0].freelist = next;
    KT_MM_CHECK();
    KT_ASSERT_GT(do_mmap(mm, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, NULL, 0), 0);
    mm->nr_anon++;
    KT_TRY(expect_named("mm.nr_anon"));
    mm->nr_anon--;
    KT_MM_CHECK();
    mm_destroy(mm);
    kmem_cache_free(c, o);
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

/* mm_check_counts, the per-op counter check of the fuzz engines: it sees what its contract names
 * (pcp.high, buddy.nr_free, conserve.managed, lock.held) and passes again once it is undone. */
static int expect_counts(const char *invariant)
{
    memset(&rep, 0, sizeof(rep));
    KT_ASSERT_ERR(mm_check_counts(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, invariant);
    return 0;
}

static int test_counts_see_counter_damage(void)
{
    struct page *p = page_on_pcp(1);

    KT_ASSERT_NOT_NULL(p);
    struct zone *z = &mm_state.phys.node[p->node].zones[p->zone];
    struct per_cpu_pages *pcp = &z->pcp[0];
    const unsigned int high = pcp->high;
    const unsigned long managed = z->managed;

    KT_ASSERT_OK(mm_check_counts(NULL));
    KT_ASSERT_GT(pcp->count, 0);
    pcp->high = pcp->count - 1;
    KT_TRY(expect_counts("pcp.high"));
    pcp->high = high;
    z->nr_free++;
    KT_TRY(expect_counts("buddy.nr_free"));
    z->nr_free--;
    z->free_area[0].nr_free++;
    KT_TRY(expect_counts("buddy.nr_free"));
    z->free_area[0].nr_free--;
    z->managed = z->nr_free;
    KT_TRY(expect_counts("conserve.managed"));
    z->managed = managed;
    env_spin_lock(&mm_state.heap.lock);
    KT_TRY(expect_counts("lock.held"));
    env_spin_unlock(&mm_state.heap.lock);
    KT_ASSERT_OK(mm_check_counts(NULL));
    KT_MM_CHECK();
    KT_TRY(kt_boot_small(8, 1, false));
    return 0;
}

/* A held lock skips its slice (counted) without checking or moving on; freed, the slice runs. */
static int test_step_skips_held_lock(void)
{
    KT_TRY(kt_boot_small(16, 1, false));
    struct mm_check_cursor cur = { 0 };
    while (mm_state.phys.node[0].zones[cur.zone].start_pfn == mm_state.phys.node[0].zones[cur.zone].end_pfn)
        KT_ASSERT_OK(mm_check_step(&cur, 16, NULL)); /* past empty zones */
    struct zone *z = &mm_state.phys.node[0].zones[cur.zone];
    struct mm_check_cursor before = cur;
    env_spin_lock(&z->lock);
    KT_ASSERT_OK(mm_check_step(&cur, 16, NULL));
    KT_ASSERT_OK(mm_check_step(&cur, 16, NULL));
    env_spin_unlock(&z->lock);
    KT_ASSERT_EQ(cur.busy, before.busy + 2);
    KT_ASSERT_EQ(cur.slices, before.slices);
    KT_ASSERT_EQ(cur.phase, MM_CHECK_ZONE_LISTS);
    KT_ASSERT_OK(mm_check_step(&cur, 16, NULL));
    KT_ASSERT_EQ(cur.slices, before.slices + 1);
    KT_ASSERT_EQ(cur.phase, MM_CHECK_ZONE_PAGES);
    struct mm_struct *mm = mm_create(); /* an address space to check */
    KT_ASSERT_NOT_NULL(mm);
    env_spin_lock(&mm_state.vm.lock); /* the address-space phase waits for vm.lock */
    for (unsigned int i = 0; i < 100000 && cur.phase != MM_CHECK_MMS; i++)
        KT_ASSERT_OK(mm_check_step(&cur, 64, NULL));
    unsigned long busy = cur.busy;
    KT_ASSERT_OK(mm_check_step(&cur, 64, NULL));
    KT_ASSERT_EQ(cur.busy, busy + 1);
    env_spin_unlock(&mm_state.vm.lock);
    KT_ASSERT_OK(mm_check_step(&cur, 64, NULL));
    KT_ASSERT_EQ(cur.busy, busy + 1);
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

/* What the step cannot see, by name and by prefix. */
static int test_step_sees_names(void)
{
    KT_ASSERT_TRUE(mm_check_step_sees("buddy.flags"));
    KT_ASSERT_TRUE(mm_check_step_sees("pcp.count"));
    KT_ASSERT_TRUE(mm_check_step_sees("slab.freelist"));
    KT_ASSERT_TRUE(mm_check_step_sees("mm.nr_anon"));
    KT_ASSERT_TRUE(mm_check_step_sees("conserve")); /* a prefix is no name */
    KT_ASSERT_FALSE(mm_check_step_sees("conserve.managed"));
    KT_ASSERT_FALSE(mm_check_step_sees("swap.count"));
    KT_ASSERT_FALSE(mm_check_step_sees("buddy.orphan"));
    KT_ASSERT_TRUE(mm_check_step_sees("buddy.orphanx")); /* a name, not a prefix */
    KT_ASSERT_FALSE(mm_check_step_sees(NULL));
    return 0;
}

/* Bad cursors and sizes are refused and reported; the mm is untouched. */
static int test_step_bad_arguments(void)
{
    KT_TRY(kt_boot_small(8, 1, false));
    struct mm_check_cursor cur = { 0 };
    unsigned long n = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_ERR(mm_check_step(NULL, 16, NULL), MM_EINVAL);
    KT_ASSERT_ERR(mm_check_step(&cur, 0, NULL), MM_EINVAL);
    KT_ASSERT_ERR(mm_check_step(&cur, MM_CHECK_STEP_MAX_PAGES + 1, NULL), MM_EINVAL);
    cur.phase = MM_CHECK_NR_PHASES;
    KT_ASSERT_ERR(mm_check_step(&cur, 16, NULL), MM_EINVAL);
    cur = (struct mm_check_cursor){ .zone = MM_NR_ZONES };
    KT_ASSERT_ERR(mm_check_step(&cur, 16, NULL), MM_EINVAL);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT), n + 5);
    KT_ASSERT_EQ(cur.slices, 0);
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case check_cases[] = {
    KT_CASE(fresh_machines_pass),
    KT_CASE(check_is_repeatable),
    KT_CASE(free_head_without_buddy_flag),
    KT_CASE(free_block_wrong_order),
    KT_CASE(free_block_order_too_big),
    KT_CASE(allocated_page_with_buddy_flag),
    KT_CASE(pcp_page_marked_head),
    KT_CASE(pcp_page_wrong_cpu),
    KT_CASE(pcp_list_above_high),
    KT_CASE(allocated_refcount_zero),
    KT_CASE(tail_of_free_block_flagged),
    KT_CASE(reserved_page_made_free),
    KT_CASE(step_cycles_clean),
    KT_CASE(step_finds_cache_and_mm_damage),
    KT_CASE(step_skips_held_lock),
    KT_CASE(step_bad_arguments),
    KT_CASE(step_sees_names),
    KT_CASE(counts_see_counter_damage),
};
KT_SUITE(check, check_cases);
