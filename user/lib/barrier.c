/*
 * Barriers on a futex: `count` threads wait until all have arrived.
 *
 * Each thread notes the generation, then counts itself in. The last to
 * arrive resets the count for the next round and only then bumps the
 * generation, the word everyone else sleeps on. A thread cannot come
 * round again before the generation changes, so the reset never races
 * with the next round's arrivals.
 */
#include "atomic.h"
#include "weft_thread.h"

void barrier_init(struct barrier *b, int count)
{
	b->count = count;
	atomic_write(&b->arrived, 0);
	atomic_write(&b->generation, 0);
}

/* LAB(sync) BEGIN */
int barrier_wait(struct barrier *b)
{
	int generation = atomic_read(&b->generation);

	if (atomic_add(&b->arrived, 1) == b->count) {
		atomic_write(&b->arrived, 0);
		atomic_add(&b->generation, 1);
		futex_wake(&b->generation, __INT_MAX__);
		return BARRIER_SERIAL_THREAD;
	}
	while (atomic_read(&b->generation) == generation)
		futex_wait(&b->generation, generation, 0);
	return 0;
}
/* LAB(sync) STUB */
#if 0
/*
 * Your code here (README step 4): the threads that are not last sleep in
 * futex_wait on the generation, and the last one wakes them all. The
 * stand-in below is correct but never sleeps: the early arrivals spin
 * until the generation moves on, giving their CPU away now and then (so
 * that on one CPU the last thread gets to arrive).
 */
#define SPINS_PER_YIELD 100000

int barrier_wait(struct barrier *b)
{
	int generation = atomic_read(&b->generation);

	if (atomic_add(&b->arrived, 1) == b->count) {
		atomic_write(&b->arrived, 0);
		atomic_add(&b->generation, 1);
		return BARRIER_SERIAL_THREAD;
	}
	for (unsigned long spins = 1; atomic_read(&b->generation) == generation; spins++) {
		cpu_relax();
		if (spins % SPINS_PER_YIELD == 0)
			yield();
	}
	return 0;
}
#endif
/* LAB(sync) END */
