/*
 * The runner of the in-guest test programs (usertests, threadtests,
 * ipctests): a table of cases, each run in a child process of its own.
 *
 *   prog             run every case, then no_leaks
 *   prog name...     run only the named cases (no_leaks is one of them)
 *
 * Output, which scripts/test.py reads: one line per case, "PASS name" or
 * "FAIL name: reason", then "N passed, N failed". The exit status of
 * test_main() is 0 only if no case failed. See testcase.c for how a case
 * ends and who reports it.
 *
 * A case checks with CHECK and test_expect: the first that fails ends the
 * case with its FAIL line. They work from any thread of the case, and in
 * helper processes a case forks (see test_helper_role).
 */
#ifndef WEFT_USER_TEST_H
#define WEFT_USER_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include "uapi/proc.h"

/* The exit code of a case that printed its own FAIL line. */
#define CASE_REPORTED 1
/* The exit code of a helper process that printed why it failed. */
#define HELPER_FAILED 3
#define NO_LEAKS_NAME "no_leaks"

struct test_case {
	const char *name;
	void (*run)(void);
};

struct test_suite {
	const char *name; /* the program's, for test_case_name outside the cases */
	const struct test_case *cases;
	size_t count;
	unsigned long timeout_ms; /* a case's time before the watchdog ends it */
	/* Optional: one case that may take slow_timeout_ms instead. */
	void (*slow_run)(void);
	unsigned long slow_timeout_ms;
	/* Optional: runs before no_leaks first counts the free pages. */
	void (*warm_up)(void);
	/* no_leaks also counts the IPC objects alive (struct mem_info). */
	bool counts_ipc_objects;
};

/* The case this process runs (set in the case's child), for FAIL lines. */
extern const char *test_case_name;
/*
 * A helper's role ("server", "client 3"): set it in a process the case
 * forks to act as its peer. NULL in the case itself.
 */
extern const char *test_helper_role;

int test_main(const struct test_suite *suite, int argc, char **argv);

/* Whether the command line asked for the case `name` (no names: all). */
bool test_selected(const char *name);

/*
 * Waits, 3 s at the most, until the free pages (and with ipc_too the IPC
 * objects alive) are back to what *want says: a process is freed a moment
 * after its parent's wait() returns. Returns the counts last seen.
 */
struct mem_info test_mem_settle(const struct mem_info *want, bool ipc_too);
/* meminfo, with the kernel's page tables counted as free (they grow the
 * first time many kernel stacks live at once, and stay): the counts that
 * come back exactly. A failed meminfo fails the case. */
struct mem_info test_mem_now(void);

/*
 * Ends the case, printf-style. In the case (any of its threads): prints
 * "FAIL case: reason" and exits with CASE_REPORTED. In a helper: prints
 * "prog: case: role: reason" and exits with HELPER_FAILED, for the case
 * to fail naming the helper whose line is above.
 */
void test_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define CHECK(cond, ...)                        \
	do {                                    \
		if (!(cond))                    \
			test_fail(__VA_ARGS__); \
	} while (0)

/* Fails unless got == want: "what returned got, expected want". */
void test_expect(long got, long want, const char *what);

/*
 * In words, for FAIL lines: a result ("-14 (EFAULT)" or "7") and a wait
 * status ("exit 3", "killed"). Each returns a buffer of the calling
 * thread's own, which its next call overwrites.
 */
const char *test_result_text(long r);
const char *test_status_text(int status);

/* The free page count now; a failed meminfo fails the case. */
unsigned long test_free_pages(void);

/* test_mem_settle for the free pages alone, reading them with
 * test_free_pages. Returns the count last seen. */
unsigned long test_free_pages_settle(unsigned long want);

#endif
