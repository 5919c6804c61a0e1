/*
 * main.c - kmain: from the multiboot hand-off to the boot-time test run and the QEMU exit code.
 *
 * Boot order (each step needs the previous one):
 *   1. descriptor tables (so a crash from here on is reported), multiboot facts copied out of
 *      low memory (the machine area is handed to test mm instances later);
 *   2. the boot mm instance over RAM in [KERNEL_PHYS_BASE, 4 GiB) minus the image and modules;
 *   3. the sanitizer shadow (hardened kernel) from the boot mm's early allocator;
 *   4. kernel_pt built by mm/'s page-table code, CR3 switched, SMEP and SMAP on;
 *   5. the machine area's legacy hole (0xa0000..0xfffff) turned into RAM, so machines laid out
 *      from physical 0 (the hosted tests' and fuzzers' layouts) run unchanged;
 *   5b. the other CPUs (smp.c): their stacks were taken from the boot mm's memblock in step 2,
 *      the trampoline goes below 1 MiB in the machine area before any machine boots there; each
 *      AP is reported online and parks;
 *   6. a leak scan of the boot instance with the image's data and bss as the root: every object
 *      the boot allocated must be reached (a leak panics: the scan must have no false positive);
 *      then its five largest allocation-site groups are printed;
 *   7. one cycle of the incremental checker (mm_check_step) over the boot instance, timed per
 *      slice, and a full mm_check for comparison (a broken invariant panics);
 *   8. the runs: unit tests, protection checks, sanitizer checks, corpus replay; then the totals
 *      and an exit through isa-debug-exit: pass only if every test passed and no sanitizer
 *      reported anything unexpected.
 */
#include "arch_cpu.h"
#include "kasan.h"
#include "kernel_arch.h"
#include "kernel_boot.h"
#include "kernel_smp.h"
#include "kernel_env.h"
#include "mm.h"
#include "mm_describe.h"
#include "mm_env.h"
#include "mm_leak.h"
#include "numa.h"
#include "trap.h"
#include "ubsan.h"

#define MB_BOOT_MAGIC 0x2badb002u
#define MB_INFO_MEM_MAP (1u << 6)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_CMDLINE (1u << 2)
#define BOOT_MAP_MAX 64
#define BOOT_MEM_LIMIT (4ull << 30)

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap_entry {
    uint32_t size;
    uint64_t base, len;
    uint32_t type;
} __attribute__((packed));

struct mb_module {
    uint32_t start, end, cmdline, pad;
};

static struct {
    struct mm_mem_region map[BOOT_MAP_MAX];
    unsigned int nr_map;
    uint64_t ram_end;
    uint64_t pack_pa, pack_size;
    char cmdline[256];
} boot;

struct kernel_boot_info kernel_boot;

void kernel_serial_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            arch_outb(0x3f8, '\r');
        arch_outb(0x3f8, (uint8_t)s[i]);
    }
}

const void *kernel_corpus_pack(size_t *size)
{
    if (size)
        *size = boot.pack_size;
    return boot.pack_size ? env_phys_to_virt(boot.pack_pa) : NULL;
}

/* Copy what the loader left in low memory: the memory map, the first module, the command line. */
static void boot_read_multiboot(uint32_t magic, uint32_t info_pa)
{
    const struct mb_info *mb = (const struct mb_info *)(uintptr_t)info_pa;

    if (magic != MB_BOOT_MAGIC)
        env_panic("boot: not started by a multiboot loader (magic 0x%x)", magic);
    if (!(mb->flags & MB_INFO_MEM_MAP))
        env_panic("boot: the loader gave no memory map");
    for (uint32_t off = 0; off < mb->mmap_length && boot.nr_map < BOOT_MAP_MAX;) {
        const struct mb_mmap_entry *e = (const void *)(uintptr_t)(mb->mmap_addr + off);
        boot.map[boot.nr_map++] = (struct mm_mem_region){ e->base, e->len, e->type };
        if (e->type == MM_MEM_USABLE && e->base + e->len > boot.ram_end)
            boot.ram_end = e->base + e->len;
        off += e->size + 4;
    }
    if ((mb->flags & MB_INFO_MODS) && mb->mods_count) {
        const struct mb_module *m = (const void *)(uintptr_t)mb->mods_addr;
        boot.pack_pa = m->start;
        boot.pack_size = m->end - m->start;
    }
    if (mb->flags & MB_INFO_CMDLINE) {
        const char *c = (const char *)(uintptr_t)mb->cmdline;
        for (unsigned int i = 0; i + 1 < sizeof(boot.cmdline) && c[i]; i++)
            boot.cmdline[i] = c[i];
    }
}

