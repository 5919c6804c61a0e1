/*
 * test_mempolicy.c - suite "mempolicy": set_mempolicy / mbind / get_mempolicy (Linux's errors),
 * placement at fault (bind, preferred, interleave with interleave_hit), bind exhaustion (OOM,
 * never another node), VMA splits, fork copying policies, mbind's STRICT / MOVE, node-targeted
 * move_pages and migrate_pages, and mm_check's vm.policy seeing a misplaced page.
 */
#include "machine_user.h"
#include "kt_util.h"
#include "../mm/virtual/mmap_internal.h"
#include "numa.h"

#define RW   (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)
#define WF   (PF_ERR_W | PF_ERR_U)

/* Two nodes: node 0 [0, 12 MiB), node 1 [12, 16 MiB); CPU 0 on node 0, CPU 1 on node 1; a
 * memoryless node 2 (its range empty) when @memoryless. */
static struct mm_struct *mp_boot(bool memoryless)
{
    machine_small(&kt_m, KT_MIB(16), 2);
    kt_m.numa.nr_nodes = memoryless ? 3 : 2;
    kt_m.numa.node_start[1] = KT_MIB(12);
    kt_m.numa.node_start[2] = KT_MIB(16);
    kt_m.numa.cpu_node[1] = 1;
    kt_m.swap_slots = 256;
    if (kt_boot_current())
        return NULL;
    return mm_create();
}

static int mp_node_at(struct mm_struct *mm, uintptr_t va)
{
    pte_t *ep = pt_walk(&mm->pt, va, false, 0);
    if (!ep || !pte_present(*ep))
        return -1;
    return page_to_nid(pfn_to_page(MM_PFN_DOWN(pte_addr(*ep))));
}

