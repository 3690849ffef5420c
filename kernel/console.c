/*
 * The console. Output: console_write, serialized by console_lock, a
 * spinlock of its own rather than the big kernel lock, so that a CPU can
 * print a panic report while another CPU holds the BKL. Input: a ring
 * buffer filled by the UART interrupt and drained by read(); readers block
 * on a wait queue until a byte arrives, and bytes that arrive while the
 * ring is full are dropped. Input runs under the big kernel lock.
 */
#include "console.h"

#include "arch.h"
#include "lock.h"
#include "panic.h"
#include "proc.h"
#include "sched.h"
#include "trace.h"

struct spinlock console_lock = SPINLOCK_INIT("console lock");

void console_write(const char *s, size_t n)
{
	/* A panicking CPU may have died holding the lock: write anyway. */
	bool locked = !spin_holding(&console_lock) && !panic_in_progress;

	if (locked)
		spin_lock(&console_lock);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			arch_console_putc('\r');
		arch_console_putc(s[i]);
	}
	if (locked)
		spin_unlock(&console_lock);
}

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
