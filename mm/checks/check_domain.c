/*
 * check_domain.c - the protection-domain invariants (domain_check; names and contract in
 * include/memory_protection.h). Reads mm_state.prot and the domain window's page table:
 *
 *   1. every present leaf of the window's two halves lies in a live slot of its half and maps
 *      what the slot serves: a region page under its owner's key, writable; a grant's page under
 *      the grantee's key, writable only for a read-write grant      (domain.key, .grant, .pte)
 *   2. every page of every live region is mapped at its slot        (domain.pte)
 *   3. a page belongs to one region, and every region's pages are allocated (domain.owner)
 *   4. a scrubbed page no mapping has dirtied is all zero           (domain.scrub)
 *   5. per-domain region and grant counts, and the key pools        (domain.count)
 *   6. the window holds exactly the table pages its leaves need      (domain.tables)
 * Precondition: quiescence (as mm_check).
 */
#include "check_internal.h"
#include "../protection/prot_internal.h"

#define P (mm_state.prot)

struct dom_walk {
    struct mm_check_report *rep;
    int half;
    unsigned int nr_pt;          /* distinct leaf tables seen in this half */
    uintptr_t pt_seen[8];        /* their 2 MiB spans (a half covers at most 2) */
    unsigned long leaves;
};

/* What the leaf at window offset @off of half @half should be: its frame, domain slot, rw. */
static int dom_expect(int half, uintptr_t off, phys_addr_t *pa, unsigned int *ds, bool *rw,
                      const char **inv)
{
    bool grant = off >= DOMAIN_GRANT_OFF;
    uintptr_t o = grant ? off - DOMAIN_GRANT_OFF : off;
    unsigned int slot = (unsigned int)(o / DOMAIN_SLOT_SPAN);
    unsigned int idx = (unsigned int)((o % DOMAIN_SLOT_SPAN) / PAGE_SIZE);
    const struct prot_region *r;
    *inv = "domain.grant";
    if (grant) {
        const struct prot_grant *g = slot < DOMAIN_MAX_GRANTS ? &P.grant[slot] : NULL;
        if (!g || !g->live || prot_dom_user(g->grantee) != half)
            return -1;
        r = &P.reg[g->region];
        *ds = g->grantee;
        *rw = g->rights == DOMAIN_GRANT_RW;
    } else {
        r = &P.reg[slot];
        if (!r->kind || prot_dom_user(r->owner) != half)
            return -1;
        *ds = r->owner;
        *rw = true;
        *inv = "domain.pte";
    }
    if (idx >= r->npages)
        return -1;
    *pa = page_to_phys(r->pages[idx]);
    return 0;
}

/* Count the leaf table covering @va (once per 2 MiB span). */
static void dom_note_table(struct dom_walk *w, uintptr_t va)
{
    uintptr_t span = va >> PT_SHIFT(1);
    for (unsigned int i = 0; i < w->nr_pt; i++)
        if (w->pt_seen[i] == span)
            return;
    if (w->nr_pt < MM_ARRAY_SIZE(w->pt_seen))
        w->pt_seen[w->nr_pt++] = span;
}

