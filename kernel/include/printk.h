/*
 * Kernel console output and panics.
 *
 * printk() and panic() serialize on their own console lock, not on the big
 * kernel lock, so a CPU can report a failure while another CPU holds the
 * BKL. Typed characters arrive through console_input().
 */
#ifndef WEFT_PRINTK_H
#define WEFT_PRINTK_H

#include "types.h"

struct trap_frame;

void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Called by the UART driver for each received byte (BKL held). */
void console_input(char c);

/* Print "PANIC: cpu N: <message>" with a backtrace, stop every CPU, then
 * power off (kernel option panic=poweroff) or halt for a debugger. */
__noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for an unexpected trap in kernel mode. */
__noreturn void panic_trap(const struct trap_frame *tf, const char *what, uintptr_t fault_addr);
/* Set by the kernel option panic=poweroff: tests want QEMU to exit. */
extern bool panic_poweroff;

#define assert(cond)                                                                      \
	do {                                                                              \
		if (!(cond))                                                              \
			panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
