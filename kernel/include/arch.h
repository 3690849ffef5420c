/*
 * The contract between the portable kernel and one CPU architecture.
 *
 * kernel/ calls only what is declared here; arch/<name>/ implements all of
 * it. Each architecture also provides "arch_types.h" with the types and
 * constants named below (struct trap_frame, KERNEL_VA_OFFSET, ...), so this
 * file is the whole list of what a new port must write. Its last section
 * is the other direction: the kernel functions a port calls.
 *
 * Unless a comment says otherwise these run with the big kernel lock held
 * and interrupts masked, like all kernel code.
 */
#ifndef WEFT_ARCH_H
#define WEFT_ARCH_H

#include "types.h"
#include "uapi/proc.h"

#include "arch_types.h"

struct cpu;
struct trap_frame;

/*
 * Memory layout (constants from arch_types.h):
 *   PAGE_SIZE          4096 on both architectures
 *   KERNEL_VA_OFFSET   virtual = physical + KERNEL_VA_OFFSET for all RAM and
 *                      devices: the kernel's "direct map"
 *   DIRECT_MAP_GIB     how much of the physical address space the direct
 *                      map covers; the boot page tables map all of it
 *   KSTACK_AREA        start of the virtual area holding kernel stacks,
 *                      each below an unmapped guard page
 *   USER_VA_END        first address above user space
 */
static inline void *phys_to_virt(paddr_t pa)
{
	return (void *)(uintptr_t)(pa + KERNEL_VA_OFFSET);
}

static inline paddr_t virt_to_phys(const void *va)
{
	return (paddr_t)((uintptr_t)va - KERNEL_VA_OFFSET);
}

/* ---- Boot and CPUs --------------------------------------------------- */

/* Physical address of the FDT the firmware handed over, when the boot
 * protocol does not pass it in a register (0 if there is none). */
paddr_t arch_find_fdt(void);

/* Discover the platform's devices from the FDT (UART, interrupt
 * controller, timer frequency, CPU start method) and start the console. */
struct fdt;
void arch_platform_init(const struct fdt *fdt);

/* Set up the calling CPU: per-CPU pointer, trap vector, timer, interrupt
 * controller. Called once on every CPU, boot CPU first. Where the CPU can,
 * it also makes any kernel load or store at a user address fault, for
 * good (Arm PAN, RISC-V sstatus.SUM = 0): the kernel reaches user memory
 * only through the direct map (kernel/vm.c). */
void arch_cpu_init(struct cpu *cpu);

/* Ask the firmware to start a stopped CPU at the secondary entry point; it
 * will call cpu_secondary_main(cpu). Returns 0 or a negative error. */
int arch_cpu_start(struct cpu *cpu);

/* The calling CPU's struct cpu, kept in a per-CPU register:
 * arch_cpu_self() is inline in arch_types.h (it is on every path). */
void arch_cpu_set_self(struct cpu *cpu);

/* arch_this_pc(): the address of the instruction that reads it, inline in
 * arch_types.h (where the big kernel lock was taken: bkl.h). */

/* Stop the calling CPU for good: every interrupt source masked, asleep,
 * its registers left for a debugger to read. */
__noreturn void arch_cpu_stop(void);

/* Switch the calling CPU to a new stack and call fn there; never returns. */
__noreturn void arch_run_on_stack(void *stack_top, void (*fn)(void));

/* Power the machine off; failure = true reports an error exit if the
 * platform can. */
__noreturn void arch_poweroff(bool failure);

/* ---- Interrupts ------------------------------------------------------ */

/* The kernel runs with interrupts masked. The idle loop opens a short
 * window with arch_irq_enable() / arch_irq_disable(). */
void arch_irq_enable(void);
void arch_irq_disable(void);

/* Sleep until an interrupt is pending (taken or not); never spins. Safe to
 * call with interrupts masked: the CPU wakes on a pending interrupt. */
void arch_wait_for_interrupt(void);

/* Send an inter-processor interrupt to another CPU; it calls ipi_handle(). */
void arch_send_ipi(struct cpu *cpu);
/* Forget an IPI pending on this CPU, untaken. An IPI only says "wake up
 * and look" (or "stop", which panic_in_progress says too), so a CPU that
 * is awake and about to look can drop it. */
