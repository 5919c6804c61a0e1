/*
 * machine_kernel.c - the hosted platform API (machine.h, machine_user.h) on the real
 * machine, so the unit tests and the corpus replay run in the kernel unchanged.
 *
 * Physical addresses are identity. Every machine lies in the machine area
 * [0, KERNEL_MACHINE_AREA_END), which no kernel structure uses; its direct map
 * (ARCH_DIRECT_MAP_BASE + pa) is what the hosted build calls the arena:
 *
 *   pa 0 ... 640K ... 1M ........................ machine end ........ KERNEL_MACHINE_AREA_END
 *   |  the booted machine's map (a fresh mm instance) |  unused, poisoned  |  kernel image ...
 *
 * Booting a machine does what the hosted boot does, in the same order: refuse a machine the area
 * cannot hold (-MM_ENOMEM, like an arena that cannot be mapped), clear the previous instance's
 * vmalloc mappings, poison the machine's shadow (hardened kernel), reset the env (simulated CPU 0,
 * clock, TLB count, direct-map bound) and the swap device, then mm_init / mm_early_init.
 *
 * The legacy window [0xA0000, 0x100000) is VGA memory and BIOS ROM shadows on a PC, but the
 * hosted layouts put usable memory there: kmain makes it RAM (PAM, SMRAM D_OPEN) and checks it
 * before any machine boots (arch/x86_64/kernel/main.c).
 *
 * Shadow (hardened kernel, env_shadow_enabled): every boot poisons the KASAN regions the boot code
 * registered (the machine area's direct map and the vmalloc window) as ENV_POISON_UNUSED through
 * kasan_reset_regions, as the hosted machine poisons its arena; the runtime rewrites only what
 * changed since the previous reset, so this does not cost 64 MiB of shadow writes per boot.
 */
#include "arch_pgtable.h"
#include "machine_layout.h"
#include "machine_user.h"
#include "kasan.h"
#include "kernel_arch.h"
#include "kernel_internal.h"
#include "mm_env.h"

void *machine_arena_base(void) { return (void *)(uintptr_t)ARCH_DIRECT_MAP_BASE; }
uint64_t machine_arena_size(void) { return KERNEL_MACHINE_AREA_END; }
uint64_t machine_capacity(void) { return KERNEL_MACHINE_AREA_END; }

/* ---- booting ---- */

int machine_prepare(const struct machine *m, struct mm_boot_params *bp)
{
    uint64_t end = machine_end(m);
    if (end > KERNEL_MACHINE_AREA_END)
        return -MM_ENOMEM;
    if (end) {
        kernel_vmalloc_reset(); /* its PTEs point into the area: gone before it is reused */
        if (env_shadow_enabled)
            kasan_reset_regions();
    }
    kernel_env_reset(end);
    if (machine_swap_reset(m->swap_slots))
        return -MM_ENOMEM;
    machine_boot_params(m, bp);
    return 0;
}

/* ---- user accesses through the real MMU ---- */

enum vm_fault_result machine_user_copy(struct mm_struct *mm, uintptr_t va, void *buf, size_t len,
                                      unsigned int access, uintptr_t *fault_va)
{
    /* as machine_mmu_copy: a write copies to @va, anything else (read, fetch) from it */
    unsigned int kua = (access & MMU_WRITE) ? KUA_WRITE : (access & MMU_EXEC) ? KUA_EXEC : KUA_READ;
    uintptr_t fva = 0;
    int r = kernel_user_copy(mm, va, buf, len, kua, &fva);
    if (r != VM_FAULT_HANDLED && fault_va)
        *fault_va = fva;
    return (enum vm_fault_result)r;
}
