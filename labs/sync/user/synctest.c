/*
 * synctest: the sync lab's tests of libweft's mutex, condition variable,
 * semaphore and barrier, in the usertests format (weft_test.h).
 *
 *   synctest               every case
 *   synctest name...       only the named cases
 *
 * Two cases for each primitive:
 *
 *   <name>_sleeps  Threads that must wait sleep in the kernel. They are
 *                  pinned to a CPU of their own (WAIT_CPU), which must then
 *                  stay idle, and an idle CPU takes the big kernel lock
 *                  (almost) never: lockstat's per-CPU count shows it. A
 *                  waiter that yields or polls enters the kernel again and
 *                  again, one that spins is interrupted by every tick, and
 *                  either makes the count climb. Then each wake-up must wake
 *                  whom it promises: unlock and post one thread, signal one
 *                  waiter, broadcast and the last arrival at a barrier all.
 *                  And an operation nobody waits for stays in user space.
 *
 *   <name>_stress  Many hand-overs on every CPU. A wake-up lost in the gap
 *                  between deciding to sleep and sleeping leaves a thread
 *                  asleep for good: the case watches the progress and
 *                  fails, saying where it stopped, when it stands still for
 *                  STALL_MS, rather than hang.
 *
 * Nothing here measures time as a score: time only bounds how long the
 * cases wait for what must happen.
 */
#include <stdio.h>
#include <string.h>

#include "atomic.h"
#include "uapi/lockstat.h"
#include "weft_test.h"
#include "weft_thread.h"

#define CASE_TIMEOUT_MS 30000
#define NS_PER_MS 1000000ul
#define MAX_CPUS 64

/* The CPU the main thread keeps, and the one the sleepers are pinned to. */
#define MAIN_CPU 0
#define WAIT_CPU 1
/* Threads that wait together in the _sleeps cases. */
#define WAITERS 6
/* After the waiters have arrived: time to fall asleep, then the window in
 * which their CPU is watched. An idle CPU wakes for the main thread's own
 * sleeps (the first sleeper's deadline wakes every idle CPU) and little
 * else; a spinning one takes every tick (TICK_HZ, 100 a second), a
 * yielding one thousands. */
#define SETTLE_MS 100
#define WINDOW_MS 500
#define QUIET_MAX_ACQUISITIONS 12
/* Operations that nobody waits for, done in a row: they may enter the
 * kernel only for the ticks that fall among them. */
#define FAST_PATH_OPS 20000
#define FAST_PATH_MAX_ACQUISITIONS (FAST_PATH_OPS / 20)
/* How long a wake-up may take to show, and how long to look for wake-ups
 * that must not happen. */
#define WAKE_MS 3000
#define AFTER_WAKE_MS 100
/* A _stress case fails when its progress stands still this long. */
#define STALL_MS 3000
#define POLL_MS 5

/* ---- helpers ------------------------------------------------------------ */

static int online_cpus(void)
{
	return CPU_INFO_ONLINE(cpu_info());
}

static void pin(int cpu)
{
	int err = cpu_pin(cpu);

	CHECK(err == 0, "cpu_pin(%d) returned %s", cpu, test_result_text(err));
}

static int spawn(long (*fn)(void *), void *arg)
{
	int tid = thread_spawn(fn, arg);

	CHECK(tid > 0, "thread_spawn returned %s", test_result_text(tid));
	return tid;
}

static void join_all(const int *tids, int n)
{
	for (int i = 0; i < n; i++) {
		int err = thread_join(tids[i], NULL);
		CHECK(err == 0, "thread_join(%d) returned %s", tids[i], test_result_text(err));
	}
}

static unsigned long ms_since(unsigned long t0_ns)
{
	return (clock_ns() - t0_ns) / NS_PER_MS;
}

/* How many times `cpu` has taken the big kernel lock since boot. */
static unsigned long lock_acquisitions(int cpu)
{
	static struct lock_cpu_stats stats[MAX_CPUS];
	long n = syscall6(SYS_lockstat, (long)stats, MAX_CPUS, 0, 0, 0, 0);

	CHECK(n > cpu, "lockstat returned %s", test_result_text(n));
	return stats[cpu].acquired;
}

