/*
 * System call stubs, AArch64. The C arguments already sit in x0..x5, where
 * the kernel wants them, so each wrapper only loads its number into x8 and
 * traps with svc #0; the result comes back in x0 and is returned as is
 * (negative: a negated error code).
 */
#include "uapi/syscall.h"

/* SYSCALL name, number: a function `name` that makes system call `number`. */
.macro SYSCALL name, number
	.section .text.\name, "ax"
	.globl \name
	.type \name, %function
\name:
	mov	x8, #\number		/* which system call */
	svc	#0			/* enter the kernel; result in x0 */
	ret
	.size \name, . - \name
.endm

SYSCALL fork, SYS_fork
SYSCALL exec, SYS_exec
SYSCALL wait, SYS_wait
SYSCALL getpid, SYS_getpid
SYSCALL getppid, SYS_getppid
SYSCALL kill, SYS_kill
SYSCALL setsid, SYS_setsid
SYSCALL read, SYS_read
SYSCALL write, SYS_write
SYSCALL sbrk_raw, SYS_sbrk
SYSCALL sleep_ms, SYS_sleep_ms
SYSCALL clock_ns, SYS_clock_ns
SYSCALL yield, SYS_yield
SYSCALL ps, SYS_ps
SYSCALL poweroff, SYS_poweroff
SYSCALL meminfo, SYS_meminfo
SYSCALL progname, SYS_progname

/* _exit never returns; if the kernel ever did return, fault visibly. */
	.section .text._exit, "ax"
	.globl _exit
	.type _exit, %function
_exit:
	mov	x8, #SYS_exit
	svc	#0
	udf	#0			/* undefined instruction: the kernel kills us */
	.size _exit, . - _exit

/* syscall6(nr, x0..x5): the number arrives first, so shift every argument
 * down one register. */
	.section .text.syscall6, "ax"
	.globl syscall6
	.type syscall6, %function
syscall6:
	mov	x8, x0			/* number */
	mov	x0, x1
	mov	x1, x2
	mov	x2, x3
	mov	x3, x4
	mov	x4, x5
	mov	x5, x6
	svc	#0
	ret
	.size syscall6, . - syscall6
