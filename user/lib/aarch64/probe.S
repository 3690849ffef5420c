/*
 * Test probes, AArch64 (see user/lib/probe.h): instructions that must
 * fault at EL0, and a system call made with every SIMD/FP register live.
 */
	.text

	.globl probe_illegal_instruction
probe_illegal_instruction:
	udf	#0			/* permanently undefined */
	ret

	.globl probe_privileged_instruction
probe_privileged_instruction:
	mrs	x0, sctlr_el1		/* EL1 register: undefined at EL0 */
	ret

	.globl probe_breakpoint
probe_breakpoint:
	brk	#0
	ret

	.globl probe_misaligned_atomic
probe_misaligned_atomic:
	ldxr	x1, [x0]		/* exclusives require natural alignment */
	ret

/* probe_fp_syscall(nr, arg, in, out): x0 = nr, x1 = arg, x2 = in, x3 = out */
	.globl probe_fp_syscall
probe_fp_syscall:
	mov	x8, x0			/* system call number */
	mov	x0, x1			/* its argument */
	mov	x9, x2
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	ldr	q\n, [x9], #16
	.endr
	svc	#0			/* x2 and x3 survive: not result registers */
	mov	x9, x3
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	str	q\n, [x9], #16
	.endr
	mov	x0, #64
	ret
