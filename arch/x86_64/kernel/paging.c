/*
 * paging.c - the kernel's own page table, built by mm/'s page-table code at boot.
 *
 * Owns kernel_pt (CR3 after boot). Built once, while the boot mm instance is live:
 *   - the direct map of all RAM at ARCH_DIRECT_MAP_BASE, R+W+NX, except the kernel image's text
 *     and rodata, whose aliases there are read-only;
 *   - the kernel image at KERNEL_VIRT_BASE: text R+X, rodata R+NX, data and bss R+W+NX; the guard
 *     page under every kernel stack is left unmapped;
 *   - the local APIC's page at its direct-map address, uncached (PCD, PWT), R+W+NX;
 *   - the vmalloc window [ARCH_VMALLOC_START, +KERNEL_VMALLOC_SIZE): every level down to the PT
 *     pages exists, leaves are empty. Later mm instances (tests, replay) map vmalloc pages there
 *     through env_kernel_map -> kernel_kmap_set, which writes leaves only and never allocates.
 * Invariant: no leaf of kernel_pt is both writable and executable (paging_check_wx verifies).
 * After boot, kernel_pt is only read or written raw (kpt_leaf): its table pages belong to the boot
 * mm instance, which later mm_early_init calls forget, so pt_* must not touch them again.
 */
#include "arch_cpu.h"
#include "arch_mm.h"
#include "kernel_arch.h"
#include "mm_env.h"
#include "page_alloc.h"
#include "kernel_boot.h"
#include "kernel_smp.h"
#include "trap.h"

struct page_table kernel_pt;

static pte_t paging_nx(void) { return kernel_cpu.nx ? PTE_NX : 0; }

static int paging_map_range(uintptr_t va, uint64_t pa, uint64_t size, pte_t flags)
{
    for (uint64_t off = 0; off < size; off += PAGE_SIZE)
        if (pt_set(&kernel_pt, va + off, (pa + off) | PTE_P | PTE_G | flags, GFP_KERNEL))
            return -MM_ENOMEM;
    return 0;
}

static bool paging_is_guard(uintptr_t va)
{
    return va == (uintptr_t)boot_stack_guard || va == (uintptr_t)df_stack_guard ||
           va == (uintptr_t)user_trap_stack_guard || va == (uintptr_t)probe_stack_guard;
}

static int paging_map_image(void)
{
    uintptr_t va;

    for (va = (uintptr_t)__kernel_start; va < (uintptr_t)__bss_end; va += PAGE_SIZE) {
        pte_t flags = paging_nx() | PTE_RW;

        if (va < (uintptr_t)__text_end)
            flags = 0;
        else if (va < (uintptr_t)__rodata_end)
            flags = paging_nx();
        if (paging_is_guard(va))
            continue;
        if (pt_set(&kernel_pt, va, KERNEL_V2P(va) | PTE_P | PTE_G | flags, GFP_KERNEL))
            return -MM_ENOMEM;
    }
    return 0;
}

static int paging_map_direct(uint64_t ram_end)
{
    uint64_t ro_start = KERNEL_V2P(__kernel_start), ro_end = KERNEL_V2P(__rodata_end);
    int err = paging_map_range(ARCH_DIRECT_MAP_BASE, 0, ro_start, PTE_RW | paging_nx());

    if (!err)
        err = paging_map_range(ARCH_DIRECT_MAP_BASE + ro_start, ro_start, ro_end - ro_start,
                               paging_nx());
    if (!err)
        err = paging_map_range(ARCH_DIRECT_MAP_BASE + ro_end, ro_end, ram_end - ro_end,
                               PTE_RW | paging_nx());
    return err;
}

static int paging_prebuild_vmalloc(void)
{
    for (uint64_t off = 0; off < KERNEL_VMALLOC_SIZE; off += PT_LEVEL_SIZE(1))
        if (!pt_walk(&kernel_pt, ARCH_VMALLOC_START + off, true, GFP_KERNEL))
            return -MM_ENOMEM;
    return 0;
}

int paging_build(uint64_t ram_end)
{
    int err = pt_init(&kernel_pt, GFP_KERNEL);

    if (!err)
        err = paging_map_direct(ram_end);
    if (!err)
        err = paging_map_image();
    if (!err)
        err = paging_prebuild_vmalloc();
    if (!err && smp_lapic_phys() >= ram_end) /* MMIO: uncached, never executable */
        err = paging_map_range(ARCH_DIRECT_MAP_BASE + smp_lapic_phys(), smp_lapic_phys(),
                               PAGE_SIZE, PTE_RW | PTE_PCD | PTE_PWT | paging_nx());
    if (err)
        return err;
    cpu_write_cr3(kernel_pt.root);
    return 0;
}

