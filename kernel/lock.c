/*
 * Ticket spinlocks, and the big kernel lock (BKL) built from one.
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
#include "panic.h"
#include "trace.h"

/* Spins before a BKL waiter naps (see bkl_nap). */
#define SPINS_BEFORE_NAP 2000

struct spinlock big_kernel_lock = SPINLOCK_INIT_RANK("big kernel lock", LOCK_RANK_BKL);

/* ---- The lock-order checker (lock.h) ----------------------------------- */

#define LOCKCHECK_DEPTH 8 /* spinlocks one CPU may hold at once, the BKL aside */

bool lockcheck_enabled;

/* Each CPU's held spinlocks, in the order taken, and where each was taken. */
static struct held_lock {
	const struct spinlock *lock;
	const char *file;
	int line;
} held[MAX_CPUS][LOCKCHECK_DEPTH];
static int nheld[MAX_CPUS];

void spin_init(struct spinlock *lock, const char *name, int rank)
{
	*lock = (struct spinlock)SPINLOCK_INIT_RANK(name, rank);
}

/* The held lock of highest rank on this CPU, or NULL. */
static const struct held_lock *highest_held(int cpu)
{
	const struct held_lock *top = NULL;

	for (int i = 0; i < nheld[cpu]; i++)
		if (!top || held[cpu][i].lock->rank >= top->lock->rank)
			top = &held[cpu][i];
	return top;
}

/* Before this CPU waits for `lock` (taken at file:line, or at pc if file
 * is NULL): a lock out of order panics before it can deadlock. */
static void lockcheck_acquire(const struct spinlock *lock, const char *file, int line, uintptr_t pc)
{
	int cpu = cpu_id();
	const struct held_lock *top = highest_held(cpu);

	if (panic_in_progress || !top || top->lock->rank < lock->rank)
		return;
	if (file)
		panic("lock order: cpu %d takes the %s (rank %d) at %s:%d while holding the %s "
		      "(rank %d) taken at %s:%d",
		      cpu, lock->name, lock->rank, file, line, top->lock->name, top->lock->rank,
		      top->file, top->line);
	panic("lock order: cpu %d takes the %s (rank %d) at pc %p while holding the %s "
	      "(rank %d) taken at %s:%d",
	      cpu, lock->name, lock->rank, (void *)pc, top->lock->name, top->lock->rank, top->file,
	      top->line);
}

static void lockcheck_push(const struct spinlock *lock, const char *file, int line)
{
	int cpu = cpu_id();

	if (nheld[cpu] == LOCKCHECK_DEPTH)
		panic("lockcheck: cpu %d holds more than %d spinlocks (taking the %s at %s:%d)",
		      cpu, LOCKCHECK_DEPTH, lock->name, file, line);
	held[cpu][nheld[cpu]++] = (struct held_lock){ lock, file, line };
}

static void lockcheck_pop(const struct spinlock *lock)
{
	int cpu = cpu_id();

	for (int i = nheld[cpu] - 1; i >= 0; i--) {
		if (held[cpu][i].lock == lock) {
			held[cpu][i] = held[cpu][--nheld[cpu]];
			return;
		}
	}
}

void lockcheck_may_block_at(const char *file, int line)
{
	int cpu = cpu_id();
	const struct held_lock *top = highest_held(cpu);

	if (panic_in_progress || !top)
		return;
	panic("lock held while blocking: cpu %d blocks at %s:%d holding the %s (rank %d) taken "
	      "at %s:%d",
	      cpu, file, line, top->lock->name, top->lock->rank, top->file, top->line);
}

/* CPUs napping in bkl_nap, one bit each, and the ticket each waits for. */
uint64_t bkl_nappers;
static uint32_t nap_ticket[MAX_CPUS];

static __noreturn void spin_timeout(struct spinlock *lock, uint64_t waited)
{
	int holder = READ_ONCE(lock->holder);

	/* The holder may be stuck holding the console lock too. */
	panic("deadlock: cpu %d spun %llu ms on the %s, held by cpu %d "
	      "(taken at pc %p)",
	      cpu_id(), (unsigned long long)(waited * 1000 / arch_timer_freq()), lock->name, holder,
	      (void *)READ_ONCE(lock->holder_pc));
}

