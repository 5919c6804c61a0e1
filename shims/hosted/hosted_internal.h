/*
 * hosted_internal.h - shared between the files of shims/hosted (not for drivers).
 */
#ifndef LEAXOS_HOSTED_INTERNAL_H
#define LEAXOS_HOSTED_INTERNAL_H

#include "machine.h"
#include "mm_env.h"
#include "machine_mmu.h"

/* HOSTED_ASAN: this build has AddressSanitizer (gcc defines __SANITIZE_ADDRESS__, clang answers
 * __has_feature); the files that tell ASan about the arena's shadow test it. */
#if defined(__SANITIZE_ADDRESS__)
#define HOSTED_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOSTED_ASAN 1
/*
 * The protection-key rights registers of each simulated CPU (tlb.c, reset with the TLBs at boot:
 * 0 = every key open, as after a reset): PKRS for supervisor pages, PKRU for user pages.
 */
void hosted_pkey_rights(unsigned int cpu, uint32_t *pkrs, uint32_t *pkru);

#endif
/*
 * The protection-key rights registers of each simulated CPU (tlb.c, reset with the TLBs at boot:
 * 0 = every key open, as after a reset): PKRS for supervisor pages, PKRU for user pages.
 */
void hosted_pkey_rights(unsigned int cpu, uint32_t *pkrs, uint32_t *pkru);

#endif

#ifdef HOSTED_ASAN
#include <sanitizer/asan_interface.h>
/*
 * The protection-key rights registers of each simulated CPU (tlb.c, reset with the TLBs at boot:
 * 0 = every key open, as after a reset): PKRS for supervisor pages, PKRU for user pages.
 */
void hosted_pkey_rights(unsigned int cpu, uint32_t *pkrs, uint32_t *pkru);

#endif

/** Bytes of the arena that the booted machine's memory map covers (its direct map). */
uint64_t hosted_arena_used(void);

/*
 * The arena's shadow (machine.c, ASan builds): env_unpoison notes the chunks it opens before
 * opening them; env_poison poisons through hosted_shadow_poison, which skips the arena chunks
 * nothing opened since the last boot (poisoned already) and poisons anything else as asked.
 */
void hosted_shadow_note_unpoison(const void *addr, size_t size);
void hosted_shadow_poison(const void *addr, size_t size);

/** Reset the env state (current CPU, logical clock) for a new machine. */
void hosted_env_reset(void);

/** Back to one thread on CPU 0 with interrupts on (cpu.c; part of hosted_env_reset). */
void hosted_cpu_reset(void);

/* ---- the TLB (tlb.c) as the MMU (mmu.c) and the machine (machine.c) use it ---- */

/* Rights bits of a TLB entry. */
#define HOSTED_TLB_V (1u << 0) /* valid */
#define HOSTED_TLB_W (1u << 1) /* writable at every level */
#define HOSTED_TLB_U (1u << 2) /* user at every level */
#define HOSTED_TLB_X (1u << 3) /* NX clear at every level */
#define HOSTED_TLB_D (1u << 4) /* the leaf's PTE_D was set by the filling walk */
#define HOSTED_TLB_PKEY_SHIFT 8 /* bits 8..11: the leaf's protection key (arch_pgtable.h) */
#define HOSTED_TLB_PKEY(r) (((r) >> HOSTED_TLB_PKEY_SHIFT) & 0xfu)

/** Empty the TLBs of @nr_cpus CPUs, size (0: default) and policy; zero the TLB statistics. */
void hosted_tlb_configure(unsigned int nr_cpus, unsigned int entries,
                          enum machine_tlb_policy policy);

/**
 * @cpu's entry for (@root, @va) when it serves @access without a walk: returns 1 with its frame,
 * rights and audit mark. An entry that does not serve the access is dropped (the access walks
 * again, as x86 refaults); returns 0.
 */
int hosted_tlb_lookup(unsigned int cpu, phys_addr_t root, uintptr_t va, unsigned int access,
                      phys_addr_t *pa, unsigned int *rights, uint32_t *stale_seq);

/** Cache (@root, @va) -> @pa with HOSTED_TLB_* @rights on @cpu (replacing per policy). */
void hosted_tlb_fill(unsigned int cpu, phys_addr_t root, uintptr_t va, phys_addr_t pa,
                     unsigned int rights);

/**
 * The oracle: do the tables at @root still grant what @cpu's entry (@pa, @rights) grants? True if
 * so. Otherwise reports the stale entry (env_panic, or the test's report hook, after which the
 * entry is dropped) and returns false.
 */
bool hosted_tlb_verify(unsigned int cpu, phys_addr_t root, uintptr_t va, phys_addr_t pa,
                       unsigned int rights, uint32_t stale_seq);

/**
 * Walk without side effects: 0 and the combined rights (RW/US of every level in *@rights, with
 * the leaf's protection key in its PTE_PKEY_MASK bits; NX of any in *@nx) and frame of @va, or -MM_EFAULT when a level is missing, malformed or (under ASan)
 * a table page is free (mmu.c).
 */
int hosted_mmu_peek(phys_addr_t root, uintptr_t va, pte_t *rights, bool *nx, phys_addr_t *pa);

/*
 * The protection-key rights registers of each simulated CPU (tlb.c, reset with the TLBs at boot:
 * 0 = every key open, as after a reset): PKRS for supervisor pages, PKRU for user pages.
 */
void hosted_pkey_rights(unsigned int cpu, uint32_t *pkrs, uint32_t *pkru);

#endif
