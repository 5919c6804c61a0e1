/*
 * crash.c - deliberate kernel bugs on request, to show what a real one looks like.
 *
 * `qemu -append "crash=KIND"` makes kmain run one of these instead of the tests. None is caught:
 * each ends in the kernel's own report (a #PF or #DF crash report with registers, the decoded
 * address and a post-mortem of the mm with its last trace events; or a KASAN/UBSan report) and a failing exit status, which
 * `./build.sh test` checks line by line. The kinds:
 *   vmalloc-overflow   a write one byte past a vmalloc'd page (its guard page)
 *   stack-overflow     unbounded recursion into the guard page under the boot stack
 *   null-deref         a read through a NULL pointer
 *   kasan-uaf          a read of a kfree'd kmalloc object (hardened kernel: KASAN report)
 *   ubsan-shift        a shift by the operand's width (hardened kernel: UBSan report)
 *   mm-corrupt         damage the mm, then a NULL read: an allocated page marked as the head of
 *                      a free buddy block (what a stray write into struct page does); with
 *                      "pmdump" the post-mortem's dump shows it to ./build.sh postmortem (a
 *                      kmalloc object held only by a vmalloc area marked not-a-leak: the tool's
 *                      leak scan must read the area's contents to reach it)
 *   mm-check           no trap: an mm_check failure the boot survives. Needs a corpus pack (qemu
 *                      --pack): its replay gets an allocated page marked free after the first op
 *                      (kernel_fuzz_plant), which the target's own mm_check names; then a test
 *                      case runs KT_MM_CHECK over the same damage in the demo machine. With
 *                      "pmdump" the first failure writes the mm's dump, the second says it was
 *                      skipped; both are reported as failures as always.
 * "trace=LIST" replaces the demo machine's trace mask (every class by default).
 */
#include "kasan.h"
#include "kernel_arch.h"
#include "kernel_boot.h"
#include "kernel_env.h"
#include "kt_util.h"
#include "replay_kernel.h"
#include "fuzz_target.h"
#include "mm_leak.h"
#include "mm_trace.h"
#include "page_alloc.h"
#include "slab.h"
#include "ubsan.h"
#include "vmalloc.h"

static volatile unsigned int crash_sink;

static MM_NOINLINE unsigned int crash_recurse(unsigned int depth)
{
    volatile char frame[256];

    frame[0] = (char)depth;
    if (depth == ~0u) /* never: only here so the compiler keeps the recursion unbounded at run time */
        return frame[0];
    return crash_recurse(depth + 1) + frame[0];
}

static MM_NOINLINE void crash_vmalloc_overflow(void)
{
    volatile uint8_t *p = vmalloc(PAGE_SIZE);

    if (p)
        p[PAGE_SIZE] = 1;
}

static MM_NOINLINE void crash_kasan_uaf(void)
{
    volatile uint8_t *p = kmalloc(48, GFP_KERNEL);

    if (!p)
        return;
    kfree((void *)p);
    crash_sink = p[8];
}

static MM_NOINLINE void crash_mm_corrupt(void)
{
    struct page *p = alloc_pages(GFP_KERNEL, 0);
    void *obj = kmalloc(100, GFP_KERNEL); /* something in a slab for the dump to show */
    void **area = vmalloc(2 * PAGE_SIZE);  /* holds obj, on its second page: the offline leak
                                              scan reads it through the dumped pages */

    if (!p || !obj || !area)
        return;
    area[PAGE_SIZE / sizeof(void *) + 5] = obj;
    mm_leak_ignore(area); /* not a leak: so what it holds is reached */
    env_log(ENV_LOG_INFO, "crash demo: pfn 0x%lx marked free while allocated, kmalloc object %p "
            "held by vmalloc area %p\n", page_to_pfn(p), obj, (void *)area);
    p->flags |= PG_buddy; /* the corruption; the NULL read below is the crash */
    crash_sink = *(volatile unsigned int *)(uintptr_t)crash_sink;
}