/* Waits until *word reaches want; fails after WAKE_MS with `what`. */
static void wait_for_count(int *word, int want, const char *what)
{
	unsigned long t0 = clock_ns();

	while (atomic_read(word) < want) {
		CHECK(ms_since(t0) < WAKE_MS, "%s: %d of %d after %d ms", what, atomic_read(word),
		      want, WAKE_MS);
		sleep_ms(1);
	}
}

/* The main thread on MAIN_CPU, and room on WAIT_CPU for the sleepers. */
static void sleepers_setup(void)
{
	CHECK(online_cpus() > WAIT_CPU, "needs at least %d CPUs, %d online", WAIT_CPU + 1,
	      online_cpus());
	pin(MAIN_CPU);
}

/*
 * Once `count` waiters have said they are about to wait (*arrived), they
 * must fall asleep and leave WAIT_CPU idle: it may take the big kernel
 * lock at most QUIET_MAX_ACQUISITIONS times in WINDOW_MS.
 */
static void expect_asleep(int *arrived, int count, const char *how)
{
	wait_for_count(arrived, count, "waiters started");
	sleep_ms(SETTLE_MS);
	unsigned long before = lock_acquisitions(WAIT_CPU);
	sleep_ms(WINDOW_MS);
	unsigned long taken = lock_acquisitions(WAIT_CPU) - before;
	printf("synctest: %s: %d threads %s: CPU %d took the kernel lock %lu times in %d ms\n",
	       test_case_name, count, how, WAIT_CPU, taken, WINDOW_MS);
	CHECK(taken <= QUIET_MAX_ACQUISITIONS,
	      "%d threads %s kept CPU %d busy: it took the kernel lock %lu times in %d ms, an idle "
	      "CPU at most %d; they spin or poll instead of sleeping in futex_wait",
	      count, how, WAIT_CPU, taken, WINDOW_MS, QUIET_MAX_ACQUISITIONS);
}

/* Runs op FAST_PATH_OPS times on the caller's CPU: it must stay in user
 * space (only the timer's ticks may take the lock meanwhile). */
static void expect_fast_path(void (*op)(void), const char *what)
{
	int cpu = CPU_INFO_CURRENT(cpu_info());
	unsigned long before = lock_acquisitions(cpu);

	for (int i = 0; i < FAST_PATH_OPS; i++)
		op();
	unsigned long taken = lock_acquisitions(cpu) - before;
	printf("synctest: %s: %d times %s, nobody waiting: %lu kernel lock acquisitions\n",
	       test_case_name, FAST_PATH_OPS, what, taken);
	CHECK(taken <= FAST_PATH_MAX_ACQUISITIONS,
	      "%d times %s with nobody waiting entered the kernel %lu times: that needs no "
	      "system call",
	      FAST_PATH_OPS, what, taken);
}

/*
 * Waits for *progress to reach goal while the threads work. Fails if it
 * stands still for STALL_MS: some thread sleeps that should have been
 * woken (or never got the CPU back).
 */
static void watch_progress(int *progress, int goal, const char *what)
{
	int last = atomic_read(progress);
	unsigned long since = clock_ns();

	while (last < goal) {
		sleep_ms(POLL_MS);
		int now = atomic_read(progress);
		if (now != last) {
			last = now;
			since = clock_ns();
		}
		CHECK(ms_since(since) < STALL_MS,
		      "%s: stuck at %d of %d for %d ms; a wake-up was lost (or a thread never "
		      "got the lock back)",
		      what, last, goal, STALL_MS);
	}
}

/* Stress threads: two a CPU, each pinned to its own. */
static int stress_threads(void)
{
	int n = 2 * online_cpus();

	return n > MAX_CPUS ? MAX_CPUS : n;
}

/* Some work while holding a lock, so that others find it held and wait. */
static void busy_for(int spins)
{
	for (int i = 0; i < spins; i++)
		cpu_relax();
}

/* ---- mutex -------------------------------------------------------------- */

static struct mutex held = MUTEX_INIT;
static int mutex_arrived, mutex_got, mutex_inside;

