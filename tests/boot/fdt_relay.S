/*
 * A stand-in boot loader for the boot tests: it moves the devicetree to
 * the physical address FDT_DEST and enters the kernel with it there, the
 * way firmware on a large board may leave it high in RAM.
 *
 * QEMU loads this file as the "kernel" and Weft's kernel.elf beside it
 * (-device loader). Built by scripts/test.py with:
 *   FDT_DEST      where the kernel will be told the devicetree is
 *   KERNEL_ENTRY  the kernel's physical entry point
 *   FDT_COPY      1: copy the devicetree there; 0: only pass the address
 *                 (a test of what the kernel does without a devicetree)
 * RISC-V: OpenSBI enters with a0 = hart id, a1 = the devicetree; the
 * kernel gets the same a0 and a1 = FDT_DEST.
 * AArch64: QEMU leaves the devicetree of an ELF image at the start of RAM
 * (FDT_SOURCE); the kernel gets x0 = FDT_DEST, as a loader following
 * Linux's arm64 boot protocol passes it.
 */
	.text
	.globl _start
_start:
#if defined(__riscv)
	li	t1, FDT_DEST
#if FDT_COPY
	/* totalsize: the big-endian word at offset 4 of the header */
	lbu	t2, 4(a1)
	lbu	t3, 5(a1)
	slli	t2, t2, 8
	or	t2, t2, t3
	lbu	t3, 6(a1)
	slli	t2, t2, 8
	or	t2, t2, t3
	lbu	t3, 7(a1)
	slli	t2, t2, 8
	or	t2, t2, t3
	add	t2, t2, a1              /* end of the source */
	mv	t5, a1
	mv	t4, t1
1:	bgeu	a1, t2, 2f
	lbu	t3, 0(a1)
	sb	t3, 0(t4)
	addi	a1, a1, 1
	addi	t4, t4, 1
	j	1b
2:	sw	zero, 0(t5)             /* not a devicetree at the old place */
#endif
	mv	a1, t1
	li	t0, KERNEL_ENTRY
	jr	t0
#elif defined(__aarch64__)
	ldr	x0, =FDT_DEST
#if FDT_COPY
	ldr	x1, =FDT_SOURCE
	ldr	w2, [x1, #4]            /* totalsize, big-endian */
	rev	w2, w2
	add	x2, x2, x1              /* end of the source */
	mov	x3, x0
1:	cmp	x1, x2
	b.hs	2f
	ldrb	w4, [x1], #1
	strb	w4, [x3], #1
	b	1b
2:	ldr	x1, =FDT_SOURCE
	str	wzr, [x1]               /* not a devicetree at the old place */
#endif
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	ldr	x9, =KERNEL_ENTRY
	br	x9
#endif
