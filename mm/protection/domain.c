/*
 * domain.c - protection domains (contract and model: include/memory_protection.h): the domain
 * table and key pools, the domain window's mappings, per-domain memory (page blocks, runs, slab
 * pages of objects), grants, domain switches and secure migration.
 *
 *   mm_state.prot.dom[s]     slot s: id, kind, key; nr_regions / nr_grants_in agree with reg[]
 *                            and grant[] (domain.count)
 *   mm_state.prot.reg[r]     region slot r, mapped at prot_region_va(r, half of its owner)
 *   mm_state.prot.grant[g]   grant slot g, mapped at prot_grant_va(g, half of its grantee)
 *
 * Invariants (checked by domain_check, mm/checks/check_domain.c): every present leaf of the
 * window lies in a live slot, maps that slot's page and carries the key of the domain the slot
 * serves (region: owner; grant: grantee); a page belongs to one region; a scrubbed page that no
 * PTE has dirtied is zero. Order of every narrowing: clear the PTEs, flush every CPU
 * (env_tlb_flush_range), then reuse the page or the key.
 *
 * Locking: mm_state.prot.lock (taken with interrupts saved) around every public call's work.
 */
#include "../lib/core.h"
#include "prot_internal.h"

#define P (mm_state.prot)

/* ---- locking, lookup ---- */

unsigned long prot_lock(void)
{
    unsigned long irq = env_irq_save();
    env_spin_lock(&P.lock);
    return irq;
}

void prot_unlock(unsigned long irq)
{
    env_spin_unlock(&P.lock);
    env_irq_restore(irq);
}

int prot_dom_slot(int id)
{
    for (unsigned int s = 0; id > 0 && s < DOMAIN_MAX; s++)
        if (P.dom[s].id == id)
            return (int)s;
    return -1;
}

/* The region slot containing window address @va (any byte of the slot), or -1. */
static int prot_region_of(uintptr_t va)
{
    int half = prot_half_of(va);
    if (half < 0)
        return -1;
    uintptr_t off = va - prot_win_base(half);
    if (off >= DOMAIN_GRANT_OFF)
        return -1;
    unsigned int r = (unsigned int)(off / DOMAIN_SLOT_SPAN);
    const struct prot_region *reg = &P.reg[r];
    if (!reg->kind || prot_dom_user(reg->owner) != half)
        return -1;
    return (int)r;
}

/* The live grant mapped at @va (any byte of its slot), or -1. */
static int prot_grant_of(uintptr_t va)
{
    int half = prot_half_of(va);
    if (half < 0)
        return -1;
    uintptr_t off = va - prot_win_base(half);
    if (off < DOMAIN_GRANT_OFF)
        return -1;
    unsigned int g = (unsigned int)((off - DOMAIN_GRANT_OFF) / DOMAIN_SLOT_SPAN);
    if (g >= DOMAIN_MAX_GRANTS || !P.grant[g].live || prot_dom_user(P.grant[g].grantee) != half)
        return -1;
    return (int)g;
}

int prot_misuse(int err, const char *func, uintptr_t addr, const char *why, int a, int b)
{
    P.refused++;
    return mm_report_misuse(MM_MISUSE_DOMAIN, err, func, addr, ~0ul, "%s (domain %d, domain %d)",
                            why, a, b);
}

/* ---- the window's mappings ---- */

static int prot_ready_locked(void)
{
    if (P.ready)
        return 0;
    int err = pt_init(&P.pt, GFP_KERNEL);
    if (!err)
        P.ready = true;
    return err;
}

/* Make sure tables cover the @n pages from @va. Returns 0 or -MM_ENOMEM (nothing mapped). */
static int prot_prepare(uintptr_t va, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++)
        if (!pt_walk(&P.pt, va + i * PAGE_SIZE, true, GFP_KERNEL))
            return -MM_ENOMEM;
    return 0;
}

/* Map region @r's pages at @va for domain slot @ds with @rw. Tables must exist (prot_prepare). */
static void prot_map_pages(const struct prot_region *r, uintptr_t va, unsigned int ds, bool rw)
{
    for (unsigned int i = 0; i < r->npages; i++)
        pt_update(&P.pt, va + i * PAGE_SIZE,
                  page_to_phys(r->pages[i]) | prot_pte_flags(ds, rw));
}

