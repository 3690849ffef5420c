/*
 * The scheduler: a single run queue shared by all CPUs (round robin),
 * blocking and waking (and the direct hand-over of IPC, which skips the
 * run queue), sleeping, and the idle loop.
 *
 * Runs under the big kernel lock. A thread that gives up the CPU calls
 * switch_to() holding the lock, and the thread that resumes continues
 * holding it: the lock is handed over, never released in between. Why
 * this is safe: only one CPU is in the kernel at a time, so nobody can see
 * the half-switched state.
 */
#include "sched.h"

#include "cpu.h"
#include "fastpath.h"
#include "klib.h"
#include "panic.h"
#include "pmm.h"
#include "trace.h"
#include "uapi/errno.h"
#include "vm.h"
#include "waitq.h"

static struct waitq run_queue;
static struct thread *sleepers; /* unordered: a tick scans it */
int sleeping_idle_cpus;         /* idle CPUs that let go of the lock to sleep */

/* The first thread in the run queue allowed on this CPU. */
static struct thread *runq_take(void)
{
	int me = cpu_id();

	for (struct thread *t = run_queue.head; t; t = t->next) {
		if (t->pinned_cpu < 0 || t->pinned_cpu == me) {
			waitq_remove(&run_queue, t);
			return t;
		}
	}
	return NULL;
}

void sched_init_cpu(void)
{
	struct cpu *c = this_cpu();

	c->idle.state = THREAD_RUNNING;
	c->idle.pinned_cpu = c->id;
	c->idle.kstack_top = c->stack_top;
	c->current = &c->idle;
}

struct thread *thread_alloc(struct process *p)
{
	struct thread *t = pmm_alloc();

	if (!t)
		return NULL;
	t->kstack_top = vm_alloc_kstack();
	if (!t->kstack_top) {
		pmm_free(t);
		return NULL;
	}
	t->tid = proc_new_tid();
	t->proc = p;
	t->pinned_cpu = -1;
	t->state = THREAD_BLOCKED; /* not runnable until set up */
	t->tf = (struct trap_frame *)t->kstack_top - 1;
	arch_thread_reset(&t->arch);
	return t;
}

static void thread_free(struct thread *t)
{
	vm_free_kstack(t->kstack_top);
	t->kstack_top = NULL;
	if (!t->keep_after_exit)
		pmm_free(t);
}

/* A thread that died on this CPU can be freed once another one runs. */
static void free_dead_thread(void)
{
	struct cpu *c = this_cpu();

	if (c->to_free) {
		thread_free(c->to_free);
		c->to_free = NULL;
	}
}

static void switch_to(struct thread *next)
{
	struct cpu *c = this_cpu();
	struct thread *prev = c->current;

	assert(spin_holding(&big_kernel_lock));
	next->state = THREAD_RUNNING;
	next->cpu = c->id;
	if (next == prev)
		return;
	trace(TRACE_SWITCH, next->proc ? (unsigned long)next->tid : 0);
	if (prev->state == THREAD_DEAD)
		c->to_free = prev;
	c->resched = false;
	if (prev == &c->idle)
		timer_start(); /* the tick stopped while idle */
	/* LAB(switch) BEGIN */
	c->current = next;
	c->kstack = (uintptr_t)next->kstack_top;
	vm_switch(next->proc ? next->proc->as : NULL);
	arch_thread_switch(&prev->arch, &next->arch);
	/* LAB(switch) STUB */
#if 0
	/*
	 * Step 3 of labs/switch/README.md. Everything this CPU must know
	 * about next before next's registers are loaded goes here: which
	 * thread this CPU runs now (thread_current() reads it), the kernel
	 * stack a trap from next's user code lands on, the address space
	 * next's user code runs in, and next's user state that lives
	 * neither in its trap frame nor in its saved context.
	 */
#endif
	/* LAB(switch) END */
	arch_context_switch(&prev->ctx, &next->ctx);
	/* Back again: some other thread switched to us on this CPU. */
	free_dead_thread();
}

/* Give the CPU to the next runnable thread, or to this CPU's idle thread.
 * The caller has already put the current thread where it belongs. */
static void schedule(void)
{
	lockcheck_may_block(); /* only the BKL goes to the next thread */
	struct thread *next = runq_take();

	switch_to(next ? next : &this_cpu()->idle);
}

