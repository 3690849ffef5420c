/*
 * The cpio reader never reads outside the archive, whatever it holds, and
 * every name and file it hands out lies inside it.
 *
 * Small "newc" archives built here are mutated at random from fixed
 * seeds, so every run tries the same ones. On each, cpio_name() is asked
 * for every index until it answers NULL, and cpio_find() for every name
 * it gave and for a few it may not have. Every name must sit right after
 * a header, at an offset that is a multiple of 4 plus the header's size,
 * and end with its NUL inside the archive; every file must lie inside
 * the archive, 4-aligned, after its name. Each archive sits in a buffer
 * of exactly its size, under AddressSanitizer and UBSan.
 *
 * Fuzz seeds: build/riscv64/initrd.cpio build/aarch64/initrd.cpio
 *
 * Links: kernel/initrd.c tests/unit/fuzz.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fuzz.h"
#include "initrd.h"
#include "types.h"
#include "uapi/errno.h"

#define FUZZ_SEED 0xc910f022u
#define FUZZ_MUTATIONS_PER_SEED 50000

/* The format, read here independently of kernel/initrd.c: "070701",
 * then 13 fields of 8 hex digits, the name and its NUL, padding to 4
 * bytes, the file, padding to 4 bytes. */
#define HEADER_SIZE 110
#define FIELD_SIZE 8
#define FIELD_FILESIZE 6
#define FIELD_NAMESIZE 11
#define FIELDS 13
#define MAGIC "070701"
#define TRAILER "TRAILER!!!"

/* A file is checked against its header when its name is the first of
 * its kind; beyond this many entries (an input libFuzzer made), the
 * search for earlier ones would cost too much. */
#define NAMES_COMPARED 64

/* initrd_find() and initrd_name() read the archive linked into the
 * kernel; here that is an empty one. */
__asm__(".pushsection .rodata\n"
	".globl initrd_start, initrd_end\n"
	"initrd_start:\n"
	"initrd_end:\n"
	".popsection");

/* ---- Archives ---------------------------------------------------------- */

struct archive {
	uint8_t *data;
	size_t size, capacity;
};

static void append(struct archive *a, const void *bytes, size_t n)
{
	if (a->size + n > a->capacity) {
		a->capacity = 2 * (a->size + n);
		uint8_t *more = realloc(a->data, a->capacity);
		CHECK(more);
		a->data = more;
	}
	memcpy(a->data + a->size, bytes, n);
	a->size += n;
}

static void pad4(struct archive *a)
{
	static const uint8_t zeros[3];

	append(a, zeros, ALIGN_UP(a->size, 4) - a->size);
}

static void add_entry(struct archive *a, const char *name, const void *data, size_t size)
{
	char header[HEADER_SIZE + 1];
	uint32_t fields[FIELDS] = { 0 };
	int n = snprintf(header, sizeof(header), "%s", MAGIC);

	fields[1] = 0100755; /* mode: a regular file */
	fields[FIELD_FILESIZE] = (uint32_t)size;
	fields[FIELD_NAMESIZE] = (uint32_t)strlen(name) + 1;
	for (int i = 0; i < FIELDS; i++)
		n += snprintf(header + n, sizeof(header) - n, "%08x", fields[i]);
	append(a, header, HEADER_SIZE);
	append(a, name, strlen(name) + 1);
	pad4(a);
	append(a, data, size);
	pad4(a);
}

/* The archive in an exact-size buffer. */
static struct fuzz_input finish(struct archive *a)
{
	struct fuzz_input in = { malloc(a->size), a->size };

	CHECK(in.data);
	memcpy(in.data, a->data, a->size);
	free(a->data);
	return in;
}

/* What cpio makes of a directory of programs: ".", files whose names and
 * sizes cover each padding, an empty file, the trailer. */
static struct fuzz_input programs_archive(void)
{
	struct archive a = { 0 };

	add_entry(&a, ".", "", 0);
	add_entry(&a, "init", "\177ELF init text", 14);
	add_entry(&a, "sh", "", 0);
	add_entry(&a, "ls", "x", 1);
	add_entry(&a, "a-longer-program-name", "abcde", 5);
	add_entry(&a, "bad-magic", "\177ELGxyz", 7);
	add_entry(&a, TRAILER, "", 0);
	return finish(&a);
}

/* A file whose contents look like a header and a name seen twice: a
 * reader that lost its place, or stopped at the first match, shows. */
static struct fuzz_input tricky_archive(void)
{
	struct archive inner = { 0 };
	struct archive a = { 0 };

	add_entry(&inner, "hidden", "inside", 6);
	add_entry(&a, "outer", inner.data, inner.size);
	add_entry(&a, "twice", "first", 5);
	add_entry(&a, "twice", "second", 6);
	add_entry(&a, "x", "1234", 4);
	free(inner.data);
	return finish(&a); /* no trailer: the archive just ends */
}

/* ---- What every answer must be ------------------------------------------- */

