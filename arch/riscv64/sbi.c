/*
 * The SBI calling convention: extension id in a7, function id in a6,
 * arguments in a0-a2; the firmware returns an error in a0, a value in a1.
 */
#include "sbi.h"

struct sbiret sbi_call5(long ext, long fid, long arg0, long arg1, long arg2, long arg3, long arg4)
{
	register long a0 asm("a0") = arg0;
	register long a1 asm("a1") = arg1;
	register long a2 asm("a2") = arg2;
	register long a3 asm("a3") = arg3;
	register long a4 asm("a4") = arg4;
	register long a6 asm("a6") = fid;
	register long a7 asm("a7") = ext;

	asm volatile("ecall"
		     : "+r"(a0), "+r"(a1)
		     : "r"(a2), "r"(a3), "r"(a4), "r"(a6), "r"(a7)
		     : "memory");
	return (struct sbiret){ a0, a1 };
}

struct sbiret sbi_call(long ext, long fid, long arg0, long arg1, long arg2)
{
	return sbi_call5(ext, fid, arg0, arg1, arg2, 0, 0);
}

void sbi_console_putc(char c)
{
	static enum { UNKNOWN, DBCN, LEGACY } how;

	if (how == UNKNOWN)
		how = sbi_call(SBI_EXT_BASE, SBI_BASE_PROBE_EXT, SBI_EXT_DBCN, 0, 0).value ? DBCN
											   : LEGACY;
	if (how == DBCN)
		sbi_call(SBI_EXT_DBCN, SBI_DBCN_WRITE_BYTE, (unsigned char)c, 0, 0);
	else
		sbi_call(SBI_LEGACY_CONSOLE_PUTCHAR, 0, (unsigned char)c, 0, 0);
}
