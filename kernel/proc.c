/*
 * Processes: creation (init, fork), exec, exit, kill, wait, and faults.
 * Runs under the big kernel lock.
 *
 * How threads and processes end, in order:
 *
 *   exit(), kill(), a fatal fault         thread_exit(value)
 *     proc_exit / proc_kill /                    |
 *     proc_user_fault                            |
 *       -> proc_terminate(p, status):            |
 *          p->dying; each other thread is woken  |
 *          (sched_interrupt, -EINTR) or called   |
 *          into the kernel (sched_recall)        |
 *     (exec ends the other threads the same way, |
 *     with t->must_exit instead of p->dying)     |
 *     each thread, on its way out of the kernel: |
 *     trap_user_exit() finds must_leave()        |
 *          |                                     |
 *          +---------> thread_leave() <----------+
 *                        not the last thread: onto p->exited, for
 *                          thread_join to collect its value
 *                        the last thread: proc_finish(p) frees the
 *                          address space and p->exited, and p becomes a
 *                          zombie for its parent's wait()
 *                      -> sched_exit_thread(): dead, never runs again
 *
 * Who frees a struct thread, and when. A thread cannot free the kernel
 * stack it runs on, so switch_to() hands a dead thread to the CPU
 * (cpu->to_free) and the next thread to run there frees the stack
 * (free_dead_thread, sched.c). The BKL is held across that switch, so by
 * the time any other CPU looks, a dead thread's stack is gone. The struct
 * itself goes with the stack (keep_after_exit false: the last thread of a
 * process, or one already joined), or later: a thread that left while its
 * process lives on (keep_after_exit true) waits on p->exited until
 * thread_join(), a successful exec or proc_finish() frees it.
 */
#include "proc.h"

#include "console.h"
#include "cpu.h"
#include "elf.h"
#include "initrd.h"
#include "ipc.h"
#include "klib.h"
#include "panic.h"
#include "pmm.h"
#include "printk.h"
#include "sched.h"
#include "uapi/errno.h"
#include "vm.h"

#define INIT_PID 1
#define EXEC_MAX_ARGS 64
#define EXEC_ARGS_BYTES PAGE_SIZE /* all argument strings together */
#define EXEC_PATH_MAX 64

static struct process *processes; /* every process, alive or zombie */
static struct process *init_process;

