/*
 * AArch64 (4 KiB granule, 39-bit virtual addresses): constants and types the
 * portable kernel needs. See kernel/include/arch.h for the contract.
 */
#ifndef WEFT_AARCH64_ARCH_TYPES_H
#define WEFT_AARCH64_ARCH_TYPES_H

#define PAGE_SIZE 4096
/* TTBR1 covers 0xffffff8000000000 and up: RAM at 0x40000000 appears at
 * 0xffffff8040000000, and the kernel runs there. */
#define KERNEL_VA_OFFSET 0xffffff8000000000ull
/* The direct map covers physical 0..DIRECT_MAP_GIB GiB: RAM above it is
 * not used, and the kernel stacks' area starts where it ends. */
#define DIRECT_MAP_GIB 64
#define KSTACK_AREA (KERNEL_VA_OFFSET + DIRECT_MAP_GIB * GIB)
#define USER_VA_END 0x8000000000ull /* 512 GiB, all of TTBR0 */
/* The frame record {caller's fp, return address} sits at fp (x29). */
#define FRAME_RECORD_OFFSET 0
#define ELF_MACHINE 183 /* EM_AARCH64 */

/* The trap frame's layout, for vectors.S (checked against the struct
 * below); x<n> is at n * 8. */
#define TF_SIZE 288 /* 16-aligned */
#define TF_SP (31 * 8)
#define TF_ELR (32 * 8)
#define TF_SPSR (33 * 8)
#define TF_ESR (34 * 8)
#define TF_FAR (35 * 8)

#ifndef __ASSEMBLER__
#include "types.h"

/* Everything an exception saves (see vectors.S). */
struct trap_frame {
	uint64_t x[31]; /* x0..x30; x29 is the frame pointer, x30 the link */
	uint64_t sp;
	uint64_t elr;  /* where the exception happened */
	uint64_t spsr; /* the interrupted PSTATE */
	uint64_t esr;  /* syndrome: why */
	uint64_t far;  /* faulting address, for aborts */
};
_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "TF_SIZE");
_Static_assert(offsetof(struct trap_frame, sp) == TF_SP, "TF_SP");
_Static_assert(offsetof(struct trap_frame, elr) == TF_ELR, "TF_ELR");
_Static_assert(offsetof(struct trap_frame, spsr) == TF_SPSR, "TF_SPSR");
_Static_assert(offsetof(struct trap_frame, esr) == TF_ESR, "TF_ESR");
_Static_assert(offsetof(struct trap_frame, far) == TF_FAR, "TF_FAR");

/* What arch_context_switch saves: the callee-saved registers. */
struct arch_context {
	uint64_t x19_x28[10];
	uint64_t fp, lr, sp; /* x29, x30, sp */
};

/* User state outside the trap frame: the FP/SIMD registers and the
 * thread-pointer register TPIDR_EL0, switched with the thread. */
struct arch_thread {
	uint64_t v[64]; /* q0..q31, 128 bits each */
	uint64_t fpcr, fpsr;
	uint64_t tpidr_el0;
};

struct cpu;

/* The calling CPU's struct cpu (see arch.h). Why the asm is volatile: a
 * thread can stop on one CPU and resume on another inside
 * arch_context_switch, so the compiler must read the register again
 * after every call instead of reusing an earlier read. */
static inline struct cpu *arch_cpu_self(void)
{
	struct cpu *cpu;

	asm volatile("mrs %0, tpidr_el1" : "=r"(cpu));
	return cpu;
}

/* The timer counter (see arch.h), inline: the lock statistics read it on
 * every kernel entry and exit. The isb keeps the read from running ahead
 * of earlier instructions. */
static inline uint64_t arch_timer_now(void)
{
	uint64_t t;

	asm volatile("isb; mrs %0, cntvct_el0" : "=r"(t)::"memory");
	return t;
}

/* The address of this instruction (see arch.h). */
static inline uintptr_t arch_this_pc(void)
{
	uintptr_t pc;

	asm volatile("adr %0, ." : "=r"(pc));
	return pc;
}

/* System call number and arguments in a trap frame (see arch.h). */
static inline long arch_syscall_number(const struct trap_frame *tf)
{
	return (long)tf->x[8];
}

static inline unsigned long arch_syscall_arg(const struct trap_frame *tf, int i)
{
	return (&tf->x[0])[i];
}

/* The argument registers sit side by side in the frame, so a system call
 * reads its arguments where they are. */
static inline const unsigned long *arch_syscall_args(const struct trap_frame *tf)
{
	return (const unsigned long *)&tf->x[0];
}

/* Result register i (0: the result; IPC returns a whole message). */
static inline void arch_syscall_set_reg(struct trap_frame *tf, int i, unsigned long value)
{
	(&tf->x[0])[i] = value;
}

static inline void arch_syscall_set_result(struct trap_frame *tf, long result)
{
	tf->x[0] = (uint64_t)result;
}

/* Per-CPU state only this port uses. */
struct arch_cpu {
	uint32_t gic_target; /* GICv2: this CPU's interface bit */
	uintptr_t gicr;      /* GICv3: this CPU's redistributor (virtual) */
	bool fp_live;        /* the current thread's FP/SIMD registers are loaded */
};
#endif

#endif
