/*
 * platform_hosted.c - what the fuzz platform does differently in the hosted build (libc allowed
 * here): lines go to stderr, a failed run aborts (the crash a fuzzer records), user accesses go
 * through the software MMU (machine_user_copy), and after each op the TLBs are audited so that a
 * stale-entry report names the op that changed a translation without a flush (machine_tlb_op_done,
 * with the engine's cursor as the namer). The rest is platform_machine.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "platform_machine.h"
#include "machine.h"
#include "machine_user.h"

const char fuzz_machine_name[] = "hosted";

void fuzz_machine_write_line(const char *line)
{
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

_Noreturn void fuzz_machine_crash(void)
{
    fflush(stdout);
    fflush(stderr);
    abort();
}

/* The op a stale-TLB report names: "op#N [text]" of the engine's cursor. */
static const char *platform_op_name(void)
{
    static char name[FUZZ_LINE_MAX + 16];

    snprintf(name, sizeof(name), "op#%u [%s]", (unsigned int)fuzz_cur.opno, fuzz_cur_text());
    return name;
}

__attribute__((constructor)) static void platform_hosted_init(void)
{
    machine_tlb_set_op_namer(platform_op_name);
}

void fuzz_machine_op_done(void)
{
    machine_tlb_op_done();
}

int fuzz_machine_user_copy(void *mm, uintptr_t va, void *buf, size_t len, unsigned int access,
                           uintptr_t *fault_va)
{
    static const unsigned int acc[3] = { MMU_READ, MMU_WRITE, MMU_EXEC };

    return (int)machine_user_copy(mm, va, buf, len, acc[access % 3], fault_va);
}

int fuzz_machine_smp_run(void (*fn)(unsigned int cpu, void *arg), void *arg,
                            const uint8_t *sched, size_t len, bool atomics,
                            struct fuzz_smp_stats *st)
{
    struct machine_sched_stats hs;
    machine_sched_set_atomics(atomics);
    int err = machine_sched_run(fn, arg, sched, len);
    machine_sched_set_atomics(false);

    machine_sched_get_stats(&hs);
    *st = (struct fuzz_smp_stats){ hs.points, hs.switches, hs.waits, hs.trace };
    return err;
}
