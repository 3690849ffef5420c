/*
 * CPUs, their timers and the IPIs between them: the table of struct cpu,
 * a secondary CPU's way from its entry code to the idle loop, the tick,
 * and what an IPI does on arrival.
 *
 * cpu.c and sched.c call each other, and that circle is the design: the
 * tick asks the scheduler whether the running thread's time is up
 * (sched_tick), and the idle loop in sched.c arms the timer for the next
 * sleeping thread (timer_set). So do cpu.c and the files that reach every
 * CPU through cpus[]: lock.c (to wake a napping waiter), panic.c (to stop
 * the others) and trace.c (one ring per CPU), while a CPU coming online
 * here takes the lock, checks for a panic and traces its ticks.
 */
#include "cpu.h"

#include "arch.h"
#include "panic.h"
#include "sched.h"
#include "trace.h"

struct cpu cpus[MAX_CPUS];
int ncpus;

int cpus_online(void)
{
	int n = 0;

	for (int i = 0; i < ncpus; i++)
		n += READ_ONCE(cpus[i].online);
	return n;
}

void cpu_secondary_main(struct cpu *cpu)
{
	arch_cpu_set_self(cpu);
	arch_cpu_init(cpu);
	bkl_acquire();
	sched_init_cpu();
	timer_start();
	cpu->online = true;
	arch_send_ipi(&cpus[0]); /* the boot CPU sleeps until we are up */
	sched_idle();
}

void timer_set(uint64_t deadline)
{
	this_cpu()->timer_at = deadline;
	arch_timer_set(deadline);
}

void timer_start(void)
{
	timer_set(arch_timer_now() + arch_timer_freq() / TICK_HZ);
}

/* The tick runs only while the CPU runs a thread: an idle CPU sets its
 * timer for the next sleeper, if any (see sched_idle). */
void timer_tick(void)
{
	trace(TRACE_IRQ, TRACE_IRQ_TIMER);
	this_cpu()->ticks++;
	if (this_cpu()->current != &this_cpu()->idle)
		timer_start();
	else
		timer_set(UINT64_MAX); /* quiet until the idle loop sets it */
	sched_tick();
}

void ipi_handle(void)
{
	trace(TRACE_IRQ, TRACE_IRQ_IPI);
	if (panic_in_progress)
		arch_cpu_stop();
}
