/*
 * AArch64 translation-table descriptors (4 KiB granule, 39-bit VA: three
 * levels, called 1, 2 and 3 by Arm and 0, 1, 2 by kernel/vm.c).
 *
 * Bits 1:0 say what an entry is: 0b11 points to the next table (or is a
 * 4 KiB page at the last level), 0b01 is a 1 GiB or 2 MiB block. Then:
 * AttrIndx (memory type, an index into MAIR_EL1), AP (access: EL1 only or
 * EL0 too, read-only or not), SH (shareability), AF (accessed: set up front
 * so the hardware never faults to set it), nG (not global: per ASID, for
 * user pages), PXN/UXN (never executable by EL1 / by EL0). With bit 0
 * clear the descriptor is invalid and the hardware reads none of its other
 * bits: Weft marks a page reserved for demand-zero filling with bit 55, the
 * first of the bits valid descriptors leave to software.
 */
#include "arch.h"
#include "cpu.h"
#include "tlbcheck.h"

#define DESC_VALID (1ul << 0)
#define DESC_TABLE (1ul << 1) /* table, or page at the last level */
#define DESC_ATTR_NORMAL (0ul << 2)
#define DESC_ATTR_DEVICE (1ul << 2)
#define DESC_AP_EL0 (1ul << 6)
#define DESC_AP_RO (1ul << 7)
#define DESC_SH_INNER (3ul << 8)
#define DESC_AF (1ul << 10)
#define DESC_NG (1ul << 11)
#define DESC_PXN (1ul << 53)
#define DESC_UXN (1ul << 54)
#define DESC_SW_RESERVED (1ul << 55)
#define DESC_ADDR_MASK 0x0000fffffffff000ul
#define TTBR_ASID_SHIFT 48
#define TLBI_VA_MASK 0xffffffffffful /* VA[55:12] */
#define TLBI_MAX_PAGES 64            /* beyond this, flush the whole ASID */

pte_t arch_pte_table(paddr_t table)
{
	return table | DESC_TABLE | DESC_VALID;
}

pte_t arch_pte_leaf(paddr_t pa, int level, int prot)
{
	pte_t pte = pa | DESC_VALID | DESC_AF;

	if (level == PT_LEVELS - 1)
		pte |= DESC_TABLE; /* "page" descriptor */
	if (prot & VM_DEVICE)
		pte |= DESC_ATTR_DEVICE | DESC_PXN | DESC_UXN;
	else
		pte |= DESC_ATTR_NORMAL | DESC_SH_INNER;
	if (!(prot & VM_WRITE))
		pte |= DESC_AP_RO;
	if (prot & VM_USER) {
		pte |= DESC_AP_EL0 | DESC_NG | DESC_PXN;
		if (!(prot & VM_EXEC))
			pte |= DESC_UXN;
	} else {
		pte |= DESC_UXN;
		if (!(prot & VM_EXEC))
			pte |= DESC_PXN;
	}
	return pte;
}

bool arch_pte_valid(pte_t pte)
{
	return pte & DESC_VALID;
}

int arch_pte_prot(pte_t pte)
{
	int prot = VM_READ | (pte & DESC_AP_RO ? 0 : VM_WRITE);

	if (pte & DESC_AP_EL0)
		prot |= VM_USER | (pte & DESC_UXN ? 0 : VM_EXEC);
	else if (!(pte & DESC_PXN))
		prot |= VM_EXEC;
	return prot;
}

bool arch_pte_is_table(pte_t pte, int level)
{
	return level < PT_LEVELS - 1 &&
	       (pte & (DESC_VALID | DESC_TABLE)) == (DESC_VALID | DESC_TABLE);
}

paddr_t arch_pte_addr(pte_t pte)
{
	return pte & DESC_ADDR_MASK;
}

pte_t arch_pte_reserved(void)
{
	return DESC_SW_RESERVED; /* bit 0 clear: invalid */
}

/* Secondary CPUs load these in entry.S before touching their stacks.
 * TTBR0 (the user half) points at an empty table until there is a user. */
uint64_t kernel_ttbr1, kernel_ttbr0;
static pte_t empty_table[PT_ENTRIES] __aligned(PAGE_SIZE);

void arch_vm_set_kernel_root(paddr_t root)
{
	kernel_ttbr1 = root;
	kernel_ttbr0 = virt_to_phys(empty_table);
	asm volatile("dsb ishst\n"
		     "msr ttbr1_el1, %0\n"
		     "msr ttbr0_el1, %1\n"
		     "isb\n"
		     "tlbi vmalle1\n"
		     "dsb nsh\n"
		     "isb" ::"r"(kernel_ttbr1),
		     "r"(kernel_ttbr0)
		     : "memory");
}

