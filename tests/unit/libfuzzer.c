/*
 * libFuzzer's side of a host fuzz harness: scripts/fuzzhost.py links a
 * *_test.c that defines fuzz_one_input() with this file instead of
 * check.c, and builds it with clang -fsanitize=fuzzer.
 *
 * libFuzzer owns main() and calls LLVMFuzzerTestOneInput() with each input
 * it makes up. A failed CHECK, an unexpected panic() or a sanitizer report
 * aborts, and libFuzzer saves the input as crash-<hash>. The file's TEST
 * cases are registered with nobody and never run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "fuzz.h"
#include "printk.h"

const char *unit_scratch_dir = "build/fuzz";
static char note[256];

void unit_register(const char *name, void (*fn)(void))
{
	(void)name;
	(void)fn;
}

void unit_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s:%d)%s%s\n", file, line, note[0] ? " while testing " : "", note);
	abort();
}

/* The parsers' messages about bad input would flood the terminal. */
void printk(const char *fmt, ...)
{
	(void)fmt;
}

/* A panic is a failure, whatever the input: CHECK_PANIC belongs to the
 * TEST cases, which never run here. */
void panic(const char *fmt, ...)
{
	char message[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	unit_fail(__FILE__, __LINE__, "panic: %s", message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	note[0] = '\0';
	fuzz_one_input(data, size);
	return 0;
}
