/*
 * fuzz: random system calls, to show that no program can break the kernel.
 *
 *   fuzz                    the fixed seed set, one case per seed (make test)
 *   fuzz seed_3             one case of it
 *   fuzz soak SECONDS [SEED]  rounds with fresh seeds until SECONDS pass
 *
 * A round forks WORKERS processes. Each runs FUZZ_THREADS threads making
 * random system calls: numbers in and out of range, arguments drawn from
 * the edges (0, -1, a page either side of a boundary, the end of user
 * space, kernel addresses, a page that is mapped, reserved or unmapped,
 * handles out of range, huge lengths). A chaos thread meanwhile unmaps,
 * forks, execs, exits and kills. After LIFETIME_MS the round kills what
 * is left. What must hold: the kernel never panics or hangs (every CPU
 * still runs a thread afterwards), and when every process of the round is
 * gone, free memory and the IPC objects are back where they started.
 *
 * A worker's calls depend only on its seed, which the case prints, so a
 * failure can be replayed with the same seed (the interleaving of the
 * threads, over several CPUs, cannot). Every process here first leaves
 * init's session (setsid), so a random poweroff, trace or lockstat reset
 * is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "uapi/ipc.h"
#include "uapi/lockstat.h"
#include "uapi/syscall.h"
#include "weft.h"
#include "weft_test.h"
#include "weft_thread.h"

#define PAGE_BYTES 4096ul
#define MAX_CPUS 64
#define WORKERS 3
#define FUZZ_THREADS 3
#define FUZZ_THREADS_MAX 12
#define LIFETIME_MS 300
#define CASE_ROUNDS 8
#define CASE_TIMEOUT_MS 120000
#define MAPPED_PAGES 4
/* First addresses past user space: Sv39 and AArch64's 39-bit TTBR0. */
#define USER_END_SV39 0x4000000000ul
#define USER_END_VA39 0x8000000000ul
#define KERNEL_RISCV64 0xffffffc080200000ul
#define KERNEL_AARCH64 0xffffff8040200000ul
#define SYSCALL_OUT_OF_RANGE 8 /* numbers tried past SYS_COUNT */
#define SBRK_STEP_MAX (64 * 1024l)
#define SBRK_REFUSED_MIN (64ul << 30) /* past the heap's limit */

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64*: small, and the same sequence on every machine. */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

/* Memory the arguments may point into, set up by each worker. */
static char *mapped;   /* MAPPED_PAGES pages, touched */
static char *reserved; /* one page mapped, never touched */
static char *unmapped; /* one page mapped, then unmapped */
static char stack_marker;

static unsigned long edge_value(uint64_t *rng)
{
	static const unsigned long fixed[] = {
		0,
		1,
		-1ul,
		PAGE_BYTES - 1,
		PAGE_BYTES,
		PAGE_BYTES + 1,
		0x7fffffff,
		0x80000000,
		0xffffffff,
		1ul << 63,
		-PAGE_BYTES,
		USER_END_SV39 - 1,
		USER_END_SV39,
		USER_END_SV39 - PAGE_BYTES,
		USER_END_VA39 - 1,
		USER_END_VA39,
		KERNEL_RISCV64,
		KERNEL_AARCH64,
		HANDLE_MAX - 1,
		HANDLE_MAX,
		IPC_BUF_MAX,
		IPC_BUF_MAX + 1,
	};
	unsigned long pick = next_random(rng) % 16;

	switch (pick) {
	case 0:
		return (unsigned long)mapped + next_random(rng) % (MAPPED_PAGES * PAGE_BYTES);
	case 1:
		return (unsigned long)mapped + MAPPED_PAGES * PAGE_BYTES - next_random(rng) % 16;
	case 2:
		return (unsigned long)reserved + next_random(rng) % PAGE_BYTES;
	case 3:
		return (unsigned long)unmapped + next_random(rng) % PAGE_BYTES;
	case 4:
		return (unsigned long)&stack_marker;
	case 5:
		return next_random(rng) % 64; /* handles, fds, small counts */
	case 6:
		return next_random(rng);
	case 7:
		return next_random(rng) % (1ul << 20); /* lengths */
	default:
		return fixed[next_random(rng) % (sizeof(fixed) / sizeof(fixed[0]))];
	}
}

