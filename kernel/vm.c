/*
 * The kernel page table.
 *
 * Both architectures walk three levels of 512 entries (see arch.h), so the
 * walk is written once here; arch_pte_*() encode and decode entries.
 * Runs under the big kernel lock, or on the boot CPU before others start.
 */
#include "vm.h"

#include "cpu.h"
#include "klib.h"
#include "panic.h"
#include "proc.h"
#include "sched.h"
#include "tlbcheck.h"
#include "uapi/errno.h"

#define MAX_EARLY_DEVICES 8
#define LEVEL_SHIFT(level) (12 + 9 * (PT_LEVELS - 1 - (level)))
#define LEVEL_SIZE(level) (1ull << LEVEL_SHIFT(level))
#define PT_INDEX(va, level) (((va) >> LEVEL_SHIFT(level)) & (PT_ENTRIES - 1))

static pte_t *kernel_root;
static paddr_t kernel_root_pa;
static struct mem_range early_devices[MAX_EARLY_DEVICES];
static int early_device_count;
static uintptr_t next_kstack = KSTACK_AREA;
#define KSTACK_SLOT (KSTACK_SIZE + PAGE_SIZE) /* stack plus guard page */
/* Freed slots, one bit each, reused before the area grows: no cap, so no
 * slot (and none of the page tables under it) is ever lost. */
#define KSTACK_SLOTS ((1ul << 30) / KSTACK_SLOT) /* in the shared 1 GiB entry */
static uint64_t free_kstacks[(KSTACK_SLOTS + 63) / 64];

static size_t kernel_tables; /* page-table pages of the kernel half */

/* The entry for va at `level`. With `tables`, missing tables on the way are
 * created and counted there; without, their absence returns NULL. */
static pte_t *pte_lookup(pte_t *root, uintptr_t va, int level, size_t *tables)
{
	pte_t *table = root;

	for (int l = 0; l < level; l++) {
		pte_t *pte = &table[PT_INDEX(va, l)];
		if (!arch_pte_valid(*pte)) {
			void *next = tables ? pmm_alloc() : NULL;
			if (!next)
				return NULL;
			*pte = arch_pte_table(virt_to_phys(next));
			(*tables)++;
		} else if (!arch_pte_is_table(*pte, l)) {
			return NULL; /* a block mapping covers va */
		}
		table = phys_to_virt(arch_pte_addr(*pte));
	}
	return &table[PT_INDEX(va, level)];
}

int vm_map(pte_t *root, uintptr_t va, paddr_t pa, size_t size, int prot)
{
	uintptr_t end = va + size;

	while (va < end) {
		/* Largest block that is aligned and fits: 1 GiB, 2 MiB, 4 KiB. */
		int level = 0;
		while (level < PT_LEVELS - 1 &&
		       ((va | pa) % LEVEL_SIZE(level) || end - va < LEVEL_SIZE(level)))
			level++;
		pte_t *pte = pte_lookup(root, va, level, &kernel_tables);
		if (!pte)
			return -ENOMEM;
		assert(!arch_pte_valid(*pte));
		*pte = arch_pte_leaf(pa, level, prot);
		va += LEVEL_SIZE(level);
		pa += LEVEL_SIZE(level);
	}
	return 0;
}

void *vm_map_device(paddr_t pa, size_t size)
{
	paddr_t start = ALIGN_DOWN(pa, (paddr_t)PAGE_SIZE);
	size_t len = ALIGN_UP(pa + size, (paddr_t)PAGE_SIZE) - start;

	if (kernel_root) {
		if (vm_map(kernel_root, (uintptr_t)phys_to_virt(start), start, len,
			   VM_READ | VM_WRITE | VM_DEVICE))
			panic("vm_map_device: out of memory");
		arch_tlb_flush_all();
	} else {
		assert(early_device_count < MAX_EARLY_DEVICES);
		early_devices[early_device_count++] = (struct mem_range){ start, len };
	}
	return phys_to_virt(pa);
}

static void map_kernel(uintptr_t va, uintptr_t end, int prot)
{
	if (va < end && vm_map(kernel_root, va, virt_to_phys((void *)va), end - va, prot))
		panic("vm_init: out of memory for the kernel page table");
}

void vm_init(const struct mem_range *ram, int nram)
{
	uintptr_t kstart = (uintptr_t)__kernel_start, kend = (uintptr_t)__kernel_end;

	kernel_root = pmm_alloc();
	if (!kernel_root)
		panic("vm_init: no memory for the kernel page table");
	kernel_root_pa = virt_to_phys(kernel_root);

	/* The direct map of RAM, leaving a hole where the kernel image is. */
	for (int i = 0; i < nram; i++) {
		uintptr_t s = (uintptr_t)phys_to_virt(ALIGN_UP(ram[i].start, (paddr_t)PAGE_SIZE));
		uintptr_t e = (uintptr_t)phys_to_virt(
			ALIGN_DOWN(ram[i].start + ram[i].size, (paddr_t)PAGE_SIZE));
		map_kernel(s, MIN(e, kstart), VM_READ | VM_WRITE);
		map_kernel(MAX(s, kend), e, VM_READ | VM_WRITE);
	}
	/* The kernel image, section by section (W^X). */
	map_kernel(kstart, (uintptr_t)__text_end, VM_READ | VM_EXEC);
	map_kernel((uintptr_t)__text_end, (uintptr_t)__rodata_end, VM_READ);
	map_kernel((uintptr_t)__rodata_end, kend, VM_READ | VM_WRITE);

	for (int i = 0; i < early_device_count; i++)
		map_kernel((uintptr_t)phys_to_virt(early_devices[i].start),
			   (uintptr_t)phys_to_virt(early_devices[i].start) + early_devices[i].size,
			   VM_READ | VM_WRITE | VM_DEVICE);

	/* Create the top-level entry of the stack area now, so that every
	 * address space that copies the kernel half sees all stacks. */
	if (!pte_lookup(kernel_root, KSTACK_AREA, 1, &kernel_tables))
		panic("vm_init: out of memory");
	arch_vm_set_kernel_root(kernel_root_pa);
	pmm_set_reclaim(vm_reclaim);
}

/* Remove the 4 KiB mapping at va; returns the page it mapped, or NULL. */
static void *unmap_page(pte_t *root, uintptr_t va)
{
	pte_t *pte = pte_lookup(root, va, PT_LEVELS - 1, NULL);

	if (!pte || !arch_pte_valid(*pte))
		return NULL;
	void *page = phys_to_virt(arch_pte_addr(*pte));
	*pte = 0;
	return page;
}

/*
 * Freed kernel stacks wait here for one TLB shootdown. Why not flush at
 * once: other CPUs may still hold TLB entries for a dead thread's stack, so
 * its pages and its slot must not be reused before every CPU has flushed,
 * and asking every CPU to flush (an IPI round trip through the firmware on
 * RISC-V) on every thread exit is slow. So stacks are unmapped at once, and
 * their pages and slots are released in batches by vm_reclaim().
 */
#define KSTACK_FLUSH_BATCH 16
static void *pending_pages; /* linked through each page's first word */
static uintptr_t pending_slots[KSTACK_FLUSH_BATCH];
static int npending;

static void unmap_kstack_pages(uintptr_t base, uintptr_t end)
{
	for (uintptr_t va = base; va < end; va += PAGE_SIZE) {
		void **page = unmap_page(kernel_root, va);
		if (page) {
			*page = pending_pages;
			pending_pages = page;
		}
	}
}

static void release_slot(uintptr_t slot)
{
	size_t i = (slot - KSTACK_AREA) / KSTACK_SLOT;

	free_kstacks[i / 64] |= 1ull << (i % 64);
}

void vm_reclaim(void)
{
	if (!pending_pages && !npending)
		return;
	arch_tlb_flush_kernel(0, 0);
	while (pending_pages) {
		void **page = pending_pages;
		pending_pages = *page;
		pmm_free(page);
	}
	while (npending)
		release_slot(pending_slots[--npending]);
}

