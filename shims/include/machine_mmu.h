/*
 * machine_mmu.h - the software MMU of the simulated machine: the x86_64 4-level walk over the same
 * page tables the kernel would load into CR3 (format: arch_pgtable.h).
 *
 *   root (CR3) -> PML4[va 47:39] -> PDPT[38:30] -> PD[29:21] -> PT[20:12] -> page + va[11:0]
 *
 * As the hardware with CR0.WP=1 and EFER.NXE=1 (SMEP/SMAP off):
 *   - every level must be present, else a not-present fault (no PF_ERR_P);
 *   - a user access (MMU_USER) needs PTE_US at every level; a write needs PTE_RW at every level
 *     (supervisor writes too); an instruction fetch needs PTE_NX clear at every level; a violation
 *     is a protection fault (PF_ERR_P);
 *   - on success PTE_A is set on every level walked and PTE_D on the leaf of a write; a faulting
 *     access changes no entry.
 * Deviations, all reported as a reserved-bit fault (PF_ERR_RSVD|PF_ERR_P): PTE_PS above level 0
 * (the mm maps no large pages) and an entry pointing beyond the machine's memory (real hardware
 * would read bus garbage). A non-canonical address (a #GP on hardware) or a zero root is reported
 * as a not-present fault.
 *
 * Under ASan, reading a table or page the mm has not handed out is an ASan report: intended.
 * Thread safety: entries are read and A/D set with atomics; the counters are atomic.
 *
 * The TLB (shims/hosted/tlb.c; its head comment is the model). Each CPU caches successful walks,
 * (root, va page) -> frame and rights, MACHINE_TLB_DEFAULT_ENTRIES entries unless the machine says
 * otherwise (struct machine tlb_entries, tlb_policy). machine_mmu_translate serves an access
 * from the calling CPU's entry when the entry grants it (no A/D update, as hardware), else walks.
 * env_tlb_flush_range drops the range in every address space on every CPU (the mm's contract names
 * no address space): locally, and on each other CPU that caches anything by a shootdown (counted
 * as one IPI). The oracle: an access served from an entry the current tables no longer grant
 * (not present, another frame, write / user / exec dropped) is a missing flush, reported as
 * "stale TLB entry on CPU n for va V after OP" through env_panic or a test's report hook.
 */
#ifndef LEAXOS_MACHINE_MMU_H
#define LEAXOS_MACHINE_MMU_H

#include "arch_pgtable.h"
#include "mm_common.h"

/* Access kinds (combine): what the simulated CPU is doing at @va. */
#define MMU_READ   (1u << 0)
#define MMU_WRITE  (1u << 1)
#define MMU_EXEC   (1u << 2) /* instruction fetch */
#define MMU_USER   (1u << 3) /* CPL 3; without it the access is a supervisor access */

#ifndef PF_ERR_RSVD
#define PF_ERR_RSVD (1u << 3) /* a reserved bit was set in a paging-structure entry */
#endif

/**
 * Translate @va for @access through the tables at @root. Returns 0 and *@pa_out (may be NULL),
 * or -MM_EFAULT and *@pf_error (may be NULL) = the x86 #PF error code: PF_ERR_P for a protection
 * fault, PF_ERR_W for a write, PF_ERR_U for a user access, PF_ERR_I for a fetch, PF_ERR_RSVD (see
 * above). Sets accessed/dirty bits only when the access succeeds.
 */
int machine_mmu_translate(phys_addr_t root, uintptr_t va, unsigned int access, phys_addr_t *pa_out,
                         unsigned int *pf_error);

/**
 * Copy @len bytes between @buf and virtual memory at @va, page by page through the MMU: to @va
 * when @access has MMU_WRITE, else from @va into @buf (MMU_READ / MMU_EXEC). Stops at the first
 * fault. Returns the bytes copied; when that is short of @len, *@fault_va is the address that
 * faulted and *@pf_error its error code (both may be NULL; set to 0 when all was copied).
 */
size_t machine_mmu_copy(phys_addr_t root, uintptr_t va, void *buf, size_t len, unsigned int access,
                       uintptr_t *fault_va, unsigned int *pf_error);

struct machine_mmu_stats {
    unsigned long translations; /* machine_mmu_translate calls (machine_mmu_copy: one per page) */
    unsigned long faults;       /* of which faulted */
    unsigned long copies;       /* machine_mmu_copy calls */
};

/** The counters since the last reset. */
void machine_mmu_get_stats(struct machine_mmu_stats *st);
/** Zero the counters (tests call it; a machine boot does not). */
void machine_mmu_reset_stats(void);

/* ---- the TLB ---- */

#define MACHINE_TLB_MAX_ENTRIES     64
#define MACHINE_TLB_DEFAULT_ENTRIES 64

struct machine_tlb_stats {
    unsigned long hits;        /* translations served from an entry */
    unsigned long misses;      /* translations that walked (no entry, or one that did not serve) */
    unsigned long fills;       /* successful walks cached */
    unsigned long evictions;   /* valid entries replaced by a fill */
    unsigned long flushes;     /* env_tlb_flush_range calls */
    unsigned long invalidated; /* entries the flushes dropped, on every CPU */
    unsigned long shootdowns;  /* IPIs: a flush reaching another CPU whose TLB held entries */
    unsigned long stale;       /* stale entries the oracle reported */
};

/** The TLB counters since the machine booted or the last reset. */
void machine_tlb_get_stats(struct machine_tlb_stats *st);
/** Zero the TLB counters (a machine boot does too). */
void machine_tlb_reset_stats(void);

/** Valid entries in @cpu's TLB. */
unsigned int machine_tlb_cached(unsigned int cpu);
/** Does @cpu's TLB hold an entry for @va of the address space at @root? */
bool machine_tlb_holds(unsigned int cpu, phys_addr_t root, uintptr_t va);

/**
 * Name the op now running for stale-entry reports (the fuzz platform passes the engine's
 * cursor); NULL: unnamed. The returned text is copied when used.
 */
void machine_tlb_set_op_namer(const char *(*namer)(void));

/**
 * The end of a driver's op (the fuzz engine calls it after every op): every CPU's entries are
 * compared with the tables, and an entry they no longer grant remembers this op, so that the
 * report of a later access through it names the op that changed the translation without a flush.
 * Reports nothing itself (an unused stale entry is harmless).
 */
void machine_tlb_op_done(void);

/**
 * Report stale entries through @hook instead of env_panic (tests; NULL restores the panic). After
 * the hook returns the entry is dropped and the access walks the tables again.
 */
typedef void (*machine_tlb_report_fn)(const char *msg);
void machine_tlb_set_report_hook(machine_tlb_report_fn hook);

/**
 * @cpu's protection-key rights registers as the mm last set them (env_pkey_set_rights): PKRS for
 * supervisor pages, PKRU for user pages; 0 after boot (every key open). A data access whose leaf
 * key the register refuses faults with PF_ERR_PK (arch_pgtable.h) | PF_ERR_P.
 */
void machine_pkey_rights(unsigned int cpu, uint32_t *pkrs, uint32_t *pkru);

#endif /* LEAXOS_MACHINE_MMU_H */