static long mutex_sleeper(void *arg)
{
	(void)arg;
	pin(WAIT_CPU);
	atomic_add(&mutex_arrived, 1);
	mutex_lock(&held);
	CHECK(atomic_add(&mutex_inside, 1) == 1, "two threads hold the mutex at once");
	atomic_add(&mutex_got, 1);
	busy_for(1000);
	atomic_add(&mutex_inside, -1);
	mutex_unlock(&held);
	return 0;
}

static struct mutex lone = MUTEX_INIT;

static void lock_unlock(void)
{
	mutex_lock(&lone);
	mutex_unlock(&lone);
}

/*
 * Threads that find the mutex held sleep; each unlock lets one more in,
 * and all get it in the end. A free mutex is taken and let go without a
 * system call.
 */
static void case_mutex_sleeps(void)
{
	int tids[WAITERS] = { 0 };

	sleepers_setup();
	expect_fast_path(lock_unlock, "mutex_lock and mutex_unlock");
	mutex_lock(&held);
	for (int i = 0; i < WAITERS; i++)
		tids[i] = spawn(mutex_sleeper, NULL);
	expect_asleep(&mutex_arrived, WAITERS, "waiting in mutex_lock");
	CHECK(atomic_read(&mutex_got) == 0, "%d threads took a mutex that was held",
	      atomic_read(&mutex_got));
	mutex_unlock(&held);
	wait_for_count(&mutex_got, WAITERS, "threads that got the mutex after its unlock");
	join_all(tids, WAITERS);
	CHECK(mutex_trylock(&held), "the mutex is not free when every thread has let go");
	mutex_unlock(&held);
}

#define MUTEX_STRESS_ITERATIONS 3000
/* Every this many increments, a thread holds the lock a little longer. */
#define MUTEX_STRESS_HOLD_EVERY 16
#define MUTEX_STRESS_HOLD_SPINS 2000

static struct mutex counter_lock = MUTEX_INIT;
static volatile long counter;
static int counter_progress;

static long counter_worker(void *arg)
{
	pin((int)(long)arg % online_cpus());
	for (int i = 0; i < MUTEX_STRESS_ITERATIONS; i++) {
		mutex_lock(&counter_lock);
		long seen = counter;
		if (i % MUTEX_STRESS_HOLD_EVERY == 0)
			busy_for(MUTEX_STRESS_HOLD_SPINS);
		counter = seen + 1;
		mutex_unlock(&counter_lock);
		atomic_add(&counter_progress, 1);
	}
	return 0;
}

/* Two threads a CPU add to one counter under one mutex: nothing lost,
 * nobody left asleep. */
static void case_mutex_stress(void)
{
	int n = stress_threads();
	int tids[MAX_CPUS] = { 0 };
	int goal = n * MUTEX_STRESS_ITERATIONS;

	for (int i = 0; i < n; i++)
		tids[i] = spawn(counter_worker, (void *)(long)i);
	watch_progress(&counter_progress, goal, "mutex counter increments");
	join_all(tids, n);
	CHECK(counter == goal, "the counter is %ld, expected %d: the mutex let two in at once",
	      counter, goal);
	CHECK(mutex_trylock(&counter_lock), "the mutex is not free when every thread has let go");
}

/* ---- condition variable --------------------------------------------------- */

static struct mutex cv_lock = MUTEX_INIT;
static struct condvar cv = CONDVAR_INIT;
static int cv_tickets, cv_arrived, cv_returns, cv_done;

static long condvar_sleeper(void *arg)
{
	(void)arg;
	pin(WAIT_CPU);
	mutex_lock(&cv_lock);
	atomic_add(&cv_arrived, 1);
	while (cv_tickets == 0) {
		condvar_wait(&cv, &cv_lock);
		atomic_add(&cv_returns, 1);
	}
	cv_tickets--;
	mutex_unlock(&cv_lock);
	atomic_add(&cv_done, 1);
	return 0;
}

static struct condvar nobody = CONDVAR_INIT;

static void signal_nobody(void)
{
	condvar_signal(&nobody);
	condvar_broadcast(&nobody);
}

