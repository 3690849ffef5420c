/*
 * System calls: the table from numbers (uapi/syscall.h) to handlers.
 *
 * Each handler gets the six argument registers and returns a result or a
 * negative error code. Every pointer argument is user memory: it goes
 * through copyin/copyout/copyinstr and is never dereferenced directly.
 * Runs under the big kernel lock.
 */
#include "syscall.h"

#include "arch.h"
#include "console.h"
#include "cpu.h"
#include "fastpath.h"
#include "futex.h"
#include "initrd.h"
#include "ipc.h"
#include "klib.h"
#include "panic.h"
#include "pmm.h"
#include "printk.h"
#include "proc.h"
#include "sched.h"
#include "tlbcheck.h"
#include "trace.h"
#include "uapi/errno.h"
#include "uapi/lockstat.h"
#include "vm.h"

#define WRITE_CHUNK 256
#define WRITE_CHECK_STEP (64 * PAGE_SIZE) /* checked for access at a time */
#define PS_MAX 64
#define SLEEP_MAX_MS (1000ul * 1000 * 1000)
#define KWORK_MAX (100ul * 1000 * 1000)
#define KWORK_STEP 16384 /* iterations between breaks for the lock */

static long sys_exit(const unsigned long *a)
{
	proc_exit(WAIT_STATUS(WAIT_EXITED, (int)a[0]));
}

static long sys_fork(const unsigned long *a)
{
	(void)a;
	return proc_fork();
}

static long sys_exec(const unsigned long *a)
{
	return proc_exec((const char *)a[0], (char *const *)a[1]);
}

static long sys_wait(const unsigned long *a)
{
	return proc_wait((int)a[0], (int *)a[1]);
}

static long sys_getpid(const unsigned long *a)
{
	(void)a;
	return process_current()->pid;
}

static long sys_getppid(const unsigned long *a)
{
	(void)a;
	return proc_getppid();
}

static long sys_kill(const unsigned long *a)
{
	return proc_kill((int)a[0]);
}

static long sys_setsid(const unsigned long *a)
{
	(void)a;
	return proc_setsid();
}

static long sys_read(const unsigned long *a)
{
	char buf[CONSOLE_INPUT_SIZE];
	size_t len = MIN(a[2], sizeof(buf));

	if (a[0] != 0)
		return -EBADF;
	if (!vm_user_access_ok(process_current()->as, a[1], len, true))
		return -EFAULT;
	if (len == 0)
		return 0;
	long n = console_read(buf, len);
	if (n > 0 && copyout(a[1], buf, (size_t)n))
		return -EFAULT;
	return n;
}

/* A buffer that is not readable as a whole is refused (-EFAULT) before
 * anything is written. Checked, then written, a part at a time, with
 * breaks for the lock in between: if another thread unmaps the buffer
 * meanwhile, or the thread must leave, the write ends there and returns
 * the bytes written so far. */
static long sys_write(const unsigned long *a)
{
	const struct address_space *as = process_current()->as;
	char buf[WRITE_CHUNK];
	size_t len = a[2];

	if (a[0] != 1 && a[0] != 2)
		return -EBADF;
	if (a[1] >= USER_VA_END || len > USER_VA_END - a[1])
		return len ? -EFAULT : 0;
	for (size_t off = 0; off < len; off += WRITE_CHECK_STEP) {
		if (!vm_user_access_ok(as, a[1] + off, MIN(len - off, WRITE_CHECK_STEP), false))
			return -EFAULT;
		if (sched_lock_break())
			return -EINTR;
	}
	for (size_t done = 0; done < len;) {
		size_t n = MIN(len - done, sizeof(buf));
		if (copyin(buf, a[1] + done, n))
			return done ? (long)done : -EFAULT;
		crash_user_access(a[1] + done); /* only with crash=useraccess (main.c) */
		console_write(buf, n);
		done += n;
		int err = done < len ? sched_lock_break() : 0;
		if (err)
			return (long)done;
	}
	return (long)len;
}

/* mmap, munmap and sbrk change the address space one at a time
 * (proc_vm_begin): `change` runs in the caller's turn. */
static long vm_change(long (*change)(struct address_space *, const unsigned long *),
		      const unsigned long *a)
{
	struct process *p = process_current();
	long err = proc_vm_begin(p);

	if (err)
		return err;
	long result = change(p->as, a);
	proc_vm_end(p);
	return result;
}

static long sbrk_change(struct address_space *as, const unsigned long *a)
{
	long incr = (long)a[0];
	uintptr_t old = as->brk, new = old + incr;

	if ((incr > 0 && new < old) || (incr < 0 && new > old) || new < as->heap_start ||
	    new > USER_HEAP_LIMIT)
		return -ENOMEM;
	uintptr_t old_top = ALIGN_UP(old, PAGE_SIZE), new_top = ALIGN_UP(new, PAGE_SIZE);
	int err = 0;
	if (new_top > old_top)
		err = vm_user_alloc(as, old_top, new_top - old_top, VM_READ | VM_WRITE);
	else if (new_top < old_top)
		err = vm_user_free(as, new_top, old_top - new_top);
	if (err)
		return err;
	as->brk = new;
	return (long)old;
}

