/*
 * Mutexes on a futex: the three-state lock.
 *
 * The whole lock is one int: MUTEX_UNLOCKED, MUTEX_LOCKED (held, nobody
 * waiting) or MUTEX_CONTENDED (held, and someone may be asleep in the
 * kernel). Taking a free lock is one compare-and-swap and releasing an
 * uncontended one is one swap: no system call. Only a thread that finds
 * the lock held goes to the kernel (futex_wait), and only an unlock that
 * sees MUTEX_CONTENDED pays for a futex_wake.
 *
 * Why a waiter sets MUTEX_CONTENDED even when it then gets the lock: it
 * cannot know whether other threads still sleep, so it makes its own
 * unlock wake one, just in case. A spurious wake costs a system call; a
 * missed one would leave a thread asleep forever.
 *
 * Why futex_wait cannot miss the wake: the kernel checks that the word is
 * still MUTEX_CONTENDED and queues the thread in one step under its lock,
 * and the unlocker changes the word before it calls futex_wake.
 */
#include "atomic.h"
#include "weft_thread.h"

/* Spins this many times on a held lock before sleeping: on a multicore
 * machine the owner often lets go within a few hundred cycles. */
#define MUTEX_SPIN_TRIES 100

void mutex_init(struct mutex *m)
{
	atomic_write(&m->state, MUTEX_UNLOCKED);
}

int mutex_trylock(struct mutex *m)
{
	return atomic_cas(&m->state, MUTEX_UNLOCKED, MUTEX_LOCKED);
}

/* LAB(sync) BEGIN */
void mutex_lock(struct mutex *m)
{
	if (atomic_cas(&m->state, MUTEX_UNLOCKED, MUTEX_LOCKED))
		return;
	for (int i = 0; i < MUTEX_SPIN_TRIES; i++) {
		cpu_relax();
		if (atomic_read(&m->state) == MUTEX_UNLOCKED &&
		    atomic_cas(&m->state, MUTEX_UNLOCKED, MUTEX_LOCKED))
			return;
	}
	/* From here on the lock is marked contended; swap returns the old
	 * state, so seeing MUTEX_UNLOCKED means this thread now holds it. */
	while (atomic_swap(&m->state, MUTEX_CONTENDED) != MUTEX_UNLOCKED)
		futex_wait(&m->state, MUTEX_CONTENDED, 0);
}

void mutex_unlock(struct mutex *m)
{
	if (atomic_swap(&m->state, MUTEX_UNLOCKED) == MUTEX_CONTENDED)
		futex_wake(&m->state, 1);
}
/* LAB(sync) STUB */
#if 0
/*
 * Your code here (README step 1): mutex_lock sleeps in futex_wait
 * while another thread holds the lock, and mutex_unlock wakes a sleeper
 * when there may be one. The stand-in below is correct (one owner at a
 * time) but never sleeps: a waiter keeps asking the kernel for another
 * turn on its CPU until the lock comes free.
 */
void mutex_lock(struct mutex *m)
{
	while (!mutex_trylock(m))
		yield();
}

void mutex_unlock(struct mutex *m)
{
	atomic_write(&m->state, MUTEX_UNLOCKED);
}
#endif
/* LAB(sync) END */
