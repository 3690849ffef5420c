/*
 * ipcattack: a client that tries to break into kv's private sessions, and
 * the kernel refusing each attempt: the IPC lesson on rights.
 *
 *   ipcattack [NAME]      attack a kv server registered as NAME ("kv")
 *
 * The cast, all separate processes:
 *   - the attacker (this program's first process);
 *   - a host, its child, which reserves the name and then starts the kv
 *     server (`kv serve NAME`) as a child of its own: only a child of the
 *     reserving process may register a reserved name, and the attacker is
 *     not one;
 *   - a victim, which opens a session, stores a secret in it, and checks
 *     at the end that the secret is still its own.
 *
 * Each attack prints one line: what it tried, and "refused" with the
 * kernel's error (or kv's answer) if it failed as it must. The exit status
 * is 0 only if every attack was refused and the victim's secret survived.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "weft.h"
#include "weft_ipc.h"

#define SECRET_KEY "pin"
#define SECRET_VALUE "4711"
#define WAIT_MS 20000
#define BIT_RESERVED 1ul  /* host -> attacker: the name is reserved */
#define BIT_START 2ul     /* attacker -> host: start the server */
#define BIT_VICTIM_IN 4ul /* victim -> attacker: its secret is stored */
#define BIT_CHECK 8ul     /* attacker -> victim: look at your secret */
#define BADGE_SHIFT 8     /* victim -> attacker: its badge, above the bits */

static const char *service = SERVICE_NAME;
static int news;        /* notification: what children tell the attacker */
static int orders;      /* notification: what the attacker tells children */
static int not_refused; /* attacks that got through */

static _Noreturn void give_up(const char *what, long err)
{
	printf("ipcattack: %s: %s\n", what, error_name((int)err));
	exit(1);
}

/* Waits for `bit` on notification n (polling: a child that died cannot
 * hang the wait). */
static void await_bit(int n, unsigned long bit, const char *what)
{
	for (int ms = 0; ms < WAIT_MS; ms++) {
		long bits = notify_wait(n, NOTIFY_NONBLOCK);
		if (bits > 0 && ((unsigned long)bits & bit))
			return;
		sleep_ms(1);
	}
	give_up(what, -ETIMEDOUT);
}

static void report(const char *what, bool refused, const char *how)
{
	printf("ipcattack: %s: %s%s\n", what, refused ? "refused, " : "NOT refused: ", how);
	not_refused += !refused;
}

/* An attack the kernel must refuse: `got` is what the system call
 * returned, `want` the error it must be. */
static void attack(const char *what, long got, long want)
{
	report(what, got == want, error_name((int)(got == want ? want : got)));
}

/* An attack kv must refuse: a call (status `err`) answered `answer`. */
static void attack_kv(const char *what, long err, unsigned long answer, unsigned long want,
		      const char *refusal)
{
	report(what, !err && answer == want, err ? error_name((int)err) : refusal);
}

/* A call to kv: label and words in *m, an optional buffer to send and one
 * for the answer, an optional handle to pass along (else IPC_NO_HANDLE).
 * The handle the answer passed, if any, goes into *received. */
static long kv_call(int h, struct ipc_msg *m, const char *send, char *reply, size_t cap, int pass,
		    int *received)
{
	struct ipc_ext x = { .send_buf = send,
			     .send_len = send ? strlen(send) : 0,
			     .send_handle = pass,
			     .recv_handle = IPC_NO_HANDLE,
			     .recv_buf = reply,
			     .recv_cap = cap ? cap - 1 : 0 };
	long err = ipc_call(h, m, &x);

	if (!err && reply)
		reply[x.recv_len < cap - 1 ? x.recv_len : cap - 1] = '\0';
	if (received)
		*received = x.recv_handle;
	return err;
}

/* Opens a session through the public handle: its handle (badge in *badge). */
static int open_session(int kv, unsigned long who, unsigned long *badge)
{
	struct ipc_msg m = { .label = KV_OPEN, .w = { who } };
	int session = IPC_NO_HANDLE;
	long err = kv_call(kv, &m, NULL, NULL, 0, IPC_NO_HANDLE, &session);

	if (err || m.label != KV_OK || session < 0)
		give_up("open a session", err ? err : -EPIPE);
	*badge = m.w[0];
	return session;
}

