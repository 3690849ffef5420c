/*
 * Message-passing IPC: endpoints, notifications, handles and the name
 * registry. Kernel objects are reference counted; a process names them
 * through its handle table, each handle with its rights. Runs under the
 * big kernel lock.
 */
#ifndef WEFT_IPC_H
#define WEFT_IPC_H

#include "proc.h"
#include "types.h"

/* The IPC system calls (arguments as in uapi/syscall.h and uapi/ipc.h). */
long sys_endpoint_create(const unsigned long *a);
long sys_handle_close(const unsigned long *a);
long sys_handle_mint(const unsigned long *a);
long sys_handle_dup(const unsigned long *a);
long sys_ipc_endpoint(const unsigned long *a); /* send, recv, call, reply_recv, try_* */
long sys_ipc_reply(const unsigned long *a);
long sys_notify_create(const unsigned long *a);
long sys_notify_signal(const unsigned long *a);
long sys_notify_wait(const unsigned long *a);
long sys_ipc_register(const unsigned long *a);
long sys_ipc_lookup(const unsigned long *a);
long sys_ipc_unregister(const unsigned long *a);
long sys_ipc_reserve(const unsigned long *a);

/* Process lifecycle: fork copies the handle table; the end of a process
 * kills the endpoints it created and closes its handles; the end of a
 * thread answers -EPIPE to a caller it still owed a reply. */
void ipc_fork(struct process *child, const struct process *parent);
void ipc_process_exit(struct process *p);
void ipc_thread_exit(struct thread *t);

/* Endpoints and notifications alive (for leak checks). */
unsigned long ipc_object_count(void);

#endif
