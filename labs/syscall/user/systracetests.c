/*
 * systracetests: the syscall lab's checks of systrace (labs/syscall/README.md).
 *
 * Each step runs in a child process of its own and prints what it did,
 * "systracetests: STEP key value ...". labs/syscall/grade.py then holds
 * the kernel's "systrace: pid P: NAME -> RESULT" lines against those
 * words: which calls of which process printed a line, with what result.
 *
 *   basic     traced calls with their results, untraced ones silent, the
 *             mask systrace returns, bad masks refused
 *   self      systrace traced by its own bit: the line shows the old mask
 *   untraced  a process that traces nothing prints nothing
 *   fork      the child inherits the mask; its change stays its own
 *   exec      the mask outlives exec (the new program is "execed")
 *   threads   every thread of a traced process is traced
 *   silent    exit and thread_exit never return: no line for them
 *   killed    calls cut short because their process was killed: no line
 *   flood     many traced calls: the lines are rationed, the rest counted
 *
 * The flood traces clock_ns, so that each of its lines carries the
 * kernel's clock: the grader sees when each window opened. Run whole,
 * the program first waits until one second after boot, then opens a
 * window with one traced clock_ns of its own ("open"); the other steps
 * print their lines in that window, and the flood fills what is left of
 * it ("shared" 1). Run alone, or late, the flood first waits for any
 * window to close ("shared" 0).
 *
 * The call is made by number with syscall6, so that this program builds
 * before the lab is done.
 */
#include <stdio.h>
#include <string.h>

#include "weft.h"
#include "weft_thread.h"

/* The numbers the lab's README fixes. */
#define LAB_SYS_systrace 51
#define LAB_SYS_COUNT 52
#ifdef SYS_systrace
_Static_assert(SYS_systrace == LAB_SYS_systrace, "SYS_systrace is 51 (labs/syscall/README.md)");
#endif
#define BIT(nr) (1ul << (nr))
#define UNTRACED_CALLS 50
#define PS_MAX 64
#define ASLEEP_TRIES 1000
#define KILLED_SLEEP_MS 60000
#define NS_PER_MS 1000000ul
#define NS_PER_SEC 1000000000ul
/* The flood. Times are the kernel's (clock_ns); EPS_NS is the margin
 * either side of a window's end, and is grade.py's too. */
#define EPS_NS (20 * NS_PER_MS)
#define QUIET_NS (NS_PER_SEC + EPS_NS)    /* a window opened at boot is closed */
#define SHARED_START_NS (600 * NS_PER_MS) /* later than this after "open": wait */
#define B_PAST_NS (60 * NS_PER_MS)        /* the burst runs this far past its window */
#define B_AFTER_CALLS 300                 /* ... and makes this many calls past it */
#define B_MAX_CALLS (1ul << 21)

static unsigned long open_ns; /* the "open" line's clock, 0 when run alone */

static long systrace_raw(unsigned long mask)
{
	return syscall6(LAB_SYS_systrace, (long)mask, 0, 0, 0, 0, 0);
}

static void step_basic(void)
{
	unsigned long mask = BIT(SYS_getpid) | BIT(SYS_getppid) | BIT(SYS_wait) | BIT(SYS_munmap) |
			     BIT(SYS_sleep_ms);
	long first = systrace_raw(mask);

	for (int i = 0; i < 3; i++)
		getpid();
	getppid();
	gettid();
	gettid();
	long w = wait(-1, NULL);                            /* no children: -ECHILD */
	long u = munmap((void *)1, 1);                      /* unaligned: -EINVAL */
	sleep_ms(1);                                        /* 0 */
	long bad0 = systrace_raw(BIT(0) | BIT(SYS_getpid)); /* no call 0 */
	long badhigh = systrace_raw(BIT(LAB_SYS_COUNT));    /* past the last call */
	getpid(); /* still traced: the mask did not change */
	long back = systrace_raw(0);
	getpid(); /* no longer traced */
	getppid();
	printf("systracetests: basic pid %d ppid %d first %ld mask %lu back %lu wait %ld "
	       "munmap %ld bad0 %ld badhigh %ld\n",
	       getpid(), getppid(), first, mask, (unsigned long)back, w, u, bad0, badhigh);
}

/* systrace's own bit: a line for each systrace that returns with the bit
 * in the mask it set, showing the mask before. */
