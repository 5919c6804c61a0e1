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
 *                      "pmdump" the post-mortem's dump shows it to ./build.sh postmortem
 * "trace=LIST" replaces the demo machine's trace mask (every class by default).
 */
#include "kasan.h"
#include "kernel_arch.h"
#include "kernel_boot.h"
#include "kernel_env.h"
#include "kt_util.h"
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

    if (!p || !obj)
        return;
    env_log(ENV_LOG_INFO, "crash demo: pfn 0x%lx marked free while allocated, kmalloc object %p\n",
            page_to_pfn(p), obj);
    p->flags |= PG_buddy; /* the corruption; the NULL read below is the crash */
    crash_sink = *(volatile unsigned int *)(uintptr_t)crash_sink;
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
    else if (!ktest_strcmp(kind, "ubsan-shift"))
        crash_ubsan_shift(32);
    else
        env_log(ENV_LOG_ERR, "crash demo: unknown kind '%s'\n", kind);
    env_log(ENV_LOG_ERR, "crash demo: %s ended without a CPU fault; reports: KASAN %lu, UBSan %lu\n",
            kind, kasan_unexpected_reports(), ubsan_unexpected_reports());
}
