/*
 * AArch64 exception vectors (VBAR_EL1 points here).
 *
 * The table has 16 slots of 128 bytes: {sync, IRQ, FIQ, SError} for each of
 * "from EL1 using SP_EL0", "from EL1 using SP_EL1", "from EL0 (AArch64)"
 * and "from EL0 (AArch32)". Each slot pushes a struct trap_frame (see
 * arch_types.h) onto the current stack and calls
 * trap_from_user(frame, slot number) for slots 8 and up (from EL0) or
 * trap_from_kernel(frame, slot number); then everything is restored and
 * eret returns to where the exception happened. From EL0 the current stack
 * is SP_EL1, which is the running thread's kernel stack top: we left it
 * there when we last returned to that thread's user code.
 */
#include "arch_types.h"

.macro vector slot
	.balign 128
	sub	sp, sp, #TF_SIZE
	stp	x0, x1, [sp, #0]
	mov	x1, #\slot
	b	exception_entry
.endm

	.text
	.balign 2048
	.globl vectors
vectors:
	vector 0
	vector 1
	vector 2
	vector 3
	vector 4
	vector 5
	vector 6
	vector 7
	vector 8
	vector 9
	vector 10
	vector 11
	vector 12
	vector 13
	vector 14
	vector 15

exception_entry:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	cmp	x1, #8                  /* slots 8 and up: from EL0 */
	b.lo	1f
	mrs	x2, sp_el0              /* the user's stack pointer */
	b	2f
1:	add	x2, sp, #TF_SIZE        /* sp as it was before the exception */
2:	stp	x30, x2, [sp, #240]
	mrs	x2, elr_el1
	mrs	x3, spsr_el1
	stp	x2, x3, [sp, #TF_ELR]
	mrs	x2, esr_el1
	mrs	x3, far_el1
	stp	x2, x3, [sp, #TF_ESR]

	mov	x0, sp
	mov	x29, #0                 /* a backtrace walks on from the saved x29 */
	cmp	x1, #8
	b.lo	3f
	bl	trap_from_user
	b	exception_return
3:	bl	trap_from_kernel

/* Return through the trap frame at sp. A new thread also starts here. */
	.globl exception_return
exception_return:
	ldp	x2, x3, [sp, #TF_ELR]   /* the handler may move elr on */
	msr	elr_el1, x2
	msr	spsr_el1, x3
	tst	x3, #0xf                /* returning to EL0? */
	b.ne	3f
	ldr	x2, [sp, #TF_SP]
	msr	sp_el0, x2
3:	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	add	sp, sp, #TF_SIZE
	.globl trap_return_insn
trap_return_insn:
	eret
