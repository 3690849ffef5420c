/*
 * cowtest: the copy-on-write lab's tests (labs/cow/README.md).
 *
 *   cowtest            run every case
 *   cowtest name...    run only the named cases
 *
 * Output: "PASS name" or "FAIL name: reason" per case, then
 * "N passed, N failed"; the exit status is 0 only if every case passed.
 *
 * Each case runs in a child of its own. The runner reads the free memory
 * (meminfo) before the case and after it ended: a case passes only if
 * every page came back. The cases check that fork shares pages instead
 * of copying them, that a write after fork is seen only by the side that
 * wrote it (parent or child, user code or the kernel writing for a
 * system call, with threads of the parent writing on other CPUs while it
 * forks), that a process can fork while it holds more than half of the
 * free memory, that a write that finds no memory for its copy ends
 * only the writer, and that the free count a process reads is exact
 * while a sibling comes and goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi/errno.h"
#include "weft.h"
#include "weft_ipc.h"
#include "weft_test.h"
#include "weft_thread.h"

#define PAGE_BYTES 4096ul
#define WORDS_PER_PAGE (PAGE_BYTES / sizeof(unsigned long))
/* A buffer big enough that a fork which copied it stands out from what
 * any fork costs (page tables, a kernel stack, the process records). */
#define SHARED_PAGES 512
/* What a fork of a process holding SHARED_PAGES may take at most. */
#define FORK_PAGES_MAX (SHARED_PAGES / 4)
#define WRITER_THREADS_MAX 3
#define PAGES_PER_WRITER 2
#define FORKS_UNDER_WRITERS 12
#define WRITER_WARM_UP 1000ul /* increments before the forks begin */
#define STILL_MS 5            /* how long a child watches its copy */

/* ---- helpers ------------------------------------------------------------ */

static unsigned long *map_pages(unsigned long pages)
{
	long addr = mmap(pages * PAGE_BYTES);

	if (addr < 0)
		test_fail("mmap of %lu pages returned %s", pages, test_result_text(addr));
	return (unsigned long *)addr;
}

/* Word 0 of each page: a value that says which page and which writer. */
static unsigned long stamp(unsigned long page, unsigned long who)
{
	return page * 16 + who;
}

static void fill(unsigned long *buf, unsigned long pages, unsigned long who)
{
	for (unsigned long p = 0; p < pages; p++)
		buf[p * WORDS_PER_PAGE] = stamp(p, who);
}

/* The first page of buf that does not hold `who`'s stamp, or -1. */
static long first_other(const unsigned long *buf, unsigned long pages, unsigned long who)
{
	for (unsigned long p = 0; p < pages; p++)
		if (buf[p * WORDS_PER_PAGE] != stamp(p, who))
			return (long)p;
	return -1;
}

static void expect_all(const unsigned long *buf, unsigned long pages, unsigned long who,
		       const char *what)
{
	long p = first_other(buf, pages, who);

	CHECK(p < 0, "%s: page %ld holds 0x%lx, expected 0x%lx", what, p, buf[p * WORDS_PER_PAGE],
	      stamp((unsigned long)p, who));
}

/* A child that fails a check prints the case's FAIL line itself. */
static void wait_exited_0(int pid, const char *who)
{
	int status;

	test_expect(wait(pid, &status), pid, "wait");
	if (status == WAIT_STATUS(WAIT_EXITED, CASE_REPORTED))
		exit(CASE_REPORTED);
	CHECK(status == WAIT_STATUS(WAIT_EXITED, 0), "%s: %s", who, test_status_text(status));
}

/*
 * fork(), checked in the parent: it worked, and it took fewer than
 * FORK_PAGES_MAX pages for a process that holds `pages` (a fork that
 * copies takes at least that many). The child gets 0.
 */
static int fork_sharing(unsigned long pages)
{
	unsigned long before = test_free_pages();
	int pid = fork();

	if (pid == 0)
		return 0;
	CHECK(pid > 0, "fork returned %s", test_result_text(pid));
	unsigned long after = test_free_pages();
	unsigned long took = before > after ? before - after : 0;
	CHECK(took < FORK_PAGES_MAX, "fork took %lu pages for a process holding %lu more (copied?)",
	      took, pages);
	return pid;
}

/* ---- fork shares, writes are private ------------------------------------ */

/* A fork of a process with SHARED_PAGES takes only a few pages, and the
 * child sees the parent's memory. */
