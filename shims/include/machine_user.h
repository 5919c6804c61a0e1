/*
 * machine_user.h - user-memory accesses of the simulated CPU: the software MMU walks the address
 * space's page tables; a fault goes to the mm's fault handler and the access is retried, as the
 * hardware and the kernel's #PF entry would do.
 */
#ifndef LEAXOS_MACHINE_USER_H
#define LEAXOS_MACHINE_USER_H

#include "machine_mmu.h"
#include "mmap.h"

/**
 * Copy @len bytes between @buf and user address @va of @mm (MMU_READ, MMU_WRITE or MMU_EXEC;
 * MMU_USER is implied). Returns VM_FAULT_HANDLED when everything was copied, else the fault
 * result that stopped it with *@fault_va (may be NULL) the address. A fault the handler claims
 * to have fixed but that repeats is reported as VM_FAULT_ACCESS after a few retries.
 */
enum vm_fault_result machine_user_copy(struct mm_struct *mm, uintptr_t va, void *buf, size_t len,
                                      unsigned int access, uintptr_t *fault_va);

#endif
