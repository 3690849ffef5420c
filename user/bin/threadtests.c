/*
 * threadtests: the in-guest tests of threads, futexes, mmap and libweft's
 * locks.
 *
 *   threadtests            run every case
 *   threadtests name...    run only the named cases
 *   threadtests --helper   what some cases exec (see helper())
 *
 * The same shape as usertests, under the same runner (weft_test.h): each
 * case runs in its own forked child with a watchdog beside it, so a case
 * that crashes or hangs fails alone. Output: "PASS name" or
 * "FAIL name: reason" per case, then "N passed, N failed"; the exit
 * status is 0 only if no case failed.
 *
 * Cases whose threads must fault, be killed or end the process run them
 * in a process of their own (a grandchild, see in_process()) and check
 * how it ended. A FAIL line printed there ends the case too.
 */
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "weft_test.h"
#include "weft_thread.h"

extern __thread int errno; /* picolibc's, in thread-local storage */

#define CASE_TIMEOUT_MS 300000
#define PAGE_BYTES 4096ul
#define NS_PER_MS 1000000ul
/* How long a process may take to end once it must (fault, exit, kill). */
#define PROMPT_END_MS 5000
#define PS_MAX 64

/* Addresses a futex may not name: a kernel address of each architecture
 * (the kernel image), and one far above any heap and below every stack. */
#if defined(__riscv)
#define KERNEL_ADDRESS 0xffffffc080200000ul
#else
#define KERNEL_ADDRESS 0xffffff8040200000ul
#endif
#define UNMAPPED_USER 0x2000000000ul

/* ---- reporting ---------------------------------------------------------- */

static void expect_status(int status, int want, const char *what)
{
	if (status != want) {
		char got_text[64];

		snprintf(got_text, sizeof(got_text), "%s", test_status_text(status));
		test_fail("%s: %s, expected %s", what, got_text, test_status_text(want));
	}
}

/* ---- helpers ------------------------------------------------------------ */

static unsigned long ms_since(unsigned long t0_ns)
{
	return (clock_ns() - t0_ns) / NS_PER_MS;
}

static int online_cpus(void)
{
	return CPU_INFO_ONLINE(cpu_info());
}

static int current_cpu(void)
{
	return CPU_INFO_CURRENT(cpu_info());
}

/* What ps says about process `pid`; 0 if it is not listed. */
static int ps_find(int pid, struct proc_info *out)
{
	struct proc_info procs[PS_MAX];
	int n = ps(procs, PS_MAX);

	for (int i = 0; i < n; i++) {
		if (procs[i].pid == pid) {
			*out = procs[i];
			return 1;
		}
	}
	return 0;
}

static int my_thread_count(void)
{
	struct proc_info me;

	CHECK(ps_find(getpid(), &me), "ps does not list the caller");
	return me.threads;
}

static int spawn(long (*fn)(void *), void *arg)
{
	int tid = thread_spawn(fn, arg);

	CHECK(tid > 0, "thread_spawn returned %s", test_result_text(tid));
	return tid;
}

static long join(int tid)
{
	long value = 0;
	int err = thread_join(tid, &value);

	CHECK(err == 0, "thread_join(%d) returned %s", tid, test_result_text(err));
	return value;
}

/* Waits for child `pid` and returns its wait status. If it reported a
 * failure itself, the case ends here with it. */
static int reap(int pid)
{
	int status;

	test_expect(wait(pid, &status), pid, "wait for the test process");
	if (status == WAIT_STATUS(WAIT_EXITED, CASE_REPORTED))
		exit(CASE_REPORTED);
	return status;
}

/*
 * Runs fn in a new process and returns its wait status, with the time it
 * took in *took_ms (if not NULL). If that process reported a failure
 * itself, the case ends here with it.
 */
static int in_process(void (*fn)(void), unsigned long *took_ms)
{
	unsigned long t0 = clock_ns();
	int status;
	int pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fn();
		exit(0);
	}
	CHECK(pid > 0, "fork returned %s", test_result_text(pid));
	status = reap(pid);
	if (took_ms)
		*took_ms = ms_since(t0);
	return status;
}

/* Sleeps on *word until it is no longer 0. */
static void wait_for_release(int *word)
{
	while (atomic_read(word) == 0)
		futex_wait(word, 0, 0);
}

static void release(int *word)
{
	atomic_write(word, 1);
	futex_wake(word, __INT_MAX__);
}

/*
 * Polls until *word reaches want, for at most a few seconds. Sleeping
 * between looks, not yielding: a thread yielding in a loop enters the
 * kernel all the time and keeps other CPUs waiting for the big lock.
 */
static void wait_until_count(int *word, int want, const char *what)
{
	unsigned long t0 = clock_ns();

	while (atomic_read(word) < want) {
		CHECK(ms_since(t0) < PROMPT_END_MS, "%s: %d of %d after %d ms", what,
		      atomic_read(word), want, PROMPT_END_MS);
		sleep_ms(1);
	}
}

/* ---- mutex -------------------------------------------------------------- */

#define COUNT_THREADS 64
#define COUNT_ITERATIONS 1000
/* Now and then a thread gives up its CPU in the middle of the critical
 * section (between reading the counter and writing it back): without
 * mutual exclusion, the updates other threads make meanwhile are lost,
 * even with one CPU. */
#define COUNT_YIELD_EVERY 500

static struct mutex count_lock = MUTEX_INIT;
static volatile long count_total;
static int count_go;

static long count_worker(void *arg)
{
	(void)arg;
	wait_for_release(&count_go);
	for (int i = 0; i < COUNT_ITERATIONS; i++) {
		mutex_lock(&count_lock);
		long seen = count_total;
		if (i % COUNT_YIELD_EVERY == 0)
			yield();
		count_total = seen + 1;
		mutex_unlock(&count_lock);
	}
	return 0;
}

/* 64 threads x 1,000 increments under one mutex: exactly 64,000. */
static void case_mutex_64_threads(void)
{
	int tids[COUNT_THREADS];

	for (int i = 0; i < COUNT_THREADS; i++)
		tids[i] = spawn(count_worker, NULL);
	release(&count_go);
	for (int i = 0; i < COUNT_THREADS; i++)
		join(tids[i]);
	CHECK(count_total == COUNT_THREADS * COUNT_ITERATIONS,
	      "counter is %ld, expected %d: the mutex let updates get lost", count_total,
	      COUNT_THREADS * COUNT_ITERATIONS);
	CHECK(atomic_read(&count_lock.state) == MUTEX_UNLOCKED, "mutex left in state %d",
	      atomic_read(&count_lock.state));
	CHECK(mutex_trylock(&count_lock), "trylock failed on a free mutex");
	CHECK(!mutex_trylock(&count_lock), "trylock took a held mutex");
	mutex_unlock(&count_lock);
}

/* ---- join --------------------------------------------------------------- */

#define JOIN_RETURN_VALUE 12345l
#define JOIN_EXIT_VALUE (-0x123456789abcdl)

static long return_value(void *arg)
{
	return (long)arg;
}

/* Calls thread_exit `depth` calls down (a negative depth returns). */
static void exit_deep(int depth)
{
	if (depth < 0)
		return;
	if (depth == 0)
		thread_exit(JOIN_EXIT_VALUE);
	exit_deep(depth - 1);
	test_fail("thread_exit returned");
}

static long exit_from_nested_call(void *arg)
{
	(void)arg;
	exit_deep(5);
	return 0;
}

/* Returning from the thread function and calling thread_exit both give
 * join the value, all 64 bits of it. */
static void case_join_value(void)
{
	int a = spawn(return_value, (void *)JOIN_RETURN_VALUE);
	int b = spawn(exit_from_nested_call, NULL);
	long value = 0;

	CHECK(a != b, "two threads got the same tid %d", a);
	test_expect(thread_join(a, &value), 0, "thread_join(returning thread)");
	test_expect(value, JOIN_RETURN_VALUE, "the returning thread's value");
	test_expect(thread_join(b, &value), 0, "thread_join(thread_exit thread)");
	test_expect(value, JOIN_EXIT_VALUE, "the thread_exit thread's value");
	test_expect(thread_join(spawn(return_value, NULL), NULL), 0, "thread_join(tid, NULL)");
}

static int finished_flag;

static long finish_at_once(void *arg)
{
	(void)arg;
	atomic_write(&finished_flag, 1);
	return 99;
}

/* A thread that ended long before the join still hands over its value. */
static void case_join_finished(void)
{
	int tid = spawn(finish_at_once, NULL);
	unsigned long t0 = clock_ns();

	wait_until_count(&finished_flag, 1, "thread start");
	while (my_thread_count() != 1) {
		CHECK(ms_since(t0) < PROMPT_END_MS, "the thread did not end");
		sleep_ms(5);
	}
	sleep_ms(20);
	test_expect(join(tid), 99, "join of a finished thread");
	test_expect(my_thread_count(), 1, "threads after the join");
}

/* Tids that are not threads of this process: never joinable. */
static void case_join_unknown(void)
{
	int me = gettid();
	int child;
	int status;

	test_expect(thread_join(999999, NULL), -ESRCH, "thread_join(999999)");
	test_expect(thread_join(-1, NULL), -ESRCH, "thread_join(-1)");
	test_expect(thread_join(0, NULL), -ESRCH, "thread_join(0)");
	/* Another process's threads: a child's main thread takes one of the
	 * next tids; joining any of them must refuse at once, not wait. */
	child = fork();
	if (child == 0) {
		sleep_ms(200);
		_exit(0);
	}
	CHECK(child > 0, "fork returned %s", test_result_text(child));
	for (int tid = me + 1; tid <= me + 3; tid++)
		test_expect(thread_join(tid, NULL), -ESRCH,
			    "thread_join(a tid of another process)");
	test_expect(wait(child, &status), child, "wait for the child");
}

static long join_self(void *arg)
{
	(void)arg;
	return thread_join(gettid(), NULL);
}

/* Joining oneself would wait forever: -EDEADLK, from any thread. */
static void case_join_self(void)
{
	test_expect(thread_join(gettid(), NULL), -EDEADLK, "thread_join(own tid) in main");
	test_expect(join(spawn(join_self, NULL)), -EDEADLK, "thread_join(own tid) in a thread");
}

/* The first join collects the thread; after that the tid means nothing. */
static void case_join_twice(void)
{
	int tid = spawn(return_value, (void *)7);
	long value = 0;

	test_expect(thread_join(tid, &value), 0, "first thread_join");
	test_expect(value, 7, "value from the first join");
	test_expect(thread_join(tid, &value), -ESRCH, "second thread_join");
	test_expect(sys_thread_join(tid, &value), -ESRCH, "second join, raw system call");
}

/* ---- stack guard -------------------------------------------------------- */

/* Bytes of stack below the caller's frame: walks down a page at a time
 * until futex_wake, which checks its address, calls a page unmapped. */
