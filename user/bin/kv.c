/*
 * kv: a key-value server and three clients that talk only through IPC,
 * told as a lesson.
 *
 *   kv                 the whole story
 *   kv serve [NAME]    only the server, registered as NAME ("kv"), until a
 *                      KV_STOP request: ipcattack attacks it
 *
 * What it shows:
 *   - the registry: the parent reserves the name "kv" before it starts the
 *     server, so nobody else can take it first; the server registers its
 *     endpoint under it; clients find it by name, with no handle handed
 *     down to them, and get a handle that can only send;
 *   - sessions as badges: asked to open a session, the server mints a new
 *     handle to its one endpoint with a badge of its own choosing and
 *     passes it back in the reply. Every later request through that handle
 *     arrives with that badge, so the server knows which session it
 *     belongs to. Rights make that safe: a client's handles can send and
 *     nothing else, so it can neither mint another session's badge, nor
 *     receive other clients' requests, nor pass the server handles;
 *   - least rights: every process keeps only the handles, and the rights,
 *     its part needs;
 *   - buffers: keys and values travel in the message buffer;
 *   - ipc_reply_recv: the server's whole loop is one trap per request;
 *   - failure: one client is killed half way through its session. The
 *     others carry on; the server keeps the dead client's session, since
 *     synchronous IPC tells a server about a client only while it waits
 *     for a reply.
 *
 * Only the parent prints, in a fixed order, so the output is the same on
 * every run: the clients send it their transcripts over IPC (each through
 * a handle with its own badge), and it prints them in order at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "weft.h"
#include "weft_ipc.h"

#define CLIENTS 3
#define DOOMED_CLIENT 2 /* killed half way through its session */
#define MAX_KEYS 8
#define TRANSCRIPT_MAX 1024

/* The notification bits children use to tell the parent how far they got. */
#define BIT_SERVER_READY 1ul
#define BIT_OPENED(client) (1ul << (client))
#define BIT_HALF_WAY (1ul << 8)

static int progress; /* notification handle, inherited by every child */

/* ---- the server ---------------------------------------------------------- */

struct entry {
	char key[KEY_MAX + 1];
	char value[VALUE_MAX + 1];
};

struct session {
	enum { UNUSED, OPEN, CLOSED } state;
	unsigned long client; /* as the client said when opening */
	int nkeys;
	unsigned long puts, gets;
	struct entry entries[MAX_KEYS];
};

/* Session number s (1..MAX_SESSIONS) is the badge of its handle; badge 0
 * is the public handle from the registry. */
static struct session sessions[MAX_SESSIONS + 1];
static int nsessions;

static struct entry *find(struct session *s, const char *key)
{
	for (int i = 0; i < s->nkeys; i++)
		if (strcmp(s->entries[i].key, key) == 0)
			return &s->entries[i];
	return NULL;
}

static enum kv_answer put(struct session *s, const struct ipc_msg *m, const char *buf,
			  unsigned long len)
{
	unsigned long klen = m->w[0], vlen = m->w[1];

	if (klen == 0 || klen > KEY_MAX || vlen > VALUE_MAX || klen + vlen != len)
		return KV_BAD_REQUEST;
	char key[KEY_MAX + 1];
	memcpy(key, buf, klen);
	key[klen] = '\0';
	struct entry *e = find(s, key);
	if (!e) {
		if (s->nkeys == MAX_KEYS)
			return KV_FULL;
		e = &s->entries[s->nkeys++];
		memcpy(e->key, key, klen + 1);
	}
	memcpy(e->value, buf + klen, vlen);
	e->value[vlen] = '\0';
	s->puts++;
	return KV_OK;
}

/* What the server knows, as text for the parent to print. */
static unsigned long describe(char *out, size_t cap)
{
	size_t n = 0;

	for (int i = 1; i <= nsessions && n < cap; i++) {
		const struct session *s = &sessions[i];
		n += (size_t)snprintf(
			out + n, cap - n,
			"    session %d (badge %d), client %lu: %s; puts %lu, gets %lu", i, i,
			s->client, s->state == OPEN ? "open" : "closed", s->puts, s->gets);
		for (int k = 0; k < s->nkeys && n < cap; k++)
			n += (size_t)snprintf(out + n, cap - n, "%s %s=%s", k ? "," : "; holds",
					      s->entries[k].key, s->entries[k].value);
		if (n < cap)
			n += (size_t)snprintf(out + n, cap - n, "\n");
	}
	return n < cap ? n : cap;
}

