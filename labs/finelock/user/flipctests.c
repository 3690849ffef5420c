/*
 * flipctests: the finelock lab's tests of IPC between threads of one
 * process, the case a kernel may run without its big lock (a call that
 * finds its server waiting, a reply to a caller blocked for it, the CPU
 * handed straight from one to the other). In the usertests format
 * (weft_test.h).
 *
 *   flipctests               every case
 *   flipctests name...       only the named cases
 *
 * Cases:
 *
 *   pairs_echo            Pairs of a client and its server, more pairs than
 *                         CPUs, half pinned to one CPU per pair, half left
 *                         to roam: every reply carries the right label and
 *                         words back to the right client.
 *   kill_mid_pingpong     A process whose pairs call each other as fast as
 *                         they can is killed, again and again, at varying
 *                         moments: it must end, and leave nothing behind.
 *   server_exits_mid_call A server thread that takes a call and exits
 *                         without replying: the caller gets EPIPE, at once.
 *   handles_churn         Pairs keep calling while another thread of the
 *                         process copies and closes handles, and makes and
 *                         drops endpoints, all the time: the handle table
 *                         changes under the calls, which must all succeed.
 *   buffers_echo          Pairs again, each call with a buffer (1 to
 *                         IPC_BUF_MAX bytes, across page boundaries) and
 *                         each reply with one too, each side room for less
 *                         than it is sent now and then: the bytes that fit
 *                         arrive intact, none beyond the room, and recv_len
 *                         says what was sent.
 *   unmap_under_copy      Pairs calling with buffers while a sibling thread
 *                         unmaps the pages the servers receive into and
 *                         maps fresh ones, again and again: each call
 *                         either brings back the bytes it sent (where no
 *                         page changed: all of them, and no error) or fails
 *                         with EFAULT; nothing panics and nothing leaks.
 *
 * The checks are on results and on what is left over (no_leaks counts
 * IPC objects too), never on time: time only bounds how long a case may
 * take before its watchdog ends it.
 */
#include <stdio.h>
#include <string.h>

#include "atomic.h"
#include "weft.h"
#include "weft_ipc.h"
#include "weft_test.h"
#include "weft_thread.h"

#define CASE_TIMEOUT_MS 60000
#define MAX_PAIRS 16
#define ECHO_CALLS 1500
#define KILL_ROUNDS 12
#define EXIT_ROUNDS 200
#define CHURN_CALLS 1500
#define BUF_CALLS 600
#define UNMAP_CALLS 1500
#define LABEL_STOP 1ul
#define PAGE 4096

struct pair {
	int endpoint;
	int cpu; /* -1: not pinned */
	int index;
	long calls;
	long bad; /* replies that were not what was asked for */
};

static struct pair pairs[MAX_PAIRS];

static int online_cpus(void)
{
	return CPU_INFO_ONLINE(cpu_info());
}

static int spawn(long (*fn)(void *), void *arg)
{
	int tid = thread_spawn(fn, arg);

	CHECK(tid > 0, "thread_spawn returned %s", test_result_text(tid));
	return tid;
}

static void pin(int cpu)
{
	if (cpu >= 0) {
		int err = cpu_pin(cpu);
		CHECK(err == 0, "cpu_pin(%d) returned %s", cpu, test_result_text(err));
	}
}

/* Answers each call with the label plus one and the words reversed, until
 * a call labelled LABEL_STOP. Returns the number of errors. */
static long server_main(void *arg)
{
	struct pair *p = arg;
	struct ipc_msg m;

	pin(p->cpu);
	long err = ipc_recv(p->endpoint, &m, NULL);
	while (!err && m.label != LABEL_STOP) {
		struct ipc_msg r = { .label = m.label + 1 };
		for (int i = 0; i < IPC_WORDS; i++)
			r.w[i] = m.w[IPC_WORDS - 1 - i];
		m = r;
		err = ipc_reply_recv(p->endpoint, &m, NULL);
	}
	if (!err)
		err = ipc_reply(&m, NULL);
	return err;
}

