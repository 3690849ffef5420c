/*
 * Sv39 page-table entries and the satp register.
 *
 * An entry holds the physical page number in bits 10..53 and flags below:
 * V (valid), R/W/X (a leaf when any is set; a pointer to the next table
 * when none is), U (user), G (global: in every address space), A and D
 * (set up front so the hardware never needs to update them).
 */
#include "arch.h"

#define PTE_V (1ul << 0)
#define PTE_R (1ul << 1)
#define PTE_W (1ul << 2)
#define PTE_X (1ul << 3)
#define PTE_U (1ul << 4)
#define PTE_G (1ul << 5)
#define PTE_A (1ul << 6)
#define PTE_D (1ul << 7)
#define PTE_PPN_SHIFT 10
#define PTE_FLAGS_MASK 0x3fful
#define SATP_SV39 (8ul << 60)

pte_t arch_pte_table(paddr_t table)
{
	return (table >> 12) << PTE_PPN_SHIFT | PTE_V;
}

pte_t arch_pte_leaf(paddr_t pa, int level, int prot)
{
	pte_t pte = (pa >> 12) << PTE_PPN_SHIFT | PTE_V | PTE_A | PTE_D;

	(void)level; /* Sv39 leaves look the same at every level */
	if (prot & VM_READ)
		pte |= PTE_R;
	if (prot & VM_WRITE)
		pte |= PTE_W;
	if ((prot & VM_EXEC) && !(prot & VM_DEVICE))
		pte |= PTE_X;
	pte |= (prot & VM_USER) ? PTE_U : PTE_G;
	return pte;
}

bool arch_pte_valid(pte_t pte)
{
	return pte & PTE_V;
}

bool arch_pte_is_table(pte_t pte, int level)
{
	(void)level;
	return (pte & (PTE_V | PTE_R | PTE_W | PTE_X)) == PTE_V;
}

paddr_t arch_pte_addr(pte_t pte)
{
	return (pte >> PTE_PPN_SHIFT) << 12;
}

/* Secondary harts load this in entry.S before touching their stacks. */
uint64_t kernel_satp;

void arch_vm_set_kernel_root(paddr_t root)
{
	kernel_satp = SATP_SV39 | root >> 12;
	asm volatile("sfence.vma\n csrw satp, %0\n sfence.vma" ::"r"(kernel_satp)
		     : "memory");
}

void arch_tlb_flush_all(void)
{
	asm volatile("sfence.vma" ::: "memory");
}
