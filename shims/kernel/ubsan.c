/*
 * ubsan.c - the kernel's UndefinedBehaviorSanitizer runtime: the __ubsan_handle_* functions that
 * code built with clang's -fsanitize=<checks> calls when a check fails (clang 14 handler ABI, as
 * declared in compiler-rt's ubsan_handlers.h / ubsan_value.h), reports, counters and the expect
 * window of negative tests. Build this file without instrumentation (-fno-sanitize=all).
 *
 * The checks, i.e. the -fsanitize= list of the hardened kernel (also UBSAN_CHECKS in ubsan.h):
 *
 *   check                      handler (__ubsan_handle_*)          report name
 *   alignment                  type_mismatch_v1                    misaligned-access
 *                              alignment_assumption                alignment-assumption
 *   bool                       load_invalid_value                  invalid-load
 *   enum                       load_invalid_value (C++ only: clang invalid-load
 *                              checks no enum load in C)
 *   builtin                    invalid_builtin                     invalid-builtin-use
 *   integer-divide-by-zero     divrem_overflow                     integer-divide-by-zero
 *   nonnull-attribute          nonnull_arg                         nonnull-attribute
 *   null                       type_mismatch_v1                    null-pointer-dereference
 *   object-size                type_mismatch_v1                    object-size-mismatch
 *   pointer-overflow           pointer_overflow                    pointer-overflow
 *   return                     missing_return (C++ only: nothing   missing-return
 *                              is emitted for C)
 *   returns-nonnull-attribute  nonnull_return_v1                   returns-nonnull-attribute
 *   shift                      shift_out_of_bounds                 shift-out-of-bounds
 *   signed-integer-overflow    add/sub/mul/negate/divrem_overflow  signed-integer-overflow
 *   unreachable                builtin_unreachable                 unreachable
 *   vla-bound                  vla_bound_not_positive              vla-bound-not-positive
 *   array-bounds               out_of_bounds                       array-index-out-of-bounds
 *
 * Not in the list: float-cast-overflow / float-divide-by-zero (the kernel has no floating point),
 * implicit-conversion and unsigned-integer-overflow (defined behaviour the mm relies on),
 * local-bounds (traps without a handler), function/vptr (C++).
 *
 * Recoverable checks (all but unreachable and return) report and return, so execution goes on
 * as if unchecked; their _abort twins (emitted only with -fno-sanitize-recover) report and panic.
 * unreachable and return report and panic: there is no code after them to return to.
 *
 * Once per location: a report claims its SourceLocation by swapping its column with ~0 (the
 * compiler's location records are writable data, compiler-rt does the same), so a check that
 * fails in a loop prints once. While a report is printed (ubsan_in_report) any check that fails
 * inside the printing code is dropped, so the runtime never recurses.
 */
#include "mm_env.h"
#include "ubsan.h"

#ifndef KERNEL_HARDENED
#define KERNEL_HARDENED 0
#endif

#define UBSAN_RULE "=================================================================="
#define UBSAN_RET_IP ((uintptr_t)__builtin_return_address(0))
#define UBSAN_COLUMN_CLAIMED 0xffffffffu

/* ---- the compiler's data (clang 14 ABI) ---- */

struct ubsan_loc {
    const char *file;
    uint32_t line;
    uint32_t column;
};

struct ubsan_type {
    uint16_t kind;   /* 0 integer, 1 float, 0xffff unknown */
    uint16_t info;   /* integer: bit 0 = signed, bits 1.. = log2(bit width) */
    char name[];     /* quoted, e.g. 'int' */
};

enum { UBSAN_TK_INTEGER = 0, UBSAN_TK_FLOAT = 1 };

typedef uintptr_t ubsan_value_t; /* the value itself if it fits, else a pointer to it */

struct ubsan_type_mismatch_data {
    struct ubsan_loc loc;
    const struct ubsan_type *type;
    unsigned char log_alignment;
    unsigned char check_kind;
};

struct ubsan_alignment_assumption_data {
    struct ubsan_loc loc;
    struct ubsan_loc assumption_loc;
    const struct ubsan_type *type;
};

struct ubsan_overflow_data {
    struct ubsan_loc loc;
    const struct ubsan_type *type;
};

