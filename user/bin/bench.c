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
 * Output: one line per benchmark, "bench: <name> <ns per op>".
 */
#include <stdio.h>
#include <stdlib.h>

#include "weft.h"
#include "weft_ipc.h"

#define DEFAULT_ITERATIONS 10000
#define FORK_DIVISOR 50 /* fork and exec are costly: fewer rounds */

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
	bench_ipc("ipc_call_reply", NULL);
	bench_ipc("ipc_call_reply_4k", &ext);
	bench_fork_exit_wait();
	bench_exec();
	return 0;
}
