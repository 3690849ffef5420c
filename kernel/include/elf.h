/*
 * ELF64 program loader. The file is untrusted: every header field used is
 * checked, and a malformed file gets -ENOEXEC, never a kernel fault.
 * Runs under the big kernel lock.
 */
#ifndef WEFT_ELF_H
#define WEFT_ELF_H

#include "types.h"

struct address_space;

/* The most program headers exec takes: a static program has a handful. */
#define ELF_MAX_PHDRS 16

/* Check an image without loading it: 0 or -ENOEXEC. */
int elf_check(const void *image, size_t size, uintptr_t user_end);
/* Load a checked image's segments into as. Returns 0, -ENOEXEC, or
 * -ENOMEM; sets the entry point and the end of the highest segment. */
int elf_load(struct address_space *as, const void *image, size_t size, uintptr_t *entry,
	     uintptr_t *end);

#endif
