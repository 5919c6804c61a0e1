/*
 * replay.c - standalone driver for every fuzz target (libc allowed).
 *
 *   replay [--target NAME] [--print] [--trace] [--trace-classes LIST] [--trace-tail N]
 *          [--sites N] [--dump FILE] [--verbose] [--no-fork] FILE...
 *       run each file through the target (default page_alloc); --sites N prints the N
 *       allocation-site groups with the most outstanding bytes before teardown
 *       (mm_alloc_sites: "SITE kind=... cache=... site=... count=... bytes=..."); --print writes the decoded op
 *       sequence first, one op per line; --trace writes every executed op with its outcome
 *       and, indented under it, the mm's trace events the op recorded ("  ev #N cpuC class
 *       args", mm_trace.h; every class, or the comma-separated LIST of --trace-classes);
 *       --trace-tail N records the same events silently and prints the last N ("TRACE-TAIL")
 *       when the run crashes (an invariant, a missed misuse, a sanitizer report, a panic);
 *       --dump DUMPFILE writes a post-mortem dump (mm_dump.h; ./build.sh postmortem reads it)
 *       when the run crashes, or else before teardown (the last file's, with several);
 *       --verbose keeps the mm's log output. With several files each runs in a child process,
 *       so one crash does not hide the others. Exit status 1 if any run failed.
 *   replay --decode [--target NAME] FILE...        print the text form only
 *   replay --encode [--target NAME] TEXTFILE OUTFILE   text form -> bytes
 *   replay --op-tables                             every target's decoding contract (op tables)
 *   replay --list                                  list targets
 *   replay --digest [--target NAME] [--no-fork] [--verbose] PATH...
 *       digest the op outcomes of every input (digest.h): PATH is a file or a directory (walked
 *       recursively, dot files skipped); all files are sorted by name and each prints one line
 *       "DIGEST <target> <name> <16 hex digits> ops=<n>" on stdout ("DIGEST <target> <name>
 *       failed" when the run fails). <name> is the path below its last "corpus" component
 *       ("vm/regress-foo"), or the last two components when there is none; <target> is the first
 *       component of <name> when that names a target, else --target. Each input runs in a child
 *       process unless --no-fork. Exit status 1 if any failed.
 *   replay [--mutants K] [--check-every N] --pack FILE.pack
 *       run a corpus pack (corpus_pack.h) exactly as the kernel does (kernel_corpus_replay):
 *       its DIGEST lines and KTAP. A failing input aborts here (hosted crash). --mutants K also
 *       runs K deterministic variants of every entry (mutate.h), as the kernel's "mutants=K";
 *       --check-every N the full checks every N ops (default 16, the kernel's "check_every=N";
 *       1 names the first bad op of a failure, which aborts here before a rerun could).
 *   replay --emit-mutant NAME~mINDEX FILE OUT
 *       write that variant of FILE (whose pack name is NAME) to OUT, to reproduce it alone.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_target.h"
#include "mm_dump.h"
#include "mm_trace.h"
#include "mutate.h"
#include "replay_kernel.h"

/* The sanitizers' death callback (weak: a build without a sanitizer runtime has none). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static const char *replay_dump_path;

static int replay_dump_emit(void *ctx, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, ctx) == len ? 0 : -1;
}

/* fuzz_dump_hook: the live mm into replay_dump_path ("DUMP path why=... rc=N" on stderr). */
static void replay_dump(const char *why)
{
    FILE *f = fopen(replay_dump_path, "wb");
    int rc = f ? mm_dump_write(replay_dump_emit, f, why) : -1;
    if (f && fclose(f))
        rc = -1;
    fprintf(stderr, "DUMP %s why=%s rc=%d\n", replay_dump_path, why, rc);
}

static void replay_trace_tail_at_death(void)
{
    void (*dump)(const char *why) = fuzz_dump_hook;

    fuzz_dump_hook = NULL;
    if (dump)
        dump("sanitizer report");
    fuzz_trace_print_tail();
}

static void emit_stdout(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap + 1);
            if (!buf) {
                fclose(f);
                return NULL;
            }
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *size = n;
    return buf;
}

static int do_encode(const struct fuzz_target *t, const char *in, const char *out)
{
    size_t len;
    char *text = (char *)read_file(in, &len);
    uint8_t bytes[FUZZ_MAX_INPUT];
    struct fuzz_parse_error err = { 0, "" };
    long n;
    FILE *f;

    if (!text)
        return 2;
    n = fuzz_encode_text(t->table, text, len, bytes, sizeof(bytes), &err);
    free(text);
    if (n < 0) {
        fprintf(stderr, "%s:%u: %s\n", in, err.line, err.msg);
        return 1;
    }
    f = fopen(out, "wb");
    if (!f || fwrite(bytes, 1, (size_t)n, f) != (size_t)n || fclose(f)) {
        fprintf(stderr, "replay: cannot write %s\n", out);
        return 2;
    }
    return 0;
}

