/*
 * kernel_env.h - what the kernel side (boot code, self-tests) may set on the freestanding env.
 */
#ifndef LEAXOS_KERNEL_ENV_H
#define LEAXOS_KERNEL_ENV_H

#include <stddef.h>

/** Where console output goes (default: the COM1 serial port). */
typedef void (*kernel_console_write_t)(const char *s, size_t len);
void kernel_console_set(kernel_console_write_t write);

/** Messages at or below @level are printed (default ENV_LOG_INFO). */
void kernel_set_log_level(int level);

/** Copy the most recent log bytes (oldest first) into @buf; returns the number copied. */
size_t kernel_log_read(char *buf, size_t size);

#endif
