/*
 * Panic: report a kernel bug and stop the machine (kernel/panic.c).
 *
 * panic() may be called from anywhere, including the lock, console and
 * memory code it uses itself to report: those files and panic.c call each
 * other, and that circle is deliberate. A panic that happens while its
 * own report is being printed is not reported again (panic_in_progress).
 */
#ifndef WEFT_PANIC_H
#define WEFT_PANIC_H

#include "types.h"

/* Print "PANIC: cpu N: <message>" with a backtrace, stop every CPU, then
 * power off (kernel option panic=poweroff) or halt for a debugger. */
__noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* (panic_trap, the same for a port's unexpected kernel trap, is declared
 * in arch.h with the other functions a port calls.) */
/* Power off after the report: set by the kernel option panic=poweroff
 * (tests want QEMU to exit), and true until the options are read. */
extern bool panic_poweroff;
/* Set once a CPU panics; every other CPU stops at its next chance. */
extern volatile int panic_in_progress;

/* With the kernel option crash=useraccess, the first call reads user
 * address va directly, which must fault (kernel/main.c); else nothing. */
void crash_user_access(uintptr_t va);

/* 1 in a kernel built with SANITIZE=ubsan (the Makefile sets it), whose
 * checks for undefined behaviour report like a panic (kernel/ubsan.c). */
#ifndef KERNEL_UBSAN
#define KERNEL_UBSAN 0
#endif

#define assert(cond)                                                                      \
	do {                                                                              \
		if (!(cond))                                                              \
			panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
