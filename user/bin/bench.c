/*
 * bench: micro-benchmarks of Weft's kernel paths.
 *
 *   bench [ITERATIONS] [NAME...]
 *
 * Each benchmark runs its operation in a loop and reports the time per
 * operation, from clock_ns(). Under QEMU with `-icount shift=0` the clock
 * advances exactly one nanosecond per guest instruction, so the same
 * program then reports guest instructions per operation, repeatable to the
 * instruction; `make bench` runs it both ways (scripts/bench.py,
 * docs/performance.md says what each benchmark exercises).
 *
 * NAMEs pick benchmarks (default: `all`, every one in the table below but
 * `speedup`). Output: one line per benchmark, "bench: <name> <ns per op>",
 * or "bench: <name> skipped: <why>" when it cannot run here (the cross-CPU
 * IPC needs two CPUs); `speedup` prints the speedup of a compute-only
 * workload on 1, 2 and 4 threads, "speedup: <k> threads <ratio>".
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi/lockstat.h"
#include "weft.h"
#include "weft_ipc.h"
#include "weft_thread.h"

#define DEFAULT_ITERATIONS 10000
#define FORK_DIVISOR 50         /* fork, exec, thread creation are costly: fewer rounds */
#define COMPUTE_WORK 40000000ul /* loop iterations shared by the threads */
#define MAX_SPEEDUP_THREADS 4
#define SPEEDUP_TRIES 3 /* the fastest is kept */
#define PAGE_BYTES 4096ul
#define NO_PIN (-1)
#define EXEC_FAILED 127

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

/* One round: fork a child that exits at once, or that first execs
 * `minimal` (which exits), and wait for it. Returns its time. */
static unsigned long fork_round_ns(bool exec_minimal)
{
	char *argv[] = { "minimal", NULL };
	unsigned long start = clock_ns();
	int pid = fork();

	if (pid == 0) {
		if (exec_minimal)
			exec("minimal", argv);
		_exit(exec_minimal ? EXEC_FAILED : 0);
	}
	wait(pid, NULL);
	return clock_ns() - start;
}

static void bench_fork_exit_wait(void)
{
	long n = iterations / FORK_DIVISOR + 1;
	unsigned long total = 0;

	for (long i = 0; i < n; i++)
		total += fork_round_ns(false);
	printf("bench: fork_exit_wait %lu\n", total / n);
}

/* What exec adds to a round: the fastest round with exec less the fastest
 * without. Why the fastest: on a busy host a difference of two averages
 * can even come out negative, and the fastest rounds are the least
 * disturbed. Under icount the rounds take the same time anyway. */
static void bench_exec(void)
{
	long n = iterations / FORK_DIVISOR + 1;
	unsigned long with = ULONG_MAX, without = ULONG_MAX;

	for (long i = 0; i < n; i++) {
		unsigned long w = fork_round_ns(true), wo = fork_round_ns(false);
		with = w < with ? w : with;
		without = wo < without ? wo : without;
	}
	printf("bench: exec %lu\n", with > without ? with - without : 0);
}

/* A server answering calls: each reply returns the first word plus one. */
static _Noreturn void ipc_server(int ep, int cpu)
{
	struct ipc_msg m;

	cpu_pin(cpu);
	long err = ipc_recv(ep, &m, NULL);
	while (err == 0) {
		m.w[0]++;
		err = ipc_reply_recv(ep, &m, NULL);
	}
	_exit(1);
}

/* Call+reply round trips to a server process, the client pinned to CPU 0
 * and the server to server_cpu. */
static void bench_ipc(const char *name, struct ipc_ext *ext, int server_cpu)
{
	int ep = endpoint_create();
	int pid = fork();

	if (pid == 0)
		ipc_server(ep, server_cpu);
	cpu_pin(0);
	struct ipc_msg m = { 0 };
	ipc_call(ep, &m, ext); /* warm up: the server is waiting now */
	unsigned long start = clock_ns();
	for (long i = 0; i < iterations; i++)
		ipc_call(ep, &m, ext);
	report(name, start, iterations);
	cpu_pin(NO_PIN);
	kill(pid);
	wait(pid, NULL);
	handle_close(ep);
}

static void bench_ipc_one_cpu(void)
{
	bench_ipc("ipc_call_reply", NULL, 0);
}

static void bench_ipc_4k(void)
{
	static char buf[IPC_BUF_MAX], back[IPC_BUF_MAX];
	struct ipc_ext ext = {
		.send_buf = buf,
		.send_len = sizeof(buf),
		.send_handle = IPC_NO_HANDLE,
		.recv_buf = back,
		.recv_cap = sizeof(back),
	};

	bench_ipc("ipc_call_reply_4k", &ext, 0);
}

static void bench_ipc_cross_cpu(void)
{
	if (CPU_INFO_ONLINE(cpu_info()) < 2) {
		printf("bench: ipc_call_cross_cpu skipped: needs 2 cpus\n");
		return;
	}
	bench_ipc("ipc_call_cross_cpu", NULL, 1);
}

/* Write one byte to each page of a fresh mmap() region: each write faults
 * once, and the kernel fills the page (zeroed) and lets the write retry. */
