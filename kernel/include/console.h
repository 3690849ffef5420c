/*
 * The console as user processes see it: bytes typed on the UART are
 * queued here (console_input, from the interrupt handler) and handed to
 * read() on fd 0; write() on fd 1 and 2 prints through console_write().
 * Until the first process starts, typed bytes are echoed. Runs under the
 * big kernel lock.
 */
#ifndef WEFT_CONSOLE_H
#define WEFT_CONSOLE_H

#include "types.h"

#define CONSOLE_INPUT_SIZE 256

/* Write n bytes, newline as CR LF; takes the console lock (not the BKL). */
void console_write(const char *s, size_t n);
/* Stop echoing: a process now owns the console. */
void console_set_raw(void);
/* Wait for input, then take up to n bytes: count, or -EINTR. */
long console_read(char *buf, size_t n);

#endif
