/*
 * The scheduler: one run queue for all CPUs, round robin, under the big
 * kernel lock. A thread gives up its CPU by blocking, sleeping, yielding,
 * or when its time slice (one timer tick) ends while it runs user code.
 * A CPU with nothing to run switches to its idle thread, which releases the
 * lock and sleeps in wfi; a CPU leaving the kernel with threads still
 * queued wakes idle CPUs for them with IPIs.
 */
#ifndef WEFT_SCHED_H
#define WEFT_SCHED_H

#include "proc.h"

/* Make the boot stack of this CPU its idle thread. */
void sched_init_cpu(void);
/* Run threads forever (the idle loop of each CPU). */
__noreturn void sched_idle(void);

struct thread *thread_alloc(struct process *p);
void sched_make_runnable(struct thread *t);
/* Before letting go of the lock: wake idle CPUs for queued threads. */
void sched_wake_idle_cpus(void);
extern int sleeping_idle_cpus; /* idle CPUs that let go of the lock to sleep */
void sched_yield(void);
/* Block the current thread on q until woken, or until `timeout` timer
 * ticks pass (0: no timeout). Returns 0, -ETIMEDOUT, or -EINTR if it was
 * woken because it must exit. */
int sched_block(struct waitq *q, uint64_t timeout);
void sched_wake_all(struct waitq *q);
/* Wake one thread blocked in a waitq; its sched_block returns `reason`. */
void sched_wake(struct thread *t);
void sched_wake_with(struct thread *t, int reason);
/* Block on q and run t (blocked, woken with `reason`) here at once: IPC. */
int sched_block_and_run(struct waitq *q, struct thread *t, int reason);
/* The first thread blocked in q (still blocked), or NULL. */
static inline struct thread *waitq_first(const struct waitq *q)
{
	return q->head;
}
/* Run the current thread only on `cpu` (-1: anywhere), moving now. */
void sched_pin(int cpu);
/* Sleep for at least `ticks` timer ticks; -EINTR as above. Even 0 blocks:
 * the thread wakes when a tick (or an idle CPU's timer) next looks at the
 * sleepers (sched_tick), which is not at once like sched_yield. */
int sched_sleep_ticks(uint64_t ticks);
/* Has t been told to leave (its process is dying, or exec is ending the
 * other threads)? It goes at its next way out of the kernel; until then
 * it must not block, nor make new threads or processes that nobody would
 * tell to leave. */
static inline bool must_leave(const struct thread *t)
{
	return t->must_exit || (t->proc && t->proc->dying);
}

/* Get a blocked or sleeping thread moving with -EINTR. */
void sched_interrupt(struct thread *t);
/* End the current thread; it never runs again. */
__noreturn void sched_exit_thread(void);
/* Interrupt the CPU running t, if any, so it notices its process dying. */
void sched_recall(struct thread *t);

/* Called from the timer interrupt: wake sleepers, end the time slice. */
void sched_tick(void);
/* On the way back to user mode: yield if the time slice is over. */
void sched_preempt_point(void);

/*
 * Breaks in long work. A system call whose work grows with what the user
 * asks for (a long write, an munmap or mmap of a huge range, a fork of a
 * big process) works in steps and calls sched_lock_break() between them.
 * Once the big kernel lock has been held LOCK_BREAK_US, it lets the lock
 * go and takes it back, so that waiting CPUs get in; takes the interrupts
 * that came meanwhile; and yields if the time slice is over. It returns
 * -EINTR if the thread must leave (the caller stops and returns it), else
 * 0. So no system call holds the lock much longer than LOCK_BREAK_US,
 * whatever its arguments (docs/robustness.md).
 *
 * Between steps another CPU may run kernel code: the caller keeps no
 * pointer that could be freed meanwhile, and finishes anything that is
 * safe only under the lock first (a TLB flush after freeing pages).
 */
#define LOCK_BREAK_US 200
int sched_lock_break(void);
/* Would sched_lock_break let go of the lock now? (For a caller that must
 * finish something first.) */
bool sched_lock_break_due(void);
/* The second half of a break, for long work that lets the lock go by
 * itself: take the interrupts that came meanwhile, yield if the time
 * slice is over; -EINTR if the thread must leave, else 0. */
int sched_checkpoint(void);

#endif
