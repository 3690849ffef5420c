/*
 * AArch64 system-register access and the drivers' entry points (private to
 * arch/aarch64).
 */
#ifndef WEFT_AARCH64_H
#define WEFT_AARCH64_H

#include "types.h"

#define sysreg_read(reg)                                  \
	({                                                \
		uint64_t v_;                              \
		asm volatile("mrs %0, " #reg : "=r"(v_)); \
		v_;                                       \
	})
/* CPACR_EL1.FPEN: whether FP/SIMD instructions trap (thread.c). */
#define CPACR_FPEN_TRAP_EL0 (1 << 20) /* from EL0 only; the kernel uses none */
#define CPACR_FPEN_NO_TRAP (3 << 20)

/* EL0 used FP/SIMD with the registers not loaded: load them (thread.c). */
void arch_fp_trap(void);

#define sysreg_write(reg, v) asm volatile("msr " #reg ", %0" ::"r"((uint64_t)(v)) : "memory")
#define isb() asm volatile("isb" ::: "memory")

/* GICv3 CPU-interface registers, by encoding (older assemblers lack names). */
#define ICC_SRE_EL1 S3_0_C12_C12_5
#define ICC_PMR_EL1 S3_0_C4_C6_0
#define ICC_IGRPEN1_EL1 S3_0_C12_C12_7
#define ICC_IAR1_EL1 S3_0_C12_C12_0
#define ICC_EOIR1_EL1 S3_0_C12_C12_1
#define ICC_SGI1R_EL1 S3_0_C12_C11_5

#define INTID_SPURIOUS 1023
#define SGI_IPI 0 /* the software-generated interrupt used for IPIs */

struct fdt;
struct cpu;

void pl011_init(const struct fdt *fdt);
void pl011_interrupt(void);
int pl011_intid(void);

void gic_init(const struct fdt *fdt);
void gic_init_cpu(struct cpu *cpu, int timer_intid);
uint32_t gic_ack(uint32_t *iar);
void gic_eoi(uint32_t intid);
void gic_send_sgi(struct cpu *cpu, int sgi);
void gic_clear_sgi(struct cpu *cpu, int sgi); /* pending on this CPU */
void gic_disable_cpu(void);

#endif
