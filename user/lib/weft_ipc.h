/*
 * libweft's IPC calls: endpoints, messages, notifications, the registry.
 *
 * A message is a label and IPC_WORDS words, which travel in registers;
 * struct ipc_ext (uapi/ipc.h) adds a byte buffer and a handle to pass.
 * Every call returns 0 (or a handle, or notification bits) on success and
 * a negative error code from uapi/errno.h on failure.
 */
#ifndef WEFT_USER_IPC_H
#define WEFT_USER_IPC_H

#include "uapi/ipc.h"

struct ipc_msg {
	unsigned long label;
	unsigned long w[IPC_WORDS];
	unsigned long badge; /* out: the badge of the handle it was sent through */
};

int endpoint_create(void);
int handle_close(int handle);
/* A new handle to the same endpoint whose messages carry `badge`. */
int handle_mint(int handle, unsigned long badge);

/* Each takes the message to send in *m (if it sends) and leaves the
 * message received in *m (if it receives); ext may be NULL. */
long ipc_send(int handle, struct ipc_msg *m, struct ipc_ext *ext);
long ipc_try_send(int handle, struct ipc_msg *m, struct ipc_ext *ext);
long ipc_recv(int handle, struct ipc_msg *m, struct ipc_ext *ext);
long ipc_try_recv(int handle, struct ipc_msg *m, struct ipc_ext *ext);
long ipc_call(int handle, struct ipc_msg *m, struct ipc_ext *ext);
long ipc_reply(struct ipc_msg *m, struct ipc_ext *ext);
long ipc_reply_recv(int handle, struct ipc_msg *m, struct ipc_ext *ext);

int notify_create(void);
int notify_signal(int handle, unsigned long bits);
long notify_wait(int handle, int flags);

int ipc_register(const char *name, int handle);
int ipc_lookup(const char *name);

#endif
