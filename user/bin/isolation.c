/*
 * isolation: one faulting process takes down only itself.
 *
 * The parent forks four workers. Worker 2 writes through a null pointer;
 * the others compute a checksum (a sum over primes) and exit with it. The
 * parent, which keeps running, reports each worker's fate and checks it
 * against what it expected: exit 0 if all is as it should be.
 */
#include <stdint.h>
#include <stdio.h>

#include "weft.h"

#define WORKERS 4
#define FAULTING_WORKER 2
#define PRIME_LIMIT_STEP 20000

/* Sum of the primes below a limit, folded into an exit code. */
static int checksum(int worker)
{
	unsigned long sum = 0;
	int limit = PRIME_LIMIT_STEP * worker;

	for (int n = 2; n < limit; n++) {
		int prime = 1;
		for (int d = 2; d * d <= n; d++) {
			if (n % d == 0) {
				prime = 0;
				break;
			}
		}
		if (prime)
			sum += n;
	}
	return (int)(sum % 251);
}

static _Noreturn void work(int worker)
{
	if (worker == FAULTING_WORKER) {
		volatile int *nowhere = (volatile int *)(uintptr_t)0;
		/* cppcheck-suppress nullPointer ; the point of the program */
		*nowhere = worker;
		printf("worker %d: still alive after writing to address 0\n", worker);
	}
	exit(checksum(worker));
}

int main(void)
{
	int pids[WORKERS + 1];
	int ok = 1;

	printf("isolation: %d workers; worker %d will write to address 0\n", WORKERS,
	       FAULTING_WORKER);
	fflush(stdout);
	for (int w = 1; w <= WORKERS; w++) {
		pids[w] = fork();
		if (pids[w] == 0)
			work(w);
		if (pids[w] < 0) {
			printf("isolation: fork failed (%s)\n", error_name(pids[w]));
			return 1;
		}
	}
	for (int w = 1; w <= WORKERS; w++) {
		int status;
		char how[64];

		if (wait(pids[w], &status) != pids[w]) {
			printf("worker %d (pid %d): lost\n", w, pids[w]);
			ok = 0;
			continue;
		}
		status_describe(status, how, sizeof(how));
		if (w == FAULTING_WORKER) {
			int right =
				WAIT_HOW(status) == WAIT_FAULTED && WAIT_CODE(status) == FAULT_PAGE;
			printf("worker %d (pid %d): %s%s\n", w, pids[w], how,
			       right ? "" : " (expected a page fault)");
			ok &= right;
		} else {
			int right =
				WAIT_HOW(status) == WAIT_EXITED && WAIT_CODE(status) == checksum(w);
			printf("worker %d (pid %d): %s, checksum %s\n", w, pids[w], how,
			       right ? "ok" : "WRONG");
			ok &= right;
		}
	}
	printf("isolation: parent (pid %d) still running: %s\n", getpid(), ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