struct ubsan_shift_data {
    struct ubsan_loc loc;
    const struct ubsan_type *lhs_type;
    const struct ubsan_type *rhs_type;
};

struct ubsan_oob_data {
    struct ubsan_loc loc;
    const struct ubsan_type *array_type;
    const struct ubsan_type *index_type;
};

struct ubsan_unreachable_data {
    struct ubsan_loc loc;
};

struct ubsan_vla_data {
    struct ubsan_loc loc;
    const struct ubsan_type *type;
};

struct ubsan_invalid_value_data {
    struct ubsan_loc loc;
    const struct ubsan_type *type;
};

struct ubsan_invalid_builtin_data {
    struct ubsan_loc loc;
    unsigned char kind; /* 0 ctz(0), 1 clz(0), 2 assume(false) */
};

struct ubsan_nonnull_return_data {
    struct ubsan_loc attr_loc;
};

struct ubsan_nonnull_arg_data {
    struct ubsan_loc loc;
    struct ubsan_loc attr_loc;
    int arg_index;
};

struct ubsan_pointer_overflow_data {
    struct ubsan_loc loc;
};

/* ---- state ---- */

static volatile bool ubsan_in_report;
static bool ubsan_window_open;
static unsigned int ubsan_window_reports;
static unsigned long ubsan_unexpected, ubsan_total;
static struct ubsan_report_info ubsan_last;
static bool ubsan_have_last;

bool ubsan_enabled(void) { return KERNEL_HARDENED != 0; }

void ubsan_expect_begin(void)
{
    ubsan_window_open = true;
    ubsan_window_reports = 0;
}

unsigned ubsan_expect_end(void)
{
    ubsan_window_open = false;
    return ubsan_window_reports;
}

unsigned long ubsan_unexpected_reports(void) { return ubsan_unexpected; }
unsigned long ubsan_total_reports(void) { return ubsan_total; }
const struct ubsan_report_info *ubsan_last_report(void)
{
    return ubsan_have_last ? &ubsan_last : NULL;
}

/* ---- values ---- */

static bool ubsan_is_int(const struct ubsan_type *t) { return t->kind == UBSAN_TK_INTEGER; }
static bool ubsan_is_signed(const struct ubsan_type *t) { return ubsan_is_int(t) && (t->info & 1); }
static unsigned int ubsan_bits(const struct ubsan_type *t) { return 1u << (t->info >> 1); }
static bool ubsan_is_inline(const struct ubsan_type *t) { return ubsan_bits(t) <= 64; }

/* A signed inline value, sign-extended from its width. */
static int64_t ubsan_sval(const struct ubsan_type *t, ubsan_value_t v)
{
    unsigned int shift = 64 - ubsan_bits(t);
    return (int64_t)((uint64_t)v << shift) >> shift;
}

static bool ubsan_is_zero(const struct ubsan_type *t, ubsan_value_t v)
{
    if (!ubsan_is_int(t))
        return false;
    if (ubsan_is_inline(t))
        return v == 0;
    const uint64_t *w = (const uint64_t *)v;
    return w[0] == 0 && w[1] == 0;
}

static bool ubsan_is_negative(const struct ubsan_type *t, ubsan_value_t v)
{
    if (!ubsan_is_signed(t))
        return false;
    if (ubsan_is_inline(t))
        return ubsan_sval(t, v) < 0;
    return (int64_t)((const uint64_t *)v)[1] < 0;
}

/* The value as an unsigned 64-bit number (128-bit values: the low half). */
static uint64_t ubsan_uval(const struct ubsan_type *t, ubsan_value_t v)
{
    return ubsan_is_inline(t) ? (uint64_t)v : ((const uint64_t *)v)[0];
}

/* Format @v of type @t into @buf: decimal when it fits 64 bits, hex for 128-bit integers. */
static const char *ubsan_fmt(char *buf, size_t size, const struct ubsan_type *t, ubsan_value_t v)
{
    if (!ubsan_is_int(t)) {
        mm_snprintf(buf, size, "<%s value 0x%lx>", t->kind == UBSAN_TK_FLOAT ? "float" : "unknown",
                    (unsigned long)v);
    } else if (!ubsan_is_inline(t)) {
        const uint64_t *w = (const uint64_t *)v;
        mm_snprintf(buf, size, "0x%016llx%016llx", (unsigned long long)w[1],
                    (unsigned long long)w[0]);
    } else if (ubsan_is_signed(t)) {
        mm_snprintf(buf, size, "%lld", (long long)ubsan_sval(t, v));
    } else {
        mm_snprintf(buf, size, "%llu", (unsigned long long)v);
    }
    return buf;
}

