/*
 * Big-kernel-lock statistics and the per-CPU event trace, shared by the
 * kernel and user space (the lockstat and trace programs).
 */
#ifndef WEFT_UAPI_LOCKSTAT_H
#define WEFT_UAPI_LOCKSTAT_H

/* One CPU's view of the big kernel lock since boot or the last reset. */
struct lock_cpu_stats {
	unsigned long acquired;    /* times this CPU took the lock */
	unsigned long contended;   /* ... of which it had to wait */
	unsigned long spin_ns;     /* time spent waiting for it */
	unsigned long held_ns;     /* time spent holding it */
	unsigned long max_hold_ns; /* longest single hold */
};

/* lockstat(buf, max, flags) */
#define LOCKSTAT_RESET 1 /* zero the counters after reading them */
/* lockstat(NULL, n, LOCKSTAT_TIME_BKL): the caller's CPU lets go of the
 * big kernel lock and takes it again n times (at most LOCKSTAT_TIME_MAX),
 * inside the kernel; returns the nanoseconds that took (bench). */
#define LOCKSTAT_TIME_BKL 2
#define LOCKSTAT_TIME_MAX 1000000

/* trace(cmd) */
#define TRACE_START 1 /* clear the per-CPU rings and start recording */
#define TRACE_STOP 2  /* stop recording */
#define TRACE_DUMP 3  /* stop, and print the recorded events on the console */

/*
 * Events, as the dump prints them: one line "T <cpu> <ns> <event> <arg>"
 * per event, between "trace: begin <cpus> <ns per tick>" and "trace: end".
 */
enum trace_event {
	TRACE_LOCK_WAIT = 1, /* starts spinning for the BKL */
	TRACE_LOCK_ACQUIRE,  /* got the BKL */
	TRACE_LOCK_RELEASE,  /* let go of the BKL */
	TRACE_SWITCH,        /* now runs thread <arg> (0: idle) */
	TRACE_SYSCALL_ENTER, /* system call number <arg> */
	TRACE_SYSCALL_EXIT,
	TRACE_IRQ,        /* interrupt: 1 timer, 2 IPI, 3 device */
	TRACE_IDLE_ENTER, /* sleeps in wfi */
	TRACE_IDLE_EXIT,
};

enum trace_irq { TRACE_IRQ_TIMER = 1, TRACE_IRQ_IPI = 2, TRACE_IRQ_DEVICE = 3 };

#endif
