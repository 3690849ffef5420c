/*
 * ipctests: the in-guest tests of message passing (kernel/ipc.c).
 *
 *   ipctests             run every case
 *   ipctests name...     run only the named cases
 *
 * Output as usertests, whose runner it shares (weft_test.h): "PASS name"
 * or "FAIL name: reason" per case, then "N passed, N failed"; the exit
 * status is 0 only if no case failed. Every case runs in a forked child
 * under a watchdog, so a case that hangs in a rendezvous nobody comes to,
 * or crashes, fails alone.
 *
 * Most cases need a peer: helper children forked by the case, with a role
 * ("server", "client 3"). A helper that finds something wrong prints
 * "ipctests: case: role: reason" and exits with HELPER_FAILED; the case
 * then fails naming that helper. Order matters in a rendezvous (the first
 * to arrive blocks, the second moves the message), so cases that care
 * start one side, wait until ps() shows it blocked, then start the other.
 *
 * The last case, no_leaks, runs in the runner: the free pages and the IPC
 * objects alive must be exactly what they were before the first case.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft_ipc.h"
#include "weft_test.h"

/* Time a case may take before the watchdog kills it. The stress case gets
 * far longer: with 4 CPUs on a 2-core host, a CPU holding the big kernel
 * lock is often descheduled by the host while the others spin, and its
 * 40,000 calls have taken from one minute to over fifteen (under a second
 * with 1 CPU). It watches its own progress instead: STALL_MS without a
 * completed call is a hang. */
#define CASE_TIMEOUT_MS 60000
#define STRESS_TIMEOUT_MS 3600000
#define STALL_MS 120000
#define PAGE_BYTES 4096ul
#define POLL_MS 2
#define BLOCK_WAIT_MS 10000
#define PS_MAX 64

/* The last page of the address space: far above any user mapping. */
#define TOP_PAGE (-PAGE_BYTES)

/* ---- reporting ----------------------------------------------------------- */

/* A result that must be a handle (or a count, or bits): not an error. */
static long ok(long got, const char *what)
{
	if (got < 0)
		test_fail("%s returned %s", what, test_result_text(got));
	return got;
}

/* ---- system calls without a libweft wrapper ------------------------------ */

static unsigned long page_map(size_t len)
{
	long addr = syscall6(SYS_mmap, (long)len, 0, 0, 0, 0, 0);

	CHECK(addr > 0, "mmap(%lu) failed: %ld", (unsigned long)len, addr);
	return (unsigned long)addr;
}

static void page_unmap(unsigned long addr, size_t len)
{
	test_expect(syscall6(SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0), 0, "munmap");
}

static long cpu_pin(int cpu)
{
	return syscall6(SYS_cpu_pin, cpu, 0, 0, 0, 0, 0);
}

static int cpus_online(void)
{
	return (int)(syscall6(SYS_cpu_info, 0, 0, 0, 0, 0, 0) & 0xffff);
}

static int cpu_now(void)
{
	return (int)((syscall6(SYS_cpu_info, 0, 0, 0, 0, 0, 0) >> 16) & 0xffff);
}

/* An address that was mapped a moment ago and no longer is. */
static unsigned long unmapped_page(void)
{
	unsigned long addr = page_map(PAGE_BYTES);

	page_unmap(addr, PAGE_BYTES);
	return addr;
}

/* A mapped page followed by an unmapped one: its end is a cliff edge. */
static unsigned long page_before_hole(void)
{
	unsigned long addr = page_map(2 * PAGE_BYTES);

	page_unmap(addr + PAGE_BYTES, PAGE_BYTES);
	return addr;
}

static struct mem_info mem_now(void)
{
	return test_mem_now();
}

/* The free pages and IPC objects are back to *before (given a moment:
 * helpers are freed just after wait() returns). */
static void expect_mem_back(const struct mem_info *before, const char *what)
{
	struct mem_info now = test_mem_settle(before, true);

	CHECK(now.free_pages == before->free_pages && now.ipc_objects == before->ipc_objects,
	      "%s: free pages %lu -> %lu, IPC objects %lu -> %lu", what, before->free_pages,
	      now.free_pages, before->ipc_objects, now.ipc_objects);
}

/* ---- messages ------------------------------------------------------------ */

/* An ext that sends nothing and receives nothing: note send_handle, which
 * must be IPC_NO_HANDLE, since 0 is a valid handle. */
static struct ipc_ext ext_empty(void)
{
	return (struct ipc_ext){ .send_handle = IPC_NO_HANDLE, .recv_handle = IPC_NO_HANDLE };
}

static struct ipc_msg msg_of(unsigned long label, unsigned long a, unsigned long b, unsigned long c,
			     unsigned long d)
{
	return (struct ipc_msg){ .label = label, .w = { a, b, c, d } };
}

static void expect_msg(const struct ipc_msg *got, const struct ipc_msg *want, const char *what)
{
	CHECK(got->label == want->label, "%s: label 0x%lx, expected 0x%lx", what, got->label,
	      want->label);
	for (int i = 0; i < IPC_WORDS; i++)
		CHECK(got->w[i] == want->w[i], "%s: word %d is 0x%lx, expected 0x%lx", what, i,
		      got->w[i], want->w[i]);
}

/* The byte at offset i of a test buffer; `seed` tells buffers apart. */
static unsigned char pattern(unsigned long seed, size_t i)
{
	return (unsigned char)(seed * 131 + i * 7 + (i >> 8) * 29 + 1);
}

static void fill(unsigned char *buf, size_t len, unsigned long seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(seed, i);
}

static void expect_pattern(const unsigned char *buf, size_t len, unsigned long seed,
			   const char *what)
{
	for (size_t i = 0; i < len; i++)
		CHECK(buf[i] == pattern(seed, i), "%s: byte %lu is 0x%02x, expected 0x%02x", what,
		      (unsigned long)i, buf[i], pattern(seed, i));
}

/* A registry name no other case (or run) uses at the same time. */
static const char *unique_name(const char *what)
{
	static char name[IPC_NAME_MAX];

	snprintf(name, sizeof(name), "ipct.%s.%d", what, getpid());
	return name;
}

/* ---- helper processes ---------------------------------------------------- */

/* Forks a helper that runs fn(arg) in the role `who`, then exits with 0. */
static int spawn(const char *who, void (*fn)(long), long arg)
{
	fflush(stdout);
	int pid = fork();
	if (pid == 0) {
		test_helper_role = who;
		fn(arg);
		_exit(0);
	}
	CHECK(pid > 0, "fork for the %s returned %ld", who, (long)pid);
	return pid;
}

static int status_of(int pid, const char *who)
{
	int status;

	CHECK(wait(pid, &status) == pid, "lost the %s (pid %d)", who, pid);
	return status;
}

static void expect_exited_ok(int status, const char *who)
{
	if (status == WAIT_STATUS(WAIT_EXITED, HELPER_FAILED))
		test_fail("the %s failed (its line is above)", who);
	CHECK(status == WAIT_STATUS(WAIT_EXITED, 0), "the %s %s", who, test_status_text(status));
}

static void expect_helper_ok(int pid, const char *who)
{
	expect_exited_ok(status_of(pid, who), who);
}

/* Waits for n helpers in whatever order they end, and fails at the first
 * one that failed: the others may be waiting for it in vain. */
static void expect_helpers_ok(const int *pids, const char *const *who, int n)
{
	for (int done = 0; done < n; done++) {
		int status;
		int pid = wait(-1, &status);
		int i = 0;
		while (i < n && pids[i] != pid)
			i++;
		CHECK(pid > 0, "wait returned %d with helpers running", pid);
		CHECK(i < n, "pid %d, not one of the helpers waited for, ended first", pid);
		expect_exited_ok(status, who[i]);
	}
}

static void expect_killed(int pid, const char *who)
{
	int status = status_of(pid, who);

	CHECK(WAIT_HOW(status) == WAIT_KILLED, "the %s %s, expected killed", who,
	      test_status_text(status));
}

static int proc_state(int pid)
{
	static struct proc_info procs[PS_MAX];
	int n = ps(procs, PS_MAX);

	for (int i = 0; i < n; i++)
		if (procs[i].pid == pid)
			return procs[i].state;
	return 0;
}

/* Waits until every thread of `pid` is blocked (in a rendezvous, here). */
static void wait_blocked(int pid, const char *who)
{
	for (int ms = 0; ms < BLOCK_WAIT_MS; ms += POLL_MS) {
		int state = proc_state(pid);
		CHECK(state != 0 && state != PROC_ZOMBIE, "the %s ended before it blocked", who);
		if (state == PROC_SLEEPING)
			return;
		sleep_ms(POLL_MS);
	}
	test_fail("the %s did not block within %d ms", who, BLOCK_WAIT_MS);
}

/* Waits (polling, so a dead helper cannot hang the case) until every bit
 * of `want` has been signalled on notification n; other bits are kept. */
static void await_bits(int n, unsigned long want, unsigned long *seen, const char *what)
{
	for (int ms = 0; (*seen & want) != want; ms += POLL_MS) {
		CHECK(ms < BLOCK_WAIT_MS, "%s: not signalled within %d ms", what, BLOCK_WAIT_MS);
		long bits = notify_wait(n, NOTIFY_NONBLOCK);
		if (bits == -EAGAIN) {
			sleep_ms(POLL_MS);
			continue;
		}
		*seen |= (unsigned long)ok(bits, "notify_wait");
	}
	*seen &= ~want;
}

/* A helper that must not go on: blocks on a notification nobody signals. */
static _Noreturn void block_forever(void)
{
	int never = notify_create();

	for (;;)
		notify_wait(never, 0);
}

/* ---- errors: bad handles ------------------------------------------------- */

/* Every operation on handle h must answer -EBADF. */
static void expect_all_ebadf(long h, const char *what)
{
	char w[64];
	struct ipc_msg m = msg_of(1, 2, 3, 4, 5);

	snprintf(w, sizeof(w), "ipc_send(%s)", what);
	test_expect(ipc_send((int)h, &m, NULL), -EBADF, w);
	snprintf(w, sizeof(w), "ipc_try_send(%s)", what);
	test_expect(ipc_try_send((int)h, &m, NULL), -EBADF, w);
	snprintf(w, sizeof(w), "ipc_recv(%s)", what);
	test_expect(ipc_recv((int)h, &m, NULL), -EBADF, w);
	snprintf(w, sizeof(w), "ipc_try_recv(%s)", what);
	test_expect(ipc_try_recv((int)h, &m, NULL), -EBADF, w);
	snprintf(w, sizeof(w), "ipc_call(%s)", what);
	test_expect(ipc_call((int)h, &m, NULL), -EBADF, w);
	snprintf(w, sizeof(w), "ipc_reply_recv(%s)", what);
	test_expect(ipc_reply_recv((int)h, &m, NULL), -EBADF, w);
	snprintf(w, sizeof(w), "handle_close(%s)", what);
	test_expect(handle_close((int)h), -EBADF, w);
	snprintf(w, sizeof(w), "handle_mint(%s)", what);
	test_expect(handle_mint((int)h, 1, RIGHT_SEND), -EBADF, w);
	snprintf(w, sizeof(w), "handle_dup(%s)", what);
	test_expect(handle_dup((int)h, RIGHT_SEND), -EBADF, w);
	snprintf(w, sizeof(w), "notify_signal(%s)", what);
	test_expect(notify_signal((int)h, 1), -EBADF, w);
	snprintf(w, sizeof(w), "notify_wait(%s)", what);
	test_expect(notify_wait((int)h, 0), -EBADF, w);
	snprintf(w, sizeof(w), "notify_wait(%s, NONBLOCK)", what);
	test_expect(notify_wait((int)h, NOTIFY_NONBLOCK), -EBADF, w);
	snprintf(w, sizeof(w), "ipc_register(%s)", what);
	test_expect(ipc_register(unique_name("bad"), (int)h, RIGHT_SEND), -EBADF, w);
}

static void case_bad_handle_ebadf(void)
{
	static const int bad[] = { -1, -1000, HANDLE_MAX, HANDLE_MAX + 1, 0x7fffffff, -0x7fffffff };
	char what[32];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(what, sizeof(what), "%d", bad[i]);
		expect_all_ebadf(bad[i], what);
	}
	/* A slot inside the table that was never used. */
	expect_all_ebadf(HANDLE_MAX - 1, "an unused slot");
}

static void case_closed_handle_ebadf(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	int n = (int)ok(notify_create(), "notify_create");

	test_expect(handle_close(e), 0, "handle_close(endpoint)");
	test_expect(handle_close(n), 0, "handle_close(notification)");
	expect_all_ebadf(e, "a closed endpoint handle");
	expect_all_ebadf(n, "a closed notification handle");
}