void arch_ipi_clear(void);

/* ---- Time ------------------------------------------------------------ */

/* arch_timer_now(): ticks since boot (monotonic), inline in arch_types.h. */
uint64_t arch_timer_freq(void);         /* ticks per second */
void arch_timer_set(uint64_t deadline); /* interrupt at this tick count */

/* ---- Console --------------------------------------------------------- */

/* Write one byte to the UART, waiting for room. Takes no lock: the caller
 * (printk) serializes. Typed bytes arrive via console_input(). */
void arch_console_putc(char c);

/* ---- Page tables ----------------------------------------------------- */

/*
 * Both architectures use 3-level tables of 512 64-bit entries with 4 KiB
 * pages (Sv39; Arm 4K granule with a 39-bit VA). Level 0 entries map 1 GiB,
 * level 1 entries 2 MiB, level 2 entries 4 KiB. kernel/vm.c walks the
 * tables; the architecture only encodes and decodes entries.
 */
typedef uint64_t pte_t;
#define PT_LEVELS 3
#define PT_ENTRIES 512

enum vm_prot {
	VM_READ = 1 << 0,
	VM_WRITE = 1 << 1,
	VM_EXEC = 1 << 2,
	VM_USER = 1 << 3,
	VM_DEVICE = 1 << 4, /* device registers: uncached, never executable */
};

pte_t arch_pte_table(paddr_t table);                  /* points to a table */
pte_t arch_pte_leaf(paddr_t pa, int level, int prot); /* maps a page/block */
bool arch_pte_valid(pte_t pte);
int arch_pte_prot(pte_t pte); /* of a leaf */
bool arch_pte_is_table(pte_t pte, int level);
paddr_t arch_pte_addr(pte_t pte);
/* A user page reserved for demand-zero filling (kernel/vm.c): an entry the
 * MMU treats as invalid, so a touch faults, marked with a bit the
 * architecture leaves to software. arch_pte_valid() is false for it. */
pte_t arch_pte_reserved(void);

/* Make `root` the kernel's table (the high half) on the calling CPU; CPUs
 * started later switch to it in their entry code, before using a stack. */
void arch_vm_set_kernel_root(paddr_t root);
/* Flush every TLB entry of the calling CPU. */
void arch_tlb_flush_all(void);

/*
 * User address spaces. Each has its own root table and an ASID (address
 * space id) so switching between them needs no TLB flush. On RISC-V one
 * root holds both halves, so a new user root starts as a copy of the
 * kernel root's upper half (arch_vm_init_user_root); on Arm the kernel half
 * lives in TTBR1 and the user root holds only the user half.
 */
void arch_vm_init_user_root(pte_t *user_root, const pte_t *kernel_root);
/* Run user code of the address space (root, asid) on this CPU; root 0
 * means none (only the kernel half stays mapped). */
void arch_vm_switch_user(paddr_t root, int asid);
/* Number of usable ASIDs (1 means: only ASID 0, flush on every switch). */
int arch_asid_count(void);
/* Flush a range (len 0: everything) of one ASID (ASID_ALL: of every
 * ASID) on the CPUs in cpu_mask (bit i: logical CPU i; a port may flush
 * more), or the kernel's global mappings on every CPU. */
#define ASID_ALL (-1)
void arch_tlb_flush_user(uint64_t cpu_mask, int asid, uintptr_t va, size_t len);
void arch_tlb_flush_kernel(uintptr_t va, size_t len);
/* Flush one user page of one ASID on the calling CPU only: after an entry
 * goes from invalid to valid. Other CPUs need nothing: one that still holds
 * the invalid entry faults once more, and the fault path retries. */
void arch_tlb_flush_local(int asid, uintptr_t va);

/* ---- Threads ---------------------------------------------------------- */

/*
 * Context switch: arch_context_switch(from, to) saves the calling thread's
 * callee-saved registers, stack pointer and return address in *from and
 * resumes the thread saved in *to. The big kernel lock is held across it:
 * the next thread continues with it. struct arch_context (arch_types.h)
 * holds exactly that state.
 */
