/*
 * uaccess.c - user accesses through the real MMU: kernel_user_copy and its #PF path.
 *
 * A copy runs with CR3 = its CPU's ua_cpu.root: a kernel-owned PML4 whose lower half is the address space's own
 * PML4 entries and whose upper half is kernel_pt's, so the CPU walks the mm's page tables for the
 * user part. The copy itself is uaccess_copy (entry.S) inside the SMAP window (stac ... clac).
 * Its #PFs arrive in uaccess_handle_fault, which calls handle_mm_fault (with PF_ERR_U: the access
 * is made on the user's behalf) and retries the instruction, or sends the copy to its fixup.
 *
 * Every CPU has its own copy state and tables (struct ua_cpu, indexed by the real CPU), so the CPUs
 * of a concurrent run (kernel_smp_run) copy at once, in the same address space or in different
 * ones. The #PF of a copy whose caller had interrupts on is handled with them on again, as Linux's
 * fault handler does: handle_mm_fault may reclaim, and reclaim calls the other CPUs.
 *
 * The retry rule is the hosted MMU's (shims/hosted/user.c): the same fault address more than
 * UA_FAULT_RETRIES times in a row is an access error. Two parts are decided in software, as the
 * hosted MMU does, because the hardware cannot be asked without side effects: addresses at or
 * above ARCH_USER_VA_END (non-canonical or kernel: they fault like unmapped user addresses), and
 * present pages without the user bit (the SMAP window lets ring 0 touch them; a user could not).
 * Execute permission is asked of the CPU in ring 3 (ua_exec_fault_code), since a kernel cannot
 * fetch from user pages under SMEP; then the bytes are read through the MMU.
 */
#include "arch_cpu.h"
#include "arch_pgtable.h"
#include "kernel_arch.h"
#include "kernel_smp.h"
#include "mm_env.h"
#include "mmap.h"
#include "trap.h"

#define UA_FAULT_RETRIES 4
#define UA_PF_MASK (PF_ERR_P | PF_ERR_W | PF_ERR_I)

size_t uaccess_copy(void *dst, const void *src, size_t len);
extern char uaccess_copy_insn[], uaccess_fixup[];

/* One CPU's copy state; touched only by that CPU (its copies and their faults). */
struct ua_cpu {
    uint64_t root[PT_ENTRIES];  /* CR3 of its copies: the mm's user half, the kernel's upper half */
    pte_t xp_pml4[PT_ENTRIES], xp_pdpt[PT_ENTRIES], xp_pd[PT_ENTRIES], xp_pt[PT_ENTRIES];
    struct mm_struct *mm;       /* the address space of the copy in progress */
    struct mm_struct *last_mm;  /* for post-mortems */
    bool active;
    unsigned int tries;
    uintptr_t last_fault;
    enum vm_fault_result result; /* of the fault that stopped the copy */
    uintptr_t fault_va;
} __attribute__((aligned(PAGE_SIZE)));

static struct ua_cpu ua_cpus[KERNEL_SMP_MAX_CPUS];

/* This CPU's state: the real CPU's index (env_cpu_id is the simulated one outside a run). */
static struct ua_cpu *ua_self(void) { return &ua_cpus[KERNEL_PERCPU_READ(index)]; }

struct mm_struct *kernel_uaccess_last_mm(void) { return ua_self()->last_mm; }

void uaccess_window_open(void)
{
    if (kernel_cpu.smap)
        __asm__ __volatile__("stac" ::: "memory");
}

void uaccess_window_close(void)
{
    if (kernel_cpu.smap)
        __asm__ __volatile__("clac" ::: "memory");
}