static void case_wrong_type_ebadf(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	int n = (int)ok(notify_create(), "notify_create");
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);

	test_expect(ipc_send(n, &m, NULL), -EBADF, "ipc_send(notification)");
	test_expect(ipc_try_send(n, &m, NULL), -EBADF, "ipc_try_send(notification)");
	test_expect(ipc_recv(n, &m, NULL), -EBADF, "ipc_recv(notification)");
	test_expect(ipc_try_recv(n, &m, NULL), -EBADF, "ipc_try_recv(notification)");
	test_expect(ipc_call(n, &m, NULL), -EBADF, "ipc_call(notification)");
	test_expect(ipc_reply_recv(n, &m, NULL), -EBADF, "ipc_reply_recv(notification)");
	test_expect(handle_mint(n, 7, RIGHT_SEND), -EBADF, "handle_mint(notification)");
	test_expect(ipc_register(unique_name("type"), n, RIGHT_SEND), -EBADF,
		    "ipc_register(notification)");
	test_expect(notify_signal(e, 1), -EBADF, "notify_signal(endpoint)");
	test_expect(notify_wait(e, 0), -EBADF, "notify_wait(endpoint)");
	test_expect(notify_wait(e, NOTIFY_NONBLOCK), -EBADF, "notify_wait(endpoint, NONBLOCK)");

	/* A bad handle to pass along is refused before anything moves. */
	struct ipc_ext x = ext_empty();
	x.send_handle = HANDLE_MAX - 1;
	test_expect(ipc_try_send(e, &m, &x), -EBADF, "ipc_try_send passing an unused handle");
	x.send_handle = HANDLE_MAX;
	test_expect(ipc_try_send(e, &m, &x), -EBADF, "ipc_try_send passing handle HANDLE_MAX");
	/* The objects themselves are fine. */
	test_expect(ipc_try_send(e, &m, NULL), -EAGAIN, "ipc_try_send(endpoint)");
	test_expect(notify_wait(n, NOTIFY_NONBLOCK), -EAGAIN,
		    "notify_wait(notification, NONBLOCK)");
}

/* ---- errors: bad pointers and sizes -------------------------------------- */

static void case_bad_ext_efault(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	unsigned long edge = page_before_hole() + PAGE_BYTES - sizeof(struct ipc_ext) / 2;
	const struct {
		unsigned long addr;
		const char *what;
	} bad[] = {
		{ unmapped_page(), "an unmapped ext" },
		{ TOP_PAGE, "an ext in the kernel half" },
		{ edge, "an ext across the end of a mapping" },
		{ 1, "ext at address 1" },
	};
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	char w[80];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ipc_ext *x = (struct ipc_ext *)bad[i].addr;
		snprintf(w, sizeof(w), "ipc_try_send with %s", bad[i].what);
		test_expect(ipc_try_send(e, &m, x), -EFAULT, w);
		snprintf(w, sizeof(w), "ipc_try_recv with %s", bad[i].what);
		test_expect(ipc_try_recv(e, &m, x), -EFAULT, w);
		snprintf(w, sizeof(w), "ipc_send with %s", bad[i].what);
		test_expect(ipc_send(e, &m, x), -EFAULT, w);
		snprintf(w, sizeof(w), "ipc_recv with %s", bad[i].what);
		test_expect(ipc_recv(e, &m, x), -EFAULT, w);
		snprintf(w, sizeof(w), "ipc_call with %s", bad[i].what);
		test_expect(ipc_call(e, &m, x), -EFAULT, w);
		snprintf(w, sizeof(w), "ipc_reply_recv with %s", bad[i].what);
		test_expect(ipc_reply_recv(e, &m, x), -EFAULT, w);
		snprintf(w, sizeof(w), "ipc_reply with %s", bad[i].what);
		test_expect(ipc_reply(&m, x), -EFAULT, w);
	}
}

static void case_bad_send_buffer_efault(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	unsigned long cliff = page_before_hole() + PAGE_BYTES;
	const struct {
		unsigned long addr;
		unsigned long len;
		const char *what;
	} bad[] = {
		{ unmapped_page(), 16, "an unmapped buffer" },
		{ TOP_PAGE, 16, "a buffer in the kernel half" },
		{ cliff - 8, 16, "a buffer across the end of a mapping" },
		{ 0, 1, "a NULL buffer of 1 byte" },
		{ cliff - PAGE_BYTES + 1, PAGE_BYTES, "4096 bytes ending 1 byte past a mapping" },
	};
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	char w[96];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ipc_ext x = ext_empty();
		x.send_buf = (const void *)bad[i].addr;
		x.send_len = bad[i].len;
		long want = -EFAULT;
		snprintf(w, sizeof(w), "ipc_try_send with %s", bad[i].what);
		test_expect(ipc_try_send(e, &m, &x), want, w);
		snprintf(w, sizeof(w), "ipc_send with %s", bad[i].what);
		test_expect(ipc_send(e, &m, &x), want, w);
		snprintf(w, sizeof(w), "ipc_call with %s", bad[i].what);
		test_expect(ipc_call(e, &m, &x), want, w);
		snprintf(w, sizeof(w), "ipc_reply with %s", bad[i].what);
		test_expect(ipc_reply(&m, &x), want, w);
	}
	/* The controls: the same calls with good buffers pass the checks. */
	struct ipc_ext x = ext_empty();
	x.send_buf = (const void *)(cliff - 16);
	x.send_len = 16;
	test_expect(ipc_try_send(e, &m, &x), -EAGAIN,
		    "ipc_try_send with the last 16 bytes of a page");
	x.send_buf = NULL;
	x.send_len = 0;
	test_expect(ipc_try_send(e, &m, &x), -EAGAIN, "ipc_try_send with no buffer");
	x.send_buf = (const void *)case_bad_send_buffer_efault; /* text is readable */
	x.send_len = 64;
	test_expect(ipc_try_send(e, &m, &x), -EAGAIN, "ipc_try_send from read-only text");
}

static void case_bad_recv_buffer_efault(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	unsigned long cliff = page_before_hole() + PAGE_BYTES;
	const struct {
		unsigned long addr;
		const char *what;
	} bad[] = {
		{ unmapped_page(), "an unmapped buffer" },
		{ TOP_PAGE, "a buffer in the kernel half" },
		{ cliff - 8, "a buffer across the end of a mapping" },
		{ (unsigned long)case_bad_recv_buffer_efault, "a buffer in read-only text" },
		{ 0, "a NULL buffer" },
	};
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	char w[96];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ipc_ext x = ext_empty();
		x.recv_buf = (void *)bad[i].addr;
		x.recv_cap = 16;
		snprintf(w, sizeof(w), "ipc_try_recv into %s", bad[i].what);
		test_expect(ipc_try_recv(e, &m, &x), -EFAULT, w);
		snprintf(w, sizeof(w), "ipc_recv into %s", bad[i].what);
		test_expect(ipc_recv(e, &m, &x), -EFAULT, w);
		snprintf(w, sizeof(w), "ipc_reply_recv into %s", bad[i].what);
		test_expect(ipc_reply_recv(e, &m, &x), -EFAULT, w);
		/* A caller's reply buffer is checked before the call goes out. */
		snprintf(w, sizeof(w), "ipc_call with its reply going into %s", bad[i].what);
		test_expect(ipc_call(e, &m, &x), -EFAULT, w);
	}
	struct ipc_ext x = ext_empty();
	x.recv_buf = (void *)(cliff - 16);
	x.recv_cap = 16;
	test_expect(ipc_try_recv(e, &m, &x), -EAGAIN,
		    "ipc_try_recv into the last 16 bytes of a page");
}

static void case_oversized_buffer_emsgsize(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	unsigned char *buf = (unsigned char *)page_map(2 * PAGE_BYTES);
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	struct ipc_ext x = ext_empty();

	x.send_buf = buf;
	x.send_len = IPC_BUF_MAX + 1;
	test_expect(ipc_try_send(e, &m, &x), -EMSGSIZE, "ipc_try_send of IPC_BUF_MAX + 1 bytes");
	test_expect(ipc_send(e, &m, &x), -EMSGSIZE, "ipc_send of IPC_BUF_MAX + 1 bytes");
	test_expect(ipc_call(e, &m, &x), -EMSGSIZE, "ipc_call of IPC_BUF_MAX + 1 bytes");
	test_expect(ipc_reply(&m, &x), -EMSGSIZE, "ipc_reply of IPC_BUF_MAX + 1 bytes");
	test_expect(ipc_reply_recv(e, &m, &x), -EMSGSIZE,
		    "ipc_reply_recv of IPC_BUF_MAX + 1 bytes");
	x.send_len = ~0ul;
	test_expect(ipc_try_send(e, &m, &x), -EMSGSIZE, "ipc_try_send of ~0 bytes");
	x.send_len = IPC_BUF_MAX;
	test_expect(ipc_try_send(e, &m, &x), -EAGAIN, "ipc_try_send of exactly IPC_BUF_MAX bytes");
}

static void case_nothing_there_eagain(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	int n = (int)ok(notify_create(), "notify_create");
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);

	test_expect(ipc_try_send(e, &m, NULL), -EAGAIN, "ipc_try_send with no receiver");
	test_expect(ipc_try_recv(e, &m, NULL), -EAGAIN, "ipc_try_recv with no sender");
	test_expect(notify_wait(n, NOTIFY_NONBLOCK), -EAGAIN, "notify_wait(NONBLOCK) with no bits");
	test_expect(notify_signal(n, 0), 0, "notify_signal(0)");
	test_expect(notify_wait(n, NOTIFY_NONBLOCK), -EAGAIN,
		    "notify_wait(NONBLOCK) after signalling 0");
	/* Bit 63 is not a notification bit: signalling only it sets nothing. */
	test_expect(notify_signal(n, 1ul << 63), 0, "notify_signal(bit 63)");
	test_expect(notify_wait(n, NOTIFY_NONBLOCK), -EAGAIN,
		    "notify_wait(NONBLOCK) after signalling bit 63");
	/* A try does not leave anything behind: still nobody there. */
	test_expect(ipc_try_recv(e, &m, NULL), -EAGAIN, "ipc_try_recv after a failed try_send");
}

static void case_registry_errors(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	int e2 = (int)ok(endpoint_create(), "endpoint_create");
	int n = (int)ok(notify_create(), "notify_create");
	char name[IPC_NAME_MAX], too_long[IPC_NAME_MAX + 8];

	snprintf(name, sizeof(name), "%s", unique_name("reg"));
	test_expect(ipc_register(name, e, RIGHT_SEND), 0, "ipc_register");
	test_expect(ipc_register(name, e2, RIGHT_SEND), -EEXIST, "ipc_register of a taken name");
	test_expect(ipc_register(name, e, RIGHT_SEND), -EEXIST,
		    "ipc_register of the same name twice");
	test_expect(ipc_lookup(unique_name("nobody")), -ENOENT, "ipc_lookup of an unknown name");
	test_expect(ipc_register("", e2, RIGHT_SEND), -EINVAL, "ipc_register of an empty name");
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	test_expect(ipc_register(too_long, e2, RIGHT_SEND), -EINVAL,
		    "ipc_register of a name too long");
	test_expect(ipc_lookup(too_long), -EINVAL, "ipc_lookup of a name too long");
	test_expect(ipc_register((const char *)unmapped_page(), e2, RIGHT_SEND), -EFAULT,
		    "ipc_register with an unmapped name");
	test_expect(ipc_lookup((const char *)TOP_PAGE), -EFAULT,
		    "ipc_lookup with a kernel address");
	test_expect(ipc_register(unique_name("regn"), n, RIGHT_SEND), -EBADF,
		    "ipc_register(notification)");
	/* What a lookup gives is send, perhaps with grant: never more. */
	static const unsigned bad_rights[] = {
		0, RIGHT_GRANT, RIGHT_RECV, RIGHT_MINT, RIGHT_SEND | RIGHT_RECV, RIGHTS_ALL, 1u << 4
	};
	for (size_t i = 0; i < sizeof(bad_rights) / sizeof(bad_rights[0]); i++)
		CHECK(ipc_register(unique_name("rights"), e2, bad_rights[i]) == -EINVAL,
		      "ipc_register giving lookups rights 0x%x: not -EINVAL", bad_rights[i]);
	/* Unregistering and reserving take names the same way. */
	test_expect(ipc_unregister(unique_name("nobody")), -ENOENT, "ipc_unregister of no name");
	test_expect(ipc_unregister(""), -EINVAL, "ipc_unregister of an empty name");
	test_expect(ipc_unregister(too_long), -EINVAL, "ipc_unregister of a name too long");
	test_expect(ipc_unregister((const char *)TOP_PAGE), -EFAULT,
		    "ipc_unregister with a kernel address");
	test_expect(ipc_reserve(name), -EEXIST, "ipc_reserve of a registered name");
	test_expect(ipc_reserve(""), -EINVAL, "ipc_reserve of an empty name");
	test_expect(ipc_reserve(too_long), -EINVAL, "ipc_reserve of a name too long");
	test_expect(ipc_reserve((const char *)unmapped_page()), -EFAULT,
		    "ipc_reserve with an unmapped name");

	/* The name works, and holds the endpoint without our handles. */
	int h = (int)ok(ipc_lookup(name), "ipc_lookup");
	CHECK(h != e, "ipc_lookup returned the registering handle %d itself", h);
	test_expect(handle_close(h), 0, "handle_close(looked up)");
	test_expect(handle_close(e), 0, "handle_close(registered)");
	h = (int)ok(ipc_lookup(name), "ipc_lookup after closing every handle");
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	test_expect(ipc_try_send(h, &m, NULL), -EAGAIN, "ipc_try_send to the registered endpoint");
}

