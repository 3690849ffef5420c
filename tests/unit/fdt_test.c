/*
 * The FDT reader finds what the kernel needs in real devicetrees.
 *
 * Blobs come from QEMU itself (dumpdtb of the virt boards the kernel boots
 * on, with several CPU counts and memory sizes) and from dtc
 * (fdt_features.dts, for what QEMU's blobs do not contain).
 *
 * Links: kernel/fdt.c tests/unit/fdt_source.c tests/unit/fdt_walk.c
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fdt.h"
#include "fdt_source.h"
#include "fdt_walk.h"

#define MIB_BYTES (1024ull * 1024)
#define RISCV_RAM_BASE 0x80000000ull
#define ARM_RAM_BASE 0x40000000ull
#define RISCV_TIMEBASE_HZ 10000000
#define BOOTARGS "hello world"

static void init_ok(struct fdt *fdt, const struct blob *b)
{
	CHECK_EQ(fdt_init(fdt, b->data, b->size), 0);
}

/* The /cpus children that are CPUs (not cpu-map), in order. */
static int find_cpu_nodes(const struct fdt *fdt, int *nodes, int max)
{
	int cpus = fdt_find_path(fdt, "/cpus"), n = 0;

	CHECK(cpus >= 0);
	for (int c = fdt_first_child(fdt, cpus); c >= 0; c = fdt_next_sibling(fdt, c)) {
		const char *type = fdt_getprop_str(fdt, c, "device_type");
		if (type && strcmp(type, "cpu") == 0) {
			CHECK(n < max);
			nodes[n++] = c;
		}
	}
	return n;
}

static void check_memory(const struct fdt *fdt, uint64_t base, uint64_t size)
{
	uint64_t addr, len;
	int mem = fdt_find_path(fdt, "/memory");

	CHECK(mem >= 0);
	CHECK_STR(fdt_getprop_str(fdt, mem, "device_type"), "memory");
	CHECK(fdt_read_reg(fdt, mem, 0, &addr, &len));
	CHECK_EQ(addr, base);
	CHECK_EQ(len, size);
	CHECK(!fdt_read_reg(fdt, mem, 1, &addr, &len));
}

static void check_cpus(const struct fdt *fdt, int ncpus)
{
	int nodes[16];
	uint64_t addr, size;

	CHECK_EQ(find_cpu_nodes(fdt, nodes, 16), ncpus);
	for (int i = 0; i < ncpus; i++) {
		uint32_t reg;
		CHECK(fdt_getprop_u32(fdt, nodes[i], "reg", 0, &reg));
		CHECK_EQ(reg, i);
		/* /cpus has #size-cells = 0: reg is an address alone. */
		CHECK(fdt_read_reg(fdt, nodes[i], 0, &addr, &size));
		CHECK_EQ(addr, i);
		CHECK_EQ(size, 0);
		CHECK_EQ(fdt_parent(fdt, nodes[i]), fdt_find_path(fdt, "/cpus"));
	}
}

static void check_bootargs(const struct fdt *fdt)
{
	int chosen = fdt_find_path(fdt, "/chosen");

	CHECK(chosen >= 0);
	CHECK_STR(fdt_getprop_str(fdt, chosen, "bootargs"), BOOTARGS);
}

/* A device found by compatible string: its reg and its parent's path. */
static void check_device(const struct fdt *fdt, const char *compat, uint64_t base, uint64_t size,
			 const char *parent_path)
{
	uint64_t addr, len;
	int node = fdt_find_compatible(fdt, -1, compat);

	CHECK_MSG(node >= 0, "no node compatible with %s", compat);
	CHECK(fdt_read_reg(fdt, node, 0, &addr, &len));
	CHECK_EQ(addr, base);
	CHECK_EQ(len, size);
	CHECK_EQ(fdt_parent(fdt, node), fdt_find_path(fdt, parent_path));
	CHECK(fdt_find_compatible(fdt, node, compat) < 0);
}

