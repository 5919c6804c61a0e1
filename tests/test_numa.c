/*
 * test_numa.c - suite "numa": the topology (validation, nodes, zones, distances), node-local
 * allocation and distance-ordered fallback, the _node APIs (pages, slab, kmalloc, vmalloc) and
 * their argument checks, memoryless nodes, numastat and per-node statistics, and the NUMA
 * invariants of mm_check (each broken on purpose and named).
 */
#include "kt_util.h"
#include "../mm/internal.h" /* zonelists, partial lists and counters are mm-internal */
#include "numa.h"
#include "vmalloc.h"
#include "swap.h"
#include "mmap.h"
#include "machine_user.h"

/* A small machine of @mib MiB and @cpus CPUs with @nodes nodes; node i > 0 starts at
 * split[i - 1] MiB; CPU c on cpu_node[c]; distances all zero (10 / 20) unless set after. */
static void numa_machine(unsigned int mib, unsigned int cpus, unsigned int nodes,
                         const unsigned int *split, const uint8_t *cpu_node)
{
    machine_small(&kt_m, KT_MIB(mib), cpus);
    kt_m.numa.nr_nodes = nodes;
    for (unsigned int i = 1; i < nodes; i++)
        kt_m.numa.node_start[i] = KT_MIB(split[i - 1]);
    for (unsigned int c = 0; c < cpus; c++)
        kt_m.numa.cpu_node[c] = cpu_node[c];
}

/* Two nodes of 8 MiB each (16 MiB machine), CPU 0 on node 0, CPU 1 on node 1. */
static int boot_two_nodes(void)
{
    static const unsigned int split[] = { 8 };
    static const uint8_t cpus[] = { 0, 1 };
    numa_machine(16, 2, 2, split, cpus);
    return kt_boot_current();
}

/* The numastat item @i of node @nid now. */
static unsigned long numa_stat(unsigned int nid, unsigned int i)
{
    page_alloc_get_stats(&kt_st_c);
    return kt_st_c.node[nid].numa[i];
}

static int test_topology_validation(void)
{
    struct mm_numa_topology t = { .nr_nodes = 2, .node_start = { 0, KT_MIB(4) } };
    KT_ASSERT_OK(mm_numa_topology_validate(&t, 2));
    struct mm_numa_topology bad = t;
    bad.nr_nodes = 0;
    KT_ASSERT_ERR(mm_numa_topology_validate(&bad, 2), MM_EINVAL);
    bad.nr_nodes = MM_MAX_NUMNODES + 1;
    KT_ASSERT_ERR(mm_numa_topology_validate(&bad, 2), MM_EINVAL);
    bad = t;
    bad.node_start[0] = PAGE_SIZE;
    KT_ASSERT_ERR(mm_numa_topology_validate(&bad, 2), MM_EINVAL);
    bad = t;
    bad.node_start[1] = KT_MIB(4) + 8; /* unaligned */
    KT_ASSERT_ERR(mm_numa_topology_validate(&bad, 2), MM_EINVAL);
    bad = (struct mm_numa_topology){ .nr_nodes = 3, .node_start = { 0, KT_MIB(4), KT_MIB(2) } };
    KT_ASSERT_ERR(mm_numa_topology_validate(&bad, 2), MM_EINVAL); /* decreasing */
    bad = t;
    bad.cpu_node[1] = 2; /* no such node */
    KT_ASSERT_ERR(mm_numa_topology_validate(&bad, 2), MM_EINVAL);
    bad = t;
    bad.distance[0][0] = 10, bad.distance[1][1] = 11, bad.distance[0][1] = bad.distance[1][0] = 20;
    KT_ASSERT_ERR(mm_numa_topology_validate(&bad, 2), MM_EINVAL); /* diagonal must be 10 */
    bad.distance[1][1] = 10, bad.distance[0][1] = 10;
    KT_ASSERT_ERR(mm_numa_topology_validate(&bad, 2), MM_EINVAL); /* remote must exceed 10 */
    bad.distance[0][1] = 255;
    KT_ASSERT_ERR(mm_numa_topology_validate(&bad, 2), MM_EINVAL); /* unreachable */
    bad.distance[0][1] = 30; /* asymmetric is fine */
    KT_ASSERT_OK(mm_numa_topology_validate(&bad, 2));
    KT_ASSERT_ERR(mm_numa_topology_validate(NULL, 1), MM_EINVAL);
    /* a machine with a bad topology does not boot */
    machine_small(&kt_m, KT_MIB(8), 2);
    kt_m.numa = t;
    kt_m.numa.cpu_node[1] = 3;
    KT_ASSERT_ERR(machine_boot(&kt_m), MM_EINVAL);
    return 0;
}