static void case_reply_without_call_einval(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);

	test_expect(ipc_reply(&m, NULL), -EINVAL, "ipc_reply with nothing received");

	/* A plain send is not a call: nobody waits for a reply. */
	m = msg_of(2, 0, 0, 0, 0);
	int sender = fork();
	if (sender == 0) {
		test_helper_role = "sender";
		test_expect(ipc_send(e, &m, NULL), 0, "ipc_send");
		_exit(0);
	}
	CHECK(sender > 0, "fork failed");
	test_expect(ipc_recv(e, &m, NULL), 0, "ipc_recv of a send");
	test_expect(ipc_reply(&m, NULL), -EINVAL, "ipc_reply to a plain send");
	expect_helper_ok(sender, "sender");

	/* A call owes one reply, not two. */
	fflush(stdout);
	int caller = fork();
	if (caller == 0) {
		test_helper_role = "caller";
		m = msg_of(3, 0, 0, 0, 0);
		test_expect(ipc_call(e, &m, NULL), 0, "ipc_call");
		CHECK(m.label == 4, "reply label %lu, expected 4", m.label);
		_exit(0);
	}
	CHECK(caller > 0, "fork failed");
	test_expect(ipc_recv(e, &m, NULL), 0, "ipc_recv of a call");
	m.label = 4;
	test_expect(ipc_reply(&m, NULL), 0, "ipc_reply to the call");
	test_expect(ipc_reply(&m, NULL), -EINVAL, "a second ipc_reply to the same call");
	expect_helper_ok(caller, "caller");
}

/* ---- what arrives -------------------------------------------------------- */

static int shared_ep; /* the endpoint a case creates before forking helpers */

/* Values with every bit pattern a careless copy could damage. */
static const struct ipc_msg request_words[] = {
	{ .label = 0, .w = { 0, 0, 0, 0 } },
	{ .label = ~0ul, .w = { ~0ul, 0x8000000000000000ul, 0x0123456789abcdeful, 1 } },
	{ .label = 0x5a5a5a5a5a5a5a5aul, .w = { 0xa5a5a5a5a5a5a5a5ul, 2, 3, ~0ul - 1 } },
};
static const struct ipc_msg reply_words[] = {
	{ .label = 0xfedcba9876543210ul, .w = { 11, 22, 33, 44 } },
	{ .label = 0, .w = { 0, ~0ul, 0, ~0ul } },
	{ .label = 1, .w = { 0x7fffffffffffffful, 0x1ul << 40, 5, 6 } },
};
#define WORD_ROUNDS (sizeof(request_words) / sizeof(request_words[0]))

static void words_server(long unused)
{
	struct ipc_msg m;

	(void)unused;
	for (size_t i = 0; i < WORD_ROUNDS; i++) {
		test_expect(i == 0 ? ipc_recv(shared_ep, &m, NULL)
				   : ipc_reply_recv(shared_ep, &m, NULL),
			    0, "receive");
		expect_msg(&m, &request_words[i], "request");
		CHECK(m.badge == 0, "badge %lu through an unminted handle", m.badge);
		m = reply_words[i];
	}
	test_expect(ipc_reply(&m, NULL), 0, "ipc_reply");
}

static void words_client(long unused)
{
	(void)unused;
	for (size_t i = 0; i < WORD_ROUNDS; i++) {
		struct ipc_msg m = request_words[i];
		test_expect(ipc_call(shared_ep, &m, NULL), 0, "ipc_call");
		expect_msg(&m, &reply_words[i], "reply");
		CHECK(m.badge == 0, "a reply carried badge %lu", m.badge);
	}
}

/* Starts `first`, waits until it blocks, then starts `second`. */
static void run_pair(const char *first_role, void (*first)(long), const char *second_role,
		     void (*second)(long), long arg)
{
	const char *roles[2] = { first_role, second_role };
	int pids[2];

	pids[0] = spawn(first_role, first, arg);
	wait_blocked(pids[0], first_role);
	pids[1] = spawn(second_role, second, arg);
	expect_helpers_ok(pids, roles, 2);
}

static void case_label_and_words_intact(void)
{
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	run_pair("server", words_server, "client", words_client, 0);
	run_pair("client", words_client, "server", words_server, 0);
}

static const unsigned long badges[] = { 0, 1, 0xdeadbeef, ~0ul, 0x8000000000000000ul, 77 };
#define BADGE_COUNT (sizeof(badges) / sizeof(badges[0]))

static void badge_server(long unused)
{
	struct ipc_msg m;

	(void)unused;
	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv");
	for (size_t i = 0;; i++) {
		CHECK(m.label == i, "message %lu arrived as number %lu", m.label, (unsigned long)i);
		CHECK(m.badge == badges[i], "message %lu: badge 0x%lx, expected 0x%lx",
		      (unsigned long)i, m.badge, badges[i]);
		m.w[0] = m.badge;
		if (i == BADGE_COUNT - 1)
			break;
		test_expect(ipc_reply_recv(shared_ep, &m, NULL), 0, "ipc_reply_recv");
	}
	test_expect(ipc_reply(&m, NULL), 0, "ipc_reply");
}

static void case_badges_from_minted_handles(void)
{
	int h[BADGE_COUNT];

	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	h[0] = shared_ep;
	for (size_t i = 1; i < BADGE_COUNT; i++)
		h[i] = (int)ok(handle_mint(shared_ep, badges[i], RIGHT_SEND), "handle_mint");
	int server = spawn("server", badge_server, 0);
	for (size_t i = 0; i < BADGE_COUNT; i++) {
		struct ipc_msg m = msg_of(i, 0, 0, 0, 0);
		test_expect(ipc_call(h[i], &m, NULL), 0, "ipc_call");
		CHECK(m.w[0] == badges[i], "the server saw badge 0x%lx, expected 0x%lx", m.w[0],
		      badges[i]);
		CHECK(m.badge == 0, "the reply carried badge 0x%lx", m.badge);
	}
	expect_helper_ok(server, "server");
}

static unsigned char big_buf[IPC_BUF_MAX + 64];

#define SEED_REQUEST 3
#define SEED_REPLY 5
#define GUARD_BYTE 0xa5

static void buffer_server(long unused)
{
	struct ipc_msg m;
	struct ipc_ext x = ext_empty();

	(void)unused;
	memset(big_buf, GUARD_BYTE, sizeof(big_buf));
	x.recv_buf = big_buf;
	x.recv_cap = sizeof(big_buf);
	test_expect(ipc_recv(shared_ep, &m, &x), 0, "ipc_recv");
	CHECK(x.recv_len == IPC_BUF_MAX, "recv_len %lu, expected %d", x.recv_len, IPC_BUF_MAX);
	CHECK(x.recv_handle == IPC_NO_HANDLE, "recv_handle %d with no handle sent", x.recv_handle);
	expect_pattern(big_buf, IPC_BUF_MAX, SEED_REQUEST, "request buffer");
	for (size_t i = IPC_BUF_MAX; i < sizeof(big_buf); i++)
		CHECK(big_buf[i] == GUARD_BYTE, "byte %lu past the message was written",
		      (unsigned long)i);
	fill(big_buf, IPC_BUF_MAX, SEED_REPLY);
	x = ext_empty();
	x.send_buf = big_buf;
	x.send_len = IPC_BUF_MAX;
	m.label = 2;
	test_expect(ipc_reply(&m, &x), 0, "ipc_reply");
}

static void buffer_client(long unused)
{
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	static unsigned char reply[IPC_BUF_MAX];
	struct ipc_ext x = ext_empty();

	(void)unused;
	fill(big_buf, IPC_BUF_MAX, SEED_REQUEST);
	x.send_buf = big_buf;
	x.send_len = IPC_BUF_MAX;
	x.recv_buf = reply;
	x.recv_cap = sizeof(reply);
	test_expect(ipc_call(shared_ep, &m, &x), 0, "ipc_call");
	CHECK(m.label == 2, "reply label %lu", m.label);
	CHECK(x.recv_len == IPC_BUF_MAX, "reply recv_len %lu, expected %d", x.recv_len,
	      IPC_BUF_MAX);
	expect_pattern(reply, IPC_BUF_MAX, SEED_REPLY, "reply buffer");
	/* The request buffer is the caller's own: the call must not touch it. */
	expect_pattern(big_buf, IPC_BUF_MAX, SEED_REQUEST, "the caller's request buffer");
}

static void case_buffer_4k_intact(void)
{
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	run_pair("server", buffer_server, "client", buffer_client, 0);
	run_pair("client", buffer_client, "server", buffer_server, 0);
}

#define TRUNC_SENT 1000
#define TRUNC_CAP 100

static void truncating_receiver(long unused)
{
	static unsigned char buf[2 * TRUNC_CAP];
	struct ipc_msg m;
	struct ipc_ext x = ext_empty();

	(void)unused;
	memset(buf, GUARD_BYTE, sizeof(buf));
	x.recv_buf = buf;
	x.recv_cap = TRUNC_CAP;
	test_expect(ipc_recv(shared_ep, &m, &x), 0, "ipc_recv");
	CHECK(x.recv_len == TRUNC_SENT, "recv_len %lu, expected the full %d", x.recv_len,
	      TRUNC_SENT);
	expect_pattern(buf, TRUNC_CAP, SEED_REQUEST, "the first recv_cap bytes");
	for (size_t i = TRUNC_CAP; i < sizeof(buf); i++)
		CHECK(buf[i] == GUARD_BYTE, "byte %lu past recv_cap was written", (unsigned long)i);
	CHECK(m.label == 9 && m.w[3] == 99, "the words did not survive the truncation");

	/* recv_cap 0: the length is reported and nothing is copied. */
	memset(buf, GUARD_BYTE, sizeof(buf));
	x = ext_empty();
	x.recv_buf = buf;
	x.recv_cap = 0;
	test_expect(ipc_recv(shared_ep, &m, &x), 0, "ipc_recv with recv_cap 0");
	CHECK(x.recv_len == TRUNC_SENT, "recv_len %lu with recv_cap 0", x.recv_len);
	CHECK(buf[0] == GUARD_BYTE, "recv_cap 0, yet byte 0 was written");

	/* No ext at all: the words still arrive. */
	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv without an ext");
	CHECK(m.label == 9 && m.w[3] == 99, "the words did not arrive without an ext");
}

static void truncated_sender(long unused)
{
	static unsigned char buf[TRUNC_SENT];
	struct ipc_msg m = msg_of(9, 0, 0, 0, 99);
	struct ipc_ext x = ext_empty();

	(void)unused;
	fill(buf, sizeof(buf), SEED_REQUEST);
	x.send_buf = buf;
	x.send_len = sizeof(buf);
	for (int i = 0; i < 3; i++) {
		test_expect(ipc_send(shared_ep, &m, &x), 0, "ipc_send");
		CHECK(x.recv_len == 0 && x.recv_handle == IPC_NO_HANDLE,
		      "a plain send wrote its sender's ext: recv_len %lu", x.recv_len);
	}
}

static void case_buffer_truncated_to_recv_cap(void)
{
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	run_pair("receiver", truncating_receiver, "sender", truncated_sender, 0);
	run_pair("sender", truncated_sender, "receiver", truncating_receiver, 0);
}

/* ---- handles ------------------------------------------------------------- */

#define TRANSFER_BADGE 55
#define TRANSFER_BIT 0x10

static int shared_notification;
static int shared_notification_back; /* the other way, when a case needs both */

/* Receives a message on shared_ep that must pass a handle: that handle. */
static int receive_handle(void)
{
	struct ipc_msg m;
	struct ipc_ext x = ext_empty();

	test_expect(ipc_recv(shared_ep, &m, &x), 0, "ipc_recv of a handle");
	CHECK(x.recv_handle >= 0, "no handle received: %d", x.recv_handle);
	return x.recv_handle;
}

/* Receives a notification handle and a badged endpoint handle, proves it
 * can use both, and sends on the endpoint. */
