/*
 * AArch64 entry: the first instructions Weft runs on each CPU.
 *
 * QEMU enters the boot CPU at _start with the MMU off, at EL1, or at EL2
 * when the board has virtualization on. x0 is the devicetree's physical
 * address when a loader passes one (Linux's arm64 boot protocol); QEMU
 * passes 0 to an ELF image and leaves the devicetree at the start of RAM.
 * PSCI CPU_ON enters the other CPUs at secondary_entry with x0 = the
 * context value we passed (struct cpu *).
 * We are linked in the high half but run at the physical load address, so
 * until the MMU is on only pc-relative addressing (adr, adrp, bl) is used.
 *
 * Boot translation tables (1 GiB blocks):
 *   TTBR0: the GiB holding the kernel at its own physical address, so the
 *          instruction after the MMU turns on is still mapped;
 *   TTBR1: physical 0..DIRECT_MAP_GIB GiB at KERNEL_VA_OFFSET, so the
 *          devicetree can be read wherever in RAM it is; GiB 0 (devices on
 *          virt) as device memory, the rest as normal memory.
 * kernel/vm.c replaces them with the real kernel tables.
 */
#include "arch_types.h"
#include "cpu_asm.h"

#define BOOT_STACK_SIZE 4096
/* Block descriptors: valid block, AF, inner shareable, never user-exec. */
#define BLOCK_NORMAL 0x0040000000000701 /* AttrIndx 0, EL1 RWX */
#define BLOCK_DEVICE 0x0060000000000405 /* AttrIndx 1, never executable */
#define MAIR_VALUE 0x04ff              /* attr0 normal write-back, attr1 device nGnRE */
/* TCR_EL1: 39-bit VAs in both halves (T0SZ = T1SZ = 25), 4 KiB granules,
 * write-back cacheable inner-shareable walks; IPS is filled in at run time. */
#define TCR_VALUE 0xb5193519
#define SCTLR_RES1 0x30d00800
/* M (MMU), C and I (caches), SA and SA0 (stack alignment checks at EL1 and
 * EL0), DZE and UCT (EL0 may use DC ZVA and read CTR_EL0: picolibc's
 * memset does), nTWE (EL0 may wait with WFE), UCI (EL0 cache maintenance). */
#define SCTLR_MMU_ON (SCTLR_RES1 | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 12) | \
		      (1 << 14) | (1 << 15) | (1 << 18) | (1 << 26))
#define HCR_EL2_RW (1 << 31)           /* EL1 runs AArch64 */
#define CPTR_EL2_NO_TRAPS 0x33ff       /* RES1 bits only: FP/SIMD not trapped */
#define SPSR_EL1H_MASKED 0x3c5         /* EL1 with SP_EL1, DAIF all masked */
#define ICC_SRE_EL2 S3_4_C12_C9_5

/* If entered at EL2, configure EL2 to leave EL1 alone and drop to EL1. */
.macro drop_to_el1
	mrs	x9, CurrentEL
	lsr	x9, x9, #2
	cmp	x9, #2
	b.ne	.Lat_el1\@
	mov	x9, #HCR_EL2_RW
	msr	hcr_el2, x9
	mrs	x9, cnthctl_el2
	orr	x9, x9, #3              /* EL1 may use the physical counter and timer */
	msr	cnthctl_el2, x9
	msr	cntvoff_el2, xzr        /* virtual counter == physical counter */
	mov	x9, #CPTR_EL2_NO_TRAPS
	msr	cptr_el2, x9
	msr	hstr_el2, xzr
	mrs	x9, id_aa64pfr0_el1     /* GICv3 system registers present? */
	ubfx	x9, x9, #24, #4
	cbz	x9, .Lno_gicv3\@
	mrs	x9, ICC_SRE_EL2
	mov	x10, #0x9               /* SRE, and let EL1 set its own SRE */
	orr	x9, x9, x10
	msr	ICC_SRE_EL2, x9
	isb
.Lno_gicv3\@:
	ldr	x9, =SCTLR_RES1         /* EL1 starts with its MMU off */
	msr	sctlr_el1, x9
	mov	x9, #SPSR_EL1H_MASKED
	msr	spsr_el2, x9
	adr	x9, .Lat_el1\@
	msr	elr_el2, x9
	eret
.Lat_el1\@:
.endm

/* reg = the address of sym, pc-relative. adr reaches only 1 MiB, and .data
 * and .bss lie further than that from this code once the initrd in
 * .rodata is large (or the kernel is built with SANITIZE=ubsan); adrp
 * (the 4 KiB page) and add (the offset in it) reach 4 GiB. */
