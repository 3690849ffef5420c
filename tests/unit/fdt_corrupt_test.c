/*
 * The FDT reader survives any blob: truncated, with a lying header, with
 * broken tokens, names and lengths, or randomly mutated.
 *
 * "Survives" means: fdt_init() answers 0 or -EINVAL, and on a blob it
 * accepted every accessor returns in bounded time with results inside the
 * blob (fdt_walk_all). AddressSanitizer and UBSan watch every read; each
 * blob sits in a buffer of exactly its size.
 *
 * Fuzz seeds: tests/unit/fdt_features.dts
 *
 * Links: kernel/fdt.c tests/unit/fdt_source.c tests/unit/fdt_walk.c
 *        tests/unit/fdt_builder.c tests/unit/fuzz.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fdt.h"
#include "fdt_builder.h"
#include "fdt_source.h"
#include "fdt_walk.h"
#include "fuzz.h"
#include "uapi/errno.h"

#define FDT_HEADER_SIZE 40
#define FUZZ_SEED 0x5eed2024u
#define FUZZ_MUTATIONS_PER_BLOB 1500

/* fdt_init() must answer 0 or -EINVAL; when it accepts, walk everything. */
static int init_and_walk(const struct blob *b)
{
	struct fdt fdt;
	int err = fdt_init(&fdt, b->data, b->size);

	CHECK_MSG(err == 0 || err == -EINVAL, "fdt_init returned %d", err);
	if (err == 0)
		fdt_walk_all(&fdt);
	return err;
}

void fuzz_one_input(const uint8_t *data, size_t size)
{
	struct blob b = { (uint8_t *)data, size };

	init_and_walk(&b);
}

static void expect_rejected(const struct blob *b, const char *why)
{
	struct fdt fdt;

	unit_note("%s", why);
	CHECK_EQ(fdt_init(&fdt, b->data, b->size), -EINVAL);
}

/* A copy of `base` with one header field changed. */
static struct blob with_field(const struct blob *base, size_t off, uint32_t v)
{
	struct blob b = blob_copy(base->data, base->size);

	blob_put32(&b, off, v);
	return b;
}

/* A small valid tree: / { a = <1>; node@1 { reg = <...>; name = "x"; }; }; */
static struct blob small_tree(void)
{
	struct fdt_builder *b = malloc(sizeof(*b));

	CHECK(b);
	fdtb_init(b);
	fdtb_rsv(b, 0x80000000, 0x1000);
	fdtb_begin(b, "");
	fdtb_prop_u32(b, "#address-cells", 1);
	fdtb_prop_u32(b, "#size-cells", 1);
	fdtb_begin(b, "node@1");
	fdtb_prop_str(b, "compatible", "weft,thing");
	fdtb_prop(b, "reg", "\0\0\0\1\0\0\0\2", 8);
	fdtb_end(b);
	fdtb_end(b);
	fdtb_u32(b, FDTB_END);
	struct blob blob = fdtb_finish(b);
	free(b);
	return blob;
}

