/*
 * ipcdigest: random calls through one endpoint, and a digest of every
 * message and every status both sides saw (the ipcfast lab's grader).
 *
 *     ipcdigest [-p] SEED ROUNDS
 *
 * The parent forks a server and calls it ROUNDS times. What each round
 * does is a function of SEED and the round's number alone, so both sides
 * know it without telling each other: how long the message is (0 to 80
 * bytes, either side of the 32 that fit in the four words: a short one
 * goes in the words or, at random, in a buffer like a long one), whether
 * it passes a notification handle, which handle it goes through (badge 0
 * with every right, a badged send-only one, or a receive-only one that
 * must be refused), whether the server receives with a buffer, how it
 * answers (ipc_reply_recv; ipc_reply, yield and ipc_recv, so the next
 * call finds nobody waiting; or first a reply_recv through a send-only
 * handle, which must be refused and leave the reply owed), and how long
 * the answer is. The answer's bytes are computed from what the server
 * received, so a message damaged on the way shows on both sides.
 *
 * Each side folds everything it got (statuses, labels, words, badges,
 * lengths, bytes, handles, notification bits) into a 64-bit digest. The
 * line "ipcdigest: seed ... client ... server ..." must be the same
 * whichever path the kernel takes: the fast path's, or the plain one's
 * with ipcfast=off. -p pins the client to CPU 0 and the server to CPU 1,
 * so that no hand-over is possible.
 *
 * Then 1,000 short calls (words only, no buffer, no handle, nothing but
 * ipc_call and ipc_reply_recv) are timed: "short round trip N ns". Under
 * QEMU's -icount N is guest instructions, which is how the grader sees
 * that the fast path ran. Exit status 0 if everything went as the rules
 * say (docs/ipc.md), 1 otherwise.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft_ipc.h"
#include "weft_thread.h"

#define MAX_LEN 80 /* longest message or answer, in bytes */
#define WORD_BYTES (IPC_WORDS * sizeof(unsigned long))
#define RECV_CAP 64 /* room for a received buffer: longer ones are cut */
#define BADGE 0x5eedul
#define TIMED_CALLS 1000
#define LABEL_TIMED (1ul << 40) /* the short calls after the rounds */
#define LABEL_STOP (1ul << 41)

enum via { VIA_FULL, VIA_BADGED, VIA_RECV_ONLY };
enum answer { ANSWER_REPLY_RECV, ANSWER_REPLY_YIELD_RECV, ANSWER_REFUSED_FIRST };

/* What round i does: a function of the seed and i. */
struct round {
	unsigned len;         /* bytes in the call */
	bool in_words;        /* carried in the words (len <= WORD_BYTES) */
	bool pass_handle;     /* the call passes the notification */
	enum via via;         /* the handle it goes through */
	bool client_recv_buf; /* the client gives room for a buffer answer */
	bool server_recv_buf; /* the server gives room for a buffer message */
	enum answer answer;   /* how the server answers it */
	unsigned reply_len;
	bool reply_in_words;
	bool reply_handle; /* the answer passes the notification back */
};

static unsigned long seed;

static unsigned long mix(unsigned long x)
{
	x += 0x9e3779b97f4a7c15ul;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ul;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebul;
	return x ^ (x >> 31);
}

static struct round round_of(long i)
{
	unsigned long r = mix(seed ^ mix((unsigned long)i));
	unsigned long s = mix(r);
	struct round rd;

	rd.len = (unsigned)(r % (MAX_LEN + 1));
	rd.in_words = rd.len <= WORD_BYTES && (r >> 8) % 4 != 0;
	rd.pass_handle = (r >> 12) % 8 == 0;
	rd.via = (r >> 16) % 16 == 0 ? VIA_RECV_ONLY : (r >> 20) % 4 == 0 ? VIA_BADGED : VIA_FULL;
	rd.client_recv_buf = (r >> 24) % 4 == 0;
	rd.server_recv_buf = (r >> 28) % 4 == 0;
	rd.answer = (r >> 32) % 8 == 0    ? ANSWER_REPLY_YIELD_RECV
		    : (r >> 36) % 16 == 0 ? ANSWER_REFUSED_FIRST
					  : ANSWER_REPLY_RECV;
	rd.reply_len = (unsigned)(s % (MAX_LEN + 1));
	rd.reply_in_words = rd.reply_len <= WORD_BYTES && (s >> 8) % 4 != 0;
	rd.reply_handle = (s >> 12) % 16 == 0;
	return rd;
}

/* FNV-1a over bytes, and over a word. */
static void fold(unsigned long *d, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		*d = (*d ^ b[i]) * 0x100000001b3ul;
}

static void fold_word(unsigned long *d, unsigned long w)
{
	fold(d, &w, sizeof(w));
}