/* ---- reports ---- */

/* Claim @loc for a report: false if it was reported already (or a report is in progress). */
static bool ubsan_begin(const char *check, struct ubsan_loc *loc, uintptr_t ip)
{
    if (ubsan_in_report)
        return false;
    uint32_t column = 0;
    if (loc)
        column = __atomic_exchange_n(&loc->column, UBSAN_COLUMN_CLAIMED, __ATOMIC_RELAXED);
    if (column == UBSAN_COLUMN_CLAIMED)
        return false;
    ubsan_in_report = true;
    ubsan_total++;
    if (ubsan_window_open)
        ubsan_window_reports++;
    else
        ubsan_unexpected++;
    const char *file = loc && loc->file ? loc->file : "<unknown>";
    uint32_t line = loc ? loc->line : 0;
    ubsan_last = (struct ubsan_report_info){
        .check = check, .file = file, .line = line, .column = column, .ip = ip,
    };
    ubsan_have_last = true;
    env_log(ENV_LOG_ERR, "%s\nUBSAN: %s in %s:%u:%u [<%016lx>]%s\n", UBSAN_RULE, check, file,
            line, column, (unsigned long)ip, ubsan_window_open ? " (expected by a test)" : "");
    return true;
}

static void ubsan_end(void)
{
    env_log(ENV_LOG_ERR, "%s\n", UBSAN_RULE);
    ubsan_in_report = false;
}

static _Noreturn void ubsan_abort(const char *check)
{
    env_panic("UBSAN: %s is not recoverable", check);
}

static void ubsan_overflow(struct ubsan_overflow_data *d, ubsan_value_t lhs, ubsan_value_t rhs,
                           char op, uintptr_t ip)
{
    const char *check = ubsan_is_signed(d->type) ? "signed-integer-overflow"
                                                 : "unsigned-integer-overflow";
    if (!ubsan_begin(check, &d->loc, ip))
        return;
    char a[48], b[48];
    env_log(ENV_LOG_ERR, "%s %c %s cannot be represented in type %s\n",
            ubsan_fmt(a, sizeof(a), d->type, lhs), op, ubsan_fmt(b, sizeof(b), d->type, rhs),
            d->type->name);
    ubsan_end();
}

static void ubsan_negate(struct ubsan_overflow_data *d, ubsan_value_t v, uintptr_t ip)
{
    const char *check = ubsan_is_signed(d->type) ? "signed-integer-overflow"
                                                 : "unsigned-integer-overflow";
    if (!ubsan_begin(check, &d->loc, ip))
        return;
    char a[48];
    env_log(ENV_LOG_ERR, "negation of %s cannot be represented in type %s\n",
            ubsan_fmt(a, sizeof(a), d->type, v), d->type->name);
    ubsan_end();
}

static void ubsan_divrem(struct ubsan_overflow_data *d, ubsan_value_t lhs, ubsan_value_t rhs,
                         uintptr_t ip)
{
    bool by_zero = ubsan_is_zero(d->type, rhs);
    if (!ubsan_begin(by_zero ? "integer-divide-by-zero" : "signed-integer-overflow", &d->loc, ip))
        return;
    char a[48];
    if (by_zero)
        env_log(ENV_LOG_ERR, "division of %s by zero\n", ubsan_fmt(a, sizeof(a), d->type, lhs));
    else
        env_log(ENV_LOG_ERR, "division of %s by -1 cannot be represented in type %s\n",
                ubsan_fmt(a, sizeof(a), d->type, lhs), d->type->name);
    ubsan_end();
}

