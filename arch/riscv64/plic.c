/*
 * PLIC, the platform-level interrupt controller: routes device interrupts
 * (here only the UART's) to a hart's S-mode "context".
 *
 * Which context belongs to which hart is read from the FDT: entry i of the
 * PLIC's interrupts-extended names a hart's interrupt controller and the
 * interrupt it raises there (9 = supervisor external), and i is the context.
 * Runs with the big kernel lock held.
 */
#include "arch.h"
#include "cpu.h"
#include "fdt.h"
#include "printk.h"
#include "riscv.h"
#include "vm.h"

#define PLIC_PRIORITY(irq) (4 * (irq))
#define PLIC_ENABLE(ctx, irq) (0x2000 + 0x80 * (ctx) + 4 * ((irq) / 32))
#define PLIC_THRESHOLD(ctx) (0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx) (0x200004 + 0x1000 * (ctx))

static volatile uint8_t *plic;
static int plic_node = -1;

static volatile uint32_t *reg(uint64_t off)
{
	return (volatile uint32_t *)(plic + off);
}

void plic_init(const struct fdt *fdt)
{
	paddr_t pa;
	uint64_t size;

	plic_node = fdt_find_compatible(fdt, -1, "riscv,plic0");
	if (plic_node < 0)
		plic_node = fdt_find_compatible(fdt, -1, "sifive,plic-1.0.0");
	if (plic_node < 0 || !fdt_read_reg(fdt, plic_node, 0, &pa, &size)) {
		printk("weft: no PLIC in the devicetree: no console input\n");
		plic_node = -1;
		return;
	}
	plic = vm_map_device(pa, size);
	if (uart_irq() > 0)
		*reg(PLIC_PRIORITY(uart_irq())) = 1;
}

/* The context whose interrupts-extended entry is (this hart's intc, 9). */
static int find_context(const struct fdt *fdt, const struct cpu *cpu)
{
	int intc = fdt_first_child(fdt, cpu->fdt_node);
	uint32_t phandle, ph, irq;

	while (intc >= 0 && !fdt_prop_has_string(fdt, intc, "compatible", "riscv,cpu-intc"))
		intc = fdt_next_sibling(fdt, intc);
	if (intc < 0 || !fdt_getprop_u32(fdt, intc, "phandle", 0, &phandle))
		return -1;
	for (int i = 0; fdt_getprop_u32(fdt, plic_node, "interrupts-extended", 2 * i, &ph) &&
			fdt_getprop_u32(fdt, plic_node, "interrupts-extended", 2 * i + 1, &irq);
	     i++)
		if (ph == phandle && irq == IRQ_S_EXT)
			return i;
	return -1;
}

/* Only the boot CPU takes the UART interrupt: input has one reader. */
void plic_init_cpu(struct cpu *cpu, const struct fdt *fdt)
{
	cpu->arch.plic_context = plic_node < 0 ? -1 : find_context(fdt, cpu);
	int ctx = cpu->arch.plic_context;
	if (ctx < 0)
		return;
	*reg(PLIC_THRESHOLD(ctx)) = 0;
	if (cpu->id == 0 && uart_irq() > 0)
		*reg(PLIC_ENABLE(ctx, uart_irq())) |= 1u << (uart_irq() % 32);
}

void plic_interrupt(struct cpu *cpu)
{
	int ctx = cpu->arch.plic_context;
	uint32_t irq;

	if (ctx < 0)
		return;
	while ((irq = *reg(PLIC_CLAIM(ctx))) != 0) {
		if ((int)irq == uart_irq())
			uart_interrupt();
		*reg(PLIC_CLAIM(ctx)) = irq; /* complete */
	}
}
