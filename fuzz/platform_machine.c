/*
 * platform_machine.c - the fuzz platform both builds share (freestanding): booting the machine a
 * layout describes, CPU switches, log level, the swap device. It only calls the machine API of
 * machine.h, which the hosted shim implements over the simulated machine and the kernel
 * shim over the QEMU machine's area [0, 512 MiB); output, crash and user accesses come from
 * platform_hosted.c or platform_kernel.c (platform_machine.h).
 *
 * boot: a small machine (zone boundaries scaled to its size) whose memory map is replaced by the
 * layout the input describes (usable regions, e820-reserved holes, gaps), plus the layout's reserve
 * ranges; then machine_boot, which resets the whole mm instance.
 *
 * Same layout on both machines: every memory map a fuzz input can describe ends at or below
 * FUZZ_MEM_MAX_PAGES pages (32 MiB): the header's layout (ops.c fuzz_machine_layout) and target
 * boot's extra maps (many / overlap / subpage / vanish stay inside the header's memory; a
 * wrapping "bad-entry" region is ignored by machine_end and rejected by the mm before it
 * touches memory; "toomany" calls mm_early_init directly with pages below 2 MiB, rejected the
 * same way). "memblock reserve where=beyond" only records ranges up to ~65 MiB. All of it lies
 * inside the kernel's machine area [0, 512 MiB), identity-mapped, so nothing is folded: the
 * hosted arena and the kernel use the same physical addresses for every input.
 */
#include "platform_machine.h"
#include "machine.h"

static struct machine fz_hm;

/* The machine @l describes (memory map l->xmap when set, else l->map). Returns 0 or -MM_ENOSPC. */
static int pm_setup(const struct fuzz_layout *l)
{
    const struct mm_mem_region *map = l->xmap ? l->xmap : l->map;
    unsigned int i, nr = l->xmap ? l->nr_xmap : l->nr_map;

    machine_small(&fz_hm, (uint64_t)l->m->mem_pages * PAGE_SIZE, l->m->nr_cpus);
    fz_hm.nr_map = 0;
    for (i = 0; i < nr; i++)
        if (machine_add(&fz_hm, map[i].base, map[i].size, map[i].type, false))
            return -MM_ENOSPC;
    for (i = 0; i < l->nr_reserve; i++)
        if (machine_add(&fz_hm, l->reserve[i].base, l->reserve[i].size, MM_MEM_RESERVED,
                               true))
            return -MM_ENOSPC;
    fz_hm.pcp_disable = !l->m->pcp;
    fz_hm.pcp_batch = l->m->pcp_batch;
    fz_hm.pcp_high = 0;
    fz_hm.seed = l->m->seed;
    fz_hm.slab_hardened = l->slab_hardened;
    fz_hm.slab_harden_level = l->slab_harden_level;
    fz_hm.kfence_interval = l->kfence_interval;
    fz_hm.trace_mask = fuzz_trace_mask;
    fz_hm.page_owner = true; /* page blocks get ages too: fz_check_site_ages holds them to it */
    fz_hm.slab_owner = l->slab_owner;
    if (l->has_numa)
        fz_hm.numa = l->numa;
    bool tlb_direct;
    fuzz_machine_tlb(l->m, &fz_hm.tlb_entries, &tlb_direct);
    fz_hm.tlb_policy = tlb_direct ? MACHINE_TLB_DIRECT : MACHINE_TLB_FIFO;
    return 0;
}

static int pm_boot(const struct fuzz_layout *l)
{
    int err = pm_setup(l);

    return err ? err : machine_boot(&fz_hm);
}

static int pm_boot_early(const struct fuzz_layout *l)
{
    int err = pm_setup(l);

    return err ? err : machine_boot_early(&fz_hm);
}

static int pm_core_init(void)
{
    return mm_core_init();
}

static void pm_set_quiet(bool quiet)
{
    machine_set_log_level(quiet ? -1 : ENV_LOG_WARN);
}

static void pm_crash(void)
{
    fuzz_machine_crash();
}

static int pm_swap_reset(unsigned long slots)
{
    return machine_swap_reset(slots);
}

static void pm_swap_fail(unsigned long count)
{
    machine_swap_fail_inject(count);
}

const struct fuzz_platform fuzz_platform = {
    .name = fuzz_machine_name,
    .boot = pm_boot,
    .boot_early = pm_boot_early,
    .core_init = pm_core_init,
    .cpu_set = machine_cpu_set,
    .write_line = fuzz_machine_write_line,
    .set_quiet = pm_set_quiet,
    .crash = pm_crash,
    .user_copy = fuzz_machine_user_copy,
    .mmu_copy = fuzz_machine_mmu_copy,
    .swap_reset = pm_swap_reset,
    .swap_fail = pm_swap_fail,
    .op_done = fuzz_machine_op_done,
    .smp_run = fuzz_machine_smp_run,
    .linux_call = fuzz_machine_linux_call,
};
