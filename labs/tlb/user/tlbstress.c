/*
 * tlbstress: address-space changes while the address space runs on every
 * CPU (the tlb lab's grader runs it with tlbcheck=1).
 *
 *   tlbstress [ROUNDS]
 *
 * Threads pinned to CPUs 1.. read and write each round's region; the main
 * thread, on CPU 0, maps a new region every round, waits until every
 * reader has checked it, and unmaps it; every few rounds it also grows
 * and shrinks the heap (sbrk) and forks a child. Each child migrates
 * between CPUs: it maps memory on one CPU, unmaps it on another, and
 * maps fresh memory back on the first, where its TLB may still hold the
 * old entries; it checks every word it reads, and that touching unmapped
 * memory still faults. Prints "tlbstress: ok ..." and exits 0, or prints
 * what went wrong and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "atomic.h"
#include "weft.h"
#include "weft_thread.h"

#define DEFAULT_ROUNDS 40
#define PAGE_BYTES 4096
#define REGION_PAGES 4
#define REGION_WORDS (REGION_PAGES * PAGE_BYTES / sizeof(int))
#define MAX_READERS 16
#define FORK_EVERY 8
#define SBRK_EVERY 5
#define MIGRATIONS 4
#define WAIT_MS 10000 /* for the readers' acknowledgements */

static int round_no; /* 0: not started; -1: stop */
static int *region;  /* this round's region */
static int acks;     /* rounds * readers that checked theirs */
static int reader_errors;
static int ready;

static int pattern(int r, size_t i)
{
	return r * 7919 + (int)i;
}

static long reader(void *arg)
{
	int id = (int)(long)arg, last = 0;

	if (cpu_pin(id))
		return atomic_add(&reader_errors, 1), 0;
	atomic_add(&ready, 1);
	for (;;) {
		int r = atomic_read(&round_no);
		if (r < 0)
			return 0;
		if (r == last) {
			yield(); /* a child pinned here gets its turn at once */
			continue;
		}
		int *w = atomic_read(&region);
		for (size_t i = MAX_READERS; i < REGION_WORDS; i++)
			if (w[i] != pattern(r, i)) {
				printf("tlbstress: reader %d: round %d word %u is %d, expected "
				       "%d\n",
				       id, r, (unsigned)i, w[i], pattern(r, i));
				atomic_add(&reader_errors, 1);
				break;
			}
		w[id] = r; /* the writer checks it */
		last = r;
		atomic_add(&acks, 1);
	}
}

static int check_words(const int *w, size_t n, int r)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] != pattern(r, i))
			return 0;
	return 1;
}

static void fill_words(int *w, size_t n, int r)
{
	for (size_t i = 0; i < n; i++)
		w[i] = pattern(r, i);
}

/* A grandchild: touch memory its parent unmapped. Must fault. */
static int touch_unmapped(int *p)
{
	int pid = fork();

	if (pid == 0) {
		*(volatile int *)p = 1;
		exit(0);
	}
	int status = 0;
	return pid > 0 && wait(pid, &status) == pid &&
	       status == WAIT_STATUS(WAIT_FAULTED, FAULT_PAGE);
}

/* A child: memory mapped on CPU a, unmapped on CPU b, fresh memory back
 * on CPU a. Exit status: 0, or the step that failed. */