static void free_kstack_slot(uintptr_t slot)
{
	unmap_kstack_pages(slot + PAGE_SIZE, slot + PAGE_SIZE + KSTACK_SIZE);
	pending_slots[npending++] = slot;
	if (npending == KSTACK_FLUSH_BATCH)
		vm_reclaim();
}

void *vm_alloc_kstack(void)
{
	uintptr_t slot = next_kstack;

	for (size_t w = 0; w < ARRAY_SIZE(free_kstacks); w++) {
		if (free_kstacks[w]) {
			int b = 0;
			while (!(free_kstacks[w] >> b & 1))
				b++;
			free_kstacks[w] &= ~(1ull << b);
			slot = KSTACK_AREA + (w * 64 + b) * KSTACK_SLOT;
			break;
		}
	}
	uintptr_t base = slot + PAGE_SIZE; /* guard page below */

	/* Stay under the one top-level entry every address space shares. */
	if (slot + KSTACK_SLOT > KSTACK_AREA + LEVEL_SIZE(0))
		return NULL;
	if (slot == next_kstack)
		next_kstack += KSTACK_SLOT;
	for (uintptr_t va = base; va < base + KSTACK_SIZE; va += PAGE_SIZE) {
		void *page = pmm_alloc();
		if (!page ||
		    vm_map(kernel_root, va, virt_to_phys(page), PAGE_SIZE, VM_READ | VM_WRITE)) {
			if (page)
				pmm_free(page);
			free_kstack_slot(slot);
			return NULL;
		}
	}
	arch_tlb_flush_all(); /* no stale "invalid" entry for the new pages */
	return (void *)(base + KSTACK_SIZE);
}

void vm_free_kstack(void *top)
{
	free_kstack_slot((uintptr_t)top - KSTACK_SIZE - PAGE_SIZE);
}

bool vm_kernel_readable(uintptr_t va)
{
	if (va < KERNEL_VA_OFFSET || !kernel_root || va % sizeof(uintptr_t))
		return false;
	for (int level = 0; level < PT_LEVELS; level++) {
		pte_t *pte = pte_lookup(kernel_root, va, level, NULL);
		if (!pte || !arch_pte_valid(*pte))
			return false;
		if (!arch_pte_is_table(*pte, level))
			return true;
	}
	return false;
}

bool vm_kernel_text(uintptr_t va)
{
	return va >= (uintptr_t)__kernel_start && va < (uintptr_t)__text_end;
}

/* ---- User address spaces --------------------------------------------- */

/*
 * ASIDs. A freed ASID may still tag TLB entries on other CPUs, so it is
 * "stale" and not handed out again until one flush of every CPU's TLB,
 * done only when no clean ASID is left: with thousands of ASIDs that is
 * rare, and exit needs no cross-CPU flush.
 */
static uint64_t asid_used[MAX_ASIDS / 64];  /* ASID 0: "none", never handed out */
static uint64_t asid_stale[MAX_ASIDS / 64]; /* freed since the last full flush */

static int asid_find_clean(void)
{
	int n = MIN(arch_asid_count(), MAX_ASIDS);

	for (int a = 1; a < n; a++)
		if (!((asid_used[a / 64] | asid_stale[a / 64]) & 1ull << (a % 64)))
			return a;
	return 0;
}

static int asid_alloc(void)
{
	int a = asid_find_clean();

	if (!a) {
		arch_tlb_flush_user(~0ull, ASID_ALL, 0, 0);
		memset(asid_stale, 0, sizeof(asid_stale));
		a = asid_find_clean();
	}
	if (a)
		asid_used[a / 64] |= 1ull << (a % 64);
	return a; /* 0 when out of ASIDs: share 0 and flush on every switch */
}

static void asid_free(int asid)
{
	if (asid == 0)
		return;
	asid_used[asid / 64] &= ~(1ull << (asid % 64));
	asid_stale[asid / 64] |= 1ull << (asid % 64);
}

size_t vm_kernel_table_pages(void)
{
	return kernel_tables;
}

