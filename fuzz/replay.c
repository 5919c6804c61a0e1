/*
 * replay.c - standalone driver for every fuzz target (libc allowed).
 *
 *   replay [--target NAME] [--print] [--trace] [--verbose] [--no-fork] FILE...
 *       run each file through the target (default page_alloc); --print writes the decoded op
 *       sequence first, one op per line; --trace writes every executed op with its outcome;
 *       --verbose keeps the mm's log output. With several files each runs in a child process,
 *       so one crash does not hide the others. Exit status 1 if any run failed.
 *   replay --decode [--target NAME] FILE...        print the text form only
 *   replay --encode [--target NAME] TEXTFILE OUTFILE   text form -> bytes
 *   replay --list                                  list targets
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_target.h"

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
    t->run(data, size);
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

static void usage(void)
{
    fprintf(stderr,
            "usage: replay [--target NAME] [--print] [--trace] [--verbose] [--no-fork] FILE...\n"
            "       replay --decode [--target NAME] FILE...\n"
            "       replay --encode [--target NAME] TEXTFILE OUTFILE\n"
            "       replay --list\n");
}

int main(int argc, char **argv)
{
    const struct fuzz_target *t = fuzz_targets[0];
    bool print = false, decode = false, encode = false, verbose = false, nofork = false;
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
        } else if (!strcmp(o, "--verbose")) {
            verbose = true;
        } else if (!strcmp(o, "--no-fork")) {
            nofork = true;
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
    fuzz_platform.set_quiet(!verbose);
    if (!verbose)
        mm_misuse_set_log_level(ENV_LOG_DEBUG);
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