/* One call with the pair's own numbers in it; false if the reply was not
 * the answer to it. */
static bool echo_once(struct pair *p, unsigned long k)
{
	struct ipc_msg m = { .label = 2 + (k << 8) + (unsigned long)p->index };

	for (int i = 0; i < IPC_WORDS; i++)
		m.w[i] = (unsigned long)p->index * 1000003ul + k * 31 + (unsigned long)i;
	unsigned long label = m.label;
	long err = ipc_call(p->endpoint, &m, NULL);
	if (err)
		return false;
	bool ok = m.label == label + 1;
	for (int i = 0; i < IPC_WORDS; i++)
		ok = ok && m.w[i] == (unsigned long)p->index * 1000003ul + k * 31 +
					     (unsigned long)(IPC_WORDS - 1 - i);
	return ok;
}

static long client_main(void *arg)
{
	struct pair *p = arg;

	pin(p->cpu);
	for (long k = 0; k < p->calls; k++)
		if (!echo_once(p, (unsigned long)k))
			p->bad++;
	struct ipc_msg stop = { .label = LABEL_STOP };
	return ipc_call(p->endpoint, &stop, NULL);
}

/* n pairs, calls each (0: forever); pair i on CPU i mod CPUs if pinned. */
static void start_pairs(int n, long calls, int *servers, int *clients)
{
	int cpus = online_cpus();

	for (int i = 0; i < n; i++) {
		int ep = endpoint_create();
		CHECK(ep >= 0, "endpoint_create returned %s", test_result_text(ep));
		pairs[i] = (struct pair){ ep, i % 2 ? -1 : i / 2 % cpus, i, calls, 0 };
		servers[i] = spawn(server_main, &pairs[i]);
		clients[i] = spawn(client_main, &pairs[i]);
	}
}

static void finish_pairs(int n, const int *servers, const int *clients)
{
	for (int i = 0; i < n; i++) {
		long value = -1;
		int err = thread_join(clients[i], &value);
		CHECK(err == 0 && value == 0,
		      "pair %d: client joined %s, its stop call returned %s", i,
		      test_result_text(err), test_result_text(value));
		err = thread_join(servers[i], &value);
		CHECK(err == 0 && value == 0, "pair %d: server joined %s, returned %s", i,
		      test_result_text(err), test_result_text(value));
		CHECK(pairs[i].bad == 0,
		      "pair %d: %ld of %ld replies were not the answer to the call", i,
		      pairs[i].bad, pairs[i].calls);
		handle_close(pairs[i].endpoint);
	}
}

static int pair_count(void)
{
	int n = 2 * online_cpus() + 2;

	return n > MAX_PAIRS ? MAX_PAIRS : n;
}

static void case_pairs_echo(void)
{
	int n = pair_count(), servers[MAX_PAIRS], clients[MAX_PAIRS];

	start_pairs(n, ECHO_CALLS, servers, clients);
	finish_pairs(n, servers, clients);
	printf("%s: %d pairs, %d calls each, every reply the answer to its call\n", test_case_name,
	       n, ECHO_CALLS);
}

static void case_kill_mid_pingpong(void)
{
	for (int round = 0; round < KILL_ROUNDS; round++) {
		int pid = fork();
		if (pid == 0) {
			int servers[MAX_PAIRS], clients[MAX_PAIRS];
			start_pairs(pair_count(), 1l << 40, servers, clients);
			for (;;)
				sleep_ms(1000);
		}
		CHECK(pid > 0, "fork returned %s", test_result_text(pid));
		sleep_ms((unsigned long)(1 + round % 6));
		int err = kill(pid);
		CHECK(err == 0, "kill returned %s", test_result_text(err));
		int status = 0;
		err = wait(pid, &status);
		CHECK(err == pid, "wait returned %s", test_result_text(err));
		CHECK(WAIT_HOW(status) == WAIT_KILLED, "round %d: the child ended %s", round,
		      test_status_text(status));
	}
	printf("%s: %d processes killed mid-call, each ended\n", test_case_name, KILL_ROUNDS);
}

