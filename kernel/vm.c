/*
 * The kernel page table.
 *
 * Both architectures walk three levels of 512 entries (see arch.h), so the
 * walk is written once here; arch_pte_*() encode and decode entries.
 * Runs under the big kernel lock, or on the boot CPU before others start.
 */
#include "vm.h"

#include "klib.h"
#include "printk.h"
#include "uapi/errno.h"

#define MAX_EARLY_DEVICES 8
#define LEVEL_SHIFT(level) (12 + 9 * (PT_LEVELS - 1 - (level)))
#define LEVEL_SIZE(level) (1ull << LEVEL_SHIFT(level))
#define PT_INDEX(va, level) (((va) >> LEVEL_SHIFT(level)) & (PT_ENTRIES - 1))

static pte_t *kernel_root;
static paddr_t kernel_root_pa;
static struct mem_range early_devices[MAX_EARLY_DEVICES];
static int nearly_devices;
static uintptr_t next_kstack = KSTACK_AREA;

/* The entry for va at `level`, creating tables on the way if `alloc`. */
static pte_t *pte_lookup(pte_t *root, uintptr_t va, int level, bool alloc)
{
	pte_t *table = root;

	for (int l = 0; l < level; l++) {
		pte_t *pte = &table[PT_INDEX(va, l)];
		if (!arch_pte_valid(*pte)) {
			if (!alloc)
				return NULL;
			void *next = pmm_alloc();
			if (!next)
				return NULL;
			*pte = arch_pte_table(virt_to_phys(next));
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
		pte_t *pte = pte_lookup(root, va, level, true);
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
		assert(nearly_devices < MAX_EARLY_DEVICES);
		early_devices[nearly_devices++] = (struct mem_range){ start, len };
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

	for (int i = 0; i < nearly_devices; i++)
		map_kernel((uintptr_t)phys_to_virt(early_devices[i].start),
			   (uintptr_t)phys_to_virt(early_devices[i].start) + early_devices[i].size,
			   VM_READ | VM_WRITE | VM_DEVICE);

	/* Create the top-level entry of the stack area now, so that every
	 * address space that copies the kernel half sees all stacks. */
	if (!pte_lookup(kernel_root, KSTACK_AREA, 1, true))
		panic("vm_init: out of memory");
	arch_vm_set_kernel_root(kernel_root_pa);
}

void *vm_alloc_kstack(void)
{
	uintptr_t base = next_kstack + PAGE_SIZE; /* guard page below */

	for (uintptr_t va = base; va < base + KSTACK_SIZE; va += PAGE_SIZE) {
		void *page = pmm_alloc();
		if (!page || vm_map(kernel_root, va, virt_to_phys(page), PAGE_SIZE,
				    VM_READ | VM_WRITE)) {
			if (page)
				pmm_free(page);
			return NULL; /* the slot is burnt; fine for boot stacks */
		}
	}
	next_kstack = base + KSTACK_SIZE;
	arch_tlb_flush_all(); /* no stale "invalid" entry for the new pages */
	return (void *)(base + KSTACK_SIZE);
}

bool vm_kernel_readable(uintptr_t va)
{
	if (va < KERNEL_VA_OFFSET || !kernel_root || va % sizeof(uintptr_t))
		return false;
	for (int level = 0; level < PT_LEVELS; level++) {
		pte_t *pte = pte_lookup(kernel_root, va, level, false);
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