static _Noreturn void server_fail(const char *what, long err)
{
	printf("kv: server: %s: %s\n", what, error_name((int)err));
	exit(1);
}

static struct ipc_ext ext_receiving(char *buf, unsigned long cap)
{
	return (struct ipc_ext){ .send_handle = IPC_NO_HANDLE, .recv_buf = buf, .recv_cap = cap };
}

/* A request through the public handle (badge 0). Returns the handle the
 * reply passes along, or IPC_NO_HANDLE. */
static int public_request(int ep, const struct ipc_msg *req, struct ipc_msg *m, struct ipc_ext *x,
			  char *out)
{
	if (req->label == KV_OPEN) {
		if (nsessions == MAX_SESSIONS) {
			m->label = KV_FULL;
			return IPC_NO_HANDLE;
		}
		int id = nsessions + 1;
		int session = handle_mint(ep, (unsigned long)id, RIGHT_SEND);
		if (session < 0)
			server_fail("handle_mint", session);
		nsessions = id;
		sessions[id].state = OPEN;
		sessions[id].client = req->w[0];
		m->w[0] = (unsigned long)id;
		x->send_handle = session;
		return session;
	}
	if (req->label == KV_VIEW) {
		x->send_buf = out;
		x->send_len = describe(out, IPC_BUF_MAX);
		return IPC_NO_HANDLE;
	}
	if (req->label == KV_STOP) {
		ipc_reply(m, x);
		exit(0);
	}
	m->label = KV_NO_SESSION; /* a session request without a session badge */
	return IPC_NO_HANDLE;
}

/* A request through a session handle: the badge says which session. */
static void session_request(struct session *s, const struct ipc_msg *req, const char *in,
			    unsigned long len, struct ipc_msg *m, struct ipc_ext *x)
{
	struct entry *e;

	if (s->state != OPEN) {
		m->label = KV_NO_SESSION;
		return;
	}
	switch (req->label) {
	case KV_PUT:
		m->label = put(s, req, in, len);
		break;
	case KV_GET:
		s->gets++;
		e = find(s, in);
		m->label = e ? KV_OK : KV_NOT_FOUND;
		x->send_buf = e ? e->value : NULL;
		x->send_len = e ? strlen(e->value) : 0;
		break;
	case KV_CLOSE:
		s->state = CLOSED;
		s->nkeys = 0;
		break;
	default:
		m->label = KV_BAD_REQUEST;
	}
}

/*
 * The server loop. Each turn takes the request in req (its buffer in
 * `in`), builds the reply in m and x, and lets ipc_reply_recv deliver it
 * and wait for the next request, in one trap. A session handle passed in
 * a reply is closed on the next turn: by then the client has its own.
 */
static _Noreturn void serve(int ep)
{
	static char in[IPC_BUF_MAX + 1], out[IPC_BUF_MAX];
	struct ipc_msg req, m;
	struct ipc_ext x = ext_receiving(in, IPC_BUF_MAX);
	int passed = IPC_NO_HANDLE;
	long err = ipc_recv(ep, &req, &x);

	for (;;) {
		if (err)
			server_fail("receive", err);
		if (passed != IPC_NO_HANDLE)
			handle_close(passed);
		unsigned long len = x.recv_len < IPC_BUF_MAX ? x.recv_len : IPC_BUF_MAX;
		in[len] = '\0';
		m = (struct ipc_msg){ .label = KV_OK };
		x = ext_receiving(in, IPC_BUF_MAX);
		passed = IPC_NO_HANDLE;
		if (req.badge == 0)
			passed = public_request(ep, &req, &m, &x, out);
		else if (req.badge <= (unsigned long)nsessions)
			session_request(&sessions[req.badge], &req, in, len, &m, &x);
		else
			m.label = KV_NO_SESSION;
		err = ipc_reply_recv(ep, &m, &x);
		req = m;
	}
}

/* Registers the server as `name` (lookups get send only: no grant, so no
 * client can pass the server a handle), tells `ready` (if not
 * IPC_NO_HANDLE), and serves. It keeps receive, and mint and send to make
 * session handles; the handles it passes go in replies, which need no
 * grant. */
