/*
 * A devicetree blob writer for tests (see fdt_builder.h).
 *
 * Layout, in the order dtc uses: 40-byte header, memory reservation map
 * (8-byte aligned), structure block, strings block.
 */
#include "fdt_builder.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

#define HEADER_SIZE 40
#define FDT_VERSION 17
#define FDT_LAST_COMP_VERSION 16

void fdtb_init(struct fdt_builder *b)
{
	memset(b, 0, sizeof(*b));
}

void fdtb_u32(struct fdt_builder *b, uint32_t v)
{
	uint8_t be[4] = { v >> 24, v >> 16, v >> 8, v };

	fdtb_bytes(b, be, sizeof(be));
}

void fdtb_bytes(struct fdt_builder *b, const void *p, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;

	CHECK(b->nstruct + padded <= FDTB_STRUCT_MAX);
	memcpy(b->structs + b->nstruct, p, n);
	memset(b->structs + b->nstruct + n, 0, padded - n);
	b->nstruct += padded;
}

void fdtb_begin(struct fdt_builder *b, const char *name)
{
	fdtb_u32(b, FDTB_BEGIN_NODE);
	fdtb_bytes(b, name, strlen(name) + 1);
}

void fdtb_end(struct fdt_builder *b)
{
	fdtb_u32(b, FDTB_END_NODE);
}

uint32_t fdtb_string(struct fdt_builder *b, const char *name)
{
	size_t n = strlen(name) + 1;

	for (size_t off = 0; off < b->nstrings; off += strlen(b->strings + off) + 1)
		if (strcmp(b->strings + off, name) == 0)
			return (uint32_t)off;
	CHECK(b->nstrings + n <= FDTB_STRINGS_MAX);
	memcpy(b->strings + b->nstrings, name, n);
	b->nstrings += n;
	return (uint32_t)(b->nstrings - n);
}

void fdtb_prop(struct fdt_builder *b, const char *name, const void *val, size_t len)
{
	fdtb_u32(b, FDTB_PROP);
	fdtb_u32(b, (uint32_t)len);
	fdtb_u32(b, fdtb_string(b, name));
	if (len)
		fdtb_bytes(b, val, len);
}

void fdtb_prop_u32(struct fdt_builder *b, const char *name, uint32_t v)
{
	uint8_t be[4] = { v >> 24, v >> 16, v >> 8, v };

	fdtb_prop(b, name, be, sizeof(be));
}

void fdtb_prop_str(struct fdt_builder *b, const char *name, const char *s)
{
	fdtb_prop(b, name, s, strlen(s) + 1);
}

void fdtb_rsv(struct fdt_builder *b, uint64_t addr, uint64_t size)
{
	CHECK(b->nrsv < FDTB_RSV_MAX);
	b->rsv[b->nrsv][0] = addr;
	b->rsv[b->nrsv][1] = size;
	b->nrsv++;
}

static void put64(struct blob *blob, size_t off, uint64_t v)
{
	blob_put32(blob, off, (uint32_t)(v >> 32));
	blob_put32(blob, off + 4, (uint32_t)v);
}

struct blob fdtb_finish(const struct fdt_builder *b)
{
	size_t rsv_off = HEADER_SIZE;
	size_t rsv_entries = (size_t)b->nrsv + (b->rsv_unterminated ? 0 : 1);
	size_t struct_off = rsv_off + 16 * rsv_entries;
	size_t strings_off = struct_off + b->nstruct;
	size_t total = strings_off + b->nstrings;
	struct blob blob = { calloc(1, total), total };

	CHECK(blob.data);
	blob_put32(&blob, 0, 0xd00dfeed);
	blob_put32(&blob, FDT_OFF_TOTALSIZE, (uint32_t)total);
	blob_put32(&blob, FDT_OFF_DT_STRUCT, (uint32_t)struct_off);
	blob_put32(&blob, FDT_OFF_DT_STRINGS, (uint32_t)strings_off);
	blob_put32(&blob, FDT_OFF_MEM_RSVMAP, (uint32_t)rsv_off);
	blob_put32(&blob, FDT_OFF_VERSION, FDT_VERSION);
	blob_put32(&blob, 24, FDT_LAST_COMP_VERSION);
	blob_put32(&blob, 28, 0); /* boot_cpuid_phys */
	blob_put32(&blob, FDT_OFF_SIZE_DT_STRINGS, (uint32_t)b->nstrings);
	blob_put32(&blob, FDT_OFF_SIZE_DT_STRUCT, (uint32_t)b->nstruct);
	for (int i = 0; i < b->nrsv; i++) {
		put64(&blob, rsv_off + 16 * i, b->rsv[i][0]);
		put64(&blob, rsv_off + 16 * i + 8, b->rsv[i][1]);
	}
	memcpy(blob.data + struct_off, b->structs, b->nstruct);
	memcpy(blob.data + strings_off, b->strings, b->nstrings);
	return blob;
}
