/*
 * Memory and string routines, and a small snprintf for printk.
 * Pure functions: no locks.
 */
#include "klib.h"

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	/* Whole words when aligned: pages are zeroed here. */
	if (((uintptr_t)d % 8) == 0 && n % 8 == 0) {
		uint64_t w = (unsigned char)c * 0x0101010101010101ull;
		for (size_t i = 0; i < n / 8; i++)
			((uint64_t *)d)[i] = w;
		return dst;
	}
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (((uintptr_t)d % 8) == 0 && ((uintptr_t)s % 8) == 0) {
		for (; n >= 8; n -= 8, d += 8, s += 8)
			*(uint64_t *)d = *(const uint64_t *)s;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b || !*a)
			return (unsigned char)*a - (unsigned char)*b;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

/* Output cursor: writes what fits, counts everything. */
struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_number(struct out *o, unsigned long long v, unsigned base, bool negative, int width,
		       char pad, bool left)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (negative)
		digits[n++] = '-';
	/* With zero padding the sign goes before the zeros. */
	if (negative && pad == '0') {
		put(o, '-');
		n--;
		width--;
	}
	for (int i = n; !left && i < width; i++)
		put(o, pad);
	while (n)
		put(o, digits[--n]);
	for (int i = negative ? 1 : 0; left && i < width; i++)
		put(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		bool left = *fmt == '-';
		if (left)
			fmt++;
		char pad = *fmt == '0' ? '0' : ' ';
		int width = 0, longs = 0;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			longs++, fmt++;
		if (*fmt == 'z')
			longs = 1, fmt++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			long long v = longs ? va_arg(ap, long long) : va_arg(ap, int);
			put_number(&o, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v,
				   10, v < 0, width, pad, left);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v =
				longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			put_number(&o, v, *fmt == 'u' ? 10 : 16, false, width, pad, left);
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_number(&o, (uintptr_t)va_arg(ap, void *), 16, false, width ? width : 16,
				   '0', false);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int n = (int)strlen(s);
			for (int i = n; !left && i < width; i++)
				put(&o, ' ');
			while (*s)
				put(&o, *s++);
			for (int i = n; left && i < width; i++)
				put(&o, ' ');
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		default: /* unknown conversion: show it as is */
			put(&o, '%');
			if (!*fmt)
				fmt--;
			else
				put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[MIN(o.len, size - 1)] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