/* Shadow for the machine area's direct map and the vmalloc window (hardened kernel only). */
static int kernel_sanitizer_boot(void)
{
    static const struct { uintptr_t start; uint64_t size; } regions[] = {
        { ARCH_DIRECT_MAP_BASE, KERNEL_MACHINE_AREA_END },
        { ARCH_VMALLOC_START, KERNEL_VMALLOC_SIZE },
    };

    if (!env_shadow_enabled)
        return 0;
    kasan_set_describe(mm_describe_addr); /* reports name what the mm knows of an address */
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(regions); i++) {
        phys_addr_t pa = memblock_alloc(regions[i].size / 8, PAGE_SIZE);
        if (!pa)
            return -MM_ENOMEM;
        kasan_add_region(regions[i].start, regions[i].size, env_phys_to_virt(pa));
    }
    return 0;
}

/* The boot mm instance: usable RAM in [KERNEL_PHYS_BASE, BOOT_MEM_LIMIT), image and module kept. */
static void boot_mm_init(void)
{
    static struct mm_mem_region map[BOOT_MAP_MAX], reserve[2];
    unsigned int nr = 0;

    for (unsigned int i = 0; i < boot.nr_map; i++) {
        uint64_t s = boot.map[i].base, e = s + boot.map[i].size;
        s = s > KERNEL_PHYS_BASE ? s : KERNEL_PHYS_BASE;
        e = e < BOOT_MEM_LIMIT ? e : BOOT_MEM_LIMIT;
        if (boot.map[i].type == MM_MEM_USABLE && e > s)
            map[nr++] = (struct mm_mem_region){ s, e - s, MM_MEM_USABLE };
    }
    reserve[0] = (struct mm_mem_region){ KERNEL_V2P(__kernel_start),
                                         (uint64_t)(__bss_end - __kernel_start), MM_MEM_RESERVED };
    reserve[1] = (struct mm_mem_region){ boot.pack_pa & ~(uint64_t)(PAGE_SIZE - 1),
                                         boot.pack_size + PAGE_SIZE, MM_MEM_RESERVED };
    bool trace_given;
    struct mm_boot_params bp = {
        .map = map, .nr_map = nr, .reserve = reserve, .nr_reserve = boot.pack_size ? 2 : 1,
        .nr_cpus = 1, .seed = 1, .trace_mask = kernel_cmdline_trace_mask(&trace_given),
        .numa = smp_numa_topology(),
    };
    if (trace_given)
        env_log(ENV_LOG_INFO, "boot: trace mask 0x%x from the command line\n", bp.trace_mask);
    int err = mm_early_init(&bp);
    if (!err)
        err = kernel_sanitizer_boot();
    if (!err)
        smp_reserve_stacks();
    if (!err)
        err = mm_core_init();
    if (err)
        env_panic("boot: the boot mm instance failed to start (%d)", err);
    env_log(ENV_LOG_INFO, "boot: the boot mm instance has %u NUMA node%s; CPU 0 on node %d, "
            "whose nearest memory is node %d\n", mm_nr_nodes(), mm_nr_nodes() > 1 ? "s" : "",
            numa_node_id(), local_memory_node(numa_node_id()));
}

static void boot_cpu_features(void)
{
    uint32_t r[4];

    kernel_cpu.nx = (cpu_rdmsr(X86_EFER) & X86_EFER_NXE) != 0;
    cpu_cpuid(0, 0, r);
    if (r[0] >= 7) {
        cpu_cpuid(7, 0, r);
        kernel_cpu.smep = (r[1] >> 7) & 1;
        kernel_cpu.smap = (r[1] >> 20) & 1;
        kernel_cpu.pku = (r[2] >> 3) & 1;
        kernel_cpu.pks = (r[2] >> 31) & 1;
    }
}

