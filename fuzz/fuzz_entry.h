/*
 * fuzz_entry.h - the target an engine entry (libfuzzer_main.c, afl_main.c) is built for, chosen
 * at compile time with -DFUZZ_TARGET=<name> (default page_alloc): FUZZ_THE_TARGET names its
 * struct fuzz_target.
 */
#ifndef LEAXOS_FUZZ_ENTRY_H
#define LEAXOS_FUZZ_ENTRY_H

#include <stdlib.h>

#include "fuzz_target.h"

#ifndef FUZZ_TARGET
#define FUZZ_TARGET page_alloc
#endif
/* GNU C predefines "linux" as 1 on Linux hosts, which would make -DFUZZ_TARGET=linux name
 * fuzz_target_1; no entry uses the old macro (it has __linux__) */
#undef linux
#define FUZZ_CAT_(a, b) a##b
#define FUZZ_CAT(a, b) FUZZ_CAT_(a, b)
#define FUZZ_THE_TARGET FUZZ_CAT(fuzz_target_, FUZZ_TARGET)

/*
 * The engines check the whole mm every FUZZ_CHECK_EVERY_DEFAULT ops (fuzz_target.h); triage,
 * repro and the corpus replay go through the replay program, which checks after every op. In
 * the environment FUZZ_CHECK_EVERY_OP=1 makes an engine binary check after every op too (e.g.
 * to replay a crash file with it), FUZZ_CHECK_EVERY=N every N ops.
 */
static inline void fuzz_entry_check_cadence(void)
{
    const char *op = getenv("FUZZ_CHECK_EVERY_OP"), *every = getenv("FUZZ_CHECK_EVERY");

    fuzz_check_every = FUZZ_CHECK_EVERY_DEFAULT;
    if (every && atoi(every) > 0)
        fuzz_check_every = (unsigned int)atoi(every);
    if (op && atoi(op) != 0)
        fuzz_check_every = 1;
}

#endif
