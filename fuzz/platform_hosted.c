/*
 * platform_hosted.c - the fuzz platform over the hosted simulated machine (libc allowed here).
 *
 * boot: a small machine (zone boundaries scaled to its size) whose memory map is replaced by the
 * layout the input describes (usable regions, e820-reserved holes, gaps), plus the layout's reserve
 * ranges; then hosted_machine_boot, which resets the whole mm instance.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_target.h"
#include "hosted_machine.h"
#include "hosted_user.h"

static struct hosted_machine hm;

/* The machine @l describes (memory map l->xmap when set, else l->map). Returns 0 or -MM_ENOSPC. */
static int hosted_setup(const struct fuzz_layout *l)
{
    const struct mm_mem_region *map = l->xmap ? l->xmap : l->map;
    unsigned int i, nr = l->xmap ? l->nr_xmap : l->nr_map;

    hosted_machine_small(&hm, (uint64_t)l->m->mem_pages * PAGE_SIZE, l->m->nr_cpus);
    hm.nr_map = 0;
    for (i = 0; i < nr; i++)
        if (hosted_machine_add(&hm, map[i].base, map[i].size, map[i].type, false))
            return -MM_ENOSPC;
    for (i = 0; i < l->nr_reserve; i++)
        if (hosted_machine_add(&hm, l->reserve[i].base, l->reserve[i].size, MM_MEM_RESERVED, true))
            return -MM_ENOSPC;
    hm.pcp_disable = !l->m->pcp;
    hm.pcp_batch = l->m->pcp_batch;
    hm.pcp_high = 0;
    hm.seed = l->m->seed;
    hm.slab_hardened = l->slab_hardened;
    return 0;
}

static int hosted_boot(const struct fuzz_layout *l)
{
    int err = hosted_setup(l);

    return err ? err : hosted_machine_boot(&hm);
}

static int hosted_boot_early(const struct fuzz_layout *l)
{
    int err = hosted_setup(l);

    return err ? err : hosted_machine_boot_early(&hm);
}

static int hosted_core_init(void)
{
    return mm_core_init();
}

static void hosted_write_line(const char *line)
{
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

static int hosted_loud_level = ENV_LOG_WARN;

static void hosted_set_quiet(bool quiet)
{
    hosted_set_log_level(quiet ? -1 : hosted_loud_level);
}

static void hosted_crash(void)
{
    fflush(stdout);
    fflush(stderr);
    abort();
}

static int hosted_fuzz_user_copy(void *mm, uintptr_t va, void *buf, size_t len, unsigned int access,
                                 uintptr_t *fault_va)
{
    static const unsigned int acc[3] = { MMU_READ, MMU_WRITE, MMU_EXEC };

    return (int)hosted_user_copy(mm, va, buf, len, acc[access % 3], fault_va);
}

static int hosted_fuzz_swap_reset(unsigned long slots)
{
    return hosted_swap_reset(slots);
}

static void hosted_fuzz_swap_fail(unsigned long count)
{
    hosted_swap_fail_inject(count);
}

const struct fuzz_platform fuzz_platform = {
    .name = "hosted",
    .boot = hosted_boot,
    .boot_early = hosted_boot_early,
    .core_init = hosted_core_init,
    .cpu_set = hosted_cpu_set,
    .write_line = hosted_write_line,
    .set_quiet = hosted_set_quiet,
    .crash = hosted_crash,
    .user_copy = hosted_fuzz_user_copy,
    .swap_reset = hosted_fuzz_swap_reset,
    .swap_fail = hosted_fuzz_swap_fail,
};
