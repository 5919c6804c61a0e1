/*
 * vm_tree.h - where the range trees of mm/virtual (each address space's VMAs, the vmalloc areas)
 * get their nodes: one slab cache, "range_tree_node", created at boot. Not public.
 */
#ifndef LEAXOS_MM_VM_TREE_H
#define LEAXOS_MM_VM_TREE_H

#include "range_tree.h"

/** Create the node cache (boot, one CPU); 0 or -MM_ENOMEM. Idempotent. */
int vm_tree_init(void);

/** The node allocator of every range tree of mm/virtual. */
const struct rtree_ops *vm_tree_ops(void);

#endif /* LEAXOS_MM_VM_TREE_H */