static _Noreturn void server_main(const char *name, int ready)
{
	int ep = endpoint_create();

	if (ep < 0)
		server_fail("endpoint_create", ep);
	long err = ipc_register(name, ep, RIGHT_SEND);
	if (err)
		server_fail("ipc_register", err);
	ep = handle_restrict(ep, RIGHT_RECV | RIGHT_MINT | RIGHT_SEND);
	if (ep < 0)
		server_fail("handle_restrict", ep);
	if (ready != IPC_NO_HANDLE)
		notify_signal(ready, BIT_SERVER_READY);
	serve(ep);
}

/* ---- the clients --------------------------------------------------------- */

enum step_kind { STEP_PUT, STEP_GET, STEP_PUT_PUBLIC, STEP_HALT, STEP_END };

struct step {
	enum step_kind kind;
	const char *key;
	const char *value;
};

/* What each client does once its session is open; every one then closes
 * its session and reports, except the one that halts. */
static const struct step scripts[CLIENTS + 1][8] = {
	[1] = {
		{ STEP_PUT, "colour", "teal" },
		{ STEP_PUT, "shape", "hexagon" },
		{ STEP_GET, "colour", NULL },
		{ STEP_GET, "shape", NULL },
		{ STEP_END, NULL, NULL },
	},
	[2] = {
		{ STEP_PUT, "city", "Lisbon" },
		{ STEP_PUT, "river", "Tagus" },
		{ STEP_HALT, NULL, NULL },
		{ STEP_GET, "city", NULL },
		{ STEP_END, NULL, NULL },
	},
	[3] = {
		{ STEP_PUT, "colour", "amber" },
		{ STEP_GET, "colour", NULL },
		{ STEP_GET, "shape", NULL },
		{ STEP_PUT_PUBLIC, "colour", "red" },
		{ STEP_GET, "colour", NULL },
		{ STEP_END, NULL, NULL },
	},
};

static const char *const answer_names[] = {
	[KV_OK] = "ok",
	[KV_NOT_FOUND] = "not found",
	[KV_FULL] = "full",
	[KV_BAD_REQUEST] = "bad request",
	[KV_NO_SESSION] = "refused: no session",
};

struct transcript {
	char text[TRANSCRIPT_MAX];
	size_t len;
};

static void note(struct transcript *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(t->text + t->len, sizeof(t->text) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0 && t->len + (size_t)n < sizeof(t->text))
		t->len += (size_t)n;
	else if (n > 0)
		t->len = sizeof(t->text) - 1; /* cut short */
}

static const char *answer_name(unsigned long label)
{
	return label < sizeof(answer_names) / sizeof(answer_names[0]) ? answer_names[label] : "?";
}

static _Noreturn void client_fail(int id, const char *what, long err)
{
	printf("kv: client %d: %s: %s\n", id, what, error_name((int)err));
	exit(1);
}

/* One call to the server: the request in m and the buffer `send`; the
 * answer in m, a returned buffer in `reply`, a passed handle in *handle. */
static void kv_call(int id, int h, struct ipc_msg *m, const void *send, size_t send_len,
		    char *reply, size_t cap, int *handle)
{
	struct ipc_ext x = { .send_buf = send,
			     .send_len = send_len,
			     .send_handle = IPC_NO_HANDLE,
			     .recv_buf = reply,
			     .recv_cap = cap ? cap - 1 : 0 };
	long err = ipc_call(h, m, &x);

	if (err)
		client_fail(id, "ipc_call", err);
	if (reply)
		reply[x.recv_len < cap - 1 ? x.recv_len : cap - 1] = '\0';
	if (handle)
		*handle = x.recv_handle;
}

static void put_through(int id, int h, struct transcript *t, const struct step *st, const char *how)
{
	char buf[KEY_MAX + VALUE_MAX];
	size_t klen = strlen(st->key), vlen = strlen(st->value);
	struct ipc_msg m = { .label = KV_PUT, .w = { klen, vlen } };

	memcpy(buf, st->key, klen);
	memcpy(buf + klen, st->value, vlen);
	kv_call(id, h, &m, buf, klen + vlen, NULL, 0, NULL);
	note(t, "put %s = %s%s: %s\n", st->key, st->value, how, answer_name(m.label));
}

