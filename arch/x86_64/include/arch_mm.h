/*
 * arch_mm.h - what the mm needs to know about x86_64 (the "below mm" side of arch/).
 *
 * Owns: page size, the physical zone boundaries of the LeaxOS memory layout, the kernel virtual
 * layout constants (direct map base), the buddy order limit and the cache line size. Nothing here
 * includes anything; both the hosted and the freestanding builds see the same numbers.
 */
#ifndef LEAXOS_ARCH_X86_64_MM_H
#define LEAXOS_ARCH_X86_64_MM_H

#define PAGE_SHIFT              12

/** Largest buddy order: blocks of 2^10 pages (4 MiB). */
#define MM_MAX_ORDER            10
#define MM_NR_ORDERS            (MM_MAX_ORDER + 1)

/** Physical zone boundaries of the seed layout: DMA below 16 MiB, NORMAL up to 896 MiB. */
#define ARCH_ZONE_DMA_END       (16ull << 20)
#define ARCH_ZONE_NORMAL_END    (896ull << 20)

/** Physical address bits the mm accepts in a memory map (x86_64 4-level paging: 46 usable). */
#define ARCH_PHYS_BITS          46

/** Base of the kernel's direct map of all physical memory (Linux x86_64 page_offset_base). */
#define ARCH_DIRECT_MAP_BASE    0xffff888000000000ull
#define ARCH_DIRECT_MAP_SIZE    (1ull << ARCH_PHYS_BITS)

#define MM_CACHE_LINE           64

/** Upper bound on CPUs the mm keeps per-CPU state for. */
#define MM_MAX_CPUS             64

#endif /* LEAXOS_ARCH_X86_64_MM_H */
