/*
 * RISC-V context switch and floating-point save/restore.
 *
 * arch_context_switch(from, to) is where one thread stops and another
 * continues: it saves the callee-saved registers (ra, sp, s0-s11) of the
 * caller into *from and loads those of *to. The caller-saved registers
 * need no saving: the C caller already assumes a call clobbers them. When
 * `ret` executes, ra and sp are the other thread's, so we return into
 * wherever *that* thread called arch_context_switch from.
 */
#define CTX_RA 0
#define CTX_SP 8
#define CTX_S(n) (16 + 8 * (n))

	.text
	.globl arch_context_switch
arch_context_switch:
	/* LAB(switch) BEGIN */
	sd	ra, CTX_RA(a0)          /* save the current thread ... */
	sd	sp, CTX_SP(a0)
	sd	s0, CTX_S(0)(a0)
	sd	s1, CTX_S(1)(a0)
	sd	s2, CTX_S(2)(a0)
	sd	s3, CTX_S(3)(a0)
	sd	s4, CTX_S(4)(a0)
	sd	s5, CTX_S(5)(a0)
	sd	s6, CTX_S(6)(a0)
	sd	s7, CTX_S(7)(a0)
	sd	s8, CTX_S(8)(a0)
	sd	s9, CTX_S(9)(a0)
	sd	s10, CTX_S(10)(a0)
	sd	s11, CTX_S(11)(a0)
	ld	ra, CTX_RA(a1)          /* ... and become the next one */
	ld	sp, CTX_SP(a1)
	ld	s0, CTX_S(0)(a1)
	ld	s1, CTX_S(1)(a1)
	ld	s2, CTX_S(2)(a1)
	ld	s3, CTX_S(3)(a1)
	ld	s4, CTX_S(4)(a1)
	ld	s5, CTX_S(5)(a1)
	ld	s6, CTX_S(6)(a1)
	ld	s7, CTX_S(7)(a1)
	ld	s8, CTX_S(8)(a1)
	ld	s9, CTX_S(9)(a1)
	ld	s10, CTX_S(10)(a1)
	ld	s11, CTX_S(11)(a1)
	ret
	/* LAB(switch) STUB */
#if 0
	/* Step 1 of labs/switch/README.md: save the callee-saved registers
	 * into *a0, load those of *a1, return. Until then, stop with a
	 * clear message: without a switch, no thread can ever run. */
	lla	a0, not_written         /* panic(not_written): never returns */
	call	panic
	.pushsection .rodata
not_written:
	.asciz	"arch_context_switch is not written yet: see labs/switch/README.md"
	.popsection
#endif
	/* LAB(switch) END */

/* A new thread's first switch lands here (arch_context_init_user sets ra
 * to it and sp to its trap frame): finish the switch in C, then "return"
 * to user mode through the frame. */
	.globl thread_trampoline
thread_trampoline:
	call	thread_start
	j	trap_return

/* fp_save(struct arch_thread *) / fp_restore(...): f0-f31 then fcsr. The
 * kernel is built without floating point, so these are the only kernel
 * instructions that touch it; sstatus.FS must not be Off around them. */
	.option push
	.option arch, +d
.macro fp_regs op
	\op	f0, 0(a0)
	\op	f1, 8(a0)
	\op	f2, 16(a0)
	\op	f3, 24(a0)
	\op	f4, 32(a0)
	\op	f5, 40(a0)
	\op	f6, 48(a0)
	\op	f7, 56(a0)
	\op	f8, 64(a0)
	\op	f9, 72(a0)
	\op	f10, 80(a0)
	\op	f11, 88(a0)
	\op	f12, 96(a0)
	\op	f13, 104(a0)
	\op	f14, 112(a0)
	\op	f15, 120(a0)
	\op	f16, 128(a0)
	\op	f17, 136(a0)
	\op	f18, 144(a0)
	\op	f19, 152(a0)
	\op	f20, 160(a0)
	\op	f21, 168(a0)
	\op	f22, 176(a0)
	\op	f23, 184(a0)
	\op	f24, 192(a0)
	\op	f25, 200(a0)
	\op	f26, 208(a0)
	\op	f27, 216(a0)
	\op	f28, 224(a0)
	\op	f29, 232(a0)
	\op	f30, 240(a0)
	\op	f31, 248(a0)
.endm

	.globl fp_save
fp_save:
	fp_regs fsd
	frcsr	t0
	sd	t0, 256(a0)
	ret

	.globl fp_restore
fp_restore:
	fp_regs fld
	ld	t0, 256(a0)
	fscsr	t0
	ret
	.option pop
