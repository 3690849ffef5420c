/*
 * The portable part of every trap from user mode: the big kernel lock is
 * taken on the way in (trap_user_enter, inline in trap.h) and released on
 * the way out, and the way out is where a thread whose time slice ended
 * yields and a thread whose process is dying leaves. The checks are
 * inline because every system call passes here; the rare work is not.
 */
#include "trap.h"

#include "cpu.h"
#include "lock.h"
#include "printk.h"
#include "proc.h"
#include "sched.h"

void trap_user_exit(void)
{
	if (this_cpu()->resched)
		sched_preempt_point();
	struct thread *t = thread_current(); /* maybe on another CPU now */
	if (t->proc->dying || t->must_exit)
		proc_check_dying();
	sched_kick_idle();
	assert(bkl_held());
	bkl_release();
	assert(!bkl_held()); /* user code never runs holding the lock */
}