static long stack_room(void *arg)
{
	volatile char here = 0;
	uintptr_t page = (uintptr_t)&here & ~(PAGE_BYTES - 1);

	(void)arg;
	for (int i = 0; i < 64 && futex_wake((int *)page, 0) == 0; i++)
		page -= PAGE_BYTES;
	return (long)((uintptr_t)&here - (page + PAGE_BYTES));
}

static long recurse(long depth)
{
	volatile char frame[512];

	frame[0] = (char)depth;
	if (depth > 1000000) /* never: the stack ends long before */
		return 0;
	return recurse(depth + 1) + frame[0];
}

static long overflow_stack(void *arg)
{
	(void)arg;
	return recurse(0);
}

static void overflow_in_thread(void)
{
	join(spawn(overflow_stack, NULL));
	test_fail("the stack overflow did not fault");
}

/* Each thread's stack ends at an unmapped guard page; running into it is
 * a page fault that ends the process. */
static void case_stack_guard(void)
{
	long room = join(spawn(stack_room, NULL));

	/* The stack also has the part of its top page that TLS leaves free. */
	CHECK(room > (long)(THREAD_STACK_BYTES - PAGE_BYTES) &&
		      room < (long)(THREAD_STACK_BYTES + PAGE_BYTES),
	      "a thread has %ld bytes of stack below its first frame, expected about %d", room,
	      THREAD_STACK_BYTES);
	expect_status(in_process(overflow_in_thread, NULL), WAIT_STATUS(WAIT_FAULTED, FAULT_PAGE),
		      "process whose thread overflowed its stack");
}

/* ---- futex -------------------------------------------------------------- */

/* Addresses that are not a futex word: -EFAULT or -EINVAL, never a fault. */
static void case_futex_bad_address(void)
{
	static int words[2];
	static const struct {
		const char *what;
		uintptr_t addr;
		int err;
	} bad[] = {
		{ "NULL", 0, -EFAULT },
		{ "kernel address", KERNEL_ADDRESS, -EFAULT },
		{ "unmapped user address", UNMAPPED_USER, -EFAULT },
		{ "last page of the address space", -PAGE_BYTES, -EFAULT },
		{ "unaligned address", 1, -EINVAL },
	};
	char what[80];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uintptr_t addr = bad[i].addr == 1 ? (uintptr_t)words + 2 : bad[i].addr;

		snprintf(what, sizeof(what), "futex_wait(%s)", bad[i].what);
		test_expect(futex_wait((int *)addr, 0, 0), bad[i].err, what);
		snprintf(what, sizeof(what), "futex_wait(%s, timeout)", bad[i].what);
		test_expect(futex_wait((int *)addr, 0, NS_PER_MS), bad[i].err, what);
		snprintf(what, sizeof(what), "futex_wake(%s)", bad[i].what);
		test_expect(futex_wake((int *)addr, 1), bad[i].err, what);
	}
	test_expect(futex_wake(&words[0], 1), 0, "futex_wake on a good word nobody waits on");
}

/* The kernel sleeps only if the word still holds the expected value. */
static void case_futex_wrong_value(void)
{
	int word = 5;
	unsigned long t0 = clock_ns();

	test_expect(futex_wait(&word, 4, 0), -EAGAIN, "futex_wait(5 != 4)");
	test_expect(futex_wait(&word, -5, 1000 * NS_PER_MS), -EAGAIN, "futex_wait(5 != -5, 1 s)");
	CHECK(ms_since(t0) < 500, "futex_wait with a wrong value took %lu ms", ms_since(t0));
}

/* A timed wait nobody wakes returns -ETIMEDOUT, never early. */
static void case_futex_timeout(void)
{
	static const unsigned long timeouts_ns[] = { 1, 15 * NS_PER_MS, 60 * NS_PER_MS };
	int word = 0;

	for (size_t i = 0; i < sizeof(timeouts_ns) / sizeof(timeouts_ns[0]); i++) {
		unsigned long t0 = clock_ns();
		int r = futex_wait(&word, 0, timeouts_ns[i]);
		unsigned long took = clock_ns() - t0;

		CHECK(r == -ETIMEDOUT, "futex_wait(timeout %lu ns) returned %s", timeouts_ns[i],
		      test_result_text(r));
		CHECK(took >= timeouts_ns[i], "timeout of %lu ns came after only %lu ns",
		      timeouts_ns[i], took);
		CHECK(took < timeouts_ns[i] + 2000 * NS_PER_MS,
		      "timeout of %lu ns came after %lu ns", timeouts_ns[i], took);
	}
}

#define WAKE_WAITERS 3

static int wake_word;
static int wake_ready;
static int wake_done;

static long one_futex_wait(void *arg)
{
	(void)arg;
	atomic_add(&wake_ready, 1);
	long r = futex_wait(&wake_word, 0, 0);
	atomic_add(&wake_done, 1);
	return r;
}

/* futex_wake wakes at most `count` sleepers and says how many it woke. */
static void case_futex_wake_count(void)
{
	int tids[WAKE_WAITERS];
	int woken;
	unsigned long t0;

	for (int i = 0; i < WAKE_WAITERS; i++)
		tids[i] = spawn(one_futex_wait, NULL);
	wait_until_count(&wake_ready, WAKE_WAITERS, "waiters ready");
	sleep_ms(100); /* long enough for them to be asleep in the kernel */
	test_expect(futex_wake(&wake_word, 0), 0, "futex_wake(count 0)");
	test_expect(futex_wake(&wake_word, 1), 1, "futex_wake(count 1)");
	sleep_ms(50);
	test_expect(atomic_read(&wake_done), 1, "threads woken by futex_wake(count 1)");
	/* The rest, however many calls it takes if one was slow to fall
	 * asleep: never more than are left. */
	t0 = clock_ns();
	for (woken = 0; woken < WAKE_WAITERS - 1; sleep_ms(10)) {
		int r = futex_wake(&wake_word, __INT_MAX__);
		CHECK(r >= 0 && woken + r <= WAKE_WAITERS - 1,
		      "futex_wake(all) returned %s with %d of %d sleepers left",
		      test_result_text(r), WAKE_WAITERS - 1 - woken, WAKE_WAITERS);
		woken += r;
		CHECK(ms_since(t0) < PROMPT_END_MS, "only %d of %d sleepers woken", woken,
		      WAKE_WAITERS - 1);
	}
	for (int i = 0; i < WAKE_WAITERS; i++)
		test_expect(join(tids[i]), 0, "a woken futex_wait");
	test_expect(futex_wake(&wake_word, __INT_MAX__), 0, "futex_wake with nobody left");
}

/*
 * Timeouts near the longest the kernel takes. It turns nanoseconds into
 * timer ticks; a 64-bit product of the two wraps round for timeouts past
 * 2^64 / (ticks per ms), and a wrapped product is a tiny timeout. At
 * 62.5 MHz (QEMU's AArch64 timer) the first such timeout is 2^64 / 62,500
 * ns, rounded up below.
 */
static const unsigned long long_timeouts_ns[] = {
	1000000000000000ul, /* 10^15 ns, about 11.6 days: the kernel's limit */
	295147905179353ul,  /* 2^64 / 62,500, about 2.95 * 10^14 ns */
};
/* When the other thread wakes the waiter: long before any timeout. */
#define LATE_WAKE_MS 75

static int long_wait_word;
static int long_wait_over;

/* Wakes the main thread in its futex_wait after LATE_WAKE_MS, however many
 * tries it takes (more than one if it was slow to fall asleep); gives up
 * if the wait ended by itself. */
static long wake_late(void *arg)
{
	(void)arg;
	sleep_ms(LATE_WAKE_MS);
	while (!atomic_read(&long_wait_over) && futex_wake(&long_wait_word, 1) != 1)
		sleep_ms(1);
	return 0;
}

/* A wait with a timeout of days sleeps until it is woken, not a moment
 * less: it returns 0, not -ETIMEDOUT at once. */
static void case_futex_long_timeout(void)
{
	for (size_t i = 0; i < sizeof(long_timeouts_ns) / sizeof(long_timeouts_ns[0]); i++) {
		atomic_write(&long_wait_over, 0);
		int waker = spawn(wake_late, NULL);
		unsigned long t0 = clock_ns();
		int r = futex_wait(&long_wait_word, 0, long_timeouts_ns[i]);
		unsigned long took = ms_since(t0);

		atomic_write(&long_wait_over, 1);
		join(waker);
		CHECK(r == 0,
		      "futex_wait(timeout %lu ns) returned %s after %lu ms, expected 0 (woken)",
		      long_timeouts_ns[i], test_result_text(r), took);
	}
}

/* ---- running out -------------------------------------------------------- */

#define SPAWN_MAX 4096
/* Page-table pages an address range may need: one per 2 MiB it spans,
 * plus the tables above those. */
#define TABLE_PAGES(bytes) ((bytes) / (2ul << 20) + 3)
#define THREAD_REGION_BYTES (THREAD_STACK_BYTES + 2 * PAGE_BYTES)
/* The kernel gives each thread a 16 KiB stack in a slot with a guard page,
 * and keeps the page tables of that area once they exist (they are
 * reused): the first time this many threads live at once they grow. */
#define KSTACK_SLOT_BYTES (20 * 1024ul)
#define SPAWN_TABLE_PAGES(threads) \
	(TABLE_PAGES((threads)*THREAD_REGION_BYTES) + TABLE_PAGES((threads)*KSTACK_SLOT_BYTES))

static int spawn_release;
static int spawn_tids[SPAWN_MAX];

static long wait_then_return(void *arg)
{
	wait_for_release(&spawn_release);
	return (long)arg;
}

/*
 * Spawns threads that wait until released, until thread_spawn fails;
 * then releases and joins them all. Returns how many it made and stores
 * the error in *err. Every page the threads took must be free again
 * (page tables aside: the addresses are never used again).
 */
static int spawn_until_failure(int *err)
{
	unsigned long before = test_free_pages();
	int n;

	atomic_write(&spawn_release, 0);
	for (n = 0; n < SPAWN_MAX; n++) {
		int tid = thread_spawn(wait_then_return, (void *)(long)n);
		if (tid < 0) {
			*err = tid;
			break;
		}
		spawn_tids[n] = tid;
	}
	CHECK(n < SPAWN_MAX, "%d threads and no failure", n);
	CHECK(n > 0, "no thread at all: %s", test_result_text(*err));
	test_expect(my_thread_count(), n + 1, "threads alive at the limit");
	release(&spawn_release);
	for (int i = 0; i < n; i++)
		test_expect(join(spawn_tids[i]), i, "a thread's value");
	unsigned long after = test_free_pages();
	unsigned long tables = SPAWN_TABLE_PAGES((unsigned long)n + 1);
	CHECK(after + tables >= before,
	      "%d threads joined, but %lu of %lu free pages are missing (page tables: %lu)", n,
	      before - after, before, tables);
	/* Failing cleanly: the process goes on, and can make threads again. */
	test_expect(join(spawn(return_value, (void *)3)), 3, "a thread after the failure");
	return n;
}