struct arch_context;
void arch_context_switch(struct arch_context *from, struct arch_context *to);

/* Prepare a context that, when switched to, calls thread_start() and
 * then returns to user mode with the trap frame at `tf`. */
void arch_context_init_user(struct arch_context *ctx, struct trap_frame *tf);

/* User-visible state the trap frame does not hold (floating point, the
 * Arm TLS register) lives in struct arch_thread. */
struct arch_thread;
void arch_thread_switch(struct arch_thread *prev, struct arch_thread *next);
void arch_thread_reset(struct arch_thread *t); /* clean FP state */
void arch_thread_copy(struct arch_thread *dst, const struct arch_thread *src);

/* Set a trap frame up to enter user mode at pc with stack sp and the two
 * first argument registers. */
void arch_trap_frame_init_user(struct trap_frame *tf, uintptr_t pc, uintptr_t sp, uintptr_t arg0,
			       uintptr_t arg1);

/* The thread pointer a new user thread starts with (RISC-V tp, kept in
 * the trap frame; Arm TPIDR_EL0, kept in struct arch_thread). */
void arch_set_user_tls(struct trap_frame *tf, struct arch_thread *t, uintptr_t tls);

/* System call arguments and result in a trap frame. */
/* arch_syscall_number(tf), arch_syscall_arg(tf, i) (i: 0..6),
 * arch_syscall_args(tf) (the six arguments as an array),
 * arch_syscall_set_result(tf, result) and arch_syscall_set_reg(tf, i, v)
 * (result register i, 0..6: IPC returns a whole message) are inline in
 * arch_types.h: every system call uses them. */

/* ---- Traps and debugging --------------------------------------------- */

/* Print the registers of a trap frame, one line each group. */
void arch_trap_frame_dump(const struct trap_frame *tf);
uintptr_t arch_trap_frame_pc(const struct trap_frame *tf);
uintptr_t arch_trap_frame_fp(const struct trap_frame *tf);

/* Frame records: with frame pointers on, each function saves a record of
 * two words, the caller's frame pointer then the return address, at
 * fp + FRAME_RECORD_OFFSET (arch_types.h: -16 on RISC-V, 0 on Arm). */
struct frame_record {
	uintptr_t fp;
	uintptr_t ra;
};

/* The frame pointer of the caller of this function. */
#define arch_current_fp() ((uintptr_t)__builtin_frame_address(0))

/* ==== What the kernel provides to a port ================================
 *
 * Everything above is the port's to write; these are the kernel's, and a
 * port calls nothing else of it. Three are inline, because every system
 * call runs them: trap_user_enter() and trap_user_exit() in fastpath.h,
 * and syscall_dispatch() in syscall.h.
 */

/* From the entry code, on the boot CPU, MMU on, in the high half on a boot
 * stack: kernel_main(hwid of this CPU, physical FDT address) (main.c).
 * Secondary CPUs enter cpu_secondary_main(their struct cpu) (cpu.c). */
__noreturn void kernel_main(unsigned long boot_hwid, paddr_t fdt_pa);
__noreturn void cpu_secondary_main(struct cpu *cpu);

/* A trap from user mode, in this order: trap_user_enter() (takes the big
 * kernel lock); then syscall_dispatch(tf) for a system call, the interrupt
 * handlers below for an interrupt, or proc_user_fault() for a fault; then
 * trap_user_exit() (gives the lock back, maybe after switching threads). */

/* A user fault (proc.c). A page fault on a reserved page fills it and
 * returns, so the thread retries its access; any other fault is reported
 * in one line and ends the process. */
void proc_user_fault(enum fault_kind kind, uintptr_t addr, uintptr_t pc);

/* Interrupt handlers, lock held: the timer (cpu.c), an IPI (cpu.c), each
 * byte the UART received (console.c). */
void timer_tick(void);
void ipi_handle(void);
void console_input(char c);

/* A trap in kernel mode that is not an interrupt: a kernel bug (panic.c). */
__noreturn void panic_trap(const struct trap_frame *tf, const char *what, uintptr_t fault_addr);

/* What a new thread's context runs first (sched.c): see
 * arch_context_init_user. */
void thread_start(void);

#endif
