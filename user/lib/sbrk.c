/*
 * The heap hook picolibc's malloc needs. SYS_sbrk returns the old break or
 * a negated error code; malloc expects the C library convention instead,
 * (void *)-1 on failure. The kernel zeroes the pages it adds.
 */
#include "weft.h"

void *sbrk(long increment)
{
	long old = sbrk_raw(increment);

	if (old < 0 && old >= -4095)
		return (void *)-1;
	return (void *)old;
}