static long sys_sbrk(const unsigned long *a)
{
	return vm_change(sbrk_change, a);
}

static long sys_sleep_ms(const unsigned long *a)
{
	uint64_t ms = MIN(a[0], SLEEP_MAX_MS);

	return sched_sleep_ticks(ms * arch_timer_freq() / 1000);
}

static long sys_clock_ns(const unsigned long *a)
{
	(void)a;
	return (long)ticks_to_ns(arch_timer_now());
}

static long sys_yield(const unsigned long *a)
{
	(void)a;
	sched_yield();
	return 0;
}

static long sys_ps(const unsigned long *a)
{
	static struct proc_info info[PS_MAX]; /* BKL held: one user at a time */
	int max = (int)MIN(a[1], (unsigned long)PS_MAX);
	int n = proc_list(info, max);

	if (copyout(a[0], info, n * sizeof(info[0])))
		return -EFAULT;
	return n;
}

static long sys_poweroff(const unsigned long *a)
{
	if (!proc_privileged())
		return -EPERM;
	tlbcheck_report();
	printk("weft: poweroff (exit status %d)\n", (int)a[0]);
	arch_poweroff(a[0] != 0);
}

static long sys_meminfo(const unsigned long *a)
{
	vm_reclaim(); /* count pages whose freeing was deferred as free */
	struct mem_info info = {
		.free_pages = pmm_free_pages(),
		.total_pages = pmm_total_pages(),
		.page_size = PAGE_SIZE,
		.ipc_objects = ipc_object_count(),
		.reserve_pages = pmm_reserve_pages(),
		.kernel_table_pages = vm_kernel_table_pages(),
	};

	return copyout(a[0], &info, sizeof(info));
}

static long sys_progname(const unsigned long *a)
{
	/* The index, checked as the full register before it becomes an int. */
	const char *name = a[0] <= INT_MAX ? initrd_name((int)a[0]) : NULL;

	if (!name)
		return -ENOENT;
	size_t n = strlen(name) + 1;
	if (n > a[2])
		return -ERANGE;
	return copyout(a[1], name, n) ? -EFAULT : (long)(n - 1);
}

static long sys_thread_create(const unsigned long *a)
{
	return thread_create(a[0], a[1], a[2], a[3]);
}

static long sys_thread_exit(const unsigned long *a)
{
	thread_exit((long)a[0]);
}

static long sys_thread_join(const unsigned long *a)
{
	return thread_join((int)a[0], (long *)a[1]);
}

static long sys_gettid(const unsigned long *a)
{
	(void)a;
	return thread_current()->tid;
}

static long sys_futex_wait(const unsigned long *a)
{
	return futex_wait(a[0], (int)a[1], a[2]);
}

static long sys_futex_wake(const unsigned long *a)
{
	return futex_wake(a[0], (int)MIN(a[1], (unsigned long)INT32_MAX));
}

static long mmap_change(struct address_space *as, const unsigned long *a)
{
	size_t len = ALIGN_UP(a[0], PAGE_SIZE);

	if (len == 0 || len < a[0] || len > as->mmap_next - USER_HEAP_LIMIT)
		return len == 0 || len < a[0] ? -EINVAL : -ENOMEM;
	int err = vm_user_reserve(as, as->mmap_next - len, len); /* filled when touched */
	if (err)
		return err;
	as->mmap_next -= len;
	return (long)as->mmap_next;
}

static long sys_mmap(const unsigned long *a)
{
	return vm_change(mmap_change, a);
}

static long munmap_change(struct address_space *as, const unsigned long *a)
{
	uintptr_t addr = a[0];
	size_t len = ALIGN_UP(a[1], PAGE_SIZE);

	if (addr % PAGE_SIZE || len < a[1] || addr >= USER_VA_END || len > USER_VA_END - addr)
		return -EINVAL;
	return vm_user_free(as, addr, len);
}

static long sys_munmap(const unsigned long *a)
{
	return vm_change(munmap_change, a);
}

static long sys_cpu_pin(const unsigned long *a)
{
	int cpu = (int)a[0];

	if (cpu < -1 || cpu >= ncpus || (cpu >= 0 && !cpus[cpu].online))
		return -EINVAL;
	sched_pin(cpu);
	return 0;
}

static long sys_cpu_info(const unsigned long *a)
{
	int online = 0;

	(void)a;
	for (int i = 0; i < ncpus; i++)
		online += cpus[i].online;
	return online | cpu_id() << 16;
}

/* n release+acquire pairs of the big kernel lock, as every trap makes
 * one: what the lock itself costs, in ns. No single hold is long, but with
 * other CPUs doing the same each pair waits its turn, so the interrupts
 * and a kill are taken every BKL_PAIRS_STEP pairs, as in any long call. */
#define BKL_PAIRS_STEP 1024
static long bkl_pairs_ns(unsigned long n)
{
	uint64_t start = arch_timer_now();

	for (unsigned long i = 1; i <= n; i++) {
		fastpath_bkl_release();
		fastpath_bkl_acquire();
		int err = i % BKL_PAIRS_STEP ? 0 : sched_checkpoint();
		if (err)
			return err;
	}
	return (long)ticks_to_ns(arch_timer_now() - start);
}

