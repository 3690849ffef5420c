/*
 * SBI calls (RISC-V Supervisor Binary Interface v1.0): how S-mode asks
 * the M-mode firmware (OpenSBI) for timers, IPIs, hart start and reset.
 */
#ifndef WEFT_RISCV64_SBI_H
#define WEFT_RISCV64_SBI_H

#include "types.h"

#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494d45   /* "TIME" */
#define SBI_EXT_IPI 0x735049      /* "sPI" */
#define SBI_EXT_HSM 0x48534d      /* "HSM" */
#define SBI_EXT_SRST 0x53525354   /* "SRST" */
#define SBI_EXT_RFENCE 0x52464e43 /* "RFNC" */
#define SBI_EXT_DBCN 0x4442434e   /* "DBCN", the debug console (SBI 2.0) */
#define SBI_LEGACY_CONSOLE_PUTCHAR 0x01
#define SBI_LEGACY_SHUTDOWN 0x08

#define SBI_BASE_PROBE_EXT 3
#define SBI_HSM_HART_START 0
#define SBI_DBCN_WRITE_BYTE 2
#define SBI_RFENCE_SFENCE_VMA 1
#define SBI_RFENCE_SFENCE_VMA_ASID 2
#define SBI_HART_MASK_ALL (-1l) /* as hart_mask_base: every hart */
#define SBI_SRST_SHUTDOWN 0
#define SBI_SRST_REASON_NONE 0
#define SBI_SRST_REASON_FAILURE 1

struct sbiret {
	long error;
	long value;
};

struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2);
struct sbiret sbi_call5(long ext, long fid, long a0, long a1, long a2, long a3, long a4);

/* One byte to the firmware's console: slow, but there before any device is
 * found (the kernel's console until the devicetree names a UART). */
void sbi_console_putc(char c);

#endif
