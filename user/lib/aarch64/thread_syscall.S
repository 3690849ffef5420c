/*
 * System call stubs for threads, futexes, mmap and CPUs, AArch64. Same
 * convention as syscall.S: the C arguments are already in x0..x5, so a
 * stub loads the number into x8 and traps; the result (negative: an
 * error code) comes back in x0. weft_thread.h declares them.
 */
#include "uapi/syscall.h"

/* THREAD_SYSCALL name, number: a function `name` making system call `number`. */
.macro THREAD_SYSCALL name, number
	.section .text.\name, "ax"
	.globl \name
	.type \name, %function
\name:
	mov	x8, #\number		/* which system call */
	svc	#0			/* enter the kernel; result in x0 */
	ret
	.size \name, . - \name
.endm

THREAD_SYSCALL sys_thread_create, SYS_thread_create
THREAD_SYSCALL sys_thread_join, SYS_thread_join
THREAD_SYSCALL gettid, SYS_gettid
THREAD_SYSCALL futex_wait, SYS_futex_wait
THREAD_SYSCALL futex_wake, SYS_futex_wake
THREAD_SYSCALL mmap, SYS_mmap
THREAD_SYSCALL munmap, SYS_munmap
THREAD_SYSCALL cpu_pin, SYS_cpu_pin
THREAD_SYSCALL cpu_info, SYS_cpu_info

/* sys_thread_exit never returns; if it did, fault rather than run on. */
	.section .text.sys_thread_exit, "ax"
	.globl sys_thread_exit
	.type sys_thread_exit, %function
sys_thread_exit:
	mov	x8, #SYS_thread_exit
	svc	#0
	udf	#0			/* undefined instruction: never reached */
	.size sys_thread_exit, . - sys_thread_exit
