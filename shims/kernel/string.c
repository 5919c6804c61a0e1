/*
 * string.c - the mem* routines the freestanding build needs (mm/ calls them, and the compiler
 * emits calls to them for struct copies and zeroing).
 *
 * Built without sanitizer instrumentation, like the rest of the kernel runtime: in the hardened
 * kernel each routine checks its whole range against the KASAN shadow once, at entry (as Linux's
 * instrumented mem* wrappers do), instead of one callback per word. The bulk work is done by the
 * x86 string instructions (rep stosq / rep movsq), which QEMU's TCG runs far faster than a loop.
 */
#include "kasan.h"
#include "mm_env.h"

#define STRING_IP ((uintptr_t)__builtin_return_address(0))

static inline void string_check(const void *p, size_t n, bool write, uintptr_t ip)
{
    if (env_shadow_enabled && n)
        kasan_check_range(p, n, write, ip);
}

static inline void string_fill(void *dst, uint64_t pattern, size_t n)
{
    size_t words = n / 8, bytes = n % 8;

    __asm__ __volatile__("rep stosq" : "+D"(dst), "+c"(words) : "a"(pattern) : "memory");
    __asm__ __volatile__("rep stosb" : "+D"(dst), "+c"(bytes) : "a"(pattern) : "memory");
}

static inline void string_copy_up(void *dst, const void *src, size_t n)
{
    size_t words = n / 8, bytes = n % 8;

    __asm__ __volatile__("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
    __asm__ __volatile__("rep movsb" : "+D"(dst), "+S"(src), "+c"(bytes) : : "memory");
}

void *memset(void *dst, int c, size_t n)
{
    string_check(dst, n, true, STRING_IP);
    string_fill(dst, 0x0101010101010101ull * (unsigned char)c, n);
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    string_check(src, n, false, STRING_IP);
    string_check(dst, n, true, STRING_IP);
    string_copy_up(dst, src, n);
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    string_check(src, n, false, STRING_IP);
    string_check(dst, n, true, STRING_IP);
    if (d <= s || d >= s + n) {
        string_copy_up(dst, src, n);
        return dst;
    }
    /* overlapping, destination above the source: copy downwards */
    unsigned char *d_last = d + n - 1;
    const unsigned char *s_last = s + n - 1;
    __asm__ __volatile__("std\n\trep movsb\n\tcld" : "+D"(d_last), "+S"(s_last), "+c"(n) : : "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    string_check(a, n, false, STRING_IP);
    string_check(b, n, false, STRING_IP);
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}
