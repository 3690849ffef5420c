/*
 * The test runner behind weft_test.h.
 *
 * Each case runs in its own forked child, so a case that crashes, hangs or
 * corrupts its memory cannot take the runner down. A watchdog process,
 * forked just before the case, ends when the case's time is up, and the
 * runner, which waits for whichever ends first, then kills the case and
 * every process it made. (The runner kills, not the watchdog: a process
 * may kill only its own descendants, and the watchdog is the case's
 * sibling.) A case reports its own failure (its FAIL
 * line, then exit with CASE_REPORTED); the runner reports every other way
 * a case can end. The last case, no_leaks, runs in the runner itself:
 * every page the cases took must be free again.
 *
 * The checks (CHECK, test_expect, test_fail) end the process that fails
 * one: the case's child, or a helper it forked.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft_test.h"

#define PS_MAX 64
#define NS_PER_MS 1000000ul
/* How long test_mem_settle and test_free_pages_settle wait for the counts
 * to come back, and how often they look. */
#define SETTLE_POLL_MS 10
#define SETTLE_MAX_MS 3000
/* Room for a result in words ("-4095 (ENAME)") and a wait status. */
#define RESULT_TEXT_BYTES 48
#define STATUS_TEXT_BYTES 64
/* The main thread's stack (docs/processes.md). */
#define MAIN_STACK_TOP 0x3fff000000ul
#define MAIN_STACK_BYTES (64 * 1024ul)
#define PAGE_BYTES 4096ul

/* The first byte of the data segment (linker/user.ld). */
extern char __preinit_array_start[];

const char *test_case_name;
const char *test_helper_role;

static const char *suite_name;

static int selected_argc;
static char **selected_argv;

bool test_selected(const char *name)
{
	if (selected_argc < 2)
		return true;
	for (int i = 1; i < selected_argc; i++)
		if (strcmp(selected_argv[i], name) == 0)
			return true;
	return false;
}

