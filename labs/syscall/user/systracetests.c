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
 *   untraced  a process that traces nothing prints nothing
 *   fork      the child inherits the mask; its change stays its own
 *   exec      the mask outlives exec (the new program is "execed")
 *   threads   every thread of a traced process is traced
 *   flood     many traced calls: the lines are rationed, the rest counted
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
#define FLOOD_CALLS 3000
#define FLOOD_PAUSE_MS 1100
#define NS_PER_MS 1000000ul

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

static void step_flood(void)
{
	unsigned long t0 = clock_ns();
	long first = systrace_raw(BIT(SYS_getpid));

	for (int i = 0; i < FLOOD_CALLS; i++)
		getpid();
	sleep_ms(FLOOD_PAUSE_MS);
	getpid(); /* in a new second: the count of the dropped lines comes first */
	systrace_raw(0);
	unsigned long ms = (clock_ns() - t0) / NS_PER_MS;
	printf("systracetests: flood pid %d first %ld calls %d ms %lu\n", getpid(), first,
	       FLOOD_CALLS + 1, ms);
}

static const struct {
	const char *name;
	void (*run)(void);
} steps[] = {
	{ "basic", step_basic }, { "untraced", step_untraced }, { "fork", step_fork },
	{ "exec", step_exec },   { "threads", step_threads },   { "flood", step_flood },
};

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "execed") == 0) {
		after_exec();
		return 0;
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
