/*
 * RISC-V harts: start-up, timer, IPIs and power, mostly through SBI.
 *
 * The timer is Sstc's stimecmp when the hart has it (the FDT's riscv,isa
 * lists "sstc" and reading the CSR does not trap), otherwise the SBI TIME
 * call, which costs a trip to M-mode per tick. Runs with the big kernel
 * lock held, except where noted.
 */
#include "cpu.h"
#include "arch.h"
#include "fdt.h"
#include "klib.h"
#include "panic.h"
#include "riscv.h"
#include "sbi.h"

const struct fdt *platform_fdt;
static uint64_t timebase_hz;

void secondary_entry(void);

void arch_platform_init(const struct fdt *fdt)
{
	platform_fdt = fdt;
	uart_init(fdt);
	if (!fdt)
		return;
	int node = fdt_find_path(fdt, "/cpus");
	uint32_t hz;
	if (node < 0 || !fdt_getprop_u32(fdt, node, "timebase-frequency", 0, &hz) || !hz)
		panic("no /cpus/timebase-frequency in the devicetree");
	timebase_hz = hz;
	plic_init(fdt);
}

paddr_t arch_find_fdt(void)
{
	return 0; /* OpenSBI always passes it in a1 */
}

void arch_cpu_set_self(struct cpu *cpu)
{
	asm volatile("mv tp, %0" ::"r"(cpu));
}

/* Does the ISA string list extension `ext` ("rv64imac_zicsr_sstc")? */
static bool isa_has(const char *isa, const char *ext)
{
	size_t n = strlen(ext);

	for (const char *p = strchr(isa, '_'); p; p = strchr(p + 1, '_'))
		if (strncmp(p + 1, ext, n) == 0 && (p[1 + n] == '_' || p[1 + n] == '\0'))
			return true;
	return false;
}

/* Read stimecmp with an illegal-instruction trap armed: the firmware may
 * not have enabled Sstc for S-mode even when the hart implements it. */
static bool probe_stimecmp(struct cpu *cpu)
{
	cpu->arch.probe_failed = false;
	cpu->arch.probing = true;
	(void)csr_read(CSR_STIMECMP);
	cpu->arch.probing = false;
	return !cpu->arch.probe_failed;
}

void arch_cpu_init(struct cpu *cpu)
{
	const char *isa = fdt_getprop_str(platform_fdt, cpu->fdt_node, "riscv,isa");

	/* sstatus.SUM stays 0 on every hart, always: then an S-mode load or
	 * store to a user page is a page fault. Weft reaches user memory only
	 * through the direct map, after checking the user page table
	 * (kernel/vm.c), so it never needs SUM, and a kernel bug that
	 * dereferences a user pointer faults instead of using what the
	 * process put there. The firmware may leave SUM set: clear it. Every
	 * later sstatus is this one, saved by a trap, or a new thread's built
	 * by arch_trap_frame_init_user, which clears SUM too. */
	csr_clear(sstatus, SSTATUS_SUM);
	cpu->arch.sstc = isa && isa_has(isa, "sstc") && probe_stimecmp(cpu);
	plic_init_cpu(cpu, platform_fdt);
	csr_write(sie, (1ul << IRQ_S_SOFT) | (1ul << IRQ_S_TIMER) | (1ul << IRQ_S_EXT));
}

/* The struct cpu of each hart started so far, by hart id, for a hart that
 * old firmware sends to the boot entry instead of secondary_entry (see
 * _start in entry.S). Harts with larger ids cannot be rescued that way. */
struct cpu *hart_cpu[HART_CPU_SLOTS];

int arch_cpu_start(struct cpu *cpu)
{
	if (cpu->hwid < HART_CPU_SLOTS)
		hart_cpu[cpu->hwid] = cpu;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* published before the hart can run */
	struct sbiret r = sbi_call(SBI_EXT_HSM, SBI_HSM_HART_START, (long)cpu->hwid,
				   (long)virt_to_phys((void *)secondary_entry), (long)cpu);
	return (int)r.error;
}

void arch_cpu_stop(void)
{
	csr_clear(sstatus, SSTATUS_SIE);
	csr_write(sie, 0); /* nothing can wake us now */
	for (;;)
		asm volatile("wfi");
}

void arch_irq_enable(void)
{
	csr_set(sstatus, SSTATUS_SIE);
}

void arch_irq_disable(void)
{
	csr_clear(sstatus, SSTATUS_SIE);
}

void arch_wait_for_interrupt(void)
{
	asm volatile("wfi" ::: "memory");
}

void arch_send_ipi(struct cpu *cpu)
{
	sbi_call(SBI_EXT_IPI, 0, 1, (long)cpu->hwid, 0);
}

void arch_ipi_clear(void)
{
	csr_clear(sip, 1ul << IRQ_S_SOFT); /* OpenSBI delivers an IPI as SSIP */
}

uint64_t arch_timer_freq(void)
{
	return timebase_hz;
}

void arch_timer_set(uint64_t deadline)
{
	if (this_cpu()->arch.sstc)
		csr_write(CSR_STIMECMP, deadline);
	else
		sbi_call(SBI_EXT_TIME, 0, (long)deadline, 0, 0);
}

void arch_poweroff(bool failure)
{
	sbi_call(SBI_EXT_SRST, SBI_SRST_SHUTDOWN, 0,
		 failure ? SBI_SRST_REASON_FAILURE : SBI_SRST_REASON_NONE, 0);
	sbi_call(SBI_LEGACY_SHUTDOWN, 0, 0, 0, 0); /* firmware without SRST */
	arch_cpu_stop();
}