static void case_fork_shares_pages(void)
{
	unsigned long *buf = map_pages(SHARED_PAGES);

	fill(buf, SHARED_PAGES, 1);
	int pid = fork_sharing(SHARED_PAGES);
	if (pid == 0) {
		expect_all(buf, SHARED_PAGES, 1, "child reads the parent's memory");
		exit(0);
	}
	wait_exited_0(pid, "child");
	expect_all(buf, SHARED_PAGES, 1, "parent after the child ended");
	test_expect(munmap(buf, SHARED_PAGES * PAGE_BYTES), 0, "munmap");
}

static struct mem_info kernel_target; /* bss: the kernel writes the child's copy */
#define KERNEL_TARGET_MARK 0x5eedul

/* The parent writes every page after the fork, the child after that (and
 * a system call writes into a shared page for it): each side sees only
 * its own writes. */
static void case_writes_private(void)
{
	unsigned long *buf = map_pages(SHARED_PAGES);
	int go = notify_create();

	CHECK(go >= 0, "notify_create returned %s", test_result_text(go));
	fill(buf, SHARED_PAGES, 1);
	kernel_target.page_size = KERNEL_TARGET_MARK;
	int pid = fork_sharing(SHARED_PAGES);
	if (pid == 0) {
		CHECK(notify_wait(go, 0) >= 0, "notify_wait failed");
		expect_all(buf, SHARED_PAGES, 1,
			   "the parent's writes after fork reached the child");
		test_expect(meminfo(&kernel_target), 0, "meminfo into a shared page");
		CHECK(kernel_target.page_size == PAGE_BYTES, "meminfo wrote nothing");
		fill(buf, SHARED_PAGES, 2);
		expect_all(buf, SHARED_PAGES, 2, "the child's own writes");
		exit(0);
	}
	fill(buf, SHARED_PAGES, 3);
	test_expect(notify_signal(go, 1), 0, "notify_signal");
	wait_exited_0(pid, "child");
	expect_all(buf, SHARED_PAGES, 3, "the child's writes reached the parent");
	CHECK(kernel_target.page_size == KERNEL_TARGET_MARK,
	      "the kernel's write for the child (meminfo) reached the parent");
	/* Alone again: writes need no copy and stay. */
	fill(buf, SHARED_PAGES, 4);
	expect_all(buf, SHARED_PAGES, 4, "the parent's writes after the child ended");
	test_expect(munmap(buf, SHARED_PAGES * PAGE_BYTES), 0, "munmap");
	handle_close(go);
}

/* ---- threads of the parent write while it forks ------------------------- */

struct writer {
	unsigned long *pages; /* PAGES_PER_WRITER pages, one counter each */
	unsigned long done;   /* increments made */
	int cpu;
};

static volatile int writers_stop;

/* Increments its counters in turn, as fast as it can, pinned to a CPU of
 * its own: its TLB holds its pages' entries, writable, across the forks. */
static long writer_run(void *arg)
{
	struct writer *w = arg;

	cpu_pin(w->cpu);
	while (!writers_stop) {
		for (int p = 0; p < PAGES_PER_WRITER; p++) {
			volatile unsigned long *counter = &w->pages[p * WORDS_PER_PAGE];
			*counter = *counter + 1;
		}
		__atomic_store_n(&w->done, w->done + 1, __ATOMIC_RELAXED);
	}
	return 0;
}

/* A child's copy must stand still: nobody writes it but the child. */
static void child_watches(const unsigned long *buf, unsigned long pages)
{
	static unsigned long first[SHARED_PAGES];

	for (unsigned long p = 0; p < pages; p++)
		first[p] = buf[p * WORDS_PER_PAGE];
	sleep_ms(STILL_MS);
	for (unsigned long p = 0; p < pages; p++)
		CHECK(buf[p * WORDS_PER_PAGE] == first[p],
		      "page %lu changed from %lu to %lu in the child after fork (a parent "
		      "thread's write, through a stale TLB entry?)",
		      p, first[p], buf[p * WORDS_PER_PAGE]);
	exit(0);
}

