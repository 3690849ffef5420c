/*
 * gil: the big kernel lock made visible, in numbers.
 *
 *   gil [-v] [-r REPEAT] [-s PERCENT] [-w compute|kernel|blocking|ipc|futex]... [THREADS]
 *
 * Weft's big kernel lock works like Python's global interpreter lock: one
 * CPU at a time runs kernel code, user code runs on every CPU at once, and
 * a thread that waits lets go of the lock. Three workloads show the three
 * cases, each run with 1, 2, ..., THREADS threads (default: one per online
 * CPU):
 *
 *   compute   user code only, no system calls: it scales with the CPUs;
 *   kernel    a loop of SYS_kwork calls, busy work inside the kernel with
 *             the lock held: it does not scale, the extra CPUs spin;
 *   blocking  a loop of sleep_ms calls (waiting, as for I/O): the waits
 *             overlap, because a sleeping thread holds no lock.
 *
 * Two more are run only when asked for with -w. They are the kernel-bound
 * case again, with real kernel services instead of busy work, and they
 * are what a kernel with finer locks than the BKL would speed up (how
 * much the BKL holds them back depends on the share of each call spent
 * holding it: docs/gil.md):
 *
 *   ipc       each thread calls a server thread of its own (pinned to the
 *             same CPU, on an endpoint of its own) over and over: ipc_call
 *             and ipc_reply_recv, each call with a request of
 *             IPC_REQUEST_BYTES in a buffer, which the kernel copies into
 *             the server's. No two threads share any object, yet under the
 *             BKL they share the lock;
 *   futex     each thread makes futex calls on a word of its own that
 *             nobody waits on: a wake that finds no waiter and a wait whose
 *             value has changed, the two calls a user-space lock makes
 *             when it is not sure it is alone. Its word shares a hash
 *             bucket of the kernel's futex table with FUTEX_SLEEPERS other
 *             words, each with a thread asleep on it (idle threads of a
 *             pool, say), so each wake looks through them; no two
 *             threads' words share a bucket.
 *
 * Every run does the same total work, split evenly between its threads,
 * so speedup = time with 1 thread / time with k threads, and a perfect
 * speedup is k (for compute and kernel work at most the number of CPUs;
 * waiting needs no CPU). Why fixed total work and not fixed work per
 * thread: it answers the question a programmer asks ("does the job finish
 * sooner with more threads?") and the ideal is simply k.
 *
 * The lock columns come from SYS_lockstat, read before and after each run
 * (never reset, so other readers are undisturbed): "lock held" is the
 * share of the run's wall time some CPU held the lock, "spinning" the
 * share of all the CPUs' time spent waiting for it.
 *
 * Each run is repeated and the fastest kept (default: best of 3). Why the
 * fastest: under QEMU the host may take a virtual CPU away for a while;
 * that only ever adds time, so the fastest run is the least disturbed.
 *
 *   -v          also print one "gil-raw" line per run with the raw numbers
 *   -r REPEAT   repeat each run this many times and keep the fastest
 *   -s PERCENT  scale the work (default 100; smaller for quick runs)
 *   -w NAME     run only these workloads (repeatable)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi/lockstat.h"
#include "weft.h"
#include "weft_ipc.h"
#include "weft_thread.h"

#define GIL_MAX_CPUS 64
#define GIL_MAX_THREADS 16
#define NS_PER_MS 1000000.0
#define PERCENT 100.0

/* The work, at -s 100. With one thread under QEMU the compute and kernel
 * work take about 50 ms each, the 120 sleeps 250 ms. Unit counts divide by
 * 1..8 (840 = lcm(1..8)) or by 1..6 and 8 (120), so runs split them
 * evenly. */
#define COMPUTE_UNITS 840
#define COMPUTE_ITERATIONS_PER_UNIT 80000 /* user-mode LCG steps */
#define KERNEL_UNITS 840
#define KWORK_ITERATIONS_PER_UNIT 50000 /* LCG steps inside SYS_kwork */
#define BLOCKING_UNITS 120
#define BLOCKING_SLEEP_MS 2
#define IPC_UNITS 840
#define IPC_CALLS_PER_UNIT 8 /* call + reply_recv round trips */
#define IPC_REQUEST_BYTES 64 /* each call's request, in a buffer */
#define FUTEX_UNITS 840
#define FUTEX_CALLS_PER_UNIT 16 /* half wakes, half waits that do not sleep */
#define FUTEX_SLEEPERS 16       /* asleep on words in each worker's bucket */
#define FUTEX_BUCKET_STRIDE 64  /* ints: the kernel's table has 64 buckets */
#define DEFAULT_REPEAT 3
#define IPC_STOP 1 /* the label that ends a server */

