/*
 * threadcrash: a fault in one thread ends its whole process, and only
 * that process.
 *
 *   threadcrash
 *
 * Starts two processes and watches them end:
 *   - a worker, an ordinary one-thread program that counts slowly to
 *     WORKER_STEPS and exits normally;
 *   - a crasher with CRASHER_THREADS threads: all but one spin (one per
 *     CPU where there are enough), and the last follows a NULL pointer.
 * Threads share one address space, so after one of them faults nobody can
 * trust that memory any more: the kernel stops every thread of the
 * crasher. The worker has its own address space and runs on untouched.
 * Exit status 0 if both ended as described.
 */
#include <stdio.h>

#include "atomic.h"
#include "weft_thread.h"

#define WORKER_STEPS 10
#define WORKER_STEP_MS 100
#define CRASHER_THREADS 4
#define CRASH_DELAY_MS 250

static int spinning;
/* volatile: the compiler must really load through it, not see the NULL
 * and put a trap instruction in place of the load. */
static int *volatile nowhere;

static _Noreturn void worker(void)
{
	for (int i = 1; i <= WORKER_STEPS; i++) {
		printf("  [worker  pid %d] step %d of %d\n", getpid(), i, WORKER_STEPS);
		sleep_ms(WORKER_STEP_MS);
	}
	printf("  [worker  pid %d] done: exiting normally\n", getpid());
	exit(0);
}

static long spin(void *arg)
{
	cpu_pin((int)(long)arg % CPU_INFO_ONLINE(cpu_info()));
	printf("  [crasher pid %d] thread tid %d spinning on CPU %d\n", getpid(), gettid(),
	       CPU_INFO_CURRENT(cpu_info()));
	atomic_add(&spinning, 1);
	for (;;)
		cpu_relax();
	return 0;
}

static long crash(void *arg)
{
	(void)arg;
	sleep_ms(CRASH_DELAY_MS);
	printf("  [crasher pid %d] thread tid %d: reading through a NULL pointer...\n", getpid(),
	       gettid());
	return *nowhere;
}

static _Noreturn void crasher(void)
{
	for (int i = 0; i < CRASHER_THREADS - 1; i++)
		thread_spawn(spin, (void *)(long)i);
	while (atomic_read(&spinning) < CRASHER_THREADS - 1)
		sleep_ms(1);
	printf("  [crasher pid %d] main thread (tid %d) waits for the faulting thread\n", getpid(),
	       gettid());
	thread_join(thread_spawn(crash, NULL), NULL);
	printf("  [crasher pid %d] still alive: the fault did not end the process!\n", getpid());
	exit(1);
}

static int start(void (*fn)(void))
{
	int pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		fn();
	if (pid < 0) {
		printf("threadcrash: fork failed (%s)\n", error_name(pid));
		exit(1);
	}
	return pid;
}

int main(void)
{
	char how[64];
	int crasher_status, worker_status;

	printf("threadcrash: a fault in one thread ends its whole process, and only that "
	       "process.\n\n");
	int worker_pid = start(worker);
	sleep_ms(WORKER_STEP_MS / 2);
	int crasher_pid = start(crasher);
	printf("threadcrash (pid %d) started a worker (pid %d) and a crasher (pid %d).\n", getpid(),
	       worker_pid, crasher_pid);

	wait(crasher_pid, &crasher_status);
	status_describe(crasher_status, how, sizeof(how));
	printf("\nthreadcrash: the crasher (pid %d) ended: %s.\n", crasher_pid, how);
	printf("  One thread faulted; the kernel stopped all %d threads of its process\n",
	       CRASHER_THREADS + 1);
	printf("  (main included), the spinning ones too: they shared the memory the\n");
	printf("  fault may have hit.\n\n");

	wait(worker_pid, &worker_status);
	status_describe(worker_status, how, sizeof(how));
	printf("\nthreadcrash: the worker (pid %d) ended: %s.\n", worker_pid, how);
	printf("  A separate process, with its own address space: the crash next door\n");
	printf("  never touched it.\n");
	return crasher_status == WAIT_STATUS(WAIT_FAULTED, FAULT_PAGE) &&
			       worker_status == WAIT_STATUS(WAIT_EXITED, 0)
		       ? 0
		       : 1;
}
