/*
 * Arm Generic Interrupt Controller, version 2 or 3, whichever the FDT
 * describes ("arm,cortex-a15-gic"/"arm,gic-400" or "arm,gic-v3").
 *
 * Both have a distributor (GICD) that routes shared interrupts (SPIs, here
 * the UART's) to CPUs. Per-CPU interrupts (SGIs for IPIs, PPIs for the
 * timer) are configured in the distributor on v2 and in each CPU's
 * redistributor (GICR) on v3. The CPU interface is memory-mapped (GICC) on
 * v2 and a set of system registers (ICC_*) on v3. Runs with the big kernel
 * lock held, interrupts masked.
 */
#include "aarch64.h"
#include "arch.h"
#include "cpu.h"
#include "fdt.h"
#include "panic.h"
#include "vm.h"

#define GICD_CTLR 0x000
#define GICD_IGROUPR 0x080
#define GICD_ISENABLER 0x100
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_SGIR 0xf00
#define GICD_CPENDSGIR 0xf10 /* v2: a byte per SGI, a bit per sender */
#define GICD_IROUTER 0x6000
#define GICD_CTLR_ENABLE 1                       /* v2 */
#define GICD_CTLR_ARE_GRP1 ((1 << 4) | (1 << 1)) /* v3: affinity routing, group 1 */
#define GICD_CTLR_RWP (1u << 31)

#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GICC_IAR 0x00c
#define GICC_EOIR 0x010

#define GICR_TYPER 0x008
#define GICR_WAKER 0x014
#define GICR_STRIDE 0x20000 /* RD frame + SGI frame, 64 KiB each */
#define GICR_SGI 0x10000    /* offset of the SGI frame */
#define GICR_ICPENDR0 0x280 /* in the SGI frame: clear pending, a bit per SGI/PPI */
#define GICR_TYPER_LAST (1 << 4)
#define GICR_WAKER_SLEEP (1 << 1)
#define GICR_WAKER_ASLEEP (1 << 2)

#define PRIORITY_DEFAULT 0xa0
#define PRIORITY_MASK_NONE 0xff

static int version;
static volatile uint8_t *gicd, *gicc, *gicr;
static uint64_t gicr_size;

static volatile uint32_t *reg32(volatile uint8_t *base, uint64_t off)
{
	return (volatile uint32_t *)(base + off);
}

void gic_init(const struct fdt *fdt)
{
	paddr_t dpa, cpa;
	uint64_t dsize, csize;
	int node = fdt_find_compatible(fdt, -1, "arm,gic-v3");

	version = 3;
	if (node < 0) {
		version = 2;
		node = fdt_find_compatible(fdt, -1, "arm,cortex-a15-gic");
		if (node < 0)
			node = fdt_find_compatible(fdt, -1, "arm,gic-400");
	}
	if (node < 0 || !fdt_read_reg(fdt, node, 0, &dpa, &dsize) ||
	    !fdt_read_reg(fdt, node, 1, &cpa, &csize))
		panic("no GICv2 or GICv3 interrupt controller in the devicetree");
	gicd = vm_map_device(dpa, dsize);
	if (version == 2) {
		gicc = vm_map_device(cpa, csize);
		*reg32(gicd, GICD_CTLR) = GICD_CTLR_ENABLE;
	} else {
		gicr = vm_map_device(cpa, csize);
		gicr_size = csize;
		*reg32(gicd, GICD_CTLR) = GICD_CTLR_ARE_GRP1;
		while (*reg32(gicd, GICD_CTLR) & GICD_CTLR_RWP)
			;
	}
}

/* GICv3: find the redistributor whose affinity matches this CPU's MPIDR. */
static volatile uint8_t *find_redistributor(unsigned long hwid)
{
	uint32_t aff = (uint32_t)((hwid >> 32 & 0xff) << 24 | (hwid & 0xffffff));

	for (uint64_t off = 0; off + GICR_STRIDE <= gicr_size; off += GICR_STRIDE) {
		uint64_t typer = *(volatile uint64_t *)(gicr + off + GICR_TYPER);
		if ((uint32_t)(typer >> 32) == aff)
			return gicr + off;
		if (typer & GICR_TYPER_LAST)
			break;
	}
	return NULL;
}

