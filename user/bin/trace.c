/*
 * trace: runs one program with the kernel's event trace on, then has the
 * kernel print what every CPU did.
 *
 *   trace <program> [args...]
 *
 * SYS_trace(TRACE_START) clears the per-CPU rings and starts recording;
 * the program runs in a child (fork, exec) while this process waits;
 * SYS_trace(TRACE_DUMP) stops recording and prints the events on the
 * console, one "T <cpu> <ns> <event> <arg>" line each, between
 * "trace: begin" and "trace: end" (uapi/lockstat.h). Each CPU keeps only
 * its latest events, so trace short runs. scripts/trace_convert.py turns
 * a captured console into a timeline.
 *
 * The exit status is the program's, as init reports it: its exit code,
 * or 128 + how it ended if it did not exit.
 */
#include <stdio.h>

#include "uapi/lockstat.h"
#include "weft.h"

#define EXIT_USAGE 2
#define EXIT_CANNOT_RUN 127
#define STATUS_NOT_EXITED_BASE 128

static long trace_control(int cmd)
{
	return syscall6(SYS_trace, cmd, 0, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	long err;
	int pid, status;

	if (argc < 2) {
		printf("usage: trace <program> [args...]\n");
		return EXIT_USAGE;
	}
	fflush(stdout);
	err = trace_control(TRACE_START);
	if (err < 0) {
		printf("trace: cannot start tracing (%s)\n", error_name((int)err));
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		err = exec(argv[1], argv + 1);
		printf("trace: %s: cannot run (%s)\n", argv[1], error_name((int)err));
		exit(EXIT_CANNOT_RUN);
	}
	if (pid < 0) {
		trace_control(TRACE_STOP);
		printf("trace: fork failed (%s)\n", error_name(pid));
		return 1;
	}
	if (wait(pid, &status) < 0) {
		trace_control(TRACE_STOP);
		printf("trace: wait failed\n");
		return 1;
	}
	trace_control(TRACE_DUMP);
	if (WAIT_HOW(status) == WAIT_EXITED)
		return WAIT_CODE(status);
	return STATUS_NOT_EXITED_BASE + WAIT_HOW(status);
}