/* Map region slot @rs for its owner. Returns 0 or -MM_ENOMEM (nothing mapped). */
static int prot_map_region(unsigned int rs)
{
    struct prot_region *r = &P.reg[rs];
    uintptr_t va = prot_region_va(rs, prot_dom_user(r->owner));
    int err = prot_prepare(va, r->npages);
    if (!err)
        prot_map_pages(r, va, r->owner, true);
    else /* free the tables the failed preparation left empty (domain.tables) */
        pt_unmap(&P.pt, va, va + (uintptr_t)r->npages * PAGE_SIZE, NULL, NULL);
    return err;
}

/* Zero every page of @r (the mm's direct map) before they go back to the page allocator. */
static void prot_scrub(struct prot_region *r)
{
    for (unsigned int i = 0; i < r->npages; i++)
        memset(page_address(r->pages[i]), 0, PAGE_SIZE);
    P.scrubbed_pages += r->npages;
}

/* ---- domains ---- */

int domain_create(enum domain_kind kind)
{
    if (kind != DOMAIN_CORE && kind != DOMAIN_DRIVER && kind != DOMAIN_USER)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, 0, ~0ul,
                                "unknown domain kind %d", (int)kind);
    unsigned long irq = prot_lock();
    int err = prot_ready_locked();
    int slot = -1, key = -1;
    for (unsigned int s = 0; !err && s < DOMAIN_MAX; s++) {
        if (P.dom[s].id && kind == DOMAIN_CORE && P.dom[s].kind == DOMAIN_CORE)
            err = -MM_EEXIST;
        if (!P.dom[s].id && slot < 0)
            slot = (int)s;
    }
    if (!err)
        key = prot_key_alloc(kind == DOMAIN_USER);
    if (!err && (slot < 0 || key < 0))
        err = -MM_ENOSPC;
    if (!err) {
        P.dom[slot] = (struct prot_domain){ .id = ++P.next_id, .kind = (uint8_t)kind,
                                            .key = (uint8_t)key };
        err = P.dom[slot].id;
    } else if (key > 0) {
        prot_key_free(kind == DOMAIN_USER, (unsigned int)key);
    }
    prot_unlock(irq);
    return err;
}

/* Free region slot @rs: clear its mapping (flushed), scrub and free its pages. */
static void prot_region_release(unsigned int rs)
{
    struct prot_region *r = &P.reg[rs];
    uintptr_t va = prot_region_va(rs, prot_dom_user(r->owner));
    pt_unmap(&P.pt, va, va + (uintptr_t)r->npages * PAGE_SIZE, NULL, NULL);
    env_tlb_flush_range(va, va + (uintptr_t)r->npages * PAGE_SIZE);
    prot_scrub(r);
    if (r->kind == DOMAIN_MEM_PAGES)
        __free_pages(r->pages[0], r->order);
    else
        for (unsigned int i = 0; i < r->npages; i++)
            __free_pages(r->pages[i], 0);
    P.dom[r->owner].nr_regions--;
    *r = (struct prot_region){ 0 };
}

void prot_harvest_dirty(struct prot_region *r, uintptr_t va)
{
    for (unsigned int i = 0; i < r->npages; i++) {
        pte_t *ptep = pt_walk(&P.pt, va + i * PAGE_SIZE, false, 0);
        if (ptep && (*ptep & PTE_D))
            r->scrubbed = (uint8_t)(r->scrubbed & ~(1u << i));
    }
}

void prot_grant_release(unsigned int g, bool keep_tables)
{
    struct prot_grant *gr = &P.grant[g];
    uintptr_t va = prot_grant_va(g, prot_dom_user(gr->grantee));
    unsigned int n = P.reg[gr->region].npages;
    prot_harvest_dirty(&P.reg[gr->region], va);
    if (keep_tables)
        for (unsigned int i = 0; i < n; i++)
            pt_update(&P.pt, va + i * PAGE_SIZE, 0);
    else
        pt_unmap(&P.pt, va, va + (uintptr_t)n * PAGE_SIZE, NULL, NULL);
    env_tlb_flush_range(va, va + (uintptr_t)n * PAGE_SIZE);
    P.dom[gr->grantee].nr_grants_in--;
    *gr = (struct prot_grant){ 0 };
}

