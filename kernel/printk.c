/*
 * printk: the kernel's formatted output. A message is formatted first and
 * handed to console_write (console.c) as a whole, so lines from different
 * CPUs never interleave mid-line.
 */
#include "printk.h"

#include "console.h"
#include "klib.h"

#define PRINTK_MAX 256

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
