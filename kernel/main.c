/*
 * Boot: from the architecture's entry code to every CPU online and init
 * started.
 *
 * The boot CPU reads the devicetree, starts the page allocator and the
 * kernel page table, moves onto a guarded stack, starts the other CPUs,
 * waits until they are up, and starts init; then every CPU runs threads.
 * It holds the big kernel lock throughout, except while it sleeps waiting
 * for the others, who each take the lock to come online
 * (cpu_secondary_main in cpu.c).
 */
#include "arch.h"
#include "cpu.h"
#include "fdt.h"
#include "klib.h"
#include "lock.h"
#include "panic.h"
#include "pmm.h"
#include "printk.h"
#include "proc.h"
#include "sched.h"
#include "tlbcheck.h"
#include "trace.h"
#include "vm.h"

#define MAX_MEM_RANGES 16
#define FDT_MAX_SIZE (2 * MIB)
#define CPU_START_TIMEOUT_MS 5000

static struct fdt boot_fdt;
static const char *bootargs = "";

static struct mem_range ram[MAX_MEM_RANGES];
static int nram;

static void add_range(struct mem_range *r, int *n, uint64_t start, uint64_t size)
{
	if (size == 0)
		return;
	if (*n == MAX_MEM_RANGES)
		panic("more than %d memory ranges in the devicetree", MAX_MEM_RANGES);
	r[(*n)++] = (struct mem_range){ start, size };
}

/* Every node with device_type "memory" contributes its reg entries, up to
 * the end of the direct map. */
static void find_ram(const struct fdt *fdt)
{
	for (int node = fdt_first_child(fdt, fdt_root(fdt)); node >= 0;
	     node = fdt_next_sibling(fdt, node)) {
		const char *type = fdt_getprop_str(fdt, node, "device_type");
		uint64_t start, size;
		if (!type || strcmp(type, "memory") != 0)
			continue;
		for (int i = 0; fdt_read_reg(fdt, node, i, &start, &size); i++) {
			uint64_t end = MIN(start + size, DIRECT_MAP_GIB * GIB);
			if (end < start + size)
				printk("weft: %llu MiB of RAM above %d GiB not used\n",
				       (unsigned long long)((start + size - MAX(start, end)) / MIB),
				       DIRECT_MAP_GIB);
			if (start < end)
				add_range(ram, &nram, start, end - start);
		}
	}
	if (nram == 0)
		panic("no memory node in the devicetree");
}

/* What the page allocator must not hand out: the kernel image, the FDT,
 * the FDT's reservation block and every /reserved-memory child. */
static int find_reserved(const struct fdt *fdt, paddr_t fdt_pa, struct mem_range *res)
{
	int n = 0;
	uint64_t start, size;

	add_range(res, &n, virt_to_phys(__kernel_start),
		  (uintptr_t)__kernel_end - (uintptr_t)__kernel_start);
	add_range(res, &n, fdt_pa, fdt->size);
	for (int i = 0; fdt_read_rsvmap(fdt, i, &start, &size); i++)
		add_range(res, &n, start, size);
	int rm = fdt_find_path(fdt, "/reserved-memory");
	for (int node = rm >= 0 ? fdt_first_child(fdt, rm) : -1; node >= 0;
	     node = fdt_next_sibling(fdt, node))
		for (int i = 0; fdt_read_reg(fdt, node, i, &start, &size); i++)
			add_range(res, &n, start, size);
	return n;
}

/* CPUs are the /cpus children with device_type "cpu" and a usable status.
 * The boot CPU becomes logical CPU 0; the others follow in FDT order. */
