/*
 * The TLB shootdown checker: the record and the counts (tlbcheck.h says
 * what it checks and why). Runs under the big kernel lock.
 *
 * Invariant of the record: a CPU's bit in stale[a] is set only if its bit
 * is in may_cache[a] (it loaded ASID a and has not flushed every ASID
 * since), and cleared only by a flush that CPU did, or by reporting.
 */
#include "tlbcheck.h"

#include "arch.h"
#include "cpu.h"
#include "printk.h"
#include "vm.h"

#define VIOLATIONS_PRINTED 10

bool tlbcheck_on;
static bool skip_pending;             /* tlbcheck=skip: one flush still to skip */
static uint64_t may_cache[MAX_ASIDS]; /* CPUs that may hold entries of the ASID */
static uint64_t stale[MAX_ASIDS];     /* ... of which the page tables no longer have some */
static int loaded[MAX_CPUS];          /* ASID each CPU has loaded, 0 for none */
static int changed[MAX_CPUS];         /* ASID this CPU is flushing after a change */
static struct {
	uint64_t flushes, remote, lazy, violations;
} count;

void tlbcheck_init(bool on, bool skip_one)
{
	tlbcheck_on = on || skip_one;
	skip_pending = skip_one;
	if (tlbcheck_on)
		printk("tlbcheck: on%s\n", skip_one ? ", one remote flush to be skipped" : "");
}

static uint64_t this_cpu_bit(void)
{
	return 1ull << this_cpu()->id;
}

static int cpus_in(uint64_t mask)
{
	int n = 0;

	for (; mask; mask &= mask - 1)
		n++;
	return n;
}

static bool followed(int asid)
{
	return asid > 0 && asid < MAX_ASIDS;
}

void tlbcheck_stale_slow(int asid)
{
	if (!followed(asid))
		return;
	count.flushes++;
	stale[asid] |= may_cache[asid];
	changed[this_cpu()->id] = asid;
}

void tlbcheck_flushed_slow(uint64_t mask, int asid)
{
	uint64_t self = this_cpu_bit(), online = self;

	for (int i = 0; i < ncpus; i++)
		if (cpus[i].online)
			online |= 1ull << i;
	mask &= online;
	if (asid == ASID_ALL) {
		for (int a = 1; a < MAX_ASIDS; a++) {
			stale[a] &= ~mask;
			may_cache[a] &= ~mask;
		}
		for (int i = 0; i < ncpus; i++)
			if (mask >> i & 1 && loaded[i])
				may_cache[loaded[i]] |= 1ull << i;
		return;
	}
	if (!followed(asid))
		return;
	if (mask & ~self)
		count.remote += cpus_in(mask & ~self);
	else if (stale[asid] & self && changed[this_cpu()->id] != asid)
		count.lazy++;
	stale[asid] &= ~mask;
}

uint64_t tlbcheck_skip_slow(uint64_t mask)
{
	uint64_t self = this_cpu_bit();

	if (!skip_pending || !(mask & ~self))
		return mask;
	skip_pending = false;
	printk("tlbcheck: skipping the remote part of a flush (tlbcheck=skip)\n");
	return mask & self;
}

/* CPU i has ASID a loaded: is it stale for it? Each violation once. */
static void check_cpu(int i, int a, const char *when)
{
	if (!a || !(stale[a] >> i & 1))
		return;
	stale[a] &= ~(1ull << i);
	if (++count.violations <= VIOLATIONS_PRINTED)
		printk("tlbcheck: violation: cpu %d may run user code of asid %d with stale TLB "
		       "entries (%s on cpu %d)\n",
		       i, a, when, this_cpu()->id);
}

void tlbcheck_flush_done_slow(int asid)
{
	if (!followed(asid))
		return;
	changed[this_cpu()->id] = 0;
	for (int i = 0; i < ncpus; i++)
		if (loaded[i] == asid)
			check_cpu(i, asid, "after a flush");
}

void tlbcheck_switched_slow(int asid)
{
	int self = this_cpu()->id;

	loaded[self] = followed(asid) ? asid : 0;
	if (!loaded[self])
		return;
	may_cache[asid] |= this_cpu_bit();
	check_cpu(self, asid, "after vm_switch");
}

void tlbcheck_report(void)
{
	if (tlbcheck_on)
		printk("tlbcheck: %llu flushes, %llu remote, %llu lazy, %llu violations\n",
		       (unsigned long long)count.flushes, (unsigned long long)count.remote,
		       (unsigned long long)count.lazy, (unsigned long long)count.violations);
}
