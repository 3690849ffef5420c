/*
 * The rare work on the way back to user mode (the tests that find it are
 * inline in trap.h): yield if the time slice is over, leave if the thread
 * must exit, wake idle CPUs for queued threads, then release the lock.
 */
#include "trap.h"

#include "cpu.h"
#include "panic.h"
#include "proc.h"
#include "sched.h"

void trap_user_exit_slow(void)
{
	if (this_cpu()->resched)
		sched_preempt_point();
	struct thread *t = thread_current(); /* maybe on another CPU now */
	if (t->proc->dying || t->must_exit)
		proc_check_dying();
	sched_wake_idle_cpus();
	assert(spin_holding(&big_kernel_lock));
	bkl_release();
	assert(!spin_holding(&big_kernel_lock)); /* user code never runs holding the lock */
}
