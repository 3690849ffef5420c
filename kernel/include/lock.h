/*
 * Spinlocks and the big kernel lock (BKL).
 *
 * A spinlock is a ticket lock: each CPU takes a ticket and waits until the
 * lock serves it, so waiters get the lock in arrival order. It records the
 * holder CPU and the PC where it was taken, for diagnosis: taking a lock a
 * CPU already holds panics at once, and a spin that lasts far too long
 * panics naming both CPUs.
 *
 * The lock order: every spinlock has a rank (a class of locks shares one,
 * with its name), and a CPU takes locks in rising rank order only: a lock
 * whose rank is not above that of every spinlock the CPU holds is out of
 * order, and two CPUs taking two locks in opposite orders can deadlock.
 * The BKL is rank 0, always the outermost; the console lock is the
 * innermost, so printk works under any lock. A spinlock other than the
 * BKL must not be held by a thread that blocks: the CPU would go to
 * another thread with it. The checker (lockcheck=on on the kernel command
 * line, docs/gil.md) panics on both mistakes, naming both places.
 *
 * The BKL rule: a CPU executing kernel code holds the BKL. It is taken on
 * every entry from user mode and by an idle CPU that wakes up, and released
 * on every return to user mode and before an idle CPU sleeps.
 */
#ifndef WEFT_LOCK_H
#define WEFT_LOCK_H

#include "types.h"

struct spinlock {
	uint32_t next;       /* next ticket to hand out */
	uint32_t serving;    /* ticket that owns the lock */
	int holder;          /* CPU id holding it, or -1 */
	uintptr_t holder_pc; /* where the holder took it */
	uint64_t since;      /* timer tick when it was taken */
	const char *name;    /* its class: locks of one class share a rank */
	int rank;            /* LOCK_RANK_*: locks are taken in rising rank */
};

/* The ranks of the kernel's lock classes. The gaps are for finer locks. */
enum lock_rank {
	LOCK_RANK_BKL = 0,       /* the big kernel lock: outermost */
	LOCK_RANK_DEFAULT = 50,  /* a lock nobody has ranked yet */
	LOCK_RANK_CONSOLE = 100, /* printk's: innermost */
};

#define SPINLOCK_INIT_RANK(n, r)                       \
	{                                              \
		.holder = -1, .name = (n), .rank = (r) \
	}
#define SPINLOCK_INIT(n) SPINLOCK_INIT_RANK(n, LOCK_RANK_DEFAULT)

/* Give a lock made at run time its class (name) and rank, unlocked. */
void spin_init(struct spinlock *lock, const char *name, int rank);

/* The ticket protocol, shared by spin_lock and the BKL (bkl.h): take a
 * ticket; the lock is yours when it serves that ticket; passing it on
 * serves the next one (returned, for the BKL's napping waiters). */
static inline uint32_t ticket_take(struct spinlock *lock)
{
	return __atomic_fetch_add(&lock->next, 1, __ATOMIC_RELAXED);
}

static inline bool ticket_served(struct spinlock *lock, uint32_t ticket)
{
	return __atomic_load_n(&lock->serving, __ATOMIC_ACQUIRE) == ticket;
}

static inline uint32_t ticket_pass(struct spinlock *lock)
{
	uint32_t next = lock->serving + 1;

	lock->holder = -1;
	__atomic_store_n(&lock->serving, next, __ATOMIC_RELEASE);
	return next;
}

/* A CPU that spins this long (seconds) is deadlocked: panic. */
#define SPIN_TIMEOUT_S 10

/* spin_lock records where it was called, for the checker's reports. */
#define spin_lock(lock) spin_lock_at((lock), __FILE__, __LINE__)
void spin_lock_at(struct spinlock *lock, const char *file, int line);
void spin_unlock(struct spinlock *lock);
bool spin_holding(const struct spinlock *lock); /* by this CPU? */

/*
 * The lock-order checker, off unless lockcheck=on is on the kernel command
 * line (main.c sets lockcheck_enabled): when off, each spin_lock and
 * spin_unlock pays one test of the flag. When on, every CPU keeps a stack
 * of the spinlocks it holds (the BKL aside: it is handed over at every
 * switch) with the place each was taken, and panics, naming both places:
 * - on a spin_lock whose rank is not above every lock held (spin_lock);
 * - on taking the BKL while holding any other spinlock (bkl_acquire);
 * - on blocking (lockcheck_may_block, which the scheduler calls before a
 *   thread gives up its CPU) while holding a spinlock other than the BKL.
 */
extern bool lockcheck_enabled;
#define lockcheck_may_block()                                       \
	do {                                                        \
		if (lockcheck_enabled)                              \
			lockcheck_may_block_at(__FILE__, __LINE__); \
	} while (0)
void lockcheck_may_block_at(const char *file, int line);

/* Per-CPU counters of the big kernel lock, in timer ticks. */
struct lock_stats {
	uint64_t acquired;   /* acquisitions */
	uint64_t contended;  /* acquisitions that had to wait */
	uint64_t spin_ticks; /* time spent waiting */
	uint64_t held_ticks; /* time spent holding */
	uint64_t max_hold;   /* longest single hold */
};

extern struct spinlock big_kernel_lock;

/* Whether this CPU holds the BKL is spin_holding(&big_kernel_lock). */
void bkl_acquire(void);
void bkl_release(void);

/* The parts of the two that the trap path's copies (fastpath.h) call. */
struct cpu;
extern uint64_t bkl_nappers; /* CPUs napping in bkl_nap, one bit each */
void bkl_wait(struct cpu *c, uint32_t ticket);
__noreturn void bkl_release_unheld(void);
void bkl_wake_next(uint32_t serving);

#endif
