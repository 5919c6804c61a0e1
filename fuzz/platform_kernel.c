/*
 * platform_kernel.c - what the fuzz platform does differently in the kernel: lines go to the
 * serial console, a failed run returns to the corpus replay's fuzz_run_guarded (the input counts
 * as failed; outside a guarded run it ends the boot with a failure exit), user accesses go
 * through the real MMU (kernel_user_copy: CR3 switched, SMAP window, #PF to handle_mm_fault and
 * retry), target domains' accesses too (kernel_mmu_copy: ring 0 or ring 3, real PKS/PKU). The
 * rest is platform_machine.c. Freestanding: kernel_arch.h only.
 */
#include "platform_machine.h"
#include "kernel_arch.h"
#include "machine.h"

const char fuzz_machine_name[] = "kernel";

void fuzz_machine_write_line(const char *line)
{
    size_t n = 0;

    while (line[n])
        n++;
    kernel_serial_write(line, n);
    kernel_serial_write("\n", 1);
}

_Noreturn void fuzz_machine_crash(void)
{
    fuzz_guard_escape();
    kernel_exit(KERNEL_EXIT_FAIL);
}

/* Real TLBs: nothing to audit; a planted defect (kernel_fuzz_plant) goes in here, once. */
void fuzz_machine_op_done(void)
{
    void (*plant)(void) = kernel_fuzz_plant;

    kernel_fuzz_plant = NULL;
    if (plant)
        plant();
}

int fuzz_machine_user_copy(void *mm, uintptr_t va, void *buf, size_t len, unsigned int access,
                           uintptr_t *fault_va)
{
    return kernel_user_copy(mm, va, buf, len, access, fault_va);
}

/* Target domains: the access on the real CPU (ring 0, or ring 3 for MMU_USER), keys enforced by
 * PKS/PKU (kernel_mmu_copy, arch/x86_64/kernel/ring3.c). */
size_t fuzz_machine_mmu_copy(phys_addr_t root, uintptr_t va, void *buf, size_t len,
                             unsigned int access, unsigned int *pf_error)
{
    return kernel_mmu_copy(root, va, buf, len, access, pf_error);
}

/* One real CPU and no threads: the CPUs run one after the other, each to its end. */
int fuzz_machine_smp_run(void (*fn)(unsigned int cpu, void *arg), void *arg, const uint8_t *sched,
                         size_t len, bool atomics, struct fuzz_smp_stats *st)
{
    (void)sched;
    (void)len;
    (void)atomics;
    for (unsigned int cpu = 0; cpu < mm_nr_cpus(); cpu++) {
        machine_cpu_set(cpu);
        fn(cpu, arg);
    }
    machine_cpu_set(0);
    *st = (struct fuzz_smp_stats){ 0 };
    return 0;
}

/* No host kernel under the kernel: target linux is hosted-only and never replayed here. */
int fuzz_machine_linux_call(const struct lx_req *rq, struct lx_reply *rp)
{
    (void)rq;
    (void)rp;
    return -1;
}
