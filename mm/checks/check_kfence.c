/*
 * check_kfence.c - the KFENCE pool invariants (kfence_check, called by mm_check), read from
 * mm_state.vmalloc.kfence and the pool's own kernel page table (mm/virtual/kfence.c has the
 * layout). Names:
 *   kfence.guard   a guard page of the window is mapped
 *   kfence.map     an object page is mapped but its slot is not LIVE, or not mapped (or mapped
 *                  elsewhere, or read-only) while it is
 *   kfence.slot    a slot's state is unknown, or a LIVE/FREED slot's object does not lie in its
 *                  page against the side it records, or names no live cache (a FREED one may
 *                  name none: its cache was destroyed), or is larger than its cache's objects
 *   kfence.fifo    the free-slot FIFO does not hold each non-LIVE slot exactly once
 * Requires quiescence, as mm_check does.
 */
#include "check_internal.h"
#include "../heap/slab_internal.h"

#define KFENCE_CHECK_PROT (PTE_P | PTE_RW)

static pte_t kfence_pte_at(uintptr_t va)
{
    pte_t *ep = pt_walk(&mm_state.vmalloc.kfence.pt, va, false, 0);
    return ep ? *ep : 0;
}

/* A LIVE or FREED slot's object: inside page @page against its recorded side, cache sane. */
static int kfence_check_object(struct mm_check_report *rep, unsigned int i, uintptr_t page)
{
    const struct kfence_slot *s = &mm_state.vmalloc.kfence.slot[i];
    const struct kmem_cache *c = s->cache;
    size_t align = c && c->magic == KMEM_CACHE_MAGIC && c->align ? c->align : 8;
    bool inside = s->addr >= page && s->size <= PAGE_SIZE && s->addr - page <= PAGE_SIZE - s->size;
    uintptr_t want = s->right ? MM_ALIGN_DOWN(page + PAGE_SIZE - s->size, align) : page;
    if (!c && s->state == KFENCE_FREED)
        return 0; /* its cache was destroyed since */
    if (!c || c->magic != KMEM_CACHE_MAGIC)
        return mm_check_fail(rep, "kfence.slot", ~0ul, "slot %u: cache %p is not a live cache", i,
                             (void *)c);
    if (!inside || s->addr != want || s->size > c->object_size || !s->size)
        return mm_check_fail(rep, "kfence.slot", ~0ul, "slot %u: object %p (%u bytes, %s side) "
                             "should start at %p in page %p (cache %s, object size %u)", i,
                             (void *)s->addr, s->size, s->right ? "right" : "left", (void *)want,
                             (void *)page, c->name, c->object_size);
    return 0;
}

static int kfence_check_slot(struct mm_check_report *rep, unsigned int i, uintptr_t page)
{
    const struct mm_kfence_state *kf = &mm_state.vmalloc.kfence;
    const struct kfence_slot *s = &kf->slot[i];
    pte_t e = kfence_pte_at(page);
    phys_addr_t pa = page_to_phys(kf->pages) + ((phys_addr_t)i << PAGE_SHIFT);
    bool live = s->state == KFENCE_LIVE;
    if (s->state > KFENCE_FREED)
        return mm_check_fail(rep, "kfence.slot", ~0ul, "slot %u: state %u", i, s->state);
    if (live ? (!pte_present(e) || pte_addr(e) != pa ||
                (e & KFENCE_CHECK_PROT) != KFENCE_CHECK_PROT) : e != 0)
        return mm_check_fail(rep, "kfence.map", MM_PFN_DOWN(pa), "slot %u (%s): page %p PTE "
                             "0x%llx", i, live ? "live" : "not live", (void *)page,
                             (unsigned long long)e);
    return s->state == KFENCE_UNUSED ? 0 : kfence_check_object(rep, i, page);
}

static int kfence_check_fifo(struct mm_check_report *rep)
{
    const struct mm_kfence_state *kf = &mm_state.vmalloc.kfence;
    bool seen[KFENCE_NR_OBJECTS] = { false };
    unsigned int free_slots = 0;
    for (unsigned int i = 0; i < KFENCE_NR_OBJECTS; i++)
        free_slots += kf->slot[i].state != KFENCE_LIVE;
    if (kf->fifo_len != free_slots || kf->fifo_head >= KFENCE_NR_OBJECTS)
        return mm_check_fail(rep, "kfence.fifo", ~0ul, "%u slots queued (head %u), %u not live",
                             kf->fifo_len, kf->fifo_head, free_slots);
    for (unsigned int k = 0; k < kf->fifo_len; k++) {
        unsigned int i = kf->fifo[(kf->fifo_head + k) % KFENCE_NR_OBJECTS];
        if (i >= KFENCE_NR_OBJECTS || seen[i] || kf->slot[i].state == KFENCE_LIVE)
            return mm_check_fail(rep, "kfence.fifo", ~0ul, "queue entry %u: slot %u (%s)", k, i,
                                 i >= KFENCE_NR_OBJECTS ? "out of range"
                                 : seen[i] ? "queued twice" : "live");
        seen[i] = true;
    }
    return 0;
}

int kfence_check(struct mm_check_report *rep)
{
    if (!mm_state.heap.kfence)
        return 0;
    uintptr_t va = mm_state.heap.kfence_start;
    for (unsigned int p = 0; va < mm_state.heap.kfence_end; p++, va += PAGE_SIZE) {
        int err = (p & 1) ? kfence_check_slot(rep, (p - 1) / 2, va) : 0;
        if (!(p & 1) && kfence_pte_at(va))
            err = mm_check_fail(rep, "kfence.guard", ~0ul, "guard page %p is mapped (PTE 0x%llx)",
                                (void *)va, (unsigned long long)kfence_pte_at(va));
        if (err)
            return err;
    }
    return kfence_check_fifo(rep);
}
