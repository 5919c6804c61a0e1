/*
 * libfuzzer_main.c - libFuzzer / AFL++ (libAFLDriver) entry for one target, chosen at compile time:
 *   clang -fsanitize=fuzzer,address,undefined -DFUZZ_TARGET=page_alloc ...
 * Quiet: the mm's own log output is silenced; FUZZ-FAIL lines still reach stderr.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_entry.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_platform.set_quiet(true);
    fuzz_entry_check_cadence();
    mm_misuse_set_log_level(ENV_LOG_DEBUG);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        size = FUZZ_MAX_INPUT; /* the decoder caps ops anyway; this keeps the boot cost fixed */
    return fuzz_run(&FUZZ_THE_TARGET, data, size);
}
