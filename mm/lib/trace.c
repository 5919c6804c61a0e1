/*
 * trace.c - the tracepoints' rings (mm_trace.h): recording and reading; the class mask's word.
 * A library below the allocators: every layer records through mm_trace() (core.h), and so does
 * report.c (misuse events), so this file calls nothing but the env. Formatting, class names and
 * the checked mask setter are in trace_show.c (which reports through report.c).
 *
 * Owns: the class mask (mm_trace_enabled), the sequence counter and the per-CPU rings, all
 * mm-owned static storage outside mm_state (so mm_state_reset does not clear 512 KiB per boot;
 * mm_trace_reset clears only the counters). Invariants:
 *   - ring r holds the events r.head - min(r.head, N) .. r.head - 1 (counted per CPU since boot),
 *     event k at ev[k % N]; only CPU r writes ring r (slot reserved by a plain load and store of
 *     its head, then filled: no tracepoint runs in an interrupt handler that could nest inside
 *     a record on the same CPU; the hosted machine delivers cross-CPU calls only at interrupt
 *     windows, none of which is inside a record)
 *   - sequence numbers (one atomic counter for all CPUs) are unique and increase in the order
 *     events were recorded on one CPU; readers merge the rings by number
 *   - nothing here allocates or takes a lock: a tracepoint may run anywhere, locks held or not
 */
#include "core.h"

/* Read by every tracepoint with a plain load (one testb and a predicted branch on x86): it is
 * written with an atomic store, at boot or by mm_trace_set_mask, where the caller accepts that a
 * CPU running at that moment may see the old mask for an event or two. */
uint32_t mm_trace_enabled;

struct mm_trace_ring {
    uint64_t head;                                   /* events ever written on this CPU */
    struct mm_trace_event ev[MM_TRACE_RING_EVENTS];
};

static struct mm_trace_ring mm_trace_rings[MM_MAX_CPUS];
static uint64_t mm_trace_seq; /* the last sequence number handed out */

MM_STATIC_ASSERT((MM_TRACE_RING_EVENTS & (MM_TRACE_RING_EVENTS - 1)) == 0,
                 "MM_TRACE_RING_EVENTS must be a power of two");
MM_STATIC_ASSERT(sizeof(struct mm_trace_event) == 64, "one event is 64 bytes");

/* ---- recording ---- */

void mm_trace_reset(uint32_t mask)
{
    for (unsigned int cpu = 0; cpu < MM_MAX_CPUS; cpu++)
        env_atomic_store(&mm_trace_rings[cpu].head, 0);
    env_atomic_store(&mm_trace_seq, 0);
    env_atomic_store(&mm_trace_enabled, mask & MM_TRACE_ALL);
}

MM_TRACE_CC void mm_trace_record(unsigned int cls, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                     uint64_t a4, uint64_t a5)
{
    unsigned int cpu = env_cpu_id();
    if (cpu >= MM_MAX_CPUS)
        return;
    struct mm_trace_ring *r = &mm_trace_rings[cpu];
    /* quiet atomics: recording is never a preemption point, so a traced run interleaves as an
     * untraced one (mm_env.h) */
    uint64_t seq = env_atomic_add_quiet(&mm_trace_seq, 1);
    uint64_t slot = env_atomic_load_quiet(&r->head); /* only this CPU writes its ring: no RMW */
    env_atomic_store_quiet(&r->head, slot + 1);
    struct mm_trace_event *e = &r->ev[slot & (MM_TRACE_RING_EVENTS - 1)];
    e->seq = seq;
    e->cls = (uint16_t)cls;
    e->cpu = (uint16_t)cpu;
    e->reserved = 0;
    e->arg[0] = a0;
    e->arg[1] = a1;
    e->arg[2] = a2;
    e->arg[3] = a3;
    e->arg[4] = a4;
    e->arg[5] = a5;
}

void mm_trace_storage(uintptr_t *start, uintptr_t *end)
{
    *start = (uintptr_t)mm_trace_rings;
    *end = (uintptr_t)(mm_trace_rings + MM_MAX_CPUS);
}

/* ---- the mask ---- */

uint32_t mm_trace_get_mask(void)
{
    return env_atomic_load(&mm_trace_enabled);
}

uint64_t mm_trace_last_seq(void)
{
    return env_atomic_load(&mm_trace_seq);
}

/* ---- reading ---- */

/* First ring index of @cpu still held, and one past the newest. */
static void trace_ring_span(unsigned int cpu, uint64_t *first, uint64_t *end)
{
    *end = env_atomic_load(&mm_trace_rings[cpu].head);
    *first = *end > MM_TRACE_RING_EVENTS ? *end - MM_TRACE_RING_EVENTS : 0;
}

static const struct mm_trace_event *trace_ring_at(unsigned int cpu, uint64_t k)
{
    return &mm_trace_rings[cpu].ev[k & (MM_TRACE_RING_EVENTS - 1)];
}

int mm_trace_read_cpu(unsigned int cpu, struct mm_trace_event *out, unsigned int max)
{
    if (cpu >= MM_MAX_CPUS || (!out && max))
        return -MM_EINVAL;
    if (!max)
        return 0;
    uint64_t first, end;
    trace_ring_span(cpu, &first, &end);
    if (end - first > max)
        first = end - max;
    unsigned int n = 0;
    for (uint64_t k = first; k < end; k++)
        out[n++] = *trace_ring_at(cpu, k);
    return (int)n;
}

/* The merge's cursor on one CPU: next ring index and its end. */
struct trace_cursor {
    uint64_t k, end;
};

/* Cursors at the first event above @after on every CPU; returns how many events they cover. */
static uint64_t trace_cursors_init(struct trace_cursor *c, uint64_t after)
{
    uint64_t total = 0;
    for (unsigned int cpu = 0; cpu < MM_MAX_CPUS; cpu++) {
        trace_ring_span(cpu, &c[cpu].k, &c[cpu].end);
        while (c[cpu].k < c[cpu].end && trace_ring_at(cpu, c[cpu].k)->seq <= after)
            c[cpu].k++;
        total += c[cpu].end - c[cpu].k;
    }
    return total;
}

/* The CPU whose next event has the smallest sequence number, or MM_MAX_CPUS when all are done. */
static unsigned int trace_cursors_min(const struct trace_cursor *c)
{
    unsigned int best = MM_MAX_CPUS;
    uint64_t best_seq = 0;
    for (unsigned int cpu = 0; cpu < MM_MAX_CPUS; cpu++) {
        if (c[cpu].k == c[cpu].end)
            continue;
        uint64_t s = trace_ring_at(cpu, c[cpu].k)->seq;
        if (best == MM_MAX_CPUS || s < best_seq) {
            best = cpu;
            best_seq = s;
        }
    }
    return best;
}

int mm_trace_read_since(uint64_t after, struct mm_trace_event *out, unsigned int max)
{
    if (!out && max)
        return -MM_EINVAL;
    if (!max)
        return 0;
    struct trace_cursor c[MM_MAX_CPUS];
    uint64_t total = trace_cursors_init(c, after);
    uint64_t skip = total > max ? total - max : 0; /* the oldest ones do not fit */
    unsigned int n = 0;
    for (unsigned int cpu = trace_cursors_min(c); cpu < MM_MAX_CPUS; cpu = trace_cursors_min(c)) {
        const struct mm_trace_event *e = trace_ring_at(cpu, c[cpu].k++);
        if (skip) {
            skip--;
            continue;
        }
        if (n < max)
            out[n++] = *e;
    }
    return (int)n;
}
