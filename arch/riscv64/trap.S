/*
 * RISC-V trap entry and exit (stvec points at trap_entry).
 *
 * sscratch tells where a trap came from: while a CPU runs user code it
 * holds that CPU's struct cpu pointer; while it runs the kernel it holds 0.
 * From user mode the entry swaps in the kernel's tp (the struct cpu
 * pointer), switches to the running thread's kernel stack (cpu->kstack)
 * and saves the user registers there; from the kernel it saves on the
 * current stack. Either way the frame is a struct trap_frame (arch_types.h:
 * x1..x31, then sepc, sstatus, scause, stval), and trap_from_user(frame)
 * or trap_from_kernel(frame) runs.
 */
#include "arch_types.h"

#include "cpu_asm.h"

#define SSTATUS_SPP 0x100

/* Save every register but sp and tp (the paths differ for those). */
.macro save_regs
	sd	x1, TF_REG(1)(sp)
	sd	x3, TF_REG(3)(sp)
	sd	x5, TF_REG(5)(sp)
	sd	x6, TF_REG(6)(sp)
	sd	x7, TF_REG(7)(sp)
	sd	x8, TF_REG(8)(sp)
	sd	x9, TF_REG(9)(sp)
	sd	x10, TF_REG(10)(sp)
	sd	x11, TF_REG(11)(sp)
	sd	x12, TF_REG(12)(sp)
	sd	x13, TF_REG(13)(sp)
	sd	x14, TF_REG(14)(sp)
	sd	x15, TF_REG(15)(sp)
	sd	x16, TF_REG(16)(sp)
	sd	x17, TF_REG(17)(sp)
	sd	x18, TF_REG(18)(sp)
	sd	x19, TF_REG(19)(sp)
	sd	x20, TF_REG(20)(sp)
	sd	x21, TF_REG(21)(sp)
	sd	x22, TF_REG(22)(sp)
	sd	x23, TF_REG(23)(sp)
	sd	x24, TF_REG(24)(sp)
	sd	x25, TF_REG(25)(sp)
	sd	x26, TF_REG(26)(sp)
	sd	x27, TF_REG(27)(sp)
	sd	x28, TF_REG(28)(sp)
	sd	x29, TF_REG(29)(sp)
	sd	x30, TF_REG(30)(sp)
	sd	x31, TF_REG(31)(sp)
	csrr	t0, sepc
	sd	t0, TF_SEPC(sp)
	csrr	t0, sstatus
	sd	t0, TF_SSTATUS(sp)
	csrr	t0, scause
	sd	t0, TF_SCAUSE(sp)
	csrr	t0, stval
	sd	t0, TF_STVAL(sp)
.endm

	.text
	.balign 4
	.globl trap_entry
trap_entry:
	csrrw	tp, sscratch, tp        /* tp = struct cpu * if from user, else 0 */
	beqz	tp, from_kernel

	/* From user mode: sscratch now holds the user's tp. */
	sd	sp, CPU_SCRATCH(tp)     /* park the user sp */
	ld	sp, CPU_KSTACK(tp)      /* this thread's kernel stack */
	addi	sp, sp, -TF_SIZE
	save_regs
	ld	t0, CPU_SCRATCH(tp)
	sd	t0, TF_REG(2)(sp)       /* user sp */
	csrr	t0, sscratch
	sd	t0, TF_REG(4)(sp)       /* user tp */
	csrw	sscratch, zero          /* in the kernel now */
	mv	a0, sp
	call	trap_from_user
	j	trap_return

from_kernel:
	csrrw	tp, sscratch, tp        /* undo the swap: tp back, sscratch 0 */
	addi	sp, sp, -TF_SIZE
	save_regs
	sd	tp, TF_REG(4)(sp)
	addi	t0, sp, TF_SIZE
	sd	t0, TF_REG(2)(sp)       /* sp before the trap */
	mv	a0, sp
	call	trap_from_kernel

/* Return through the trap frame at sp. A new thread also starts here. */
	.globl trap_return
trap_return:
	ld	t0, TF_SSTATUS(sp)
	csrw	sstatus, t0             /* SIE stays 0 until sret */
	andi	t0, t0, SSTATUS_SPP
	bnez	t0, 1f
	csrw	sscratch, tp            /* back to user: remember this CPU */
1:	ld	t0, TF_SEPC(sp)         /* the handler may have moved it */
	csrw	sepc, t0
	ld	x1, TF_REG(1)(sp)
	ld	x3, TF_REG(3)(sp)
	ld	x4, TF_REG(4)(sp)
	ld	x5, TF_REG(5)(sp)
	ld	x6, TF_REG(6)(sp)
	ld	x7, TF_REG(7)(sp)
	ld	x8, TF_REG(8)(sp)
	ld	x9, TF_REG(9)(sp)
	ld	x10, TF_REG(10)(sp)
	ld	x11, TF_REG(11)(sp)
	ld	x12, TF_REG(12)(sp)
	ld	x13, TF_REG(13)(sp)
	ld	x14, TF_REG(14)(sp)
	ld	x15, TF_REG(15)(sp)
	ld	x16, TF_REG(16)(sp)
	ld	x17, TF_REG(17)(sp)
	ld	x18, TF_REG(18)(sp)
	ld	x19, TF_REG(19)(sp)
	ld	x20, TF_REG(20)(sp)
	ld	x21, TF_REG(21)(sp)
	ld	x22, TF_REG(22)(sp)
	ld	x23, TF_REG(23)(sp)
	ld	x24, TF_REG(24)(sp)
	ld	x25, TF_REG(25)(sp)
	ld	x26, TF_REG(26)(sp)
	ld	x27, TF_REG(27)(sp)
	ld	x28, TF_REG(28)(sp)
	ld	x29, TF_REG(29)(sp)
	ld	x30, TF_REG(30)(sp)
	ld	x31, TF_REG(31)(sp)
	ld	sp, TF_REG(2)(sp)       /* last: the frame is gone now */
	.globl trap_return_insn
trap_return_insn:
	sret
