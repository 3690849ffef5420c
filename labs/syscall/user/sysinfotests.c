/*
 * sysinfotests: the syscall lab's checks of sysinfo (labs/syscall/README.md).
 *
 *   sysinfotests          the cases below, then the two rounds of `sysinfo`
 *   sysinfotests CASE...  only those cases
 *
 * Each figure of struct sys_info is checked against a source that already
 * existed: meminfo, ps, cpu_info, lockstat and clock_ns, read in the same
 * process around the call. The rounds run the `sysinfo` program under two
 * different loads and print, for labs/syscall/grade.py, what its figures
 * must be:
 *   "sysinfotests: round R expect FIELD LOW HIGH" for every field
 * then the program's own output follows, and "sysinfotests: round R done".
 *
 * The call is made by number with syscall6, so that this program builds
 * before the lab is done (then every case fails with -ENOSYS).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "uapi/lockstat.h"
#include "weft.h"
#include "weft_test.h"
#include "weft_thread.h"

/* The number and the layout the lab's README fixes. */
#define LAB_SYS_sysinfo 50
#ifdef SYS_sysinfo
_Static_assert(SYS_sysinfo == LAB_SYS_sysinfo, "SYS_sysinfo is 50 (labs/syscall/README.md)");
#endif
struct lab_sys_info {
	unsigned long free_pages, total_pages, processes, threads, cpus_online, bkl_acquired,
		bkl_contended, uptime_ns;
};
_Static_assert(sizeof(struct lab_sys_info) == 64, "struct sys_info is 64 bytes");

#define PAGE_BYTES 4096ul
#define MAX_CPUS 64
#define PS_MAX 64
#define TRIES 20
#define KERNEL_RISCV64 0xffffffc080200000ul
#define KERNEL_AARCH64 0xffffff8040200000ul
#define USER_END_SV39 0x4000000000ul
#define SENTINEL 0xa5
#define LOCK_CALLS 1000
#define SLEEPER_MS 600000ul
#define PROGRAM_SLACK_PAGES 400 /* what running `sysinfo` itself may take */
#define ROUND1_PAGES 2048       /* held by this process in round 1 */

static const char rodata_bytes[64] = "read-only: sysinfo must not write here";

static long sysinfo_raw(void *p)
{
	return syscall6(LAB_SYS_sysinfo, (long)p, 0, 0, 0, 0, 0);
}

static struct lab_sys_info sysinfo_ok(void)
{
	struct lab_sys_info s;

	memset(&s, 0, sizeof(s));
	long r = sysinfo_raw(&s);
	CHECK(r == 0, "sysinfo(valid buffer) returned %s", test_result_text(r));
	return s;
}

static struct mem_info meminfo_ok(void)
{
	struct mem_info m;
	int r = meminfo(&m);

	CHECK(r == 0, "meminfo returned %d", r);
	return m;
}

/* Processes and threads as ps lists them. */
static void ps_counts(unsigned long *procs, unsigned long *threads)
{
	static struct proc_info info[PS_MAX];
	int n = ps(info, PS_MAX);

	CHECK(n > 0 && n < PS_MAX, "ps returned %d", n);
	*procs = (unsigned long)n;
	*threads = 0;
	for (int i = 0; i < n; i++)
		*threads += (unsigned long)info[i].threads;
}

static void lock_sums(unsigned long *acquired, unsigned long *contended)
{
	static struct lock_cpu_stats st[MAX_CPUS];
	long n = syscall6(SYS_lockstat, (long)st, MAX_CPUS, 0, 0, 0, 0);

	CHECK(n > 0, "lockstat returned %ld", n);
	*acquired = *contended = 0;
	for (long i = 0; i < n; i++) {
		*acquired += st[i].acquired;
		*contended += st[i].contended;
	}
}

static void free_and_total(void)
{
	for (int i = 0; i < TRIES; i++) {
		struct mem_info before = meminfo_ok();
		struct lab_sys_info s = sysinfo_ok();
		struct mem_info after = meminfo_ok();
		CHECK(s.total_pages == before.total_pages, "total_pages %lu, meminfo says %lu",
		      s.total_pages, before.total_pages);
		if (before.free_pages == after.free_pages) {
			CHECK(s.free_pages == before.free_pages,
			      "free_pages %lu, meminfo says %lu just before and after",
			      s.free_pages, before.free_pages);
			return;
		}
		sleep_ms(10);
	}
	test_fail("free memory never stood still for one sysinfo");
}

