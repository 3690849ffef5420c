/*
 * RISC-V trap dispatch, called from trap.S with interrupts masked: a trap
 * from user mode (trap_from_user) is a system call, an interrupt or a
 * fault of the process; in the kernel (trap_from_kernel) only interrupts
 * are expected, and any exception is a bug that panics with the full
 * report.
 */
#include "arch.h"
#include "cpu.h"
#include "fastpath.h"
#include "panic.h"
#include "printk.h"
#include "proc.h"
#include "riscv.h"
#include "syscall.h"

void trap_from_user(struct trap_frame *tf);
void trap_from_kernel(struct trap_frame *tf);

static const char *const exception_names[] = {
	[0] = "instruction address misaligned",
	[1] = "instruction access fault",
	[2] = "illegal instruction",
	[3] = "breakpoint",
	[4] = "load address misaligned",
	[5] = "load access fault",
	[6] = "store address misaligned",
	[7] = "store access fault",
	[8] = "environment call from U-mode",
	[9] = "environment call from S-mode",
	[12] = "instruction page fault",
	[13] = "load page fault",
	[15] = "store page fault",
};

static bool handle_interrupt(unsigned long cause)
{
	switch (cause & ~SCAUSE_INTERRUPT) {
	case IRQ_S_SOFT:
		csr_clear(sip, 1ul << IRQ_S_SOFT);
		ipi_handle();
		return true;
	case IRQ_S_TIMER:
		timer_tick();
		return true;
	case IRQ_S_EXT:
		plic_interrupt(this_cpu());
		return true;
	}
	return false;
}

/* What a user exception means for the process that caused it. */
static enum fault_kind user_fault_kind(unsigned long cause, uintptr_t addr)
{
	switch (cause) {
	case EXC_INSTRUCTION_PAGE_FAULT:
	case EXC_LOAD_PAGE_FAULT:
	case EXC_STORE_PAGE_FAULT:
	case EXC_INSTRUCTION_ACCESS:
	case EXC_LOAD_ACCESS:
	case EXC_STORE_ACCESS:
		return addr >= USER_VA_END ? FAULT_KERNEL_ADDR : FAULT_PAGE;
	case EXC_ILLEGAL_INSTRUCTION:
		return FAULT_ILLEGAL;
	case EXC_INSTRUCTION_MISALIGNED:
	case EXC_LOAD_MISALIGNED:
	case EXC_STORE_MISALIGNED:
		return FAULT_MISALIGNED;
	case EXC_BREAKPOINT:
		return FAULT_BREAKPOINT;
	default:
		return FAULT_OTHER;
	}
}

/* The system call comes first: it is by far the most frequent trap. */
void trap_from_user(struct trap_frame *tf)
{
	unsigned long cause = tf->scause;

	trap_user_enter();
	if (cause == EXC_ECALL_U) {
		tf->sepc += 4; /* return past the ecall */
		syscall_dispatch(tf);
	} else if (cause & SCAUSE_INTERRUPT) {
		if (!handle_interrupt(cause))
			panic_trap(tf, "unknown interrupt", cause);
	} else {
		proc_user_fault(user_fault_kind(cause, tf->stval), tf->stval, tf->sepc);
	}
	trap_user_exit();
}

void trap_from_kernel(struct trap_frame *tf)
{
	struct cpu *cpu = this_cpu();
	unsigned long cause = tf->scause;

	if (cause & SCAUSE_INTERRUPT) {
		if (!handle_interrupt(cause))
			panic_trap(tf, "unknown interrupt", cause);
		return;
	}
	if (cause == EXC_ILLEGAL_INSTRUCTION && cpu && cpu->arch.probing) {
		cpu->arch.probe_failed = true;
		tf->sepc += 4; /* skip the 32-bit csr instruction */
		return;
	}
	const char *name = cause < ARRAY_SIZE(exception_names) && exception_names[cause]
				   ? exception_names[cause]
				   : "unknown exception";
	panic_trap(tf, name, tf->stval);
}

uintptr_t arch_trap_frame_pc(const struct trap_frame *tf)
{
	return tf->sepc;
}

uintptr_t arch_trap_frame_fp(const struct trap_frame *tf)
{
	return tf->s0;
}

void arch_trap_frame_dump(const struct trap_frame *tf)
{
	static const char *const names[31] = {
		"ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "s0", "s1", "a0", "a1",
		"a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5", "s6",
		"s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
	};
	const uint64_t *r = &tf->ra;

	printk(" sepc %p sstatus %p scause %p stval %p\n", (void *)tf->sepc, (void *)tf->sstatus,
	       (void *)tf->scause, (void *)tf->stval);
	for (int i = 0; i < 31; i += 4) {
		for (int j = i; j < i + 4 && j < 31; j++)
			printk(" %3s %p", names[j], (void *)r[j]);
		printk("\n");
	}
}