/* The leaf entry of @va in kernel_pt by a raw walk (no allocation, no struct page), or NULL. */
static pte_t *kpt_leaf(uintptr_t va)
{
    pte_t *table = env_phys_to_virt(kernel_pt.root);

    for (int level = PT_LEVELS - 1; level > 0; level--) {
        pte_t e = table[PT_INDEX(va, level)];
        if (!pte_present(e) || (e & PTE_PS))
            return NULL;
        table = env_phys_to_virt(pte_addr(e));
    }
    return &table[PT_INDEX(va, 0)];
}

static bool kmap_in_window(uintptr_t va)
{
    return va >= ARCH_VMALLOC_START && va - ARCH_VMALLOC_START < KERNEL_VMALLOC_SIZE;
}

int kernel_kmap_set(uintptr_t va, uint64_t pa, bool writable)
{
    pte_t *leaf = kmap_in_window(va) ? kpt_leaf(va) : NULL;

    if (!leaf)
        return -1;
    *leaf = (pa & PTE_ADDR_MASK) | PTE_P | PTE_G | paging_nx() | (writable ? PTE_RW : 0);
    arch_invlpg(va);
    return 0;
}

int kernel_kmap_clear(uintptr_t va)
{
    pte_t *leaf = kmap_in_window(va) ? kpt_leaf(va) : NULL;

    if (!leaf)
        return -1;
    *leaf = 0;
    arch_invlpg(va);
    return 0;
}

void paging_unmap_page(uintptr_t va)
{
    pte_t *leaf = kpt_leaf(va);

    if (leaf) {
        *leaf = 0;
        arch_invlpg(va);
    }
}

/* Count leaves of kernel_pt that are writable and executable (must be 0) over [start, end). */
unsigned long paging_count_wx(uintptr_t start, uintptr_t end)
{
    unsigned long n = 0;

    for (uintptr_t va = start; va < end && va >= start; va += PAGE_SIZE) {
        pte_t *leaf = kpt_leaf(va);
        if (leaf && pte_present(*leaf) && (*leaf & PTE_RW) && !(*leaf & PTE_NX))
            n++;
    }
    return n;
}

/* The leaf entry of kernel address @va (0 when unmapped), for checks and reports. */
pte_t paging_lookup(uintptr_t va)
{
    pte_t *leaf = kpt_leaf(va);

    return leaf ? *leaf : 0;
}

const char *kernel_describe_addr(uint64_t va)
{
    uintptr_t image_end = (uintptr_t)__bss_end;

    if (va >= (uintptr_t)boot_stack_guard && va < (uintptr_t)boot_stack_guard + PAGE_SIZE)
        return "guard page under the boot stack: kernel stack overflow";
    if (va >= (uintptr_t)df_stack_guard && va < (uintptr_t)df_stack_guard + PAGE_SIZE)
        return "guard page under the double-fault stack: kernel stack overflow";
    if (va >= (uintptr_t)user_trap_stack_guard && va < (uintptr_t)user_trap_stack_guard + PAGE_SIZE)
        return "guard page under the user-trap stack: kernel stack overflow";
    if (va >= (uintptr_t)probe_stack_guard && va < (uintptr_t)probe_stack_guard + PAGE_SIZE)
        return "guard page under the probe landing stack: kernel stack overflow";
    if (smp_describe_addr(va))
        return smp_describe_addr(va);
    if (kmap_in_window(va))
        return paging_lookup(va) ? "vmalloc area (mapped)"
                                 : "vmalloc area, unmapped (guard page or freed area): buffer "
                                   "overflow or use after vfree";
    if (va >= (uintptr_t)__kernel_start && va < (uintptr_t)__text_end)
        return "kernel text (read-only)";
    if (va >= (uintptr_t)__text_end && va < (uintptr_t)__rodata_end)
        return "kernel rodata (read-only)";
    if (va >= (uintptr_t)__rodata_end && va < image_end)
        return "kernel data/bss (non-executable)";
    if (va >= ARCH_DIRECT_MAP_BASE && va - ARCH_DIRECT_MAP_BASE < ARCH_DIRECT_MAP_SIZE)
        return paging_lookup(va) ? "direct map (non-executable)" : "direct map, beyond RAM";
    if (va < ARCH_USER_VA_END)
        return va < PAGE_SIZE ? "NULL page (user half)" : "user address";
    return "unmapped kernel address";
}
