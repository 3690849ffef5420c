/*
 * Counting semaphores on a futex.
 *
 * `value` is the count itself, and the futex word: a thread that finds it
 * 0 sleeps on it. `waiters` counts threads that may be asleep, so a post
 * with nobody waiting stays in user space.
 *
 * Why a post cannot miss a sleeper (all operations are sequentially
 * consistent, see atomic.h): a waiter raises `waiters` and then (in the
 * kernel) reads `value`; a poster raises `value` and then reads
 * `waiters`. In any single order of those four steps, either the poster
 * sees the waiter (and wakes it) or the waiter sees the new value (and
 * does not sleep).
 */
#include "atomic.h"
#include "weft_thread.h"

void semaphore_init(struct semaphore *s, int value)
{
	atomic_write(&s->waiters, 0);
	atomic_write(&s->value, value);
}

int semaphore_trywait(struct semaphore *s)
{
	for (;;) {
		int v = atomic_read(&s->value);
		if (v <= 0)
			return -EAGAIN;
		if (atomic_cas(&s->value, v, v - 1))
			return 0;
	}
}

/* LAB(sync) BEGIN */
void semaphore_wait(struct semaphore *s)
{
	while (semaphore_trywait(s) != 0) {
		atomic_add(&s->waiters, 1);
		futex_wait(&s->value, 0, 0);
		atomic_add(&s->waiters, -1);
	}
}

void semaphore_post(struct semaphore *s)
{
	atomic_add(&s->value, 1);
	if (atomic_read(&s->waiters) > 0)
		futex_wake(&s->value, 1);
}
/* LAB(sync) STUB */
#if 0
/*
 * Your code here (README step 3): a thread that finds the count at 0
 * sleeps in futex_wait on it, and a post wakes one sleeper when there
 * may be one. The stand-in below is correct but never sleeps: a waiter
 * keeps asking the kernel for another turn until it can take one.
 */
void semaphore_wait(struct semaphore *s)
{
	while (semaphore_trywait(s) != 0)
		yield();
}

void semaphore_post(struct semaphore *s)
{
	atomic_add(&s->value, 1);
}
#endif
/* LAB(sync) END */