/* A speedup at least this share of the ideal counts as scaling, and one
 * below NO_GAIN as no gain at all. */
#define SCALES_SHARE 0.8
#define NO_GAIN 1.2
/* Kernel-bound threads keep the lock busy: held less than this share of
 * the time (percent) while threads wait for it means a hand-over waited. */
#define BUSY_LOCK_PERCENT 90.0

enum workload { COMPUTE, KERNEL, BLOCKING, IPC, FUTEX, WORKLOADS };
#define DEFAULT_WORKLOADS 3 /* compute, kernel, blocking; the others with -w */

static const char *const workload_names[WORKLOADS] = { "compute", "kernel", "blocking", "ipc",
						       "futex" };
static const char *const workload_titles[WORKLOADS] = { "compute-only", "kernel-bound", "blocking",
							"ipc-bound", "futex-bound" };
static const long workload_units[WORKLOADS] = { COMPUTE_UNITS, KERNEL_UNITS, BLOCKING_UNITS,
						IPC_UNITS, FUTEX_UNITS };

struct worker {
	enum workload workload;
	long units;
	int cpu; /* pinned here */
	struct barrier *start;
	int endpoint;                     /* ipc: its server's endpoint */
	char request[IPC_REQUEST_BYTES];  /* ipc: what each call sends */
	char received[IPC_REQUEST_BYTES]; /* ipc: where its server receives it */
	int *futex_words;                 /* futex: its own word, then its sleepers' */
};

/* Worker i's futex words: [i][0][i] is its own, [i][j][i] sleeper j's.
 * Words FUTEX_BUCKET_STRIDE ints apart hash to one bucket; the last index
 * gives each worker a bucket of its own. */
static int futex_area[GIL_MAX_THREADS][FUTEX_SLEEPERS + 1][FUTEX_BUCKET_STRIDE];

/* One run: a workload with `threads` threads. */
struct run {
	int threads;
	unsigned long start_ns; /* clock_ns() when it started: the trace's clock */
	unsigned long elapsed_ns;
	struct lock_cpu_stats lock; /* summed over CPUs, during the run */
};

static int online_cpus;
static volatile unsigned long sink; /* keeps the work from being optimised away */

static unsigned long lcg_step(unsigned long x)
{
	return x * 6364136223846793005ul + 1442695040888963407ul;
}

/* An ipc worker's server: answers every call with the label plus the
 * length of the request it received, until a call labelled IPC_STOP. */
static long server_main(void *arg)
{
	struct worker *wk = arg;
	struct ipc_msg m;
	struct ipc_ext ext = { .send_handle = IPC_NO_HANDLE,
			       .recv_buf = wk->received,
			       .recv_cap = sizeof(wk->received) };
	long err;

	cpu_pin(wk->cpu);
	err = ipc_recv(wk->endpoint, &m, &ext);
	while (!err && m.label != IPC_STOP) {
		m.label += ext.recv_len;
		err = ipc_reply_recv(wk->endpoint, &m, &ext);
	}
	if (!err)
		err = ipc_reply(&m, NULL);
	return err;
}

static unsigned long ipc_unit(struct worker *wk)
{
	struct ipc_msg m = { 0 };
	struct ipc_ext ext = { .send_buf = wk->request,
			       .send_len = sizeof(wk->request),
			       .send_handle = IPC_NO_HANDLE };
	unsigned long x = 0;

	for (int i = 0; i < IPC_CALLS_PER_UNIT; i++) {
		unsigned long label = 2 + (unsigned long)i;
		long err;

		m.label = label;
		err = ipc_call(wk->endpoint, &m, &ext);
		if (err || m.label != label + IPC_REQUEST_BYTES) {
			printf("gil: a call came back wrong (%s, label %lu for %lu)\n",
			       err ? error_name((int)err) : "no error", m.label,
			       label + IPC_REQUEST_BYTES);
			exit(1);
		}
		x += m.label;
	}
	return x;
}