/* A reason @s cannot be destroyed now, or NULL. */
static const char *prot_dom_busy(unsigned int s)
{
    for (unsigned int c = 0; c < MM_MAX_CPUS; c++)
        if (P.cur[c] == (int)s + 1)
            return "a CPU is inside the domain";
    for (unsigned int r = 0; r < DOMAIN_MAX_REGIONS; r++)
        if (P.reg[r].kind && P.reg[r].owner == s && P.reg[r].flags)
            return "a region of the domain is pinned or under I/O";
    return NULL;
}

/* Release everything of domain slot @s and the slot itself (caller holds the lock). */
static void prot_dom_release(unsigned int s)
{
    for (unsigned int g = 0; g < DOMAIN_MAX_GRANTS; g++)
        if (P.grant[g].live && (P.grant[g].grantee == s || P.reg[P.grant[g].region].owner == s))
            prot_grant_release(g, false);
    for (unsigned int r = 0; r < DOMAIN_MAX_REGIONS; r++)
        if (P.reg[r].kind && P.reg[r].owner == s)
            prot_region_release(r);
    /* every PTE carrying the key is gone and flushed: the key may serve another domain */
    prot_key_free(P.dom[s].kind == DOMAIN_USER, P.dom[s].key);
    P.dom[s] = (struct prot_domain){ 0 };
}

int domain_destroy(int id)
{
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(id), err = 0;
    const char *busy = s >= 0 ? prot_dom_busy((unsigned int)s) : NULL;
    if (s < 0)
        err = prot_misuse(-MM_ENOENT, __func__, 0, "destroy of an unknown domain", id, 0);
    else if (busy)
        err = prot_misuse(-MM_EBUSY, __func__, 0, busy, id, 0);
    else
        prot_dom_release((unsigned int)s);
    prot_unlock(irq);
    return err;
}

int domain_enter(int id)
{
    unsigned int cpu = env_cpu_id();
    unsigned long irq = prot_lock();
    int s = id ? prot_dom_slot(id) : -1, prev = P.cur[cpu] ? P.dom[P.cur[cpu] - 1].id : 0;
    if (id && s < 0) {
        prot_unlock(irq);
        return prot_misuse(-MM_ENOENT, __func__, 0, "enter of an unknown domain", id, prev);
    }
    uint32_t pkrs = 0, pkru = 0;
    if (s >= 0)
        prot_view((unsigned int)s, &pkrs, &pkru);
    P.cur[cpu] = s + 1;
    P.switches++;
    env_pkey_set_rights(pkrs, pkru);
    prot_unlock(irq);
    return prev;
}

int domain_current(void)
{
    int c = P.cur[env_cpu_id()];
    return c ? P.dom[c - 1].id : 0;
}

int domain_key(int id)
{
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(id);
    int key = s < 0 ? -MM_ENOENT : P.dom[s].key;
    prot_unlock(irq);
    return key;
}

phys_addr_t domain_window_root(void) { return P.ready ? P.pt.root : 0; }

/* ---- memory of a domain ---- */

/* A free region slot, or -1. */
static int prot_region_slot(void)
{
    for (unsigned int r = 0; r < DOMAIN_MAX_REGIONS; r++)
        if (!P.reg[r].kind)
            return (int)r;
    return -1;
}

/* Fill region slot @rs for domain slot @ds: @n pages (one block of @order when @block). Maps
 * it. Returns 0 or -MM_ENOMEM (everything given back, the slot still free). */
static int prot_region_fill(unsigned int rs, unsigned int ds, enum domain_mem_kind kind,
                            unsigned int n, unsigned int order)
{
    struct prot_region *r = &P.reg[rs];
    *r = (struct prot_region){ .kind = (uint8_t)kind, .owner = (uint8_t)ds, .order = (uint8_t)order,
                               .scrubbed = (uint8_t)((1u << n) - 1) };
    struct page *b = kind == DOMAIN_MEM_PAGES ? alloc_pages(GFP_KERNEL | __GFP_ZERO, order) : NULL;
    for (unsigned int i = 0; i < n; i++) {
        r->pages[i] = b ? pfn_to_page(page_to_pfn(b) + i) : alloc_pages(GFP_KERNEL | __GFP_ZERO, 0);
        if (!r->pages[i])
            break;
        r->npages = (uint8_t)(i + 1);
    }
    if (r->npages == n && !prot_map_region(rs)) {
        P.dom[ds].nr_regions++;
        return 0;
    }
    if (b)
        __free_pages(b, order);
    for (unsigned int i = 0; !b && i < r->npages; i++)
        __free_pages(r->pages[i], 0);
    *r = (struct prot_region){ 0 };
    return -MM_ENOMEM;
}

