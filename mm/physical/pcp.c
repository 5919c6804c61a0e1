/*
 * pcp.c - per-CPU lists of free order-0 pages.
 *
 *   zone->pcp[cpu].list:  [hot] <-> [page] <-> ... <-> [cold]     count <= high
 *
 * The owning CPU touches its list only with interrupts off (env_irq_save), so the fast path takes
 * no lock. An empty list is refilled with `batch` pages from the buddy allocator under the zone
 * lock; a list that reaches `high` gives its `batch` coldest pages back. Another CPU's list is
 * drained by running the drain on that CPU (env_cpu_call), as an IPI would.
 *
 * Locking: a list and its count belong to their CPU with interrupts off; its pages move to and
 * from the buddy allocator under the zone lock. count is also read by other CPUs without either
 * (drain_all_pages' "anything to drain?", page_alloc_nr_free, stats), so its owner writes it with
 * atomic stores and they read it with atomic loads: a stale value only costs an IPI or a slightly
 * wrong estimate.
 *
 * Invariants: every page on a list has flags == PG_pcp, order 0, cpu == owner, belongs to the
 * zone; count equals the list length.
 */
#include "phys_internal.h"

/* batch ~ managed/4096 pages clamped to 1..32 (Linux-like); high = 6 * batch. */
void pcp_setup(unsigned int batch, unsigned int high)
{
    struct zone *z;
    for_each_zone(z) {
        unsigned int b = batch;
        if (!b)
            b = (unsigned int)MM_MIN(MM_MAX(z->managed / 1024, 4ul), 128ul) / 4;
        unsigned int h = high ? MM_MAX(high, b) : 6 * b;
        for (unsigned int c = 0; c < MM_MAX_CPUS; c++) {
            list_init(&z->pcp[c].list);
            z->pcp[c].count = 0;
            z->pcp[c].batch = b;
            z->pcp[c].high = h;
        }
    }
}

static MM_NOINLINE bool pcp_refill(struct zone *z, struct per_cpu_pages *pcp, unsigned int cpu)
{
    env_spin_lock(&z->lock);
    for (unsigned int i = 0; i < pcp->batch; i++) {
        struct page *p = buddy_take_block_locked(z, 0);
        if (!p)
            break;
        p->flags = PG_pcp;
        p->cpu = (uint8_t)cpu;
        list_add_tail(&p->lru, &pcp->list);
        env_atomic_store(&pcp->count, pcp->count + 1);
    }
    env_spin_unlock(&z->lock);
    mm_state.phys.cpu[cpu].pcp_refill++;
    return pcp->count != 0;
}

/** Pop a page from this CPU's list (irqs off). Refills from the buddy allocator when empty. */
struct page *pcp_alloc_page(struct zone *z, unsigned int cpu)
{
    struct per_cpu_pages *pcp = &z->pcp[cpu];
    if (mm_unlikely(list_empty(&pcp->list)) && !pcp_refill(z, pcp, cpu))
        return NULL;
    struct page *p = list_entry(pcp->list.next, struct page, lru);
    list_del(&p->lru);
    env_atomic_store(&pcp->count, pcp->count - 1);
    p->flags = 0;
    p->cpu = 0;
    mm_state.phys.cpu[cpu].pcp_hit++;
    return p;
}

/* Give @n of the coldest pages of @pcp back to the buddy allocator. */
static void pcp_release(struct zone *z, struct per_cpu_pages *pcp, unsigned int n, unsigned int cpu)
{
    if (!n)
        return;
    env_spin_lock(&z->lock);
    while (n-- && !list_empty(&pcp->list)) {
        struct page *p = list_entry(pcp->list.prev, struct page, lru);
        list_del(&p->lru);
        env_atomic_store(&pcp->count, pcp->count - 1);
        p->flags = 0;
        p->cpu = 0;
        buddy_free_block_locked(z, page_to_pfn(p), 0);
    }
    env_spin_unlock(&z->lock);
    mm_state.phys.cpu[cpu].pcp_drain++;
}

/** Push a freed page (flags already cleared) onto this CPU's list (irqs off). */
void pcp_free_page(struct zone *z, struct page *p, unsigned int cpu)
{
    struct per_cpu_pages *pcp = &z->pcp[cpu];
    p->flags = PG_pcp;
    p->cpu = (uint8_t)cpu;
    list_add(&p->lru, &pcp->list);
    env_atomic_store(&pcp->count, pcp->count + 1);
    if (mm_unlikely(pcp->count >= pcp->high))
        pcp_release(z, pcp, pcp->batch, cpu);
}

/** Empty every list of @cpu. Runs on @cpu with irqs off (or with that CPU quiescent). */
void pcp_drain_cpu(unsigned int cpu)
{
    struct zone *z;
    for_each_zone(z) {
        pcp_release(z, &z->pcp[cpu], z->pcp[cpu].count, cpu);
    }
}

void drain_local_pages(void)
{
    if (!mm_state.phys.ready)
        return;
    unsigned long irq = env_irq_save();
    pcp_drain_cpu(env_cpu_id());
    env_irq_restore(irq);
}

static void drain_local_cb(void *arg)
{
    (void)arg;
    pcp_drain_cpu(env_cpu_id());
}

void drain_all_pages(void)
{
    if (!mm_state.phys.ready)
        return;
    for (unsigned int cpu = 0; cpu < mm_state.core.nr_cpus; cpu++) {
        bool any = false;
        struct zone *z;
        for_each_zone(z)
            any |= env_atomic_load(&z->pcp[cpu].count) != 0;
        if (any)
            env_cpu_call(cpu, drain_local_cb, NULL);
    }
}