static void transfer_server(long unused)
{
	struct ipc_msg m;
	struct ipc_ext x = ext_empty();

	(void)unused;
	test_expect(ipc_recv(shared_ep, &m, &x), 0, "ipc_recv");
	int n = x.recv_handle;
	CHECK(n >= 0 && n < HANDLE_MAX, "recv_handle %d for a passed notification", n);
	test_expect(notify_signal(n, TRANSFER_BIT), 0, "notify_signal through the received handle");
	m.label = 1;
	test_expect(ipc_reply_recv(shared_ep, &m, &x), 0, "ipc_reply_recv");
	int back = x.recv_handle;
	CHECK(back >= 0 && back < HANDLE_MAX && back != n, "recv_handle %d for a passed endpoint",
	      back);
	m.label = 2;
	test_expect(ipc_reply_recv(shared_ep, &m, &x), 0, "ipc_reply_recv");
	CHECK(x.recv_handle == IPC_NO_HANDLE, "recv_handle %d with no handle passed",
	      x.recv_handle);
	m.label = 3;
	test_expect(ipc_reply(&m, NULL), 0, "ipc_reply");
	/* The received endpoint handle carries its badge along. */
	m = msg_of(42, 0, 0, 0, 0);
	test_expect(ipc_send(back, &m, NULL), 0, "ipc_send through the received endpoint handle");
}

static void case_handle_transfer(void)
{
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	int n = (int)ok(notify_create(), "notify_create");
	int back = (int)ok(endpoint_create(), "endpoint_create");
	int back_badged = (int)ok(handle_mint(back, TRANSFER_BADGE, RIGHT_SEND), "handle_mint");
	unsigned long objects = mem_now().ipc_objects;
	int server = spawn("server", transfer_server, 0);
	struct ipc_msg m = msg_of(0, 0, 0, 0, 0);
	struct ipc_ext x = ext_empty();

	wait_blocked(server, "server");
	x.send_handle = n;
	test_expect(ipc_call(shared_ep, &m, &x), 0, "ipc_call passing a notification");
	CHECK(m.label == 1, "reply label %lu", m.label);
	CHECK(x.recv_handle == IPC_NO_HANDLE, "the reply handed back handle %d", x.recv_handle);
	/* Our handle still works, and names the object the server signalled. */
	test_expect(notify_wait(n, NOTIFY_NONBLOCK), TRANSFER_BIT,
		    "notify_wait on the passed handle");
	x.send_handle = back_badged;
	test_expect(ipc_call(shared_ep, &m, &x), 0, "ipc_call passing a badged endpoint");
	x.send_handle = IPC_NO_HANDLE;
	test_expect(ipc_call(shared_ep, &m, &x), 0, "ipc_call passing nothing");
	CHECK(m.label == 3, "reply label %lu", m.label);
	test_expect(ipc_recv(back, &m, NULL), 0, "ipc_recv of the server's send");
	CHECK(m.label == 42, "label %lu through the passed endpoint", m.label);
	CHECK(m.badge == TRANSFER_BADGE, "badge %lu through the passed endpoint, expected %d",
	      m.badge, TRANSFER_BADGE);
	expect_helper_ok(server, "server");
	CHECK(mem_now().ipc_objects == objects,
	      "passing handles changed the objects alive: %lu, was %lu", mem_now().ipc_objects,
	      objects);
	test_expect(handle_close(back_badged), 0, "handle_close of the passed handle");
	test_expect(notify_signal(n, 1), 0, "notify_signal after the transfer");
}

static void inheriting_child(long unused)
{
	struct ipc_msg m = msg_of(0x1234, 5, 6, 7, 8);

	(void)unused;
	test_expect(notify_signal(shared_notification, 0x8), 0, "notify_signal(inherited)");
	test_expect(ipc_send(shared_ep, &m, NULL), 0, "ipc_send(inherited)");
	/* Closing our copy must not touch the parent's. */
	test_expect(handle_close(shared_ep), 0, "handle_close(inherited)");
	test_expect(handle_close(shared_notification), 0, "handle_close(inherited)");
}

static void case_handles_inherited_by_fork(void)
{
	struct ipc_msg m;

	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	shared_notification = (int)ok(notify_create(), "notify_create");
	int child = spawn("child", inheriting_child, 0);
	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv");
	struct ipc_msg want = msg_of(0x1234, 5, 6, 7, 8);
	expect_msg(&m, &want, "the child's message");
	expect_helper_ok(child, "child");
	test_expect(notify_wait(shared_notification, 0), 0x8, "notify_wait");
	test_expect(ipc_try_send(shared_ep, &m, NULL), -EAGAIN,
		    "ipc_try_send after the child closed");
	test_expect(notify_signal(shared_notification, 1), 0,
		    "notify_signal after the child closed");
}

static void case_handle_table_full(void)
{
	int h[HANDLE_MAX];
	int count = 0;
	unsigned long objects = mem_now().ipc_objects;
	int e = (int)ok(endpoint_create(), "endpoint_create");

	h[count++] = e;
	for (;;) {
		long r = notify_create();
		if (r == -ENOSPC)
			break;
		CHECK(count < HANDLE_MAX, "more than HANDLE_MAX handles");
		h[count++] = (int)ok(r, "notify_create");
	}
	CHECK(count == HANDLE_MAX, "the table took %d handles, expected %d", count, HANDLE_MAX);
	for (int i = 0; i < count; i++)
		CHECK(h[i] >= 0 && h[i] < HANDLE_MAX, "handle %d out of range", h[i]);
	test_expect(endpoint_create(), -ENOSPC, "endpoint_create with a full table");
	test_expect(handle_mint(e, 1, RIGHT_SEND), -ENOSPC, "handle_mint with a full table");
	test_expect(handle_dup(e, RIGHT_SEND), -ENOSPC, "handle_dup with a full table");
	CHECK(mem_now().ipc_objects == objects + HANDLE_MAX, "objects %lu, expected %lu",
	      mem_now().ipc_objects, objects + HANDLE_MAX);
	for (int i = 0; i < count; i++)
		test_expect(handle_close(h[i]), 0, "handle_close");
	CHECK(mem_now().ipc_objects == objects, "objects %lu after closing all, expected %lu",
	      mem_now().ipc_objects, objects);
}

static void case_last_close_frees(void)
{
	unsigned long objects = mem_now().ipc_objects;
	unsigned long pages = mem_now().free_pages;
	int e = (int)ok(endpoint_create(), "endpoint_create");
	int n = (int)ok(notify_create(), "notify_create");

	CHECK(mem_now().ipc_objects == objects + 2, "two objects made, %lu counted",
	      mem_now().ipc_objects - objects);
	int minted = (int)ok(handle_mint(e, 9, RIGHT_SEND), "handle_mint");
	CHECK(mem_now().ipc_objects == objects + 2, "minting made an object");
	test_expect(handle_close(e), 0, "handle_close(endpoint)");
	CHECK(mem_now().ipc_objects == objects + 2, "the endpoint died with a minted handle open");
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	test_expect(ipc_try_send(minted, &m, NULL), -EAGAIN,
		    "ipc_try_send through the minted handle");
	test_expect(handle_close(minted), 0, "handle_close(minted)");
	CHECK(mem_now().ipc_objects == objects + 1, "the endpoint outlived its last handle");
	test_expect(handle_close(n), 0, "handle_close(notification)");
	CHECK(mem_now().ipc_objects == objects, "the notification outlived its last handle");
	CHECK(mem_now().free_pages == pages, "free pages %lu, were %lu", mem_now().free_pages,
	      pages);
}

#define LABEL_WITH_HANDLE 0x4a

/* Sends a handle to its own notification, then closes that handle: the
 * notification lives on only if the receiver got a handle too. */
static void handle_sender(long unused)
{
	struct ipc_msg m = msg_of(LABEL_WITH_HANDLE, 1, 2, 3, 4);
	struct ipc_ext x = ext_empty();

	(void)unused;
	x.send_handle = (int)ok(notify_create(), "notify_create");
	test_expect(ipc_send(shared_ep, &m, &x), 0, "ipc_send of a handle");
	test_expect(handle_close(x.send_handle), 0, "handle_close of the sent handle");
}

/* Replies to a call with a handle, the same way. */
static void handle_replier(long unused)
{
	struct ipc_msg m;
	struct ipc_ext x = ext_empty();

	(void)unused;
	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv");
	m = msg_of(LABEL_WITH_HANDLE, 5, 6, 7, 8);
	x.send_handle = (int)ok(notify_create(), "notify_create");
	test_expect(ipc_reply(&m, &x), 0, "ipc_reply with a handle");
	test_expect(handle_close(x.send_handle), 0, "handle_close of the sent handle");
}

/* A receiver that gave no ext has nowhere to learn a handle's number: the
 * message arrives, the handle is dropped, and no object is left behind. */
static void case_handle_without_ext_dropped(void)
{
	struct ipc_msg m;

	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	struct mem_info before = mem_now();
	int sender = spawn("sender", handle_sender, 0);
	wait_blocked(sender, "sender");
	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv without ext");
	struct ipc_msg want = msg_of(LABEL_WITH_HANDLE, 1, 2, 3, 4);
	expect_msg(&m, &want, "the message that carried a handle");
	expect_helper_ok(sender, "sender");
	expect_mem_back(&before, "after a handle sent to a receiver without ext");

	int replier = spawn("replier", handle_replier, 0);
	wait_blocked(replier, "replier");
	m = msg_of(1, 0, 0, 0, 0);
	test_expect(ipc_call(shared_ep, &m, NULL), 0, "ipc_call without ext");
	want = msg_of(LABEL_WITH_HANDLE, 5, 6, 7, 8);
	expect_msg(&m, &want, "the reply that carried a handle");
	expect_helper_ok(replier, "replier");
	expect_mem_back(&before, "after a handle replied to a caller without ext");
}

/* ---- try operations meeting a blocked peer ------------------------------- */

static void blocked_receiver(long unused)
{
	struct ipc_msg m;

	(void)unused;
	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv");
	CHECK(m.label == 31 && m.w[0] == 32, "got label %lu word %lu", m.label, m.w[0]);
}

static void blocked_sender(long unused)
{
	struct ipc_msg m = msg_of(41, 42, 0, 0, 0);

	(void)unused;
	test_expect(ipc_send(shared_ep, &m, NULL), 0, "ipc_send");
}

static void case_try_meets_blocked_peer(void)
{
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	int r = spawn("receiver", blocked_receiver, 0);
	wait_blocked(r, "receiver");
	struct ipc_msg m = msg_of(31, 32, 0, 0, 0);
	test_expect(ipc_try_send(shared_ep, &m, NULL), 0, "ipc_try_send to a blocked receiver");
	expect_helper_ok(r, "receiver");

	int s = spawn("sender", blocked_sender, 0);
	wait_blocked(s, "sender");
	test_expect(ipc_try_recv(shared_ep, &m, NULL), 0, "ipc_try_recv from a blocked sender");
	CHECK(m.label == 41 && m.w[0] == 42, "got label %lu word %lu", m.label, m.w[0]);
	expect_helper_ok(s, "sender");
	test_expect(ipc_try_recv(shared_ep, &m, NULL), -EAGAIN, "a second ipc_try_recv");
}

/* ---- notifications ------------------------------------------------------- */

static void case_notify_bits_coalesce(void)
{
	int n = (int)ok(notify_create(), "notify_create");

	test_expect(notify_signal(n, 1), 0, "notify_signal(1)");
	test_expect(notify_signal(n, 2), 0, "notify_signal(2)");
	test_expect(notify_signal(n, 4), 0, "notify_signal(4)");
	test_expect(notify_signal(n, 2), 0, "notify_signal(2) again");
	test_expect(notify_wait(n, 0), 7, "notify_wait");
	test_expect(notify_wait(n, NOTIFY_NONBLOCK), -EAGAIN,
		    "notify_wait after the bits were taken");
	test_expect(notify_signal(n, NOTIFY_BITS_MASK | 1ul << 63), 0, "notify_signal(all bits)");
	test_expect(notify_wait(n, NOTIFY_NONBLOCK), (long)NOTIFY_BITS_MASK,
		    "notify_wait(all bits)");
}

#define WAKE_BITS 0x50

static void notify_waiter(long unused)
{
	(void)unused;
	test_expect(notify_wait(shared_notification, 0), WAKE_BITS, "notify_wait");
}

static void case_notify_wakes_other_process(void)
{
	shared_notification = (int)ok(notify_create(), "notify_create");
	int w = spawn("waiter", notify_waiter, 0);
	wait_blocked(w, "waiter");
	test_expect(notify_signal(shared_notification, WAKE_BITS), 0, "notify_signal");
	expect_helper_ok(w, "waiter");
}

/* ---- death --------------------------------------------------------------- */

static char death_name[IPC_NAME_MAX];

#define BIT_READY 1
#define BIT_HOLDING 2
#define BIT_HANDED 0x100

/* What a dying server does once its endpoint is named. */
enum dying_mode {
	DIE_IDLE,         /* nothing: it never receives */
	DIE_HOLDING_CALL, /* receives one call and sits on it */
	DIE_SHARING_RECV, /* sends a handle that can send and receive on it
			     through shared_ep, to each process that asks */
};

/* Creates the endpoint (so that it dies with this process), names it, and
 * does what `mode` says. */