static void step_self(void)
{
	unsigned long a = BIT(LAB_SYS_systrace) | BIT(SYS_getpid);
	unsigned long b = BIT(LAB_SYS_systrace);
	long first = systrace_raw(a); /* a line: the new mask has the bit */
	getpid();
	long bad = systrace_raw(BIT(0)); /* refused, the mask stays a: a line */
	long to_b = systrace_raw(b);     /* a line showing a */
	getpid();                        /* not traced any more */
	long off = systrace_raw(0);      /* the new mask has no bit: no line */
	printf("systracetests: self pid %d first %ld a %lu b %lu bad %ld tob %ld off %ld\n",
	       getpid(), first, a, b, bad, to_b, off);
}

static void step_untraced(void)
{
	for (int i = 0; i < UNTRACED_CALLS; i++) {
		getpid();
		gettid();
	}
	wait(-1, NULL);
	printf("systracetests: untraced pid %d\n", getpid());
}

static void step_fork(void)
{
	unsigned long mask = BIT(SYS_getpid) | BIT(SYS_fork) | BIT(SYS_wait);
	long first = systrace_raw(mask);
	int parent = getpid();

	fflush(stdout);
	int child = fork();
	if (child == 0) {
		int self = getpid(); /* traced: the mask came with fork */
		long inherited = systrace_raw(BIT(SYS_getppid));
		getpid();           /* no longer traced here */
		int pp = getppid(); /* traced here only */
		printf("systracetests: fork child %d parent %d inherited %lu\n", self, pp,
		       (unsigned long)inherited);
		exit(0);
	}
	int reaped = wait(child, NULL);
	getppid(); /* the child's change did not reach the parent: untraced */
	getpid();
	long now = systrace_raw(0);
	printf("systracetests: fork parent %d child %d reaped %d first %ld mask %lu now %lu\n",
	       parent, child, reaped, first, mask, (unsigned long)now);
}

static void step_exec(void)
{
	char *argv[] = { "systracetests", "execed", NULL };
	long first = systrace_raw(BIT(SYS_getpid) | BIT(SYS_exec));

	printf("systracetests: exec pid %d first %ld mask %lu\n", getpid(), first,
	       BIT(SYS_getpid) | BIT(SYS_exec));
	fflush(stdout);
	int err = exec("systracetests", argv);
	printf("systracetests: exec failed: %s\n", error_name(err));
}

static void after_exec(void)
{
	int pid = getpid(); /* traced: the mask outlived exec */
	long kept = systrace_raw(0);

	printf("systracetests: execed pid %d kept %lu\n", pid, (unsigned long)kept);
}

static long thread_gettid(void *arg)
{
	(void)arg;
	return gettid();
}

static void step_threads(void)
{
	long first = systrace_raw(BIT(SYS_gettid));
	int main_tid = gettid();
	int tid = thread_spawn(thread_gettid, NULL);
	long value = -1;

	if (tid > 0)
		thread_join(tid, &value);
	systrace_raw(0);
	printf("systracetests: threads pid %d first %ld main %d thread %d got %ld\n", getpid(),
	       first, main_tid, tid, value);
}

static long thread_returns(void *arg)
{
	(void)arg;
	return 7; /* libweft ends the thread with thread_exit(7) */
}

/* exit and thread_exit, traced, never return: no line for either. */
static void step_silent(void)
{
	fflush(stdout);
	int child = fork();
	if (child == 0) {
		long first = systrace_raw(BIT(SYS_exit) | BIT(SYS_thread_exit) | BIT(SYS_getpid));
		int tid = thread_spawn(thread_returns, NULL);
		long value = -1;
		if (tid > 0)
			thread_join(tid, &value);
		printf("systracetests: silent pid %d first %ld thread %d value %ld\n", getpid(),
		       first, tid, value); /* getpid: the one line */
		exit(0);
	}
	int status = -1;
	wait(child, &status);
	printf("systracetests: silent child %d status %d\n", child, status);
}

static long thread_sleeps(void *arg)
{
	(void)arg;
	sleep_ms(KILLED_SLEEP_MS);
	return 0;
}

/* Whether process pid has all its `threads` threads blocked. */
static int asleep(int pid, int threads)
{
	static struct proc_info info[PS_MAX];
	int n = ps(info, PS_MAX);

	for (int i = 0; i < n; i++)
		if (info[i].pid == pid)
			return info[i].state == PROC_SLEEPING && info[i].threads == threads;
	return 0;
}

/* A traced process killed while its two threads wait in sleep_ms and
 * thread_join: neither call returns to its caller, so neither prints. */