static void spawn_to_the_limit(void)
{
	int err = 0;

	spawn_until_failure(&err);
	CHECK(err == -EAGAIN || err == -ENOMEM, "thread_spawn failed with %s",
	      test_result_text(err));
}

/*
 * Threads until the per-process limit (or memory) runs out: the failure
 * is an error code, and every page comes back. Twice: the first run may
 * leave the kernel's stack-area page tables grown (see KSTACK_SLOT_BYTES),
 * the second must give back exactly what it took.
 */
static void case_spawn_until_limit(void)
{
	unsigned long before = test_free_pages();
	int status = in_process(spawn_to_the_limit, NULL);

	expect_status(status, WAIT_STATUS(WAIT_EXITED, 0), "process spawning to the limit");
	unsigned long after = test_free_pages_settle(before);
	CHECK(after + TABLE_PAGES(SPAWN_MAX * KSTACK_SLOT_BYTES) >= before,
	      "%lu free pages before, %lu after the process ended", before, after);
	before = after;
	status = in_process(spawn_to_the_limit, NULL);
	expect_status(status, WAIT_STATUS(WAIT_EXITED, 0), "second process spawning to the limit");
	after = test_free_pages_settle(before);
	CHECK(after == before, "%lu free pages before, %lu after the second process ended", before,
	      after);
}

/*
 * A thread bomb that never joins: threads that end at once still count
 * against PROC_THREADS_MAX until joined (each keeps a page for its value),
 * so thread_spawn says -EAGAIN at exactly the limit, one join makes room
 * for one more, and when the process ends every page is back.
 */
static void spawn_unjoined(void)
{
	static int tids[PROC_THREADS_MAX];
	int n = 0;
	int tid = 0;

	while (n < PROC_THREADS_MAX && (tid = thread_spawn(return_value, (void *)7)) > 0)
		tids[n++] = tid;
	test_expect(tid, -EAGAIN, "thread_spawn past the limit");
	CHECK(n == PROC_THREADS_MAX - 1, "%d threads (and main) before -EAGAIN, expected %d", n,
	      PROC_THREADS_MAX - 1);
	for (int ms = 0; ms < PROMPT_END_MS && my_thread_count() > 1; ms += 10)
		sleep_ms(10);
	test_expect(my_thread_count(), 1, "threads still running");
	test_expect(join(tids[0]), 7, "an unjoined thread's value");
	tids[0] = spawn(return_value, (void *)8);
	test_expect(join(tids[0]), 8, "the thread one join made room for");
}

/* Runs fn in a process of its own, which must exit 0; once it has ended,
 * every page it took must be free again. */
static void expect_clean_exit(void (*fn)(void), const char *what)
{
	unsigned long before = test_free_pages();

	expect_status(in_process(fn, NULL), WAIT_STATUS(WAIT_EXITED, 0), what);
	unsigned long after = test_free_pages_settle(before);
	CHECK(after == before, "%s: %lu free pages before, %lu after it ended", what, before,
	      after);
}

static void case_unjoined_count(void)
{
	expect_clean_exit(spawn_unjoined, "process spawning unjoined threads");
}

#define HOG_CHUNK_BYTES (256 * 1024ul)
#define HOG_MAX_CHUNKS 8192 /* 2 GiB */
#define HOG_SPARE_PAGES 120ul

/* Reserves chunks until mmap fails; returns how many (in chunks[]). */
static int reserve_until_failure(long *chunks)
{
	int n = 0;
	long a;

	while (n < HOG_MAX_CHUNKS && (a = mmap(HOG_CHUNK_BYTES)) > 0)
		chunks[n++] = a;
	CHECK(a == -ENOMEM, "mmap until memory ran out ended with %s", test_result_text(a));
	return n;
}

static void spawn_out_of_memory(void)
{
	static long hogs[HOG_MAX_CHUNKS];
	int err = 0;

	/* Take nearly all memory, in chunks, then hand back a little. */
	int nhogs = reserve_until_failure(hogs);
	for (unsigned long freed = 0; nhogs > 0 && freed < HOG_SPARE_PAGES;
	     freed += HOG_CHUNK_BYTES / PAGE_BYTES)
		munmap((void *)hogs[--nhogs], HOG_CHUNK_BYTES);
	int n = spawn_until_failure(&err);
	CHECK(err == -ENOMEM, "with memory short, thread_spawn failed with %s after %d threads",
	      test_result_text(err), n);
	while (nhogs > 0)
		munmap((void *)hogs[--nhogs], HOG_CHUNK_BYTES);
}

/* Threads until memory runs out: -ENOMEM, no crash, nothing leaked. */
static void case_spawn_until_enomem(void)
{
	expect_clean_exit(spawn_out_of_memory, "process spawning without memory");
}

#define CYCLE_THREADS 300

/* Spawn and join, one after the other, many times: join frees it all. */
static void case_spawn_join_cycle(void)
{
	unsigned long before = test_free_pages();

	for (int i = 0; i < CYCLE_THREADS; i++)
		test_expect(join(spawn(return_value, (void *)(long)i)), i, "a thread's value");
	unsigned long after = test_free_pages();
	unsigned long tables = SPAWN_TABLE_PAGES(CYCLE_THREADS);
	CHECK(after + tables >= before, "%d threads spawned and joined: %lu pages missing",
	      CYCLE_THREADS, before - after);
}

/*
 * More kernel stacks alive at once than ever before, then all freed, then
 * as many again: the kernel must reuse every freed stack slot, however
 * many there are, and so need no new page tables. Three processes of 400
 * threads: 1,200 threads at once (no process may have more than 512).
 */
#define CROWD_PROCESSES 3
#define CROWD_THREADS 400
#define CROWD_ROUNDS 3
/* The warm-up's crowd is this much larger in each process, for what lives
 * beside the case's own crowd (its watchdog, the case's process). */
#define CROWD_WARM_UP_EXTRA 8
#define CROWD_START_MS 60000
#define GATE_POLL_MS 10
#define GATE_SLEEP_MS 1000000 /* until killed */

/* Has process `pid` ended (or gone)? */
static int process_ended(int pid)
{
	struct proc_info info;

	return !ps_find(pid, &info) || info.state == PROC_ZOMBIE;
}

/* One process of the crowd: `threads` threads that wait until the gate
 * process ends, then are joined. */
static void crowd_member(int gate, int threads)
{
	atomic_write(&spawn_release, 0);
	for (int i = 0; i < threads; i++)
		spawn_tids[i] = spawn(wait_then_return, (void *)(long)i);
	while (!process_ended(gate))
		sleep_ms(GATE_POLL_MS);
	release(&spawn_release);
	for (int i = 0; i < threads; i++)
		test_expect(join(spawn_tids[i]), i, "a thread's value");
}

/* Forks a gate: a process that sleeps until killed. Its end is a signal
 * to processes that cannot see the caller's memory. */
static int fork_gate(void)
{
	fflush(stdout);
	int gate = fork();
	if (gate == 0)
		for (;;)
			sleep_ms(GATE_SLEEP_MS);
	CHECK(gate > 0, "fork returned %s", test_result_text(gate));
	return gate;
}

/* Starts CROWD_PROCESSES processes of `threads` threads each, waits until
 * all of them live at once, then lets them end (a gate's end is their
 * signal). */
static void crowd_round(int threads)
{
	int members[CROWD_PROCESSES];
	unsigned long t0 = clock_ns();
	int status;
	int gate = fork_gate();

	for (int m = 0; m < CROWD_PROCESSES; m++) {
		members[m] = fork();
		if (members[m] == 0) {
			crowd_member(gate, threads);
			exit(0);
		}
		CHECK(members[m] > 0, "fork returned %s", test_result_text(members[m]));
	}
	for (int m = 0; m < CROWD_PROCESSES && ms_since(t0) < CROWD_START_MS;) {
		struct proc_info info;
		if (!ps_find(members[m], &info) || info.state == PROC_ZOMBIE ||
		    info.threads == threads + 1)
			m++;
		else
			sleep_ms(GATE_POLL_MS);
	}
	kill(gate);
	wait(gate, &status);
	for (int m = 0; m < CROWD_PROCESSES; m++) {
		test_expect(wait(members[m], &status), members[m], "wait for a crowd process");
		if (status == WAIT_STATUS(WAIT_EXITED, CASE_REPORTED))
			exit(CASE_REPORTED);
		expect_status(status, WAIT_STATUS(WAIT_EXITED, 0), "crowd process");
	}
	CHECK(ms_since(t0) < CROWD_START_MS, "%d threads in %d processes not all started in %d s",
	      threads * CROWD_PROCESSES, CROWD_PROCESSES, CROWD_START_MS / 1000);
}

/* 3 rounds of 1,200 threads alive at once, every one made and joined:
 * after the first round, not a page goes missing. */
static void case_kernel_stacks_reused(void)
{
	unsigned long start = test_free_pages();

	crowd_round(CROWD_THREADS);
	/* The first round may grow the stack area's page tables for good
	 * (unless no_leaks' warm-up did), and then takes its time to settle. */
	unsigned long before = test_free_pages_settle(start);
	for (int round = 2; round <= CROWD_ROUNDS; round++) {
		crowd_round(CROWD_THREADS);
		unsigned long after = test_free_pages_settle(before);
		CHECK(after == before, "round %d of %d threads: %lu free pages before, %lu after",
		      round, CROWD_THREADS * CROWD_PROCESSES, before, after);
	}
}

/* ---- how a threaded process ends ---------------------------------------- */

static int spinners_started;

static long spin_forever(void *arg)
{
	int cpu = (int)(long)arg;

	if (cpu >= 0)
		cpu_pin(cpu);
	atomic_add(&spinners_started, 1);
	for (;;)
		cpu_relax();
	return 0;
}

/* Through a volatile pointer, so the compiler cannot see the NULL and
 * put a trap instruction in place of the load. */
static long *volatile null_pointer;

static long null_dereference(void *arg)
{
	(void)arg;
	return *null_pointer;
}

/* One spinning thread per CPU; once all spin, one more thread faults. */
static void fault_among_spinners(void)
{
	int n = online_cpus();

	if (n < 2)
		n = 2;
	for (int i = 0; i < n; i++)
		spawn(spin_forever, (void *)(long)(i % online_cpus()));
	wait_until_count(&spinners_started, n, "spinners started");
	join(spawn(null_dereference, NULL));
	test_fail("the faulting thread was joined");
}

/* A fault in one thread ends every thread of the process, at once. */
static void case_fault_kills_all(void)
{
	unsigned long took;
	int status = in_process(fault_among_spinners, &took);

	expect_status(status, WAIT_STATUS(WAIT_FAULTED, FAULT_PAGE), "process with a fault");
	CHECK(took < PROMPT_END_MS, "the process took %lu ms to end", took);
}

#define EXIT_CODE 42

static long exit_after_a_while(void *arg)
{
	(void)arg;
	sleep_ms(10);
	exit(EXIT_CODE);
}

