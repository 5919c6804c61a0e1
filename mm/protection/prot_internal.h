/*
 * prot_internal.h - shared by the files of mm/protection (domain.c: domains, regions, grants;
 * migrate.c: objects and migration; keys.c: key pools and rights registers) and read by
 * mm/checks/check_domain.c. State: mm_state.prot (lib/core.h), under mm_state.prot.lock.
 *
 * The window: half 0 is the kernel half (core and driver domains, supervisor PTEs, PKS keys),
 * half 1 the user half (user domains, PTE_US, PKU keys); a slot's address is its half's base plus
 * slot * DOMAIN_SLOT_SPAN (grants after DOMAIN_GRANT_OFF).
 */
#ifndef LEAXOS_PROT_INTERNAL_H
#define LEAXOS_PROT_INTERNAL_H

#include "../lib/core.h"

static inline uintptr_t prot_win_base(int half) { return half ? DOMAIN_UWIN : DOMAIN_KWIN; }

/* The half of the window holding @va (0 kernel, 1 user), or -1 outside it. */
static inline int prot_half_of(uintptr_t va)
{
    if (va >= DOMAIN_KWIN && va - DOMAIN_KWIN < DOMAIN_WIN_SIZE)
        return 0;
    if (va >= DOMAIN_UWIN && va - DOMAIN_UWIN < DOMAIN_WIN_SIZE)
        return 1;
    return -1;
}

static inline uintptr_t prot_region_va(unsigned int rs, int half)
{
    return prot_win_base(half) + (uintptr_t)rs * DOMAIN_SLOT_SPAN;
}

static inline uintptr_t prot_grant_va(unsigned int g, int half)
{
    return prot_win_base(half) + DOMAIN_GRANT_OFF + (uintptr_t)g * DOMAIN_SLOT_SPAN;
}

/* 1 when domain slot @ds is a user domain (its memory in the user half), else 0. */
static inline int prot_dom_user(unsigned int ds)
{
    return mm_state.prot.dom[ds].kind == DOMAIN_USER;
}

/* The leaf PTE bits of a mapping for domain slot @ds (its key and half), writable when @rw.
 * Never executable; PTE_D clear, so the first write is visible (domain.scrub). */
static inline pte_t prot_pte_flags(unsigned int ds, bool rw)
{
    return PTE_P | PTE_NX | (rw ? PTE_RW : 0) | (prot_dom_user(ds) ? PTE_US : 0) |
           pte_mk_pkey(mm_state.prot.dom[ds].key);
}

/* keys.c */
/** A free key (1..15) of the user (@user) or supervisor pool, marked used; -1 when none is. */
int prot_key_alloc(bool user);
/** Return @key to its pool. Precondition: no PTE carries it any more and every CPU was flushed. */
void prot_key_free(bool user, unsigned int key);
/** The rights registers of domain slot @ds's view (memory_protection.h, "Switching"). */
void prot_view(unsigned int ds, uint32_t *pkrs, uint32_t *pkru);

/* domain.c */
/** Take / drop mm_state.prot.lock with interrupts saved. */
unsigned long prot_lock(void);
void prot_unlock(unsigned long irq);
/** The slot of live domain @id, or -1. */
int prot_dom_slot(int id);
/** Count a refusal and report it as MM_MISUSE_DOMAIN ("why (domain a, domain b)"); returns @err. */
int prot_misuse(int err, const char *func, uintptr_t addr, const char *why, int a, int b);
/** A page of @r written through the mapping at @va (PTE_D) is no longer scrubbed: call before
 * that mapping goes (domain.scrub would otherwise expect zero of a written page). */
void prot_harvest_dirty(struct prot_region *r, uintptr_t va);
/** Drop grant slot @g: mapping cleared and flushed on every CPU, dirty bits harvested; the page
 * tables it leaves empty are freed unless @keep_tables (a caller that has made sure of tables
 * in the same range for a mapping it writes next: migration into the grantee). */
void prot_grant_release(unsigned int g, bool keep_tables);
int prot_set_flag(int id, uintptr_t addr, unsigned int flag, bool on, const char *func);
void prot_audit_add(int src, int dst, uintptr_t from, uintptr_t to, unsigned int npages,
                    uint32_t bytes, enum domain_migrate_mode mode, uintptr_t site);

#endif