static void ubsan_shift(struct ubsan_shift_data *d, ubsan_value_t lhs, ubsan_value_t rhs,
                        uintptr_t ip)
{
    if (!ubsan_begin("shift-out-of-bounds", &d->loc, ip))
        return;
    char a[48], b[48];
    const struct ubsan_type *lt = d->lhs_type, *rt = d->rhs_type;
    ubsan_fmt(a, sizeof(a), lt, lhs);
    ubsan_fmt(b, sizeof(b), rt, rhs);
    if (ubsan_is_negative(rt, rhs))
        env_log(ENV_LOG_ERR, "shift exponent %s is negative\n", b);
    else if (ubsan_uval(rt, rhs) >= ubsan_bits(lt) || !ubsan_is_inline(rt))
        env_log(ENV_LOG_ERR, "shift exponent %s is too large for %u-bit type %s\n", b,
                ubsan_bits(lt), lt->name);
    else if (ubsan_is_negative(lt, lhs))
        env_log(ENV_LOG_ERR, "left shift of negative value %s\n", a);
    else
        env_log(ENV_LOG_ERR, "left shift of %s by %s places cannot be represented in type %s\n",
                a, b, lt->name);
    ubsan_end();
}

static void ubsan_oob(struct ubsan_oob_data *d, ubsan_value_t index, uintptr_t ip)
{
    if (!ubsan_begin("array-index-out-of-bounds", &d->loc, ip))
        return;
    char a[48];
    env_log(ENV_LOG_ERR, "index %s is out of range for type %s\n",
            ubsan_fmt(a, sizeof(a), d->index_type, index), d->array_type->name);
    ubsan_end();
}

static const char *ubsan_tck_name(unsigned char kind)
{
    static const char *const names[] = {
        "load of", "store to", "reference binding to", "member access within",
        "member call on", "constructor call on", "downcast of", "downcast of", "upcast of",
        "cast to virtual base of", "_Nonnull binding to", "dynamic operation on",
    };
    return kind < MM_ARRAY_SIZE(names) ? names[kind] : "access to";
}

static void ubsan_type_mismatch(struct ubsan_type_mismatch_data *d, ubsan_value_t ptr,
                                uintptr_t ip)
{
    uintptr_t align = d->log_alignment < 64 ? (uintptr_t)1 << d->log_alignment : 0;
    const char *what = ubsan_tck_name(d->check_kind);
    if (!ptr) {
        if (ubsan_begin("null-pointer-dereference", &d->loc, ip)) {
            env_log(ENV_LOG_ERR, "%s null pointer of type %s\n", what, d->type->name);
            ubsan_end();
        }
    } else if (d->log_alignment && (ptr & (align - 1))) {
        if (ubsan_begin("misaligned-access", &d->loc, ip)) {
            env_log(ENV_LOG_ERR, "%s misaligned address %p for type %s, which requires %lu byte "
                    "alignment\n", what, (void *)ptr, d->type->name, (unsigned long)align);
            ubsan_end();
        }
    } else if (ubsan_begin("object-size-mismatch", &d->loc, ip)) {
        env_log(ENV_LOG_ERR, "%s address %p with insufficient space for an object of type %s\n",
                what, (void *)ptr, d->type->name);
        ubsan_end();
    }
}

static void ubsan_alignment_assumption(struct ubsan_alignment_assumption_data *d, ubsan_value_t ptr,
                                       ubsan_value_t align, ubsan_value_t offset, uintptr_t ip)
{
    if (!ubsan_begin("alignment-assumption", &d->loc, ip))
        return;
    env_log(ENV_LOG_ERR, "assumption of %lu byte alignment (with offset of %lu bytes) for pointer "
            "of type %s failed: the pointer is %p\n", (unsigned long)align, (unsigned long)offset,
            d->type->name, (void *)ptr);
    if (d->assumption_loc.file)
        env_log(ENV_LOG_ERR, "alignment assumption was specified at %s:%u:%u\n",
                d->assumption_loc.file, d->assumption_loc.line, d->assumption_loc.column);
    ubsan_end();
}

static void ubsan_vla_bound(struct ubsan_vla_data *d, ubsan_value_t bound, uintptr_t ip)
{
    if (!ubsan_begin("vla-bound-not-positive", &d->loc, ip))
        return;
    char a[48];
    env_log(ENV_LOG_ERR, "variable length array bound evaluates to non-positive value %s\n",
            ubsan_fmt(a, sizeof(a), d->type, bound));
    ubsan_end();
}