/*
 * Wait for the BKL: spin a while, then nap. Why nap: under QEMU each CPU
 * is a host thread, and a host with fewer cores than the guest has CPUs
 * deschedules some of them. A waiter that spins on then burns the host
 * core the holder needs to finish, and with tickets everyone behind a
 * descheduled waiter waits too: one hand-over can cost a host time slice
 * (milliseconds). A napping waiter sleeps in wfi, which frees its host
 * core, until the CPU that releases the lock sends it an IPI (bkl_release)
 * or the tick or an interrupt wakes it. Real hardware rarely naps here:
 * kernel work under the BKL is short, the first spins nearly always win.
 *
 * The nap cannot miss its wake-up: the waiter announces itself, then
 * checks the ticket once more; the releaser advances the ticket, then
 * looks for nappers. Full barriers on both sides order these steps, so
 * at least one of them sees the other. A wake-up IPI still pending when
 * the lock comes is taken later and does nothing (ipi_handle).
 *
 * wfi returns at once while any interrupt is pending, masked or not. The
 * interrupt that brought this CPU in from user mode (the tick, an IPI) is
 * still pending here: it is handled only once the lock is ours. So the nap
 * drops a pending IPI, and arms the timer for the tick only if the tick is
 * still to come; left as they were, every nap would end at once and the
 * waiter would spin on the host core the holder needs. The IPI that ends
 * the nap is dropped too: left pending, it would bring the CPU straight
 * back from user mode into the kernel, through the lock, for nothing.
 *
 * Only the next CPU in line spins (lock_wait): the others nap at once, so
 * that on a host with fewer cores than the guest has CPUs, waiters that
 * cannot get the lock soon do not take host time from the two that
 * matter, the holder and the next in line.
 */
static void bkl_nap(struct cpu *c, uint32_t ticket, uint64_t deadline)
{
	uint64_t me = 1ull << c->id;
	uint64_t wake = c->timer_at > arch_timer_now() ? MIN(c->timer_at, deadline) : deadline;

	arch_ipi_clear();
	nap_ticket[c->id] = ticket;
	__atomic_fetch_or(&bkl_nappers, me, __ATOMIC_SEQ_CST);
	if (!ticket_served(&big_kernel_lock, ticket) && !READ_ONCE(panic_in_progress)) {
		arch_timer_set(wake); /* the spin timeout at the latest */
		arch_wait_for_interrupt();
		arch_timer_set(c->timer_at); /* a tick already due is taken after the lock */
	}
	__atomic_fetch_and(&bkl_nappers, ~me, __ATOMIC_SEQ_CST);
	arch_ipi_clear(); /* the wake-up: taken later, it would cost a trip through the lock */
}

/*
 * Wait until the ticket is served; returns the ticks spent waiting. A
 * waiter for the BKL (napper: its CPU) naps once it has spun a while.
 * Both lock paths come here only when the ticket was not served at once,
 * so this is also where a CPU that already holds the lock is caught: it
 * would wait for itself forever.
 */
static uint64_t lock_wait(struct spinlock *lock, uint32_t ticket, struct cpu *napper)
{
	uint64_t start = arch_timer_now();
	uint64_t limit = SPIN_TIMEOUT_S * arch_timer_freq();

	if (spin_holding(lock))
		panic("recursive lock: cpu %d already holds the %s (taken at pc %p)", cpu_id(),
		      lock->name, (void *)lock->holder_pc);
	for (int spins = 0; !ticket_served(lock, ticket); spins++) {
		if (panic_in_progress)
			arch_cpu_stop();
		uint64_t waited = arch_timer_now() - start;
		if (waited > limit)
			spin_timeout(lock, waited);
		if (napper && (spins >= SPINS_BEFORE_NAP ||
			       ticket - READ_ONCE(lock->serving) > 1)) /* not next: nap now */
			bkl_nap(napper, ticket, start + limit + 1);
	}
	return arch_timer_now() - start;
}

