/*
 * Regression (issue 10, the kernel's boot time): the corpus replay of a pack (replay_kernel.c,
 * the kernel's boot-time replay, which "replay --pack" runs hosted) printed "# NAME: no target T"
 * after every input of a known target whenever no failure dump was armed: an `else` bound to the
 * dump hook's `if` instead of the unknown-target test. Half of the normal kernel's serial output
 * (890 KB of 1.9 MB) was those lines, each byte an I/O exit under QEMU.
 *
 * This program replays a two-entry pack (a page_alloc input, then one for a target that does not
 * exist) with the replay's lines (stderr) caught in a temporary file, and holds them to
 * replay_kernel.h's contract: one DIGEST line per entry, the "no target" line for the unknown
 * target only, one failed input.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "corpus_pack.h"
#include "replay_kernel.h"

static const uint8_t input_orders[] = { /* the head of corpus/page_alloc/all_orders */
    0xdc, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x70, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x90, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa8, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static uint64_t pack[128]; /* 8-byte aligned, as the reader wants */

/* The pack: the page_alloc input, then the same bytes for target "nosuch". Returns its size. */
static size_t regress_pack_build(void)
{
    uint8_t *p = (uint8_t *)pack;
    size_t off = CORPUS_PACK_HDR_SIZE;

    off += corpus_pack_put_entry(p + off, "page_alloc", "page_alloc/orders", input_orders,
                                 sizeof(input_orders));
    off += corpus_pack_put_entry(p + off, "nosuch", "nosuch/orders", input_orders,
                                 sizeof(input_orders));
    corpus_pack_put_header(p, 2, off);
    return off;
}

/* Lines of @f containing @needle. */
static unsigned int regress_count_lines(FILE *f, const char *needle)
{
    char line[512];
    unsigned int n = 0;

    rewind(f);
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    return n;
}

int main(void)
{
    size_t size = regress_pack_build();
    FILE *out = tmpfile();
    int saved = dup(2);

    printf("KTAP version 1\n1..1\n");
    if (!out || saved < 0 || size > sizeof(pack)) {
        printf("not ok 1 pack_lines # no temporary file or pack too small\n0 passed, 1 failed\n");
        return 1;
    }
    fflush(stderr);
    dup2(fileno(out), 2);
    int failed = kernel_corpus_replay(pack, size, NULL);
    fflush(stderr);
    dup2(saved, 2);
    unsigned int digests = regress_count_lines(out, "DIGEST "),
                 stray = regress_count_lines(out, "page_alloc/orders: no target"),
                 unknown = regress_count_lines(out, "nosuch/orders: no target nosuch");
    if (failed != 1 || digests != 2 || stray != 0 || unknown != 1) {
        printf("not ok 1 pack_lines # failed %d (want 1), DIGEST lines %u (want 2), \"no target\" "
               "lines for page_alloc %u (want 0), for nosuch %u (want 1)\n0 passed, 1 failed\n",
               failed, digests, stray, unknown);
        return 1;
    }
    printf("ok 1 pack_lines\n1 passed, 0 failed\n");
    return 0;
}