.macro adr_far reg, sym
	adrp	\reg, \sym
	add	\reg, \reg, :lo12:\sym
.endm

	.section .text.boot, "ax"
	.globl _start
_start:
	mov	x19, x0                 /* the devicetree, or 0 */
	drop_to_el1
	adr_far	x9, boot_stack_top
	mov	sp, x9

	/* Zero .bss; the loader may or may not have. */
	adr_far	x9, __bss_start
	adr_far	x10, __bss_end
1:	cmp	x9, x10
	b.hs	2f
	str	xzr, [x9], #8
	b	1b
2:
	/* TTBR0 table: identity block for the kernel's GiB. */
	adr_far	x9, boot_ttbr0_table
	adr	x10, _start
	lsr	x11, x10, #30           /* GiB number */
	lsl	x12, x11, #30
	ldr	x13, =BLOCK_NORMAL
	orr	x12, x12, x13
	str	x12, [x9, x11, lsl #3]
	/* TTBR1 table: GiB i at entry i; GiB 0 is device memory. */
	adr_far	x9, boot_ttbr1_table
	ldr	x12, =BLOCK_DEVICE
	str	x12, [x9]
	mov	x11, #1
3:	lsl	x12, x11, #30
	orr	x12, x12, x13
	str	x12, [x9, x11, lsl #3]
	add	x11, x11, #1
	cmp	x11, #DIRECT_MAP_GIB
	b.lo	3b

	bl	enable_mmu_and_go_high
	mrs	x0, mpidr_el1           /* kernel_main(hwid, fdt) */
	ldr	x9, =0xff00ffffff       /* affinity fields, as in the FDT */
	and	x0, x0, x9
	mov	x1, x19
	bl	kernel_main
	b	.

/* Secondary CPUs: x0 = struct cpu * (its stack_top holds the stack).
 * The stack lives outside the boot tables, so switch to the kernel's
 * tables (set up by the boot CPU) before using it. */
	.globl secondary_entry
secondary_entry:
	mov	x19, x0
	drop_to_el1
	bl	enable_mmu_and_go_high
	adrp	x9, kernel_ttbr1
	ldr	x9, [x9, :lo12:kernel_ttbr1]
	msr	ttbr1_el1, x9
	adrp	x9, kernel_ttbr0
	ldr	x9, [x9, :lo12:kernel_ttbr0]
	msr	ttbr0_el1, x9
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	ldr	x9, [x19, #CPU_STACK_TOP]
	mov	sp, x9
	mov	x0, x19
	bl	cpu_secondary_main
	b	.

/* Turn on the MMU with the boot tables, then return to the caller's
 * high-half address with sp moved up too. Clobbers x9-x11. */
enable_mmu_and_go_high:
	ldr	x9, =MAIR_VALUE
	msr	mair_el1, x9
	ldr	x9, =TCR_VALUE
	mrs	x10, id_aa64mmfr0_el1   /* physical address size */
	and	x11, x10, #7
	orr	x9, x9, x11, lsl #32    /* TCR_EL1.IPS */
	ubfx	x11, x10, #4, #4        /* 16-bit ASIDs implemented? */
	cmp	x11, #2
	b.ne	1f
	orr	x9, x9, #(1 << 36)      /* TCR_EL1.AS: use them */
1:
	msr	tcr_el1, x9
	adr_far	x9, boot_ttbr0_table
	msr	ttbr0_el1, x9
	adr_far	x9, boot_ttbr1_table
	msr	ttbr1_el1, x9
	isb
	tlbi	vmalle1
	dsb	nsh
	ldr	x9, =SCTLR_MMU_ON
	msr	sctlr_el1, x9
	isb
	ldr	x10, =KERNEL_VA_OFFSET
	add	x30, x30, x10           /* return into the high half */
	mov	x9, sp
	add	x9, x9, x10
	mov	sp, x9
	adr	x9, vectors
	add	x9, x9, x10
	msr	vbar_el1, x9
	mov	x29, #0                 /* end of the frame-pointer chain */
	ret

/* arch_run_on_stack(stack_top, fn): continue in fn on a new stack. */
	.text
	.globl arch_run_on_stack
arch_run_on_stack:
	mov	sp, x0
	mov	x29, #0
	br	x1

	.section .data
	.balign 4096
boot_ttbr0_table:
	.zero 4096
boot_ttbr1_table:
	.zero 4096

	.section .bss
	.balign 16
boot_stack:
	.zero BOOT_STACK_SIZE
boot_stack_top:
