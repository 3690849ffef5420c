/*
 * The page allocator hands out every free page of RAM exactly once,
 * zeroed, never a reserved page or its own bitmap, and catches frees of
 * pages it does not own.
 *
 * "Physical memory" is a page-aligned arena from the host heap; the test
 * arch.h makes the direct map the identity, so kernel/pmm.c runs as is.
 *
 * Links: kernel/pmm.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "pmm.h"
#include "uapi/errno.h"

#define PAGE 4096u
#define ARENA_SIZE (4u << 20)
#define ARENA_PAGES (ARENA_SIZE / PAGE)
#define JUNK 0xa5

static uint8_t *arena;
static uintptr_t base; /* arena address as a "physical" address */

static void arena_new(void)
{
	arena = aligned_alloc(PAGE, ARENA_SIZE);
	CHECK(arena);
	memset(arena, JUNK, ARENA_SIZE); /* so unzeroed pages show */
	base = (uintptr_t)arena;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Page p of the arena is usable if it lies wholly in a RAM range and
 * touches no reserved byte. */
static bool page_usable(size_t p, const struct mem_range *ram, int nram,
			const struct mem_range *res, int nres)
{
	uint64_t pa = base + (uint64_t)p * PAGE;
	bool in_ram = false;

	for (int i = 0; i < nram; i++)
		in_ram |= pa >= ram[i].start && pa + PAGE <= ram[i].start + ram[i].size;
	for (int i = 0; i < nres; i++)
		if (overlaps(pa, PAGE, res[i].start, res[i].size))
			return false;
	return in_ram;
}

static bool page_is(const uint8_t *page, uint8_t v)
{
	for (size_t i = 0; i < PAGE; i++)
		if (page[i] != v)
			return false;
	return true;
}

static size_t page_index(const void *page)
{
	uintptr_t a = (uintptr_t)page;

	CHECK_MSG(a % PAGE == 0, "page %p not aligned", page);
	CHECK_MSG(a >= base && a < base + ARENA_SIZE, "page %p outside the arena", page);
	return (a - base) / PAGE;
}

/* Two RAM ranges with unaligned ends and a gap between them; reservations
 * that are unaligned, overlap each other, straddle the ends of RAM, fall
 * in the gap or lie outside RAM altogether. */
static int layout(struct mem_range *ram, int *nram, struct mem_range *res)
{
	int n = 0;

	ram[0] = (struct mem_range){ base + 0x100, 0x180000 - 0x100 };
	ram[1] = (struct mem_range){ base + 0x200000, 0x200000 - 0x80 };
	*nram = 2;
	res[n++] = (struct mem_range){ base + 0x3010, 0x10 };      /* inside page 3 */
	res[n++] = (struct mem_range){ base + 0x10000 - 8, 16 };   /* pages 15 and 16 */
	res[n++] = (struct mem_range){ base + 0x100000, 0x20000 }; /* overlapping */
	res[n++] = (struct mem_range){ base + 0x110000, 0x20000 }; /*   each other */
	res[n++] = (struct mem_range){ base + 0x170000, 0x20000 }; /* past RAM 0's end */
	res[n++] = (struct mem_range){ base + 0x1f0000, 0x20000 }; /* into RAM 1 */
	res[n++] = (struct mem_range){ base + 0x3fe000 - 4, 8 };   /* near RAM 1's end */
	res[n++] = (struct mem_range){ base - 0x2000, 0x4000 };    /* below all RAM */
	res[n++] = (struct mem_range){ base + 0x500000, 0x1000 };  /* above all RAM */
	res[n++] = (struct mem_range){ base + 0x190000, 0x1000 };  /* in the gap */
	return n;
}

struct setup {
	struct mem_range ram[2], res[16];
	int nram, nres;
	bool usable[ARENA_PAGES];
	size_t nusable;
	size_t bitmap_pages;
};

static void setup_layout(struct setup *s)
{
	arena_new();
	s->nres = layout(s->ram, &s->nram, s->res);
	s->nusable = 0;
	for (size_t p = 0; p < ARENA_PAGES; p++) {
		s->usable[p] = page_usable(p, s->ram, s->nram, s->res, s->nres);
		s->nusable += s->usable[p];
	}
	/* One bit per page from the lowest to the highest whole RAM page. */
	size_t lo = 1, hi = (0x400000 - PAGE) / PAGE;
	s->bitmap_pages = ((hi - lo + 7) / 8 + PAGE - 1) / PAGE;
	CHECK_EQ(pmm_init(s->ram, s->nram, s->res, s->nres), 0);
}

static void check_page_fresh(void *page)
{
	CHECK_MSG(page_is(page, 0), "page %p is not zeroed", page);
}

TEST(pmm_hands_out_every_free_page_once_zeroed_and_outside_reservations)
{
	static struct setup s;
	static bool given[ARENA_PAGES];
	static void *pages[ARENA_PAGES];
	size_t n = 0;
	void *p;

	setup_layout(&s);
	CHECK_EQ(pmm_total_pages(), s.nusable - s.bitmap_pages);
	CHECK_EQ(pmm_free_pages(), pmm_total_pages());
	memset(given, 0, sizeof(given));
	while ((p = pmm_alloc()) != NULL) {
		size_t i = page_index(p);
		CHECK_MSG(s.usable[i], "page %zu (arena offset 0x%zx) is not usable RAM", i,
			  i * PAGE);
		CHECK_MSG(!given[i], "page %zu handed out twice", i);
		check_page_fresh(p);
		given[i] = true;
		memset(p, 0x5a, PAGE);
		pages[n++] = p;
		CHECK_EQ(pmm_free_pages(), pmm_total_pages() - n);
	}
	CHECK_EQ(n, pmm_total_pages());
	CHECK(pmm_alloc() == NULL);

	/* The usable pages never handed out are the bitmap: one run of
	 * them, all bits clear now that no page is free. */
	size_t first = ARENA_PAGES, kept = 0;
	for (size_t i = 0; i < ARENA_PAGES; i++) {
		if (s.usable[i] && !given[i]) {
			if (first == ARENA_PAGES)
				first = i;
			CHECK_MSG(i == first + kept, "bitmap pages not contiguous");
			kept++;
		}
	}
	CHECK_EQ(kept, s.bitmap_pages);
	CHECK(page_is(arena + first * PAGE, 0));

	/* Free in a scattered order; then every bit of a page is back. */
	for (size_t i = 0; i < n; i += 2)
		pmm_free(pages[i]);
	for (size_t i = 1; i < n; i += 2)
		pmm_free(pages[i]);
	CHECK_EQ(pmm_free_pages(), pmm_total_pages());
	CHECK(!page_is(arena + first * PAGE, 0));

	/* Reused pages come back zeroed too. */
	for (size_t i = 0; i < n; i++) {
		p = pmm_alloc();
		CHECK(p);
		CHECK(given[page_index(p)]);
		check_page_fresh(p);
	}
	CHECK(pmm_alloc() == NULL);
	free(arena);
}

TEST(pmm_double_free_panics)
{
	static struct setup s;

	setup_layout(&s);
	void *a = pmm_alloc(), *b = pmm_alloc();
	CHECK(a && b);
	size_t before = pmm_free_pages();
	pmm_free(a);
	CHECK_PANIC(pmm_free(a), "double free");
	CHECK_EQ(pmm_free_pages(), before + 1);
	/* A page that was never allocated is free already. */
	void *c = pmm_alloc();
	CHECK(c);
	pmm_free(c);
	CHECK_PANIC(pmm_free(c), "double free");
	pmm_free(b);
	CHECK_EQ(pmm_free_pages(), pmm_total_pages());
	free(arena);
}

TEST(pmm_free_of_a_page_outside_ram_panics)
{
	static struct setup s;

	setup_layout(&s);
	void *a = pmm_alloc();
	CHECK(a);
	CHECK_PANIC(pmm_free((uint8_t *)a + 1), "not a page");
	CHECK_PANIC(pmm_free((uint8_t *)a + PAGE / 2), "not a page");
	CHECK_PANIC(pmm_free(arena), "not a page"); /* below the first RAM page */
	CHECK_PANIC(pmm_free(arena - PAGE), "not a page");
	CHECK_PANIC(pmm_free(arena + ARENA_SIZE), "not a page");
	CHECK_PANIC(pmm_free(NULL), "not a page");
	pmm_free(a);
	CHECK_EQ(pmm_free_pages(), pmm_total_pages());
	free(arena);
}

TEST(pmm_alloc_returns_null_when_empty_and_recovers)
{
	static struct setup s;
	static void *pages[ARENA_PAGES];
	size_t n = 0;
	void *p;

	setup_layout(&s);
	while ((p = pmm_alloc()) != NULL)
		pages[n++] = p;
	CHECK(n > 100);
	for (int i = 0; i < 3; i++)
		CHECK(pmm_alloc() == NULL);
	CHECK_EQ(pmm_free_pages(), 0);

	/* A page freed anywhere is found again: the search hint moves back. */
	pmm_free(pages[n / 2]);
	CHECK(pmm_alloc() == pages[n / 2]);
	pmm_free(pages[n - 1]);
	pmm_free(pages[0]);
	CHECK(pmm_alloc() == pages[0]);
	CHECK(pmm_alloc() == pages[n - 1]);
	CHECK(pmm_alloc() == NULL);
	free(arena);
}

/* Promised pages (mmap's reserved pages, filled at their first touch) are
 * out of reach of every other allocation and promise, and their owner
 * always gets them. */
TEST(pmm_promised_pages_are_kept_for_their_owner)
{
	static struct setup s;
	static void *pages[ARENA_PAGES];
	const size_t promised = 10;
	size_t n = 0;
	void *p;

	setup_layout(&s);
	size_t total = pmm_total_pages();
	CHECK_EQ(pmm_promise(total + 1), -ENOMEM);
	CHECK_EQ(pmm_free_pages(), total);
	CHECK_EQ(pmm_promise(promised), 0);
	CHECK_EQ(pmm_free_pages(), total - promised);
	while ((p = pmm_alloc()) != NULL)
		pages[n++] = p;
	CHECK_EQ(n, total - promised);
	CHECK_EQ(pmm_promise(1), -ENOMEM);
	for (size_t i = 0; i < promised; i++) {
		p = pmm_alloc_promised();
		CHECK(p);
		check_page_fresh(p);
		pages[n++] = p;
	}
	CHECK_EQ(pmm_free_pages(), 0);
	CHECK_PANIC(pmm_alloc_promised(), "assertion failed");

	/* A promise given back is free memory again. */
	pmm_free(pages[--n]);
	CHECK_EQ(pmm_promise(1), 0);
	CHECK(pmm_alloc() == NULL);
	pmm_unpromise(1);
	CHECK_PANIC(pmm_unpromise(1), "assertion failed");
	CHECK(pmm_alloc() != NULL);
	free(arena);
}

/* xorshift64*: a small PRNG whose sequence depends only on the seed. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

TEST(pmm_random_allocs_and_frees_keep_the_count)
{
	static struct setup s;
	static void *held[ARENA_PAGES];
	static bool is_held[ARENA_PAGES];
	size_t nheld = 0;
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	setup_layout(&s);
	memset(is_held, 0, sizeof(is_held));
	for (int op = 0; op < 50000; op++) {
		uint64_t r = rng_next(&rng);
		unit_note("operation %d", op);
		if (nheld > 0 && (r % 3 == 0 || nheld == pmm_total_pages())) {
			size_t k = (size_t)(r >> 8) % nheld;
			is_held[page_index(held[k])] = false;
			pmm_free(held[k]);
			held[k] = held[--nheld];
		} else {
			void *p = pmm_alloc();
			CHECK(p);
			size_t i = page_index(p);
			CHECK(s.usable[i] && !is_held[i]);
			check_page_fresh(p);
			memset(p, JUNK, PAGE);
			is_held[i] = true;
			held[nheld++] = p;
		}
		CHECK_EQ(pmm_free_pages(), pmm_total_pages() - nheld);
	}
	while (nheld > 0)
		pmm_free(held[--nheld]);
	CHECK_EQ(pmm_free_pages(), pmm_total_pages());
	free(arena);
}

TEST(pmm_init_fails_without_room_for_the_bitmap)
{
	arena_new();
	struct mem_range one = { base, PAGE };
	struct mem_range all = { base - 1, PAGE + 2 };
	struct mem_range none = { base, 0 };
	struct mem_range sliver = { base + 1, PAGE }; /* no whole page */

	CHECK_EQ(pmm_init(&one, 1, &all, 1), -ENOMEM);
	CHECK_EQ(pmm_init(&none, 1, NULL, 0), -ENOMEM);
	CHECK_EQ(pmm_init(&sliver, 1, NULL, 0), -ENOMEM);
	CHECK_EQ(pmm_init(&one, 0, NULL, 0), -ENOMEM);

	/* One page of RAM: it holds the bitmap, nothing is left to give. */
	CHECK_EQ(pmm_init(&one, 1, NULL, 0), 0);
	CHECK_EQ(pmm_total_pages(), 0);
	CHECK(pmm_alloc() == NULL);
	free(arena);
}

/* Ranges far apart: the bitmap spans the gap (several pages of it), and
 * only the ranges' pages are handed out. The gap is never touched, so it
 * is address space reserved with mmap, not memory. */
TEST(pmm_ranges_far_apart_share_one_bitmap)
{
	const size_t span = 1ul << 30, range = 1ul << 20;
	uint8_t *space = mmap(NULL, span, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(space != MAP_FAILED);
	uintptr_t lo = (uintptr_t)space;
	struct mem_range ram[2] = { { lo + span - range, range }, { lo, range } };
	size_t bitmap_pages = (span / PAGE / 8 + PAGE - 1) / PAGE;
	size_t n = 0;
	void *p;

	CHECK_EQ(pmm_init(ram, 2, NULL, 0), 0);
	CHECK_EQ(pmm_total_pages(), 2 * range / PAGE - bitmap_pages);
	while ((p = pmm_alloc()) != NULL) {
		uintptr_t a = (uintptr_t)p;
		CHECK((a >= lo && a < lo + range) || (a >= lo + span - range && a < lo + span));
		n++;
	}
	CHECK_EQ(n, pmm_total_pages());
	munmap(space, span);
}