static int run_one(const struct fuzz_target *t, const char *path, bool print)
{
    size_t size;
    uint8_t *data = read_file(path, &size);

    if (!data)
        return 2;
    if (print)
        fuzz_print(t->table, data, size, emit_stdout, NULL);
    fflush(stdout);
    fuzz_run(t, data, size);
    free(data);
    return 0;
}

static int run_forked(const struct fuzz_target *t, const char *path, bool print)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return run_one(t, path, print);
    if (pid == 0)
        _exit(run_one(t, path, print));
    if (waitpid(pid, &status, 0) < 0)
        return 2;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "replay: %s: FAILED (signal %d)\n", path, WTERMSIG(status));
        return 1;
    }
    if (WEXITSTATUS(status)) {
        fprintf(stderr, "replay: %s: FAILED (exit %d)\n", path, WEXITSTATUS(status));
        return 1;
    }
    return 0;
}

/* ---- --digest ---- */

struct digest_input {
    char *path;
    char *name;                     /* below the corpus root */
    const struct fuzz_target *t;
};

static struct digest_input *dg_inputs;
static size_t dg_nr, dg_cap;
static bool dg_verbose;

/* The name of @path below its last "corpus" component, else its last two components. */
static const char *digest_name(const char *path)
{
    const char *after_corpus = NULL, *comp = path, *prev = NULL, *p;

    for (p = path;; p++) {
        if (*p != '/' && *p)
            continue;
        if (*p == '/' && p - comp == 6 && !strncmp(comp, "corpus", 6))
            after_corpus = p + 1;
        if (!*p)
            break;
        prev = comp;
        comp = p + 1;
    }
    if (after_corpus && *after_corpus)
        return after_corpus;
    return prev ? prev : comp;
}

static int digest_add_file(const char *path, const struct fuzz_target *dflt)
{
    const char *name = digest_name(path), *slash = strchr(name, '/');
    struct digest_input *in;
    char target[64];

    if (dg_nr == dg_cap) {
        dg_cap = dg_cap ? 2 * dg_cap : 1024;
        dg_inputs = realloc(dg_inputs, dg_cap * sizeof(*dg_inputs));
        if (!dg_inputs)
            return -1;
    }
    in = &dg_inputs[dg_nr++];
    in->path = strdup(path);
    in->name = strdup(name);
    in->t = dflt;
    if (slash && (size_t)(slash - name) < sizeof(target)) {
        memcpy(target, name, (size_t)(slash - name));
        target[slash - name] = '\0';
        if (fuzz_target_find(target))
            in->t = fuzz_target_find(target);
    }
    return in->path && in->name ? 0 : -1;
}

/* Add @path: a file, or every file below a directory. Returns 0 or -1 (message printed). */
static int digest_add(const char *path, const struct fuzz_target *dflt)
{
    struct stat st;
    struct dirent *d;
    DIR *dir;
    int rc = 0;

    if (stat(path, &st)) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return digest_add_file(path, dflt);
    dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (!rc && (d = readdir(dir))) {
        char sub[4096];
        if (d->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/",
                 d->d_name);
        rc = digest_add(sub, dflt);
    }
    closedir(dir);
    return rc;
}

static int digest_cmp(const void *a, const void *b)
{
    return strcmp(((const struct digest_input *)a)->name, ((const struct digest_input *)b)->name);
}

/* Run one input in this process and print its line; a failure aborts (never returns). */
static int digest_run_one(const struct digest_input *in)
{
    char line[FUZZ_LINE_MAX + 64];
    size_t size;
    uint8_t *data = read_file(in->path, &size);

    if (!data)
        return 2;
    fuzz_platform.set_quiet(!dg_verbose);
    fuzz_run(in->t, data, size);
    free(data);
    fuzz_digest_format(line, sizeof(line), in->t->name, in->name, false);
    printf("%s\n", line);
    fflush(stdout);
    return 0;
}

static int digest_run_forked(const struct digest_input *in)
{
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid < 0)
        return digest_run_one(in);
    if (pid == 0)
        _exit(digest_run_one(in));
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
        char line[FUZZ_LINE_MAX + 64];
        fuzz_digest_format(line, sizeof(line), in->t->name, in->name, true);
        printf("%s\n", line);
        fflush(stdout);
        fprintf(stderr, "replay: %s: FAILED\n", in->path);
        return 1;
    }
    return 0;
}

