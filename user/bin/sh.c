/*
 * sh: the Weft shell. Reads a command line from the console, splits it
 * into words and runs the program named by the first word with all the
 * words as its arguments, in a child made by fork and exec.
 *
 *   $ echo hello            run and wait
 *   $ isolation &           run in the background; prints [pid]
 *   $ help, exit [code]     built-ins
 *
 * The console is raw: the kernel passes keys through without echo, so the
 * shell echoes them itself and handles backspace. There is no non-blocking
 * wait, so background jobs that have ended are found with ps() (zombie
 * children) and reaped before each prompt.
 */
#include <stdio.h>
#include <string.h>

#include "weft.h"

#define LINE_MAX_BYTES 256
#define ARGS_MAX 32
#define PS_ENTRIES 64
#define EXIT_CANNOT_RUN 127

#define KEY_CTRL_C 0x03
#define KEY_CTRL_D 0x04
#define KEY_BACKSPACE 0x08
#define KEY_CTRL_U 0x15
#define KEY_DELETE 0x7f

static void say(const char *s)
{
	write(1, s, strlen(s));
}

/*
 * Reads one line into buf, echoing and editing; returns its length, or -1
 * at end of input (Ctrl-D on an empty line, or a console error).
 */
static int read_line(char *buf, int size)
{
	static int after_cr; /* a \n right after \r ends no second line */
	int len = 0;

	for (;;) {
		char c;
		long n = read(0, &c, 1);

		if (n <= 0)
			return -1;
		if (c == '\n' && after_cr) {
			after_cr = 0;
			continue;
		}
		after_cr = c == '\r';
		if (c == '\r' || c == '\n') {
			say("\n");
			buf[len] = '\0';
			return len;
		} else if (c == KEY_DELETE || c == KEY_BACKSPACE) {
			if (len > 0) {
				len--;
				say("\b \b");
			}
		} else if (c == KEY_CTRL_U || c == KEY_CTRL_C) {
			while (len > 0) {
				len--;
				say("\b \b");
			}
			if (c == KEY_CTRL_C)
				say("^C\n$ ");
		} else if (c == KEY_CTRL_D) {
			if (len == 0) {
				say("\n");
				return -1;
			}
		} else if (c >= ' ' && c < KEY_DELETE && len < size - 1) {
			buf[len++] = c;
			write(1, &c, 1);
		}
	}
}

/* Splits line in place into words; returns how many. */
static int split(char *line, char **argv, int max)
{
	int argc = 0;
	char *word = strtok(line, " \t");

	while (word && argc < max) {
		argv[argc++] = word;
		word = strtok(NULL, " \t");
	}
	argv[argc] = NULL;
	return argc;
}

/* Reaps background jobs that have ended, reporting each. */
static void reap_finished_jobs(void)
{
	static struct proc_info procs[PS_ENTRIES];
	int me = getpid();
	int n = ps(procs, PS_ENTRIES);

	for (int i = 0; i < n; i++) {
		int status;
		char how[64];

		if (procs[i].ppid != me || procs[i].state != PROC_ZOMBIE)
			continue;
		if (wait(procs[i].pid, &status) != procs[i].pid)
			continue;
		status_describe(status, how, sizeof(how));
		printf("[%d] done: %s (%s)\n", procs[i].pid, procs[i].name, how);
	}
}

/* The child's side of running a command: becomes the program. */
static _Noreturn void become(char **argv)
{
	int err = exec(argv[0], argv);

	if (err == -ENOENT)
		printf("sh: %s: no such program\n", argv[0]);
	else
		printf("sh: %s: cannot run (%s)\n", argv[0], error_name(err));
	exit(EXIT_CANNOT_RUN);
}

static void run(char **argv, int background)
{
	int status;
	int pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		become(argv);
	if (pid < 0) {
		printf("sh: fork failed (%s)\n", error_name(pid));
		return;
	}
	if (background) {
		printf("[%d]\n", pid);
		return;
	}
	if (wait(pid, &status) != pid)
		return;
	if (WAIT_HOW(status) != WAIT_EXITED) {
		char how[64];
		status_describe(status, how, sizeof(how));
		printf("sh: %s (pid %d): %s\n", argv[0], pid, how);
	}
}

static void help(void)
{
	printf("Type a program's name and its arguments; end with & to run it\n"
	       "in the background. `ls` lists the programs. Built-ins:\n"
	       "  help         this text\n"
	       "  exit [code]  leave the shell\n"
	       "Keys: backspace, Ctrl-U clears the line, Ctrl-D ends input.\n");
}

int main(void)
{
	static char line[LINE_MAX_BYTES];
	char *argv[ARGS_MAX + 1];

	for (;;) {
		int argc;
		int background = 0;
		int len;

		reap_finished_jobs();
		printf("$ ");
		fflush(stdout);
		len = read_line(line, sizeof(line));
		if (len < 0)
			return 0;
		/* A trailing & asks for the background, with or without space. */
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '&') {
			line[--len] = '\0';
			background = 1;
		}
		argc = split(line, argv, ARGS_MAX);
		if (argc == 0)
			continue;
		if (strcmp(argv[0], "exit") == 0)
			return argc > 1 ? atoi(argv[1]) : 0;
		if (strcmp(argv[0], "help") == 0)
			help();
		else
			run(argv, background);
	}
}
