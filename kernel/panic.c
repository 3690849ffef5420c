/*
 * Panic: report a kernel bug and stop the machine.
 *
 * The report has the same shape on every architecture:
 *
 *   PANIC: cpu 1: <message>
 *   <registers, for a trap>
 *   backtrace:
 *     #0 0xffffffc080201234
 *     ...
 *   PANIC: end of report
 *
 * The test harness turns each #N address into a function name and line
 * with addr2line. The first CPU to panic stops the others with an IPI; a
 * CPU spinning on a lock notices panic_in_progress and stops too.
 */
#include "printk.h"

#include "arch.h"
#include "cpu.h"
#include "klib.h"
#include "panic.h"
#include "vm.h"

#define BACKTRACE_MAX 32

volatile int panic_in_progress;
/* A panic before the kernel options are read powers off: there may be no
 * console to read a report on, and nothing to wait for. */
bool panic_poweroff = true;

/* Print pc (if any), then walk the frame records starting at fp. The walk
 * stops at anything that does not look like a kernel frame. */
static void backtrace(uintptr_t pc, uintptr_t fp)
{
	int depth = 0;

	printk("backtrace:\n");
	if (pc)
		printk("  #%d %p\n", depth++, (void *)pc);
	while (depth < BACKTRACE_MAX && fp) {
		const struct frame_record *rec = (const void *)(fp + FRAME_RECORD_OFFSET);
		if (!vm_kernel_readable((uintptr_t)&rec->fp) ||
		    !vm_kernel_readable((uintptr_t)&rec->ra) || !vm_kernel_text(rec->ra))
			break;
		printk("  #%d %p\n", depth++, (void *)rec->ra);
		fp = rec->fp;
	}
}

/* Only the first CPU to panic reports; the others stop quietly. */
static void panic_begin(void)
{
	arch_irq_disable();
	if (__atomic_exchange_n(&panic_in_progress, 1, __ATOMIC_ACQ_REL))
		arch_cpu_stop();
	for (int i = 0; i < ncpus; i++)
		if (cpus[i].online && &cpus[i] != this_cpu())
			arch_send_ipi(&cpus[i]);
}

static __noreturn void panic_end(void)
{
	printk("PANIC: end of report\n");
	if (panic_poweroff)
		arch_poweroff(true);
	arch_cpu_stop();
}

void panic(const char *fmt, ...)
{
	va_list ap;

	panic_begin();
	printk("PANIC: cpu %d: ", cpu_id());
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	printk("\n");
	backtrace(0, arch_current_fp());
	panic_end();
}

void panic_trap(const struct trap_frame *tf, const char *what, uintptr_t fault_addr)
{
	panic_begin();
	printk("PANIC: cpu %d: kernel trap: %s at pc %p, address %p\n", cpu_id(), what,
	       (void *)arch_trap_frame_pc(tf), (void *)fault_addr);
	arch_trap_frame_dump(tf);
	backtrace(arch_trap_frame_pc(tf), arch_trap_frame_fp(tf));
	panic_end();
}