static void case_threads_write_while_forking(void)
{
	static struct writer writers[WRITER_THREADS_MAX];
	int tids[WRITER_THREADS_MAX];
	int cpus = CPU_INFO_ONLINE(cpu_info());
	int nwriters = cpus - 1 < WRITER_THREADS_MAX ? cpus - 1 : WRITER_THREADS_MAX;
	unsigned long *buf = map_pages(SHARED_PAGES);

	CHECK(nwriters >= 1, "needs 2 CPUs or more (%d online)", cpus);
	memset(buf, 0, SHARED_PAGES * PAGE_BYTES);
	cpu_pin(0);
	writers_stop = 0;
	for (int i = 0; i < nwriters; i++) {
		writers[i] =
			(struct writer){ buf + i * PAGES_PER_WRITER * WORDS_PER_PAGE, 0, i + 1 };
		tids[i] = thread_spawn(writer_run, &writers[i]);
		CHECK(tids[i] > 0, "thread_spawn returned %s", test_result_text(tids[i]));
	}
	for (int i = 0; i < nwriters; i++)
		while (__atomic_load_n(&writers[i].done, __ATOMIC_RELAXED) < WRITER_WARM_UP)
			yield();
	for (int f = 0; f < FORKS_UNDER_WRITERS; f++) {
		int pid = fork_sharing(SHARED_PAGES);
		if (pid == 0)
			child_watches(buf, (unsigned long)nwriters * PAGES_PER_WRITER);
		wait_exited_0(pid, "child");
	}
	writers_stop = 1;
	for (int i = 0; i < nwriters; i++) {
		test_expect(thread_join(tids[i], NULL), 0, "thread_join");
		for (int p = 0; p < PAGES_PER_WRITER; p++) {
			unsigned long got = writers[i].pages[p * WORDS_PER_PAGE];
			CHECK(got == writers[i].done,
			      "writer %d made %lu increments, its page %d holds %lu (writes "
			      "lost in a page the parent no longer maps?)",
			      i, writers[i].done, p, got);
		}
	}
	test_expect(munmap(buf, SHARED_PAGES * PAGE_BYTES), 0, "munmap");
}

/* ---- memory: a big process forks; a write with no memory ---------------- */

/* A buffer of 3/5 of the memory this process may take, every page
 * written: a fork that copied would need more than is left. */
static unsigned long *map_most(unsigned long *pages)
{
	struct mem_info info = test_mem_now();
	unsigned long usable = info.free_pages - info.reserve_pages;

	*pages = usable / 5 * 3;
	unsigned long *buf = map_pages(*pages);
	fill(buf, *pages, 1);
	return buf;
}

static void case_fork_big_process(void)
{
	unsigned long pages;
	unsigned long *buf = map_most(&pages);
	int pid = fork();

	CHECK(pid >= 0,
	      "fork of a process holding %lu pages, more than half the free memory, "
	      "returned %s",
	      pages, test_result_text(pid));
	if (pid == 0) {
		expect_all(buf, pages, 1, "child reads the parent's memory");
		fill(buf, FORK_PAGES_MAX, 2);
		expect_all(buf, FORK_PAGES_MAX, 2, "the child's writes");
		exit(0);
	}
	wait_exited_0(pid, "child");
	expect_all(buf, pages, 1, "the child's writes reached the parent");
	test_expect(munmap(buf, pages * PAGE_BYTES), 0, "munmap");
}

/* The child writes every shared page; there is memory for less than
 * half the copies. The child ends (killed or faulted); the parent, whose
 * pages are its own again, writes them all. */
static void case_write_without_memory(void)
{
	unsigned long pages;
	unsigned long *buf = map_most(&pages);
	int status;
	int pid = fork();

	CHECK(pid >= 0, "fork of a process holding %lu pages returned %s", pages,
	      test_result_text(pid));
	if (pid == 0) {
		fill(buf, pages, 2);
		exit(0);
	}
	test_expect(wait(pid, &status), pid, "wait");
	CHECK(WAIT_HOW(status) == WAIT_FAULTED || WAIT_HOW(status) == WAIT_KILLED,
	      "a child writing %lu shared pages with memory for fewer copies: %s, expected "
	      "faulted or killed",
	      pages, test_status_text(status));
	expect_all(buf, pages, 1, "the dead child's writes reached the parent");
	fill(buf, pages, 3);
	expect_all(buf, pages, 3, "the parent's writes after the child ended");
	test_expect(munmap(buf, pages * PAGE_BYTES), 0, "munmap");
}

/* ---- the free count while children come and go ------------------------- */

/* Pages the parent writes while its younger child lives: more than the
 * few copies a fork may set aside for it. */
#define SIBLING_WRITES 24
static unsigned long sibling_pages[SIBLING_WRITES * WORDS_PER_PAGE];

