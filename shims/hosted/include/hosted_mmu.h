/*
 * hosted_mmu.h - the software MMU of the simulated machine: the x86_64 4-level walk over the same
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
 */
#ifndef LEAXOS_HOSTED_MMU_H
#define LEAXOS_HOSTED_MMU_H

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
int hosted_mmu_translate(phys_addr_t root, uintptr_t va, unsigned int access, phys_addr_t *pa_out,
                         unsigned int *pf_error);

/**
 * Copy @len bytes between @buf and virtual memory at @va, page by page through the MMU: to @va
 * when @access has MMU_WRITE, else from @va into @buf (MMU_READ / MMU_EXEC). Stops at the first
 * fault. Returns the bytes copied; when that is short of @len, *@fault_va is the address that
 * faulted and *@pf_error its error code (both may be NULL; set to 0 when all was copied).
 */
size_t hosted_mmu_copy(phys_addr_t root, uintptr_t va, void *buf, size_t len, unsigned int access,
                       uintptr_t *fault_va, unsigned int *pf_error);

struct hosted_mmu_stats {
    unsigned long translations; /* hosted_mmu_translate calls (hosted_mmu_copy: one per page) */
    unsigned long faults;       /* of which faulted */
    unsigned long copies;       /* hosted_mmu_copy calls */
};

/** The counters since the last reset. */
void hosted_mmu_get_stats(struct hosted_mmu_stats *st);
/** Zero the counters (tests call it; a machine boot does not). */
void hosted_mmu_reset_stats(void);

#endif /* LEAXOS_HOSTED_MMU_H */