static int do_digest(const struct fuzz_target *dflt, char **paths, int n, bool nofork)
{
    size_t i;
    int rc = 0;

    for (int k = 0; k < n; k++)
        if (digest_add(paths[k], dflt))
            return 2;
    qsort(dg_inputs, dg_nr, sizeof(*dg_inputs), digest_cmp);
    for (i = 0; i < dg_nr; i++)
        if (nofork ? digest_run_one(&dg_inputs[i]) : digest_run_forked(&dg_inputs[i]))
            rc = 1;
    return rc;
}

/* ---- --pack, --emit-mutant ---- */

/* Write variant "<name>~m<index>" of FILE (as --mutants names it) to OUT, for repro. */
static int do_emit_mutant(const char *spec, const char *in_path, const char *out_path)
{
    static uint8_t out[FUZZ_MUTANT_MAX];
    char name[256];
    const char *tilde = strstr(spec, "~m");
    size_t size;

    if (!tilde || tilde == spec || (size_t)(tilde - spec) >= sizeof(name) || atoi(tilde + 2) < 1) {
        fprintf(stderr, "replay: --emit-mutant wants NAME~mINDEX (as in a DIGEST line)\n");
        return 2;
    }
    memcpy(name, spec, (size_t)(tilde - spec));
    name[tilde - spec] = 0;
    uint8_t *data = read_file(in_path, &size);
    if (!data)
        return 2;
    size_t n = fuzz_mutate(data, size, name, (unsigned int)atoi(tilde + 2), out);
    free(data);
    FILE *f = fopen(out_path, "wb");
    if (!f || fwrite(out, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "replay: cannot write %s\n", out_path);
        return 2;
    }
    return 0;
}

static int do_pack(const char *path)
{
    size_t size;
    uint8_t *pack = read_file(path, &size); /* malloc'd: 8-byte aligned, as the reader needs */

    if (!pack)
        return 2;
    fuzz_platform.set_quiet(true);
    int failed = kernel_corpus_replay(pack, size, NULL);
    free(pack);
    return failed ? 1 : 0;
}

/*
 * The decoding contract of every target, one line per table slot: the op kind each op byte
 * selects (byte % table size) and how each argument folds its raw field. An input's meaning
 * is a function of these lines; fuzz/op_tables.txt holds them as of the checked-in corpus, and
 * `./build.sh corpus` fails when they differ (an appended op remaps every input of the table:
 * ./build.sh corpus-migrate re-encodes the corpus).
 */
static void print_op_table(const char *target, const char *which, const struct fuzz_op_table *tb)
{
    printf("%s %s size=%u flags=0x%x\n", target, which, tb->nr, tb->flags);
    for (uint32_t i = 0; i < tb->nr; i++) {
        const struct fuzz_op_desc *d = fuzz_op_desc(tb->kinds[i]);
        printf("%s %s %u %s", target, which, i, d->name);
        for (uint32_t a = 0; a < d->nargs; a++) {
            const struct fuzz_arg_desc *g = &d->args[a];
            printf(" %s:%u:%u:%u:%u:%u", g->name, g->kind, g->field, g->positional, g->lo, g->span);
            for (uint32_t v = 0; g->kind == FA_ENUM && v < g->nvals; v++)
                printf("%s%s=%u", v ? "," : "[", g->vals[v].name, g->vals[v].value);
            if (g->kind == FA_ENUM)
                printf("]");
        }
        printf("\n");
    }
}

static int do_op_tables(void)
{
    for (int k = 0; fuzz_targets[k]; k++) {
        const struct fuzz_target *t = fuzz_targets[k];
        print_op_table(t->name, "ops", t->table);
        if (t->table->numa)
            print_op_table(t->name, "numa", t->table->numa);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: replay [--target NAME] [--print] [--trace] [--trace-classes LIST] [--trace-tail N]\n"
            "              [--sites N] [--dump FILE] [--verbose] [--no-fork] FILE...\n"
            "       replay --decode [--target NAME] FILE...\n"
            "       replay --encode [--target NAME] TEXTFILE OUTFILE\n"
            "       replay --digest [--target NAME] [--no-fork] [--verbose] PATH...\n"
            "       replay [--mutants K] [--check-every N] --pack FILE.pack\n"
            "       replay --emit-mutant NAME~mINDEX FILE OUT\n"
            "       replay --list\n"
            "       replay --op-tables\n");
}