size_t vm_charged_pages(const struct address_space *as)
{
	return as->pages + as->reserved + as->tables;
}

/* Would `pages` more take the address space past its limit (vm.h)? */
static bool over_limit(const struct address_space *as, size_t pages)
{
	return vm_charged_pages(as) + pages > pmm_total_pages() / 4 * 3;
}

static bool user_range_ok(uintptr_t va, size_t len)
{
	return va % PAGE_SIZE == 0 && len % PAGE_SIZE == 0 && va >= PAGE_SIZE && va < USER_VA_END &&
	       len <= USER_VA_END - va;
}

struct address_space *vm_as_create(void)
{
	struct address_space *as = pmm_alloc();

	if (!as)
		return NULL;
	as->root = pmm_alloc();
	if (!as->root) {
		pmm_free(as);
		return NULL;
	}
	arch_vm_init_user_root(as->root, kernel_root);
	as->tables = 2; /* the root table, and this record */
	as->asid = asid_alloc();
	as->mmap_next = USER_MMAP_TOP;
	return as;
}

/* Call fn on every user page in use (mapped or reserved), in address
 * order. An entry not in use is 0. */
static int for_each_user_page(const struct address_space *as,
			      int (*fn)(uintptr_t va, pte_t *pte, void *arg), void *arg)
{
	for (uintptr_t i0 = 0; i0 < PT_ENTRIES && (i0 << LEVEL_SHIFT(0)) < USER_VA_END; i0++) {
		pte_t e0 = as->root[i0];
		/* Most entries are empty: the cheap test first. */
		if (!e0 || !arch_pte_valid(e0) || !arch_pte_is_table(e0, 0))
			continue;
		pte_t *t1 = phys_to_virt(arch_pte_addr(e0));
		for (uintptr_t i1 = 0; i1 < PT_ENTRIES; i1++) {
			if (!t1[i1] || !arch_pte_valid(t1[i1]) || !arch_pte_is_table(t1[i1], 1))
				continue;
			pte_t *t2 = phys_to_virt(arch_pte_addr(t1[i1]));
			for (uintptr_t i2 = 0; i2 < PT_ENTRIES; i2++) {
				if (!t2[i2])
					continue;
				uintptr_t va = i0 << LEVEL_SHIFT(0) | i1 << LEVEL_SHIFT(1) |
					       i2 << LEVEL_SHIFT(2);
				int err = fn(va, &t2[i2], arg);
				if (err)
					return err;
			}
		}
	}
	return 0;
}

/* Empty a user entry: free its page, or give back the promise of a
 * reserved one. True if it was mapped (a TLB may still hold it). */
/* Unmap and free one page. The page goes back to the allocator before the
 * caller flushes the TLBs, so for a moment a thread of this process, in
 * user mode on another CPU, may still write to it through a stale entry.
 * That is harmless only because of the big kernel lock: nobody can
 * allocate the page before this CPU lets the lock go, the flush is over
 * before then (arch_tlb_flush_user returns when every CPU has flushed),
 * and pmm_alloc zeroes a page as it hands it out, wiping any late write.
 * Without the BKL the flush would have to come before the free. */
static bool drop_user_page(struct address_space *as, pte_t *pte)
{
	bool mapped = arch_pte_valid(*pte);

	if (mapped) {
		pmm_free(phys_to_virt(arch_pte_addr(*pte)));
		as->pages--;
	} else if (*pte == arch_pte_reserved()) {
		pmm_unpromise(1);
		as->reserved--;
	}
	*pte = 0;
	return mapped;
}

/* The address space is dead (no thread runs in it; its TLB entries go
 * with its ASID, asid_free), so the lock may be let go between pages. */
static int free_user_page(uintptr_t va, pte_t *pte, void *arg)
{
	(void)va;
	drop_user_page(arg, pte);
	sched_lock_break(); /* a dying thread goes on freeing: -EINTR ignored */
	return 0;
}

