/*
 * afl_main.c - AFL++ persistent-mode entry for one target, chosen at compile time
 * (afl-clang-fast ... -DFUZZ_TARGET=page_alloc). The testcase arrives through AFL++'s shared
 * memory (__AFL_FUZZ_TESTCASE_BUF) and up to 10000 inputs run in one process; every input boots a
 * fresh mm instance, so nothing leaks from one input to the next (stability).
 * Outside afl-fuzz (no shared memory) it reads one input from a file argument or stdin, so the same
 * binary replays a crash: ./afl_page_alloc crash-file
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_entry.h"

__AFL_FUZZ_INIT();

int main(int argc, char **argv)
{
    fuzz_platform.set_quiet(true);
    fuzz_entry_check_cadence();
    mm_misuse_set_log_level(ENV_LOG_DEBUG);
    if (argc > 1 && freopen(argv[1], "rb", stdin) == NULL) {
        perror(argv[1]);
        return 2;
    }
    __AFL_INIT();
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000)) {
        size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
        if (len > FUZZ_MAX_INPUT)
            len = FUZZ_MAX_INPUT;
        fuzz_run(&FUZZ_THE_TARGET, buf, len);
    }
    return 0;
}
