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
 *
 * Rights: every handle says what its holder may do (RIGHT_SEND, _RECV,
 * _GRANT, _MINT), each operation checks the one it needs first thing
 * (-EPERM), and every way a handle is copied keeps or drops rights, never
 * adds one. A reply needs no right: receiving a call gives the receiver
 * the one reply it owes, and nothing else can answer that caller.
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

/* The name registry. An entry belongs to the process that registered (or
 * reserved) it, which alone may unregister it; it goes when that process
 * ends or its endpoint dies. A reserved entry has no endpoint yet: its
 * owner or a child of its owner may claim it with ipc_register. */
static struct {
	char name[IPC_NAME_MAX];
	struct process *owner; /* NULL: a free slot */
	struct endpoint *ep;   /* NULL: reserved */
	unsigned int rights;   /* what ipc_lookup gives */
} registry[IPC_REGISTRY_SIZE];

/* ---- Objects and handles ---------------------------------------------- */

static void kobject_free(struct kobject *obj)
{
	if (obj->type == KOBJ_ENDPOINT) {
		struct endpoint *ep = (struct endpoint *)obj;
		if (!ep->dead) /* its creator lives: it may make another */
			ep->owner->endpoints--;
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
static int handle_install(struct process *p, struct kobject *obj, unsigned long badge,
			  unsigned int rights)
{
	for (int h = 0; h < HANDLE_MAX; h++) {
		if (!p->handles[h].obj) {
			p->handles[h] = (struct handle){ obj, badge, rights };
			obj->refs++;
			return h;
		}
	}
	return -ENOSPC;
}

/* Handle h of p, naming an object of any type, or NULL. */
static struct handle *handle_get(struct process *p, long h)
{
	if (h < 0 || h >= HANDLE_MAX || !p->handles[h].obj)
		return NULL;
	return &p->handles[h];
}

static struct handle *handle_lookup(struct process *p, long h, enum kobject_type type)
{
	struct handle *hd = handle_get(p, h);

	return hd && hd->obj->type == type ? hd : NULL;
}

static long handle_close(struct process *p, long h)
{
	if (!handle_get(p, h))
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

/* Check the caller's own struct ipc_ext (at uext, not 0) for system call
 * nr on handle h, the buffers it names, and the handle it passes: in a
 * send or a call, passing one needs grant on h; in a reply, nothing. */
static long check_ext(uintptr_t uext, long nr, long h)
{
	struct process *p = process_current();
	struct ipc_ext ext;

	if (copyin(&ext, uext, sizeof(ext)))
		return -EFAULT;
	if (ext.send_len > IPC_BUF_MAX)
		return -EMSGSIZE;
	if (!vm_user_access_ok(p->as, (uintptr_t)ext.send_buf, ext.send_len, false) ||
	    !vm_user_access_ok(p->as, (uintptr_t)ext.recv_buf, ext.recv_cap, true))
		return -EFAULT;
	if (ext.send_handle == IPC_NO_HANDLE)
		return 0;
	if (!handle_get(p, ext.send_handle))
		return -EBADF;
	bool sends = nr == SYS_ipc_send || nr == SYS_ipc_try_send || nr == SYS_ipc_call;
	const struct handle *hd = handle_get(p, h);
	return sends && hd && !(hd->rights & RIGHT_GRANT) ? -EPERM : 0;
}

/* The slow part of a transfer: the buffer and the handle of struct ipc_ext.
 * The sender's ext is read again here, so the right to pass a handle is
 * checked again too (`grant`): a handle it may not pass is dropped. */
static int transfer_ext(struct thread *from, uintptr_t sext, bool grant, struct thread *to,
			uintptr_t rext)
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
	const struct handle *h = grant ? handle_get(from->proc, se.send_handle) : NULL;
	if (rext && h) {
		int nh = handle_install(to->proc, h->obj, h->badge, h->rights);
		re.recv_handle = nh >= 0 ? nh : IPC_NO_HANDLE; /* table full: dropped */
	}
	if (rext && vm_copy_to(to->proc->as, rext, &re, sizeof(re)))
		return -EFAULT;
	return 0;
}

/*
 * Move the message in `from`'s registers (and its struct ipc_ext, if any)
 * to `to`: label and words into to's result registers, the badge into
 * register 6, the buffer and the handle (if `grant` allows one) through
 * to's struct ipc_ext. Without an ext on either side, that is all:
 * registers copied from one trap frame to the other.
 */
static int transfer(struct thread *from, unsigned long badge, bool grant, struct thread *to)
{
	const unsigned long *src = arch_syscall_args(from->tf);
	unsigned long *dst = (unsigned long *)arch_syscall_args(to->tf);
	/* Read both ext pointers first: the badge goes into register 6. */
	uintptr_t sext = src[ARG_EXT], rext = dst[ARG_EXT];

	*(struct msg_regs *)&dst[1] = *(const struct msg_regs *)&src[1];
	dst[BADGE_REG] = badge;
	return sext || rext ? transfer_ext(from, sext, grant, to, rext) : 0;
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

/* Send (or call) to ep through a handle with this badge and these rights. */
static long do_send(struct endpoint *ep, unsigned long badge, unsigned int rights, bool call,
		    bool block)
{
	struct thread *self = thread_current();
	struct thread *r = waitq_first(&ep->receivers);
	bool grant = rights & RIGHT_GRANT;

	if (!(rights & RIGHT_SEND))
		return -EPERM;
	if (ep->dead)
		return -EPIPE;
	self->reply_ready = false;
	if (r) {
		int err = transfer(self, badge, grant, r);
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
	self->ipc_grant = grant;
	int err = sched_block(&ep->senders, 0); /* a receiver takes it from us */
	if (err || !call)
		return err;
	return wait_reply(self);
}

/* Receive from ep through a handle with these rights. */
static long do_recv(struct endpoint *ep, unsigned int rights, bool block)
{
	struct thread *self = thread_current();
	struct thread *s = waitq_first(&ep->senders);

	if (!(rights & RIGHT_RECV))
		return -EPERM;
	if (ep->dead)
		return -EPIPE;
	if (s) {
		int err = transfer(s, s->ipc_badge, s->ipc_grant, self);
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
	int err = transfer(self, 0, true, c); /* the reply may pass a handle */
	c->reply_ready = true;
	c->reply_err = err;
	if (c->waiting_on == &c->reply_wait)
		*waiting = c;
	return err;
}

/* A server's loop in one step: reply, then wait for the next message. When
 * no sender waits yet, the caller runs next, here (sched_block_and_run). */
static long do_reply_recv(struct endpoint *ep, unsigned int rights)
{
	struct thread *c = NULL;

	/* Checked before the reply goes: a refused call changes nothing. */
	if (!(rights & RIGHT_RECV))
		return -EPERM;
	(void)do_reply(&c); /* a failed reply (the caller died) must not stop the server */
	if (c && !ep->dead && !waitq_first(&ep->senders))
		return sched_block_and_run(&ep->receivers, c, 0);
	if (c)
		sched_wake(c);
	return do_recv(ep, rights, true);
}

/* ---- Death -------------------------------------------------------------- */

static void registry_drop(int i)
{
	if (registry[i].ep)
		kobject_put(&registry[i].ep->obj);
	registry[i].ep = NULL;
	registry[i].owner = NULL;
}

static void endpoint_kill(struct endpoint *ep)
{
	ep->dead = true;
	while (waitq_first(&ep->senders))
		sched_wake_with(waitq_first(&ep->senders), -EPIPE);
	while (waitq_first(&ep->receivers))
		sched_wake_with(waitq_first(&ep->receivers), -EPIPE);
	for (int i = 0; i < IPC_REGISTRY_SIZE; i++)
		if (registry[i].ep == ep)
			registry_drop(i);
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
	for (int i = 0; i < IPC_REGISTRY_SIZE; i++)
		if (registry[i].owner == p)
			registry_drop(i);
	for (int h = 0; h < HANDLE_MAX; h++)
		if (p->handles[h].obj)
			handle_close(p, h);
}

/* ---- System calls ------------------------------------------------------- */

static long endpoint_create(void)
{
	struct process *p = process_current();

	if (p->endpoints >= IPC_ENDPOINTS_MAX)
		return -ENOSPC;
	struct endpoint *ep = (struct endpoint *)kobject_alloc(KOBJ_ENDPOINT);
	if (!ep)
		return -ENOMEM;
	ep->owner = p;
	p->endpoints++;
	ep->next = endpoints;
	endpoints = ep;
	long h = handle_install(p, &ep->obj, 0, RIGHTS_ALL);
	kobject_put(&ep->obj); /* the handle holds it now (or nobody) */
	return h;
}

static long notify_create(void)
{
	struct kobject *n = kobject_alloc(KOBJ_NOTIFICATION);

	if (!n)
		return -ENOMEM;
	long h = handle_install(process_current(), n, 0, RIGHTS_ALL);
	kobject_put(n);
	return h;
}

/* The notification behind handle h, if the handle holds `right`: 0, or
 * -EBADF / -EPERM. */
static long notification_get(long h, unsigned int right, struct notification **n)
{
	struct handle *hd = handle_lookup(process_current(), h, KOBJ_NOTIFICATION);

	if (!hd)
		return -EBADF;
	if (!(hd->rights & right))
		return -EPERM;
	*n = (struct notification *)hd->obj;
	return 0;
}

static long notify_signal(long h, unsigned long bits)
{
	struct notification *n;
	long err = notification_get(h, RIGHT_SEND, &n);

	if (err)
		return err;
	n->bits |= bits & NOTIFY_BITS_MASK;
	if (n->bits)
		sched_wake_all(&n->waiters);
	return 0;
}

static long notify_wait(long h, int flags)
{
	struct notification *n;
	long result = notification_get(h, RIGHT_RECV, &n);

	if (result)
		return result;
	n->obj.refs++; /* a sleeper keeps it alive */
	while (!n->bits && !result)
		result = flags & NOTIFY_NONBLOCK ? -EAGAIN : sched_block(&n->waiters, 0);
	if (!result) {
		result = (long)n->bits;
		n->bits = 0;
	}
	kobject_put(&n->obj);
	return result;
}

/* Copy a registry name in from user space: 0, -EFAULT, or -EINVAL if it
 * is empty or too long. */
static long name_copyin(char *name, uintptr_t uname)
{
	long n = copyinstr(name, uname, IPC_NAME_MAX);

	return n == 0 ? -EINVAL : n < 0 ? n : 0;
}

/* The registry entry called `name`, or -1. */
static int registry_find(const char *name)
{
	for (int i = 0; i < IPC_REGISTRY_SIZE; i++)
		if (registry[i].owner && strcmp(registry[i].name, name) == 0)
			return i;
	return -1;
}

/* The entry p may fill: `claimed` (a reservation it takes over) or a free
 * one. -ENOSPC if p holds IPC_NAMES_MAX names already or none is free. */
static int registry_slot(const struct process *p, int claimed)
{
	int held = 0, slot = claimed;

	for (int i = 0; i < IPC_REGISTRY_SIZE; i++) {
		if (registry[i].owner == p && i != claimed)
			held++;
		else if (!registry[i].owner && slot < 0)
			slot = i;
	}
	return held < IPC_NAMES_MAX && slot >= 0 ? slot : -ENOSPC;
}

/*
 * Name the endpoint behind h, which must hold receive: only a server can
 * register, so a name always leads to whoever receives on it. Lookups get
 * `rights`, never more than send and grant. A name reserved by the
 * caller or its parent is claimed; any other name taken is -EEXIST.
 */
static long ipc_register(uintptr_t uname, long h, unsigned long rights)
{
	struct process *p = process_current();
	char name[IPC_NAME_MAX] = "";
	long err = name_copyin(name, uname);
	struct handle *hd = handle_lookup(p, h, KOBJ_ENDPOINT);

	if (err)
		return err;
	if (!hd)
		return -EBADF;
	if (rights != RIGHT_SEND && rights != (RIGHT_SEND | RIGHT_GRANT))
		return -EINVAL;
	if (!(hd->rights & RIGHT_RECV) || (rights & ~hd->rights))
		return -EPERM;
	if (((struct endpoint *)hd->obj)->dead)
		return -EPIPE;
	int i = registry_find(name);
	bool claim = i >= 0 && !registry[i].ep &&
		     (registry[i].owner == p || registry[i].owner == p->parent);
	if (i >= 0 && !claim)
		return -EEXIST;
	int slot = registry_slot(p, i); /* i >= 0: a reservation, ours or our parent's */
	if (slot < 0)
		return slot;
	memcpy(registry[slot].name, name, sizeof(name));
	registry[slot].owner = p;
	registry[slot].ep = (struct endpoint *)hd->obj;
	registry[slot].rights = (unsigned int)rights;
	hd->obj->refs++;
	return 0;
}

static long ipc_reserve(uintptr_t uname)
{
	struct process *p = process_current();
	char name[IPC_NAME_MAX] = "";
	long err = name_copyin(name, uname);

	if (err)
		return err;
	if (registry_find(name) >= 0)
		return -EEXIST;
	int slot = registry_slot(p, -1);
	if (slot < 0)
		return slot;
	memcpy(registry[slot].name, name, sizeof(name));
	registry[slot].owner = p;
	return 0;
}

/* The entry named by the string at uname: its index, or -EFAULT, -EINVAL
 * (see name_copyin) or -ENOENT. */
static long registry_find_user(uintptr_t uname)
{
	char name[IPC_NAME_MAX];
	long err = name_copyin(name, uname);

	if (err)
		return err;
	int i = registry_find(name);
	return i >= 0 ? i : -ENOENT;
}

static long ipc_unregister(uintptr_t uname)
{
	long i = registry_find_user(uname);

	if (i < 0)
		return i;
	if (registry[i].owner != process_current())
		return -EPERM;
	registry_drop((int)i);
	return 0;
}

static long ipc_lookup(uintptr_t uname)
{
	long i = registry_find_user(uname);

	if (i < 0)
		return i;
	if (!registry[i].ep)
		return -ENOENT; /* reserved, not served yet */
	return handle_install(process_current(), &registry[i].ep->obj, 0, registry[i].rights);
}

/* send, recv, call, reply_recv and the try forms (the system call number
 * tells which), on the endpoint named by the handle in register 0. */
long sys_ipc_endpoint(const unsigned long *a)
{
	long nr = arch_syscall_number(thread_current()->tf);
	long err = a[ARG_EXT] ? check_ext(a[ARG_EXT], nr, (long)a[ARG_HANDLE]) : 0;

	if (err)
		return err;
	struct handle *hd = handle_lookup(process_current(), (long)a[ARG_HANDLE], KOBJ_ENDPOINT);
	if (!hd)
		return -EBADF;
	/* Each operation checks its right first thing: do_send, do_recv. */
	struct endpoint *ep = (struct endpoint *)hd->obj;
	unsigned long badge = hd->badge;
	unsigned int rights = hd->rights;
	ep->obj.refs++; /* while we may block on it */
	switch (nr) {
	case SYS_ipc_send:
	case SYS_ipc_try_send:
		err = do_send(ep, badge, rights, false, nr == SYS_ipc_send);
		break;
	case SYS_ipc_call:
		err = do_send(ep, badge, rights, true, true);
		break;
	case SYS_ipc_recv:
	case SYS_ipc_try_recv:
		err = do_recv(ep, rights, nr == SYS_ipc_recv);
		break;
	case SYS_ipc_reply_recv:
		err = do_reply_recv(ep, rights);
		break;
	}
	kobject_put(&ep->obj);
	return err;
}

long sys_ipc_reply(const unsigned long *a)
{
	struct thread *c = NULL;
	long err = a[ARG_EXT] ? check_ext(a[ARG_EXT], SYS_ipc_reply, IPC_NO_HANDLE) : 0;

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

/* (handle, rights): a copy of the handle with fewer rights (or as many). */
long sys_handle_dup(const unsigned long *a)
{
	struct process *p = process_current();
	struct handle *hd = handle_get(p, (long)a[0]);
	unsigned long rights = a[1];

	if (!hd)
		return -EBADF;
	if (rights & ~(unsigned long)RIGHTS_ALL)
		return -EINVAL;
	if (rights & ~hd->rights)
		return -EPERM;
	return handle_install(p, hd->obj, hd->badge, (unsigned int)rights);
}

/* (handle, badge, rights): a badged copy. Only an unbadged handle holds
 * mint, and the copy never does: a badge, once given, is final. */
long sys_handle_mint(const unsigned long *a)
{
	struct process *p = process_current();
	struct handle *hd = handle_lookup(p, (long)a[0], KOBJ_ENDPOINT);
	unsigned long badge = a[1], rights = a[2];

	if (!hd)
		return -EBADF;
	if (badge == 0 || (rights & ~(unsigned long)RIGHTS_ALL))
		return -EINVAL;
	if (!(hd->rights & RIGHT_MINT) || (rights & RIGHT_MINT) || (rights & ~hd->rights))
		return -EPERM;
	return handle_install(p, hd->obj, badge, (unsigned int)rights);
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
	return ipc_register(a[0], (long)a[1], a[2]);
}

long sys_ipc_lookup(const unsigned long *a)
{
	return ipc_lookup(a[0]);
}

long sys_ipc_unregister(const unsigned long *a)
{
	return ipc_unregister(a[0]);
}

long sys_ipc_reserve(const unsigned long *a)
{
	return ipc_reserve(a[0]);
}
