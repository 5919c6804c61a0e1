/*
 * format.c - a small freestanding vsnprintf for reports and the kernel console.
 *
 * Supported: %d %i %u %x %X %p %s %c %%, length modifiers hh h l ll z, a field width (or '*'),
 * flags '0' and '-'. Output is always NUL-terminated when size > 0; the return value is the length
 * the whole output would have had, so callers can detect truncation.
 */
#include "mm_common.h"

struct fmt_out {
    char *buf;
    size_t size;
    size_t len;
};

static void fmt_putc(struct fmt_out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void fmt_pad(struct fmt_out *o, char c, int n)
{
    while (n-- > 0)
        fmt_putc(o, c);
}

static void fmt_str(struct fmt_out *o, const char *s, int width, bool left)
{
    int n = 0;
    if (!s)
        s = "(null)";
    while (s[n])
        n++;
    if (!left)
        fmt_pad(o, ' ', width - n);
    for (int i = 0; i < n; i++)
        fmt_putc(o, s[i]);
    if (left)
        fmt_pad(o, ' ', width - n);
}

static void fmt_num(struct fmt_out *o, uint64_t v, bool neg, unsigned int base, bool upper,
                    int width, bool zero, bool left)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    int total = n + (neg ? 1 : 0);
    if (!left && !zero)
        fmt_pad(o, ' ', width - total);
    if (neg)
        fmt_putc(o, '-');
    if (!left && zero)
        fmt_pad(o, '0', width - total);
    while (n)
        fmt_putc(o, tmp[--n]);
    if (left)
        fmt_pad(o, ' ', width - total);
}

/* Fetch an integer argument of the given length class (0 int, 1 long, 2 long long, 3 size_t). */
static uint64_t fmt_arg(va_list *ap, int len, bool is_signed, bool *neg)
{
    int64_t s = 0;
    uint64_t u = 0;
    switch (len) {
    case 1: if (is_signed) s = va_arg(*ap, long); else u = va_arg(*ap, unsigned long); break;
    case 2: if (is_signed) s = va_arg(*ap, long long); else u = va_arg(*ap, unsigned long long); break;
    case 3: u = va_arg(*ap, size_t); is_signed = false; break;
    default: if (is_signed) s = va_arg(*ap, int); else u = va_arg(*ap, unsigned int); break;
    }
    if (!is_signed)
        return u;
    *neg = s < 0;
    return *neg ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
}

int mm_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
    struct fmt_out o = { buf, size, 0 };
    va_list ap;
    va_copy(ap, ap_in);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            fmt_putc(&o, *fmt);
            continue;
        }
        bool zero = false, left = false, neg = false;
        int width = 0, len = 0;
        for (fmt++; *fmt == '0' || *fmt == '-'; fmt++)
            *fmt == '0' ? (zero = true) : (left = true);
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        }
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            width = width * 10 + (*fmt - '0');
        for (; *fmt == 'l' || *fmt == 'h' || *fmt == 'z'; fmt++)
            len = *fmt == 'z' ? 3 : *fmt == 'l' ? len + 1 : len;
        switch (*fmt) {
        case 'd': case 'i': {
            uint64_t v = fmt_arg(&ap, len, true, &neg);
            fmt_num(&o, v, neg, 10, false, width, zero, left);
            break;
        }
        case 'u': fmt_num(&o, fmt_arg(&ap, len, false, &neg), false, 10, false, width, zero, left); break;
        case 'x': fmt_num(&o, fmt_arg(&ap, len, false, &neg), false, 16, false, width, zero, left); break;
        case 'X': fmt_num(&o, fmt_arg(&ap, len, false, &neg), false, 16, true, width, zero, left); break;
        case 'p':
            fmt_putc(&o, '0');
            fmt_putc(&o, 'x');
            fmt_num(&o, (uintptr_t)va_arg(ap, void *), false, 16, false, width, zero, left);
            break;
        case 's': fmt_str(&o, va_arg(ap, const char *), width, left); break;
        case 'c': {
            char ch[2] = { (char)va_arg(ap, int), '\0' };
            fmt_str(&o, ch, width, left);
            break;
        }
        case '%': fmt_putc(&o, '%'); break;
        case '\0': fmt--; break;
        default: fmt_putc(&o, '%'); fmt_putc(&o, *fmt); break;
        }
    }
    va_end(ap);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int mm_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = mm_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
