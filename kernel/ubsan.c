/*
 * UBSan runtime: what a kernel built with SANITIZE=ubsan calls when one of
 * GCC's undefined-behaviour checks fails.
 *
 * -fsanitize=undefined puts a check before every operation whose result C
 * leaves undefined (a signed overflow, a shift too far, an index out of
 * bounds, a null or misaligned pointer, ...). A failed check calls one of
 * the __ubsan_handle_* functions below with a pointer to data GCC made at
 * compile time (the source location and the types involved) and the
 * operands. The kernel is built with -fno-sanitize-recover, so GCC calls
 * the _abort variants, which never return: every report is a panic, with
 * the usual backtrace, for example
 *
 *   PANIC: cpu 0: ubsan: signed integer overflow: 2147483647 + 1 in 'int' at kernel/main.c:189:13
 *
 * Compiled only into a SANITIZE=ubsan kernel, and without the checks
 * itself. Runs in whatever context the failed check was in, which panic()
 * handles; the first CPU to panic reports, any other stops.
 */
#include "klib.h"
#include "panic.h"

struct source_location {
	const char *file;
	uint32_t line;
	uint32_t column;
};

/* kind TYPE_INTEGER: info bit 0 = signed, info >> 1 = log2 of the width
 * in bits. name is the type as written in the source, in quotes. */
struct type_descriptor {
	uint16_t kind;
	uint16_t info;
	char name[];
};
#define TYPE_INTEGER 0

/* Overflow, division, load of an invalid bool or enum, VLA bound. */
struct typed_data {
	struct source_location loc;
	const struct type_descriptor *type;
};

/* Shift (left operand, right operand); out of bounds (array, index). */
struct two_typed_data {
	struct source_location loc;
	const struct type_descriptor *first, *second;
};

/* Null, misaligned or too small an object behind a pointer. */
struct type_mismatch_data {
	struct source_location loc;
	const struct type_descriptor *type;
	uint8_t log_alignment;
	uint8_t access; /* what was done: access_names */
};

struct nonnull_arg_data {
	struct source_location loc, attr_loc;
	int arg;
};

/* __builtin_ctz or __builtin_clz of zero. */
struct invalid_builtin_data {
	struct source_location loc;
	uint8_t builtin; /* 0: ctz, 1: clz */
};

#define VALUE_TEXT_MAX 24
#define MESSAGE_MAX 160

/* What the program did through the pointer, by GCC's number for it (the
 * ones after these are C++'s). */
static const char *const access_names[] = { "load of", "store to", "reference to",
					    "member access within" };

