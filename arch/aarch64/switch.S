/*
 * AArch64 context switch and FP/SIMD save/restore.
 *
 * arch_context_switch(from, to) is where one thread stops and another
 * continues: it saves the callee-saved registers (x19-x28, the frame
 * pointer x29, the link register x30 and sp) into *from and loads those of
 * *to. The caller-saved registers need no saving: the C caller already
 * assumes a call clobbers them. When `ret` executes, x30 and sp are the
 * other thread's, so we return into wherever *that* thread called
 * arch_context_switch from.
 */
	.arch armv8-a+fp+simd

	.text
	.globl arch_context_switch
arch_context_switch:
	/* LAB(switch) BEGIN */
	stp	x19, x20, [x0, #0]      /* save the current thread ... */
	stp	x21, x22, [x0, #16]
	stp	x23, x24, [x0, #32]
	stp	x25, x26, [x0, #48]
	stp	x27, x28, [x0, #64]
	stp	x29, x30, [x0, #80]
	mov	x9, sp
	str	x9, [x0, #96]
	ldp	x19, x20, [x1, #0]      /* ... and become the next one */
	ldp	x21, x22, [x1, #16]
	ldp	x23, x24, [x1, #32]
	ldp	x25, x26, [x1, #48]
	ldp	x27, x28, [x1, #64]
	ldp	x29, x30, [x1, #80]
	ldr	x9, [x1, #96]
	mov	sp, x9
	ret
	/* LAB(switch) STUB */
#if 0
	/* Step 1 of labs/switch/README.md: save the callee-saved registers
	 * and sp into *x0, load those of *x1, return. Until then, stop with
	 * a clear message: without a switch, no thread can ever run. */
	adrp	x0, not_written         /* panic(not_written): never returns */
	add	x0, x0, :lo12:not_written
	bl	panic
	.pushsection .rodata
not_written:
	.asciz	"arch_context_switch is not written yet: see labs/switch/README.md"
	.popsection
#endif
	/* LAB(switch) END */

/* A new thread's first switch lands here (arch_context_init_user sets x30
 * to it and sp to its trap frame): finish the switch in C, then "return"
 * to user mode through the frame. */
	.globl thread_trampoline
thread_trampoline:
	bl	thread_start
	b	exception_return

/* fp_save(struct arch_thread *) / fp_restore(...): q0-q31, then FPCR and
 * FPSR. The kernel is built without FP/SIMD, so these are the only kernel
 * instructions that touch those registers. */
	.globl fp_save
fp_save:
	stp	q0, q1, [x0, #0]
	stp	q2, q3, [x0, #32]
	stp	q4, q5, [x0, #64]
	stp	q6, q7, [x0, #96]
	stp	q8, q9, [x0, #128]
	stp	q10, q11, [x0, #160]
	stp	q12, q13, [x0, #192]
	stp	q14, q15, [x0, #224]
	stp	q16, q17, [x0, #256]
	stp	q18, q19, [x0, #288]
	stp	q20, q21, [x0, #320]
	stp	q22, q23, [x0, #352]
	stp	q24, q25, [x0, #384]
	stp	q26, q27, [x0, #416]
	stp	q28, q29, [x0, #448]
	stp	q30, q31, [x0, #480]
	mrs	x9, fpcr
	mrs	x10, fpsr
	add	x0, x0, #512            /* past the reach of a stp offset */
	stp	x9, x10, [x0]
	ret

	.globl fp_restore
fp_restore:
	ldp	q0, q1, [x0, #0]
	ldp	q2, q3, [x0, #32]
	ldp	q4, q5, [x0, #64]
	ldp	q6, q7, [x0, #96]
	ldp	q8, q9, [x0, #128]
	ldp	q10, q11, [x0, #160]
	ldp	q12, q13, [x0, #192]
	ldp	q14, q15, [x0, #224]
	ldp	q16, q17, [x0, #256]
	ldp	q18, q19, [x0, #288]
	ldp	q20, q21, [x0, #320]
	ldp	q22, q23, [x0, #352]
	ldp	q24, q25, [x0, #384]
	ldp	q26, q27, [x0, #416]
	ldp	q28, q29, [x0, #448]
	ldp	q30, q31, [x0, #480]
	add	x0, x0, #512
	ldp	x9, x10, [x0]
	msr	fpcr, x9
	msr	fpsr, x10
	ret
