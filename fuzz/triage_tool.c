/*
 * triage_tool.c - crash triage for the fuzz targets: signatures, an op-level minimiser that keeps
 * the signature, and the per-signature group directories. Hosted only (libc, fork/exec of the
 * replay program); ./build.sh builds it and `./build.sh triage` / `./build.sh repro` call it.
 *
 *   triage_tool signature [--type] REPORT          signature (or crash type) of a replay report
 *   triage_tool regress TARGET SIGNATURE FILE      regression test source for FILE on stdout
 *   triage_tool [OPT]... signature-of TARGET FILE  replay FILE, print its signature (1: clean)
 *   triage_tool [OPT]... minimize TARGET IN OUT [SIGNATURE]
 *   triage_tool [OPT]... check-minimal TARGET FILE SIGNATURE
 *                                                   0 only if FILE has SIGNATURE and losing any
 *                                                   single op loses it (each removal replayed)
 *   triage_tool [OPT]... triage [--out DIR] [--runs N] [--root DIR] [--repro-prefix S] DIR
 *                                                   every crash file under DIR into groups
 *   OPT: --replay TARGET=BIN (the replay program of the configuration TARGET runs in; one per
 *        target), --seconds S (minimiser budget per input, default $MM_TRIAGE_MIN_SECONDS or 60)
 *
 * Signature: the crash type, then the top three frames of the first stack of the report that
 * are not reporting helpers, joined by '-' (at most 160 characters):
 *   FUZZ-FAIL invariant=X ...          invariant-X               (a broken mm_check invariant)
 *   FUZZ-FAIL misuse-undetected kind=K undetected-misuse-K
 *   FUZZ-FAIL other=... / other: ...    harness-other
 *   ERROR: AddressSanitizer: K          asan-K
 *   ...: runtime error: w1 w2 w3 ...    ubsan-w1-w2-w3            (letters only)
 *   ERROR: libFuzzer: K                 libfuzzer-K
 * Frames matching SKIP_FRAMES (abort, the sanitizer runtime, fuzz_fail, *_fail / *_report ...
 * helpers, the replay's main) never take a slot.
 *
 * Minimiser (the input is an 8-byte machine header and 8-byte op records, ops.h):
 *   1. ddmin over whole op records (complements of n chunks, then the chunks alone, n doubling);
 *   2. one-op removal, last op first, until a pass removes nothing;
 *   3. the canonical bytes of the text form (replay --decode | --encode), then each field of the
 *      header (memory, CPUs, pcp, holes, reserved ranges, batch, seed) and of every op (a, b, c,
 *      d) set to 0, else halved while the signature stays;
 *   4. steps 2-3 again until nothing changes. The result is 1-minimal: removing any one op
 *      loses the signature (unless the time budget ran out first, which is reported).
 * Every candidate is one replay process with FUZZ_CHECK_EVERY_OP=1 (the full check after every
 * op). To keep that to a few milliseconds, candidates replay unsymbolized; the crash type plus
 * the module offsets of the first stack identify a symbolized signature, which is computed once
 * per distinct stack by a symbolized replay. Identical candidates are replayed once.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HDR_SIZE 8
#define REC_SIZE 8
#define SIG_MAX 160

/* ---------------------------------------------------------------- small helpers */

struct buf {
    char *p;
    size_t n, cap;
};

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("triage_tool: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);

    if (!d)
        die("out of memory");
    return d;
}

