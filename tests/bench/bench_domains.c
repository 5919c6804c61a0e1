/*
 * bench_domains.c - the cost of protection domains (memory_protection.h) on the hosted machine.
 *
 * Output (BENCH lines, '#' context lines):
 *   BENCH name=domain_switch ns_per_op=X          domain_enter(driver) + domain_enter(0): one op
 *                                                 is two switches, each a rights-register load
 *   BENCH name=domain_migrate_move ns_per_page=X  an 8-page region moved driver A -> B -> A
 *   BENCH name=domain_migrate_scrub ns_per_page=X the same with scrub (zeroing included)
 *   BENCH name=domain_migrate_1page ns_per_op=X   a 1-page region moved, per migration
 *   BENCH name=kmalloc_64 impl=kmalloc ns_per_op=X         kmalloc(64) + kfree, domains live
 *   BENCH name=kmalloc_64 impl=domain_kmalloc ns_per_op=X  domain_kmalloc(64) + domain_kfree
 *   BENCH name=kmalloc_64 domain_vs_kmalloc=R
 *   BENCH name=domain_access_pk ns_per_op=X       one 8-byte read through the software MMU from
 *                                                 inside a domain (TLB hit + key check)
 * Method: CLOCK_MONOTONIC (BENCH_CLOCK=cpu: thread CPU time) around N iterations, 5 repetitions
 * (--quick: 2 and N/100), the minimum reported. A 256 MiB machine with 2 CPUs; mm_check and
 * domain_check after the run. Exit 1 on any failed call or broken invariant.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machine.h"
#include "machine_mmu.h"
#include "memory_protection.h"
#include "mm.h"
#include "mm_env.h"
#include "slab.h"

#include "bench_util.h"

static unsigned int reps = 5, scale = 1;

typedef void (*bench_fn)(unsigned long n, void *arg);

/* The minimum over the repetitions of ns per iteration of fn(n). */
static double bench_min(bench_fn fn, unsigned long n, void *arg)
{
    double best = 1e30;
    n /= scale;
    fn(n / 10 + 1, arg); /* warm-up */
    for (unsigned int r = 0; r < reps; r++) {
        uint64_t t0 = now_ns();
        fn(n, arg);
        double ns = (double)(now_ns() - t0) / (double)n;
        best = ns < best ? ns : best;
    }
    return best;
}

static int dom_a, dom_b, owner;
static uintptr_t region;

static void run_switch(unsigned long n, void *arg)
{
    (void)arg;
    for (unsigned long i = 0; i < n; i++) {
        domain_enter(dom_a);
        domain_enter(0);
    }
}

static void run_migrate(unsigned long n, void *arg)
{
    enum domain_migrate_mode mode = *(enum domain_migrate_mode *)arg;
    for (unsigned long i = 0; i < n; i++) {
        int to = owner == dom_a ? dom_b : dom_a;
        if (domain_migrate(owner, region, to, mode, &region)) {
            fail("domain_migrate failed at %lu", i);
            return;
        }
        owner = to;
    }
}

static void run_kmalloc(unsigned long n, void *arg)
{
    (void)arg;
    for (unsigned long i = 0; i < n; i++) {
        void *p = kmalloc(64, GFP_KERNEL);
        if (!p || kfree(p))
            fail("kmalloc/kfree failed");
    }
}

static void run_domain_kmalloc(unsigned long n, void *arg)
{
    (void)arg;
    for (unsigned long i = 0; i < n; i++) {
        uintptr_t p = domain_kmalloc(dom_a, 64);
        if (!p || domain_kfree(dom_a, p))
            fail("domain_kmalloc/kfree failed");
    }
}

static void run_access(unsigned long n, void *arg)
{
    uint64_t v;
    unsigned int err;
    domain_enter(dom_a);
    for (unsigned long i = 0; i < n; i++)
        if (machine_mmu_copy(domain_window_root(), *(uintptr_t *)arg, &v, 8, MMU_READ, NULL, &err) != 8)
            fail("access faulted 0x%x", err);
    domain_enter(0);
}

/* Keep one object of dom_a live so its slab page stays (the loop measures objects, not pages). */
static double bench_migrate_pages(enum domain_migrate_mode mode, unsigned int order,
                                  unsigned long n)
{
    region = domain_alloc_pages(dom_a, order);
    owner = dom_a;
    if (!region) {
        fail("domain_alloc_pages(%u) failed", order);
        return 0;
    }
    double ns = bench_min(run_migrate, n, &mode);
    if (domain_free(owner, region))
        fail("freeing the migrated region failed");
    return ns;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--quick")) {
            reps = 2;
            scale = 100;
        }
    struct machine m;
    machine_small(&m, 256ull << 20, 2);
    if (machine_boot(&m)) {
        printf("# ERROR: boot failed\n");
        return 1;
    }
    mm_misuse_set_log_level(ENV_LOG_DEBUG);
    dom_a = domain_create(DOMAIN_DRIVER);
    dom_b = domain_create(DOMAIN_DRIVER);
    printf("# domains: 256 MiB machine, 2 CPUs, %u repetitions, minimum reported\n", reps);
    printf("BENCH name=domain_switch ns_per_op=%.2f\n", bench_min(run_switch, 2000000, NULL));
    enum domain_migrate_mode mv = DOMAIN_MIGRATE_MOVE, sc = DOMAIN_MIGRATE_SCRUB;
    printf("BENCH name=domain_migrate_move ns_per_page=%.2f\n", bench_migrate_pages(mv, 3, 200000) / 8);
    printf("BENCH name=domain_migrate_scrub ns_per_page=%.2f\n", bench_migrate_pages(sc, 3, 200000) / 8);
    printf("BENCH name=domain_migrate_1page ns_per_op=%.2f\n", bench_migrate_pages(mv, 0, 400000));
    uintptr_t keep = domain_kmalloc(dom_a, 64);
    double km = bench_min(run_kmalloc, 2000000, NULL);
    double dkm = bench_min(run_domain_kmalloc, 2000000, NULL);
    printf("BENCH name=kmalloc_64 impl=kmalloc ns_per_op=%.2f\n", km);
    printf("BENCH name=kmalloc_64 impl=domain_kmalloc ns_per_op=%.2f\n", dkm);
    printf("BENCH name=kmalloc_64 domain_vs_kmalloc=%.2f\n", dkm / km);
    printf("BENCH name=domain_access_pk ns_per_op=%.2f\n", bench_min(run_access, 2000000, &keep));
    if (domain_kfree(dom_a, keep))
        fail("domain_kfree(keep) failed");
    struct mm_check_report rep;
    if (mm_check(&rep))
        fail("mm_check: %s: %s", rep.invariant, rep.detail);
    domain_teardown();
    if (mm_check(&rep))
        fail("mm_check after teardown: %s: %s", rep.invariant, rep.detail);
    return g_errors ? 1 : 0;
}