/* Takes one call and exits without a reply. */
static long quitter_main(void *arg)
{
	struct pair *p = arg;
	struct ipc_msg m;

	pin(p->cpu);
	long err = ipc_recv(p->endpoint, &m, NULL);
	thread_exit(err);
}

static void case_server_exits_mid_call(void)
{
	int ep = endpoint_create();

	CHECK(ep >= 0, "endpoint_create returned %s", test_result_text(ep));
	pin(0);
	for (int round = 0; round < EXIT_ROUNDS; round++) {
		pairs[0] = (struct pair){ ep, 0, 0, 0, 0 };
		int tid = spawn(quitter_main, &pairs[0]);
		if (round % 2)
			sleep_ms(1); /* the server waits first, or the call does */
		struct ipc_msg m = { .label = 7 };
		long err = ipc_call(ep, &m, NULL);
		test_expect(err, -EPIPE, "a call whose server exits without replying");
		long value = -1;
		CHECK(thread_join(tid, &value) == 0 && value == 0, "the server returned %s",
		      test_result_text(value));
	}
	pin(-1);
	handle_close(ep);
	printf("%s: %d calls, each ended with EPIPE\n", test_case_name, EXIT_ROUNDS);
}

static int churn_stop;

/* Copies and closes handles, and makes and drops endpoints, until told. */
static long churn_main(void *arg)
{
	long rounds = 0;

	(void)arg;
	while (!atomic_read(&churn_stop)) {
		int h = handle_dup(pairs[rounds % 2].endpoint, RIGHT_SEND);
		int e = endpoint_create();
		if (h >= 0)
			handle_close(h);
		if (e >= 0)
			handle_close(e);
		rounds++;
	}
	return rounds;
}

static void case_handles_churn(void)
{
	int n = pair_count(), servers[MAX_PAIRS], clients[MAX_PAIRS];

	start_pairs(n, CHURN_CALLS, servers, clients);
	int churn = spawn(churn_main, NULL);
	finish_pairs(n, servers, clients);
	atomic_write(&churn_stop, 1);
	long rounds = 0;
	CHECK(thread_join(churn, &rounds) == 0, "the churning thread did not join");
	printf("%s: %d pairs, %d calls each, while %ld handles came and went\n", test_case_name, n,
	       CHURN_CALLS, rounds);
}

/* ---- Buffers ----------------------------------------------------------- */

/* The byte j of request k of pair i: never 0 (a fresh page is all 0). */
static unsigned char pattern(int i, unsigned long k, size_t j)
{
	return (unsigned char)(1 + (k * 13 + j * 7 + (unsigned long)i * 29) % 251);
}

/* Buffers of a pair: IPC_BUF_MAX bytes each, starting 100 bytes before a
 * page boundary. */
#define BUF_PAIRS 8
struct bufs {
	unsigned char sent[PAGE + IPC_BUF_MAX];
	unsigned char got[PAGE + IPC_BUF_MAX];
};

static struct bufs client_bufs[BUF_PAIRS] __attribute__((aligned(PAGE)));
static struct bufs server_bufs[BUF_PAIRS] __attribute__((aligned(PAGE)));

static unsigned char *at_edge(unsigned char *buf)
{
	return buf + PAGE - 100;
}

/* Room for each side: all of IPC_BUF_MAX in even pairs, less in odd ones. */
static unsigned long server_cap(int i)
{
	return i % 2 ? 700 + 300 * (unsigned long)(i % 4) : IPC_BUF_MAX;
}

static unsigned long client_cap(int i, unsigned long k)
{
	return (k + (unsigned long)i) % 3 ? IPC_BUF_MAX : 500;
}

static size_t request_len(int i, unsigned long k)
{
	return 1 + (k * 397 + (unsigned long)i * 101) % IPC_BUF_MAX;
}