void vm_as_destroy(struct address_space *as)
{
	for_each_user_page(as, free_user_page, as);
	/* Then the tables themselves. */
	for (uintptr_t i0 = 0; i0 < PT_ENTRIES && (i0 << LEVEL_SHIFT(0)) < USER_VA_END; i0++) {
		pte_t e0 = as->root[i0];
		if (!arch_pte_valid(e0) || !arch_pte_is_table(e0, 0))
			continue;
		pte_t *t1 = phys_to_virt(arch_pte_addr(e0));
		for (int i1 = 0; i1 < PT_ENTRIES; i1++)
			if (arch_pte_valid(t1[i1]))
				pmm_free(phys_to_virt(arch_pte_addr(t1[i1])));
		pmm_free(t1);
	}
	asid_free(as->asid);
	pmm_free(as->root);
	pmm_free(as);
}

static int copy_user_page(uintptr_t va, pte_t *pte, void *arg)
{
	struct address_space *dst = arg;

	if (*pte == arch_pte_reserved()) { /* untouched: stays so */
		int err = vm_user_reserve(dst, va, PAGE_SIZE);
		return err ? err : sched_lock_break();
	}
	pte_t *to =
		over_limit(dst, 1) ? NULL : pte_lookup(dst->root, va, PT_LEVELS - 1, &dst->tables);
	void *page = to ? pmm_alloc_copy(phys_to_virt(arch_pte_addr(*pte))) : NULL;
	if (!page)
		return -ENOMEM;
	*to = arch_pte_leaf(virt_to_phys(page), PT_LEVELS - 1, arch_pte_prot(*pte) | VM_USER);
	dst->pages++;
	return sched_lock_break(); /* the source's tables stay while we wait */
}

struct address_space *vm_as_copy(const struct address_space *src)
{
	struct address_space *dst = vm_as_create();

	if (!dst)
		return NULL;
	if (for_each_user_page(src, copy_user_page, dst)) {
		vm_as_destroy(dst);
		return NULL;
	}
	dst->heap_start = src->heap_start;
	dst->brk = src->brk;
	dst->mmap_next = src->mmap_next;
	return dst;
}

void vm_switch(struct address_space *as)
{
	struct cpu *c = this_cpu();

	if (as == c->as)
		return; /* threads of one process: nothing to switch */
	c->as = as;
	if (!as) {
		arch_vm_switch_user(0, 0);
		tlbcheck_switched(0);
		return;
	}
	arch_vm_switch_user(virt_to_phys(as->root), as->asid);
	if (as->asid == 0)
		arch_tlb_flush_all();
	as->cpus |= 1ull << c->id;
	tlbcheck_switched(as->asid); /* last: this CPU may run the process now */
}

/*
 * Demand-zero pages. mmap() only reserves: each page gets an entry that the
 * MMU treats as invalid, so the first touch faults, but that the kernel
 * knows (arch_pte_reserved()), and the page allocator promises a page for
 * it. The fault fills it: the promised page, zeroed, mapped read/write, and
 * the thread retries its access. Why promise: then a touch never finds
 * memory gone, and mmap() fails with -ENOMEM when memory is short, as it
 * would if it allocated at once. What it saves is the time to zero and map
 * pages a program never touches (most of a 64 KiB thread stack).
 */
#define DEMAND_PROT (VM_READ | VM_WRITE | VM_USER)

/* The last-level entry of user address va, or NULL if a table on the way
 * is missing; *span is how much address space that entry or that missing
 * table covers, so that a walk can step over a hole at once. */
static pte_t *user_leaf(const struct address_space *as, uintptr_t va, uintptr_t *span)
{
	pte_t *table = as->root;

	for (int l = 0; l < PT_LEVELS - 1; l++) {
		pte_t e = table[PT_INDEX(va, l)];
		if (!arch_pte_valid(e) || !arch_pte_is_table(e, l)) {
			*span = LEVEL_SIZE(l);
			return NULL;
		}
		table = phys_to_virt(arch_pte_addr(e));
	}
	*span = PAGE_SIZE;
	return &table[PT_INDEX(va, PT_LEVELS - 1)];
}

