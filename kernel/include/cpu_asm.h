/*
 * The fields of struct cpu (cpu.h) that assembly code uses, as offsets.
 * cpu.h checks each against the struct, so the two cannot drift apart.
 */
#ifndef WEFT_CPU_ASM_H
#define WEFT_CPU_ASM_H

#define CPU_STACK_TOP 0 /* stack_top: a starting CPU's first stack (entry.S) */
#define CPU_KSTACK 8    /* kstack: the running thread's kernel stack top */
#define CPU_SCRATCH 16  /* scratch: where trap entry parks a register */

#endif