static void check_header_checks(const struct blob *base)
{
	uint32_t total = (uint32_t)base->size;
	uint32_t off_struct = blob_get32(base, FDT_OFF_DT_STRUCT);
	uint32_t size_struct = blob_get32(base, FDT_OFF_SIZE_DT_STRUCT);
	uint32_t off_strings = blob_get32(base, FDT_OFF_DT_STRINGS);
	struct fdt fdt;
	static const struct {
		size_t field;
		int delta; /* added to the field's value, unless `value` is set */
		uint32_t value;
		const char *why;
	} bad[] = {
		{ 0, 0, 0xd00dfeee, "bad magic" },
		{ 0, 0, 0xedfe0dd0, "byte-swapped magic" },
		{ FDT_OFF_VERSION, 0, 16, "version 16" },
		{ FDT_OFF_VERSION, 0, 1, "version 1" },
		{ FDT_OFF_TOTALSIZE, 1, 0, "totalsize past the buffer" },
		{ FDT_OFF_TOTALSIZE, 0, 0xffffffff, "huge totalsize" },
		{ FDT_OFF_TOTALSIZE, 0, FDT_HEADER_SIZE - 1, "totalsize below the header" },
		{ FDT_OFF_DT_STRUCT, 1, 0, "unaligned structure block" },
		{ FDT_OFF_DT_STRUCT, 0, 0xfffffffc, "structure block far out" },
		{ FDT_OFF_SIZE_DT_STRUCT, 0, 0xffffffff, "huge structure block" },
		{ FDT_OFF_SIZE_DT_STRUCT, 0, 0, "empty structure block" },
		{ FDT_OFF_DT_STRINGS, 0, 0xffffffff, "strings block far out" },
		{ FDT_OFF_SIZE_DT_STRINGS, 0, 0xffffffff, "huge strings block" },
		{ FDT_OFF_MEM_RSVMAP, 0, 0xfffffff8, "reservation map far out" },
		{ FDT_OFF_MEM_RSVMAP, 0, 8, "reservation map inside the header" },
		{ FDT_OFF_MEM_RSVMAP, 4, 0, "unaligned reservation map" },
	};

	CHECK_EQ(fdt_init(&fdt, base->data, base->size), 0);
	CHECK_EQ(fdt_init(&fdt, NULL, base->size), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v =
			bad[i].delta ? blob_get32(base, bad[i].field) + bad[i].delta : bad[i].value;
		struct blob b = with_field(base, bad[i].field, v);
		expect_rejected(&b, bad[i].why);
		blob_free(&b);
	}

	/* Blocks that end one byte past totalsize. */
	struct blob b = with_field(base, FDT_OFF_SIZE_DT_STRUCT, total - off_struct + 1);
	expect_rejected(&b, "structure block past the end");
	blob_free(&b);
	b = with_field(base, FDT_OFF_SIZE_DT_STRINGS, total - off_strings + 1);
	expect_rejected(&b, "strings block past the end");
	blob_free(&b);
	b = with_field(base, FDT_OFF_MEM_RSVMAP, (total & ~7u) - 8);
	expect_rejected(&b, "reservation map cut by the end");
	blob_free(&b);

	/* The first token must open the root node. */
	b = blob_copy(base->data, base->size);
	blob_put32(&b, off_struct, FDTB_NOP);
	expect_rejected(&b, "first token not BEGIN_NODE");
	blob_free(&b);
	(void)size_struct;
}

TEST(fdt_header_lies_are_rejected)
{
	struct blob small = small_tree();
	struct blob rv = blob_from_qemu("riscv64", 2, 128, "", "x");

	check_header_checks(&small);
	check_header_checks(&rv);
	blob_free(&small);
	blob_free(&rv);
}

/* Every prefix of the blob, in a buffer of exactly that size: as is, the
 * header claims more than is there; with the header patched to claim
 * only the prefix, the blob may be accepted and must then be walked
 * safely. */
static void check_truncations(const struct blob *full)
{
	uint32_t off_struct = blob_get32(full, FDT_OFF_DT_STRUCT);
	uint32_t size_struct = blob_get32(full, FDT_OFF_SIZE_DT_STRUCT);
	uint32_t off_strings = blob_get32(full, FDT_OFF_DT_STRINGS);
	uint32_t size_strings = blob_get32(full, FDT_OFF_SIZE_DT_STRINGS);

	for (size_t len = 0; len < full->size; len++) {
		struct blob b = blob_copy(full->data, len);
		struct fdt fdt;

		unit_note("prefix of %zu of %zu bytes", len, full->size);
		CHECK_EQ(fdt_init(&fdt, b.data, b.size), -EINVAL);
		if (len >= FDT_HEADER_SIZE) {
			uint32_t l = (uint32_t)len;
			blob_put32(&b, FDT_OFF_TOTALSIZE, l);
			if (off_struct <= l)
				blob_put32(&b, FDT_OFF_SIZE_DT_STRUCT,
					   size_struct < l - off_struct ? size_struct
									: l - off_struct);
			if (off_strings <= l)
				blob_put32(&b, FDT_OFF_SIZE_DT_STRINGS,
					   size_strings < l - off_strings ? size_strings
									  : l - off_strings);
			init_and_walk(&b);
		}
		blob_free(&b);
	}
}

