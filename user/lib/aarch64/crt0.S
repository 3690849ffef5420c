/*
 * Process entry, AArch64: the first user instruction of every program.
 *
 * exec leaves sp (16-byte aligned) pointing at argc, followed by the argv
 * pointers; x0/x1 carry the same values, but reading them from the stack
 * is what the layout guarantees. Before any C code runs, TPIDR_EL0 must
 * point at the thread's TLS area, where picolibc keeps errno.
 */

	.section .text.start, "ax"
	.globl _start
	.type _start, %function
_start:
	ldr	x19, [sp]		/* argc */
	add	x20, sp, #8		/* argv */

	/* The main thread's TLS block: copy the template into it. */
	adrp	x0, __tls_main_block
	add	x0, x0, :lo12:__tls_main_block
	bl	tls_init_block

	/* AArch64 (TLS variant 1) points TPIDR_EL0 at a 16-byte control
	 * block just below the variables; the linker script reserved it. */
	adrp	x0, __tls_main_tcb
	add	x0, x0, :lo12:__tls_main_tcb
	msr	tpidr_el0, x0

	mov	x0, x19
	mov	x1, x20
	mov	x29, #0			/* frame pointer 0: backtraces end here */
	mov	x30, #0
	bl	weft_start		/* runs main, then exit(); no return */
	udf	#0
	.size _start, . - _start