static unsigned long futex_unit(struct worker *wk)
{
	int *word = wk->futex_words;
	long nr = 0;

	for (int i = 0; i < FUTEX_CALLS_PER_UNIT / 2; i++) {
		nr += syscall6(SYS_futex_wake, (long)word, 1, 0, 0, 0, 0);
		nr += syscall6(SYS_futex_wait, (long)word, *word + 1, 0, 0, 0, 0);
	}
	return (unsigned long)nr;
}

/* A futex sleeper: asleep on its word until it is set. */
static long sleeper_main(void *arg)
{
	volatile int *word = arg;

	while (*word == 0)
		syscall6(SYS_futex_wait, (long)word, 0, 0, 0, 0, 0);
	return 0;
}

/* Worker i's sleepers: start them, or (stop) wake them and wait for them. */
static void futex_sleepers(int i, bool stop)
{
	static int tids[GIL_MAX_THREADS][FUTEX_SLEEPERS];

	for (int j = 0; j < FUTEX_SLEEPERS; j++) {
		int *word = &futex_area[i][j + 1][i];
		if (!stop) {
			*word = 0;
			tids[i][j] = thread_spawn(sleeper_main, word);
			if (tids[i][j] < 0) {
				printf("gil: cannot start a thread (%s)\n", error_name(tids[i][j]));
				exit(1);
			}
			continue;
		}
		__atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
		syscall6(SYS_futex_wake, (long)word, 1, 0, 0, 0, 0);
		thread_join(tids[i][j], NULL);
	}
}

static void do_units(struct worker *wk)
{
	enum workload w = wk->workload;
	unsigned long x = 1;

	for (long u = 0; u < wk->units; u++) {
		switch (w) {
		case COMPUTE:
			for (int i = 0; i < COMPUTE_ITERATIONS_PER_UNIT; i++)
				x = lcg_step(x);
			break;
		case KERNEL:
			x += (unsigned long)syscall6(SYS_kwork, KWORK_ITERATIONS_PER_UNIT, 0, 0, 0,
						     0, 0);
			break;
		case IPC:
			x += ipc_unit(wk);
			break;
		case FUTEX:
			x += futex_unit(wk);
			break;
		default:
			sleep_ms(BLOCKING_SLEEP_MS);
			break;
		}
	}
	sink += x;
}

static long worker_main(void *arg)
{
	struct worker *wk = arg;

	cpu_pin(wk->cpu);
	barrier_wait(wk->start);
	do_units(wk);
	if (wk->workload == IPC) {
		struct ipc_msg m = { .label = IPC_STOP };
		ipc_call(wk->endpoint, &m, NULL);
	}
	return 0;
}

/* The lock statistics of all CPUs added up. */
static int lock_totals(struct lock_cpu_stats *sum)
{
	static struct lock_cpu_stats cpu[GIL_MAX_CPUS];
	long n = syscall6(SYS_lockstat, (long)cpu, GIL_MAX_CPUS, 0, 0, 0, 0);

	if (n < 0)
		return (int)n;
	memset(sum, 0, sizeof(*sum));
	for (long i = 0; i < n; i++) {
		sum->acquired += cpu[i].acquired;
		sum->contended += cpu[i].contended;
		sum->spin_ns += cpu[i].spin_ns;
		sum->held_ns += cpu[i].held_ns;
		if (cpu[i].max_hold_ns > sum->max_hold_ns)
			sum->max_hold_ns = cpu[i].max_hold_ns;
	}
	return 0;
}

/* Runs `total` units of w split between `threads` threads, thread i pinned
 * to CPU i mod online_cpus; they start together at a barrier. */
