/*
 * trap.h - the kernel's private view of CPU state: the trap frame built by entry.S, descriptor
 * table setup, control-register helpers and the boot facts other kernel files share.
 */
#ifndef LEAXOS_KERNEL_TRAP_H
#define LEAXOS_KERNEL_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "page_table.h"

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

#define X86_CR0_WP   (1ull << 16)
#define X86_CR4_PAE  (1ull << 5)
#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_EFER     0xc0000080u
#define X86_EFER_NXE (1ull << 11)

static inline uint64_t cpu_read_cr2(void)
{
    uint64_t v;
    __asm__ __volatile__("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline uint64_t cpu_read_cr3(void)
{
    uint64_t v;
    __asm__ __volatile__("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline void cpu_write_cr3(uint64_t v) { __asm__ __volatile__("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline uint64_t cpu_read_cr0(void)
{
    uint64_t v;
    __asm__ __volatile__("mov %%cr0, %0" : "=r"(v));
    return v;
}
static inline uint64_t cpu_read_cr4(void)
{
    uint64_t v;
    __asm__ __volatile__("mov %%cr4, %0" : "=r"(v));
    return v;
}
static inline void cpu_write_cr4(uint64_t v) { __asm__ __volatile__("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline uint64_t cpu_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void cpu_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/** What the boot found and switched on (printed at boot, checked by the protection tests). */
struct kernel_cpu_features {
    bool nx, smep, smap;
    bool pku, pks; /* CPUID.7.0:ECX bits 3 and 31; CR4.PKE / CR4.PKS set when present */
};
extern struct kernel_cpu_features kernel_cpu;

/** The kernel's page table (CR3 after boot), built with mm/'s page-table code. */
extern struct page_table kernel_pt;

/** Install the GDT (kernel and user segments, TSS with a double-fault stack) and the IDT. */
void trap_init(void);

/**
 * Give AP @i its own GDT and TSS (rsp0 = @stack_top, IST1 = @df_top for double faults), load
 * them and the shared IDT. i in [1, KERNEL_SMP_MAX_CPUS).
 */
void trap_init_ap(unsigned int i, uintptr_t stack_top, uintptr_t df_top);

/** Set AC (stac) / clear it (clac) when SMAP is on: the explicit user-access window. */
void uaccess_window_open(void);
void uaccess_window_close(void);

/** #PF inside uaccess_copy: resolve through the mm, or redirect to the fixup. True if handled. */
bool uaccess_handle_fault(struct trap_frame *f, uint64_t cr2);

/** Name the region kernel address @va lies in (direct map, text, stack guard, vmalloc, ...). */
const char *kernel_describe_addr(uint64_t va);

/** Symbols of entry.S / boot.S / linker.ld. */
extern char __kernel_start[], __text_end[], __rodata_end[], __data_end[], __bss_end[];
extern char boot_stack_guard[], boot_stack_bottom[], boot_stack_top[];
extern char df_stack_guard[], df_stack_top[], probe_stack_top[];
extern char user_trap_stack_guard[], user_trap_stack_top[], probe_stack_guard[];

/**
 * Execute one instruction at user address @va in ring 3 (TF set, registers zero, CR3 as the caller
 * left it) and report the trap that ended it in *@f. Always true: something always traps.
 */
bool kernel_probe_user_exec(uintptr_t va, struct kernel_fault *f);

#define KERNEL_V2P(va) ((uint64_t)(uintptr_t)(va) - 0xffffffff80000000ull)

#endif
