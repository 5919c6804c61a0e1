/*
 * ktest_kernel.c - the mm unit tests inside the kernel: the suite list of kt_suites.h, the output
 * sink (the serial line) and the platform hooks kt_util.h asks for (kt_host_*).
 *
 * Which tests run: every ALL() suite of kt_suites.h, from the same tests/test_*.c sources as the
 * hosted build (test_mmu.c, the HOSTED() suite, is not linked and is reported skipped with its
 * reason). Inside a suite a case is skipped only by kt_boot_current's rule: its machine ends
 * beyond machine_capacity(), the 512 MiB machine area (the 1 GiB PC layouts).
 *
 * The "foreign" page (memory that is no machine's) is one page-aligned page of the kernel image;
 * it is handed out once at a time.
 */
#include "kernel_arch.h"
#include "kernel_env.h"
#include "kt_suites.h"
#include "kt_util.h"
#include "ktest_kernel.h"

#define KT_KERNEL_SKIP_DEFINE(sname, why) \
    static const struct ktest_suite kernel_skip_##sname = { .name = #sname, .skip = why };
#define KT_KERNEL_SKIP_REF(sname, why) &kernel_skip_##sname,

KT_SUITE_LIST(KT_SUITE_DECLARE, KT_KERNEL_SKIP_DEFINE)

const struct ktest_suite *const kernel_unit_suites[] = {
    KT_SUITE_LIST(KT_SUITE_REF, KT_KERNEL_SKIP_REF)
};
const unsigned int kernel_nr_unit_suites = (unsigned int)MM_ARRAY_SIZE(kernel_unit_suites);

static unsigned char kt_foreign[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static bool kt_foreign_busy;

void ktest_host_write(const char *s, size_t len)
{
    kernel_serial_write(s, len);
}

void *kt_host_foreign_page(void)
{
    if (kt_foreign_busy)
        return NULL;
    kt_foreign_busy = true;
    memset(kt_foreign, 0x5a, PAGE_SIZE);
    return kt_foreign;
}

void kt_host_free_foreign(void *p)
{
    if (p == kt_foreign)
        kt_foreign_busy = false;
}