static int migrate(int seed, int n)
{
	for (int k = 0; k < MIGRATIONS; k++) {
		int a = (seed + k) % n, b = (seed + k + 1) % n;
		size_t words = 2 * PAGE_BYTES / sizeof(int);
		if (cpu_pin(a))
			return 2;
		int *p = (int *)mmap(2 * PAGE_BYTES);
		if ((long)p <= 0)
			return 3;
		fill_words(p, words, seed + k);
		if (cpu_pin(b) || !check_words(p, words, seed + k))
			return 4;
		if (munmap(p, 2 * PAGE_BYTES))
			return 5;
		if (cpu_pin(a))
			return 6;
		int *q = (int *)mmap(2 * PAGE_BYTES);
		if ((long)q <= 0)
			return 7;
		for (size_t i = 0; i < words; i++)
			if (q[i] != 0)
				return 8;
		fill_words(q, words, seed + k + 1);
		if (!check_words(q, words, seed + k + 1))
			return 9;
		if (k == 0 && !touch_unmapped(p))
			return 10;
		if (munmap(q, 2 * PAGE_BYTES))
			return 11;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
	int n = CPU_INFO_ONLINE(cpu_info()), tids[MAX_READERS], children[DEFAULT_ROUNDS];
	int nchildren = 0, failed = 0;

	if (n > MAX_READERS)
		n = MAX_READERS;
	if (rounds > DEFAULT_ROUNDS * FORK_EVERY)
		rounds = DEFAULT_ROUNDS * FORK_EVERY;
	if (cpu_pin(0))
		return printf("tlbstress: cpu_pin(0) failed\n"), 1;
	for (int i = 1; i < n; i++) {
		tids[i] = thread_spawn(reader, (void *)(long)i);
		if (tids[i] < 0)
			return printf("tlbstress: thread_spawn: %d\n", tids[i]), 1;
	}
	while (atomic_read(&ready) < n - 1 && !atomic_read(&reader_errors))
		sleep_ms(1);
	for (int r = 1; r <= rounds && !failed; r++) {
		int *w = (int *)mmap(REGION_PAGES * PAGE_BYTES);
		if ((long)w <= 0) {
			printf("tlbstress: round %d: mmap: %ld\n", r, (long)w);
			failed = 1;
			break;
		}
		fill_words(w, REGION_WORDS, r);
		atomic_write(&region, w);
		atomic_write(&round_no, r);
		unsigned long deadline = clock_ns() + WAIT_MS * 1000000ul;
		while (atomic_read(&acks) < r * (n - 1) && clock_ns() < deadline)
			yield();
		if (atomic_read(&acks) < r * (n - 1) || atomic_read(&reader_errors)) {
			printf("tlbstress: round %d: %d of %d readers checked it\n", r,
			       atomic_read(&acks) - (r - 1) * (n - 1), n - 1);
			failed = 1;
		}
		for (int i = 1; i < n && !failed; i++)
			if (w[i] != r) {
				printf("tlbstress: round %d: reader %d wrote %d\n", r, i, w[i]);
				failed = 1;
			}
		if (r % FORK_EVERY == 0) {
			int pid = fork();
			if (pid == 0)
				exit(migrate(r, n));
			if (pid < 0) {
				printf("tlbstress: fork: %d\n", pid);
				failed = 1;
			} else {
				children[nchildren++] = pid;
			}
		}
		if (r % SBRK_EVERY == 0) {
			char *h = sbrk(2 * PAGE_BYTES);
			if (h == (char *)-1) {
				printf("tlbstress: sbrk\n");
				failed = 1;
			} else {
				fill_words((int *)h, 2 * PAGE_BYTES / sizeof(int), r);
				if (!check_words((int *)h, 2 * PAGE_BYTES / sizeof(int), r))
					failed = 1;
				sbrk(-2 * PAGE_BYTES);
			}
		}
		if (munmap(w, REGION_PAGES * PAGE_BYTES)) {
			printf("tlbstress: round %d: munmap failed\n", r);
			failed = 1;
		}
	}
	atomic_write(&round_no, -1);
	for (int i = 1; i < n; i++)
		thread_join(tids[i], NULL);
	for (int i = 0; i < nchildren; i++) {
		int status = -1;
		if (wait(children[i], &status) != children[i] || status != 0) {
			printf("tlbstress: child %d: status %#x (exit code: the step that "
			       "failed)\n",
			       children[i], status);
			failed = 1;
		}
	}
	cpu_pin(-1);
	if (failed || reader_errors)
		return 1;
	printf("tlbstress: ok: %d rounds, %d readers, %d children\n", rounds, n - 1, nchildren);
	return 0;
}