static void exit_in_a_thread(void)
{
	spawn(spin_forever, (void *)-1l);
	join(spawn(exit_after_a_while, NULL));
	test_fail("the thread that called exit() was joined");
}

/* exit() from any thread ends the whole process with that status. */
static void case_exit_from_thread(void)
{
	unsigned long took;
	int status = in_process(exit_in_a_thread, &took);

	expect_status(status, WAIT_STATUS(WAIT_EXITED, EXIT_CODE), "process whose thread exited");
	CHECK(took < PROMPT_END_MS, "the process took %lu ms to end", took);
}

#define KILL_WAITERS 4

static long sleep_on_futex(void *arg)
{
	int never = 0;

	(void)arg;
	for (;;)
		futex_wait(&never, 0, 0);
	return 0;
}

static void all_in_futex_wait(void)
{
	for (int i = 0; i < KILL_WAITERS; i++)
		spawn(sleep_on_futex, NULL);
	sleep_on_futex(NULL);
}

/* kill() ends a process whose threads all sleep in futex_wait. */
static void case_kill_futex_waiters(void)
{
	unsigned long before = test_free_pages();
	unsigned long t0 = clock_ns();
	struct proc_info info;
	int status;
	int pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		all_in_futex_wait();
		_exit(0);
	}
	CHECK(pid > 0, "fork returned %s", test_result_text(pid));
	for (;;) {
		CHECK(ps_find(pid, &info), "the process vanished");
		if (info.threads == KILL_WAITERS + 1 && info.state == PROC_SLEEPING)
			break;
		if (ms_since(t0) > PROMPT_END_MS) {
			kill(pid);
			test_fail("threads never all slept: %d threads, state %d", info.threads,
				  info.state);
		}
		sleep_ms(10);
	}
	t0 = clock_ns();
	test_expect(kill(pid), 0, "kill");
	test_expect(wait(pid, &status), pid, "wait");
	expect_status(status, WAIT_STATUS(WAIT_KILLED, 0), "killed process");
	CHECK(ms_since(t0) < PROMPT_END_MS, "the killed process took %lu ms to end", ms_since(t0));
	unsigned long after = test_free_pages_settle(before);
	CHECK(after == before, "%lu free pages before, %lu after the process ended", before, after);
}

static long outlive_main(void *arg)
{
	(void)arg;
	sleep_ms(30);
	if (my_thread_count() != 1)
		exit(3); /* main is still there */
	thread_exit(9);
}

static void main_exits_first(void)
{
	spawn(outlive_main, NULL);
	thread_exit(5);
}

/* When the last thread calls thread_exit, the process ends with status 0,
 * whatever values the threads exited with. */
static void case_last_thread_exit(void)
{
	int status = in_process(main_exits_first, NULL);

	CHECK(status != WAIT_STATUS(WAIT_EXITED, 3), "main's thread_exit did not end main");
	expect_status(status, WAIT_STATUS(WAIT_EXITED, 0), "process whose threads all exited");
}

/* ---- parallelism --------------------------------------------------------- */

#define PING_WINDOW_MS 1000
#define PING_WINDOWS 5
/* With one CPU the ball changes hands only when the timer takes the CPU
 * from one thread to give it to the other (TICK_HZ: 100 times a second),
 * so at most 50 round trips a second. Three times that many in one window
 * prove the two threads ran at the same time. (Several windows: QEMU's
 * virtual CPUs are threads of the host, and a busy host may not run two
 * of them at once for a while.) */
#define PING_SERIAL_MAX_PER_S 50
#define PING_MIN_ROUND_TRIPS (3 * PING_SERIAL_MAX_PER_S * PING_WINDOW_MS / 1000)
#define CPU_CHECKS 20

struct pinned {
	int cpu;      /* where to run */
	int seen_cpu; /* where cpu_info said it ran (-1: not always there) */
	int pin_err;  /* what cpu_pin said */
};

static int ping_ball; /* even: the thread on CPU 0 moves it; odd: CPU 1 */
static int ping_stop;
static struct barrier pinned_ready;

static long pinned_player(void *arg)
{
	struct pinned *p = arg;

	p->pin_err = cpu_pin(p->cpu);
	p->seen_cpu = current_cpu();
	for (int i = 0; i < CPU_CHECKS; i++)
		if (current_cpu() != p->cpu)
			p->seen_cpu = -1;
	/* Nobody spins until every thread is where it belongs. */
	barrier_wait(&pinned_ready);
	if (p->cpu > 1)
		return 0;
	/* CPUs 0 and 1 bounce the ball through memory, with no system call. */
	while (!atomic_read(&ping_stop)) {
		int ball = atomic_read(&ping_ball);
		if (ball % 2 == p->cpu)
			atomic_write(&ping_ball, ball + 1);
		else
			cpu_relax();
	}
	return 0;
}

/* Threads pinned one per CPU run on that CPU, all at the same time. */
static void case_parallel_cpus(void)
{
	struct pinned players[16];
	int tids[16];
	int n = online_cpus();
	int best = 0;

	CHECK(n >= 1 && n <= 16, "cpu_info says %d CPUs are online", n);
	test_expect(cpu_pin(n), -EINVAL, "cpu_pin(one past the last CPU)");
	test_expect(cpu_pin(-2), -EINVAL, "cpu_pin(-2)");
	barrier_init(&pinned_ready, n + 1);
	for (int i = 0; i < n; i++) {
		players[i] = (struct pinned){ .cpu = i };
		tids[i] = spawn(pinned_player, &players[i]);
	}
	barrier_wait(&pinned_ready);
	/* Round trips need two CPUs: with one, only the pinning is checked. */
	for (int w = 0; n >= 2 && w < PING_WINDOWS && best < PING_MIN_ROUND_TRIPS; w++) {
		int before = atomic_read(&ping_ball);
		sleep_ms(PING_WINDOW_MS);
		int trips = (atomic_read(&ping_ball) - before) / 2;
		if (trips > best)
			best = trips;
	}
	atomic_write(&ping_stop, 1);
	for (int i = 0; i < n; i++) {
		join(tids[i]);
		test_expect(players[i].pin_err, 0, "cpu_pin");
		CHECK(players[i].seen_cpu == i, "thread pinned to CPU %d ran on CPU %d", i,
		      players[i].seen_cpu);
	}
	if (n >= 2)
		CHECK(best >= PING_MIN_ROUND_TRIPS,
		      "threads on CPUs 0 and 1 made at most %d round trips in %d ms: not in "
		      "parallel",
		      best, PING_WINDOW_MS);
}

/* ---- per-thread state ---------------------------------------------------- */

#define ERRNO_THREADS 4
#define ERRNO_BASE 1000

static struct barrier errno_barrier;

static long errno_worker(void *arg)
{
	int id = (int)(long)arg;

	CHECK(errno == 0, "a new thread's errno is %d, expected 0", errno);
	errno = ERRNO_BASE + id;
	barrier_wait(&errno_barrier); /* every thread has set its own */
	for (int i = 0; i < 20; i++) {
		yield();
		CHECK(errno == ERRNO_BASE + id, "thread %d's errno changed to %d", id, errno);
	}
	if (id % 2) {
		strtol("99999999999999999999999999", NULL, 10);
		CHECK(errno == ERANGE, "strtol overflow set errno to %d", errno);
	}
	barrier_wait(&errno_barrier);
	CHECK(errno == (id % 2 ? ERANGE : ERRNO_BASE + id), "thread %d's errno changed to %d", id,
	      errno);
	return (long)&errno;
}

/* errno is thread-local: a C library call in one thread leaves the
 * others' errno alone. */
static void case_errno_per_thread(void)
{
	int tids[ERRNO_THREADS];
	long where[ERRNO_THREADS];

	errno = 7;
	barrier_init(&errno_barrier, ERRNO_THREADS);
	for (int i = 0; i < ERRNO_THREADS; i++)
		tids[i] = spawn(errno_worker, (void *)(long)i);
	for (int i = 0; i < ERRNO_THREADS; i++) {
		where[i] = join(tids[i]);
		CHECK(where[i] != (long)&errno, "thread %d's errno is main's", i);
		for (int j = 0; j < i; j++)
			CHECK(where[i] != where[j], "threads %d and %d share errno", i, j);
	}
	CHECK(errno == 7, "main's errno changed to %d", errno);
}

static _Thread_local int tls_counter = 1234;
static _Thread_local long tls_zeroed;
static _Thread_local _Alignas(64) char tls_aligned[8] = "aligned";

static long tls_check(void *arg)
{
	(void)arg;
	CHECK(tls_counter == 1234, "a new thread's initialised TLS variable is %d", tls_counter);
	CHECK(tls_zeroed == 0, "a new thread's zeroed TLS variable is %ld", tls_zeroed);
	CHECK((uintptr_t)tls_aligned % 64 == 0, "a 64-byte aligned TLS variable is at %p",
	      (void *)tls_aligned);
	CHECK(strcmp(tls_aligned, "aligned") == 0, "a TLS string reads \"%s\"", tls_aligned);
	tls_counter = 1;
	tls_zeroed = 2;
	return (long)&tls_counter;
}

/* Each thread starts with a fresh copy of the TLS template, whatever the
 * other threads did to theirs. */
static void case_tls_per_thread(void)
{
	tls_counter = 99;
	tls_zeroed = 7;
	long a = join(spawn(tls_check, NULL));
	long b = join(spawn(tls_check, NULL));
	CHECK(a != b && a != (long)&tls_counter, "two threads share a TLS block");
	CHECK(tls_counter == 99 && tls_zeroed == 7, "main's TLS changed to %d, %ld", tls_counter,
	      tls_zeroed);
	CHECK((uintptr_t)tls_aligned % 64 == 0, "main's 64-byte aligned TLS variable is at %p",
	      (void *)tls_aligned);
}

/* Rounds and sums in doubles: a result that depends on every bit of every
 * step, so a register clobbered by another thread shows. */
__attribute__((noinline)) static double fp_series(double seed, int steps, int yield_every)
{
	double sum = 0.0, x = seed;

	for (int k = 1; k <= steps; k++) {
		sum += 1.0 / (k * x + 0.5);
		x = x * 1.0000001 + 0.25;
		if (yield_every && k % yield_every == 0)
			yield();
	}
	return sum;
}

#define FP_STEPS 200000
#define FP_YIELD_EVERY 1000

struct fp_job {
	double seed;
	int round_up; /* run with the rounding mode set upwards */
	double result;
	int round_ok;
};

static long fp_worker(void *arg)
{
	struct fp_job *job = arg;

	cpu_pin(0);
	job->round_ok = fegetround() == FE_TONEAREST;
	if (job->round_up)
		fesetround(FE_UPWARD);
	job->result = fp_series(job->seed, FP_STEPS, FP_YIELD_EVERY);
	job->round_ok &= fegetround() == (job->round_up ? FE_UPWARD : FE_TONEAREST);
	return 0;
}