static int run_workload(enum workload w, long total, int threads, struct run *r)
{
	static struct worker workers[GIL_MAX_THREADS];
	int tids[GIL_MAX_THREADS], servers[GIL_MAX_THREADS];
	struct barrier start;
	struct lock_cpu_stats before, after;
	unsigned long t0;
	int err;

	barrier_init(&start, threads + 1);
	for (int i = 0; i < threads; i++) {
		workers[i] = (struct worker){ .workload = w,
					      .units = total / threads + (i < total % threads),
					      .cpu = i % online_cpus,
					      .start = &start,
					      .endpoint = -1,
					      .futex_words = &futex_area[i][0][i] };
		if (w == FUTEX)
			futex_sleepers(i, false);
		if (w == IPC) {
			workers[i].endpoint = endpoint_create();
			servers[i] = workers[i].endpoint < 0
					     ? workers[i].endpoint
					     : thread_spawn(server_main, &workers[i]);
			if (servers[i] < 0) {
				printf("gil: cannot start a server (%s)\n", error_name(servers[i]));
				exit(1);
			}
		}
		tids[i] = thread_spawn(worker_main, &workers[i]);
		if (tids[i] < 0) {
			printf("gil: cannot start a thread (%s)\n", error_name(tids[i]));
			exit(1);
		}
	}
	err = lock_totals(&before);
	t0 = clock_ns();
	barrier_wait(&start);
	for (int i = 0; i < threads; i++)
		thread_join(tids[i], NULL);
	r->start_ns = t0;
	r->elapsed_ns = clock_ns() - t0;
	/* Counted before the servers and sleepers are stopped: their ending
	 * takes the lock too, after the measured time. */
	if (!err)
		err = lock_totals(&after);
	for (int i = 0; i < threads && w == IPC; i++) {
		thread_join(servers[i], NULL);
		handle_close(workers[i].endpoint);
	}
	for (int i = 0; i < threads && w == FUTEX; i++)
		futex_sleepers(i, true);
	if (err)
		return err;
	r->threads = threads;
	r->lock.acquired = after.acquired - before.acquired;
	r->lock.contended = after.contended - before.contended;
	r->lock.spin_ns = after.spin_ns - before.spin_ns;
	r->lock.held_ns = after.held_ns - before.held_ns;
	return 0;
}

static int busy_cpus(int threads)
{
	return threads < online_cpus ? threads : online_cpus;
}

/* The best speedup k threads could reach if the lock cost nothing. */
static int ideal_speedup(enum workload w, int threads)
{
	return w == BLOCKING ? threads : busy_cpus(threads);
}

static double speedup(const struct run *one, const struct run *r)
{
	return (double)one->elapsed_ns / (double)r->elapsed_ns;
}

static double held_share(const struct run *r)
{
	return PERCENT * (double)r->lock.held_ns / (double)r->elapsed_ns;
}

static double spin_share(const struct run *r)
{
	return PERCENT * (double)r->lock.spin_ns / ((double)r->elapsed_ns * online_cpus);
}

static void print_row(enum workload w, const struct run *one, const struct run *r)
{
	printf("%-13s %7d %9.1f %8.2fx %9.1f%% %9.1f%% %10lu\n",
	       r->threads == 1 ? workload_titles[w] : "", r->threads, r->elapsed_ns / NS_PER_MS,
	       speedup(one, r), held_share(r), spin_share(r), r->lock.contended);
}

static void print_raw(enum workload w, const struct run *r)
{
	printf("gil-raw %s threads=%d cpus=%d start_ns=%lu elapsed_ns=%lu acquired=%lu "
	       "contended=%lu spin_ns=%lu held_ns=%lu\n",
	       workload_names[w], r->threads, online_cpus, r->start_ns, r->elapsed_ns,
	       r->lock.acquired, r->lock.contended, r->lock.spin_ns, r->lock.held_ns);
}

/* What a speedup amounts to, next to the ideal. */
static const char *verdict(double s, int ideal)
{
	if (s >= SCALES_SHARE * ideal)
		return "it scales";
	if (s >= NO_GAIN)
		return "a partial gain";
	if (s >= 1 / NO_GAIN)
		return "no gain at all";
	return "slower than one thread";
}

/* A few sentences that read the table for the largest thread count; what
 * they claim depends on what was measured. */