static __noreturn void report(const struct source_location *loc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static __noreturn void report(const struct source_location *loc, const char *fmt, ...)
{
	char message[MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	panic("ubsan: %s at %s:%u:%u", message, loc->file, loc->line, loc->column);
}

static unsigned int type_bits(const struct type_descriptor *t)
{
	return 1u << (t->info >> 1);
}

static bool type_signed(const struct type_descriptor *t)
{
	return t->kind == TYPE_INTEGER && (t->info & 1);
}

/* An integer operand's value, sign-extended from its type's width. */
static long long signed_value(const struct type_descriptor *t, uintptr_t v)
{
	unsigned int bits = type_bits(t);

	if (bits < 64 && (v >> (bits - 1)) & 1)
		v |= ~(uintptr_t)0 << bits;
	return (long long)v;
}

static bool value_negative(const struct type_descriptor *t, uintptr_t v)
{
	return type_signed(t) && type_bits(t) <= 64 && signed_value(t, v) < 0;
}

/* GCC passes an integer operand that fits in a pointer as its value, a
 * wider one (__int128) by its address, which is not worth following. */
static const char *value_text(char *buf, const struct type_descriptor *t, uintptr_t v)
{
	if (t->kind != TYPE_INTEGER || type_bits(t) > 64)
		snprintf(buf, VALUE_TEXT_MAX, "(a %s)", t->name);
	else if (type_signed(t))
		snprintf(buf, VALUE_TEXT_MAX, "%lld", signed_value(t, v));
	else
		snprintf(buf, VALUE_TEXT_MAX, "%llu", (unsigned long long)v);
	return buf;
}

static __noreturn void report_overflow(const struct typed_data *d, const char *op, uintptr_t lhs,
				       uintptr_t rhs)
{
	char a[VALUE_TEXT_MAX], b[VALUE_TEXT_MAX];

	report(&d->loc, "%s integer overflow: %s %s %s in %s",
	       type_signed(d->type) ? "signed" : "unsigned", value_text(a, d->type, lhs), op,
	       value_text(b, d->type, rhs), d->type->name);
}

__noreturn void __ubsan_handle_add_overflow_abort(const struct typed_data *d, uintptr_t lhs,
						  uintptr_t rhs)
{
	report_overflow(d, "+", lhs, rhs);
}

__noreturn void __ubsan_handle_sub_overflow_abort(const struct typed_data *d, uintptr_t lhs,
						  uintptr_t rhs)
{
	report_overflow(d, "-", lhs, rhs);
}

__noreturn void __ubsan_handle_mul_overflow_abort(const struct typed_data *d, uintptr_t lhs,
						  uintptr_t rhs)
{
	report_overflow(d, "*", lhs, rhs);
}

__noreturn void __ubsan_handle_negate_overflow_abort(const struct typed_data *d, uintptr_t v)
{
	char a[VALUE_TEXT_MAX];

	report(&d->loc, "negation of %s overflows %s", value_text(a, d->type, v), d->type->name);
}

__noreturn void __ubsan_handle_divrem_overflow_abort(const struct typed_data *d, uintptr_t lhs,
						     uintptr_t rhs)
{
	if (rhs == 0)
		report(&d->loc, "division by zero in %s", d->type->name);
	report_overflow(d, "/", lhs, rhs); /* the most negative value / or % -1 */
}

__noreturn void __ubsan_handle_shift_out_of_bounds_abort(const struct two_typed_data *d,
							 uintptr_t lhs, uintptr_t rhs)
{
	char a[VALUE_TEXT_MAX], b[VALUE_TEXT_MAX];
	const char *by = value_text(b, d->second, rhs);

	if (value_negative(d->second, rhs))
		report(&d->loc, "shift by a negative amount, %s", by);
	if (rhs >= type_bits(d->first))
		report(&d->loc, "shift by %s, not less than the width of %s", by, d->first->name);
	if (value_negative(d->first, lhs))
		report(&d->loc, "left shift of a negative value, %s", value_text(a, d->first, lhs));
	report(&d->loc, "left shift of %s by %s does not fit in %s", value_text(a, d->first, lhs),
	       by, d->first->name);
}

__noreturn void __ubsan_handle_out_of_bounds_abort(const struct two_typed_data *d, uintptr_t index)
{
	char a[VALUE_TEXT_MAX];

	report(&d->loc, "index %s out of bounds for %s", value_text(a, d->second, index),
	       d->first->name);
}

__noreturn void __ubsan_handle_type_mismatch_v1_abort(const struct type_mismatch_data *d,
						      uintptr_t pointer)
{
	uintptr_t alignment = (uintptr_t)1 << d->log_alignment;
	const char *access =
		d->access < ARRAY_SIZE(access_names) ? access_names[d->access] : "use of";

	if (pointer == 0)
		report(&d->loc, "%s a null pointer of type %s", access, d->type->name);
	if (pointer & (alignment - 1))
		report(&d->loc, "%s misaligned address %p for type %s (%lu-byte alignment)", access,
		       (void *)pointer, d->type->name, (unsigned long)alignment);
	report(&d->loc, "%s address %p with too little room for type %s", access, (void *)pointer,
	       d->type->name);
}

__noreturn void __ubsan_handle_load_invalid_value_abort(const struct typed_data *d, uintptr_t v)
{
	char a[VALUE_TEXT_MAX];

	report(&d->loc, "load of %s, not a valid value of type %s", value_text(a, d->type, v),
	       d->type->name);
}

__noreturn void __ubsan_handle_pointer_overflow_abort(const struct source_location *loc,
						      uintptr_t base, uintptr_t result)
{
	report(loc, "pointer arithmetic on %p wrapped around to %p", (void *)base, (void *)result);
}

__noreturn void __ubsan_handle_vla_bound_not_positive_abort(const struct typed_data *d,
							    uintptr_t bound)
{
	char a[VALUE_TEXT_MAX];

	report(&d->loc, "variable-length array bound %s is not positive",
	       value_text(a, d->type, bound));
}

__noreturn void __ubsan_handle_nonnull_arg_abort(const struct nonnull_arg_data *d)
{
	report(&d->loc, "null passed as argument %d, which is declared never null", d->arg);
}

__noreturn void __ubsan_handle_nonnull_return_v1_abort(const struct source_location *attr_loc,
						       const struct source_location *loc)
{
	(void)attr_loc;
	report(loc, "null returned from a function declared never to return null");
}

__noreturn void __ubsan_handle_invalid_builtin_abort(const struct invalid_builtin_data *d)
{
	static const char *const names[] = { "__builtin_ctz", "__builtin_clz" };

	report(&d->loc, "zero passed to %s",
	       d->builtin < ARRAY_SIZE(names) ? names[d->builtin] : "a builtin");
}

__noreturn void __ubsan_handle_builtin_unreachable(const struct source_location *loc)
{
	report(loc, "__builtin_unreachable() reached");
}
