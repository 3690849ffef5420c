/*
 * Message-passing IPC: the user-visible structures, shared by the kernel
 * and user space. See docs/ipc.md for the design.
 *
 * A message is a label and IPC_WORDS machine words, carried in registers,
 * plus optionally a byte buffer (copied by the kernel straight from the
 * sender's memory into the receiver's) and one handle (the receiver gets a
 * new handle to the same object; the sender keeps its own).
 *
 * Register convention of the IPC system calls (RISC-V a0..a6 / Arm x0..x6):
 *   in:  [0] handle  [1] label  [2..5] words  [6] struct ipc_ext * or 0
 *   out: [0] 0 or -error  [1] label  [2..5] words  [6] badge
 * ipc_reply takes no handle: its [0] is unused.
 *
 * Every handle carries rights (RIGHT_*): what its holder may do with the
 * object. They can be kept or dropped when a handle is copied (passed in
 * a message, duplicated, minted, inherited by fork), never added. An
 * operation without the right it needs fails with -EPERM.
 */
#ifndef WEFT_UAPI_IPC_H
#define WEFT_UAPI_IPC_H

#define IPC_WORDS 4
#define IPC_BUF_MAX 4096 /* longest buffer a message may carry */
#define IPC_NAME_MAX 32  /* registry names, with the NUL */
#define IPC_NO_HANDLE (-1)

/* Rights of a handle. On an endpoint: */
#define RIGHT_SEND 1u  /* ipc_send, ipc_call, ipc_try_send */
#define RIGHT_RECV 2u  /* ipc_recv, ipc_try_recv, ipc_reply_recv; ipc_register */
#define RIGHT_GRANT 4u /* a message sent through it may pass a handle along */
#define RIGHT_MINT 8u  /* handle_mint: badged handles; a badged handle never has it */
/* On a notification, SEND lets a holder signal and RECV wait. */
#define RIGHTS_ALL 15u /* what endpoint_create and notify_create give */

/* Limits, each with its error when reached: -ENOSPC for every table that
 * is full (-EAGAIN already means "no partner waiting" here), -ENOMEM when
 * the kernel is out of pages. */
#define HANDLE_MAX 64        /* handles per process */
#define IPC_ENDPOINTS_MAX 16 /* live endpoints a process created */
#define IPC_NAMES_MAX 4      /* registry names a process holds (or reserves) */
#define IPC_REGISTRY_SIZE 32 /* names in the whole registry */

/* The optional part of a message: pass its address in register [6]. */
struct ipc_ext {
	const void *send_buf; /* bytes to send (NULL: none) */
	unsigned long send_len;
	int send_handle;        /* handle to pass along, or IPC_NO_HANDLE */
	int recv_handle;        /* out: handle received, or IPC_NO_HANDLE */
	void *recv_buf;         /* where received bytes go (NULL: none) */
	unsigned long recv_cap; /* room there */
	unsigned long recv_len; /* out: bytes the sender sent (may exceed recv_cap:
				   then only recv_cap were copied) */
};

/* Notifications carry bits 0..62 (so that notify_wait's result is never
 * negative); notify_wait flags: */
#define NOTIFY_BITS_MASK 0x7ffffffffffffffful
#define NOTIFY_NONBLOCK 1

#endif