TEST(fdt_every_truncation_fails_cleanly)
{
	struct blob small = small_tree();
	struct blob rv = blob_from_qemu("riscv64", 2, 128, "", "hello world");
	struct blob arm = blob_from_qemu("aarch64", 2, 128, "", "hello world");
	struct blob feat = blob_from_dts(test_file(__FILE__, "fdt_features.dts"));

	check_truncations(&small);
	check_truncations(&rv);
	check_truncations(&arm);
	check_truncations(&feat);
	blob_free(&small);
	blob_free(&rv);
	blob_free(&arm);
	blob_free(&feat);
}

/* Offset of the n-th FDT_PROP token of a builder's structure block. */
static size_t nth_prop(const struct fdt_builder *b, int n)
{
	for (size_t off = 0; off + 4 <= b->nstruct; off += 4) {
		const uint8_t *p = b->structs + off;
		if (p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == FDTB_PROP && n-- == 0)
			return off;
	}
	unit_fail(__FILE__, __LINE__, "no property %d", n);
}

TEST(fdt_property_length_past_the_end_is_not_followed)
{
	static const uint32_t lengths[] = { 0x100,      0x7fffffff, 0x80000000,
					    0xfffffff0, 0xfffffffc, 0xffffffff };
	struct fdt_builder *b = malloc(sizeof(*b));

	CHECK(b);
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		fdtb_init(b);
		fdtb_begin(b, "");
		fdtb_prop_u32(b, "first", 1);
		fdtb_prop_str(b, "second", "value");
		fdtb_begin(b, "child");
		fdtb_prop_u32(b, "third", 3);
		fdtb_end(b);
		fdtb_end(b);
		fdtb_u32(b, FDTB_END);
		struct blob blob = fdtb_finish(b);
		size_t len_at = blob_get32(&blob, FDT_OFF_DT_STRUCT) + nth_prop(b, 1) + 4;
		struct fdt fdt;
		int len;

		unit_note("length 0x%x", lengths[i]);
		blob_put32(&blob, len_at, lengths[i]);
		CHECK_EQ(fdt_init(&fdt, blob.data, blob.size), 0);
		CHECK(fdt_getprop(&fdt, 0, "first", &len));
		CHECK(!fdt_getprop(&fdt, 0, "second", &len));
		CHECK(!fdt_getprop_str(&fdt, 0, "second"));
		CHECK(fdt_first_child(&fdt, 0) < 0);
		fdt_walk_all(&fdt);
		blob_free(&blob);
	}
	free(b);
}

/* The structure block ends inside a property's header: the token and
 * the length are there, the name offset is not. With a NOP before it, a
 * walk that stepped backwards would loop for ever. */
TEST(fdt_property_cut_after_its_length_does_not_loop)
{
	static const uint32_t lengths[] = { 0, 4, 0x7ffffff0, 0xfffffff0, 0xfffffff8, 0xfffffffc };
	struct fdt_builder *b = malloc(sizeof(*b));

	CHECK(b);
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		for (uint32_t cut = 8; cut < 12; cut++) {
			fdtb_init(b);
			fdtb_begin(b, "");
			fdtb_u32(b, FDTB_NOP);
			size_t prop = b->nstruct;
			fdtb_u32(b, FDTB_PROP);
			fdtb_u32(b, lengths[i]);
			fdtb_u32(b, 0);
			fdtb_u32(b, 0);
			fdtb_string(b, "name");
			struct blob blob = fdtb_finish(b);
			struct fdt fdt;
			int len;

			unit_note("length 0x%x, block cut %u bytes into the property", lengths[i],
				  cut);
			blob_put32(&blob, FDT_OFF_SIZE_DT_STRUCT, (uint32_t)prop + cut);
			CHECK_EQ(fdt_init(&fdt, blob.data, blob.size), 0);
			CHECK(!fdt_getprop(&fdt, 0, "name", &len));
			fdt_walk_all(&fdt);
			blob_free(&blob);
		}
	}
	free(b);
}

