/*
 * mmu.c - the hosted software MMU (contract: include/machine_mmu.h).
 *
 * One walk, as x86_64 hardware does it: read the four entries of @va top-down (each must be
 * present), AND their rights together (RW, US; OR of NX), then check the access against the
 * combined rights. Only an access that passes sets PTE_A on the four entries and PTE_D on the
 * leaf of a write, so a faulting access leaves the tables unchanged.
 *
 * Tables and pages are reached through env_phys_to_virt (the arena); an entry pointing beyond the
 * arena's direct map is refused as a reserved-bit fault rather than read.
 *
 * In front of the walk sits the accessing CPU's TLB (tlb.c): a hit that the entry grants is
 * served from it after the oracle re-walked the tables (hosted_tlb_verify); every successful walk
 * fills it. A hit sets no A/D bit, as on hardware (a write through a clean entry walks again).
 *
 * Protection keys (PKU/PKS, as with CR4.PKE and CR4.PKS set): the leaf's key (PTE bits 59..62) is
 * cached in the TLB entry; every data access, hit or walk, is checked against the accessing CPU's
 * PKRU (user pages) or PKRS (supervisor pages) and a refusal is a fault with PF_ERR_PK | PF_ERR_P
 * (mmu_pkey_denied). The registers start at 0 (all keys open), so a machine that never sets them
 * behaves as before.
 */
#include "hosted_internal.h"
#include "machine_mmu.h"

#define MMU_KERNEL_HALF 0xffff800000000000ull

static struct machine_mmu_stats mmu_stats;

static inline void mmu_count(unsigned long *c) { __atomic_add_fetch(c, 1, __ATOMIC_RELAXED); }

/* Error-code bits the access itself contributes. */
static unsigned int mmu_access_bits(unsigned int access)
{
    return ((access & MMU_WRITE) ? PF_ERR_W : 0) | ((access & MMU_USER) ? PF_ERR_U : 0) |
           ((access & MMU_EXEC) ? PF_ERR_I : 0);
}

static int mmu_fault(unsigned int code, unsigned int *pf_error)
{
    mmu_count(&mmu_stats.faults);
    if (pf_error)
        *pf_error = code;
    return -MM_EFAULT;
}

static inline bool mmu_canonical(uintptr_t va)
{
    return (uint64_t)va < ARCH_USER_VA_END || (uint64_t)va >= MMU_KERNEL_HALF;
}

/* A page the direct map covers (else the entry pointing at it is refused). */
static inline bool mmu_pa_ok(phys_addr_t pa)
{
    return pa < hosted_arena_used() && PAGE_SIZE <= hosted_arena_used() - pa;
}

/* The rights the combined entries grant lack something @access needs. */
static bool mmu_denied(pte_t rights, bool nx, unsigned int access)
{
    if ((access & MMU_USER) && !(rights & PTE_US))
        return true;
    if ((access & MMU_WRITE) && !(rights & PTE_RW))
        return true;
    return (access & MMU_EXEC) && nx;
}

/* Mark the walked entries as hardware does after a successful access. */
static void mmu_set_accessed(pte_t *ents[PT_LEVELS], unsigned int access)
{
    for (unsigned int level = 0; level < PT_LEVELS; level++) {
        pte_t bits = PTE_A | ((level == 0 && (access & MMU_WRITE)) ? PTE_D : 0);
        if ((__atomic_load_n(ents[level], __ATOMIC_RELAXED) & bits) != bits)
            __atomic_fetch_or(ents[level], bits, __ATOMIC_RELAXED);
    }
}

/*
 * The one walk: the four entries of @va under @root, their combined rights (*@rights: RW and US
 * of every level, *@nx: NX of any) and the frame (*@pa). Returns 0, or the fault's error-code bits
 * beyond the access's own (0x8000 for a plain not-present fault, so 0 means success). @ents (may
 * be NULL) gets the entries; with @peek, a table the sanitizer shadow marks as freed ends the
 * walk as not present instead of being read (the oracle may walk a stale entry's dead tables).
 */
#define MMU_WALK_NP 0x8000u
static unsigned int mmu_walk(phys_addr_t root, uintptr_t va, pte_t *ents[PT_LEVELS], bool peek,
                             pte_t *rights_out, bool *nx_out, phys_addr_t *pa_out)
{
    pte_t rights = PTE_RW | PTE_US | PTE_PKEY_MASK;
    bool nx = false;
    phys_addr_t pa = root & PTE_ADDR_MASK;

    if (!mmu_canonical(va) || !pa)
        return MMU_WALK_NP;
    for (int level = PT_LEVELS - 1; level >= 0; level--) {
        if (!mmu_pa_ok(pa))
            return PF_ERR_P | PF_ERR_RSVD;
        pte_t *ep = (pte_t *)env_phys_to_virt(pa) + PT_INDEX(va, level);
        if (peek && machine_shadow_poisoned(ep))
            return MMU_WALK_NP;
        if (ents)
            ents[level] = ep;
        pte_t e = __atomic_load_n(ep, __ATOMIC_RELAXED);
        if (!(e & PTE_P))
            return MMU_WALK_NP;
        if (level > 0 && (e & PTE_PS))
            return PF_ERR_P | PF_ERR_RSVD;
        rights &= e;
        nx = nx || (e & PTE_NX);
        pa = pte_addr(e);
        if (level == 0) /* the key is the leaf's; upper levels carry none */
            rights = (rights & ~PTE_PKEY_MASK) | (e & PTE_PKEY_MASK);
    }
    if (!mmu_pa_ok(pa))
        return PF_ERR_P | PF_ERR_RSVD;
    *rights_out = rights;
    *nx_out = nx;
    *pa_out = pa;
    return 0;
}