void arch_tlb_flush_all(void)
{
	asm volatile("dsb ishst\n tlbi vmalle1\n dsb nsh\n isb" ::: "memory");
	tlbcheck_flushed(1ull << this_cpu()->id, ASID_ALL);
}

/* The user half has a root of its own (TTBR0): nothing to share. */
void arch_vm_init_user_root(pte_t *user_root, const pte_t *kernel_root)
{
	(void)user_root, (void)kernel_root;
}

void arch_vm_switch_user(paddr_t root, int asid)
{
	uint64_t ttbr0 = root ? root | (uint64_t)asid << TTBR_ASID_SHIFT : kernel_ttbr0;

	asm volatile("msr ttbr0_el1, %0\n isb" ::"r"(ttbr0) : "memory");
}

int arch_asid_count(void)
{
	uint64_t mmfr0;

	asm("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
	return (mmfr0 >> 4 & 0xf) == 2 ? 65536 : 256; /* entry.S sets TCR.AS to match */
}

/* The calling CPU's own entries of one ASID: the TLBI forms without "is". */
static void flush_asid_local(uint64_t tag, uintptr_t va, size_t len)
{
	asm volatile("dsb ishst" ::: "memory");
	if (len == 0 || len > TLBI_MAX_PAGES * PAGE_SIZE)
		asm volatile("tlbi aside1, %0" ::"r"(tag) : "memory");
	else
		for (uintptr_t p = va; p < va + len; p += PAGE_SIZE)
			asm volatile("tlbi vae1, %0" ::"r"(tag | (p >> 12 & TLBI_VA_MASK))
				     : "memory");
	asm volatile("dsb nsh\n isb" ::: "memory");
}

/* The "is" (inner shareable) TLBI forms reach every CPU in hardware,
 * without interrupting them, but they cannot name CPUs: a mask of more
 * than the calling CPU makes every CPU flush. A mask of the calling CPU
 * alone flushes only it, as on RISC-V. */
void arch_tlb_flush_user(uint64_t cpu_mask, int asid, uintptr_t va, size_t len)
{
	uint64_t tag = (uint64_t)asid << TTBR_ASID_SHIFT;

	if (asid != ASID_ALL) {
		cpu_mask = tlbcheck_skip(cpu_mask);
		if (!cpu_mask)
			return;
		if (cpu_mask == 1ull << this_cpu()->id) {
			flush_asid_local(tag, va, len);
			tlbcheck_flushed(cpu_mask, asid);
			return;
		}
	}
	asm volatile("dsb ishst" ::: "memory");
	if (asid == ASID_ALL) {
		asm volatile("tlbi vmalle1is" ::: "memory");
	} else if (len == 0 || len > TLBI_MAX_PAGES * PAGE_SIZE) {
		asm volatile("tlbi aside1is, %0" ::"r"(tag) : "memory");
	} else {
		for (uintptr_t p = va; p < va + len; p += PAGE_SIZE)
			asm volatile("tlbi vae1is, %0" ::"r"(tag | (p >> 12 & TLBI_VA_MASK))
				     : "memory");
	}
	asm volatile("dsb ish\n isb" ::: "memory");
	tlbcheck_flushed(~0ull, asid); /* every CPU */
}

/* Arm never caches an entry that faults, so this is a precaution; the
 * barrier first makes the new entry visible to this CPU's table walks. */
void arch_tlb_flush_local(int asid, uintptr_t va)
{
	uint64_t arg = (uint64_t)asid << TTBR_ASID_SHIFT | (va >> 12 & TLBI_VA_MASK);

	asm volatile("dsb ishst\n tlbi vae1, %0\n dsb nsh\n isb" ::"r"(arg) : "memory");
}

void arch_tlb_flush_kernel(uintptr_t va, size_t len)
{
	asm volatile("dsb ishst" ::: "memory");
	if (len == 0 || len > TLBI_MAX_PAGES * PAGE_SIZE)
		asm volatile("tlbi vmalle1is" ::: "memory");
	else
		for (uintptr_t p = va; p < va + len; p += PAGE_SIZE)
			asm volatile("tlbi vaae1is, %0" ::"r"(p >> 12 & TLBI_VA_MASK) : "memory");
	asm volatile("dsb ish\n isb" ::: "memory");
	if (len == 0 || len > TLBI_MAX_PAGES * PAGE_SIZE)
		tlbcheck_flushed(~0ull, ASID_ALL);
}
