/*
 * Where a thread made by thread_spawn() starts, AArch64.
 *
 * The kernel starts a new thread with sp = the top of its stack,
 * TPIDR_EL0 = its TLS control block, x0 = the argument, and the other
 * registers zero. Nothing else needs setting up, so this only makes the
 * frame chain end here and calls into C.
 */
	.section .text.thread_entry, "ax"
	.globl thread_entry
	.type thread_entry, %function
thread_entry:
	mov	x29, #0			/* frame pointer 0: backtraces end here */
	mov	x30, #0
	bl	thread_run		/* x0: the thread's start record; no return */
	udf	#0
	.size thread_entry, . - thread_entry
