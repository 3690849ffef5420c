/*
 * The unit test runner, and the host versions of printk() and panic().
 *
 * Each case runs in a forked child, so that whatever goes wrong in it (a
 * failed CHECK, an AddressSanitizer or UBSan report, an endless loop) ends
 * that case only and the others still run. Inside the child a failed CHECK
 * longjmps back to the runner; an alarm bounds the running time; a case
 * that passes is then checked for leaks with LeakSanitizer. The
 * case's note lives in memory shared with the parent, which prints it
 * when the child dies without a word (a sanitizer report, a signal).
 *
 *   usage: <test program> [scratch-dir] [case-name...]
 */
#include "check.h"

#include <sanitizer/lsan_interface.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "printk.h"

#define MAX_CASES 256
/* How a case's child process reports back. */
#define EXIT_PASSED 0
#define EXIT_FAILED 3 /* the child printed its own FAIL line */

static struct {
	const char *name;
	void (*fn)(void);
} cases[MAX_CASES];
static int ncases;

static jmp_buf fail_jmp;
static char fail_msg[768];
static char timeout_msg[256];
#define NOTE_SIZE 256
static char *note; /* shared with the children */

jmp_buf unit_panic_jmp;
bool unit_panic_armed;
char unit_panic_msg[256];
const char *unit_scratch_dir = "build/unit";

void unit_register(const char *name, void (*fn)(void))
{
	if (ncases == MAX_CASES) {
		fprintf(stderr, "too many test cases (MAX_CASES is %d)\n", MAX_CASES);
		exit(2);
	}
	cases[ncases].name = name;
	cases[ncases].fn = fn;
	ncases++;
}

void unit_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(note, NOTE_SIZE, fmt, ap);
	va_end(ap);
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(fail_msg))
		snprintf(fail_msg + n, sizeof(fail_msg) - n, " (%s:%d)%s%s", file, line,
			 note[0] ? " while testing " : "", note);
	longjmp(fail_jmp, 1);
}

/* The child is over its time: report and leave (stdio is not
 * async-signal-safe, but the process ends right after). */
static void on_timeout(int sig)
{
	(void)sig;
	fputs(timeout_msg, stdout);
	if (note[0])
		printf("note: the case was testing: %s\n", note);
	fflush(stdout);
	_exit(EXIT_FAILED);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(unit_panic_msg, sizeof(unit_panic_msg), fmt, ap);
	va_end(ap);
	if (unit_panic_armed) {
		unit_panic_armed = false;
		longjmp(unit_panic_jmp, 1);
	}
	unit_fail(__FILE__, __LINE__, "unexpected panic: %s", unit_panic_msg);
}

/* In the child: run the case and exit with its result. */
static __attribute__((noreturn)) void run_child(int i)
{
	snprintf(timeout_msg, sizeof(timeout_msg), "FAIL %s: still running after %d s (hung?)\n",
		 cases[i].name, UNIT_TIMEOUT_S);
	signal(SIGALRM, on_timeout);
	alarm(UNIT_TIMEOUT_S);
	if (setjmp(fail_jmp) != 0) {
		printf("FAIL %s: %s\n", cases[i].name, fail_msg);
		fflush(stdout);
		_exit(EXIT_FAILED);
	}
	cases[i].fn();
	alarm(0);
	if (__lsan_do_recoverable_leak_check()) {
		printf("FAIL %s: memory leaked (LeakSanitizer's report is above)\n", cases[i].name);
		_exit(EXIT_FAILED);
	}
	printf("PASS %s\n", cases[i].name);
	fflush(stdout);
	_exit(EXIT_PASSED);
}

/* Run one case; true if it passed. */
static bool run_case(int i)
{
	int status;

	printf("TEST %s\n", cases[i].name);
	fflush(stdout);
	note[0] = '\0';
	pid_t pid = fork();
	if (pid < 0) {
		printf("FAIL %s: fork failed\n", cases[i].name);
		return false;
	}
	if (pid == 0)
		run_child(i);
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_PASSED)
		return true;
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FAILED)
		return false;
	if (note[0])
		printf("note: the case was testing: %s\n", note);
	if (WIFSIGNALED(status))
		printf("FAIL %s: killed by signal %d\n", cases[i].name, WTERMSIG(status));
	else
		printf("FAIL %s: crashed with exit status %d (a sanitizer report?)\n",
		       cases[i].name, WEXITSTATUS(status));
	return false;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc <= 2)
		return true;
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int failed = 0;

	if (argc > 1)
		unit_scratch_dir = argv[1];
	note = mmap(NULL, NOTE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (note == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ncases; i++)
		if (selected(cases[i].name, argc, argv) && !run_case(i))
			failed++;
	return failed ? 1 : 0;
}