/* Answers each call with the bytes it received, each plus one (as many as
 * fit in its room), and says in w[0] how many bytes were sent to it and
 * in w[1] how many of them were not what the pair's pattern says. */
static long buf_server_main(void *arg)
{
	struct pair *p = arg;
	unsigned char *in = at_edge(server_bufs[p->index].got);
	unsigned char *out = at_edge(server_bufs[p->index].sent);
	struct ipc_ext ext = { .send_handle = IPC_NO_HANDLE,
			       .recv_buf = in,
			       .recv_cap = server_cap(p->index) };
	struct ipc_msg m;

	pin(p->cpu);
	long err = ipc_recv(p->endpoint, &m, &ext);
	while (!err && m.label != LABEL_STOP) {
		unsigned long k = m.w[0];
		size_t n = ext.recv_len < ext.recv_cap ? ext.recv_len : ext.recv_cap;
		unsigned long wrong = 0;
		for (size_t j = 0; j < n; j++) {
			wrong += in[j] != pattern(p->index, k, j);
			out[j] = (unsigned char)(in[j] + 1);
		}
		m = (struct ipc_msg){ .label = m.label + 1, .w = { ext.recv_len, wrong } };
		ext.send_buf = out;
		ext.send_len = n;
		err = ipc_reply_recv(p->endpoint, &m, &ext);
	}
	if (!err)
		err = ipc_reply(&m, NULL);
	return err;
}

static long buf_client_main(void *arg)
{
	struct pair *p = arg;
	unsigned char *out = at_edge(client_bufs[p->index].sent);
	unsigned char *in = at_edge(client_bufs[p->index].got);
	int i = p->index;

	pin(p->cpu);
	for (unsigned long k = 0; k < (unsigned long)p->calls; k++) {
		size_t len = request_len(i, k), cap = client_cap(i, k);
		for (size_t j = 0; j < len; j++)
			out[j] = pattern(i, k, j);
		memset(in, 0xee, IPC_BUF_MAX);
		struct ipc_msg m = { .label = 2 + k, .w = { k } };
		struct ipc_ext ext = { .send_buf = out,
				       .send_len = len,
				       .send_handle = IPC_NO_HANDLE,
				       .recv_buf = in,
				       .recv_cap = cap };
		long err = ipc_call(p->endpoint, &m, &ext);
		/* What the server got, and so sent back: */
		size_t got = len < server_cap(i) ? len : server_cap(i);
		size_t fit = got < cap ? got : cap;
		bool ok = !err && m.label == 3 + k && m.w[0] == len && m.w[1] == 0 &&
			  ext.recv_len == got && ext.recv_handle == IPC_NO_HANDLE;
		for (size_t j = 0; ok && j < IPC_BUF_MAX; j++)
			ok = in[j] == (j < fit ? (unsigned char)(pattern(i, k, j) + 1) : 0xee);
		if (!ok && !p->bad++)
			printf("%s: pair %d call %lu: %s, label %lu, %lu bytes arrived of %zu "
			       "(%lu wrong), recv_len %lu for %zu\n",
			       test_case_name, i, k, test_result_text(err), m.label, m.w[0], len,
			       m.w[1], ext.recv_len, got);
	}
	struct ipc_msg stop = { .label = LABEL_STOP };
	return ipc_call(p->endpoint, &stop, NULL);
}

static void case_buffers_echo(void)
{
	int n = pair_count() < BUF_PAIRS ? pair_count() : BUF_PAIRS;
	int cpus = online_cpus(), servers[BUF_PAIRS], clients[BUF_PAIRS];

	for (int i = 0; i < n; i++) {
		int ep = endpoint_create();
		CHECK(ep >= 0, "endpoint_create returned %s", test_result_text(ep));
		pairs[i] = (struct pair){ ep, i % 2 ? -1 : i / 2 % cpus, i, BUF_CALLS, 0 };
		servers[i] = spawn(buf_server_main, &pairs[i]);
		clients[i] = spawn(buf_client_main, &pairs[i]);
	}
	finish_pairs(n, servers, clients);
	printf("%s: %d pairs, %d calls each with a buffer both ways, every byte right\n",
	       test_case_name, n, BUF_CALLS);
}

