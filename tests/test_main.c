/*
 * test_main.c - hosted entry point of the mm unit tests: the suite list, command-line options and
 * the hosted-only helpers (kt_host_*). The only file besides ktest.c that uses libc.
 *
 * Usage: mm_tests [--filter SUBSTR] [--verbose]
 *   --filter  run only suites, or cases, whose name contains SUBSTR
 *   --verbose keep the mm's log output (misuse reports etc.) instead of silencing it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_util.h"

extern const struct ktest_suite suite_boot;
extern const struct ktest_suite suite_memblock;
extern const struct ktest_suite suite_buddy;
extern const struct ktest_suite suite_misuse;
extern const struct ktest_suite suite_reclaim;
extern const struct ktest_suite suite_pcp;
extern const struct ktest_suite suite_stats;
extern const struct ktest_suite suite_check;
extern const struct ktest_suite suite_inject;
extern const struct ktest_suite suite_format;
extern const struct ktest_suite suite_slab;
extern const struct ktest_suite suite_slab_misuse;
extern const struct ktest_suite suite_kmalloc;
extern const struct ktest_suite suite_slab_harden;
extern const struct ktest_suite suite_vmalloc;
extern const struct ktest_suite suite_vm;
extern const struct ktest_suite suite_page_table;
extern const struct ktest_suite suite_mmu;
extern const struct ktest_suite suite_swap;

static const struct ktest_suite *const all_suites[] = {
    &suite_boot,
    &suite_memblock,
    &suite_buddy,
    &suite_misuse,
    &suite_reclaim,
    &suite_pcp,
    &suite_stats,
    &suite_check,
    &suite_inject,
    &suite_format,
    &suite_slab,
    &suite_slab_misuse,
    &suite_kmalloc,
    &suite_slab_harden,
    &suite_vmalloc,
    &suite_vm,
    &suite_page_table,
    &suite_mmu,
    &suite_swap,
};

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
    hosted_set_log_level(ktest_verbose ? ENV_LOG_DEBUG : -1);
    int failed = ktest_run(all_suites, (unsigned int)MM_ARRAY_SIZE(all_suites), filter);

    return failed ? 1 : 0;
}