static void step_killed(void)
{
	fflush(stdout);
	int child = fork();
	if (child == 0) {
		systrace_raw(BIT(SYS_getpid) | BIT(SYS_sleep_ms) | BIT(SYS_thread_join));
		int tid = thread_spawn(thread_sleeps, NULL);
		getpid(); /* the one line */
		if (tid > 0)
			thread_join(tid, NULL);
		_exit(1);
	}
	int slept = 0;
	for (int i = 0; i < ASLEEP_TRIES && !slept; i++) {
		slept = asleep(child, 2);
		if (!slept)
			sleep_ms(1);
	}
	kill(child);
	int status = -1;
	wait(child, &status);
	printf("systracetests: killed pid %d asleep %d status %d\n", child, slept, status);
}

/* The kernel's clock, untraced (the flood traces clock_ns only while it
 * makes its bursts). */
static void sleep_until(unsigned long ns)
{
	for (unsigned long now = clock_ns(); now < ns; now = clock_ns())
		sleep_ms((ns - now) / NS_PER_MS + 1);
}

/* How many of the n increasing times t[] are below x. */
static unsigned long count_below(const unsigned long *t, unsigned long n, unsigned long x)
{
	unsigned long lo = 0, hi = n;

	while (lo < hi) {
		unsigned long mid = (lo + hi) / 2;
		if (t[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * One burst of traced clock_ns, without a pause, from inside the open
 * window ("shared", or a fresh one) until well past its end: the next
 * window opens in the middle of the burst. Then no call until that one
 * has closed too, and a last traced clock_ns, before which the kernel
 * prints what the second window dropped. Prints the first and last times
 * of the burst, how many calls it made, the longest gap between two of
 * them, how many came before the first window's end less EPS_NS ("lo")
 * and before its end plus EPS_NS and that gap ("hi"), and the last call's
 * time.
 */
static void step_flood(void)
{
	unsigned long *t = (unsigned long *)mmap(B_MAX_CALLS * sizeof(unsigned long));
	unsigned long start = clock_ns(), n = 0, gap = 0, end = 0;
	int shared = open_ns && start < open_ns + SHARED_START_NS;

	if ((long)t < 0) {
		printf("systracetests: flood: mmap failed\n");
		exit(1);
	}
	if (!shared)
		sleep_until(start + NS_PER_SEC + EPS_NS); /* any window open at start closed */
	long first = systrace_raw(BIT(SYS_clock_ns));
	for (;;) {
		t[n] = clock_ns();
		if (n == 0)
			end = (shared ? open_ns : t[0]) + NS_PER_SEC;
		else if (t[n] - t[n - 1] > gap)
			gap = t[n] - t[n - 1];
		n++;
		unsigned long past = end + EPS_NS + gap;
		if (n == B_MAX_CALLS || (t[n - 1] >= past + B_PAST_NS &&
					 n - count_below(t, n, past + 1) >= B_AFTER_CALLS))
			break;
	}
	systrace_raw(0);
	unsigned long lo = count_below(t, n, end - EPS_NS);
	unsigned long hi = count_below(t, n, end + EPS_NS + gap + 1);
	/* The next window opened by end + EPS_NS + gap: wait until it closed. */
	sleep_until(end + NS_PER_SEC + 2 * EPS_NS + gap);
	systrace_raw(BIT(SYS_clock_ns));
	unsigned long last = clock_ns();
	systrace_raw(0);
	printf("systracetests: flood pid %d first %ld shared %d calls %lu bfirst %lu blast %lu "
	       "gap %lu lo %lu hi %lu last %lu eps %lu\n",
	       getpid(), first, shared, n, t[0], t[n - 1], gap, lo, hi, last, EPS_NS);
}

static const struct {
	const char *name;
	void (*run)(void);
} steps[] = {
	{ "basic", step_basic },   { "self", step_self },     { "untraced", step_untraced },
	{ "fork", step_fork },     { "exec", step_exec },     { "threads", step_threads },
	{ "silent", step_silent }, { "killed", step_killed }, { "flood", step_flood },
};

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "execed") == 0) {
		after_exec();
		return 0;
	}
	if (argc == 1) {
		/* Open a window: one line, with the kernel's clock in it. */
		sleep_until(QUIET_NS);
		systrace_raw(BIT(SYS_clock_ns));
		open_ns = clock_ns();
		systrace_raw(0);
		printf("systracetests: open pid %d t %lu\n", getpid(), open_ns);
	}
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (argc > 1 && strcmp(argv[1], steps[i].name) != 0)
			continue;
		fflush(stdout);
		int pid = fork();
		if (pid == 0) {
			steps[i].run();
			exit(0);
		}
		int status = 0;
		wait(pid, &status);
		printf("systracetests: step %s status %d\n", steps[i].name, status);
	}
	printf("systracetests: done\n");
	return 0;
}