void thread_start(void)
{
	/* A new thread's first instruction after the switch: switch_to must
	 * have told this CPU about it, or its first trap from user mode would
	 * land on some other thread's kernel stack. */
	assert(this_cpu()->kstack == (uintptr_t)thread_current()->kstack_top);
	free_dead_thread();
	trap_user_exit();
}

void sched_make_runnable(struct thread *t)
{
	t->state = THREAD_RUNNABLE;
	waitq_push(&run_queue, t);
}

/*
 * Wake idle CPUs for the threads still waiting in the run queue, one CPU
 * per thread. Called just before this CPU lets go of the big kernel lock,
 * not when a thread becomes runnable: often this CPU runs that thread
 * itself a moment later (a parent woken by its exiting child, a server
 * woken by a call), and an IPI then would only wake a CPU for nothing.
 */
static void wake_idle_cpus(void)
{
	uint64_t woken = 0;

	for (struct thread *t = run_queue.head; t; t = t->next) {
		for (int i = 0; i < ncpus; i++) {
			struct cpu *c = &cpus[i];
			if (c != this_cpu() && c->online && c->current == &c->idle &&
			    !(woken & 1ull << i) && (t->pinned_cpu < 0 || t->pinned_cpu == i)) {
				woken |= 1ull << i;
				arch_send_ipi(c);
				break;
			}
		}
	}
}

void sched_wake_idle_cpus(void)
{
	if (run_queue.head && sleeping_idle_cpus)
		wake_idle_cpus();
}

void sched_yield(void)
{
	struct thread *t = thread_current();

	if (!run_queue.head)
		return;
	t->state = THREAD_RUNNABLE;
	waitq_push(&run_queue, t);
	schedule();
}

void sched_pin(int cpu)
{
	struct thread *t = thread_current();

	t->pinned_cpu = cpu;
	if (cpu >= 0 && cpu != cpu_id()) {
		t->state = THREAD_RUNNABLE;
		waitq_push(&run_queue, t);
		arch_send_ipi(&cpus[cpu]);
		schedule();
	}
}

static void add_sleeper(struct thread *t, uint64_t ticks)
{
	t->wake_at = arch_timer_now() + ticks;
	t->sleep_next = sleepers;
	sleepers = t;
}

static void remove_sleeper(struct thread *t)
{
	for (struct thread **p = &sleepers; *p; p = &(*p)->sleep_next) {
		if (*p == t) {
			*p = t->sleep_next;
			break;
		}
	}
	t->wake_at = 0;
}

/* Mark t blocked on q; the caller then gives up the CPU. */
static void block_on(struct thread *t, struct waitq *q)
{
	t->state = THREAD_BLOCKED;
	t->wake_reason = 0;
	t->waiting_on = q;
	waitq_push(q, t);
}

int sched_block(struct waitq *q, uint64_t timeout)
{
	struct thread *t = thread_current();

	if (must_leave(t))
		return -EINTR;
	block_on(t, q);
	if (timeout)
		add_sleeper(t, timeout);
	schedule();
	return t->wake_reason;
}

/* Take a blocked thread off whatever it waits on; its sched_block will
 * return `reason`. */
static void unblock(struct thread *t, int reason)
{
	if (t->waiting_on) {
		waitq_remove(t->waiting_on, t);
		t->waiting_on = NULL;
	}
	if (t->wake_at)
		remove_sleeper(t);
	t->wake_reason = reason;
}

static void wake_blocked(struct thread *t, int reason)
{
	unblock(t, reason);
	sched_make_runnable(t);
}

/*
 * Block the current thread on q, as sched_block does, and run t, which
 * was blocked, at once on this CPU (its sched_block returns `reason`).
 * This is the hand-over of synchronous IPC: a call wakes the server and
 * waits for it, a reply wakes the caller and waits for the next call, so
 * the thread to run next is known and the run queue is skipped; t runs on
 * the rest of this time slice. If t may not run on this CPU, or the
 * current thread must leave, t is woken the ordinary way instead.
 */
int sched_block_and_run(struct waitq *q, struct thread *t, int reason)
{
	struct thread *self = thread_current();

	if (must_leave(self) || (t->pinned_cpu >= 0 && t->pinned_cpu != cpu_id())) {
		wake_blocked(t, reason);
		return sched_block(q, 0);
	}
	lockcheck_may_block();
	unblock(t, reason);
	block_on(self, q);
	switch_to(t);
	return self->wake_reason;
}

