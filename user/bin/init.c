/*
 * init: process 1, the first program the kernel runs.
 *
 * With arguments (the words of the kernel command line that are not
 * key=value options), it runs them as one command: `init usertests fork`
 * runs `usertests fork`. It waits for that program, reaping any orphan
 * that ends meanwhile, and powers the machine off with the program's exit
 * code as the status (128 + how, if it was killed or faulted).
 *
 * Without arguments it runs the shell, starts a new one whenever the shell
 * ends, and reaps orphans forever. Every process whose parent ends becomes
 * a child of init, so init's wait() is where they are finally freed.
 */
#include <stdio.h>

#include "weft.h"

#define SHELL_RESTART_DELAY_MS 1000
#define STATUS_NOT_EXITED_BASE 128
#define EXIT_CANNOT_RUN 127

/* Starts argv[0] with argv in a new child; returns its pid. */
static int spawn(char **argv)
{
	int pid = fork();

	if (pid == 0) {
		int err = exec(argv[0], argv);
		if (err == -ENOENT)
			printf("init: %s: no such program\n", argv[0]);
		else
			printf("init: %s: cannot run (%s)\n", argv[0], error_name(err));
		exit(EXIT_CANNOT_RUN);
	}
	if (pid < 0)
		printf("init: fork failed (%s)\n", error_name(pid));
	return pid;
}

/* Runs one program to its end and returns the power-off status. */
static int run_command(char **argv)
{
	int pid = spawn(argv);
	int status;
	char how[64];

	if (pid < 0)
		return EXIT_CANNOT_RUN;
	for (;;) {
		int reaped = wait(-1, &status);
		if (reaped < 0) {
			printf("init: wait failed (%s)\n", error_name(reaped));
			return EXIT_CANNOT_RUN;
		}
		if (reaped == pid)
			break;
	}
	if (WAIT_HOW(status) == WAIT_EXITED)
		return WAIT_CODE(status);
	status_describe(status, how, sizeof(how));
	printf("init: %s (pid %d): %s\n", argv[0], pid, how);
	return STATUS_NOT_EXITED_BASE + WAIT_HOW(status);
}

/* Keeps a shell running; never returns. */
static _Noreturn void serve_shell(void)
{
	static char *shell_argv[] = { "sh", NULL };
	int shell = -1;

	for (;;) {
		int status;
		int reaped;

		if (shell < 0) {
			shell = spawn(shell_argv);
			if (shell < 0)
				sleep_ms(SHELL_RESTART_DELAY_MS);
			continue;
		}
		reaped = wait(-1, &status);
		if (reaped == shell) {
			shell = -1;
			if (WAIT_HOW(status) != WAIT_EXITED ||
			    WAIT_CODE(status) == EXIT_CANNOT_RUN) {
				char how[64];
				status_describe(status, how, sizeof(how));
				printf("init: sh (pid %d): %s; restarting\n", reaped, how);
				sleep_ms(SHELL_RESTART_DELAY_MS);
			}
		} else if (reaped < 0) {
			/* No children at all: cannot happen while a shell runs. */
			sleep_ms(SHELL_RESTART_DELAY_MS);
		}
	}
}

int main(int argc, char **argv)
{
	int status;

	if (argc < 2)
		serve_shell();
	status = run_command(argv + 1);
	fflush(stdout);
	poweroff(status);
	printf("init: poweroff refused\n");
	serve_shell();
}