TEST(fdt_riscv64_virt_describes_memory_cpus_and_console)
{
	static const struct {
		int cpus;
		unsigned mem_mib;
	} configs[] = { { 1, 128 }, { 4, 256 }, { 8, 2048 }, { 2, 4096 } };

	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		struct blob b = blob_from_qemu("riscv64", configs[i].cpus, configs[i].mem_mib, "",
					       BOOTARGS);
		struct fdt fdt;
		uint32_t hz;
		uint64_t addr, size;

		init_ok(&fdt, &b);
		check_memory(&fdt, RISCV_RAM_BASE, configs[i].mem_mib * MIB_BYTES);
		check_cpus(&fdt, configs[i].cpus);
		CHECK(fdt_getprop_u32(&fdt, fdt_find_path(&fdt, "/cpus"), "timebase-frequency", 0,
				      &hz));
		CHECK_EQ(hz, RISCV_TIMEBASE_HZ);
		check_bootargs(&fdt);
		check_device(&fdt, "ns16550a", 0x10000000, 0x100, "/soc");
		CHECK(fdt_find_compatible(&fdt, -1, "arm,pl011") < 0);
		/* QEMU leaves the reservation map empty (OpenSBI adds to it). */
		CHECK(!fdt_read_rsvmap(&fdt, 0, &addr, &size));
		CHECK(fdt_walk_all(&fdt) > 20);
		blob_free(&b);
	}
}

TEST(fdt_riscv64_virt_phandles_lead_to_cpu_interrupt_controllers)
{
	struct blob b = blob_from_qemu("riscv64", 4, 256, "", BOOTARGS);
	struct fdt fdt;
	int nodes[16];

	init_ok(&fdt, &b);
	CHECK_EQ(find_cpu_nodes(&fdt, nodes, 16), 4);
	for (int i = 0; i < 4; i++) {
		uint32_t ph;
		int intc = fdt_first_child(&fdt, nodes[i]);
		CHECK(intc >= 0);
		CHECK_STR(fdt_node_name(&fdt, intc), "interrupt-controller");
		CHECK(fdt_prop_has_string(&fdt, intc, "compatible", "riscv,cpu-intc"));
		CHECK(fdt_getprop_u32(&fdt, intc, "phandle", 0, &ph));
		CHECK_EQ(fdt_find_phandle(&fdt, ph), intc);
		CHECK_EQ(fdt_parent(&fdt, intc), nodes[i]);
		/* and the CPU's own phandle */
		CHECK(fdt_getprop_u32(&fdt, nodes[i], "phandle", 0, &ph));
		CHECK_EQ(fdt_find_phandle(&fdt, ph), nodes[i]);
	}
	/* the PLIC is what interrupt-parent names */
	uint32_t ph;
	int uart = fdt_find_compatible(&fdt, -1, "ns16550a");
	CHECK(fdt_getprop_u32(&fdt, uart, "interrupt-parent", 0, &ph));
	int plic = fdt_find_phandle(&fdt, ph);
	CHECK(plic >= 0);
	CHECK(fdt_prop_has_string(&fdt, plic, "compatible", "riscv,plic0"));
	CHECK(fdt_find_phandle(&fdt, 0xdead) < 0);
	blob_free(&b);
}

TEST(fdt_aarch64_virt_describes_memory_cpus_and_console)
{
	static const struct {
		int cpus;
		unsigned mem_mib;
		const char *machine;
	} configs[] = {
		{ 1, 128, "" },
		{ 2, 512, "" },
		{ 8, 4096, "" },
		{ 4, 512, ",gic-version=3" },
	};

	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		struct blob b = blob_from_qemu("aarch64", configs[i].cpus, configs[i].mem_mib,
					       configs[i].machine, BOOTARGS);
		struct fdt fdt;
		uint32_t ph;

		init_ok(&fdt, &b);
		check_memory(&fdt, ARM_RAM_BASE, configs[i].mem_mib * MIB_BYTES);
		check_cpus(&fdt, configs[i].cpus);
		check_bootargs(&fdt);
		check_device(&fdt, "arm,pl011", 0x09000000, 0x1000, "/");
		CHECK(fdt_find_compatible(&fdt, -1, "ns16550a") < 0);
		int psci = fdt_find_path(&fdt, "/psci");
		CHECK(psci >= 0);
		CHECK_STR(fdt_getprop_str(&fdt, psci, "method"), "hvc");
		CHECK(fdt_prop_has_string(&fdt, psci, "compatible", "arm,psci-0.2"));

		/* The root's interrupt-parent is the GIC. */
		CHECK(fdt_getprop_u32(&fdt, fdt_root(&fdt), "interrupt-parent", 0, &ph));
		int gic = fdt_find_phandle(&fdt, ph);
		CHECK(gic >= 0);
		const char *want = configs[i].machine[0] ? "arm,gic-v3" : "arm,cortex-a15-gic";
		CHECK_MSG(fdt_prop_has_string(&fdt, gic, "compatible", want), "GIC is not %s",
			  want);
		CHECK(fdt_walk_all(&fdt) > 20);
		blob_free(&b);
	}
}

