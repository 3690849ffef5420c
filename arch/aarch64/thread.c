/*
 * AArch64 thread state: new contexts, user trap frames, system call
 * registers, the FP/SIMD registers and TPIDR_EL0.
 *
 * The kernel never uses FP/SIMD, so a user thread's registers stay live in
 * the CPU while it is in the kernel; a switch saves the outgoing thread's
 * and loads the incoming one's (zeros for a new thread).
 */
#include "aarch64.h"
#include "arch.h"
#include "cpu.h"
#include "klib.h"

#define SPSR_EL0T 0 /* EL0, interrupts unmasked */

void thread_trampoline(void);
void fp_save(struct arch_thread *t);
void fp_restore(const struct arch_thread *t);

void arch_thread_switch(struct arch_thread *prev, struct arch_thread *next)
{
	fp_save(prev);
	prev->tpidr_el0 = sysreg_read(tpidr_el0);
	fp_restore(next);
	sysreg_write(tpidr_el0, next->tpidr_el0);
}

void arch_thread_reset(struct arch_thread *t)
{
	memset(t, 0, sizeof(*t));
	if (t == &thread_current()->arch) { /* exec: clear the live registers */
		fp_restore(t);
		sysreg_write(tpidr_el0, 0);
	}
}

void arch_thread_copy(struct arch_thread *dst, const struct arch_thread *src)
{
	if (src == &thread_current()->arch) {
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
