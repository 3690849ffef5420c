/*
 * CPUs: one struct cpu per processor that Weft runs on.
 *
 * Logical ids 0..ncpus-1 are Weft's own numbering (the boot CPU is 0);
 * hwid is the firmware's name for the CPU (RISC-V hart id, Arm MPIDR
 * affinity). Each CPU finds its own struct through a per-CPU register.
 */
#ifndef WEFT_CPU_H
#define WEFT_CPU_H

#include "arch.h"
#include "cpu_asm.h"
#include "lock.h"
#include "proc.h"
#include "types.h"

#define MAX_CPUS 32
#define TICK_HZ 100 /* timer interrupts per second on every CPU */

struct cpu {
	/* The first three are used by assembly code (cpu_asm.h). */
	void *stack_top;    /* boot/idle stack */
	uintptr_t kstack;   /* kernel stack top of the running thread */
	uintptr_t scratch;  /* trap entry parks a register here */
	int id;             /* logical id */
	unsigned long hwid; /* hart id / MPIDR affinity bits */
	int fdt_node;       /* its node under /cpus */
	bool online;        /* set once it runs kernel code */
	uint64_t ticks;     /* timer interrupts taken */
	struct lock_stats bkl_stats;
	struct thread *current;   /* running thread (idle when nothing else) */
	struct address_space *as; /* user address space loaded (vm_switch) */
	struct thread idle;       /* this CPU's idle thread: its boot stack */
	struct thread *to_free;   /* a dead thread to free once off this CPU */
	bool resched;             /* the time slice is over */
	uint64_t timer_at;        /* when its timer is set to fire */
	struct arch_cpu arch;     /* architecture-private state */
};

_Static_assert(offsetof(struct cpu, stack_top) == CPU_STACK_TOP, "cpu_asm.h: stack_top");
_Static_assert(offsetof(struct cpu, kstack) == CPU_KSTACK, "cpu_asm.h: kstack");
_Static_assert(offsetof(struct cpu, scratch) == CPU_SCRATCH, "cpu_asm.h: scratch");

extern struct cpu cpus[MAX_CPUS];
extern int ncpus;      /* CPUs found in the FDT (at most MAX_CPUS) */
int cpus_online(void); /* how many have come up so far */

static inline struct cpu *this_cpu(void)
{
	return arch_cpu_self();
}

static inline int cpu_id(void)
{
	return arch_cpu_self()->id;
}

/* The thread running on this CPU, and its process. */
static inline struct thread *thread_current(void)
{
	return arch_cpu_self()->current;
}

static inline struct process *process_current(void)
{
	return thread_current()->proc;
}

/* Timer ticks (arch_timer_now) to nanoseconds, without overflow for any
 * uptime: whole seconds and the rest are converted apart. */
static inline uint64_t ticks_to_ns(uint64_t ticks)
{
	uint64_t f = arch_timer_freq();

	return ticks / f * 1000000000ull + ticks % f * 1000000000ull / f;
}

/* kernel/cpu.c. Arm the calling CPU's timer (and remember when it fires). */
void timer_set(uint64_t deadline);
/* Arm the calling CPU's periodic tick. (timer_tick and ipi_handle, which
 * the port's interrupt handlers call, are declared in arch.h.) */
void timer_start(void);

#endif
