/*
 * tlb.c - the per-CPU TLBs of the hosted machine and the stale-translation oracle (contract:
 * include/machine_mmu.h, "The TLB").
 *
 *   tlb[cpu] (cpu < machine's nr_cpus):
 *     lock                      shim-private test-and-set lock (a CPU's lookups and fills, and
 *                               every CPU's flushes, of this TLB)
 *     e[0 .. entries)           { root (CR3 tag), vpn, pa, rights W/U/X/D, stale_seq }, valid
 *                               when rights has TLB_V
 *     next                      FIFO cursor (policy MACHINE_TLB_FIFO)
 *     nr_valid                  valid entries (a flush or an audit skips an empty TLB); written
 *                               under lock, read without it: a fill that could race with the skip
 *                               runs under vm.lock, which a flush of a user range holds too
 *
 * What is cached: a successful walk of the software MMU (mmu.c) caches (root, va page) -> pa and
 * the combined rights of the four levels on the accessing CPU. Entries are tagged with the root
 * (as PCIDs would), so switching between address spaces drops nothing; a later access on that
 * CPU that the entry grants is served from it, one it does not grant drops it and walks again
 * (x86 invalidates the faulting translation on a #PF, so widening rights without a flush refaults
 * once and is no bug). A write through an entry not yet dirty walks again to set PTE_D.
 *
 * Flush (env_tlb_flush_range): the mm's contract (mm_env.h) names a range and no address space,
 * and is called for user ranges (munmap, mprotect, fork, swap-out, second chance, COW break) and
 * kernel ranges (vunmap) alike; before it returns no CPU may use a translation of the range cached
 * before the call. So a flush drops every entry of [start, end) in every address space: the
 * calling CPU's at once, every other CPU's by a shootdown. The model performs the shootdown
 * synchronously under the remote TLB's lock instead of sending an env_cpu_call (the callers hold
 * vm.lock, and a real IPI would only add the deadlock rules of cpu.c); it counts one IPI per
 * remote CPU whose TLB holds any entry (a CPU that may cache the address space: the contract does
 * not say which one), so the numbers are those a kernel with lazy mm_cpumask tracking would send.
 *
 * The oracle: when an access is served from an entry, the current tables are walked again
 * (without touching A/D); if they no longer grant what the entry grants - a level not present,
 * another frame, write, user or execute dropped - the entry is stale: a missing flush in the mm.
 * It is reported as "stale TLB entry on CPU n for va V after OP" through env_panic (the crash the
 * fuzzers and the replay see), or through a report hook a test installs (then the entry is
 * dropped and the access walks again). OP is found by the audit a driver runs after each of its
 * ops (machine_tlb_op_done): the first op after which the tables no longer granted the entry; a
 * run without audits says "an unflushed change".
 *
 * Locking: a TLB's entries are read and written under its lock; the walks of the oracle run
 * outside it, under the caller's vm.lock (machine_user_copy), which is also held by every path of
 * the mm that changes user PTEs and flushes, so the comparison cannot race with a legal change.
 * Statistics are relaxed atomics. Configuration, the namer and the report hook are written only
 * while no CPU thread runs (boot, test setup).
 */
#include <stdio.h>
#include <string.h>

#include "hosted_internal.h"
#include "machine_mmu.h"

#define TLB_V HOSTED_TLB_V
#define TLB_W HOSTED_TLB_W
#define TLB_U HOSTED_TLB_U
#define TLB_X HOSTED_TLB_X
#define TLB_D HOSTED_TLB_D

struct tlb_entry {
    phys_addr_t root;
    uint64_t vpn;
    phys_addr_t pa;
    uint32_t stale_seq;  /* audit number that first found it stale (0: none) */
    uint16_t rights;     /* HOSTED_TLB_* and the leaf's key (HOSTED_TLB_PKEY) */
};

struct hosted_tlb {
    unsigned int lock;
    unsigned int next;
    unsigned int nr_valid;
    struct tlb_entry e[MACHINE_TLB_MAX_ENTRIES];
} MM_CACHE_ALIGNED;