static int lookup(void)
{
	int kv = -ENOENT;

	for (int ms = 0; ms < WAIT_MS && kv == -ENOENT; ms++) {
		kv = ipc_lookup(service);
		if (kv == -ENOENT)
			sleep_ms(1);
	}
	if (kv < 0)
		give_up("ipc_lookup", kv);
	return kv;
}

/* ---- the host and the victim --------------------------------------------- */

static _Noreturn void host(void)
{
	char *argv[] = { "kv", "serve", (char *)service, NULL };
	long err = ipc_reserve(service);

	news = handle_restrict(news, RIGHT_SEND);
	orders = handle_restrict(orders, RIGHT_RECV);
	if (err)
		give_up("host: ipc_reserve", err);
	notify_signal(news, BIT_RESERVED);
	await_bit(orders, BIT_START, "host: waiting for the attacker");
	fflush(stdout);
	int server = fork();
	if (server == 0) {
		handle_close(news);
		handle_close(orders);
		exec("kv", argv);
		give_up("exec kv", -ENOENT);
	}
	int status = 0;
	if (server < 0 || wait(server, &status) != server)
		give_up("host: the server", server < 0 ? server : -ECHILD);
	exit(status == WAIT_STATUS(WAIT_EXITED, 0) ? 0 : 1);
}

static _Noreturn void victim(void)
{
	char value[VALUE_MAX + 1];
	unsigned long badge;
	int kv = lookup();
	int session = open_session(kv, 1, &badge);
	struct ipc_msg m = { .label = KV_PUT, .w = { strlen(SECRET_KEY), strlen(SECRET_VALUE) } };

	if (kv_call(session, &m, SECRET_KEY SECRET_VALUE, NULL, 0, IPC_NO_HANDLE, NULL) ||
	    m.label != KV_OK)
		give_up("victim: put", -EIO);
	printf("ipcattack: the victim opened session %lu and stored %s = %s in it\n", badge,
	       SECRET_KEY, SECRET_VALUE);
	notify_signal(news, BIT_VICTIM_IN | badge << BADGE_SHIFT);
	await_bit(orders, BIT_CHECK, "victim: waiting to check");
	m = (struct ipc_msg){ .label = KV_GET };
	long err = kv_call(session, &m, SECRET_KEY, value, sizeof(value), IPC_NO_HANDLE, NULL);
	bool intact = !err && m.label == KV_OK && strcmp(value, SECRET_VALUE) == 0;
	printf("ipcattack: the victim reads %s back: %s\n", SECRET_KEY,
	       intact ? "intact" : "CHANGED");
	exit(intact ? 0 : 1);
}

static int start(void (*role)(void))
{
	fflush(stdout);
	int pid = fork();
	if (pid == 0)
		role();
	if (pid < 0)
		give_up("fork", pid);
	return pid;
}

/* ---- the attacker -------------------------------------------------------- */

/* Registers names for `ep` until it cannot, then creates endpoints until
 * it cannot: each must stop at its per-process limit with -ENOSPC, long
 * before the registry or memory runs out for everyone else. */