TEST(fdt_property_name_outside_the_strings_block_is_ignored)
{
	static const uint32_t nameoffs[] = { 5, 6, 0x1000, 0x7fffffff, 0xffffffff };
	struct fdt_builder *b = malloc(sizeof(*b));

	CHECK(b);
	for (size_t i = 0; i < sizeof(nameoffs) / sizeof(nameoffs[0]); i++) {
		fdtb_init(b);
		fdtb_begin(b, "");
		fdtb_prop_u32(b, "alpha", 1); /* strings block: "alpha\0" */
		fdtb_prop_u32(b, "alpha", 2);
		fdtb_end(b);
		fdtb_u32(b, FDTB_END);
		struct blob blob = fdtb_finish(b);
		size_t name_at = blob_get32(&blob, FDT_OFF_DT_STRUCT) + nth_prop(b, 0) + 8;
		struct fdt fdt;
		uint32_t v = 0;

		unit_note("name offset 0x%x", nameoffs[i]);
		blob_put32(&blob, name_at, nameoffs[i]);
		CHECK_EQ(fdt_init(&fdt, blob.data, blob.size), 0);
		CHECK(!fdt_getprop_u32(&fdt, 0, "alpha", 0, &v) || v == 2);
		fdt_walk_all(&fdt);
		blob_free(&blob);
	}
	free(b);
}

TEST(fdt_unterminated_names_and_strings_are_not_read_past)
{
	struct fdt_builder *b = malloc(sizeof(*b));
	struct fdt fdt;
	int len;

	CHECK(b);
	/* A property name at the end of the strings block, its NUL cut off. */
	fdtb_init(b);
	fdtb_begin(b, "");
	fdtb_prop_u32(b, "last", 1);
	fdtb_end(b);
	fdtb_u32(b, FDTB_END);
	struct blob blob = fdtb_finish(b);
	blob_put32(&blob, FDT_OFF_SIZE_DT_STRINGS, (uint32_t)b->nstrings - 1);
	CHECK_EQ(fdt_init(&fdt, blob.data, blob.size), 0);
	CHECK(!fdt_getprop(&fdt, 0, "last", &len));
	CHECK(!fdt_getprop(&fdt, 0, "las", &len));
	fdt_walk_all(&fdt);
	blob_free(&blob);

	/* A node name running to the end of the structure block. */
	fdtb_init(b);
	fdtb_begin(b, "");
	fdtb_u32(b, FDTB_BEGIN_NODE);
	fdtb_bytes(b, "abcdefgh", 8);
	blob = fdtb_finish(b);
	CHECK_EQ(fdt_init(&fdt, blob.data, blob.size), 0);
	int child = fdt_first_child(&fdt, 0);
	CHECK(child < 0 || !fdt_node_name(&fdt, child));
	CHECK(fdt_find_path(&fdt, "/abcdefgh") < 0);
	fdt_walk_all(&fdt);
	blob_free(&blob);

	/* The root's own name unterminated. */
	fdtb_init(b);
	fdtb_u32(b, FDTB_BEGIN_NODE);
	fdtb_bytes(b, "root", 4);
	blob = fdtb_finish(b);
	CHECK_EQ(fdt_init(&fdt, blob.data, blob.size), 0);
	CHECK(!fdt_node_name(&fdt, 0));
	CHECK(fdt_first_child(&fdt, 0) < 0);
	fdt_walk_all(&fdt);
	blob_free(&blob);

	/* String properties without their NUL. */
	fdtb_init(b);
	fdtb_begin(b, "");
	fdtb_prop(b, "compatible", "abc\0def", 7);
	fdtb_prop(b, "model", "weft", 4);
	fdtb_end(b);
	fdtb_u32(b, FDTB_END);
	blob = fdtb_finish(b);
	CHECK_EQ(fdt_init(&fdt, blob.data, blob.size), 0);
	CHECK(fdt_prop_has_string(&fdt, 0, "compatible", "abc"));
	CHECK(!fdt_prop_has_string(&fdt, 0, "compatible", "def"));
	CHECK(!fdt_getprop_str(&fdt, 0, "model"));
	CHECK(!fdt_prop_has_string(&fdt, 0, "model", "weft"));
	CHECK(fdt_find_compatible(&fdt, -1, "def") < 0);
	fdt_walk_all(&fdt);
	blob_free(&blob);
	free(b);
}

