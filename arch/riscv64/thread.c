/*
 * RISC-V thread state: new contexts, user trap frames, system call
 * registers, and the floating-point registers.
 *
 * Floating point: the kernel never uses it, so a user thread's f-registers
 * stay live in the CPU while it is in the kernel. sstatus.FS tracks them:
 * the hardware sets it to Dirty when user code writes an f-register. On a
 * switch we save them only if Dirty, then load the next thread's (or zeros
 * for a thread that has none saved) and mark them Clean. Zeros already in
 * the registers are not loaded again: most threads never touch floating
 * point, and a switch between two of them then costs nothing here.
 */
#include "arch.h"
#include "cpu.h"
#include "klib.h"
#include "riscv.h"

void thread_trampoline(void);

static const struct arch_thread zero_fp;

/* Make the f-registers accessible to the kernel for a moment. */
static void fp_enable(void)
{
	csr_clear(sstatus, SSTATUS_FS);
	csr_set(sstatus, SSTATUS_FS_CLEAN);
}

static void fp_save_if_dirty(struct arch_thread *t)
{
	if ((csr_read(sstatus) & SSTATUS_FS) == SSTATUS_FS_DIRTY) {
		fp_save(t);
		t->fp_saved = true;
		this_cpu()->arch.fp_zero = false;
		fp_enable(); /* saved: Clean again */
	}
}

/* Load a thread's f-registers, or zeros. */
static void fp_load(const struct arch_thread *t)
{
	fp_enable();
	fp_restore(t->fp_saved ? t : &zero_fp);
	this_cpu()->arch.fp_zero = !t->fp_saved;
}

/* Two threads that never touched floating point: nothing to do. */
void arch_thread_switch(struct arch_thread *prev, struct arch_thread *next)
{
	fp_save_if_dirty(prev);
	if (next->fp_saved || !this_cpu()->arch.fp_zero)
		fp_load(next);
}

void arch_thread_reset(struct arch_thread *t)
{
	memset(t, 0, sizeof(*t));
	if (t == &thread_current()->arch) /* exec: clear the live registers */
		fp_load(t);
}

void arch_thread_copy(struct arch_thread *dst, const struct arch_thread *src)
{
	if (src == &thread_current()->arch)
		fp_save_if_dirty((struct arch_thread *)src);
	*dst = *src;
}

void arch_context_init_user(struct arch_context *ctx, struct trap_frame *tf)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->ra = (uintptr_t)thread_trampoline;
	ctx->sp = (uintptr_t)tf;
}

void arch_trap_frame_init_user(struct trap_frame *tf, uintptr_t pc, uintptr_t sp, uintptr_t arg0,
			       uintptr_t arg1)
{
	unsigned long sstatus = csr_read(sstatus);

	memset(tf, 0, sizeof(*tf));
	tf->sepc = pc;
	tf->sp = sp;
	tf->a0 = arg0;
	tf->a1 = arg1;
	/* User mode, interrupts on after sret, clean FP state; SUM stays 0
	 * (arch_cpu_init). */
	sstatus &= ~(SSTATUS_SPP | SSTATUS_SIE | SSTATUS_FS | SSTATUS_SUM);
	tf->sstatus = sstatus | SSTATUS_SPIE | SSTATUS_FS_INITIAL;
}

void arch_set_user_tls(struct trap_frame *tf, struct arch_thread *t, uintptr_t tls)
{
	(void)t;
	tf->tp = tls;
}