static int timed_result, timed_ready, timed_done;

static long timed_sleeper(void *arg)
{
	(void)arg;
	pin(WAIT_CPU);
	mutex_lock(&cv_lock);
	atomic_write(&timed_ready, 1);
	atomic_write(&timed_result, condvar_timedwait(&cv, &cv_lock, 60000 * NS_PER_MS));
	mutex_unlock(&cv_lock);
	atomic_write(&timed_done, 1);
	return 0;
}

/*
 * Waiters sleep, and do not return from condvar_wait while nobody
 * signals. A signal wakes one of them, a broadcast all the others, and a
 * signal ends a timed wait long before its timeout. A signal or broadcast
 * with nobody waiting makes no system call.
 */
static void case_condvar_sleeps(void)
{
	int tids[WAITERS + 1] = { 0 };

	sleepers_setup();
	expect_fast_path(signal_nobody, "condvar_signal and condvar_broadcast");
	for (int i = 0; i < WAITERS; i++)
		tids[i] = spawn(condvar_sleeper, NULL);
	expect_asleep(&cv_arrived, WAITERS, "waiting in condvar_wait");
	CHECK(atomic_read(&cv_returns) == 0,
	      "condvar_wait returned %d times while nobody signalled; waiters should sleep",
	      atomic_read(&cv_returns));

	mutex_lock(&cv_lock);
	cv_tickets = 1;
	condvar_signal(&cv);
	mutex_unlock(&cv_lock);
	wait_for_count(&cv_done, 1, "waiters done after one condvar_signal");
	sleep_ms(AFTER_WAKE_MS);
	CHECK(atomic_read(&cv_returns) == 1,
	      "one condvar_signal made condvar_wait return %d times among %d sleeping waiters; "
	      "it wakes one",
	      atomic_read(&cv_returns), WAITERS);

	mutex_lock(&cv_lock);
	cv_tickets = WAITERS - 1;
	condvar_broadcast(&cv);
	mutex_unlock(&cv_lock);
	wait_for_count(&cv_done, WAITERS, "waiters done after condvar_broadcast");
	join_all(tids, WAITERS);

	tids[WAITERS] = spawn(timed_sleeper, NULL);
	wait_for_count(&timed_ready, 1, "timed waiter started");
	mutex_lock(&cv_lock); /* held by the waiter until it waits */
	condvar_signal(&cv);
	mutex_unlock(&cv_lock);
	wait_for_count(&timed_done, 1, "condvar_timedwait (60 s) ended by a signal");
	test_expect(atomic_read(&timed_result), 0, "condvar_timedwait ended by a signal");
	join_all(&tids[WAITERS], 1);
}

#define PINGPONG_ROUNDS 600
#define QUEUE_ITEMS_EACH 500
#define RING_TURNS 1500

/* Two threads on two CPUs take turns, each waking the other by a signal. */
static struct pingpong {
	struct mutex lock;
	struct condvar turned;
	int turn;
} pairs[MAX_CPUS / 2];
static int pingpong_progress;

static long pingpong_player(void *arg)
{
	long id = (long)arg;
	struct pingpong *p = &pairs[id / 2];
	int me = (int)(id % 2);

	pin((int)id % online_cpus());
	for (int r = 0; r < PINGPONG_ROUNDS; r++) {
		mutex_lock(&p->lock);
		while (p->turn != me)
			condvar_wait(&p->turned, &p->lock);
		p->turn = !me;
		condvar_signal(&p->turned);
		mutex_unlock(&p->lock);
		atomic_add(&pingpong_progress, 1);
	}
	return 0;
}

/* A one-slot queue: producers and consumers on every CPU, signals only. */
static struct mutex slot_lock = MUTEX_INIT;
static struct condvar slot_empty = CONDVAR_INIT, slot_full = CONDVAR_INIT;
static int slot_used, slot_progress;
static long slot_value, slot_sum;