/*
 * An older child reads the free memory, its parent forks a younger one,
 * writes SIBLING_WRITES pages it shares with it, and reaps it; the older
 * child, reading again, must find the same count: whatever the younger
 * child and the copies it caused took is back once it is gone (the
 * shell's command while a background job counts, `bomb`). The older one
 * writes its pages before it reads (the test library does), so the
 * parent's writes copy only pages the younger one shares.
 */
static void case_count_beside_a_child(void)
{
	int measured = notify_create(), go_on = notify_create(), written = notify_create();

	CHECK(measured >= 0 && go_on >= 0 && written >= 0, "notify_create failed");
	fill(sibling_pages, SIBLING_WRITES, 1);
	int older = fork();
	CHECK(older >= 0, "fork returned %s", test_result_text(older));
	if (older == 0) {
		unsigned long before = test_free_pages();
		test_expect(notify_signal(measured, 1), 0, "notify_signal");
		CHECK(notify_wait(go_on, 0) >= 0, "notify_wait failed");
		unsigned long after = test_free_pages();
		CHECK(after == before,
		      "the older child read %lu free pages, then %lu once its parent's younger "
		      "child had come and gone",
		      before, after);
		expect_all(sibling_pages, SIBLING_WRITES, 1, "the older child's pages");
		exit(0);
	}
	CHECK(notify_wait(measured, 0) >= 0, "notify_wait failed");
	int younger = fork();
	CHECK(younger >= 0, "fork returned %s", test_result_text(younger));
	if (younger == 0) {
		CHECK(notify_wait(written, 0) >= 0, "notify_wait failed");
		expect_all(sibling_pages, SIBLING_WRITES, 1, "the younger child's pages");
		exit(0);
	}
	fill(sibling_pages, SIBLING_WRITES, 2);
	test_expect(notify_signal(written, 1), 0, "notify_signal");
	wait_exited_0(younger, "the younger child");
	test_expect(notify_signal(go_on, 1), 0, "notify_signal");
	wait_exited_0(older, "the older child");
	expect_all(sibling_pages, SIBLING_WRITES, 2, "the parent's writes");
	test_expect(handle_close(measured), 0, "handle_close");
	test_expect(handle_close(go_on), 0, "handle_close");
	test_expect(handle_close(written), 0, "handle_close");
}

/* ---- the runner ---------------------------------------------------------- */

static const struct test_case cases[] = {
	{ "fork_shares_pages", case_fork_shares_pages },
	{ "writes_private", case_writes_private },
	{ "threads_write_while_forking", case_threads_write_while_forking },
	{ "fork_big_process", case_fork_big_process },
	{ "write_without_memory", case_write_without_memory },
	{ "count_beside_a_child", case_count_beside_a_child },
};

static bool selected(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return argc < 2;
}

/* Runs one case in a child; 1 if it passed and every page came back. */
static int run(const struct test_case *c)
{
	struct mem_info before = test_mem_now();
	int status;

	fflush(stdout);
	int pid = fork();
	if (pid == 0) {
		test_case_name = c->name;
		c->run();
		exit(0);
	}
	if (pid < 0) {
		printf("FAIL %s: fork returned %s\n", c->name, test_result_text(pid));
		return 0;
	}
	if (wait(pid, &status) != pid) {
		printf("FAIL %s: lost its process\n", c->name);
		return 0;
	}
	if (status == WAIT_STATUS(WAIT_EXITED, CASE_REPORTED))
		return 0;
	if (status != WAIT_STATUS(WAIT_EXITED, 0)) {
		printf("FAIL %s: %s\n", c->name, test_status_text(status));
		return 0;
	}
	struct mem_info after = test_mem_settle(&before, false);
	if (after.free_pages != before.free_pages) {
		printf("FAIL %s: %lu free pages before, %lu after it ended\n", c->name,
		       before.free_pages, after.free_pages);
		return 0;
	}
	printf("PASS %s\n", c->name);
	return 1;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	test_case_name = "cowtest";
	for (int i = 1; i < argc; i++) {
		bool known = false;
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
			known |= strcmp(argv[i], cases[c].name) == 0;
		if (!known) {
			printf("FAIL %s: no such case\n", argv[i]);
			failed++;
		}
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		if (!selected(argc, argv, cases[c].name))
			continue;
		if (run(&cases[c]))
			passed++;
		else
			failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
