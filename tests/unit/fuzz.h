/*
 * What the host fuzz harnesses share: a seeded random sequence, inputs in
 * buffers of exactly their size, and the loop that mutates and tries them.
 *
 * A harness (elf_fuzz_test.c, cpio_fuzz_test.c, fdt_corrupt_test.c)
 * defines fuzz_one_input(): try one input of any bytes and CHECK what the
 * parser promises about it. Its TEST cases try a fixed number of seeded
 * mutations of valid inputs, so every `make unit` tries the same ones.
 * scripts/fuzzhost.py builds the same file with tests/unit/libfuzzer.c in
 * place of check.c: libFuzzer then calls fuzz_one_input() for as long as
 * it is given, on inputs it makes up.
 */
#ifndef WEFT_TEST_FUZZ_H
#define WEFT_TEST_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void fuzz_one_input(const uint8_t *data, size_t size);

/* xorshift64*: the next number of the sequence whose state is *state. */
uint64_t fuzz_rand(uint64_t *state);

/* Write an input to the scratch directory; returns the file's path. Each
 * input is saved before it is tried, so the one that broke a parser is
 * left behind for a debugger or a bug report. */
const char *fuzz_save(const char *file_name, const uint8_t *data, size_t size);

/* An input being mutated, in a malloc'd buffer of exactly its size: a
 * read even one byte past its end is an AddressSanitizer report. */
struct fuzz_input {
	uint8_t *data;
	size_t size;
};

/* Flip one bit, replace one byte, or cut or lengthen (with zeros) the
 * input by up to 64 bytes. */
void fuzz_edit_bytes(struct fuzz_input *in, uint64_t *rng);

/* A valid input the mutations start from, and its name for the notes. */
struct fuzz_seed {
	const char *name;
	struct fuzz_input input;
};

/* How to fuzz a parser: `count` mutations of each seed, each a copy
 * changed by `mutate`, saved as `file_name`, then tried by `try_input`.
 * Seed i's mutations follow the sequence that starts at rng_seed + i. */
struct fuzz_run {
	const char *file_name;
	uint64_t rng_seed;
	int count;
	void (*mutate)(struct fuzz_input *in, uint64_t *rng);
	bool (*try_input)(const uint8_t *data, size_t size);
};

/* Run over every seed, and free them. Returns how many of the mutated
 * inputs try_input accepted. */
int fuzz_mutations(const struct fuzz_run *run, struct fuzz_seed *seeds, int nseeds);

#endif