void sched_wake(struct thread *t)
{
	wake_blocked(t, 0);
}

void sched_wake_with(struct thread *t, int reason)
{
	wake_blocked(t, reason);
}

void sched_wake_all(struct waitq *q)
{
	while (q->head)
		wake_blocked(q->head, 0);
}

int sched_sleep_ticks(uint64_t ticks)
{
	struct thread *t = thread_current();

	if (must_leave(t))
		return -EINTR;
	t->state = THREAD_BLOCKED;
	t->wake_reason = 0;
	add_sleeper(t, ticks);
	schedule();
	return t->wake_reason;
}

void sched_interrupt(struct thread *t)
{
	/* Blocked on nothing: still being set up, not asleep yet. */
	if (t->state == THREAD_BLOCKED && (t->waiting_on || t->wake_at))
		wake_blocked(t, -EINTR);
}

void sched_exit_thread(void)
{
	thread_current()->state = THREAD_DEAD;
	schedule();
	panic("a dead thread ran again");
}

void sched_recall(struct thread *t)
{
	for (int i = 0; i < ncpus; i++)
		if (cpus[i].current == t && &cpus[i] != this_cpu())
			arch_send_ipi(&cpus[i]);
}

void sched_tick(void)
{
	uint64_t now = arch_timer_now();

	for (struct thread *t = sleepers, *next; t; t = next) {
		next = t->sleep_next;
		if (now >= t->wake_at)
			wake_blocked(t, t->waiting_on ? -ETIMEDOUT : 0);
	}
	/* The time slice of whatever user thread runs here is over. (In the
	 * kernel, interrupts are taken only by the idle thread.) */
	if (this_cpu()->current != &this_cpu()->idle)
		this_cpu()->resched = true;
}

void sched_preempt_point(void)
{
	if (this_cpu()->resched) {
		this_cpu()->resched = false;
		sched_yield();
	}
}

bool sched_lock_break_due(void)
{
	return arch_timer_now() - big_kernel_lock.since >=
	       LOCK_BREAK_US * arch_timer_freq() / 1000000;
}

int sched_checkpoint(void)
{
	arch_irq_enable(); /* the tick, IPIs, console input */
	arch_irq_disable();
	sched_preempt_point();
	return must_leave(thread_current()) ? -EINTR : 0;
}

int sched_lock_break(void)
{
	if (sched_lock_break_due()) {
		bkl_release();
		bkl_acquire();
		return sched_checkpoint();
	}
	return must_leave(thread_current()) ? -EINTR : 0;
}

/* When the first sleeper is due, or 0 if nobody sleeps. */
static uint64_t next_wakeup(void)
{
	uint64_t first = 0;

	for (struct thread *t = sleepers; t; t = t->sleep_next)
		if (!first || t->wake_at < first)
			first = t->wake_at;
	return first;
}

/*
 * The idle loop. An idle CPU has no tick: it sleeps until an IPI, a device
 * interrupt, or the deadline of the first sleeping thread. Why tickless: a
 * tick would wake every idle CPU a hundred times a second just to take the
 * big kernel lock and find nothing to do.
 */
__noreturn void sched_idle(void)
{
	for (;;) {
		struct thread *t = runq_take();
		if (t) {
			switch_to(t);
			continue;
		}
		sched_wake_idle_cpus();
		uint64_t wakeup = next_wakeup();
		timer_set(wakeup ? wakeup : UINT64_MAX);
		/* Why the lock is released before sleeping: a sleeping CPU
		 * holding it would keep every other CPU out of the kernel. */
		sleeping_idle_cpus++;
		bkl_release();
		trace(TRACE_IDLE_ENTER, 0);
		arch_wait_for_interrupt();
		/* Woken, most often by an IPI: drop it now, or it would stay
		 * pending (interrupts are masked until the lock is ours) and
		 * end every nap in bkl_acquire at once, turning it into a spin. */
		arch_ipi_clear();
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (panic_in_progress)
			arch_cpu_stop();
		trace(TRACE_IDLE_EXIT, 0);
		bkl_acquire();
		sleeping_idle_cpus--;
		arch_irq_enable(); /* take the pending interrupt here */
		arch_irq_disable();
	}
}
