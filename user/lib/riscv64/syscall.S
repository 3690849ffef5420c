/*
 * System call stubs, RISC-V. The C arguments already sit in a0..a5, where
 * the kernel wants them, so each wrapper only loads its number into a7 and
 * traps with ecall; the result comes back in a0 and is returned as is
 * (negative: a negated error code).
 */
#include "uapi/syscall.h"

/* SYSCALL name, number: a function `name` that makes system call `number`. */
.macro SYSCALL name, number
	.section .text.\name, "ax"
	.globl \name
	.type \name, @function
\name:
	li	a7, \number		/* which system call */
	ecall				/* enter the kernel; result in a0 */
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
	.type _exit, @function
_exit:
	li	a7, SYS_exit
	ecall
	unimp				/* illegal instruction: the kernel kills us */
	.size _exit, . - _exit

/* syscall6(nr, a0..a5): the number arrives first, so shift every argument
 * down one register. */
	.section .text.syscall6, "ax"
	.globl syscall6
	.type syscall6, @function
syscall6:
	mv	a7, a0			/* number */
	mv	a0, a1
	mv	a1, a2
	mv	a2, a3
	mv	a3, a4
	mv	a4, a5
	mv	a5, a6
	ecall
	ret
	.size syscall6, . - syscall6
