/*
 * AArch64 thread state: new contexts, user trap frames, system call
 * registers, the FP/SIMD registers and TPIDR_EL0.
 *
 * FP/SIMD registers are loaded lazily. Most threads run long stretches
 * without them (the benchmarks' IPC and yield loops never touch them),
 * yet a thread's 32 registers of 128 bits would cost about 40
 * instructions to save and load on every switch. So a switch only saves
 * them if they are loaded (cpu->arch.fp_live) and then makes EL0's next
 * FP/SIMD instruction trap (CPACR_EL1.FPEN); that trap (arch_fp_trap)
 * loads the running thread's registers (zeros for a new thread) and lets
 * the instruction run again. The kernel never uses FP/SIMD, so the
 * registers stay live while their thread is in the kernel.
 */
#include "aarch64.h"
#include "arch.h"
#include "cpu.h"
#include "klib.h"

#define SPSR_EL0T 0 /* EL0, interrupts unmasked */

void thread_trampoline(void);
void fp_save(struct arch_thread *t);
void fp_restore(const struct arch_thread *t);

/* Save the loaded registers into t and make EL0's next use trap. */
static void fp_unload(struct arch_thread *t)
{
	fp_save(t);
	this_cpu()->arch.fp_live = false;
	sysreg_write(cpacr_el1, CPACR_FPEN_TRAP_EL0); /* eret synchronizes it */
}

void arch_fp_trap(void)
{
	sysreg_write(cpacr_el1, CPACR_FPEN_NO_TRAP);
	isb();
	fp_restore(&thread_current()->arch);
	this_cpu()->arch.fp_live = true;
}

void arch_thread_switch(struct arch_thread *prev, struct arch_thread *next)
{
	if (this_cpu()->arch.fp_live)
		fp_unload(prev);
	prev->tpidr_el0 = sysreg_read(tpidr_el0);
	sysreg_write(tpidr_el0, next->tpidr_el0);
}

void arch_thread_reset(struct arch_thread *t)
{
	if (t == &thread_current()->arch) { /* exec: clear the live registers */
		if (this_cpu()->arch.fp_live)
			fp_unload(t); /* the next use loads the zeros below */
		sysreg_write(tpidr_el0, 0);
	}
	memset(t, 0, sizeof(*t));
}

void arch_thread_copy(struct arch_thread *dst, const struct arch_thread *src)
{
	if (src == &thread_current()->arch) {
		if (this_cpu()->arch.fp_live)
			fp_save((struct arch_thread *)src);
		((struct arch_thread *)src)->tpidr_el0 = sysreg_read(tpidr_el0);
	}
	*dst = *src;
}

void arch_context_init_user(struct arch_context *ctx, struct trap_frame *tf)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->lr = (uintptr_t)thread_trampoline;
	ctx->sp = (uintptr_t)tf;
}

void arch_trap_frame_init_user(struct trap_frame *tf, uintptr_t pc, uintptr_t sp, uintptr_t arg0,
			       uintptr_t arg1)
{
	memset(tf, 0, sizeof(*tf));
	tf->elr = pc;
	tf->sp = sp;
	tf->x[0] = arg0;
	tf->x[1] = arg1;
	tf->spsr = SPSR_EL0T;
}

void arch_set_user_tls(struct trap_frame *tf, struct arch_thread *t, uintptr_t tls)
{
	(void)tf;
	t->tpidr_el0 = tls;
}