static uintptr_t prot_alloc_region(int id, enum domain_mem_kind kind, unsigned int n,
                                   unsigned int order, const char *func)
{
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(id), rs = prot_region_slot();
    uintptr_t va = 0;
    if (s < 0)
        prot_misuse(-MM_ENOENT, func, 0, "allocation in an unknown domain", id, 0);
    else if (rs >= 0 && !prot_region_fill((unsigned int)rs, (unsigned int)s, kind, n, order))
        va = prot_region_va((unsigned int)rs, prot_dom_user((unsigned int)s));
    prot_unlock(irq);
    return va;
}

uintptr_t domain_alloc_pages(int id, unsigned int order)
{
    if (order > DOMAIN_MAX_ORDER) {
        mm_report_misuse(MM_MISUSE_BAD_ORDER, -MM_EINVAL, __func__, 0, ~0ul,
                         "domain block order %u > %u", order, DOMAIN_MAX_ORDER);
        return 0;
    }
    return prot_alloc_region(id, DOMAIN_MEM_PAGES, 1u << order, order, __func__);
}

uintptr_t domain_vmalloc(int id, size_t size)
{
    if (!size || size > (size_t)DOMAIN_REGION_PAGES * PAGE_SIZE) {
        mm_report_misuse(MM_MISUSE_SIZE_OVERFLOW, -MM_EINVAL, __func__, 0, ~0ul,
                         "domain vmalloc of %zu bytes (1..%u pages)", size, DOMAIN_REGION_PAGES);
        return 0;
    }
    return prot_alloc_region(id, DOMAIN_MEM_VMALLOC, (unsigned int)((size + PAGE_SIZE - 1) / PAGE_SIZE),
                             0, __func__);
}

/* Why region @rs (at @addr) of domain slot @s cannot be freed or moved by it: the error, or 0. */
static int prot_region_refuse(int rs, uintptr_t addr, int s, int id, const char *func)
{
    if (rs < 0 || addr != prot_region_va((unsigned int)rs, prot_dom_user(P.reg[rs].owner)) ||
        P.reg[rs].kind == DOMAIN_MEM_SLAB)
        return prot_misuse(-MM_EINVAL, func, addr, "no domain region starts here", id, 0);
    if (P.reg[rs].owner != (unsigned int)s)
        return prot_misuse(-MM_EACCES, func, addr, "the region belongs to another domain", id,
                           P.dom[P.reg[rs].owner].id);
    if (P.reg[rs].flags)
        return prot_misuse(-MM_EBUSY, func, addr,
                           (P.reg[rs].flags & PROT_REGION_PINNED) ? "the region is pinned"
                                                                  : "the region is under I/O",
                           id, 0);
    return 0;
}

int domain_free(int id, uintptr_t addr)
{
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(id), rs = prot_region_of(addr);
    int err = s < 0 ? prot_misuse(-MM_ENOENT, __func__, addr, "free by an unknown domain", id, 0)
                    : prot_region_refuse(rs, addr, s, id, __func__);
    if (!err) {
        for (unsigned int g = 0; g < DOMAIN_MAX_GRANTS; g++)
            if (P.grant[g].live && P.grant[g].region == (unsigned int)rs)
                prot_grant_release(g, false);
        prot_region_release((unsigned int)rs);
    }
    prot_unlock(irq);
    return err;
}

int domain_pin(int id, uintptr_t addr, bool on)
{
    return prot_set_flag(id, addr, PROT_REGION_PINNED, on, __func__);
}

int domain_io(int id, uintptr_t addr, bool on)
{
    return prot_set_flag(id, addr, PROT_REGION_IO, on, __func__);
}

