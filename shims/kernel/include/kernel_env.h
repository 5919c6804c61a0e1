/*
 * kernel_env.h - what the kernel side (boot code, self-tests) may set on the freestanding env.
 *
 * The tests and the corpus replay drive the env through the hosted platform API instead
 * (machine.h, machine_user.h), which shims/kernel implements on the real machine
 * (env_kernel.c, machine_kernel.c).
 */
#ifndef LEAXOS_KERNEL_ENV_H
#define LEAXOS_KERNEL_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Where console output goes (default: the COM1 serial port). */
typedef void (*kernel_console_write_t)(const char *s, size_t len);
void kernel_console_set(kernel_console_write_t write);

/**
 * Messages at or below @level are printed (default ENV_LOG_INFO; -1 silences everything). The
 * same setting as machine_set_log_level.
 */
void kernel_set_log_level(int level);
int kernel_get_log_level(void);

/** Copy the most recent log bytes (oldest first) into @buf; returns the number copied. */
size_t kernel_log_read(char *buf, size_t size);

/** The kernel's fault probe, behind machine_kernel_probe (set by kmain: kernel_probe lives above
 * this shim). Returns true and the faulting address in *@addr if fn(arg) faulted. */
typedef bool (*kernel_probe_fn_t)(void (*fn)(void *arg), void *arg, uintptr_t *addr);
void kernel_probe_set(kernel_probe_fn_t probe);

#endif
