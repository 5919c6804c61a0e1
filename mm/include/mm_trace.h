/*
 * mm_trace.h - the mm's tracepoints: fixed-size binary events in a per-CPU ring, formatted only
 * when read (Linux's tracepoints and ftrace ring buffer, much smaller).
 *
 * Each tracepoint inside mm/ records one event of a class (page alloc, slab free, fault, mmap,
 * ...) with up to MM_TRACE_NR_ARGS u64 arguments, the CPU it ran on and an operation sequence
 * number: a counter of the mm instance (reset at boot), never the wall clock, so a hosted run's
 * events are a function of its input. The rings are mm-owned static storage, MM_TRACE_RING_EVENTS
 * events per CPU; a full ring overwrites its oldest event.
 *
 *   mm_trace_rings[cpu]:  head (events ever written on cpu)
 *                         ev[head % N] <- the next event; ev[(head - k) % N], k = 1..min(head, N)
 *                         are the newest events, newest first
 *
 * Classes are enabled by a mask: at boot (mm_boot_params.trace_mask) and at run time
 * (mm_trace_set_mask). A disabled class costs one load, one test and one predicted branch at its
 * tracepoint. Concurrency: each CPU writes only its own ring; reading another CPU's ring while it
 * writes may return a torn event (readers are post-mortems, tests and replay, which run quiescent).
 */
#ifndef LEAXOS_MM_TRACE_H
#define LEAXOS_MM_TRACE_H

#include "mm_common.h"

/** Event classes; bit (1u << class) of the mask enables one. Arguments of each in mm_trace.c. */
enum mm_trace_class {
    MM_TRACE_PAGE_ALLOC = 0, /* pfn (~0 on failure), order, gfp, err */
    MM_TRACE_PAGE_FREE,      /* pfn, order */
    MM_TRACE_SLAB_ALLOC,     /* object (0 on failure), cache, size asked, site */
    MM_TRACE_SLAB_FREE,      /* object, cache */
    MM_TRACE_FAULT,          /* mm id, address, #PF error code, result (enum vm_fault_result) */
    MM_TRACE_MMAP,           /* mm id, hint, length, prot, flags, result (address or -errno) */
    MM_TRACE_MUNMAP,         /* mm id, address, length, err */
    MM_TRACE_MPROTECT,       /* mm id, address, length, prot, err */
    MM_TRACE_BRK,            /* mm id, requested brk, resulting brk */
    MM_TRACE_FORK,           /* parent id, child id (0 on failure), err */
    MM_TRACE_EXIT,           /* mm id, anonymous pages, VMAs */
    MM_TRACE_RECLAIM,        /* gfp, pages asked, pages freed */
    MM_TRACE_SWAP_OUT,       /* mm id, address, pfn, swap entry (0 on failure) */
    MM_TRACE_SWAP_IN,        /* mm id, address, pfn, swap entry, err */
    MM_TRACE_VMALLOC,        /* address (0 on failure), size, gfp, site, vmap (1) or vmalloc (0) */
    MM_TRACE_VFREE,          /* address, vmap (1) or vmalloc (0), err */
    MM_TRACE_MISUSE,         /* kind (enum mm_misuse_kind), err, address, pfn */
    MM_TRACE_NR_CLASSES,
};

#define MM_TRACE_ALL        ((1u << MM_TRACE_NR_CLASSES) - 1)
#define MM_TRACE_BIT(cls)   (1u << (cls))
#define MM_TRACE_NR_ARGS    6
#define MM_TRACE_RING_EVENTS 128u /* per CPU; a power of two */

/** One event: 64 bytes, written whole by its CPU. */
struct mm_trace_event {
    uint64_t seq;                     /* 1, 2, ... since boot, over all CPUs */
    uint16_t cls;                     /* enum mm_trace_class */
    uint16_t cpu;
    uint32_t reserved;
    uint64_t arg[MM_TRACE_NR_ARGS];
};

/**
 * Enable exactly the classes of @mask (MM_TRACE_BIT(class) bits). Returns 0, or -MM_EINVAL
 * (reported as misuse, the mask unchanged) if @mask has a bit beyond MM_TRACE_ALL.
 */
int mm_trace_set_mask(uint32_t mask);

/** The classes enabled now. */
uint32_t mm_trace_get_mask(void);

/** Sequence number of the newest event of any CPU (0: none since boot). */
uint64_t mm_trace_last_seq(void);

/**
 * Copy CPU @cpu's newest events, oldest first, at most @max of them, into @out. Returns the
 * number copied, or -MM_EINVAL if @cpu >= MM_MAX_CPUS or @out is NULL while @max > 0.
 * Events that were overwritten are gone: the sequence numbers show the gap.
 */
int mm_trace_read_cpu(unsigned int cpu, struct mm_trace_event *out, unsigned int max);

/**
 * Copy the events of every CPU whose sequence number is above @after, merged in sequence order;
 * if there are more than @max, the newest @max. Returns the number copied, or -MM_EINVAL if @out
 * is NULL while @max > 0.
 */
int mm_trace_read_since(uint64_t after, struct mm_trace_event *out, unsigned int max);

/**
 * Format @ev as one line without newline into @buf of @size bytes, e.g.
 * "#12 cpu0 page_alloc pfn=0x1a2 order=0 gfp=0xc0 err=OK". Returns the length of the line
 * (truncated to size - 1 if needed, always NUL-terminated), or -MM_EINVAL if @ev or @buf is NULL,
 * @size is 0 or the event's class is unknown (then @buf holds "" when it can).
 */
int mm_trace_format(const struct mm_trace_event *ev, char *buf, size_t size);

/** Name of @cls ("page_alloc", ...), or NULL if it is not a class. */
const char *mm_trace_class_name(unsigned int cls);

/**
 * Parse a comma-separated list of class names, or "all", or "none", into *@mask. Returns 0, or
 * -MM_EINVAL for NULL arguments or an unknown name (*@mask unchanged).
 */
int mm_trace_parse_mask(const char *names, uint32_t *mask);

#endif /* LEAXOS_MM_TRACE_H */
