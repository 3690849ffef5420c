/*
 * System calls: the table of handlers (kernel/syscall.c) and the dispatch
 * a port's trap handler calls for a system call trap. Each handler reads
 * its arguments from an array (the trap frame's argument registers) and
 * returns a result or a negative errno. Pointers from user space are only
 * touched through copyin/copyout/copyinstr (vm.h).
 */
#ifndef WEFT_SYSCALL_H
#define WEFT_SYSCALL_H

#include "arch.h"
#include "cpu.h"
#include "sched.h"
#include "trace.h"
#include "uapi/errno.h"
#include "uapi/syscall.h"

/* A system call handler: the argument registers in, result or -errno out. */
typedef long (*syscall_fn)(const unsigned long *args);
extern const syscall_fn syscall_table[SYS_COUNT]; /* syscall.c */

/* Run a system call: arguments from the trap frame, result into it. A
 * thread told to leave (must_leave) runs no more system calls: it leaves
 * on its way out (trap_user_exit). */
static inline void syscall_dispatch(struct trap_frame *tf)
{
	unsigned long nr = (unsigned long)arch_syscall_number(tf);
	syscall_fn fn = nr < SYS_COUNT ? syscall_table[nr] : NULL;
	long result = -ENOSYS;

	trace(TRACE_SYSCALL_ENTER, nr);
	if (must_leave(thread_current()))
		result = -EINTR;
	else if (fn)
		result = fn(arch_syscall_args(tf));
	arch_syscall_set_result(tf, result);
	trace(TRACE_SYSCALL_EXIT, nr);
}

#endif
