/*
 * The portable half of a trap from user mode. The architecture's trap
 * handler calls trap_user_enter() first (it takes the big kernel lock),
 * dispatches the trap (system call, interrupt, fault), and calls
 * trap_user_exit() last (it may switch threads or end the thread, and
 * releases the lock before the return to user mode).
 */
#ifndef WEFT_TRAP_H
#define WEFT_TRAP_H

#include "arch.h"
#include "lock.h"

static inline void trap_user_enter(void)
{
	bkl_acquire();
}

void trap_user_exit(void);

/* Run a system call: arguments from the trap frame, result into it. */
void syscall_dispatch(struct trap_frame *tf);

#endif
