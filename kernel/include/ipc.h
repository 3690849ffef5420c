/*
 * Message-passing IPC: endpoints, notifications, handles and the name
 * registry. Kernel objects are reference counted; a process names them
 * through its handle table. Runs under the big kernel lock.
 */
#ifndef WEFT_IPC_H
#define WEFT_IPC_H

#include "proc.h"
#include "types.h"

/* The IPC system calls (arguments as in uapi/syscall.h and uapi/ipc.h). */
long sys_ipc(int nr, struct trap_frame *tf);

/* Process lifecycle: fork copies the handle table; the end of a process
 * kills the endpoints it created and closes its handles; the end of a
 * thread answers -EPIPE to a caller it still owed a reply. */
void ipc_fork(struct process *child, const struct process *parent);
void ipc_process_exit(struct process *p);
void ipc_thread_exit(struct thread *t);

/* Endpoints and notifications alive (for leak checks). */
unsigned long ipc_object_count(void);

#endif
