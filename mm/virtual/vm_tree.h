/*
 * vm_tree.h - where the range trees of mm/virtual (each address space's VMAs, the vmalloc areas)
 * get their nodes: one slab cache, "range_tree_node", created on first use. Not public.
 */
#ifndef LEAXOS_MM_VM_TREE_H
#define LEAXOS_MM_VM_TREE_H

#include "range_tree.h"

/** The node allocator of every range tree of mm/virtual. */
const struct rtree_ops *vm_tree_ops(void);

#endif /* LEAXOS_MM_VM_TREE_H */