static int test_policy_errors(void)
{
    struct mm_struct *mm = mp_boot(true);
    KT_ASSERT_NOT_NULL(mm);
    unsigned long n0 = 1, n1 = 2, n2 = 4, none = 0, far = 1ul << 40, big[2] = { 1, 1 };
    KT_ASSERT_ERR(mm_set_mempolicy(NULL, MPOL_BIND, &n0, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_MAX, &n0, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, -1, &n0, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_BIND, &none, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_INTERLEAVE, NULL, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_BIND, &n2, 8), MM_EINVAL);  /* memoryless only */
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_BIND, &far, 64), MM_EINVAL); /* no such node */
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_DEFAULT, &n0, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_LOCAL, &n0, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES,
                                   &n0, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_PREFERRED | MPOL_F_STATIC_NODES, &none, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_BIND, &n0, 0), MM_EINVAL); /* maxnode 0 with a mask */
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_BIND, &n0, PAGE_SIZE * 8 + 2), MM_EINVAL);
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_BIND, big, 66), MM_EINVAL); /* bit 64 set */
    KT_ASSERT_ERR(mm_set_mempolicy(mm, MPOL_BIND, &n1, 2), MM_EINVAL); /* only bit 0 is read */
    KT_ASSERT_OK(mm_set_mempolicy(mm, MPOL_BIND, &n1, 3));
    KT_ASSERT_OK(mm_set_mempolicy(mm, MPOL_BIND, (unsigned long[]){ 6 }, 8)); /* 2 dropped */
    int mode = -1;
    unsigned long got = 0;
    KT_ASSERT_OK(mm_get_mempolicy(mm, &mode, &got, 8, 0, 0));
    KT_ASSERT_EQ(mode, MPOL_BIND);
    KT_ASSERT_EQ(got, 2);
    KT_ASSERT_OK(mm_set_mempolicy(mm, MPOL_PREFERRED, NULL, 0)); /* empty preferred: local */
    KT_ASSERT_OK(mm_get_mempolicy(mm, &mode, &got, 8, 0, 0));
    KT_ASSERT_EQ(mode, MPOL_LOCAL);
    KT_ASSERT_OK(mm_set_mempolicy(mm, MPOL_INTERLEAVE | MPOL_F_RELATIVE_NODES, &n1, 8));
    KT_ASSERT_OK(mm_get_mempolicy(mm, &mode, &got, 8, 0, 0));
    KT_ASSERT_EQ(mode, MPOL_INTERLEAVE | MPOL_F_RELATIVE_NODES);
    KT_ASSERT_EQ(got, 2); /* the user mask */
    KT_ASSERT_EQ(mm->policy.nodes, 2); /* relative node 1 = the second node with memory */
    KT_ASSERT_OK(mm_get_mempolicy(mm, &mode, NULL, 0, 0, MPOL_F_NODE));
    KT_ASSERT_EQ(mode, 1);
    KT_ASSERT_ERR(mm_get_mempolicy(mm, &mode, &got, 2, 0, 0), MM_EINVAL); /* maxnode < nodes */
    KT_ASSERT_ERR(mm_get_mempolicy(mm, &mode, NULL, 0, 0, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_get_mempolicy(mm, &mode, NULL, 0, 0x1000, 0), MM_EINVAL);
    KT_ASSERT_ERR(mm_get_mempolicy(mm, &mode, NULL, 0, 0x1000, MPOL_F_ADDR), MM_EFAULT);
    KT_ASSERT_ERR(mm_get_mempolicy(mm, &mode, NULL, 0, 0, MPOL_F_MEMS_ALLOWED | MPOL_F_NODE),
                  MM_EINVAL);
    KT_ASSERT_OK(mm_get_mempolicy(mm, &mode, &got, 8, 0, MPOL_F_MEMS_ALLOWED));
    KT_ASSERT_EQ(got, 3);
    KT_ASSERT_OK(mm_set_mempolicy(mm, MPOL_DEFAULT, NULL, 0));
    KT_ASSERT_ERR(mm_get_mempolicy(mm, &mode, NULL, 0, 0, MPOL_F_NODE), MM_EINVAL);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    uintptr_t va = (uintptr_t)a;
    KT_ASSERT_ERR(mm_mbind(mm, va, PAGE_SIZE, MPOL_BIND, &n1, 8, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_mbind(mm, va + 1, PAGE_SIZE, MPOL_BIND, &n1, 8, 0), MM_EINVAL);
    KT_ASSERT_ERR(mm_mbind(mm, va, (size_t)0 - PAGE_SIZE, MPOL_BIND, &n1, 8, 0), MM_EINVAL);
    KT_ASSERT_OK(mm_mbind(mm, va, 0, MPOL_BIND, &n1, 8, 0));
    KT_ASSERT_ERR(mm_mbind(mm, va, 8 * PAGE_SIZE, MPOL_BIND, &n1, 8, 0), MM_EFAULT); /* a hole */
    KT_ASSERT_ERR(mm_mbind(mm, va, PAGE_SIZE, MPOL_BIND, &none, 8, 0), MM_EINVAL);
    KT_ASSERT_EQ(mm->map_count, 1); /* nothing changed by the refusals */
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* mbind splits the VMA; faults follow the VMA's policy, the rest the mm's; fork copies both. */
static int test_placement_and_fork(void)
{
    struct mm_struct *mm = mp_boot(false), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    unsigned long n1 = 2, both = 3;
    long a = do_mmap(mm, 0, 8 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    uintptr_t va = (uintptr_t)a;
    KT_ASSERT_OK(mm_mbind(mm, va + 2 * PAGE_SIZE, 2 * PAGE_SIZE, MPOL_BIND, &n1, 8, 0));
    KT_ASSERT_EQ(mm->map_count, 3);
    KT_ASSERT_OK(mm_mbind(mm, va + 4 * PAGE_SIZE, 4 * PAGE_SIZE, MPOL_INTERLEAVE, &both, 8, 0));
    KT_ASSERT_EQ(mm->map_count, 3);
    int mode = -1;
    unsigned long got = 0;
    KT_ASSERT_OK(mm_get_mempolicy(mm, &mode, &got, 8, va + 3 * PAGE_SIZE, MPOL_F_ADDR));
    KT_ASSERT_EQ(mode, MPOL_BIND);
    KT_ASSERT_EQ(got, 2);
    KT_ASSERT_OK(mm_get_mempolicy(mm, &mode, &got, 8, va, MPOL_F_ADDR));
    KT_ASSERT_EQ(mode, MPOL_DEFAULT);
    unsigned long ih = (page_alloc_get_stats(&kt_st_c), kt_st_c.node[0].numa[NUMA_INTERLEAVE_HIT] +
                                                        kt_st_c.node[1].numa[NUMA_INTERLEAVE_HIT]);
    for (unsigned int i = 0; i < 8; i++)
        KT_TRY(kt_user_fill(mm, va + i * PAGE_SIZE, 100 + i));
    KT_ASSERT_EQ(mp_node_at(mm, va), 0); /* local (CPU 0) */
    KT_ASSERT_EQ(mp_node_at(mm, va + 2 * PAGE_SIZE), 1);
    KT_ASSERT_EQ(mp_node_at(mm, va + 3 * PAGE_SIZE), 1);
    for (unsigned int i = 4; i < 8; i++) /* by page offset: (va >> 12) % 2 */
        KT_ASSERT_EQ(mp_node_at(mm, va + i * PAGE_SIZE), (int)(((va >> PAGE_SHIFT) + i) % 2));
    page_alloc_get_stats(&kt_st_c);
    KT_ASSERT_EQ(kt_st_c.node[0].numa[NUMA_INTERLEAVE_HIT] +
                 kt_st_c.node[1].numa[NUMA_INTERLEAVE_HIT] - ih, 4);
    KT_ASSERT_OK(mm_get_mempolicy(mm, &mode, NULL, 0, va + 2 * PAGE_SIZE, MPOL_F_ADDR | MPOL_F_NODE));
    KT_ASSERT_EQ(mode, 1);
    KT_MM_CHECK();
    /* the mm's policy: preferred node 1 for the VMA without its own */
    KT_ASSERT_OK(mm_set_mempolicy(mm, MPOL_PREFERRED, &n1, 8));
    KT_ASSERT_OK(mm_fork(mm, &child));
    KT_ASSERT_EQ(child->policy.mode, MPOL_PREFERRED);
    KT_TRY(kt_user_fill(child, va + 2 * PAGE_SIZE, 7)); /* COW copy under the child's bind */
    KT_ASSERT_EQ(mp_node_at(child, va + 2 * PAGE_SIZE), 1);
    KT_TRY(kt_user_fill(child, va + PAGE_SIZE, 8)); /* COW copy under the copied preferred */
    KT_ASSERT_EQ(mp_node_at(child, va + PAGE_SIZE), 1);
    KT_TRY(kt_user_verify(mm, va + 2 * PAGE_SIZE, 102));
    KT_TRY(kt_user_verify(child, va + 5 * PAGE_SIZE, 105));
    /* MPOL_DEFAULT by mbind removes the VMA's policy: the VMAs merge back */
    KT_ASSERT_OK(mm_mbind(child, va, 8 * PAGE_SIZE, MPOL_DEFAULT, NULL, 0, 0));
    KT_ASSERT_EQ(child->map_count, 1);
    KT_MM_CHECK();
    mm_destroy(child);
    mm_destroy(mm);
    KT_MM_CHECK();
    return 0;
}

/* A bind to node 1 exhausts node 1 (4 MiB) and then faults OOM: never a page of node 0. */
static int test_bind_never_leaves_its_nodes(void)
{
    struct mm_struct *mm = mp_boot(false);
    KT_ASSERT_NOT_NULL(mm);
    unsigned long n1 = 2;
    size_t len = 2048 * PAGE_SIZE;
    long a = do_mmap(mm, 0, len, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_ASSERT_OK(mm_set_mempolicy(mm, MPOL_BIND, &n1, 8));
    unsigned long on1 = 0;
    enum vm_fault_result r = VM_FAULT_HANDLED;
    for (uintptr_t va = (uintptr_t)a; va < (uintptr_t)a + len; va += PAGE_SIZE) {
        r = handle_mm_fault(mm, va, WF);
        if (r != VM_FAULT_HANDLED)
            break;
        KT_ASSERT_EQ(mp_node_at(mm, va), 1);
        on1++;
    }
    KT_ASSERT_EQ(r, VM_FAULT_OOM);
    KT_ASSERT_GT(on1, 512);
    page_alloc_get_stats(&kt_st_c);
    KT_ASSERT_GT(kt_st_c.node[0].nr_free, 1000); /* node 0 had room all along */
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* mbind over pages placed before: STRICT reports them (EIO, policy set, not strict); MOVE moves
 * them; move_pages and migrate_pages with nodes; mm_check's vm.policy sees a misplaced page. */
static int test_move_and_check(void)
{
    struct mm_struct *mm = mp_boot(true);
    KT_ASSERT_NOT_NULL(mm);
    unsigned long n1 = 2;
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    uintptr_t va = (uintptr_t)a;
    for (unsigned int i = 0; i < 4; i++)
        KT_TRY(kt_user_fill(mm, va + i * PAGE_SIZE, 200 + i));
    KT_ASSERT_ERR(mm_mbind(mm, va, 2 * PAGE_SIZE, MPOL_BIND, &n1, 8, MPOL_MF_STRICT), MM_EIO);
    KT_ASSERT_EQ(mp_node_at(mm, va), 0);
    KT_ASSERT(!find_vma(mm, va)->vm_policy.strict);
    KT_MM_CHECK(); /* not strict: the old pages are allowed */
    KT_ASSERT_OK(mm_mbind(mm, va, 2 * PAGE_SIZE, MPOL_BIND, &n1, 8,
                          MPOL_MF_STRICT | MPOL_MF_MOVE));
    KT_ASSERT_EQ(mp_node_at(mm, va), 1);
    KT_ASSERT_EQ(mp_node_at(mm, va + PAGE_SIZE), 1);
    KT_ASSERT(find_vma(mm, va)->vm_policy.strict);
    KT_TRY(kt_user_verify(mm, va + PAGE_SIZE, 201));
    KT_MM_CHECK();
    /* vm.policy: the strict bind VMA's mask changed by hand to node 0 alone */
    find_vma(mm, va)->vm_policy.nodes = 1;
    struct mm_check_report rep;
    KT_ASSERT_ERR(mm_check(&rep), MM_ECORRUPT);
    KT_ASSERT_STREQ(rep.invariant, "vm.policy");
    find_vma(mm, va)->vm_policy.nodes = 2;
    KT_MM_CHECK();
    /* move_pages with nodes: status = the node; ENODEV for bad or memoryless nodes */
    uintptr_t addrs[3] = { va + 2 * PAGE_SIZE, va + 3 * PAGE_SIZE, va };
    int nodes[3] = { 1, 0, 0 }, status[3] = { 9, 9, 9 };
    KT_ASSERT_OK(mm_move_pages_node(mm, 3, addrs, nodes, status, MPOL_MF_MOVE));
    KT_ASSERT_EQ(status[0], 1);
    KT_ASSERT_EQ(status[1], 0); /* already there */
    KT_ASSERT_EQ(status[2], 0);
    KT_ASSERT_EQ(mp_node_at(mm, va + 2 * PAGE_SIZE), 1);
    KT_ASSERT_EQ(mp_node_at(mm, va), 0);
    KT_ASSERT(!find_vma(mm, va)->vm_policy.strict); /* moved out of its bind on request */
    KT_MM_CHECK();
    int bad[1] = { 2 };
    KT_ASSERT_ERR(mm_move_pages_node(mm, 1, addrs, bad, status, MPOL_MF_MOVE), MM_ENODEV);
    bad[0] = 7;
    KT_ASSERT_ERR(mm_move_pages_node(mm, 1, addrs, bad, status, MPOL_MF_MOVE), MM_ENODEV);
    bad[0] = -1;
    KT_ASSERT_ERR(mm_move_pages_node(mm, 1, addrs, bad, status, MPOL_MF_MOVE), MM_ENODEV);
    KT_ASSERT_OK(mm_move_pages_node(mm, 3, addrs, NULL, status, MPOL_MF_MOVE));
    KT_ASSERT_EQ(status[0], 1);
    KT_ASSERT_EQ(status[1], 0);
    /* migrate_pages: everything on node 1 to node 0 */
    KT_ASSERT_ERR(mm_migrate_pages(mm, 2, 4), MM_EINVAL); /* memoryless target */
    KT_ASSERT_ERR(mm_migrate_pages(mm, 2, 16), MM_EINVAL); /* no such node */
    KT_ASSERT_EQ(mm_migrate_pages(mm, 2, 1), 0);
    for (unsigned int i = 0; i < 4; i++) {
        KT_ASSERT_EQ(mp_node_at(mm, va + i * PAGE_SIZE), 0);
        KT_TRY(kt_user_verify(mm, va + i * PAGE_SIZE, 200 + i));
    }
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* A move out of a strict bind makes it non-strict: a neighbour bound to the same nodes that was
 * apart only by strictness merges with it (a vm fuzz finding: vma.unmerged after move_pages). */
static int test_move_unbinds_and_merges(void)
{
    struct mm_struct *mm = mp_boot(false);
    KT_ASSERT_NOT_NULL(mm);
    unsigned long n1 = 2;
    long a = do_mmap(mm, 0, 2 * PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    uintptr_t va = (uintptr_t)a;
    KT_TRY(kt_user_fill(mm, va, 1));
    KT_TRY(kt_user_fill(mm, va + PAGE_SIZE, 2));
    KT_ASSERT_OK(mm_mbind(mm, va, PAGE_SIZE, MPOL_BIND, &n1, 8, MPOL_MF_STRICT | MPOL_MF_MOVE));
    KT_ASSERT_OK(mm_mbind(mm, va + PAGE_SIZE, PAGE_SIZE, MPOL_BIND, &n1, 8, 0));
    KT_ASSERT(find_vma(mm, va)->vm_policy.strict);
    KT_ASSERT(!find_vma(mm, va + PAGE_SIZE)->vm_policy.strict); /* its page stayed on node 0 */
    KT_ASSERT_EQ(mm->map_count, 2);
    int node = 0, status = 9;
    KT_ASSERT_OK(mm_move_pages_node(mm, 1, &va, &node, &status, MPOL_MF_MOVE));
    KT_ASSERT_EQ(status, 0);
    KT_ASSERT_EQ(mm->map_count, 1);
    KT_ASSERT(!find_vma(mm, va)->vm_policy.strict);
    KT_TRY(kt_user_verify(mm, va, 1));
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

/* mbind(MPOL_DEFAULT) hands a VMA to the mm's own policy: a page the VMA's policy placed outside
 * the mm's strict bind nodes makes that policy non-strict (a vm campaign find: vm.policy after
 * mbind DEFAULT under set_mempolicy BIND; corpus/vm/regress-mbind-default-under-mm-bind). */
static int test_default_vma_joins_mm_bind(void)
{
    struct mm_struct *mm = mp_boot(false);
    KT_ASSERT_NOT_NULL(mm);
    unsigned long n0 = 1, n1 = 2;
    long a = do_mmap(mm, 0, PAGE_SIZE, RW, PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    uintptr_t va = (uintptr_t)a;
    KT_ASSERT_OK(mm_mbind(mm, va, PAGE_SIZE, MPOL_BIND, &n0, 8, 0));
    KT_ASSERT_OK(mm_set_mempolicy(mm, MPOL_BIND, &n1, 8));
    KT_ASSERT(mm->policy.strict); /* no VMA that follows it has a page */
    KT_TRY(kt_user_fill(mm, va, 1)); /* on node 0, by the VMA's policy */
    KT_ASSERT(mm->policy.strict);
    KT_MM_CHECK();
    KT_ASSERT_OK(mm_mbind(mm, va, PAGE_SIZE, MPOL_DEFAULT, NULL, 0, 0));
    KT_ASSERT(!mm->policy.strict);
    KT_TRY(kt_user_verify(mm, va, 1));
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static const struct ktest_case mempolicy_cases[] = {
    KT_CASE(policy_errors),
    KT_CASE(placement_and_fork),
    KT_CASE(bind_never_leaves_its_nodes),
    KT_CASE(move_and_check),
    KT_CASE(move_unbinds_and_merges),
    KT_CASE(default_vma_joins_mm_bind),
};
KT_SUITE(mempolicy, mempolicy_cases);
