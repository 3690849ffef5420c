/*
 * libweft: the system calls of Weft as C functions, for user programs.
 *
 * Every wrapper is one trap into the kernel (see user/lib/<arch>/syscall.S)
 * and returns what the kernel returns. Weft convention: a negative result
 * is the negated error code from uapi/errno.h (-ENOENT, -EFAULT, ...), as
 * is; there is no errno variable for these calls. One exception: sbrk(),
 * which picolibc's malloc also calls, follows the C library convention.
 *
 * Ending a program: return from main() or call exit() from <stdlib.h>;
 * both flush stdio and then call _exit(), the raw SYS_exit.
 *
 * Do not include picolibc's <errno.h> next to this header: the C library
 * numbers a few codes differently (ENOSYS, EDEADLK, ETIMEDOUT, EMSGSIZE)
 * and the macros would clash. C library functions still set their errno.
 */
#ifndef WEFT_H
#define WEFT_H

#include <stddef.h>
#include <stdlib.h>

#include "uapi/errno.h"
#include "uapi/proc.h"
#include "uapi/syscall.h"

/* Ends the calling process at once, without flushing stdio. */
_Noreturn void _exit(int status);

/* Returns the child's pid in the parent and 0 in the child. */
int fork(void);

/*
 * Replaces the calling process's program with the initrd program `path`,
 * argv being a NULL-terminated array of strings. Returns only on failure.
 */
int exec(const char *path, char *const argv[]);

/*
 * Waits for child `pid` (or any child if pid is -1) to end, stores how it
 * ended in *status (see uapi/proc.h: WAIT_HOW, WAIT_CODE) and returns its
 * pid. -ECHILD if there is no such child.
 */
int wait(int pid, int *status);

int getpid(void);
int getppid(void);

/* Ends process `pid`; its parent's wait() then reports WAIT_KILLED.
 * -EPERM unless pid is the caller or one of its descendants. */
int kill(int pid);

/* Leaves init's session for a new one: the caller and its future children
 * may no longer power off or reset lockstat. Returns the new session id. */
int setsid(void);

/* Console I/O: fd 0 reads the console, fd 1 and 2 write it. */
long read(int fd, void *buf, size_t len);
long write(int fd, const void *buf, size_t len);

/*
 * Moves the end of the heap by `increment` bytes and returns the old end.
 * On failure returns (void *)-1, as malloc expects; sbrk_raw() returns the
 * kernel's -ENOMEM instead.
 */
void *sbrk(long increment);
long sbrk_raw(long increment);

int sleep_ms(unsigned long ms);

/* Nanoseconds since boot; never goes backwards. */
unsigned long clock_ns(void);

int yield(void);

/* Fills up to `max` entries about live processes; returns how many. */
int ps(struct proc_info *buf, int max);

/* Stops the machine (the kernel prints the status); returns only on
 * error: -EPERM outside init's session. */
int poweroff(int status);

int meminfo(struct mem_info *info);

/*
 * Copies the name of initrd program number `index` into buf (len bytes,
 * NUL-terminated); -ENOENT once index is past the last program.
 */
int progname(int index, char *buf, size_t len);

/* Any system call by number, for tests that need one without a wrapper. */
long syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* Words for numbers: "ENOENT", "page fault", "killed by fault (...)". */
const char *error_name(int err);
const char *fault_name(int kind);
void status_describe(int status, char *buf, size_t len);

#endif
