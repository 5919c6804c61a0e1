/*
 * test_format.c - suite "format": mm_strerror, mm_misuse_name and the freestanding formatter
 * mm_snprintf / mm_vsnprintf (conversions, length modifiers, width and flags, truncation).
 */
#include "kt_util.h"

static char buf[128];

static long long kt_len(const char *s)
{
    long long n = 0;

    while (s[n])
        n++;
    return n;
}

/* mm_snprintf into buf must produce exactly @expect and return its length. */
#define FMT_EQ(expect, ...) do { \
    memset(buf, 'Z', sizeof(buf)); \
    int n_ = mm_snprintf(buf, sizeof(buf), __VA_ARGS__); \
    KT_ASSERT_STREQ(buf, expect); \
    KT_ASSERT_EQ(n_, kt_len(expect)); \
} while (0)

static int test_strerror(void)
{
    static const struct { int code; const char *name; } tab[] = {
        { MM_EPERM, "EPERM" },   { MM_ENOENT, "ENOENT" }, { MM_EIO, "EIO" },
        { MM_EAGAIN, "EAGAIN" }, { MM_ENOMEM, "ENOMEM" }, { MM_EACCES, "EACCES" },
        { MM_EFAULT, "EFAULT" }, { MM_EBUSY, "EBUSY" },   { MM_EEXIST, "EEXIST" },
        { MM_EINVAL, "EINVAL" }, { MM_ENOSPC, "ENOSPC" }, { MM_ERANGE, "ERANGE" },
        { MM_EOVERFLOW, "EOVERFLOW" },
    };

    for (unsigned int i = 0; i < MM_ARRAY_SIZE(tab); i++) {
        KT_ASSERT_STREQ(mm_strerror(tab[i].code), tab[i].name);
        KT_ASSERT_STREQ(mm_strerror(-tab[i].code), tab[i].name);
    }
    const char *s = mm_strerror(-MM_ECORRUPT);

    KT_ASSERT_NOT_NULL(s);
    KT_ASSERT(ktest_strcmp(s, "ECORRUPT") == 0 || ktest_strcmp(s, "EUCLEAN") == 0);
    s = mm_strerror(MM_ENOTSUP);
    KT_ASSERT_NOT_NULL(s);
    KT_ASSERT(ktest_strcmp(s, "ENOTSUP") == 0 || ktest_strcmp(s, "EOPNOTSUPP") == 0);
    KT_ASSERT_STREQ(mm_strerror(9999), "E?");
    KT_ASSERT_STREQ(mm_strerror(-9999), "E?");
    KT_ASSERT_STREQ(mm_strerror(3), "E?");
    KT_ASSERT_NOT_NULL(mm_strerror(0));
    return 0;
}

/* Kept last in the suite: an implementation that negates INT_MIN trips UBSan and aborts. */
static int test_strerror_int_min(void)
{
    KT_ASSERT_STREQ(mm_strerror(-2147483647 - 1), "E?");
    KT_ASSERT_STREQ(mm_strerror(2147483647), "E?");
    return 0;
}

static int test_misuse_names(void)
{
    /* The contract fixes only the example "double-free"; every kind needs a distinct name. */
    KT_ASSERT_STREQ(mm_misuse_name(MM_MISUSE_DOUBLE_FREE), "double-free");
    for (unsigned int k = 0; k < MM_NR_MISUSE_KINDS; k++) {
        const char *n = mm_misuse_name((enum mm_misuse_kind)k);

        KT_ASSERT_NOT_NULL(n);
        KT_ASSERT_MSG(n[0] != 0, "kind %u has an empty name", k);
        for (unsigned int j = 0; j < k; j++)
            KT_ASSERT_MSG(ktest_strcmp(n, mm_misuse_name((enum mm_misuse_kind)j)) != 0,
                          "kinds %u and %u share the name %s", j, k, n);
    }
    KT_ASSERT_NOT_NULL(mm_misuse_name(MM_NR_MISUSE_KINDS));
    KT_ASSERT_NOT_NULL(mm_misuse_name((enum mm_misuse_kind)1000));
    return 0;
}

static int test_snprintf_conversions(void)
{
    FMT_EQ("42", "%d", 42);
    FMT_EQ("-42", "%d", -42);
    FMT_EQ("0", "%d", 0);
    FMT_EQ("-2147483648", "%d", -2147483647 - 1);
    FMT_EQ("2147483647", "%i", 2147483647);
    FMT_EQ("4294967295", "%u", 4294967295u);
    FMT_EQ("deadbeef", "%x", 0xdeadbeefu);
    FMT_EQ("DEADBEEF", "%X", 0xdeadbeefu);
    FMT_EQ("0", "%x", 0u);
    FMT_EQ("ffffffffffffffff", "%lx", ~0ul);
    FMT_EQ("-1234567890123", "%ld", -1234567890123l);
    FMT_EQ("18446744073709551615", "%llu", ~0ull);
    FMT_EQ("-9223372036854775808", "%lld", -9223372036854775807ll - 1);
    FMT_EQ("123456789012", "%zu", (size_t)123456789012ull);
    FMT_EQ("abc", "%zx", (size_t)0xabc);
    FMT_EQ("hello", "%s", "hello");
    FMT_EQ("a||b", "%s|%s|%s", "a", "", "b");
    FMT_EQ("A", "%c", 'A');
    FMT_EQ("xyz", "%c%c%c", 'x', 'y', 'z');
    FMT_EQ("100%", "%d%%", 100);
    FMT_EQ("pfn 7 order 3 zone Normal", "pfn %lu order %u zone %s", 7ul, 3u, "Normal");
    return 0;
}

