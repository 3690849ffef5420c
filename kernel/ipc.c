/*
 * Synchronous message passing, in the tradition of L4 and seL4.
 *
 * An endpoint is a rendezvous point, not a mailbox: a message moves only
 * when a sender and a receiver meet. Whoever arrives first blocks on the
 * endpoint (senders with their message still in their own registers and
 * memory); the second one moves the message straight from one thread to
 * the other, so the kernel never stores a message. A call is a send that
 * then waits for the reply; the receiver of a call owes that caller a
 * reply, which ipc_reply (or ipc_reply_recv, a server's whole loop in one
 * trap) delivers. A call and a reply_recv also hand the CPU straight to
 * the thread that was waiting (sched_block_and_run): it is the one that
 * should run next, so the run queue is skipped.
 *
 * Ownership: an endpoint dies with the process that created it; every
 * thread blocked on it, and every caller waiting for a reply from a thread
 * that dies, wakes with -EPIPE. Objects are reference counted (handles,
 * the registry and threads blocked on them hold references), and the last
 * reference frees the object. Runs under the big kernel lock.
 */
#include "ipc.h"

#include "arch.h"
#include "cpu.h"
#include "klib.h"
#include "pmm.h"
#include "sched.h"
#include "uapi/errno.h"
#include "uapi/syscall.h"
#include "vm.h"

#define REGISTRY_SIZE 32
#define ARG_HANDLE 0
#define ARG_EXT 6
#define BADGE_REG 6

/* A message in registers: the label, then the words (registers 1 to 5 of
 * a system call, arch_syscall_args). */
struct msg_regs {
	unsigned long label;
	unsigned long words[IPC_WORDS];
};

enum kobject_type { KOBJ_ENDPOINT = 1, KOBJ_NOTIFICATION };

struct kobject {
	enum kobject_type type;
	int refs;
};

struct endpoint {
	struct kobject obj;
	struct process *owner; /* the endpoint dies with it */
	bool dead;
	struct waitq senders;   /* blocked in send or call, message parked */
	struct waitq receivers; /* blocked in recv */
	struct endpoint *next;  /* in the list of all endpoints */
};

struct notification {
	struct kobject obj;
	unsigned long bits;
	struct waitq waiters;
};

static struct endpoint *endpoints;
static unsigned long nobjects;

static struct {
	char name[IPC_NAME_MAX];
	struct endpoint *ep;
} registry[REGISTRY_SIZE];

/* ---- Objects and handles ---------------------------------------------- */

static void kobject_free(struct kobject *obj)
{
	if (obj->type == KOBJ_ENDPOINT) {
		struct endpoint *ep = (struct endpoint *)obj;
		for (struct endpoint **e = &endpoints; *e; e = &(*e)->next) {
			if (*e == ep) {
				*e = ep->next;
				break;
			}
		}
	}
	nobjects--;
	pmm_free(obj);
}

static void kobject_put(struct kobject *obj)
{
	if (--obj->refs <= 0)
		kobject_free(obj);
}

static struct kobject *kobject_alloc(enum kobject_type type)
{
	struct kobject *obj = pmm_alloc();

	if (obj) {
		obj->type = type;
		obj->refs = 1;
		nobjects++;
	}
	return obj;
}

unsigned long ipc_object_count(void)
{
	return nobjects;
}

/* Put obj in p's handle table (taking a reference): the handle, or -ENOSPC. */
static int handle_install(struct process *p, struct kobject *obj, unsigned long badge)
{
	for (int h = 0; h < HANDLE_MAX; h++) {
		if (!p->handles[h].obj) {
			p->handles[h] = (struct handle){ obj, badge };
			obj->refs++;
			return h;
		}
	}
	return -ENOSPC;
}

static struct handle *handle_lookup(struct process *p, long h, enum kobject_type type)
{
	if (h < 0 || h >= HANDLE_MAX || !p->handles[h].obj || p->handles[h].obj->type != type)
		return NULL;
	return &p->handles[h];
}

static long handle_close(struct process *p, long h)
{
	if (h < 0 || h >= HANDLE_MAX || !p->handles[h].obj)
		return -EBADF;
	struct kobject *obj = p->handles[h].obj;
	p->handles[h].obj = NULL;
	kobject_put(obj);
	return 0;
}

void ipc_fork(struct process *child, const struct process *parent)
{
	for (int h = 0; h < HANDLE_MAX; h++) {
		child->handles[h] = parent->handles[h];
		if (child->handles[h].obj)
			child->handles[h].obj->refs++;
	}
}

/* ---- Moving a message --------------------------------------------------- */

