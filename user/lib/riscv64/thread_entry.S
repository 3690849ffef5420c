/*
 * Where a thread made by thread_spawn() starts, RISC-V.
 *
 * The kernel starts a new thread with sp = the top of its stack, tp = its
 * TLS block, a0 = the argument, and every other register zero. C code
 * also relies on gp (the linker turns accesses near __global_pointer$
 * into gp-relative ones), so gp must be set before any C runs: the same
 * step crt0 takes for the main thread.
 */
	.section .text.thread_entry, "ax"
	.globl thread_entry
	.type thread_entry, @function
thread_entry:
	.option push
	.option norelax			/* this `la` must not use gp itself */
	la	gp, __global_pointer$
	.option pop
	li	s0, 0			/* frame pointer 0: backtraces end here */
	li	ra, 0
	call	thread_run		/* a0: the thread's start record; no return */
	unimp
	.size thread_entry, . - thread_entry
