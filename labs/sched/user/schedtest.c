/*
 * schedtest: the sched lab's measurements (labs/sched/README.md).
 *
 *   schedtest share [MS]      threads of different nice values on one CPU
 *   schedtest latency [N [K]] a sleeper's wake-up latency among K (2)
 *                             compute threads a CPU
 *   schedtest starve [WINDOWS] 8 threads a CPU, mixed nice: all progress,
 *                             and every CPU works
 *
 * Every worker thread counts its progress: rounds of the same fixed
 * computation, so under QEMU's -icount (one instruction, one nanosecond)
 * a thread's count is proportional to the CPU time it got. The program
 * prints what it measured, one line per figure; labs/sched/grade.py
 * judges the figures.
 *
 * setnice and getnice are the lab's system calls, numbered after the main
 * tree's last one. A kernel without them answers -ENOSYS, and the modes
 * that need them say so and exit with status 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi/errno.h"
#include "uapi/syscall.h"
#include "weft.h"
#include "weft_thread.h"

#ifndef SYS_setnice
#define SYS_setnice 50 /* (int nice): the calling thread's, -10..10 */
#define SYS_getnice 51 /* (): the calling thread's nice value */
#endif

#define MAX_WORKERS 64
#define NICE_FLOOR (-10) /* the heaviest weight */
#define CACHE_LINE 64
#define NS_PER_MS 1000000ul
#define NS_PER_US 1000ul
#define ROUND_STEPS 2000 /* LCG steps in one counted round */
#define TRACKED_CPUS 8
#define TRACK_EVERY_ROUNDS 16 /* how often a worker asks where it runs */

struct worker {
	volatile unsigned long rounds; /* progress: rounds computed */
	int nice;
	int pin;      /* the CPU to run on, or -1 */
	int last_cpu; /* where it last ran (when tracked) */
	int error;
	volatile int ready;
	unsigned long cpu_rounds[TRACKED_CPUS]; /* rounds computed on each CPU */
	char pad[CACHE_LINE];
} __attribute__((aligned(CACHE_LINE)));

static struct worker workers[MAX_WORKERS];
static volatile int stop;
static int track_cpus; /* workers count their rounds per CPU */

static int setnice(int nice)
{
	return (int)syscall6(SYS_setnice, nice, 0, 0, 0, 0, 0);
}

static int getnice(void)
{
	return (int)syscall6(SYS_getnice, 0, 0, 0, 0, 0, 0);
}

static int online_cpus(void)
{
	return CPU_INFO_ONLINE(cpu_info());
}

