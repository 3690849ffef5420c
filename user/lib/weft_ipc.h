/*
 * libweft's IPC calls: endpoints, messages, notifications, the registry.
 *
 * A message is a label and IPC_WORDS words, which travel in registers;
 * struct ipc_ext (uapi/ipc.h) adds a byte buffer and a handle to pass.
 * Every call returns 0 (or a handle, or notification bits) on success and
 * a negative error code from uapi/errno.h on failure; -EPERM when the
 * handle lacks the right (RIGHT_*, uapi/ipc.h) the call needs.
 */
#ifndef WEFT_USER_IPC_H
#define WEFT_USER_IPC_H

#include "uapi/ipc.h"

struct ipc_msg {
	unsigned long label;
	unsigned long w[IPC_WORDS];
	unsigned long badge; /* out: the badge of the handle it was sent through */
};

/* A new object: a handle with every right (RIGHTS_ALL). */
int endpoint_create(void);
int handle_close(int handle);
/* A new handle to the same object with `rights`, which must be among the
 * handle's own. */
int handle_dup(int handle, unsigned rights);
/* handle_dup, then handle_close of the original: the new handle, or an
 * error with the original left as it was. */
int handle_restrict(int handle, unsigned rights);
/* A new handle to the same endpoint whose messages carry `badge` (not 0),
 * with `rights` (not RIGHT_MINT). The handle needs RIGHT_MINT. */
int handle_mint(int handle, unsigned long badge, unsigned rights);

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

/* Names the endpoint of `handle`, which needs RIGHT_RECV; ipc_lookup of
 * the name then gives `rights`: RIGHT_SEND, or RIGHT_SEND | RIGHT_GRANT
 * to let clients pass handles to the server. */
int ipc_register(const char *name, int handle, unsigned rights);
int ipc_lookup(const char *name);
/* Only the process that registered or reserved the name. */
int ipc_unregister(const char *name);
/* Holds the name for a child of the caller to ipc_register. */
int ipc_reserve(const char *name);

#endif
