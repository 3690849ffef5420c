/*
 * The portable half of a trap from user mode, inline because every system
 * call runs it. The architecture's trap handler calls trap_user_enter()
 * first (it takes the big kernel lock), dispatches the trap (a system call
 * through syscall_dispatch in syscall.h, an interrupt, a fault), and calls
 * trap_user_exit() last. The way out is where a thread whose time slice
 * ended yields, a thread whose process is dying leaves, and idle CPUs are
 * woken for queued threads: the fast path only tests for these, the work
 * is in trap_user_exit_slow (trap.c).
 */
#ifndef WEFT_TRAP_H
#define WEFT_TRAP_H

#include "arch.h"
#include "bkl.h"
#include "cpu.h"
#include "sched.h"
#include "trace.h"

static inline void trap_user_enter(void)
{
	bkl_acquire();
}

void trap_user_exit_slow(void);

static inline void trap_user_exit(void)
{
	struct thread *t = thread_current(); /* maybe not the one that trapped */

	if (this_cpu()->resched || t->must_exit || t->proc->dying || sleeping_idle_cpus)
		trap_user_exit_slow();
	else
		bkl_release();
}

#endif
