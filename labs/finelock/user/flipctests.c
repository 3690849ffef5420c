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
#define LABEL_STOP 1ul

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

static const struct test_case cases[] = {
	{ "pairs_echo", case_pairs_echo },
	{ "kill_mid_pingpong", case_kill_mid_pingpong },
	{ "server_exits_mid_call", case_server_exits_mid_call },
	{ "handles_churn", case_handles_churn },
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