static bool hex8(const uint8_t *p, uint32_t *out)
{
	char digits[FIELD_SIZE + 1];
	char *end;

	memcpy(digits, p, FIELD_SIZE);
	digits[FIELD_SIZE] = '\0';
	for (int i = 0; i < FIELD_SIZE; i++)
		if (!strchr("0123456789abcdefABCDEF", digits[i]) || digits[i] == '\0')
			return false;
	*out = (uint32_t)strtoul(digits, &end, 16);
	return true;
}

static uint32_t header_field(const uint8_t *header, int field)
{
	uint32_t v = 0;

	CHECK_MSG(hex8(header + 6 + FIELD_SIZE * field, &v), "field %d of the header at %p not hex",
		  field, (const void *)header);
	return v;
}

/* A name cpio_name() gave: right after a 4-aligned header, its NUL at
 * the end of its namesize bytes, all inside the archive. Returns the
 * offset of its header. */
static size_t check_name(const uint8_t *blob, size_t size, const char *name)
{
	const uint8_t *p = (const uint8_t *)name;

	CHECK_MSG(p >= blob + HEADER_SIZE && p < blob + size,
		  "name at %p outside the archive %p+%zu", (const void *)p, (const void *)blob,
		  size);
	size_t header = (size_t)(p - blob) - HEADER_SIZE;
	CHECK_MSG(header % 4 == 0 && memcmp(blob + header, MAGIC, 6) == 0,
		  "name at offset %zu not after a header", header + HEADER_SIZE);
	uint32_t namesize = header_field(blob + header, FIELD_NAMESIZE);
	CHECK_MSG(namesize >= 1 && namesize <= size - (header + HEADER_SIZE),
		  "name at offset %zu: %u bytes, past the archive's end", header + HEADER_SIZE,
		  namesize);
	CHECK_MSG(p[namesize - 1] == '\0', "name at offset %zu not NUL-terminated",
		  header + HEADER_SIZE);
	return header;
}

/* A file cpio_find() gave for the entry whose header is at `header`:
 * its data after the name, 4-aligned, the size the header says, all
 * inside the archive. */
static void check_file(const uint8_t *blob, size_t size, size_t header, const void *data,
		       size_t fsize)
{
	const uint8_t *p = data;
	size_t name_end = header + HEADER_SIZE + header_field(blob + header, FIELD_NAMESIZE);

	CHECK_MSG(p >= blob && p <= blob + size && fsize <= size - (size_t)(p - blob),
		  "file of %zu bytes at %p outside the archive %p+%zu", fsize, data,
		  (const void *)blob, size);
	CHECK_EQ(p - blob, ALIGN_UP(name_end, 4));
	CHECK_EQ(fsize, header_field(blob + header, FIELD_FILESIZE));
}

