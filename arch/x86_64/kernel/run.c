/*
 * run.c - the boot-time test run: one KTAP document over every group, then the totals.
 *
 *   KTAP version 1
 *   1..N
 *     the unit-test suites of tests/ (kt_suites.h, as tests/kernel/ktest_kernel.c lists them)
 *     protect      the hardware protections (check_protect.c)
 *     pkeys        protection domains refused by the CPU's protection keys (check_pkeys.c)
 *     sanitizers   deliberate bugs the hardened kernel's KASAN/UBSan must report (check_sanitizers.c)
 *     corpus       every file of corpus/ through its fuzz target (fuzz/replay_kernel.c), from the
 *                  pack passed as the first multiboot module
 *     smp          every CPU at once (smp_stress.c): IPIs, shootdowns, the concurrent stress;
 *                  skipped with one CPU
 *     numa_tick    automatic NUMA balancing with its scans driven by the LAPIC timer (numa_tick.c)
 *     reports      no sanitizer report outside an expect window during the whole run
 *   # Totals: pass:P fail:F skip:S
 *   P passed, F failed
 *
 * The command line (qemu -append) selects: "filter=SUBSTR" runs only the suites or cases whose
 * name contains SUBSTR (as the hosted runner's --filter); "verbose" keeps the mm's log output;
 * "trace" prints every replayed op with its outcome and the mm's trace events (repro --kernel); "mutants=K" replays K
 * deterministic variants of every corpus file too (fuzz/mutate.h; the hosted "replay --mutants K
 * --pack" prints the same DIGEST lines); "crash=KIND" runs one deliberate bug instead of the
 * tests (crash.c); "smp_break=shootdown" plants a missing TLB shootdown (env_tlb_flush_range
 * flushes only the calling CPU), which suite smp must catch; "pmdump" makes a crash's post-mortem
 * also write the mm's dump (mm_dump.h) as base64 between "MM-DUMP BEGIN" and "MM-DUMP END" lines
 * (./build.sh postmortem reads the log), and the first failure the boot survives (a corpus
 * input's FUZZ-FAIL, a test's KT_MM_CHECK) write one before it is reported; "trace=LIST" (names or a hex mask) enables trace classes
 * from boot in the boot instance and the crash demo's machine.
 */
#include "arch_cpu.h"
#include "check_sanitizers.h"
#include "fuzz_target.h"
#include "kasan.h"
#include "kernel_arch.h"
#include "kernel_boot.h"
#include "kernel_env.h"
#include "kernel_smp.h"
#include "kt_util.h"
#include "ktest_kernel.h"
#include "mm_trace.h"
#include "replay_kernel.h"
#include "ubsan.h"

extern const struct ktest_suite suite_protect;
extern const struct ktest_suite suite_pkeys;
extern const struct ktest_suite suite_numa_tick;

#define RUN_MAX_SUITES 48

static int run_sanitizers(unsigned int *passed, unsigned int *skipped)
{
    int failed = kernel_check_sanitizers();

    if (env_shadow_enabled)
        *passed = KERNEL_SANITIZER_CHECKS - (unsigned int)failed;
    else
        *skipped = KERNEL_SANITIZER_CHECKS;
    return failed;
}

static int run_corpus(unsigned int *passed, unsigned int *skipped)
{
    size_t size;
    const void *pack = kernel_corpus_pack(&size);

    (void)passed;
    if (!pack) {
        ktest_printf("    KTAP version 1\n    # Subtest: corpus\n    1..0 # SKIP no corpus pack "
                     "(qemu -initrd)\n");
        *skipped = 1;
        return 0;
    }
    return kernel_corpus_replay(pack, size, passed);
}

static const struct ktest_suite suite_sanitizers = { .name = "sanitizers", .run_block = run_sanitizers };
static const struct ktest_suite suite_corpus = { .name = "corpus", .run_block = run_corpus };

static int test_no_unexpected_reports(void)
{
    KT_ASSERT_EQ(kasan_unexpected_reports(), 0);
    KT_ASSERT_EQ(ubsan_unexpected_reports(), 0);
    return 0;
}

static const struct ktest_case reports_cases[] = {
    KT_CASE(no_unexpected_reports),
};
static KT_SUITE(reports, reports_cases);

/* The value of "key=" in the command line, copied into @buf; NULL when absent. */
static const char *run_cmdline_value(const char *key, char *buf, size_t size)
{
    const char *c = kernel_boot.cmdline;
    size_t klen = 0;

    while (key[klen])
        klen++;
    for (; c && *c; c++) {
        if ((c == kernel_boot.cmdline || c[-1] == ' ') && memcmp(c, key, klen) == 0 &&
            c[klen] == '=') {
            size_t n = 0;
            for (c += klen + 1; *c && *c != ' ' && n + 1 < size; c++)
                buf[n++] = *c;
            buf[n] = 0;
            return buf;
        }
    }
    return NULL;
}