static int test_one_node_without_topology(void)
{
    KT_TRY(kt_boot_small(16, 2, false));
    KT_ASSERT_EQ(mm_nr_nodes(), 1);
    KT_ASSERT_EQ(cpu_to_node(1), 0);
    KT_ASSERT_EQ(node_distance(0, 0), MM_NUMA_LOCAL_DISTANCE);
    KT_ASSERT_EQ(node_distance(0, 1), 0);
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++)
        KT_ASSERT_EQ(pfn_to_page(pfn)->node, 0);
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_EQ(kt_st_a.nr_nodes, 1);
    unsigned long managed = 0, free = 0;
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        managed += kt_st_a.zone[z].managed;
        free += kt_st_a.zone[z].nr_free + kt_st_a.zone[z].nr_pcp;
        KT_ASSERT_EQ(kt_st_a.node[0].zone_managed[z], kt_st_a.zone[z].managed);
    }
    KT_ASSERT_EQ(kt_st_a.node[0].managed, managed);
    KT_ASSERT_EQ(kt_st_a.node[0].nr_free + kt_st_a.node[0].nr_pcp, free);
    KT_MM_CHECK();
    return 0;
}

static int test_two_nodes_layout(void)
{
    KT_TRY(boot_two_nodes());
    KT_ASSERT_EQ(mm_nr_nodes(), 2);
    KT_ASSERT_EQ(cpu_to_node(0), 0);
    KT_ASSERT_EQ(cpu_to_node(1), 1);
    KT_ASSERT_EQ(node_distance(0, 1), MM_NUMA_REMOTE_DISTANCE);
    KT_ASSERT_EQ(node_distance(1, 1), MM_NUMA_LOCAL_DISTANCE);
    KT_ASSERT_EQ(node_distance(0, 2), 0);
    unsigned long split = KT_MIB(8) >> PAGE_SHIFT;
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++)
        KT_ASSERT_EQ(pfn_to_page(pfn)->node, pfn < split ? 0u : 1u);
    page_alloc_get_stats(&kt_st_a);
    KT_ASSERT_EQ(kt_st_a.node[0].start_pfn, 0);
    KT_ASSERT_EQ(kt_st_a.node[0].end_pfn, split);
    KT_ASSERT_EQ(kt_st_a.node[1].start_pfn, split);
    KT_ASSERT_EQ(kt_st_a.node[1].end_pfn, mm_max_pfn);
    /* small machine: DMA 1 MiB, NORMAL to 14 MiB: node 0 has DMA + NORMAL, node 1 NORMAL + HIGH */
    KT_ASSERT_GT(kt_st_a.node[0].zone_managed[ZONE_DMA], 0);
    KT_ASSERT_GT(kt_st_a.node[0].zone_managed[ZONE_NORMAL], 0);
    KT_ASSERT_EQ(kt_st_a.node[0].zone_managed[ZONE_HIGHMEM], 0);
    KT_ASSERT_EQ(kt_st_a.node[1].zone_managed[ZONE_DMA], 0);
    KT_ASSERT_GT(kt_st_a.node[1].zone_managed[ZONE_NORMAL], 0);
    KT_ASSERT_GT(kt_st_a.node[1].zone_managed[ZONE_HIGHMEM], 0);
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) /* zone[] sums the nodes */
        KT_ASSERT_EQ(kt_st_a.zone[z].managed,
                     kt_st_a.node[0].zone_managed[z] + kt_st_a.node[1].zone_managed[z]);
    KT_ASSERT(node_has_memory(0) && node_has_memory(1) && !node_has_memory(2));
    page_alloc_show(ENV_LOG_DEBUG); /* per-node buddyinfo and numastat lines */
    KT_MM_CHECK();
    return 0;
}

