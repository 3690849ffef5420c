/*
 * Physical page allocator: hands out zeroed 4 KiB pages of RAM.
 *
 * Every page between the lowest and highest RAM address has one bit in a
 * bitmap (1 = free); the bitmap lives in RAM the allocator reserves for
 * itself. Freeing a page that is already free panics. Runs under the big
 * kernel lock (or single-threaded at boot).
 */
#ifndef WEFT_PMM_H
#define WEFT_PMM_H

#include "types.h"

struct mem_range {
	paddr_t start;
	uint64_t size;
};

/* Manage the RAM ranges, minus the reserved ranges (which may overlap RAM
 * or each other, and need not be page aligned). Returns 0 or -ENOMEM when
 * there is no room for the bitmap. */
int pmm_init(const struct mem_range *ram, int nram, const struct mem_range *reserved,
	     int nreserved);

void *pmm_alloc(void); /* a zeroed page (direct-map address) or NULL */
/* A page holding a copy of the page at src, or NULL (fork: a page that is
 * about to be overwritten need not be zeroed first). */
void *pmm_alloc_copy(const void *src);
void pmm_free(void *page);   /* panics on a double free or a foreign page */
size_t pmm_free_pages(void); /* pages free and not promised */

/* Set `pages` free pages aside for later pmm_alloc_promised() calls:
 * 0, or -ENOMEM when fewer are free and unpromised. */
int pmm_promise(size_t pages);
void pmm_unpromise(size_t pages); /* give back promises not taken */
void *pmm_alloc_promised(void);   /* take one promised page: never NULL */
size_t pmm_total_pages(void);     /* pages managed (free at init) */
/* A function pmm_alloc() calls once before it gives up: it may free pages
 * whose release was deferred. */
void pmm_set_reclaim(void (*reclaim)(void));
/* Keep the last `pages` free pages for callers for whom exempt() is true:
 * pmm_alloc(), pmm_alloc_copy() and pmm_promise() fail for the others
 * rather than take them. */
void pmm_set_reserve(size_t pages, bool (*exempt)(void));
size_t pmm_reserve_pages(void);

#endif
