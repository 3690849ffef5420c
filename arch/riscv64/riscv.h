/*
 * RISC-V control and status registers used by this port, and the drivers'
 * entry points (private to arch/riscv64).
 */
#ifndef WEFT_RISCV64_RISCV_H
#define WEFT_RISCV64_RISCV_H

#include "types.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

#define csr_read(csr)                                                \
	({                                                           \
		unsigned long v_;                                    \
		asm volatile("csrr %0, " STRINGIFY(csr) : "=r"(v_)); \
		v_;                                                  \
	})
#define csr_write(csr, v) asm volatile("csrw " STRINGIFY(csr) ", %0" ::"rK"(v) : "memory")
#define csr_set(csr, v) asm volatile("csrs " STRINGIFY(csr) ", %0" ::"rK"(v) : "memory")
#define csr_clear(csr, v) asm volatile("csrc " STRINGIFY(csr) ", %0" ::"rK"(v) : "memory")

#define SSTATUS_SIE (1ul << 1)
#define SSTATUS_SPIE (1ul << 5)
#define SSTATUS_SPP (1ul << 8) /* trapped from S-mode */
#define SSTATUS_FS (3ul << 13) /* floating-point state: */
#define SSTATUS_FS_INITIAL (1ul << 13)
#define SSTATUS_FS_CLEAN (2ul << 13)
#define SSTATUS_FS_DIRTY (3ul << 13)
#define SSTATUS_SUM (1ul << 18) /* S-mode may access user pages: never set */

/* Interrupt numbers (bits of sie/sip, and scause with the top bit set). */
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9
#define SCAUSE_INTERRUPT (1ul << 63)

#define EXC_INSTRUCTION_MISALIGNED 0
#define EXC_INSTRUCTION_ACCESS 1
#define EXC_ILLEGAL_INSTRUCTION 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_INSTRUCTION_PAGE_FAULT 12
#define EXC_LOAD_PAGE_FAULT 13
#define EXC_STORE_PAGE_FAULT 15

#define CSR_STIMECMP 0x14d

struct fdt;
struct cpu;

void uart_init(const struct fdt *fdt);
void uart_interrupt(void);
int uart_irq(void);

void plic_init(const struct fdt *fdt);
void plic_init_cpu(struct cpu *cpu, const struct fdt *fdt);
void plic_interrupt(struct cpu *cpu);

extern const struct fdt *platform_fdt;
extern uint64_t kernel_satp;

struct arch_thread;
void fp_save(struct arch_thread *t);
void fp_restore(const struct arch_thread *t);

#endif