TEST(fdt_reservations_and_reserved_memory_are_read)
{
	struct blob b = blob_from_dts(test_file(__FILE__, "fdt_features.dts"));
	struct fdt fdt;
	uint64_t addr, size;

	init_ok(&fdt, &b);
	CHECK(fdt_read_rsvmap(&fdt, 0, &addr, &size));
	CHECK_EQ(addr, 0x80000000);
	CHECK_EQ(size, 0x80000);
	CHECK(fdt_read_rsvmap(&fdt, 1, &addr, &size));
	CHECK_EQ(addr, 0x9ff00000);
	CHECK_EQ(size, 0x1000);
	CHECK(!fdt_read_rsvmap(&fdt, 2, &addr, &size));
	CHECK(!fdt_read_rsvmap(&fdt, -1, &addr, &size));

	int rm = fdt_find_path(&fdt, "/reserved-memory");
	CHECK(rm >= 0);
	int fw = fdt_first_child(&fdt, rm);
	CHECK_STR(fdt_node_name(&fdt, fw), "firmware@80000000");
	CHECK(fdt_read_reg(&fdt, fw, 0, &addr, &size));
	CHECK_EQ(addr, 0x80000000);
	CHECK_EQ(size, 0x80000);
	int len = -1;
	CHECK(fdt_getprop(&fdt, fw, "no-map", &len));
	CHECK_EQ(len, 0);
	int shared = fdt_next_sibling(&fdt, fw);
	CHECK(fdt_read_reg(&fdt, shared, 0, &addr, &size));
	CHECK_EQ(addr, 0x9f000000);
	CHECK_EQ(size, 0x1000000);
	CHECK(fdt_next_sibling(&fdt, shared) < 0);
	blob_free(&b);
}

TEST(fdt_reg_uses_the_parents_cell_sizes)
{
	struct blob b = blob_from_dts(test_file(__FILE__, "fdt_features.dts"));
	struct fdt fdt;
	uint64_t addr, size;

	init_ok(&fdt, &b);
	int mem = fdt_find_path(&fdt, "/memory@80000000");
	CHECK(fdt_read_reg(&fdt, mem, 1, &addr, &size));
	CHECK_EQ(addr, 0x100000000ull);
	CHECK_EQ(size, 0x20000000);
	CHECK(!fdt_read_reg(&fdt, mem, 2, &addr, &size));
	CHECK(!fdt_read_reg(&fdt, mem, -1, &addr, &size));

	int regs = fdt_find_path(&fdt, "/soc/bus/regs");
	CHECK(fdt_read_reg(&fdt, regs, 0, &addr, &size));
	CHECK_EQ(addr, 0x100);
	CHECK_EQ(size, 0x20);
	int leaf = fdt_find_path(&fdt, "/soc/bus@20000000/mux/leaf@5");
	CHECK(leaf >= 0);
	CHECK(fdt_read_reg(&fdt, leaf, 0, &addr, &size));
	CHECK_EQ(addr, 5);
	CHECK_EQ(size, 0);
	int serial = fdt_find_path(&fdt, "/soc/serial@10001000");
	CHECK(fdt_read_reg(&fdt, serial, 1, &addr, &size));
	CHECK_EQ(addr, 0x10002000);
	CHECK_EQ(size, 0x10);

	CHECK_EQ(fdt_read_cells("\x12\x34\x56\x78\x9a\xbc\xde\xf0", 2), 0x123456789abcdef0ull);
	CHECK_EQ(fdt_read_cells("\x12\x34\x56\x78", 1), 0x12345678);
	blob_free(&b);
}

