/*
 * Test probes, RISC-V (see user/lib/probe.h): instructions that must
 * fault in user mode, and a system call made with every f-register live.
 */
	.text

	.globl probe_illegal_instruction
probe_illegal_instruction:
	.word	0			/* all-zero bits: defined to be illegal */
	ret

	.globl probe_privileged_instruction
probe_privileged_instruction:
	csrr	t0, sstatus		/* supervisor CSR: illegal in U-mode */
	ret

	.globl probe_breakpoint
probe_breakpoint:
	ebreak
	ret

	.globl probe_misaligned_atomic
probe_misaligned_atomic:
	amoadd.w zero, zero, (a0)	/* AMOs require natural alignment */
	ret

/* probe_fp_syscall(nr, arg, in, out): a0 = nr, a1 = arg, a2 = in, a3 = out */
	.globl probe_fp_syscall
probe_fp_syscall:
	mv	a7, a0			/* system call number */
	mv	a0, a1			/* its argument */
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	fld	f\n, (\n * 8)(a2)
	.endr
	ecall				/* a2 and a3 survive: not result registers */
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	fsd	f\n, (\n * 8)(a3)
	.endr
	li	a0, 32
	ret
