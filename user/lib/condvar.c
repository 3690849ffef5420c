/*
 * Condition variables on a futex: a sequence number.
 *
 * A waiter reads the number while it still holds the mutex, unlocks, and
 * sleeps only if the number has not changed. Every signal or broadcast
 * bumps the number before waking, so a signal that comes between the
 * unlock and the sleep is not lost: futex_wait sees a new number and
 * returns at once.
 *
 * After waking, the waiter takes the mutex as a contended one (state
 * MUTEX_CONTENDED): after a broadcast other woken threads may be queued on
 * it, and its unlock must then wake the next.
 *
 * `waiters` counts threads inside a wait, so that a signal nobody waits
 * for stays in user space. A waiter counts itself before it reads the
 * number; a signaller bumps the number before it reads the count (all
 * sequentially consistent), so a signaller that sees no waiter bumped
 * the number before any waiter read it: that wait began after the signal,
 * and need not be woken by it.
 */
#include "atomic.h"
#include "weft_thread.h"

void condvar_init(struct condvar *c)
{
	atomic_write(&c->seq, 0);
	atomic_write(&c->waiters, 0);
}

/* LAB(sync) BEGIN */
static void mutex_lock_contended(struct mutex *m)
{
	while (atomic_swap(&m->state, MUTEX_CONTENDED) != MUTEX_UNLOCKED)
		futex_wait(&m->state, MUTEX_CONTENDED, 0);
}

int condvar_timedwait(struct condvar *c, struct mutex *m, unsigned long timeout_ns)
{
	int seq, err;

	atomic_add(&c->waiters, 1);
	seq = atomic_read(&c->seq);
	mutex_unlock(m);
	err = futex_wait(&c->seq, seq, timeout_ns);
	atomic_add(&c->waiters, -1);
	mutex_lock_contended(m);
	return err == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

void condvar_wait(struct condvar *c, struct mutex *m)
{
	condvar_timedwait(c, m, 0);
}

void condvar_signal(struct condvar *c)
{
	atomic_add(&c->seq, 1);
	if (atomic_read(&c->waiters) > 0)
		futex_wake(&c->seq, 1);
}

void condvar_broadcast(struct condvar *c)
{
	atomic_add(&c->seq, 1);
	if (atomic_read(&c->waiters) > 0)
		futex_wake(&c->seq, __INT_MAX__);
}
/* LAB(sync) STUB */
#if 0
/*
 * Your code here (README step 2): a waiter sleeps in futex_wait on the
 * sequence number until a signal or broadcast changes it. The stand-ins
 * below are correct for callers that re-check their condition in a loop
 * (as they must), but nobody ever sleeps: a wait gives the CPU away once
 * and returns, a timed wait keeps giving it away until its time is up,
 * and signal and broadcast do nothing at all.
 */
int condvar_timedwait(struct condvar *c, struct mutex *m, unsigned long timeout_ns)
{
	unsigned long deadline = clock_ns() + timeout_ns;

	(void)c;
	mutex_unlock(m);
	do
		yield();
	while (clock_ns() < deadline);
	mutex_lock(m);
	return -ETIMEDOUT;
}

void condvar_wait(struct condvar *c, struct mutex *m)
{
	(void)c;
	mutex_unlock(m);
	yield();
	mutex_lock(m);
}

void condvar_signal(struct condvar *c)
{
	(void)c;
}

void condvar_broadcast(struct condvar *c)
{
	(void)c;
}
#endif
/* LAB(sync) END */
