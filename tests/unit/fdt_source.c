/*
 * Devicetree blobs for the FDT tests, from QEMU and from dtc.
 *
 * Both tools write a file into the scratch directory; it is read into an
 * exactly sized buffer and removed. File names carry the process id, so
 * test programs running side by side do not collide.
 */
#include "fdt_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define CMD_MAX 2048
#define PATH_MAX_LEN 512

uint32_t blob_get32(const struct blob *b, size_t off)
{
	CHECK(off + 4 <= b->size);
	const uint8_t *p = b->data + off;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void blob_put32(struct blob *b, size_t off, uint32_t v)
{
	CHECK(off + 4 <= b->size);
	b->data[off] = v >> 24;
	b->data[off + 1] = v >> 16;
	b->data[off + 2] = v >> 8;
	b->data[off + 3] = v;
}

struct blob blob_copy(const uint8_t *data, size_t size)
{
	/* malloc(0) may return NULL; keep a real (zero-length) allocation. */
	struct blob b = { malloc(size ? size : 1), size };

	CHECK(b.data);
	memcpy(b.data, data, size);
	return b;
}

void blob_free(struct blob *b)
{
	free(b->data);
	b->data = NULL;
	b->size = 0;
}

const char *test_file(const char *this_file, const char *name)
{
	static char path[PATH_MAX_LEN];
	const char *slash = strrchr(this_file, '/');
	int dirlen = slash ? (int)(slash - this_file) : 1;

	snprintf(path, sizeof(path), "%.*s/%s", dirlen, slash ? this_file : ".", name);
	return path;
}

static void scratch_path(char *path, const char *what)
{
	static int counter;

	if (mkdir(unit_scratch_dir, 0777) != 0)
		CHECK_MSG(errno == EEXIST, "cannot create %s", unit_scratch_dir);
	int n = snprintf(path, PATH_MAX_LEN, "%s/%s-%d-%d.dtb", unit_scratch_dir, what,
			 (int)getpid(), counter++);
	CHECK(n > 0 && n < PATH_MAX_LEN);
}

static struct blob read_and_remove(const char *path)
{
	FILE *f = fopen(path, "rb");
	long size;

	CHECK_MSG(f, "cannot open %s", path);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	size = ftell(f);
	CHECK(size > 0);
	rewind(f);
	struct blob b = { malloc(size), (size_t)size };
	CHECK(b.data);
	CHECK(fread(b.data, 1, b.size, f) == b.size);
	fclose(f);
	unlink(path);
	return b;
}

static void run(const char *cmd)
{
	int status = system(cmd);

	CHECK_MSG(status == 0, "command failed (status %d): %s", status, cmd);
}

struct blob blob_from_qemu(const char *arch, int cpus, unsigned mem_mib, const char *machine_opts,
			   const char *bootargs)
{
	char path[PATH_MAX_LEN], cmd[CMD_MAX];
	const char *cpu = strcmp(arch, "aarch64") == 0 ? "-cpu cortex-a72" : "";

	/* -append needs a -kernel; dumpdtb exits before anything runs, so
	 * any file will do. */
	scratch_path(path, "dummy-kernel");
	FILE *f = fopen(path, "wb");
	CHECK(f);
	fputs("weft", f);
	fclose(f);
	char kernel[PATH_MAX_LEN];
	memcpy(kernel, path, sizeof(kernel));

	scratch_path(path, arch);
	int n = snprintf(cmd, sizeof(cmd),
			 "qemu-system-%s -machine virt%s,dumpdtb=%s %s -nic none -smp %d -m %uM "
			 "-nographic -kernel %s -append '%s' >/dev/null 2>&1",
			 arch, machine_opts, path, cpu, cpus, mem_mib, kernel, bootargs);
	CHECK(n > 0 && (size_t)n < sizeof(cmd));
	run(cmd);
	unlink(kernel);
	struct blob full = read_and_remove(path);

	/* The blocks end where the later of struct and strings ends. */
	uint32_t end =
		blob_get32(&full, FDT_OFF_DT_STRUCT) + blob_get32(&full, FDT_OFF_SIZE_DT_STRUCT);
	uint32_t strings_end =
		blob_get32(&full, FDT_OFF_DT_STRINGS) + blob_get32(&full, FDT_OFF_SIZE_DT_STRINGS);
	if (strings_end > end)
		end = strings_end;
	CHECK(end <= full.size);
	struct blob b = blob_copy(full.data, end);
	blob_put32(&b, FDT_OFF_TOTALSIZE, end);
	blob_free(&full);
	return b;
}

struct blob blob_from_dts(const char *dts_path)
{
	char path[PATH_MAX_LEN], cmd[CMD_MAX];

	scratch_path(path, "dtc");
	int n = snprintf(cmd, sizeof(cmd), "dtc -q -I dts -O dtb -o %s %s", path, dts_path);
	CHECK(n > 0 && (size_t)n < sizeof(cmd));
	run(cmd);
	return read_and_remove(path);
}
