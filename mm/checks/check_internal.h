/*
 * check_internal.h - shared between the files of mm/checks (not public). Nothing outside
 * mm/checks calls them: checks read every layer and are called by none (mm_check, the stats and
 * mm_describe_addr are entered only from outside mm/).
 */
#ifndef LEAXOS_MM_CHECK_INTERNAL_H
#define LEAXOS_MM_CHECK_INTERNAL_H

#include "../lib/core.h"

/* check_vm.c: every address space and the map counts of user pages */
int vm_check_all(struct mm_check_report *rep);

#endif /* LEAXOS_MM_CHECK_INTERNAL_H */
