/*
 * Ticket spinlocks and the big kernel lock.
 *
 * Why a ticket lock: a plain test-and-set lock lets one CPU win again and
 * again while another starves; tickets serve waiters first come, first
 * served, which also makes the wait times in the statistics meaningful.
 * Interrupts are masked in the kernel, so a lock is never re-entered from an
 * interrupt handler on the same CPU.
 */
#include "lock.h"

#include "arch.h"
#include "cpu.h"
#include "printk.h"
#include "trace.h"

struct spinlock big_kernel_lock = SPINLOCK_INIT("big kernel lock");

static __noreturn void spin_timeout(struct spinlock *lock, uint64_t waited)
{
	int holder = READ_ONCE(lock->holder);

	/* The holder may be stuck holding the console lock too. */
	panic("deadlock: cpu %d spun %llu ms on the %s, held by cpu %d "
	      "(taken at pc %p)",
	      cpu_id(), (unsigned long long)(waited * 1000 / arch_timer_freq()),
	      lock->name, holder, (void *)READ_ONCE(lock->holder_pc));
}

/* Take the lock; returns the ticks spent waiting. */
static uint64_t lock_ticket(struct spinlock *lock, uintptr_t pc, bool traced)
{
	if (spin_holding(lock))
		panic("recursive lock: cpu %d already holds the %s (taken at pc %p)",
		      cpu_id(), lock->name, (void *)lock->holder_pc);

	uint32_t ticket = __atomic_fetch_add(&lock->next, 1, __ATOMIC_RELAXED);
	uint64_t start = 0, waited = 0;

	if (__atomic_load_n(&lock->serving, __ATOMIC_ACQUIRE) != ticket) {
		if (traced)
			trace(TRACE_LOCK_WAIT, 0);
		start = arch_timer_now();
		uint64_t limit = SPIN_TIMEOUT_S * arch_timer_freq();
		while (__atomic_load_n(&lock->serving, __ATOMIC_ACQUIRE) != ticket) {
			if (panic_in_progress)
				arch_cpu_stop();
			waited = arch_timer_now() - start;
			if (waited > limit && !panic_in_progress)
				spin_timeout(lock, waited);
		}
		waited = arch_timer_now() - start;
	}
	lock->holder = cpu_id();
	lock->holder_pc = pc;
	return waited;
}

void spin_lock(struct spinlock *lock)
{
	lock_ticket(lock, (uintptr_t)__builtin_return_address(0), false);
}

void spin_unlock(struct spinlock *lock)
{
	if (!spin_holding(lock))
		panic("unlock of the %s by cpu %d, which does not hold it",
		      lock->name, cpu_id());
	lock->holder = -1;
	__atomic_store_n(&lock->serving, lock->serving + 1, __ATOMIC_RELEASE);
}

bool spin_holding(const struct spinlock *lock)
{
	return READ_ONCE(lock->holder) == cpu_id();
}

void bkl_acquire(void)
{
	struct lock_stats *st = &this_cpu()->bkl_stats;
	uint64_t waited = lock_ticket(&big_kernel_lock,
				      (uintptr_t)__builtin_return_address(0), true);

	trace(TRACE_LOCK_ACQUIRE, 0);
	st->acquired++;
	if (waited) {
		st->contended++;
		st->spin_ticks += waited;
	}
	big_kernel_lock.since = arch_timer_now();
}

void bkl_release(void)
{
	struct lock_stats *st = &this_cpu()->bkl_stats;
	uint64_t held = arch_timer_now() - big_kernel_lock.since;

	st->held_ticks += held;
	if (held > st->max_hold)
		st->max_hold = held;
	trace(TRACE_LOCK_RELEASE, 0);
	spin_unlock(&big_kernel_lock);
}