/* Is @word one of the command line's space-separated words? (A substring test would also find
 * "trace" in the kernel's own path, e.g. /work/wt-trace/build/kernel/leaxos.bin.) */
static bool run_cmdline_flag(const char *word)
{
    const char *c = kernel_boot.cmdline;
    size_t wlen = 0;

    while (word[wlen])
        wlen++;
    for (; c && *c; c++)
        if ((c == kernel_boot.cmdline || c[-1] == ' ') && memcmp(c, word, wlen) == 0 &&
            (c[wlen] == ' ' || c[wlen] == 0))
            return true;
    return false;
}

void kernel_crash_demo(const char *kind);

/* "trace=LIST" (class names as mm_trace_parse_mask takes them, or a hex mask 0x...): the trace
 * classes enabled from boot; *@given false when the command line has none. An unknown name or a
 * bit beyond the classes is reported and ignored (0). */
uint32_t kernel_cmdline_trace_mask(bool *given)
{
    char v[160];
    uint32_t mask = 0;

    *given = run_cmdline_value("trace", v, sizeof(v)) != NULL;
    if (!*given)
        return 0;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        for (const char *c = v + 2; *c; c++) {
            unsigned int d = *c >= '0' && *c <= '9' ? (unsigned int)(*c - '0')
                           : (*c | 0x20) >= 'a' && (*c | 0x20) <= 'f' ? (unsigned int)((*c | 0x20) - 'a' + 10)
                           : 16u;
            if (d == 16u || mask >> 28) {
                mask = ~0u;
                break;
            }
            mask = mask << 4 | d;
        }
    } else if (mm_trace_parse_mask(v, &mask)) {
        mask = ~0u;
    }
    if (mask & ~MM_TRACE_ALL) {
        env_log(ENV_LOG_ERR, "boot: trace=%s is not a list of trace classes or a mask within 0x%x: "
                "ignored\n", v, MM_TRACE_ALL);
        return 0;
    }
    return mask;
}

static unsigned int run_cmdline_u32(const char *s)
{
    unsigned int v = 0;

    for (; *s >= '0' && *s <= '9' && v < 100000; s++)
        v = v * 10 + (unsigned int)(*s - '0');
    return v;
}

/* The runner's per-suite clock: the TSC (TCG ticks it from the host clock; shares, not time). */
static unsigned long long run_clock_tsc(void)
{
    return arch_rdtsc();
}

int kernel_run_all(void)
{
    static const struct ktest_suite *suites[RUN_MAX_SUITES];
    static char filter[64], crash[32], mutants[16], check_every[16], smp_break[16];

    kernel_pm_dump = run_cmdline_flag("pmdump");
    if (kernel_pm_dump) { /* the first surviving failure dumps too, not only a trap */
        kernel_corpus_fail_dump = kernel_pm_dump_failure;
        kt_check_fail_hook = kernel_pm_dump_failure;
    }
    if (run_cmdline_value("crash", crash, sizeof(crash))) {
        kernel_crash_demo(crash);
        return 1;
    }
    unsigned int n = 0;
    int level = kernel_get_log_level();

    for (unsigned int i = 0; i < kernel_nr_unit_suites && n < RUN_MAX_SUITES - 7; i++)
        suites[n++] = kernel_unit_suites[i];
    suites[n++] = &suite_protect;
    suites[n++] = &suite_pkeys;
    suites[n++] = &suite_sanitizers;
    suites[n++] = &suite_corpus;
    suites[n++] = smp_nr_online() > 1 ? &suite_smp : &suite_smp_one_cpu;
    suites[n++] = &suite_numa_tick;
    suites[n++] = &suite_reports;
    ktest_verbose = run_cmdline_flag("verbose");
    ktest_clock = run_clock_tsc;
    fuzz_trace = run_cmdline_flag("trace");
    if (fuzz_trace)
        fuzz_trace_mask = MM_TRACE_ALL; /* each replayed op's mm events too (trace_view.c) */
    smp_skip_shootdown = run_cmdline_value("smp_break", smp_break, sizeof(smp_break)) &&
                         ktest_strstr(smp_break, "shootdown"); /* the planted missing flush */
    if (run_cmdline_value("mutants", mutants, sizeof(mutants)))
        kernel_corpus_mutants = run_cmdline_u32(mutants);
    if (run_cmdline_value("check_every", check_every, sizeof(check_every)))
        kernel_corpus_check_every = run_cmdline_u32(check_every);
    if (!ktest_verbose)
        kernel_set_log_level(ENV_LOG_ERR); /* sanitizer reports still print; chatter does not */
    int failed = ktest_run(suites, n, run_cmdline_value("filter", filter, sizeof(filter)));
    kernel_set_log_level(level);
    return failed;
}