/* One round: a fixed amount of user-mode work. */
static unsigned long compute_round(unsigned long x)
{
	for (int i = 0; i < ROUND_STEPS; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	return x;
}

static long work(void *arg)
{
	struct worker *w = arg;
	unsigned long x = (unsigned long)(w - workers);

	if (w->pin >= 0 && (w->error = cpu_pin(w->pin)) < 0)
		return w->ready = 1, 0;
	if (w->nice && (w->error = setnice(w->nice)) < 0)
		return w->ready = 1, 0;
	w->ready = 1;
	while (!stop) {
		x = compute_round(x);
		w->rounds++;
		if (track_cpus && w->rounds % TRACK_EVERY_ROUNDS == 0) {
			int cpu = CPU_INFO_CURRENT(cpu_info());
			w->last_cpu = cpu;
			if (cpu < TRACKED_CPUS)
				w->cpu_rounds[cpu] += TRACK_EVERY_ROUNDS;
		}
	}
	return (long)(x & 1);
}

/* Starts n workers (their nice and pin already set); 0 or -1 on an error
 * (reported). */
static int start_workers(int n, int *tids)
{
	stop = 0;
	for (int i = 0; i < n; i++) {
		workers[i].rounds = 0;
		workers[i].ready = 0;
		workers[i].error = 0;
		memset(workers[i].cpu_rounds, 0, sizeof(workers[i].cpu_rounds));
		tids[i] = thread_spawn(work, &workers[i]);
		if (tids[i] < 0) {
			printf("schedtest: thread_spawn: %s\n", error_name(tids[i]));
			stop = 1;
			for (int j = 0; j < i; j++)
				thread_join(tids[j], NULL);
			return -1;
		}
	}
	for (int i = 0; i < n; i++)
		while (!workers[i].ready)
			sleep_ms(1);
	for (int i = 0; i < n; i++) {
		if (workers[i].error) {
			printf("schedtest: worker %d: %s\n", i, error_name(workers[i].error));
			stop = 1;
			for (int j = 0; j < n; j++)
				thread_join(tids[j], NULL);
			return -1;
		}
	}
	return 0;
}

static void stop_workers(int n, const int *tids)
{
	stop = 1;
	for (int i = 0; i < n; i++)
		thread_join(tids[i], NULL);
}

/* The system calls exist and behave: else a message and status 2. */
static int check_nice_calls(void)
{
	int r = setnice(0);

	if (r == -ENOSYS) {
		printf("schedtest: setnice: %s: this kernel has no weights yet\n", error_name(r));
		return 2;
	}
	if (r < 0 || getnice() != 0) {
		printf("schedtest: setnice(0) = %d, getnice() = %d\n", r, getnice());
		return 2;
	}
	if ((r = setnice(3)) < 0 || getnice() != 3) {
		printf("schedtest: setnice(3) = %d, then getnice() = %d\n", r, getnice());
		return 2;
	}
	if ((r = setnice(NICE_FLOOR - 1)) != -EINVAL || (r = setnice(-NICE_FLOOR + 1)) != -EINVAL ||
	    getnice() != 3) {
		printf("schedtest: setnice(11 or -11) = %d (expected EINVAL), getnice() = %d\n", r,
		       getnice());
		return 2;
	}
	setnice(0);
	return 0;
}

/*
 * share: four threads, nice -3, 0, 3 and 6, all pinned to the last CPU,
 * compute for MS milliseconds (after a warm-up); each line gives one
 * thread's rounds in that interval.
 */
static const int share_nice[] = { -3, 0, 3, 6 };
#define SHARE_THREADS (int)(sizeof(share_nice) / sizeof(share_nice[0]))
#define SHARE_WARMUP_MS 100

static int run_share(unsigned long ms)
{
	int tids[SHARE_THREADS];
	unsigned long before[SHARE_THREADS];
	int r = check_nice_calls();
	int cpu = online_cpus() - 1;

	if (r)
		return r;
	cpu_pin(0);
	for (int i = 0; i < SHARE_THREADS; i++) {
		workers[i].nice = share_nice[i];
		workers[i].pin = cpu;
	}
	if (start_workers(SHARE_THREADS, tids) < 0)
		return 1;
	sleep_ms(SHARE_WARMUP_MS);
	unsigned long t0 = clock_ns();
	for (int i = 0; i < SHARE_THREADS; i++)
		before[i] = workers[i].rounds;
	sleep_ms(ms);
	for (int i = 0; i < SHARE_THREADS; i++)
		before[i] = workers[i].rounds - before[i];
	unsigned long t1 = clock_ns();
	stop_workers(SHARE_THREADS, tids);
	printf("share: cpu %d, %lu ms\n", cpu, (t1 - t0) / NS_PER_MS);
	for (int i = 0; i < SHARE_THREADS; i++)
		printf("share: nice %d rounds %lu\n", share_nice[i], before[i]);
	return 0;
}

/*
 * latency: K compute threads per CPU (nice 0, free to run anywhere) and
 * this thread, which N times sleeps 1 to 9 ms (varied, so that its wake-ups
 * fall anywhere in a time slice), then computes for a moment, as an
 * interactive program handles an event; each time it measures how much
 * later than asked it ran again.
 */
#define LATENCY_SLEEP_MIN_MS 1
#define LATENCY_SLEEP_SPREAD_MS 9
#define LATENCY_WORK_ROUNDS 20
#define LATENCY_WARMUP_MS 50
#define LATENCY_MAX_SAMPLES 200

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static int run_latency(int samples, int per_cpu)
{
	int n = per_cpu * online_cpus();
	int tids[MAX_WORKERS];
	unsigned long late[LATENCY_MAX_SAMPLES], sum = 0;

	if (n < 0 || n > MAX_WORKERS)
		n = n < 0 ? 0 : MAX_WORKERS;
	if (samples > LATENCY_MAX_SAMPLES)
		samples = LATENCY_MAX_SAMPLES;
	for (int i = 0; i < n; i++) {
		workers[i].nice = 0;
		workers[i].pin = -1;
	}
	if (n && start_workers(n, tids) < 0)
		return 1;
	sleep_ms(LATENCY_WARMUP_MS);
	unsigned long x = 1;
	for (int i = 0; i < samples; i++) {
		unsigned long ms = LATENCY_SLEEP_MIN_MS + i * 7 % LATENCY_SLEEP_SPREAD_MS;
		unsigned long t0 = clock_ns();
		sleep_ms(ms);
		unsigned long t = clock_ns() - t0;
		late[i] = t > ms * NS_PER_MS ? t - ms * NS_PER_MS : 0;
		sum += late[i];
		for (int r = 0; r < LATENCY_WORK_ROUNDS; r++)
			x = compute_round(x);
	}
	unsigned long busy = 0;
	for (int i = 0; i < n; i++)
		busy += workers[i].rounds != 0;
	if (n)
		stop_workers(n, tids);
	qsort(late, samples, sizeof(late[0]), cmp_ulong);
	printf("latency: %d compute threads (%lu ran), %d sleeps of %d to %d ms (%lu)\n", n, busy,
	       samples, LATENCY_SLEEP_MIN_MS, LATENCY_SLEEP_MIN_MS + LATENCY_SLEEP_SPREAD_MS - 1,
	       x & 1);
	printf("latency: mean %lu us, median %lu us, max %lu us\n", sum / samples / NS_PER_US,
	       late[samples / 2] / NS_PER_US, late[samples - 1] / NS_PER_US);
	return 0;
}

/*
 * starve: eight threads per CPU, nice -2, -1, ... 5 (weights from 1600 to
 * 336, one of each per eight), free to run anywhere; this thread samples
 * their counts every window and reports each window's slowest thread. A
 * thread that made no progress in a window starved in it. At the end, the
 * share of the rounds each CPU computed (the work spread over the CPUs).
 */
#define STARVE_PER_CPU 8
#define STARVE_NICE_LOW (-2)
#define STARVE_WINDOW_MS 2000
#define STARVE_WARMUP_MS 200

static int run_starve(int windows)
{
	int ncpu = online_cpus();
	int n = STARVE_PER_CPU * ncpu;
	int tids[MAX_WORKERS];
	unsigned long last[MAX_WORKERS];
	int r = check_nice_calls();

	if (r)
		return r;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	for (int i = 0; i < n; i++) {
		workers[i].nice = STARVE_NICE_LOW + i % STARVE_PER_CPU;
		workers[i].pin = -1;
	}
	track_cpus = 1;
	if (start_workers(n, tids) < 0)
		return 1;
	setnice(NICE_FLOOR); /* the sampler itself must not be the one starved */
	sleep_ms(STARVE_WARMUP_MS);
	for (int i = 0; i < n; i++)
		last[i] = workers[i].rounds;
	printf("starve: %d threads, %d windows of %d ms\n", n, windows, STARVE_WINDOW_MS);
	for (int w = 0; w < windows; w++) {
		unsigned long t0 = clock_ns();
		sleep_ms(STARVE_WINDOW_MS);
		unsigned long t1 = clock_ns();
		int slowest = 0;
		unsigned long least = ~0ul, stalled = 0;
		for (int i = 0; i < n; i++) {
			unsigned long now = workers[i].rounds, got = now - last[i];
			last[i] = now;
			stalled += got == 0;
			if (!got)
				printf("starve: window %d: thread %d (nice %d, last on cpu %d) "
				       "stalled\n",
				       w, i, workers[i].nice, workers[i].last_cpu);
			if (got < least) {
				least = got;
				slowest = i;
			}
		}
		printf("starve: window %d: %lu ms, %lu threads stalled, slowest thread %d "
		       "(nice %d) %lu rounds\n",
		       w, (t1 - t0) / NS_PER_MS, stalled, slowest, workers[slowest].nice, least);
	}
	stop_workers(n, tids);
	for (int c = 0; c < ncpu && c < TRACKED_CPUS; c++) {
		unsigned long on = 0;
		for (int i = 0; i < n; i++)
			on += workers[i].cpu_rounds[c];
		printf("spread: cpu %d rounds %lu\n", c, on);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long arg = argc > 2 ? atol(argv[2]) : 0;

	if (!strcmp(mode, "share"))
		return run_share(arg > 0 ? (unsigned long)arg : 1000);
	if (!strcmp(mode, "latency"))
		return run_latency(arg > 0 ? (int)arg : 100, argc > 3 ? atoi(argv[3]) : 2);
	if (!strcmp(mode, "starve"))
		return run_starve(arg > 0 ? (int)arg : 5);
	printf("usage: schedtest share [MS] | latency [SLEEPS] | starve [WINDOWS]\n");
	return 2;
}
