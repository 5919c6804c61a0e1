/*
 * machine_layout.c - memory-map presets of the simulated machines and what a machine description
 * boots with; shared, unchanged, by the hosted build and the kernel (no libc, no platform state).
 *
 *   machine_pc     [0, 640K) usable | [640K, 1M) reserved | [1M, ...) usable, with the PCI
 *                         hole [3G, 4G) and RAM above 4G remapped when memory exceeds 3 GiB
 *   machine_small  [0, mem) usable; DMA = mem/16, NORMAL up to mem*7/8, HIGHMEM the rest
 *
 * Invariant: a struct machine is plain data; nothing here touches memory it describes.
 */
#include "machine_layout.h"
#include "mm_env.h"

int machine_add(struct machine *m, phys_addr_t base, uint64_t size, uint32_t type,
                       bool reserve_list)
{
    struct mm_mem_region r = { .base = base, .size = size, .type = type };
    if (reserve_list) {
        if (m->nr_reserve >= MM_ARRAY_SIZE(m->reserve))
            return -1;
        m->reserve[m->nr_reserve++] = r;
        return 0;
    }
    if (m->nr_map >= MM_ARRAY_SIZE(m->map))
        return -1;
    m->map[m->nr_map++] = r;
    return 0;
}

void machine_pc(struct machine *m, uint64_t mem_bytes, unsigned int nr_cpus)
{
    memset(m, 0, sizeof(*m));
    m->nr_cpus = nr_cpus;
    machine_add(m, 0, 640 << 10, MM_MEM_USABLE, false);
    machine_add(m, 640 << 10, 384 << 10, MM_MEM_RESERVED, false);
    uint64_t below_4g = 3ull << 30;
    if (mem_bytes <= below_4g) {
        machine_add(m, 1 << 20, mem_bytes - (1 << 20), MM_MEM_USABLE, false);
        return;
    }
    /* a PC: the PCI hole under 4 GiB, the rest of RAM remapped above it */
    machine_add(m, 1 << 20, below_4g - (1 << 20), MM_MEM_USABLE, false);
    machine_add(m, below_4g, 1ull << 30, MM_MEM_RESERVED, false);
    machine_add(m, 4ull << 30, mem_bytes - below_4g, MM_MEM_USABLE, false);
}

void machine_small(struct machine *m, uint64_t mem_bytes, unsigned int nr_cpus)
{
    memset(m, 0, sizeof(*m));
    m->nr_cpus = nr_cpus;
    mem_bytes = MM_ALIGN_DOWN(mem_bytes, PAGE_SIZE);
    machine_add(m, 0, mem_bytes, MM_MEM_USABLE, false);
    m->zone_dma_end = MM_MAX(MM_ALIGN_DOWN(mem_bytes / 16, PAGE_SIZE), PAGE_SIZE);
    m->zone_normal_end = MM_MAX(MM_ALIGN_DOWN(mem_bytes / 8 * 7, PAGE_SIZE), m->zone_dma_end);
}

uint64_t machine_end(const struct machine *m)
{
    uint64_t end = 0;
    for (unsigned int i = 0; i < m->nr_map; i++) {
        uint64_t e = m->map[i].base + m->map[i].size;
        if (e > end && e >= m->map[i].base && e <= (1ull << ARCH_PHYS_BITS))
            end = e;
    }
    return MM_ALIGN_UP(end, PAGE_SIZE);
}

void machine_boot_params(const struct machine *m, struct mm_boot_params *bp)
{
    *bp = (struct mm_boot_params){
        .map = m->map, .nr_map = m->nr_map, .reserve = m->reserve, .nr_reserve = m->nr_reserve,
        .zone_dma_end = m->zone_dma_end, .zone_normal_end = m->zone_normal_end,
        .nr_cpus = m->nr_cpus, .pcp_batch = m->pcp_batch, .pcp_high = m->pcp_high,
        .pcp_disable = m->pcp_disable, .slab_hardened = m->slab_hardened,
        .slab_harden_level = m->slab_harden_level, .seed = m->seed,
        .kfence_interval = m->kfence_interval,
        .trace_mask = m->trace_mask,
        .page_owner = m->page_owner,
        .slab_owner = m->slab_owner,
        .numa = m->numa.nr_nodes ? &m->numa : NULL,
    };
}

int machine_boot_early(const struct machine *m)
{
    struct mm_boot_params bp;
    int err = machine_prepare(m, &bp);
    return err ? err : mm_early_init(&bp);
}

int machine_boot(const struct machine *m)
{
    struct mm_boot_params bp;
    int err = machine_prepare(m, &bp);
    return err ? err : mm_init(&bp);
}

void machine_range_extend(uintptr_t *lo, uintptr_t *hi, uintptr_t start, uintptr_t end)
{
    if (*lo >= *hi) {
        *lo = start;
        *hi = end;
    } else {
        *lo = MM_MIN(*lo, start);
        *hi = MM_MAX(*hi, end);
    }
}

/* ---- the swap device: the rules here, the storage from the platform (machine_swap_storage) ---- */

static unsigned char *swap_base;
static unsigned long swap_nr;   /* slots of the current device */
static unsigned long swap_dirty; /* slots below this may have been written since the reset */
static unsigned long swap_fail; /* device accesses still to fail */

int machine_swap_reset(unsigned long slots)
{
    unsigned char *base = machine_swap_storage(slots, swap_dirty);

    swap_dirty = 0;
    swap_fail = 0;
    swap_base = slots ? base : NULL;
    swap_nr = swap_base ? slots : 0;
    return slots && !base ? -MM_ENOMEM : 0;
}

void machine_swap_fail_inject(unsigned long count) { swap_fail = count; }

unsigned long env_swap_slots(void) { return swap_nr; }

/* Common checks of a device access; returns 0 or the error. */
static int swap_access(unsigned long slot, const void *page)
{
    if (slot >= swap_nr || !page)
        return -MM_EINVAL;
    if (swap_fail) {
        swap_fail--;
        return -MM_EIO;
    }
    return 0;
}

int env_swap_write(unsigned long slot, const void *page)
{
    int err = swap_access(slot, page);
    if (!err) {
        memcpy(swap_base + slot * PAGE_SIZE, page, PAGE_SIZE);
        swap_dirty = MM_MAX(swap_dirty, slot + 1);
    }
    return err;
}

int env_swap_read(unsigned long slot, void *page)
{
    int err = swap_access(slot, page);
    if (!err)
        memcpy(page, swap_base + slot * PAGE_SIZE, PAGE_SIZE);
    return err;
}
