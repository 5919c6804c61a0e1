/*
 * trace_show.c - the tracepoints' human side (mm_trace.h): the checked mask setter, class names,
 * one event as a line of text, and class lists parsed from text. Events are binary in the rings
 * (trace.c) and become text only here, when read. Calls trace.c, report.c and format.c.
 *
 * Invariant: trace_classes[] names every class and says how each of its arguments prints; an
 * argument whose style is TS_NONE ends the list.
 */
#include "core.h"

int mm_trace_set_mask(uint32_t mask)
{
    if (mask & ~MM_TRACE_ALL)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, mask, ~0ul,
                                "trace mask 0x%x has bits beyond the %u classes (0x%x)", mask,
                                (unsigned int)MM_TRACE_NR_CLASSES, MM_TRACE_ALL);
    env_atomic_store(&mm_trace_enabled, mask);
    return 0;
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