int main(int argc, char **argv)
{
    const struct fuzz_target *t = fuzz_targets[0];
    bool print = false, decode = false, encode = false, verbose = false, nofork = false;
    bool digest = false, pack = false;
    const char *mutant_spec = NULL;
    int i, first, rc = 0, nfiles;

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--target") && i + 1 < argc) {
            t = fuzz_target_find(argv[++i]);
            if (!t) {
                fprintf(stderr, "replay: unknown target '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(o, "--print")) {
            print = true;
        } else if (!strcmp(o, "--decode")) {
            decode = true;
        } else if (!strcmp(o, "--encode")) {
            encode = true;
        } else if (!strcmp(o, "--trace")) {
            fuzz_trace = true;
            if (!fuzz_trace_mask)
                fuzz_trace_mask = MM_TRACE_ALL;
        } else if (!strcmp(o, "--trace-classes") && i + 1 < argc) {
            if (mm_trace_parse_mask(argv[++i], &fuzz_trace_mask) || !fuzz_trace_mask) {
                fprintf(stderr, "replay: --trace-classes: '%s' is not a list of trace classes "
                        "(all, none, or names such as page_alloc,fault)\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(o, "--trace-tail") && i + 1 < argc) {
            fuzz_trace_tail = (unsigned int)atoi(argv[++i]);
            if (!fuzz_trace_mask)
                fuzz_trace_mask = MM_TRACE_ALL;
        } else if (!strcmp(o, "--dump") && i + 1 < argc) {
            replay_dump_path = argv[++i];
            fuzz_dump_hook = replay_dump;
        } else if (!strcmp(o, "--sites") && i + 1 < argc) {
            fuzz_sites_top = (unsigned int)atoi(argv[++i]);
        } else if (!strcmp(o, "--verbose")) {
            verbose = true;
        } else if (!strcmp(o, "--no-fork")) {
            nofork = true;
        } else if (!strcmp(o, "--digest")) {
            digest = true;
        } else if (!strcmp(o, "--pack")) {
            pack = true;
        } else if (!strcmp(o, "--mutants") && i + 1 < argc) {
            kernel_corpus_mutants = (unsigned int)atoi(argv[++i]);
        } else if (!strcmp(o, "--check-every") && i + 1 < argc) {
            kernel_corpus_check_every = (unsigned int)atoi(argv[++i]);
        } else if (!strcmp(o, "--emit-mutant") && i + 1 < argc) {
            mutant_spec = argv[++i];
        } else if (!strcmp(o, "--op-tables")) {
            return do_op_tables();
        } else if (!strcmp(o, "--list")) {
            for (int k = 0; fuzz_targets[k]; k++)
                printf("%s\n", fuzz_targets[k]->name);
            return 0;
        } else if (!strcmp(o, "--")) {
            i++;
            break;
        } else {
            usage();
            return 2;
        }
    }
    first = i;
    nfiles = argc - first;
    if (mutant_spec) {
        if (nfiles != 2) {
            usage();
            return 2;
        }
        return do_emit_mutant(mutant_spec, argv[first], argv[first + 1]);
    }
    if (encode) {
        if (nfiles != 2) {
            usage();
            return 2;
        }
        return do_encode(t, argv[first], argv[first + 1]);
    }
    if (nfiles < 1) {
        usage();
        return 2;
    }
    if (decode) {
        for (i = first; i < argc; i++) {
            size_t size;
            uint8_t *data = read_file(argv[i], &size);
            if (!data)
                return 2;
            fuzz_print(t->table, data, size, emit_stdout, NULL);
            free(data);
        }
        return 0;
    }
    if (pack) {
        if (nfiles != 1) {
            usage();
            return 2;
        }
        return do_pack(argv[first]);
    }
    if (digest) {
        dg_verbose = verbose;
        return do_digest(t, argv + first, nfiles, nofork);
    }
    fuzz_platform.set_quiet(!verbose);
    if (!verbose)
        mm_misuse_set_log_level(ENV_LOG_DEBUG);
    if ((fuzz_trace_tail || replay_dump_path) && __sanitizer_set_death_callback)
        __sanitizer_set_death_callback(replay_trace_tail_at_death);
    for (i = first; i < argc; i++) {
        int r = (nofork || nfiles == 1) ? run_one(t, argv[i], print) : run_forked(t, argv[i], print);
        if (r)
            rc = 1;
        else if (nfiles > 1)
            fprintf(stderr, "replay: %s: ok\n", argv[i]);
    }
    if (nfiles > 1)
        fprintf(stderr, "replay: %d file(s), %s\n", nfiles, rc ? "FAILURES" : "all ok");
    return rc;
}
