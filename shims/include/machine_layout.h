/*
 * machine_layout.h - the platform-independent part of the machine API: what a struct
 * machine describes (its physical end, the mm_boot_params it boots with) and how large a
 * machine the platform can provide.
 *
 * The layout builders (machine_pc/_small/_add, machine.h) and the two helpers below
 * live in shims/hosted/machine_layout.c, one freestanding file compiled into both the hosted
 * library and the kernel, so a layout means the same memory map on both. Booting a machine is the
 * platform's part: shims/hosted/machine.c (an arena) and shims/kernel/machine_kernel.c (the real
 * machine area).
 */
#ifndef LEAXOS_MACHINE_LAYOUT_H
#define LEAXOS_MACHINE_LAYOUT_H

#include "machine.h"

/**
 * Page-aligned end of the highest region of @m's memory map (any type). Regions that wrap or end
 * above ARCH_PHYS_BITS are ignored (the mm rejects them at boot). 0 for an empty map.
 */
uint64_t machine_end(const struct machine *m);

/** The boot parameters @m describes; *@bp points into @m, which must outlive the boot call. */
void machine_boot_params(const struct machine *m, struct mm_boot_params *bp);

/**
 * Largest machine end (machine_end) this platform can boot: the hosted arena can reach
 * the whole physical address space, the kernel only its machine area. A machine beyond it makes
 * machine_boot fail with -MM_ENOMEM; tests skip such machines (kt_util.c).
 */
uint64_t machine_capacity(void);

/**
 * The platform's part of a boot (machine.c / machine_kernel.c): make memory cover @m, reset the
 * environment and the swap device, fill *@bp. machine_boot and _boot_early (shared, in
 * machine_layout.c) then start the mm. Returns 0 or -MM_ENOMEM.
 */
int machine_prepare(const struct machine *m, struct mm_boot_params *bp);

/**
 * The platform's storage for a swap device of @slots zeroed page-sized slots (NULL when it cannot
 * provide them; @slots may be 0). Below slot @old_slots the device it replaces may have been
 * written (the storage may be reused: those slots must be zeroed again). The device
 * itself (machine_swap_reset, fail injection, env_swap_*) is shared, in machine_layout.c.
 */
unsigned char *machine_swap_storage(unsigned long slots, unsigned long old_slots);

/** Grow the range [*lo, *hi) (empty when *lo >= *hi) to include [start, end). */
void machine_range_extend(uintptr_t *lo, uintptr_t *hi, uintptr_t start, uintptr_t end);

#endif /* LEAXOS_MACHINE_LAYOUT_H */