void spin_lock_at(struct spinlock *lock, const char *file, int line)
{
	if (lockcheck_enabled && !spin_holding(lock)) /* held: lock_wait says so */
		lockcheck_acquire(lock, file, line, 0);
	uint32_t ticket = ticket_take(lock);

	if (!ticket_served(lock, ticket))
		lock_wait(lock, ticket, NULL);
	lock->holder = cpu_id();
	lock->holder_pc = (uintptr_t)__builtin_return_address(0);
	if (lockcheck_enabled)
		lockcheck_push(lock, file, line);
}

void spin_unlock(struct spinlock *lock)
{
	if (!spin_holding(lock))
		panic("unlock of the %s by cpu %d, which does not hold it", lock->name, cpu_id());
	if (lockcheck_enabled)
		lockcheck_pop(lock);
	ticket_pass(lock);
}

bool spin_holding(const struct spinlock *lock)
{
	return READ_ONCE(lock->holder) == cpu_id();
}

/*
 * The big kernel lock is a ticket lock like the others, plus what makes
 * the lock lesson measurable: per-CPU counters (lockstat) and trace
 * events (the timeline). A waiter spins, then naps (bkl_nap), so the
 * releaser wakes a napping next-in-line.
 *
 * The trap path takes and releases the lock through inlined copies of
 * these two functions (fastpath.h), which must do exactly what they do.
 * (The copies leave out the lock-order check: a CPU coming in from user
 * mode holds no spinlock.)
 */
void bkl_acquire(void)
{
	struct cpu *c = this_cpu();
	struct spinlock *lock = &big_kernel_lock;

	if (lockcheck_enabled)
		lockcheck_acquire(lock, NULL, 0, (uintptr_t)__builtin_return_address(0));
	uint32_t ticket = ticket_take(lock);

	if (!ticket_served(lock, ticket))
		bkl_wait(c, ticket); /* held by another CPU, or by this one: a bug */
	lock->holder = c->id;
	lock->holder_pc = (uintptr_t)__builtin_return_address(0);
	lock->since = arch_timer_now();
	c->bkl_stats.acquired++;
	trace(TRACE_LOCK_ACQUIRE, 0);
}

void bkl_release(void)
{
	struct cpu *c = this_cpu();
	struct spinlock *lock = &big_kernel_lock;
	uint64_t held = arch_timer_now() - lock->since;

	if (lock->holder != c->id)
		bkl_release_unheld();
	c->bkl_stats.held_ticks += held;
	if (held > c->bkl_stats.max_hold)
		c->bkl_stats.max_hold = held;
	trace(TRACE_LOCK_RELEASE, 0);
	uint32_t serving = ticket_pass(lock);
	/* A napping waiter sets its bit, then checks its ticket; we pass the
	 * ticket, then check the bits: with a full barrier on both sides, one
	 * of the two sees the other (bkl_nap). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&bkl_nappers, __ATOMIC_RELAXED))
		bkl_wake_next(serving);
}

/* bkl_acquire found the lock taken: wait, and count the wait. */
void bkl_wait(struct cpu *c, uint32_t ticket)
{
	trace(TRACE_LOCK_WAIT, 0);
	uint64_t waited = lock_wait(&big_kernel_lock, ticket, c);
	c->bkl_stats.contended++;
	c->bkl_stats.spin_ticks += waited;
}

void bkl_release_unheld(void)
{
	panic("bkl_release by cpu %d, which does not hold the lock", cpu_id());
}

/* After a release: wake the napping CPU whose ticket is now served. */
void bkl_wake_next(uint32_t serving)
{
	/* Acquire: a napper wrote its ticket before it set its bit. */
	uint64_t nappers = __atomic_load_n(&bkl_nappers, __ATOMIC_ACQUIRE);

	for (int i = 0; nappers; i++, nappers >>= 1)
		if ((nappers & 1) && READ_ONCE(nap_ticket[i]) == serving) {
			arch_send_ipi(&cpus[i]);
			return;
		}
}
