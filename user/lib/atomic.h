/*
 * Atomic operations for libweft's locks and for programs: thin names over
 * the compiler's __atomic built-ins, which become a few instructions
 * each (RISC-V AMOs or lr/sc loops, AArch64 ldaxr/stlxr loops; the
 * AArch64 build inlines them with -mno-outline-atomics).
 *
 * Every operation here is sequentially consistent: all threads agree on
 * one order of all of them. That is stronger (and a little slower) than a
 * lock needs, but it lets the arguments in mutex.c and semaphore.c be
 * made one interleaving at a time. The macros work on int and long.
 */
#ifndef WEFT_ATOMIC_H
#define WEFT_ATOMIC_H

#include <stdbool.h>

/* The value at p, read in one piece. */
#define atomic_read(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)

/* Stores v at p in one piece. */
#define atomic_write(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

/* Stores v at p and returns what was there before. */
#define atomic_swap(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)

/* Adds n to the value at p and returns the new value. */
#define atomic_add(p, n) __atomic_add_fetch((p), (n), __ATOMIC_SEQ_CST)

/* If the int at p is `expected`, stores `desired` and returns true;
 * otherwise leaves it alone and returns false. */
static inline bool atomic_cas(int *p, int expected, int desired)
{
	return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

/* A hint inside a spin loop that this CPU is waiting (no effect on
 * correctness: it only lets a sibling hardware thread run). */
static inline void cpu_relax(void)
{
#if defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

#endif
