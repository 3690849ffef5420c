/*
 * Flattened devicetree reader.
 *
 * The blob is untrusted input: every read goes through be32_at(), which
 * checks bounds, and every loop advances by at least one token, so a corrupt
 * blob ends in "not found" or -EINVAL. Read-only; safe without locks.
 */
#include "fdt.h"

#include "klib.h"
#include "uapi/errno.h"

enum fdt_token {
	FDT_BEGIN_NODE = 1,
	FDT_END_NODE = 2,
	FDT_PROP = 3,
	FDT_NOP = 4,
	FDT_END = 9,
};

#define FDT_HEADER_SIZE 40
#define FDT_RSV_ENTRY_SIZE 16

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t fdt_read_cells(const void *p, int cells)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < cells; i++)
		v = v << 32 | be32(b + 4 * i);
	return v;
}

/* The u32 at offset off of the structure block, or false if out of bounds. */
static bool struct_u32(const struct fdt *fdt, int off, uint32_t *out)
{
	if (off < 0 || (uint32_t)off > fdt->struct_size - 4 || fdt->struct_size < 4)
		return false;
	*out = be32(fdt->blob + fdt->struct_off + off);
	return true;
}

/* A NUL-terminated string at offset off of the structure block. */
static const char *struct_str(const struct fdt *fdt, int off, int *len)
{
	if (off < 0 || (uint32_t)off >= fdt->struct_size)
		return NULL;
	const char *s = (const char *)fdt->blob + fdt->struct_off + off;
	size_t n = strnlen(s, fdt->struct_size - off);

	if (n == fdt->struct_size - (uint32_t)off)
		return NULL;
	*len = (int)n;
	return s;
}

/* Offset of the token after the one at off (for BEGIN_NODE: after the
 * name, i.e. its first property). Negative at FDT_END or on corruption. */
static int next_token(const struct fdt *fdt, int off, uint32_t *tok)
{
	uint32_t len, nameoff;
	int namelen;

	if (!struct_u32(fdt, off, tok))
		return -EINVAL;
	switch (*tok) {
	case FDT_BEGIN_NODE:
		if (!struct_str(fdt, off + 4, &namelen))
			return -EINVAL;
		return off + 4 + ALIGN_UP(namelen + 1, 4);
	case FDT_PROP: /* the whole 12-byte header must be inside the block */
		if (!struct_u32(fdt, off + 8, &nameoff) || !struct_u32(fdt, off + 4, &len) ||
		    len > fdt->struct_size - (uint32_t)off - 12)
			return -EINVAL;
		return off + 12 + (int)ALIGN_UP(len, 4u);
	case FDT_END_NODE:
	case FDT_NOP:
		return off + 4;
	default:
		return -EINVAL;
	}
}

int fdt_init(struct fdt *fdt, const void *blob, size_t max_size)
{
	const uint8_t *b = blob;

	if (!blob || max_size < FDT_HEADER_SIZE || be32(b) != FDT_MAGIC)
		return -EINVAL;
	uint32_t total = be32(b + 4);
	uint32_t off_struct = be32(b + 8), off_strings = be32(b + 12);
	uint32_t off_rsv = be32(b + 16), version = be32(b + 20);
	uint32_t size_strings = be32(b + 32), size_struct = be32(b + 36);

	if (total < FDT_HEADER_SIZE || total > max_size || version < 17)
		return -EINVAL;
	if (off_struct % 4 || off_struct > total || size_struct > total - off_struct)
		return -EINVAL;
	if (off_strings > total || size_strings > total - off_strings)
		return -EINVAL;
	if (off_rsv % 8 || off_rsv < FDT_HEADER_SIZE || off_rsv > total - FDT_RSV_ENTRY_SIZE)
		return -EINVAL;
	*fdt = (struct fdt){
		b, total, off_struct, size_struct, off_strings, size_strings, off_rsv
	};

	uint32_t tok;
	if (!struct_u32(fdt, 0, &tok) || tok != FDT_BEGIN_NODE)
		return -EINVAL;
	return 0;
}

int fdt_root(const struct fdt *fdt)
{
	(void)fdt;
	return 0;
}

/* Skip a node's properties and NOPs; returns the offset of the first
 * BEGIN_NODE (a child) or END_NODE (no more children). */