/* Check the caller's own struct ipc_ext (at uext, not 0) and the buffers
 * it names. */
static long check_ext(uintptr_t uext)
{
	const struct process *p = process_current();
	struct ipc_ext ext;

	if (copyin(&ext, uext, sizeof(ext)))
		return -EFAULT;
	if (ext.send_len > IPC_BUF_MAX)
		return -EMSGSIZE;
	if (!vm_user_access_ok(p->as, (uintptr_t)ext.send_buf, ext.send_len, false) ||
	    !vm_user_access_ok(p->as, (uintptr_t)ext.recv_buf, ext.recv_cap, true))
		return -EFAULT;
	if (ext.send_handle != IPC_NO_HANDLE &&
	    (ext.send_handle < 0 || ext.send_handle >= HANDLE_MAX ||
	     !p->handles[ext.send_handle].obj))
		return -EBADF;
	return 0;
}

/* The slow part of a transfer: the buffer and the handle of struct ipc_ext. */
static int transfer_ext(struct thread *from, uintptr_t sext, struct thread *to, uintptr_t rext)
{
	struct ipc_ext se = { .send_handle = IPC_NO_HANDLE }, re = { 0 };

	if ((sext && vm_copy_from(from->proc->as, &se, sext, sizeof(se))) ||
	    (rext && vm_copy_from(to->proc->as, &re, rext, sizeof(re))))
		return -EFAULT;
	re.recv_len = MIN(se.send_len, (unsigned long)IPC_BUF_MAX);
	re.recv_handle = IPC_NO_HANDLE;
	size_t n = re.recv_buf ? MIN(re.recv_len, re.recv_cap) : 0;
	if (n && vm_copy_between(to->proc->as, (uintptr_t)re.recv_buf, from->proc->as,
				 (uintptr_t)se.send_buf, n))
		return -EFAULT;
	if (rext && se.send_handle >= 0 && se.send_handle < HANDLE_MAX &&
	    from->proc->handles[se.send_handle].obj) {
		const struct handle *h = &from->proc->handles[se.send_handle];
		int nh = handle_install(to->proc, h->obj, h->badge);
		re.recv_handle = nh >= 0 ? nh : IPC_NO_HANDLE; /* table full: dropped */
	}
	if (rext && vm_copy_to(to->proc->as, rext, &re, sizeof(re)))
		return -EFAULT;
	return 0;
}

/*
 * Move the message in `from`'s registers (and its struct ipc_ext, if any)
 * to `to`: label and words into to's result registers, the badge into
 * register 6, the buffer and the handle through to's struct ipc_ext.
 * Without an ext on either side, that is all: registers copied from one
 * trap frame to the other.
 */
static int transfer(struct thread *from, unsigned long badge, struct thread *to)
{
	const unsigned long *src = arch_syscall_args(from->tf);
	unsigned long *dst = (unsigned long *)arch_syscall_args(to->tf);
	/* Read both ext pointers first: the badge goes into register 6. */
	uintptr_t sext = src[ARG_EXT], rext = dst[ARG_EXT];

	*(struct msg_regs *)&dst[1] = *(const struct msg_regs *)&src[1];
	dst[BADGE_REG] = badge;
	return sext || rext ? transfer_ext(from, sext, to, rext) : 0;
}

/* Caller c waits for a reply that will never come: wake it with err. */
static void fail_caller(struct thread *c, int err)
{
	c->served_by = NULL;
	c->reply_ready = true;
	c->reply_err = err;
	if (c->waiting_on == &c->reply_wait)
		sched_wake(c);
}

/* A call was received: the receiver owes the caller a reply. A thread owes
 * one reply at a time; a call it received earlier and never answered ends
 * here, or its caller would wait forever. */
static void start_call(struct thread *server, struct thread *caller)
{
	if (server->reply_to)
		fail_caller(server->reply_to, -EPIPE);
	server->reply_to = caller;
	server->reply_owed = true;
	caller->served_by = server;
}

static long wait_reply(struct thread *self)
{
	while (!self->reply_ready) {
		int err = sched_block(&self->reply_wait, 0);
		if (err)
			return err;
	}
	return self->reply_err;
}

