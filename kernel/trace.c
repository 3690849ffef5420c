/*
 * The per-CPU event trace behind the `trace` program and the timeline in
 * docs/: each CPU appends to its own ring (TRACE_EVENTS entries, oldest
 * overwritten), so recording takes no lock. Starting, stopping and dumping
 * run under the big kernel lock. Why the rings, once allocated, are never
 * freed: a CPU spinning for the lock may be writing its ring at any moment,
 * and nothing tells us when it has finished.
 */
#include "trace.h"

#include "arch.h"
#include "cpu.h"
#include "pmm.h"
#include "printk.h"
#include "uapi/errno.h"

#define TRACE_PAGES 16 /* per CPU */
#define TRACE_EVENTS (TRACE_PAGES * PAGE_SIZE / sizeof(struct trace_entry))

struct trace_entry {
	uint64_t time;  /* timer ticks */
	uint32_t event; /* enum trace_event */
	uint32_t arg;
};

struct trace_ring {
	struct trace_entry *pages[TRACE_PAGES];
	uint64_t count; /* events ever recorded; the ring keeps the last ones */
};

bool trace_on;
static struct trace_ring rings[MAX_CPUS];

static struct trace_entry *entry(struct trace_ring *r, uint64_t i)
{
	size_t per_page = PAGE_SIZE / sizeof(struct trace_entry);

	i %= TRACE_EVENTS;
	return &r->pages[i / per_page][i % per_page];
}

void trace_record(enum trace_event event, unsigned long arg)
{
	struct trace_ring *r = &rings[cpu_id()];

	if (!r->pages[0])
		return;
	*entry(r, r->count++) = (struct trace_entry){ arch_timer_now(), event, (uint32_t)arg };
}

static long start(void)
{
	trace_on = false;
	for (int c = 0; c < ncpus; c++) {
		for (int p = 0; p < TRACE_PAGES; p++)
			if (!rings[c].pages[p] && !(rings[c].pages[p] = pmm_alloc()))
				return -ENOMEM;
		rings[c].count = 0;
	}
	trace_on = true;
	return 0;
}

/* Print every CPU's events, oldest first; times in ns since boot. */
static void dump(void)
{
	uint64_t freq = arch_timer_freq();

	printk("trace: begin %d %llu\n", ncpus, (unsigned long long)(1000000000ull / freq));
	for (int c = 0; c < ncpus; c++) {
		struct trace_ring *r = &rings[c];
		uint64_t first = r->count > TRACE_EVENTS ? r->count - TRACE_EVENTS : 0;
		for (uint64_t i = first; r->pages[0] && i < r->count; i++) {
			const struct trace_entry *e = entry(r, i);
			printk("T %d %llu %u %u\n", c, (unsigned long long)ticks_to_ns(e->time),
			       e->event, e->arg);
		}
	}
	printk("trace: end\n");
}

long trace_control(int cmd)
{
	switch (cmd) {
	case TRACE_START:
		return start();
	case TRACE_STOP:
		trace_on = false;
		return 0;
	case TRACE_DUMP:
		trace_on = false;
		dump();
		return 0;
	default:
		return -EINVAL;
	}
}