static long slot_producer(void *arg)
{
	long id = (long)arg;

	pin((int)id % online_cpus());
	for (long i = 1; i <= QUEUE_ITEMS_EACH; i++) {
		mutex_lock(&slot_lock);
		while (slot_used)
			condvar_wait(&slot_empty, &slot_lock);
		slot_value = i;
		slot_used = 1;
		condvar_signal(&slot_full);
		mutex_unlock(&slot_lock);
	}
	return 0;
}

static long slot_consumer(void *arg)
{
	long id = (long)arg;

	pin((int)id % online_cpus());
	for (long i = 0; i < QUEUE_ITEMS_EACH; i++) {
		mutex_lock(&slot_lock);
		while (!slot_used)
			condvar_wait(&slot_full, &slot_lock);
		slot_sum += slot_value;
		slot_used = 0;
		condvar_signal(&slot_empty);
		mutex_unlock(&slot_lock);
		atomic_add(&slot_progress, 1);
	}
	return 0;
}

/* Threads pass a turn round a ring on one condition variable: only the
 * one whose turn it is may go on, so each pass needs a broadcast. */
static struct mutex ring_lock = MUTEX_INIT;
static struct condvar ring_turned = CONDVAR_INIT;
static int ring_turn, ring_size, ring_progress;

static long ring_member(void *arg)
{
	int me = (int)(long)arg;

	pin(me % online_cpus());
	for (;;) {
		mutex_lock(&ring_lock);
		while (ring_turn % ring_size != me && ring_turn < RING_TURNS)
			condvar_wait(&ring_turned, &ring_lock);
		if (ring_turn >= RING_TURNS) {
			mutex_unlock(&ring_lock);
			return 0;
		}
		ring_turn++;
		atomic_write(&ring_progress, ring_turn);
		condvar_broadcast(&ring_turned);
		mutex_unlock(&ring_lock);
	}
}

/*
 * On every CPU: a ring passes a turn by broadcasts, pairs bounce a turn
 * by signals, and producers and consumers share a one-slot queue. Each
 * hand-over needs a wake-up that must not be lost.
 */
static void case_condvar_stress(void)
{
	int n = stress_threads();
	int tids[MAX_CPUS] = { 0 };
	long want = 0;

	ring_size = n;
	for (int i = 0; i < n; i++)
		tids[i] = spawn(ring_member, (void *)(long)i);
	watch_progress(&ring_progress, RING_TURNS, "turns passed round a ring by broadcast");
	join_all(tids, n);

	for (int i = 0; i < n; i++)
		tids[i] = spawn(pingpong_player, (void *)(long)i);
	watch_progress(&pingpong_progress, n * PINGPONG_ROUNDS, "signal ping-pong rounds");
	join_all(tids, n);

	for (int i = 0; i < n; i++)
		tids[i] = spawn(i % 2 ? slot_consumer : slot_producer, (void *)(long)i);
	watch_progress(&slot_progress, n / 2 * QUEUE_ITEMS_EACH, "items through a one-slot queue");
	join_all(tids, n);
	for (long i = 1; i <= QUEUE_ITEMS_EACH; i++)
		want += i * (n / 2);
	CHECK(slot_sum == want, "the consumers took items summing to %ld, expected %ld", slot_sum,
	      want);
}

/* ---- semaphore ------------------------------------------------------------- */

static struct semaphore gate = SEMAPHORE_INIT(0);
static int sem_arrived, sem_passed;

static long semaphore_sleeper(void *arg)
{
	(void)arg;
	pin(WAIT_CPU);
	atomic_add(&sem_arrived, 1);
	semaphore_wait(&gate);
	atomic_add(&sem_passed, 1);
	return 0;
}

static struct semaphore plenty = SEMAPHORE_INIT(1);

static void post_and_wait(void)
{
	semaphore_post(&plenty);
	semaphore_wait(&plenty);
}

/*
 * Waiters on a semaphore at 0 sleep; one post lets exactly one through,
 * and as many posts as waiters let them all. A post nobody waits for,
 * and a wait that need not wait, make no system call.
 */