/* A system call number: mostly real ones, some just out of range, some
 * anything at all (negative included). */
static long pick_number(uint64_t *rng)
{
	unsigned long r = next_random(rng) % 100;

	if (r < 85)
		return (long)(next_random(rng) % SYS_COUNT);
	if (r < 95)
		return SYS_COUNT + (long)(next_random(rng) % SYSCALL_OUT_OF_RANGE);
	return (long)next_random(rng);
}

static long fuzz_thread_entry(void *arg);
static int fuzz_threads; /* in this worker, counted as they start */

/*
 * Turn a random call into one the fuzzer can live with, without making
 * it any kinder to the kernel: no exec of whatever a pointer names (the
 * chaos thread execs on purpose), no console reads (they would take the
 * keys typed at the shell) or console output of random memory, short
 * sleeps, rare exits. Returns false to skip the call.
 */
static bool tame(long nr, unsigned long *a, uint64_t *rng)
{
	switch (nr) {
	case SYS_exec:
		return false;
	case SYS_read:
		if (a[0] == 0)
			a[2] = 0;
		return true;
	case SYS_write:
		if (a[0] == 1 || a[0] == 2)
			a[1] = KERNEL_RISCV64; /* -EFAULT: nothing printed */
		return true;
	case SYS_sleep_ms:
		a[0] %= 20;
		return true;
	case SYS_kwork:
		a[0] %= 1ul << 16; /* huge counts are fine, only slow */
		return true;
	case SYS_sbrk:
		/* A heap that grows by megabytes at every call is fine, only
		 * slow; amounts it cannot have fail at once and stay. */
		if ((long)a[0] > SBRK_STEP_MAX && a[0] < SBRK_REFUSED_MIN)
			a[0] %= SBRK_STEP_MAX;
		return true;
	case SYS_futex_wait:
		a[2] = 1 + a[2] % 20000000; /* at most 20 ms */
		return true;
	case SYS_exit:
	case SYS_thread_exit:
		return next_random(rng) % 50 == 0;
	case SYS_thread_create:
		/* Sometimes a thread that fuzzes too, while there are few: threads
		 * that all make threads would fill the process with them, and a
		 * killed process with hundreds of threads takes long to end. */
		if (atomic_read(&fuzz_threads) < FUZZ_THREADS_MAX && next_random(rng) % 2) {
			a[0] = (unsigned long)fuzz_thread_entry;
			a[1] = next_random(rng);
		}
		return true;
	default:
		return true;
	}
}

static long fuzz_thread_entry(void *arg)
{
	uint64_t rng = (uint64_t)(unsigned long)arg | 1;

	__atomic_add_fetch(&fuzz_threads, 1, __ATOMIC_RELAXED);
	for (;;) {
		unsigned long a[6];
		long nr = pick_number(&rng);
		for (int i = 0; i < 6; i++)
			a[i] = edge_value(&rng);
		if (!tame(nr, a, &rng))
			continue;
		long r = syscall6(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4],
				  (long)a[5]);
		if (nr == SYS_fork && r == 0)
			_exit(0); /* a child made by chance ends at once: no orphans */
	}
	return 0;
}

/* A child the chaos thread forks: it ends by itself, soon. */
static void chaos_child(uint64_t *rng)
{
	char *argv[] = { "minimal", NULL };

	switch (next_random(rng) % 3) {
	case 0:
		exec("minimal", argv); /* exits 42 */
		break;
	case 1:
		exec("no-such-program", argv); /* fails: -ENOENT */
		break;
	default:
		break;
	}
	_exit(0);
}

