/*
 * The initial RAM disk: a cpio archive (the "newc" format) of the user
 * programs, linked into the kernel image. Read-only; no locks needed.
 */
#ifndef WEFT_INITRD_H
#define WEFT_INITRD_H

#include "types.h"

/* Find a file by name: 0 and its contents, or -ENOENT. */
int initrd_find(const char *name, const void **data, size_t *size);
/* Name of file number `index`, or NULL past the end. */
const char *initrd_name(int index);

/* Parse an archive at (blob, size): the same functions over any archive,
 * for the host unit tests. */
int cpio_find(const void *blob, size_t size, const char *name, const void **data, size_t *fsize);
const char *cpio_name(const void *blob, size_t size, int index);

#endif
