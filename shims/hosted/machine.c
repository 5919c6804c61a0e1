/*
 * machine.c - the simulated physical machine: the arena that stands for physical memory, memory
 * map presets, and booting the mm on them.
 *
 *   arena (MAP_NORESERVE):  [pa 0 ............................................ pa end)
 *   direct map:             env_phys_to_virt(pa) == arena + pa
 *
 * The arena only grows; a smaller machine reuses the mapping. Before the mapping is dropped or
 * reused it is unpoisoned, so ASan never sees stale poison on recycled addresses.
 */
#include <string.h>
#include <sys/mman.h>

#include "hosted_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define HOSTED_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOSTED_ASAN 1
#endif
#endif

#ifdef HOSTED_ASAN
#include <sanitizer/asan_interface.h>
#endif

static void *arena_base;
static uint64_t arena_size; /* bytes mapped */
static uint64_t arena_used; /* bytes the current machine's map covers */

void *hosted_arena_base(void) { return arena_base; }
uint64_t hosted_arena_size(void) { return arena_size; }
uint64_t hosted_arena_used(void) { return arena_used; }

static void arena_unpoison_all(void)
{
#ifdef HOSTED_ASAN
    if (arena_base && arena_used)
        ASAN_UNPOISON_MEMORY_REGION(arena_base, arena_used);
#endif
}

/* Make the arena cover [0, bytes) and poison that range. Returns 0 or -MM_ENOMEM. */
static int arena_prepare(uint64_t bytes)
{
    arena_unpoison_all();
    if (bytes > arena_size) {
        if (arena_base)
            munmap(arena_base, arena_size);
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            arena_base = NULL;
            arena_size = arena_used = 0;
            return -MM_ENOMEM;
        }
        arena_base = p;
        arena_size = bytes;
    }
    arena_used = bytes;
#ifdef HOSTED_ASAN
    ASAN_POISON_MEMORY_REGION(arena_base, arena_used);
#endif
    return 0;
}

int hosted_machine_add(struct hosted_machine *m, phys_addr_t base, uint64_t size, uint32_t type,
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

void hosted_machine_pc(struct hosted_machine *m, uint64_t mem_bytes, unsigned int nr_cpus)
{
    memset(m, 0, sizeof(*m));
    m->nr_cpus = nr_cpus;
    hosted_machine_add(m, 0, 640 << 10, MM_MEM_USABLE, false);
    hosted_machine_add(m, 640 << 10, 384 << 10, MM_MEM_RESERVED, false);
    uint64_t below_4g = 3ull << 30;
    if (mem_bytes <= below_4g) {
        hosted_machine_add(m, 1 << 20, mem_bytes - (1 << 20), MM_MEM_USABLE, false);
        return;
    }
    /* a PC: the PCI hole under 4 GiB, the rest of RAM remapped above it */
    hosted_machine_add(m, 1 << 20, below_4g - (1 << 20), MM_MEM_USABLE, false);
    hosted_machine_add(m, below_4g, 1ull << 30, MM_MEM_RESERVED, false);
    hosted_machine_add(m, 4ull << 30, mem_bytes - below_4g, MM_MEM_USABLE, false);
}

void hosted_machine_small(struct hosted_machine *m, uint64_t mem_bytes, unsigned int nr_cpus)
{
    memset(m, 0, sizeof(*m));
    m->nr_cpus = nr_cpus;
    mem_bytes = MM_ALIGN_DOWN(mem_bytes, PAGE_SIZE);
    hosted_machine_add(m, 0, mem_bytes, MM_MEM_USABLE, false);
    m->zone_dma_end = MM_MAX(MM_ALIGN_DOWN(mem_bytes / 16, PAGE_SIZE), PAGE_SIZE);
    m->zone_normal_end = MM_MAX(MM_ALIGN_DOWN(mem_bytes / 8 * 7, PAGE_SIZE), m->zone_dma_end);
}

static uint64_t machine_end(const struct hosted_machine *m)
{
    uint64_t end = 0;
    for (unsigned int i = 0; i < m->nr_map; i++) {
        uint64_t e = m->map[i].base + m->map[i].size;
        if (e > end && e >= m->map[i].base && e <= (1ull << ARCH_PHYS_BITS))
            end = e;
    }
    return MM_ALIGN_UP(end, PAGE_SIZE);
}

static int machine_prepare(const struct hosted_machine *m, struct mm_boot_params *bp)
{
    uint64_t end = machine_end(m);
    if (end && arena_prepare(end))
        return -MM_ENOMEM;
    hosted_env_reset();
    *bp = (struct mm_boot_params){
        .map = m->map, .nr_map = m->nr_map, .reserve = m->reserve, .nr_reserve = m->nr_reserve,
        .zone_dma_end = m->zone_dma_end, .zone_normal_end = m->zone_normal_end,
        .nr_cpus = m->nr_cpus, .pcp_batch = m->pcp_batch, .pcp_high = m->pcp_high,
        .pcp_disable = m->pcp_disable, .slab_hardened = m->slab_hardened, .seed = m->seed,
    };
    return 0;
}

int hosted_machine_boot_early(const struct hosted_machine *m)
{
    struct mm_boot_params bp;
    int err = machine_prepare(m, &bp);
    return err ? err : mm_early_init(&bp);
}

int hosted_machine_boot(const struct hosted_machine *m)
{
    struct mm_boot_params bp;
    int err = machine_prepare(m, &bp);
    return err ? err : mm_init(&bp);
}
