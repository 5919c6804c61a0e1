/*
 * Regression (issues 10 and 17): "vm corrupt" of a victim that needs an address space, after the
 * last one exited, divided by the live count (0) in the harness (UBSan: division by zero in
 * vm_corrupt). The fix picks the address space through vcr_mm_pick, which leaves the op a no-op.
 * The inputs are the minimised reproducers (machine, failnext, vm exit, vm corrupt VICTIM), the
 * same bytes as corpus/vm/regress-corrupt-no-mm-*; this program runs them in the regression
 * configuration of ./build.sh test, and crashes with the report if the bug is back.
 */
#include <stdio.h>

#include "fuzz_target.h"

static const uint8_t input_nr_anon[] = {
    0x04, 0x00, 0x00, 0x00, 0x03, 0x54, 0x03, 0x00, 0x18, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t input_map_count[] = {
    0x04, 0x00, 0x00, 0x00, 0x03, 0x54, 0x03, 0x00, 0x18, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x0a, 0x00, 0x00, 0x6a, 0x6a, 0x00, 0x00,
};

static const uint8_t input_pt_dup[] = {
    0x04, 0x00, 0x00, 0x00, 0x03, 0x54, 0x03, 0x00, 0x18, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};


static const struct {
    const char *name;
    const uint8_t *data;
    size_t size;
} cases[] = {
    { "corrupt_nr_anon_no_mm", input_nr_anon, sizeof(input_nr_anon) },
    { "corrupt_map_count_no_mm", input_map_count, sizeof(input_map_count) },
    { "corrupt_pt_dup_no_mm", input_pt_dup, sizeof(input_pt_dup) },
};

int main(void)
{
    const struct fuzz_target *t = fuzz_target_find("vm");
    const unsigned int n = sizeof(cases) / sizeof(cases[0]);

    printf("KTAP version 1\n1..%u\n", n);
    if (!t) {
        printf("not ok 1 regress_vm # no target vm\n0 passed, %u failed\n", n);
        return 1;
    }
    fuzz_platform.set_quiet(true);
    for (unsigned int i = 0; i < n; i++) {
        fuzz_run(t, cases[i].data, cases[i].size); /* the bug, if back, crashes here with its report */
        printf("ok %u %s\n", i + 1, cases[i].name);
    }
    printf("%u passed, 0 failed\n", n);
    return 0;
}
