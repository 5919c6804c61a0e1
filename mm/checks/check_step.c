/*
 * check_step.c - mm_check_step: the invariant checker cut into bounded slices, so a kernel can
 * verify its mm continuously from a timer tick without stopping the world (see mm.h).
 *
 * A cycle visits, in order: for each zone of each node (cursor zone = node * MM_NR_ZONES +
 * zone type), its free lists (ZONE_LISTS) and then its struct pages
 * in runs of the caller's size (ZONE_PAGES); every slab cache, one per slice (CACHES); vmalloc
 * (VMALLOC); every address space, one per slice (MMS). The cursor is the caller's: nothing here
 * keeps state, so several cursors may run (a tick's and a test's).
 *
 * Invariants it relies on: each slice reads only what the lock it holds protects (the zone lock
 * for free lists and page states, heap.lock + the cache lock for a cache, vmalloc.lock, vm.lock
 * for every address space), all taken by trylock in the documented order (vm.lock, heap.lock,
 * cache, zone, vmalloc: see vm_lock.c); per-CPU lists of other CPUs are not walked. Between two
 * slices the mm runs on: caches or address spaces created or destroyed meanwhile shift the
 * ordinals, so one may be skipped or seen twice in that cycle, and a zone run resumes at the block
 * that now holds its pfn.
 */
#include "check_internal.h"

/* The CPU whose per-CPU lists a slice walks: -1 for all of them. */
static int step_cpu(const struct mm_check_cursor *cur)
{
    return cur->all_cpus ? -1 : (int)env_cpu_id();
}

/* Go to @phase at ordinal 0 (and @zone); past the last phase the next cycle starts at zone 0. */
static void step_goto(struct mm_check_cursor *cur, unsigned int phase, unsigned int zone)
{
    if (phase >= MM_CHECK_NR_PHASES) {
        phase = MM_CHECK_ZONE_LISTS;
        zone = 0;
        cur->cycles++;
    }
    cur->phase = phase;
    cur->zone = zone;
    cur->pos = 0;
}

/* Done with zone cur->zone: the next zone's lists, or the caches after the last zone. */
static void step_after_zone(struct mm_check_cursor *cur)
{
    if (cur->zone + 1 < phys_nr_zone_slots())
        step_goto(cur, MM_CHECK_ZONE_LISTS, cur->zone + 1);
    else
        step_goto(cur, MM_CHECK_CACHES, 0);
}

static int step_zone(struct mm_check_cursor *cur, unsigned long pages, struct mm_check_report *r)
{
    struct zone *z = phys_zone_slot(cur->zone);
    if (z->start_pfn == z->end_pfn) { /* an empty zone: on to the next */
        step_after_zone(cur);
        return 0;
    }
    unsigned long irq = env_irq_save();
    if (!env_spin_trylock(&z->lock)) {
        env_irq_restore(irq);
        return CHECK_SLICE_BUSY;
    }
    int err;
    unsigned long pos = cur->pos < z->start_pfn ? z->start_pfn : cur->pos;
    if (cur->phase == MM_CHECK_ZONE_LISTS)
        err = check_zone_lists(z, step_cpu(cur), r);
    else
        err = check_zone_range(z, &pos, pages, !cur->all_cpus, r);
    env_spin_unlock(&z->lock);
    env_irq_restore(irq);
    if (err)
        return err;
    if (cur->phase == MM_CHECK_ZONE_LISTS) {
        cur->phase = MM_CHECK_ZONE_PAGES;
        cur->pos = z->start_pfn;
    } else if (pos < z->end_pfn) {
        cur->pos = pos;
    } else {
        step_after_zone(cur);
    }
    return 0;
}

/* One cache, vmalloc, or one address space. */
static int step_other(struct mm_check_cursor *cur, struct mm_check_report *r)
{
    int err;
    if (cur->phase == MM_CHECK_CACHES)
        err = slab_check_nth(cur->pos, step_cpu(cur), r);
    else if (cur->phase == MM_CHECK_VMALLOC)
        err = vmalloc_check_try(!cur->all_cpus, r);
    else
        err = vm_check_nth(cur->pos, r);
    if (err == CHECK_SLICE_END || (err == 0 && cur->phase == MM_CHECK_VMALLOC)) {
        step_goto(cur, cur->phase + 1, 0); /* after the address spaces: the next cycle */
        return 0;
    }
    if (err == 0)
        cur->pos++;
    return err;
}

int mm_check_step(struct mm_check_cursor *cur, unsigned long pages, struct mm_check_report *rep)
{
    struct mm_check_report local;
    struct mm_check_report *r = rep ? rep : &local;
    *r = (struct mm_check_report){ .pfn = ~0ul };
    if (!cur || pages == 0 || pages > MM_CHECK_STEP_MAX_PAGES)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, (uintptr_t)cur,
                                ~0ul, "cursor %p, %lu pages (want a cursor and 1..%lu)",
                                (void *)cur, pages, MM_CHECK_STEP_MAX_PAGES);
    if (cur->phase >= MM_CHECK_NR_PHASES || cur->zone >= phys_nr_zone_slots())
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, (uintptr_t)cur,
                                ~0ul, "cursor phase %u zone %u: not a cursor of mm_check_step",
                                cur->phase, cur->zone);
    if (!mm_state.phys.ready) { /* nothing to check before the page allocator runs */
        cur->cycles++;           /* an empty cycle: a caller waiting for one is not stuck */
        return 0;
    }
    int err = cur->phase <= MM_CHECK_ZONE_PAGES ? step_zone(cur, pages, r) : step_other(cur, r);
    if (err == CHECK_SLICE_BUSY) {
        cur->busy++;
        return 0;
    }
    cur->slices++;
    return err;
}

/* Names (or dotted prefixes, ending in '.') that only mm_check's whole-machine view judges. */
static const char *const step_unseen[] = {
    "conserve.", "memblock.", "lru.", "swap.", "kfence.", "lock.held", "buddy.orphan", "pcp.orphan",
    "slab.orphan", "page.mapcount", "page.refcount",
};

/* Does @name equal @pat, or start with it when @pat ends in '.'? */
static bool step_name_matches(const char *name, const char *pat)
{
    for (; *pat; pat++, name++)
        if (*name != *pat)
            return false;
    return *name == 0 || pat[-1] == '.';
}

bool mm_check_step_sees(const char *invariant)
{
    if (!invariant)
        return false;
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(step_unseen); i++)
        if (step_name_matches(invariant, step_unseen[i]))
            return false;
    return true;
}
