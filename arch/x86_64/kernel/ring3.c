/*
 * ring3.c - ring 3 for the kernel's own checks, and the fuzz platform's MMU access (the kernel
 * side of fuzz_platform.mmu_copy: target domains replayed on the real CPU).
 *
 * A ring-3 run (kernel_ring3_run) executes one routine of the ring-3 code page (entry.S:
 * ring3_copy, ring3_pkru; each ends in ud2) at CPL 3 under a private CR3 built for the run:
 *
 *   r3_root[0..255]    the caller's table's lower half (e.g. the domain window's user half),
 *                      plus slot PT_INDEX(RING3_CODE_VA, 3) -> r3_pdpt -> r3_pd -> r3_pt:
 *                        RING3_CODE_VA              the code page     P|US        (executable)
 *                        RING3_CODE_VA + PAGE_SIZE  r3_scratch        P|US|RW|NX  (data in/out)
 *   r3_root[256..511]  the kernel's upper half; a slot the kernel leaves empty takes the
 *                      caller's entry (the window's kernel half)
 *
 * Entry is user_run_enter (iretq, IF clear, registers from struct ring3_regs); the way back is the
 * trap that ends the routine (#UD of its ud2, or the #PF / #GP it took on the way), taken by
 * kernel_probe, which restores CR3. Both private pages have key 0, so they stay open in every
 * domain's PKRU view. Only the boot CPU runs ring 3: its TSS rsp0 is the user-trap stack, while an
 * AP's rsp0 is the stack it runs on (a trap from ring 3 there would overwrite live frames).
 *
 * kernel_mmu_copy does what the hosted software MMU's machine_mmu_copy does, on the hardware: a
 * supervisor access runs in ring 0 under the same CR3 (inside SMAP's window for user pages), a
 * user access (MMU_USER) is a rep movsb in ring 3 through the scratch page. The rights registers
 * are whatever the mm last loaded (domain_enter). Each access reloads CR3, so no TLB entry
 * survives from one access to the next (without PCID): stale-TLB bugs stay the hosted TLB
 * oracle's to find.
 */
#include "arch_pgtable.h"
#include "kernel_arch.h"
#include "kernel_smp.h"
#include "machine_mmu.h"
#include "mm_env.h"
#include "trap.h"

#define R3_USER_TABLE (PTE_P | PTE_RW | PTE_US)
#define R3_PF_MASK    (PF_ERR_P | PF_ERR_W | PF_ERR_U | PF_ERR_RSVD | PF_ERR_I | PF_ERR_PK)

extern char ring3_code_page[], ring3_copy[], ring3_pkru[];
void user_run_enter(uint64_t rip, const struct ring3_regs *r, uint64_t rflags);