static void fold_msg(unsigned long *d, long status, const struct ipc_msg *m)
{
	fold_word(d, (unsigned long)status);
	fold_word(d, m->label);
	fold(d, m->w, sizeof(m->w));
	fold_word(d, m->badge);
}

/* Fold what an ext received, and tidy up a handle that came with it. */
static void fold_ext(unsigned long *d, const struct ipc_ext *e, const unsigned char *buf)
{
	fold_word(d, e->recv_len);
	fold_word(d, e->recv_handle != IPC_NO_HANDLE);
	if (buf)
		fold(d, buf, e->recv_len < RECV_CAP ? e->recv_len : RECV_CAP);
}

/* The message's bytes: in the words, or in buf (len bytes) with words of
 * their own. */
static void make_message(struct ipc_msg *m, unsigned char *buf, unsigned len, bool in_words,
			 unsigned long label, unsigned long from)
{
	unsigned char bytes[MAX_LEN];

	for (unsigned i = 0; i < len; i++)
		bytes[i] = (unsigned char)mix(from + i);
	memset(m, 0, sizeof(*m));
	m->label = label;
	if (in_words) {
		memcpy(m->w, bytes, len);
	} else {
		memcpy(buf, bytes, len);
		for (int i = 0; i < IPC_WORDS; i++)
			m->w[i] = mix(from ^ (unsigned long)i);
	}
}

static int failures;

static void expect(bool ok, const char *what, long i, long status)
{
	if (!ok && failures++ < 10)
		printf("ipcdigest: round %ld: %s (status %ld)\n", i, what, status);
}

struct handles {
	int full, badged, recv_only, send_only, notif;
};

/* A call the kernel refuses at once: no send right, or a handle to pass
 * through a handle without grant. */
static bool refused(const struct round *rd)
{
	return rd->via == VIA_RECV_ONLY || (rd->pass_handle && rd->via == VIA_BADGED);
}

/* The next round the server sees: one not refused at the client. */
static long next_served(long i, long rounds)
{
	struct round rd;

	while (i < rounds && (rd = round_of(i), refused(&rd)))
		i++;
	return i;
}

static __attribute__((noreturn)) void serve(const struct handles *h, long rounds)
{
	unsigned long d = 0xcbf29ce484222325ul;
	unsigned char in[RECV_CAP], out[MAX_LEN];
	struct ipc_msg m;
	struct ipc_ext e;
	long i = next_served(0, rounds), st;

	/* The first receive, with a buffer if round i wants one. */
	bool buf = i < rounds && round_of(i).server_recv_buf;
	e = (struct ipc_ext){ .send_handle = IPC_NO_HANDLE, .recv_buf = in, .recv_cap = RECV_CAP };
	st = ipc_recv(h->full, &m, buf ? &e : NULL);
	for (;;) {
		if (st) {
			printf("ipcdigest: server: receive failed: %ld\n", st);
			_exit(1);
		}
		if (m.label == LABEL_STOP) {
			m.w[0] = d;
			_exit(ipc_reply(&m, NULL) ? 1 : 0);
		}
		if (m.label == LABEL_TIMED) { /* echo, plus one, until LABEL_STOP */
			m.w[0]++;
			st = ipc_reply_recv(h->full, &m, NULL);
			continue;
		}
		struct round rd = round_of(i);
		fold_msg(&d, st, &m);
		if (buf)
			fold_ext(&d, &e, in);
		if (buf && e.recv_handle != IPC_NO_HANDLE) {
			/* The client's notification: ring it and let it go. */
			expect(notify_signal(e.recv_handle, (unsigned long)i + 1) == 0, "signal", i,
			       0);
			expect(handle_close(e.recv_handle) == 0, "close", i, 0);
		}
		/* The answer, made from everything received so far. */
		make_message(&m, out, rd.reply_len, rd.reply_in_words, rd.reply_len, d);
		long next = next_served(i + 1, rounds);
		buf = next < rounds && round_of(next).server_recv_buf;
		bool ext = buf || !rd.reply_in_words || rd.reply_handle;
		e = (struct ipc_ext){
			.send_buf = out,
			.send_len = rd.reply_in_words ? 0 : rd.reply_len,
			.send_handle = rd.reply_handle ? h->notif : IPC_NO_HANDLE,
			.recv_buf = buf ? in : NULL,
			.recv_cap = buf ? RECV_CAP : 0,
		};
		switch (rd.answer) {
		case ANSWER_REFUSED_FIRST: {
			struct ipc_msg copy = m;
			long refused = ipc_reply_recv(h->send_only, &copy, ext ? &e : NULL);
			expect(refused == -EPERM, "reply_recv without receive right", i, refused);
			fold_word(&d, (unsigned long)refused);
			st = ipc_reply_recv(h->full, &m, ext ? &e : NULL);
			break;
		}
		case ANSWER_REPLY_YIELD_RECV:
			st = ipc_reply(&m, ext ? &e : NULL);
			fold_word(&d, (unsigned long)st);
			yield();
			st = ipc_recv(h->full, &m, buf ? &e : NULL);
			break;
		default:
			st = ipc_reply_recv(h->full, &m, ext ? &e : NULL);
		}
		i = next;
	}
}