static _Noreturn void client_main(int id, int report)
{
	static struct transcript t;
	char value[VALUE_MAX + 1];
	struct ipc_msg m;
	int session;

	int kv = ipc_lookup(SERVICE_NAME);
	if (kv < 0)
		client_fail(id, "ipc_lookup", kv);
	note(&t, "looked up \"%s\" in the registry\n", SERVICE_NAME);
	m = (struct ipc_msg){ .label = KV_OPEN, .w = { (unsigned long)id } };
	kv_call(id, kv, &m, NULL, 0, NULL, 0, &session);
	if (m.label != KV_OK || session < 0)
		client_fail(id, "open", -EPIPE);
	note(&t, "opened session %lu: the reply passed it a handle of its own\n", m.w[0]);
	notify_signal(progress, BIT_OPENED(id));

	for (const struct step *st = scripts[id]; st->kind != STEP_END; st++) {
		switch (st->kind) {
		case STEP_PUT:
			put_through(id, session, &t, st, "");
			break;
		case STEP_PUT_PUBLIC:
			put_through(id, kv, &t, st, " through the public handle");
			break;
		case STEP_GET:
			m = (struct ipc_msg){ .label = KV_GET };
			kv_call(id, session, &m, st->key, strlen(st->key), value, sizeof(value),
				NULL);
			note(&t, "get %s: %s\n", st->key,
			     m.label == KV_OK ? value : answer_name(m.label));
			break;
		case STEP_HALT:
			notify_signal(progress, BIT_HALF_WAY);
			for (;;)
				sleep_ms(1000);
		case STEP_END:
			break;
		}
	}
	m = (struct ipc_msg){ .label = KV_CLOSE };
	kv_call(id, session, &m, NULL, 0, NULL, 0, NULL);
	note(&t, "closed its session: %s\n", answer_name(m.label));

	struct ipc_ext x = { .send_buf = t.text, .send_len = t.len, .send_handle = IPC_NO_HANDLE };
	m = (struct ipc_msg){ .label = (unsigned long)id };
	long err = ipc_send(report, &m, &x);
	if (err)
		client_fail(id, "ipc_send of the transcript", err);
	exit(0);
}

/* ---- the parent: starts everyone, kills one, tells the story ------------- */

#define WAIT_MS 20000

/* Waits for the bits of `want` on the progress notification, keeping
 * others that arrive meanwhile in *seen. Polls, so a child that failed
 * cannot hang the parent. */
static void await(unsigned long want, unsigned long *seen)
{
	for (int ms = 0; (*seen & want) != want; ms++) {
		long bits = notify_wait(progress, NOTIFY_NONBLOCK);
		if (bits > 0) {
			*seen |= (unsigned long)bits;
			continue;
		}
		if (ms == WAIT_MS) {
			printf("kv: waited %d s for a child in vain\n", WAIT_MS / 1000);
			exit(1);
		}
		sleep_ms(1);
	}
}

/* A child starts with a copy of every handle its parent holds: it closes
 * all but the progress notification, which it may only signal, and its
 * report handle (IPC_NO_HANDLE for the server). */
static void keep_only_own_handles(int report)
{
	progress = handle_restrict(progress, RIGHT_SEND);
	for (int h = 0; h < HANDLE_MAX; h++)
		if (h != progress && h != report)
			handle_close(h);
}

static int start(int id, int report)
{
	fflush(stdout);
	int pid = fork();
	if (pid == 0) {
		keep_only_own_handles(report);
		if (id)
			client_main(id, report);
		server_main(SERVICE_NAME, progress);
	}
	if (pid < 0) {
		printf("kv: fork failed: %s\n", error_name(pid));
		exit(1);
	}
	return pid;
}

static void print_indented(const char *text)
{
	while (*text) {
		const char *end = strchr(text, '\n');
		int n = end ? (int)(end - text) : (int)strlen(text);
		printf("    %.*s\n", n, text);
		text += n + (end != NULL);
	}
}

static const char *fate(int status)
{
	static char text[64];

	if (WAIT_HOW(status) == WAIT_EXITED)
		snprintf(text, sizeof(text), "exited with status %d", WAIT_CODE(status));
	else if (WAIT_HOW(status) == WAIT_KILLED)
		snprintf(text, sizeof(text), "was killed");
	else
		snprintf(text, sizeof(text), "died of a fault (%s)", fault_name(WAIT_CODE(status)));
	return text;
}

