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
 */
#ifndef WEFT_USER_TEST_H
#define WEFT_USER_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include "uapi/proc.h"

/* The exit code of a case that printed its own FAIL line. */
#define CASE_REPORTED 1
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

int test_main(const struct test_suite *suite, int argc, char **argv);

/* Whether the command line asked for the case `name` (no names: all). */
bool test_selected(const char *name);

/*
 * Waits, a few seconds at the most, until the free pages (and with
 * ipc_too the IPC objects alive) are back to what *want says: a process is
 * freed a moment after its parent's wait() returns. Returns the counts
 * last seen.
 */
struct mem_info test_mem_settle(const struct mem_info *want, bool ipc_too);

#endif
