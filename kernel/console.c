/*
 * Console input: a ring buffer filled by the UART interrupt and drained by
 * read(). Readers block on a wait queue until a byte arrives. Bytes that
 * arrive while the ring is full are dropped. Runs under the big kernel lock.
 */
#include "console.h"

#include "printk.h"
#include "proc.h"
#include "sched.h"
#include "trace.h"

static char ring[CONSOLE_INPUT_SIZE];
static size_t head, tail; /* read at head, write at tail; head == tail: empty */
static struct waitq readers;
static bool raw;

void console_set_raw(void)
{
	raw = true;
}

void console_input(char c)
{
	trace(TRACE_IRQ, TRACE_IRQ_DEVICE);
	if (!raw) {
		/* No process yet: echo, so the keyboard visibly works. */
		console_write(c == '\r' ? "\n" : &c, 1);
		return;
	}
	if (tail - head < CONSOLE_INPUT_SIZE)
		ring[tail++ % CONSOLE_INPUT_SIZE] = c;
	sched_wake_all(&readers);
}

long console_read(char *buf, size_t n)
{
	while (head == tail) {
		int err = sched_block(&readers, 0);
		if (err)
			return err;
	}
	size_t got = 0;
	while (got < n && head != tail)
		buf[got++] = ring[head++ % CONSOLE_INPUT_SIZE];
	return (long)got;
}