static void boot_protect(void)
{
    uint64_t cr4 = cpu_read_cr4();

    if (kernel_cpu.smep)
        cr4 |= X86_CR4_SMEP;
    if (kernel_cpu.smap)
        cr4 |= X86_CR4_SMAP;
    /* protection keys (memory_protection.h): without them the mm's keys stay in the PTEs and
     * env_pkey_set_rights only records the registers, so domains are not enforced */
    if (kernel_cpu.pku)
        cr4 |= CR4_PKE;
    if (kernel_cpu.pks)
        cr4 |= CR4_PKS;
    cpu_write_cr4(cr4);
}

/* i440FX PAM registers: make 0xc0000..0xfffff RAM (read+write) instead of ROM shadows. */
static void boot_pam_unlock(void)
{
    for (unsigned int reg = 0x59; reg <= 0x5f; reg++) {
        uint32_t addr = 0x80000000u | (reg & 0xfc);
        unsigned int shift = (reg & 3) * 8;
        uint32_t v;
        __asm__ __volatile__("outl %0, %1" : : "a"(addr), "Nd"((uint16_t)0xcf8));
        __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xcfc));
        v = (v & ~(0xffu << shift)) | (0x33u << shift);
        if (reg == 0x59)
            v = (v & ~(0xffu << shift)) | (0x30u << shift);
        __asm__ __volatile__("outl %0, %1" : : "a"(addr), "Nd"((uint16_t)0xcf8));
        __asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"((uint16_t)0xcfc));
    }
}

/* i440FX SMRAM register: D_OPEN shows RAM at 0xa0000..0xbffff instead of the VGA window. */
static void boot_smram_open(void)
{
    uint32_t addr = 0x80000000u | 0x70, v;

    __asm__ __volatile__("outl %0, %1" : : "a"(addr), "Nd"((uint16_t)0xcf8));
    __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xcfc));
    v |= 0x40u << 16;
    __asm__ __volatile__("outl %0, %1" : : "a"(addr), "Nd"((uint16_t)0xcf8));
    __asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"((uint16_t)0xcfc));
}

/* Every page of the machine area must hold what is written to it (the legacy hole included). */
static bool boot_low_ram_works(void)
{
    for (uint64_t pa = 0xa0000; pa < 0x100000; pa += PAGE_SIZE) {
        volatile uint64_t *p = env_phys_to_virt(pa);
        p[0] = pa ^ 0x5a5a5a5a5a5a5a5aull;
        p[511] = ~pa;
        if (p[0] != (pa ^ 0x5a5a5a5a5a5a5a5aull) || p[511] != ~pa)
            return false;
    }
    return true;
}

/*
 * Step 6: everything the boot instance holds is reached from the kernel's data and bss (where
 * kernel_pt and the boot facts live; the stacks included) or from the mm's own state. The roots
 * are data and bss minus the unmapped guard pages under the stacks.
 */
static void boot_leak_scan(void)
{
    static struct mm_leak_result r;
    uintptr_t guard[] = { (uintptr_t)boot_stack_guard, (uintptr_t)df_stack_guard,
                          (uintptr_t)user_trap_stack_guard, (uintptr_t)probe_stack_guard };
    uintptr_t start[MM_ARRAY_SIZE(guard) + 1];
    unsigned int nr = 0;
    int err = 0;
    for (unsigned int i = 1; i < MM_ARRAY_SIZE(guard); i++) /* insertion sort: 4 entries */
        for (unsigned int j = i; j > 0 && guard[j] < guard[j - 1]; j--) {
            uintptr_t t = guard[j];
            guard[j] = guard[j - 1];
            guard[j - 1] = t;
        }
    uintptr_t cur = (uintptr_t)__rodata_end;
    for (unsigned int i = 0; i <= MM_ARRAY_SIZE(guard) && !err; i++) {
        uintptr_t end = i < MM_ARRAY_SIZE(guard) ? guard[i] : (uintptr_t)__bss_end;
        if (end > cur && !(err = mm_leak_root_add((void *)cur, end - cur)))
            start[nr++] = cur;
        cur = end + PAGE_SIZE;
    }
    int n = err ? err : mm_leak_scan(&r);
    env_log(ENV_LOG_INFO, "boot: leak scan of the boot instance: %lu objects, %lu reached, %d "
            "leaks (%u roots, %lu bytes scanned)\n", r.objects, r.reached, n, nr, r.scanned_bytes);
    if (n != 0)
        env_panic("boot: leak scan: %s (%d): %s", r.rep.invariant ? r.rep.invariant : "?", n,
                  r.rep.detail);
    for (unsigned int i = 0; i < nr; i++)
        mm_leak_root_remove((void *)start[i]);
    static struct mm_alloc_site top[5];
    int ng = mm_alloc_sites(top, MM_ARRAY_SIZE(top));
    env_log(ENV_LOG_INFO, "boot: allocation sites of the boot instance: %d groups, the largest:\n",
            ng);
    for (int i = 0; i < ng && i < (int)MM_ARRAY_SIZE(top); i++)
        env_log(ENV_LOG_INFO, "boot:   %-8s %-16s site %p: %lu allocations, %lu bytes, oldest %ld "
                "ops\n", mm_leak_kind_label(top[i].kind), top[i].cache, (void *)top[i].site,
                top[i].count, top[i].bytes,
                top[i].oldest == MM_LEAK_AGE_UNKNOWN ? -1l : (long)top[i].oldest);
}

