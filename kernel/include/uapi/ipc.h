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
 */
#ifndef WEFT_UAPI_IPC_H
#define WEFT_UAPI_IPC_H

#define IPC_WORDS 4
#define IPC_BUF_MAX 4096 /* longest buffer a message may carry */
#define IPC_NAME_MAX 32  /* registry names, with the NUL */
#define IPC_NO_HANDLE (-1)
#define HANDLE_MAX 64 /* handles per process */

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
