/*
 * mm_common.h - types, error codes and macros shared by every part of the LeaxOS mm.
 *
 * Owns: the basic scalar types (phys_addr_t, pfn numbers, gfp_t), the MM_E* error codes returned
 * (negated) by every fallible entry point, the intrusive doubly linked list, and small helpers.
 * Includes only compiler-provided freestanding headers, so it is valid in the kernel and hosted
 * builds alike.
 *
 * Error convention: a function that can fail returns 0 or a negative MM_E* code; a function that
 * returns a pointer returns NULL on failure and, where the reason matters, has an *_try twin that
 * returns the code.
 */
#ifndef LEAXOS_MM_COMMON_H
#define LEAXOS_MM_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#include "arch_mm.h"

typedef uint64_t phys_addr_t;
typedef unsigned int gfp_t;

/** A physical address that no memory has (returned by env_virt_to_phys for foreign pointers). */
#define MM_PHYS_INVALID ((phys_addr_t)~0ull)

/* Error codes: values follow Linux errno so the numbers read the same in a dump. */
#define MM_EPERM      1
#define MM_ENOENT     2
#define MM_EIO        5
#define MM_EAGAIN     11
#define MM_ENOMEM     12
#define MM_EACCES     13
#define MM_EFAULT     14
#define MM_EBUSY      16
#define MM_EEXIST     17
#define MM_ENODEV     19
#define MM_EINVAL     22
#define MM_ENOSPC     28
#define MM_ERANGE     34
#define MM_EOVERFLOW  75
#define MM_ENOTSUP    95
#define MM_ECORRUPT   117 /* EUCLEAN: an invariant of the mm's own structures is broken */

/** Name of an MM_E* code (positive or negative), e.g. "ENOMEM"; "E?" for unknown codes. */
const char *mm_strerror(int err);

#define PAGE_SIZE   ((uint64_t)1 << PAGE_SHIFT)
#define PAGE_MASK   (~(PAGE_SIZE - 1))

#define MM_ARRAY_SIZE(a)        (sizeof(a) / sizeof((a)[0]))
#define MM_ALIGN_UP(x, a)       (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define MM_ALIGN_DOWN(x, a)     ((x) & ~((__typeof__(x))(a) - 1))
#define MM_IS_ALIGNED(x, a)     (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define MM_MIN(a, b)            ((a) < (b) ? (a) : (b))
#define MM_MAX(a, b)            ((a) > (b) ? (a) : (b))
#define MM_PFN_UP(x)            (((x) + PAGE_SIZE - 1) >> PAGE_SHIFT)
#define MM_PFN_DOWN(x)          ((x) >> PAGE_SHIFT)
#define MM_PFN_PHYS(pfn)        ((phys_addr_t)(pfn) << PAGE_SHIFT)

#define mm_likely(x)            __builtin_expect(!!(x), 1)
#define mm_unlikely(x)          __builtin_expect(!!(x), 0)
#define MM_NOINLINE             __attribute__((noinline))
#define MM_ALWAYS_INLINE        inline __attribute__((always_inline))
#define MM_UNUSED               __attribute__((unused))
#define MM_PRINTF(f, a)         __attribute__((format(printf, f, a)))
#define MM_CACHE_ALIGNED        __attribute__((aligned(MM_CACHE_LINE)))
#define MM_STATIC_ASSERT(c, m)  _Static_assert(c, m)
/*
 * A function that reads what other CPUs may write without the lock it holds, on purpose, with a
 * comment saying why the value it acts on is stable (Linux's data_race()): ThreadSanitizer does
 * not instrument it, since its report would be about the intended race. Read through volatile
 * (each field once, never torn); ThreadSanitizer would still instrument an __atomic load.
 * Not noinline: clang and gcc never inline a function into a caller whose sanitizer attributes
 * differ, so under ThreadSanitizer it stays a call (uninstrumented), and elsewhere it inlines
 * into fast paths (slab_lookup in every kfree); the stress run under TSan would report it if not.
 */
#define MM_DATA_RACE            __attribute__((no_sanitize("thread")))

#define mm_container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- intrusive doubly linked list (circular, with a sentinel head) ---- */

struct list_head {
    struct list_head *next, *prev;
};

static inline void list_init(struct list_head *h) { h->next = h; h->prev = h; }
static inline bool list_empty(const struct list_head *h) { return h->next == h; }

static inline void list_insert_between(struct list_head *n, struct list_head *prev,
                                       struct list_head *next)
{
    next->prev = n;
    n->next = next;
    n->prev = prev;
    prev->next = n;
}

/** Insert @n right after @h (stack order). */
static inline void list_add(struct list_head *n, struct list_head *h)
{
    list_insert_between(n, h, h->next);
}

/** Insert @n right before @h (queue order). */
static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
    list_insert_between(n, h->prev, h);
}

/** Unlink @n and leave it self-linked, so a second list_del is harmless and detectable. */
static inline void list_del(struct list_head *n)
{
    n->next->prev = n->prev;
    n->prev->next = n->next;
    n->next = n;
    n->prev = n;
}

#define list_entry(ptr, type, member) mm_container_of(ptr, type, member)
#define list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* ---- small freestanding helpers ---- */

/** Index of the highest set bit of a non-zero @x. */
static inline unsigned int mm_ilog2(uint64_t x) { return 63u - (unsigned int)__builtin_clzll(x); }

/** Integer square root (floor). */
static inline uint64_t mm_isqrt(uint64_t x)
{
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > x)
        bit >>= 2;
    while (bit) {
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

/**
 * Format into @buf (always NUL-terminated when @size > 0). Supports %d %i %u %x %X %p %s %c %%
 * with l/ll/z length modifiers, a width, '0' and '-' flags. Returns the length the full output
 * would have had (like vsnprintf).
 */
int mm_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int mm_snprintf(char *buf, size_t size, const char *fmt, ...) MM_PRINTF(3, 4);

#endif /* LEAXOS_MM_COMMON_H */
