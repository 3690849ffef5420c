/*
 * The big kernel lock's two fast paths, inline because every trap from
 * user mode passes through both: an uncontended acquire is one atomic
 * add and one load, a release one store and one fence, plus the counters
 * that make the lock lesson measurable (lockstat). Everything rare is in
 * lock.c: waiting (spinning, then napping), catching a CPU that takes the
 * lock twice or releases it without holding it, waking a napper.
 */
#ifndef WEFT_BKL_H
#define WEFT_BKL_H

#include "arch.h"
#include "cpu.h"
#include "lock.h"
#include "trace.h"

static inline void bkl_acquire(void)
{
	struct cpu *c = this_cpu();
	struct spinlock *lock = &big_kernel_lock;
	uint32_t ticket = ticket_take(lock);

	if (!ticket_served(lock, ticket))
		bkl_wait(c, ticket); /* held by another CPU, or by this one: a bug */
	lock->holder = c->id;
	lock->holder_pc = arch_this_pc(); /* in the function that takes the lock */
	lock->since = arch_timer_now();
	c->bkl_stats.acquired++;
	trace(TRACE_LOCK_ACQUIRE, 0);
}

static inline void bkl_release(void)
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
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* pairs with bkl_nap in lock.c */
	if (__atomic_load_n(&bkl_nappers, __ATOMIC_RELAXED))
		bkl_wake_next(serving);
}

#endif
