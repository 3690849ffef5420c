/*
 * RISC-V 64 (Sv39): constants and types the portable kernel needs.
 * See kernel/include/arch.h for the contract.
 */
#ifndef WEFT_RISCV64_ARCH_TYPES_H
#define WEFT_RISCV64_ARCH_TYPES_H

#define PAGE_SIZE 4096
/* Sv39's upper half starts at 0xffffffc000000000: RAM at 0x80000000 appears
 * at 0xffffffc080000000, and the kernel runs there. */
#define KERNEL_VA_OFFSET 0xffffffc000000000ull
/* The direct map covers physical 0..DIRECT_MAP_GIB GiB: RAM above it is
 * not used, and the kernel stacks' area starts where it ends. */
#define DIRECT_MAP_GIB 64
#define KSTACK_AREA (KERNEL_VA_OFFSET + DIRECT_MAP_GIB * GIB)
#define USER_VA_END 0x4000000000ull /* 256 GiB, the Sv39 lower half */
/* The frame record {caller's fp, return address} sits just below fp. */
#define FRAME_RECORD_OFFSET (-16)
#define ELF_MACHINE 243 /* EM_RISCV */
/* Harts a late arrival at the boot entry can be found for, by hart id
 * (hart_cpu in cpu.c, _start in entry.S). */
#define HART_CPU_SLOTS 64

/* The trap frame's layout, for trap.S (checked against the struct below). */
#define TF_SIZE 288             /* 16-aligned */
#define TF_REG(n) ((n - 1) * 8) /* offset of x<n>, n = 1..31 */
#define TF_SEPC (31 * 8)
#define TF_SSTATUS (32 * 8)
#define TF_SCAUSE (33 * 8)
#define TF_STVAL (34 * 8)

#ifndef __ASSEMBLER__
#include "types.h"

/* Everything a trap saves: x1..x31 then four CSRs (see trap.S). */
struct trap_frame {
	uint64_t ra, sp, gp, tp;
	uint64_t t0, t1, t2;
	uint64_t s0, s1;
	uint64_t a0, a1, a2, a3, a4, a5, a6, a7;
	uint64_t s2, s3, s4, s5, s6, s7, s8, s9, s10, s11;
	uint64_t t3, t4, t5, t6;
	uint64_t sepc, sstatus, scause, stval;
	uint64_t pad; /* keeps the stack 16-byte aligned */
};
_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "TF_SIZE");
_Static_assert(offsetof(struct trap_frame, ra) == TF_REG(1), "TF_REG");
_Static_assert(offsetof(struct trap_frame, t6) == TF_REG(31), "TF_REG");
_Static_assert(offsetof(struct trap_frame, sepc) == TF_SEPC, "TF_SEPC");
_Static_assert(offsetof(struct trap_frame, sstatus) == TF_SSTATUS, "TF_SSTATUS");
_Static_assert(offsetof(struct trap_frame, scause) == TF_SCAUSE, "TF_SCAUSE");
_Static_assert(offsetof(struct trap_frame, stval) == TF_STVAL, "TF_STVAL");

/* What arch_context_switch saves: the callee-saved registers. */
struct arch_context {
	uint64_t ra, sp;
	uint64_t s[12]; /* s0..s11 */
};

/* User state outside the trap frame: the floating-point registers, saved
 * only when the thread has changed them (sstatus.FS says "dirty"). */
struct arch_thread {
	uint64_t f[32];
	uint64_t fcsr;
	bool fp_saved; /* f[] and fcsr hold this thread's values */
};

struct cpu;

/* The calling CPU's struct cpu (see arch.h). Why the asm is volatile: a
 * thread can stop on one CPU and resume on another inside
 * arch_context_switch, so the compiler must read the register again
 * after every call instead of reusing an earlier read. */
static inline struct cpu *arch_cpu_self(void)
{
	struct cpu *cpu;

	asm volatile("mv %0, tp" : "=r"(cpu));
	return cpu;
}

/* The timer counter (see arch.h), inline: the lock statistics read it on
 * every kernel entry and exit. */
static inline uint64_t arch_timer_now(void)
{
	uint64_t t;

	asm volatile("rdtime %0" : "=r"(t));
	return t;
}

/* The address of this instruction (see arch.h). */
static inline uintptr_t arch_this_pc(void)
{
	uintptr_t pc;

	asm volatile("auipc %0, 0" : "=r"(pc));
	return pc;
}

/* System call number and arguments in a trap frame (see arch.h). */
static inline long arch_syscall_number(const struct trap_frame *tf)
{
	return (long)tf->a7;
}

static inline unsigned long arch_syscall_arg(const struct trap_frame *tf, int i)
{
	return (&tf->a0)[i];
}

/* The argument registers sit side by side in the frame, so a system call
 * reads its arguments where they are. */
static inline const unsigned long *arch_syscall_args(const struct trap_frame *tf)
{
	return (const unsigned long *)&tf->a0;
}

/* Result register i (0: the result; IPC returns a whole message). */
static inline void arch_syscall_set_reg(struct trap_frame *tf, int i, unsigned long value)
{
	(&tf->a0)[i] = value;
}

static inline void arch_syscall_set_result(struct trap_frame *tf, long result)
{
	tf->a0 = (uint64_t)result;
}

/* Per-CPU state only this port uses. */
struct arch_cpu {
	int plic_context; /* PLIC context of this hart's S-mode, or -1 */
	bool sstc;        /* stimecmp usable (else the SBI timer) */
	bool probing;     /* an illegal instruction now means "absent" */
	bool probe_failed;
	bool fp_zero; /* the f-registers hold zeros (thread.c) */
};
#endif

#endif
