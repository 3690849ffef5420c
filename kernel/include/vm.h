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

/* ---- User address spaces --------------------------------------------- */

/*
 * The low half of every address space belongs to one process: its program
 * segments, heap (up to the break) and thread stacks, each stack below an
 * unmapped guard page. The program, heap and main stack get their pages
 * when mapped; mmap() only reserves, and a page is filled at its first
 * touch (demand-zero, see vm.c). A fork copies every mapped page and keeps
 * reserved ones reserved.
 */
/* ASIDs vm.c hands out: at most this many (fewer if the CPU has fewer). */
#define MAX_ASIDS 4096

struct address_space {
	pte_t *root;
	int asid;
	uint64_t cpus;        /* CPUs that ran it: only their TLBs hold its entries */
	uintptr_t heap_start; /* first byte of the heap */
	uintptr_t brk;        /* current break: the heap is [heap_start, brk) */
	uintptr_t mmap_next;  /* mmap() hands out addresses below this */
	size_t pages;         /* user pages mapped */
	size_t reserved;      /* user pages reserved (mmap), each promised a page */
	size_t tables;        /* page-table pages, the root and this record */
};

/*
 * An address space may hold at most 3/4 of RAM (pages, reserved pages and
 * page tables together): past that, sbrk, mmap, fork and exec fail with
 * -ENOMEM. With the allocator's reserve (pmm.h) this keeps one program
 * from starving the rest. Tables stay until the address space ends, so
 * they count too.
 */
size_t vm_charged_pages(const struct address_space *as); /* what the limit counts */
size_t vm_kernel_table_pages(void);                      /* page-table pages of the kernel half */

/*
 * The user half, from the bottom: the program at 0x400000 (user.ld), the
 * heap up to USER_HEAP_LIMIT, mmap() regions handed out downwards from
 * USER_MMAP_TOP, a guard page, and the main thread's stack below
 * USER_STACK_TOP. mmap() never reuses an address, only the pages: with
 * 190 GiB to hand out, a simple downward cursor is enough.
 */
#define USER_STACK_TOP 0x3fff000000ul
#define USER_STACK_SIZE (64 * KIB)
#define USER_HEAP_LIMIT (64 * GIB)
#define USER_MMAP_TOP (USER_STACK_TOP - USER_STACK_SIZE - PAGE_SIZE)

struct address_space *vm_as_create(void);
void vm_as_destroy(struct address_space *as);
/* A copy of src's user pages, or NULL if memory ran out or the thread
 * must leave (it takes breaks for the lock: the caller keeps src from
 * changing meanwhile, proc_vm_begin). */
struct address_space *vm_as_copy(const struct address_space *src);
/* Make as the user half on this CPU (NULL: no user half). */
void vm_switch(struct address_space *as);

/*
 * Changes of a user address space. Each works in steps, with breaks for
 * the big kernel lock between them (sched_lock_break): the caller keeps
 * other threads of the process from changing the same space meanwhile
 * (proc_vm_begin), and each may fail with -EINTR when the thread must
 * leave.
 */
/* Map zeroed pages at [va, va+len) with prot (VM_USER implied); on failure
 * nothing stays mapped. 0, -ENOMEM, -EINTR, or -EINVAL for a bad range. */
int vm_user_alloc(struct address_space *as, uintptr_t va, size_t len, int prot);
/* Reserve [va, va+len) for zeroed read/write pages, filled at their first
 * touch; each is promised a page now. 0, -ENOMEM, -EINTR, or -EINVAL. */
int vm_user_reserve(struct address_space *as, uintptr_t va, size_t len);
/* Unmap [va, va+len): mapped pages are freed, reserved ones given back.
 * 0, or -EINTR (then a part may be unmapped). */
int vm_user_free(struct address_space *as, uintptr_t va, size_t len);
/* A user access to va faulted. 0: va's page was reserved and is now
 * filled; -EEXIST: it was already mapped (this CPU's TLB is flushed for
 * it: the fault may have been a stale entry); -EFAULT: nothing is there. */
int vm_user_fault(struct address_space *as, uintptr_t va);
/* Kernel address of user byte va if it is mapped for user access (and
 * writable if `write`), else NULL. A reserved page is filled first. */
void *vm_user_ptr(struct address_space *as, uintptr_t va, bool write);

/* Checked copies between the kernel and the current process's memory:
 * 0 or -EFAULT. copyinstr: -EFAULT, or -EINVAL when there is no NUL
 * within max bytes; else the string's length. */
int copyin(void *dst, uintptr_t usrc, size_t len);
int copyout(uintptr_t udst, const void *src, size_t len);
long copyinstr(char *dst, uintptr_t usrc, size_t max);

/* Copy into or out of another address space (exec builds the new stack
 * with it; IPC moves messages between processes). 0 or -EFAULT. */
int vm_copy_to(struct address_space *as, uintptr_t va, const void *src, size_t len);
int vm_copy_from(struct address_space *as, void *dst, uintptr_t va, size_t len);
int vm_copy_between(struct address_space *to, uintptr_t to_va, struct address_space *from,
		    uintptr_t from_va, size_t len);
/* Is all of [va, va+len) user-accessible (and writable if `write`)?
 * Reserved pages are (and stay reserved). */
bool vm_user_access_ok(const struct address_space *as, uintptr_t va, size_t len, bool write);

void vm_free_kstack(void *top);
/* Finish freeing what waits for a TLB shootdown (see vm.c); the page
 * allocator calls it when it runs dry, meminfo before it counts. */
void vm_reclaim(void);

#endif