static void dying_server(long mode)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	struct ipc_ext x = ext_empty();

	test_expect(ipc_register(death_name, e, RIGHT_SEND), 0, "ipc_register");
	test_expect(notify_signal(shared_notification, BIT_READY), 0, "notify_signal");
	if (mode == DIE_HOLDING_CALL) {
		test_expect(ipc_recv(e, &m, NULL), 0, "ipc_recv");
		test_expect(notify_signal(shared_notification, BIT_HOLDING), 0, "notify_signal");
	}
	if (mode == DIE_SHARING_RECV) {
		x.send_handle = (int)ok(handle_dup(e, RIGHT_SEND | RIGHT_RECV), "handle_dup");
		for (;;)
			test_expect(ipc_send(shared_ep, &m, &x), 0, "ipc_send of a receive handle");
	}
	block_forever();
}

/* The handle a receiver gets from a DIE_SHARING_RECV server; says so. */
static int handle_from_dying_server(void)
{
	int h = receive_handle();

	test_expect(notify_signal(shared_notification, BIT_HANDED), 0, "notify_signal");
	return h;
}

/* Blocks on the server's endpoint in one of three ways; every one must
 * end with -EPIPE when the server dies, and so must everything after.
 * A looked-up handle cannot receive, so a receiver asks the server for a
 * handle that can; a sender's attempts to receive fail for want of the
 * right, which is checked before anything else. */
enum doomed_op { DOOMED_CALL, DOOMED_SEND, DOOMED_RECV };

static void doomed_client(long op)
{
	int h = op == DOOMED_RECV ? handle_from_dying_server()
				  : (int)ok(ipc_lookup(death_name), "ipc_lookup");
	long recv_err = op == DOOMED_RECV ? -EPIPE : -EPERM;
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);

	if (op == DOOMED_CALL)
		test_expect(ipc_call(h, &m, NULL), -EPIPE, "ipc_call");
	else if (op == DOOMED_SEND)
		test_expect(ipc_send(h, &m, NULL), -EPIPE, "ipc_send");
	else
		test_expect(ipc_recv(h, &m, NULL), -EPIPE, "ipc_recv");
	test_expect(ipc_call(h, &m, NULL), -EPIPE, "ipc_call on a dead endpoint");
	test_expect(ipc_send(h, &m, NULL), -EPIPE, "ipc_send on a dead endpoint");
	test_expect(ipc_recv(h, &m, NULL), recv_err, "ipc_recv on a dead endpoint");
	test_expect(ipc_try_send(h, &m, NULL), -EPIPE, "ipc_try_send on a dead endpoint");
	test_expect(ipc_try_recv(h, &m, NULL), recv_err, "ipc_try_recv on a dead endpoint");
	test_expect(handle_close(h), 0, "handle_close of a dead endpoint");
}

/* Kills a server while the clients of `ops` are blocked on its endpoint. */
static void kill_server_under(const long *ops, int count, const char *const *roles)
{
	unsigned long seen = 0;
	int clients[3];
	const char *who[3];

	snprintf(death_name, sizeof(death_name), "%s", unique_name("death"));
	int server = spawn("server", dying_server, DIE_SHARING_RECV);
	await_bits(shared_notification, BIT_READY, &seen, "server ready");
	for (int i = 0; i < count; i++) {
		who[i] = roles[ops[i]];
		clients[i] = spawn(who[i], doomed_client, ops[i]);
		if (ops[i] == DOOMED_RECV) /* then its next block is on the server's endpoint */
			await_bits(shared_notification, BIT_HANDED, &seen, "handle handed over");
	}
	for (int i = 0; i < count; i++)
		wait_blocked(clients[i], roles[ops[i]]);
	int h = (int)ok(ipc_lookup(death_name), "ipc_lookup");
	test_expect(kill(server), 0, "kill(server)");
	expect_killed(server, "server");
	expect_helpers_ok(clients, who, count);
	test_expect(ipc_lookup(death_name), -ENOENT, "ipc_lookup of a dead server's name");
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	test_expect(ipc_try_send(h, &m, NULL), -EPIPE, "ipc_try_send on our handle to it");
	/* Our handle is the last reference to the dead endpoint. */
	unsigned long objects = mem_now().ipc_objects;
	test_expect(handle_close(h), 0, "handle_close");
	CHECK(mem_now().ipc_objects == objects - 1, "closing the last handle freed nothing");
}

static void case_server_death_wakes_blocked(void)
{
	static const char *const roles[] = { "caller", "sender", "receiver" };
	/* Blocked senders and blocked receivers never meet on one endpoint:
	 * they would take each other's messages. So two servers die. */
	static const long senders[] = { DOOMED_CALL, DOOMED_SEND, DOOMED_CALL };
	static const long receivers[] = { DOOMED_RECV, DOOMED_RECV };

	shared_notification = (int)ok(notify_create(), "notify_create");
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	kill_server_under(senders, 3, roles);
	kill_server_under(receivers, 2, roles);
}

static void case_server_death_during_call(void)
{
	unsigned long seen = 0;

	snprintf(death_name, sizeof(death_name), "%s", unique_name("held"));
	shared_notification = (int)ok(notify_create(), "notify_create");
	int server = spawn("server", dying_server, DIE_HOLDING_CALL);
	await_bits(shared_notification, BIT_READY, &seen, "server ready");
	int client = spawn("caller", doomed_client, DOOMED_CALL);
	await_bits(shared_notification, BIT_HOLDING, &seen, "server holding the call");
	wait_blocked(client, "caller");
	wait_blocked(server, "server");
	test_expect(kill(server), 0, "kill(server)");
	expect_killed(server, "server");
	expect_helper_ok(client, "caller");
}

#define BIT_GO 4
#define LABEL_LAST 77

/* Receives a call, waits to be told its caller is dead, then finds its
 * reply refused; then receives a second call, and after that caller is
 * dead too, replies with reply_recv, which must go on to receive. */
static void bereaved_server(long go_handle)
{
	struct ipc_msg m;
	int go = (int)go_handle;

	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv of the first call");
	test_expect(notify_signal(shared_notification, BIT_HOLDING), 0, "notify_signal");
	CHECK(notify_wait(go, 0) == BIT_GO, "no go");
	test_expect(ipc_reply(&m, NULL), -EPIPE, "ipc_reply to a dead caller");
	test_expect(ipc_reply(&m, NULL), -EINVAL, "ipc_reply after the failed one");

	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv of the second call");
	test_expect(notify_signal(shared_notification, BIT_HOLDING), 0, "notify_signal");
	CHECK(notify_wait(go, 0) == BIT_GO, "no go");
	test_expect(ipc_reply_recv(shared_ep, &m, NULL), 0, "ipc_reply_recv after a dead caller");
	CHECK(m.label == LABEL_LAST, "received label %lu, expected %d", m.label, LABEL_LAST);
}

static void doomed_caller(long unused)
{
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);

	(void)unused;
	ipc_call(shared_ep, &m, NULL);
	test_fail("ipc_call returned although nobody replied");
}

static void last_sender(long unused)
{
	struct ipc_msg m = msg_of(LABEL_LAST, 0, 0, 0, 0);

	(void)unused;
	test_expect(ipc_send(shared_ep, &m, NULL), 0, "ipc_send");
}

static void case_client_death_mid_call(void)
{
	unsigned long seen = 0;
	int go = (int)ok(notify_create(), "notify_create");

	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	shared_notification = (int)ok(notify_create(), "notify_create");
	int server = spawn("server", bereaved_server, go);
	for (int round = 0; round < 2; round++) {
		int caller = spawn("caller", doomed_caller, 0);
		await_bits(shared_notification, BIT_HOLDING, &seen, "server holding the call");
		wait_blocked(caller, "caller");
		test_expect(kill(caller), 0, "kill(caller)");
		expect_killed(caller, "caller");
		int sender = round ? spawn("sender", last_sender, 0) : 0;
		if (sender)
			wait_blocked(sender, "sender");
		test_expect(notify_signal(go, BIT_GO), 0, "notify_signal(go)");
		if (sender)
			expect_helper_ok(sender, "sender");
	}
	expect_helper_ok(server, "server");
}

/* ---- one reply owed at a time ------------------------------------------- */

#define BIT_FIRST_WOKEN 8
#define LABEL_FIRST 0xf1
#define LABEL_SECOND 0xf2
#define LABEL_ANSWER 0xa2

/* Its call is ended by the server's receiving another: -EPIPE. Says so,
 * then waits to be killed. */
static void superseded_caller(long unused)
{
	struct ipc_msg m = msg_of(LABEL_FIRST, 0, 0, 0, 0);

	(void)unused;
	test_expect(ipc_call(shared_ep, &m, NULL), -EPIPE,
		    "ipc_call of a server that took another");
	test_expect(notify_signal(shared_notification, BIT_FIRST_WOKEN), 0, "notify_signal");
	block_forever();
}

static void answered_caller(long unused)
{
	struct ipc_msg m = msg_of(LABEL_SECOND, 0, 0, 0, 0);

	(void)unused;
	test_expect(ipc_call(shared_ep, &m, NULL), 0, "ipc_call");
	CHECK(m.label == LABEL_ANSWER, "reply label 0x%lx, expected 0x%x", m.label, LABEL_ANSWER);
}

/* A server receives a second call before it replies to the first: the
 * first caller wakes with -EPIPE, killing it later changes nothing, and
 * the reply goes to the second caller. */
static void case_second_call_ends_first(void)
{
	struct mem_info before = mem_now();
	unsigned long seen = 0;
	struct ipc_msg m;

	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	shared_notification = (int)ok(notify_create(), "notify_create");
	int first = spawn("first caller", superseded_caller, 0);
	wait_blocked(first, "first caller");
	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv of the first call");
	CHECK(m.label == LABEL_FIRST, "first call's label 0x%lx", m.label);
	int second = spawn("second caller", answered_caller, 0);
	wait_blocked(second, "second caller");
	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv of the second call");
	CHECK(m.label == LABEL_SECOND, "second call's label 0x%lx", m.label);
	await_bits(shared_notification, BIT_FIRST_WOKEN, &seen, "the first caller woken");
	test_expect(kill(first), 0, "kill(first caller)");
	expect_killed(first, "first caller");
	m = msg_of(LABEL_ANSWER, 0, 0, 0, 0);
	test_expect(ipc_reply(&m, NULL), 0, "ipc_reply to the second caller");
	test_expect(ipc_reply(&m, NULL), -EINVAL, "a second ipc_reply");
	expect_helper_ok(second, "second caller");
	test_expect(handle_close(shared_ep), 0, "handle_close(endpoint)");
	test_expect(handle_close(shared_notification), 0, "handle_close(notification)");
	expect_mem_back(&before, "after the case");
}

/* ---- many clients -------------------------------------------------------- */

#define STRESS_CLIENTS 8
#define STRESS_CALLS 2500
#define STRESS_BUF_EVERY 8
#define STRESS_BUF_LEN 64
#define LABEL_WORK 0x57
#define LABEL_DONE 0xd0
#define LABEL_OK 0x0c
#define LABEL_BAD 0xbad
#define PROGRESS_EVERY 100 /* calls between the server's progress signals */
#define PROGRESS_BIT 1
#define PROGRESS_POLL_MS 10

static unsigned long checksum(unsigned long label, unsigned long a, unsigned long b,
			      unsigned long c)
{
	unsigned long x = label * 0x9e3779b97f4a7c15ul;

	x = (x ^ a) * 0xbf58476d1ce4e5b9ul;
	x = (x ^ b) * 0x94d049bb133111ebul;
	return (x ^ c) * 0x9e3779b97f4a7c15ul + 1;
}

struct stress_report {
	unsigned long calls[STRESS_CLIENTS + 1]; /* by badge */
	unsigned long bad;
	char first_problem[96];
};

/* Checks every message: the right client (badge), the next sequence
 * number of that client, the checksum, and the buffer when one comes. */
static void stress_server(long unused)
{
	static struct stress_report report;
	static unsigned char buf[STRESS_BUF_LEN + 8];
	unsigned long next[STRESS_CLIENTS + 1] = { 0 };
	struct ipc_msg m;
	struct ipc_ext x = ext_empty();

	(void)unused;
	x.recv_buf = buf;
	x.recv_cap = sizeof(buf);
	long err = ipc_recv(shared_ep, &m, &x);
	while (err == 0 && m.label == LABEL_WORK) {
		unsigned long id = m.badge, seq = m.w[1];
		const char *problem = NULL;
		if (id < 1 || id > STRESS_CLIENTS || m.w[0] != id)
			problem = "wrong badge";
		else if (seq != next[id])
			problem = seq < next[id] ? "duplicate or old message" : "message lost";
		else if (m.w[3] != checksum(m.label, m.w[0], m.w[1], m.w[2]))
			problem = "bad checksum";
		else if (seq % STRESS_BUF_EVERY == 0 && x.recv_len != STRESS_BUF_LEN)
			problem = "buffer length";
		else if (seq % STRESS_BUF_EVERY != 0 && x.recv_len != 0)
			problem = "a buffer nobody sent";
		for (size_t i = 0; !problem && x.recv_len && i < STRESS_BUF_LEN; i++)
			if (buf[i] != pattern(id + seq, i))
				problem = "buffer contents";
		if (problem) {
			if (!report.bad++)
				snprintf(report.first_problem, sizeof(report.first_problem),
					 "%s: badge %lu word0 %lu seq %lu (expected %lu)", problem,
					 id, m.w[0], seq, id <= STRESS_CLIENTS ? next[id] : 0);
		} else {
			next[id]++;
			if (++report.calls[id] % PROGRESS_EVERY == 0)
				notify_signal(shared_notification, PROGRESS_BIT);
		}
		unsigned long answer = ~m.w[2];
		m.label = problem ? LABEL_BAD : LABEL_OK;
		m.w[0] = id;
		m.w[2] = answer;
		m.w[3] = checksum(m.label, id, seq, answer);
		x = ext_empty();
		x.recv_buf = buf;
		x.recv_cap = sizeof(buf);
		err = ipc_reply_recv(shared_ep, &m, &x);
	}
	test_expect(err, 0, "receive");
	CHECK(m.label == LABEL_DONE, "unexpected label 0x%lx", m.label);
	x = ext_empty();
	x.send_buf = &report;
	x.send_len = sizeof(report);
	test_expect(ipc_reply(&m, &x), 0, "ipc_reply with the report");
}