static pte_t r3_root[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static pte_t r3_pdpt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static pte_t r3_pd[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static pte_t r3_pt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint8_t r3_scratch[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

uintptr_t kernel_ring3_entry(enum ring3_routine routine)
{
    const char *sym = routine == RING3_PKRU ? ring3_pkru : ring3_copy;
    return RING3_CODE_VA + (uintptr_t)(sym - ring3_code_page);
}

void *kernel_ring3_scratch(void) { return r3_scratch; }

/*
 * The run's top-level table for the tables at physical @root (0: none). Returns its physical
 * address, or 0 when @root uses the code page's slot or an upper slot the kernel uses itself.
 */
static uint64_t r3_build_root(uint64_t root)
{
    const pte_t *kern = env_phys_to_virt(kernel_pt.root);
    const pte_t *mm = root ? env_phys_to_virt(root & PTE_ADDR_MASK) : NULL;
    for (unsigned int i = 0; i < PT_ENTRIES; i++) {
        pte_t e = mm ? mm[i] : 0;
        if (i >= PT_ENTRIES / 2 && (e & PTE_P) && (kern[i] & PTE_P) && e != kern[i])
            return 0;
        r3_root[i] = i >= PT_ENTRIES / 2 && !(e & PTE_P) ? kern[i] : e;
    }
    if (r3_root[PT_INDEX(RING3_CODE_VA, 3)] & PTE_P)
        return 0;
    r3_root[PT_INDEX(RING3_CODE_VA, 3)] = KERNEL_V2P(r3_pdpt) | R3_USER_TABLE;
    r3_pdpt[PT_INDEX(RING3_CODE_VA, 2)] = KERNEL_V2P(r3_pd) | R3_USER_TABLE;
    r3_pd[PT_INDEX(RING3_CODE_VA, 1)] = KERNEL_V2P(r3_pt) | R3_USER_TABLE;
    r3_pt[PT_INDEX(RING3_CODE_VA, 0)] = KERNEL_V2P(ring3_code_page) | PTE_P | PTE_US;
    r3_pt[PT_INDEX(RING3_CODE_VA + PAGE_SIZE, 0)] =
        KERNEL_V2P(r3_scratch) | PTE_P | PTE_US | PTE_RW | PTE_NX;
    return KERNEL_V2P(r3_root);
}

struct r3_call {
    uint64_t cr3, rip;
    const struct ring3_regs *regs;
};

static void r3_enter(void *arg)
{
    const struct r3_call *c = arg;
    cpu_write_cr3(c->cr3);
    user_run_enter(c->rip, c->regs, 0x2); /* IF, TF, AC, DF clear */
}

int kernel_ring3_run(uint64_t root, uintptr_t rip, const struct ring3_regs *regs,
                     struct kernel_fault *f)
{
    if (KERNEL_PERCPU_READ(index) != 0 || !regs || rip < RING3_CODE_VA ||
        rip >= RING3_CODE_VA + PAGE_SIZE)
        return -1;
    struct r3_call c = { .cr3 = r3_build_root(root), .rip = rip, .regs = regs };
    if (!c.cr3)
        return -1;
    (void)kernel_probe(r3_enter, &c, f); /* always traps: the routine ends in ud2 */
    return 0;
}

/* ---- the fuzz platform's MMU access ---- */

struct r3_sup_copy {
    uint64_t cr3;
    void *dst;
    const void *src;
    size_t len;
    bool user_page;
};

/* A ring-0 copy under the run's CR3 (rep movsb in asm: no sanitizer sees the window's pages). */
static void r3_sup_copy(void *arg)
{
    const struct r3_sup_copy *c = arg;
    void *d = c->dst;
    const void *s = c->src;
    size_t n = c->len;
    uint64_t saved = cpu_read_cr3();
    cpu_write_cr3(c->cr3);
    if (c->user_page)
        uaccess_window_open();
    __asm__ __volatile__("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    if (c->user_page)
        uaccess_window_close();
    cpu_write_cr3(saved);
}

/* One chunk within a page: 0 done, 1 a #PF (*@pf its code), -1 something else trapped. */
static int r3_copy_chunk(uint64_t root, uintptr_t va, void *buf, size_t n, unsigned int access,
                         unsigned int *pf)
{
    bool write = access & MMU_WRITE;
    struct kernel_fault f = { 0 };
    if (access & MMU_USER) {
        uintptr_t scratch = RING3_CODE_VA + PAGE_SIZE;
        struct ring3_regs r = { .rcx = n, .rsi = write ? scratch : va, .rdi = write ? va : scratch };
        if (write)
            memcpy(r3_scratch, buf, n);
        if (kernel_ring3_run(root, kernel_ring3_entry(RING3_COPY), &r, &f))
            return -1;
        if (f.vector == 6 && !write)
            memcpy(buf, r3_scratch, n);
    } else {
        struct r3_sup_copy c = { .cr3 = r3_build_root(root), .dst = write ? (void *)va : buf,
                                 .src = write ? buf : (const void *)va, .len = n,
                                 .user_page = va < ARCH_USER_VA_END };
        if (!c.cr3)
            return -1;
        if (!kernel_probe(r3_sup_copy, &c, &f))
            return 0;
    }
    if (f.vector == 6 && (access & MMU_USER))
        return 0;
    if (f.vector != 14 || f.cr2 != va)
        return -1;
    *pf = (unsigned int)f.error_code & R3_PF_MASK;
    return 1;
}

size_t kernel_mmu_copy(uint64_t root, uintptr_t va, void *buf, size_t len, unsigned int access,
                       unsigned int *pf_error)
{
    size_t done = 0;
    unsigned int pf = 0;
    if ((access & MMU_EXEC) || !(kernel_cpu.pks && kernel_cpu.pku))
        return (size_t)-1;
    while (done < len) {
        uintptr_t cur = va + done;
        size_t n = PAGE_SIZE - (cur & (PAGE_SIZE - 1));
        n = n < len - done ? n : len - done;
        int r = r3_copy_chunk(root, cur, (char *)buf + done, n, access, &pf);
        if (r < 0)
            return (size_t)-1;
        if (r > 0)
            break;
        done += n;
    }
    if (pf_error)
        *pf_error = done < len ? pf : 0;
    return done;
}