void (*kernel_fuzz_plant)(void);

/* The damage of mm-check: a fresh page marked as the head of a free buddy block (page.stray). */
static void crash_plant_stray_page(void)
{
    struct page *p = alloc_pages(GFP_KERNEL, 0);

    if (p)
        p->flags |= PG_buddy;
    env_log(ENV_LOG_INFO, "crash demo: planted: pfn 0x%lx marked free while allocated\n",
            p ? page_to_pfn(p) : 0ul);
}

static int test_mm_check_planted(void)
{
    KT_TRY(kt_boot_current()); /* the demo machine again: the corpus replay booted its own */
    crash_plant_stray_page();
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case crash_check_cases[] = {
    KT_CASE(mm_check_planted),
};
static KT_SUITE(crash_check, crash_check_cases);

static void crash_mm_check(uint32_t trace_mask)
{
    static const struct ktest_suite *const suites[] = { &suite_crash_check };
    size_t size;
    const void *pack = kernel_corpus_pack(&size);

    if (!pack) {
        env_log(ENV_LOG_ERR, "crash demo: mm-check needs a corpus pack (qemu --pack FILE)\n");
        return;
    }
    fuzz_trace_mask = trace_mask; /* the dump's trace rings hold the events before the failure */
    kernel_fuzz_plant = crash_plant_stray_page; /* once: after op #1 of the first run */
    kernel_corpus_check_every = 1; /* so the planted damage meets mm_check after op #1 */
    int corpus_failed = kernel_corpus_replay(pack, size, NULL);
    kernel_fuzz_plant = NULL;
    int test_failed = ktest_run(suites, 1, NULL);
    env_log(ENV_LOG_ERR, "crash demo: mm-check: corpus inputs failed %d, test cases failed %d\n",
            corpus_failed, test_failed);
}

static MM_NOINLINE void crash_ubsan_shift(volatile unsigned int width)
{
    crash_sink = 1u << width;
}

/* Run the bug @kind names. Returns only if nothing trapped: the caller then fails the boot. */
void kernel_crash_demo(const char *kind)
{
    kernel_set_log_level(ENV_LOG_INFO);
    env_log(ENV_LOG_INFO, "crash demo: %s\n", kind);
    machine_pc(&kt_m, KT_MIB(64), 1);
    bool trace_given;
    uint32_t mask = kernel_cmdline_trace_mask(&trace_given);
    kt_m.trace_mask = trace_given ? mask : MM_TRACE_ALL; /* the post-mortem shows the events that
                                                            led to the crash */
    if (kt_boot_current()) {
        env_log(ENV_LOG_ERR, "crash demo: machine boot failed\n");
        return;
    }
    if (!ktest_strcmp(kind, "vmalloc-overflow"))
        crash_vmalloc_overflow();
    else if (!ktest_strcmp(kind, "stack-overflow"))
        crash_sink = crash_recurse(0);
    else if (!ktest_strcmp(kind, "null-deref"))
        crash_sink = *(volatile unsigned int *)(uintptr_t)crash_sink;
    else if (!ktest_strcmp(kind, "kasan-uaf"))
        crash_kasan_uaf();
    else if (!ktest_strcmp(kind, "mm-corrupt"))
        crash_mm_corrupt();
    else if (!ktest_strcmp(kind, "mm-check"))
        crash_mm_check(kt_m.trace_mask);
    else if (!ktest_strcmp(kind, "ubsan-shift"))
        crash_ubsan_shift(32);
    else
        env_log(ENV_LOG_ERR, "crash demo: unknown kind '%s'\n", kind);
    env_log(ENV_LOG_ERR, "crash demo: %s ended without a CPU fault; reports: KASAN %lu, UBSan %lu\n",
            kind, kasan_unexpected_reports(), ubsan_unexpected_reports());
}