static void bench_first_touch(void)
{
	size_t len = (size_t)iterations * PAGE_BYTES;
	long base = mmap(len);

	if (base < 0) {
		printf("bench: page_fault_first_touch skipped: mmap failed (%ld)\n", base);
		return;
	}
	volatile char *p = (volatile char *)base;
	unsigned long start = clock_ns();
	for (long i = 0; i < iterations; i++)
		p[i * PAGE_BYTES] = 1;
	report("page_fault_first_touch", start, iterations);
	munmap((void *)base, len);
}

/* The big kernel lock's own cost: the kernel lets go of it and takes it
 * again `iterations` times in one system call (SYS_lockstat). */
static void bench_bkl(void)
{
	long ns = syscall6(SYS_lockstat, 0, iterations, LOCKSTAT_TIME_BKL, 0, 0, 0);

	printf("bench: bkl_acquire_release %ld\n", ns < 0 ? ns : ns / iterations);
}

/* Two threads on CPU 0 take turns: each yield switches to the other. A
 * thread starts unpinned, so the partner moves itself to CPU 0 first. */
static int partner_ready;

static long yielder(void *arg)
{
	for (long i = 0; i < (long)arg; i++)
		yield();
	return 0;
}

static long yield_partner(void *arg)
{
	cpu_pin(0);
	__atomic_store_n(&partner_ready, 1, __ATOMIC_RELEASE);
	return yielder(arg);
}

static void bench_yield(void)
{
	cpu_pin(0);
	__atomic_store_n(&partner_ready, 0, __ATOMIC_RELAXED);
	int tid = thread_spawn(yield_partner, (void *)iterations);
	while (!__atomic_load_n(&partner_ready, __ATOMIC_ACQUIRE))
		yield();
	unsigned long start = clock_ns();
	yielder((void *)iterations);
	thread_join(tid, NULL);
	report("yield_switch", start, 2 * iterations); /* two switches a round */
	cpu_pin(NO_PIN);
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

/* Futex ping-pong on CPU 0: `turn` says whose turn it is; each side waits
 * for its turn and hands it over with a wake. One round trip = two
 * hand-overs. */
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
	cpu_pin(0);
	take_turns(1, (long)arg);
	return 0;
}

static void bench_futex(void)
{
	cpu_pin(0);
	turn = 0;
	int tid = thread_spawn(futex_partner, (void *)iterations);
	unsigned long start = clock_ns();
	take_turns(0, iterations);
	thread_join(tid, NULL);
	report("futex_round_trip", start, iterations);
	cpu_pin(NO_PIN);
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

/* One try of the compute-only work split between k threads: its time. */
static unsigned long speedup_try(int k)
{
	int tids[MAX_SPEEDUP_THREADS];
	unsigned long start = clock_ns();

	for (int t = 0; t < k; t++)
		tids[t] = thread_spawn(compute, (void *)(COMPUTE_WORK / k));
	for (int t = 0; t < k; t++)
		thread_join(tids[t], NULL);
	return clock_ns() - start;
}

/* 1, 2 and 4 threads, whatever the CPUs: more threads than CPUs show
 * where the speedup stops. Each count keeps the fastest of a few tries:
 * under QEMU the host only ever adds time to a try (on AArch64 a try
 * sometimes takes several times as long, with the same instructions
 * executed), so the fastest is the least disturbed. */
static void bench_speedup(void)
{
	unsigned long one = 0;

	for (int k = 1; k <= MAX_SPEEDUP_THREADS; k *= 2) {
		unsigned long ns = speedup_try(k);
		for (int i = 1; i < SPEEDUP_TRIES; i++) {
			unsigned long again = speedup_try(k);
			if (again < ns)
				ns = again;
		}
		if (k == 1)
			one = ns;
		printf("speedup: %d threads %lu.%02lu\n", k, one / ns, one * 100 / ns % 100);
	}
}

static const struct benchmark {
	const char *name;
	void (*run)(void);
} benchmarks[] = {
	{ "null_syscall", bench_null_syscall },
	{ "yield_switch", bench_yield },
	{ "thread_create_join", bench_thread_create_join },
	{ "futex_round_trip", bench_futex },
	{ "ipc_call_reply", bench_ipc_one_cpu },
	{ "ipc_call_cross_cpu", bench_ipc_cross_cpu },
	{ "ipc_call_reply_4k", bench_ipc_4k },
	{ "page_fault_first_touch", bench_first_touch },
	{ "bkl_acquire_release", bench_bkl },
	{ "fork_exit_wait", bench_fork_exit_wait },
	{ "exec", bench_exec },
	{ "speedup", bench_speedup }, /* wall clock only, not in `all` */
};

/* Is benchmark b named among the arguments (`all`: every one but speedup)? */
static bool chosen(const struct benchmark *b, int argc, char **argv)
{
	if (argc == 0)
		return b->run != bench_speedup;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], b->name) == 0 ||
		    (strcmp(argv[i], "all") == 0 && b->run != bench_speedup))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	iterations = argc > 1 ? atol(argv[1]) : DEFAULT_ITERATIONS;
	if (iterations <= 0) {
		printf("usage: bench [iterations] [all|speedup|name...]\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(benchmarks) / sizeof(benchmarks[0]); i++)
		if (chosen(&benchmarks[i], argc > 2 ? argc - 2 : 0, argv + 2))
			benchmarks[i].run();
	return 0;
}
