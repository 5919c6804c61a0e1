/*
 * kernel_boot.h - boot facts and the entry points kmain calls (arch/x86_64/kernel private).
 */
#ifndef LEAXOS_KERNEL_BOOT_H
#define LEAXOS_KERNEL_BOOT_H

#include <stdint.h>

struct kernel_boot_info {
    const char *cmdline; /* the multiboot command line (qemu -append) */
    uint64_t ram_end;    /* end of the highest usable RAM range */
};
extern struct kernel_boot_info kernel_boot;

/** Build kernel_pt (see paging.c) and load it into CR3. Returns 0 or -MM_ENOMEM. */
int paging_build(uint64_t ram_end);
/** Clear the kernel_pt leaf of @va (a guard page of the direct map) and invalidate it. */
void paging_unmap_page(uintptr_t va);
/** Writable+executable leaves of kernel_pt in [start, end) (must be none). */
unsigned long paging_count_wx(uintptr_t start, uintptr_t end);
/** The leaf entry of kernel address @va, 0 when unmapped. */
uint64_t paging_lookup(uintptr_t va);

/** Run every boot-time test group, print KTAP and the totals. Returns the number failed. */
int kernel_run_all(void);

/** The protection checks (NX, SMEP/SMAP, W^X, guard pages): KTAP lines from @first; failures. */
struct kernel_tally {
    unsigned int passed, failed, skipped;
};
void kernel_check_protections(struct kernel_tally *t);

/* smp.c, boot steps kmain runs (kernel_smp.h has the rest) */
/** memblock one stack area per AP the MADT lists (between mm_early_init and mm_core_init). */
void smp_reserve_stacks(void);
/** Unmap the guard pages of the AP stack areas (after paging_build). */
void smp_unmap_guards(void);
/** "guard page under an AP stack ..." when @va is one, else NULL (crash reports). */
const char *smp_describe_addr(uint64_t va);

/* run.c: the command line's "trace=LIST" or "trace=0xMASK" (false *given: none) */
#include <stdbool.h>
uint32_t kernel_cmdline_trace_mask(bool *given);
/* trap.c: a crash's post-mortem also writes the mm's dump (command line "pmdump") */
extern bool kernel_pm_dump;
/** With "pmdump": write the mm's dump for a failure the boot survives (a corpus input, a test's
 * mm_check), @why in its layout; the first of a boot only, later ones print a line. */
void kernel_pm_dump_failure(const char *why);

#endif
