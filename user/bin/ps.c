/*
 * ps: lists the processes (SYS_ps) and how much memory is free
 * (SYS_meminfo).
 */
#include <stdio.h>

#include "weft.h"

#define PS_ENTRIES 64
#define BYTES_PER_KIB 1024

static const char *state_name(int state)
{
	switch (state) {
	case PROC_RUNNING:
		return "run";
	case PROC_SLEEPING:
		return "sleep";
	case PROC_ZOMBIE:
		return "zombie";
	default:
		return "?";
	}
}

int main(void)
{
	static struct proc_info procs[PS_ENTRIES];
	struct mem_info mem;
	int n = ps(procs, PS_ENTRIES);

	if (n < 0) {
		printf("ps: %s\n", error_name(n));
		return 1;
	}
	printf("%5s %5s %-7s %7s %6s  %s\n", "PID", "PPID", "STATE", "THREADS", "PAGES", "NAME");
	for (int i = 0; i < n; i++)
		printf("%5d %5d %-7s %7d %6lu  %s\n", procs[i].pid, procs[i].ppid,
		       state_name(procs[i].state), procs[i].threads, procs[i].pages, procs[i].name);
	if (meminfo(&mem) < 0) {
		printf("ps: meminfo failed\n");
		return 1;
	}
	printf("free memory: %lu of %lu pages (%lu KiB free)\n", mem.free_pages, mem.total_pages,
	       mem.free_pages * mem.page_size / BYTES_PER_KIB);
	return 0;
}
