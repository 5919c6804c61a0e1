/*
 * engine.c - the one run loop of every fuzz target (fuzz_run) and the cursor it keeps.
 * Freestanding-clean; every driver (libFuzzer, AFL++, replay, triage, the kernel's corpus replay)
 * runs inputs through here.
 *
 * Invariants:
 *   - fuzz_cur describes the input being run: opno 0 during setup, 1..nops while op #opno runs
 *     (fuzz_cur.op holds it, decoded once), nops + 1 during teardown.
 *   - The digest sees, per input: begin, then per op its kind before the op's own outcomes.
 *   - Op text is formatted only for a trace line or a report (fuzz_cur_text), never on the hot path.
 *   - The checks run after setup and after every op; which of them are full is the target's
 *     business (fuzz_cur_check_due, the op "check"); after setup only when the cadence is 1.
 */
#include "fuzz_target.h"
#include "mm_leak.h"

struct fuzz_cursor fuzz_cur;

const char *fuzz_cur_text(void)
{
    static char text[FUZZ_LINE_MAX];

    if (fuzz_cur.opno == 0)
        return "boot";
    if (fuzz_cur.opno > fuzz_cur.nops)
        return "teardown";
    fuzz_op_format(text, sizeof(text), &fuzz_cur.op);
    return text;
}

/* replay --sites N: the N allocation-site groups with the most outstanding bytes, one line each
 * (page_owner-style; sites are return addresses of the allocating calls). */
static void fuzz_print_sites(unsigned int top)
{
    static struct mm_alloc_site s[FUZZ_SITES_MAX];
    if (top > FUZZ_SITES_MAX)
        top = FUZZ_SITES_MAX;
    int n = mm_alloc_sites(s, top);
    fuzz_log("SITES groups=%d top=%u", n, top);
    for (int i = 0; i < n && i < (int)top; i++)
        fuzz_log("SITE kind=%s cache=%s site=%p count=%lu bytes=%lu oldest=%ld",
                 mm_leak_kind_label(s[i].kind),
                 s[i].cache, (void *)s[i].site, s[i].count, s[i].bytes,
                 s[i].oldest == MM_LEAK_AGE_UNKNOWN ? -1l : (long)s[i].oldest);
}

int fuzz_run(const struct fuzz_target *t, const uint8_t *data, size_t size)
{
    uint32_t i, n = fuzz_nr_ops(size);

    fuzz_digest_begin();
    fuzz_cur.target = t;
    fuzz_cur.opno = 0;
    fuzz_cur.nops = n;
    fuzz_machine_decode(data, size, t->machine);
    if (!t->table->numa)
        t->machine->nr_nodes = 0; /* no topologies here: record 0 is an ordinary op */
    i = t->setup(data, size);
    if (fuzz_trace_mask)
        fuzz_trace_start();
    if (fuzz_trace)
        fuzz_trace_events();
    t->check(false);
    for (; i < n; i++) {
        fuzz_op_decode(t->table, t->machine, data, size, i, &fuzz_cur.op);
        fuzz_cur.opno = i + 1;
        if (fuzz_trace)
            fuzz_log("op#%u %s", (unsigned int)fuzz_cur.opno, fuzz_cur_text());
        fuzz_digest_op(fuzz_cur.op.kind);
        t->exec(&fuzz_cur.op);
        if (fuzz_trace)
            fuzz_trace_events();
        if (fuzz_platform.op_done)
            fuzz_platform.op_done();
        t->check(fuzz_cur.op.kind == FOP_CHECK);
    }
    fuzz_cur.opno = n + 1;
    if (fuzz_sites_top)
        fuzz_print_sites(fuzz_sites_top);
    if (fuzz_dump_hook)
        fuzz_dump_hook("end of input");
    if (t->teardown)
        t->teardown();
    return 0;
}