static void exhaust(int ep)
{
	char name[IPC_NAME_MAX], what[64];
	int names, endpoints, made[IPC_ENDPOINTS_MAX + 1];
	long err = 0;

	for (names = 0; names <= IPC_NAMES_MAX && !err; names += !err) {
		snprintf(name, sizeof(name), "ipcattack.%d.%d", getpid(), names);
		err = ipc_register(name, ep, RIGHT_SEND);
	}
	snprintf(what, sizeof(what), "fill the registry: name %d", names + 1);
	attack(what, err, -ENOSPC);
	while (names-- > 0) {
		snprintf(name, sizeof(name), "ipcattack.%d.%d", getpid(), names);
		ipc_unregister(name);
	}
	err = 0;
	for (endpoints = 0; endpoints <= IPC_ENDPOINTS_MAX && err >= 0; endpoints += err >= 0) {
		err = endpoint_create();
		made[endpoints] = (int)err;
	}
	snprintf(what, sizeof(what), "create endpoints: endpoint %d", endpoints + 2);
	attack(what, err, -ENOSPC);
	while (endpoints-- > 0)
		handle_close(made[endpoints]);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		service = argv[1];
	news = notify_create();
	orders = notify_create();
	if (news < 0 || orders < 0)
		give_up("notify_create", news < 0 ? news : orders);
	printf("ipcattack: an attacker against \"%s\"; each line is one attempt\n", service);

	int host_pid = start(host);
	int own = endpoint_create(); /* the attacker's own: it can do anything with it */
	if (own < 0)
		give_up("endpoint_create", own);
	await_bit(news, BIT_RESERVED, "waiting for the host");
	attack("take the name before its server starts", ipc_register(service, own, RIGHT_SEND),
	       -EEXIST);
	attack("drop the host's reservation", ipc_unregister(service), -EPERM);
	notify_signal(orders, BIT_START);

	int kv = lookup();
	int victim_pid = start(victim);
	unsigned long bits = 0;
	for (int ms = 0; !(bits & BIT_VICTIM_IN); ms++) {
		long got = notify_wait(news, NOTIFY_NONBLOCK);
		bits |= got > 0 ? (unsigned long)got : 0;
		if (ms == WAIT_MS)
			give_up("waiting for the victim", -ETIMEDOUT);
		sleep_ms(1);
	}
	unsigned long victim_badge = bits >> BADGE_SHIFT;
	printf("ipcattack: the attacker looked \"%s\" up: a handle that can send, nothing else\n",
	       service);

	attack("mint the victim's badge from the public handle",
	       handle_mint(kv, victim_badge, RIGHT_SEND), -EPERM);
	attack("receive on the public handle, to take others' requests",
	       ipc_try_recv(kv, &(struct ipc_msg){ 0 }, NULL), -EPERM);
	attack("duplicate the public handle with receive added",
	       handle_dup(kv, RIGHT_SEND | RIGHT_RECV), -EPERM);
	struct ipc_msg m = { .label = KV_VIEW };
	attack("pass the server a handle, to fill its table",
	       kv_call(kv, &m, NULL, NULL, 0, orders, NULL), -EPERM);

	unsigned long badge;
	int session = open_session(kv, 2, &badge);
	printf("ipcattack: the attacker opened session %lu of its own\n", badge);
	attack("mint the victim's badge from its own session handle",
	       handle_mint(session, victim_badge, RIGHT_SEND), -EPERM);
	char value[VALUE_MAX + 1];
	m = (struct ipc_msg){ .label = KV_GET };
	long err = kv_call(session, &m, SECRET_KEY, value, sizeof(value), IPC_NO_HANDLE, NULL);
	attack_kv("read the victim's key through its own session", err, m.label, KV_NOT_FOUND,
		  "kv: not found (a session sees only its own keys)");
	m = (struct ipc_msg){ .label = KV_PUT, .w = { strlen(SECRET_KEY), 1 } };
	err = kv_call(kv, &m, SECRET_KEY "0", NULL, 0, IPC_NO_HANDLE, NULL);
	attack_kv("write the key through the public handle", err, m.label, KV_NO_SESSION,
		  "kv: no session (badge 0)");
	attack("take the name from its server", ipc_unregister(service), -EPERM);
	exhaust(own);

	notify_signal(orders, BIT_CHECK);
	int status;
	wait(victim_pid, &status);
	bool victim_ok = status == WAIT_STATUS(WAIT_EXITED, 0);
	m = (struct ipc_msg){ .label = KV_STOP };
	kv_call(kv, &m, NULL, NULL, 0, IPC_NO_HANDLE, NULL);
	wait(host_pid, &status);
	bool host_ok = status == WAIT_STATUS(WAIT_EXITED, 0);
	handle_close(session);
	handle_close(kv);
	if (not_refused || !victim_ok || !host_ok) {
		printf("ipcattack: %d attacks got through; victim %s, server %s\n", not_refused,
		       victim_ok ? "ok" : "harmed", host_ok ? "ok" : "failed");
		return 1;
	}
	printf("ipcattack: every attack was refused; the victim's session is its own\n");
	return 0;
}
