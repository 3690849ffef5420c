/*
 * The helpers of the host fuzz harnesses (fuzz.h).
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "types.h"

/* Inputs grow or shrink by at most this many bytes in one edit. */
#define FUZZ_RESIZE_MAX 64

uint64_t fuzz_rand(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

/* The file is opened once and rewritten in place: ext4 writes a file out
 * to disk when it is closed after being truncated to nothing, and a
 * fopen() per input made the runs many times slower. */
const char *fuzz_save(const char *file_name, const uint8_t *data, size_t size)
{
	static char path[512];
	static int fd = -1;
	char want[sizeof(path)];

	snprintf(want, sizeof(want), "%s/%s", unit_scratch_dir, file_name);
	if (fd < 0 || strcmp(want, path) != 0) {
		if (fd >= 0)
			close(fd);
		memcpy(path, want, sizeof(path));
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK_MSG(fd >= 0, "cannot write %s", path);
	}
	CHECK_MSG(pwrite(fd, data, size, 0) == (ssize_t)size && ftruncate(fd, (off_t)size) == 0,
		  "cannot write %s", path);
	return path;
}

static void resize(struct fuzz_input *in, size_t size)
{
	uint8_t *data = malloc(size ? size : 1);

	CHECK(data);
	if (in->data)
		memcpy(data, in->data, MIN(size, in->size));
	if (size > in->size)
		memset(data + in->size, 0, size - in->size);
	free(in->data);
	in->data = data;
	in->size = size;
}

void fuzz_edit_bytes(struct fuzz_input *in, uint64_t *rng)
{
	uint64_t r = fuzz_rand(rng);
	size_t at = in->size ? (size_t)(r >> 16) % in->size : 0;
	size_t by = 1 + (size_t)(r >> 8) % FUZZ_RESIZE_MAX;

	switch (r % 4) {
	case 0:
		if (in->size)
			in->data[at] ^= (uint8_t)(1u << ((r >> 8) % 8));
		break;
	case 1:
		if (in->size)
			in->data[at] = (uint8_t)(r >> 8);
		break;
	case 2:
		resize(in, in->size - MIN(by, in->size));
		break;
	default:
		resize(in, in->size + by);
		break;
	}
}

int fuzz_mutations(const struct fuzz_run *run, struct fuzz_seed *seeds, int nseeds)
{
	int accepted = 0;

	for (int s = 0; s < nseeds; s++) {
		const struct fuzz_input *seed = &seeds[s].input;
		uint64_t rng = run->rng_seed + s;
		for (int i = 0; i < run->count; i++) {
			struct fuzz_input in = { NULL, 0 };
			resize(&in, seed->size);
			memcpy(in.data, seed->data, seed->size);
			run->mutate(&in, &rng);
			const char *path = fuzz_save(run->file_name, in.data, in.size);
			unit_note("%s mutation %d (seed 0x%llx), input in %s", seeds[s].name, i,
				  (unsigned long long)run->rng_seed + s, path);
			accepted += run->try_input(in.data, in.size);
			free(in.data);
		}
		free(seeds[s].input.data);
	}
	return accepted;
}
