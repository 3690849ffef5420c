/*
 * Wait queues: a FIFO of threads, linked through thread->next. The run
 * queue is one, and every thread that blocks waits in one (sched.c).
 * A thread is in at most one queue at a time. Inline: the scheduler's
 * every switch goes through them. Tested on the host
 * (tests/unit/waitq_test.c).
 */
#ifndef WEFT_WAITQ_H
#define WEFT_WAITQ_H

#include "proc.h"

/* Append t, which must be in no queue. */
static inline void waitq_push(struct waitq *q, struct thread *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

/* Take t out of q, wherever it is in it; nothing if it is not there. */
static inline void waitq_remove(struct waitq *q, struct thread *t)
{
	struct thread *prev = NULL;

	for (struct thread *i = q->head; i; prev = i, i = i->next) {
		if (i != t)
			continue;
		if (prev)
			prev->next = t->next;
		else
			q->head = t->next;
		if (q->tail == t)
			q->tail = prev;
		t->next = NULL;
		return;
	}
}

#endif
