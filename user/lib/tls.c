/*
 * Thread-local storage blocks. The linker gathers every _Thread_local
 * variable (picolibc's errno among them) into a template: .tdata holds the
 * initial values, .tbss the variables that start at zero. Each thread
 * needs its own copy of the template, and the thread pointer register
 * (tp, TPIDR_EL0) tells the compiled code where that copy is.
 */
#include <stdint.h>
#include <string.h>

void *tls_init_block(void *block);

extern char __tdata_start[], __tdata_end[], __tbss_end[];

/*
 * Fills `block` (room for __tbss_end - __tdata_start bytes, aligned as the
 * linker script arranges) with a fresh copy of the template and returns
 * it. Runs before the thread pointer is set, so it must not touch errno.
 */
void *tls_init_block(void *block)
{
	size_t initialised = (uintptr_t)__tdata_end - (uintptr_t)__tdata_start;
	size_t total = (uintptr_t)__tbss_end - (uintptr_t)__tdata_start;

	memcpy(block, __tdata_start, initialised);
	memset((char *)block + initialised, 0, total - initialised);
	return block;
}
