/*
 * Console output: printk and the byte-level console_write.
 *
 * Output is serialized by console_lock, a spinlock of its own rather than
 * the big kernel lock, so that a CPU can print a panic report while another
 * CPU holds the BKL. A message is formatted first and written as a whole,
 * so lines from different CPUs never interleave mid-line.
 */
#include "printk.h"

#include "arch.h"
#include "console.h"
#include "cpu.h"
#include "klib.h"
#include "lock.h"

#define PRINTK_MAX 256

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

void vprintk(const char *fmt, va_list ap)
{
	char buf[PRINTK_MAX];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	console_write(buf, MIN((size_t)n, sizeof(buf) - 1));
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}