int main(int argc, char **argv)
{
	static struct transcript reports[CLIENTS + 1];
	static char view[IPC_BUF_MAX + 1];
	struct mem_info before, after;
	int pids[CLIENTS + 1], status[CLIENTS + 1], report_handles[CLIENTS + 1];
	unsigned long seen = 0;

	if (argc > 1 && strcmp(argv[1], "serve") == 0)
		server_main(argc > 2 ? argv[2] : SERVICE_NAME, IPC_NO_HANDLE);
	meminfo(&before);
	progress = notify_create();
	int reports_ep = endpoint_create();
	if (progress < 0 || reports_ep < 0) {
		printf("kv: cannot create the parent's IPC objects\n");
		return 1;
	}
	printf("kv: one server, %d clients, all separate processes; they share nothing but IPC\n",
	       CLIENTS);
	long err = ipc_reserve(SERVICE_NAME);
	if (err) {
		printf("kv: cannot reserve the name \"%s\": %s\n", SERVICE_NAME,
		       error_name((int)err));
		return 1;
	}
	printf("kv: the parent reserved the name \"%s\": only a child of it may register it\n",
	       SERVICE_NAME);
	int server = start(0, IPC_NO_HANDLE);
	await(BIT_SERVER_READY, &seen);
	printf("kv: the server registered its endpoint as \"%s\" and waits for requests\n",
	       SERVICE_NAME);

	/* Each client reports through its own badged handle, so the parent
	 * knows who is talking without taking the client's word for it. */
	for (int id = 1; id <= CLIENTS; id++) {
		report_handles[id] = handle_mint(reports_ep, (unsigned long)id, RIGHT_SEND);
		pids[id] = start(id, report_handles[id]);
		await(BIT_OPENED(id), &seen);
		printf("kv: client %d looked \"%s\" up and opened a session\n", id, SERVICE_NAME);
	}
	await(BIT_HALF_WAY, &seen);
	printf("kv: client %d is half way through its session: the parent kills it\n",
	       DOOMED_CLIENT);
	kill(pids[DOOMED_CLIENT]);
	wait(pids[DOOMED_CLIENT], &status[DOOMED_CLIENT]);

	for (int got = 0; got < CLIENTS - 1; got++) {
		static char buf[TRANSCRIPT_MAX];
		struct ipc_msg m;
		struct ipc_ext x = ext_receiving(buf, sizeof(buf) - 1);
		long err = ipc_recv(reports_ep, &m, &x);
		if (err || m.badge < 1 || m.badge > CLIENTS) {
			printf("kv: a report went wrong: %s, badge %lu\n", error_name((int)err),
			       m.badge);
			return 1;
		}
		size_t len = x.recv_len < sizeof(buf) - 1 ? x.recv_len : sizeof(buf) - 1;
		memcpy(reports[m.badge].text, buf, len);
		reports[m.badge].len = len;
	}
	for (int id = 1; id <= CLIENTS; id++)
		if (id != DOOMED_CLIENT)
			wait(pids[id], &status[id]);

	printf("kv: what became of the clients (each transcript came by IPC, told apart by "
	       "badge):\n");
	for (int id = 1; id <= CLIENTS; id++) {
		printf("kv: client %d %s\n", id, fate(status[id]));
		if (reports[id].len)
			print_indented(reports[id].text);
		else
			printf("    (no transcript: it died with the client)\n");
	}

	int kv = ipc_lookup(SERVICE_NAME);
	struct ipc_msg m = { .label = KV_VIEW };
	struct ipc_ext x = ext_receiving(view, IPC_BUF_MAX);
	if (kv < 0 || ipc_call(kv, &m, &x) != 0) {
		printf("kv: the server did not answer\n");
		return 1;
	}
	view[x.recv_len < IPC_BUF_MAX ? x.recv_len : IPC_BUF_MAX] = '\0';
	printf("kv: the server's view of its sessions:\n%s", view);
	printf("kv: session %d is still open: a server learns that a client died only if it "
	       "dies during a call\n",
	       DOOMED_CLIENT);

	m = (struct ipc_msg){ .label = KV_STOP };
	x = ext_receiving(NULL, 0);
	ipc_call(kv, &m, &x);
	int server_status;
	wait(server, &server_status);
	printf("kv: the server %s; \"%s\" is gone from the registry: %s\n", fate(server_status),
	       SERVICE_NAME, ipc_lookup(SERVICE_NAME) == -ENOENT ? "yes" : "no");

	handle_close(kv);
	for (int id = 1; id <= CLIENTS; id++)
		handle_close(report_handles[id]);
	handle_close(reports_ep);
	handle_close(progress);
	meminfo(&after);
	printf("kv: IPC objects alive: %lu before, %lu after\n", before.ipc_objects,
	       after.ipc_objects);
	return after.ipc_objects == before.ipc_objects && server_status == 0 ? 0 : 1;
}
