/*
 * test_main.c - hosted entry point of the mm unit tests: every suite of kt_suites.h, command-line
 * options, the output sink and the hosted-only helpers (kt_host_*). The only file that uses libc.
 *
 * Usage: mm_tests [--filter SUBSTR] [--verbose]
 *   --filter  run only suites, or cases, whose name contains SUBSTR
 *   --verbose keep the mm's log output (misuse reports etc.) instead of silencing it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_suites.h"
#include "kt_util.h"

KT_SUITE_LIST(KT_SUITE_DECLARE, KT_SUITE_DECLARE_HOSTED)

static const struct ktest_suite *const all_suites[] = {
    KT_SUITE_LIST(KT_SUITE_REF, KT_SUITE_REF_HOSTED)
};

void ktest_host_write(const char *s, size_t len)
{
    fwrite(s, 1, len, stdout);
    fflush(stdout);
}

void *kt_host_foreign_page(void)
{
    void *p = NULL;

    if (posix_memalign(&p, PAGE_SIZE, PAGE_SIZE) != 0)
        return NULL;
    memset(p, 0x5a, PAGE_SIZE);
    return p;
}

void kt_host_free_foreign(void *p)
{
    free(p);
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--filter SUBSTR] [--verbose]\n", argv0);
}

int main(int argc, char **argv)
{
    const char *filter = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else if (strncmp(argv[i], "--filter=", 9) == 0) {
            filter = argv[i] + 9;
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            ktest_verbose = true;
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    machine_set_log_level(ktest_verbose ? ENV_LOG_DEBUG : -1);
    int failed = ktest_run(all_suites, (unsigned int)MM_ARRAY_SIZE(all_suites), filter);

    return failed ? 1 : 0;
}