/* The counts of processes and threads match ps, at a quiet moment. */
static void expect_counts(const char *when)
{
	for (int i = 0; i < TRIES; i++) {
		unsigned long p0, t0, p1, t1;
		ps_counts(&p0, &t0);
		struct lab_sys_info s = sysinfo_ok();
		ps_counts(&p1, &t1);
		if (p0 != p1 || t0 != t1) {
			sleep_ms(10);
			continue;
		}
		CHECK(s.processes == p0 && s.threads == t0,
		      "%s: processes %lu threads %lu, ps lists %lu and %lu", when, s.processes,
		      s.threads, p0, t0);
		return;
	}
	test_fail("%s: ps never stood still", when);
}

static long sleeper(void *arg)
{
	(void)arg;
	sleep_ms(SLEEPER_MS);
	return 0;
}

/* Forks n children with `threads` extra threads each, all asleep, and
 * waits until ps shows every one of them. */
static void start_sleepers(int *pids, int n, int threads)
{
	unsigned long p0, t0;

	ps_counts(&p0, &t0);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0, "fork returned %d", pids[i]);
		if (pids[i] == 0) {
			for (int t = 0; t < threads; t++)
				if (thread_spawn(sleeper, NULL) < 0)
					_exit(HELPER_FAILED);
			sleeper(NULL);
			_exit(0);
		}
	}
	for (int i = 0; i < 300; i++) {
		unsigned long p, t;
		ps_counts(&p, &t);
		if (p == p0 + (unsigned long)n && t == t0 + (unsigned long)(n * (threads + 1)))
			return;
		sleep_ms(10);
	}
	test_fail("the sleeping children never all showed in ps");
}

static void stop_sleepers(const int *pids, int n)
{
	for (int i = 0; i < n; i++) {
		kill(pids[i]);
		wait(pids[i], NULL);
	}
}

static void case_free_and_total(void)
{
	free_and_total();
	/* Memory this process takes shows at once. */
	char *p = (char *)mmap(64 * PAGE_BYTES);
	CHECK((long)p > 0, "mmap failed");
	for (unsigned long i = 0; i < 64; i++)
		p[i * PAGE_BYTES] = 1;
	free_and_total();
}

static void case_processes_threads(void)
{
	int pids[3];
	int tids[4];

	expect_counts("at the start");
	start_sleepers(pids, 3, 2);
	expect_counts("with 3 more processes of 3 threads");
	for (int i = 0; i < 4; i++) {
		tids[i] = thread_spawn(sleeper, NULL);
		CHECK(tids[i] > 0, "thread_spawn returned %d", tids[i]);
	}
	expect_counts("with 4 more threads here");
	stop_sleepers(pids, 3);
	expect_counts("with the children gone");
	_exit(0); /* the sleeping threads go with the process */
}

static void case_cpus_and_clock(void)
{
	unsigned long t0 = clock_ns();
	struct lab_sys_info s = sysinfo_ok();
	unsigned long t1 = clock_ns();

	CHECK(s.cpus_online == (unsigned long)CPU_INFO_ONLINE(cpu_info()),
	      "cpus_online %lu, cpu_info says %d", s.cpus_online, CPU_INFO_ONLINE(cpu_info()));
	CHECK(s.uptime_ns >= t0 && s.uptime_ns <= t1, "uptime_ns %lu, not between %lu and %lu",
	      s.uptime_ns, t0, t1);
}

static long pinned_calls(void *arg)
{
	int cpu = (int)(long)arg;

	if (cpu_pin(cpu) < 0 || cpu_info() >> 16 != cpu)
		return -1;
	for (int i = 0; i < LOCK_CALLS; i++)
		getpid();
	return 0;
}