/* Is `name` among the first n of names? */
static bool among(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Every name, then every file by its name; names it must not find. True
 * if the archive holds at least one file. */
static bool try_archive(const uint8_t *blob, size_t size)
{
	static const char *const absent[] = { TRAILER, "no-such-program", "" };
	/* Each entry takes a header and a name's NUL, padded to 4 bytes. */
	const int most = (int)(size / ALIGN_UP(HEADER_SIZE + 1, 4)) + 1;
	const char **names = malloc(most * sizeof(*names));
	int count = 0;

	CHECK(names);
	for (; (names[count] = cpio_name(blob, size, count)) != NULL; count++) {
		const char *name = names[count];
		size_t header = check_name(blob, size, name);
		CHECK_MSG(header >= (size_t)count * ALIGN_UP(HEADER_SIZE + 1, 4),
			  "name %d at offset %zu: entries overlap", count, header);
		CHECK_MSG(strcmp(name, ".") != 0 && strcmp(name, TRAILER) != 0,
			  "cpio_name gave \"%s\"", name);
		const void *data = NULL;
		size_t fsize = 0;
		CHECK_EQ(cpio_find(blob, size, name, &data, &fsize), 0);
		if (count < NAMES_COMPARED && !among(names, count, name))
			check_file(blob, size, header, data, fsize);
		CHECK(count + 1 < most);
	}
	for (size_t i = 0; i < ARRAY_SIZE(absent); i++) {
		const void *data = NULL;
		size_t fsize = 0;
		CHECK_EQ(cpio_find(blob, size, absent[i], &data, &fsize),
			 among(names, count, absent[i]) ? 0 : -ENOENT);
	}
	free(names);
	return count > 0;
}

void fuzz_one_input(const uint8_t *data, size_t size)
{
	try_archive(data, size);
}

/* ---- Cases --------------------------------------------------------------- */

TEST(cpio_seed_archives_list_every_file)
{
	struct fuzz_input programs = programs_archive(), tricky = tricky_archive();
	static const char *const program_names[] = { "init", "sh", "ls", "a-longer-program-name",
						     "bad-magic" };
	const void *data;
	size_t size;

	for (size_t i = 0; i < ARRAY_SIZE(program_names); i++)
		CHECK_STR(cpio_name(programs.data, programs.size, (int)i), program_names[i]);
	CHECK(!cpio_name(programs.data, programs.size, ARRAY_SIZE(program_names)));
	CHECK(try_archive(programs.data, programs.size));
	CHECK_EQ(cpio_find(programs.data, programs.size, "a-longer-program-name", &data, &size), 0);
	CHECK(size == 5 && memcmp(data, "abcde", 5) == 0);

	CHECK(try_archive(tricky.data, tricky.size));
	CHECK_EQ(cpio_find(tricky.data, tricky.size, "hidden", &data, &size), -ENOENT);
	CHECK_EQ(cpio_find(tricky.data, tricky.size, "twice", &data, &size), 0);
	CHECK(size == 5 && memcmp(data, "first", 5) == 0);
	CHECK_STR(cpio_name(tricky.data, tricky.size, 3), "x");
	free(programs.data);
	free(tricky.data);
}

TEST(cpio_every_truncation_stays_inside)
{
	struct fuzz_input full = programs_archive();
	int before = 0;

	/* Each prefix in a buffer of exactly its size: the files listed can
	 * only grow with the prefix. */
	for (size_t len = 0; len <= full.size; len++) {
		uint8_t *prefix = malloc(len ? len : 1);
		CHECK(prefix);
		memcpy(prefix, full.data, len);
		unit_note("prefix of %zu of %zu bytes", len, full.size);
		try_archive(prefix, len);
		int count = 0;
		while (cpio_name(prefix, len, count))
			count++;
		CHECK(count >= before);
		before = count;
		free(prefix);
	}
	CHECK_EQ(before, 5);
	free(full.data);
}

TEST(cpio_linked_archive_is_read_in_place)
{
	const void *data;
	size_t size;

	CHECK_EQ(initrd_find("init", &data, &size), -ENOENT);
	CHECK(!initrd_name(0));
}

/* The offset of a header, picked at random among those at 4-aligned
 * offsets, or the input's size if there are none. */
static size_t some_header(const struct fuzz_input *in, uint64_t r)
{
	size_t found = 0, pick = in->size;

	for (size_t off = 0; off + 6 <= in->size; off += 4)
		if (memcmp(in->data + off, MAGIC, 6) == 0 && r % ++found == 0)
			pick = off;
	return pick;
}

/* A size field's new value: an edge, or near the archive's size. */
static uint32_t interesting_size(uint64_t *rng, size_t size, size_t header)
{
	static const uint32_t values[] = { 0, 1,          2,          3,          4,
					   5, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff };
	uint64_t r = fuzz_rand(rng);
	uint32_t near = (uint32_t)((r >> 8) % 16) - 8;

	switch (r % 3) {
	case 0:
		return values[(r >> 16) % ARRAY_SIZE(values)];
	case 1:
		return (uint32_t)(size - header - HEADER_SIZE) + near;
	default:
		return (uint32_t)(r >> 32);
	}
}

/* One to three edits: bytes or the length (fuzz_edit_bytes), a header's
 * file or name size, one digit of a field, or a name's NUL. */
static void mutate(struct fuzz_input *in, uint64_t *rng)
{
	int edits = 1 + (int)(fuzz_rand(rng) % 3);

	for (int i = 0; i < edits; i++) {
		uint64_t r = fuzz_rand(rng);
		size_t header = some_header(in, fuzz_rand(rng));
		int field = (r >> 16) % 2 ? FIELD_FILESIZE : FIELD_NAMESIZE;
		size_t at = header + 6 + FIELD_SIZE * field;
		char digits[FIELD_SIZE + 1];
		if (r % 4 == 0) {
			fuzz_edit_bytes(in, rng);
		} else if (r % 4 == 1 && at + FIELD_SIZE <= in->size) {
			snprintf(digits, sizeof(digits), "%08x",
				 interesting_size(rng, in->size, header));
			memcpy(in->data + at, digits, FIELD_SIZE);
		} else if (r % 4 == 2 && at + FIELD_SIZE <= in->size) {
			in->data[at + (r >> 24) % FIELD_SIZE] =
				"0123456789abcdefABCDEFxg "[(r >> 32) % 25];
		} else if (r % 4 == 3 && header + HEADER_SIZE < in->size) {
			uint8_t *name = in->data + header + HEADER_SIZE;
			uint8_t *nul = memchr(name, 0, in->size - (header + HEADER_SIZE));
			if (nul)
				*nul = (uint8_t)(r >> 40 | 1);
		}
	}
}

TEST(cpio_random_mutations_stay_inside)
{
	struct fuzz_seed seeds[] = { { "programs", programs_archive() },
				     { "tricky", tricky_archive() } };
	const struct fuzz_run run = { "cpio-fuzz-last.cpio", FUZZ_SEED, FUZZ_MUTATIONS_PER_SEED,
				      mutate, try_archive };
	int listed = fuzz_mutations(&run, seeds, ARRAY_SIZE(seeds));

	unit_note("%s", "");
	/* Most mutations leave some file readable: the checks must have run. */
	CHECK_MSG(listed > FUZZ_MUTATIONS_PER_SEED, "only %d mutated archives list a file", listed);
}
