/*
 * Physical page allocator: a bitmap with one bit per page, 1 = free.
 *
 * Why a bitmap rather than a free list threaded through the pages: setting
 * it up touches only the bitmap, not every page of RAM, so boot stays fast
 * with gigabytes of memory; and a double free is caught by looking at one
 * bit. Allocation scans 64 pages per word from a hint that never passes a
 * free page. Caller holds the big kernel lock.
 *
 * Promises: mmap() reserves pages that get memory only when first touched
 * (kernel/vm.c). Each reserved page is promised a page here, and promised
 * pages count as taken: other allocations and new promises get only what
 * is left, so the touch always finds its page. Invariant: free >= promised.
 *
 * The reserve: the last `reserve` unpromised pages go only to callers the
 * `exempt` function names (init and the shell, kernel/proc.c). A program
 * that takes all the memory it can gets -ENOMEM with the reserve still
 * there, so the shell can still fork the `ps` or `kill` that ends it.
 */
#include "pmm.h"

#include "arch.h"
#include "klib.h"
#include "panic.h"
#include "uapi/errno.h"

#define BITS_PER_WORD 64

static struct {
	paddr_t base;     /* physical address of page 0 */
	size_t npages;    /* pages covered by the bitmap */
	uint64_t *bitmap; /* 1 bit per page, 1 = free */
	size_t hint;      /* no free page lies below word `hint` */
	size_t free;
	size_t promised; /* free pages set aside for pmm_alloc_promised() */
	size_t total;
	size_t reserve; /* pages only exempt callers may take */
	bool (*exempt)(void);
	void (*reclaim)(void);
} pmm;

static bool overlaps(paddr_t a, uint64_t alen, paddr_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool overlaps_any(paddr_t a, uint64_t len, const struct mem_range *r, int n)
{
	for (int i = 0; i < n; i++)
		if (overlaps(a, len, r[i].start, r[i].size))
			return true;
	return false;
}

/* Find page-aligned room for `len` bytes inside RAM, clear of `reserved`:
 * candidates are the start of each RAM range and the end of each
 * reservation. Returns 0 when there is none. */
static paddr_t find_room(uint64_t len, const struct mem_range *ram, int nram,
			 const struct mem_range *reserved, int nreserved)
{
	for (int i = 0; i < nram + nreserved; i++) {
		const struct mem_range *c = i < nram ? &ram[i] : &reserved[i - nram];
		paddr_t at = ALIGN_UP(i < nram ? c->start : c->start + c->size, (paddr_t)PAGE_SIZE);
		for (int j = 0; j < nram; j++) {
			paddr_t end = ALIGN_DOWN(ram[j].start + ram[j].size, (paddr_t)PAGE_SIZE);
			if (at >= ram[j].start && at + len <= end &&
			    !overlaps_any(at, len, reserved, nreserved))
				return at;
		}
	}
	return 0;
}

static void mark(paddr_t start, paddr_t end, bool free)
{
	for (paddr_t pa = start; pa < end; pa += PAGE_SIZE) {
		size_t i = (pa - pmm.base) / PAGE_SIZE;
		uint64_t bit = 1ull << (i % BITS_PER_WORD);
		bool was = pmm.bitmap[i / BITS_PER_WORD] & bit;

		if (free && !was) {
			pmm.bitmap[i / BITS_PER_WORD] |= bit;
			pmm.free++;
		} else if (!free && was) {
			pmm.bitmap[i / BITS_PER_WORD] &= ~bit;
			pmm.free--;
		}
	}
}

int pmm_init(const struct mem_range *ram, int nram, const struct mem_range *reserved, int nreserved)
{
	paddr_t lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < nram; i++) {
		lo = MIN(lo, ALIGN_UP(ram[i].start, (paddr_t)PAGE_SIZE));
		hi = MAX(hi, ALIGN_DOWN(ram[i].start + ram[i].size, (paddr_t)PAGE_SIZE));
	}
	if (hi <= lo)
		return -ENOMEM;
	pmm.base = lo;
	pmm.npages = (hi - lo) / PAGE_SIZE;
	uint64_t bytes =
		ALIGN_UP((pmm.npages + BITS_PER_WORD - 1) / BITS_PER_WORD * 8, (uint64_t)PAGE_SIZE);
	paddr_t at = find_room(bytes, ram, nram, reserved, nreserved);
	if (!at)
		return -ENOMEM;
	pmm.bitmap = phys_to_virt(at);
	memset(pmm.bitmap, 0, bytes);
	pmm.free = 0;
	pmm.promised = 0;
	for (int i = 0; i < nram; i++)
		mark(ALIGN_UP(ram[i].start, (paddr_t)PAGE_SIZE),
		     ALIGN_DOWN(ram[i].start + ram[i].size, (paddr_t)PAGE_SIZE), true);
	for (int i = 0; i < nreserved; i++) {
		paddr_t s = MAX(ALIGN_DOWN(reserved[i].start, (paddr_t)PAGE_SIZE), lo);
		paddr_t e =
			MIN(ALIGN_UP(reserved[i].start + reserved[i].size, (paddr_t)PAGE_SIZE), hi);
		if (s < e)
			mark(s, e, false);
	}
	mark(at, at + bytes, false);
	pmm.total = pmm.free;
	pmm.hint = 0;
	return 0;
}