static int dom_visit_leaf(void *arg, uintptr_t va, pte_t *ptep)
{
    struct dom_walk *w = arg;
    pte_t e = *ptep;
    w->leaves++;
    dom_note_table(w, va);
    phys_addr_t pa = 0;
    unsigned int ds = 0;
    bool rw = false;
    const char *inv;
    if (!(e & PTE_P))
        return mm_check_fail(w->rep, "domain.grant", ~0ul, "non-present leaf 0x%llx at 0x%lx",
                             (unsigned long long)e, (unsigned long)va);
    if (dom_expect(w->half, va - prot_win_base(w->half), &pa, &ds, &rw, &inv))
        return mm_check_fail(w->rep, "domain.grant", (unsigned long)(pte_addr(e) >> PAGE_SHIFT),
                             "leaf at 0x%lx maps pa 0x%llx with no live region or grant there",
                             (unsigned long)va, (unsigned long long)pte_addr(e));
    if (pte_addr(e) != pa)
        return mm_check_fail(w->rep, inv, (unsigned long)(pa >> PAGE_SHIFT),
                             "leaf at 0x%lx maps pa 0x%llx, its slot holds pa 0x%llx",
                             (unsigned long)va, (unsigned long long)pte_addr(e),
                             (unsigned long long)pa);
    if (pte_pkey(e) != P.dom[ds].key || !(e & PTE_US) != !prot_dom_user(ds))
        return mm_check_fail(w->rep, "domain.key", (unsigned long)(pa >> PAGE_SHIFT),
                             "leaf at 0x%lx has key %u%s, domain %d has key %u%s",
                             (unsigned long)va, pte_pkey(e), (e & PTE_US) ? " (user)" : "",
                             P.dom[ds].id, P.dom[ds].key, prot_dom_user(ds) ? " (user)" : "");
    if ((e & PTE_RW) && !rw)
        return mm_check_fail(w->rep, "domain.grant", (unsigned long)(pa >> PAGE_SHIFT),
                             "leaf at 0x%lx is writable through a read-only grant to domain %d",
                             (unsigned long)va, P.dom[ds].id);
    return 0;
}

/* 2 and 3: each live region's pages mapped at its slot, allocated, owned once. */
static int dom_check_regions(struct mm_check_report *rep)
{
    for (unsigned int rs = 0; rs < DOMAIN_MAX_REGIONS; rs++) {
        const struct prot_region *r = &P.reg[rs];
        if (!r->kind)
            continue;
        uintptr_t va = prot_region_va(rs, prot_dom_user(r->owner));
        for (unsigned int i = 0; i < r->npages; i++) {
            const struct page *pg = r->pages[i];
            pte_t *ptep = pt_walk(&P.pt, va + i * PAGE_SIZE, false, 0);
            if (!ptep || !(*ptep & PTE_P))
                return mm_check_fail(rep, "domain.pte", page_to_pfn(pg),
                                     "page %u of region %u (domain %d) is not mapped at 0x%lx", i,
                                     rs, P.dom[r->owner].id, (unsigned long)(va + i * PAGE_SIZE));
            const struct page *head = r->kind == DOMAIN_MEM_PAGES ? r->pages[0] : pg;
            if (!(head->flags & PG_head) || head->refcount < 1)
                return mm_check_fail(rep, "domain.owner", page_to_pfn(pg),
                                     "page %u of region %u (domain %d) is not allocated", i, rs,
                                     P.dom[r->owner].id);
            for (unsigned int r2 = rs + 1; r2 < DOMAIN_MAX_REGIONS; r2++)
                for (unsigned int j = 0; P.reg[r2].kind && j < P.reg[r2].npages; j++)
                    if (P.reg[r2].pages[j] == pg)
                        return mm_check_fail(rep, "domain.owner", page_to_pfn(pg),
                                             "page owned by regions %u (domain %d) and %u "
                                             "(domain %d)", rs, P.dom[r->owner].id, r2,
                                             P.dom[P.reg[r2].owner].id);
        }
    }
    return 0;
}

/* Has any mapping of page @i of region @rs (its own, a grant's) been written (PTE_D)? */
static bool dom_page_dirty(unsigned int rs, unsigned int i)
{
    uintptr_t va = prot_region_va(rs, prot_dom_user(P.reg[rs].owner)) + i * PAGE_SIZE;
    pte_t *ptep = pt_walk(&P.pt, va, false, 0);
    if (ptep && (*ptep & PTE_D))
        return true;
    for (unsigned int g = 0; g < DOMAIN_MAX_GRANTS; g++) {
        if (!P.grant[g].live || P.grant[g].region != rs)
            continue;
        ptep = pt_walk(&P.pt, prot_grant_va(g, prot_dom_user(P.grant[g].grantee)) + i * PAGE_SIZE,
                       false, 0);
        if (ptep && (*ptep & PTE_D))
            return true;
    }
    return false;
}

