/*
 * ns16550a UART: polled output, interrupt-driven input.
 * Found by its "compatible" in the FDT; registers are one byte apart unless
 * the node says "reg-shift". Before that, and on a board without one, the
 * SBI console stands in. Output is serialized by printk's console lock;
 * input runs in the interrupt handler with the big kernel lock held.
 */
#include "arch.h"
#include "console.h"
#include "fdt.h"
#include "riscv.h"
#include "sbi.h"
#include "vm.h"

#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_IER 1 /* interrupt enable */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define IER_RX_AVAILABLE 0x01
#define FCR_ENABLE_AND_CLEAR 0x07
#define LCR_8N1 0x03
#define MCR_OUT2 0x08 /* gates the interrupt line on real 16550s */
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

static volatile uint8_t *uart;
static uint32_t reg_shift;
static int irq = -1;

static uint8_t reg_read(int r)
{
	return uart[r << reg_shift];
}

static void reg_write(int r, uint8_t v)
{
	uart[r << reg_shift] = v;
}

void uart_init(const struct fdt *fdt)
{
	paddr_t pa;
	uint64_t size;
	uint32_t cell;

	if (!fdt)
		return; /* printk goes to the SBI console */
	int node = fdt_find_compatible(fdt, -1, "ns16550a");
	if (node < 0)
		node = fdt_find_compatible(fdt, -1, "ns16550");
	if (node < 0 || !fdt_read_reg(fdt, node, 0, &pa, &size))
		return;
	fdt_getprop_u32(fdt, node, "reg-shift", 0, &reg_shift);
	if (fdt_getprop_u32(fdt, node, "interrupts", 0, &cell))
		irq = (int)cell;
	uart = vm_map_device(pa, size);
	reg_write(UART_LCR, LCR_8N1);
	reg_write(UART_FCR, FCR_ENABLE_AND_CLEAR);
	reg_write(UART_MCR, MCR_OUT2);
	reg_write(UART_IER, IER_RX_AVAILABLE);
}

int uart_irq(void)
{
	return irq;
}

/* Until the devicetree has named a UART (or if it names none), output goes
 * through the firmware: an early panic is never silent. */
void arch_console_putc(char c)
{
	if (!uart) {
		sbi_console_putc(c);
		return;
	}
	while (!(reg_read(UART_LSR) & LSR_THR_EMPTY))
		;
	reg_write(UART_THR, (uint8_t)c);
}

void uart_interrupt(void)
{
	while (reg_read(UART_LSR) & LSR_DATA_READY)
		console_input((char)reg_read(UART_RBR));
}
