/*
 * A small reader for flattened devicetree blobs (FDT, devicetree spec v0.4).
 *
 * fdt_init() checks the header once; after that every accessor bounds-checks
 * what it reads, so a truncated or corrupt blob yields an error or "not
 * found", never a read outside the blob. Nodes are named by their offset in
 * the structure block. Pure functions of the blob: no locks needed.
 */
#ifndef WEFT_FDT_H
#define WEFT_FDT_H

#include "types.h"

struct fdt {
	const uint8_t *blob;
	uint32_t size;       /* totalsize from the header */
	uint32_t struct_off; /* structure block */
	uint32_t struct_size;
	uint32_t strings_off; /* strings block */
	uint32_t strings_size;
	uint32_t rsvmap_off; /* memory reservation block */
};

#define FDT_MAGIC 0xd00dfeed
#define FDT_MAX_DEPTH 16

/* Check the header of a blob of at most max_size bytes. 0 or -EINVAL. */
int fdt_init(struct fdt *fdt, const void *blob, size_t max_size);

/* Offset of the root node. */
int fdt_root(const struct fdt *fdt);
/* First child / next sibling of a node; negative when there is none. */
int fdt_first_child(const struct fdt *fdt, int node);
int fdt_next_sibling(const struct fdt *fdt, int node);
/* Node name ("cpu@0"), or NULL if the node is corrupt. */
const char *fdt_node_name(const struct fdt *fdt, int node);

/* Node at an absolute path like "/chosen"; unit addresses may be omitted
 * ("/cpus/cpu" matches "cpu@0"). Negative when not found. */
int fdt_find_path(const struct fdt *fdt, const char *path);
/* Next node after `from` (document order; -1 starts at the root) whose
 * "compatible" list contains `compat`. Negative when there is none. */
int fdt_find_compatible(const struct fdt *fdt, int from, const char *compat);
/* Next node after `from` with the given phandle. */
int fdt_find_phandle(const struct fdt *fdt, uint32_t phandle);

/* Property value and length; NULL when missing or corrupt. */
const void *fdt_getprop(const struct fdt *fdt, int node, const char *name, int *len);
/* A string property, checked to be NUL-terminated inside the blob. */
const char *fdt_getprop_str(const struct fdt *fdt, int node, const char *name);
/* Cell i (big-endian u32) of a property; false when missing/short. */
bool fdt_getprop_u32(const struct fdt *fdt, int node, const char *name, int i, uint32_t *out);
/* True if a string-list property contains s. */
bool fdt_prop_has_string(const struct fdt *fdt, int node, const char *name, const char *s);

/* Parent of a node (found by a walk from the root); negative for the root. */
int fdt_parent(const struct fdt *fdt, int node);
/* Entry i of a node's "reg", decoded with its parent's #address-cells and
 * #size-cells. False when there is no such entry. */
bool fdt_read_reg(const struct fdt *fdt, int node, int i, uint64_t *addr, uint64_t *size);
/* Entry i of the memory reservation block; false past the end. */
bool fdt_read_rsvmap(const struct fdt *fdt, int i, uint64_t *addr, uint64_t *size);

/* Read a big-endian cell value of `cells` cells (1 or 2) at p. */
uint64_t fdt_read_cells(const void *p, int cells);

#endif
