/*
 * trace.c - the tracepoints' rings (mm_trace.h): recording, reading, formatting, the class mask.
 * A library below the allocators: every layer records through mm_trace() (core.h); it calls only
 * format.c, report.c and the env.
 *
 * Owns: the class mask (mm_trace_enabled), the sequence counter and the per-CPU rings, all
 * mm-owned static storage outside mm_state (so mm_state_reset does not clear 512 KiB per boot;
 * mm_trace_reset clears only the counters). Invariants:
 *   - ring r holds the events r.head - min(r.head, N) .. r.head - 1 (counted per CPU since boot),
 *     event k at ev[k % N]; only CPU r writes ring r (slot reserved by an atomic add, then filled)
 *   - sequence numbers are unique and increase in the order events were recorded on one CPU
 *     (except for an interrupt that lands between the two atomic adds of a record: its event may
 *     come first in the ring with a larger number; readers merge by number)
 *   - nothing here allocates or takes a lock: a tracepoint may run anywhere, locks held or not
 */
#include "core.h"

uint32_t mm_trace_enabled; /* read by every tracepoint: env_atomic_load, one predicted branch */

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
    uint64_t seq = env_atomic_add(&mm_trace_seq, 1);
    uint64_t slot = env_atomic_add(&r->head, 1) - 1;
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

int mm_trace_set_mask(uint32_t mask)
{
    if (mask & ~MM_TRACE_ALL)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, mask, ~0ul,
                                "trace mask 0x%x has bits beyond the %u classes (0x%x)", mask,
                                (unsigned int)MM_TRACE_NR_CLASSES, MM_TRACE_ALL);
    env_atomic_store(&mm_trace_enabled, mask);
    return 0;
}

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

/* ---- formatting ---- */

/* How one argument prints. */
enum trace_style {
    TS_NONE = 0, /* not printed */
    TS_HEX,      /* 0x1a2 */
    TS_DEC,      /* unsigned decimal */
    TS_ERR,      /* an MM_E* code (0 or negative): its name */
    TS_LONG,     /* a result that is an address or a negative MM_E* code */
    TS_FAULT,    /* enum vm_fault_result */
    TS_MISUSE,   /* enum mm_misuse_kind */
};

struct trace_class_desc {
    const char *name;
    const char *arg[MM_TRACE_NR_ARGS];
    uint8_t style[MM_TRACE_NR_ARGS];
};

#define H TS_HEX
#define D TS_DEC
static const struct trace_class_desc trace_classes[MM_TRACE_NR_CLASSES] = {
    [MM_TRACE_PAGE_ALLOC] = { "page_alloc", { "pfn", "order", "gfp", "err" }, { H, D, H, TS_ERR } },
    [MM_TRACE_PAGE_FREE] = { "page_free", { "pfn", "order" }, { H, D } },
    [MM_TRACE_SLAB_ALLOC] = { "slab_alloc", { "obj", "cache", "size", "site" }, { H, H, D, H } },
    [MM_TRACE_SLAB_FREE] = { "slab_free", { "obj", "cache" }, { H, H } },
    [MM_TRACE_FAULT] = { "fault", { "mm", "va", "error", "result" }, { D, H, H, TS_FAULT } },
    [MM_TRACE_MMAP] = { "mmap", { "mm", "addr", "len", "prot", "flags", "result" },
                        { D, H, H, H, H, TS_LONG } },
    [MM_TRACE_MUNMAP] = { "munmap", { "mm", "addr", "len", "err" }, { D, H, H, TS_ERR } },
    [MM_TRACE_MPROTECT] = { "mprotect", { "mm", "addr", "len", "prot", "err" },
                            { D, H, H, H, TS_ERR } },
    [MM_TRACE_BRK] = { "brk", { "mm", "brk", "result" }, { D, H, H } },
    [MM_TRACE_FORK] = { "fork", { "mm", "child", "err" }, { D, D, TS_ERR } },
    [MM_TRACE_EXIT] = { "exit", { "mm", "anon", "vmas" }, { D, D, D } },
    [MM_TRACE_RECLAIM] = { "reclaim", { "gfp", "want", "freed" }, { H, D, D } },
    [MM_TRACE_SWAP_OUT] = { "swap_out", { "mm", "va", "pfn", "entry" }, { D, H, H, H } },
    [MM_TRACE_SWAP_IN] = { "swap_in", { "mm", "va", "pfn", "entry", "err" },
                           { D, H, H, H, TS_ERR } },
    [MM_TRACE_VMALLOC] = { "vmalloc", { "addr", "size", "gfp", "site", "vmap" },
                           { H, H, H, H, D } },
    [MM_TRACE_VFREE] = { "vfree", { "addr", "vmap", "err" }, { H, D, TS_ERR } },
    [MM_TRACE_MISUSE] = { "misuse", { "kind", "err", "addr", "pfn" },
                          { TS_MISUSE, TS_ERR, H, H } },
};
#undef H
#undef D

