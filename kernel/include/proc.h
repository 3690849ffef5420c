/*
 * Processes and threads.
 *
 * A process is an address space plus the threads running in it; a thread
 * is one flow of control with its own kernel stack, trap frame and saved
 * context. Threads of a process share everything else, which is why a
 * fatal fault in any of them ends them all.
 *
 * Lifecycle: a process is ALIVE until exit(), kill() or a fault marks it
 * `dying`; each of its threads then leaves at its next pass through the
 * kernel; the last one out frees the address space and leaves the process
 * a ZOMBIE until its parent's wait() collects the status.
 * Everything here runs under the big kernel lock.
 */
#ifndef WEFT_PROC_H
#define WEFT_PROC_H

#include "arch.h"
#include "types.h"
#include "uapi/ipc.h"
#include "uapi/proc.h"

struct address_space;
struct thread;
struct kobject;

/* An entry of a process's handle table: an object, the badge a message
 * sent through this handle carries, and what the holder may do with it
 * (RIGHT_*, uapi/ipc.h). Rights are only ever dropped when a handle is
 * copied; a handle with a badge other than 0 never holds RIGHT_MINT. */
struct handle {
	struct kobject *obj;
	unsigned long badge;
	unsigned int rights;
};

/* A FIFO of blocked threads. */
struct waitq {
	struct thread *head, *tail;
};

enum thread_state {
	THREAD_RUNNABLE, /* in the run queue */
	THREAD_RUNNING,  /* on a CPU */
	THREAD_BLOCKED,  /* in a waitq or sleeping */
	THREAD_DEAD,     /* finished; its stack is freed once it is off the CPU */
};

struct thread {
	struct arch_context ctx; /* saved by arch_context_switch */
	int tid;
	enum thread_state state;
	struct process *proc;      /* NULL for a CPU's idle thread */
	void *kstack_top;          /* kernel stack; the user trap frame is at its top */
	struct trap_frame *tf;     /* this thread's user registers */
	struct thread *next;       /* link in the run queue or a waitq */
	struct waitq *waiting_on;  /* the queue it is blocked in, if any */
	uint64_t wake_at;          /* timer tick deadline while sleeping, or 0 */
	struct thread *sleep_next; /* link in the sleep list */
	int wake_reason;           /* 0, -EINTR (woken to die), -ETIMEDOUT */
	struct thread *proc_next;  /* link in its process's thread list */
	int pinned_cpu;            /* the only CPU it may run on, or -1 */
	int cpu;                   /* the CPU it runs or last ran on */
	uintptr_t futex_addr;      /* the futex word it waits on */
	long exit_value;           /* thread_exit()'s value, for thread_join() */
	bool must_exit;            /* leave at the next pass through the kernel */
	bool fork_no_reserve;      /* forking a child that may not take the
				      memory reserve (kernel/proc.c) */
	bool keep_after_exit;      /* free only the stack when dead: join frees
				      the rest (the whole rule: proc.c) */
	uintptr_t retried_fault_addr, retried_fault_pc; /* see page_fault_retry */
	/* IPC (kernel/ipc.c). A call pairs two threads: the server's reply_to
	 * and the caller's served_by point at each other from the moment the
	 * server receives the call until it replies, and only then. Whichever
	 * dies first clears both: a dead server fails its caller with -EPIPE,
	 * a dead caller leaves the server a reply that goes nowhere. */
	bool ipc_is_call;         /* blocked sending: a call, not a send */
	unsigned long ipc_badge;  /* ... through a handle with this badge */
	bool ipc_grant;           /* ... and RIGHT_GRANT: it may pass a handle */
	struct thread *reply_to;  /* server: the caller owed a reply */
	bool reply_owed;          /* server: a call was received (reply_to may
				     be gone if the caller died) */
	struct thread *served_by; /* caller: the server thread holding the call */
	bool reply_ready;         /* caller: the reply has arrived */
	int reply_err;            /* ... with this status */
	struct waitq reply_wait;  /* caller: blocks here for the reply */
	struct arch_thread arch;  /* FP registers and such */
};

enum process_state {
	PROCESS_ALIVE,
	PROCESS_ZOMBIE,
};

struct process {
	int pid;
	char name[PROC_NAME_MAX];
	enum process_state state;
	bool dying;      /* exit/kill/fault happened: threads leave */
	int exit_status; /* as wait() reports it (uapi/proc.h) */
	struct process *parent;
	int nchildren;        /* alive or zombie (PROC_CHILDREN_MAX) */
	int sid;              /* session: INIT_PID unless it or an ancestor
				 called setsid() (the privilege rule, proc.c) */
	bool system;          /* init, or a program init started itself (the
				 shell): may take the memory reserve (pmm.h) */
	struct process *next; /* in the list of all processes */
	struct address_space *as;
	struct thread *threads; /* live threads */
	int nthreads;
	struct thread *exited;             /* exited threads not yet joined */
	int nexited;                       /* ... how many (PROC_THREADS_MAX) */
	struct waitq thread_exited;        /* thread_join() and exec wait here */
	struct waitq child_exited;         /* the process's own wait() sleeps here */
	bool vm_busy;                      /* a thread is changing as (proc_vm_begin) */
	struct waitq vm_wait;              /* the others that would, meanwhile */
	struct handle handles[HANDLE_MAX]; /* IPC objects it can name */
	int endpoints;                     /* live endpoints it created (ipc.c) */
};

/* thread_current() and process_current(), the running thread and its
 * process, are inline in cpu.h. */

/* Start init (pid 1) with the given argument words. */
void proc_start_init(const char *args);

int proc_fork(void);
int proc_exec(const char *path, char *const *uargv);
int proc_wait(int pid, int *ustatus);
int proc_kill(int pid);
int proc_setsid(void);
/* May the current process power off the machine or reset lockstat? */
bool proc_privileged(void);
/* End the calling process with the given wait() status. */
__noreturn void proc_exit(int status);
/* Mark p dying with `status` and get every thread of it out. */
void proc_terminate(struct process *p, int status);
/* The current thread stops for good (trap_user_exit calls it when the
 * thread must leave: see must_leave in sched.h). */
__noreturn void thread_leave(void);
/*
 * One change of the address space at a time. mmap, munmap, sbrk and
 * fork's copy work in steps with breaks for the lock between them
 * (sched_lock_break), and no other thread of the process may change the
 * address space in the middle: a second one waits in proc_vm_begin
 * (-EINTR if it must leave meanwhile). Page faults need no turn: they
 * only fill pages already promised.
 */
int proc_vm_begin(struct process *p);
void proc_vm_end(struct process *p);
/* A thread id no thread holds (thread_alloc, sched.c). */
int proc_new_tid(void);
int proc_list(struct proc_info *out, int max);
int proc_getppid(void);
int thread_create(uintptr_t entry, uintptr_t arg, uintptr_t stack_top, uintptr_t tls);
__noreturn void thread_exit(long value);
int thread_join(int tid, long *uvalue);

/* proc_user_fault, which a port's trap handler calls, is in arch.h. */

#endif