static long chaos_thread_entry(void *arg)
{
	uint64_t rng = (uint64_t)(unsigned long)arg | 1;

	for (;;) {
		sleep_ms(next_random(&rng) % 20);
		switch (next_random(&rng) % 8) {
		case 0:
			munmap(mapped + next_random(&rng) % MAPPED_PAGES * PAGE_BYTES, PAGE_BYTES);
			break;
		case 1:
			mmap(next_random(&rng) % (64 * PAGE_BYTES) + 1);
			break;
		case 2: {
			int pid = fork();
			if (pid == 0)
				chaos_child(&rng);
			break;
		}
		case 3: {
			char *argv[] = { "minimal", NULL };
			if (next_random(&rng) % 16 == 0)
				exec("minimal", argv);
			break;
		}
		case 4:
			if (next_random(&rng) % 32 == 0)
				exit(3);
			break;
		case 5:
			if (next_random(&rng) % 64 == 0)
				kill(getpid());
			break;
		case 6:
			wait(-1, NULL);
			break;
		default:
			sbrk((long)(next_random(&rng) % (16 * PAGE_BYTES)));
			break;
		}
	}
	return 0;
}

static _Noreturn void worker(uint64_t seed)
{
	uint64_t rng = seed | 1;

	mapped = (char *)mmap(MAPPED_PAGES * PAGE_BYTES);
	reserved = (char *)mmap(PAGE_BYTES);
	unmapped = (char *)mmap(PAGE_BYTES);
	if ((long)mapped < 0 || (long)reserved < 0 || (long)unmapped < 0)
		_exit(2);
	memset(mapped, 0x5a, MAPPED_PAGES * PAGE_BYTES);
	munmap(unmapped, PAGE_BYTES);
	for (int i = 0; i < FUZZ_THREADS; i++)
		thread_spawn(fuzz_thread_entry, (void *)(unsigned long)next_random(&rng));
	thread_spawn(chaos_thread_entry, (void *)(unsigned long)next_random(&rng));
	fuzz_thread_entry((void *)(unsigned long)next_random(&rng));
	_exit(0);
}

/* How the round's workers ended: exited, killed, faulted. */
static unsigned long ended[3];

/* One round: WORKERS processes for LIFETIME_MS, then whatever is left is
 * killed. Returns 0, or the error of a fork that failed. */
static int round_of(uint64_t seed)
{
	int pids[WORKERS];

	for (int i = 0; i < WORKERS; i++) {
		fflush(stdout);
		pids[i] = fork();
		if (pids[i] == 0)
			worker(seed + (uint64_t)i * 0x9e3779b97f4a7c15ull);
		if (pids[i] < 0)
			return pids[i];
	}
	sleep_ms(LIFETIME_MS);
	for (int i = 0; i < WORKERS; i++) {
		int status;
		kill(pids[i]);
		if (wait(pids[i], &status) == pids[i] && WAIT_HOW(status) <= WAIT_FAULTED)
			ended[WAIT_HOW(status)]++;
	}
	return 0;
}

/* The longest time any CPU held the big kernel lock since boot (lockstat;
 * in real time, so a host that pauses a CPU makes it longer). */
static unsigned long longest_hold_us(void)
{
	static struct lock_cpu_stats stats[MAX_CPUS];
	long n = syscall6(SYS_lockstat, (long)stats, MAX_CPUS, 0, 0, 0, 0);
	unsigned long longest = 0;

	for (long i = 0; i < n; i++)
		longest = stats[i].max_hold_ns > longest ? stats[i].max_hold_ns : longest;
	return longest / 1000;
}

/* Every CPU still runs a thread: pin to each in turn. */
static int cpus_alive(void)
{
	for (int c = 0; c < CPU_INFO_ONLINE(cpu_info()); c++)
		if (cpu_pin(c) != 0 || CPU_INFO_CURRENT(cpu_info()) != c)
			return c + 1;
	cpu_pin(-1);
	return 0;
}

/* Rounds from `seed` until `rounds` are done or `ms` have passed; then the
 * checks. Returns 0 or prints why not and returns 1. */
