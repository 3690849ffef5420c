/*
 * cpio "newc" reader for the initial RAM disk.
 *
 * Each entry is a 110-byte ASCII header ("070701" then 13 fields of 8 hex
 * digits), the NUL-terminated name padded to 4 bytes, then the file data
 * padded to 4 bytes. The entry named "TRAILER!!!" ends the archive.
 * Every field is checked against the archive's size before use.
 */
#include "initrd.h"

#include "klib.h"
#include "uapi/errno.h"

#define CPIO_HEADER_SIZE 110
#define CPIO_FIELD_FILESIZE 6 /* fields after the magic, in order */
#define CPIO_FIELD_NAMESIZE 11

extern const char initrd_start[], initrd_end[];

struct cpio_entry {
	const char *name;
	const void *data;
	size_t size;
	size_t next; /* offset of the next header */
};

static bool hex_field(const char *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return true;
}

/* Parse the entry at offset off; false at the trailer or on corruption. */
static bool cpio_entry_at(const char *blob, size_t size, size_t off, struct cpio_entry *e)
{
	uint32_t namesize, filesize;

	if (off > size || size - off < CPIO_HEADER_SIZE || memcmp(blob + off, "070701", 6) != 0 ||
	    !hex_field(blob + off + 6 + 8 * CPIO_FIELD_FILESIZE, &filesize) ||
	    !hex_field(blob + off + 6 + 8 * CPIO_FIELD_NAMESIZE, &namesize))
		return false;
	size_t name_off = off + CPIO_HEADER_SIZE;
	if (namesize == 0 || namesize > size - name_off || blob[name_off + namesize - 1] != '\0')
		return false;
	size_t data_off = ALIGN_UP(name_off + namesize, (size_t)4);
	if (data_off > size || filesize > size - data_off)
		return false;
	e->name = blob + name_off;
	e->data = blob + data_off;
	e->size = filesize;
	e->next = ALIGN_UP(data_off + filesize, (size_t)4);
	return strcmp(e->name, "TRAILER!!!") != 0;
}

int cpio_find(const void *blob, size_t size, const char *name, const void **data, size_t *fsize)
{
	struct cpio_entry e;

	for (size_t off = 0; cpio_entry_at(blob, size, off, &e); off = e.next) {
		if (strcmp(e.name, name) == 0) {
			*data = e.data;
			*fsize = e.size;
			return 0;
		}
	}
	return -ENOENT;
}

const char *cpio_name(const void *blob, size_t size, int index)
{
	struct cpio_entry e;
	int i = 0;

	for (size_t off = 0; cpio_entry_at(blob, size, off, &e); off = e.next)
		if (strcmp(e.name, ".") != 0 && i++ == index)
			return e.name;
	return NULL;
}

/* The archive's size. Its two ends are separate symbols (initrd_blob.S),
 * so the subtraction is done on addresses, not on pointers. */
static size_t initrd_size(void)
{
	return (uintptr_t)initrd_end - (uintptr_t)initrd_start;
}

int initrd_find(const char *name, const void **data, size_t *size)
{
	return cpio_find(initrd_start, initrd_size(), name, data, size);
}

const char *initrd_name(int index)
{
	return cpio_name(initrd_start, initrd_size(), index);
}
