/*
 * corpus_pack_tool.c - hosted program that packs a corpus directory into one corpus pack
 * (format: corpus_pack.h) for the kernel's boot-time replay (libc allowed here).
 *
 *   corpus_pack_tool [--stride K] OUT.pack CORPUSDIR [TARGET...]
 *
 * Every regular file below CORPUSDIR/<target>/ becomes one entry: target <target>, relative name
 * its path below CORPUSDIR ("vm/regress-foo"); entries sorted by relative name, dot files and
 * files directly in CORPUSDIR skipped. With TARGET arguments only those targets' directories are
 * packed; with --stride K only every K-th file of each target (its 1st, K+1-th, ... in name
 * order), a deterministic subset. The pack is read back with the kernel's reader before the tool
 * reports success. Exit status 0, or 1 with a message on any error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corpus_pack.h"

struct cpt_file {
    char *rel;      /* path below CORPUSDIR */
    char *target;   /* its first component */
    uint8_t *data;
    size_t size;
};

static struct cpt_file *cpt_files;
static size_t cpt_nr, cpt_cap;

__attribute__((format(printf, 1, 2), noreturn)) static void cpt_die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "corpus_pack_tool: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define CPT_PATH_MAX 4096

/* @a/@b into @out (CPT_PATH_MAX bytes); a path that does not fit is an error. */
static void cpt_join(char *out, const char *a, const char *b)
{
    int n = snprintf(out, CPT_PATH_MAX, "%s/%s", a, b);

    if (n < 0 || n >= CPT_PATH_MAX)
        cpt_die("path too long: %s/%s", a, b);
}

static uint8_t *cpt_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        cpt_die("cannot read %s: %s", path, strerror(errno));
    if ((size_t)n > CORPUS_PACK_MAX_INPUT) {
        cpt_die("%s: %ld bytes, more than the pack allows", path, n);
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        cpt_die("cannot read %s: %s", path, strerror(errno));
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void cpt_add(const char *root, const char *rel, const char *target)
{
    char path[CPT_PATH_MAX];

    if (cpt_nr == cpt_cap) {
        cpt_cap = cpt_cap ? 2 * cpt_cap : 1024;
        cpt_files = realloc(cpt_files, cpt_cap * sizeof(*cpt_files));
        if (!cpt_files)
            cpt_die("out of memory");
    }
    cpt_join(path, root, rel);
    cpt_files[cpt_nr].rel = strdup(rel);
    cpt_files[cpt_nr].target = strdup(target);
    cpt_files[cpt_nr].data = cpt_read(path, &cpt_files[cpt_nr].size);
    cpt_nr++;
}

/* Every regular file below root/rel (a directory), recursively. */
static void cpt_walk(const char *root, const char *rel, const char *target)
{
    char path[CPT_PATH_MAX], sub[CPT_PATH_MAX];
    struct dirent *d;
    struct stat st;
    DIR *dir;

    cpt_join(path, root, rel);
    dir = opendir(path);
    if (!dir)
        cpt_die("cannot open %s: %s", path, strerror(errno));
    while ((d = readdir(dir))) {
        if (d->d_name[0] == '.')
            continue;
        cpt_join(sub, rel, d->d_name);
        cpt_join(path, root, sub);
        if (stat(path, &st))
            cpt_die("cannot stat %s: %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode))
            cpt_walk(root, sub, target);
        else if (S_ISREG(st.st_mode))
            cpt_add(root, sub, target);
    }
    closedir(dir);
}

static int cpt_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cpt_file *)a)->rel, ((const struct cpt_file *)b)->rel);
}

static int cpt_wanted(const char *target, char **only, int nonly)
{
    if (!nonly)
        return 1;
    for (int i = 0; i < nonly; i++)
        if (!strcmp(only[i], target))
            return 1;
    return 0;
}

/* Read the pack back with the kernel's reader: every entry must come out as it went in. */
static void cpt_verify(const uint8_t *pack, size_t total)
{
    struct corpus_pack_iter it;
    struct corpus_pack_entry e;
    size_t i = 0;
    int r;

    if (corpus_pack_open(&it, pack, total) != (long)cpt_nr)
        cpt_die("read-back: header not accepted");
    while ((r = corpus_pack_next(&it, &e)) == 1) {
        const struct cpt_file *f = &cpt_files[i++];
        if (strcmp(e.name, f->rel) || strcmp(e.target, f->target) || e.size != f->size ||
            memcmp(e.data, f->data, f->size))
            cpt_die("read-back: entry %s differs", f->rel);
    }
    if (r != 0 || i != cpt_nr)
        cpt_die("read-back: entries end early or malformed");
}

/* Keep every @stride-th file of each target (cpt_files sorted, so a target's files are a run). */
static void cpt_thin(size_t stride)
{
    size_t i, n = 0, k = 0;

    for (i = 0; i < cpt_nr; i++) {
        if (i && strcmp(cpt_files[i].target, cpt_files[i - 1].target))
            k = 0;
        if (k++ % stride == 0)
            cpt_files[n++] = cpt_files[i];
    }
    cpt_nr = n;
}

int main(int argc, char **argv)
{
    size_t total = CORPUS_PACK_HDR_SIZE, off, i, stride = 1;
    struct dirent *d;
    uint8_t *pack;
    DIR *dir;
    FILE *out;

    if (argc > 2 && !strcmp(argv[1], "--stride")) {
        stride = strtoul(argv[2], NULL, 10);
        argc -= 2;
        argv += 2;
    }
    if (argc < 3 || !stride) {
        fprintf(stderr, "usage: corpus_pack_tool [--stride K] OUT.pack CORPUSDIR [TARGET...]\n");
        return 1;
    }
    dir = opendir(argv[2]);
    if (!dir)
        cpt_die("cannot open %s: %s", argv[2], strerror(errno));
    while ((d = readdir(dir))) {
        char path[CPT_PATH_MAX];
        struct stat st;
        cpt_join(path, argv[2], d->d_name);
        if (d->d_name[0] == '.' || stat(path, &st) || !S_ISDIR(st.st_mode) ||
            !cpt_wanted(d->d_name, argv + 3, argc - 3))
            continue;
        cpt_walk(argv[2], d->d_name, d->d_name);
    }
    closedir(dir);
    qsort(cpt_files, cpt_nr, sizeof(*cpt_files), cpt_cmp);
    if (stride > 1)
        cpt_thin(stride);
    for (i = 0; i < cpt_nr; i++)
        total += corpus_pack_entry_bytes(strlen(cpt_files[i].target), strlen(cpt_files[i].rel),
                                         cpt_files[i].size);
    pack = calloc(1, total);
    if (!pack)
        cpt_die("out of memory");
    corpus_pack_put_header(pack, (uint32_t)cpt_nr, total);
    for (i = 0, off = CORPUS_PACK_HDR_SIZE; i < cpt_nr; i++) {
        size_t n = corpus_pack_put_entry(pack + off, cpt_files[i].target, cpt_files[i].rel,
                                         cpt_files[i].data, cpt_files[i].size);
        if (!n)
            cpt_die("%s: name too long for the pack format", cpt_files[i].rel);
        off += n;
    }
    cpt_verify(pack, total);
    out = fopen(argv[1], "wb");
    if (!out || fwrite(pack, 1, total, out) != total || fclose(out))
        cpt_die("cannot write %s: %s", argv[1], strerror(errno));
    printf("corpus_pack_tool: %s: %zu entries, %zu bytes\n", argv[1], cpt_nr, total);
    return 0;
}
