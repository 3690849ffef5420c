/*
 * bomb: takes all it can of one resource, holds it, lets it go, and
 * checks that the kernel got every page back.
 *
 *   bomb fork [seconds]     processes that fork until fork fails
 *   bomb thread [seconds]   threads until thread_spawn fails
 *   bomb mmap [seconds]     memory, touched, until mmap fails
 *   bomb zombie [seconds]   children that end at once, never waited for
 *
 * The bomb runs in a child process. It prints "bomb: <kind>: full: ..."
 * once the kernel refuses more, holds
 * what it took for `seconds` (default 5) in all, then ends it and prints
 * "bomb: <kind>: done: every page back" (exit 0), or a LEAK line (exit
 * 1). Meanwhile the shell must stay usable: `ps` still runs, from the
 * memory the kernel keeps in reserve (docs/robustness.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft_test.h"
#include "weft_thread.h"

#define NS_PER_S 1000000000ul
#define NS_PER_MS 1000000ul
#define DEFAULT_SECONDS 5
#define CHUNK_BYTES (1024 * 1024ul)
#define PAGE_BYTES 4096ul
#define MAX_CHUNKS 65536 /* 64 GiB */
#define FULL_POLL_MS 50

static unsigned long deadline;

/* One sleep, not a poll: with thousands of bomb processes, each waking
 * every few milliseconds would keep every CPU busy with wake-ups. */
static void sleep_until_deadline(void)
{
	unsigned long now;

	while ((now = clock_ns()) < deadline)
		sleep_ms((deadline - now) / NS_PER_MS + 1);
}

static void say_full(const char *kind, unsigned long count, const char *what, int err)
{
	struct mem_info info;

	meminfo(&info);
	printf("bomb: %s: full: %lu %s (then %s), %lu of %lu pages free, reserve %lu\n", kind,
	       count, what, err ? error_name(err) : "none", info.free_pages, info.total_pages,
	       info.reserve_pages);
}

/* Each process forks until fork fails, its children likewise; then it
 * waits out the deadline and reaps its own. No orphans: every process
 * waits for its children before it ends. */
static void fork_bomb(void)
{
	/* Not past the deadline: once the first processes end, the memory
	 * they free would go to new children, and the bomb would not end. */
	while (clock_ns() < deadline && fork() >= 0)
		;
	sleep_until_deadline();
	while (wait(-1, NULL) > 0)
		;
	exit(0);
}

static int run_fork(unsigned long before)
{
	struct mem_info info;
	int pid = fork();

	if (pid == 0)
		fork_bomb();
	if (pid < 0)
		return pid;
	/* Full: nothing left but the reserve, or the bombers gave up. */
	do {
		sleep_ms(FULL_POLL_MS);
		meminfo(&info);
	} while (info.free_pages > info.reserve_pages + CHUNK_BYTES / PAGE_BYTES &&
		 clock_ns() < deadline);
	say_full("fork", before - info.free_pages, "pages taken by processes", 0);
	while (wait(-1, NULL) > 0)
		;
	return 0;
}

static long hold_thread(void *arg)
{
	(void)arg;
	sleep_until_deadline();
	return 0;
}

static int run_thread(unsigned long before)
{
	(void)before;
	static int tids[PROC_THREADS_MAX];
	int n = 0;
	int tid = 0;

	while (n < PROC_THREADS_MAX && (tid = thread_spawn(hold_thread, NULL)) > 0)
		tids[n++] = tid;
	say_full("thread", (unsigned long)n, "threads", tid);
	for (int i = 0; i < n; i++)
		thread_join(tids[i], NULL);
	return 0;
}

static int run_mmap(unsigned long before)
{
	(void)before;
	static char *chunks[MAX_CHUNKS];
	int n = 0;
	long a = 0;

	while (n < MAX_CHUNKS && (a = mmap(CHUNK_BYTES)) > 0) {
		chunks[n] = (char *)a;
		for (unsigned long off = 0; off < CHUNK_BYTES; off += PAGE_BYTES)
			chunks[n][off] = 1;
		n++;
	}
	say_full("mmap", (unsigned long)n, "MiB", (int)a);
	sleep_until_deadline();
	while (n > 0)
		munmap(chunks[--n], CHUNK_BYTES);
	return 0;
}

static int run_zombie(unsigned long before)
{
	(void)before;
	unsigned long n = 0;
	int pid;

	while ((pid = fork()) > 0)
		n++;
	if (pid == 0)
		_exit(0);
	say_full("zombie", n, "children", pid);
	sleep_until_deadline();
	while (wait(-1, NULL) > 0)
		;
	return 0;
}

static const struct {
	const char *name;
	int (*run)(unsigned long before);
} kinds[] = {
	{ "fork", run_fork },
	{ "thread", run_thread },
	{ "mmap", run_mmap },
	{ "zombie", run_zombie },
};

int main(int argc, char **argv)
{
	unsigned long seconds = argc > 2 ? strtoul(argv[2], NULL, 10) : DEFAULT_SECONDS;

	for (size_t i = 0; argc > 1 && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(argv[1], kinds[i].name) != 0)
			continue;
		printf("bomb: %s: for %lu s\n", kinds[i].name, seconds);
		fflush(stdout);
		unsigned long before = test_mem_now().free_pages;
		deadline = clock_ns() + seconds * NS_PER_S;
		/* In a child: a process's page tables stay until it ends. */
		int status;
		int pid = fork();
		if (pid == 0)
			exit(kinds[i].run(before) < 0 ? 2 : 0);
		if (pid < 0 || wait(pid, &status) != pid || status != WAIT_STATUS(WAIT_EXITED, 0)) {
			printf("bomb: %s: the bomb failed\n", kinds[i].name);
			return 2;
		}
		unsigned long after = test_mem_now().free_pages;
		if (after != before) {
			printf("bomb: %s: LEAK: %lu pages before, %lu after\n", kinds[i].name,
			       before, after);
			return 1;
		}
		printf("bomb: %s: done: every page back\n", kinds[i].name);
		return 0;
	}
	printf("usage: bomb fork|thread|mmap|zombie [seconds]\n");
	return 2;
}
