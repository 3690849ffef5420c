/*
 * libweft's IPC calls. The message travels in registers (see uapi/ipc.h):
 * one trap carries the handle, the label, the words and the ext pointer in,
 * and the status, the label, the words and the badge out.
 */
#include "weft_ipc.h"

#include "uapi/syscall.h"

/* One IPC trap: seven registers in (from `in`), seven out (into `out`). */
static long ipc_exchange(long nr, long handle, const struct ipc_msg *in, struct ipc_msg *out,
			 struct ipc_ext *ext)
{
#if defined(__riscv)
	register long r0 asm("a0") = handle;
	register unsigned long r1 asm("a1") = in->label;
	register unsigned long r2 asm("a2") = in->w[0];
	register unsigned long r3 asm("a3") = in->w[1];
	register unsigned long r4 asm("a4") = in->w[2];
	register unsigned long r5 asm("a5") = in->w[3];
	register unsigned long r6 asm("a6") = (unsigned long)ext;
	register long num asm("a7") = nr;

	asm volatile("ecall"
		     : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6)
		     : "r"(num)
		     : "memory");
#elif defined(__aarch64__)
	register long r0 asm("x0") = handle;
	register unsigned long r1 asm("x1") = in->label;
	register unsigned long r2 asm("x2") = in->w[0];
	register unsigned long r3 asm("x3") = in->w[1];
	register unsigned long r4 asm("x4") = in->w[2];
	register unsigned long r5 asm("x5") = in->w[3];
	register unsigned long r6 asm("x6") = (unsigned long)ext;
	register long num asm("x8") = nr;

	asm volatile("svc #0"
		     : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6)
		     : "r"(num)
		     : "memory");
#else
#error "no IPC trap for this architecture"
#endif
	if (r0 >= 0 && nr != SYS_ipc_send && nr != SYS_ipc_try_send && nr != SYS_ipc_reply) {
		out->label = r1;
		out->w[0] = r2;
		out->w[1] = r3;
		out->w[2] = r4;
		out->w[3] = r5;
		out->badge = r6;
	}
	return r0;
}

static long ipc_trap(long nr, long handle, struct ipc_msg *m, struct ipc_ext *ext)
{
	return ipc_exchange(nr, handle, m, m, ext);
}

/* A receive sends nothing: its registers go in empty, whatever *m held. */
static const struct ipc_msg no_message;

/* The handle-only calls use the same trap with a message of their
 * arguments: a0 in register 0, a1 and a2 in registers 1 and 2. */
static long ipc_simple(long nr, long a0, unsigned long a1, unsigned long a2)
{
	struct ipc_msg m = { .label = a1, .w = { a2 } };

	return ipc_trap(nr, a0, &m, 0);
}

int endpoint_create(void)
{
	return (int)ipc_simple(SYS_endpoint_create, 0, 0, 0);
}

int handle_close(int handle)
{
	return (int)ipc_simple(SYS_handle_close, handle, 0, 0);
}

int handle_dup(int handle, unsigned rights)
{
	return (int)ipc_simple(SYS_handle_dup, handle, rights, 0);
}

int handle_restrict(int handle, unsigned rights)
{
	int h = handle_dup(handle, rights);

	if (h >= 0)
		handle_close(handle);
	return h;
}

int handle_mint(int handle, unsigned long badge, unsigned rights)
{
	return (int)ipc_simple(SYS_handle_mint, handle, badge, rights);
}

long ipc_send(int handle, struct ipc_msg *m, struct ipc_ext *ext)
{
	return ipc_trap(SYS_ipc_send, handle, m, ext);
}

long ipc_try_send(int handle, struct ipc_msg *m, struct ipc_ext *ext)
{
	return ipc_trap(SYS_ipc_try_send, handle, m, ext);
}

long ipc_recv(int handle, struct ipc_msg *m, struct ipc_ext *ext)
{
	return ipc_exchange(SYS_ipc_recv, handle, &no_message, m, ext);
}

long ipc_try_recv(int handle, struct ipc_msg *m, struct ipc_ext *ext)
{
	return ipc_exchange(SYS_ipc_try_recv, handle, &no_message, m, ext);
}

long ipc_call(int handle, struct ipc_msg *m, struct ipc_ext *ext)
{
	return ipc_trap(SYS_ipc_call, handle, m, ext);
}

long ipc_reply(struct ipc_msg *m, struct ipc_ext *ext)
{
	return ipc_trap(SYS_ipc_reply, 0, m, ext);
}

long ipc_reply_recv(int handle, struct ipc_msg *m, struct ipc_ext *ext)
{
	return ipc_trap(SYS_ipc_reply_recv, handle, m, ext);
}

int notify_create(void)
{
	return (int)ipc_simple(SYS_notify_create, 0, 0, 0);
}

int notify_signal(int handle, unsigned long bits)
{
	return (int)ipc_simple(SYS_notify_signal, handle, bits, 0);
}

long notify_wait(int handle, int flags)
{
	return ipc_simple(SYS_notify_wait, handle, (unsigned long)flags, 0);
}

int ipc_register(const char *name, int handle, unsigned rights)
{
	return (int)ipc_simple(SYS_ipc_register, (long)name, (unsigned long)handle, rights);
}

int ipc_lookup(const char *name)
{
	return (int)ipc_simple(SYS_ipc_lookup, (long)name, 0, 0);
}

int ipc_unregister(const char *name)
{
	return (int)ipc_simple(SYS_ipc_unregister, (long)name, 0, 0);
}

int ipc_reserve(const char *name)
{
	return (int)ipc_simple(SYS_ipc_reserve, (long)name, 0, 0);
}