/* Refresh the lower half of this CPU's root from the mm (a fault may have added a PML4 entry) and load it. */
static void ua_load_root(void)
{
    struct ua_cpu *ua = ua_self();
    const uint64_t *user = env_phys_to_virt(ua->mm->pt.root);
    const uint64_t *kern = env_phys_to_virt(kernel_pt.root);

    for (unsigned int i = 0; i < PT_ENTRIES / 2; i++)
        ua->root[i] = user[i];
    for (unsigned int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
        ua->root[i] = kern[i];
    cpu_write_cr3(KERNEL_V2P(ua->root));
}

/* One fault of the copy: the retry rule, then the mm. */
static enum vm_fault_result ua_fault(uintptr_t fva, unsigned int pf)
{
    struct ua_cpu *ua = ua_self();
    ua->tries = fva == ua->last_fault ? ua->tries + 1 : 1;
    ua->last_fault = fva;
    if (ua->tries > UA_FAULT_RETRIES)
        return VM_FAULT_ACCESS;
    return handle_mm_fault(ua->mm, fva, pf | PF_ERR_U);
}

bool uaccess_handle_fault(struct trap_frame *f, uint64_t cr2)
{
    struct ua_cpu *ua = ua_self();
    if (!ua->active || f->rip != (uint64_t)(uintptr_t)uaccess_copy_insn || cr2 >= ARCH_USER_VA_END)
        return false;
    /* the interrupt gate turned interrupts off; the fault runs in the copy's state */
    bool irq_on = (f->rflags & X86_EFLAGS_IF) != 0;
    if (irq_on)
        arch_irq_restore(X86_EFLAGS_IF);
    enum vm_fault_result r = ua_fault(cr2, (unsigned int)f->error_code & UA_PF_MASK);
    if (irq_on)
        (void)arch_irq_save();
    ua_load_root();
    if (r != VM_FAULT_HANDLED) {
        ua->result = r;
        ua->fault_va = cr2;
        f->rip = (uint64_t)(uintptr_t)uaccess_fixup;
    }
    return true;
}

/*
 * Execute permission of the page holding @va, asked of the hardware: one instruction is run there
 * in ring 3 under a private CR3 whose user half maps only that page, read-only (a copy of the
 * mm's leaf without RW), so whatever the instruction does it can change nothing. A fetch fault at
 * @va (PF_ERR_I) means no; any other trap means the fetch succeeded. Returns the #PF error code of
 * the refused fetch, or 0.
 */
static unsigned int ua_exec_fault_code(uintptr_t va)
{
    const pte_t upper = PTE_P | PTE_RW | PTE_US;
    const uint64_t *kern = env_phys_to_virt(kernel_pt.root);
    struct ua_cpu *ua = ua_self();
    pte_t *xp_pml4 = ua->xp_pml4, *xp_pdpt = ua->xp_pdpt, *xp_pd = ua->xp_pd, *xp_pt = ua->xp_pt;
    pte_t *leaf = pt_walk(&ua->mm->pt, va, false, 0);
    struct kernel_fault f;

    memset(xp_pml4, 0, sizeof(ua->xp_pml4));
    memset(xp_pdpt, 0, sizeof(ua->xp_pdpt));
    memset(xp_pd, 0, sizeof(ua->xp_pd));
    memset(xp_pt, 0, sizeof(ua->xp_pt));
    for (unsigned int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
        xp_pml4[i] = kern[i];
    xp_pml4[PT_INDEX(va, 3)] = KERNEL_V2P(xp_pdpt) | upper;
    xp_pdpt[PT_INDEX(va, 2)] = KERNEL_V2P(xp_pd) | upper;
    xp_pd[PT_INDEX(va, 1)] = KERNEL_V2P(xp_pt) | upper;
    xp_pt[PT_INDEX(va, 0)] = (leaf ? *leaf : 0) & ~PTE_RW;
    cpu_write_cr3(KERNEL_V2P(xp_pml4));
    kernel_probe_user_exec(va, &f);
    ua_load_root();
    if (f.vector == 14 && f.cr2 == va && (f.error_code & PF_ERR_I))
        return (unsigned int)f.error_code & UA_PF_MASK;
    return 0;
}

/*
 * A present leaf without PTE_US (how the mm hides PROT_NONE pages): a ring-0 access inside the
 * SMAP window is allowed to touch it, a user access is not, so that refusal is raised here.
 */
static bool ua_supervisor_page(uintptr_t va)
{
    pte_t *leaf = pt_walk(&ua_self()->mm->pt, va, false, 0);

    return leaf && pte_present(*leaf) && !(*leaf & PTE_US);
}

/* Copy up to the end of the page at @va (or @len): 0 done, else the result of the stopping fault. */
static int ua_copy_chunk(uintptr_t va, char *buf, size_t n, unsigned int access)
{
    for (;;) {
        if (va >= ARCH_USER_VA_END) {
            enum vm_fault_result r = ua_fault(va, access == KUA_WRITE ? PF_ERR_W : 0);
            if (r != VM_FAULT_HANDLED) {
                ua_self()->fault_va = va;
                return r;
            }
            continue;
        }
        if (access == KUA_EXEC || ua_supervisor_page(va)) {
            unsigned int pf = access == KUA_EXEC ? ua_exec_fault_code(va)
                                                 : PF_ERR_P | (access == KUA_WRITE ? PF_ERR_W : 0);
            if (pf) {
                enum vm_fault_result r = ua_fault(va, pf);
                ua_load_root();
                if (r != VM_FAULT_HANDLED) {
                    ua_self()->fault_va = va;
                    return r;
                }
                continue;
            }
        }
        uaccess_window_open();
        size_t left = access == KUA_WRITE ? uaccess_copy((void *)va, buf, n)
                                          : uaccess_copy(buf, (const void *)va, n);
        uaccess_window_close();
        return left ? (int)ua_self()->result : VM_FAULT_HANDLED;
    }
}

int kernel_user_copy(void *mmp, uintptr_t va, void *buf, size_t len, unsigned int access,
                     uintptr_t *fault_va)
{
    struct mm_struct *mm = mmp;
    uint64_t saved_cr3 = cpu_read_cr3();
    int r = VM_FAULT_HANDLED;

    if (!mm || (!buf && len) || access > KUA_EXEC)
        return VM_FAULT_SIGSEGV;
    struct ua_cpu *ua = ua_self();
    ua->mm = ua->last_mm = mm;
    ua->active = true;
    ua->tries = 0;
    ua->last_fault = 0;
    ua_load_root();
    while (len) {
        size_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        n = n < len ? n : len;
        r = ua_copy_chunk(va, buf, n, access);
        if (r != VM_FAULT_HANDLED) {
            if (fault_va)
                *fault_va = ua->fault_va;
            break;
        }
        va += n;
        buf = (char *)buf + n;
        len -= n;
    }
    ua->active = false;
    cpu_write_cr3(saved_cr3);
    return r;
}