/* Round i at the client; adds to its digest. */
static void call_round(const struct handles *h, long i, unsigned long *d)
{
	struct round rd = round_of(i);
	unsigned char out[MAX_LEN], in[RECV_CAP];
	struct ipc_msg m;
	int via = rd.via == VIA_RECV_ONLY ? h->recv_only
		  : rd.via == VIA_BADGED  ? h->badged
					  : h->full;

	make_message(&m, out, rd.len, rd.in_words, (unsigned long)i << 8 | rd.len, seed + i);
	struct ipc_ext e = {
		.send_buf = out,
		.send_len = rd.in_words ? 0 : rd.len,
		.send_handle = rd.pass_handle ? h->notif : IPC_NO_HANDLE,
		.recv_buf = rd.client_recv_buf ? in : NULL,
		.recv_cap = rd.client_recv_buf ? RECV_CAP : 0,
	};
	bool ext = !rd.in_words || rd.pass_handle || rd.client_recv_buf;
	long st = ipc_call(via, &m, ext ? &e : NULL);
	fold_msg(d, st, &m);
	if (refused(&rd)) {
		expect(st == -EPERM, "call without the right it needs", i, st);
		return;
	}
	expect(st == 0, "call", i, st);
	if (ext)
		fold_ext(d, &e, rd.client_recv_buf ? in : NULL);
	if (ext && e.recv_handle != IPC_NO_HANDLE)
		expect(handle_close(e.recv_handle) == 0, "close", i, 0);
	if (rd.pass_handle) /* the server rang it with i + 1 (unless it had no room) */
		fold_word(d, (unsigned long)notify_wait(h->notif, NOTIFY_NONBLOCK));
}

int main(int argc, char **argv)
{
	bool pin = argc > 1 && strcmp(argv[1], "-p") == 0;
	struct handles h;

	if (argc != 3 + pin) {
		printf("usage: ipcdigest [-p] SEED ROUNDS\n");
		return 1;
	}
	if (pin && CPU_INFO_ONLINE(cpu_info()) < 2) {
		printf("ipcdigest: -p needs 2 CPUs online\n");
		return 1;
	}
	seed = strtoul(argv[1 + pin], NULL, 0);
	long rounds = atol(argv[2 + pin]);
	h.full = endpoint_create();
	h.badged = handle_mint(h.full, BADGE, RIGHT_SEND);
	h.recv_only = handle_dup(h.full, RIGHT_RECV);
	h.send_only = handle_dup(h.full, RIGHT_SEND);
	h.notif = notify_create();
	if (h.full < 0 || h.badged < 0 || h.recv_only < 0 || h.send_only < 0 || h.notif < 0) {
		printf("ipcdigest: could not make the handles\n");
		return 1;
	}
	int pid = fork();
	if (pid == 0) {
		if (pin && cpu_pin(1))
			_exit(2);
		serve(&h, rounds);
	}
	if (pid < 0 || (pin && cpu_pin(0))) {
		printf("ipcdigest: fork or cpu_pin failed\n");
		return 1;
	}
	unsigned long d = 0xcbf29ce484222325ul;
	long eligible = 0;
	for (long i = 0; i < rounds; i++) {
		struct round rd = round_of(i);
		eligible += rd.in_words && !rd.pass_handle && !rd.client_recv_buf && !refused(&rd);
		call_round(&h, i, &d);
	}
	struct ipc_msg m = { .label = LABEL_TIMED };
	unsigned long start = clock_ns();
	for (unsigned long i = 0; i < TIMED_CALLS; i++) {
		m.label = LABEL_TIMED;
		m.w[0] = i;
		long st = ipc_call(h.full, &m, NULL);
		if (st || m.w[0] != i + 1) {
			expect(false, "short call", (long)i, st);
			break;
		}
	}
	unsigned long ns = (clock_ns() - start) / TIMED_CALLS;
	m = (struct ipc_msg){ .label = LABEL_STOP };
	long st = ipc_call(h.full, &m, NULL);
	int status = -1;
	expect(st == 0 && wait(pid, &status) == pid && status == 0, "server's end", rounds, st);
	printf("ipcdigest: seed %lu rounds %ld client %016lx server %016lx\n", seed, rounds, d,
	       m.w[0]);
	printf("ipcdigest: %ld calls in words alone, %ld with a buffer, a handle or refused\n",
	       eligible, rounds - eligible);
	printf("ipcdigest: short round trip %lu ns\n", ns);
	printf("ipcdigest: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
