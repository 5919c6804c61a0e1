/*
 * platform_machine.h - the three things the fuzz platform does differently in the hosted build
 * and in the kernel. Everything else of struct fuzz_platform is platform_machine.c, which both
 * builds share: it drives the machine API of machine.h, implemented over the simulated
 * machine by shims/hosted and over the QEMU machine by shims/kernel.
 *
 *   hosted (platform_hosted.c)   stderr          abort()                     machine_user_copy
 *   kernel (platform_kernel.c)   serial console  back to fuzz_run_guarded    kernel_user_copy
 * and, after each op, the hosted TLB audit (machine_tlb_op_done; nothing in the kernel), and the
 * scheduled CPUs of target smp (machine_sched_run; none in the kernel), and the host kernel target
 * linux compares with (a child process, linux_child_hosted.c; none in the kernel).
 */
#ifndef LEAXOS_FUZZ_PLATFORM_MACHINE_H
#define LEAXOS_FUZZ_PLATFORM_MACHINE_H

#include "fuzz_target.h"

/** The platform's name ("hosted" or "kernel"). */
extern const char fuzz_machine_name[];

/** Write @line and a newline; must work with the mm in any state. */
void fuzz_machine_write_line(const char *line);

/** Stop a failed run (see struct fuzz_platform.crash). Does not return. */
_Noreturn void fuzz_machine_crash(void);

/** User access through the MMU with fault-and-retry (see struct fuzz_platform.user_copy). */
int fuzz_machine_user_copy(void *mm, uintptr_t va, void *buf, size_t len, unsigned int access,
                           uintptr_t *fault_va);

/** After each op's exec (see struct fuzz_platform.op_done): the hosted TLB audit, or nothing. */
void fuzz_machine_op_done(void);

/** The scheduled mode (see struct fuzz_platform.smp_run): machine_sched_run; in the kernel the
 * CPUs run one after the other. */
int fuzz_machine_smp_run(void (*fn)(unsigned int cpu, void *arg), void *arg, const uint8_t *sched,
                         size_t len, bool atomics, struct fuzz_smp_stats *st);

/** Target linux's host (see struct fuzz_platform.linux_call): the child process of
 * linux_child_hosted.c hosted; -1 (no host kernel to compare with) in the kernel. */
int fuzz_machine_linux_call(const struct lx_req *rq, struct lx_reply *rp);

#endif /* LEAXOS_FUZZ_PLATFORM_MACHINE_H */