TEST(fdt_broken_token_streams_end_the_walk)
{
	struct fdt_builder *b = malloc(sizeof(*b));
	struct fdt fdt;

	CHECK(b);
	for (int variant = 0; variant < 6; variant++) {
		fdtb_init(b);
		fdtb_begin(b, "");
		fdtb_prop_u32(b, "phandle", 1);
		fdtb_begin(b, "a");
		switch (variant) {
		case 0: /* an unknown token among the properties */
			fdtb_u32(b, 0x77);
			fdtb_prop_u32(b, "phandle", 2);
			break;
		case 1: /* more END_NODEs than BEGIN_NODEs */
			fdtb_end(b);
			fdtb_end(b);
			fdtb_end(b);
			fdtb_begin(b, "b");
			fdtb_prop_u32(b, "phandle", 2);
			break;
		case 2: /* FDT_END inside a node */
			fdtb_u32(b, FDTB_END);
			fdtb_begin(b, "b");
			break;
		case 3: /* no END_NODE and no FDT_END at all */
			fdtb_begin(b, "b");
			fdtb_prop_u32(b, "phandle", 2);
			break;
		case 4: /* a property after a child node */
			fdtb_begin(b, "b");
			fdtb_end(b);
			fdtb_prop_u32(b, "phandle", 2);
			break;
		case 5: /* nesting far deeper than FDT_MAX_DEPTH */
			for (int i = 0; i < 300; i++)
				fdtb_begin(b, "n");
			fdtb_prop_u32(b, "phandle", 2);
			for (int i = 0; i < 300; i++)
				fdtb_end(b);
			break;
		}
		fdtb_end(b);
		fdtb_end(b);
		fdtb_u32(b, FDTB_END);
		struct blob blob = fdtb_finish(b);
		unit_note("variant %d", variant);
		CHECK_EQ(fdt_init(&fdt, blob.data, blob.size), 0);
		CHECK_EQ(fdt_find_phandle(&fdt, 1), 0);
		int two = fdt_find_phandle(&fdt, 2);
		if (two >= 0)
			fdt_parent(&fdt, two);
		fdt_walk_all(&fdt);
		blob_free(&blob);
	}
	free(b);
}

TEST(fdt_reservation_map_without_its_end_stays_inside_the_blob)
{
	struct fdt_builder *b = malloc(sizeof(*b));
	struct fdt fdt;
	uint64_t addr, size;
	int n = 0;

	CHECK(b);
	fdtb_init(b);
	b->rsv_unterminated = true;
	fdtb_rsv(b, 0x1000, 0x2000);
	fdtb_rsv(b, 0x3000, 0x4000);
	fdtb_begin(b, "");
	fdtb_prop_str(b, "model", "abcdefghijklmnopqrstuvw");
	fdtb_end(b);
	fdtb_u32(b, FDTB_END);
	struct blob blob = fdtb_finish(b);
	CHECK_EQ(fdt_init(&fdt, blob.data, blob.size), 0);
	CHECK(fdt_read_rsvmap(&fdt, 0, &addr, &size));
	CHECK_EQ(addr, 0x1000);
	CHECK(fdt_read_rsvmap(&fdt, 1, &addr, &size));
	CHECK_EQ(size, 0x4000);
	/* What follows is the structure block, read as entries, up to the
	 * end of the blob and no further. */
	while (fdt_read_rsvmap(&fdt, n, &addr, &size))
		CHECK(++n <= (int)(blob.size / 16));

	/* The map placed in the blob's last 16 bytes. */
	blob_put32(&blob, FDT_OFF_MEM_RSVMAP, ((uint32_t)blob.size - 16) & ~7u);
	if (fdt_init(&fdt, blob.data, blob.size) == 0)
		for (n = 0; fdt_read_rsvmap(&fdt, n, &addr, &size); n++)
			CHECK(n < 2);
	blob_free(&blob);
	free(b);
}