static long do_send(struct endpoint *ep, unsigned long badge, bool call, bool block)
{
	struct thread *self = thread_current();
	struct thread *r = waitq_first(&ep->receivers);

	if (ep->dead)
		return -EPIPE;
	self->reply_ready = false;
	if (r) {
		int err = transfer(self, badge, r);
		if (err || !call) {
			sched_wake_with(r, err);
			return err;
		}
		start_call(r, self);
		/* The server runs now, here; this thread waits for its reply. */
		err = sched_block_and_run(&self->reply_wait, r, 0);
		return err ? err : wait_reply(self);
	}
	if (!block)
		return -EAGAIN;
	self->ipc_is_call = call;
	self->ipc_badge = badge;
	int err = sched_block(&ep->senders, 0); /* a receiver takes it from us */
	if (err || !call)
		return err;
	return wait_reply(self);
}

static long do_recv(struct endpoint *ep, bool block)
{
	struct thread *self = thread_current();
	struct thread *s = waitq_first(&ep->senders);

	if (ep->dead)
		return -EPIPE;
	if (s) {
		int err = transfer(s, s->ipc_badge, self);
		if (!err && s->ipc_is_call)
			start_call(self, s);
		sched_wake_with(s, err);
		return err;
	}
	if (!block)
		return -EAGAIN;
	return sched_block(&ep->receivers, 0); /* a sender fills us in */
}

/* Answer the call this thread received last. *waiting is set to the
 * caller if it is blocked for this reply: the caller of do_reply wakes it. */
static long do_reply(struct thread **waiting)
{
	struct thread *self = thread_current();
	struct thread *c = self->reply_to;

	if (!self->reply_owed)
		return -EINVAL;
	self->reply_owed = false;
	self->reply_to = NULL;
	if (!c)
		return -EPIPE; /* the caller died meanwhile */
	c->served_by = NULL;
	int err = transfer(self, 0, c);
	c->reply_ready = true;
	c->reply_err = err;
	if (c->waiting_on == &c->reply_wait)
		*waiting = c;
	return err;
}

/* A server's loop in one step: reply, then wait for the next message. When
 * no sender waits yet, the caller runs next, here (sched_block_and_run). */
static long do_reply_recv(struct endpoint *ep)
{
	struct thread *c = NULL;

	(void)do_reply(&c); /* a failed reply (the caller died) must not stop the server */
	if (c && !ep->dead && !waitq_first(&ep->senders))
		return sched_block_and_run(&ep->receivers, c, 0);
	if (c)
		sched_wake(c);
	return do_recv(ep, true);
}

/* ---- Death -------------------------------------------------------------- */

static void endpoint_kill(struct endpoint *ep)
{
	ep->dead = true;
	while (waitq_first(&ep->senders))
		sched_wake_with(waitq_first(&ep->senders), -EPIPE);
	while (waitq_first(&ep->receivers))
		sched_wake_with(waitq_first(&ep->receivers), -EPIPE);
	for (int i = 0; i < REGISTRY_SIZE; i++) {
		if (registry[i].ep == ep) {
			registry[i].ep = NULL;
			kobject_put(&ep->obj);
		}
	}
}

void ipc_thread_exit(struct thread *t)
{
	if (t->reply_to) { /* its caller waits in vain: tell it */
		fail_caller(t->reply_to, -EPIPE);
		t->reply_to = NULL;
	}
	if (t->served_by) { /* the server's reply will fail cleanly */
		t->served_by->reply_to = NULL;
		t->served_by = NULL;
	}
}

void ipc_process_exit(struct process *p)
{
	for (struct endpoint *ep = endpoints, *next; ep; ep = next) {
		next = ep->next; /* endpoint_kill may free ep */
		if (ep->owner == p && !ep->dead)
			endpoint_kill(ep);
	}
	for (int h = 0; h < HANDLE_MAX; h++)
		if (p->handles[h].obj)
			handle_close(p, h);
}

/* ---- System calls ------------------------------------------------------- */

static long endpoint_create(void)
{
	struct endpoint *ep = (struct endpoint *)kobject_alloc(KOBJ_ENDPOINT);

	if (!ep)
		return -ENOMEM;
	ep->owner = process_current();
	ep->next = endpoints;
	endpoints = ep;
	long h = handle_install(process_current(), &ep->obj, 0);
	kobject_put(&ep->obj); /* the handle holds it now (or nobody) */
	return h;
}

static long notify_create(void)
{
	struct kobject *n = kobject_alloc(KOBJ_NOTIFICATION);

	if (!n)
		return -ENOMEM;
	long h = handle_install(process_current(), n, 0);
	kobject_put(n);
	return h;
}

static long notify_signal(long h, unsigned long bits)
{
	struct handle *hd = handle_lookup(process_current(), h, KOBJ_NOTIFICATION);

	if (!hd)
		return -EBADF;
	struct notification *n = (struct notification *)hd->obj;
	n->bits |= bits & NOTIFY_BITS_MASK;
	if (n->bits)
		sched_wake_all(&n->waiters);
	return 0;
}