static void buf_add(struct buf *b, const void *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void buf_str(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_reset(struct buf *b)
{
    b->n = 0;
    if (b->p)
        b->p[0] = 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Read a whole file; returns false (and leaves @b empty) when it cannot. */
static bool read_whole(const char *path, struct buf *b)
{
    char tmp[65536];
    size_t n;
    FILE *f = fopen(path, "rb");

    buf_reset(b);
    if (!f)
        return false;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_add(b, tmp, n);
    fclose(f);
    if (!b->p)
        buf_add(b, "", 0);
    return true;
}

static void write_whole(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(p, 1, n, f) != n || fclose(f))
        die("cannot write %s: %s", path, strerror(errno));
}

/* "DIR/NAME" into @path (PATH_MAX bytes); too long a path is an error, not a truncation. */
static char *path_join(char *path, const char *dir, const char *name)
{
    if (snprintf(path, 4096, "%s/%s", dir, name) >= 4096)
        die("path too long: %s/%s", dir, name);
    return path;
}

/* ---------------------------------------------------------------- signatures */

/* Frames that belong to the reporting machinery, never to the bug. */
#define SKIP_FRAMES                                                                                \
    "^(__|_start$|raise$|abort$|main$|run_one$|run_forked$|LLVMFuzzer|fuzzer::|"                  \
    "hosted_crash$|fuzz_crash$|fuzz_fail$|fuzz_fail_op$|fuzz_log$|env_panic$|mm_report_misuse$|"   \
    ".*_(fail|crash|report|abort|panic)$|slab_report_damage$)"

enum sig_mode {
    SIG_FULL, /* type + three frames, as group directories are named */
    SIG_TYPE, /* the crash type alone */
    SIG_RAW,  /* type + every frame of the first stack as printed (unsymbolized: module+offset) */
};

/* Runs of characters outside [A-Za-z0-9._-] become one '_'. */
static void sig_clean(struct buf *out, const char *s, size_t n)
{
    bool run = false;
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (ok) {
            buf_add(out, &c, 1);
            run = false;
        } else if (!run) {
            buf_add(out, "_", 1);
            run = true;
        }
    }
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* The @idx-th (1-based) blank-separated word of [s, end), as awk splits; false if none. */
static bool word(const char *s, const char *end, int idx, const char **w, size_t *wn)
{
    int k = 0;

    while (s < end) {
        while (s < end && is_blank(*s))
            s++;
        if (s >= end)
            break;
        const char *b = s;
        while (s < end && !is_blank(*s))
            s++;
        if (++k == idx) {
            *w = b;
            *wn = (size_t)(s - b);
            return true;
        }
    }
    return false;
}

/* Text after the last occurrence of @pat in [s, end), or NULL. */
static const char *after_last(const char *s, const char *end, const char *pat)
{
    size_t pn = strlen(pat);
    const char *hit = NULL, *p;

    for (p = s; p + pn <= end; p++)
        if (!memcmp(p, pat, pn))
            hit = p + pn;
    return hit;
}

static bool line_has(const char *s, const char *end, const char *pat)
{
    return after_last(s, end, pat) != NULL;
}

static bool prefix(const char *w, size_t wn, const char *p)
{
    size_t pn = strlen(p);

    return wn >= pn && !memcmp(w, p, pn);
}

/* A sanitizer or engine error line (@marker): "@kind" + the first word after @after. */
static bool engine_type(const char *s, const char *e, const char *marker, const char *after,
                        const char *kind, struct buf *type)
{
    const char *w;
    size_t wn;

    if (!line_has(s, e, marker))
        return false;
    buf_str(type, kind);
    if (word(after_last(s, e, after), e, 1, &w, &wn))
        buf_add(type, w, wn);
    return true;
}

/* Crash type of one report line, or false if the line names none. */
static bool line_type(const char *s, const char *e, struct buf *type)
{
    const char *a, *w;
    size_t wn;

    if ((a = after_last(s, e, "FUZZ-FAIL "))) {
        if (!word(a, e, 1, &w, &wn)) {
            w = a;
            wn = 0;
        }
        if (prefix(w, wn, "invariant=")) {
            buf_str(type, "invariant-");
            buf_add(type, w + 10, wn - 10);
        } else if (prefix(w, wn, "misuse-undetected")) {
            const char *k = "unknown", *x;
            size_t kn = 7, xn;
            int i;
            for (i = 2; word(a, e, i, &x, &xn); i++)
                if (prefix(x, xn, "kind=")) {
                    k = x + 5;
                    kn = xn - 5;
                }
            buf_str(type, "undetected-misuse-");
            buf_add(type, k, kn);
        } else {
            size_t i;
            for (i = 0; i < wn && w[i] != '=' && w[i] != ':'; i++)
                ;
            buf_str(type, "harness-");
            buf_add(type, w, i);
        }
        return true;
    }
    if (engine_type(s, e, "ERROR: AddressSanitizer: ", "AddressSanitizer: ", "asan-", type))
        return true;
    if ((a = after_last(s, e, "runtime error: "))) {
        int i, parts = 0;
        buf_str(type, "ubsan-");
        for (i = 1; i <= 3 && word(a, e, i, &w, &wn); i++) {
            size_t j, start = type->n;
            if (parts)
                buf_add(type, "-", 1);
            for (j = 0; j < wn; j++)
                if (w[j] >= 'a' && w[j] <= 'z')
                    buf_add(type, &w[j], 1);
            if (type->n == start + (parts ? 1u : 0u))
                type->n = start, type->p[start] = 0; /* the word had no letters */
            else
                parts++;
        }
        return true;
    }
    if (engine_type(s, e, "ERROR: libFuzzer: ", "libFuzzer: ", "libfuzzer-", type))
        return true;
    return false;
}

/* "   #N 0xADDR" at the start of a stack frame line; returns what follows the address. */
static const char *frame_rest(const char *s, const char *e)
{
    while (s < e && *s == ' ')
        s++;
    if (s >= e || *s++ != '#' || s >= e || *s < '0' || *s > '9')
        return NULL;
    while (s < e && *s >= '0' && *s <= '9')
        s++;
    if (e - s < 4 || s[0] != ' ' || s[1] != '0' || s[2] != 'x')
        return NULL;
    s += 3;
    if (s >= e || !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
        return NULL;
    while (s < e && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
        s++;
    if (s < e && *s != ' ')
        return NULL;
    return s;
}

/**
 * Signature of a replay report (@rep, NUL-terminated) into @out.
 * Returns false when the report names no crash type.
 */
static bool report_signature(const char *rep, enum sig_mode mode, struct buf *out)
{
    static regex_t skip;
    static bool compiled;
    struct buf type = {0}, frames = {0};
    const char *s = rep;
    bool started = false, done = false;
    int nf = 0;

    if (!compiled) {
        if (regcomp(&skip, SKIP_FRAMES, REG_EXTENDED | REG_NOSUB))
            die("bad frame regex");
        compiled = true;
    }
    buf_reset(out);
    while (*s) {
        const char *e = strchr(s, '\n'), *rest;
        if (!e)
            e = s + strlen(s);
        if (!type.n)
            line_type(s, e, &type);
        rest = frame_rest(s, e);
        if (rest && mode == SIG_RAW) { /* every frame line, symbolized or not */
            if (!done) {
                started = true;
                buf_str(&frames, "|");
                buf_add(&frames, rest, (size_t)(e - rest));
            }
        } else if (rest && mode != SIG_RAW && !strncmp(rest, " in ", 4)) {
            const char *w;
            size_t wn;
            if (!done) {
                started = true;
                if (word(s, e, 4, &w, &wn) && nf < 3) {
                    char *f = strndup(w, wn);
                    if (regexec(&skip, f, 0, NULL, 0)) {
                        buf_str(&frames, "-");
                        sig_clean(&frames, w, wn);
                        nf++;
                    }
                    free(f);
                }
            }
        } else if (started) {
            done = true;
        }
        s = *e ? e + 1 : e;
    }
    if (!type.n) {
        free(type.p);
        free(frames.p);
        return false;
    }
    sig_clean(out, type.p, type.n);
    if (mode == SIG_FULL && frames.n) {
        buf_add(out, frames.p, frames.n);
        if (out->n > SIG_MAX)
            out->p[out->n = SIG_MAX] = 0;
    } else if (mode == SIG_RAW && frames.n) {
        buf_add(out, frames.p, frames.n);
    }
    free(type.p);
    free(frames.p);
    return true;
}

/* ---------------------------------------------------------------- running the replay program */

static const char *symbolizer_path(void)
{
    static char path[4096];
    static bool looked;
    const char *env = getenv("PATH");

    if (looked)
        return path[0] ? path : NULL;
    looked = true;
    while (env && *env) {
        const char *c = strchr(env, ':');
        size_t n = c ? (size_t)(c - env) : strlen(env);
        snprintf(path, sizeof(path), "%.*s/llvm-symbolizer", (int)n, env);
        if (n && access(path, X_OK) == 0)
            return path;
        env += n + (c ? 1 : 0);
    }
    path[0] = 0;
    return NULL;
}

static unsigned int replay_timeout(void)
{
    const char *e = getenv("MM_TRIAGE_REPLAY_TIMEOUT");

    return e && atoi(e) > 0 ? (unsigned int)atoi(e) : 30;
}

/**
 * Run @argv with the triage environment, its output (stdout, and stderr too when @merge) into
 * @out. Sanitizers stop at the first error; @symbolize names the frames. Returns the exit status,
 * 128 + signal when killed (also by the per-replay timeout), or -1 when it cannot run.
 */
static int run_capture(char *const argv[], bool symbolize, bool merge, struct buf *out)
{
    int p[2], status;
    pid_t pid;
    char tmp[65536];
    ssize_t n;

    buf_reset(out);
    if (pipe(p))
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        const char *sym = symbolizer_path();
        dup2(p[1], 1);
        dup2(merge ? p[1] : null, 2);
        close(p[0]);
        close(p[1]);
        setenv("ASAN_OPTIONS",
               symbolize ? "handle_abort=1:symbolize=1:detect_leaks=0:allocator_may_return_null=1"
                         : "handle_abort=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1",
               1);
        setenv("UBSAN_OPTIONS",
               symbolize ? "print_stacktrace=1:handle_abort=1:symbolize=1:halt_on_error=1"
                         : "print_stacktrace=1:handle_abort=1:symbolize=0:halt_on_error=1",
               1);
        if (sym)
            setenv("ASAN_SYMBOLIZER_PATH", sym, 1);
        setenv("FUZZ_CHECK_EVERY_OP", "1", 1); /* full mm_check after every op, when sampled */
        alarm(replay_timeout());
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    while ((n = read(p[0], tmp, sizeof(tmp))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        buf_add(out, tmp, (size_t)n);
    }
    close(p[0]);
    if (!out->p)
        buf_add(out, "", 0);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct targets {
    char **name, **bin;
    int n;
};

static struct targets T;

static const char *replay_of(const char *target)
{
    int i;

    for (i = 0; i < T.n; i++)
        if (!strcmp(T.name[i], target))
            return T.bin[i];
    die("no replay program for target '%s' (give --replay %s=BIN)", target, target);
    return NULL;
}

/* The triage replay of one file: the report on @out, the replay's status. */
static int replay_file(const char *target, const char *file, bool symbolize, struct buf *out)
{
    char *argv[] = {(char *)replay_of(target), "--target", (char *)target, "--no-fork",
                    (char *)file, NULL};

    return run_capture(argv, symbolize, true, out);
}

/*
 * events.txt of group @g: input.min replayed once more with every trace class on, keeping the
 * "TRACE-TAIL" lines the replay prints when it crashes (fuzz/trace_view.c): the mm's last
 * TRIAGE_TRACE_EVENTS events before the crash, every CPU merged in sequence order. The trace
 * does not change what the mm does, so the crash is the one report.txt shows. The same replay
 * writes dump.bin, the mm's post-mortem dump at the crash (./build.sh postmortem reads it).
 */
#define TRIAGE_TRACE_EVENTS "128"
static void write_events(const char *target, const char *g)
{
    char in[4096], path[4096], dump[4096];
    struct buf out = {0}, ev = {0};

    path_join(in, g, "input.min");
    path_join(dump, g, "dump.bin");
    char *argv[] = {(char *)replay_of(target), "--target", (char *)target, "--no-fork",
                    "--trace-tail", TRIAGE_TRACE_EVENTS, "--dump", dump, in, NULL};
    run_capture(argv, false, true, &out);
    for (char *s = out.p, *e; s && *s; s = e ? e + 1 : NULL) {
        e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n > 11 && !strncmp(s, "TRACE-TAIL ", 11)) {
            buf_add(&ev, s + 11, n - 11);
            buf_add(&ev, "\n", 1);
        }
    }
    if (!ev.p)
        buf_str(&ev, "no trace events: the replay did not crash, or crashed before the mm booted\n");
    path_join(path, g, "events.txt");
    write_whole(path, ev.p, ev.n);
    free(out.p);
    free(ev.p);
}

/** Signature of @file replayed through @target's program (symbolized); false if it is clean. */
static bool file_signature(const char *target, const char *file, struct buf *sig)
{
    struct buf rep = {0};
    bool ok = replay_file(target, file, true, &rep) != 0 && report_signature(rep.p, SIG_FULL, sig);

    free(rep.p);
    return ok;
}

/* ---------------------------------------------------------------- the oracle */

struct seen { /* a candidate already replayed */
    uint8_t *data;
    size_t size;
    uint64_t hash;
    char *sig; /* NULL: no crash */
};

struct rawsig { /* unsymbolized first stack -> symbolized signature */
    char *raw, *sig;
};

struct oracle {
    const char *target, *bin, *want;
    char dir[256], file[300];
    bool exact; /* every candidate symbolized: no stack cache (check-minimal) */
    struct seen *seen;
    size_t nseen;
    struct rawsig *raw;
    size_t nraw;
    unsigned int replays, symbolized, cached;
    double start, deadline;
    bool expired;
};

static uint64_t fnv64(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    while (n--)
        h = (h ^ *p++) * 1099511628211ull;
    return h;
}

static void oracle_init(struct oracle *o, const char *target, const char *want, double seconds)
{
    const char *tmp = getenv("TMPDIR");

    memset(o, 0, sizeof(*o));
    o->target = target;
    o->bin = replay_of(target);
    o->want = want;
    snprintf(o->dir, sizeof(o->dir), "%s/triage.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(o->dir))
        die("cannot make a temporary directory: %s", strerror(errno));
    snprintf(o->file, sizeof(o->file), "%s/candidate", o->dir);
    o->start = now_s();
    o->deadline = o->start + seconds;
}

static void oracle_free(struct oracle *o)
{
    size_t i;
    char path[400];

    for (i = 0; i < o->nseen; i++) {
        free(o->seen[i].data);
        free(o->seen[i].sig);
    }
    for (i = 0; i < o->nraw; i++) {
        free(o->raw[i].raw);
        free(o->raw[i].sig);
    }
    free(o->seen);
    free(o->raw);
    unlink(o->file);
    snprintf(path, sizeof(path), "%s/text", o->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/canon", o->dir);
    unlink(path);
    rmdir(o->dir);
}

/* Replay @data; its signature (malloc'ed) or NULL when it does not crash. */
static char *oracle_replay(struct oracle *o, const uint8_t *data, size_t size)
{
    struct buf rep = {0}, key = {0}, sig = {0};
    char *res = NULL;
    size_t i;

    write_whole(o->file, data, size);
    o->replays++;
    if (o->exact) {
        o->symbolized++;
        if (file_signature(o->target, o->file, &sig))
            res = xstrdup(sig.p);
        goto out;
    }
    if (replay_file(o->target, o->file, false, &rep) == 0 ||
        !report_signature(rep.p, SIG_RAW, &key))
        goto out;
    for (i = 0; i < o->nraw; i++)
        if (!strcmp(o->raw[i].raw, key.p)) {
            res = xstrdup(o->raw[i].sig);
            goto out;
        }
    o->symbolized++;
    if (replay_file(o->target, o->file, true, &rep) != 0 &&
        report_signature(rep.p, SIG_FULL, &sig)) {
        o->raw = xrealloc(o->raw, (o->nraw + 1) * sizeof(*o->raw));
        o->raw[o->nraw].raw = xstrdup(key.p);
        o->raw[o->nraw++].sig = xstrdup(sig.p);
        res = xstrdup(sig.p);
    }
out:
    free(rep.p);
    free(key.p);
    free(sig.p);
    return res;
}

/** Does @data still crash with the wanted signature? (false, without replaying, once expired) */
static bool oracle_test(struct oracle *o, const uint8_t *data, size_t size)
{
    uint64_t h = fnv64(data, size);
    size_t i;

    for (i = 0; i < o->nseen; i++)
        if (o->seen[i].hash == h && o->seen[i].size == size &&
            !memcmp(o->seen[i].data, data, size)) {
            o->cached++;
            return o->seen[i].sig && !strcmp(o->seen[i].sig, o->want);
        }
    if (now_s() > o->deadline) {
        o->expired = true;
        return false;
    }
    o->seen = xrealloc(o->seen, (o->nseen + 1) * sizeof(*o->seen));
    o->seen[o->nseen].data = xrealloc(NULL, size);
    memcpy(o->seen[o->nseen].data, data, size);
    o->seen[o->nseen].size = size;
    o->seen[o->nseen].hash = h;
    o->seen[o->nseen].sig = oracle_replay(o, data, size);
    o->nseen++;
    return o->seen[o->nseen - 1].sig && !strcmp(o->seen[o->nseen - 1].sig, o->want);
}

/* ---------------------------------------------------------------- inputs as op records */

struct input {
    uint8_t hdr[HDR_SIZE];
    uint8_t (*rec)[REC_SIZE];
    size_t n;
};

/* A missing tail reads as zeros (ops.h), so padding the header and the last record to full
 * size keeps the meaning; the minimiser checks that anyway. */
static void input_parse(struct input *in, const uint8_t *p, size_t size)
{
    size_t i;

    memset(in->hdr, 0, HDR_SIZE);
    memcpy(in->hdr, p, size < HDR_SIZE ? size : HDR_SIZE);
    in->n = size > HDR_SIZE ? (size - HDR_SIZE + REC_SIZE - 1) / REC_SIZE : 0;
    in->rec = xrealloc(NULL, in->n * REC_SIZE);
    memset(in->rec, 0, in->n * REC_SIZE);
    for (i = 0; i < in->n; i++) {
        size_t off = HDR_SIZE + i * REC_SIZE, left = size - off;
        memcpy(in->rec[i], p + off, left < REC_SIZE ? left : REC_SIZE);
    }
}

static size_t input_bytes(const struct input *in, struct buf *b)
{
    buf_reset(b);
    buf_add(b, in->hdr, HDR_SIZE);
    buf_add(b, in->rec, in->n * REC_SIZE);
    return b->n;
}

static bool input_test(struct oracle *o, const struct input *in)
{
    static struct buf b;

    input_bytes(in, &b);
    return oracle_test(o, (const uint8_t *)b.p, b.n);
}

/* Candidate: @in without records [from, to); or, with @keep, only those records. */
static void input_cut(const struct input *in, size_t from, size_t to, bool keep, struct input *c)
{
    size_t i;

    memcpy(c->hdr, in->hdr, HDR_SIZE);
    c->n = 0;
    c->rec = xrealloc(c->rec, (in->n ? in->n : 1) * REC_SIZE);
    for (i = 0; i < in->n; i++)
        if ((i >= from && i < to) == keep)
            memcpy(c->rec[c->n++], in->rec[i], REC_SIZE);
}

static void input_take(struct input *in, struct input *c)
{
    struct input t = *in;

    *in = *c;
    *c = t;
}

/* ---------------------------------------------------------------- the minimiser */

/* Zeller's ddmin over op records: remove the complement of one of n chunks (or keep one chunk
 * alone) while the signature stays; n doubles when neither helps, up to one op per chunk. */
static void ddmin(struct oracle *o, struct input *in)
{
    struct input c = {0};
    size_t n = 2;

    while (in->n >= 2 && !o->expired) {
        size_t len = in->n, i;
        bool reduced = false;
        if (n > len)
            n = len;
        for (i = 0; i < n && !reduced; i++) {
            input_cut(in, i * len / n, (i + 1) * len / n, false, &c);
            if (input_test(o, &c)) {
                input_take(in, &c);
                n = n > 2 ? n - 1 : 2;
                reduced = true;
            }
        }
        for (i = 0; i < n && !reduced && n > 2; i++) {
            input_cut(in, i * len / n, (i + 1) * len / n, true, &c);
            if (input_test(o, &c)) {
                input_take(in, &c);
                n = 2;
                reduced = true;
            }
        }
        if (!reduced) {
            if (n >= len)
                break;
            n = 2 * n < len ? 2 * n : len;
        }
    }
    free(c.rec);
}

/* Remove single ops, last first, until a whole pass removes none. Returns ops removed. */
static size_t remove_one_fixpoint(struct oracle *o, struct input *in)
{
    struct input c = {0};
    size_t removed = 0;
    bool changed = true;

    while (changed && !o->expired) {
        size_t i;
        changed = false;
        for (i = in->n; i-- > 0 && !o->expired;) {
            input_cut(in, i, i + 1, false, &c);
            if (input_test(o, &c)) {
                input_take(in, &c);
                removed++;
                changed = true;
            }
        }
    }
    free(c.rec);
    return removed;
}

/* A field of the header or of an op record: @width bits at @shift of the LE word at @off. */
struct field {
    unsigned int off, shift, width;
};

static const struct field hdr_fields[] = {
    {0, 0, 8},  /* memory MiB selector: 0 = 4 MiB */
    {1, 0, 8},  /* extra pages */
    {2, 0, 2},  /* cpus - 1 */
    {2, 2, 1},  /* pcp off */
    {2, 3, 2},  /* holes */
    {2, 5, 2},  /* reserved ranges */
    {2, 7, 1},  /* slab_hardened */
    {3, 0, 5},  /* pcp batch (0 = derived by the mm) */
    {3, 5, 1},  /* slab_cheap */
    {3, 6, 1},  /* slab_off */
    {3, 7, 1},  /* kfence */
    {4, 0, 32}, /* seed */
};

static const struct field op_fields[] = {{1, 0, 8}, {2, 0, 8}, {3, 0, 8}, {4, 0, 32}}; /* a b c d */

static uint32_t field_get(const uint8_t *p, const struct field *f)
{
    uint32_t w = 0;
    unsigned int i;

    for (i = 0; i < (f->width + f->shift + 7) / 8; i++)
        w |= (uint32_t)p[f->off + i] << (8 * i);
    return (uint32_t)(((uint64_t)w >> f->shift) & ((1ull << f->width) - 1));
}

static void field_set(uint8_t *p, const struct field *f, uint32_t v)
{
    uint64_t mask = ((1ull << f->width) - 1) << f->shift, w = 0;
    unsigned int i, nb = (f->width + f->shift + 7) / 8;

    for (i = 0; i < nb; i++)
        w |= (uint64_t)p[f->off + i] << (8 * i);
    w = (w & ~mask) | (((uint64_t)v << f->shift) & mask);
    for (i = 0; i < nb; i++)
        p[f->off + i] = (uint8_t)(w >> (8 * i));
}

/* Set one field to 0, else halve it while the signature stays. @bytes points into @in. */
static bool simplify_field(struct oracle *o, struct input *in, uint8_t *bytes,
                           const struct field *f)
{
    uint32_t v = field_get(bytes, f), w;
    bool changed = false;

    if (!v)
        return false;
    field_set(bytes, f, 0);
    if (input_test(o, in))
        return true;
    for (w = v / 2; w && !o->expired; w = v / 2) {
        field_set(bytes, f, w);
        if (!input_test(o, in))
            break;
        v = w;
        changed = true;
    }
    field_set(bytes, f, v);
    return changed;
}

static bool simplify_fields(struct oracle *o, struct input *in)
{
    bool changed = false;
    size_t i, k;

    for (k = 0; k < sizeof(hdr_fields) / sizeof(hdr_fields[0]) && !o->expired; k++)
        changed |= simplify_field(o, in, in->hdr, &hdr_fields[k]);
    for (i = 0; i < in->n && !o->expired; i++)
        for (k = 0; k < sizeof(op_fields) / sizeof(op_fields[0]) && !o->expired; k++)
            changed |= simplify_field(o, in, in->rec[i], &op_fields[k]);
    return changed;
}

/* Replace @in by the bytes of its own text form (replay --decode, then --encode): op kinds and
 * fields folded into range as the decoder reads them. Kept only if the signature stays. */
static bool canonicalize(struct oracle *o, struct input *in)
{
    struct buf b = {0}, text = {0}, canon = {0};
    char tpath[400], cpath[400];
    struct input c = {0};
    bool changed = false;
    char *dec[] = {(char *)o->bin, "--decode", "--target", (char *)o->target, o->file, NULL};
    char *enc[] = {(char *)o->bin, "--encode", "--target", (char *)o->target, tpath, cpath, NULL};

    snprintf(tpath, sizeof(tpath), "%s/text", o->dir);
    snprintf(cpath, sizeof(cpath), "%s/canon", o->dir);
    input_bytes(in, &b);
    write_whole(o->file, b.p, b.n);
    if (run_capture(dec, false, false, &text) != 0)
        goto out;
    write_whole(tpath, text.p, text.n);
    if (run_capture(enc, false, true, &canon) != 0 || !read_whole(cpath, &canon))
        goto out;
    if (canon.n == b.n && !memcmp(canon.p, b.p, b.n))
        goto out;
    input_parse(&c, (const uint8_t *)canon.p, canon.n);
    if (input_test(o, &c)) {
        input_take(in, &c);
        changed = true;
    }
out:
    free(b.p);
    free(text.p);
    free(canon.p);
    free(c.rec);
    return changed;
}

/* The bytes of @in with the trailing zero bytes of its last record dropped (at least one byte
 * of it stays: a missing tail reads as zeros), or of the header when there are no records.
 * Kept only if the signature stays; the result is never longer than an unpadded original. */
static void trim_tail(struct oracle *o, const struct input *in, struct buf *out)
{
    size_t keep;

    input_bytes(in, out);
    keep = out->n;
    while (keep > (in->n ? out->n - REC_SIZE + 1 : 0) && !out->p[keep - 1])
        keep--;
    if (keep < out->n && oracle_test(o, (const uint8_t *)out->p, keep))
        out->p[out->n = keep] = 0;
}

struct min_result {
    size_t ops_before, ops_after, bytes_before, bytes_after;
    bool minimal; /* the last one-op removal pass ran to its end and removed nothing */
    double seconds;
    unsigned int replays, symbolized;
};

/* Rounds of removal, canonical form and field simplification before the minimiser stops. */
#define MIN_MAX_ROUNDS 64

/* Expire the oracle once its deadline has passed. A round whose candidates are all cached never
 * asks oracle_test, the only other place that looks at the clock. */
static bool oracle_expire_check(struct oracle *o)
{
    if (now_s() > o->deadline)
        o->expired = true;
    return o->expired;
}

/* Record the bytes @in has after round @nr in @rounds; true when an earlier round ended with the
 * same bytes. The canonical form and the field simplifier can undo each other (a field the text
 * form folds one way and the simplifier moves back): rounds then cycle through cached inputs
 * without end (found minimising a crash of target smp, >15 min for a 60 s budget). */
static bool input_seen_round(const struct input *in, uint64_t *rounds, unsigned int nr)
{
    struct buf b = {0};
    input_bytes(in, &b);
    rounds[nr] = fnv64((const uint8_t *)b.p, b.n);
    free(b.p);
    for (unsigned int i = 0; i < nr; i++)
        if (rounds[i] == rounds[nr])
            return true;
    return false;
}

/**
 * Minimise @data (which must crash with @want) into @out (malloc'ed bytes). Returns false when
 * the input itself does not reproduce @want; then @out is a copy of the input.
 */
static bool minimize(const char *target, const char *want, const uint8_t *data, size_t size,
                     double seconds, struct buf *out, struct min_result *r)
{
    struct oracle o;
    struct input in = {0};
    bool ok;

    memset(r, 0, sizeof(*r));
    oracle_init(&o, target, want, seconds);
    input_parse(&in, data, size);
    r->ops_before = in.n;
    r->bytes_before = size;
    ok = input_test(&o, &in) || oracle_test(&o, data, size);
    buf_reset(out);
    if (!ok) {
        buf_add(out, data, size);
    } else if (!input_test(&o, &in)) { /* padding changed the meaning: keep it as it was */
        buf_add(out, data, size);
    } else {
        ddmin(&o, &in);
        uint64_t rounds[MIN_MAX_ROUNDS];
        for (unsigned int nr = 0; nr < MIN_MAX_ROUNDS; nr++) {
            remove_one_fixpoint(&o, &in);
            bool changed = canonicalize(&o, &in);
            changed |= simplify_fields(&o, &in);
            changed |= canonicalize(&o, &in);
            if (!changed || oracle_expire_check(&o) || input_seen_round(&in, rounds, nr))
                break;
        }
        if (!o.expired) { /* the last pass: nothing removable (its candidates are cached) */
            r->minimal = remove_one_fixpoint(&o, &in) == 0 && !o.expired;
        }
        trim_tail(&o, &in, out);
    }
    r->ops_after = out->n > HDR_SIZE ? (out->n - HDR_SIZE + REC_SIZE - 1) / REC_SIZE : 0;
    r->bytes_after = out->n;
    r->seconds = now_s() - o.start;
    r->replays = o.replays;
    r->symbolized = o.symbolized;
    free(in.rec);
    oracle_free(&o);
    return ok;
}

static double budget_seconds(double opt)
{
    const char *e = getenv("MM_TRIAGE_MIN_SECONDS");

    if (opt > 0)
        return opt;
    return e && atof(e) > 0 ? atof(e) : 60;
}

static void log_min(const char *sig, const struct min_result *r)
{
    fprintf(stderr,
            "minimise: %s: %zu -> %zu ops (%zu -> %zu bytes), %s, %u replays (%u symbolized), "
            "%.1f s\n",
            sig, r->ops_before, r->ops_after, r->bytes_before, r->bytes_after,
            r->minimal ? "1-minimal" : "NOT 1-minimal (time budget ran out)", r->replays,
            r->symbolized, r->seconds);
}

/* ---------------------------------------------------------------- regression test source */

static void regress_source(FILE *f, const char *target, const char *sig, const uint8_t *p,
                           size_t n)
{
    char name[61];
    size_t i;

    for (i = 0; sig[i] && i < 60; i++) {
        char c = sig[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        name[i] = ok ? c : '_';
    }
    name[i] = 0;
    fprintf(f,
            "/*\n"
            " * Regression test generated by ./build.sh triage for a %s fuzz crash:\n"
            " *   signature: %s\n"
            " * Once the bug is fixed, copy this file to tests/regress/%s_<what broke>.c "
            "(./build.sh test\n"
            " * builds each in its target's configuration and runs it) and the minimised input to "
            "corpus/%s/.\n"
            " */\n"
            "#include <stdio.h>\n\n"
            "#include \"fuzz_target.h\"\n\n"
            "static const uint8_t input[] = {\n",
            target, sig, target, target);
    for (i = 0; i < n; i++)
        fprintf(f, "%s0x%02x,%s", i % 16 ? " " : "   ", p[i], i % 16 == 15 || i + 1 == n ? "\n" : "");
    fprintf(f,
            "};\n\n"
            "int main(void)\n"
            "{\n"
            "    const struct fuzz_target *t = fuzz_target_find(\"%s\");\n\n"
            "    printf(\"KTAP version 1\\n1..1\\n\");\n"
            "    if (!t) {\n"
            "        printf(\"not ok 1 regress_%s # no target %s\\n0 passed, 1 failed\\n\");\n"
            "        return 1;\n"
            "    }\n"
            "    fuzz_platform.set_quiet(true);\n"
            "    fuzz_run(t, input, sizeof(input)); /* the bug, if back, crashes here with its report */\n"
            "    printf(\"ok 1 regress_%s\\n1 passed, 0 failed\\n\");\n"
            "    return 0;\n"
            "}\n",
            target, name, target, name);
}

/* ---------------------------------------------------------------- triage of a crash directory */

static char **crash_files;
static size_t ncrash;

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    static const char *const pats[] = {"/crashes/crash-", "/crashes/timeout-", "/crashes/oom-",
                                       "/crashes/leak-", "/crashes/id:"};
    size_t i;

    (void)st;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
        if (strstr(path, pats[i])) {
            crash_files = xrealloc(crash_files, (ncrash + 1) * sizeof(*crash_files));
            crash_files[ncrash++] = xstrdup(path);
            break;
        }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The target of a crash file: the (last listed) target named by a directory of its path. */
static const char *target_of_path(const char *path)
{
    const char *t = NULL;
    char pat[300];
    int i;

    for (i = 0; i < T.n; i++) {
        snprintf(pat, sizeof(pat), "/%s/", T.name[i]);
        if (strstr(path, pat))
            t = T.name[i];
    }
    return t;
}

struct triage_opts {
    const char *out, *root, *repro_prefix;
    int runs;
    double seconds;
};

static bool line_in_file(const char *path, const char *line)
{
    struct buf b = {0};
    bool found = false;
    const char *s;

    if (read_whole(path, &b))
        for (s = b.p; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL) {
            size_t n = strcspn(s, "\n");
            if (n == strlen(line) && !strncmp(s, line, n)) {
                found = true;
                break;
            }
        }
    free(b.p);
    return found;
}

static void triage_group(const struct triage_opts *opt, const char *g, const char *target,
                         const char *file, const char *sig)
{
    char path[4096];
    struct buf in = {0}, min = {0}, rep = {0}, sg = {0};
    struct min_result r;
    FILE *f;
    int i, hits = 0;

    mkdir(g, 0777);
    path_join(path, g, "originals.txt");
    if (!line_in_file(path, file)) {
        if (!(f = fopen(path, "a")))
            die("cannot write %s", path);
        fprintf(f, "%s\n", file);
        fclose(f);
    }
    path_join(path, g, "input.min");
    if (access(path, F_OK) == 0)
        return;
    fprintf(stderr, "== triage: new signature %s (%s)\n", sig, target);
    if (!read_whole(file, &in))
        die("cannot read %s", file);
    path_join(path, g, "input.orig");
    write_whole(path, in.p, in.n);
    path_join(path, g, "target");
    if (!(f = fopen(path, "w")))
        die("cannot write %s", path);
    fprintf(f, "%s\n", target);
    fclose(f);

    minimize(target, sig, (const uint8_t *)in.p, in.n, opt->seconds, &min, &r);
    log_min(sig, &r);
    path_join(path, g, "input.min");
    write_whole(path, min.p, min.n);

    char *dec[] = {(char *)replay_of(target), "--decode", "--target", (char *)target, path, NULL};
    run_capture(dec, false, true, &rep);
    path_join(path, g, "ops.txt");
    write_whole(path, rep.p, rep.n);

    path_join(path, g, "input.min");
    replay_file(target, path, true, &rep);
    for (i = 0; i < opt->runs; i++)
        if (file_signature(target, path, &sg) && !strcmp(sg.p, sig))
            hits++;
    path_join(path, g, "report.txt");
    write_whole(path, rep.p, rep.n);
    write_events(target, g);
    path_join(path, g, "repro-rate");
    if (!(f = fopen(path, "w")))
        die("cannot write %s", path);
    fprintf(f, "%d/%d\n", hits, opt->runs);
    fclose(f);

    path_join(path, g, "repro.sh");
    if (!(f = fopen(path, "w")))
        die("cannot write %s", path);
    fprintf(f, "#!/bin/sh\n# reproduce %s\ncd \"%s\" && %s./build.sh repro --target %s \"%s/input.min\"\n",
            sig, opt->root, opt->repro_prefix, target, g);
    fclose(f);
    chmod(path, 0755);

    path_join(path, g, "minimise.txt");
    if (!(f = fopen(path, "w")))
        die("cannot write %s", path);
    fprintf(f, "ops_before=%zu ops_after=%zu bytes_before=%zu bytes_after=%zu one_minimal=%s "
               "replays=%u seconds=%.1f\n",
            r.ops_before, r.ops_after, r.bytes_before, r.bytes_after, r.minimal ? "yes" : "no",
            r.replays, r.seconds);
    fclose(f);

    path_join(path, g, "regress_test.c");
    if (!(f = fopen(path, "w")))
        die("cannot write %s", path);
    regress_source(f, target, sig, (const uint8_t *)min.p, min.n);
    fclose(f);
    free(in.p);
    free(min.p);
    free(rep.p);
    free(sg.p);
}

/* A "key=value" of a group's minimise.txt, or "?" for a group written before it existed. */
static void min_stat(const char *g, const char *key, char *val, size_t n)
{
    char path[4096], pat[64];
    struct buf b = {0};
    const char *s;

    path_join(path, g, "minimise.txt");
    snprintf(pat, sizeof(pat), "%s=", key);
    snprintf(val, n, "?");
    if (read_whole(path, &b) && (s = strstr(b.p, pat)))
        snprintf(val, n, "%.*s", (int)strcspn(s + strlen(pat), " \n"), s + strlen(pat));
    free(b.p);
}

static long file_size(const char *g, const char *name)
{
    char path[4096];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", g, name);
    return stat(path, &st) ? 0 : (long)st.st_size;
}

/* summary.tsv over every group of @out, and the same as an aligned table on stderr. */
static void triage_summary(const char *out)
{
    static const char *const head[] = {"signature", "type", "first_seen", "count", "bytes_before",
                                       "bytes_after", "repro_rate", "ops_before", "ops_after",
                                       "one_minimal"};
    enum { NCOL = sizeof(head) / sizeof(head[0]) };
    struct dirent **ents;
    char path[4096], cell[NCOL][256];
    struct buf tsv = {0}, tmp = {0}, rows = {0};
    size_t width[NCOL] = {0};
    int n, i, c;

    for (c = 0; c < NCOL; c++)
        width[c] = strlen(head[c]);
    n = scandir(out, &ents, NULL, alphasort);
    for (i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char g[4096];
        time_t first = 0;
        long count = 0;
        snprintf(g, sizeof(g), "%s/%s", out, name);
        path_join(path, g, "input.min");
        if (name[0] == '.' || access(path, F_OK))
            continue;
        snprintf(cell[0], sizeof(cell[0]), "%s", name);
        path_join(path, g, "report.txt");
        if (read_whole(path, &tmp) && report_signature(tmp.p, SIG_TYPE, &rows))
            snprintf(cell[1], sizeof(cell[1]), "%s", rows.p);
        else
            snprintf(cell[1], sizeof(cell[1]), "unknown");
        path_join(path, g, "originals.txt");
        if (read_whole(path, &tmp)) {
            char *s, *save = NULL;
            for (s = strtok_r(tmp.p, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
                struct stat st;
                count++;
                if (!stat(s, &st) && (!first || st.st_mtime < first))
                    first = st.st_mtime;
            }
        }
        strftime(cell[2], sizeof(cell[2]), "%Y-%m-%dT%H:%M:%SZ", gmtime(&first));
        snprintf(cell[3], sizeof(cell[3]), "%ld", count);
        snprintf(cell[4], sizeof(cell[4]), "%ld", file_size(g, "input.orig"));
        snprintf(cell[5], sizeof(cell[5]), "%ld", file_size(g, "input.min"));
        path_join(path, g, "repro-rate");
        read_whole(path, &tmp);
        snprintf(cell[6], sizeof(cell[6]), "%.*s", (int)strcspn(tmp.p ? tmp.p : "", "\n"),
                 tmp.p ? tmp.p : "");
        min_stat(g, "ops_before", cell[7], sizeof(cell[7]));
        min_stat(g, "ops_after", cell[8], sizeof(cell[8]));
        min_stat(g, "one_minimal", cell[9], sizeof(cell[9]));
        for (c = 0; c < NCOL; c++) {
            buf_str(&tsv, cell[c]);
            buf_str(&tsv, c + 1 < NCOL ? "\t" : "\n");
            if (strlen(cell[c]) > width[c])
                width[c] = strlen(cell[c]);
        }
    }
    for (i = 0; i < n; i++)
        free(ents[i]);
    if (n > 0)
        free(ents);
    buf_reset(&rows);
    for (c = 0; c < NCOL; c++) {
        buf_str(&rows, head[c]);
        buf_str(&rows, c + 1 < NCOL ? "\t" : "\n");
    }
    buf_add(&rows, tsv.p ? tsv.p : "", tsv.n);
    snprintf(path, sizeof(path), "%s/summary.tsv", out);
    write_whole(path, rows.p, rows.n);
    fprintf(stderr, "== triage summary (%s)\n", out);
    for (const char *s = rows.p; *s;) { /* aligned as column -t would */
        for (c = 0; c < NCOL && *s; c++) {
            size_t len = strcspn(s, "\t\n");
            if (c + 1 < NCOL)
                fprintf(stderr, "%-*.*s  ", (int)width[c], (int)len, s);
            else
                fprintf(stderr, "%.*s\n", (int)len, s);
            s += len + (s[len] ? 1 : 0);
        }
    }
    free(tsv.p);
    free(tmp.p);
    free(rows.p);
}

static int cmd_triage(const struct triage_opts *opt, const char *dir)
{
    struct buf sig = {0};
    char g[4096];
    size_t i;

    if (mkdir(opt->out, 0777) && errno != EEXIST)
        die("cannot make %s: %s", opt->out, strerror(errno));
    nftw(dir, collect, 16, FTW_PHYS);
    if (!ncrash) {
        fprintf(stderr, "triage: no crash files under %s\n", dir);
        return 0;
    }
    qsort(crash_files, ncrash, sizeof(*crash_files), cmp_str);
    for (i = 0; i < ncrash; i++) {
        const char *f = crash_files[i], *t = target_of_path(f);
        if (!t) {
            fprintf(stderr, "triage: cannot tell the target of %s (expected .../<target>/...)\n", f);
            continue;
        }
        if (!file_signature(t, f, &sig)) {
            fprintf(stderr, "triage: %s does not reproduce\n", f);
            continue;
        }
        snprintf(g, sizeof(g), "%s/%s", opt->out, sig.p);
        triage_group(opt, g, t, f, sig.p);
    }
    triage_summary(opt->out);
    free(sig.p);
    return 0;
}

/* ---------------------------------------------------------------- commands */

static int cmd_check_minimal(const char *target, const char *file, const char *sig, double secs)
{
    struct oracle o;
    struct input in = {0}, c = {0};
    struct buf b = {0};
    size_t i, removable = 0;

    if (!read_whole(file, &b))
        die("cannot read %s", file);
    oracle_init(&o, target, sig, secs);
    o.exact = true; /* every candidate symbolized: no stack cache in the way */
    input_parse(&in, (const uint8_t *)b.p, b.n);
    if (!oracle_test(&o, (const uint8_t *)b.p, b.n)) {
        printf("MINIMAL status=no-repro ops=%zu signature=%s\n", in.n, sig);
        oracle_free(&o);
        return 1;
    }
    for (i = 0; i < in.n; i++) {
        input_cut(&in, i, i + 1, false, &c);
        if (input_test(&o, &c)) {
            printf("removable: op %zu\n", i + 1);
            removable++;
        }
    }
    printf("MINIMAL status=%s ops=%zu removable=%zu replays=%u%s signature=%s\n",
           removable || o.expired ? "no" : "yes", in.n, removable, o.replays,
           o.expired ? " expired=1" : "", sig);
    i = removable || o.expired;
    free(in.rec);
    free(c.rec);
    free(b.p);
    oracle_free(&o);
    return i ? 1 : 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: triage_tool signature [--type] REPORT\n"
            "       triage_tool regress TARGET SIGNATURE FILE\n"
            "       triage_tool [OPT]... signature-of TARGET FILE\n"
            "       triage_tool [OPT]... minimize TARGET IN OUT [SIGNATURE]\n"
            "       triage_tool [OPT]... check-minimal TARGET FILE SIGNATURE\n"
            "       triage_tool [OPT]... triage [--out DIR] [--runs N] [--root DIR] "
            "[--repro-prefix S] DIR\n"
            "OPT: --replay TARGET=BIN (one per target), --seconds S (minimiser budget)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct triage_opts opt = {0};
    struct buf b = {0}, sig = {0};
    const char *cmd;
    int i = 1;

    signal(SIGPIPE, SIG_IGN);
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--replay") && i + 1 < argc) {
            char *eq = strchr(argv[++i], '=');
            if (!eq)
                usage();
            T.name = xrealloc(T.name, (size_t)(T.n + 1) * sizeof(char *));
            T.bin = xrealloc(T.bin, (size_t)(T.n + 1) * sizeof(char *));
            T.name[T.n] = strndup(argv[i], (size_t)(eq - argv[i]));
            T.bin[T.n++] = eq + 1;
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            opt.seconds = atof(argv[++i]);
        } else {
            usage();
        }
    }
    if (i >= argc)
        usage();
    cmd = argv[i++];
    opt.seconds = budget_seconds(opt.seconds);
    if (!strcmp(cmd, "signature")) {
        enum sig_mode mode = SIG_FULL;
        if (i < argc && !strcmp(argv[i], "--type"))
            mode = SIG_TYPE, i++;
        if (i + 1 != argc)
            usage();
        if (!read_whole(argv[i], &b) || !report_signature(b.p, mode, &sig))
            return 1;
        printf("%s\n", sig.p);
        return 0;
    }
    if (!strcmp(cmd, "regress")) {
        if (i + 3 != argc || !read_whole(argv[i + 2], &b))
            usage();
        regress_source(stdout, argv[i], argv[i + 1], (const uint8_t *)b.p, b.n);
        return 0;
    }
    if (!strcmp(cmd, "signature-of")) {
        if (i + 2 != argc)
            usage();
        if (!file_signature(argv[i], argv[i + 1], &sig))
            return 1;
        printf("%s\n", sig.p);
        return 0;
    }
    if (!strcmp(cmd, "minimize")) {
        struct min_result r;
        struct buf out = {0};
        if (i + 3 != argc && i + 4 != argc)
            usage();
        if (!read_whole(argv[i + 1], &b))
            die("cannot read %s", argv[i + 1]);
        if (i + 4 == argc)
            buf_str(&sig, argv[i + 3]);
        else if (!file_signature(argv[i], argv[i + 1], &sig))
            die("%s does not crash", argv[i + 1]);
        if (!minimize(argv[i], sig.p, (const uint8_t *)b.p, b.n, opt.seconds, &out, &r))
            die("%s does not reproduce %s", argv[i + 1], sig.p);
        write_whole(argv[i + 2], out.p, out.n);
        log_min(sig.p, &r);
        printf("MINIMISE ops_before=%zu ops_after=%zu bytes_before=%zu bytes_after=%zu "
               "one_minimal=%s replays=%u seconds=%.1f signature=%s\n",
               r.ops_before, r.ops_after, r.bytes_before, r.bytes_after,
               r.minimal ? "yes" : "no", r.replays, r.seconds, sig.p);
        return r.minimal ? 0 : 3;
    }
    if (!strcmp(cmd, "check-minimal")) {
        if (i + 3 != argc)
            usage();
        return cmd_check_minimal(argv[i], argv[i + 1], argv[i + 2], opt.seconds);
    }
    if (!strcmp(cmd, "triage")) {
        const char *e = getenv("MM_TRIAGE_RUNS");
        opt.runs = e && atoi(e) > 0 ? atoi(e) : 5;
        opt.root = ".";
        opt.repro_prefix = "";
        for (; i < argc && argv[i][0] == '-'; i += 2) {
            if (i + 1 >= argc)
                usage();
            if (!strcmp(argv[i], "--out"))
                opt.out = argv[i + 1];
            else if (!strcmp(argv[i], "--runs"))
                opt.runs = atoi(argv[i + 1]);
            else if (!strcmp(argv[i], "--root"))
                opt.root = argv[i + 1];
            else if (!strcmp(argv[i], "--repro-prefix"))
                opt.repro_prefix = argv[i + 1];
            else
                usage();
        }
        if (i + 1 != argc || !opt.out)
            usage();
        return cmd_triage(&opt, argv[i]);
    }
    usage();
    return 2;
}