/* unmap_under_copy: the servers' receive buffers live in mapped pages that
 * the remapper replaces. `gen` is odd while it does; `cur[i]` is pair i's
 * mapping now. */
#define UNMAP_PAIRS 2
#define UNMAP_LEN 600 /* at most: the buffer starts 300 bytes before a page's end */
static char *cur[UNMAP_PAIRS];
static int gen, gen_at_start, remap_stop;
static long changed[UNMAP_PAIRS], failed[UNMAP_PAIRS]; /* calls, for the report */

static long remapper_main(void *arg)
{
	long rounds = 0;

	(void)arg;
	while (!atomic_read(&remap_stop)) {
		int i = (int)(rounds % UNMAP_PAIRS);
		atomic_add(&gen, 1);
		int err = munmap(atomic_read(&cur[i]), 2 * PAGE);
		long a = mmap(2 * PAGE);
		CHECK(err == 0 && a > 0, "munmap returned %s, mmap %s", test_result_text(err),
		      test_result_text(a));
		if (rounds % 2) /* filled now, or at the first touch (the kernel's) */
			memset((char *)a, 0, 2 * PAGE);
		atomic_write(&cur[i], (char *)a);
		atomic_add(&gen, 1);
		if (rounds++ % 16 == 0)
			yield();
	}
	return rounds;
}

/* Sends back the bytes it received (from where they arrived); after an
 * EFAULT (its buffer went), replies without them, w[1] 1, and waits again
 * with the buffer as it is now. */
static long unmap_server_main(void *arg)
{
	struct pair *p = arg;
	struct ipc_msg m;
	char *in = atomic_read(&cur[p->index]) + PAGE - 300;
	struct ipc_ext ext = { .send_handle = IPC_NO_HANDLE,
			       .recv_buf = in,
			       .recv_cap = UNMAP_LEN };
	long err;

	pin(p->cpu);
	while ((err = ipc_recv(p->endpoint, &m, &ext)) == -EFAULT)
		ext.recv_buf = atomic_read(&cur[p->index]) + PAGE - 300;
	while (!err && m.label != LABEL_STOP) {
		m = (struct ipc_msg){ .label = m.label + 1, .w = { ext.recv_len } };
		ext.send_buf = ext.recv_buf;
		ext.send_len = ext.recv_len < UNMAP_LEN ? ext.recv_len : UNMAP_LEN;
		ext.recv_buf = atomic_read(&cur[p->index]) + PAGE - 300;
		err = ipc_reply_recv(p->endpoint, &m, &ext);
		while (err == -EFAULT) {
			m.w[1] = 1;
			ext.send_len = 0;
			(void)ipc_reply(&m, NULL); /* -EINVAL if the reply went */
			ext.recv_buf = atomic_read(&cur[p->index]) + PAGE - 300;
			err = ipc_recv(p->endpoint, &m, &ext);
		}
	}
	if (!err)
		err = ipc_reply(&m, NULL);
	return err;
}

/* The calls: where gen stayed even and the same from the start of the
 * call before to the end of this one (so the server's buffer stayed), the
 * bytes must all come back and nothing fail; elsewhere a call may fail
 * with EFAULT, and each byte is the one sent or 0 (a fresh page). */