void pmm_set_reclaim(void (*reclaim)(void))
{
	pmm.reclaim = reclaim;
}

/* Take a free page, zeroed; the caller has checked there is one. */
static void *take_page(const void *copy)
{
	size_t words = (pmm.npages + BITS_PER_WORD - 1) / BITS_PER_WORD;
	size_t w = pmm.hint;

	while (w < words && !pmm.bitmap[w])
		w++;
	assert(w < words); /* pmm.free said there was a page */
	int b = 0;
	while (!(pmm.bitmap[w] >> b & 1))
		b++;
	pmm.bitmap[w] &= ~(1ull << b);
	pmm.hint = w;
	pmm.free--;
	void *page = phys_to_virt(pmm.base + (w * BITS_PER_WORD + b) * PAGE_SIZE);
	if (copy)
		memcpy(page, copy, PAGE_SIZE);
	else
		memset(page, 0, PAGE_SIZE);
	return page;
}

void pmm_set_reserve(size_t pages, bool (*exempt)(void))
{
	pmm.reserve = pages;
	pmm.exempt = exempt;
}

size_t pmm_reserve_pages(void)
{
	return pmm.reserve;
}

/* Free pages nobody has been promised that this caller may take, after a
 * reclaim if there are fewer than `want`. */
static size_t available(size_t want)
{
	size_t floor = pmm.exempt && !pmm.exempt() ? pmm.reserve : 0;

	if (pmm.free - pmm.promised < want + floor && pmm.reclaim)
		pmm.reclaim();
	size_t left = pmm.free - pmm.promised;
	return left > floor ? left - floor : 0;
}

void *pmm_alloc(void)
{
	return available(1) ? take_page(NULL) : NULL;
}

int pmm_promise(size_t pages)
{
	if (available(pages) < pages)
		return -ENOMEM;
	pmm.promised += pages;
	return 0;
}

void pmm_unpromise(size_t pages)
{
	assert(pages <= pmm.promised);
	pmm.promised -= pages;
}

void *pmm_alloc_promised(void)
{
	assert(pmm.promised > 0 && pmm.free >= pmm.promised);
	pmm.promised--;
	return take_page(NULL);
}

void *pmm_alloc_copy(const void *src)
{
	return available(1) ? take_page(src) : NULL;
}

void pmm_free(void *page)
{
	paddr_t pa = virt_to_phys(page);
	size_t i = (pa - pmm.base) / PAGE_SIZE;

	if (pa % PAGE_SIZE || pa < pmm.base || i >= pmm.npages)
		panic("pmm_free: %p is not a page of RAM", page);
	uint64_t bit = 1ull << (i % BITS_PER_WORD);
	if (pmm.bitmap[i / BITS_PER_WORD] & bit)
		panic("pmm_free: double free of page %p", page);
	pmm.bitmap[i / BITS_PER_WORD] |= bit;
	pmm.free++;
	pmm.hint = MIN(pmm.hint, i / BITS_PER_WORD);
}

size_t pmm_free_pages(void)
{
	return pmm.free - pmm.promised;
}

size_t pmm_total_pages(void)
{
	return pmm.total;
}
