/*
 * kernel_arch.h - what the LeaxOS kernel (arch/x86_64/kernel) offers the code that runs on it:
 * the boot-time test runner, the corpus replay, the sanitizer runtime and the negative checks.
 *
 * Physical layout of the QEMU machine (identity: the mm's physical addresses are the real ones):
 *   [0, KERNEL_MACHINE_AREA_END)   the machine area: every test and replay boots a fresh mm
 *                                  instance over a layout inside it (the hosted tests' layouts
 *                                  start at physical 0, so they run here unchanged)
 *   [KERNEL_PHYS_BASE, RAM end)    the kernel image, the corpus module, the boot mm instance and
 *                                  what it allocated at boot (kernel page tables, stacks, shadow)
 * Kernel virtual layout: direct map of all RAM at ARCH_DIRECT_MAP_BASE; the image at
 * KERNEL_VIRT_BASE + (pa - KERNEL_PHYS_BASE); a vmalloc window of KERNEL_VMALLOC_SIZE at
 * ARCH_VMALLOC_START whose page tables are built at boot, so mapping there never allocates.
 */
#ifndef LEAXOS_KERNEL_ARCH_H
#define LEAXOS_KERNEL_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define KERNEL_MACHINE_AREA_END (512ull << 20)
#define KERNEL_PHYS_BASE        (512ull << 20)
#define KERNEL_VIRT_BASE        0xffffffffa0000000ull
#define KERNEL_VMALLOC_SIZE     (256ull << 20)

/** isa-debug-exit codes: QEMU exits with status (code << 1) | 1, so 33 = pass, 35 = fail. */
#define KERNEL_EXIT_PASS 0x10
#define KERNEL_EXIT_FAIL 0x11

/** Leave QEMU through the isa-debug-exit device with @code. */
_Noreturn void kernel_exit(int code);

/** Write @len bytes to the serial console (COM1), bypassing the mm's log ring. */
void kernel_serial_write(const char *s, size_t len);

/** Print buddyinfo, slabinfo and the current address space's VMAs of the live mm instance. */
void kernel_post_mortem(void);

/** Access kinds of kernel_user_copy (the fuzz platform's numbering). */
enum kernel_uaccess { KUA_READ = 0, KUA_WRITE = 1, KUA_EXEC = 2 };

/**
 * Copy @len bytes between @buf and user address @va of address space @mm through the real MMU:
 * CR3 is switched to @mm's page table (with the kernel half added), the copy runs inside the
 * SMAP user-access window, and each #PF it takes goes to handle_mm_fault and is retried, as a
 * user-mode access would. KUA_WRITE copies @buf to @va; KUA_READ and KUA_EXEC copy @va to @buf.
 * Returns the vm_fault_result as int (VM_FAULT_OK = success) and the failing address in
 * *@fault_va. The same contract as machine_user_copy (shims/include/machine_user.h).
 */
int kernel_user_copy(void *mm, uintptr_t va, void *buf, size_t len, unsigned int access,
                     uintptr_t *fault_va);

/** What kernel_probe saw. */
struct kernel_fault {
    unsigned int vector;   /* exception vector (14 = #PF) */
    uint64_t error_code;
    uint64_t cr2;          /* faulting address for #PF */
    uint64_t rip;
};

/**
 * Run fn(arg) expecting it to fault. Returns true if it took an exception (described in *@f,
 * execution resumes here), false if it returned normally. Exceptions inside the probe are not
 * reported as kernel crashes.
 */
bool kernel_probe(void (*fn)(void *arg), void *arg, struct kernel_fault *f);

/** kernel_probe reporting only the faulting address (machine_kernel_probe's kernel side). */
bool kernel_probe_addr(void (*fn)(void *arg), void *arg, uintptr_t *addr);


/**
 * Map kernel virtual page @va (inside the vmalloc window) to physical page @pa in the live page
 * tables (present, global, NX; writable when @writable), or clear it. The window's tables exist
 * from boot, so neither call allocates. Returns 0 or -1 when @va lies outside the window.
 */
int kernel_kmap_set(uintptr_t va, uint64_t pa, bool writable);
int kernel_kmap_clear(uintptr_t va);

/** Where the ring-3 code page is mapped in a ring-3 run's private table (ring3.c). */
#define RING3_CODE_VA 0x00007f0000000000ull

/** The routines of the ring-3 code page (entry.S); each ends in ud2 (#UD, vector 6). */
enum ring3_routine {
    RING3_COPY, /* rep movsb: rcx bytes from rsi to rdi */
    RING3_PKRU, /* wrpkru(eax) with ecx = edx = 0, then rdpkru, stored as 4 bytes at rdi */
};

/** The registers a ring-3 run starts with (the others are zero). */
struct ring3_regs {
    uint64_t rax, rcx, rdx, rsi, rdi;
};

/** The user address of @routine in a ring-3 run. */
uintptr_t kernel_ring3_entry(enum ring3_routine routine);

/** The kernel address of the ring-3 scratch page, mapped P|US|RW at RING3_CODE_VA + 4096. */
void *kernel_ring3_scratch(void);

/**
 * Run the ring-3 code at user address @rip at CPL 3 with registers *@regs, under a private CR3:
 * the lower half of the tables at physical @root (0: none), the kernel's upper half (plus
 * @root's upper entries where the kernel has none), the code and scratch pages. The trap that
 * ends the run is in *@f (vector 6: the routine's ud2, it ran to its end; 14: a #PF). Returns 0,
 * or -1 (nothing ran) when not on the boot CPU, @regs is NULL, @rip is not in the code page, or
 * @root collides with the code page's slot or the kernel's upper entries.
 */
int kernel_ring3_run(uint64_t root, uintptr_t rip, const struct ring3_regs *regs,
                     struct kernel_fault *f);

/**
 * The fuzz platform's mmu_copy on the real CPU: @len bytes at @va through the tables at @root
 * (added to the kernel's as for kernel_ring3_run), MMU_READ or MMU_WRITE (machine_mmu.h),
 * with MMU_USER in ring 3 (through the scratch page), else in ring 0 (inside SMAP's window for
 * user addresses). No fault is handled: returns the bytes done and, when short, the #PF error
 * code in *@pf_error. (size_t)-1 when it cannot run: MMU_EXEC, no PKS or PKU, not the boot
 * CPU, a colliding @root, or a trap other than the access's #PF.
 */
size_t kernel_mmu_copy(uint64_t root, uintptr_t va, void *buf, size_t len, unsigned int access,
                       unsigned int *pf_error);

/** The corpus pack the boot loader passed as the first multiboot module (NULL, 0 if none). */
const void *kernel_corpus_pack(size_t *size);

/** A planted defect for the deliberate-crash boots (crash.c, "crash=mm-check"): the kernel fuzz
 * platform calls it once after the next op of a corpus replay, then clears it. NULL: none. */
extern void (*kernel_fuzz_plant)(void);

#endif
