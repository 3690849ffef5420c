/*
 * Basic types for the kernel: the compiler's freestanding headers plus a few
 * helpers every file wants. Nothing here depends on the architecture.
 */
#ifndef WEFT_TYPES_H
#define WEFT_TYPES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t paddr_t; /* a physical address */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a)-1, (a))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#ifndef INT_MAX /* <limits.h> is not freestanding with every cross gcc */
#define INT_MAX __INT_MAX__
#endif

#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

#define __noreturn __attribute__((noreturn))
#define __unused __attribute__((unused))
#define __noinline __attribute__((noinline))
#define __aligned(n) __attribute__((aligned(n)))
#define __section(s) __attribute__((section(s)))

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#endif