static void ubsan_invalid_value(struct ubsan_invalid_value_data *d, ubsan_value_t v, uintptr_t ip)
{
    if (!ubsan_begin("invalid-load", &d->loc, ip))
        return;
    char a[48];
    env_log(ENV_LOG_ERR, "load of value %s, which is not a valid value for type %s\n",
            ubsan_fmt(a, sizeof(a), d->type, v), d->type->name);
    ubsan_end();
}

static void ubsan_invalid_builtin(struct ubsan_invalid_builtin_data *d, uintptr_t ip)
{
    if (!ubsan_begin("invalid-builtin-use", &d->loc, ip))
        return;
    if (d->kind == 2)
        env_log(ENV_LOG_ERR, "assumption is violated during execution\n");
    else
        env_log(ENV_LOG_ERR, "passing zero to %s, which is not a valid argument\n",
                d->kind == 0 ? "ctz()" : "clz()");
    ubsan_end();
}

static void ubsan_nonnull_arg(struct ubsan_nonnull_arg_data *d, uintptr_t ip)
{
    if (!ubsan_begin("nonnull-attribute", &d->loc, ip))
        return;
    env_log(ENV_LOG_ERR, "null pointer passed as argument %d, which is declared to never be "
            "null\n", d->arg_index);
    if (d->attr_loc.file)
        env_log(ENV_LOG_ERR, "nonnull attribute specified at %s:%u:%u\n", d->attr_loc.file,
                d->attr_loc.line, d->attr_loc.column);
    ubsan_end();
}

static void ubsan_nonnull_return(struct ubsan_nonnull_return_data *d, struct ubsan_loc *loc,
                                 uintptr_t ip)
{
    if (!ubsan_begin("returns-nonnull-attribute", loc ? loc : &d->attr_loc, ip))
        return;
    env_log(ENV_LOG_ERR, "null pointer returned from function declared to never return null\n");
    if (d->attr_loc.file)
        env_log(ENV_LOG_ERR, "returns_nonnull attribute specified at %s:%u:%u\n",
                d->attr_loc.file, d->attr_loc.line, d->attr_loc.column);
    ubsan_end();
}

static void ubsan_pointer_overflow(struct ubsan_pointer_overflow_data *d, ubsan_value_t base,
                                   ubsan_value_t result, uintptr_t ip)
{
    if (!ubsan_begin("pointer-overflow", &d->loc, ip))
        return;
    void *b = (void *)base, *r = (void *)result;
    if (!base && !result)
        env_log(ENV_LOG_ERR, "applying zero offset to null pointer\n");
    else if (!base)
        env_log(ENV_LOG_ERR, "applying non-zero offset %p to null pointer\n", r);
    else if (!result)
        env_log(ENV_LOG_ERR, "applying non-zero offset to non-null pointer %p produced null "
                "pointer\n", b);
    else if (((intptr_t)base >= 0) == ((intptr_t)result >= 0))
        env_log(ENV_LOG_ERR, "%s unsigned offset %s %p overflowed to %p\n",
                base > result ? "addition of" : "subtraction of", base > result ? "to" : "from",
                b, r);
    else
        env_log(ENV_LOG_ERR, "pointer index expression with base %p overflowed to %p\n", b, r);
    ubsan_end();
}

static void ubsan_unreachable(struct ubsan_unreachable_data *d, const char *check,
                              const char *what, uintptr_t ip)
{
    if (ubsan_begin(check, &d->loc, ip)) {
        env_log(ENV_LOG_ERR, "%s\n", what);
        ubsan_end();
    }
}

/* ---- the handlers (names and arguments fixed by the compiler) ---- */

/* Declare and define __ubsan_handle_<name> (report, return) and its _abort twin (report, panic). */
#define UBSAN_HANDLER(name, check, params, call) \
    void __ubsan_handle_##name params; \
    void __ubsan_handle_##name##_abort params; \
    void __ubsan_handle_##name params { call; } \
    void __ubsan_handle_##name##_abort params { call; ubsan_abort(check); }

UBSAN_HANDLER(add_overflow, "add-overflow",
              (struct ubsan_overflow_data *d, ubsan_value_t l, ubsan_value_t r),
              ubsan_overflow(d, l, r, '+', UBSAN_RET_IP))
