/*
 * tlbbench: a fixed workload for counting TLB shootdowns (the tlb lab).
 *
 *   tlbbench [ROUNDS]
 *
 * The process first runs on every CPU in turn (so every CPU may cache its
 * entries), then stays on CPU 0, with the other CPUs idle, and maps,
 * touches and unmaps a page ROUNDS times (default 200): each munmap needs
 * a TLB flush of this address space. Then a thread on CPU 1 reads each
 * page before CPU 0 unmaps it, SHARED_ROUNDS times: those flushes must
 * reach CPU 1, which runs the process at that moment. Last the process
 * visits every CPU again and checks fresh memory there. With the kernel
 * option tlbcheck=1 the kernel prints at poweroff how many flushes there
 * were and how many other CPUs were made to flush; the grader divides one
 * by the other. Flushing every CPU that ever ran the process costs about
 * CPUs - 1 per flush; flushing only the CPUs running it now costs one per
 * flush of the second phase, and none in the first.
 */
#include <stdio.h>
#include <stdlib.h>

#include "atomic.h"
#include "weft_thread.h"

#define DEFAULT_ROUNDS 200
#define SHARED_ROUNDS 10
#define PAGE_BYTES 4096

static int *shared_page; /* the page of the current shared round */
static int shared_round; /* 0: not started; -1: stop */
static int shared_seen;  /* rounds the reader checked */
static int reader_error;

static int fail(const char *what, long got)
{
	printf("tlbbench: FAIL %s (%ld)\n", what, got);
	return 1;
}

/* Map a page, write `value` in every word, check it, return it. */
static long fill_page(int value)
{
	long a = mmap(PAGE_BYTES);

	if (a <= 0)
		return a;
	int *w = (int *)a;
	for (size_t i = 0; i < PAGE_BYTES / sizeof(int); i++)
		w[i] = value;
	for (size_t i = 0; i < PAGE_BYTES / sizeof(int); i++)
		if (w[i] != value)
			return -1;
	return a;
}

/* On CPU 1: check each shared round's page, then say so. */
static long reader(void *arg)
{
	int last = 0;

	(void)arg;
	if (cpu_pin(1))
		return atomic_write(&reader_error, 1), 0;
	for (;;) {
		int r = atomic_read(&shared_round);
		if (r < 0)
			return 0;
		if (r == last) {
			cpu_relax();
			continue;
		}
		int *w = atomic_read(&shared_page);
		for (size_t i = 0; i < PAGE_BYTES / sizeof(int); i++)
			if (w[i] != r)
				atomic_write(&reader_error, 1);
		last = r;
		atomic_write(&shared_seen, r);
	}
}

/* The second phase: the flushes of pages CPU 1 has just read. */
static int shared_rounds(void)
{
	int tid = thread_spawn(reader, NULL);

	if (tid < 0)
		return fail("thread_spawn", tid);
	for (int r = 1; r <= SHARED_ROUNDS && !atomic_read(&reader_error); r++) {
		long a = fill_page(r);
		if (a <= 0)
			return fail("mmap", a);
		atomic_write(&shared_page, (int *)a);
		atomic_write(&shared_round, r);
		while (atomic_read(&shared_seen) < r && !atomic_read(&reader_error))
			cpu_relax();
		if (munmap((void *)a, PAGE_BYTES))
			return fail("munmap", a);
	}
	atomic_write(&shared_round, -1);
	thread_join(tid, NULL);
	return atomic_read(&reader_error) ? fail("the reader on CPU 1 saw wrong data", 0) : 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
	int n = CPU_INFO_ONLINE(cpu_info());

	for (int cpu = n - 1; cpu >= 0; cpu--) {
		if (cpu_pin(cpu))
			return fail("cpu_pin", cpu);
		long a = fill_page(cpu + 1);
		if (a <= 0)
			return fail("mmap while visiting a CPU", a);
		if (munmap((void *)a, PAGE_BYTES))
			return fail("munmap", a);
	}
	/* Pinned to CPU 0 now: the others have nothing to run. */
	for (int r = 0; r < rounds; r++) {
		long a = fill_page(r);
		if (a <= 0)
			return fail("mmap", a);
		if (munmap((void *)a, PAGE_BYTES))
			return fail("munmap", a);
	}
	if (n > 1 && shared_rounds())
		return 1;
	for (int cpu = 1; cpu < n; cpu++) {
		if (cpu_pin(cpu))
			return fail("cpu_pin", cpu);
		long a = fill_page(-cpu);
		if (a <= 0)
			return fail("mmap after coming back", a);
		if (munmap((void *)a, PAGE_BYTES))
			return fail("munmap", a);
	}
	cpu_pin(-1);
	printf("tlbbench: %d rounds on CPU 0, %d shared with CPU 1, %d CPUs visited\n", rounds,
	       n > 1 ? SHARED_ROUNDS : 0, n);
	return 0;
}
