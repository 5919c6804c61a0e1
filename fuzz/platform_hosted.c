/*
 * platform_hosted.c - what the fuzz platform does differently in the hosted build (libc allowed
 * here): lines go to stderr, a failed run aborts (the crash a fuzzer records), user accesses go
 * through the software MMU (hosted_user_copy). The rest is platform_machine.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "platform_machine.h"
#include "hosted_user.h"

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

int fuzz_machine_user_copy(void *mm, uintptr_t va, void *buf, size_t len, unsigned int access,
                           uintptr_t *fault_va)
{
    static const unsigned int acc[3] = { MMU_READ, MMU_WRITE, MMU_EXEC };

    return (int)hosted_user_copy(mm, va, buf, len, acc[access % 3], fault_va);
}