TEST(fdt_paths_compatibles_and_phandles_are_found)
{
	struct blob b = blob_from_dts(test_file(__FILE__, "fdt_features.dts"));
	struct fdt fdt;
	uint32_t ph;

	init_ok(&fdt, &b);
	CHECK_EQ(fdt_find_path(&fdt, "/"), fdt_root(&fdt));
	CHECK_EQ(fdt_find_path(&fdt, "/cpus/cpu"), fdt_find_path(&fdt, "/cpus/cpu@0"));
	CHECK(fdt_find_path(&fdt, "/cpus/cpu@7") > fdt_find_path(&fdt, "/cpus/cpu@1"));
	CHECK(fdt_find_path(&fdt, "/cpus/cpu@2") < 0);
	CHECK(fdt_find_path(&fdt, "/cpu") < 0);
	CHECK(fdt_find_path(&fdt, "cpus") < 0);
	CHECK_EQ(fdt_find_path(&fdt, "//cpus//cpu@1/"), fdt_find_path(&fdt, "/cpus/cpu@1"));
	CHECK_STR(fdt_getprop_str(&fdt, fdt_find_path(&fdt, "/cpus/cpu@7"), "status"), "disabled");

	/* Both ns16550a nodes, in document order, then no more. */
	int first = fdt_find_compatible(&fdt, -1, "ns16550a");
	int second = fdt_find_compatible(&fdt, first, "ns16550a");
	CHECK_STR(fdt_node_name(&fdt, first), "serial@10000000");
	CHECK_STR(fdt_node_name(&fdt, second), "serial@10001000");
	CHECK(fdt_find_compatible(&fdt, second, "ns16550a") < 0);
	CHECK_EQ(fdt_find_compatible(&fdt, -1, "vendor,fancy-uart"), first);
	CHECK(fdt_find_compatible(&fdt, -1, "ns16550") < 0);
	CHECK(fdt_prop_has_string(&fdt, fdt_root(&fdt), "compatible", "weft,generic-board"));

	CHECK(fdt_getprop_u32(&fdt, first, "interrupt-parent", 0, &ph));
	CHECK_EQ(ph, 0x42);
	CHECK_EQ(fdt_find_phandle(&fdt, 0x42), fdt_find_path(&fdt, "/soc/interrupt-controller"));
	CHECK(fdt_find_phandle(&fdt, 0x43) < 0);
	CHECK(!fdt_getprop_u32(&fdt, first, "interrupt-parent", 1, &ph));
	CHECK(!fdt_getprop_u32(&fdt, first, "interrupt-parent", -1, &ph));
	blob_free(&b);
}

TEST(fdt_properties_and_parents_follow_the_tree)
{
	struct blob b = blob_from_dts(test_file(__FILE__, "fdt_features.dts"));
	struct fdt fdt;
	int len = -1;

	init_ok(&fdt, &b);
	int chosen = fdt_find_path(&fdt, "/chosen");
	CHECK_STR(fdt_getprop_str(&fdt, chosen, "bootargs"), "console=ttyS0 panic=poweroff");
	CHECK(fdt_getprop(&fdt, chosen, "empty-flag", &len));
	CHECK_EQ(len, 0);
	CHECK(!fdt_getprop_str(&fdt, chosen, "empty-flag"));
	CHECK(!fdt_getprop(&fdt, chosen, "missing", &len));
	CHECK(fdt_first_child(&fdt, chosen) < 0);
	/* A child's properties are not its parent's. */
	CHECK(!fdt_getprop(&fdt, fdt_find_path(&fdt, "/cpus"), "device_type", &len));

	CHECK(fdt_parent(&fdt, fdt_root(&fdt)) < 0);
	CHECK_EQ(fdt_parent(&fdt, chosen), fdt_root(&fdt));

	/* Parents are found down to FDT_MAX_DEPTH; deeper nodes report an
	 * error rather than overflowing the walk's stack. */
	char path[256] = "";
	int depth;
	for (depth = 1; depth <= 20; depth++) {
		char comp[16];
		snprintf(comp, sizeof(comp), "/d%d", depth);
		strcat(path, comp);
		int node = fdt_find_path(&fdt, path);
		CHECK_MSG(node >= 0, "%s not found", path);
		int parent = fdt_parent(&fdt, node);
		if (depth <= FDT_MAX_DEPTH)
			CHECK_MSG(parent >= 0 && parent < node, "no parent at depth %d", depth);
		else
			CHECK_MSG(parent < 0, "a parent at depth %d", depth);
		if (depth == 20)
			CHECK_STR(fdt_getprop_str(&fdt, node, "marker"), "deepest");
	}
	CHECK(fdt_walk_all(&fdt) > 30);
	blob_free(&b);
}