static int test_snprintf_width_and_flags(void)
{
    FMT_EQ("   42", "%5d", 42);
    FMT_EQ("42   |", "%-5d|", 42);
    FMT_EQ("00042", "%05d", 42);
    FMT_EQ("-0042", "%05d", -42);
    FMT_EQ("  -42", "%5d", -42);
    FMT_EQ("0000beef", "%08x", 0xbeefu);
    FMT_EQ("00000000deadbeef", "%016lx", 0xdeadbeeful);
    FMT_EQ("12345", "%2d", 12345);
    FMT_EQ("       abc", "%10s", "abc");
    FMT_EQ("abc   |", "%-6s|", "abc");
    FMT_EQ("    7", "%5u", 7u);
    FMT_EQ("  x", "%3c", 'x');
    FMT_EQ("   18446744073709551615", "%23llu", ~0ull);
    return 0;
}

static int test_snprintf_pointer(void)
{
    int n = mm_snprintf(buf, sizeof(buf), "%p", (void *)(uintptr_t)0x1234abcd);

    KT_ASSERT_EQ(n, kt_len(buf));
    KT_ASSERT(buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'));
    uint64_t v = 0;

    for (const char *c = buf + 2; *c; c++) {
        int d = (*c >= '0' && *c <= '9') ? *c - '0' : (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10
              : (*c >= 'A' && *c <= 'F') ? *c - 'A' + 10 : -1;

        KT_ASSERT_MSG(d >= 0, "bad %%p output '%s'", buf);
        v = v * 16 + (uint64_t)d;
    }
    KT_ASSERT_EQ(v, 0x1234abcd);
    n = mm_snprintf(buf, sizeof(buf), "%p", (void *)0);
    KT_ASSERT_GT(n, 0);
    KT_ASSERT_EQ(n, kt_len(buf));
    const char *volatile nul = NULL;

    n = mm_snprintf(buf, sizeof(buf), "%s", nul); /* must not crash */
    KT_ASSERT_EQ(n, kt_len(buf));
    return 0;
}

static int test_snprintf_truncation(void)
{
    char small[16];

    memset(small, 'G', sizeof(small));
    KT_ASSERT_EQ(mm_snprintf(small, 6, "hello world"), 11);
    KT_ASSERT_STREQ(small, "hello");
    for (unsigned int i = 6; i < sizeof(small); i++)
        KT_ASSERT_EQ(small[i], 'G');
    memset(small, 'G', sizeof(small));
    KT_ASSERT_EQ(mm_snprintf(small, 4, "%d", 123456), 6);
    KT_ASSERT_STREQ(small, "123");
    KT_ASSERT_EQ(small[4], 'G');
    memset(small, 'G', sizeof(small));
    KT_ASSERT_EQ(mm_snprintf(small, 4, "%8d", 5), 8);
    KT_ASSERT_STREQ(small, "   ");
    memset(small, 'G', sizeof(small));
    KT_ASSERT_EQ(mm_snprintf(small, 1, "abc%d", 1), 4);
    KT_ASSERT_EQ(small[0], 0);
    KT_ASSERT_EQ(small[1], 'G');
    memset(small, 'G', sizeof(small));
    KT_ASSERT_EQ(mm_snprintf(small, 0, "abc%s", "def"), 6);
    KT_ASSERT_EQ(small[0], 'G');
    KT_ASSERT_EQ(mm_snprintf(NULL, 0, "%d", 12345), 5);
    /* exactly fitting */
    memset(small, 'G', sizeof(small));
    KT_ASSERT_EQ(mm_snprintf(small, 4, "abc"), 3);
    KT_ASSERT_STREQ(small, "abc");
    /* long output into the big buffer */
    static char longs[301];

    for (unsigned int i = 0; i < 300; i++)
        longs[i] = (char)('a' + i % 26);
    longs[300] = 0;
    KT_ASSERT_EQ(mm_snprintf(buf, sizeof(buf), "%s%d", longs, 42), 302);
    KT_ASSERT_EQ(kt_len(buf), sizeof(buf) - 1);
    KT_ASSERT_EQ(buf[sizeof(buf) - 2], longs[sizeof(buf) - 2]);
    return 0;
}

static int vfmt(char *b, size_t n, const char *fmt, ...) MM_PRINTF(3, 4);
static int vfmt(char *b, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int r = mm_vsnprintf(b, n, fmt, ap);

    va_end(ap);
    return r;
}

static int test_vsnprintf(void)
{
    KT_ASSERT_EQ(vfmt(buf, sizeof(buf), "%s=%lu (%#x)", "n", 5ul, 16u) >= 0, 1);
    KT_ASSERT_EQ(vfmt(buf, sizeof(buf), "%s-%u-%llx", "z", 9u, 0xabcull), 7);
    KT_ASSERT_STREQ(buf, "z-9-abc");
    return 0;
}

static const struct ktest_case format_cases[] = {
    KT_CASE(strerror),
    KT_CASE(misuse_names),
    KT_CASE(snprintf_conversions),
    KT_CASE(snprintf_width_and_flags),
    KT_CASE(snprintf_pointer),
    KT_CASE(snprintf_truncation),
    KT_CASE(vsnprintf),
    KT_CASE(strerror_int_min),
};
KT_SUITE(format, format_cases);