/* Two threads sharing one CPU compute with doubles; each keeps its own
 * floating-point registers and rounding mode. */
static void case_fp_per_thread(void)
{
	struct fp_job jobs[2] = { { .seed = 3.0 }, { .seed = 7.0, .round_up = 1 } };
	double want[2];
	int tids[2];

	fesetround(FE_UPWARD);
	want[1] = fp_series(jobs[1].seed, FP_STEPS, 0);
	fesetround(FE_TONEAREST);
	want[0] = fp_series(jobs[0].seed, FP_STEPS, 0);
	CHECK(want[0] != want[1], "the two series agree: the test proves nothing");
	for (int i = 0; i < 2; i++)
		tids[i] = spawn(fp_worker, &jobs[i]);
	for (int i = 0; i < 2; i++) {
		join(tids[i]);
		CHECK(jobs[i].round_ok, "thread %d saw the wrong rounding mode", i);
		CHECK(jobs[i].result == want[i], "thread %d computed %.17g, expected %.17g", i,
		      jobs[i].result, want[i]);
	}
	CHECK(fegetround() == FE_TONEAREST, "main's rounding mode changed");
}

/* ---- the C library from many threads ---------------------------------- */

#define HEAP_THREADS 8
#define HEAP_ROUNDS 400
#define HEAP_LIVE 16
#define HEAP_MAX_BYTES 3000

static int heap_start_line;

static long heap_worker(void *arg)
{
	int id = (int)(long)arg;
	unsigned char *live[HEAP_LIVE] = { 0 };
	size_t size[HEAP_LIVE] = { 0 };
	unsigned seed = 12345u + (unsigned)id;
	char text[64], want[64];

	for (int round = 0; round < HEAP_ROUNDS; round++) {
		int slot = round % HEAP_LIVE;
		unsigned char mark = (unsigned char)(id * 16 + slot);

		if (live[slot]) {
			for (size_t i = 0; i < size[slot]; i++)
				CHECK(live[slot][i] == mark, "thread %d: block %d byte %u is %#x",
				      id, slot, (unsigned)i, live[slot][i]);
			free(live[slot]);
		}
		seed = seed * 1103515245u + 12345u;
		size[slot] = 1 + (seed >> 8) % HEAP_MAX_BYTES;
		live[slot] = malloc(size[slot]);
		CHECK(live[slot], "thread %d: malloc(%u) failed", id, (unsigned)size[slot]);
		memset(live[slot], mark, size[slot]);

		snprintf(text, sizeof(text), "%d:%d:%.3f:%s", id, round, round / 8.0, "x");
		strcpy(want, "");
		sprintf(want + strlen(want), "%d:", id);
		sprintf(want + strlen(want), "%d:", round);
		sprintf(want + strlen(want), "%d.%03d:x", round / 8, round % 8 * 125);
		CHECK(strcmp(text, want) == 0, "thread %d: snprintf gave \"%s\", expected \"%s\"",
		      id, text, want);
	}
	for (int slot = 0; slot < HEAP_LIVE; slot++)
		free(live[slot]);
	wait_for_release(&heap_start_line);
	printf("  thread %d of %d: %d blocks allocated, checked and freed\n", id, HEAP_THREADS,
	       HEAP_ROUNDS);
	return 0;
}

/* malloc, free and printf from many threads at once: no crash, and every
 * block keeps what its thread wrote. */
static void case_malloc_printf_threads(void)
{
	int tids[HEAP_THREADS];

	for (int i = 0; i < HEAP_THREADS; i++)
		tids[i] = spawn(heap_worker, (void *)(long)i);
	release(&heap_start_line); /* and all print together */
	for (int i = 0; i < HEAP_THREADS; i++)
		join(tids[i]);
	void *big = malloc(1 << 20);
	CHECK(big, "malloc(1 MiB) after the threads failed");
	free(big);
}

/* ---- condition variables, semaphores, barriers ---------------------------- */

#define QUEUE_SLOTS 4
#define PRODUCERS 4
#define CONSUMERS 4
#define ITEMS_EACH 250

static struct {
	struct mutex lock;
	struct condvar not_full, not_empty;
	long items[QUEUE_SLOTS];
	int head, count;
} queue = { MUTEX_INIT, CONDVAR_INIT, CONDVAR_INIT, { 0 }, 0, 0 };

static long producer(void *arg)
{
	long base = (long)arg * ITEMS_EACH;

	for (long i = 1; i <= ITEMS_EACH; i++) {
		mutex_lock(&queue.lock);
		while (queue.count == QUEUE_SLOTS)
			condvar_wait(&queue.not_full, &queue.lock);
		queue.items[(queue.head + queue.count) % QUEUE_SLOTS] = base + i;
		queue.count++;
		condvar_signal(&queue.not_empty);
		mutex_unlock(&queue.lock);
	}
	return 0;
}

static long consumer(void *arg)
{
	long sum = 0;

	(void)arg;
	for (int i = 0; i < ITEMS_EACH * PRODUCERS / CONSUMERS; i++) {
		mutex_lock(&queue.lock);
		while (queue.count == 0)
			condvar_wait(&queue.not_empty, &queue.lock);
		sum += queue.items[queue.head];
		queue.head = (queue.head + 1) % QUEUE_SLOTS;
		queue.count--;
		condvar_signal(&queue.not_full);
		mutex_unlock(&queue.lock);
	}
	return sum;
}

/* A bounded queue with a mutex and two condition variables: every item
 * produced is consumed once. */
static void case_condvar(void)
{
	int tids[PRODUCERS + CONSUMERS];
	long sum = 0, want = 0;

	for (int i = 0; i < CONSUMERS; i++)
		tids[i] = spawn(consumer, NULL);
	for (int i = 0; i < PRODUCERS; i++)
		tids[CONSUMERS + i] = spawn(producer, (void *)(long)i);
	for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
		sum += join(tids[i]);
	for (long p = 0; p < PRODUCERS; p++)
		for (long i = 1; i <= ITEMS_EACH; i++)
			want += p * ITEMS_EACH + i;
	CHECK(sum == want, "consumers took items summing to %ld, expected %ld", sum, want);
	CHECK(queue.count == 0, "%d items left in the queue", queue.count);

	/* Nobody signals: the timed wait times out, holding the mutex again. */
	struct condvar quiet = CONDVAR_INIT;
	unsigned long t0 = clock_ns();
	mutex_lock(&queue.lock);
	test_expect(condvar_timedwait(&quiet, &queue.lock, 30 * NS_PER_MS), -ETIMEDOUT,
		    "condvar_timedwait with no signal");
	CHECK(ms_since(t0) >= 30, "condvar_timedwait timed out after %lu ms", ms_since(t0));
	CHECK(!mutex_trylock(&queue.lock), "condvar_timedwait returned without the mutex");
	mutex_unlock(&queue.lock);
}

#define SEM_SLOTS 2
#define SEM_THREADS 6
#define SEM_ROUNDS 10

static struct semaphore sem = SEMAPHORE_INIT(SEM_SLOTS);
static int sem_inside, sem_most;

static long sem_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < SEM_ROUNDS; i++) {
		semaphore_wait(&sem);
		int inside = atomic_add(&sem_inside, 1);
		int most = atomic_read(&sem_most);
		while (inside > most && !atomic_cas(&sem_most, most, inside))
			most = atomic_read(&sem_most);
		sleep_ms(2);
		atomic_add(&sem_inside, -1);
		semaphore_post(&sem);
	}
	return 0;
}

/* A semaphore of 2 lets at most two threads in at once, and does let two. */
static void case_semaphore(void)
{
	int tids[SEM_THREADS];
	struct semaphore empty = SEMAPHORE_INIT(0);

	test_expect(semaphore_trywait(&empty), -EAGAIN, "semaphore_trywait at 0");
	semaphore_post(&empty);
	test_expect(semaphore_trywait(&empty), 0, "semaphore_trywait after a post");
	for (int i = 0; i < SEM_THREADS; i++)
		tids[i] = spawn(sem_worker, NULL);
	for (int i = 0; i < SEM_THREADS; i++)
		join(tids[i]);
	CHECK(sem_most == SEM_SLOTS, "at most %d threads were inside at once, expected %d",
	      sem_most, SEM_SLOTS);
	CHECK(sem.value == SEM_SLOTS, "the semaphore ended at %d, expected %d", sem.value,
	      SEM_SLOTS);
}

#define BARRIER_THREADS 6
#define BARRIER_ROUNDS 200

static struct barrier rounds_barrier;
static int barrier_arrivals, barrier_serials;

static long barrier_worker(void *arg)
{
	(void)arg;
	for (int r = 0; r < BARRIER_ROUNDS; r++) {
		atomic_add(&barrier_arrivals, 1);
		if (barrier_wait(&rounds_barrier) == BARRIER_SERIAL_THREAD)
			atomic_add(&barrier_serials, 1);
		int arrived = atomic_read(&barrier_arrivals);
		CHECK(arrived >= BARRIER_THREADS * (r + 1),
		      "left round %d when only %d arrivals of %d had happened", r, arrived,
		      BARRIER_THREADS * (r + 1));
	}
	return 0;
}

/* No thread leaves a round of the barrier before all have arrived, and
 * each round has one serial thread. */
static void case_barrier(void)
{
	int tids[BARRIER_THREADS];

	barrier_init(&rounds_barrier, BARRIER_THREADS);
	for (int i = 0; i < BARRIER_THREADS; i++)
		tids[i] = spawn(barrier_worker, NULL);
	for (int i = 0; i < BARRIER_THREADS; i++)
		join(tids[i]);
	test_expect(barrier_serials, BARRIER_ROUNDS, "serial threads over all rounds");
	test_expect(barrier_arrivals, BARRIER_THREADS * BARRIER_ROUNDS, "arrivals");
}

/* ---- mmap ----------------------------------------------------------------- */

static void touch_after_munmap(void)
{
	long a = mmap(PAGE_BYTES);

	CHECK(a > 0, "mmap returned %s", test_result_text(a));
	*(volatile int *)a = 1;
	test_expect(munmap((void *)a, PAGE_BYTES), 0, "munmap");
	*(volatile int *)a = 2;
	test_fail("wrote to memory after munmap");
}

static int overlaps(long a, size_t a_len, long b, size_t b_len)
{
	return a < b + (long)b_len && b < a + (long)a_len;
}

/* mmap gives zeroed, writable, page-aligned memory, never the same
 * address twice; munmap gives the pages back, and touching them faults. */
