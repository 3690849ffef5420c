/*
 * Devicetree blobs for the FDT tests: the ones QEMU's virt boards build,
 * and ones compiled with dtc from .dts files beside the tests.
 *
 * Every blob sits in a malloc'd buffer of exactly its size, so
 * AddressSanitizer reports a read even one byte past its end.
 */
#ifndef WEFT_TEST_FDT_SOURCE_H
#define WEFT_TEST_FDT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct blob {
	uint8_t *data;
	size_t size;
};

/* The devicetree of `qemu-system-<arch> -nic none -machine
 * virt<machine_opts>` with the given CPUs, memory and -append text (machine_opts may be "", or
 * e.g. ",gic-version=3"). QEMU pads its blob to 1 MiB; the padding is
 * cut off and totalsize lowered to match. Fails the test if QEMU fails. */
struct blob blob_from_qemu(const char *arch, int cpus, unsigned mem_mib, const char *machine_opts,
			   const char *bootargs);

/* A .dts file compiled by dtc. Fails the test if dtc fails. */
struct blob blob_from_dts(const char *dts_path);

/* A path beside the test sources: test_file(__FILE__, "x.dts"). */
const char *test_file(const char *this_file, const char *name);

struct blob blob_copy(const uint8_t *data, size_t size);
void blob_free(struct blob *b);

/* Big-endian header fields (offsets from the devicetree spec). */
#define FDT_OFF_TOTALSIZE 4
#define FDT_OFF_DT_STRUCT 8
#define FDT_OFF_DT_STRINGS 12
#define FDT_OFF_MEM_RSVMAP 16
#define FDT_OFF_VERSION 20
#define FDT_OFF_SIZE_DT_STRINGS 32
#define FDT_OFF_SIZE_DT_STRUCT 36

uint32_t blob_get32(const struct blob *b, size_t off);
void blob_put32(struct blob *b, size_t off, uint32_t v);

#endif