static int stress_handles[STRESS_CLIENTS + 1]; /* [i]: badge i */

static void stress_client(long id)
{
	static unsigned char buf[STRESS_BUF_LEN];
	struct ipc_msg m;
	unsigned long me = (unsigned long)id;

	for (unsigned long seq = 0; seq < STRESS_CALLS; seq++) {
		struct ipc_ext x = ext_empty();
		unsigned long payload = seq * 2654435761ul + me;
		m = msg_of(LABEL_WORK, me, seq, payload, checksum(LABEL_WORK, me, seq, payload));
		if (seq % STRESS_BUF_EVERY == 0) {
			fill(buf, sizeof(buf), me + seq);
			x.send_buf = buf;
			x.send_len = sizeof(buf);
		}
		test_expect(ipc_call(stress_handles[me], &m, &x), 0, "ipc_call");
		CHECK(m.label == LABEL_OK, "call %lu: the server answered 0x%lx", seq, m.label);
		CHECK(m.w[0] == me && m.w[1] == seq && m.w[2] == ~payload &&
			      m.w[3] == checksum(LABEL_OK, me, seq, ~payload),
		      "call %lu: a reply meant for someone else (id %lu seq %lu)", seq, m.w[0],
		      m.w[1]);
	}
}

/* Waits for the clients as long as calls keep completing. */
static void await_stress_clients(int server, const int *clients, const char *const *who)
{
	bool done[STRESS_CLIENTS] = { false };
	int left = STRESS_CLIENTS, quiet_ms = 0;

	while (left) {
		for (int i = 0; i < STRESS_CLIENTS; i++) {
			if (done[i] || proc_state(clients[i]) != PROC_ZOMBIE)
				continue;
			expect_helper_ok(clients[i], who[i]);
			done[i] = true;
			left--;
		}
		if (proc_state(server) == PROC_ZOMBIE) {
			expect_helper_ok(server, "server");
			test_fail("the server ended with %d clients still running", left);
		}
		quiet_ms = notify_wait(shared_notification, NOTIFY_NONBLOCK) > 0
				   ? 0
				   : quiet_ms + PROGRESS_POLL_MS;
		CHECK(quiet_ms < STALL_MS, "no call completed for %d s; clients still running: %d",
		      STALL_MS / 1000, left);
		if (left)
			sleep_ms(PROGRESS_POLL_MS);
	}
}

static void case_many_clients_in_order(void)
{
	int clients[STRESS_CLIENTS];
	char names[STRESS_CLIENTS][16];
	const char *who[STRESS_CLIENTS];

	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	shared_notification = (int)ok(notify_create(), "notify_create");
	for (int i = 1; i <= STRESS_CLIENTS; i++)
		stress_handles[i] = (int)ok(handle_mint(shared_ep, (unsigned long)i, RIGHT_SEND),
					    "handle_mint");
	int server = spawn("server", stress_server, 0);
	unsigned long start = clock_ns();
	for (int i = 0; i < STRESS_CLIENTS; i++) {
		snprintf(names[i], sizeof(names[i]), "client %d", i + 1);
		who[i] = names[i];
		clients[i] = spawn(who[i], stress_client, i + 1);
	}
	await_stress_clients(server, clients, who);
	unsigned long ns = clock_ns() - start;

	static struct stress_report report;
	struct ipc_msg m = msg_of(LABEL_DONE, 0, 0, 0, 0);
	struct ipc_ext x = ext_empty();
	x.recv_buf = &report;
	x.recv_cap = sizeof(report);
	test_expect(ipc_call(shared_ep, &m, &x), 0, "ipc_call for the report");
	expect_helper_ok(server, "server");
	CHECK(x.recv_len == sizeof(report), "report of %lu bytes", x.recv_len);
	CHECK(report.bad == 0, "the server saw %lu bad messages; the first: %s", report.bad,
	      report.first_problem);
	for (int i = 1; i <= STRESS_CLIENTS; i++)
		CHECK(report.calls[i] == STRESS_CALLS, "client %d: the server counted %lu calls", i,
		      report.calls[i]);
	printf("ipctests: %s: %d calls from %d clients, %d CPU(s), %lu ms, %lu ns per call\n",
	       test_case_name, STRESS_CLIENTS * STRESS_CALLS, STRESS_CLIENTS, cpus_online(),
	       ns / 1000000, ns / (STRESS_CLIENTS * STRESS_CALLS));
}

/* ---- across CPUs --------------------------------------------------------- */

#define CROSS_ROUNDS 200

static void pinned_receiver(long cpu)
{
	struct ipc_msg m;

	test_expect(cpu_pin((int)cpu), 0, "cpu_pin");
	CHECK(cpu_now() == cpu, "pinned to CPU %ld, running on %d", cpu, cpu_now());
	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv");
	for (int i = 0;; i++) {
		CHECK(cpu_now() == cpu, "woke on CPU %d, pinned to %ld", cpu_now(), cpu);
		CHECK(m.w[0] == (unsigned long)i, "round %d got %lu", i, m.w[0]);
		m.w[1] = (unsigned long)cpu_now();
		if (i == CROSS_ROUNDS - 1)
			break;
		test_expect(ipc_reply_recv(shared_ep, &m, NULL), 0, "ipc_reply_recv");
	}
	test_expect(ipc_reply(&m, NULL), 0, "ipc_reply");
	test_expect(notify_wait(shared_notification, 0), WAKE_BITS, "notify_wait");
	CHECK(cpu_now() == cpu, "woke from notify_wait on CPU %d, pinned to %ld", cpu_now(), cpu);
}

static void case_cross_cpu_wake(void)
{
	int ncpus = cpus_online();
	int there = ncpus - 1;

	CHECK(ncpus >= 1, "cpu_info reports %d CPUs", ncpus);
	test_expect(cpu_pin(ncpus), -EINVAL, "cpu_pin to a CPU that is not there");
	test_expect(cpu_pin(0), 0, "cpu_pin(0)");
	CHECK(cpu_now() == 0, "pinned to CPU 0, running on %d", cpu_now());
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	shared_notification = (int)ok(notify_create(), "notify_create");
	int r = spawn("receiver", pinned_receiver, there);
	for (int i = 0; i < CROSS_ROUNDS; i++) {
		if (i == 0)
			wait_blocked(r, "receiver");
		struct ipc_msg m = msg_of(1, (unsigned long)i, 0, 0, 0);
		test_expect(ipc_call(shared_ep, &m, NULL), 0, "ipc_call");
		CHECK(m.w[1] == (unsigned long)there, "the receiver ran on CPU %lu, pinned to %d",
		      m.w[1], there);
		CHECK(cpu_now() == 0, "the caller woke on CPU %d, pinned to 0", cpu_now());
	}
	wait_blocked(r, "receiver");
	test_expect(notify_signal(shared_notification, WAKE_BITS), 0, "notify_signal");
	expect_helper_ok(r, "receiver");
	test_expect(cpu_pin(-1), 0, "cpu_pin(-1)");
}

/* ---- the registry -------------------------------------------------------- */

#define LOOKUP_TRIES 5000

static char service_name[IPC_NAME_MAX];

/* Forked before the service existed: it inherits no handle to it. */
static void stranger(long unused)
{
	long h = -ENOENT;

	(void)unused;
	for (int i = 0; i < LOOKUP_TRIES && h == -ENOENT; i++) {
		h = ipc_lookup(service_name);
		if (h == -ENOENT)
			sleep_ms(1);
	}
	ok(h, "ipc_lookup");
	struct ipc_msg m = msg_of(0x600d, 21, 0, 0, 0);
	test_expect(ipc_call((int)h, &m, NULL), 0, "ipc_call through the looked-up handle");
	CHECK(m.w[0] == 42, "the service answered %lu", m.w[0]);
}

static void named_service(long unused)
{
	struct ipc_msg m;
	int e = (int)ok(endpoint_create(), "endpoint_create");

	(void)unused;
	test_expect(ipc_register(service_name, e, RIGHT_SEND), 0, "ipc_register");
	test_expect(ipc_recv(e, &m, NULL), 0, "ipc_recv");
	CHECK(m.label == 0x600d, "label 0x%lx", m.label);
	m.w[0] *= 2;
	test_expect(ipc_reply(&m, NULL), 0, "ipc_reply");
}

static void case_registry_lookup_unrelated(void)
{
	snprintf(service_name, sizeof(service_name), "%s", unique_name("svc"));
	test_expect(ipc_lookup(service_name), -ENOENT, "ipc_lookup before anyone registered");
	int s = spawn("stranger", stranger, 0);
	int svc = spawn("service", named_service, 0);
	expect_helper_ok(s, "stranger");
	expect_helper_ok(svc, "service");
	test_expect(ipc_lookup(service_name), -ENOENT, "ipc_lookup after the service ended");
}

/* A name given to an endpoint that can never receive would be taken for
 * good by a service nobody can reach: ipc_register refuses it, whether
 * the handle is closed or the endpoint's creator has died. */
static void case_register_dead_endpoint_refused(void)
{
	char name[IPC_NAME_MAX];
	unsigned long seen = 0;

	snprintf(name, sizeof(name), "%s", unique_name("dead"));
	snprintf(death_name, sizeof(death_name), "%s", unique_name("owner"));
	shared_notification = (int)ok(notify_create(), "notify_create");
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	struct mem_info before = mem_now();

	int closed = (int)ok(endpoint_create(), "endpoint_create");
	test_expect(handle_close(closed), 0, "handle_close");
	test_expect(ipc_register(name, closed, RIGHT_SEND), -EBADF,
		    "ipc_register of a closed handle");
	test_expect(ipc_lookup(name), -ENOENT, "ipc_lookup after a refused ipc_register");

	/* Registering takes a handle that can receive: the owner hands us one. */
	int owner = spawn("owner", dying_server, DIE_SHARING_RECV);
	await_bits(shared_notification, BIT_READY, &seen, "owner ready");
	int h = handle_from_dying_server();
	test_expect(kill(owner), 0, "kill(owner)");
	expect_killed(owner, "owner");
	test_expect(ipc_register(name, h, RIGHT_SEND), -EPIPE,
		    "ipc_register of an endpoint whose owner died");
	test_expect(ipc_lookup(name), -ENOENT, "ipc_lookup after a refused ipc_register");
	/* Our handle was the last reference: nothing is left of either. */
	test_expect(handle_close(h), 0, "handle_close of the dead endpoint");
	expect_mem_back(&before, "after closing the dead endpoint");

	/* The name is still free for a live endpoint. */
	int live = (int)ok(endpoint_create(), "endpoint_create");
	test_expect(ipc_register(name, live, RIGHT_SEND), 0, "ipc_register of a live endpoint");
	test_expect(handle_close((int)ok(ipc_lookup(name), "ipc_lookup")), 0,
		    "handle_close(looked up)");
}

/* ---- rights -------------------------------------------------------------- */

#define LABEL_RIGHTS 0x219
#define RIGHTS_BADGE 42

/* Calls shared_ep and expects the answer LABEL_RIGHTS with a handle that
 * can signal and nothing else. */
static void rights_caller(long unused)
{
	struct ipc_msg m = msg_of(LABEL_RIGHTS, 0, 0, 0, 0);
	struct ipc_ext x = ext_empty();

	(void)unused;
	test_expect(ipc_call(shared_ep, &m, &x), 0, "ipc_call");
	CHECK(m.label == LABEL_RIGHTS + 1, "answer 0x%lx", m.label);
	CHECK(x.recv_handle >= 0, "the reply passed no handle: %d", x.recv_handle);
	test_expect(notify_signal(x.recv_handle, 1), 0, "notify_signal(replied handle)");
	test_expect(notify_wait(x.recv_handle, NOTIFY_NONBLOCK), -EPERM,
		    "notify_wait(replied handle, which has send only)");
}

/* Each right, missing and present. A try operation that passes the check
 * finds nobody there (-EAGAIN); one that fails it gets -EPERM. */
