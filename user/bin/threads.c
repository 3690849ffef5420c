/*
 * threads: a first look at threads, and why they need locks.
 *
 *   threads [N [ITERATIONS]]
 *
 * Starts N threads (default: one per online CPU, at least two), thread i
 * pinned to CPU i modulo the CPU count. Each says where it runs and where
 * its memory is: every thread has its own stack and its own thread-local
 * variables, but there is only one copy of the global counter. Then,
 * twice, every thread adds 1 to that counter ITERATIONS times: first with
 * a bare `counter++`, which loses updates when threads collide, then with
 * a mutex around it, which never does.
 */
#include <stdio.h>
#include <stdlib.h>

#include "atomic.h"
#include "weft_thread.h"

#define DEFAULT_ITERATIONS 5000000
#define MAX_THREADS 64
#define START_DELAY_MS 20 /* for every thread to be spinning at the start line */

/* Shared by every thread: one copy, in the program's data. volatile makes
 * each `counter++` a real load, add and store, as the lesson needs. */
static volatile long counter;
static struct mutex counter_lock = MUTEX_INIT;

/* One copy per thread (thread-local storage). */
static _Thread_local int thread_number;

static int iterations;
static int nthreads;
static struct barrier step; /* the threads and main move in lock step */
static int go;              /* round 1 starts: every thread at once */

static long worker(void *arg)
{
	int local = 0; /* lives on this thread's own stack */

	thread_number = (int)(long)arg;
	cpu_pin(thread_number % CPU_INFO_ONLINE(cpu_info()));
	printf("  thread %d: tid %d on CPU %d; its stack at %p, its TLS at %p, counter at %p\n",
	       thread_number, gettid(), CPU_INFO_CURRENT(cpu_info()), (void *)&local,
	       (void *)&thread_number, (void *)&counter);
	barrier_wait(&step); /* everyone has introduced themselves */

	barrier_wait(&step); /* round 1: get ready... */
	while (!atomic_read(&go))
		cpu_relax(); /* ...and start together, not as each wakes up */
	for (int i = 0; i < iterations; i++)
		counter++;
	barrier_wait(&step); /* round 1 done */

	barrier_wait(&step); /* round 2: go */
	for (int i = 0; i < iterations; i++) {
		mutex_lock(&counter_lock);
		counter++;
		mutex_unlock(&counter_lock);
	}
	return 0;
}

static void report(long expected)
{
	if (counter == expected) {
		printf("  counter = %ld, expected %ld: exact.\n", counter, expected);
		return;
	}
	printf("  counter = %ld, expected %ld: %ld updates lost.\n", counter, expected,
	       expected - counter);
}

int main(int argc, char **argv)
{
	int online = CPU_INFO_ONLINE(cpu_info());
	int tids[MAX_THREADS];
	int local = 0;

	nthreads = argc > 1 ? atoi(argv[1]) : online > 2 ? online : 2;
	iterations = argc > 2 ? atoi(argv[2]) : DEFAULT_ITERATIONS;
	if (nthreads < 1 || nthreads > MAX_THREADS || iterations < 1) {
		printf("usage: threads [threads (1..%d) [iterations]]\n", MAX_THREADS);
		return 2;
	}
	long expected = (long)nthreads * iterations;

	printf("threads: %d thread%s on %d CPU%s, each adding 1 to one shared counter %d "
	       "times.\n\n",
	       nthreads, nthreads == 1 ? "" : "s", online, online == 1 ? "" : "s", iterations);
	printf("Where everything is. One process (pid %d), so one address space: each\n", getpid());
	printf("thread has its own stack and TLS block, but the counter exists once.\n");
	printf("  main:     tid %d on CPU %d; its stack at %p, its TLS at %p, counter at %p\n",
	       gettid(), CPU_INFO_CURRENT(cpu_info()), (void *)&local, (void *)&thread_number,
	       (void *)&counter);
	fflush(stdout);

	barrier_init(&step, nthreads + 1);
	for (int i = 0; i < nthreads; i++) {
		tids[i] = thread_spawn(worker, (void *)(long)i);
		if (tids[i] < 0) {
			printf("threads: thread_spawn failed (%s)\n", error_name(tids[i]));
			exit(1);
		}
	}
	barrier_wait(&step);

	printf("\nRound 1: `counter++` with no lock. It is three steps: load, add, store.\n");
	printf("Two threads that load the same value both store that value + 1, and\n");
	printf("one of the two updates is lost.\n");
	fflush(stdout);
	barrier_wait(&step);
	sleep_ms(START_DELAY_MS);
	atomic_write(&go, 1);
	barrier_wait(&step);
	report(expected);
	if (counter == expected && nthreads > 1 && online == 1)
		printf("  (No update was lost this time. With one CPU, threads take turns only\n"
		       "  when the timer interrupts one, rarely between its load and its store.\n"
		       "  With several CPUs they truly collide.)\n");
	else if (counter == expected && nthreads > 1)
		printf("  (No update was lost this time: the threads did not overlap. QEMU\n"
		       "  may run its virtual CPUs one after another on a busy host. Try\n"
		       "  more iterations.)\n");

	counter = 0;
	printf("\nRound 2: the same, with a mutex around `counter++`. Only the thread\n");
	printf("holding the mutex may touch the counter; the others wait (spinning a\n");
	printf("little, then sleeping in the kernel on a futex).\n");
	fflush(stdout);
	barrier_wait(&step);
	for (int i = 0; i < nthreads; i++)
		thread_join(tids[i], NULL);
	report(expected);
	return counter == expected ? 0 : 1;
}