/*
 * Drop every page of [va, end): free the mapped ones, give back the
 * promised ones; tables stay. With `may_break`, the lock is let go
 * between steps (sched_lock_break), each time after the TLB flush for the
 * pages dropped so far: drop_user_page relies on the flush coming before
 * anyone else can take the lock. 0, or -EINTR if the thread must leave.
 */
static int unmap_range(struct address_space *as, uintptr_t va, uintptr_t end, bool may_break)
{
	while (va < end) {
		uintptr_t start = va, span;
		bool mapped = false;
		do {
			pte_t *pte = user_leaf(as, va, &span);
			if (pte)
				mapped |= drop_user_page(as, pte);
			va = ALIGN_DOWN(va, span) + span;
		} while (va < end && !(may_break && sched_lock_break_due()));
		va = MIN(va, end);
		if (mapped) {
			tlbcheck_stale(as->asid); /* the checker: kernel/tlbcheck.c */
			/* a process that ran on this CPU alone needs no IPI */
			arch_tlb_flush_user(as->cpus, as->asid, start, va - start);
			tlbcheck_flush_done(as->asid);
		}
		int err = va < end ? sched_lock_break() : 0;
		if (err)
			return err;
	}
	return 0;
}

/*
 * Map a page (or reserve one, if `demand`) at each unused entry of
 * [va, va+len), with breaks for the lock between pages; on failure
 * nothing stays. What cannot be had is refused before any work (a
 * reservation promises all its pages at once), so that a failure found
 * late, which must be undone page by page, is rare.
 */
static int user_map(struct address_space *as, uintptr_t va, size_t len, int prot, bool demand)
{
	size_t npages = len / PAGE_SIZE;

	if (!user_range_ok(va, len))
		return -EINVAL;
	if (over_limit(as, npages) || pmm_free_pages() < npages)
		return -ENOMEM;
	if (demand && pmm_promise(npages))
		return -ENOMEM;
	for (uintptr_t off = 0; off < len; off += PAGE_SIZE) {
		int err = off ? sched_lock_break() : 0;
		pte_t *pte = err || over_limit(as, 1)
				     ? NULL
				     : pte_lookup(as->root, va + off, PT_LEVELS - 1, &as->tables);
		void *page = NULL;
		if (!err)
			err = !pte ? -ENOMEM : *pte ? -EEXIST : 0;
		if (!err && !demand && !(page = pmm_alloc()))
			err = -ENOMEM;
		if (err) {
			if (demand)
				pmm_unpromise(npages - off / PAGE_SIZE); /* not yet in place */
			unmap_range(as, va, va + off, true); /* -EINTR: leaving anyway */
			return err;
		}
		if (demand) {
			*pte = arch_pte_reserved();
			as->reserved++;
		} else {
			*pte = arch_pte_leaf(virt_to_phys(page), PT_LEVELS - 1, prot | VM_USER);
			as->pages++;
		}
	}
	return 0;
}

int vm_user_alloc(struct address_space *as, uintptr_t va, size_t len, int prot)
{
	return user_map(as, va, len, prot, false);
}

int vm_user_reserve(struct address_space *as, uintptr_t va, size_t len)
{
	return user_map(as, va, len, DEMAND_PROT, true);
}

/* The entry of user address va, or NULL. */
static pte_t *user_pte(const struct address_space *as, uintptr_t va)
{
	return va < USER_VA_END ? pte_lookup(as->root, va, PT_LEVELS - 1, NULL) : NULL;
}

/* May user code make this access through the entry? A reserved page will
 * be read/write user memory. */
static bool user_access_allowed(pte_t pte, bool write)
{
	int prot = pte == arch_pte_reserved() ? DEMAND_PROT
		   : arch_pte_valid(pte)      ? arch_pte_prot(pte)
					      : 0;

	return (prot & VM_USER) && (prot & VM_READ) && (!write || (prot & VM_WRITE));
}

