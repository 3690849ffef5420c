/*
 * Kernel console output (kernel/printk.c). printk serializes on the
 * console's own lock, not on the big kernel lock (console.c), so a CPU can
 * print while another CPU holds the BKL.
 */
#ifndef WEFT_PRINTK_H
#define WEFT_PRINTK_H

#include "types.h"

void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintk(const char *fmt, va_list ap);

#endif
