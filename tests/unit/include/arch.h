/*
 * Host stand-in for kernel/include/arch.h, used by the unit tests.
 *
 * The portable sources under test (pmm.c) need only the page size and the
 * direct map; the wait queues (waitq.h) need struct thread to be complete,
 * so the architecture structs it holds stand in here, empty of meaning. On
 * the host "physical" addresses are ordinary pointers into memory the test
 * allocated, so the direct map is the identity. The lock (lock.c,
 * fastpath.h) needs the calling CPU, a clock and interrupts: declared
 * here, a test that uses them defines them. The ELF loader (elf.c, through
 * vm.h) needs the page-table types, the protection bits and the machine it
 * loads for: RISC-V's, on the host. This directory comes first on the
 * include path, so "arch.h" finds this file.
 */
#ifndef WEFT_ARCH_H
#define WEFT_ARCH_H

#include "types.h"

#define PAGE_SIZE 4096
#define KERNEL_VA_OFFSET 0
#define ELF_MACHINE 243 /* EM_RISCV */

typedef uint64_t pte_t;

enum vm_prot {
	VM_READ = 1 << 0,
	VM_WRITE = 1 << 1,
	VM_EXEC = 1 << 2,
	VM_USER = 1 << 3,
};

struct arch_context {
	uint64_t unused;
};
struct arch_thread {
	uint64_t unused;
};
struct arch_cpu {
	uint64_t unused;
};

struct cpu;
extern struct cpu *host_cpu_self;
static inline struct cpu *arch_cpu_self(void)
{
	return host_cpu_self;
}
uintptr_t arch_this_pc(void);
uint64_t arch_timer_now(void);
uint64_t arch_timer_freq(void);
void arch_timer_set(uint64_t deadline);
void arch_wait_for_interrupt(void);
void arch_send_ipi(struct cpu *cpu);
void arch_ipi_clear(void);
__attribute__((noreturn)) void arch_cpu_stop(void);

static inline void *phys_to_virt(paddr_t pa)
{
	return (void *)(uintptr_t)(pa + KERNEL_VA_OFFSET);
}

static inline paddr_t virt_to_phys(const void *va)
{
	return (paddr_t)((uintptr_t)va - KERNEL_VA_OFFSET);
}

#endif
