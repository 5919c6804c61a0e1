/*
 * numa.c - the NUMA topology of the machine (numa.h): validation of the boot description, the
 * node of a pfn and of a CPU, distances, and each node's fallback order.
 *
 *   mm_state.phys.numa     the topology as booted (distances defaulted to 10 / 20)
 *   node[n].order[]        node ids by distance from n: self first, ties by id
 *   node[n].zonelist[T][]  for each node of order[], its populated zones T, T-1, .., DMA;
 *                          NULL-terminated. An allocation whose highest zone is T walks
 *                          zonelist[T], so it tries every allowed zone of the nearest node
 *                          before any zone of a farther one (Linux's node ordering), with
 *                          nothing to skip on the fast path.
 *
 * Invariants (mm_check: numa.*): every page's node is the node whose range holds its pfn; each
 * zonelist holds every populated zone once, in non-decreasing distance, zones of one node from
 * high to low. Written at boot only; read without locks.
 */
#include "phys_internal.h"

static const char *const numa_stat_names[MM_NR_NUMA_STATS] = {
    "numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node",
};

const char *numa_stat_name(unsigned int item)
{
    return item < MM_NR_NUMA_STATS ? numa_stat_names[item] : "?";
}

static bool numa_distances_zero(const struct mm_numa_topology *t)
{
    for (unsigned int i = 0; i < MM_MAX_NUMNODES; i++)
        for (unsigned int j = 0; j < MM_MAX_NUMNODES; j++)
            if (t->distance[i][j])
                return false;
    return true;
}

static bool numa_distance_ok(const struct mm_numa_topology *t, unsigned int i, unsigned int j)
{
    unsigned int d = t->distance[i][j];
    if (i == j)
        return d == MM_NUMA_LOCAL_DISTANCE;
    return d > MM_NUMA_LOCAL_DISTANCE && d <= MM_NUMA_MAX_DISTANCE;
}

int mm_numa_topology_validate(const struct mm_numa_topology *t, unsigned int nr_cpus)
{
    if (!t || t->nr_nodes < 1 || t->nr_nodes > MM_MAX_NUMNODES || t->node_start[0] != 0 ||
        nr_cpus > MM_MAX_CPUS)
        return -MM_EINVAL;
    for (unsigned int i = 1; i < t->nr_nodes; i++)
        if (!MM_IS_ALIGNED(t->node_start[i], PAGE_SIZE) || t->node_start[i] < t->node_start[i - 1])
            return -MM_EINVAL;
    for (unsigned int c = 0; c < MM_MAX(nr_cpus, 1u); c++)
        if (t->cpu_node[c] >= t->nr_nodes)
            return -MM_EINVAL;
    if (numa_distances_zero(t))
        return 0;
    for (unsigned int i = 0; i < t->nr_nodes; i++)
        for (unsigned int j = 0; j < t->nr_nodes; j++)
            if (!numa_distance_ok(t, i, j))
                return -MM_EINVAL;
    return 0;
}

void numa_setup(const struct mm_numa_topology *t, unsigned int nr_cpus)
{
    struct mm_numa_topology *n = &mm_state.phys.numa;
    (void)nr_cpus;
    if (t)
        *n = *t;
    else
        *n = (struct mm_numa_topology){ .nr_nodes = 1 };
    if (numa_distances_zero(n))
        for (unsigned int i = 0; i < MM_MAX_NUMNODES; i++)
            for (unsigned int j = 0; j < MM_MAX_NUMNODES; j++)
                n->distance[i][j] = i == j ? MM_NUMA_LOCAL_DISTANCE : MM_NUMA_REMOTE_DISTANCE;
    mm_state.phys.nr_nodes = n->nr_nodes;
    for (unsigned int i = 0; i < MM_MAX_NUMNODES; i++)
        mm_state.phys.node[i].id = i;
}

unsigned int numa_pfn_node(unsigned long pfn)
{
    const struct mm_numa_topology *t = &mm_state.phys.numa;
    unsigned int nid = 0;
    for (unsigned int i = 1; i < mm_state.phys.nr_nodes; i++)
        if (MM_PFN_PHYS(pfn) >= t->node_start[i])
            nid = i;
    return nid;
}

unsigned int mm_nr_nodes(void) { return mm_state.phys.nr_nodes ? mm_state.phys.nr_nodes : 1; }

int cpu_to_node(unsigned int cpu)
{
    return cpu < MM_MAX_CPUS && mm_state.phys.nr_nodes ? mm_state.phys.numa.cpu_node[cpu] : 0;
}

int numa_node_id(void) { return cpu_to_node(env_cpu_id()); }

unsigned int node_distance(int from, int to)
{
    if (from < 0 || to < 0 || (unsigned int)from >= mm_nr_nodes() || (unsigned int)to >= mm_nr_nodes())
        return 0;
    return mm_state.phys.numa.distance[from][to];
}

bool node_has_memory(int nid)
{
    if (nid < 0 || (unsigned int)nid >= mm_nr_nodes())
        return false;
    const struct mm_node *n = &mm_state.phys.node[nid];
    for (unsigned int z = 0; z < MM_NR_ZONES; z++)
        if (zone_populated(&n->zones[z]))
            return true;
    return false;
}

/* Node ids by distance from @nid, self first (its distance is the smallest), ties by id. */
static void numa_build_order(struct mm_node *n)
{
    unsigned int nr = mm_nr_nodes(), k = 0;
    n->order[k++] = (uint8_t)n->id;
    for (unsigned int i = 0; i < nr; i++)
        if (i != n->id)
            n->order[k++] = (uint8_t)i;
    for (unsigned int i = 2; i < nr; i++) /* insertion sort by distance (stable: ties by id) */
        for (unsigned int j = i; j > 1; j--) {
            uint8_t a = n->order[j - 1], b = n->order[j];
            if (mm_state.phys.numa.distance[n->id][b] >= mm_state.phys.numa.distance[n->id][a])
                break;
            n->order[j - 1] = b;
            n->order[j] = a;
        }
}

/* Node @n's list for allocations whose highest zone is @top. */
static void numa_build_zonelist(struct mm_node *n, unsigned int top)
{
    unsigned int k = 0;
    for (unsigned int i = 0; i < mm_nr_nodes(); i++)
        for (int z = (int)top; z >= 0; z--) {
            struct zone *zn = &mm_state.phys.node[n->order[i]].zones[z];
            if (zone_populated(zn))
                n->zonelist[top][k++] = zn;
        }
    n->zonelist[top][k] = NULL;
}

void numa_build_zonelists(void)
{
    for (unsigned int nid = 0; nid < mm_nr_nodes(); nid++) {
        struct mm_node *n = &mm_state.phys.node[nid];
        numa_build_order(n);
        for (unsigned int top = 0; top < MM_NR_ZONES; top++)
            numa_build_zonelist(n, top);
    }
}

int local_memory_node(int nid)
{
    if (nid < 0 || (unsigned int)nid >= mm_nr_nodes())
        return 0;
    const struct zone *z = mm_state.phys.node[nid].zonelist[MM_NR_ZONES - 1][0];
    return z ? (int)z->node : nid;
}

int numa_check_node(int nid, const char *func)
{
    if (nid == NUMA_NO_NODE || (nid >= 0 && (unsigned int)nid < mm_nr_nodes()))
        return 0;
    return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, func, (uintptr_t)(long)nid, ~0ul,
                            "node %d: not NUMA_NO_NODE nor a node of this machine (%u nodes)",
                            nid, mm_nr_nodes());
}
