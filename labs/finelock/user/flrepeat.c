/*
 * flrepeat: run a program several times in a row, for the finelock lab's
 * grader, which wants several independent `gil` runs from one boot.
 *
 *   flrepeat COUNT PROGRAM [ARGS...]
 *
 * Each run is a child (fork, exec) waited for before the next starts. The
 * first run that does not exit with status 0 ends the series, and its
 * status is flrepeat's; otherwise flrepeat exits 0.
 */
#include <stdio.h>
#include <stdlib.h>

#include "weft.h"

#define EXIT_USAGE 2
#define EXIT_CANNOT_RUN 127
#define STATUS_NOT_EXITED_BASE 128 /* plus how it ended, as wait() says */

static int run_once(char **argv)
{
	int status;
	int pid = fork();

	if (pid == 0) {
		long err = exec(argv[0], argv);
		printf("flrepeat: %s: cannot run (%s)\n", argv[0], error_name((int)err));
		exit(EXIT_CANNOT_RUN);
	}
	if (pid < 0) {
		printf("flrepeat: fork failed (%s)\n", error_name(pid));
		return 1;
	}
	if (wait(pid, &status) < 0) {
		printf("flrepeat: wait failed\n");
		return 1;
	}
	if (WAIT_HOW(status) == WAIT_EXITED)
		return WAIT_CODE(status);
	return STATUS_NOT_EXITED_BASE + WAIT_HOW(status);
}

int main(int argc, char **argv)
{
	long count = argc >= 3 ? strtol(argv[1], NULL, 10) : 0;

	if (count < 1) {
		printf("usage: flrepeat COUNT PROGRAM [ARGS...]\n");
		return EXIT_USAGE;
	}
	for (long i = 0; i < count; i++) {
		fflush(stdout);
		int status = run_once(argv + 2);
		if (status) {
			printf("flrepeat: run %ld of %ld ended with status %d\n", i + 1, count,
			       status);
			return status;
		}
	}
	return 0;
}
