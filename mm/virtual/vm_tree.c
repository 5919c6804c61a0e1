/*
 * vm_tree.c - the node allocator of mm/virtual's range trees: one slab cache of struct
 * rtree_node (mm_state.vm.tree_cache; SLAB_MM_INTERNAL, so a kfree of a node is refused), created
 * by the first allocation that needs it, so a failure to create it is that allocation's
 * -MM_ENOMEM and the next one tries again.
 */
#include "../lib/core.h"
#include "../heap/slab_internal.h"
#include "vm_tree.h"

static struct rtree_node *vm_tree_node_alloc(gfp_t gfp)
{
    if (!mm_state.vm.tree_cache)
        mm_state.vm.tree_cache = kmem_cache_create("range_tree_node", sizeof(struct rtree_node),
                                                   0, SLAB_MM_INTERNAL, NULL);
    return mm_state.vm.tree_cache ? kmem_cache_alloc(mm_state.vm.tree_cache, gfp) : NULL;
}

static void vm_tree_node_free(struct rtree_node *n)
{
    kmem_cache_free_mm(mm_state.vm.tree_cache, n);
}

static const struct rtree_ops vm_tree_node_ops = {
    .node_alloc = vm_tree_node_alloc,
    .node_free = vm_tree_node_free,
};

const struct rtree_ops *vm_tree_ops(void)
{
    return &vm_tree_node_ops;
}
