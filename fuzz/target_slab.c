/*
 * target_slab.c - fuzz target "slab": kmem_cache create/destroy/alloc/free, kmalloc / kzalloc /
 * kcalloc / kmalloc_array / krealloc / kfree across size classes and the page path, CPU switches
 * (frees on another CPU than the allocating one), failure injection, cache shrink, reclaim through
 * the slab shrinker, validation, with hardening on or off as the machine header says
 * (slab=hardened|plain), KFENCE sampling on or off as its kfence bit says (kfence=on: 1 in N
 * allocations from the guarded pool, N from the seed; the checks below hold for sampled objects
 * too, and the site groups must count them: fz_check_sites). The model and the checks live in slab_common.c:
 *
 *   at allocation  machine memory, no overlap with a held object, ksize >= requested size, the
 *                  alignment the cache promises (8 for kmalloc, a page for large kmalloc), DMA
 *                  objects in ZONE_DMA and none in HIGHMEM, the object belongs to the cache asked
 *                  (kmalloc: a size class of the right DMA-ness that fits), zeroed when asked,
 *                  constructed when the cache has a constructor; then a content token is written
 *   at free        the token is intact (constructor caches get their state restored), the call
 *                  returns 0
 *   after each op  mm_check() (when fuzz_check_due, see fuzz_target.h); mm_misuse_count() moved only by expected reports (destroying a
 *                  busy cache: -MM_EBUSY + one MM_MISUSE_CACHE_BUSY); page_alloc_nr_free() +
 *                  slab_nr_pages() + pages of held large kmalloc blocks == boot value; every
 *                  SC_VERIFY_EVERY ops and on "check": all tokens, and per-cache active_objs ==
 *                  boot value + held objects
 *   at the end     the leak scan (mm_leak_scan, live[] as its root) reports nothing, then
 *                  everything freed, every cache destroyed (must succeed), conservation as
 *                  documented at sc_teardown().
 */
#include "slab_common.h"
#include "checker.h"

static const uint8_t slab_kinds[] = {
    FOP_CACHE_CREATE, FOP_CACHE_CREATE, FOP_CACHE_DESTROY,
    FOP_CACHE_ALLOC, FOP_CACHE_ALLOC, FOP_CACHE_ALLOC, FOP_CACHE_ALLOC,
    FOP_CACHE_FREE, FOP_CACHE_FREE, FOP_CACHE_FREE,
    FOP_KMALLOC, FOP_KMALLOC, FOP_KMALLOC, FOP_KMALLOC, FOP_KMALLOC,
    FOP_KREALLOC, FOP_KREALLOC, FOP_KFREE, FOP_KFREE, FOP_KFREE, FOP_KFREE,
    FOP_CPU, FOP_CPU, FOP_FAILNEXT, FOP_CACHE_SHRINK, FOP_RECLAIM, FOP_CACHE_VALIDATE, FOP_CHECK,
    FOP_CORRUPT, FOP_STATS,
};

static const struct fuzz_op_table slab_table = { slab_kinds, MM_ARRAY_SIZE(slab_kinds),
                                                 FUZZ_TABLE_SLAB_HARDENED | FUZZ_TABLE_KFENCE, NULL };

static void slab_fail_fn(const char *what) { sc_fail("%s", what); }

static uint32_t slab_setup(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    sc_boot(fuzz_machine_slab_level(&slab_fz.m, FUZZ_TABLE_SLAB_HARDENED),
            fuzz_machine_kfence_interval(&slab_fz.m, slab_table.flags),
            fuzz_machine_slab_owner(&slab_fz.m, slab_table.flags));
    return 0;
}

static void slab_exec(const struct fuzz_op *op)
{
    if (sc_exec_valid(op))
        return;
    if (op->kind == FOP_CORRUPT && !fz_corrupt(op->arg[0], op->arg[1], slab_fail_fn)) {
        fuzz_digest_ok(false);
        SC_TRACE("  skipped: no victim");
    }
    if (op->kind == FOP_STATS)
        fz_check_stats(true, slab_fail_fn);
}

/*
 * A leak scan before the frees: an object the mm allocated that neither live[] nor the mm's own
 * state reaches is a leak (the misuse target, whose injected corruption may break freelists,
 * does not scan). Replay, triage, repro, the corpus and the kernel (check cadence 1) scan every
 * input; the engines scan the inputs whose op count is a multiple of SLAB_LEAK_EVERY: a scan
 * every input cost 17-25% of fuzz-bench throughput; 1 in 8 measured within noise (+-3%), and the
 * choice is a function of the input, so a crash the engine saw replays.
 */
#define SLAB_LEAK_EVERY 8u

static void slab_teardown(void)
{
    if (fuzz_check_every <= 1 || fuzz_cur.nops % SLAB_LEAK_EVERY == 0)
        sc_leak_check();
    sc_teardown();
}

const struct fuzz_target fuzz_target_slab = {
    .name = "slab",
    .table = &slab_table,
    .machine = &slab_fz.m,
    .setup = slab_setup,
    .exec = slab_exec,
    .check = sc_check_all,
    .teardown = slab_teardown,
};