int prot_set_flag(int id, uintptr_t addr, unsigned int flag, bool on, const char *func)
{
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(id), rs = prot_region_of(addr), err = 0;
    if (s < 0 || rs < 0)
        err = prot_misuse(-MM_EINVAL, func, addr, "no region of a live domain here", id, 0);
    else if (P.reg[rs].owner != (unsigned int)s)
        err = prot_misuse(-MM_EACCES, func, addr, "the region belongs to another domain", id,
                          P.dom[P.reg[rs].owner].id);
    else
        P.reg[rs].flags = (uint8_t)(on ? (P.reg[rs].flags | flag) : (P.reg[rs].flags & ~flag));
    prot_unlock(irq);
    return err;
}

/* ---- grants ---- */

/* Map grant slot @g (filled in) for its grantee. Returns 0 or -MM_ENOMEM (nothing mapped). */
static int prot_grant_map(unsigned int g)
{
    struct prot_grant *gr = &P.grant[g];
    const struct prot_region *r = &P.reg[gr->region];
    uintptr_t va = prot_grant_va(g, prot_dom_user(gr->grantee));
    int err = prot_prepare(va, r->npages);
    if (!err)
        prot_map_pages(r, va, gr->grantee, gr->rights == DOMAIN_GRANT_RW);
    else
        pt_unmap(&P.pt, va, va + (uintptr_t)r->npages * PAGE_SIZE, NULL, NULL);
    return err;
}

/* The checks of domain_grant; 0 or the reported error. */
static int prot_grant_refuse(int s, int gs, int rs, uintptr_t addr, int owner, int grantee,
                             enum domain_rights rights)
{
    if (s < 0 || gs < 0 || s == gs || (rights != DOMAIN_GRANT_READ && rights != DOMAIN_GRANT_RW))
        return prot_misuse(-MM_EINVAL, "domain_grant", addr, "bad grant (domains or rights)",
                           owner, grantee);
    if (rs < 0 || P.reg[rs].kind == DOMAIN_MEM_SLAB ||
        addr != prot_region_va((unsigned int)rs, prot_dom_user(P.reg[rs].owner)))
        return prot_misuse(-MM_EINVAL, "domain_grant", addr, "no grantable region starts here",
                           owner, grantee);
    if (P.reg[rs].owner != (unsigned int)s)
        return prot_misuse(-MM_EACCES, "domain_grant", addr,
                           "granting a region of another domain", owner, P.dom[P.reg[rs].owner].id);
    return 0;
}

int domain_grant(int owner, uintptr_t addr, int grantee, enum domain_rights rights,
                 uintptr_t *grant_addr)
{
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(owner), gs = prot_dom_slot(grantee), rs = prot_region_of(addr);
    int err = prot_grant_refuse(s, gs, rs, addr, owner, grantee, rights), g = -1;
    for (unsigned int i = 0; !err && g < 0 && i < DOMAIN_MAX_GRANTS; i++)
        if (!P.grant[i].live)
            g = (int)i;
    if (!err && g < 0)
        err = -MM_ENOSPC;
    if (!err) {
        P.grant[g] = (struct prot_grant){ .live = true, .rights = (uint8_t)rights,
                                          .region = (uint8_t)rs, .grantee = (uint8_t)gs };
        err = prot_grant_map((unsigned int)g);
        if (err)
            P.grant[g] = (struct prot_grant){ 0 };
    }
    if (!err) {
        P.dom[gs].nr_grants_in++;
        if (grant_addr)
            *grant_addr = prot_grant_va((unsigned int)g, prot_dom_user((unsigned int)gs));
    }
    prot_unlock(irq);
    return err;
}

int domain_revoke(int owner, uintptr_t grant_addr)
{
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(owner), g = prot_grant_of(grant_addr), err = 0;
    if (g < 0 || grant_addr != prot_grant_va((unsigned int)g, prot_dom_user(P.grant[g].grantee)))
        err = prot_misuse(-MM_EINVAL, __func__, grant_addr, "no live grant starts here", owner, 0);
    else if (s < 0 || P.reg[P.grant[g].region].owner != (unsigned int)s)
        err = prot_misuse(-MM_EACCES, __func__, grant_addr,
                          "revoke by a domain that does not own the region", owner, 0);
    else
        prot_grant_release((unsigned int)g, false);
    prot_unlock(irq);
    return err;
}