static void case_each_right_denied_and_allowed(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	int n = (int)ok(notify_create(), "notify_create");
	int send = (int)ok(handle_dup(e, RIGHT_SEND), "handle_dup(send)");
	int recv = (int)ok(handle_dup(e, RIGHT_RECV), "handle_dup(recv)");
	int send_grant =
		(int)ok(handle_dup(e, RIGHT_SEND | RIGHT_GRANT), "handle_dup(send, grant)");
	int send_mint = (int)ok(handle_dup(e, RIGHT_SEND | RIGHT_MINT), "handle_dup(send, mint)");
	int none = (int)ok(handle_dup(e, 0), "handle_dup(no rights)");
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	struct ipc_ext pass = ext_empty();

	pass.send_handle = n;
	test_expect(ipc_try_send(recv, &m, NULL), -EPERM, "ipc_try_send without send");
	test_expect(ipc_send(recv, &m, NULL), -EPERM, "ipc_send without send");
	test_expect(ipc_call(recv, &m, NULL), -EPERM, "ipc_call without send");
	test_expect(ipc_try_send(send, &m, NULL), -EAGAIN, "ipc_try_send with send");
	test_expect(ipc_try_recv(send, &m, NULL), -EPERM, "ipc_try_recv without receive");
	test_expect(ipc_recv(send, &m, NULL), -EPERM, "ipc_recv without receive");
	test_expect(ipc_reply_recv(send, &m, NULL), -EPERM, "ipc_reply_recv without receive");
	test_expect(ipc_try_recv(recv, &m, NULL), -EAGAIN, "ipc_try_recv with receive");
	test_expect(ipc_try_send(send, &m, &pass), -EPERM, "passing a handle without grant");
	test_expect(ipc_call(send, &m, &pass), -EPERM, "ipc_call passing a handle without grant");
	test_expect(ipc_try_send(send_grant, &m, &pass), -EAGAIN, "passing a handle with grant");
	/* A receive sends nothing: the send_handle of its ext needs no grant. */
	test_expect(ipc_try_recv(recv, &m, &pass), -EAGAIN, "ipc_try_recv with a send_handle");
	test_expect(handle_mint(send, 5, RIGHT_SEND), -EPERM, "handle_mint without mint");
	test_expect(handle_close((int)ok(handle_mint(send_mint, 5, RIGHT_SEND), "handle_mint")), 0,
		    "handle_close(minted)");
	test_expect(ipc_try_send(none, &m, NULL), -EPERM, "ipc_try_send with no rights");
	test_expect(ipc_try_recv(none, &m, NULL), -EPERM, "ipc_try_recv with no rights");

	int signal_only = (int)ok(handle_dup(n, RIGHT_SEND), "handle_dup(notification, send)");
	int wait_only = (int)ok(handle_dup(n, RIGHT_RECV), "handle_dup(notification, recv)");
	test_expect(notify_signal(wait_only, 1), -EPERM, "notify_signal without send");
	test_expect(notify_wait(signal_only, NOTIFY_NONBLOCK), -EPERM,
		    "notify_wait without receive");
	test_expect(notify_wait(signal_only, 0), -EPERM, "a blocking notify_wait without receive");
	test_expect(notify_signal(signal_only, 4), 0, "notify_signal with send");
	test_expect(notify_wait(wait_only, NOTIFY_NONBLOCK), 4, "notify_wait with receive");

	/* A reply needs no right, and may pass a handle. A refused
	 * reply_recv leaves the reply owed. */
	shared_ep = e;
	int caller = spawn("caller", rights_caller, 0);
	test_expect(ipc_recv(recv, &m, NULL), 0, "ipc_recv of the call");
	CHECK(m.label == LABEL_RIGHTS, "received label 0x%lx", m.label);
	m.label = LABEL_RIGHTS + 1;
	struct ipc_ext x = ext_empty();
	x.send_handle = signal_only;
	test_expect(ipc_reply_recv(send, &m, &x), -EPERM, "ipc_reply_recv without receive");
	test_expect(ipc_reply(&m, &x), 0, "ipc_reply passing a handle, holding only receive");
	expect_helper_ok(caller, "caller");
}

/* Receives a handle on shared_ep and checks that it kept exactly the
 * rights it was sent with (send, and the badge RIGHTS_BADGE). */
static void rights_receiver(long unused)
{
	struct ipc_msg m = msg_of(4, 0, 0, 0, 0);
	int h = receive_handle();

	(void)unused;
	test_expect(ipc_try_recv(h, &m, NULL), -EPERM, "ipc_try_recv(received send-only handle)");
	test_expect(handle_dup(h, RIGHT_SEND | RIGHT_RECV), -EPERM,
		    "handle_dup adding receive to a received handle");
	test_expect(handle_mint(h, 1, RIGHT_SEND), -EPERM, "handle_mint(received handle)");
	test_expect(ipc_send(h, &m, NULL), 0, "ipc_send through the received handle");
}

/* Keeping some rights and dropping others works every way a handle is
 * copied; adding one works in none. */
static void case_rights_only_shrink(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	int send = (int)ok(handle_dup(e, RIGHT_SEND), "handle_dup(send)");

	test_expect(handle_close((int)ok(handle_dup(e, RIGHTS_ALL), "handle_dup(all)")), 0,
		    "handle_close");
	test_expect(handle_dup(e, 1u << 4), -EINVAL, "handle_dup with an unknown right");
	/* The system calls take a whole register: no bit of it goes unchecked. */
	test_expect(syscall6(SYS_handle_dup, e, 1l << 40 | RIGHT_SEND, 0, 0, 0, 0), -EINVAL,
		    "handle_dup with rights bit 40");
	test_expect(syscall6(SYS_handle_mint, e, 7, 1l << 40 | RIGHT_SEND, 0, 0, 0), -EINVAL,
		    "handle_mint with rights bit 40");
	test_expect(handle_dup(send, RIGHT_SEND | RIGHT_RECV), -EPERM, "handle_dup adding receive");
	test_expect(handle_dup(send, RIGHT_SEND | RIGHT_GRANT), -EPERM, "handle_dup adding grant");
	test_expect(handle_dup(send, RIGHT_MINT), -EPERM, "handle_dup adding mint");
	test_expect(handle_close((int)ok(handle_dup(send, RIGHT_SEND), "handle_dup(same)")), 0,
		    "handle_close");
	test_expect(handle_close((int)ok(handle_dup(send, 0), "handle_dup(none)")), 0,
		    "handle_close");

	int mint_send = (int)ok(handle_dup(e, RIGHT_SEND | RIGHT_MINT), "handle_dup(send, mint)");
	test_expect(handle_mint(mint_send, 7, RIGHT_SEND | RIGHT_RECV), -EPERM,
		    "handle_mint adding receive");
	test_expect(handle_mint(e, 7, 1u << 5), -EINVAL, "handle_mint with an unknown right");
	int badged = (int)ok(handle_mint(e, 7, RIGHT_SEND | RIGHT_RECV), "handle_mint(send, recv)");
	test_expect(ipc_try_recv(badged, &(struct ipc_msg){ 0 }, NULL), -EAGAIN,
		    "ipc_try_recv through a minted handle that kept receive");

	/* Passed in a message: the receiver gets what was passed, no more. */
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	int other = (int)ok(endpoint_create(), "endpoint_create");
	struct ipc_msg m = msg_of(3, 0, 0, 0, 0);
	struct ipc_ext x = ext_empty();
	x.send_handle = (int)ok(handle_mint(other, RIGHTS_BADGE, RIGHT_SEND), "handle_mint");
	int r = spawn("receiver", rights_receiver, 0);
	test_expect(ipc_send(shared_ep, &m, &x), 0, "ipc_send passing a send-only handle");
	test_expect(ipc_recv(other, &m, NULL), 0, "ipc_recv of the receiver's send");
	CHECK(m.badge == RIGHTS_BADGE, "badge %lu through the passed handle", m.badge);
	expect_helper_ok(r, "receiver");

	/* Inherited by fork: the child's handle has the parent's rights. */
	fflush(stdout);
	int child = fork();
	if (child == 0) {
		test_helper_role = "child";
		test_expect(ipc_try_recv(send, &m, NULL), -EPERM, "ipc_try_recv(inherited send)");
		test_expect(ipc_try_send(send, &m, NULL), -EAGAIN, "ipc_try_send(inherited send)");
		_exit(0);
	}
	CHECK(child > 0, "fork failed");
	expect_helper_ok(child, "child");
}

/* Receives one message on shared_ep and checks its badge. */
static void badge_checker(long badge)
{
	struct ipc_msg m;

	test_expect(ipc_recv(shared_ep, &m, NULL), 0, "ipc_recv");
	CHECK(m.badge == (unsigned long)badge, "badge %lu, expected %ld", m.badge, badge);
}

/* A badge, once given, is final: a badged handle holds no mint right and
 * cannot get one; a copy keeps the badge. */
static void case_badged_handle_cannot_mint(void)
{
	shared_ep = (int)ok(endpoint_create(), "endpoint_create");
	int b = (int)ok(handle_mint(shared_ep, RIGHTS_BADGE, RIGHT_SEND | RIGHT_RECV | RIGHT_GRANT),
			"handle_mint");

	test_expect(handle_mint(b, RIGHTS_BADGE + 1, RIGHT_SEND), -EPERM, "handle_mint(badged)");
	test_expect(handle_mint(shared_ep, 9, RIGHT_SEND | RIGHT_MINT), -EPERM,
		    "handle_mint keeping mint");
	test_expect(handle_dup(b, RIGHT_SEND | RIGHT_MINT), -EPERM, "handle_dup(badged) with mint");
	test_expect(handle_mint(shared_ep, 0, RIGHT_SEND), -EINVAL, "handle_mint of badge 0");
	int copy = (int)ok(handle_dup(b, RIGHT_SEND), "handle_dup(badged)");
	test_expect(handle_mint(copy, RIGHTS_BADGE + 2, RIGHT_SEND), -EPERM,
		    "handle_mint(copy of badged)");
	int r = spawn("receiver", badge_checker, RIGHTS_BADGE);
	wait_blocked(r, "receiver");
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	test_expect(ipc_try_send(copy, &m, NULL), 0, "ipc_try_send through the copy");
	expect_helper_ok(r, "receiver");
}

/* What a name gives: send, and grant only if the server said so; never
 * receive or mint. Registering takes receive. */
static void case_lookup_gives_send_only(void)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	int e2 = (int)ok(endpoint_create(), "endpoint_create");
	int n = (int)ok(notify_create(), "notify_create");
	char plain[IPC_NAME_MAX], granting[IPC_NAME_MAX];
	struct ipc_msg m = msg_of(1, 0, 0, 0, 0);
	struct ipc_ext pass = ext_empty();

	pass.send_handle = n;
	snprintf(plain, sizeof(plain), "%s", unique_name("plain"));
	snprintf(granting, sizeof(granting), "%s", unique_name("grant"));
	test_expect(ipc_register(plain, e, RIGHT_SEND), 0, "ipc_register(send)");
	test_expect(ipc_register(granting, e2, RIGHT_SEND | RIGHT_GRANT), 0,
		    "ipc_register(send, grant)");
	int h = (int)ok(ipc_lookup(plain), "ipc_lookup");
	test_expect(ipc_try_recv(h, &m, NULL), -EPERM, "ipc_try_recv(looked up)");
	test_expect(ipc_recv(h, &m, NULL), -EPERM, "ipc_recv(looked up)");
	test_expect(ipc_reply_recv(h, &m, NULL), -EPERM, "ipc_reply_recv(looked up)");
	test_expect(handle_mint(h, 1, RIGHT_SEND), -EPERM, "handle_mint(looked up)");
	test_expect(handle_dup(h, RIGHT_SEND | RIGHT_RECV), -EPERM, "handle_dup(looked up, +recv)");
	test_expect(handle_dup(h, RIGHT_SEND | RIGHT_GRANT), -EPERM,
		    "handle_dup(looked up, +grant)");
	test_expect(ipc_try_send(h, &m, &pass), -EPERM, "passing a handle through it");
	test_expect(ipc_try_send(h, &m, NULL), -EAGAIN, "ipc_try_send(looked up)");
	int g = (int)ok(ipc_lookup(granting), "ipc_lookup(granting)");
	test_expect(ipc_try_send(g, &m, &pass), -EAGAIN, "passing a handle where grant was given");
	test_expect(ipc_try_recv(g, &m, NULL), -EPERM, "ipc_try_recv(looked up with grant)");

	/* Only a handle that can receive registers, and only rights it has. */
	int send = (int)ok(handle_dup(e, RIGHT_SEND), "handle_dup(send)");
	int recv_send = (int)ok(handle_dup(e, RIGHT_RECV | RIGHT_SEND), "handle_dup(recv, send)");
	test_expect(ipc_register(unique_name("s"), send, RIGHT_SEND), -EPERM,
		    "ipc_register without receive");
	test_expect(ipc_register(unique_name("s"), h, RIGHT_SEND), -EPERM,
		    "ipc_register of a looked-up handle");
	test_expect(ipc_register(unique_name("s"), recv_send, RIGHT_SEND | RIGHT_GRANT), -EPERM,
		    "ipc_register giving grant it lacks");
	test_expect(ipc_register(unique_name("s"), recv_send, RIGHT_SEND), 0,
		    "ipc_register with receive");
}