static int skip_props(const struct fdt *fdt, int off)
{
	uint32_t tok;

	for (;;) {
		if (!struct_u32(fdt, off, &tok))
			return -EINVAL;
		if (tok == FDT_BEGIN_NODE || tok == FDT_END_NODE)
			return off;
		off = next_token(fdt, off, &tok);
		if (off < 0)
			return off;
	}
}

int fdt_first_child(const struct fdt *fdt, int node)
{
	uint32_t tok;
	int off = next_token(fdt, node, &tok);

	if (off < 0 || tok != FDT_BEGIN_NODE)
		return -EINVAL;
	off = skip_props(fdt, off);
	if (off < 0 || !struct_u32(fdt, off, &tok) || tok != FDT_BEGIN_NODE)
		return -ENOENT;
	return off;
}

int fdt_next_sibling(const struct fdt *fdt, int node)
{
	uint32_t tok;
	int depth = 0, off = node;

	/* Walk past the node's whole subtree. */
	do {
		off = next_token(fdt, off, &tok);
		if (off < 0)
			return off;
		if (tok == FDT_BEGIN_NODE)
			depth++;
		else if (tok == FDT_END_NODE)
			depth--;
	} while (depth > 0);
	off = skip_props(fdt, off); /* NOPs between siblings */
	if (off < 0 || !struct_u32(fdt, off, &tok) || tok != FDT_BEGIN_NODE)
		return -ENOENT;
	return off;
}

const char *fdt_node_name(const struct fdt *fdt, int node)
{
	uint32_t tok;
	int len;

	if (!struct_u32(fdt, node, &tok) || tok != FDT_BEGIN_NODE)
		return NULL;
	return struct_str(fdt, node + 4, &len);
}

/* Does a node name match a path component ("cpu" matches "cpu@0")? */
static bool name_matches(const char *name, const char *comp, size_t n)
{
	return strncmp(name, comp, n) == 0 && (name[n] == '\0' || name[n] == '@');
}

int fdt_find_path(const struct fdt *fdt, const char *path)
{
	int node = fdt_root(fdt);

	if (path[0] != '/')
		return -EINVAL;
	while (*path) {
		while (*path == '/')
			path++;
		if (!*path)
			break;
		size_t n = 0;
		while (path[n] && path[n] != '/')
			n++;
		int child;
		for (child = fdt_first_child(fdt, node); child >= 0;
		     child = fdt_next_sibling(fdt, child)) {
			const char *name = fdt_node_name(fdt, child);
			if (name && name_matches(name, path, n))
				break;
		}
		if (child < 0)
			return -ENOENT;
		node = child;
		path += n;
	}
	return node;
}

const void *fdt_getprop(const struct fdt *fdt, int node, const char *name, int *len)
{
	uint32_t tok, plen, nameoff;
	int off = next_token(fdt, node, &tok);

	if (off < 0 || tok != FDT_BEGIN_NODE)
		return NULL;
	for (;;) {
		if (!struct_u32(fdt, off, &tok))
			return NULL;
		if (tok == FDT_PROP) {
			if (!struct_u32(fdt, off + 4, &plen) ||
			    !struct_u32(fdt, off + 8, &nameoff) || nameoff >= fdt->strings_size)
				return NULL;
			const char *pname = (const char *)fdt->blob + fdt->strings_off + nameoff;
			size_t room = fdt->strings_size - nameoff;
			if (strnlen(pname, room) < room && strcmp(pname, name) == 0) {
				if (plen > fdt->struct_size - (uint32_t)off - 12)
					return NULL;
				if (len)
					*len = (int)plen;
				return fdt->blob + fdt->struct_off + off + 12;
			}
		} else if (tok != FDT_NOP) {
			return NULL; /* properties end at the first child */
		}
		off = next_token(fdt, off, &tok);
		if (off < 0)
			return NULL;
	}
}

const char *fdt_getprop_str(const struct fdt *fdt, int node, const char *name)
{
	int len;
	const char *s = fdt_getprop(fdt, node, name, &len);

	if (!s || len < 1 || s[len - 1] != '\0')
		return NULL;
	return s;
}

bool fdt_getprop_u32(const struct fdt *fdt, int node, const char *name, int i, uint32_t *out)
{
	int len;
	const uint8_t *p = fdt_getprop(fdt, node, name, &len);

	if (!p || i < 0 || len < 4 * (i + 1))
		return false;
	*out = be32(p + 4 * i);
	return true;
}

