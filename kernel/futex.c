/*
 * Futex wait queues: one per hash bucket of (address space, address).
 *
 * Why checking the value and going to sleep cannot race with a wake: both
 * happen under the big kernel lock, and a waker changes the value before it
 * calls futex_wake, so either the waiter sees the new value and does not
 * sleep, or it is already queued when the wake looks.
 */
#include "futex.h"

#include "arch.h"
#include "cpu.h"
#include "proc.h"
#include "sched.h"
#include "uapi/errno.h"
#include "vm.h"

#define FUTEX_BUCKETS 64
#define NS_PER_S 1000000000ull
#define FUTEX_MAX_TIMEOUT_NS (1000000ull * NS_PER_S) /* about 11 days */

static struct waitq buckets[FUTEX_BUCKETS];

static struct waitq *bucket(const struct address_space *as, uintptr_t addr)
{
	uintptr_t h = (uintptr_t)as / PAGE_SIZE * 31 + addr / sizeof(int);

	return &buckets[h % FUTEX_BUCKETS];
}

/* The futex word, checked: aligned, mapped, user memory. */
static int *futex_word(uintptr_t uaddr)
{
	if (uaddr % sizeof(int))
		return NULL;
	return vm_user_ptr(process_current()->as, uaddr, false);
}

long futex_wait(uintptr_t uaddr, int expected, uint64_t timeout_ns)
{
	const int *word = futex_word(uaddr);

	if (!word)
		return uaddr % sizeof(int) ? -EINVAL : -EFAULT;
	if (*word != expected)
		return -EAGAIN;
	timeout_ns = MIN(timeout_ns, FUTEX_MAX_TIMEOUT_NS);
	/* Round up: never wake before the timeout. */
	uint64_t f = arch_timer_freq(); /* split so that ns * f cannot overflow */
	uint64_t ticks = timeout_ns / 1000000000ull * f +
			 (timeout_ns % 1000000000ull * f + 999999999ull) / 1000000000ull;
	thread_current()->futex_addr = uaddr;
	return sched_block(bucket(process_current()->as, uaddr), timeout_ns ? MAX(ticks, 1) : 0);
}

long futex_wake(uintptr_t uaddr, int count)
{
	const struct address_space *as = process_current()->as;
	struct waitq *q = bucket(as, uaddr);
	long woken = 0;

	if (!futex_word(uaddr))
		return uaddr % sizeof(int) ? -EINVAL : -EFAULT;
	/* next is read first: sched_wake takes t off the queue. */
	for (struct thread *t = q->head, *next; t && woken < count; t = next) {
		next = t->next;
		if (t->proc->as == as && t->futex_addr == uaddr) {
			sched_wake(t);
			woken++;
		}
	}
	return woken;
}