static const char *const trace_fault_names[] = { "handled", "oom", "sigsegv", "access", "sigbus" };

const char *mm_trace_class_name(unsigned int cls)
{
    return cls < MM_TRACE_NR_CLASSES ? trace_classes[cls].name : NULL;
}

/* Append " name=value" for argument @v in @style at buf[*len], keeping *len below @size. */
static void trace_format_arg(char *buf, size_t size, int *len, const char *name, uint8_t style,
                             uint64_t v)
{
    char *p = buf + *len;
    size_t room = size - (size_t)*len;
    int n;
    switch (style) {
    case TS_DEC: n = mm_snprintf(p, room, " %s=%llu", name, (unsigned long long)v); break;
    case TS_ERR: n = mm_snprintf(p, room, " %s=%s", name, mm_strerror((int)(int64_t)v)); break;
    case TS_LONG:
        n = (int64_t)v < 0 && (int64_t)v > -4096
                ? mm_snprintf(p, room, " %s=%s", name, mm_strerror((int)(int64_t)v))
                : mm_snprintf(p, room, " %s=0x%llx", name, (unsigned long long)v);
        break;
    case TS_FAULT:
        n = mm_snprintf(p, room, " %s=%s", name, v < MM_ARRAY_SIZE(trace_fault_names)
                                                     ? trace_fault_names[v] : "?");
        break;
    case TS_MISUSE:
        n = mm_snprintf(p, room, " %s=%s", name, mm_misuse_name((enum mm_misuse_kind)v));
        break;
    default: n = mm_snprintf(p, room, " %s=0x%llx", name, (unsigned long long)v); break;
    }
    *len += MM_MIN(n, (int)room - 1);
}

int mm_trace_format(const struct mm_trace_event *ev, char *buf, size_t size)
{
    if (buf && size)
        buf[0] = '\0';
    if (!ev || !buf || !size || ev->cls >= MM_TRACE_NR_CLASSES)
        return -MM_EINVAL;
    const struct trace_class_desc *d = &trace_classes[ev->cls];
    int n = mm_snprintf(buf, size, "#%llu cpu%u %s", (unsigned long long)ev->seq,
                        (unsigned int)ev->cpu, d->name);
    int len = MM_MIN(n, (int)size - 1);
    for (unsigned int i = 0; i < MM_TRACE_NR_ARGS && d->style[i] != TS_NONE; i++)
        trace_format_arg(buf, size, &len, d->arg[i], d->style[i], ev->arg[i]);
    return len;
}

/* ---- parsing a class list ---- */

/* The class named by [s, s + n), or -1. */
static int trace_class_lookup(const char *s, size_t n)
{
    for (unsigned int c = 0; c < MM_TRACE_NR_CLASSES; c++) {
        const char *name = trace_classes[c].name;
        size_t k = 0;
        while (k < n && name[k] && name[k] == s[k])
            k++;
        if (k == n && !name[k])
            return (int)c;
    }
    return -1;
}

static bool trace_word_is(const char *s, size_t n, const char *word)
{
    size_t k = 0;
    while (k < n && word[k] && word[k] == s[k])
        k++;
    return k == n && !word[k];
}

int mm_trace_parse_mask(const char *names, uint32_t *mask)
{
    if (!names || !mask)
        return -MM_EINVAL;
    uint32_t m = 0;
    const char *s = names;
    for (;;) {
        size_t n = 0;
        while (s[n] && s[n] != ',')
            n++;
        int c = trace_class_lookup(s, n);
        if (c >= 0)
            m |= MM_TRACE_BIT(c);
        else if (trace_word_is(s, n, "all"))
            m |= MM_TRACE_ALL;
        else if (!trace_word_is(s, n, "none"))
            return -MM_EINVAL;
        if (!s[n])
            break;
        s += n + 1;
    }
    *mask = m;
    return 0;
}
