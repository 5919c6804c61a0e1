/*
 * smp_vm.h - the address-space part of fuzz target "smp" (smp_vm.c): shared address spaces that
 * every CPU's stream maps, unmaps, protects, reads, writes, forks and exits, and the model that
 * judges each outcome against the sequential orders the ops' time intervals allow. Internal to
 * target_smp.c; smp_vm.c's head comment says what is accepted.
 */
#ifndef FUZZ_SMP_VM_H
#define FUZZ_SMP_VM_H

#include "fuzz_target.h"

/** Create the two shared address spaces (fails the run when that is impossible). */
void smp_vm_setup(uint32_t seed);
/** CPU @cpu starts (true) or finished (false) a stream op of any kind (for OOM judgements). */
void smp_vm_note_op(unsigned int cpu, bool busy);
/** Run stream op @op (an FOP_SMP_MMAP .. FOP_SMP_EXIT kind) on @cpu, record number @opno. */
void smp_vm_exec(unsigned int cpu, uint32_t opno, const struct fuzz_op *op);
/** Quiescent point: compare every page with the model and pin the model to what was found. */
void smp_vm_check(void);
/** Pages the address spaces hold (user pages, their page tables, the zero page). */
unsigned long smp_vm_pages(void);
/** Destroy every address space (teardown). */
void smp_vm_teardown(void);

#endif
