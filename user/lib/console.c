/*
 * The console as C stdio: picolibc's stdin, stdout and stderr are FILE
 * objects whose put/get/flush hooks end in SYS_read and SYS_write.
 *
 * Output is line buffered: a whole line goes to the kernel in one write,
 * so lines from different processes do not mix mid-line (lines longer
 * than the buffer are the exception). Before stdin waits for input, and
 * before stderr writes, pending stdout output is flushed so prompts and
 * messages appear in the order the program produced them. exit() flushes
 * the output through the destructor at the end of this file.
 *
 * Threads: each thread buffers its stdout and stderr output in its own
 * thread-local line buffer, so printf needs no lock and lines written by
 * different threads never mix mid-line. exit() flushes the buffers of the
 * thread that calls it (thread_exit flushes its own). stdin keeps one
 * buffer: read it from one thread at a time.
 */
#include <stdio.h>

#include "weft.h"

#define CONSOLE_BUFFER_BYTES 256

struct console_stream {
	FILE file; /* first, so a FILE * is a struct console_stream * */
	int fd;
	int len; /* input only: bytes held in buf */
	int pos; /* input only: next byte of buf to hand out */
	char buf[CONSOLE_BUFFER_BYTES];
};

/* One thread's pending output for one stream. */
struct console_line {
	int len; /* bytes held in buf */
	char buf[CONSOLE_BUFFER_BYTES];
};

static _Thread_local struct console_line console_lines[2]; /* stdout, stderr */

static int console_flush(FILE *file);
static int console_put(char c, FILE *file);
static int console_get(FILE *file);

static struct console_stream console_in = {
	.file = FDEV_SETUP_STREAM(NULL, console_get, NULL, _FDEV_SETUP_READ),
	.fd = 0,
};
static struct console_stream console_out = {
	.file = FDEV_SETUP_STREAM(console_put, NULL, console_flush, _FDEV_SETUP_WRITE),
	.fd = 1,
};
static struct console_stream console_err = {
	.file = FDEV_SETUP_STREAM(console_put, NULL, console_flush, _FDEV_SETUP_WRITE),
	.fd = 2,
};

FILE *const stdin = &console_in.file;
FILE *const stdout = &console_out.file;
FILE *const stderr = &console_err.file;

/* Writes out everything buffered; the kernel may take it in pieces. */
static int console_flush(FILE *file)
{
	struct console_stream *s = (struct console_stream *)file;
	struct console_line *l = &console_lines[s == &console_err];
	int done = 0;

	if (s == &console_err)
		console_flush(stdout);
	while (done < l->len) {
		long n = write(s->fd, l->buf + done, l->len - done);
		if (n <= 0) {
			l->len = 0;
			return EOF;
		}
		done += n;
	}
	l->len = 0;
	return 0;
}

static int console_put(char c, FILE *file)
{
	struct console_stream *s = (struct console_stream *)file;
	struct console_line *l = &console_lines[s == &console_err];

	l->buf[l->len++] = c;
	if (c == '\n' || l->len == CONSOLE_BUFFER_BYTES) {
		if (console_flush(file) < 0)
			return _FDEV_ERR;
	}
	return (unsigned char)c;
}

/* Hands out one byte, reading whatever the console has when empty. */
static int console_get(FILE *file)
{
	struct console_stream *s = (struct console_stream *)file;

	if (s->pos == s->len) {
		long n;

		console_flush(stdout);
		n = read(s->fd, s->buf, sizeof(s->buf));
		if (n == 0)
			return _FDEV_EOF;
		if (n < 0)
			return _FDEV_ERR;
		s->len = n;
		s->pos = 0;
	}
	return (unsigned char)s->buf[s->pos++];
}

__attribute__((destructor)) static void console_flush_at_exit(void)
{
	console_flush(stdout);
	console_flush(stderr);
}