static long sys_lockstat(const unsigned long *a)
{
	struct lock_cpu_stats out[MAX_CPUS];
	int n = (int)MIN(a[1], (unsigned long)ncpus);

	if (a[2] & LOCKSTAT_TIME_BKL)
		return bkl_pairs_ns(MIN(a[1], LOCKSTAT_TIME_MAX));
	if ((a[2] & LOCKSTAT_RESET) && !proc_privileged())
		return -EPERM; /* the counters are everyone's */

	for (int i = 0; i < n; i++) {
		const struct lock_stats *st = &cpus[i].bkl_stats;
		out[i] = (struct lock_cpu_stats){
			.acquired = st->acquired,
			.contended = st->contended,
			.spin_ns = ticks_to_ns(st->spin_ticks),
			.held_ns = ticks_to_ns(st->held_ticks),
			.max_hold_ns = ticks_to_ns(st->max_hold),
		};
	}
	if (copyout(a[0], out, n * sizeof(out[0])))
		return -EFAULT;
	if (a[2] & LOCKSTAT_RESET)
		for (int i = 0; i < ncpus; i++)
			cpus[i].bkl_stats = (struct lock_stats){ 0 };
	return n;
}

static long sys_trace(const unsigned long *a)
{
	if (!proc_privileged())
		return -EPERM; /* the trace is of the whole machine */
	return trace_control((int)a[0]);
}

/* Busy work under the lock, as a kernel-bound system call would do: the
 * GIL lesson's second workload (gil -w kernel). It takes breaks for the
 * lock like any long system call, between steps of KWORK_STEP iterations
 * (an inner loop of its own, so that an iteration costs what it did
 * without them). */
static long sys_kwork(const unsigned long *a)
{
	unsigned long n = MIN(a[0], KWORK_MAX), x = 1;

	for (unsigned long done = 0; done < n;) {
		unsigned long step = MIN(n - done, (unsigned long)KWORK_STEP);
		for (unsigned long i = 0; i < step; i++)
			x = x * 6364136223846793005ul + 1442695040888963407ul;
		done += step;
		if (done < n && sched_lock_break())
			return -EINTR;
	}
	return (long)(x >> 1);
}

const syscall_fn syscall_table[SYS_COUNT] = {
	[SYS_exit] = sys_exit,
	[SYS_fork] = sys_fork,
	[SYS_exec] = sys_exec,
	[SYS_wait] = sys_wait,
	[SYS_getpid] = sys_getpid,
	[SYS_getppid] = sys_getppid,
	[SYS_kill] = sys_kill,
	[SYS_setsid] = sys_setsid,
	[SYS_read] = sys_read,
	[SYS_write] = sys_write,
	[SYS_sbrk] = sys_sbrk,
	[SYS_sleep_ms] = sys_sleep_ms,
	[SYS_clock_ns] = sys_clock_ns,
	[SYS_yield] = sys_yield,
	[SYS_ps] = sys_ps,
	[SYS_poweroff] = sys_poweroff,
	[SYS_meminfo] = sys_meminfo,
	[SYS_progname] = sys_progname,
	[SYS_thread_create] = sys_thread_create,
	[SYS_thread_exit] = sys_thread_exit,
	[SYS_thread_join] = sys_thread_join,
	[SYS_gettid] = sys_gettid,
	[SYS_futex_wait] = sys_futex_wait,
	[SYS_futex_wake] = sys_futex_wake,
	[SYS_mmap] = sys_mmap,
	[SYS_munmap] = sys_munmap,
	[SYS_cpu_pin] = sys_cpu_pin,
	[SYS_cpu_info] = sys_cpu_info,
	[SYS_lockstat] = sys_lockstat,
	[SYS_trace] = sys_trace,
	[SYS_kwork] = sys_kwork,
	[SYS_endpoint_create] = sys_endpoint_create,
	[SYS_handle_close] = sys_handle_close,
	[SYS_handle_mint] = sys_handle_mint,
	[SYS_ipc_send] = sys_ipc_endpoint,
	[SYS_ipc_recv] = sys_ipc_endpoint,
	[SYS_ipc_call] = sys_ipc_endpoint,
	[SYS_ipc_reply] = sys_ipc_reply,
	[SYS_ipc_reply_recv] = sys_ipc_endpoint,
	[SYS_ipc_try_send] = sys_ipc_endpoint,
	[SYS_ipc_try_recv] = sys_ipc_endpoint,
	[SYS_notify_create] = sys_notify_create,
	[SYS_notify_signal] = sys_notify_signal,
	[SYS_notify_wait] = sys_notify_wait,
	[SYS_ipc_register] = sys_ipc_register,
	[SYS_ipc_lookup] = sys_ipc_lookup,
	[SYS_handle_dup] = sys_handle_dup,
	[SYS_ipc_unregister] = sys_ipc_unregister,
	[SYS_ipc_reserve] = sys_ipc_reserve,
};