static void find_cpus(const struct fdt *fdt, unsigned long boot_hwid)
{
	int parent = fdt_find_path(fdt, "/cpus");
	uint32_t ac = 1;

	if (parent < 0)
		panic("no /cpus node in the devicetree");
	fdt_getprop_u32(fdt, parent, "#address-cells", 0, &ac);
	ncpus = 1;
	for (int node = fdt_first_child(fdt, parent); node >= 0;
	     node = fdt_next_sibling(fdt, node)) {
		const char *type = fdt_getprop_str(fdt, node, "device_type");
		const char *status = fdt_getprop_str(fdt, node, "status");
		int len;
		const void *reg = fdt_getprop(fdt, node, "reg", &len);
		if (!type || strcmp(type, "cpu") != 0 || !reg || len < 4 * (int)ac ||
		    (ac != 1 && ac != 2))
			continue;
		if (status && strcmp(status, "okay") != 0 && strcmp(status, "ok") != 0)
			continue;
		unsigned long hwid = fdt_read_cells(reg, (int)ac);
		struct cpu *c = &cpus[0];
		if (hwid != boot_hwid) {
			if (ncpus == MAX_CPUS) {
				printk("weft: cpu with hwid %lu ignored (MAX_CPUS is %d)\n", hwid,
				       MAX_CPUS);
				continue;
			}
			c = &cpus[ncpus++];
		}
		c->hwid = hwid;
		c->fdt_node = node;
	}
	for (int i = 0; i < ncpus; i++)
		cpus[i].id = i;
}

/* Kernel options are the bootargs words of the form key=value. */
static bool kernel_option(const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);

	for (const char *p = bootargs; *p;) {
		while (*p == ' ')
			p++;
		size_t n = 0;
		while (p[n] && p[n] != ' ')
			n++;
		if (n == klen + 1 + vlen && strncmp(p, key, klen) == 0 && p[klen] == '=' &&
		    strncmp(p + klen + 1, value, vlen) == 0)
			return true;
		p += n;
	}
	return false;
}

/* Start the other CPUs and sleep until they are all online or the
 * timeout passes; each new CPU wakes us with an IPI. */
static void start_secondaries(void)
{
	for (int i = 1; i < ncpus; i++) {
		cpus[i].stack_top = vm_alloc_kstack();
		if (!cpus[i].stack_top)
			panic("no memory for the stack of cpu %d", i);
		int err = arch_cpu_start(&cpus[i]);
		if (err)
			printk("weft: cpu %d (hwid %lu) did not start: error %d\n", i, cpus[i].hwid,
			       err);
	}
	uint64_t deadline = arch_timer_now() + CPU_START_TIMEOUT_MS * arch_timer_freq() / 1000;
	while (cpus_online() < ncpus && arch_timer_now() < deadline) {
		timer_set(deadline); /* the idle tick is off: wake by then */
		bkl_release();
		arch_wait_for_interrupt();
		bkl_acquire();
		arch_irq_enable();
		arch_irq_disable();
	}
	for (int i = 1; i < ncpus; i++)
		if (!cpus[i].online)
			printk("weft: cpu %d (hwid %lu) did not come online\n", i, cpus[i].hwid);
}

static bool crash_useraccess; /* set by crash=useraccess */

/* crash=useraccess: the first write system call reads its buffer through
 * the user address, as a kernel bug that forgot copyin would. The kernel
 * reaches user memory only through the direct map (kernel/vm.c), so the
 * ports make this a fault: Arm's PAN, RISC-V's sstatus.SUM = 0
 * (arch_cpu_init). An Arm CPU without PAN lets the read through, and the
 * program goes on. Not inlined, so that the backtrace shows sys_write. */
__noinline void crash_user_access(uintptr_t va)
{
	if (!crash_useraccess)
		return;
	printk("weft: crash=useraccess: reading user address %p\n", (void *)va);
	(void)*(volatile const char *)va;
	printk("weft: crash=useraccess: not stopped: this CPU lets the kernel use user "
	       "addresses\n");
	/* Cleared last, so that the second printk is no tail call: an epilogue
	 * before the read would lose this frame from the backtrace. */
	crash_useraccess = false;
}

/* crash=lockorder and crash=locksleep: the two mistakes the lock-order
 * checker catches (lock.h), made on purpose. They turn the checker on. */
static struct spinlock crash_outer = SPINLOCK_INIT_RANK("crash outer lock", 10);
static struct spinlock crash_inner = SPINLOCK_INIT_RANK("crash inner lock", 20);

static __noinline void crash_lock_order(void)
{
	lockcheck_enabled = true;
	spin_lock(&crash_inner);
	spin_lock(&crash_outer); /* rank 10 under rank 20: must panic */
	printk("weft: crash=lockorder: not stopped\n");
	spin_unlock(&crash_outer);
	spin_unlock(&crash_inner);
}

