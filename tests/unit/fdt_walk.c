/*
 * Walk a possibly corrupt blob with every FDT accessor (see fdt_walk.h).
 *
 * Node offsets must strictly increase along first_child/next_sibling and
 * along repeated fdt_find_compatible() calls; that, and a cap on the node
 * count, is what proves each walk ends.
 */
#include "fdt_walk.h"

#include <string.h>

#include "check.h"

/* Names found in QEMU's virt blobs, plus some that are never there. */
static const char *const prop_names[] = {
	"compatible",
	"reg",
	"#address-cells",
	"#size-cells",
	"phandle",
	"device_type",
	"status",
	"bootargs",
	"timebase-frequency",
	"ranges",
	"riscv,isa",
	"method",
	"interrupts-extended",
	"",
	"no-such-property",
};
static const char *const compat_names[] = {
	"ns16550a", "arm,pl011", "virtio,mmio", "riscv", "simple-bus", "",
};
static const char *const paths[] = {
	"/",
	"/chosen",
	"/cpus/cpu",
	"/cpus/cpu@1/interrupt-controller",
	"/soc/serial",
	"/memory",
	"//",
	"/no/such/node",
	"",
	"relative",
};
static const uint32_t phandles[] = { 0, 1, 2, 3, 9, 0x8003, 0xffffffff };

static volatile unsigned sink;

/* Read every byte of [p, p + len), which must lie inside the blob. */
static void touch(const struct fdt *fdt, const void *p, size_t len)
{
	const uint8_t *b = p;

	CHECK(b >= fdt->blob && len <= fdt->size && b + len <= fdt->blob + fdt->size);
	for (size_t i = 0; i < len; i++)
		sink += b[i];
}

static void touch_str(const struct fdt *fdt, const char *s)
{
	if (s)
		touch(fdt, s, strlen(s) + 1);
}

static void visit(const struct fdt *fdt, int node)
{
	uint64_t addr, size;
	uint32_t cell;
	int len;

	touch_str(fdt, fdt_node_name(fdt, node));
	for (size_t i = 0; i < sizeof(prop_names) / sizeof(prop_names[0]); i++) {
		const char *name = prop_names[i];
		const void *p = fdt_getprop(fdt, node, name, &len);
		if (p) {
			CHECK(len >= 0);
			touch(fdt, p, (size_t)len);
		}
		touch_str(fdt, fdt_getprop_str(fdt, node, name));
		for (int c = -1; c < 4; c++)
			if (fdt_getprop_u32(fdt, node, name, c, &cell))
				sink += cell;
		for (size_t j = 0; j < sizeof(compat_names) / sizeof(compat_names[0]); j++)
			sink += fdt_prop_has_string(fdt, node, name, compat_names[j]);
	}
	int parent = fdt_parent(fdt, node);
	if (parent >= 0)
		CHECK(parent < node);
	for (int i = -1; i < 3; i++)
		if (fdt_read_reg(fdt, node, i, &addr, &size))
			sink += (unsigned)(addr + size);
}

static void walk(const struct fdt *fdt, int node, int *count)
{
	int prev = node;

	visit(fdt, node);
	CHECK_MSG(++*count <= (int)(fdt->struct_size / 8) + 1, "more nodes than can fit");
	for (int child = fdt_first_child(fdt, node); child >= 0;
	     child = fdt_next_sibling(fdt, child)) {
		CHECK_MSG(child > prev, "walk went from %d back to %d", prev, child);
		prev = child;
		walk(fdt, child, count);
	}
}

int fdt_walk_all(const struct fdt *fdt)
{
	int count = 0, limit = (int)(fdt->struct_size / 8) + 1;
	uint64_t addr, size;

	walk(fdt, fdt_root(fdt), &count);

	for (size_t j = 0; j < sizeof(compat_names) / sizeof(compat_names[0]); j++) {
		int n = 0;
		for (int from = -1, node;
		     (node = fdt_find_compatible(fdt, from, compat_names[j])) >= 0; from = node) {
			CHECK_MSG(node > from, "fdt_find_compatible went back");
			CHECK(++n <= limit);
			touch_str(fdt, fdt_node_name(fdt, node));
		}
	}
	for (size_t i = 0; i < sizeof(phandles) / sizeof(phandles[0]); i++) {
		int node = fdt_find_phandle(fdt, phandles[i]);
		if (node >= 0)
			touch_str(fdt, fdt_node_name(fdt, node));
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int node = fdt_find_path(fdt, paths[i]);
		if (node >= 0)
			touch_str(fdt, fdt_node_name(fdt, node));
	}
	CHECK(!fdt_read_rsvmap(fdt, -1, &addr, &size));
	for (int i = 0; fdt_read_rsvmap(fdt, i, &addr, &size); i++)
		CHECK((size_t)i <= fdt->size / 16);
	return count;
}
