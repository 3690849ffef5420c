/*
 * The user programs, packed by the build into a cpio archive, become part
 * of the kernel image here (INITRD_PATH comes from the Makefile).
 */
	.section .rodata
	.balign 16
	.globl initrd_start, initrd_end
initrd_start:
	.incbin INITRD_PATH
initrd_end:
