/*
 * replay_kernel.c - the kernel's boot-time corpus replay (contract: replay_kernel.h).
 *
 * Freestanding: it reaches the machine only through fuzz_platform and prints through
 * fuzz_platform.write_line, so the hosted replay program can run it too ("replay --pack") and
 * its lines can be compared with the kernel's. One pass over the pack finds the targets and
 * checks every entry (so the KTAP plan comes first); then one pass per target runs that target's
 * entries in pack order and reports it (the pack is sorted by name, so the DIGEST lines come in
 * pack order, the order "replay --digest" prints them).
 */
#include "replay_kernel.h"
#include "corpus_pack.h"
#include "fuzz_target.h"
#include "mutate.h"

#define KCR_MAX_TARGETS 16
#define KCR_MAX_LISTED  16
#define KCR_NAME_MAX    128

struct kcr_target {
    const char *name;
    uint32_t inputs, failed;
    char listed[KCR_MAX_LISTED][KCR_NAME_MAX];
};

unsigned int kernel_corpus_mutants;
unsigned int kernel_corpus_check_every = FUZZ_CHECK_EVERY_DEFAULT;
void (*kernel_corpus_fail_dump)(const char *why);
static char kcr_why[64]; /* "corpus TARGET/NAME" of the entry running now */

static struct kcr_target kcr_targets[KCR_MAX_TARGETS];
static unsigned int kcr_nr_targets;

/* The slot of target @name, added on first sight; NULL when the table is full. */
static struct kcr_target *kcr_slot(const char *name)
{
    unsigned int i;

    for (i = 0; i < kcr_nr_targets; i++)
        if (fuzz_streq(kcr_targets[i].name, name))
            return &kcr_targets[i];
    if (kcr_nr_targets == KCR_MAX_TARGETS)
        return NULL;
    kcr_targets[kcr_nr_targets] = (struct kcr_target){ .name = name };
    return &kcr_targets[kcr_nr_targets++];
}

/* Pass 1: the targets, in order of first appearance. Returns the entries before a bad one (or
 * all); *@bad is set when the walk stopped at a malformed entry or the target table overflowed. */
static uint32_t kcr_scan(const void *pack, size_t size, bool *bad)
{
    struct corpus_pack_iter it;
    struct corpus_pack_entry e;
    uint32_t n = 0;
    int r;

    kcr_nr_targets = 0;
    *bad = false;
    corpus_pack_open(&it, pack, size);
    while ((r = corpus_pack_next(&it, &e)) == 1) {
        if (!kcr_slot(e.target)) {
            *bad = true;
            break;
        }
        n++;
    }
    if (r < 0)
        *bad = true;
    return n;
}

/* fuzz_dump_hook during an entry: a crash hands the live mm to kernel_corpus_fail_dump (a clean
 * run's "end of input" call is not a failure). */
static void kcr_dump_hook(const char *why)
{
    if (fuzz_streq(why, "crash") && kernel_corpus_fail_dump)
        kernel_corpus_fail_dump(kcr_why);
}

/* One run of @data at full-check cadence @every; @dump: a failure hands the mm to
 * kernel_corpus_fail_dump. */
static int kcr_run_at(const struct fuzz_target *t, const char *name, const uint8_t *data,
                      size_t size, unsigned int every, bool dump)
{
    unsigned int saved = fuzz_check_every;
    int r;

    fuzz_check_every = every;
    if (dump) {
        mm_snprintf(kcr_why, sizeof(kcr_why), "corpus %s", name); /* name: TARGET/FILE */
        fuzz_dump_hook = kcr_dump_hook;
    }
    r = fuzz_run_guarded(t, data, size);
    if (dump)
        fuzz_dump_hook = NULL;
    fuzz_check_every = saved;
    return r;
}

/* @data through @t at kernel_corpus_check_every; after a failure again with the full checks
 * after every op, whose report names the first bad op and which writes the dump. The input has
 * failed either way (a failure that does not repeat says so). */
static int kcr_run_checked(const struct fuzz_target *t, const char *name, const uint8_t *data,
                           size_t size)
{
    bool dump = kernel_corpus_fail_dump != NULL;

    if (kernel_corpus_check_every <= 1)
        return kcr_run_at(t, name, data, size, 1, dump);
    if (kcr_run_at(t, name, data, size, kernel_corpus_check_every, false) == 0)
        return 0;
    fuzz_log("    # %s failed with full checks every %u ops; again, checked after every op:", name,
             kernel_corpus_check_every);
    if (kcr_run_at(t, name, data, size, 1, dump) == 0)
        fuzz_log("    # %s: the failure above did not repeat (still counted)", name);
    return -1;
}

/* Run @data as input @name of target @target: one DIGEST line, counted in @kt. */
static void kcr_run_input(struct kcr_target *kt, const char *target, const char *name,
                          const uint8_t *data, size_t size)
{
    const struct fuzz_target *t = fuzz_target_find(target);
    char line[FUZZ_LINE_MAX + 64];
    int r = -1;

    fuzz_platform.set_quiet(true);
    if (t)
        r = kcr_run_checked(t, name, data, size);
    if (!t)
        fuzz_log("    # %s: no target %s", name, target);
    fuzz_digest_format(line, sizeof(line), target, name, r != 0);
    fuzz_platform.write_line(line);
    kt->inputs++;
    if (r) {
        if (kt->failed < KCR_MAX_LISTED)
            mm_snprintf(kt->listed[kt->failed], KCR_NAME_MAX, "%s", name);
        kt->failed++;
    }
}

/* The entry itself, then its kernel_corpus_mutants variants, named "<name>~m<index>". */
static void kcr_run_one(struct kcr_target *kt, const struct corpus_pack_entry *e)
{
    static uint8_t mutant[FUZZ_MUTANT_MAX];
    char name[KCR_NAME_MAX];

    kcr_run_input(kt, e->target, e->name, e->data, e->size);
    for (unsigned int i = 1; i <= kernel_corpus_mutants; i++) {
        size_t n = fuzz_mutate(e->data, e->size, e->name, i, mutant);
        mm_snprintf(name, sizeof(name), "%s~m%u", e->name, i);
        kcr_run_input(kt, e->target, name, mutant, n);
    }
}

/* Pass 2 for target @k: run its entries (the first @limit entries of the pack at most). */
static void kcr_run_target(unsigned int k, const void *pack, size_t size, uint32_t limit)
{
    struct kcr_target *kt = &kcr_targets[k];
    struct corpus_pack_iter it;
    struct corpus_pack_entry e;
    uint32_t i;

    corpus_pack_open(&it, pack, size);
    for (i = 0; i < limit && corpus_pack_next(&it, &e) == 1; i++)
        if (fuzz_streq(e.target, kt->name))
            kcr_run_one(kt, &e);
}

static void kcr_report_target(unsigned int k)
{
    const struct kcr_target *kt = &kcr_targets[k];
    uint32_t i;

    fuzz_log("    %sok %u - corpus/%s (%u inputs)", kt->failed ? "not " : "", k + 1, kt->name,
             (unsigned int)kt->inputs);
    for (i = 0; i < kt->failed && i < KCR_MAX_LISTED; i++)
        fuzz_log("    # failed: %s", kt->listed[i]);
    if (kt->failed > KCR_MAX_LISTED)
        fuzz_log("    # failed: %u more", (unsigned int)(kt->failed - KCR_MAX_LISTED));
}

int kernel_corpus_replay(const void *pack, size_t size, unsigned int *passed)
{
    struct corpus_pack_iter it;
    uint32_t good, inputs = 0, failed = 0;
    unsigned int k;
    bool bad;

    if (passed)
        *passed = 0;
    fuzz_log("    KTAP version 1");
    fuzz_log("    # Subtest: corpus");
    if (corpus_pack_open(&it, pack, size) < 0) {
        fuzz_log("    1..1");
        fuzz_log("    not ok 1 - corpus pack (not a readable pack: %lu bytes)", (unsigned long)size);
        return 1;
    }
    good = kcr_scan(pack, size, &bad);
    fuzz_log("    1..%u", kcr_nr_targets + (bad ? 1 : 0));
    for (k = 0; k < kcr_nr_targets; k++) {
        kcr_run_target(k, pack, size, good);
        kcr_report_target(k);
        inputs += kcr_targets[k].inputs;
        failed += kcr_targets[k].failed;
    }
    if (bad) {
        fuzz_log("    not ok %u - corpus pack (malformed after entry %u)", kcr_nr_targets + 1,
                 (unsigned int)good);
        failed++;
    }
    fuzz_log("    # corpus: %u inputs, %u failed", (unsigned int)inputs, (unsigned int)failed);
    fuzz_platform.set_quiet(false);
    if (passed)
        *passed = inputs - (failed - (bad ? 1 : 0));
    return (int)failed;
}