/* 4: scrubbed pages nobody wrote are zero. */
static int dom_check_scrub(struct mm_check_report *rep)
{
    for (unsigned int rs = 0; rs < DOMAIN_MAX_REGIONS; rs++) {
        const struct prot_region *r = &P.reg[rs];
        if (r->kind && (r->scrubbed >> r->npages))
            return mm_check_fail(rep, "domain.scrub", page_to_pfn(r->pages[0]),
                                 "region %u (domain %d) of %u pages marks pages 0x%x scrubbed", rs,
                                 P.dom[r->owner].id, r->npages, r->scrubbed);
        for (unsigned int i = 0; r->kind && i < r->npages; i++) {
            if (!(r->scrubbed & (1u << i)) || dom_page_dirty(rs, i))
                continue;
            const uint64_t *w = page_address(r->pages[i]);
            for (unsigned int k = 0; k < PAGE_SIZE / 8; k++)
                if (w[k])
                    return mm_check_fail(rep, "domain.scrub", page_to_pfn(r->pages[i]),
                                         "scrubbed page %u of region %u (domain %d) holds 0x%llx "
                                         "at byte %u before its first write", i, rs,
                                         P.dom[r->owner].id, (unsigned long long)w[k], k * 8);
        }
    }
    return 0;
}

/* 5: counts and key pools. */
static int dom_check_counts(struct mm_check_report *rep)
{
    uint16_t keys[2] = { 0, 0 };
    for (unsigned int s = 0; s < DOMAIN_MAX; s++) {
        const struct prot_domain *d = &P.dom[s];
        if (!d->id)
            continue;
        unsigned int nr = 0, ng = 0, u = d->kind == DOMAIN_USER;
        for (unsigned int rs = 0; rs < DOMAIN_MAX_REGIONS; rs++)
            nr += P.reg[rs].kind && P.reg[rs].owner == s;
        for (unsigned int g = 0; g < DOMAIN_MAX_GRANTS; g++)
            ng += P.grant[g].live && P.grant[g].grantee == s;
        if (nr != d->nr_regions || ng != d->nr_grants_in || !d->key || (keys[u] & (1u << d->key)))
            return mm_check_fail(rep, "domain.count", ~0ul,
                                 "domain %d records %u regions and %u grants, the tables hold %u "
                                 "and %u; key %u", d->id, d->nr_regions, d->nr_grants_in, nr, ng,
                                 d->key);
        keys[u] = (uint16_t)(keys[u] | (1u << d->key));
    }
    if (keys[0] != P.keys_used[0] || keys[1] != P.keys_used[1])
        return mm_check_fail(rep, "domain.count", ~0ul,
                             "key pools 0x%x/0x%x, live domains use 0x%x/0x%x", P.keys_used[0],
                             P.keys_used[1], keys[0], keys[1]);
    return 0;
}

int domain_check(struct mm_check_report *rep)
{
    struct mm_check_report local;
    if (!rep)
        rep = &local;
    if (!P.ready)
        return 0;
    int err = 0;
    unsigned long tables = 1; /* the root */
    for (int half = 0; half < 2 && !err; half++) {
        struct dom_walk w = { .rep = rep, .half = half };
        uintptr_t base = prot_win_base(half);
        err = pt_visit(&P.pt, base, base + DOMAIN_WIN_SIZE, dom_visit_leaf, &w);
        tables += w.leaves ? 2 + w.nr_pt : 0; /* a half lies in one PDPT and one PD entry */
    }
    if (!err && tables != P.pt.nr_tables) /* 6: no table is left empty */
        err = mm_check_fail(rep, "domain.tables", ~0ul,
                            "the window has %lu table pages, its leaves need %lu",
                            P.pt.nr_tables, tables);
    if (!err)
        err = dom_check_regions(rep);
    if (!err)
        err = dom_check_scrub(rep);
    if (!err)
        err = dom_check_counts(rep);
    return err;
}