static void explain(enum workload w, const struct run *one, const struct run *r)
{
	double s = speedup(one, r);
	int ideal = ideal_speedup(w, r->threads);
	bool scaled = s >= SCALES_SHARE * ideal;

	printf("- %s: %d threads ran %.2fx as fast as 1 (ideal: %dx): %s.", workload_titles[w],
	       r->threads, s, ideal, verdict(s, ideal));
	switch (w) {
	case COMPUTE:
		if (scaled)
			printf(" The lock was held %.1f%% of the time: user code needs no lock, so "
			       "every CPU runs it at once.\n",
			       held_share(r));
		else
			printf(" The lock was held only %.1f%% of the time, so it was not the lock "
			       "that held them back: most likely the host did not give every "
			       "virtual CPU a core of its own.\n",
			       held_share(r));
		break;
	case KERNEL:
	case IPC:
	case FUTEX:
		printf(" The lock was held %.0f%% of the time and the CPUs spent %.0f%% of "
		       "theirs spinning for it (%lu contended acquisitions): %s\n",
		       held_share(r), spin_share(r), r->lock.contended,
		       scaled ? "here the lock was not the bottleneck."
			      : "kernel code runs on one CPU at a time, so the extra threads "
				"mostly wait their turn.");
		if (w == KERNEL && r->threads > 1 && held_share(r) < BUSY_LOCK_PERCENT)
			printf("  But with threads waiting, the lock should be held nearly all "
			       "the time; it was free %.0f%% of it. The CPU next in line was "
			       "not running: most likely the host has fewer cores than this "
			       "machine has CPUs, and a virtual CPU the host has put aside "
			       "cannot take the lock it is handed until the host runs it "
			       "again. Try as many CPUs as the host has cores.\n",
			       PERCENT - held_share(r));
		break;
	default:
		printf(" Each thread spends its time in sleep_ms, and a sleeping thread has let "
		       "go of the lock (held %.1f%% of the time), so %s.\n",
		       held_share(r),
		       scaled ? "the waits overlap"
			      : "the waits should overlap; a busy host may have delayed the "
				"wake-ups");
		break;
	}
}

static void usage(void)
{
	printf("usage: gil [-v] [-r REPEAT] [-s PERCENT] "
	       "[-w compute|kernel|blocking|ipc|futex]... [THREADS]\n");
	exit(2);
}

static int parse_workload(const char *name)
{
	for (int w = 0; w < WORKLOADS; w++)
		if (strcmp(name, workload_names[w]) == 0)
			return w;
	usage();
	return -1;
}

int main(int argc, char **argv)
{
	static struct run runs[WORKLOADS][GIL_MAX_THREADS];
	bool chosen[WORKLOADS] = { false }, any_chosen = false, verbose = false;
	long scale = 100, repeat = DEFAULT_REPEAT;
	int max_threads = 0;

	online_cpus = CPU_INFO_ONLINE(cpu_info());
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = true;
		} else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
			repeat = strtol(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			scale = strtol(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
			chosen[parse_workload(argv[++i])] = any_chosen = true;
		} else if (argv[i][0] != '-' && max_threads == 0) {
			max_threads = atoi(argv[i]);
		} else {
			usage();
		}
	}
	if (max_threads == 0)
		max_threads = online_cpus;
	if (max_threads < 1 || max_threads > GIL_MAX_THREADS || scale < 1 || repeat < 1)
		usage();

	printf("gil: %d CPUs online; each workload runs with 1 to %d threads sharing the same "
	       "total work (best of %ld)\n\n",
	       online_cpus, max_threads, repeat);
	printf("%-13s %7s %9s %9s %10s %10s %10s\n", "workload", "threads", "time ms", "speedup",
	       "lock held", "spinning", "contended");
	for (int w = 0; w < WORKLOADS; w++) {
		long total = workload_units[w] * scale / 100;

		if (any_chosen ? !chosen[w] : w >= DEFAULT_WORKLOADS)
			continue;
		if (total < max_threads)
			total = max_threads;
		for (int k = 1; k <= max_threads; k++) {
			struct run *r = &runs[w][k - 1];

			for (long i = 0; i < repeat; i++) {
				struct run attempt;
				int err = run_workload(w, total, k, &attempt);

				if (err) {
					printf("gil: lockstat failed (%s)\n", error_name(err));
					return 1;
				}
				if (i == 0 || attempt.elapsed_ns < r->elapsed_ns)
					*r = attempt;
			}
			print_row(w, &runs[w][0], r);
			if (verbose)
				print_raw(w, r);
		}
	}
	printf("\nWhat the table says:\n");
	for (int w = 0; w < WORKLOADS; w++)
		if (any_chosen ? chosen[w] : w < DEFAULT_WORKLOADS)
			explain(w, &runs[w][0], &runs[w][max_threads - 1]);
	return 0;
}
