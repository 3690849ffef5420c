/*
 * holds: no system call holds the big kernel lock for long, whatever its
 * arguments.
 *
 *   holds
 *
 * Each step makes long system calls: a long write, an munmap of a huge
 * empty range and of many pages, an mmap of many pages, a large sbrk, a
 * fork of a big process, a long kwork. Meanwhile, when there is a second
 * CPU, a thread pinned to it spins in user mode: its timer ticks bring it
 * into the kernel, where it must wait for the lock. After each step the
 * program reads lockstat's longest hold on any CPU since the step began
 * and prints
 *
 *   holds: <step>: longest hold <N> us
 *
 * then "holds: done". Exit status 0 if every system call returned what it
 * should (the bound itself is checked by the test that runs this, which
 * knows whether the clock counts instructions: scripts/test.py).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "uapi/lockstat.h"
#include "uapi/syscall.h"
#include "weft.h"
#include "weft_thread.h"

#define MAX_CPUS 64
#define PAGE_BYTES 4096ul
#define WRITE_BYTES (64 * 1024ul)
#define MAPPED_BYTES (32ul << 20)
#define RESERVED_BYTES (96ul << 20)
/* Far above the heap, below every mmap() region: nothing is mapped. */
#define HOLE_START (32ul << 30)
#define HOLE_BYTES (32ul << 30)
#define KWORK_ITERATIONS (10ul * 1000 * 1000)

static int failures;
static int stop_spinning;

static void fail(const char *step, const char *what, long got)
{
	printf("holds: %s: %s returned %ld\n", step, what, got);
	failures++;
}

/* Zero every CPU's lock counters. */
static void reset_stats(void)
{
	static struct lock_cpu_stats stats[MAX_CPUS];

	syscall6(SYS_lockstat, (long)stats, MAX_CPUS, LOCKSTAT_RESET, 0, 0, 0);
}

/* The longest hold on any CPU since the reset, in microseconds. */
static unsigned long longest_hold_us(void)
{
	static struct lock_cpu_stats stats[MAX_CPUS];
	long n = syscall6(SYS_lockstat, (long)stats, MAX_CPUS, 0, 0, 0, 0);
	unsigned long longest = 0;

	for (long i = 0; i < n; i++)
		if (stats[i].max_hold_ns > longest)
			longest = stats[i].max_hold_ns;
	return longest / 1000;
}

static long spin(void *arg)
{
	cpu_pin((int)(long)arg);
	while (!atomic_read(&stop_spinning))
		;
	return 0;
}

static void step_write(const char *step)
{
	char *buf = (char *)mmap(WRITE_BYTES);

	memset(buf, ' ', WRITE_BYTES);
	buf[WRITE_BYTES - 1] = '\n';
	long n = write(1, buf, WRITE_BYTES);
	if (n != (long)WRITE_BYTES)
		fail(step, "write", n);
	munmap(buf, WRITE_BYTES);
}

static void step_munmap_hole(const char *step)
{
	int err = munmap((void *)HOLE_START, HOLE_BYTES);

	if (err)
		fail(step, "munmap", err);
}

/* A region touched page by page (each page filled), then unmapped. */
static char *touched_region(const char *step, size_t len)
{
	long addr = mmap(len);

	if (addr < 0) {
		fail(step, "mmap", addr);
		return NULL;
	}
	for (size_t off = 0; off < len; off += PAGE_BYTES)
		((volatile char *)addr)[off] = 1;
	return (char *)addr;
}

static void step_munmap_pages(const char *step)
{
	char *p = touched_region(step, MAPPED_BYTES);

	if (p) {
		int err = munmap(p, MAPPED_BYTES);
		if (err)
			fail(step, "munmap", err);
	}
}

static void step_mmap(const char *step)
{
	long addr = mmap(RESERVED_BYTES);

	if (addr < 0)
		fail(step, "mmap", addr);
	else
		munmap((void *)addr, RESERVED_BYTES);
}

static void step_sbrk(const char *step)
{
	long old = sbrk_raw((long)MAPPED_BYTES);

	if (old < 0) {
		fail(step, "sbrk", old);
		return;
	}
	long back = sbrk_raw(-(long)MAPPED_BYTES);
	if (back != old + (long)MAPPED_BYTES)
		fail(step, "sbrk (shrink)", back);
}

static void step_fork(const char *step)
{
	char *p = touched_region(step, MAPPED_BYTES);
	int status = -1;
	int pid = fork();

	if (pid == 0)
		exit(p ? p[0] : 0); /* 1: the copy holds the parent's data */
	if (pid < 0) {
		fail(step, "fork", pid);
	} else if (wait(pid, &status) != pid || status != 1 << 8) {
		fail(step, "wait status", status);
	}
	if (p)
		munmap(p, MAPPED_BYTES);
}

static void step_kwork(const char *step)
{
	long r = syscall6(SYS_kwork, KWORK_ITERATIONS, 0, 0, 0, 0, 0);

	if (r < 0)
		fail(step, "kwork", r);
}

static const struct {
	const char *name;
	void (*run)(const char *step);
} steps[] = {
	{ "write", step_write },
	{ "munmap_hole", step_munmap_hole },
	{ "munmap_pages", step_munmap_pages },
	{ "mmap", step_mmap },
	{ "sbrk", step_sbrk },
	{ "fork", step_fork },
	{ "kwork", step_kwork },
};

int main(void)
{
	int online = CPU_INFO_ONLINE(cpu_info());
	int spinner = online > 1 ? thread_spawn(spin, (void *)1l) : -1;

	if (online > 1 && spinner < 0)
		fail("start", "thread_spawn", spinner);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		reset_stats();
		steps[i].run(steps[i].name);
		printf("holds: %s: longest hold %lu us\n", steps[i].name, longest_hold_us());
	}
	atomic_write(&stop_spinning, 1);
	if (spinner >= 0)
		thread_join(spinner, NULL);
	printf("holds: done\n");
	return failures ? 1 : 0;
}