static __noinline void crash_lock_sleep(void)
{
	lockcheck_enabled = true;
	spin_lock(&crash_inner);
	sched_sleep_ticks(1); /* blocks holding it: must panic */
	printk("weft: crash=locksleep: not stopped\n");
	spin_unlock(&crash_inner);
}

/* Deliberate faults for the tests of the panic report (not inlined, so
 * the backtrace shows it and its caller). crash=ubsan exists only in a
 * kernel built with SANITIZE=ubsan: elsewhere nothing checks the
 * undefined addition, and it is never run. */
static __noinline void run_crash_option(void)
{
	if (kernel_option("crash", "null")) {
		volatile uintptr_t bad = 16; /* an unmapped address */
		*(volatile int *)bad = 1;
	}
	crash_useraccess = kernel_option("crash", "useraccess"); /* in process context */
	if (kernel_option("crash", "panic"))
		panic("crash=panic requested on the command line");
	if (kernel_option("crash", "recursive"))
		bkl_acquire(); /* already held: must panic at once */
	if (kernel_option("crash", "lockorder"))
		crash_lock_order();
	if (kernel_option("crash", "locksleep"))
		crash_lock_sleep();
	if (KERNEL_UBSAN && kernel_option("crash", "ubsan")) {
		volatile int big = INT_MAX;
		big = big + 1; /* signed overflow: kernel/ubsan.c must report it */
	}
}

static __noreturn void boot_cpu_continue(void)
{
	arch_cpu_init(&cpus[0]);
	sched_init_cpu();
	timer_start();
	cpus[0].online = true;
	start_secondaries();
	printk("weft: %d cpus online, %llu MiB free\n", cpus_online(),
	       (unsigned long long)(pmm_free_pages() * PAGE_SIZE / MIB));
	run_crash_option();
	proc_start_init(bootargs);
	sched_idle();
}

void kernel_main(unsigned long boot_hwid, paddr_t fdt_pa)
{
	static struct mem_range reserved[MAX_MEM_RANGES];

	cpus[0].hwid = boot_hwid;
	arch_cpu_set_self(&cpus[0]);
	bkl_acquire();

	/* Until the devicetree names the console, printk goes wherever the
	 * port can reach without it (on RISC-V, the SBI console), and a panic
	 * powers off. The boot tables map all of the direct map, so the
	 * devicetree can be read anywhere below DIRECT_MAP_GIB. */
	if (!fdt_pa)
		fdt_pa = arch_find_fdt();
	bool mapped = fdt_pa && fdt_pa < DIRECT_MAP_GIB * GIB - FDT_MAX_SIZE;
	if (!mapped || fdt_init(&boot_fdt, phys_to_virt(fdt_pa), FDT_MAX_SIZE)) {
		arch_platform_init(NULL); /* the port's console without a devicetree */
		panic("no valid devicetree (looked at physical address %p%s)", (void *)fdt_pa,
		      mapped || !fdt_pa ? "" : ", outside the direct map");
	}
	arch_platform_init(&boot_fdt);
	int chosen = fdt_find_path(&boot_fdt, "/chosen");
	if (chosen >= 0 && fdt_getprop_str(&boot_fdt, chosen, "bootargs"))
		bootargs = fdt_getprop_str(&boot_fdt, chosen, "bootargs");
	panic_poweroff = kernel_option("panic", "poweroff"); /* was true until now */
	lockcheck_enabled = kernel_option("lockcheck", "on");
	tlbcheck_init(kernel_option("tlbcheck", "1"), kernel_option("tlbcheck", "skip"));

	find_cpus(&boot_fdt, boot_hwid);
	find_ram(&boot_fdt);
	int nres = find_reserved(&boot_fdt, fdt_pa, reserved);
	if (pmm_init(ram, nram, reserved, nres))
		panic("no room for the page allocator's bitmap");
	vm_init(ram, nram);

	void *stack = vm_alloc_kstack();
	if (!stack)
		panic("no memory for the boot CPU's stack");
	cpus[0].stack_top = stack;
	arch_run_on_stack(stack, boot_cpu_continue);
}
