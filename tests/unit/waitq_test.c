/*
 * Wait queues keep their threads in arrival order, take any one of them
 * out from any place, and stay consistent (head, tail and links agree)
 * through any sequence of pushes and removals.
 *
 * kernel/include/waitq.h is all inline, so there is nothing to link.
 * Links:
 */
#include <stdlib.h>

#include "arch.h" /* the host stand-in first: proc.h's own include then finds it done */
#include "check.h"
#include "waitq.h"

#define NTHREADS 16
#define RANDOM_STEPS 20000

static struct thread threads[NTHREADS];

/* The queue's threads, in order, as indexes into threads[]; the count.
 * Fails the test if the links and the tail disagree. */
static int queue_order(const struct waitq *q, int *order)
{
	int n = 0;
	const struct thread *last = NULL;

	for (const struct thread *t = q->head; t; t = t->next) {
		CHECK_MSG(n < NTHREADS, "the queue loops or holds a thread twice");
		order[n++] = (int)(t - threads);
		last = t;
	}
	CHECK_MSG(q->tail == last, "tail is not the last thread");
	return n;
}

static void check_queue(const struct waitq *q, const int *want, int nwant)
{
	int got[NTHREADS];
	int n = queue_order(q, got);

	CHECK_EQ(n, nwant);
	for (int i = 0; i < n; i++)
		CHECK_EQ(got[i], want[i]);
}

TEST(waitq_keeps_arrival_order)
{
	struct waitq q = { 0 };
	int want[NTHREADS] = { 0 };

	check_queue(&q, want, 0);
	for (int i = 0; i < NTHREADS; i++) {
		waitq_push(&q, &threads[i]);
		want[i] = i;
		check_queue(&q, want, i + 1);
	}
}

TEST(waitq_remove_from_head_middle_and_tail)
{
	struct waitq q = { 0 };

	for (int i = 0; i < 5; i++)
		waitq_push(&q, &threads[i]);
	waitq_remove(&q, &threads[0]); /* head */
	check_queue(&q, (int[]){ 1, 2, 3, 4 }, 4);
	waitq_remove(&q, &threads[2]); /* middle */
	check_queue(&q, (int[]){ 1, 3, 4 }, 3);
	waitq_remove(&q, &threads[4]); /* tail: the tail moves back */
	check_queue(&q, (int[]){ 1, 3 }, 2);
	waitq_push(&q, &threads[4]); /* and a push after it links there */
	check_queue(&q, (int[]){ 1, 3, 4 }, 3);
	waitq_remove(&q, &threads[1]);
	waitq_remove(&q, &threads[3]);
	waitq_remove(&q, &threads[4]);
	CHECK(q.head == NULL && q.tail == NULL);
	CHECK(threads[4].next == NULL);
}

TEST(waitq_remove_of_a_thread_not_there_changes_nothing)
{
	struct waitq q = { 0 }, other = { 0 };

	waitq_push(&q, &threads[0]);
	waitq_push(&q, &threads[1]);
	waitq_push(&other, &threads[2]);
	waitq_remove(&q, &threads[2]);
	check_queue(&q, (int[]){ 0, 1 }, 2);
	check_queue(&other, (int[]){ 2 }, 1);
	waitq_remove(&other, &threads[2]);
	waitq_remove(&other, &threads[2]); /* twice: still nothing to do */
	check_queue(&other, NULL, 0);
}

/* Random pushes and removals against a plain array doing the same. */
TEST(waitq_random_operations_match_a_model)
{
	struct waitq q = { 0 };
	int model[NTHREADS], n = 0;
	bool queued[NTHREADS] = { false };

	srand(7);
	for (int step = 0; step < RANDOM_STEPS; step++) {
		int i = rand() % NTHREADS;
		if (!queued[i]) {
			waitq_push(&q, &threads[i]);
			model[n++] = i;
		} else {
			waitq_remove(&q, &threads[i]);
			int at = 0;
			while (model[at] != i)
				at++;
			memmove(&model[at], &model[at + 1], (size_t)(n - at - 1) * sizeof(int));
			n--;
		}
		queued[i] = !queued[i];
		check_queue(&q, model, n);
	}
}
