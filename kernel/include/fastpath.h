/*
 * FAST PATHS: the one place where Weft trades readability for speed.
 *
 * Every system call, and every interrupt or fault from user mode, enters
 * the kernel through trap_user_enter() and leaves through trap_user_exit()
 * (the port's trap handler calls them: arch.h). Both are inline, into the
 * handler, and so are the two halves of the big kernel lock they use:
 * fastpath_bkl_acquire and fastpath_bkl_release are hand-inlined copies of
 * bkl_acquire and bkl_release (lock.c). Read the plain functions first:
 * they are the reference, and the copies must do exactly what they do.
 * The host test tests/unit/fastpath_test.c runs both on the same
 * sequences of operations and checks that they leave the same lock, the
 * same counters and the same trace events behind.
 *
 * What inlining saves is the calls: a jump and a stack frame (saving and
 * restoring registers) each. On the null system call that is about an
 * eighth of its instructions (make bench, docs/performance.md).
 */
#ifndef WEFT_FASTPATH_H
#define WEFT_FASTPATH_H

#include "arch.h"
#include "cpu.h"
#include "lock.h"
#include "proc.h"
#include "sched.h"
#include "trace.h"

/* Copy of bkl_acquire (lock.c). Waiting is the plain code's (bkl_wait). */
static inline void fastpath_bkl_acquire(void)
{
	struct cpu *c = this_cpu();
	struct spinlock *lock = &big_kernel_lock;
	uint32_t ticket = ticket_take(lock);

	if (!ticket_served(lock, ticket))
		bkl_wait(c, ticket);
	lock->holder = c->id;
	lock->holder_pc = arch_this_pc(); /* in the function it is inlined into */
	lock->since = arch_timer_now();
	c->bkl_stats.acquired++;
	trace(TRACE_LOCK_ACQUIRE, 0);
}

/* Copy of bkl_release (lock.c). Waking a napper is the plain code's. */
static inline void fastpath_bkl_release(void)
{
	struct cpu *c = this_cpu();
	struct spinlock *lock = &big_kernel_lock;
	uint64_t held = arch_timer_now() - lock->since;

	if (lock->holder != c->id)
		bkl_release_unheld();
	c->bkl_stats.held_ticks += held;
	if (held > c->bkl_stats.max_hold)
		c->bkl_stats.max_hold = held;
	trace(TRACE_LOCK_RELEASE, 0);
	uint32_t serving = ticket_pass(lock);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&bkl_nappers, __ATOMIC_RELAXED))
		bkl_wake_next(serving);
}

/*
 * Into the kernel from user mode: take the big kernel lock. Then the
 * port dispatches the trap: a system call (syscall_dispatch), an
 * interrupt, or a fault of the process.
 */
static inline void trap_user_enter(void)
{
	fastpath_bkl_acquire();
}

/*
 * Back to user mode: a thread whose time slice ended yields, a thread
 * whose process is dying (or that was told to exit) leaves, idle CPUs are
 * woken for threads waiting in the run queue; then the lock goes. Each
 * test is nearly always false.
 *
 * sched.c calls this too: a new thread's first run (thread_start) leaves
 * the kernel the way every trap does.
 */
static inline void trap_user_exit(void)
{
	if (this_cpu()->resched)
		sched_preempt_point();
	if (must_leave(thread_current())) /* maybe not the thread that trapped */
		thread_leave();
	if (sleeping_idle_cpus)
		sched_wake_idle_cpus();
	fastpath_bkl_release();
}

#endif