static int test_local_allocation_follows_cpu(void)
{
    KT_TRY(boot_two_nodes());
    for (unsigned int cpu = 0; cpu < 2; cpu++) {
        machine_cpu_set(cpu);
        unsigned long hit = numa_stat(cpu, NUMA_HIT), local = numa_stat(cpu, NUMA_LOCAL);
        struct page *p = alloc_page(GFP_KERNEL);
        KT_ASSERT_NOT_NULL(p);
        KT_ASSERT_EQ(page_to_nid(p), (int)cpu);
        KT_ASSERT_EQ(numa_node_id(), (int)cpu);
        KT_ASSERT_EQ(numa_stat(cpu, NUMA_HIT), hit + 1);
        KT_ASSERT_EQ(numa_stat(cpu, NUMA_LOCAL), local + 1);
        struct page *q = alloc_pages_node(NUMA_NO_NODE, GFP_KERNEL, 2);
        KT_ASSERT_NOT_NULL(q);
        KT_ASSERT_EQ(page_to_nid(q), (int)cpu);
        KT_ASSERT_OK(__free_page(p));
        KT_ASSERT_OK(__free_pages(q, 2));
    }
    machine_cpu_set(0);
    KT_MM_CHECK();
    return 0;
}

static int test_node_alloc_and_fallback(void)
{
    KT_TRY(boot_two_nodes());
    machine_cpu_set(0);
    unsigned long other = numa_stat(1, NUMA_OTHER);
    struct page *p = alloc_pages_node(1, GFP_KERNEL, 0);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(page_to_nid(p), 1); /* remote but asked for */
    KT_ASSERT_EQ(numa_stat(1, NUMA_OTHER), other + 1);
    KT_ASSERT_OK(__free_page(p));
    struct page *q = NULL;
    KT_ASSERT_OK(page_alloc_try_node(1, GFP_KERNEL, 3, &q));
    KT_ASSERT_EQ(page_to_nid(q), 1);
    KT_ASSERT_OK(__free_pages(q, 3));
    q = __alloc_pages_node(0, GFP_HIGHUSER, 0);
    KT_ASSERT_NOT_NULL(q);
    KT_ASSERT_EQ(page_to_nid(q), 0);
    KT_ASSERT_OK(__free_page(q));
    /* exhaust node 1 for GFP_KERNEL: then its allocations come from node 0 */
    kt_blocks_reset();
    unsigned long miss = numa_stat(0, NUMA_MISS), foreign = numa_stat(1, NUMA_FOREIGN);
    struct page *r = NULL;
    for (unsigned int i = 0; i < 8192; i++) {
        r = alloc_pages_node(1, GFP_KERNEL | __GFP_NOWARN, 0);
        KT_ASSERT_NOT_NULL(r);
        if (page_to_nid(r) != 1)
            break;
        KT_TRY(kt_blocks_push(r, 0));
        r = NULL;
    }
    KT_ASSERT_NOT_NULL(r);
    KT_ASSERT_EQ(page_to_nid(r), 0);
    KT_ASSERT_EQ(numa_stat(0, NUMA_MISS), miss + 1);
    KT_ASSERT_EQ(numa_stat(1, NUMA_FOREIGN), foreign + 1);
    KT_ASSERT_OK(__free_page(r));
    KT_MM_CHECK();
    KT_TRY(kt_blocks_free_all());
    KT_MM_CHECK();
    return 0;
}

static int test_bad_node_rejected(void)
{
    KT_TRY(boot_two_nodes());
    unsigned long n = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    struct page *p = NULL;
    KT_ASSERT_NULL(alloc_pages_node(2, GFP_KERNEL, 0));
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, n++));
    KT_ASSERT_NULL(alloc_pages_node(-2, GFP_KERNEL, 0));
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, n++));
    KT_ASSERT_NULL(__alloc_pages_node(NUMA_NO_NODE, GFP_KERNEL, 0));
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, n++));
    KT_ASSERT_ERR(page_alloc_try_node(MM_MAX_NUMNODES, GFP_KERNEL, 0, &p), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, n++));
    KT_ASSERT_ERR(page_alloc_try_node(0, GFP_KERNEL, 0, NULL), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, n++));
    KT_ASSERT_NULL(kmalloc_node(64, GFP_KERNEL, 3));
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, n++));
    struct kmem_cache *c = kmem_cache_create("numa_bad", 48, 8, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_NULL(kmem_cache_alloc_node(c, GFP_KERNEL, 9));
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, n++));
    KT_ASSERT_NULL(vmalloc_node(PAGE_SIZE, 2));
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, n++));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/* Three nodes, node 1 memoryless (its range is empty) with CPU 1 on it; asymmetric distances put
 * node 2 nearer to node 1 than node 0 is. */