static long unmap_client_main(void *arg)
{
	struct pair *p = arg;
	static char outs[UNMAP_PAIRS][UNMAP_LEN], ins[UNMAP_PAIRS][UNMAP_LEN];
	char *out = outs[p->index], *in = ins[p->index];
	int before = gen_at_start; /* read before the server looked at cur */

	pin(p->cpu);
	for (unsigned long k = 0; k < (unsigned long)p->calls; k++) {
		size_t len = 1 + (k * 53) % UNMAP_LEN;
		for (size_t j = 0; j < len; j++)
			out[j] = (char)pattern(p->index, k, j);
		memset(in, 0, UNMAP_LEN);
		int start = atomic_read(&gen);
		struct ipc_msg m = { .label = 2 + k };
		struct ipc_ext ext = { .send_buf = out,
				       .send_len = len,
				       .send_handle = IPC_NO_HANDLE,
				       .recv_buf = in,
				       .recv_cap = UNMAP_LEN };
		long err = ipc_call(p->endpoint, &m, &ext);
		int end = atomic_read(&gen);
		bool still = before == end && !(end & 1);
		bool ok = err ? err == -EFAULT && !still
			      : m.label == 3 + k &&
					  (m.w[1] ? !still : m.w[0] == len && ext.recv_len == len);
		for (size_t j = 0; ok && !err && !m.w[1] && j < UNMAP_LEN; j++)
			ok = j < len ? in[j] == out[j] || (!still && !in[j]) : !in[j];
		changed[p->index] += !still;
		failed[p->index] += err || m.w[1];
		if (!ok && !p->bad++)
			printf("%s: pair %d call %lu (%s): %s, label %lu, w %lu %lu, recv_len %lu "
			       "for %zu\n",
			       test_case_name, p->index, k,
			       still ? "no page changed" : "pages changed", test_result_text(err),
			       m.label, m.w[0], m.w[1], ext.recv_len, len);
		before = start;
	}
	struct ipc_msg stop = { .label = LABEL_STOP };
	return ipc_call(p->endpoint, &stop, NULL);
}

static void case_unmap_under_copy(void)
{
	int cpus = online_cpus(), servers[UNMAP_PAIRS], clients[UNMAP_PAIRS];

	atomic_write(&remap_stop, 0);
	gen_at_start = atomic_read(&gen);
	for (int i = 0; i < UNMAP_PAIRS; i++) {
		long a = mmap(2 * PAGE);
		CHECK(a > 0, "mmap returned %s", test_result_text(a));
		cur[i] = (char *)a;
	}
	int remapper = spawn(remapper_main, NULL);
	for (int i = 0; i < UNMAP_PAIRS; i++) {
		int ep = endpoint_create();
		CHECK(ep >= 0, "endpoint_create returned %s", test_result_text(ep));
		pairs[i] = (struct pair){ ep, i % cpus, i, UNMAP_CALLS, 0 };
		servers[i] = spawn(unmap_server_main, &pairs[i]);
		clients[i] = spawn(unmap_client_main, &pairs[i]);
	}
	finish_pairs(UNMAP_PAIRS, servers, clients);
	atomic_write(&remap_stop, 1);
	long rounds = 0;
	CHECK(thread_join(remapper, &rounds) == 0, "the remapping thread did not join");
	for (int i = 0; i < UNMAP_PAIRS; i++)
		munmap(cur[i], 2 * PAGE);
	printf("%s: %d pairs, %d calls each, while their pages were replaced %ld times: "
	       "%ld calls overlapped a change, %ld of them failed cleanly\n",
	       test_case_name, UNMAP_PAIRS, UNMAP_CALLS, rounds, changed[0] + changed[1],
	       failed[0] + failed[1]);
}

static const struct test_case cases[] = {
	{ "pairs_echo", case_pairs_echo },
	{ "kill_mid_pingpong", case_kill_mid_pingpong },
	{ "server_exits_mid_call", case_server_exits_mid_call },
	{ "handles_churn", case_handles_churn },
	{ "buffers_echo", case_buffers_echo },
	{ "unmap_under_copy", case_unmap_under_copy },
};

int main(int argc, char **argv)
{
	static const struct test_suite suite = {
		.name = "flipctests",
		.cases = cases,
		.count = sizeof(cases) / sizeof(cases[0]),
		.timeout_ms = CASE_TIMEOUT_MS,
		.counts_ipc_objects = true,
	};

	return test_main(&suite, argc, argv);
}
