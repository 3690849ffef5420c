/*
 * Host stand-in for kernel/include/arch.h, used by the unit tests.
 *
 * The portable sources under test (pmm.c) need only the page size and the
 * direct map; the wait queues (waitq.h) need struct thread to be complete,
 * so the two architecture structs it holds stand in here, empty of meaning. On the host "physical"
 * addresses are ordinary pointers into memory the test allocated, so the direct map is the
 * identity. This directory comes first on the include path, so "arch.h" finds this file.
 */
#ifndef WEFT_ARCH_H
#define WEFT_ARCH_H

#include "types.h"

#define PAGE_SIZE 4096
#define KERNEL_VA_OFFSET 0

struct arch_context {
	uint64_t unused;
};
struct arch_thread {
	uint64_t unused;
};

static inline void *phys_to_virt(paddr_t pa)
{
	return (void *)(uintptr_t)(pa + KERNEL_VA_OFFSET);
}

static inline paddr_t virt_to_phys(const void *va)
{
	return (paddr_t)((uintptr_t)va - KERNEL_VA_OFFSET);
}

#endif