static int boot_memoryless(void)
{
    static const unsigned int split[] = { 8, 8 };
    static const uint8_t cpus[] = { 0, 1, 2 };
    static const uint8_t d[3][3] = { { 10, 20, 30 }, { 40, 10, 15 }, { 25, 20, 10 } };
    numa_machine(16, 3, 3, split, cpus);
    for (unsigned int i = 0; i < 3; i++)
        for (unsigned int j = 0; j < 3; j++)
            kt_m.numa.distance[i][j] = d[i][j];
    return kt_boot_current();
}

static int test_memoryless_node_falls_back_by_distance(void)
{
    KT_TRY(boot_memoryless());
    KT_ASSERT(!node_has_memory(1));
    KT_ASSERT_EQ(local_memory_node(1), 2);
    KT_ASSERT_EQ(local_memory_node(0), 0);
    KT_ASSERT_EQ(node_distance(1, 0), 40); /* asymmetric, as given */
    KT_ASSERT_EQ(node_distance(0, 1), 20);
    machine_cpu_set(1);
    struct page *p = alloc_page(GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(page_to_nid(p), 2);
    KT_ASSERT_EQ(numa_stat(2, NUMA_MISS) + numa_stat(1, NUMA_FOREIGN) >= 2, true);
    void *o = kmalloc_node(100, GFP_KERNEL, 1); /* a memoryless node's objects: nearest node */
    KT_ASSERT_NOT_NULL(o);
    KT_ASSERT_EQ(page_to_nid(virt_to_page(o)), 2);
    KT_ASSERT_OK(kfree(o));
    KT_ASSERT_OK(__free_page(p));
    machine_cpu_set(0);
    /* node 0's fallback: itself, then node 2 (25), then node 1 (no memory: not listed) */
    const struct mm_node *n0 = &mm_state.phys.node[0];
    KT_ASSERT_EQ(n0->order[0], 0);
    KT_ASSERT_EQ(n0->order[1], 1); /* 20 < 30: node 1 is nearer, though memoryless */
    KT_ASSERT_EQ(n0->order[2], 2);
    for (unsigned int k = 0; n0->zonelist[ZONE_HIGHMEM][k]; k++)
        KT_ASSERT_NE(n0->zonelist[ZONE_HIGHMEM][k]->node, 1);
    KT_ASSERT_EQ(n0->zonelist[ZONE_DMA][0]->idx, ZONE_DMA); /* a DMA list holds DMA zones only */
    KT_ASSERT_NULL(n0->zonelist[ZONE_DMA][1]);
    const struct mm_node *n1 = &mm_state.phys.node[1];
    KT_ASSERT_EQ(n1->order[1], 2);
    KT_ASSERT_EQ(n1->zonelist[ZONE_NORMAL][0]->node, 2);
    KT_MM_CHECK();
    return 0;
}

static int test_slab_node_partial_lists(void)
{
    KT_TRY(boot_two_nodes());
    machine_cpu_set(0);
    struct kmem_cache *c = kmem_cache_create("numa_objs", 200, 8, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    void *a = kmem_cache_alloc_node(c, GFP_KERNEL, 1);
    void *b = kmem_cache_alloc_node(c, GFP_KERNEL, 1);
    KT_ASSERT(a && b);
    KT_ASSERT_EQ(page_to_nid(virt_to_page(a)), 1);
    KT_ASSERT_EQ(page_to_nid(virt_to_page(b)), 1);
    void *any = kmem_cache_alloc_node(c, GFP_KERNEL, NUMA_NO_NODE); /* any node: the CPU slab */
    KT_ASSERT_NOT_NULL(any);
    KT_ASSERT_EQ(page_to_nid(virt_to_page(any)), 1);
    void *l = kmem_cache_alloc_node(c, GFP_KERNEL, 0);
    KT_ASSERT_NOT_NULL(l);
    KT_ASSERT_EQ(page_to_nid(virt_to_page(l)), 0);
    /* the node-1 slab left the CPU when node 0's was needed: it waits on node 1's list */
    struct page *s1 = virt_to_page(a);
    KT_ASSERT_EQ(c->nr_partial, 1);
    KT_ASSERT(!list_empty(&c->partial[1]));
    KT_ASSERT_EQ(list_entry(c->partial[1].next, struct page, lru), s1);
    KT_ASSERT(list_empty(&c->partial[0]));
    /* a freed object goes back to its page's node: the slab stays on node 1's list */
    KT_ASSERT_OK(kmem_cache_free(c, b));
    KT_ASSERT_EQ(list_entry(c->partial[1].next, struct page, lru), s1);
    void *again = kmem_cache_alloc_node(c, GFP_KERNEL, 1); /* reuses the node-1 partial slab */
    KT_ASSERT_EQ(virt_to_page(again), s1);
    KT_MM_CHECK();
    void *k = kmalloc_node(3000, GFP_KERNEL, 1);
    void *big = kmalloc_node(20000, GFP_KERNEL, 1);
    KT_ASSERT(k && big);
    KT_ASSERT_EQ(page_to_nid(virt_to_page(k)), 1);
    KT_ASSERT_EQ(page_to_nid(virt_to_page(big)), 1);
    KT_ASSERT_OK(kfree(k));
    KT_ASSERT_OK(kfree(big));
    KT_ASSERT_OK(kmem_cache_free(c, a));
    KT_ASSERT_OK(kmem_cache_free(c, any));
    KT_ASSERT_OK(kmem_cache_free(c, again));
    KT_ASSERT_OK(kmem_cache_free(c, l));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/*
 * Regression: a node allocation that unfreezes a surplus-empty CPU slab of another node and then
 * grows a new slab discarded the old slab twice (the second time as a double free).
 */
static int test_node_alloc_drops_surplus_cpu_slab_once(void)
{
    KT_TRY(boot_two_nodes());
    machine_cpu_set(0);
    struct kmem_cache *c = kmem_cache_create("numa_surplus", 512, 8, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    static void *objs[256];
    unsigned int n = MM_MIN(256u, c->objects * (c->min_partial + 3));
    for (unsigned int i = 0; i < n; i++) {
        objs[i] = kmem_cache_alloc_node(c, GFP_KERNEL, 0);
        KT_ASSERT_NOT_NULL(objs[i]);
    }
    for (unsigned int i = 0; i < n; i++)
        KT_ASSERT_OK(kmem_cache_free(c, objs[i]));
    KT_ASSERT_EQ(c->nr_empty, c->min_partial); /* the CPU slab is empty and surplus too */
    KT_ASSERT_NOT_NULL(c->cpu[0].slab);
    unsigned long misuse = mm_misuse_count();
    void *o = kmem_cache_alloc_node(c, GFP_KERNEL, 1);
    KT_ASSERT_NOT_NULL(o);
    KT_ASSERT_EQ(page_to_nid(virt_to_page(o)), 1);
    KT_ASSERT_EQ(mm_misuse_count(), misuse);
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_free(c, o));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

static int test_vmalloc_node_pages(void)
{
    KT_TRY(boot_two_nodes());
    machine_cpu_set(0);
    char *v = vmalloc_node(5 * PAGE_SIZE, 1);
    KT_ASSERT_NOT_NULL(v);
    for (unsigned int i = 0; i < 5; i++) {
        v[i * PAGE_SIZE] = (char)i;
        KT_ASSERT_EQ(page_to_nid(vmalloc_to_page(v + i * PAGE_SIZE)), 1);
    }
    vfree(v);
    v = vmalloc_node(2 * PAGE_SIZE, NUMA_NO_NODE);
    KT_ASSERT_NOT_NULL(v);
    KT_ASSERT_EQ(page_to_nid(vmalloc_to_page(v)), 0);
    vfree(v);
    KT_MM_CHECK();
    return 0;
}

/* Break one NUMA invariant, expect mm_check to name it, restore. */
static int numa_expect_broken(const char *inv)
{
    struct mm_check_report rep;
    int err = mm_check(&rep);
    KT_ASSERT_ERR(err, MM_ECORRUPT);
    KT_ASSERT_NOT_NULL(rep.invariant);
    KT_ASSERT_STREQ(rep.invariant, inv);
    return 0;
}

static int test_check_sees_numa_damage(void)
{
    KT_TRY(boot_memoryless());
    /* numa.node: a free page in node 2's range that says node 0 */
    unsigned long pfn = mm_state.phys.node[2].end_pfn - 1;
    uint8_t saved = pfn_to_page(pfn)->node;
    pfn_to_page(pfn)->node = 0;
    KT_TRY(numa_expect_broken("numa.node"));
    pfn_to_page(pfn)->node = saved;
    /* numa.node from the topology side: node 2's boundary one page up (its first pfn is node
     * 1's by the topology), then one page down (node 1's last pfn is node 2's); each report
     * names the first pfn whose topology node differs */
    phys_addr_t start2 = mm_state.phys.numa.node_start[2];
    struct mm_check_report rep;
    mm_state.phys.numa.node_start[2] = start2 + PAGE_SIZE;
    KT_TRY(numa_expect_broken("numa.node"));
    KT_ASSERT_EQ(mm_check(&rep), -MM_ECORRUPT);
    KT_ASSERT_EQ(rep.pfn, MM_PFN_DOWN(start2));
    mm_state.phys.numa.node_start[2] = start2 - PAGE_SIZE;
    KT_ASSERT_EQ(mm_check(&rep), -MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "numa.node");
    KT_ASSERT_EQ(rep.pfn, MM_PFN_DOWN(start2) - 1);
    mm_state.phys.numa.node_start[2] = start2;
    /* numa.conserve: node 2's first zone counted under node 0 (its first page mislabelled) */
    unsigned long first = 0;
    for (unsigned int i = 0; i < MM_NR_ZONES; i++)
        if (mm_state.phys.node[2].zones[i].start_pfn < mm_state.phys.node[2].zones[i].end_pfn) {
            first = mm_state.phys.node[2].zones[i].start_pfn;
            break;
        }
    saved = pfn_to_page(first)->node;
    pfn_to_page(first)->node = 0;
    KT_TRY(numa_expect_broken("numa.conserve"));
    pfn_to_page(first)->node = saved;
    /* numa.zonelist: node 0's list with its two farthest entries swapped, then one dropped */
    struct zone **zl = mm_state.phys.node[0].zonelist[ZONE_HIGHMEM];
    unsigned int n = 0;
    while (zl[n])
        n++;
    KT_ASSERT_GE(n, 3);
    struct zone *t = zl[0];
    zl[0] = zl[n - 1];
    zl[n - 1] = t;
    KT_TRY(numa_expect_broken("numa.zonelist"));
    zl[n - 1] = zl[0];
    zl[0] = t;
    zl[n - 1] = NULL;
    KT_TRY(numa_expect_broken("numa.zonelist"));
    numa_build_zonelists(); /* rebuilt from the topology */
    KT_MM_CHECK();
    /* numa.stat: a miss without its foreign count; a remote allocation from the CPU's own node */
    mm_state.phys.cpu[0].numa_miss[0]++;
    mm_state.phys.cpu[0].node_alloc[0]++;
    KT_TRY(numa_expect_broken("numa.stat"));
    mm_state.phys.cpu[0].numa_miss[0]--;
    mm_state.phys.cpu[0].numa_other[0]++;
    KT_TRY(numa_expect_broken("numa.stat"));
    mm_state.phys.cpu[0].numa_other[0]--;
    mm_state.phys.cpu[0].node_alloc[0]--;
    KT_MM_CHECK();
    return 0;
}

static int test_check_sees_slab_on_wrong_node_list(void)
{
    KT_TRY(boot_two_nodes());
    machine_cpu_set(0);
    struct kmem_cache *c = kmem_cache_create("numa_wrong", 64, 8, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    void *a = kmem_cache_alloc_node(c, GFP_KERNEL, 1);
    void *l = kmem_cache_alloc_node(c, GFP_KERNEL, 0); /* pushes the node-1 slab to its list */
    KT_ASSERT(a && l);
    struct page *s1 = virt_to_page(a);
    KT_ASSERT_EQ(list_entry(c->partial[1].next, struct page, lru), s1);
    list_del(&s1->lru);
    list_add(&s1->lru, &c->partial[0]);
    KT_TRY(numa_expect_broken("slab.node"));
    list_del(&s1->lru);
    list_add(&s1->lru, &c->partial[1]);
    KT_MM_CHECK();
    KT_ASSERT_OK(kmem_cache_free(c, a));
    KT_ASSERT_OK(kmem_cache_free(c, l));
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/* __GFP_THISNODE: the node named (else the calling CPU's) only, NULL when it is full while the
 * other node has room, for pages and for slab objects; without it the same calls fall back. */
static int test_thisnode_never_falls_back(void)
{
    KT_TRY(boot_two_nodes());
    machine_cpu_set(1);
    struct page *p = alloc_pages(GFP_KERNEL | __GFP_THISNODE, 0);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(page_to_nid(p), 1); /* the CPU's node */
    KT_ASSERT_OK(__free_page(p));
    struct kmem_cache *c = kmem_cache_create("thisnode", 64, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    kt_blocks_reset();
    unsigned int n = 0;
    for (; n < 8192; n++) {
        struct page *r = alloc_pages_node(1, GFP_KERNEL | __GFP_NOWARN | __GFP_THISNODE, 0);
        if (!r)
            break;
        KT_ASSERT_EQ(page_to_nid(r), 1);
        KT_TRY(kt_blocks_push(r, 0));
    }
    KT_ASSERT_GT(n, 1000); /* node 1 gave all it had, then NULL ... */
    page_alloc_get_stats(&kt_st_c);
    KT_ASSERT_GT(kt_st_c.node[0].nr_free, 1000); /* ... while node 0 had room */
    KT_ASSERT_NULL(alloc_pages(GFP_KERNEL | __GFP_NOWARN | __GFP_THISNODE, 0));
    KT_ASSERT_NULL(kmem_cache_alloc_node(c, GFP_KERNEL | __GFP_THISNODE, 1));
    machine_cpu_set(0);
    p = alloc_pages_node(1, GFP_KERNEL | __GFP_NOWARN, 0); /* without it: node 0 */
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(page_to_nid(p), 0);
    KT_ASSERT_OK(__free_page(p));
    void *o = kmem_cache_alloc_node(c, GFP_KERNEL, 1);
    KT_ASSERT_NOT_NULL(o);
    KT_ASSERT_EQ(page_to_nid(virt_to_page(o)), 0);
    kmem_cache_free(c, o);
    KT_MM_CHECK();
    KT_TRY(kt_blocks_free_all());
    KT_ASSERT_OK(kmem_cache_destroy(c));
    KT_MM_CHECK();
    return 0;
}

/* KFENCE samples every allocation here (interval 1) but a node allocation only on its pool's
 * node, and no __GFP_THISNODE allocation: a node's object is on that node. */
static int test_kfence_honours_node(void)
{
    static const unsigned int split[] = { 8 };
    static const uint8_t cpus[] = { 0, 1 };
    numa_machine(16, 2, 2, split, cpus);
    kt_m.kfence_interval = 1;
    KT_TRY(kt_boot_current());
    int pool = page_to_nid(mm_state.vmalloc.kfence.pages);
    void *any = kmalloc(64, GFP_KERNEL);
    KT_ASSERT(is_kfence_address(any)); /* sampling works */
    void *obj[2], *local = kmalloc(64, GFP_KERNEL | __GFP_THISNODE);
    KT_ASSERT_NOT_NULL(local);
    KT_ASSERT(!is_kfence_address(local));
    for (int n = 0; n < 2; n++) {
        obj[n] = kmalloc_node(64, GFP_KERNEL, n);
        KT_ASSERT_NOT_NULL(obj[n]);
        KT_ASSERT_EQ(is_kfence_address(obj[n]), n == pool);
        if (n != pool)
            KT_ASSERT_EQ(page_to_nid(virt_to_page(obj[n])), n);
    }
    kfree(obj[0]);
    kfree(obj[1]);
    kfree(local);
    kfree(any);
    KT_MM_CHECK();
    return 0;
}

/* Map @n pages at a new anonymous range of @mm, written from CPU @cpu (so on its node). */
static uintptr_t numa_map_written(struct mm_struct *mm, unsigned int n, unsigned int cpu)
{
    long a = do_mmap(mm, 0, n * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     NULL, 0);
    if (a <= 0)
        return 0;
    machine_cpu_set(cpu);
    for (unsigned int i = 0; i < n; i++) {
        uint64_t tag = i;
        if (machine_user_copy(mm, (uintptr_t)a + i * PAGE_SIZE, &tag, 8, MMU_WRITE, NULL) !=
            VM_FAULT_HANDLED)
            a = 0;
    }
    machine_cpu_set(0);
    return (uintptr_t)a;
}

/* Pages of [@va, + @n pages) of @mm that are present. */
static unsigned int numa_present(struct mm_struct *mm, uintptr_t va, unsigned int n)
{
    unsigned int k = 0;
    for (unsigned int i = 0; i < n; i++) {
        pte_t *ep = pt_walk(&mm->pt, va + i * PAGE_SIZE, false, 0);
        k += ep && pte_present(*ep);
    }
    return k;
}

/* Node reclaim swaps out the node's own pages, not the older ones of another node; the
 * allocator's direct reclaim for a full node does the same. */
static int test_node_reclaim_own_lru_first(void)
{
    static const unsigned int split[] = { 8 };
    static const uint8_t cpus[] = { 0, 1 };
    numa_machine(16, 2, 2, split, cpus);
    kt_m.swap_slots = 1024;
    KT_TRY(kt_boot_current());
    struct mm_struct *mm = mm_create();
    KT_ASSERT_NOT_NULL(mm);
    uintptr_t a = numa_map_written(mm, 32, 0), b = numa_map_written(mm, 96, 1);
    KT_ASSERT_NE(a, 0); /* a's pages (node 0) are the older ones on the LRU */
    KT_ASSERT_NE(b, 0);
    /* direct reclaim: node 1 filled until an allocation there had to reclaim (GFP_HIGHUSER: the
     * zones the user pages are in) */
    struct swap_stats s0, s1;
    swap_get_stats(&s0);
    unsigned int left = numa_present(mm, b, 96);
    kt_blocks_reset();
    machine_cpu_set(1);
    for (unsigned int i = 0; i < 8192; i++) {
        struct page *p = alloc_pages_node(1, GFP_HIGHUSER | __GFP_NOWARN | __GFP_THISNODE, 0);
        swap_get_stats(&s1);
        if (!p || s1.swapped_out != s0.swapped_out) {
            if (p)
                KT_TRY(kt_blocks_push(p, 0));
            break;
        }
        KT_TRY(kt_blocks_push(p, 0));
    }
    machine_cpu_set(0);
    KT_ASSERT_GT(s1.swapped_out, s0.swapped_out);
    KT_ASSERT_EQ(numa_present(mm, a, 32), 32); /* node 0's pages untouched */
    KT_ASSERT_LT(numa_present(mm, b, 96), left);
    KT_TRY(kt_blocks_free_all());
    KT_ASSERT_EQ(page_reclaim_node(5, GFP_KERNEL, 8), 0); /* no such node */
    KT_ASSERT_EQ(numa_present(mm, a, 32), 32);
    unsigned int now = numa_present(mm, b, 96);
    KT_ASSERT_GT(now, 0);
    KT_ASSERT_GE(page_reclaim_node(1, GFP_HIGHUSER, 8), 8);
    KT_ASSERT_LT(numa_present(mm, b, 96), now);
    KT_ASSERT_EQ(numa_present(mm, a, 32), 32);
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static const struct ktest_case numa_cases[] = {
    KT_CASE(topology_validation),
    KT_CASE(one_node_without_topology),
    KT_CASE(two_nodes_layout),
    KT_CASE(local_allocation_follows_cpu),
    KT_CASE(node_alloc_and_fallback),
    KT_CASE(bad_node_rejected),
    KT_CASE(memoryless_node_falls_back_by_distance),
    KT_CASE(slab_node_partial_lists),
    KT_CASE(node_alloc_drops_surplus_cpu_slab_once),
    KT_CASE(vmalloc_node_pages),
    KT_CASE(check_sees_numa_damage),
    KT_CASE(check_sees_slab_on_wrong_node_list),
    KT_CASE(thisnode_never_falls_back),
    KT_CASE(kfence_honours_node),
    KT_CASE(node_reclaim_own_lru_first),
};
KT_SUITE(numa, numa_cases);
