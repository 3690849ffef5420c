/*
 * lockstat: how each CPU has used the big kernel lock since boot (or since
 * the last reset), read with SYS_lockstat.
 *
 *   lockstat        print the table
 *   lockstat -r     print it, then zero the counters
 *
 * One row per CPU: times it took the lock, how many of those it had to
 * wait, the time it spent spinning and holding, and its longest hold;
 * then the totals. A CPU that spins is doing nothing useful: the spin
 * column is the price of having one lock for the whole kernel.
 */
#include <stdio.h>
#include <string.h>

#include "uapi/lockstat.h"
#include "weft.h"

#define LOCKSTAT_MAX_CPUS 64
#define NS_PER_MS 1000000.0
#define NS_PER_US 1000.0

static void usage(void)
{
	printf("usage: lockstat [-r]\n"
	       "  -r  zero the counters after reading them\n");
}

static void print_row(const char *cpu, const struct lock_cpu_stats *s)
{
	printf("%-5s %10lu %10lu %10.3f %10.3f %12.1f\n", cpu, s->acquired, s->contended,
	       s->spin_ns / NS_PER_MS, s->held_ns / NS_PER_MS, s->max_hold_ns / NS_PER_US);
}

int main(int argc, char **argv)
{
	static struct lock_cpu_stats stats[LOCKSTAT_MAX_CPUS];
	struct lock_cpu_stats total = { 0 };
	int flags = 0;
	long n;

	if (argc == 2 && strcmp(argv[1], "-r") == 0) {
		flags = LOCKSTAT_RESET;
	} else if (argc != 1) {
		usage();
		return 2;
	}
	n = syscall6(SYS_lockstat, (long)stats, LOCKSTAT_MAX_CPUS, flags, 0, 0, 0);
	if (n < 0) {
		printf("lockstat: %s\n", error_name((int)n));
		return 1;
	}
	printf("%-5s %10s %10s %10s %10s %12s\n", "CPU", "acquired", "contended", "spin ms",
	       "held ms", "max hold us");
	for (long i = 0; i < n; i++) {
		char name[8];

		snprintf(name, sizeof(name), "%ld", i);
		print_row(name, &stats[i]);
		total.acquired += stats[i].acquired;
		total.contended += stats[i].contended;
		total.spin_ns += stats[i].spin_ns;
		total.held_ns += stats[i].held_ns;
		if (stats[i].max_hold_ns > total.max_hold_ns)
			total.max_hold_ns = stats[i].max_hold_ns;
	}
	print_row("total", &total);
	if (flags & LOCKSTAT_RESET)
		printf("lockstat: counters reset\n");
	return 0;
}