/*
 * Step 7: the cost of continuous checking on a real machine: one cycle of mm_check_step in runs
 * of 512 struct pages, the longest slice and the whole cycle in TSC cycles, against one mm_check.
 */
static void boot_check_step_cycle(void)
{
    struct mm_check_cursor cur = { 0 };
    struct mm_check_report r;
    uint64_t max = 0, total = 0, t0 = arch_rdtsc();
    int err = mm_check(&r);
    uint64_t full = arch_rdtsc() - t0;
    while (!err && cur.cycles == 0) {
        t0 = arch_rdtsc();
        err = mm_check_step(&cur, 512, &r);
        uint64_t dt = arch_rdtsc() - t0;
        total += dt;
        max = dt > max ? dt : max;
    }
    if (err)
        env_panic("boot: incremental check: %s: %s", r.invariant ? r.invariant : "?", r.detail);
    env_log(ENV_LOG_INFO, "boot: incremental check of the boot instance: one cycle = %lu slices "
            "(%lu busy), %llu TSC cycles, longest slice %llu; one full mm_check %llu\n",
            cur.slices, cur.busy, (unsigned long long)total, (unsigned long long)max,
            (unsigned long long)full);
}

void kmain(uint32_t magic, uint32_t info_pa)
{
    smp_init_boot_cpu();
    trap_init();
    kernel_probe_set(kernel_probe_addr);
    boot_read_multiboot(magic, info_pa);
    boot_cpu_features();
    smp_read_acpi(); /* before step 5 overwrites the BIOS area the RSDP lies in */
    env_log(ENV_LOG_INFO, "LeaxOS mm kernel: %llu MiB RAM, NX %s, SMEP %s, SMAP %s, cmdline '%s'\n",
            (unsigned long long)(boot.ram_end >> 20), kernel_cpu.nx ? "on" : "off",
            kernel_cpu.smep ? "yes" : "no", kernel_cpu.smap ? "yes" : "no", boot.cmdline);
    env_log(ENV_LOG_INFO, "LeaxOS mm kernel: protection keys PKU %s, PKS %s\n",
            kernel_cpu.pku ? "yes" : "no", kernel_cpu.pks ? "yes" : "no");
    if (boot.ram_end < KERNEL_PHYS_BASE + (32ull << 20))
        env_panic("boot: %llu MiB of RAM; the kernel needs at least %llu MiB",
                  (unsigned long long)(boot.ram_end >> 20),
                  (unsigned long long)((KERNEL_PHYS_BASE >> 20) + 32));
    kernel_boot.cmdline = boot.cmdline; /* boot_mm_init reads "trace=" */
    boot_mm_init();
    if (paging_build(boot.ram_end))
        env_panic("boot: out of memory building the kernel page tables");
    smp_unmap_guards();
    boot_protect();
    boot_pam_unlock();
    boot_smram_open();
    if (!boot_low_ram_works())
        env_panic("boot: 0xa0000..0xfffff is not RAM; machines from physical 0 cannot run");
    kernel_boot.cmdline = boot.cmdline;
    kernel_boot.ram_end = boot.ram_end;
    env_log(ENV_LOG_INFO, "boot: kernel page tables live (%lu table pages), protections on\n",
            kernel_pt.nr_tables);
    smp_start_aps(0);
    boot_leak_scan();
    boot_check_step_cycle();
    kernel_exit(kernel_run_all() ? KERNEL_EXIT_FAIL : KERNEL_EXIT_PASS);
}
