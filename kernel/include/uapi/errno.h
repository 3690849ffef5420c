/*
 * Error codes shared by the kernel and user space.
 *
 * Kernel functions and system calls return 0 (or a non-negative result) on
 * success and the negative of one of these codes on failure.
 */
#ifndef WEFT_UAPI_ERRNO_H
#define WEFT_UAPI_ERRNO_H

#define EPERM 1       /* operation not permitted */
#define ENOENT 2      /* no such file or program */
#define ESRCH 3       /* no such process or thread */
#define EINTR 4       /* interrupted */
#define EIO 5         /* input/output error */
#define E2BIG 7       /* argument list too long */
#define ENOEXEC 8     /* not a valid executable */
#define EBADF 9       /* bad handle */
#define ECHILD 10     /* no child to wait for */
#define EAGAIN 11     /* would block; try again */
#define ENOMEM 12     /* out of memory */
#define EFAULT 14     /* bad user address */
#define EBUSY 16      /* resource busy */
#define EEXIST 17     /* already exists */
#define EINVAL 22     /* invalid argument */
#define ENOSPC 28     /* no space left in a table */
#define EPIPE 32      /* peer is gone */
#define ERANGE 34     /* result out of range */
#define EDEADLK 35    /* would deadlock */
#define ENOSYS 38     /* no such system call */
#define EMSGSIZE 90   /* message too long */
#define ETIMEDOUT 110 /* timed out */

#endif
