/*
 * Process-related structures and the exit status encoding, shared by the
 * kernel and user space.
 */
#ifndef WEFT_UAPI_PROC_H
#define WEFT_UAPI_PROC_H

/*
 * The status wait() reports is one int:
 *   bits 0..7   how the process ended: WAIT_EXITED, WAIT_KILLED, WAIT_FAULTED
 *   bits 8..15  the exit code (exited) or the fault kind (faulted)
 */
#define WAIT_EXITED 0
#define WAIT_KILLED 1  /* by kill() */
#define WAIT_FAULTED 2 /* by a fatal fault in one of its threads */

#define WAIT_HOW(status) ((status)&0xff)
#define WAIT_CODE(status) (((status) >> 8) & 0xff)
#define WAIT_STATUS(how, code) ((how) | ((code)&0xff) << 8)

/* Fault kinds, also printed by the kernel's one-line fault report. */
enum fault_kind {
	FAULT_PAGE = 1,        /* access to an unmapped page or against its permissions */
	FAULT_ILLEGAL = 2,     /* illegal or privileged instruction */
	FAULT_MISALIGNED = 3,  /* misaligned access */
	FAULT_KERNEL_ADDR = 4, /* access to kernel memory */
	FAULT_BREAKPOINT = 5,  /* breakpoint instruction */
	FAULT_OTHER = 6,
};

#define PROC_NAME_MAX 16

/*
 * Per-process limits. thread_create fails with -EAGAIN once a process has
 * PROC_THREADS_MAX threads, counting those that exited and are not yet
 * joined (each still holds a page for its value); fork fails with -EAGAIN
 * once it has PROC_CHILDREN_MAX children, counting zombies not yet waited
 * for. Memory: see docs/robustness.md.
 */
#define PROC_THREADS_MAX 512
#define PROC_CHILDREN_MAX 256

enum proc_state {
	PROC_RUNNING = 1,  /* has a thread running or runnable */
	PROC_SLEEPING = 2, /* all threads blocked */
	PROC_ZOMBIE = 3,   /* ended, waiting for its parent's wait() */
};

struct proc_info {
	int pid;
	int ppid;
	int state; /* enum proc_state */
	int threads;
	unsigned long pages; /* physical pages its address space holds */
	char name[PROC_NAME_MAX];
};

struct mem_info {
	unsigned long free_pages;
	unsigned long total_pages;
	unsigned long page_size;
	unsigned long ipc_objects; /* endpoints and notifications alive */
	/* The last free pages, kept for the programs that run the machine:
	 * only init, the shell and the commands typed at it may take them
	 * (docs/robustness.md). Counted in free_pages. */
	unsigned long reserve_pages;
	/* Page tables of the kernel half: they grow the first time that many
	 * kernel stacks live at once, and stay for reuse. So free_pages +
	 * kernel_table_pages is what returns, exactly, when a program ends. */
	unsigned long kernel_table_pages;
};

#endif