static struct process *proc_find(int pid)
{
	for (struct process *p = processes; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

/*
 * Ids count up from 1 and wrap at ID_MAX, skipping ids still in use (by a
 * zombie, or a thread not yet joined). The search ends: there are far
 * fewer processes and threads than ids, as each takes a page.
 */
#define ID_MAX INT_MAX

static int next_id(int id)
{
	return id >= ID_MAX ? INIT_PID + 1 : id + 1;
}

static bool tid_in_use(int tid)
{
	for (struct process *p = processes; p; p = p->next) {
		for (struct thread *t = p->threads; t; t = t->proc_next)
			if (t->tid == tid)
				return true;
		for (struct thread *t = p->exited; t; t = t->proc_next)
			if (t->tid == tid)
				return true;
	}
	return false;
}

int proc_new_tid(void)
{
	static int last_tid;

	do
		last_tid = next_id(last_tid);
	while (tid_in_use(last_tid));
	return last_tid;
}

static int new_pid(void)
{
	static int last_pid;

	do
		last_pid = next_id(last_pid);
	while (proc_find(last_pid));
	return last_pid;
}

/* Would a child of parent be a system process (see may_take_reserve)? */
static bool system_child(const struct process *parent)
{
	return parent == init_process || parent->parent == init_process;
}

static struct process *proc_alloc(struct process *parent)
{
	struct process *p = pmm_alloc();

	if (!p)
		return NULL;
	p->pid = new_pid();
	p->parent = parent;
	if (parent) {
		parent->nchildren++;
		p->sid = parent->sid;
		p->system = system_child(parent);
	}
	p->state = PROCESS_ALIVE;
	p->next = processes;
	processes = p;
	return p;
}

static void proc_free(struct process *p)
{
	p->parent->nchildren--;
	for (struct process **pp = &processes; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	pmm_free(p);
}

static void add_thread(struct process *p, struct thread *t)
{
	t->proc_next = p->threads;
	p->threads = t;
	p->nthreads++;
}

static void set_name(struct process *p, const char *path)
{
	const char *base = path;

	for (const char *s = path; *s; s++)
		if (*s == '/')
			base = s + 1;
	size_t n = MIN(strlen(base), sizeof(p->name) - 1);
	memcpy(p->name, base, n);
	p->name[n] = '\0';
}

/*
 * Replace p's program with `path` from the initrd. args holds argc
 * NUL-terminated strings back to back. The new stack gets, from the top:
 * the strings, then (16-byte aligned) argc, argv[0..argc-1], NULL.
 */
/* A program loaded into a new address space that is not yet its
 * process's: exec builds it first and commits only once it is whole. */
struct exec_image {
	struct address_space *as;
	uintptr_t entry, sp, end;
	int argc;
};

static int exec_prepare(const char *path, const char *args, int argc, size_t args_len,
			struct exec_image *img)
{
	const void *image;
	size_t size;
	uintptr_t entry, end;

	if (initrd_find(path, &image, &size))
		return -ENOENT;
	struct address_space *as = vm_as_create();
	if (!as)
		return -ENOMEM;
	int err = elf_load(as, image, size, &entry, &end);
	if (!err)
		err = vm_user_reserve(as, USER_STACK_TOP - USER_STACK_SIZE,
				      USER_STACK_SIZE); /* pages filled when touched */
	uintptr_t strings = ALIGN_DOWN(USER_STACK_TOP - args_len, 16);
	uintptr_t sp = ALIGN_DOWN(strings - (argc + 2) * sizeof(uintptr_t), 16);
	if (!err)
		err = vm_copy_to(as, strings, args, args_len);
	uintptr_t word = (uintptr_t)argc;
	if (!err)
		err = vm_copy_to(as, sp, &word, sizeof(word));
	for (int i = 0; !err && i <= argc; i++) {
		word = i < argc ? strings : 0;
		err = vm_copy_to(as, sp + (i + 1) * sizeof(word), &word, sizeof(word));
		strings += i < argc ? strlen(args) + 1 : 0;
		args += i < argc ? strlen(args) + 1 : 0;
	}
	if (err) {
		vm_as_destroy(as);
		return err;
	}
	as->heap_start = as->brk = end;
	*img = (struct exec_image){ as, entry, sp, end, argc };
	return 0;
}

/* Make the prepared image p's program, run by t from its first
 * instruction. Cannot fail. */
static void exec_commit(struct process *p, struct thread *t, const char *path,
			const struct exec_image *img)
{
	struct address_space *old = p->as;

	p->as = img->as;
	if (old) {
		vm_switch(img->as);
		vm_as_destroy(old);
	}
	set_name(p, path);
	arch_trap_frame_init_user(t->tf, img->entry, img->sp, (uintptr_t)img->argc,
				  img->sp + sizeof(uintptr_t));
	arch_thread_reset(&t->arch);
}

/*
 * The memory reserve (pmm.h) keeps the machine usable when programs take
 * all the memory they can: its pages go only to the small programs that
 * run the machine. Those are the `system` processes, init and two
 * generations below it (the shell, and each command typed at it), while
 * each holds less than a quarter of the reserve; and kernel work outside
 * any process (boot). So a fork bomb typed at the shell, whose children
 * are not system processes, or a command that maps all it can, leaves the
 * reserve whole, and the shell can still start `ps`. A system process's
 * fork of a child that is not one must fit outside the reserve as well:
 * the memory is the child's (fork_no_reserve).
 */
#define RESERVE_SHARE 64      /* 1/64 of RAM ... */
#define RESERVE_MIN_PAGES 256 /* ... and at least 1 MiB */

static size_t reserve_pages(void)
{
	return MAX(pmm_total_pages() / RESERVE_SHARE, RESERVE_MIN_PAGES);
}

static bool may_take_reserve(void)
{
	struct thread *t = thread_current();

	if (!t || !t->proc)
		return true;
	struct address_space *as = t->proc->as;
	return t->proc->system && !t->fork_no_reserve &&
	       (!as || vm_charged_pages(as) < reserve_pages() / 4);
}

void proc_start_init(const char *bootargs)
{
	static char args[EXEC_ARGS_BYTES] = "init";
	size_t len = sizeof("init");
	int argc = 1;

	/* argv: "init", then every bootargs word that is not key=value. */
	for (const char *w = bootargs; *w;) {
		size_t n = 0;
		bool option = false;
		while (w[n] && w[n] != ' ')
			option |= w[n++] == '=';
		if (n && !option && argc < EXEC_MAX_ARGS && len + n + 1 <= sizeof(args)) {
			memcpy(args + len, w, n);
			args[len + n] = '\0';
			len += n + 1;
			argc++;
		}
		w += n;
		while (*w == ' ')
			w++;
	}
	struct process *p = proc_alloc(NULL);
	struct thread *t = p ? thread_alloc(p) : NULL;
	if (!t)
		panic("no memory to start init");
	init_process = p;
	p->sid = p->pid;
	p->system = true;
	pmm_set_reserve(reserve_pages(), may_take_reserve);
	add_thread(p, t);
	struct exec_image img;
	int err = exec_prepare("init", args, argc, len, &img);
	if (err)
		panic("cannot start init from the initrd: error %d", err);
	exec_commit(p, t, "init", &img);
	console_set_raw();
	arch_context_init_user(&t->ctx, t->tf);
	sched_make_runnable(t);
}

/* Free the threads that left p and wait on p->exited. Their stacks are
 * gone already: the CPU a thread left on freed its stack before it let
 * go of the lock (see the top of this file). */
static void free_exited_threads(struct process *p)
{
	while (p->exited) {
		struct thread *t = p->exited;
		p->exited = t->proc_next;
		pmm_free(t);
	}
	p->nexited = 0;
}

/* Before exec replaces the program: every other thread must go. */
static int end_other_threads(struct process *p)
{
	struct thread *self = thread_current();

	for (struct thread *t = p->threads; t; t = t->proc_next) {
		if (t != self) {
			t->must_exit = true;
			sched_interrupt(t);
			sched_recall(t);
		}
	}
	while (p->nthreads > 1) {
		int err = sched_block(&p->thread_exited, 0);
		if (err)
			return err;
	}
	return 0;
}

/* Copy exec's path and argv strings in from user memory. */
static long copy_args(char *const *uargv, char *buf, int *argc)
{
	size_t len = 0;

	for (*argc = 0;; (*argc)++) {
		uintptr_t uarg;
		if (copyin(&uarg, (uintptr_t)(uargv + *argc), sizeof(uarg)))
			return -EFAULT;
		if (!uarg)
			return (long)len;
		if (*argc == EXEC_MAX_ARGS)
			return -E2BIG;
		long n = copyinstr(buf + len, uarg, EXEC_ARGS_BYTES - len);
		if (n == -EINVAL)
			return -E2BIG;
		if (n < 0)
			return n;
		len += (size_t)n + 1;
	}
}

int proc_exec(const char *upath, char *const *uargv)
{
	char path[EXEC_PATH_MAX];
	int argc;
	long n = copyinstr(path, (uintptr_t)upath, sizeof(path));

	if (n < 0)
		return (int)n;
	char *args = pmm_alloc();
	if (!args)
		return -ENOMEM;
	long len = copy_args(uargv, args, &argc);
	struct exec_image img;
	int err = len < 0 ? (int)len : exec_prepare(path, args, argc, (size_t)len, &img);
	pmm_free(args);
	if (err)
		return err; /* the process goes on as it was, every thread with it */
	/* Only with the new program whole do the other threads go. */
	err = end_other_threads(process_current());
	if (err) {
		vm_as_destroy(img.as);
		return err;
	}
	/* The new program knows none of the old one's threads: those that
	 * left, now or earlier and never joined, cannot be joined from it. */
	free_exited_threads(process_current());
	exec_commit(process_current(), thread_current(), path, &img);
	return 0;
}

int proc_fork(void)
{
	struct process *parent = process_current();
	struct thread *self = thread_current();

	/* init takes in every orphan, so only its own forks count. */
	if (parent->nchildren >= PROC_CHILDREN_MAX && parent != init_process)
		return -EAGAIN;
	/* The copy takes breaks for the lock (sched_lock_break), during which
	 * the process may be killed: a fork whose thread must leave returns
	 * -EINTR and leaves no child behind. */
	int err = proc_vm_begin(parent);
	if (err)
		return err;
	/* What proc_alloc will make the child (the reserve's rule, above). */
	self->fork_no_reserve = !system_child(parent);
	struct address_space *as = vm_as_copy(parent->as);
	proc_vm_end(parent);
	struct process *child = !as || must_leave(self) ? NULL : proc_alloc(parent);
	struct thread *t = child ? thread_alloc(child) : NULL;
	self->fork_no_reserve = false;
	if (!t) {
		if (as)
			vm_as_destroy(as);
		if (child)
			proc_free(child);
		return must_leave(self) ? -EINTR : -ENOMEM;
	}
	child->as = as;
	memcpy(child->name, parent->name, sizeof(child->name));
	ipc_fork(child, parent);
	add_thread(child, t);
	*t->tf = *self->tf;
	arch_syscall_set_result(t->tf, 0);
	arch_thread_copy(&t->arch, &self->arch);
	arch_context_init_user(&t->ctx, t->tf);
	sched_make_runnable(t);
	return child->pid;
}

/* The last thread of p is gone: free its memory, hand its children to
 * init, and let its parent know. */
static void proc_finish(struct process *p)
{
	if (p == init_process)
		panic("init ended (status 0x%x)", p->exit_status);
	free_exited_threads(p);
	ipc_process_exit(p);
	vm_switch(NULL);
	vm_as_destroy(p->as);
	p->as = NULL;
	for (struct process *c = processes; c; c = c->next) {
		if (c->parent == p) {
			c->parent = init_process;
			init_process->nchildren++;
			if (c->state == PROCESS_ZOMBIE)
				sched_wake_all(&init_process->child_exited);
		}
	}
	p->state = PROCESS_ZOMBIE;
	sched_wake_all(&p->parent->child_exited);
}

static void unlink_thread(struct thread **list, struct thread *t)
{
	for (struct thread **tp = list; *tp; tp = &(*tp)->proc_next) {
		if (*tp == t) {
			*tp = t->proc_next;
			return;
		}
	}
}

/* The current thread stops for good. The last one out ends the process;
 * the others stay on the exited list (their stacks freed) for
 * thread_join() to collect their value. */
__noreturn void thread_leave(void)
{
	struct thread *t = thread_current();
	struct process *p = t->proc;

	ipc_thread_exit(t);
	unlink_thread(&p->threads, t);
	if (--p->nthreads == 0) {
		if (!p->dying) { /* the last thread_exit: a normal end */
			p->dying = true;
			p->exit_status = WAIT_STATUS(WAIT_EXITED, 0);
		}
		proc_finish(p);
	} else {
		t->keep_after_exit = true;
		t->proc_next = p->exited;
		p->exited = t;
		p->nexited++;
		sched_wake_all(&p->thread_exited);
	}
	sched_exit_thread();
}

void proc_terminate(struct process *p, int status)
{
	if (p->dying)
		return;
	p->dying = true;
	p->exit_status = status;
	for (struct thread *t = p->threads; t; t = t->proc_next) {
		if (t == thread_current())
			continue;
		sched_interrupt(t); /* blocked: wake it with -EINTR */
		sched_recall(t);    /* running elsewhere: make it enter the kernel */
	}
}

int proc_vm_begin(struct process *p)
{
	while (p->vm_busy) {
		int err = sched_block(&p->vm_wait, 0);
		if (err)
			return err;
	}
	p->vm_busy = true;
	return 0;
}

void proc_vm_end(struct process *p)
{
	p->vm_busy = false;
	sched_wake_all(&p->vm_wait);
}

int thread_create(uintptr_t entry, uintptr_t arg, uintptr_t stack_top, uintptr_t tls)
{
	struct process *p = process_current();

	if (entry >= USER_VA_END || stack_top > USER_VA_END || stack_top % 16)
		return -EINVAL;
	/* A sibling that waited for the lock while exec or kill ended the
	 * other threads: a thread made now would never be told to leave, and
	 * exec would wait for it forever. */
	if (must_leave(thread_current()))
		return -EINTR;
	if (p->nthreads + p->nexited >= PROC_THREADS_MAX)
		return -EAGAIN;
	struct thread *t = thread_alloc(p);
	if (!t)
		return -ENOMEM;
	arch_trap_frame_init_user(t->tf, entry, stack_top, arg, 0);
	arch_set_user_tls(t->tf, &t->arch, tls);
	add_thread(p, t);
	arch_context_init_user(&t->ctx, t->tf);
	sched_make_runnable(t);
	return t->tid;
}

void thread_exit(long value)
{
	thread_current()->exit_value = value;
	thread_leave();
}

int thread_join(int tid, long *uvalue)
{
	struct process *p = process_current();

	if (tid == thread_current()->tid)
		return -EDEADLK;
	for (;;) {
		for (struct thread *t = p->exited; t; t = t->proc_next) {
			if (t->tid != tid)
				continue;
			if (uvalue && copyout((uintptr_t)uvalue, &t->exit_value, sizeof(long)))
				return -EFAULT;
			unlink_thread(&p->exited, t);
			p->nexited--;
			/* Its stack goes when it is off its CPU; then the rest. */
			if (!t->kstack_top)
				pmm_free(t);
			else
				t->keep_after_exit = false;
			return 0;
		}
		bool alive = false;
		for (struct thread *t = p->threads; t; t = t->proc_next)
			alive |= t->tid == tid;
		if (!alive)
			return -ESRCH;
		int err = sched_block(&p->thread_exited, 0);
		if (err)
			return err;
	}
}

void proc_exit(int status)
{
	proc_terminate(process_current(), status);
	thread_leave();
}

static const char *const fault_names[] = {
	[FAULT_PAGE] = "page fault",
	[FAULT_ILLEGAL] = "illegal instruction",
	[FAULT_MISALIGNED] = "misaligned access",
	[FAULT_KERNEL_ADDR] = "access to kernel memory",
	[FAULT_BREAKPOINT] = "breakpoint",
	[FAULT_OTHER] = "fault",
};

/*
 * May the thread retry a page fault? Yes if it touched a reserved page,
 * which is now filled. Also, once, if the page is already mapped: another
 * thread of the process, on another CPU, may have filled it between this
 * CPU's page-table walk and the lock, or this CPU may have cached the
 * entry while it was invalid (vm_user_fault flushed it). A fault at the
 * same pc and address twice in a row is a real one, such as a write to
 * read-only memory.
 */
static bool page_fault_retry(struct thread *t, uintptr_t addr, uintptr_t pc)
{
	int err = vm_user_fault(t->proc->as, addr);

	if (err == -EEXIST && (t->retried_fault_addr != addr || t->retried_fault_pc != pc)) {
		t->retried_fault_addr = addr;
		t->retried_fault_pc = pc;
		return true;
	}
	return err == 0;
}

void proc_user_fault(enum fault_kind kind, uintptr_t addr, uintptr_t pc)
{
	struct process *p = process_current();

	if (kind == FAULT_PAGE && page_fault_retry(thread_current(), addr, pc))
		return;
	printk("weft: pid %d (%s) killed: %s at 0x%lx, pc 0x%lx\n", p->pid, p->name,
	       fault_names[kind], (unsigned long)addr, (unsigned long)pc);
	proc_terminate(p, WAIT_STATUS(WAIT_FAULTED, kind));
	thread_leave();
}

/*
 * The privilege rule, kept small. A process may kill only itself and its
 * descendants (an orphan, adopted by init, is no longer its killer's).
 * Powering off and resetting lockstat's counters belong to init's session:
 * init and everything started from it, the shell included, until a
 * process calls setsid() and so leaves it, for good and with its future
 * children. A program that runs code it does not trust (the syscall
 * fuzzer) calls setsid() first.
 */
static bool is_descendant(const struct process *p, const struct process *of)
{
	for (; p; p = p->parent)
		if (p == of)
			return true;
	return false;
}

int proc_kill(int pid)
{
	struct process *p = proc_find(pid);

	if (!p || p->state == PROCESS_ZOMBIE)
		return -ESRCH;
	if (p == init_process || !is_descendant(p, process_current()))
		return -EPERM;
	proc_terminate(p, WAIT_STATUS(WAIT_KILLED, 0));
	return 0;
}

int proc_setsid(void)
{
	struct process *p = process_current();

	p->sid = p->pid;
	return p->sid;
}

bool proc_privileged(void)
{
	return process_current()->sid == INIT_PID;
}

int proc_wait(int pid, int *ustatus)
{
	struct process *self = process_current();

	for (;;) {
		bool found = false;
		for (struct process *c = processes; c; c = c->next) {
			if (c->parent != self || (pid != -1 && c->pid != pid))
				continue;
			found = true;
			if (c->state != PROCESS_ZOMBIE)
				continue;
			if (ustatus && copyout((uintptr_t)ustatus, &c->exit_status, sizeof(int)))
				return -EFAULT;
			int cpid = c->pid;
			proc_free(c);
			return cpid;
		}
		if (!found)
			return -ECHILD;
		int err = sched_block(&self->child_exited, 0);
		if (err)
			return err;
	}
}

int proc_getppid(void)
{
	struct process *parent = process_current()->parent;

	return parent ? parent->pid : 0;
}

static int proc_state(const struct process *p)
{
	if (p->state == PROCESS_ZOMBIE)
		return PROC_ZOMBIE;
	for (const struct thread *t = p->threads; t; t = t->proc_next)
		if (t->state != THREAD_BLOCKED)
			return PROC_RUNNING;
	return PROC_SLEEPING;
}

int proc_list(struct proc_info *out, int max)
{
	int n = 0;

	for (struct process *p = processes; p && n < max; p = p->next, n++) {
		out[n] = (struct proc_info){
			.pid = p->pid,
			.ppid = p->parent ? p->parent->pid : 0,
			.state = proc_state(p),
			.threads = p->nthreads,
			.pages = p->as ? p->as->pages + p->as->tables : 0,
		};
		memcpy(out[n].name, p->name, sizeof(out[n].name));
	}
	return n;
}