static int fuzz_run(uint64_t seed, int rounds, unsigned long ms, const char *label)
{
	struct mem_info before, after;
	unsigned long t0 = clock_ns();
	int done = 0;

	/* A thread that died on a CPU that then went idle is freed only when
	 * that CPU next runs one: run one on each, so that the count below
	 * does not miss pages the run would then seem to give back. */
	cpus_alive();
	before = test_mem_now();
	memset(ended, 0, sizeof(ended));
	while (done < rounds && (clock_ns() - t0) / 1000000 < ms) {
		int err = round_of(seed + (uint64_t)done * 0x100000001b3ull);
		if (err) {
			printf("%s: fork failed (%s) in round %d\n", label, error_name(err), done);
			return 1;
		}
		done++;
	}
	after = test_mem_settle(&before, true);
	int stuck = cpus_alive();
	printf("%s: seed %llu: %d rounds in %lu ms; workers exited %lu, killed %lu, faulted "
	       "%lu; longest lock hold %lu us\n",
	       label, (unsigned long long)seed, done, (clock_ns() - t0) / 1000000, ended[0],
	       ended[1], ended[2], longest_hold_us());
	if (stuck) {
		printf("%s: CPU %d no longer runs threads\n", label, stuck - 1);
		return 1;
	}
	if (after.free_pages != before.free_pages || after.ipc_objects != before.ipc_objects) {
		printf("%s: LEAK: free pages %lu -> %lu, IPC objects %lu -> %lu\n", label,
		       before.free_pages, after.free_pages, before.ipc_objects, after.ipc_objects);
		return 1;
	}
	return 0;
}

/* The fixed seed set make test runs. */
static const uint64_t seeds[] = { 1, 2, 0x5eed, 0xdecafbad };

/* Zero lockstat's counters (while still in init's session), so that the
 * longest hold printed is the fuzzer's. */
static void lockstat_reset(void)
{
	static struct lock_cpu_stats stats[MAX_CPUS];

	syscall6(SYS_lockstat, (long)stats, MAX_CPUS, LOCKSTAT_RESET, 0, 0, 0);
}

static void run_seed(int i)
{
	lockstat_reset();
	setsid();
	CHECK(fuzz_run(seeds[i], CASE_ROUNDS, CASE_TIMEOUT_MS / 2, test_case_name) == 0,
	      "seed %llu failed (lines above)", (unsigned long long)seeds[i]);
}

#define SEED_CASE(i)                    \
	static void case_seed_##i(void) \
	{                               \
		run_seed(i);            \
	}
SEED_CASE(0)
SEED_CASE(1)
SEED_CASE(2)
SEED_CASE(3)

static const struct test_case cases[] = {
	{ "seed_0", case_seed_0 },
	{ "seed_1", case_seed_1 },
	{ "seed_2", case_seed_2 },
	{ "seed_3", case_seed_3 },
};

/* fuzz soak SECONDS [SEED]: batches of rounds, each batch checked. */
static int soak(unsigned long seconds, uint64_t seed)
{
	unsigned long t0 = clock_ns();
	int batches = 0;

	lockstat_reset();
	setsid();
	while ((clock_ns() - t0) / 1000000000ul < seconds) {
		if (fuzz_run(seed, 1 << 30, 10000, "fuzz: soak"))
			return 1;
		seed = seed * 0x9e3779b97f4a7c15ull + 1;
		batches++;
	}
	printf("fuzz: soak: %d batches in %lu s, no leak\n", batches,
	       (clock_ns() - t0) / 1000000000ul);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct test_suite suite = {
		.name = "fuzz",
		.cases = cases,
		.count = sizeof(cases) / sizeof(cases[0]),
		.timeout_ms = CASE_TIMEOUT_MS,
		.counts_ipc_objects = true,
	};

	if (argc >= 3 && strcmp(argv[1], "soak") == 0)
		return soak(strtoul(argv[2], NULL, 10),
			    argc > 3 ? strtoull(argv[3], NULL, 0) : clock_ns());
	return test_main(&suite, argc, argv);
}
