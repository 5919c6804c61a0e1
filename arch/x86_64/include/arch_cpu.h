/*
 * arch_cpu.h - x86_64 instructions the freestanding runtime needs: interrupt flag, port I/O, TLB
 * invalidation, pause and the time-stamp counter. Inline asm only; no state.
 */
#ifndef LEAXOS_ARCH_X86_64_CPU_H
#define LEAXOS_ARCH_X86_64_CPU_H

#include <stdbool.h>
#include <stdint.h>

#define X86_EFLAGS_IF 0x200ul

static inline unsigned long arch_irq_save(void)
{
    unsigned long flags;
    __asm__ __volatile__("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
    return flags;
}

static inline bool arch_irq_enabled(void)
{
    unsigned long flags;
    __asm__ __volatile__("pushfq; popq %0" : "=r"(flags) : : "memory");
    return (flags & X86_EFLAGS_IF) != 0;
}

static inline void arch_irq_restore(unsigned long flags)
{
    if (flags & X86_EFLAGS_IF)
        __asm__ __volatile__("sti" : : : "memory");
}

static inline void arch_cpu_relax(void) { __asm__ __volatile__("pause" : : : "memory"); }

static inline void arch_halt(void) { __asm__ __volatile__("cli; hlt" : : : "memory"); }

static inline void arch_invlpg(uintptr_t va)
{
    __asm__ __volatile__("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void arch_outb(uint16_t port, uint8_t v)
{
    __asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t arch_inb(uint16_t port)
{
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t arch_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#endif
