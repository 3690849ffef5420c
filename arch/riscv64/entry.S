/*
 * RISC-V entry: the first instructions Weft runs on each hart.
 *
 * OpenSBI enters in S-mode with the MMU off, a0 = hart id, a1 = FDT (boot
 * hart) or the opaque value given to SBI HSM hart_start (other harts).
 * We are linked in the high half but run at the physical load address, so
 * until the MMU is on only pc-relative addressing (la, call) is used.
 *
 * boot_page_table maps, with 1 GiB pages:
 *   the GiB holding the kernel at its own physical address (identity), so
 *   the instruction after the satp write is still mapped, and
 *   physical 0..DIRECT_MAP_GIB GiB at KERNEL_VA_OFFSET: the devices, the
 *   kernel, the first RAM the page allocator hands out, and the FDT,
 *   wherever in RAM the firmware left it (QEMU 10 puts it at the top).
 * kernel/vm.c replaces it with the real kernel page table.
 */
#include "arch_types.h"
#include "cpu_asm.h"

#define PTE_FLAGS_RWX 0xef      /* V R W X G A D (not U) */
#define SATP_SV39 (8 << 60)
#define BOOT_STACK_SIZE 4096

	.section .text.boot, "ax"
	.globl _start
_start:
	/* Only the first hart here boots the kernel. Others should come to
	 * secondary_entry when the kernel starts them, but OpenSBI up to 1.1
	 * (QEMU 7.2's own firmware) marks a hart started before it writes the
	 * hart's start address: a hart that looks in that instant leaves with
	 * the address and a1 it had at boot, and lands here with the FDT in
	 * a1 instead of its struct cpu. It must not zero .bss under the
	 * running kernel: it waits for the struct cpu that arch_cpu_start
	 * published for it (hart_cpu[hart id], cpu.c), then enters as a
	 * secondary. */
	la	t0, boot_claimed
	li	t1, 1
	amoswap.w.aq t1, t1, (t0)
	bnez	t1, late_hart
	la	sp, boot_stack_top

	/* Zero .bss; the loader may or may not have. */
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:
	/* Fill boot_page_table: identity entry for the kernel's GiB ... */
	la	t0, boot_page_table
	la	t1, _start
	srli	t1, t1, 30              /* GiB number of the kernel */
	slli	t2, t1, 3
	add	t2, t2, t0              /* &table[gib] */
	slli	t3, t1, 28              /* (gib << 30) >> 12 << 10: the PPN field */
	ori	t3, t3, PTE_FLAGS_RWX
	sd	t3, 0(t2)
	/* ... and physical GiB i at KERNEL_VA_OFFSET + i GiB (entries 256+). */
	li	t1, 0
3:	slli	t2, t1, 3
	add	t2, t2, t0
	slli	t3, t1, 28
	ori	t3, t3, PTE_FLAGS_RWX
	li	t4, 256 * 8
	add	t2, t2, t4
	sd	t3, 0(t2)
	addi	t1, t1, 1
	li	t4, DIRECT_MAP_GIB
	bltu	t1, t4, 3b

	call	enable_mmu_and_go_high
	/* Now at the high address; sp too. a0/a1 still hold hart id and FDT. */
	call	kernel_main
	j	.

late_hart:
	li	t0, HART_CPU_SLOTS
	bgeu	a0, t0, 2f              /* no slot: it cannot be rescued */
	la	t0, hart_cpu
	slli	t1, a0, 3
	add	t0, t0, t1
1:	ld	a1, 0(t0)               /* its struct cpu, once published */
	beqz	a1, 1b
	j	secondary_entry
2:	wfi
	j	2b

/* Secondary harts: a0 = hart id, a1 = struct cpu * (its stack_top holds
 * the stack). The stack lives outside the boot page table, so switch to
 * the kernel's page table (set up by the boot hart) before using it. */
	.globl secondary_entry
secondary_entry:
	call	enable_mmu_and_go_high
	ld	t0, kernel_satp
	csrw	satp, t0
	sfence.vma
	ld	sp, CPU_STACK_TOP(a1)
	mv	a0, a1
	call	cpu_secondary_main
	j	.

/* Turn on the boot page table, then return to the caller's high-half
 * address with sp moved to the high half too. Clobbers t0-t2. */
enable_mmu_and_go_high:
	la	t0, boot_page_table
	srli	t0, t0, 12
	li	t1, SATP_SV39
	or	t0, t0, t1
	sfence.vma
	csrw	satp, t0
	sfence.vma
	li	t2, KERNEL_VA_OFFSET
	add	ra, ra, t2              /* return into the high half */
	add	sp, sp, t2
	la	t0, trap_entry          /* still pc-relative: physical ... */
	add	t0, t0, t2              /* ... so move it up too */
	csrw	stvec, t0
	csrw	sscratch, zero
	mv	tp, zero
	ret

/* arch_run_on_stack(stack_top, fn): continue in fn on a new stack. */
	.text
	.globl arch_run_on_stack
arch_run_on_stack:
	mv	sp, a0
	mv	s0, zero                /* end of the frame-pointer chain */
	jr	a1

	.section .data
boot_claimed:
	.word 0
	.balign 4096
boot_page_table:
	.zero 4096

	.section .bss
	.balign 16
boot_stack:
	.zero BOOT_STACK_SIZE
boot_stack_top:
