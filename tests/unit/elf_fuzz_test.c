/*
 * The ELF checker refuses whatever it cannot load safely, and the loader
 * maps what it accepts inside user space, as kernel/elf.c promises.
 *
 * Small valid programs built here are mutated at random from fixed seeds,
 * so every run tries the same images. elf_check() must answer 0 or
 * -ENOEXEC. On 0 this file reads the headers again and checks each promise
 * of elf.c's top comment, then runs elf_load() against a stand-in address
 * space that checks every mapping and every byte copied. Each image sits
 * in a buffer of exactly its size, under AddressSanitizer and UBSan.
 *
 * Fuzz seeds: build/riscv64/user/initrd build/aarch64/user/initrd
 *
 * Links: kernel/elf.c tests/unit/fuzz.c
 */
#include <stdlib.h>
#include <string.h>

#include "arch.h" /* the test one: vm.h would find the kernel's */
#include "check.h"
#include "elf.h"
#include "fuzz.h"
#include "uapi/errno.h"
#include "vm.h"

#define FUZZ_SEED 0xe1f5eed5u
#define FUZZ_MUTATIONS_PER_SEED 20000

/* What exec passes to elf_check() as the end of the program's space. */
#define USER_END USER_HEAP_LIMIT

/* The file format, declared again here rather than shared with
 * kernel/elf.c, so that a field elf.c misplaces shows as a failure. */
struct ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

enum { ET_EXEC = 2, PT_NULL = 0, PT_LOAD = 1, PT_NOTE = 4, PT_GNU_STACK = 0x6474e551 };
enum { PF_X = 1, PF_W = 2, PF_R = 4 };

typedef unsigned __int128 u128; /* sums of two 64-bit fields never wrap */

/* ---- Images ------------------------------------------------------------ */

/* A program: the ELF header, the program headers at phoff, and the
 * rest of the file a pattern that differs at every offset. */
static struct fuzz_input build_program(uint64_t entry, uint64_t phoff, const struct phdr *ph,
				       int phnum)
{
	struct ehdr eh = {
		.ident = { 0x7f, 'E', 'L', 'F', 2, 1, 1 }, /* 64-bit, little-endian, v1 */
		.type = ET_EXEC,
		.machine = ELF_MACHINE,
		.version = 1,
		.entry = entry,
		.phoff = phoff,
		.ehsize = sizeof(eh),
		.phentsize = sizeof(struct phdr),
		.phnum = (uint16_t)phnum,
	};
	size_t size = phoff + phnum * sizeof(struct phdr);

	for (int i = 0; i < phnum; i++)
		size = MAX(size, ph[i].offset + ph[i].filesz);
	struct fuzz_input img = { malloc(size), size };
	CHECK(img.data);
	for (size_t off = 0; off < size; off++)
		img.data[off] = (uint8_t)(off * 7 + off / 251);
	memcpy(img.data, &eh, sizeof(eh));
	memcpy(img.data + phoff, ph, phnum * sizeof(struct phdr));
	return img;
}

/* Text, data with bss after it, and a note: what a linker makes, packed
 * so that most random edits land in a header. */
static struct fuzz_input minimal_program(void)
{
	static const struct phdr ph[] = {
		{ PT_LOAD, PF_R | PF_X, 0x100, 0x400100, 0, 0x40, 0x40, PAGE_SIZE },
		{ PT_LOAD, PF_R | PF_W, 0x140, 0x401140, 0, 0x20, 0x2000, PAGE_SIZE },
		{ PT_NOTE, PF_R, 0x160, 0, 0, 0x20, 0x20, 4 },
	};

	return build_program(0x400100, sizeof(struct ehdr), ph, ARRAY_SIZE(ph));
}

/* ELF_MAX_PHDRS headers: thirteen loadable segments, a page apart, each
 * kind of protection, and three headers the loader skips. */
static struct fuzz_input many_segments_program(void)
{
	static const uint32_t flags[] = { PF_R | PF_X, PF_R, PF_R | PF_W, PF_X, PF_W };
	struct phdr ph[ELF_MAX_PHDRS];
	int n = 0;

	for (; n < ELF_MAX_PHDRS - 3; n++) {
		uint64_t off = 0x400 + n * 0x30;
		ph[n] = (struct phdr){ PT_LOAD,
				       flags[n % ARRAY_SIZE(flags)],
				       off,
				       0x500000 + n * PAGE_SIZE + off % PAGE_SIZE,
				       0,
				       0x30,
				       0x30 + n * 0x80,
				       PAGE_SIZE };
	}
	ph[n++] = (struct phdr){ PT_NOTE, PF_R, 0x400, 0, 0, 0x30, 0x30, 4 };
	ph[n++] = (struct phdr){ PT_NULL, 0, 0, 0, 0, 0, 0, 0 };
	ph[n++] = (struct phdr){ PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0, 16 };
	return build_program(0x500400 + 0x10, sizeof(struct ehdr), ph, n);
}

/* Segments whose file bytes cross a page boundary, one with no file
 * bytes (bss only), and the program headers last in the file. */
static struct fuzz_input crossing_program(void)
{
	static const struct phdr ph[] = {
		{ PT_LOAD, PF_R | PF_X, 0xfc0, 0x400fc0, 0, 0x80, 0x80, PAGE_SIZE },
		{ PT_LOAD, PF_R | PF_W, 0x1040, 0x403040, 0, 0x10, 0x1000, PAGE_SIZE },
		{ PT_LOAD, PF_R | PF_W, 0, 0x406000, 0, 0, 0x100, PAGE_SIZE },
	};

	return build_program(0x400fc0, 0x1050, ph, ARRAY_SIZE(ph));
}

