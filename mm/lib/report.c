/*
 * report.c - misuse reports, check failures and error names: a library below the allocators
 * (every layer reports through it; it calls nothing but format.c and the env).
 *
 * Every rejected call of a public entry point goes through mm_report_misuse: it counts the misuse
 * by kind, keeps the most recent report (mm_state.report, under its lock) for tests, fuzzers and
 * post-mortems, and logs one line. It never touches allocator state, so a rejected call loses
 * nothing. mm_check_fail is the one way a validator of any layer names a broken invariant.
 */
#include "core.h"

static const char *const misuse_names[MM_NR_MISUSE_KINDS] = {
    [MM_MISUSE_NONE] = "none",
    [MM_MISUSE_DOUBLE_FREE] = "double-free",
    [MM_MISUSE_NOT_ALLOCATED] = "free-not-allocated",
    [MM_MISUSE_NOT_HEAD] = "free-not-head",
    [MM_MISUSE_WRONG_ORDER] = "free-wrong-order",
    [MM_MISUSE_BAD_ADDRESS] = "bad-address",
    [MM_MISUSE_BAD_ORDER] = "bad-order",
    [MM_MISUSE_BAD_FLAGS] = "bad-gfp-flags",
    [MM_MISUSE_BAD_REFCOUNT] = "bad-refcount",
    [MM_MISUSE_NOT_READY] = "not-ready",
    [MM_MISUSE_BAD_ARGUMENT] = "bad-argument",
    [MM_MISUSE_WRONG_CACHE] = "wrong-cache",
    [MM_MISUSE_NOT_OBJECT] = "not-object-start",
    [MM_MISUSE_NOT_SLAB] = "not-slab-memory",
    [MM_MISUSE_REDZONE] = "redzone-overwritten",
    [MM_MISUSE_USE_AFTER_FREE] = "write-after-free",
    [MM_MISUSE_FREELIST] = "freelist-corrupt",
    [MM_MISUSE_CACHE_BUSY] = "cache-busy",
    [MM_MISUSE_SIZE_OVERFLOW] = "size-overflow",
    [MM_MISUSE_STILL_MAPPED] = "free-still-mapped",
    [MM_MISUSE_INTERNAL_OBJECT] = "free-mm-metadata",
    [MM_MISUSE_OUT_OF_BOUNDS] = "out-of-bounds",
    [MM_MISUSE_DOMAIN] = "domain-violation",
};

const char *mm_misuse_name(enum mm_misuse_kind kind)
{
    return (unsigned int)kind < MM_NR_MISUSE_KINDS ? misuse_names[kind] : "unknown";
}

const char *mm_strerror(int err)
{
    switch (err < 0 ? -(long)err : (long)err) {
    case 0: return "OK";
    case MM_EPERM: return "EPERM";
    case MM_ENOENT: return "ENOENT";
    case MM_EIO: return "EIO";
    case MM_EAGAIN: return "EAGAIN";
    case MM_ENOMEM: return "ENOMEM";
    case MM_EACCES: return "EACCES";
    case MM_EFAULT: return "EFAULT";
    case MM_EBUSY: return "EBUSY";
    case MM_ENODEV: return "ENODEV";
    case MM_EEXIST: return "EEXIST";
    case MM_EINVAL: return "EINVAL";
    case MM_ENOSPC: return "ENOSPC";
    case MM_ERANGE: return "ERANGE";
    case MM_EOVERFLOW: return "EOVERFLOW";
    case MM_ENOTSUP: return "ENOTSUP";
    case MM_ECORRUPT: return "ECORRUPT";
    default: return "E?";
    }
}

int mm_report_misuse(enum mm_misuse_kind kind, int err, const char *func, uintptr_t addr,
                     unsigned long pfn, const char *fmt, ...)
{
    struct mm_misuse m = { .kind = kind, .err = err, .func = func, .addr = addr, .pfn = pfn,
                           .seq = env_trace_clock() };
    va_list ap;
    va_start(ap, fmt);
    mm_vsnprintf(m.detail, sizeof(m.detail), fmt, ap);
    va_end(ap);
    env_spin_lock(&mm_state.report.lock);
    mm_state.report.misuse_count[kind]++;
    mm_state.report.last_misuse = m;
    int level = mm_state.report.log_level;
    env_spin_unlock(&mm_state.report.lock);
    mm_trace(MM_TRACE_MISUSE, kind, err, addr, pfn);
    env_log(level, "mm: misuse: %s in %s (%s): %s\n", mm_misuse_name(kind), func,
            mm_strerror(err), m.detail);
    return err;
}

unsigned long mm_misuse_count(void)
{
    unsigned long n = 0;
    for (unsigned int k = 1; k < MM_NR_MISUSE_KINDS; k++)
        n += mm_state.report.misuse_count[k];
    return n;
}

unsigned long mm_misuse_count_kind(enum mm_misuse_kind kind)
{
    return (unsigned int)kind < MM_NR_MISUSE_KINDS ? mm_state.report.misuse_count[kind] : 0;
}

bool mm_misuse_last(struct mm_misuse *out)
{
    if (!out)
        return false;
    env_spin_lock(&mm_state.report.lock);
    *out = mm_state.report.last_misuse;
    env_spin_unlock(&mm_state.report.lock);
    return out->kind != MM_MISUSE_NONE;
}

void mm_misuse_set_log_level(int level)
{
    mm_state.report.log_level = level;
}

int mm_check_fail(struct mm_check_report *r, const char *inv, unsigned long pfn, const char *fmt, ...)
{
    r->err = -MM_ECORRUPT;
    r->invariant = inv;
    r->pfn = pfn;
    va_list ap;
    va_start(ap, fmt);
    mm_vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
    return -MM_ECORRUPT;
}

void mm_report_leak(const char *inv, uintptr_t addr, size_t size, const char *what,
                    uintptr_t site, unsigned long age)
{
    env_spin_lock(&mm_state.report.lock);
    mm_state.report.leaks++;
    int level = mm_state.report.log_level;
    env_spin_unlock(&mm_state.report.lock);
    if (age == MM_LEAK_AGE_UNKNOWN)
        env_log(level, "mm: leak: %s %p size %zu (%s) allocated at %p\n", inv, (void *)addr,
                size, what, (void *)site);
    else
        env_log(level, "mm: leak: %s %p size %zu (%s) allocated at %p, age %lu ops\n", inv,
                (void *)addr, size, what, (void *)site, age);
}
