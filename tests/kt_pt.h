/*
 * kt_pt.h - a page table the page_table and mmu suites build by hand (defined in
 * test_page_table.c): boot a small machine with one empty table, check it, tear it down.
 */
#ifndef LEAXOS_KT_PT_H
#define LEAXOS_KT_PT_H

#include "ktest.h"
#include "page_table.h"

/** The table under test (kt_pt_boot initialises it). */
extern struct page_table kt_pt;

/** Boot an 8 MiB machine and pt_init kt_pt; *@free0 = free pages before the root was taken. */
int kt_pt_boot(unsigned long *free0);

/** pt_check(kt_pt) passes; otherwise prints its report and fails. */
int kt_pt_ok(void);

/** Unmap all, destroy kt_pt and expect the free-page count back at @free0, mm_check clean. */
int kt_pt_teardown(unsigned long free0);

/** The entry of @va at @level, found by hand (NULL if a level above is missing). */
pte_t *kt_pt_entry_at(uintptr_t va, unsigned int level);

#endif /* LEAXOS_KT_PT_H */
