/*
 * A very small unit test framework for host tests of kernel sources.
 *
 * TEST(name) { ... } defines a test case. The runner (check.c) runs each
 * case in a child process of its own, so a sanitizer report or a hang
 * ends only that case, and prints:
 *
 *   TEST name          when it starts
 *   PASS name
 *   FAIL name: why (file:line)
 *
 * then exits non-zero if any case failed. A failed CHECK ends the case at
 * once. The kernel's panic() is provided here: inside CHECK_PANIC it
 * returns control to the test, anywhere else it fails the case.
 */
#ifndef WEFT_TEST_CHECK_H
#define WEFT_TEST_CHECK_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Seconds a case may run before it counts as hung. */
#define UNIT_TIMEOUT_S 30

void unit_register(const char *name, void (*fn)(void));

#define TEST(name)                                                     \
	static void name(void);                                        \
	__attribute__((constructor)) static void register_##name(void) \
	{                                                              \
		unit_register(#name, name);                            \
	}                                                              \
	static void name(void)

void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define CHECK(cond)                                                 \
	do {                                                        \
		if (!(cond))                                        \
			unit_fail(__FILE__, __LINE__, "%s", #cond); \
	} while (0)

#define CHECK_MSG(cond, ...)                                        \
	do {                                                        \
		if (!(cond))                                        \
			unit_fail(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* Integer equality, printing both values when they differ. */
#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_)                                                                      \
			unit_fail(__FILE__, __LINE__, "%s == %s: %lld (0x%llx) != %lld (0x%llx)",  \
				  #a, #b, a_, (unsigned long long)a_, b_, (unsigned long long)b_); \
	} while (0)

#define CHECK_STR(a, b)                                                                   \
	do {                                                                              \
		const char *a_ = (a), *b_ = (b);                                          \
		if (!a_ || strcmp(a_, b_) != 0)                                           \
			unit_fail(__FILE__, __LINE__, "%s == \"%s\": got %s%s%s", #a, b_, \
				  a_ ? "\"" : "", a_ ? a_ : "NULL", a_ ? "\"" : "");      \
	} while (0)

/* Run stmt, which must call panic() with a message containing `needle`. */
extern jmp_buf unit_panic_jmp;
extern bool unit_panic_armed;
extern char unit_panic_msg[256];
#define CHECK_PANIC(stmt, needle)                                                              \
	do {                                                                                   \
		if (setjmp(unit_panic_jmp) == 0) {                                             \
			unit_panic_armed = true;                                               \
			stmt;                                                                  \
			unit_panic_armed = false;                                              \
			unit_fail(__FILE__, __LINE__, "no panic from %s", #stmt);              \
		}                                                                              \
		unit_panic_armed = false;                                                      \
		CHECK_MSG(strstr(unit_panic_msg, needle), "panic message \"%s\" lacks \"%s\"", \
			  unit_panic_msg, needle);                                             \
	} while (0)

/* Say what the case is doing now ("mutation 12 of seed 7"); failures,
 * time-outs and sanitizer reports print it. Cleared when a case starts. */
__attribute__((format(printf, 1, 2))) void unit_note(const char *fmt, ...);

/* A directory for files the tests make (argv[1], else build/unit). */
extern const char *unit_scratch_dir;

#endif
