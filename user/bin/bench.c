/*
 * bench: micro-benchmarks of Weft's kernel paths.
 *
 *   bench [iterations]
 *
 * Each benchmark runs its operation in a loop and reports the time per
 * operation, from clock_ns(). Under QEMU with `-icount shift=0` the clock
 * advances exactly one nanosecond per guest instruction, so the same
 * program then reports guest instructions per operation, repeatable to the
 * instruction; `make bench` runs it both ways (scripts/bench.py).
 * Output: one line per benchmark, "bench: <name> <ns per op>"; with a
 * second argument (`bench 10000 speedup`) also the speedup of a compute-only
 * workload on 1, 2 and 4 threads, "speedup: <k> threads <ratio>".
 */
#include <stdio.h>
#include <stdlib.h>

#include "weft.h"
#include "weft_ipc.h"
#include "weft_thread.h"

#define DEFAULT_ITERATIONS 10000
#define FORK_DIVISOR 50 /* fork, exec, thread creation are costly: fewer rounds */
#define COMPUTE_WORK 40000000ul /* loop iterations shared by the threads */
#define MAX_SPEEDUP_THREADS 4

static long iterations;

static void report(const char *name, unsigned long start, long ops)
{
	unsigned long ns = clock_ns() - start;

	printf("bench: %s %lu\n", name, ops > 0 ? ns / (unsigned long)ops : 0);
}

static void bench_null_syscall(void)
{
	unsigned long start = clock_ns();

	for (long i = 0; i < iterations; i++)
		getpid();
	report("null_syscall", start, iterations);
}

static void bench_fork_exit_wait(void)
{
	long n = iterations / FORK_DIVISOR + 1;
	unsigned long start = clock_ns();

	for (long i = 0; i < n; i++) {
		int pid = fork();
		if (pid == 0)
			_exit(0);
		wait(pid, NULL);
	}
	report("fork_exit_wait", start, n);
}

static void bench_exec(void)
{
	long n = iterations / FORK_DIVISOR + 1;
	char *argv[] = { "minimal", NULL };
	unsigned long start = clock_ns();

	for (long i = 0; i < n; i++) {
		int pid = fork();
		if (pid == 0) {
			exec("minimal", argv);
			_exit(127);
		}
		wait(pid, NULL);
	}
	unsigned long with_exec = clock_ns() - start;
	/* Subtract the fork+exit+wait around it, measured the same way. */
	start = clock_ns();
	for (long i = 0; i < n; i++) {
		int pid = fork();
		if (pid == 0)
			_exit(0);
		wait(pid, NULL);
	}
	unsigned long without = clock_ns() - start;
	printf("bench: exec %lu\n", with_exec > without ? (with_exec - without) / n : 0);
}

/* A server answering calls: each reply returns the first word plus one. */
static _Noreturn void ipc_server(int ep)
{
	struct ipc_msg m;
	long err = ipc_recv(ep, &m, NULL);

	while (err == 0) {
		m.w[0]++;
		err = ipc_reply_recv(ep, &m, NULL);
	}
	_exit(1);
}

static void bench_ipc(const char *name, struct ipc_ext *ext)
{
	int ep = endpoint_create();
	int pid = fork();

	if (pid == 0)
		ipc_server(ep);
	struct ipc_msg m = { 0 };
	ipc_call(ep, &m, ext); /* warm up: the server is waiting now */
	unsigned long start = clock_ns();
	for (long i = 0; i < iterations; i++)
		ipc_call(ep, &m, ext);
	report(name, start, iterations);
	kill(pid);
	wait(pid, NULL);
	handle_close(ep);
}

/* Two threads on one CPU take turns: each yield switches to the other. */
static long yielder(void *arg)
{
	for (long i = 0; i < (long)arg; i++)
		yield();
	return 0;
}

static void bench_yield(void)
{
	cpu_pin(0);
	int tid = thread_spawn(yielder, (void *)iterations);
	unsigned long start = clock_ns();
	yielder((void *)iterations);
	thread_join(tid, NULL);
	report("yield_switch", start, 2 * iterations); /* two switches a round */
	cpu_pin(-1);
}

static long nothing(void *arg)
{
	return (long)arg;
}

static void bench_thread_create_join(void)
{
	long n = iterations / FORK_DIVISOR + 1;
	unsigned long start = clock_ns();

	for (long i = 0; i < n; i++)
		thread_join(thread_spawn(nothing, NULL), NULL);
	report("thread_create_join", start, n);
}

/* Futex ping-pong: `turn` says whose turn it is; each side waits for its
 * turn and hands it over with a wake. One round trip = two hand-overs. */
static int turn;

static void take_turns(int me, long rounds)
{
	for (long i = 0; i < rounds; i++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != me)
			futex_wait(&turn, !me, 0);
		__atomic_store_n(&turn, !me, __ATOMIC_RELEASE);
		futex_wake(&turn, 1);
	}
}

static long futex_partner(void *arg)
{
	take_turns(1, (long)arg);
	return 0;
}

static void bench_futex(void)
{
	turn = 0;
	int tid = thread_spawn(futex_partner, (void *)iterations);
	unsigned long start = clock_ns();
	take_turns(0, iterations);
	thread_join(tid, NULL);
	report("futex_round_trip", start, iterations);
}

/* Compute-only work, no system calls: with the lock never held in user
 * mode, k threads should finish close to k times faster. */
static long compute(void *arg)
{
	unsigned long x = 1;

	for (unsigned long i = 0; i < (unsigned long)arg; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	return (long)(x & 1);
}

static void bench_speedup(void)
{
	int cpus = CPU_INFO_ONLINE(cpu_info());
	unsigned long one = 0;

	for (int k = 1; k <= MAX_SPEEDUP_THREADS && k <= cpus; k *= 2) {
		int tids[MAX_SPEEDUP_THREADS];
		unsigned long start = clock_ns();
		for (int t = 0; t < k; t++)
			tids[t] = thread_spawn(compute, (void *)(COMPUTE_WORK / k));
		for (int t = 0; t < k; t++)
			thread_join(tids[t], NULL);
		unsigned long ns = clock_ns() - start;
		if (k == 1)
			one = ns;
		printf("speedup: %d threads %lu.%02lu\n", k, one / ns, one * 100 / ns % 100);
	}
}

int main(int argc, char **argv)
{
	static char buf[IPC_BUF_MAX], back[IPC_BUF_MAX];
	struct ipc_ext ext = {
		.send_buf = buf,
		.send_len = sizeof(buf),
		.send_handle = IPC_NO_HANDLE,
		.recv_buf = back,
		.recv_cap = sizeof(back),
	};

	iterations = argc > 1 ? atol(argv[1]) : DEFAULT_ITERATIONS;
	if (iterations <= 0) {
		printf("usage: bench [iterations]\n");
		return 1;
	}
	bench_null_syscall();
	bench_yield();
	bench_thread_create_join();
	bench_futex();
	bench_ipc("ipc_call_reply", NULL);
	bench_ipc("ipc_call_reply_4k", &ext);
	bench_fork_exit_wait();
	bench_exec();
	if (argc > 2)
		bench_speedup(); /* wall clock only: `bench N speedup` */
	return 0;
}
