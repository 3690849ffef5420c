/*
 * AArch64 CPUs: start-up through PSCI, the generic timer, IPIs and power.
 *
 * PSCI calls go to the firmware (or QEMU standing in for it) through the
 * conduit the FDT's /psci node names: "hvc" normally, "smc" when the board
 * runs our kernel under an EL2 it does not own. The timer is the EL1
 * virtual timer, which needs no help from EL2. Runs with the big kernel
 * lock held, except where noted.
 */
#include "cpu.h"
#include "aarch64.h"
#include "arch.h"
#include "fdt.h"
#include "klib.h"
#include "printk.h"
#include "uapi/errno.h"

#define PSCI_CPU_ON 0xc4000003
#define PSCI_SYSTEM_OFF 0x84000008
#define PPI_BASE 16
#define TIMER_VIRT_PPI_DEFAULT 11 /* virtual timer, if the FDT does not say */
#define TIMER_VIRT_INDEX 2        /* order: secure, non-secure, virtual, hyp */
#define CNTV_CTL_ENABLE 1
#define ID_MMFR1_PAN_SHIFT 20  /* ID_AA64MMFR1_EL1.PAN, bits [23:20]: 0 = none */
#define SCTLR_SPAN (1ul << 23) /* 0: taking an exception to EL1 sets PAN */
#define PSTATE_PAN (1ul << 22) /* in the PAN register, as in SPSR_EL1 */
/* QEMU's ELF loader puts the devicetree at the start of RAM. */
#define QEMU_VIRT_FDT_PA 0x40000000

static enum { PSCI_NONE, PSCI_HVC, PSCI_SMC } psci_conduit;
static int timer_intid = PPI_BASE + TIMER_VIRT_PPI_DEFAULT;

void secondary_entry(void);

static long psci_call(unsigned long fn, unsigned long a1, unsigned long a2, unsigned long a3)
{
	register unsigned long x0 asm("x0") = fn;
	register unsigned long x1 asm("x1") = a1;
	register unsigned long x2 asm("x2") = a2;
	register unsigned long x3 asm("x3") = a3;

	if (psci_conduit == PSCI_HVC)
		asm volatile("hvc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3) : "memory");
	else if (psci_conduit == PSCI_SMC)
		asm volatile("smc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3) : "memory");
	else
		return -ENOSYS;
	return (long)x0;
}

paddr_t arch_find_fdt(void)
{
	const uint32_t *magic = phys_to_virt(QEMU_VIRT_FDT_PA);

	/* The FDT is big-endian. */
	return __builtin_bswap32(*magic) == FDT_MAGIC ? QEMU_VIRT_FDT_PA : 0;
}

void arch_platform_init(const struct fdt *fdt)
{
	pl011_init(fdt);
	if (!fdt)
		return;
	int node = fdt_find_path(fdt, "/psci");
	const char *method = node >= 0 ? fdt_getprop_str(fdt, node, "method") : NULL;
	if (method && strcmp(method, "hvc") == 0)
		psci_conduit = PSCI_HVC;
	else if (method && strcmp(method, "smc") == 0)
		psci_conduit = PSCI_SMC;
	else
		printk("weft: no PSCI in the devicetree: one CPU only, no power off\n");

	uint32_t type, num;
	node = fdt_find_compatible(fdt, -1, "arm,armv8-timer");
	if (node >= 0 && fdt_getprop_u32(fdt, node, "interrupts", 3 * TIMER_VIRT_INDEX, &type) &&
	    fdt_getprop_u32(fdt, node, "interrupts", 3 * TIMER_VIRT_INDEX + 1, &num))
		timer_intid = PPI_BASE + (int)num;
	gic_init(fdt);
}

void arch_cpu_set_self(struct cpu *cpu)
{
	sysreg_write(tpidr_el1, cpu);
}

/*
 * PAN (Privileged Access Never, Armv8.1): while PSTATE.PAN is set, an EL1
 * load or store to a page that EL0 may access is a permission fault. Weft
 * reaches user memory only through the direct map, after checking the
 * user page table (kernel/vm.c), so PAN stays set for good: a kernel bug
 * that dereferences a user pointer faults instead of using what the
 * process put there. With SCTLR_EL1.SPAN = 0 every exception taken to EL1
 * sets PAN; an eret to EL1 restores it from the SPSR saved at that entry,
 * where it was set. (An eret to EL0 clears it, harmlessly there.) So no
 * EL1 code runs with PAN clear. Armv8.0 CPUs (cortex-a53, cortex-a72) have
 * no PAN; SPAN is RES1 on them and stays as entry.S set it.
 */
static void pan_enable(void)
{
	if ((sysreg_read(id_aa64mmfr1_el1) >> ID_MMFR1_PAN_SHIFT & 0xf) == 0)
		return;
	sysreg_write(sctlr_el1, sysreg_read(sctlr_el1) & ~SCTLR_SPAN);
	/* msr pan, x: by encoding, which an Armv8.0 assembler accepts */
	asm volatile("msr s3_0_c4_c2_3, %0" ::"r"(PSTATE_PAN) : "memory");
	isb();
}

void arch_cpu_init(struct cpu *cpu)
{
	pan_enable();
	sysreg_write(cpacr_el1, CPACR_FPEN_TRAP_EL0); /* until a thread uses FP/SIMD */
	isb();
	gic_init_cpu(cpu, timer_intid);
}

int arch_cpu_start(struct cpu *cpu)
{
	long err = psci_call(PSCI_CPU_ON, cpu->hwid, virt_to_phys((void *)secondary_entry),
			     (unsigned long)cpu);
	return err ? -EIO : 0;
}

void arch_cpu_stop(void)
{
	asm volatile("msr daifset, #0xf" ::: "memory");
	sysreg_write(cntv_ctl_el0, 0);
	gic_disable_cpu(); /* nothing can wake us now */
	for (;;)
		asm volatile("wfi");
}

void arch_irq_enable(void)
{
	asm volatile("msr daifclr, #2" ::: "memory");
}

void arch_irq_disable(void)
{
	asm volatile("msr daifset, #2" ::: "memory");
}

void arch_wait_for_interrupt(void)
{
	asm volatile("dsb sy\n wfi" ::: "memory");
}

void arch_send_ipi(struct cpu *cpu)
{
	gic_send_sgi(cpu, SGI_IPI);
}

void arch_ipi_clear(void)
{
	gic_clear_sgi(this_cpu(), SGI_IPI);
}

uint64_t arch_timer_freq(void)
{
	return sysreg_read(cntfrq_el0);
}

void arch_timer_set(uint64_t deadline)
{
	sysreg_write(cntv_cval_el0, deadline);
	sysreg_write(cntv_ctl_el0, CNTV_CTL_ENABLE);
	isb();
}

void arch_poweroff(bool failure)
{
	(void)failure; /* PSCI has no way to report it */
	psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	arch_cpu_stop();
}
