/*
 * Machine-level probes for the tests: actions each architecture spells
 * with its own instructions (user/lib/<arch>/probe.S), so usertests itself
 * stays portable. The fault probes do not return: the kernel ends the
 * process with the named fault kind.
 */
#ifndef WEFT_PROBE_H
#define WEFT_PROBE_H

#include <stdint.h>

/* Room for every floating-point register: AArch64 has 32 of 128 bits. */
#define PROBE_FP_WORDS 64

/* An instruction the architecture defines as undefined: FAULT_ILLEGAL. */
void probe_illegal_instruction(void);

/* A read of a kernel-only register from user mode: FAULT_ILLEGAL. */
void probe_privileged_instruction(void);

/* The breakpoint instruction: FAULT_BREAKPOINT. */
void probe_breakpoint(void);

/* An atomic access at a misaligned address: FAULT_MISALIGNED. */
void probe_misaligned_atomic(void *addr);

/*
 * Loads every floating-point register from `in`, makes system call `nr`
 * with `arg` as its first argument, then stores every register to `out`.
 * Returns how many 64-bit words that is (at most PROBE_FP_WORDS).
 */
int probe_fp_syscall(long nr, long arg, const uint64_t *in, uint64_t *out);

#endif
