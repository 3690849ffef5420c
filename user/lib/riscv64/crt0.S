/*
 * Process entry, RISC-V: the first user instruction of every program.
 *
 * exec leaves sp (16-byte aligned) pointing at argc, followed by the argv
 * pointers; a0/a1 carry the same values, but reading them from the stack
 * is what the layout guarantees. Before any C code runs, gp and tp must
 * hold their process-wide meanings: gp for small-data accesses, tp for
 * thread-local variables such as picolibc's errno.
 */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	/* gp: the linker may turn accesses near it into gp-relative ones,
	 * so it must not be computed with such an access itself. */
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop

	ld	s1, 0(sp)		/* argc */
	addi	s2, sp, 8		/* argv */

	/* The main thread's TLS block: copy the template, then point tp at
	 * it (RISC-V keeps no control block in front of it). */
	la	a0, __tls_main_block
	call	tls_init_block		/* returns the block in a0 */
	mv	tp, a0

	mv	a0, s1
	mv	a1, s2
	li	s0, 0			/* frame pointer 0: backtraces end here */
	li	ra, 0
	call	weft_start		/* runs main, then exit(); no return */
	unimp
	.size _start, . - _start
