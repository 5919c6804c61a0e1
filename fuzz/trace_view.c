/*
 * trace_view.c - the mm's trace events (mm_trace.h) as the fuzz drivers show them.
 * Freestanding-clean: output goes through fuzz_log, so replay, triage and the kernel share it.
 *
 *   replay --trace     the machine boots with fuzz_trace_mask; after setup and after every op the
 *                      engine prints the events the op recorded (fuzz_trace_events), indented
 *                      under the op's line:    "  ev #41 cpu0 slab_alloc obj=0x... size=40 ..."
 *   replay --trace-tail N   the same mask, nothing per op; when the run crashes (fuzz_crash, or
 *                      a sanitizer's death callback in replay.c) the last N events of every CPU,
 *                      merged in sequence order, go out as "TRACE-TAIL ..." lines
 *
 * Invariant: fuzz_trace_seen is the sequence number of the last event shown; a boot restarts
 * the numbers (mm_trace_last_seq drops below it), which restarts the view.
 */
#include "fuzz_target.h"
#include "mm_trace.h"

uint32_t fuzz_trace_mask;
unsigned int fuzz_trace_tail;

static uint64_t fuzz_trace_seen;
static bool fuzz_trace_tail_done;
static struct mm_trace_event fuzz_trace_buf[MM_TRACE_RING_EVENTS];

/* Print @n events of fuzz_trace_buf, each line "<prefix>#seq cpuN class args". */
static void fuzz_trace_print(const char *prefix, int n)
{
    char line[200];
    for (int i = 0; i < n; i++) {
        mm_trace_format(&fuzz_trace_buf[i], line, sizeof(line));
        fuzz_log("%s%s", prefix, line);
    }
}

void fuzz_trace_start(void)
{
    fuzz_trace_seen = 0;
    fuzz_trace_tail_done = false;
    if (fuzz_trace_mask && mm_trace_get_mask() != fuzz_trace_mask)
        mm_trace_set_mask(fuzz_trace_mask); /* a target that booted without the platform */
}

void fuzz_trace_events(void)
{
    uint64_t last = mm_trace_last_seq();
    if (!fuzz_trace_mask)
        return;
    if (last < fuzz_trace_seen) /* booted again: numbering restarted */
        fuzz_trace_seen = 0;
    while (fuzz_trace_seen < last) {
        int n = mm_trace_read_since(fuzz_trace_seen, fuzz_trace_buf, MM_TRACE_RING_EVENTS);
        if (n <= 0)
            break;
        if (fuzz_trace_buf[0].seq > fuzz_trace_seen + 1)
            fuzz_log("  ev (%llu earlier events overwritten in the rings)",
                     (unsigned long long)(fuzz_trace_buf[0].seq - fuzz_trace_seen - 1));
        fuzz_trace_print("  ev ", n);
        fuzz_trace_seen = fuzz_trace_buf[n - 1].seq;
    }
}

void fuzz_trace_print_tail(void)
{
    if (!fuzz_trace_tail || fuzz_trace_tail_done)
        return;
    fuzz_trace_tail_done = true;
    unsigned int want = MM_MIN(fuzz_trace_tail, MM_TRACE_RING_EVENTS);
    int n = mm_trace_read_since(0, fuzz_trace_buf, want);
    fuzz_log("TRACE-TAIL last %d events (mask 0x%x, %llu recorded since boot) before the crash "
             "at op#%u:", n < 0 ? 0 : n, mm_trace_get_mask(),
             (unsigned long long)mm_trace_last_seq(), (unsigned int)fuzz_cur.opno);
    fuzz_trace_print("TRACE-TAIL ", n);
}
