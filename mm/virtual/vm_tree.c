/*
 * vm_tree.c - the node allocator of mm/virtual's range trees: one slab cache of struct
 * rtree_node (mm_state.vm.tree_cache; SLAB_MM_INTERNAL, so a kfree of a node is refused).
 *
 * Invariant: the cache is created at boot (vm_tree_init, from vm_init and vmalloc_init, while
 * one CPU runs) and never changes afterwards, so CPUs growing trees under different locks (an
 * address space's under vm.lock, the vmalloc tree under vmalloc.lock) read a pointer nobody
 * writes. It was created on first use once; an mmap on one CPU and a vmalloc on another then
 * raced on that first use (TSan, CI run of d91a710): each could create a cache, and one could
 * read the other's half-published one.
 */
#include "../lib/core.h"
#include "../heap/slab_internal.h"
#include "vm_tree.h"

int vm_tree_init(void)
{
    if (!mm_state.vm.tree_cache)
        mm_state.vm.tree_cache = kmem_cache_create("range_tree_node", sizeof(struct rtree_node),
                                                   0, SLAB_MM_INTERNAL, NULL);
    return mm_state.vm.tree_cache ? 0 : -MM_ENOMEM;
}

static struct rtree_node *vm_tree_node_alloc(gfp_t gfp)
{
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