_Noreturn void test_fail(const char *fmt, ...)
{
	va_list ap;

	if (test_helper_role)
		printf("%s: %s: %s: ", suite_name, test_case_name, test_helper_role);
	else
		printf("FAIL %s: ", test_case_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (test_helper_role)
		_exit(HELPER_FAILED);
	exit(CASE_REPORTED);
}

static const char *result_format(long r, char *buf, size_t len)
{
	if (r < 0 && r >= -4095)
		snprintf(buf, len, "%ld (%s)", r, error_name((int)r));
	else
		snprintf(buf, len, "%ld", r);
	return buf;
}

const char *test_result_text(long r)
{
	static _Thread_local char text[RESULT_TEXT_BYTES];

	return result_format(r, text, sizeof(text));
}

const char *test_status_text(int status)
{
	static _Thread_local char text[STATUS_TEXT_BYTES];

	status_describe(status, text, sizeof(text));
	return text;
}

void test_expect(long got, long want, const char *what)
{
	char got_text[RESULT_TEXT_BYTES], want_text[RESULT_TEXT_BYTES];

	if (got != want)
		test_fail("%s returned %s, expected %s", what,
			  result_format(got, got_text, sizeof(got_text)),
			  result_format(want, want_text, sizeof(want_text)));
}

/* Is process `pid` a descendant of `ancestor`, by the ps list? */
static bool descends_from(const struct proc_info *procs, int n, int pid, int ancestor)
{
	for (int hops = 0; hops < n && pid != ancestor; hops++) {
		int i = 0;
		while (i < n && procs[i].pid != pid)
			i++;
		if (i == n)
			return false;
		pid = procs[i].ppid;
	}
	return pid == ancestor;
}

/* Forked before the case, so its own pages are taken before the case
 * counts any: sleeps for the case's time, then ends. */
static _Noreturn void watchdog(unsigned long timeout_ms)
{
	sleep_ms(timeout_ms);
	_exit(0);
}

/* Time is up: kills the case and every process it made, while they are
 * still the runner's descendants (one whose parent ended belongs to
 * init, and the runner may no longer kill it). */
static void kill_case(int runner)
{
	static struct proc_info procs[PS_MAX];
	int n = ps(procs, PS_MAX);

	for (int i = 0; i < n; i++)
		if (procs[i].pid != runner && descends_from(procs, n, procs[i].pid, runner))
			kill(procs[i].pid);
}

/* Names what a failed case left behind: processes it did not wait for
 * went to init when it ended, so the runner may not kill them, and one
 * blocked for good holds its pages and fails no_leaks as well. They are
 * orphans with our name. */
static void report_orphans(void)
{
	static struct proc_info procs[PS_MAX];
	char me[PROC_NAME_MAX] = "";
	int n = ps(procs, PS_MAX);

	for (int i = 0; i < n; i++)
		if (procs[i].pid == getpid())
			memcpy(me, procs[i].name, sizeof(me));
	for (int i = 0; i < n; i++)
		if (procs[i].ppid == 1 && procs[i].pid != getpid() &&
		    strncmp(procs[i].name, me, sizeof(me)) == 0 && procs[i].state != PROC_ZOMBIE)
			printf("%s: pid %d, left by a failed case, still runs\n", suite_name,
			       procs[i].pid);
}

/* The FAIL line for a case that did not report its own failure. */
static void report_end(const char *name, int status, unsigned long took_ms,
		       unsigned long timeout_ms)
{
	if (WAIT_HOW(status) == WAIT_KILLED && took_ms >= timeout_ms) {
		printf("FAIL %s: timed out after %lu s\n", name, timeout_ms / 1000);
		return;
	}
	printf("FAIL %s: %s\n", name, test_status_text(status));
}

/* Runs one case in a child under a watchdog; returns 1 if it passed. */
static int run_case(const struct test_suite *suite, const struct test_case *t)
{
	unsigned long timeout_ms =
		t->run == suite->slow_run ? suite->slow_timeout_ms : suite->timeout_ms;
	unsigned long started = clock_ns();
	int runner = getpid();
	int status = 0;

	fflush(stdout);
	int guard = fork();
	if (guard == 0)
		watchdog(timeout_ms);
	int pid = fork();
	if (pid == 0) {
		test_case_name = t->name;
		t->run();
		exit(0);
	}
	if (pid < 0)
		printf("FAIL %s: fork returned %d (%s)\n", t->name, pid, error_name(pid));
	/* The case and the watchdog are the runner's only children. */
	while (pid > 0) {
		int who = wait(-1, &status);
		if (who == pid)
			break;
		if (who == guard && guard > 0) {
			guard = -1;
			kill_case(runner);
			continue;
		}
		printf("FAIL %s: lost its process (wait returned %d)\n", t->name, who);
		pid = -1;
	}
	if (guard > 0) {
		kill(guard);
		wait(guard, NULL);
	}
	if (pid < 0)
		return 0;
	if (status == WAIT_STATUS(WAIT_EXITED, 0)) {
		printf("PASS %s\n", t->name);
		return 1;
	}
	report_orphans();
	if (status != WAIT_STATUS(WAIT_EXITED, CASE_REPORTED))
		report_end(t->name, status, (clock_ns() - started) / NS_PER_MS, timeout_ms);
	return 0;
}

/* Write (without changing) one word of every page in [start, end). */
static void touch_pages(uintptr_t start, uintptr_t end)
{
	for (uintptr_t p = start & ~(PAGE_BYTES - 1); p < end; p += PAGE_BYTES)
		__atomic_fetch_or((volatile unsigned long *)p, 0ul, __ATOMIC_RELAXED);
}

/*
 * Make this process's data, heap and main stack pages its own. A kernel
 * whose fork shares pages until one side writes (copy-on-write) gives a
 * process a page of its own at its first write to a page it shares with
 * its parent; counted between two readings, that page would look like a
 * leak of the code under test. Written once here, before the reading,
 * the pages cost nothing later. With a fork that copies, nothing changes.
 * Reserved stack pages it touches were promised already: the free count
 * stays. The atomic OR of 0 keeps any other thread's write to the word.
 */
static void own_pages(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	touch_pages((uintptr_t)__preinit_array_start, (uintptr_t)sbrk(0));
	if (sp < MAIN_STACK_TOP && sp >= MAIN_STACK_TOP - MAIN_STACK_BYTES)
		touch_pages(MAIN_STACK_TOP - MAIN_STACK_BYTES, MAIN_STACK_TOP);
}

/* The counts now; with must_work, a failed meminfo fails the case. The
 * runner reads without it: a case's check must not end the runner. */
static struct mem_info mem_now(bool must_work)
{
	struct mem_info info = { 0 };

	own_pages();
	long err = meminfo(&info);

	if (must_work)
		test_expect(err, 0, "meminfo");
	/* The kernel's own page tables grow the first time many kernel stacks
	 * live at once, and stay: count them as free (uapi/proc.h). */
	info.free_pages += info.kernel_table_pages;
	return info;
}

static bool mem_same(const struct mem_info *a, const struct mem_info *b, bool ipc_too)
{
	return a->free_pages == b->free_pages && (!ipc_too || a->ipc_objects == b->ipc_objects);
}

static struct mem_info mem_settle(const struct mem_info *want, bool ipc_too, bool must_work)
{
	struct mem_info now = mem_now(must_work);

	for (int ms = 0; !mem_same(&now, want, ipc_too) && ms < SETTLE_MAX_MS;
	     ms += SETTLE_POLL_MS) {
		sleep_ms(SETTLE_POLL_MS);
		now = mem_now(must_work);
	}
	return now;
}

struct mem_info test_mem_now(void)
{
	return mem_now(true);
}

struct mem_info test_mem_settle(const struct mem_info *want, bool ipc_too)
{
	return mem_settle(want, ipc_too, false);
}

unsigned long test_free_pages(void)
{
	return mem_now(true).free_pages;
}

unsigned long test_free_pages_settle(unsigned long want)
{
	struct mem_info target = { .free_pages = want };

	return mem_settle(&target, false, true).free_pages;
}

/* no_leaks: the counts are back to what they were before the first case. */
static int check_no_leaks(const struct test_suite *suite, const struct mem_info *before)
{
	fflush(stdout);
	struct mem_info now = test_mem_settle(before, suite->counts_ipc_objects);

	if (mem_same(&now, before, suite->counts_ipc_objects)) {
		printf("PASS %s\n", NO_LEAKS_NAME);
		return 1;
	}
	if (suite->counts_ipc_objects)
		printf("FAIL %s: free pages %lu -> %lu, IPC objects %lu -> %lu\n", NO_LEAKS_NAME,
		       before->free_pages, now.free_pages, before->ipc_objects, now.ipc_objects);
	else
		printf("FAIL %s: %lu free pages before the cases, %lu after\n", NO_LEAKS_NAME,
		       before->free_pages, now.free_pages);
	return 0;
}

int test_main(const struct test_suite *suite, int argc, char **argv)
{
	int passed = 0, failed = 0;

	suite_name = suite->name;
	test_case_name = suite->name;
	selected_argc = argc;
	selected_argv = argv;
	for (int i = 1; i < argc; i++) {
		bool known = strcmp(argv[i], NO_LEAKS_NAME) == 0;
		for (size_t c = 0; c < suite->count; c++)
			known |= strcmp(argv[i], suite->cases[c].name) == 0;
		if (!known) {
			printf("FAIL %s: no such case\n", argv[i]);
			failed++;
		}
	}
	if (suite->warm_up)
		suite->warm_up();
	struct mem_info before = mem_now(false);
	for (size_t c = 0; c < suite->count; c++) {
		if (!test_selected(suite->cases[c].name))
			continue;
		if (run_case(suite, &suite->cases[c]))
			passed++;
		else
			failed++;
	}
	if (test_selected(NO_LEAKS_NAME)) {
		if (check_no_leaks(suite, &before))
			passed++;
		else
			failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