static void case_mmap_munmap(void)
{
	size_t len = 3 * PAGE_BYTES + 1, pages = 4;
	unsigned long free0 = test_free_pages();
	long a = mmap(len);
	unsigned long free1 = test_free_pages();

	test_expect(mmap(0), -EINVAL, "mmap(0)");
	test_expect(mmap(1ul << 45), -ENOMEM, "mmap(32 TiB)");
	CHECK(a > 0, "mmap(%u) returned %s", (unsigned)len, test_result_text(a));
	CHECK(a % PAGE_BYTES == 0, "mmap returned %#lx, not page aligned", a);
	CHECK(free0 - free1 >= pages && free0 - free1 <= pages + 3,
	      "mmap of %u pages took %lu pages", (unsigned)pages, free0 - free1);
	for (size_t i = 0; i < pages * PAGE_BYTES; i++)
		CHECK(((unsigned char *)a)[i] == 0, "mmap'd byte %u is %#x, not zero", (unsigned)i,
		      ((unsigned char *)a)[i]);
	memset((void *)a, 0x5a, pages * PAGE_BYTES);
	test_expect(munmap((void *)(a + 1), PAGE_BYTES), -EINVAL, "munmap(unaligned address)");
	test_expect(munmap((void *)a, pages * PAGE_BYTES), 0, "munmap");
	test_expect(test_free_pages() - free1, pages, "pages munmap gave back");
	long b = mmap(pages * PAGE_BYTES);
	CHECK(b > 0, "second mmap returned %s", test_result_text(b));
	CHECK(!overlaps(a, pages * PAGE_BYTES, b, pages * PAGE_BYTES),
	      "mmap reused the address %#lx", b);
	test_expect(munmap((void *)b, pages * PAGE_BYTES), 0, "second munmap");
	expect_status(in_process(touch_after_munmap, NULL), WAIT_STATUS(WAIT_FAULTED, FAULT_PAGE),
		      "process writing to munmapped memory");
}

/* ---- munmap while other threads run ---------------------------------------- */

#define SHOOTDOWN_ROUNDS 20
#define SHOOTDOWN_WORDS (PAGE_BYTES / sizeof(int))

static int shootdown_round; /* 0: not started; -1: stop */
static int *shootdown_page; /* the page of the current round */
static int shootdown_seen;  /* rounds * readers that checked their page */
static int shootdown_ready; /* readers pinned and spinning */

static long shootdown_reader(void *arg)
{
	int cpu = (int)(long)arg, last = 0;

	if (cpu_pin(cpu))
		return -1;
	atomic_add(&shootdown_ready, 1);
	for (;;) {
		int r = atomic_read(&shootdown_round);
		if (r < 0)
			return 0;
		if (r == last) {
			cpu_relax();
			continue;
		}
		/* Each word of this round's page holds r: read all of them, so
		 * this CPU's TLB holds the page, and give the page up. */
		int *page = atomic_read(&shootdown_page);
		for (size_t i = 0; i < SHOOTDOWN_WORDS; i++)
			if (page[i] != r)
				return 1;
		last = r;
		atomic_add(&shootdown_seen, 1);
	}
}

/* Threads pinned to every other CPU read a page, each round a new one,
 * while this thread unmaps the last: the flush of each munmap must reach
 * the CPUs running them (the kernel option tlbcheck=1 checks that it did:
 * scripts/test.py). */
static void case_munmap_while_threads_run(void)
{
	int n = online_cpus(), tids[16];

	CHECK(n >= 1 && n <= 16, "cpu_info says %d CPUs are online", n);
	test_expect(cpu_pin(0), 0, "cpu_pin(0)");
	for (int i = 1; i < n; i++)
		tids[i] = spawn(shootdown_reader, (void *)(long)i);
	while (atomic_read(&shootdown_ready) < n - 1)
		sleep_ms(1);
	for (int r = 1; r <= SHOOTDOWN_ROUNDS; r++) {
		long a = mmap(PAGE_BYTES);
		CHECK(a > 0, "mmap returned %s", test_result_text(a));
		int *page = (int *)a;
		for (size_t i = 0; i < SHOOTDOWN_WORDS; i++)
			page[i] = r;
		atomic_write(&shootdown_page, page);
		atomic_write(&shootdown_round, r);
		while (atomic_read(&shootdown_seen) < r * (n - 1))
			cpu_relax();
		test_expect(munmap(page, PAGE_BYTES), 0, "munmap");
	}
	atomic_write(&shootdown_round, -1);
	for (int i = 1; i < n; i++)
		test_expect(join(tids[i]), 0, "a reader's result (1: wrong data)");
	test_expect(cpu_pin(-1), 0, "cpu_pin(-1)");
}

/* ---- demand-zero mmap ------------------------------------------------------ */

#define DEMAND_PAGES 8
#define RACE_PAGES 256

/* Pages the calling process holds, by ps (reserved pages not counted). */
static unsigned long my_pages(void)
{
	struct proc_info me;

	CHECK(ps_find(getpid(), &me), "ps does not list the caller");
	return me.pages;
}

/* mmap only reserves: its pages count as taken at once (promised), but
 * the process holds each one only from its first touch, which reads 0. */
static void case_mmap_demand_zero(void)
{
	size_t len = DEMAND_PAGES * PAGE_BYTES;
	unsigned long held0 = my_pages(), free0 = test_free_pages();
	long a = mmap(len);
	unsigned long free1 = test_free_pages();
	volatile unsigned char *p = (volatile unsigned char *)a;

	CHECK(a > 0, "mmap returned %s", test_result_text(a));
	CHECK(free0 - free1 >= DEMAND_PAGES && free0 - free1 <= DEMAND_PAGES + 3,
	      "mmap of %u pages took %lu free pages", (unsigned)DEMAND_PAGES, free0 - free1);
	test_expect((long)(my_pages() - held0), 0, "pages held after mmap, before a touch");
	test_expect(p[3 * PAGE_BYTES + 5], 0, "the first read of a reserved page");
	test_expect((long)(my_pages() - held0), 1, "pages held after touching one");
	for (size_t i = 0; i < DEMAND_PAGES; i++)
		p[i * PAGE_BYTES] = (unsigned char)(i + 1);
	for (size_t i = 0; i < DEMAND_PAGES; i++)
		test_expect(p[i * PAGE_BYTES], (long)(i + 1), "a byte written to a filled page");
	test_expect((long)(my_pages() - held0), DEMAND_PAGES, "pages held after touching all");
	test_expect((long)test_free_pages(), (long)free1,
		    "free pages: touches take only promised pages");
	test_expect(munmap((void *)a, len), 0, "munmap");
	test_expect((long)my_pages(), (long)held0, "pages held after munmap");
	test_expect((long)(test_free_pages() - free1), DEMAND_PAGES, "pages munmap gave back");
}

/* The kernel's own accesses fill reserved pages as a touch would:
 * meminfo writes into one, futex_wait reads from another. */
static void case_mmap_kernel_touch(void)
{
	long a = mmap(2 * PAGE_BYTES);
	unsigned long held0 = my_pages();

	CHECK(a > 0, "mmap returned %s", test_result_text(a));
	test_expect(meminfo((struct mem_info *)a), 0, "meminfo into a reserved page");
	test_expect((long)((struct mem_info *)a)->page_size, PAGE_BYTES, "page size meminfo wrote");
	test_expect(futex_wait((int *)(a + PAGE_BYTES), 1, 0), -EAGAIN,
		    "futex_wait on a reserved word (0, not 1)");
	test_expect((long)(my_pages() - held0), 2, "pages the kernel's accesses filled");
	test_expect(munmap((void *)a, 2 * PAGE_BYTES), 0, "munmap");
}

static volatile unsigned char *fork_region;

static void touch_in_child(void)
{
	CHECK(fork_region[0] == 0x5a, "the child sees %#x in the touched page", fork_region[0]);
	CHECK(fork_region[PAGE_BYTES] == 0, "the child sees %#x in the untouched page",
	      fork_region[PAGE_BYTES]);
	fork_region[0] = 0x11;
	fork_region[PAGE_BYTES] = 0x77;
}

/* fork copies the touched page and keeps the untouched one reserved; each
 * side then fills its own copy. */
static void case_mmap_fork(void)
{
	long a = mmap(2 * PAGE_BYTES);

	CHECK(a > 0, "mmap returned %s", test_result_text(a));
	fork_region = (volatile unsigned char *)a;
	fork_region[0] = 0x5a;
	unsigned long before = test_free_pages();
	expect_status(in_process(touch_in_child, NULL), WAIT_STATUS(WAIT_EXITED, 0),
		      "child touching both pages");
	test_expect(fork_region[0], 0x5a, "the parent's page after the child wrote its copy");
	test_expect(fork_region[PAGE_BYTES], 0,
		    "the parent's reserved page after the child's touch");
	test_expect((long)test_free_pages_settle(before), (long)before,
		    "free pages after the child ended");
	test_expect(munmap((void *)a, 2 * PAGE_BYTES), 0, "munmap");
}

static void reserve_and_sleep(void)
{
	static long chunks[HOG_MAX_CHUNKS];

	reserve_until_failure(chunks);
	for (;;)
		sleep_ms(1000);
}

/* Free pages once they stop going down. */
static unsigned long free_pages_steady(void)
{
	unsigned long last = test_free_pages(), now;

	while (sleep_ms(50), (now = test_free_pages()) != last)
		last = now;
	return now;
}

static void reserve_all_then_touch(void)
{
	static long chunks[HOG_MAX_CHUNKS];
	struct mem_info info;

	/* One process may reserve only 3/4 of memory: a second one, here,
	 * takes what it leaves, down to the kernel's reserve. */
	int hog = fork();
	if (hog == 0)
		reserve_and_sleep();
	CHECK(hog > 0, "fork returned %s", test_result_text(hog));
	free_pages_steady();
	int n = reserve_until_failure(chunks);
	meminfo(&info);
	CHECK(info.free_pages < info.reserve_pages + HOG_CHUNK_BYTES / PAGE_BYTES,
	      "%lu pages still free (reserve: %lu)", info.free_pages, info.reserve_pages);
	for (int i = 0; i < n; i++)
		for (size_t off = 0; off < HOG_CHUNK_BYTES; off += PAGE_BYTES)
			((volatile char *)chunks[i])[off] = 1;
	test_expect(kill(hog), 0, "kill(hog)");
	test_expect(wait(hog, NULL), hog, "wait for the hog");
}

/* A reservation is a promise: with memory reserved to the last page a
 * program may have, every reserved page can still be touched (no
 * out-of-memory kill). */
static void case_mmap_promise_kept(void)
{
	expect_clean_exit(reserve_all_then_touch, "process touching all the memory it reserved");
}

static volatile unsigned char *race_region;
static int race_go;

static long race_toucher(void *arg)
{
	cpu_pin((int)(long)arg % online_cpus());
	wait_for_release(&race_go);
	for (size_t i = 0; i < RACE_PAGES; i++)
		race_region[i * PAGE_BYTES]++;
	return 0;
}

static void race_two_threads(void)
{
	long a = mmap(RACE_PAGES * PAGE_BYTES);
	int tids[2];

	CHECK(a > 0, "mmap returned %s", test_result_text(a));
	race_region = (volatile unsigned char *)a;
	race_go = 0;
	for (int i = 0; i < 2; i++)
		tids[i] = spawn(race_toucher, (void *)(long)i);
	release(&race_go);
	for (int i = 0; i < 2; i++)
		join(tids[i]);
}