UBSAN_HANDLER(sub_overflow, "sub-overflow",
              (struct ubsan_overflow_data *d, ubsan_value_t l, ubsan_value_t r),
              ubsan_overflow(d, l, r, '-', UBSAN_RET_IP))
UBSAN_HANDLER(mul_overflow, "mul-overflow",
              (struct ubsan_overflow_data *d, ubsan_value_t l, ubsan_value_t r),
              ubsan_overflow(d, l, r, '*', UBSAN_RET_IP))
UBSAN_HANDLER(negate_overflow, "negate-overflow",
              (struct ubsan_overflow_data *d, ubsan_value_t v), ubsan_negate(d, v, UBSAN_RET_IP))
UBSAN_HANDLER(divrem_overflow, "divrem-overflow",
              (struct ubsan_overflow_data *d, ubsan_value_t l, ubsan_value_t r),
              ubsan_divrem(d, l, r, UBSAN_RET_IP))
UBSAN_HANDLER(shift_out_of_bounds, "shift-out-of-bounds",
              (struct ubsan_shift_data *d, ubsan_value_t l, ubsan_value_t r),
              ubsan_shift(d, l, r, UBSAN_RET_IP))
UBSAN_HANDLER(out_of_bounds, "array-index-out-of-bounds",
              (struct ubsan_oob_data *d, ubsan_value_t index), ubsan_oob(d, index, UBSAN_RET_IP))
UBSAN_HANDLER(type_mismatch_v1, "type-mismatch",
              (struct ubsan_type_mismatch_data *d, ubsan_value_t ptr),
              ubsan_type_mismatch(d, ptr, UBSAN_RET_IP))
UBSAN_HANDLER(alignment_assumption, "alignment-assumption",
              (struct ubsan_alignment_assumption_data *d, ubsan_value_t p, ubsan_value_t a,
               ubsan_value_t o), ubsan_alignment_assumption(d, p, a, o, UBSAN_RET_IP))
UBSAN_HANDLER(vla_bound_not_positive, "vla-bound-not-positive",
              (struct ubsan_vla_data *d, ubsan_value_t bound),
              ubsan_vla_bound(d, bound, UBSAN_RET_IP))
UBSAN_HANDLER(load_invalid_value, "invalid-load",
              (struct ubsan_invalid_value_data *d, ubsan_value_t v),
              ubsan_invalid_value(d, v, UBSAN_RET_IP))
UBSAN_HANDLER(invalid_builtin, "invalid-builtin-use", (struct ubsan_invalid_builtin_data *d),
              ubsan_invalid_builtin(d, UBSAN_RET_IP))
UBSAN_HANDLER(nonnull_arg, "nonnull-attribute", (struct ubsan_nonnull_arg_data *d),
              ubsan_nonnull_arg(d, UBSAN_RET_IP))
UBSAN_HANDLER(nonnull_return_v1, "returns-nonnull-attribute",
              (struct ubsan_nonnull_return_data *d, struct ubsan_loc *loc),
              ubsan_nonnull_return(d, loc, UBSAN_RET_IP))
UBSAN_HANDLER(pointer_overflow, "pointer-overflow",
              (struct ubsan_pointer_overflow_data *d, ubsan_value_t base, ubsan_value_t result),
              ubsan_pointer_overflow(d, base, result, UBSAN_RET_IP))

_Noreturn void __ubsan_handle_builtin_unreachable(struct ubsan_unreachable_data *d);
_Noreturn void __ubsan_handle_missing_return(struct ubsan_unreachable_data *d);

_Noreturn void __ubsan_handle_builtin_unreachable(struct ubsan_unreachable_data *d)
{
    ubsan_unreachable(d, "unreachable", "execution reached an unreachable program point",
                      UBSAN_RET_IP);
    ubsan_abort("unreachable");
}

_Noreturn void __ubsan_handle_missing_return(struct ubsan_unreachable_data *d)
{
    ubsan_unreachable(d, "missing-return", "execution reached the end of a value-returning "
                      "function without returning a value", UBSAN_RET_IP);
    ubsan_abort("missing-return");
}