static struct hosted_tlb tlbs[MM_MAX_CPUS];
/* Each CPU's protection-key rights registers: [cpu][0] PKRS, [cpu][1] PKRU (written by that CPU
 * through env_pkey_set_rights, read by its MMU accesses; reset at boot). */
static uint32_t tlb_pkr[MM_MAX_CPUS][2];
static unsigned int tlb_nr_cpus = 1, tlb_entries = MACHINE_TLB_DEFAULT_ENTRIES;
static enum machine_tlb_policy tlb_policy;
static struct machine_tlb_stats tlb_stats;
static const char *(*tlb_namer)(void);
static machine_tlb_report_fn tlb_report_hook;

/* The ops an audit found entries stale after (a small ring: reports name one of the last few). */
#define TLB_STALE_RING 4
static struct {
    uint32_t seq;
    char text[160];
} tlb_stale_ops[TLB_STALE_RING];
static uint32_t tlb_audit_seq; /* audits since boot */

static inline void tlb_count(unsigned long *c, unsigned long n)
{
    __atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static void tlb_lock(struct hosted_tlb *t)
{
    while (__atomic_exchange_n(&t->lock, 1u, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&t->lock, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static void tlb_unlock(struct hosted_tlb *t) { __atomic_store_n(&t->lock, 0u, __ATOMIC_RELEASE); }

static struct hosted_tlb *tlb_of(unsigned int cpu) { return &tlbs[cpu < tlb_nr_cpus ? cpu : 0]; }

/* The slot of (root, vpn) in @t, or -1. Caller holds t->lock. */
static int tlb_find_locked(const struct hosted_tlb *t, phys_addr_t root, uint64_t vpn)
{
    if (tlb_policy == MACHINE_TLB_DIRECT) {
        unsigned int i = (unsigned int)(vpn % tlb_entries);
        const struct tlb_entry *e = &t->e[i];
        return (e->rights & TLB_V) && e->vpn == vpn && e->root == root ? (int)i : -1;
    }
    for (unsigned int i = 0; i < tlb_entries; i++) {
        const struct tlb_entry *e = &t->e[i];
        if ((e->rights & TLB_V) && e->vpn == vpn && e->root == root)
            return (int)i;
    }
    return -1;
}

/* nr_valid is written under t->lock, read also without it (a flush skipping an empty TLB). */
static void tlb_drop_locked(struct hosted_tlb *t, unsigned int i)
{
    t->e[i].rights = 0;
    __atomic_store_n(&t->nr_valid, t->nr_valid - 1, __ATOMIC_RELAXED);
}

/* Does an entry with @rights serve @access (MMU_* bits) without a walk? */
static bool tlb_serves(unsigned int rights, unsigned int access)
{
    if ((access & MMU_USER) && !(rights & TLB_U))
        return false;
    if ((access & MMU_WRITE) && (rights & (TLB_W | TLB_D)) != (TLB_W | TLB_D))
        return false;
    return !(access & MMU_EXEC) || (rights & TLB_X);
}

int hosted_tlb_lookup(unsigned int cpu, phys_addr_t root, uintptr_t va, unsigned int access,
                      phys_addr_t *pa, unsigned int *rights, uint32_t *stale_seq)
{
    struct hosted_tlb *t = tlb_of(cpu);
    uint64_t vpn = (uint64_t)va >> PAGE_SHIFT;
    int hit = 0;

    tlb_lock(t);
    int i = tlb_find_locked(t, root, vpn);
    if (i >= 0 && tlb_serves(t->e[i].rights, access)) {
        *pa = t->e[i].pa;
        *rights = t->e[i].rights;
        *stale_seq = t->e[i].stale_seq;
        hit = 1;
    } else if (i >= 0) {
        tlb_drop_locked(t, (unsigned int)i); /* the access refaults or re-walks: entry gone */
    }
    tlb_unlock(t);
    tlb_count(hit ? &tlb_stats.hits : &tlb_stats.misses, 1);
    return hit;
}

void hosted_tlb_fill(unsigned int cpu, phys_addr_t root, uintptr_t va, phys_addr_t pa,
                     unsigned int rights)
{
    struct hosted_tlb *t = tlb_of(cpu);
    uint64_t vpn = (uint64_t)va >> PAGE_SHIFT;

    tlb_lock(t);
    int i = tlb_find_locked(t, root, vpn);
    unsigned int slot;
    if (i >= 0) {
        slot = (unsigned int)i;
    } else {
        if (tlb_policy == MACHINE_TLB_DIRECT) {
            slot = (unsigned int)(vpn % tlb_entries);
        } else {
            slot = t->next;
            t->next = (t->next + 1) % tlb_entries;
        }
        if (t->e[slot].rights & TLB_V)
            tlb_count(&tlb_stats.evictions, 1);
        else
            __atomic_store_n(&t->nr_valid, t->nr_valid + 1, __ATOMIC_RELAXED);
    }
    t->e[slot] = (struct tlb_entry){ .root = root, .vpn = vpn, .pa = pa,
                                     .rights = (uint16_t)(rights | TLB_V) };
    tlb_unlock(t);
    tlb_count(&tlb_stats.fills, 1);
}

/* Drop @t's entries of pages [first, last]. Returns how many. */
static unsigned long tlb_invalidate(struct hosted_tlb *t, uint64_t first, uint64_t last)
{
    unsigned long n = 0;

    tlb_lock(t);
    for (unsigned int i = 0; i < tlb_entries && t->nr_valid; i++)
        if ((t->e[i].rights & TLB_V) && t->e[i].vpn >= first && t->e[i].vpn <= last) {
            tlb_drop_locked(t, i);
            n++;
        }
    tlb_unlock(t);
    return n;
}

void env_tlb_flush_range(uintptr_t start, uintptr_t end)
{
    unsigned int me = env_cpu_id();
    unsigned long dropped = 0, ipis = 0;

    tlb_count(&tlb_stats.flushes, 1);
    if (end <= start)
        return;
    uint64_t first = (uint64_t)start >> PAGE_SHIFT, last = ((uint64_t)end - 1) >> PAGE_SHIFT;
    for (unsigned int cpu = 0; cpu < tlb_nr_cpus; cpu++) {
        struct hosted_tlb *t = &tlbs[cpu];
        if (!__atomic_load_n(&t->nr_valid, __ATOMIC_RELAXED) && cpu != me)
            continue; /* caches nothing: no IPI */
        if (cpu != me)
            ipis++;
        dropped += tlb_invalidate(t, first, last);
    }
    tlb_count(&tlb_stats.shootdowns, ipis);
    tlb_count(&tlb_stats.invalidated, dropped);
}

unsigned long machine_tlb_flush_count(void)
{
    return __atomic_load_n(&tlb_stats.flushes, __ATOMIC_RELAXED);
}

/* ---- the oracle ---- */

/* The rights the tables at @root grant @va now, as TLB_* bits with the leaf's key (0: not
 * present), and its frame. */
static unsigned int tlb_rights_now(phys_addr_t root, uintptr_t va, phys_addr_t *pa)
{
    pte_t rights;
    bool nx;
    if (hosted_mmu_peek(root, va, &rights, &nx, pa))
        return 0;
    return TLB_V | ((rights & PTE_RW) ? TLB_W : 0) | ((rights & PTE_US) ? TLB_U : 0) |
           (nx ? 0 : TLB_X) | (pte_pkey(rights) << HOSTED_TLB_PKEY_SHIFT);
}

/* Do the current tables grant what an entry (@pa, @rights) grants, under the same key? A key
 * changed without a flush is stale too: the entry would check the old key's rights. */
static bool tlb_still_granted(phys_addr_t root, uintptr_t va, phys_addr_t pa, unsigned int rights)
{
    phys_addr_t now_pa = 0;
    unsigned int now = tlb_rights_now(root, va, &now_pa);
    unsigned int need = rights & (TLB_W | TLB_U | TLB_X);
    return (now & TLB_V) && now_pa == pa && (now & need) == need &&
           HOSTED_TLB_PKEY(now) == HOSTED_TLB_PKEY(rights);
}

static void tlb_describe(char *buf, size_t size, phys_addr_t pa, unsigned int rights)
{
    snprintf(buf, size, "pa %#llx %s%s%s key %u", (unsigned long long)pa,
             (rights & TLB_W) ? "rw" : "ro", (rights & TLB_U) ? ",user" : ",kernel",
             (rights & TLB_X) ? ",exec" : ",nx", HOSTED_TLB_PKEY(rights));
}

/* The op an audit blamed for @seq's staleness, or a generic phrase. */
static const char *tlb_stale_op(uint32_t seq)
{
    for (unsigned int i = 0; seq && i < TLB_STALE_RING; i++)
        if (tlb_stale_ops[i].seq == seq)
            return tlb_stale_ops[i].text;
    return "an unflushed change";
}

bool hosted_tlb_verify(unsigned int cpu, phys_addr_t root, uintptr_t va, phys_addr_t pa,
                       unsigned int rights, uint32_t stale_seq)
{
    if (tlb_still_granted(root, va, pa, rights))
        return true;
    char was[64], now[64], msg[400];
    phys_addr_t now_pa = 0;
    unsigned int nr = tlb_rights_now(root, va, &now_pa);
    tlb_describe(was, sizeof(was), pa, rights);
    if (nr)
        tlb_describe(now, sizeof(now), now_pa, nr);
    else
        snprintf(now, sizeof(now), "not present");
    snprintf(msg, sizeof(msg),
             "stale TLB entry on CPU %u for va %#lx after %s: cached %s, page tables %s "
             "(root %#llx; access during %s)",
             cpu, (unsigned long)(va & ~(uintptr_t)(PAGE_SIZE - 1)), tlb_stale_op(stale_seq), was,
             now, (unsigned long long)root, tlb_namer ? tlb_namer() : "an unnamed op");
    tlb_count(&tlb_stats.stale, 1);
    if (!tlb_report_hook)
        env_panic("%s", msg);
    tlb_report_hook(msg);
    struct hosted_tlb *t = tlb_of(cpu);
    tlb_lock(t);
    int i = tlb_find_locked(t, root, (uint64_t)va >> PAGE_SHIFT);
    if (i >= 0)
        tlb_drop_locked(t, (unsigned int)i);
    tlb_unlock(t);
    return false;
}

/* Mark @t's entries that the tables no longer grant with @seq. Returns how many it marked. */
static unsigned int tlb_audit_cpu(struct hosted_tlb *t, uint32_t seq)
{
    unsigned int n = 0;

    tlb_lock(t);
    for (unsigned int i = 0; i < tlb_entries && t->nr_valid; i++) {
        struct tlb_entry *e = &t->e[i];
        if (!(e->rights & TLB_V) || e->stale_seq)
            continue;
        if (!tlb_still_granted(e->root, (uintptr_t)(e->vpn << PAGE_SHIFT), e->pa, e->rights)) {
            e->stale_seq = seq;
            n++;
        }
    }
    tlb_unlock(t);
    return n;
}

void machine_tlb_op_done(void)
{
    uint32_t seq = ++tlb_audit_seq;
    unsigned int marked = 0;

    for (unsigned int cpu = 0; cpu < tlb_nr_cpus; cpu++)
        if (__atomic_load_n(&tlbs[cpu].nr_valid, __ATOMIC_RELAXED))
            marked += tlb_audit_cpu(&tlbs[cpu], seq);
    if (!marked)
        return;
    unsigned int slot = seq % TLB_STALE_RING;
    tlb_stale_ops[slot].seq = seq;
    snprintf(tlb_stale_ops[slot].text, sizeof(tlb_stale_ops[slot].text), "%s",
             tlb_namer ? tlb_namer() : "an unnamed op");
}

/* ---- configuration, statistics, test hooks ---- */

void hosted_tlb_configure(unsigned int nr_cpus, unsigned int entries,
                          enum machine_tlb_policy policy)
{
    unsigned int old = tlb_nr_cpus;
    tlb_nr_cpus = nr_cpus ? MM_MIN(nr_cpus, (unsigned int)MM_MAX_CPUS) : 1;
    tlb_entries = entries ? MM_MIN(entries, (unsigned int)MACHINE_TLB_MAX_ENTRIES)
                          : MACHINE_TLB_DEFAULT_ENTRIES;
    tlb_policy = policy == MACHINE_TLB_DIRECT ? MACHINE_TLB_DIRECT : MACHINE_TLB_FIFO;
    memset(tlbs, 0, sizeof(tlbs[0]) * MM_MAX(old, tlb_nr_cpus));
    memset(tlb_pkr, 0, sizeof(tlb_pkr)); /* every key open, as after a reset */
    memset(tlb_stale_ops, 0, sizeof(tlb_stale_ops));
    tlb_audit_seq = 0;
    machine_tlb_reset_stats(); /* per boot, as machine_tlb_flush_count always was */
}

unsigned int machine_tlb_cached(unsigned int cpu)
{
    struct hosted_tlb *t = tlb_of(cpu);
    tlb_lock(t);
    unsigned int n = t->nr_valid;
    tlb_unlock(t);
    return n;
}

bool machine_tlb_holds(unsigned int cpu, phys_addr_t root, uintptr_t va)
{
    struct hosted_tlb *t = tlb_of(cpu);
    tlb_lock(t);
    bool held = tlb_find_locked(t, root & PTE_ADDR_MASK, (uint64_t)va >> PAGE_SHIFT) >= 0;
    tlb_unlock(t);
    return held;
}

void machine_tlb_set_op_namer(const char *(*namer)(void)) { tlb_namer = namer; }

void machine_tlb_set_report_hook(machine_tlb_report_fn hook) { tlb_report_hook = hook; }

void machine_tlb_get_stats(struct machine_tlb_stats *st)
{
    st->hits = __atomic_load_n(&tlb_stats.hits, __ATOMIC_RELAXED);
    st->misses = __atomic_load_n(&tlb_stats.misses, __ATOMIC_RELAXED);
    st->fills = __atomic_load_n(&tlb_stats.fills, __ATOMIC_RELAXED);
    st->evictions = __atomic_load_n(&tlb_stats.evictions, __ATOMIC_RELAXED);
    st->flushes = __atomic_load_n(&tlb_stats.flushes, __ATOMIC_RELAXED);
    st->invalidated = __atomic_load_n(&tlb_stats.invalidated, __ATOMIC_RELAXED);
    st->shootdowns = __atomic_load_n(&tlb_stats.shootdowns, __ATOMIC_RELAXED);
    st->stale = __atomic_load_n(&tlb_stats.stale, __ATOMIC_RELAXED);
}

void machine_tlb_reset_stats(void)
{
    unsigned long *c = (unsigned long *)&tlb_stats;
    for (size_t i = 0; i < sizeof(tlb_stats) / sizeof(*c); i++)
        __atomic_store_n(&c[i], 0ul, __ATOMIC_RELAXED);
}

/* ---- protection-key rights registers ---- */

void env_pkey_set_rights(uint32_t pkrs, uint32_t pkru)
{
    unsigned int cpu = env_cpu_id();
    __atomic_store_n(&tlb_pkr[cpu][0], pkrs, __ATOMIC_RELAXED);
    __atomic_store_n(&tlb_pkr[cpu][1], pkru, __ATOMIC_RELAXED);
}

void hosted_pkey_rights(unsigned int cpu, uint32_t *pkrs, uint32_t *pkru)
{
    cpu = cpu < MM_MAX_CPUS ? cpu : 0;
    *pkrs = __atomic_load_n(&tlb_pkr[cpu][0], __ATOMIC_RELAXED);
    *pkru = __atomic_load_n(&tlb_pkr[cpu][1], __ATOMIC_RELAXED);
}

void machine_pkey_rights(unsigned int cpu, uint32_t *pkrs, uint32_t *pkru)
{
    hosted_pkey_rights(cpu, pkrs, pkru);
}