/* Two threads (on two CPUs, if there are two) touch the same fresh pages
 * at once: the second to fault on a page finds it filled and retries. */
static void case_mmap_first_touch_race(void)
{
	expect_status(in_process(race_two_threads, NULL), WAIT_STATUS(WAIT_EXITED, 0),
		      "process whose threads raced to fill the same pages");
}

/* ---- fork ----------------------------------------------------------------- */

#define FORK_THREADS 3

static int fork_release;

static long fork_sleeper(void *arg)
{
	wait_for_release(&fork_release);
	return (long)arg;
}

/* fork in a threaded process copies only the calling thread. */
static void case_fork_one_thread(void)
{
	int tids[FORK_THREADS];
	int status;
	int pid;

	for (int i = 0; i < FORK_THREADS; i++)
		tids[i] = spawn(fork_sleeper, (void *)(long)i);
	test_expect(my_thread_count(), FORK_THREADS + 1, "threads before fork");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		test_expect(my_thread_count(), 1, "threads in the child");
		for (int i = 0; i < FORK_THREADS; i++)
			test_expect(sys_thread_join(tids[i], NULL), -ESRCH,
				    "joining a parent's thread in the child");
		exit(0);
	}
	CHECK(pid > 0, "fork returned %s", test_result_text(pid));
	test_expect(wait(pid, &status), pid, "wait for the child");
	if (status == WAIT_STATUS(WAIT_EXITED, CASE_REPORTED))
		exit(CASE_REPORTED);
	expect_status(status, WAIT_STATUS(WAIT_EXITED, 0), "child");
	test_expect(my_thread_count(), FORK_THREADS + 1, "threads in the parent after fork");
	release(&fork_release);
	for (int i = 0; i < FORK_THREADS; i++)
		test_expect(join(tids[i]), i, "a thread's value after fork");
}

/*
 * An exec that fails leaves the process as it was: its other threads are
 * still there and still run. A missing program and a malformed one (the
 * initrd's bad-* files) are both found out before any thread is ended.
 */
#define EXEC_SIBLING_VALUE 42
static int exec_release;

static long exec_sibling(void *arg)
{
	(void)arg;
	wait_for_release(&exec_release);
	return EXEC_SIBLING_VALUE;
}

/* The name of a malformed program in the initrd (a bad-* file). */
static void find_bad_program(char *name, size_t len)
{
	name[0] = '\0';
	for (int i = 0; progname(i, name, len) >= 0; i++)
		if (strncmp(name, "bad-", 4) == 0)
			return;
	test_fail("no bad-* program in the initrd");
}

static void case_exec_failure_keeps_threads(void)
{
	char bad[64];
	char *argv[] = { NULL, NULL };
	int tid = spawn(exec_sibling, NULL);

	find_bad_program(bad, sizeof(bad));
	argv[0] = "no-such-program";
	test_expect(exec("no-such-program", argv), -ENOENT, "exec of a missing program");
	test_expect(my_thread_count(), 2, "threads after the failed exec");
	argv[0] = bad;
	test_expect(exec(bad, argv), -ENOEXEC, "exec of a malformed program");
	test_expect(my_thread_count(), 2, "threads after the refused exec");
	release(&exec_release);
	test_expect(join(tid), EXEC_SIBLING_VALUE, "the sibling's value");
}

/* ---- races with exec, kill and fork ------------------------------------- */

/*
 * exec is all or nothing and nothing races it; a killed process leaves
 * nothing behind (docs/robustness.md). Each case below runs its race in a
 * process of its own, a "racer", for RACE_ROUNDS rounds, with threads
 * busy on every CPU, and holds each round to an exact end: how the racer
 * ended, within PROMPT_END_MS (a racer that hangs is killed and the case
 * fails), and, after the last round, every page back. The moment of the
 * exec or the kill varies from round to round, pseudo-randomly.
 */
#define RACE_ROUNDS 100
#define FORK_RACE_ROUNDS 50  /* each copies a megabyte */
#define RACE_MADE_MAX 8      /* threads each busy thread makes */
#define RACE_SPIN_MAX 100000 /* an exec comes after fewer spins than this */
#define RACE_SPIN_STEP 1000
/* A kill comes sooner than this after the racer is forked (or, if the
 * case waits for the racer's threads, after they are there). */
#define KILL_EXEC_MAX_US 20000
#define KILL_SYSCALLS_MAX_US 2000
#define KILL_FORK_MAX_US 10000
#define MINIMAL_EXIT_CODE 42   /* the initrd's minimal (scripts/mkbadelf.py) */
#define FORK_BALLAST_PAGES 256 /* so that a fork takes breaks for the lock */
#define HELPER_ARG "--helper"

static unsigned int race_seed;

/* A pseudo-random number below `below` (xorshift32). */
static unsigned int race_random(unsigned int below)
{
	if (!race_seed)
		race_seed = (unsigned int)clock_ns() | 1;
	race_seed ^= race_seed << 13;
	race_seed ^= race_seed >> 17;
	race_seed ^= race_seed << 5;
	return race_seed % below;
}

static void spin(unsigned int loops)
{
	for (unsigned int i = 0; i < loops; i++)
		cpu_relax();
}

/* Waits a pseudo-random time below max_us, spinning. */
static void race_pause(unsigned int max_us)
{
	unsigned long until = clock_ns() + race_random(max_us) * 1000ul;

	while (clock_ns() < until)
		spin(RACE_SPIN_STEP);
}

/* A racer's busy threads: one on each CPU but the first, where its main
 * thread stays; with one CPU, two, unpinned. */
static int busy_threads(void)
{
	return online_cpus() > 1 ? online_cpus() - 1 : 2;
}

/* Starts the busy threads, each running fn(i) with i its number, which it
 * first hands to busy_thread_start. Returns how many there are. */
static int start_busy_threads(long (*fn)(void *))
{
	int n = busy_threads();

	if (online_cpus() > 1)
		cpu_pin(0);
	for (int i = 0; i < n; i++)
		spawn(fn, (void *)(long)i);
	return n;
}

/* Pins busy thread i (as an argument) to its CPU; returns i. */
static int busy_thread_start(void *arg)
{
	int i = (int)(long)arg;

	if (online_cpus() > 1)
		cpu_pin(i + 1);
	return i;
}

/* Waits for racer `pid`, a child, to end (PROMPT_END_MS at the most) and
 * returns its wait status. */
static int reap_promptly(int pid, int round)
{
	unsigned long t0 = clock_ns();

	while (!process_ended(pid)) {
		if (ms_since(t0) > PROMPT_END_MS) {
			kill(pid);
			test_fail("round %d: the racer did not end within %d ms", round,
				  PROMPT_END_MS);
		}
		sleep_ms(1);
	}
	return reap(pid);
}

static int fork_racer(void (*fn)(void))
{
	fflush(stdout);
	int pid = fork();
	if (pid == 0) {
		fn();
		test_fail("the racer returned");
	}
	CHECK(pid > 0, "fork returned %s", test_result_text(pid));
	return pid;
}

/* Forks a racer running fn and kills it a random time below max_us
 * later (later than it has `threads` threads, if that is not 0). Returns
 * its pid. */
static int kill_racer(void (*fn)(void), int threads, unsigned int max_us)
{
	struct proc_info info;
	int pid = fork_racer(fn);

	while (threads && ps_find(pid, &info) && info.threads < threads)
		sleep_ms(1);
	race_pause(max_us);
	test_expect(kill(pid), 0, "kill(racer)");
	return pid;
}

static void expect_round_status(int status, int want, int round, const char *what)
{
	char text[80];

	snprintf(text, sizeof(text), "round %d: %s", round, what);
	expect_status(status, want, text);
}

static void expect_pages_back(unsigned long before, const char *after_what)
{
	unsigned long after = test_free_pages_settle(before);

	CHECK(after == before, "%lu free pages before, %lu after %s", before, after, after_what);
}

/* -- exec against thread_create -- */

static int racer_made; /* threads the busy threads made */
/* When the racer execs: set before each fork. */
static int racer_moment;
static unsigned int racer_spins;

/* Makes RACE_MADE_MAX threads that sleep until the process ends: a
 * thread made too late to be told to leave would keep exec waiting. */
static long make_threads(void *arg)
{
	busy_thread_start(arg);
	for (int i = 0; i < RACE_MADE_MAX; i++) {
		spawn(sleep_on_futex, NULL);
		atomic_add(&racer_made, 1);
	}
	return sleep_on_futex(NULL);
}

/* Once the busy threads have made racer_moment threads, and racer_spins
 * spins later, execs argv. */
static void exec_among_creators(char *const argv[])
{
	start_busy_threads(make_threads);
	while (atomic_read(&racer_made) < racer_moment)
		cpu_relax();
	spin(racer_spins);
	int err = exec(argv[0], argv);
	test_fail("exec(\"%s\") among thread creators returned %s", argv[0], test_result_text(err));
}

/* Runs RACE_ROUNDS racers that run fn, which execs among thread
 * creators; with kill_max_us, kills each racer sooner than that after its
 * fork. Each racer must end with `want`. */
static void race_exec(void (*fn)(void), unsigned int kill_max_us, int want, const char *what)
{
	unsigned long before = test_free_pages();

	for (int round = 1; round <= RACE_ROUNDS; round++) {
		racer_moment = (int)race_random(RACE_MADE_MAX);
		racer_spins = race_random(RACE_SPIN_MAX);
		int pid = kill_max_us ? kill_racer(fn, 0, kill_max_us) : fork_racer(fn);
		expect_round_status(reap_promptly(pid, round), want, round, what);
	}
	expect_pages_back(before, "the racers");
}

static void exec_minimal_among_creators(void)
{
	char *argv[] = { "minimal", NULL };

	exec_among_creators(argv);
}

/*
 * While its other threads make threads on every CPU, a thread execs: the
 * exec ends them all, and those they made, and the new program runs. A
 * thread made while exec waits for the others to go, and so never told
 * to, would keep it waiting: the racer would not end.
 */
static void case_exec_races_thread_create(void)
{
	race_exec(exec_minimal_among_creators, 0, WAIT_STATUS(WAIT_EXITED, MINIMAL_EXIT_CODE),
		  "racer that exec'd minimal");
}

/* -- a failed exec among running siblings -- */

#define EXEC_FAILURES 20
#define BUSY_MAX 8

static int busy_counts[BUSY_MAX];

static long count_forever(void *arg)
{
	int i = busy_thread_start(arg);

	for (;;)
		atomic_add(&busy_counts[i], 1);
	return 0;
}

