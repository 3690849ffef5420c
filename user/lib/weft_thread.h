/*
 * libweft threads: several threads of control in one process, sharing its
 * memory, each with its own registers, stack and thread-local storage.
 *
 * Three layers, bottom up:
 *   - the system calls as they are (sys_thread_*, futex_*, mmap, cpu_*),
 *     returning what the kernel returns (negative: -EAGAIN, -EFAULT, ...);
 *   - threads: thread_spawn() gives a thread a stack with a guard page and
 *     its own TLS block, thread_join() collects its value and frees both;
 *   - synchronisation built on futexes: mutex, condvar, semaphore, barrier.
 *     Uncontended operations stay in user space; only a thread that must
 *     wait, or must wake a waiter, enters the kernel.
 *
 * picolibc's internal locks (malloc, atexit, ...) are mutexes from this
 * library (libc_lock.c), and stdout buffers output per thread
 * (console.c), so malloc, free and printf may be called from any thread.
 * errno lives in TLS: each thread has its own.
 *
 * fork() in a threaded process copies only the calling thread. A lock
 * another thread held at that moment stays locked in the child for good,
 * so after such a fork the child should only call exec, _exit, or code it
 * knows takes no lock.
 */
#ifndef WEFT_THREAD_H
#define WEFT_THREAD_H

#include <stddef.h>

#include "weft.h"

/* ---- system calls ---------------------------------------------------- */

/* Starts entry(arg) with sp = stack_top (16-byte aligned) and the thread
 * pointer = tls; returns the new tid, -EAGAIN past the per-process limit
 * or -ENOMEM. thread_spawn() is the friendly way. */
int sys_thread_create(void (*entry)(void *), void *arg, void *stack_top, void *tls);

/* Ends the calling thread; the last one to go ends the process (status 0). */
_Noreturn void sys_thread_exit(long value);

/* Waits for thread `tid` to end and stores its value; -ESRCH if there is
 * no such thread (or it was joined already), -EDEADLK for oneself. */
int sys_thread_join(int tid, long *value);

int gettid(void);

/* Sleeps while *addr == expected, until futex_wake(addr) or timeout_ns
 * (0: no timeout). 0 when woken, -EAGAIN if *addr != expected, -ETIMEDOUT,
 * -EFAULT or -EINVAL for a bad (or unaligned) address. */
int futex_wait(int *addr, int expected, unsigned long timeout_ns);

/* Wakes up to `count` threads sleeping on addr; returns how many. */
int futex_wake(int *addr, int count);

/* len bytes (rounded up to pages) of zeroed read/write memory: the
 * address, or -ENOMEM / -EINVAL (len 0). Addresses are never reused. */
long mmap(size_t len);
int munmap(void *addr, size_t len);

/* Runs the caller only on `cpu` from now on (-1: anywhere again). */
int cpu_pin(int cpu);

/* CPUs online and the caller's CPU right now, packed in one number. */
long cpu_info(void);
#define CPU_INFO_ONLINE(info) ((int)((info)&0xffff))
#define CPU_INFO_CURRENT(info) ((int)(((info) >> 16) & 0xffff))

/* ---- threads --------------------------------------------------------- */

#define THREAD_STACK_BYTES (64 * 1024)

/*
 * Starts fn(arg) in a new thread with a THREAD_STACK_BYTES stack (an
 * unmapped guard page below it: overflowing the stack faults and ends the
 * process) and a fresh copy of every thread-local variable. Returns the
 * thread's tid, or a negative error code (nothing is left allocated).
 * When fn returns, its value is the thread's exit value.
 */
int thread_spawn(long (*fn)(void *arg), void *arg);

/*
 * Waits for thread `tid`, stores its exit value in *value (if not NULL)
 * and frees its stack and TLS. Returns 0 or the kernel's error
 * (-ESRCH, -EDEADLK). Every spawned thread should be joined once;
 * otherwise its memory stays taken until the process ends.
 */
int thread_join(int tid, long *value);

/* Ends the calling thread with `value` (flushing its pending output lines).
 * Never returns. The last thread to exit ends the process with status 0. */
_Noreturn void thread_exit(long value);

/* ---- mutex: one owner at a time -------------------------------------- */

/* state: MUTEX_UNLOCKED, MUTEX_LOCKED (nobody waits), or MUTEX_CONTENDED
 * (someone may sleep in the kernel: unlock must wake one). */
enum { MUTEX_UNLOCKED = 0, MUTEX_LOCKED = 1, MUTEX_CONTENDED = 2 };

struct mutex {
	int state;
};
#define MUTEX_INIT                      \
	{                               \
		.state = MUTEX_UNLOCKED \
	}

void mutex_init(struct mutex *m);
void mutex_lock(struct mutex *m);
/* Takes the mutex if it is free: 1 if it did, 0 if someone holds it. */
int mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);

/* ---- condition variable: wait for a change made under a mutex -------- */

struct condvar {
	int seq;     /* bumped by every signal and broadcast */
	int waiters; /* threads inside condvar_wait */
};
#define CONDVAR_INIT                   \
	{                              \
		.seq = 0, .waiters = 0 \
	}

void condvar_init(struct condvar *c);
/* Unlocks m, sleeps until signalled, locks m again. Wakeups may be
 * spurious: always re-check the condition in a loop. */
void condvar_wait(struct condvar *c, struct mutex *m);
/* The same, giving up after timeout_ns: 0 or -ETIMEDOUT (m held again
 * either way). */
int condvar_timedwait(struct condvar *c, struct mutex *m, unsigned long timeout_ns);
void condvar_signal(struct condvar *c);    /* wakes one waiter */
void condvar_broadcast(struct condvar *c); /* wakes them all */

/* ---- semaphore: a counter that never goes below zero ----------------- */

struct semaphore {
	int value;
	int waiters; /* threads that may sleep on value */
};
#define SEMAPHORE_INIT(n) \
	{                 \
		(n), 0    \
	}

void semaphore_init(struct semaphore *s, int value);
void semaphore_wait(struct semaphore *s);   /* takes one; sleeps while 0 */
int semaphore_trywait(struct semaphore *s); /* 0, or -EAGAIN if 0 */
void semaphore_post(struct semaphore *s);   /* gives one back */

/* ---- barrier: `count` threads meet, then all go on -------------------- */

struct barrier {
	int count;      /* threads that must arrive */
	int arrived;    /* threads waiting in this round */
	int generation; /* rounds completed; waiters sleep on it */
};
#define BARRIER_SERIAL_THREAD 1

void barrier_init(struct barrier *b, int count);
/* Returns BARRIER_SERIAL_THREAD in exactly one thread of each round (the
 * last to arrive), 0 in the others. */
int barrier_wait(struct barrier *b);

#endif
