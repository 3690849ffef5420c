/*
 * Exercise every FDT accessor on every node of a blob that fdt_init()
 * accepted, whatever its contents.
 *
 * Used on corrupt and mutated blobs, where the only expectations are
 * safety ones: results point inside the blob, strings end inside it, and
 * every walk moves forward (so none can loop forever). Reading each
 * returned byte lets AddressSanitizer check the bounds.
 */
#ifndef WEFT_TEST_FDT_WALK_H
#define WEFT_TEST_FDT_WALK_H

#include "fdt.h"

/* Returns the number of nodes reached from the root. */
int fdt_walk_all(const struct fdt *fdt);

#endif
