/*
 * kernel_internal.h - shared between the files of shims/kernel (env_kernel.c, machine_kernel.c);
 * not for drivers. The kernel's counterpart of shims/hosted/hosted_internal.h.
 */
#ifndef LEAXOS_KERNEL_INTERNAL_H
#define LEAXOS_KERNEL_INTERNAL_H

#include "mm_env.h"

/**
 * Reset the env state for a new machine, as hosted_env_reset does: simulated CPU 0 current, the
 * logical clock and the TLB flush count at zero. When @phys_end is non-zero, env_virt_to_phys
 * from now on translates only [0, @phys_end) (the machine's direct map, like the hosted arena's
 * used length); before the first machine it translates all of the direct map.
 */
void kernel_env_reset(uint64_t phys_end);

/**
 * Clear every vmalloc-window PTE mapped through env_kernel_map since the last reset and flush
 * them, as the hosted machine turns its aliases back into PROT_NONE when a new machine boots.
 * (The window's shadow is the KASAN region reset's business: machine_kernel.c.)
 */
void kernel_vmalloc_reset(void);

#endif /* LEAXOS_KERNEL_INTERNAL_H */