bool fdt_prop_has_string(const struct fdt *fdt, int node, const char *name, const char *s)
{
	int len;
	const char *p = fdt_getprop(fdt, node, name, &len);

	while (p && len > 0) {
		size_t n = strnlen(p, (size_t)len);
		if (n == (size_t)len)
			return false; /* unterminated */
		if (strcmp(p, s) == 0)
			return true;
		p += n + 1;
		len -= (int)n + 1;
	}
	return false;
}

/* Visit nodes in document order after `from`, stopping at the first one for
 * which match() is true. */
static int find_node(const struct fdt *fdt, int from,
		     bool (*match)(const struct fdt *, int, const void *), const void *arg)
{
	uint32_t tok;
	int off = 0;

	if (from >= 0) {
		off = next_token(fdt, from, &tok);
		if (off < 0)
			return off;
	}
	for (;;) {
		if (!struct_u32(fdt, off, &tok) || tok == FDT_END)
			return -ENOENT;
		if (tok == FDT_BEGIN_NODE && match(fdt, off, arg))
			return off;
		off = next_token(fdt, off, &tok);
		if (off < 0)
			return off;
	}
}

static bool match_compatible(const struct fdt *fdt, int node, const void *arg)
{
	return fdt_prop_has_string(fdt, node, "compatible", arg);
}

int fdt_find_compatible(const struct fdt *fdt, int from, const char *compat)
{
	return find_node(fdt, from, match_compatible, compat);
}

static bool match_phandle(const struct fdt *fdt, int node, const void *arg)
{
	uint32_t ph;

	return fdt_getprop_u32(fdt, node, "phandle", 0, &ph) && ph == *(const uint32_t *)arg;
}

int fdt_find_phandle(const struct fdt *fdt, uint32_t phandle)
{
	return find_node(fdt, -1, match_phandle, &phandle);
}

int fdt_parent(const struct fdt *fdt, int node)
{
	int stack[FDT_MAX_DEPTH];
	int depth = 0, off = 0;
	uint32_t tok;

	for (;;) {
		if (!struct_u32(fdt, off, &tok) || tok == FDT_END)
			return -ENOENT;
		if (tok == FDT_BEGIN_NODE) {
			if (off == node)
				return depth > 0 ? stack[depth - 1] : -ENOENT;
			if (depth == FDT_MAX_DEPTH)
				return -EINVAL;
			stack[depth++] = off;
		} else if (tok == FDT_END_NODE) {
			if (depth == 0)
				return -EINVAL;
			depth--;
		}
		off = next_token(fdt, off, &tok);
		if (off < 0)
			return off;
	}
}

bool fdt_read_reg(const struct fdt *fdt, int node, int i, uint64_t *addr, uint64_t *size)
{
	uint32_t ac = 2, sc = 1; /* defaults from the devicetree spec */
	int parent = fdt_parent(fdt, node);
	int len;

	if (parent >= 0) {
		fdt_getprop_u32(fdt, parent, "#address-cells", 0, &ac);
		fdt_getprop_u32(fdt, parent, "#size-cells", 0, &sc);
	}
	if (ac < 1 || ac > 2 || sc > 2)
		return false;
	const uint8_t *p = fdt_getprop(fdt, node, "reg", &len);
	int entry = 4 * (int)(ac + sc);
	if (!p || i < 0 || len / entry <= i)
		return false;
	p += entry * i;
	*addr = fdt_read_cells(p, (int)ac);
	*size = sc ? fdt_read_cells(p + 4 * ac, (int)sc) : 0;
	return true;
}

bool fdt_read_rsvmap(const struct fdt *fdt, int i, uint64_t *addr, uint64_t *size)
{
	uint64_t off = fdt->rsvmap_off + (uint64_t)i * FDT_RSV_ENTRY_SIZE;

	if (i < 0 || off + FDT_RSV_ENTRY_SIZE > fdt->size)
		return false;
	*addr = fdt_read_cells(fdt->blob + off, 2);
	*size = fdt_read_cells(fdt->blob + off + 8, 2);
	return *addr != 0 || *size != 0; /* the list ends with a zero entry */
}
