/*
 * vm_internal.h - the common include of mm/virtual's files (not public): the core state and the
 * page-table contract. The layer's validators (pt_check, vmalloc_check, the VMA and tree checks)
 * live in mm/checks/, like every other layer's.
 */
#ifndef LEAXOS_MM_VM_INTERNAL_H
#define LEAXOS_MM_VM_INTERNAL_H

#include "../lib/core.h"
#include "page_table.h"

/* kfence.c: bytes the KFENCE window takes off the top of the vmalloc range (0: sampling off). */
size_t kfence_window_size(void);

#endif /* LEAXOS_MM_VM_INTERNAL_H */