int hosted_mmu_peek(phys_addr_t root, uintptr_t va, pte_t *rights, bool *nx, phys_addr_t *pa)
{
    return mmu_walk(root, va, NULL, true, rights, nx, pa) ? -MM_EFAULT : 0;
}

/* TLB rights bits (tlb.c) of a successful walk, with the leaf's key. */
static unsigned int mmu_tlb_rights(pte_t rights, bool nx, unsigned int access)
{
    return ((rights & PTE_RW) ? HOSTED_TLB_W : 0) | ((rights & PTE_US) ? HOSTED_TLB_U : 0) |
           (nx ? 0 : HOSTED_TLB_X) | ((access & MMU_WRITE) ? HOSTED_TLB_D : 0) |
           (pte_pkey(rights) << HOSTED_TLB_PKEY_SHIFT);
}

/*
 * The protection-key check of a data access to a page with key @key, user page or not (@user_page),
 * against @cpu's rights registers: PKRU for user pages (user and supervisor accesses alike), PKRS
 * for supervisor pages (supervisor accesses only: a user access to a supervisor page already
 * failed the paging check). AD refuses every data access, WD writes (CR0.WP=1). Fetches are not
 * keyed. Returns PF_ERR_PK when refused, else 0. Checked on TLB hits too: the key is cached, the
 * rights are the register's at the time of the access (as hardware does).
 */
static unsigned int mmu_pkey_denied(unsigned int cpu, bool user_page, unsigned int key,
                                    unsigned int access)
{
    uint32_t pkrs, pkru;
    if (access & MMU_EXEC)
        return 0;
    if (!user_page && (access & MMU_USER))
        return 0;
    hosted_pkey_rights(cpu, &pkrs, &pkru);
    uint32_t pkr = user_page ? pkru : pkrs;
    if (pkr & PKR_AD(key))
        return PF_ERR_PK;
    return (access & MMU_WRITE) && (pkr & PKR_WD(key)) ? PF_ERR_PK : 0;
}

int machine_mmu_translate(phys_addr_t root, uintptr_t va, unsigned int access, phys_addr_t *pa_out,
                         unsigned int *pf_error)
{
    unsigned int code = mmu_access_bits(access), cpu = env_cpu_id();
    pte_t *ents[PT_LEVELS], rights = 0;
    bool nx = false;
    phys_addr_t pa = 0;
    unsigned int tr, pk;
    uint32_t stale;

    mmu_count(&mmu_stats.translations);
    if (!mmu_canonical(va) || !(root & PTE_ADDR_MASK))
        return mmu_fault(code, pf_error);
    root &= PTE_ADDR_MASK;
    /* served from this CPU's TLB when an entry grants the access, and the tables still do */
    if (hosted_tlb_lookup(cpu, root, va, access, &pa, &tr, &stale) &&
        hosted_tlb_verify(cpu, root, va, pa, tr, stale)) {
        pk = mmu_pkey_denied(cpu, (tr & HOSTED_TLB_U) != 0, HOSTED_TLB_PKEY(tr), access);
        if (pk)
            return mmu_fault(code | PF_ERR_P | pk, pf_error);
        if (pa_out)
            *pa_out = pa | ((uint64_t)va & (PAGE_SIZE - 1));
        return 0;
    }
    unsigned int w = mmu_walk(root, va, ents, false, &rights, &nx, &pa);
    if (w)
        return mmu_fault(w == MMU_WALK_NP ? code : code | w, pf_error);
    pk = mmu_pkey_denied(cpu, (rights & PTE_US) != 0, pte_pkey(rights), access);
    if (mmu_denied(rights, nx, access) || pk)
        return mmu_fault(code | PF_ERR_P | pk, pf_error);
    mmu_set_accessed(ents, access);
    hosted_tlb_fill(cpu, root, va, pa, mmu_tlb_rights(rights, nx, access));
    if (pa_out)
        *pa_out = pa | ((uint64_t)va & (PAGE_SIZE - 1));
    return 0;
}

size_t machine_mmu_copy(phys_addr_t root, uintptr_t va, void *buf, size_t len, unsigned int access,
                       uintptr_t *fault_va, unsigned int *pf_error)
{
    size_t done = 0;
    unsigned int code = 0;
    uintptr_t at = 0;

    mmu_count(&mmu_stats.copies);
    while (done < len) {
        uintptr_t cur = va + done;
        size_t chunk = MM_MIN(len - done, (size_t)(PAGE_SIZE - (cur & (PAGE_SIZE - 1))));
        phys_addr_t pa;
        if (cur < va || machine_mmu_translate(root, cur, access, &pa, &code) != 0) {
            if (cur < va) /* wrapped past the top of the address space */
                code = mmu_access_bits(access);
            at = cur;
            break;
        }
        char *p = env_phys_to_virt(pa);
        if (access & MMU_WRITE)
            memcpy(p, (const char *)buf + done, chunk);
        else
            memcpy((char *)buf + done, p, chunk);
        done += chunk;
    }
    if (fault_va)
        *fault_va = done < len ? at : 0;
    if (pf_error)
        *pf_error = done < len ? code : 0;
    return done;
}

void machine_mmu_get_stats(struct machine_mmu_stats *st)
{
    st->translations = __atomic_load_n(&mmu_stats.translations, __ATOMIC_RELAXED);
    st->faults = __atomic_load_n(&mmu_stats.faults, __ATOMIC_RELAXED);
    st->copies = __atomic_load_n(&mmu_stats.copies, __ATOMIC_RELAXED);
}

void machine_mmu_reset_stats(void)
{
    __atomic_store_n(&mmu_stats.translations, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&mmu_stats.faults, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&mmu_stats.copies, 0, __ATOMIC_RELAXED);
}
