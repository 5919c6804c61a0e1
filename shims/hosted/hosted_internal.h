/*
 * hosted_internal.h - shared between the files of shims/hosted (not for drivers).
 */
#ifndef LEAXOS_HOSTED_INTERNAL_H
#define LEAXOS_HOSTED_INTERNAL_H

#include "hosted_machine.h"
#include "mm_env.h"

/** Bytes of the arena that the booted machine's memory map covers (its direct map). */
uint64_t hosted_arena_used(void);

/** Reset the env state (current CPU, logical clock) for a new machine. */
void hosted_env_reset(void);

/** Back to one thread on CPU 0 with interrupts on (cpu.c; part of hosted_env_reset). */
void hosted_cpu_reset(void);

#endif