static uint64_t get_le(const uint8_t *p, size_t width)
{
	uint64_t v = 0;

	for (size_t i = width; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, size_t width, uint64_t v)
{
	for (size_t i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- What an accepted image must be -------------------------------------- */

static struct ehdr read_ehdr(const uint8_t *image)
{
	struct ehdr eh;

	memcpy(&eh, image, sizeof(eh));
	return eh;
}

static struct phdr read_phdr(const uint8_t *image, const struct ehdr *eh, int i)
{
	struct phdr ph;

	memcpy(&ph, image + eh->phoff + i * sizeof(ph), sizeof(ph));
	return ph;
}

static uint64_t first_page(const struct phdr *ph)
{
	return ph->vaddr / PAGE_SIZE;
}

static uint64_t end_page(const struct phdr *ph) /* one past the last */
{
	return (uint64_t)(((u128)ph->vaddr + ph->memsz + PAGE_SIZE - 1) / PAGE_SIZE);
}

/* Each promise of kernel/elf.c's top comment, for an image it accepted. */
static void check_promises(const uint8_t *image, size_t size)
{
	static const uint8_t ident[7] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };

	CHECK(size >= sizeof(struct ehdr));
	struct ehdr eh = read_ehdr(image);
	CHECK(memcmp(eh.ident, ident, sizeof(ident)) == 0);
	CHECK(eh.type == ET_EXEC && eh.machine == ELF_MACHINE && eh.version == 1);
	CHECK(eh.phentsize == sizeof(struct phdr));
	CHECK(eh.phnum >= 1 && eh.phnum <= ELF_MAX_PHDRS);
	CHECK_MSG((u128)eh.phoff + (u128)eh.phnum * sizeof(struct phdr) <= size,
		  "program headers at 0x%llx run past the end of the %zu-byte file",
		  (unsigned long long)eh.phoff, size);

	bool entry_executable = false;
	int loads = 0;
	for (int i = 0; i < eh.phnum; i++) {
		struct phdr ph = read_phdr(image, &eh, i);
		if (ph.type != PT_LOAD)
			continue;
		loads++;
		unsigned long long va = ph.vaddr;
		CHECK_MSG(ph.memsz > 0, "segment %d (0x%llx) empty", i, va);
		CHECK_MSG((u128)ph.offset + ph.filesz <= size, "segment %d (0x%llx) past the file",
			  i, va);
		CHECK_MSG(ph.filesz <= ph.memsz, "segment %d (0x%llx): file size over memory size",
			  i, va);
		CHECK_MSG(ph.vaddr >= PAGE_SIZE && (u128)ph.vaddr + ph.memsz <= USER_END,
			  "segment %d (0x%llx + 0x%llx) outside user space", i, va,
			  (unsigned long long)ph.memsz);
		CHECK_MSG(ph.vaddr % PAGE_SIZE == ph.offset % PAGE_SIZE,
			  "segment %d (0x%llx): address and offset differ within a page", i, va);
		CHECK_MSG((ph.flags & (PF_W | PF_X)) != (PF_W | PF_X),
			  "segment %d (0x%llx) writable and executable", i, va);
		for (int j = 0; j < i; j++) {
			struct phdr other = read_phdr(image, &eh, j);
			CHECK_MSG(other.type != PT_LOAD || end_page(&ph) <= first_page(&other) ||
					  end_page(&other) <= first_page(&ph),
				  "segments %d and %d share a page", j, i);
		}
		entry_executable |= (ph.flags & PF_X) && eh.entry >= ph.vaddr &&
				    (u128)eh.entry < (u128)ph.vaddr + ph.memsz;
	}
	CHECK_MSG(loads > 0, "no loadable segment");
	CHECK_MSG(entry_executable, "entry 0x%llx outside every executable segment",
		  (unsigned long long)eh.entry);
}

/* ---- The stand-in address space elf_load() fills ------------------------- */

/* The mappings elf_load() asked for, and the pages it wrote: only those
 * are kept (a segment may reach gigabytes of bss). */
static struct {
	uintptr_t va;
	size_t len;
	int prot;
} mappings[ELF_MAX_PHDRS];
static int nmappings;
static struct written_page {
	uintptr_t va;
	uint8_t *bytes; /* PAGE_SIZE of them, zeroed when mapped */
} * written;
static size_t nwritten;

int vm_user_alloc(struct address_space *as, uintptr_t va, size_t len, int prot)
{
	(void)as;
	CHECK_MSG(va % PAGE_SIZE == 0 && len % PAGE_SIZE == 0 && len > 0,
		  "mapping of 0x%zx bytes at 0x%lx not whole pages", len, (unsigned long)va);
	CHECK_MSG(va >= PAGE_SIZE && va <= USER_END && len <= USER_END - va,
		  "mapping of 0x%zx bytes at 0x%lx outside user space", len, (unsigned long)va);
	CHECK_MSG((prot & VM_READ) && (prot & (VM_WRITE | VM_EXEC)) != (VM_WRITE | VM_EXEC),
		  "mapping at 0x%lx with protection 0x%x", (unsigned long)va, prot);
	for (int i = 0; i < nmappings; i++)
		CHECK_MSG(va + len <= mappings[i].va || mappings[i].va + mappings[i].len <= va,
			  "mapping at 0x%lx overlaps the one at 0x%lx", (unsigned long)va,
			  (unsigned long)mappings[i].va);
	CHECK(nmappings < ELF_MAX_PHDRS);
	mappings[nmappings].va = va;
	mappings[nmappings].len = len;
	mappings[nmappings].prot = prot;
	nmappings++;
	return 0;
}

void *vm_user_ptr(struct address_space *as, uintptr_t va, bool write)
{
	uintptr_t page = va - va % PAGE_SIZE;
	bool mapped = false;

	(void)as;
	(void)write;
	for (int i = 0; i < nmappings; i++)
		mapped |= va >= mappings[i].va && va - mappings[i].va < mappings[i].len;
	CHECK_MSG(mapped, "elf_load wrote to 0x%lx, which it did not map", (unsigned long)va);
	for (size_t i = 0; i < nwritten; i++)
		if (written[i].va == page)
			return written[i].bytes + va % PAGE_SIZE;
	struct written_page *more = realloc(written, (nwritten + 1) * sizeof(*written));
	CHECK(more);
	written = more;
	written[nwritten].va = page;
	written[nwritten].bytes = calloc(1, PAGE_SIZE);
	CHECK(written[nwritten].bytes);
	return written[nwritten++].bytes + va % PAGE_SIZE;
}

static void forget_address_space(void)
{
	for (size_t i = 0; i < nwritten; i++)
		free(written[i].bytes);
	free(written);
	written = NULL;
	nwritten = 0;
	nmappings = 0;
}

/* What a written page must hold: the file bytes of the segment that
 * covers it, zeros elsewhere. */
static void expected_page(const uint8_t *image, const struct ehdr *eh, uint64_t va, uint8_t *out)
{
	memset(out, 0, PAGE_SIZE);
	for (int i = 0; i < eh->phnum; i++) {
		struct phdr ph = read_phdr(image, eh, i);
		uint64_t from = MAX(ph.vaddr, va), to = MIN(ph.vaddr + ph.filesz, va + PAGE_SIZE);
		if (ph.type == PT_LOAD && from < to)
			memcpy(out + (from - va), image + ph.offset + (from - ph.vaddr), to - from);
	}
}

/* elf_load() of an accepted image: one mapping per loadable segment, of
 * the pages it covers, with its protection; its file bytes copied there
 * and nothing else written; the entry point and the end reported. */
static void check_load(const uint8_t *image, size_t size)
{
	struct ehdr eh = read_ehdr(image);
	struct address_space as = { 0 };
	uintptr_t entry = 0, end = 1, want_end = 0;
	int m = 0;

	CHECK_EQ(elf_load(&as, image, size, &entry, &end), 0);
	CHECK_EQ(entry, eh.entry);
	for (int i = 0; i < eh.phnum; i++) {
		struct phdr ph = read_phdr(image, &eh, i);
		if (ph.type != PT_LOAD)
			continue;
		int prot = VM_READ | (ph.flags & PF_W ? VM_WRITE : 0) |
			   (ph.flags & PF_X ? VM_EXEC : 0);
		CHECK_MSG(m < nmappings, "segment %d (0x%llx) not mapped", i,
			  (unsigned long long)ph.vaddr);
		CHECK_EQ(mappings[m].va, first_page(&ph) * PAGE_SIZE);
		CHECK_EQ(mappings[m].len, (end_page(&ph) - first_page(&ph)) * PAGE_SIZE);
		CHECK_EQ(mappings[m].prot, prot);
		want_end = MAX(want_end, end_page(&ph) * PAGE_SIZE);
		m++;
	}
	CHECK_EQ(nmappings, m);
	CHECK_EQ(end, want_end);

	uint8_t *want = malloc(PAGE_SIZE);
	CHECK(want);
	for (size_t i = 0; i < nwritten; i++) {
		expected_page(image, &eh, written[i].va, want);
		CHECK_MSG(memcmp(written[i].bytes, want, PAGE_SIZE) == 0,
			  "page 0x%lx holds other bytes than the file's",
			  (unsigned long)written[i].va);
	}
	free(want);
	forget_address_space();
}

/* ---- The harness ------------------------------------------------------- */

/* elf_check() answers 0 or -ENOEXEC; an image it accepts keeps every
 * promise and loads as it says. True if accepted. */
static bool try_image(const uint8_t *image, size_t size)
{
	int err = elf_check(image, size, USER_END);

	CHECK_MSG(err == 0 || err == -ENOEXEC, "elf_check returned %d", err);
	if (err)
		return false;
	check_promises(image, size);
	check_load(image, size);
	return true;
}

void fuzz_one_input(const uint8_t *data, size_t size)
{
	try_image(data, size);
}

TEST(elf_seed_programs_load)
{
	struct fuzz_input seeds[] = { minimal_program(), many_segments_program(),
				      crossing_program() };

	for (size_t i = 0; i < ARRAY_SIZE(seeds); i++) {
		unit_note("seed %zu", i);
		CHECK(try_image(seeds[i].data, seeds[i].size));
		free(seeds[i].data);
	}
}

/* A copy of `base` with `value` written over the field `width` bytes
 * wide at `off` (from the file's start), and elf_check()'s answer. */
struct edit {
	const char *why;
	size_t off, width;
	uint64_t value;
	int want;
};

#define EH(field) offsetof(struct ehdr, field), sizeof(((struct ehdr *)0)->field)
/* A field of program header i, where the seeds put the table. */
#define PH(i, field)                                                                    \
	sizeof(struct ehdr) + (i) * sizeof(struct phdr) + offsetof(struct phdr, field), \
		sizeof(((struct phdr *)0)->field)

static void check_edits(const struct fuzz_input *base, const struct edit *edits, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fuzz_input img = { malloc(base->size), base->size };
		CHECK(img.data);
		memcpy(img.data, base->data, base->size);
		put_le(img.data + edits[i].off, edits[i].width, edits[i].value);
		unit_note("%s", edits[i].why);
		CHECK_EQ(elf_check(img.data, img.size, USER_END), edits[i].want);
		if (edits[i].want == 0)
			CHECK(try_image(img.data, img.size));
		free(img.data);
	}
}

/* Each rule at its edge, on the side that passes and the side that
 * fails, and the sums that would wrap in 64 bits. */
TEST(elf_each_rule_holds_at_its_edge)
{
	struct fuzz_input minimal = minimal_program(), many = many_segments_program();
	const uint64_t size = minimal.size, data_va = 0x401140;
	const struct edit minimal_edits[] = {
		{ "data ends at the file's end", PH(1, filesz), size - 0x140, 0 },
		{ "data one byte past the file", PH(1, filesz), size - 0x140 + 1, -ENOEXEC },
		{ "data offset past the file", PH(1, offset), 0x1140, -ENOEXEC },
		{ "data offset wraps", PH(1, offset), ~0ull - 0xebf, -ENOEXEC },
		{ "phoff wraps", EH(phoff), ~0ull - 8, -ENOEXEC },
		{ "data ends at the user limit", PH(1, memsz), USER_END - data_va, 0 },
		{ "data one byte past the user limit", PH(1, memsz), USER_END - data_va + 1,
		  -ENOEXEC },
		{ "data memsz wraps", PH(1, memsz), ~0ull - data_va + 2, -ENOEXEC },
		{ "data at the top of the 64-bit space", PH(1, vaddr), ~0ull - 0xebf, -ENOEXEC },
		{ "data in the first page", PH(1, vaddr), 0x140, -ENOEXEC },
		{ "data in the second page", PH(1, vaddr), 0x1140, 0 },
		{ "data's last page just below text's", PH(1, vaddr), 0x3fd140, 0 },
		{ "data's last page is text's", PH(1, vaddr), 0x3fe140, -ENOEXEC },
		{ "data in text's page", PH(1, vaddr), 0x400140, -ENOEXEC },
		{ "data misaligned against its offset", PH(1, vaddr), data_va + 8, -ENOEXEC },
		{ "data writable and executable", PH(1, flags), PF_R | PF_W | PF_X, -ENOEXEC },
		{ "text writable and executable", PH(0, flags), PF_R | PF_W | PF_X, -ENOEXEC },
		{ "text not executable", PH(0, flags), PF_R, -ENOEXEC },
		{ "text memsz below filesz", PH(0, memsz), 0x3f, -ENOEXEC },
		{ "entry at text's last byte", EH(entry), 0x400100 + 0x3f, 0 },
		{ "entry just past text", EH(entry), 0x400100 + 0x40, -ENOEXEC },
		{ "entry in data", EH(entry), data_va, -ENOEXEC },
	};
	const struct edit many_edits[] = {
		{ "phnum over the limit, the table inside the file", EH(phnum), ELF_MAX_PHDRS + 1,
		  -ENOEXEC },
		{ "phnum 0xffff", EH(phnum), 0xffff, -ENOEXEC },
		{ "phnum 0", EH(phnum), 0, -ENOEXEC },
	};

	check_edits(&minimal, minimal_edits, ARRAY_SIZE(minimal_edits));
	check_edits(&many, many_edits, ARRAY_SIZE(many_edits));
	free(minimal.data);
	free(many.data);
}

/* The program header table as the file's last bytes: taken whole, refused
 * one byte short. */
TEST(elf_header_table_may_end_the_file)
{
	static const struct phdr ph[] = {
		{ PT_LOAD, PF_R | PF_X, 0x40, 0x400040, 0, 0x40, 0x40, PAGE_SIZE },
	};
	struct fuzz_input img = build_program(0x400040, 0x80, ph, ARRAY_SIZE(ph));

	CHECK_EQ(img.size, 0x80 + sizeof(struct phdr));
	CHECK(try_image(img.data, img.size));
	CHECK_EQ(elf_check(img.data, img.size - 1, USER_END), -ENOEXEC);
	free(img.data);
}

/* Every prefix of each seed, in a buffer of exactly that size: refused,
 * or kept to every promise when what is cut off is not needed. */
TEST(elf_every_truncation_is_refused_or_safe)
{
	struct fuzz_input seeds[] = { minimal_program(), many_segments_program(),
				      crossing_program() };

	for (size_t i = 0; i < ARRAY_SIZE(seeds); i++) {
		int accepted = 0;
		for (size_t len = 0; len <= seeds[i].size; len++) {
			uint8_t *prefix = malloc(len ? len : 1);
			CHECK(prefix);
			memcpy(prefix, seeds[i].data, len);
			unit_note("seed %zu cut to %zu of %zu bytes", i, len, seeds[i].size);
			accepted += try_image(prefix, len);
			free(prefix);
		}
		/* Only the bytes past the last segment's file part may go. */
		CHECK(accepted >= 1 && accepted < 64);
		free(seeds[i].data);
	}
}

/* A loadable segment must hold at least a byte. An empty one maps
 * nothing, and whether it shares a page with another would depend only
 * on its alignment: none if page-aligned, one page if not. */
TEST(elf_empty_segment_is_refused)
{
	static const uint64_t vaddrs[] = { 0x404000, 0x404010, 0x401010 };

	for (size_t i = 0; i < ARRAY_SIZE(vaddrs); i++) {
		const struct phdr ph[] = {
			{ PT_LOAD, PF_R | PF_X, 0x100, 0x400100, 0, 0x40, 0x40, PAGE_SIZE },
			{ PT_LOAD, PF_R, vaddrs[i] % PAGE_SIZE, vaddrs[i], 0, 0, 0, PAGE_SIZE },
		};
		struct fuzz_input img =
			build_program(0x400100, sizeof(struct ehdr), ph, ARRAY_SIZE(ph));
		unit_note("empty segment at 0x%llx", (unsigned long long)vaddrs[i]);
		CHECK_EQ(elf_check(img.data, img.size, USER_END), -ENOEXEC);
		free(img.data);
	}
}

/* Values the checks compare against, and their neighbours. */
static const uint64_t edge_values[] = {
	0,
	1,
	PAGE_SIZE - 1,
	PAGE_SIZE,
	ELF_MAX_PHDRS,
	ELF_MAX_PHDRS + 1,
	USER_END - PAGE_SIZE,
	USER_END - 1,
	USER_END,
	1ull << 38,
	1ull << 39,
	1ull << 63,
	-(uint64_t)PAGE_SIZE,
	~0ull,
};

/* A value for a field that was `old`: an edge value, one with old's place
 * within a page (which keeps an address congruent to its offset), a near
 * neighbour, or anything. */
static uint64_t interesting_value(uint64_t *rng, uint64_t old)
{
	uint64_t r = fuzz_rand(rng);
	uint64_t edge = edge_values[(r >> 16) % ARRAY_SIZE(edge_values)];
	uint64_t near = (r >> 8) % 64;

	switch (r % 5) {
	case 0:
		return edge;
	case 1:
		return ALIGN_DOWN(edge, PAGE_SIZE) + old % PAGE_SIZE;
	case 2:
		return old + near - 32;
	case 3:
		return old + (near % 8) * PAGE_SIZE - 4 * PAGE_SIZE;
	default:
		return fuzz_rand(rng) >> near;
	}
}

/* A field's place: its offset and width, in the header it belongs to. */
struct field {
	size_t off, width;
};
static const struct field ehdr_fields[] = { { EH(type) },  { EH(machine) }, { EH(version) },
					    { EH(entry) }, { EH(phoff) },   { EH(phentsize) },
					    { EH(phnum) } };
static const struct field phdr_fields[] = { { PH(0, type) },  { PH(0, flags) },  { PH(0, offset) },
					    { PH(0, vaddr) }, { PH(0, filesz) }, { PH(0, memsz) } };

/* Where the image's program headers are, while they are in it. */
static size_t table_offset(const struct fuzz_input *img)
{
	uint64_t phoff = img->size >= sizeof(struct ehdr) ? read_ehdr(img->data).phoff : 0;

	return phoff < img->size ? phoff : sizeof(struct ehdr);
}

/* One program header's sizes set against its other fields, a few bytes
 * either side of an edge: the segment's end against the file's end or
 * the user limit, the memory size against the file size. */
static void set_against(struct fuzz_input *img, size_t at, uint64_t *rng)
{
	uint64_t r = fuzz_rand(rng);
	uint64_t delta = (r >> 8) % 16 - 8;
	struct phdr ph;

	if (at + sizeof(ph) > img->size)
		return;
	memcpy(&ph, img->data + at, sizeof(ph));
	switch (r % 3) {
	case 0:
		ph.filesz = img->size - ph.offset + delta;
		break;
	case 1:
		ph.memsz = USER_END - ph.vaddr + delta;
		break;
	default:
		ph.memsz = ph.filesz + delta;
		break;
	}
	memcpy(img->data + at, &ph, sizeof(ph));
}

/* One to three edits: a byte or the length (fuzz_edit_bytes), a field of
 * the ELF header or of a program header, or sizes set against an edge. */
static void mutate(struct fuzz_input *img, uint64_t *rng)
{
	int edits = 1 + (int)(fuzz_rand(rng) % 3);

	for (int i = 0; i < edits; i++) {
		uint64_t r = fuzz_rand(rng);
		size_t header = table_offset(img) + (r >> 16) % ELF_MAX_PHDRS * sizeof(struct phdr);
		struct field f;
		switch (r % 5) {
		case 0:
			fuzz_edit_bytes(img, rng);
			continue;
		case 1:
			set_against(img, header, rng);
			continue;
		case 2:
			f = ehdr_fields[(r >> 8) % ARRAY_SIZE(ehdr_fields)];
			break;
		default:
			f = phdr_fields[(r >> 8) % ARRAY_SIZE(phdr_fields)];
			f.off += header - sizeof(struct ehdr);
			break;
		}
		if (f.off + f.width <= img->size)
			put_le(img->data + f.off, f.width,
			       interesting_value(rng, get_le(img->data + f.off, f.width)));
	}
}

TEST(elf_random_mutations_are_refused_or_safe)
{
	struct fuzz_seed seeds[] = { { "minimal", minimal_program() },
				     { "many segments", many_segments_program() },
				     { "crossing", crossing_program() } };
	const struct fuzz_run run = { "elf-fuzz-last.elf", FUZZ_SEED, FUZZ_MUTATIONS_PER_SEED,
				      mutate, try_image };
	int accepted = fuzz_mutations(&run, seeds, ARRAY_SIZE(seeds));

	unit_note("%s", "");
	/* Many mutations must pass the checks, or the loader goes untried. */
	CHECK_MSG(accepted > FUZZ_MUTATIONS_PER_SEED / 4, "only %d of %d mutated images accepted",
		  accepted, FUZZ_MUTATIONS_PER_SEED * (int)ARRAY_SIZE(seeds));
}