/* The lock's counts: every CPU's added up, since the last lockstat reset. */
static void case_lock_counts(void)
{
	static struct lock_cpu_stats st[MAX_CPUS];
	unsigned long a0, c0, a1, c1;

	/* After a reset (lockstat -r) the figures start again from zero. */
	long n = syscall6(SYS_lockstat, (long)st, MAX_CPUS, LOCKSTAT_RESET, 0, 0, 0);
	CHECK(n > 0, "lockstat with LOCKSTAT_RESET returned %ld", n);
	struct lab_sys_info s0 = sysinfo_ok();
	lock_sums(&a1, &c1);
	CHECK(s0.bkl_acquired >= 1 && s0.bkl_acquired < a1,
	      "bkl_acquired %lu just after lockstat's reset; lockstat counts %lu since",
	      s0.bkl_acquired, a1);
	CHECK(s0.bkl_contended <= c1,
	      "bkl_contended %lu just after lockstat's reset; lockstat "
	      "counts %lu since",
	      s0.bkl_contended, c1);

	/* LOCK_CALLS calls on each CPU: the figure is the sum over CPUs. */
	int cpus = CPU_INFO_ONLINE(cpu_info());
	int tids[MAX_CPUS];
	CHECK(cpus >= 2 && cpus <= MAX_CPUS, "cpu_info says %d CPUs", cpus);
	for (int i = 0; i < cpus; i++) {
		tids[i] = thread_spawn(pinned_calls, (void *)(long)i);
		CHECK(tids[i] > 0, "thread_spawn returned %d", tids[i]);
	}
	for (int i = 0; i < cpus; i++) {
		long value = -1;
		thread_join(tids[i], &value);
		CHECK(value == 0, "a thread could not run on CPU %d", i);
	}
	n = syscall6(SYS_lockstat, (long)st, MAX_CPUS, 0, 0, 0, 0);
	CHECK(n == cpus, "lockstat returned %ld for %d CPUs", n, cpus);
	a0 = c0 = 0;
	for (long i = 0; i < n; i++) {
		CHECK(st[i].acquired >= LOCK_CALLS, "CPU %ld took the lock %lu times for %d calls",
		      i, st[i].acquired, LOCK_CALLS);
		a0 += st[i].acquired;
		c0 += st[i].contended;
	}
	struct lab_sys_info s = sysinfo_ok();
	lock_sums(&a1, &c1);
	CHECK(s.bkl_acquired > a0 && s.bkl_acquired < a1,
	      "bkl_acquired %lu, lockstat says %lu (CPUs added up) before and %lu after",
	      s.bkl_acquired, a0, a1);
	CHECK(s.bkl_contended >= c0 && s.bkl_contended <= c1,
	      "bkl_contended %lu, lockstat says %lu before and %lu after", s.bkl_contended, c0, c1);
	for (int i = 0; i < LOCK_CALLS; i++)
		getpid();
	struct lab_sys_info s2 = sysinfo_ok();
	CHECK(s2.bkl_acquired >= s.bkl_acquired + LOCK_CALLS,
	      "bkl_acquired went from %lu to %lu over %d system calls", s.bkl_acquired,
	      s2.bkl_acquired, LOCK_CALLS);
}

/* Any buffer that is user memory and writable works: unaligned, across
 * two pages, in an mmap page not yet touched. */
static void case_good_buffers(void)
{
	char *p = (char *)mmap(2 * PAGE_BYTES);
	unsigned long total = meminfo_ok().total_pages;
	struct lab_sys_info s;

	CHECK((long)p > 0, "mmap failed");
	char *where[] = { p + 3, p + PAGE_BYTES - 20 };
	for (int i = 0; i < 2; i++) {
		long r = sysinfo_raw(where[i]);
		CHECK(r == 0, "sysinfo(%s) returned %s", i ? "across two pages" : "untouched page",
		      test_result_text(r));
		memcpy(&s, where[i], sizeof(s));
		CHECK(s.total_pages == total, "total_pages %lu through %p, meminfo says %lu",
		      s.total_pages, (void *)where[i], total);
	}
}

/* -EFAULT, and not one byte written, for every buffer that is not
 * writable user memory as a whole; a good buffer still works. */
