/*
 * fuzz_entry.h - the target an engine entry (libfuzzer_main.c, afl_main.c) is built for, chosen
 * at compile time with -DFUZZ_TARGET=<name> (default page_alloc): FUZZ_THE_TARGET names its
 * struct fuzz_target.
 */
#ifndef LEAXOS_FUZZ_ENTRY_H
#define LEAXOS_FUZZ_ENTRY_H

#include "fuzz_target.h"

#ifndef FUZZ_TARGET
#define FUZZ_TARGET page_alloc
#endif
#define FUZZ_CAT_(a, b) a##b
#define FUZZ_CAT(a, b) FUZZ_CAT_(a, b)
#define FUZZ_THE_TARGET FUZZ_CAT(fuzz_target_, FUZZ_TARGET)

#endif
