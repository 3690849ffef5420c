/*
 * Virtual memory: the kernel's page table.
 *
 * The kernel half maps all RAM at phys_to_virt() ("direct map") with the
 * kernel image inside it split by section: text read+execute, rodata
 * read-only, data and bss read+write, never writable and executable at
 * once. Kernel stacks live in their own area, each below an unmapped guard
 * page, so an overflow faults instead of corrupting a neighbour.
 * Runs under the big kernel lock.
 */
#ifndef WEFT_VM_H
#define WEFT_VM_H

#include "arch.h"
#include "pmm.h"
#include "types.h"

#define KSTACK_SIZE (16 * KIB)

/* Map a device's registers; returns their kernel virtual address. Before
 * vm_init() the range is remembered and mapped by vm_init(). */
void *vm_map_device(paddr_t pa, size_t size);

/* Build the kernel page table over the RAM ranges and switch to it. */
void vm_init(const struct mem_range *ram, int nram);

/* Map `size` bytes at va to pa with prot, using the largest pages that fit.
 * 0 or -ENOMEM. */
int vm_map(pte_t *root, uintptr_t va, paddr_t pa, size_t size, int prot);

/* A new kernel stack of KSTACK_SIZE with an unmapped guard page below it;
 * returns its top, or NULL when out of memory. */
void *vm_alloc_kstack(void);

/* For the panic backtrace: is this a readable kernel address / kernel text? */
bool vm_kernel_readable(uintptr_t va);
bool vm_kernel_text(uintptr_t va);

/* The kernel image, from the linker script (virtual addresses). */
extern char __kernel_start[], __text_end[], __rodata_end[], __kernel_end[];

#endif
