/*
 * AArch64 exception dispatch: IRQs go to the portable handlers; any
 * synchronous exception in the kernel is a bug and panics with the full
 * report. Called from vectors.S with interrupts masked.
 */
#include "aarch64.h"
#include "arch.h"
#include "cpu.h"
#include "fastpath.h"
#include "klib.h"
#include "panic.h"
#include "printk.h"
#include "proc.h"
#include "syscall.h"

/* Vector slots (see vectors.S). */
enum {
	SLOT_EL1_SYNC = 4,
	SLOT_EL1_IRQ = 5,
	SLOT_EL0_SYNC = 8,
	SLOT_EL0_IRQ = 9,
};

#define ESR_EC(esr) ((esr) >> 26 & 0x3f)
#define ESR_FSC(esr) ((esr)&0x3f)
#define ESR_WNR (1 << 6)

#define EC_UNKNOWN 0x00
#define EC_WFX 0x01
#define EC_FP_ACCESS 0x07
#define EC_ILLEGAL_STATE 0x0e
#define EC_SVC64 0x15
#define EC_SYSREG 0x18
#define EC_INSTRUCTION_ABORT_EL0 0x20
#define EC_INSTRUCTION_ABORT 0x21
#define EC_PC_ALIGNMENT 0x22
#define EC_DATA_ABORT_EL0 0x24
#define EC_DATA_ABORT 0x25
#define EC_SP_ALIGNMENT 0x26
#define EC_BRK 0x3c
#define FSC_ALIGNMENT 0x21

void trap_from_user(struct trap_frame *tf, int slot);
void trap_from_kernel(struct trap_frame *tf, int slot);

static const char *const slot_names[16] = {
	"sync from EL1 (SP_EL0)",
	"IRQ from EL1 (SP_EL0)",
	"FIQ from EL1 (SP_EL0)",
	"SError from EL1 (SP_EL0)",
	"sync from EL1",
	"IRQ from EL1",
	"FIQ from EL1",
	"SError from EL1",
	"sync from EL0",
	"IRQ from EL0",
	"FIQ from EL0",
	"SError from EL0",
	"sync from EL0 (AArch32)",
	"IRQ from EL0 (AArch32)",
	"FIQ from EL0 (AArch32)",
	"SError from EL0 (AArch32)",
};

static const char *fault_kind(uint64_t esr)
{
	switch (ESR_FSC(esr) >> 2) {
	case 1:
		return "translation fault";
	case 2:
		return "access flag fault";
	case 3:
		return "permission fault";
	default:
		return ESR_FSC(esr) == 0x21 ? "alignment fault" : "fault";
	}
}

/* A readable name for a synchronous exception, from its syndrome. */
static const char *exception_name(uint64_t esr, char *buf, size_t size)
{
	switch (ESR_EC(esr)) {
	case EC_DATA_ABORT:
		snprintf(buf, size, "data abort (%s, level %d, %s)", fault_kind(esr),
			 (int)(esr & 3), esr & ESR_WNR ? "write" : "read");
		return buf;
	case EC_INSTRUCTION_ABORT:
		snprintf(buf, size, "instruction abort (%s, level %d)", fault_kind(esr),
			 (int)(esr & 3));
		return buf;
	case EC_UNKNOWN:
		return "undefined instruction";
	case EC_ILLEGAL_STATE:
		return "illegal execution state";
	case EC_PC_ALIGNMENT:
		return "pc alignment fault";
	case EC_SP_ALIGNMENT:
		return "sp alignment fault";
	case EC_BRK:
		return "breakpoint (brk)";
	default:
		snprintf(buf, size, "exception class 0x%x", (unsigned)ESR_EC(esr));
		return buf;
	}
}

static void handle_irq(void)
{
	uint32_t iar;
	uint32_t intid = gic_ack(&iar);

	if (intid >= INTID_SPURIOUS - 3) /* 1020..1023: nothing pending */
		return;
	if (intid == SGI_IPI)
		ipi_handle();
	else if ((int)intid == pl011_intid())
		pl011_interrupt();
	else if (intid >= 16 && intid < 32)
		timer_tick(); /* the only PPI we enable */
	gic_eoi(iar);
}

/* What a user exception means for the process that caused it. */
static enum fault_kind user_fault_kind(uint64_t esr, uintptr_t addr)
{
	switch (ESR_EC(esr)) {
	case EC_DATA_ABORT_EL0:
		if (ESR_FSC(esr) == FSC_ALIGNMENT)
			return FAULT_MISALIGNED;
		/* fall through */
	case EC_INSTRUCTION_ABORT_EL0:
		return addr >= USER_VA_END ? FAULT_KERNEL_ADDR : FAULT_PAGE;
	case EC_PC_ALIGNMENT:
	case EC_SP_ALIGNMENT:
		return FAULT_MISALIGNED;
	case EC_UNKNOWN:
	case EC_WFX:
	case EC_ILLEGAL_STATE:
	case EC_SYSREG:
		return FAULT_ILLEGAL;
	case EC_BRK:
		return FAULT_BREAKPOINT;
	default:
		return FAULT_OTHER;
	}
}

static void user_trap(struct trap_frame *tf, int slot)
{
	if (slot == SLOT_EL0_SYNC && ESR_EC(tf->esr) == EC_SVC64) {
		syscall_dispatch(tf); /* elr already points past the svc */
	} else if (slot == SLOT_EL0_IRQ) {
		handle_irq();
	} else if (slot == SLOT_EL0_SYNC && ESR_EC(tf->esr) == EC_FP_ACCESS) {
		arch_fp_trap(); /* then the instruction runs again */
	} else if (slot == SLOT_EL0_SYNC) {
		bool data = ESR_EC(tf->esr) == EC_DATA_ABORT_EL0;
		uintptr_t addr =
			data || ESR_EC(tf->esr) == EC_INSTRUCTION_ABORT_EL0 ? tf->far : tf->elr;
		proc_user_fault(user_fault_kind(tf->esr, addr), addr, tf->elr);
	} else {
		panic_trap(tf, slot_names[slot & 15], tf->far);
	}
}

void trap_from_user(struct trap_frame *tf, int slot)
{
	trap_user_enter();
	user_trap(tf, slot);
	trap_user_exit();
}

void trap_from_kernel(struct trap_frame *tf, int slot)
{
	char buf[80];

	if (slot == SLOT_EL1_IRQ) {
		handle_irq();
		return;
	}
	if (slot == SLOT_EL1_SYNC)
		panic_trap(tf, exception_name(tf->esr, buf, sizeof(buf)), tf->far);
	panic_trap(tf, slot_names[slot & 15], tf->far);
}

uintptr_t arch_trap_frame_pc(const struct trap_frame *tf)
{
	return tf->elr;
}

uintptr_t arch_trap_frame_fp(const struct trap_frame *tf)
{
	return tf->x[29];
}

void arch_trap_frame_dump(const struct trap_frame *tf)
{
	printk(" elr %p spsr %p esr %p far %p\n", (void *)tf->elr, (void *)tf->spsr,
	       (void *)tf->esr, (void *)tf->far);
	for (int i = 0; i < 31; i += 4) {
		for (int j = i; j < i + 4 && j < 31; j++)
			printk(" %s%d %p", j < 10 ? " x" : "x", j, (void *)tf->x[j]);
		if (i + 4 > 31)
			printk("  sp %p", (void *)tf->sp);
		printk("\n");
	}
}
