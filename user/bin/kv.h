/*
 * The kv service's protocol: what a client sends the server (user/bin/kv.c)
 * and what comes back. ipcattack.c speaks it too.
 *
 * A client looks SERVICE_NAME up (a handle that can only send), opens a
 * session through it, and gets a handle of its own in the reply: the same
 * endpoint, a badge naming the session, and again only the right to send.
 */
#ifndef WEFT_KV_H
#define WEFT_KV_H

#define SERVICE_NAME "kv"
#define MAX_SESSIONS 8 /* badges 1..MAX_SESSIONS; 0 is the public handle */
#define KEY_MAX 15
#define VALUE_MAX 31

/* Requests (the label of a call) ... */
enum kv_request {
	KV_OPEN = 1, /* through the public handle: a session handle comes back;
			w[0]: who asks (for the server's view only) */
	KV_PUT,      /* buffer: key then value; w[0], w[1]: their lengths */
	KV_GET,      /* buffer: the key; reply buffer: the value */
	KV_CLOSE,    /* ends the session and forgets its keys */
	KV_VIEW,     /* public: the server's view of its sessions, as text */
	KV_STOP,     /* public: the server ends */
};

/* ... and the answers (the label of the reply). */
enum kv_answer { KV_OK, KV_NOT_FOUND, KV_FULL, KV_BAD_REQUEST, KV_NO_SESSION };

#endif
