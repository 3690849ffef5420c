/*
 * Sv39 page-table entries and the satp register.
 *
 * An entry holds the physical page number in bits 10..53 and flags below:
 * V (valid), R/W/X (a leaf when any is set; a pointer to the next table
 * when none is), U (user), G (global: in every address space), A and D
 * (set up front so the hardware never needs to update them). With V clear
 * the hardware ignores every other bit: Weft marks a page reserved for
 * demand-zero filling with bit 8, the first of the two RSW bits the
 * specification leaves to the supervisor.
 */
#include "arch.h"
#include "cpu.h"
#include "riscv.h"
#include "sbi.h"
#include "tlbcheck.h"

#define PTE_V (1ul << 0)
#define PTE_R (1ul << 1)
#define PTE_W (1ul << 2)
#define PTE_X (1ul << 3)
#define PTE_U (1ul << 4)
#define PTE_G (1ul << 5)
#define PTE_A (1ul << 6)
#define PTE_D (1ul << 7)
#define PTE_RSW_RESERVED (1ul << 8)
#define PTE_PPN_SHIFT 10
#define PTE_FLAGS_MASK 0x3fful
#define SATP_SV39 (8ul << 60)
#define SATP_ASID_SHIFT 44
#define SATP_ASID_MASK (0xfffful << SATP_ASID_SHIFT)

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

int arch_pte_prot(pte_t pte)
{
	return (pte & PTE_R ? VM_READ : 0) | (pte & PTE_W ? VM_WRITE : 0) |
	       (pte & PTE_X ? VM_EXEC : 0) | (pte & PTE_U ? VM_USER : 0);
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

pte_t arch_pte_reserved(void)
{
	return PTE_RSW_RESERVED; /* V = 0 */
}

/* Secondary harts load this in entry.S before touching their stacks. */
uint64_t kernel_satp;

void arch_vm_set_kernel_root(paddr_t root)
{
	kernel_satp = SATP_SV39 | root >> 12;
	asm volatile("sfence.vma\n csrw satp, %0\n sfence.vma" ::"r"(kernel_satp) : "memory");
}

void arch_tlb_flush_all(void)
{
	asm volatile("sfence.vma" ::: "memory");
	tlbcheck_flushed(1ull << this_cpu()->id, ASID_ALL);
}

/* One Sv39 root maps both halves: entries 256..511 are the kernel's. */
void arch_vm_init_user_root(pte_t *user_root, const pte_t *kernel_root)
{
	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		user_root[i] = kernel_root[i];
}

void arch_vm_switch_user(paddr_t root, int asid)
{
	uint64_t satp =
		root ? SATP_SV39 | (uint64_t)asid << SATP_ASID_SHIFT | root >> 12 : kernel_satp;

	csr_write(satp, satp); /* ASID-tagged: no flush needed */
}

/* The ASID field keeps only the bits the hart implements: write all ones
 * and read back. */
int arch_asid_count(void)
{
	static int count;

	if (!count) {
		csr_write(satp, kernel_satp | SATP_ASID_MASK);
		count = (int)((csr_read(satp) & SATP_ASID_MASK) >> SATP_ASID_SHIFT) + 1;
		csr_write(satp, kernel_satp);
		asm volatile("sfence.vma" ::: "memory");
	}
	return count;
}

#define LOCAL_FLUSH_MAX_PAGES 64 /* beyond this, flush the whole ASID */

/* Other harts' TLBs are reached through the SBI remote-fence calls, which
 * interrupt each hart named and wait for it: only the harts in cpu_mask
 * are named, and none when the calling hart is the only one. */
void arch_tlb_flush_user(uint64_t cpu_mask, int asid, uintptr_t va, size_t len)
{
	unsigned long harts = 0;
	long base = 0;

	if (asid == ASID_ALL) {
		arch_tlb_flush_kernel(0, 0);
		return;
	}
	cpu_mask = tlbcheck_skip(cpu_mask);
	if (!cpu_mask)
		return;
	if (cpu_mask == 1ull << this_cpu()->id) {
		if (len && len <= LOCAL_FLUSH_MAX_PAGES * PAGE_SIZE)
			for (uintptr_t p = va; p < va + len; p += PAGE_SIZE)
				arch_tlb_flush_local(asid, p);
		else
			asm volatile("sfence.vma zero, %0" ::"r"((unsigned long)asid) : "memory");
		tlbcheck_flushed(cpu_mask, asid);
		return;
	}
	for (int i = 0; i < ncpus; i++) {
		if (!(cpu_mask >> i & 1))
			continue;
		if (cpus[i].hwid >= 64)
			base = SBI_HART_MASK_ALL; /* not in one mask: name every hart */
		else
			harts |= 1ul << cpus[i].hwid;
	}
	sbi_call5(SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA_ASID, (long)harts, base, len ? (long)va : 0,
		  len ? (long)len : -1, asid);
	tlbcheck_flushed(base ? ~0ull : cpu_mask, asid); /* done on each when the call returns */
}

/* A hart may cache an invalid entry, so one made valid needs this. */
void arch_tlb_flush_local(int asid, uintptr_t va)
{
	asm volatile("sfence.vma %0, %1" ::"r"(va), "r"((unsigned long)asid) : "memory");
}

/* Without an ASID this flushes every address space's entries too. */
void arch_tlb_flush_kernel(uintptr_t va, size_t len)
{
	sbi_call5(SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA, 0, SBI_HART_MASK_ALL, len ? (long)va : 0,
		  len ? (long)len : -1, 0);
	if (!len)
		tlbcheck_flushed(~0ull, ASID_ALL);
}
