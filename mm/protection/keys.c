/*
 * keys.c - the two protection-key pools (supervisor keys for PKS, user keys for PKU) and the
 * rights-register value of a domain's view (model: include/memory_protection.h, "Keys").
 *
 *   mm_state.prot.keys_used[0]  bit k: supervisor key k serves a live core/driver domain
 *   mm_state.prot.keys_used[1]  bit k: user key k serves a live user domain
 * Key 0 is never handed out (memory outside domains); bit 0 stays clear. A key comes back only
 * through prot_key_free, which domain destroy calls after the domain's last PTE was cleared and
 * flushed on every CPU. Caller holds mm_state.prot.lock.
 */
#include "prot_internal.h"

int prot_key_alloc(bool user)
{
    uint16_t *used = &mm_state.prot.keys_used[user ? 1 : 0];
    for (unsigned int k = 1; k < PKEY_NR; k++)
        if (!(*used & (1u << k))) {
            *used = (uint16_t)(*used | (1u << k));
            return (int)k;
        }
    return -1;
}

void prot_key_free(bool user, unsigned int key)
{
    uint16_t *used = &mm_state.prot.keys_used[user ? 1 : 0];
    *used = (uint16_t)(*used & ~(1u << key));
}

/* Every key denied but key 0 and @open (0: none beyond key 0). */
static uint32_t prot_pkr_open(unsigned int open)
{
    uint32_t v = PKR_ALL_DENIED & ~(PKR_AD(0) | PKR_WD(0));
    if (open)
        v &= ~(PKR_AD(open) | PKR_WD(open));
    return v;
}

void prot_view(unsigned int ds, uint32_t *pkrs, uint32_t *pkru)
{
    const struct prot_domain *d = &mm_state.prot.dom[ds];
    bool user = d->kind == DOMAIN_USER;
    *pkrs = prot_pkr_open(user ? 0 : d->key);
    *pkru = prot_pkr_open(user ? d->key : 0);
}