/* ---- faults, audit, stats ---- */

int domain_report_fault(uintptr_t va, unsigned int pf_error)
{
    int half = prot_half_of(va);
    if (half < 0)
        return -MM_EINVAL;
    unsigned long irq = prot_lock();
    int cur = P.cur[env_cpu_id()] ? P.dom[P.cur[env_cpu_id()] - 1].id : 0;
    int rs = prot_region_of(va), g = prot_grant_of(va), owner = 0;
    const char *why;
    if (rs >= 0)
        owner = P.dom[P.reg[rs].owner].id;
    else if (g >= 0)
        owner = P.dom[P.reg[P.grant[g].region].owner].id;
    if (pf_error & PF_ERR_PK)
        why = "protection key refused the access";
    else if (rs < 0 && g < 0)
        why = "access through a revoked grant or an unmapped slot";
    else if ((pf_error & PF_ERR_W) && g >= 0)
        why = "write through a read-only grant";
    else
        why = "access refused by the page tables";
    P.refused++;
    prot_unlock(irq);
    return mm_report_misuse(MM_MISUSE_DOMAIN, -MM_EACCES, __func__, va, ~0ul,
                            "%s: domain %d touched memory of domain %d, error code 0x%x", why, cur,
                            owner, pf_error);
}

void prot_audit_add(int src, int dst, uintptr_t from, uintptr_t to, unsigned int npages,
                    uint32_t bytes, enum domain_migrate_mode mode, uintptr_t site)
{
    P.audit[P.nr_audit % DOMAIN_AUDIT_RING] = (struct domain_audit){
        .src = src, .dst = dst, .from = from, .to = to, .npages = npages, .bytes = bytes,
        .mode = (uint8_t)mode, .site = site, .seq = env_trace_clock() };
    P.nr_audit++;
}

unsigned int domain_audit_read(struct domain_audit *out, unsigned int max, unsigned long *total)
{
    unsigned long irq = prot_lock();
    unsigned long n = MM_MIN(P.nr_audit, (unsigned long)DOMAIN_AUDIT_RING);
    n = MM_MIN(n, (unsigned long)max);
    for (unsigned long i = 0; out && i < n; i++)
        out[i] = P.audit[(P.nr_audit - n + i) % DOMAIN_AUDIT_RING];
    if (total)
        *total = P.nr_audit;
    prot_unlock(irq);
    return (unsigned int)n;
}

void domain_get_stats(struct domain_stats *st)
{
    if (!st)
        return;
    unsigned long irq = prot_lock();
    *st = (struct domain_stats){ .migrations = P.nr_audit, .refused = P.refused,
                                 .scrubbed_pages = P.scrubbed_pages, .switches = P.switches };
    for (unsigned int s = 0; s < DOMAIN_MAX; s++)
        st->nr_domains += P.dom[s].id != 0;
    for (unsigned int r = 0; r < DOMAIN_MAX_REGIONS; r++) {
        st->nr_regions += P.reg[r].kind != 0;
        st->pages += P.reg[r].npages;
        st->objects += mm_popcount64(P.reg[r].obj_used);
    }
    for (unsigned int g = 0; g < DOMAIN_MAX_GRANTS; g++)
        st->nr_grants += P.grant[g].live;
    st->keys_used_kernel = mm_popcount64(P.keys_used[0]);
    st->keys_used_user = mm_popcount64(P.keys_used[1]);
    prot_unlock(irq);
}

unsigned int domain_teardown(void)
{
    unsigned int live = 0;
    unsigned long irq = prot_lock();
    for (unsigned int c = 0; c < MM_MAX_CPUS; c++)
        P.cur[c] = 0;
    for (unsigned int s = 0; s < DOMAIN_MAX; s++)
        if (P.dom[s].id) {
            live++;
            for (unsigned int r = 0; r < DOMAIN_MAX_REGIONS; r++)
                if (P.reg[r].kind && P.reg[r].owner == s)
                    P.reg[r].flags = 0;
            prot_dom_release(s);
        }
    if (P.ready) {
        pt_destroy(&P.pt);
        P.ready = false;
    }
    prot_unlock(irq);
    env_pkey_set_rights(0, 0);
    return live;
}
