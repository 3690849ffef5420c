/*
 * The few C library routines the kernel needs (kernel/klib.c). The names and
 * contracts are the standard C ones, so host unit tests link the host libc.
 */
#ifndef WEFT_KLIB_H
#define WEFT_KLIB_H

#include "types.h"

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* Formats like snprintf: %d %i %u %x %p %s %c, with l/ll, width and '0'/'-'. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
