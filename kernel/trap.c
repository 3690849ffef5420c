/*
 * The portable part of every trap from user mode: the big kernel lock is
 * taken on the way in and released on the way out, and the way out is
 * where a thread whose time slice ended yields and a thread whose process
 * is dying leaves.
 */
#include "trap.h"

#include "lock.h"
#include "printk.h"
#include "proc.h"
#include "sched.h"

void trap_user_enter(void)
{
	bkl_acquire();
}

void trap_user_exit(void)
{
	sched_preempt_point();
	proc_check_dying();
	assert(bkl_held());
	sched_kick_idle();
	bkl_release();
	assert(!bkl_held()); /* user code never runs holding the lock */
}
