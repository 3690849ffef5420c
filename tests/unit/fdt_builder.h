/*
 * Build devicetree blobs token by token, including broken ones.
 *
 * dtc refuses to write a malformed blob, so the corruption tests make their
 * own: the builder writes whatever tokens, names and lengths it is given
 * and fills in a header that matches what was written, which the test may
 * then change.
 */
#ifndef WEFT_TEST_FDT_BUILDER_H
#define WEFT_TEST_FDT_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdt_source.h"

#define FDTB_STRUCT_MAX 8192
#define FDTB_STRINGS_MAX 2048
#define FDTB_RSV_MAX 8

/* Structure block tokens (devicetree spec). */
#define FDTB_BEGIN_NODE 1
#define FDTB_END_NODE 2
#define FDTB_PROP 3
#define FDTB_NOP 4
#define FDTB_END 9

struct fdt_builder {
	uint8_t structs[FDTB_STRUCT_MAX];
	size_t nstruct;
	char strings[FDTB_STRINGS_MAX];
	size_t nstrings;
	uint64_t rsv[FDTB_RSV_MAX][2];
	int nrsv;
	bool rsv_unterminated; /* leave out the zero entry ending the map */
};

void fdtb_init(struct fdt_builder *b);
void fdtb_u32(struct fdt_builder *b, uint32_t v);                /* any token */
void fdtb_bytes(struct fdt_builder *b, const void *p, size_t n); /* padded to 4 */
void fdtb_begin(struct fdt_builder *b, const char *name);
void fdtb_end(struct fdt_builder *b);
/* Offset of the name in the strings block (added if new). */
uint32_t fdtb_string(struct fdt_builder *b, const char *name);
void fdtb_prop(struct fdt_builder *b, const char *name, const void *val, size_t len);
void fdtb_prop_u32(struct fdt_builder *b, const char *name, uint32_t v);
void fdtb_prop_str(struct fdt_builder *b, const char *name, const char *s);
void fdtb_rsv(struct fdt_builder *b, uint64_t addr, uint64_t size);

/* Header, reservation map, structure block (as written: add FDTB_END
 * yourself), strings block, in an exactly sized buffer. */
struct blob fdtb_finish(const struct fdt_builder *b);

#endif
