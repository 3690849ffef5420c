/*
 * RISC-V trap dispatch: interrupts go to the portable handlers; any
 * exception in the kernel is a bug and panics with the full report.
 * Called from trap.S with interrupts masked.
 */
#include "arch.h"
#include "cpu.h"
#include "printk.h"
#include "riscv.h"

void trap_handler(struct trap_frame *tf);

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

void trap_handler(struct trap_frame *tf)
{
	struct cpu *cpu = this_cpu();
	unsigned long cause = tf->scause;

	if (cause & SCAUSE_INTERRUPT) {
		switch (cause & ~SCAUSE_INTERRUPT) {
		case IRQ_S_SOFT:
			csr_clear(sip, 1ul << IRQ_S_SOFT);
			ipi_handle();
			return;
		case IRQ_S_TIMER:
			timer_tick();
			return;
		case IRQ_S_EXT:
			plic_interrupt(cpu);
			return;
		}
		panic_trap(tf, "unknown interrupt", cause);
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
		"ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1",
		"a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6",
		"s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
	};
	const uint64_t *r = &tf->ra;

	printk(" sepc %p sstatus %p scause %p stval %p\n", (void *)tf->sepc,
	       (void *)tf->sstatus, (void *)tf->scause, (void *)tf->stval);
	for (int i = 0; i < 31; i += 4) {
		for (int j = i; j < i + 4 && j < 31; j++)
			printk(" %3s %p", names[j], (void *)r[j]);
		printk("\n");
	}
}
