/*
 * Regression (issue 12): the scheduled CPUs are deterministic and the schedule decides the
 * interleaving.
 *
 *   lost_update      two CPUs each add 1 to a shared counter 8 times through a read, a preemption
 *                    point and a write: with no schedule bytes the first CPU keeps the baton
 *                    (16), alternating bytes lose updates (< 16), and the same bytes give the same
 *                    count and CPU trace on every run
 *   digest_twice     an smp input (two CPUs, remote frees racing a slab refill: the reproducer of
 *                    the slab-remote-freelist-unlocked mutant, fuzz/mutants/known.txt) replayed
 *                    twice gives the same outcome digest
 *   digest_schedule  the same ops with other schedule bytes interleave differently (another digest)
 *
 * Crashes with the report (or prints "not ok") if the scheduled mode stopped being a function of
 * its input.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_target.h"
#include "machine.h"

/* machine mem=8M cpus=2 seed=0; cache-alloc on=0 x2; run; free on=1 h=0 x2; cache-alloc on=0;
 * smp sched 13 8 5 0 */
static const uint8_t input_race[] = {
    0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x0d, 0x08, 0x05, 0x00, 0x00, 0x00, 0x00,
};

static unsigned int counter;

static void add_racy(unsigned int cpu, void *arg)
{
    (void)cpu;
    (void)arg;
    for (int i = 0; i < 8; i++) {
        unsigned int v = counter;
        env_sched_point();
        counter = v + 1;
    }
}

static unsigned int run_counter(const uint8_t *sched, size_t len, uint64_t *trace)
{
    struct machine_sched_stats st;

    counter = 0;
    machine_sched_run(add_racy, NULL, sched, len);
    machine_sched_get_stats(&st);
    *trace = st.trace;
    return counter;
}

static bool test_lost_update(void)
{
    static const uint8_t alternate[] = { 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0 };
    struct machine m;
    uint64_t t0, t1, t2;

    machine_small(&m, 4u << 20, 2);
    if (machine_boot(&m))
        return false;
    unsigned int serial = run_counter(NULL, 0, &t0);
    unsigned int a = run_counter(alternate, sizeof(alternate), &t1);
    unsigned int b = run_counter(alternate, sizeof(alternate), &t2);
    printf("# lost_update: no schedule %u, alternating %u and %u (traces %016llx %016llx)\n",
           serial, a, b, (unsigned long long)t1, (unsigned long long)t2);
    return serial == 16 && a < 16 && a == b && t1 == t2;
}

static uint64_t digest_of(const struct fuzz_target *t, const uint8_t *data, size_t size)
{
    fuzz_run(t, data, size);
    return fuzz_digest_value();
}

int main(void)
{
    const struct fuzz_target *t = fuzz_target_find("smp");
    uint8_t other[sizeof(input_race)];
    unsigned int failed = 0;

    printf("KTAP version 1\n1..3\n");
    if (!t) {
        printf("not ok 1 regress_smp # no target smp\n0 passed, 3 failed\n");
        return 1;
    }
    fuzz_platform.set_quiet(true);
    bool ok = test_lost_update();
    failed += !ok;
    printf("%s 1 lost_update\n", ok ? "ok" : "not ok");

    uint64_t d1 = digest_of(t, input_race, sizeof(input_race));
    uint64_t d2 = digest_of(t, input_race, sizeof(input_race));
    ok = d1 == d2;
    failed += !ok;
    printf("# digest %016llx, again %016llx\n%s 2 digest_twice\n", (unsigned long long)d1,
           (unsigned long long)d2, ok ? "ok" : "not ok");

    memcpy(other, input_race, sizeof(other));
    other[sizeof(other) - 7] = 0x01; /* first schedule byte: the other CPU first, switch often */
    other[sizeof(other) - 6] = 0x00;
    uint64_t d3 = digest_of(t, other, sizeof(other));
    ok = d3 != d1 && d3 == digest_of(t, other, sizeof(other));
    failed += !ok;
    printf("# other schedule: digest %016llx\n%s 3 digest_schedule\n", (unsigned long long)d3,
           ok ? "ok" : "not ok");
    printf("%u passed, %u failed\n", 3 - failed, failed);
    return failed != 0;
}
