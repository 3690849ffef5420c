/*
 * PL011 UART: polled output, interrupt-driven input.
 * Found by its "compatible" in the FDT. Output is serialized by printk's
 * console lock; input runs in the interrupt handler with the big kernel
 * lock held.
 */
#include "aarch64.h"
#include "arch.h"
#include "console.h"
#include "fdt.h"
#include "vm.h"

#define UART_DR 0x00 /* data */
#define UART_FR 0x18 /* flags */
#define UART_LCR_H 0x2c
#define UART_CR 0x30   /* control */
#define UART_IMSC 0x38 /* interrupt mask set/clear */
#define UART_ICR 0x44  /* interrupt clear */

#define FR_RX_EMPTY (1 << 4)
#define FR_TX_FULL (1 << 5)
#define LCR_H_8BIT (3 << 5)
#define CR_ENABLE ((1 << 0) | (1 << 8) | (1 << 9)) /* UART, TX, RX */
#define IMSC_RX ((1 << 4) | (1 << 6))              /* receive, receive timeout */
#define GIC_SPI_BASE 32

/* QEMU virt's UART, used only to report a missing devicetree. */
#define FALLBACK_UART_PA 0x09000000

static volatile uint32_t *uart;
static int intid = -1;

static uint32_t reg_read(int off)
{
	return uart[off / 4];
}

static void reg_write(int off, uint32_t v)
{
	uart[off / 4] = v;
}

void pl011_init(const struct fdt *fdt)
{
	paddr_t pa = FALLBACK_UART_PA;
	uint64_t size = PAGE_SIZE;
	uint32_t type, num;

	if (fdt) {
		int node = fdt_find_compatible(fdt, -1, "arm,pl011");
		if (node < 0 || !fdt_read_reg(fdt, node, 0, &pa, &size))
			return; /* no console: printk output is lost */
		/* interrupts = <type number flags>; type 0 is a shared (SPI) one */
		if (fdt_getprop_u32(fdt, node, "interrupts", 0, &type) &&
		    fdt_getprop_u32(fdt, node, "interrupts", 1, &num) && type == 0)
			intid = GIC_SPI_BASE + (int)num;
	}
	uart = vm_map_device(pa, size);
	reg_write(UART_LCR_H, LCR_H_8BIT);
	reg_write(UART_CR, CR_ENABLE);
	reg_write(UART_IMSC, IMSC_RX);
}

int pl011_intid(void)
{
	return intid;
}

void arch_console_putc(char c)
{
	if (!uart)
		return;
	while (reg_read(UART_FR) & FR_TX_FULL)
		;
	reg_write(UART_DR, (uint8_t)c);
}

/* Clear the interrupt first, then empty the FIFO. The other order loses
 * input: a byte that arrives between the last read and the clear has its
 * interrupt cleared, and QEMU sends no more bytes while one is waiting,
 * so the console would go deaf until the next boot. */
void pl011_interrupt(void)
{
	reg_write(UART_ICR, IMSC_RX);
	while (!(reg_read(UART_FR) & FR_RX_EMPTY))
		console_input((char)reg_read(UART_DR));
}
