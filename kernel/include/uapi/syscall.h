/*
 * System call numbers, shared by the kernel and user space.
 *
 * Calling convention:
 *   RISC-V:  number in a7, arguments in a0..a5, `ecall`, result in a0.
 *   AArch64: number in x8, arguments in x0..x5, `svc #0`, result in x0.
 * A result in [-4095, -1] is a negated error code from uapi/errno.h.
 */
#ifndef WEFT_UAPI_SYSCALL_H
#define WEFT_UAPI_SYSCALL_H

/* Processes */
#define SYS_exit 1      /* (int status): never returns */
#define SYS_fork 2      /* (): child pid in the parent, 0 in the child */
#define SYS_exec 3      /* (const char *path, char *const argv[]) */
#define SYS_wait 4      /* (int pid or -1, int *status): pid of the child reaped */
#define SYS_getpid 5    /* () */
#define SYS_getppid 6   /* () */
#define SYS_kill 7      /* (int pid): ends it, if it is the caller's own or a descendant */
#define SYS_read 8      /* (int fd, void *buf, size_t len): fd 0 is the console */
#define SYS_write 9     /* (int fd, const void *buf, size_t len): fd 1, 2 */
#define SYS_sbrk 10     /* (long increment): old break, or -ENOMEM */
#define SYS_sleep_ms 11 /* (unsigned long ms) */
#define SYS_clock_ns 12 /* (): monotonic nanoseconds since boot */
#define SYS_yield 13    /* () */
#define SYS_ps 14       /* (struct proc_info *buf, int max): count filled */
/* (int status): prints "weft: poweroff (exit status S)"; init's session
 * only */
#define SYS_poweroff 15
#define SYS_meminfo 16 /* (struct mem_info *info) */
/* (int index, char *buf, size_t len): initrd program names, for ls;
 * -ENOENT past the last */
#define SYS_progname 17

/* Threads */
/* (void (*entry)(void *), void *arg, void *stack_top, void *tls): tid;
 * the thread starts at entry(arg) with sp = stack_top and its thread
 * pointer (tp / TPIDR_EL0) = tls */
#define SYS_thread_create 18
/* (long value): never returns; the last thread to exit ends the process
 * with status 0 */
#define SYS_thread_exit 19
/* (int tid, long *value): waits for the thread of this process to exit;
 * -ESRCH if none, -EDEADLK for oneself */
#define SYS_thread_join 20
#define SYS_gettid 21 /* () */
/* (int *addr, int expected, unsigned long timeout_ns): sleeps if *addr
 * == expected (else -EAGAIN) until futex_wake or the timeout (0: none;
 * then -ETIMEDOUT) */
#define SYS_futex_wait 22
#define SYS_futex_wake 23 /* (int *addr, int count): threads woken */
/* (size_t len): page-aligned anonymous read/write memory, zeroed (each
 * page filled at its first touch); address or -ENOMEM */
#define SYS_mmap 24
#define SYS_munmap 25  /* (void *addr, size_t len): page granular */
#define SYS_cpu_pin 26 /* (int cpu): run only on that CPU; -1 unpins */
/* (): CPUs online in bits 0..15, the caller's current CPU in bits 16..31 */
#define SYS_cpu_info 27

/* The big kernel lock made visible (uapi/lockstat.h) */
/* (struct lock_cpu_stats *buf, int max, int flags): CPUs filled, one
 * entry per CPU; or with LOCKSTAT_TIME_BKL the lock's own cost */
#define SYS_lockstat 28
/* (int cmd): TRACE_START, TRACE_STOP, TRACE_DUMP; init's session only */
#define SYS_trace 29
/* (unsigned long iterations): busy work inside the kernel, holding the
 * lock (the GIL demo) */
#define SYS_kwork 30

/* IPC (uapi/ipc.h has the register convention of the ipc_* calls) */
#define SYS_endpoint_create 31 /* (): handle to a new endpoint */
#define SYS_handle_close 32    /* (int handle) */
/* (int handle, unsigned long badge, unsigned rights): a new handle to the
 * same endpoint with that badge (not 0) and those rights, which the handle
 * must hold, mint excepted; the handle needs RIGHT_MINT */
#define SYS_handle_mint 33
#define SYS_ipc_send 34       /* blocks until a receiver takes the message */
#define SYS_ipc_recv 35       /* blocks until a message arrives */
#define SYS_ipc_call 36       /* send, then wait for the reply: one step */
#define SYS_ipc_reply 37      /* answer the call last received */
#define SYS_ipc_reply_recv 38 /* reply, then receive: a server's loop */
#define SYS_ipc_try_send 39   /* -EAGAIN instead of blocking */
#define SYS_ipc_try_recv 40   /* -EAGAIN instead of blocking */
#define SYS_notify_create 41  /* (): handle to a new notification */
#define SYS_notify_signal 42  /* (int handle, unsigned long bits) */
/* (int handle, int flags): the bits, cleared; NOTIFY_NONBLOCK: -EAGAIN
 * if none */
#define SYS_notify_wait 43
/* (const char *name, int handle, unsigned rights): names the endpoint;
 * the handle needs RIGHT_RECV; ipc_lookup of the name will give `rights`:
 * RIGHT_SEND, or RIGHT_SEND | RIGHT_GRANT */
#define SYS_ipc_register 44
#define SYS_ipc_lookup 45 /* (const char *name): a new handle */
/* (int handle, unsigned rights): a new handle to the same object, same
 * badge, with `rights`, which the handle must hold */
#define SYS_handle_dup 46
/* (const char *name): only the process that registered or reserved it */
#define SYS_ipc_unregister 47
/* (const char *name): holds the name for the caller's children, one of
 * which may then ipc_register it */
#define SYS_ipc_reserve 48

/* (): leave init's session for one's own (its id: the caller's pid); the
 * privilege rule is in kernel/proc.c */
#define SYS_setsid 49

#define SYS_COUNT 50

#endif