/* Enable one interrupt in the distributor (SPI) or `bank` (SGI/PPI). */
static void enable_intid(volatile uint8_t *bank, int intid)
{
	*(bank + GICD_IPRIORITYR + intid) = PRIORITY_DEFAULT;
	if (version == 3)
		*reg32(bank, GICD_IGROUPR + 4 * (intid / 32)) |= 1u << (intid % 32);
	*reg32(bank, GICD_ISENABLER + 4 * (intid / 32)) = 1u << (intid % 32);
}

void gic_init_cpu(struct cpu *cpu, int timer_intid)
{
	int uart = pl011_intid();

	if (version == 2) {
		/* ITARGETSR0 is banked: it reads as this CPU's own target bit
		 * (or as zero on a one-CPU GIC, whose only interface is 0). */
		cpu->arch.gic_target = *(gicd + GICD_ITARGETSR) & 0xff;
		if (!cpu->arch.gic_target)
			cpu->arch.gic_target = 1;
		enable_intid(gicd, SGI_IPI);
		enable_intid(gicd, timer_intid);
		if (cpu->id == 0 && uart > 0) {
			*(gicd + GICD_ITARGETSR + uart) = (uint8_t)cpu->arch.gic_target;
			enable_intid(gicd, uart);
		}
		*reg32(gicc, GICC_PMR) = PRIORITY_MASK_NONE;
		*reg32(gicc, GICC_CTLR) = 1;
		return;
	}
	volatile uint8_t *rd = find_redistributor(cpu->hwid);
	if (!rd)
		panic("no GICv3 redistributor for cpu %d (mpidr %lx)", cpu->id, cpu->hwid);
	cpu->arch.gicr = (uintptr_t)rd;
	*reg32(rd, GICR_WAKER) &= ~GICR_WAKER_SLEEP;
	while (*reg32(rd, GICR_WAKER) & GICR_WAKER_ASLEEP)
		;
	enable_intid(rd + GICR_SGI, SGI_IPI);
	enable_intid(rd + GICR_SGI, timer_intid);
	if (cpu->id == 0 && uart > 0) {
		*(volatile uint64_t *)(gicd + GICD_IROUTER + 8 * uart) = cpu->hwid;
		enable_intid(gicd, uart);
	}
	sysreg_write(ICC_SRE_EL1, sysreg_read(ICC_SRE_EL1) | 1);
	isb();
	sysreg_write(ICC_PMR_EL1, PRIORITY_MASK_NONE);
	sysreg_write(ICC_IGRPEN1_EL1, 1);
	isb();
}

/* Acknowledge the highest-priority pending interrupt: returns its INTID
 * and, in *iar, the value to hand back to gic_eoi() (on v2 an SGI's IAR
 * also names the sending CPU in bits 12:10). */
uint32_t gic_ack(uint32_t *iar)
{
	if (version == 2) {
		*iar = *reg32(gicc, GICC_IAR);
		return *iar & 0x3ff;
	}
	*iar = (uint32_t)sysreg_read(ICC_IAR1_EL1);
	return *iar & 0xffffff;
}

void gic_eoi(uint32_t iar)
{
	if (version == 2)
		*reg32(gicc, GICC_EOIR) = iar;
	else
		sysreg_write(ICC_EOIR1_EL1, iar);
}

void gic_send_sgi(struct cpu *cpu, int sgi)
{
	asm volatile("dsb ishst" ::: "memory"); /* our writes before the IPI */
	if (version == 2) {
		*reg32(gicd, GICD_SGIR) = cpu->arch.gic_target << 16 | (uint32_t)sgi;
		return;
	}
	unsigned long h = cpu->hwid;
	uint64_t v = (h >> 32 & 0xff) << 48 | (h >> 16 & 0xff) << 32 | (h >> 8 & 0xff) << 16 |
		     (h & 0xff) / 16 << 44 | (uint64_t)sgi << 24 | 1u << (h & 0xf);
	sysreg_write(ICC_SGI1R_EL1, v);
	isb();
}

void gic_clear_sgi(struct cpu *cpu, int sgi)
{
	if (version == 2)
		*(gicd + GICD_CPENDSGIR + sgi) = 0xff; /* banked: this CPU's, from every sender */
	else
		*reg32((volatile uint8_t *)cpu->arch.gicr + GICR_SGI, GICR_ICPENDR0) = 1u << sgi;
}

void gic_disable_cpu(void)
{
	if (version == 2)
		*reg32(gicc, GICC_CTLR) = 0;
	else if (version == 3)
		sysreg_write(ICC_IGRPEN1_EL1, 0);
}
