/*
 * migrate.c - a domain's objects (slab pages of one domain, size classes DOMAIN_OBJ_MIN..MAX)
 * and secure migration of regions and objects between domains (model: memory_protection.h).
 *
 *   slab region: one page, kind DOMAIN_MEM_SLAB, obj_size a power of two, obj_used bit i = the
 *   object at page offset i * obj_size is live. A slab page holds objects of its owner only, so
 *   the key of its PTE covers no other domain's object. A freed object is zeroed at once.
 *
 * Migration of a region, in this order: refuse (pinned, under I/O, granted to a third domain:
 * nothing changed), make sure the destination's tables exist (the only step that may fail),
 * then clear every source mapping (the region's and a grant to the destination) and flush every
 * CPU, scrub if asked, change the owner and write the destination's PTEs with its key, and
 * record the audit entry. Caller-visible state changes only after the last refusal.
 *
 * Locking: mm_state.prot.lock around each public call.
 */
#include "prot_internal.h"

#define P (mm_state.prot)

/* The size class of @size (a power of two >= DOMAIN_OBJ_MIN). */
static unsigned int mig_class(size_t size)
{
    unsigned int c = DOMAIN_OBJ_MIN;
    while (c < size)
        c <<= 1;
    return c;
}

/* The slab region slot and object index of live-or-free object address @va, or -1. */
static int mig_obj_of(uintptr_t va, unsigned int *idx)
{
    int half = prot_half_of(va);
    if (half < 0 || va - prot_win_base(half) >= DOMAIN_GRANT_OFF)
        return -1;
    unsigned int rs = (unsigned int)((va - prot_win_base(half)) / DOMAIN_SLOT_SPAN);
    const struct prot_region *r = &P.reg[rs];
    uintptr_t off = va - prot_region_va(rs, half);
    if (r->kind != DOMAIN_MEM_SLAB || prot_dom_user(r->owner) != half || off >= PAGE_SIZE ||
        off % r->obj_size)
        return -1;
    *idx = (unsigned int)(off / r->obj_size);
    return (int)rs;
}

/* A new slab page for domain slot @ds, class @cls: its region slot, or -1. */
static int mig_slab_new(unsigned int ds, unsigned int cls)
{
    for (unsigned int rs = 0; rs < DOMAIN_MAX_REGIONS; rs++) {
        if (P.reg[rs].kind)
            continue;
        struct prot_region *r = &P.reg[rs];
        *r = (struct prot_region){ .kind = DOMAIN_MEM_SLAB, .owner = (uint8_t)ds, .npages = 1,
                                   .scrubbed = 1, .obj_size = (uint16_t)cls };
        r->pages[0] = alloc_pages(GFP_KERNEL | __GFP_ZERO, 0);
        uintptr_t va = prot_region_va(rs, prot_dom_user(ds));
        if (r->pages[0] && pt_set(&P.pt, va, page_to_phys(r->pages[0]) | prot_pte_flags(ds, true),
                                  GFP_KERNEL) == 0) {
            P.dom[ds].nr_regions++;
            return (int)rs;
        }
        if (r->pages[0])
            __free_pages(r->pages[0], 0);
        pt_unmap(&P.pt, va, va + PAGE_SIZE, NULL, NULL); /* a table pt_set left empty */
        *r = (struct prot_region){ 0 };
        return -1;
    }
    return -1;
}

/* An object of class @cls for domain slot @ds: its window address, or 0. */
static uintptr_t mig_obj_alloc_locked(unsigned int ds, unsigned int cls)
{
    unsigned int per = (unsigned int)(PAGE_SIZE / cls);
    uint64_t full = per >= 64 ? ~0ull : (1ull << per) - 1;
    int rs = -1;
    for (unsigned int r = 0; rs < 0 && r < DOMAIN_MAX_REGIONS; r++)
        if (P.reg[r].kind == DOMAIN_MEM_SLAB && P.reg[r].owner == ds && P.reg[r].obj_size == cls &&
            P.reg[r].obj_used != full)
            rs = (int)r;
    if (rs < 0)
        rs = mig_slab_new(ds, cls);
    if (rs < 0)
        return 0;
    struct prot_region *r = &P.reg[rs];
    unsigned int i = (unsigned int)__builtin_ctzll(~r->obj_used);
    r->obj_used |= 1ull << i;
    return prot_region_va((unsigned int)rs, prot_dom_user(ds)) + (uintptr_t)i * cls;
}

uintptr_t domain_kmalloc(int id, size_t size)
{
    if (!size || size > DOMAIN_OBJ_MAX) {
        mm_report_misuse(MM_MISUSE_SIZE_OVERFLOW, -MM_EINVAL, __func__, 0, ~0ul,
                         "domain object of %zu bytes (1..%u)", size, DOMAIN_OBJ_MAX);
        return 0;
    }
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(id);
    uintptr_t va = 0;
    if (s < 0)
        prot_misuse(-MM_ENOENT, __func__, 0, "allocation in an unknown domain", id, 0);
    else if (P.ready)
        va = mig_obj_alloc_locked((unsigned int)s, mig_class(size));
    prot_unlock(irq);
    return va;
}

/* Free object @idx of slab region @rs: zeroed now; an empty slab page is unmapped, flushed,
 * and freed. */
static void mig_obj_free_locked(unsigned int rs, unsigned int idx)
{
    struct prot_region *r = &P.reg[rs];
    memset((char *)page_address(r->pages[0]) + (size_t)idx * r->obj_size, 0, r->obj_size);
    r->obj_used &= ~(1ull << idx);
    if (r->obj_used)
        return;
    uintptr_t va = prot_region_va(rs, prot_dom_user(r->owner));
    pt_unmap(&P.pt, va, va + PAGE_SIZE, NULL, NULL);
    env_tlb_flush_range(va, va + PAGE_SIZE);
    __free_pages(r->pages[0], 0);
    P.scrubbed_pages++;
    P.dom[r->owner].nr_regions--;
    *r = (struct prot_region){ 0 };
}

/* The refusal of freeing / moving object @addr by domain slot @s (id @id): the error or 0. */
static int mig_obj_refuse(int rs, unsigned int idx, uintptr_t addr, int s, int id,
                          const char *func)
{
    if (s < 0)
        return prot_misuse(-MM_ENOENT, func, addr, "unknown domain", id, 0);
    if (rs < 0 || !(P.reg[rs].obj_used & (1ull << idx)))
        return prot_misuse(-MM_EINVAL, func, addr, "not a live domain object", id, 0);
    if (P.reg[rs].owner != (unsigned int)s)
        return prot_misuse(-MM_EACCES, func, addr, "the object belongs to another domain", id,
                          P.dom[P.reg[rs].owner].id);
    return 0;
}

int domain_kfree(int id, uintptr_t addr)
{
    unsigned int idx = 0;
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(id), rs = mig_obj_of(addr, &idx);
    int err = mig_obj_refuse(rs, idx, addr, s, id, __func__);
    if (!err)
        mig_obj_free_locked((unsigned int)rs, idx);
    prot_unlock(irq);
    return err;
}

/* ---- migration ---- */

/* Why region @rs cannot move from slot @s to slot @d: the reported error, or 0. */
static int mig_region_refuse(unsigned int rs, unsigned int d, uintptr_t addr, int src, int dst)
{
    const struct prot_region *r = &P.reg[rs];
    if (r->flags & PROT_REGION_PINNED)
        return prot_misuse(-MM_EBUSY, "domain_migrate", addr, "migration of a pinned region", src,
                          dst);
    if (r->flags & PROT_REGION_IO)
        return prot_misuse(-MM_EBUSY, "domain_migrate", addr, "migration of a region under I/O",
                          src, dst);
    for (unsigned int g = 0; g < DOMAIN_MAX_GRANTS; g++)
        if (P.grant[g].live && P.grant[g].region == rs && P.grant[g].grantee != d)
            return prot_misuse(-MM_EBUSY, "domain_migrate", addr,
                              "migration of a region a third domain maps", src,
                              P.dom[P.grant[g].grantee].id);
    return 0;
}

/* Move region @rs (checked) to domain slot @d. Returns 0 or -MM_ENOMEM (nothing changed). */
static int mig_region_commit(unsigned int rs, unsigned int d, enum domain_migrate_mode mode,
                             uintptr_t *to)
{
    struct prot_region *r = &P.reg[rs];
    uintptr_t from = prot_region_va(rs, prot_dom_user(r->owner));
    *to = prot_region_va(rs, prot_dom_user(d));
    for (unsigned int i = 0; i < r->npages; i++) /* the one step that may fail: tables */
        if (!pt_walk(&P.pt, *to + i * PAGE_SIZE, true, GFP_KERNEL)) {
            if (*to != from) /* free what it left empty (the same half's tables hold leaves) */
                pt_unmap(&P.pt, *to, *to + (uintptr_t)r->npages * PAGE_SIZE, NULL, NULL);
            return -MM_ENOMEM;
        }
    /* the destination's own grants: their tables may be the ones just made sure of for *to (the
     * grant area shares them), so they go only once the destination's PTEs are in (a domains
     * campaign find: corpus/domains/regress-migrate-into-grantee-tables) */
    uintptr_t gone[DOMAIN_MAX_GRANTS];
    unsigned int ngone = 0;
    for (unsigned int g = 0; g < DOMAIN_MAX_GRANTS; g++)
        if (P.grant[g].live && P.grant[g].region == rs) {
            gone[ngone++] = prot_grant_va(g, prot_dom_user(P.grant[g].grantee));
            prot_grant_release(g, true);
        }
    for (unsigned int i = 0; i < r->npages; i++)
        pt_update(&P.pt, from + i * PAGE_SIZE, 0);
    env_tlb_flush_range(from, from + (uintptr_t)r->npages * PAGE_SIZE);
    if (from != *to) /* another half: free the old tables */
        pt_unmap(&P.pt, from, from + (uintptr_t)r->npages * PAGE_SIZE, NULL, NULL);
    if (mode == DOMAIN_MIGRATE_SCRUB) {
        for (unsigned int i = 0; i < r->npages; i++)
            memset(page_address(r->pages[i]), 0, PAGE_SIZE);
        P.scrubbed_pages += r->npages;
        r->scrubbed = (uint8_t)((1u << r->npages) - 1);
    } else {
        r->scrubbed = 0; /* contents kept: not zero */
    }
    P.dom[r->owner].nr_regions--;
    r->owner = (uint8_t)d;
    P.dom[d].nr_regions++;
    for (unsigned int i = 0; i < r->npages; i++)
        pt_update(&P.pt, *to + i * PAGE_SIZE, page_to_phys(r->pages[i]) | prot_pte_flags(d, true));
    for (unsigned int k = 0; k < ngone; k++) /* the tables only the grants needed */
        pt_unmap(&P.pt, gone[k], gone[k] + (uintptr_t)r->npages * PAGE_SIZE, NULL, NULL);
    return 0;
}

/* Move object @idx of slab region @rs to domain slot @d: copy (MOVE) or zero (SCRUB) into a new
 * object of @d, then the source slot is freed (zeroed). Returns 0 or -MM_ENOMEM. */
static int mig_obj_commit(unsigned int rs, unsigned int idx, unsigned int d,
                          enum domain_migrate_mode mode, uintptr_t *to)
{
    struct prot_region *r = &P.reg[rs];
    unsigned int size = r->obj_size;
    *to = mig_obj_alloc_locked(d, size);
    if (!*to)
        return -MM_ENOMEM;
    unsigned int di = 0;
    int drs = mig_obj_of(*to, &di);
    char *dp = (char *)page_address(P.reg[drs].pages[0]) + (size_t)di * size;
    if (mode == DOMAIN_MIGRATE_MOVE) {
        memcpy(dp, (char *)page_address(r->pages[0]) + (size_t)idx * size, size);
        P.reg[drs].scrubbed = 0; /* the mm wrote the destination page */
    } else {
        memset(dp, 0, size);
    }
    mig_obj_free_locked(rs, idx);
    return 0;
}

int domain_migrate(int src, uintptr_t addr, int dst, enum domain_migrate_mode mode,
                   uintptr_t *new_addr)
{
    uintptr_t site = (uintptr_t)__builtin_return_address(0), to = 0;
    unsigned int idx = 0;
    unsigned long irq = prot_lock();
    int s = prot_dom_slot(src), d = prot_dom_slot(dst), err = 0;
    int ors = mig_obj_of(addr, &idx), rs = -1, half = prot_half_of(addr);
    if (half >= 0 && addr - prot_win_base(half) < DOMAIN_GRANT_OFF) {
        rs = (int)((addr - prot_win_base(half)) / DOMAIN_SLOT_SPAN);
        if (!P.reg[rs].kind || P.reg[rs].kind == DOMAIN_MEM_SLAB ||
            addr != prot_region_va((unsigned int)rs, prot_dom_user(P.reg[rs].owner)))
            rs = -1;
    }
    if (s < 0 || d < 0 || s == d || (mode != DOMAIN_MIGRATE_MOVE && mode != DOMAIN_MIGRATE_SCRUB))
        err = prot_misuse(-MM_EINVAL, __func__, addr, "bad migration (domains or mode)", src, dst);
    else if (ors >= 0)
        err = mig_obj_refuse(ors, idx, addr, s, src, __func__);
    else if (rs < 0)
        err = prot_misuse(-MM_EINVAL, __func__, addr, "no region or object starts here", src, dst);
    else if (P.reg[rs].owner != (unsigned int)s)
        err = prot_misuse(-MM_EACCES, __func__, addr, "the region belongs to another domain", src,
                         P.dom[P.reg[rs].owner].id);
    else
        err = mig_region_refuse((unsigned int)rs, (unsigned int)d, addr, src, dst);
    unsigned int npages = ors >= 0 ? 1 : (rs >= 0 ? P.reg[rs].npages : 0);
    uint32_t bytes = ors >= 0 ? P.reg[ors].obj_size : 0;
    if (!err)
        err = ors >= 0 ? mig_obj_commit((unsigned int)ors, idx, (unsigned int)d, mode, &to)
                       : mig_region_commit((unsigned int)rs, (unsigned int)d, mode, &to);
    if (!err) {
        prot_audit_add(src, dst, addr, to, npages, bytes, mode, site);
        if (new_addr)
            *new_addr = to;
    }
    prot_unlock(irq);
    return err;
}