static void case_bad_pointers(void)
{
	char *p = (char *)mmap(2 * PAGE_BYTES);
	char *gone = (char *)mmap(PAGE_BYTES);
	unsigned char saved[sizeof(rodata_bytes)];

	CHECK((long)p > 0 && (long)gone > 0, "mmap failed");
	CHECK(munmap(gone, PAGE_BYTES) == 0, "munmap failed");
	CHECK(munmap(p + PAGE_BYTES, PAGE_BYTES) == 0, "munmap failed");
	memcpy(saved, rodata_bytes, sizeof(saved));
	const struct {
		const char *what;
		unsigned long addr;
	} bad[] = {
		{ "NULL", 0 },
		{ "address 8", 8 },
		{ "a riscv64 kernel address", KERNEL_RISCV64 },
		{ "an aarch64 kernel address", KERNEL_AARCH64 },
		{ "the end of user space", USER_END_SV39 - 8 },
		{ "-1", -1ul },
		{ "an unmapped page", (unsigned long)gone },
		{ "read-only data", (unsigned long)rodata_bytes },
		{ "program text", (unsigned long)case_bad_pointers },
		{ "a buffer running into an unmapped page", (unsigned long)p + PAGE_BYTES - 16 },
	};
	memset(p + PAGE_BYTES - 16, SENTINEL, 16);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long r = sysinfo_raw((void *)bad[i].addr);
		CHECK(r == -EFAULT, "sysinfo(%s) returned %s, expected -14 (EFAULT)", bad[i].what,
		      test_result_text(r));
	}
	for (int i = 0; i < 16; i++)
		CHECK((unsigned char)p[PAGE_BYTES - 16 + i] == SENTINEL,
		      "sysinfo wrote the mapped part of a buffer it refused");
	CHECK(memcmp(saved, rodata_bytes, sizeof(saved)) == 0, "sysinfo wrote read-only data");
	struct lab_sys_info s = sysinfo_ok();
	CHECK(s.total_pages == meminfo_ok().total_pages, "a good buffer got total_pages %lu",
	      s.total_pages);
}

static const struct test_case cases[] = {
	{ "free_and_total", case_free_and_total }, { "processes_threads", case_processes_threads },
	{ "cpus_and_clock", case_cpus_and_clock }, { "lock_counts", case_lock_counts },
	{ "good_buffers", case_good_buffers },     { "bad_pointers", case_bad_pointers },
};

static const struct test_suite suite = {
	.name = "sysinfotests",
	.cases = cases,
	.count = sizeof(cases) / sizeof(cases[0]),
	.timeout_ms = 20000,
};

/* ---- the rounds: the `sysinfo` program ------------------------------- */

static void expect(int round, const char *field, unsigned long low, unsigned long high)
{
	printf("sysinfotests: round %d expect %s %lu %lu\n", round, field, low, high);
}

/* Runs `sysinfo` with n sleeping children of `threads` extra threads and
 * `pages` pages held here; prints the bounds of each figure it must show. */
static void program_round(int round, int n, int threads, unsigned long pages)
{
	int pids[8];
	unsigned long procs, nthreads, a0, c0, a1, c1;
	char *held = pages ? (char *)mmap(pages * PAGE_BYTES) : NULL;

	for (unsigned long i = 0; held && (long)held > 0 && i < pages; i++)
		held[i * PAGE_BYTES] = 1;
	start_sleepers(pids, n, threads);
	ps_counts(&procs, &nthreads);
	struct mem_info m = meminfo_ok();
	lock_sums(&a0, &c0);
	unsigned long t0 = clock_ns();
	fflush(stdout);
	int pid = fork();
	if (pid == 0) {
		char *argv[] = { "sysinfo", NULL };
		int err = exec("sysinfo", argv);
		printf("sysinfotests: exec sysinfo: %s\n", error_name(err));
		_exit(127);
	}
	int status = 0;
	wait(pid, &status);
	unsigned long t1 = clock_ns();
	lock_sums(&a1, &c1);
	/* The program itself is one more process of one thread. */
	expect(round, "free_pages", m.free_pages - PROGRAM_SLACK_PAGES, m.free_pages);
	expect(round, "total_pages", m.total_pages, m.total_pages);
	expect(round, "processes", procs + 1, procs + 1);
	expect(round, "threads", nthreads + 1, nthreads + 1);
	expect(round, "cpus_online", (unsigned long)CPU_INFO_ONLINE(cpu_info()),
	       (unsigned long)CPU_INFO_ONLINE(cpu_info()));
	expect(round, "bkl_acquired", a0 + 1, a1);
	expect(round, "bkl_contended", c0, c1);
	expect(round, "uptime_ns", t0, t1);
	printf("sysinfotests: round %d done, status %d\n", round, status);
	stop_sleepers(pids, n);
	if (held && (long)held > 0)
		munmap(held, pages * PAGE_BYTES);
}

int main(int argc, char **argv)
{
	int failed = test_main(&suite, argc, argv);

	if (argc > 1)
		return failed;
	program_round(0, 2, 1, 0);
	program_round(1, 5, 3, ROUND1_PAGES);
	return failed;
}
