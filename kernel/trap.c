/*
 * The rare work on the way back to user mode (the tests that find it are
 * inline in trap.h): yield if the time slice is over, leave if the thread
 * must exit, wake idle CPUs for queued threads, then release the lock.
 * trap.c and sched.c call each other: the way out may switch threads
 * (sched_preempt_point), and a new thread's first run (thread_start in
 * sched.c) leaves the kernel the way every trap does, through
 * trap_user_exit.
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
	proc_check_dying(); /* leaves for good if this thread must */
	sched_wake_idle_cpus();
	assert(spin_holding(&big_kernel_lock));
	bkl_release();
	assert(!spin_holding(&big_kernel_lock)); /* user code never runs holding the lock */
}
