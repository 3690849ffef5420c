/*
 * The trap path's copies of the big kernel lock (fastpath_bkl_acquire and
 * fastpath_bkl_release, kernel/include/fastpath.h) do exactly what the
 * plain bkl_acquire and bkl_release (kernel/lock.c) do.
 *
 * Each case runs the same sequence of operations twice, once through the
 * plain functions and once through the copies, from the same start, and
 * compares what they leave behind: the lock (tickets, holder, when it was
 * taken), every CPU's lockstat counters, the trace events in order, and
 * the wake-up IPIs sent to napping CPUs. The CPUs, the clock and the
 * interrupts are this file's: a waiting CPU's nap is where the test lets
 * the holder release the lock.
 *
 * Links: kernel/lock.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h" /* the host stand-in first */
#include "check.h"
#include "cpu.h"
#include "fastpath.h"
#include "lock.h"
#include "trace.h"

#define NCPUS 4
#define MAX_EVENTS 4096
#define RANDOM_SEQUENCES 200
#define STEPS 300

struct cpu cpus[MAX_CPUS];
struct cpu *host_cpu_self = &cpus[0];
bool trace_on;
volatile int panic_in_progress;

/* What the lock did, besides its own state. */
static struct {
	int n;
	int cpu[MAX_EVENTS];  /* trace events: the CPU */
	int what[MAX_EVENTS]; /* the event, or 100 + target of an IPI */
} seen;
static uint64_t clock_now;

uintptr_t arch_this_pc(void)
{
	return (uintptr_t)__builtin_return_address(0);
}

uint64_t arch_timer_now(void)
{
	return clock_now++; /* every look at the clock takes a tick */
}

uint64_t arch_timer_freq(void)
{
	return 1000000;
}

static void note(int what)
{
	CHECK(seen.n < MAX_EVENTS);
	seen.cpu[seen.n] = host_cpu_self->id;
	seen.what[seen.n++] = what;
}

void trace_record(enum trace_event event, unsigned long arg)
{
	(void)arg;
	note(event);
}

void arch_send_ipi(struct cpu *cpu)
{
	note(100 + cpu->id);
}

void arch_timer_set(uint64_t deadline)
{
	(void)deadline;
}

void arch_ipi_clear(void)
{
}

void arch_cpu_stop(void)
{
	unit_fail(__FILE__, __LINE__, "a CPU stopped");
}

/* One implementation of the lock: the plain one or the trap path's. */
struct impl {
	void (*acquire)(void);
	void (*release)(void);
};

static void fast_acquire(void)
{
	fastpath_bkl_acquire();
}

static void fast_release(void)
{
	fastpath_bkl_release();
}

static const struct impl plain = { bkl_acquire, bkl_release };
static const struct impl fast = { fast_acquire, fast_release };
static const struct impl *running;

/* Who releases the lock while a CPU naps for it (see arch_wait_for_interrupt),
 * or -1: the waiter would nap forever, so fail. */
static int releaser = -1;

/* A CPU napping in bkl_nap: the holder, another CPU, releases now. */
void arch_wait_for_interrupt(void)
{
	CHECK_MSG(releaser >= 0, "a CPU napped with nobody to wake it");
	struct cpu *waiter = host_cpu_self;
	host_cpu_self = &cpus[releaser];
	releaser = -1;
	running->release();
	host_cpu_self = waiter;
}

/* Everything the lock leaves behind. */
struct snapshot {
	uint32_t next, serving;
	int holder;
	uint64_t since;
	struct lock_stats stats[NCPUS];
	int nseen;
	int seen_cpu[MAX_EVENTS], seen_what[MAX_EVENTS];
};

static void reset(const struct impl *impl)
{
	big_kernel_lock = (struct spinlock)SPINLOCK_INIT("big kernel lock");
	memset(cpus, 0, sizeof(cpus));
	for (int i = 0; i < NCPUS; i++)
		cpus[i].id = i;
	host_cpu_self = &cpus[0];
	memset(&seen, 0, sizeof(seen));
	clock_now = 1000;
	trace_on = false;
	releaser = -1;
	running = impl;
}

static void take_snapshot(struct snapshot *s)
{
	s->next = big_kernel_lock.next;
	s->serving = big_kernel_lock.serving;
	s->holder = big_kernel_lock.holder;
	s->since = big_kernel_lock.since;
	for (int i = 0; i < NCPUS; i++)
		s->stats[i] = cpus[i].bkl_stats;
	s->nseen = seen.n;
	memcpy(s->seen_cpu, seen.cpu, sizeof(seen.cpu));
	memcpy(s->seen_what, seen.what, sizeof(seen.what));
	CHECK_MSG(big_kernel_lock.holder < 0 || big_kernel_lock.holder_pc,
		  "the holder's pc is not recorded");
}