static uint32_t interesting_u32(uint64_t *rng, uint32_t size)
{
	static const uint32_t values[] = { 0,          1,          2,          3,
					   4,          8,          9,          12,
					   16,         40,         0x7fffffff, 0x80000000,
					   0xfffffff0, 0xfffffffc, 0xffffffff };
	uint64_t r = fuzz_rand(rng);

	switch (r % 4) {
	case 0:
		return values[(r >> 8) % (sizeof(values) / sizeof(values[0]))];
	case 1:
		return size - (uint32_t)((r >> 8) % 64);
	case 2:
		return size + (uint32_t)((r >> 8) % 64);
	default:
		return (uint32_t)(r >> 32);
	}
}

/* One to four random edits: bit flips, random bytes, and u32 fields
 * (header fields more often than their share of the bytes). */
static void mutate(struct blob *b, uint64_t *rng)
{
	int edits = 1 + (int)(fuzz_rand(rng) % 4);

	for (int i = 0; i < edits; i++) {
		uint64_t r = fuzz_rand(rng);
		size_t at = (size_t)(r >> 16) % b->size;
		switch (r % 5) {
		case 0:
			b->data[at] ^= (uint8_t)(1u << ((r >> 8) % 8));
			break;
		case 1:
			b->data[at] = (uint8_t)(r >> 8);
			break;
		case 2:
		case 3:
			at &= ~(size_t)3;
			if (at + 4 <= b->size)
				blob_put32(b, at, interesting_u32(rng, (uint32_t)b->size));
			break;
		default:
			blob_put32(b, 4 + 4 * ((r >> 8) % 9),
				   interesting_u32(rng, (uint32_t)b->size));
			break;
		}
	}
}

static int fuzz(const struct blob *base, const char *name, uint64_t seed)
{
	uint64_t rng = seed;
	int accepted = 0;

	for (int i = 0; i < FUZZ_MUTATIONS_PER_BLOB; i++) {
		struct blob b = blob_copy(base->data, base->size);
		mutate(&b, &rng);
		const char *path = fuzz_save("fdt-fuzz-last.dtb", b.data, b.size);
		unit_note("%s mutation %d (seed 0x%llx), blob in %s", name, i,
			  (unsigned long long)seed, path);
		accepted += init_and_walk(&b) == 0;
		blob_free(&b);
	}
	return accepted;
}

TEST(fdt_random_mutations_are_harmless)
{
	struct blob rv = blob_from_qemu("riscv64", 4, 256, "", "hello world");
	struct blob arm = blob_from_qemu("aarch64", 2, 256, "", "hello world");
	struct blob feat = blob_from_dts(test_file(__FILE__, "fdt_features.dts"));
	struct blob small = small_tree();
	int accepted = 0;

	accepted += fuzz(&rv, "riscv64 virt", FUZZ_SEED);
	accepted += fuzz(&arm, "aarch64 virt", FUZZ_SEED + 1);
	accepted += fuzz(&feat, "fdt_features", FUZZ_SEED + 2);
	accepted += fuzz(&small, "small tree", FUZZ_SEED + 3);
	unit_note("%s", "");
	/* Most mutations leave the header alone: the walk must have run. */
	CHECK_MSG(accepted > FUZZ_MUTATIONS_PER_BLOB, "only %d mutated blobs accepted", accepted);
	blob_free(&rv);
	blob_free(&arm);
	blob_free(&feat);
	blob_free(&small);
}
