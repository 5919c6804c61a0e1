/*
 * arch_pgtable.h - the x86_64 4-level page-table format, as the mm needs it.
 *
 *   virtual address (48 bits):  | PML4 9 | PDPT 9 | PD 9 | PT 9 | offset 12 |
 *   level:                         3        2       1      0
 *
 * Every level holds 512 64-bit entries in one 4 KiB page; an entry is a physical address plus
 * flags. The hosted build uses this same format in software (its MMU walks these tables), so the
 * page-table code under test is the code the kernel runs.
 *
 * Software bits (ignored by the hardware): 9 marks a copy-on-write private page, 10 marks a
 * non-present entry that holds a swap entry, 11 marks a mapping of the shared zero page; 58 (a
 * present entry only) marks a NUMA hinting entry: PTE_US taken away so that the next user access
 * faults, every other bit (RW, NX, A, D, COW) kept, so the fault restores the rights by setting
 * PTE_US back (mm/virtual/numa_balance.c; Linux's PROT_NONE hinting entries).
 * A swap entry keeps its type in bits 52..56 and its slot offset in bits 12..51.
 */
#ifndef LEAXOS_ARCH_X86_64_PGTABLE_H
#define LEAXOS_ARCH_X86_64_PGTABLE_H

#include <stdint.h>

typedef uint64_t pte_t;

#define PT_LEVELS          4
#define PT_ENTRIES         512
#define PT_SHIFT(level)    (12 + 9 * (level))
#define PT_INDEX(va, lvl)  ((unsigned int)(((uint64_t)(va) >> PT_SHIFT(lvl)) & (PT_ENTRIES - 1)))
#define PT_LEVEL_SIZE(lvl) (1ull << PT_SHIFT(lvl)) /* bytes one entry of level lvl covers */

#define PTE_P          (1ull << 0)  /* present */
#define PTE_RW         (1ull << 1)  /* writable */
#define PTE_US         (1ull << 2)  /* user accessible */
#define PTE_PWT        (1ull << 3)
#define PTE_PCD        (1ull << 4)
#define PTE_A          (1ull << 5)  /* accessed (set by the MMU) */
#define PTE_D          (1ull << 6)  /* dirty (set by the MMU on write) */
#define PTE_PS         (1ull << 7)  /* large page (not used by the mm) */
#define PTE_G          (1ull << 8)  /* global */
#define PTE_SW_COW     (1ull << 9)  /* private page shared copy-on-write */
#define PTE_SW_SWAP    (1ull << 10) /* non-present entry holding a swap entry */
#define PTE_SW_ZERO    (1ull << 11) /* maps the shared zero page */
#define PTE_SW_NUMA    (1ull << 58) /* NUMA hinting entry: PTE_US cleared until the next access */
#define PTE_NX         (1ull << 63) /* no execute */

#define PTE_ADDR_MASK  0x000ffffffffff000ull
#define PTE_FLAGS_MASK (~PTE_ADDR_MASK)

#define PTE_SWP_TYPE_SHIFT 52
#define PTE_SWP_TYPE_MASK  0x1full
#define PTE_SWP_OFF_MASK   PTE_ADDR_MASK

static inline uint64_t pte_addr(pte_t e) { return e & PTE_ADDR_MASK; }
static inline int pte_present(pte_t e) { return (e & PTE_P) != 0; }
static inline int pte_is_swap(pte_t e) { return !(e & PTE_P) && (e & PTE_SW_SWAP); }

static inline pte_t pte_mk_swap(unsigned int type, uint64_t offset)
{
    return PTE_SW_SWAP | ((uint64_t)(type & PTE_SWP_TYPE_MASK) << PTE_SWP_TYPE_SHIFT) |
           ((offset << 12) & PTE_SWP_OFF_MASK);
}
static inline unsigned int pte_swp_type(pte_t e) { return (unsigned int)((e >> PTE_SWP_TYPE_SHIFT) & PTE_SWP_TYPE_MASK); }
static inline uint64_t pte_swp_offset(pte_t e) { return (e & PTE_SWP_OFF_MASK) >> 12; }

/* x86 #PF error code bits */
#define PF_ERR_P  (1u << 0) /* the entry was present (protection violation) */
#define PF_ERR_W  (1u << 1) /* write access */
#define PF_ERR_U  (1u << 2) /* user-mode access */
#define PF_ERR_I  (1u << 4) /* instruction fetch */

/* Virtual layout */
#define ARCH_USER_VA_START   0x0000000000010000ull /* lowest mappable user address */
#define ARCH_USER_VA_END     0x0000800000000000ull /* end of the canonical lower half */
#define ARCH_VMALLOC_START   0xffffc90000000000ull
#define ARCH_VMALLOC_END     0xffffe90000000000ull

/*
 * Protection keys (x86 PKU for user pages, PKS for supervisor pages): a leaf PTE carries a 4-bit
 * key in bits 59..62 (ignored at the upper levels); the rights register of the CPU (PKRU for
 * pages with PTE_US, the PKRS MSR 0x6E1 for supervisor pages) holds two bits per key: AD (access
 * disable, bit 2k) and WD (write disable, bit 2k+1). Data accesses only: fetches are not keyed.
 * A refusal sets PF_ERR_PK in the #PF error code. CPUID.(EAX=7,ECX=0):ECX bit 3 = PKU, bit 31 =
 * PKS; CR4.PKE (bit 22) and CR4.PKS (bit 24) turn them on.
 */
#define PTE_PKEY_SHIFT  59
#define PTE_PKEY_MASK   (0xfull << PTE_PKEY_SHIFT)
#define PKEY_NR         16u
#define PKR_AD(key)     (1u << (2 * (key)))     /* access disable */
#define PKR_WD(key)     (1u << (2 * (key) + 1)) /* write disable */
#define PKR_ALL_DENIED  0xffffffffu
#define PF_ERR_PK       (1u << 5)               /* protection-key violation */
#define MSR_IA32_PKRS   0x6E1u
#define CR4_PKE         (1ull << 22)
#define CR4_PKS         (1ull << 24)

static inline unsigned int pte_pkey(pte_t e) { return (unsigned int)((e & PTE_PKEY_MASK) >> PTE_PKEY_SHIFT); }
static inline pte_t pte_mk_pkey(unsigned int key) { return ((pte_t)(key & 0xfu)) << PTE_PKEY_SHIFT; }

#endif /* LEAXOS_ARCH_X86_64_PGTABLE_H */