static void fail_execs_among_counters(void)
{
	char bad[64];
	char *missing[] = { "no-such-program", NULL };
	char *malformed[] = { bad, NULL };

	find_bad_program(bad, sizeof(bad));
	int n = start_busy_threads(count_forever);
	CHECK(n <= BUSY_MAX, "%d busy threads, room for %d", n, BUSY_MAX);
	for (int round = 1; round <= EXEC_FAILURES; round++) {
		if (round % 2)
			test_expect(exec(missing[0], missing), -ENOENT,
				    "exec of a missing program");
		else
			test_expect(exec(bad, malformed), -ENOEXEC, "exec of a malformed program");
		test_expect(my_thread_count(), n + 1, "threads after a failed exec");
		for (int i = 0; i < n; i++)
			wait_until_count(&busy_counts[i], atomic_read(&busy_counts[i]) + 1,
					 "a sibling's count after a failed exec");
	}
}

/* exec after exec fails among siblings that count on every CPU: each
 * fails with its error, and every sibling is still there and counting. */
static void case_exec_failure_siblings_run(void)
{
	unsigned long before = test_free_pages();

	expect_status(in_process(fail_execs_among_counters, NULL), WAIT_STATUS(WAIT_EXITED, 0),
		      "process whose execs failed");
	expect_pages_back(before, "it ended");
}

/* -- a successful exec forgets the old program's threads -- */

static void exec_after_threads(void)
{
	char tids[2][16];
	char *argv[] = { "threadtests", HELPER_ARG, "join", tids[0], tids[1], NULL };
	int ended = spawn(return_value, NULL);

	snprintf(tids[0], sizeof(tids[0]), "%d", ended);
	snprintf(tids[1], sizeof(tids[1]), "%d", spawn(sleep_on_futex, NULL));
	while (my_thread_count() != 2)
		sleep_ms(1);
	int err = exec(argv[0], argv);
	test_fail("exec returned %s", test_result_text(err));
}

/* The program an exec starts has only its own threads: neither a thread
 * that ended unjoined nor one that exec ended can be joined from it (the
 * helper "join" exits with how many of them it could join). */
static void case_exec_forgets_old_threads(void)
{
	expect_status(in_process(exec_after_threads, NULL), WAIT_STATUS(WAIT_EXITED, 0),
		      "exec'd program (exit code: old threads it joined)");
}

/* -- kill against thread_create and exec -- */

static void exec_sleeper_among_creators(void)
{
	char *argv[] = { "threadtests", HELPER_ARG, "sleep", NULL };

	exec_among_creators(argv);
}

/*
 * A racer is killed while its threads make threads and one of them execs
 * a program that sleeps: whether the kill comes before, during or after
 * the exec, the racer ends as killed.
 */
static void case_kill_races_exec(void)
{
	race_exec(exec_sleeper_among_creators, KILL_EXEC_MAX_US, WAIT_STATUS(WAIT_KILLED, 0),
		  "killed racer");
}

/* -- kill against system calls -- */

static long make_syscalls(void *arg)
{
	char none = 0;

	for (unsigned int i = busy_thread_start(arg);; i++) {
		if (i % 3 == 0)
			getpid();
		else if (i % 3 == 1)
			yield();
		else
			write(1, &none, 0);
	}
	return 0;
}

static void syscalls_forever(void)
{
	start_busy_threads(make_syscalls);
	make_syscalls((void *)-1l); /* busy thread -1: CPU 0 */
}

/* A racer whose threads make system calls without pause on every CPU
 * ends at once when killed. */
static void case_kill_races_syscalls(void)
{
	int threads = busy_threads() + 1;

	for (int round = 1; round <= RACE_ROUNDS; round++) {
		int pid = kill_racer(syscalls_forever, threads, KILL_SYSCALLS_MAX_US);
		expect_round_status(reap_promptly(pid, round), WAIT_STATUS(WAIT_KILLED, 0), round,
				    "killed racer");
	}
}

/* -- kill against fork -- */

static int race_gate; /* a process whose end lets the racers' children go */

static void fork_child(void)
{
	while (!process_ended(race_gate))
		sleep_ms(GATE_POLL_MS);
	_exit(0);
}

/* Forks, and kills and reaps each child, for ever. */
static long fork_children(void *arg)
{
	(void)arg;
	for (;;) {
		int pid = fork();
		if (pid == 0)
			fork_child();
		CHECK(pid > 0, "fork returned %s", test_result_text(pid));
		kill(pid);
		wait(pid, NULL);
	}
	return 0;
}

/* The heap's pages are mapped at once, so every fork copies them. */
static void fork_with_ballast(void)
{
	long heap_end = sbrk_raw(FORK_BALLAST_PAGES * PAGE_BYTES);

	CHECK(heap_end > 0, "sbrk returned %s", test_result_text(heap_end));
	start_busy_threads(fork_children);
	fork_children(NULL);
}

/* The processes made after `pid` (higher pids: no wrap this early), into
 * pids; returns how many. */
static int processes_after(int pid, int *pids, int max)
{
	struct proc_info procs[PS_MAX];
	int n = ps(procs, PS_MAX), found = 0;

	for (int i = 0; i < n && found < max; i++)
		if (procs[i].pid > pid)
			pids[found++] = procs[i].pid;
	return found;
}

/* Fails if a process made after racer `racer` (by the racer: nothing else
 * forks meanwhile) was not there when the kill returned (`known`). */
static void expect_no_late_child(int racer, const int *known, int nknown, int round)
{
	int now[PS_MAX];
	int n = processes_after(racer, now, PS_MAX);

	for (int i = 0; i < n; i++) {
		bool was_known = false;
		for (int k = 0; k < nknown; k++)
			was_known |= now[i] == known[k];
		CHECK(was_known,
		      "round %d: process %d, forked by the racer after it was killed, lives on",
		      round, now[i]);
	}
}

/*
 * A racer whose threads fork in a loop (each fork copying a megabyte,
 * with breaks for the lock, during which the kill can come) is killed:
 * a fork the kill interrupts makes no child. Its children wait for a
 * gate process, so one made after the kill would still be there, an
 * orphan, when the racer has been reaped.
 */
static void case_kill_races_fork(void)
{
	unsigned long before = test_free_pages();
	int threads = busy_threads() + 1;
	int known[PS_MAX];

	race_gate = fork_gate();
	for (int round = 1; round <= FORK_RACE_ROUNDS; round++) {
		int pid = kill_racer(fork_with_ballast, threads, KILL_FORK_MAX_US);
		int nknown = processes_after(pid, known, PS_MAX);
		expect_round_status(reap_promptly(pid, round), WAIT_STATUS(WAIT_KILLED, 0), round,
				    "killed racer");
		expect_no_late_child(pid, known, nknown, round);
	}
	kill(race_gate);
	reap(race_gate);
	expect_pages_back(before, "the racers and their children");
}

/* ---- helper modes: threadtests exec'd by a case -------------------------- */

/*
 *   threadtests --helper sleep          sleeps until killed
 *   threadtests --helper join TID...    exits with how many of the TIDs
 *                                       thread_join did not refuse
 */
static int helper(int argc, char **argv)
{
	int joined = 0;

	if (strcmp(argv[2], "sleep") == 0)
		for (;;)
			sleep_ms(GATE_SLEEP_MS);
	if (strcmp(argv[2], "join") != 0)
		return 127;
	for (int i = 3; i < argc; i++)
		joined += sys_thread_join(atoi(argv[i]), NULL) != -ESRCH;
	return joined;
}

/* ---- the cases, in the order they run ---------------------------------- */

static const struct test_case cases[] = {
	{ "mutex_64_threads", case_mutex_64_threads },
	{ "join_value", case_join_value },
	{ "unjoined_count", case_unjoined_count },
	{ "join_finished", case_join_finished },
	{ "join_unknown", case_join_unknown },
	{ "join_self", case_join_self },
	{ "join_twice", case_join_twice },
	{ "stack_guard", case_stack_guard },
	{ "futex_bad_address", case_futex_bad_address },
	{ "futex_wrong_value", case_futex_wrong_value },
	{ "futex_timeout", case_futex_timeout },
	{ "futex_wake_count", case_futex_wake_count },
	{ "futex_long_timeout", case_futex_long_timeout },
	{ "spawn_until_limit", case_spawn_until_limit },
	{ "spawn_until_enomem", case_spawn_until_enomem },
	{ "spawn_join_cycle", case_spawn_join_cycle },
	{ "kernel_stacks_reused", case_kernel_stacks_reused },
	{ "fault_kills_all", case_fault_kills_all },
	{ "exit_from_thread", case_exit_from_thread },
	{ "kill_futex_waiters", case_kill_futex_waiters },
	{ "last_thread_exit", case_last_thread_exit },
	{ "parallel_cpus", case_parallel_cpus },
	{ "errno_per_thread", case_errno_per_thread },
	{ "tls_per_thread", case_tls_per_thread },
	{ "fp_per_thread", case_fp_per_thread },
	{ "malloc_printf_threads", case_malloc_printf_threads },
	{ "condvar", case_condvar },
	{ "semaphore", case_semaphore },
	{ "barrier", case_barrier },
	{ "mmap_munmap", case_mmap_munmap },
	{ "mmap_demand_zero", case_mmap_demand_zero },
	{ "mmap_kernel_touch", case_mmap_kernel_touch },
	{ "mmap_fork", case_mmap_fork },
	{ "mmap_promise_kept", case_mmap_promise_kept },
	{ "mmap_first_touch_race", case_mmap_first_touch_race },
	{ "munmap_while_threads_run", case_munmap_while_threads_run },
	{ "fork_one_thread", case_fork_one_thread },
	{ "exec_failure_keeps_threads", case_exec_failure_keeps_threads },
	{ "exec_races_thread_create", case_exec_races_thread_create },
	{ "exec_failure_siblings_run", case_exec_failure_siblings_run },
	{ "exec_forgets_old_threads", case_exec_forgets_old_threads },
	{ "kill_races_exec", case_kill_races_exec },
	{ "kill_races_syscalls", case_kill_races_syscalls },
	{ "kill_races_fork", case_kill_races_fork },
};

/*
 * Before no_leaks counts: a crowd of threads larger than any case makes,
 * so the kernel's stack-area page tables (kept once grown, see
 * KSTACK_SLOT_BYTES) are already as large as the cases make them.
 */
static void warm_up_kernel_stacks(void)
{
	int status;
	int pid;

	if (!test_selected(NO_LEAKS_NAME) ||
	    !(test_selected("spawn_until_limit") || test_selected("kernel_stacks_reused")))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		test_case_name = NO_LEAKS_NAME;
		crowd_round(CROWD_THREADS + CROWD_WARM_UP_EXTRA);
		exit(0);
	}
	if (pid > 0)
		wait(pid, &status);
}

int main(int argc, char **argv)
{
	static const struct test_suite suite = {
		.name = "threadtests",
		.cases = cases,
		.count = sizeof(cases) / sizeof(cases[0]),
		.timeout_ms = CASE_TIMEOUT_MS,
		.warm_up = warm_up_kernel_stacks,
	};

	if (argc >= 3 && strcmp(argv[1], HELPER_ARG) == 0)
		return helper(argc, argv);
	return test_main(&suite, argc, argv);
}