/* The first touch of the reserved page at va, whose entry is *pte. */
static void fill_reserved(struct address_space *as, pte_t *pte, uintptr_t va)
{
	void *page = pmm_alloc_promised();

	*pte = arch_pte_leaf(virt_to_phys(page), PT_LEVELS - 1, DEMAND_PROT);
	as->reserved--;
	as->pages++;
	arch_tlb_flush_local(as->asid, ALIGN_DOWN(va, PAGE_SIZE));
}

int vm_user_fault(struct address_space *as, uintptr_t va)
{
	pte_t *pte = user_pte(as, va);

	if (!pte || !*pte)
		return -EFAULT;
	if (*pte == arch_pte_reserved()) {
		fill_reserved(as, pte, va);
		return 0;
	}
	arch_tlb_flush_local(as->asid, ALIGN_DOWN(va, PAGE_SIZE));
	return -EEXIST;
}

int vm_user_free(struct address_space *as, uintptr_t va, size_t len)
{
	return unmap_range(as, va, va + len, true);
}

void *vm_user_ptr(struct address_space *as, uintptr_t va, bool write)
{
	pte_t *pte = user_pte(as, va);

	if (!pte || !user_access_allowed(*pte, write))
		return NULL;
	if (*pte == arch_pte_reserved())
		fill_reserved(as, pte, va); /* the kernel's touch counts as the first */
	return (char *)phys_to_virt(arch_pte_addr(*pte)) + va % PAGE_SIZE;
}

/* Copy between kernel and user memory a page at a time, checking each. */
static int copy_user(struct address_space *as, uintptr_t uaddr, void *kbuf, size_t len,
		     bool to_user)
{
	while (len) {
		size_t chunk = MIN(len, PAGE_SIZE - uaddr % PAGE_SIZE);
		char *p = vm_user_ptr(as, uaddr, to_user);
		if (!p)
			return -EFAULT;
		if (to_user)
			memcpy(p, kbuf, chunk);
		else
			memcpy(kbuf, p, chunk);
		uaddr += chunk;
		kbuf = (char *)kbuf + chunk;
		len -= chunk;
	}
	return 0;
}

int copyin(void *dst, uintptr_t usrc, size_t len)
{
	return copy_user(process_current()->as, usrc, dst, len, false);
}

int copyout(uintptr_t udst, const void *src, size_t len)
{
	return copy_user(process_current()->as, udst, (void *)src, len, true);
}

int vm_copy_to(struct address_space *as, uintptr_t va, const void *src, size_t len)
{
	return copy_user(as, va, (void *)src, len, true);
}

int vm_copy_from(struct address_space *as, void *dst, uintptr_t va, size_t len)
{
	return copy_user(as, va, dst, len, false);
}

int vm_copy_between(struct address_space *to, uintptr_t to_va, struct address_space *from,
		    uintptr_t from_va, size_t len)
{
	while (len) {
		size_t chunk = MIN(
			len, MIN(PAGE_SIZE - to_va % PAGE_SIZE, PAGE_SIZE - from_va % PAGE_SIZE));
		char *d = vm_user_ptr(to, to_va, true);
		const char *s = vm_user_ptr(from, from_va, false);
		if (!d || !s)
			return -EFAULT;
		memcpy(d, s, chunk);
		to_va += chunk;
		from_va += chunk;
		len -= chunk;
	}
	return 0;
}

bool vm_user_access_ok(const struct address_space *as, uintptr_t va, size_t len, bool write)
{
	if (len == 0)
		return true;
	if (va >= USER_VA_END || len > USER_VA_END - va)
		return false;
	for (uintptr_t p = ALIGN_DOWN(va, PAGE_SIZE); p < va + len; p += PAGE_SIZE) {
		const pte_t *pte = user_pte(as, p);
		if (!pte || !user_access_allowed(*pte, write))
			return false;
	}
	return true;
}

long copyinstr(char *dst, uintptr_t usrc, size_t max)
{
	struct address_space *as = process_current()->as;

	for (size_t i = 0; i < max; i++) {
		const char *p = vm_user_ptr(as, usrc + i, false);
		if (!p)
			return -EFAULT;
		dst[i] = *p;
		if (!*p)
			return (long)i;
	}
	return -EINVAL;
}
