/*
 * pingpong: two processes bounce a message through an endpoint and time
 * the round trips.
 *
 *   pingpong [rounds]
 *
 * The parent creates an endpoint and forks; the child inherits the handle
 * and serves: ipc_reply_recv answers one call and waits for the next in a
 * single trap. The parent calls it `rounds` times, each call carrying a
 * counter the server must return plus one, and prints the average round
 * trip. Nothing but registers moves: no buffer, no handle.
 *
 * Each side keeps only the right it uses: after the fork the server's
 * handle can receive and nothing else, the client's can send.
 */
#include <stdio.h>
#include <stdlib.h>

#include "weft.h"
#include "weft_ipc.h"

#define DEFAULT_ROUNDS 1000
#define LABEL_PING 1

static void serve(int ep)
{
	struct ipc_msg m;
	long err = handle_restrict(ep, RIGHT_RECV);

	if (err >= 0) {
		ep = (int)err;
		err = ipc_recv(ep, &m, NULL);
	}
	while (err == 0) {
		m.w[0] += 1; /* the answer: counter plus one */
		err = ipc_reply_recv(ep, &m, NULL);
	}
	printf("pingpong: server: %ld\n", err);
	exit(1);
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : DEFAULT_ROUNDS;
	int ep = endpoint_create();

	if (ep < 0 || rounds <= 0) {
		printf("pingpong: %s\n",
		       ep < 0 ? "endpoint_create failed" : "usage: pingpong [rounds]");
		return 1;
	}
	int pid = fork();
	if (pid == 0)
		serve(ep);
	ep = handle_restrict(ep, RIGHT_SEND);
	unsigned long start = clock_ns();
	for (long i = 0; i < rounds; i++) {
		struct ipc_msg m = { .label = LABEL_PING, .w = { (unsigned long)i } };
		long err = ipc_call(ep, &m, NULL);
		if (err || m.w[0] != (unsigned long)i + 1) {
			printf("pingpong: round %ld: error %ld, got %lu\n", i, err, m.w[0]);
			kill(pid);
			return 1;
		}
	}
	unsigned long ns = clock_ns() - start;
	printf("pingpong: %ld round trips, %lu ns each\n", rounds, ns / rounds);
	kill(pid);
	wait(pid, NULL);
	return 0;
}
