/*
 * ELF64 loader: checks a program's headers, then maps and fills its
 * loadable segments.
 *
 * What is checked: identification (magic, 64-bit, little-endian, version),
 * type (executable), machine (this architecture), the program header table
 * (entry size, count, inside the file), and every PT_LOAD segment: not
 * empty, file range inside the file, file size not above memory size,
 * address range inside user space and not overlapping another segment
 * (page granular), offset and address congruent modulo the page size,
 * never both writable and executable. The entry point must lie in an
 * executable segment.
 *
 * Why an empty segment is refused: it loads nothing, and whether it
 * overlaps another would depend on its alignment alone (none when
 * page-aligned, a whole page when not). Weft's programs have none.
 */
#include "elf.h"

#include "arch.h"
#include "klib.h"
#include "uapi/errno.h"
#include "vm.h"

#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define PT_LOAD 1
#define PF_X 1
#define PF_W 2
#define PF_R 4

struct elf64_ehdr {
	unsigned char ident[EI_NIDENT];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* Headers are copied out: cpio aligns file data only to 4 bytes. */
static void read_phdr(const void *image, const struct elf64_ehdr *eh, int i, struct elf64_phdr *ph)
{
	memcpy(ph, (const char *)image + eh->phoff + i * sizeof(*ph), sizeof(*ph));
}

static bool segment_ok(const struct elf64_phdr *ph, size_t size, uintptr_t user_end)
{
	return ph->memsz > 0 && ph->filesz <= ph->memsz && ph->offset <= size &&
	       ph->filesz <= size - ph->offset && ph->vaddr >= PAGE_SIZE && ph->vaddr < user_end &&
	       ph->memsz <= user_end - ph->vaddr &&
	       ph->vaddr % PAGE_SIZE == ph->offset % PAGE_SIZE &&
	       (ph->flags & (PF_W | PF_X)) != (PF_W | PF_X);
}

/* Do two segments share a page? */
static bool segments_overlap(const struct elf64_phdr *a, const struct elf64_phdr *b)
{
	uintptr_t a0 = ALIGN_DOWN(a->vaddr, PAGE_SIZE),
		  a1 = ALIGN_UP(a->vaddr + a->memsz, PAGE_SIZE);
	uintptr_t b0 = ALIGN_DOWN(b->vaddr, PAGE_SIZE),
		  b1 = ALIGN_UP(b->vaddr + b->memsz, PAGE_SIZE);

	return a0 < b1 && b0 < a1;
}

int elf_check(const void *image, size_t size, uintptr_t user_end)
{
	static const unsigned char magic[4] = { 0x7f, 'E', 'L', 'F' };
	struct elf64_ehdr eh;
	struct elf64_phdr ph, other;

	if (size < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, image, sizeof(eh));
	if (memcmp(eh.ident, magic, 4) != 0 || eh.ident[4] != ELFCLASS64 ||
	    eh.ident[5] != ELFDATA2LSB || eh.ident[6] != EV_CURRENT || eh.type != ET_EXEC ||
	    eh.machine != ELF_MACHINE || eh.version != EV_CURRENT ||
	    eh.phentsize != sizeof(struct elf64_phdr) || eh.phnum == 0 ||
	    eh.phnum > ELF_MAX_PHDRS || eh.phoff > size ||
	    size - eh.phoff < eh.phnum * sizeof(struct elf64_phdr))
		return -ENOEXEC;

	bool entry_ok = false;
	int loads = 0;
	for (int i = 0; i < eh.phnum; i++) {
		read_phdr(image, &eh, i, &ph);
		if (ph.type != PT_LOAD)
			continue;
		if (!segment_ok(&ph, size, user_end))
			return -ENOEXEC;
		for (int j = 0; j < i; j++) {
			read_phdr(image, &eh, j, &other);
			if (other.type == PT_LOAD && segments_overlap(&ph, &other))
				return -ENOEXEC;
		}
		if ((ph.flags & PF_X) && eh.entry >= ph.vaddr && eh.entry < ph.vaddr + ph.memsz)
			entry_ok = true;
		loads++;
	}
	return loads && entry_ok ? 0 : -ENOEXEC;
}

int elf_load(struct address_space *as, const void *image, size_t size, uintptr_t *entry,
	     uintptr_t *end)
{
	struct elf64_ehdr eh;
	struct elf64_phdr ph;

	if (elf_check(image, size, USER_HEAP_LIMIT))
		return -ENOEXEC;
	memcpy(&eh, image, sizeof(eh));
	*end = 0;
	for (int i = 0; i < eh.phnum; i++) {
		read_phdr(image, &eh, i, &ph);
		if (ph.type != PT_LOAD)
			continue;
		uintptr_t start = ALIGN_DOWN(ph.vaddr, PAGE_SIZE);
		uintptr_t stop = ALIGN_UP(ph.vaddr + ph.memsz, PAGE_SIZE);
		/* Always readable: RISC-V has no write-only pages. */
		int prot = VM_READ | (ph.flags & PF_W ? VM_WRITE : 0) |
			   (ph.flags & PF_X ? VM_EXEC : 0);
		int err = vm_user_alloc(as, start, stop - start, prot);
		if (err)
			return err == -ENOMEM ? -ENOMEM : -ENOEXEC;
		/* The pages are zeroed: copy the file part, page by page. */
		for (uint64_t off = 0; off < ph.filesz;) {
			uintptr_t va = ph.vaddr + off;
			size_t chunk = MIN(ph.filesz - off, PAGE_SIZE - va % PAGE_SIZE);
			memcpy(vm_user_ptr(as, va, false), (const char *)image + ph.offset + off,
			       chunk);
			off += chunk;
		}
		*end = MAX(*end, stop);
	}
	*entry = eh.entry;
	return 0;
}