/* ---- the registry's owners ----------------------------------------------- */

#define BIT_NAMED 0x200
#define BIT_DONE_WITH_NAME 0x400
#define LABEL_NAMED 0x4e

static char owned_name[IPC_NAME_MAX];

/* Registers owned_name (claiming a reservation of its parent if there is
 * one), answers one call, then unregisters it, which only it may do. */
static void name_holder(long unused)
{
	struct ipc_msg m;
	int e = (int)ok(endpoint_create(), "endpoint_create");

	(void)unused;
	test_expect(ipc_register(owned_name, e, RIGHT_SEND), 0, "ipc_register");
	test_expect(notify_signal(shared_notification, BIT_NAMED), 0, "notify_signal");
	test_expect(ipc_recv(e, &m, NULL), 0, "ipc_recv");
	CHECK(m.label == LABEL_NAMED, "label 0x%lx", m.label);
	test_expect(ipc_reply(&m, NULL), 0, "ipc_reply");
	test_expect(notify_wait(shared_notification_back, 0), BIT_DONE_WITH_NAME, "notify_wait");
	test_expect(ipc_unregister(owned_name), 0, "ipc_unregister of its own name");
	test_expect(ipc_unregister(owned_name), -ENOENT, "a second ipc_unregister");
}

/* Reserves owned_name and keeps it until killed. */
static void name_reserver(long unused)
{
	(void)unused;
	test_expect(ipc_reserve(owned_name), 0, "ipc_reserve");
	test_expect(notify_signal(shared_notification, BIT_NAMED), 0, "notify_signal");
	block_forever();
}

/* Registers shared_ep (which it inherited, with every right) as
 * owned_name, then ends: the name must go with it. */
static void brief_registrant(long unused)
{
	(void)unused;
	test_expect(ipc_register(owned_name, shared_ep, RIGHT_SEND), 0, "ipc_register");
}

/* Nobody takes a name away from the process that holds it; a reserved
 * name goes only to the reserver or its children; a name goes when the
 * process that registered it ends, even if its endpoint lives on. */
static void case_registry_squatting_refused(void)
{
	unsigned long seen = 0;
	int mine = (int)ok(endpoint_create(), "endpoint_create");
	struct ipc_msg m = msg_of(LABEL_NAMED, 0, 0, 0, 0);

	shared_notification = (int)ok(notify_create(), "notify_create");
	shared_notification_back = (int)ok(notify_create(), "notify_create");

	/* Reserved by us, then registered by our child. */
	snprintf(owned_name, sizeof(owned_name), "%s", unique_name("resv"));
	test_expect(ipc_reserve(owned_name), 0, "ipc_reserve");
	test_expect(ipc_reserve(owned_name), -EEXIST, "ipc_reserve of a reserved name");
	test_expect(ipc_lookup(owned_name), -ENOENT, "ipc_lookup of a name not yet served");
	int holder = spawn("holder", name_holder, 0);
	await_bits(shared_notification, BIT_NAMED, &seen, "name registered");
	test_expect(ipc_register(owned_name, mine, RIGHT_SEND), -EEXIST,
		    "ipc_register of a name our child holds");
	test_expect(ipc_unregister(owned_name), -EPERM, "ipc_unregister of our child's name");
	int h = (int)ok(ipc_lookup(owned_name), "ipc_lookup");
	test_expect(ipc_call(h, &m, NULL), 0, "ipc_call to the child's name");
	test_expect(notify_signal(shared_notification_back, BIT_DONE_WITH_NAME), 0,
		    "notify_signal");
	expect_helper_ok(holder, "holder");
	test_expect(ipc_lookup(owned_name), -ENOENT, "ipc_lookup after its holder unregistered");
	test_expect(handle_close(h), 0, "handle_close");

	/* Reserved by our child: we are not its child, so it is not ours. */
	snprintf(owned_name, sizeof(owned_name), "%s", unique_name("theirs"));
	int reserver = spawn("reserver", name_reserver, 0);
	await_bits(shared_notification, BIT_NAMED, &seen, "name reserved");
	test_expect(ipc_register(owned_name, mine, RIGHT_SEND), -EEXIST,
		    "ipc_register of a name our child reserved");
	test_expect(ipc_unregister(owned_name), -EPERM,
		    "ipc_unregister of our child's reservation");
	test_expect(kill(reserver), 0, "kill(reserver)");
	expect_killed(reserver, "reserver");
	test_expect(ipc_register(owned_name, mine, RIGHT_SEND), 0,
		    "ipc_register once the reserver is gone");
	test_expect(ipc_unregister(owned_name), 0, "ipc_unregister of our own name");

	/* Our own reservation, claimed by ourselves. */
	test_expect(ipc_reserve(owned_name), 0, "ipc_reserve");
	test_expect(ipc_register(owned_name, mine, RIGHT_SEND), 0,
		    "ipc_register of our reservation");
	test_expect(ipc_register(owned_name, mine, RIGHT_SEND), -EEXIST, "ipc_register twice");

	/* A registrant's name ends with it, though the endpoint lives. */
	shared_ep = mine;
	snprintf(owned_name, sizeof(owned_name), "%s", unique_name("brief"));
	expect_helper_ok(spawn("registrant", brief_registrant, 0), "registrant");
	test_expect(ipc_lookup(owned_name), -ENOENT, "ipc_lookup after its registrant ended");
	test_expect(ipc_try_recv(mine, &m, NULL), -EAGAIN, "the endpoint lives on");
}

/* Registers IPC_NAMES_MAX names of its own while its parent holds as many. */
static void names_of_own(long unused)
{
	int e = (int)ok(endpoint_create(), "endpoint_create");
	char name[IPC_NAME_MAX];

	(void)unused;
	for (int i = 0; i < IPC_NAMES_MAX; i++) {
		snprintf(name, sizeof(name), "ipct.child%d.%d", i, getpid());
		test_expect(ipc_register(name, e, RIGHT_SEND), 0, "ipc_register");
	}
}

/* Names and endpoints per process: the last one over the limit is
 * -ENOSPC, and one given back makes room for another. */
static void case_name_and_endpoint_limits(void)
{
	struct mem_info before = mem_now();
	int e = (int)ok(endpoint_create(), "endpoint_create");
	char names[IPC_NAMES_MAX][IPC_NAME_MAX];

	for (int i = 0; i < IPC_NAMES_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "ipct.limit%d.%d", i, getpid());
		test_expect(i % 2 ? ipc_reserve(names[i]) : ipc_register(names[i], e, RIGHT_SEND),
			    0, i % 2 ? "ipc_reserve" : "ipc_register");
	}
	test_expect(ipc_register(unique_name("over"), e, RIGHT_SEND), -ENOSPC,
		    "ipc_register past IPC_NAMES_MAX");
	test_expect(ipc_reserve(unique_name("over")), -ENOSPC, "ipc_reserve past IPC_NAMES_MAX");
	/* A reservation of ours still becomes our name: no new entry. */
	test_expect(ipc_register(names[1], e, RIGHT_SEND), 0, "claiming our own reservation");
	expect_helper_ok(spawn("child", names_of_own, 0), "child with names of its own");
	test_expect(ipc_unregister(names[0]), 0, "ipc_unregister");
	test_expect(ipc_register(unique_name("over"), e, RIGHT_SEND), 0,
		    "ipc_register after giving one back");
	for (int i = 1; i < IPC_NAMES_MAX; i++)
		test_expect(ipc_unregister(names[i]), 0, "ipc_unregister");
	test_expect(ipc_unregister(unique_name("over")), 0, "ipc_unregister");

	int made[IPC_ENDPOINTS_MAX];
	made[0] = e;
	for (int i = 1; i < IPC_ENDPOINTS_MAX; i++)
		made[i] = (int)ok(endpoint_create(), "endpoint_create");
	test_expect(endpoint_create(), -ENOSPC, "endpoint_create past IPC_ENDPOINTS_MAX");
	test_expect(handle_close((int)ok(notify_create(), "notify_create")), 0,
		    "a notification is not an endpoint");
	/* An endpoint counts as long as it lives, whoever holds it. */
	int extra = (int)ok(handle_dup(made[0], RIGHT_SEND), "handle_dup");
	test_expect(handle_close(made[0]), 0, "handle_close of one handle of it");
	test_expect(endpoint_create(), -ENOSPC, "endpoint_create with it still alive");
	test_expect(handle_close(extra), 0, "handle_close of its last handle");
	made[0] = (int)ok(endpoint_create(), "endpoint_create after one died");
	for (int i = 0; i < IPC_ENDPOINTS_MAX; i++)
		test_expect(handle_close(made[i]), 0, "handle_close");
	expect_mem_back(&before, "after the limits");
}

/* ---- kv under attack ----------------------------------------------------- */

/* ipcattack (user/bin/ipcattack.c) runs each attack on a kv server of its
 * own and exits with 0 only if the kernel (or kv) refused every one and
 * the victim's session was left alone. */
static void case_kv_sessions_private(void)
{
	char name[IPC_NAME_MAX];
	char *argv[] = { "ipcattack", name, NULL };

	snprintf(name, sizeof(name), "%s", unique_name("kv"));
	fflush(stdout);
	int pid = fork();
	if (pid == 0) {
		exec("ipcattack", argv);
		_exit(HELPER_FAILED);
	}
	CHECK(pid > 0, "fork failed");
	int status = status_of(pid, "ipcattack");
	CHECK(status == WAIT_STATUS(WAIT_EXITED, 0), "ipcattack %s (its lines are above)",
	      test_status_text(status));
}

/* ---- the cases, in the order they run ------------------------------------ */

static const struct test_case cases[] = {
	{ "bad_handle_ebadf", case_bad_handle_ebadf },
	{ "closed_handle_ebadf", case_closed_handle_ebadf },
	{ "wrong_type_ebadf", case_wrong_type_ebadf },
	{ "bad_ext_efault", case_bad_ext_efault },
	{ "bad_send_buffer_efault", case_bad_send_buffer_efault },
	{ "bad_recv_buffer_efault", case_bad_recv_buffer_efault },
	{ "oversized_buffer_emsgsize", case_oversized_buffer_emsgsize },
	{ "nothing_there_eagain", case_nothing_there_eagain },
	{ "registry_errors", case_registry_errors },
	{ "reply_without_call_einval", case_reply_without_call_einval },
	{ "label_and_words_intact", case_label_and_words_intact },
	{ "badges_from_minted_handles", case_badges_from_minted_handles },
	{ "buffer_4k_intact", case_buffer_4k_intact },
	{ "buffer_truncated_to_recv_cap", case_buffer_truncated_to_recv_cap },
	{ "handle_transfer", case_handle_transfer },
	{ "handles_inherited_by_fork", case_handles_inherited_by_fork },
	{ "handle_table_full", case_handle_table_full },
	{ "last_close_frees", case_last_close_frees },
	{ "handle_without_ext_dropped", case_handle_without_ext_dropped },
	{ "try_meets_blocked_peer", case_try_meets_blocked_peer },
	{ "notify_bits_coalesce", case_notify_bits_coalesce },
	{ "notify_wakes_other_process", case_notify_wakes_other_process },
	{ "server_death_wakes_blocked", case_server_death_wakes_blocked },
	{ "server_death_during_call", case_server_death_during_call },
	{ "client_death_mid_call", case_client_death_mid_call },
	{ "second_call_ends_first", case_second_call_ends_first },
	{ "many_clients_in_order", case_many_clients_in_order },
	{ "cross_cpu_wake", case_cross_cpu_wake },
	{ "registry_lookup_unrelated", case_registry_lookup_unrelated },
	{ "register_dead_endpoint_refused", case_register_dead_endpoint_refused },
	{ "each_right_denied_and_allowed", case_each_right_denied_and_allowed },
	{ "rights_only_shrink", case_rights_only_shrink },
	{ "badged_handle_cannot_mint", case_badged_handle_cannot_mint },
	{ "lookup_gives_send_only", case_lookup_gives_send_only },
	{ "registry_squatting_refused", case_registry_squatting_refused },
	{ "name_and_endpoint_limits", case_name_and_endpoint_limits },
	{ "kv_sessions_private", case_kv_sessions_private },
};

int main(int argc, char **argv)
{
	static const struct test_suite suite = {
		.name = "ipctests",
		.cases = cases,
		.count = sizeof(cases) / sizeof(cases[0]),
		.timeout_ms = CASE_TIMEOUT_MS,
		.slow_run = case_many_clients_in_order,
		.slow_timeout_ms = STRESS_TIMEOUT_MS,
		.counts_ipc_objects = true,
	};

	return test_main(&suite, argc, argv);
}