static void case_semaphore_sleeps(void)
{
	int tids[WAITERS] = { 0 };

	sleepers_setup();
	expect_fast_path(post_and_wait, "semaphore_post and semaphore_wait");
	for (int i = 0; i < WAITERS; i++)
		tids[i] = spawn(semaphore_sleeper, NULL);
	expect_asleep(&sem_arrived, WAITERS, "waiting in semaphore_wait");
	CHECK(atomic_read(&sem_passed) == 0, "%d threads passed a semaphore at 0",
	      atomic_read(&sem_passed));

	semaphore_post(&gate);
	wait_for_count(&sem_passed, 1, "waiters through after one semaphore_post");
	sleep_ms(AFTER_WAKE_MS);
	CHECK(atomic_read(&sem_passed) == 1, "one post let %d threads through",
	      atomic_read(&sem_passed));

	for (int i = 1; i < WAITERS; i++)
		semaphore_post(&gate);
	wait_for_count(&sem_passed, WAITERS, "waiters through after one post each");
	join_all(tids, WAITERS);
	test_expect(semaphore_trywait(&gate), -EAGAIN,
		    "semaphore_trywait once all posts are taken");
}

#define SEM_PINGPONG_ROUNDS 600
#define SEM_ITEMS_EACH 400
#define SEM_BURST 4
#define SEM_PAUSE_SPINS 200000

static struct sem_pair {
	struct semaphore ping, pong;
} sem_pairs[MAX_CPUS / 2];
static int sem_pingpong_progress;

static long sem_player(void *arg)
{
	long id = (long)arg;
	struct sem_pair *p = &sem_pairs[id / 2];

	pin((int)id % online_cpus());
	for (int r = 0; r < SEM_PINGPONG_ROUNDS; r++) {
		if (id % 2) {
			semaphore_wait(&p->ping);
			semaphore_post(&p->pong);
		} else {
			semaphore_post(&p->ping);
			semaphore_wait(&p->pong);
		}
		atomic_add(&sem_pingpong_progress, 1);
	}
	return 0;
}

/* Posters and takers on one counting semaphore. */
static struct semaphore items = SEMAPHORE_INIT(0);
static int items_progress;

/* Posts come in bursts, with pauses in which the takers run dry and
 * sleep: each post of a burst must wake a sleeper of its own. */
static long item_poster(void *arg)
{
	pin((int)(long)arg % online_cpus());
	for (int i = 0; i < SEM_ITEMS_EACH; i++) {
		semaphore_post(&items);
		if (i % SEM_BURST == SEM_BURST - 1)
			busy_for(SEM_PAUSE_SPINS);
	}
	return 0;
}

static long item_taker(void *arg)
{
	pin((int)(long)arg % online_cpus());
	for (int i = 0; i < SEM_ITEMS_EACH; i++) {
		semaphore_wait(&items);
		atomic_add(&items_progress, 1);
	}
	return 0;
}

/* Posters and takers on every CPU share one semaphore, then pairs bounce
 * two: every post is taken once, nobody is left asleep. */
static void case_semaphore_stress(void)
{
	int n = stress_threads();
	int tids[MAX_CPUS] = { 0 };

	for (int i = 0; i < n / 2; i++) {
		semaphore_init(&sem_pairs[i].ping, 0);
		semaphore_init(&sem_pairs[i].pong, 0);
	}
	for (int i = 0; i < n; i++)
		tids[i] = spawn(i % 2 ? item_taker : item_poster, (void *)(long)i);
	watch_progress(&items_progress, n / 2 * SEM_ITEMS_EACH, "items taken from a semaphore");
	join_all(tids, n);
	test_expect(semaphore_trywait(&items), -EAGAIN,
		    "semaphore_trywait once every post is taken");

	for (int i = 0; i < n; i++)
		tids[i] = spawn(sem_player, (void *)(long)i);
	watch_progress(&sem_pingpong_progress, n * SEM_PINGPONG_ROUNDS,
		       "semaphore ping-pong rounds");
	join_all(tids, n);
}

/* ---- barrier ----------------------------------------------------------------- */

static struct barrier meeting;
static int barrier_arrived, barrier_left, barrier_serials;