static long notify_wait(long h, int flags)
{
	struct handle *hd = handle_lookup(process_current(), h, KOBJ_NOTIFICATION);

	if (!hd)
		return -EBADF;
	struct notification *n = (struct notification *)hd->obj;
	n->obj.refs++; /* a sleeper keeps it alive */
	long result = 0;
	while (!n->bits && !result)
		result = flags & NOTIFY_NONBLOCK ? -EAGAIN : sched_block(&n->waiters, 0);
	if (!result) {
		result = (long)n->bits;
		n->bits = 0;
	}
	kobject_put(&n->obj);
	return result;
}

static long ipc_register(uintptr_t uname, long h)
{
	char name[IPC_NAME_MAX];
	long n = copyinstr(name, uname, sizeof(name));
	struct handle *hd = handle_lookup(process_current(), h, KOBJ_ENDPOINT);
	int free_slot = -1;

	if (n < 0)
		return n;
	if (n == 0)
		return -EINVAL;
	if (!hd)
		return -EBADF;
	if (((struct endpoint *)hd->obj)->dead)
		return -EPIPE;
	for (int i = REGISTRY_SIZE - 1; i >= 0; i--) {
		if (registry[i].ep && strcmp(registry[i].name, name) == 0)
			return -EEXIST;
		if (!registry[i].ep)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	memcpy(registry[free_slot].name, name, (size_t)n + 1);
	registry[free_slot].ep = (struct endpoint *)hd->obj;
	hd->obj->refs++;
	return 0;
}

static long ipc_lookup(uintptr_t uname)
{
	char name[IPC_NAME_MAX];
	long n = copyinstr(name, uname, sizeof(name));

	if (n < 0)
		return n;
	for (int i = 0; i < REGISTRY_SIZE; i++)
		if (registry[i].ep && strcmp(registry[i].name, name) == 0)
			return handle_install(process_current(), &registry[i].ep->obj, 0);
	return -ENOENT;
}

/* send, recv, call, reply_recv and the try forms (the system call number
 * tells which), on the endpoint named by the handle in register 0. */
long sys_ipc_endpoint(const unsigned long *a)
{
	long nr = arch_syscall_number(thread_current()->tf);
	struct handle *hd = handle_lookup(process_current(), (long)a[ARG_HANDLE], KOBJ_ENDPOINT);
	long err = a[ARG_EXT] ? check_ext(a[ARG_EXT]) : 0;

	if (err)
		return err;
	if (!hd)
		return -EBADF;
	struct endpoint *ep = (struct endpoint *)hd->obj;
	unsigned long badge = hd->badge;
	ep->obj.refs++; /* while we may block on it */
	switch (nr) {
	case SYS_ipc_send:
	case SYS_ipc_try_send:
		err = do_send(ep, badge, false, nr == SYS_ipc_send);
		break;
	case SYS_ipc_call:
		err = do_send(ep, badge, true, true);
		break;
	case SYS_ipc_recv:
	case SYS_ipc_try_recv:
		err = do_recv(ep, nr == SYS_ipc_recv);
		break;
	case SYS_ipc_reply_recv:
		err = do_reply_recv(ep);
		break;
	}
	kobject_put(&ep->obj);
	return err;
}

long sys_ipc_reply(const unsigned long *a)
{
	struct thread *c = NULL;
	long err = a[ARG_EXT] ? check_ext(a[ARG_EXT]) : 0;

	if (err)
		return err;
	err = do_reply(&c);
	if (c)
		sched_wake(c);
	return err;
}

long sys_endpoint_create(const unsigned long *a)
{
	(void)a;
	return endpoint_create();
}

long sys_handle_close(const unsigned long *a)
{
	return handle_close(process_current(), (long)a[0]);
}

long sys_handle_mint(const unsigned long *a)
{
	struct handle *hd = handle_lookup(process_current(), (long)a[0], KOBJ_ENDPOINT);

	return hd ? handle_install(process_current(), hd->obj, a[1]) : -EBADF;
}

long sys_notify_create(const unsigned long *a)
{
	(void)a;
	return notify_create();
}

long sys_notify_signal(const unsigned long *a)
{
	return notify_signal((long)a[0], a[1]);
}

long sys_notify_wait(const unsigned long *a)
{
	return notify_wait((long)a[0], (int)a[1]);
}

long sys_ipc_register(const unsigned long *a)
{
	return ipc_register(a[0], (long)a[1]);
}

long sys_ipc_lookup(const unsigned long *a)
{
	return ipc_lookup(a[0]);
}