static void check_same(const struct snapshot *a, const struct snapshot *b)
{
	CHECK_EQ(a->next, b->next);
	CHECK_EQ(a->serving, b->serving);
	CHECK_EQ(a->holder, b->holder);
	CHECK_EQ(a->since, b->since);
	for (int i = 0; i < NCPUS; i++) {
		unit_note("cpu %d's counters", i);
		CHECK_EQ(a->stats[i].acquired, b->stats[i].acquired);
		CHECK_EQ(a->stats[i].contended, b->stats[i].contended);
		CHECK_EQ(a->stats[i].spin_ticks, b->stats[i].spin_ticks);
		CHECK_EQ(a->stats[i].held_ticks, b->stats[i].held_ticks);
		CHECK_EQ(a->stats[i].max_hold, b->stats[i].max_hold);
	}
	unit_note("trace events and IPIs");
	CHECK_EQ(a->nseen, b->nseen);
	for (int i = 0; i < a->nseen; i++) {
		CHECK_EQ(a->seen_cpu[i], b->seen_cpu[i]);
		CHECK_EQ(a->seen_what[i], b->seen_what[i]);
	}
}

/*
 * A random sequence: a CPU takes the lock, holds it a while, lets it go;
 * sometimes another CPU is already waiting and naps until the holder lets
 * go (arch_wait_for_interrupt); tracing goes on and off. The same seed
 * gives the same sequence, so both implementations see the same one.
 */
static void run_sequence(const struct impl *impl, unsigned seed, struct snapshot *out)
{
	reset(impl);
	srand(seed);
	for (int step = 0; step < STEPS; step++) {
		int c = rand() % NCPUS;
		trace_on = rand() % 3 == 0;
		host_cpu_self = &cpus[c];
		if (rand() % 4 == 0) { /* contended: another CPU holds it first */
			int holder = (c + 1 + rand() % (NCPUS - 1)) % NCPUS;
			host_cpu_self = &cpus[holder];
			impl->acquire();
			clock_now += rand() % 50;
			host_cpu_self = &cpus[c];
			releaser = holder;
		}
		impl->acquire();
		CHECK_EQ(big_kernel_lock.holder, c);
		clock_now += rand() % 1000;
		impl->release();
		CHECK_EQ(big_kernel_lock.holder, -1);
	}
	take_snapshot(out);
}

static struct snapshot plain_result, fast_result;

TEST(fastpath_agrees_on_random_sequences)
{
	for (unsigned seed = 1; seed <= RANDOM_SEQUENCES; seed++) {
		unit_note("sequence %u, plain", seed);
		run_sequence(&plain, seed, &plain_result);
		unit_note("sequence %u, fast path", seed);
		run_sequence(&fast, seed, &fast_result);
		unit_note("sequence %u, comparing", seed);
		check_same(&plain_result, &fast_result);
	}
	/* The sequences did what they are for: waits, naps, counts. */
	CHECK(plain_result.stats[0].contended + plain_result.stats[1].contended > 0);
	CHECK(plain_result.nseen > 0);
}

/* The two mix: a CPU that came in from user mode by the fast path and
 * then went idle lets go by the plain one. Mixed, they count as the plain
 * functions alone would. */
TEST(fastpath_and_plain_mix)
{
	struct snapshot mixed;

	reset(&plain);
	for (int i = 0; i < 10; i++) {
		host_cpu_self = &cpus[i % NCPUS];
		(i % 2 ? fast_acquire : bkl_acquire)();
		clock_now += 7 * (uint64_t)i;
		(i % 2 ? bkl_release : fast_release)();
	}
	take_snapshot(&mixed);
	reset(&plain);
	for (int i = 0; i < 10; i++) {
		host_cpu_self = &cpus[i % NCPUS];
		bkl_acquire();
		clock_now += 7 * (uint64_t)i;
		bkl_release();
	}
	take_snapshot(&plain_result);
	check_same(&mixed, &plain_result);
	CHECK_EQ(plain_result.stats[1].acquired, 3);
}

/* Both catch the same misuse, with the same report. */
TEST(fastpath_catches_what_plain_catches)
{
	static const struct impl *const impls[] = { &plain, &fast };

	for (volatile int i = 0; i < 2; i++) {
		reset(impls[i]);
		CHECK_PANIC(impls[i]->release(), "does not hold the lock");
		reset(impls[i]);
		impls[i]->acquire();
		CHECK_PANIC(impls[i]->acquire(), "recursive lock");
		reset(impls[i]);
		host_cpu_self = &cpus[1];
		impls[i]->acquire();
		host_cpu_self = &cpus[2];
		CHECK_PANIC(impls[i]->release(), "does not hold the lock");
	}
}