static long barrier_sleeper(void *arg)
{
	(void)arg;
	pin(WAIT_CPU);
	for (int round = 1; round <= 2; round++) {
		atomic_add(&barrier_arrived, 1);
		if (barrier_wait(&meeting) == BARRIER_SERIAL_THREAD)
			atomic_add(&barrier_serials, 1);
		atomic_add(&barrier_left, 1);
	}
	return 0;
}

/*
 * Early arrivals sleep until the last one comes; it wakes them all, and
 * is the round's one serial thread. Twice, for the barrier is reusable.
 */
static void case_barrier_sleeps(void)
{
	int tids[WAITERS] = { 0 };

	sleepers_setup();
	barrier_init(&meeting, WAITERS + 1);
	for (int i = 0; i < WAITERS; i++)
		tids[i] = spawn(barrier_sleeper, NULL);
	for (int round = 1; round <= 2; round++) {
		if (round == 1) {
			expect_asleep(&barrier_arrived, WAITERS, "waiting in barrier_wait");
		} else {
			wait_for_count(&barrier_arrived, 2 * WAITERS,
				       "waiters back at the barrier");
			sleep_ms(SETTLE_MS);
		}
		CHECK(atomic_read(&barrier_left) == (round - 1) * WAITERS,
		      "round %d: %d threads left the barrier before the last one came", round,
		      atomic_read(&barrier_left) - (round - 1) * WAITERS);
		test_expect(barrier_wait(&meeting), BARRIER_SERIAL_THREAD,
			    "barrier_wait of the last thread to arrive");
		wait_for_count(&barrier_left, round * WAITERS, "threads out of the barrier");
		CHECK(atomic_read(&barrier_serials) == 0,
		      "round %d: another thread than the last to arrive was told it is serial",
		      round);
	}
	join_all(tids, WAITERS);
}

#define BARRIER_STRESS_ROUNDS 600

static struct barrier rounds;
static int rounds_arrivals, rounds_serials, rounds_progress;

static long rounds_worker(void *arg)
{
	int n = stress_threads();

	pin((int)(long)arg % online_cpus());
	for (int r = 0; r < BARRIER_STRESS_ROUNDS; r++) {
		atomic_add(&rounds_arrivals, 1);
		if (r % 4 == (int)(long)arg % 4)
			busy_for(500);
		if (barrier_wait(&rounds) == BARRIER_SERIAL_THREAD)
			atomic_add(&rounds_serials, 1);
		int arrived = atomic_read(&rounds_arrivals);
		CHECK(arrived >= n * (r + 1), "left round %d when %d of %d arrivals had happened",
		      r, arrived, n * (r + 1));
		atomic_add(&rounds_progress, 1);
	}
	return 0;
}

/* Two threads a CPU meet at one barrier round after round: nobody leaves
 * a round early, one serial thread each, nobody left asleep. */
static void case_barrier_stress(void)
{
	int n = stress_threads();
	int tids[MAX_CPUS] = { 0 };

	barrier_init(&rounds, n);
	for (int i = 0; i < n; i++)
		tids[i] = spawn(rounds_worker, (void *)(long)i);
	watch_progress(&rounds_progress, n * BARRIER_STRESS_ROUNDS, "barrier passages");
	join_all(tids, n);
	test_expect(rounds_serials, BARRIER_STRESS_ROUNDS, "serial threads over all rounds");
}

/* ---- the cases ------------------------------------------------------------------ */

static const struct test_case cases[] = {
	{ "mutex_sleeps", case_mutex_sleeps },
	{ "mutex_stress", case_mutex_stress },
	{ "condvar_sleeps", case_condvar_sleeps },
	{ "condvar_stress", case_condvar_stress },
	{ "semaphore_sleeps", case_semaphore_sleeps },
	{ "semaphore_stress", case_semaphore_stress },
	{ "barrier_sleeps", case_barrier_sleeps },
	{ "barrier_stress", case_barrier_stress },
};

int main(int argc, char **argv)
{
	static const struct test_suite suite = {
		.name = "synctest",
		.cases = cases,
		.count = sizeof(cases) / sizeof(cases[0]),
		.timeout_ms = CASE_TIMEOUT_MS,
	};

	return test_main(&suite, argc, argv);
}
