/*
 * From crt0 to main: by the time weft_start runs, the stack, gp and the
 * thread pointer are set up. It runs the C library's constructors, calls
 * main, and hands main's result to exit(), which runs the destructors
 * (flushing stdio) and ends the process with SYS_exit.
 */
#include <stdlib.h>

int main(int argc, char **argv);
_Noreturn void weft_start(int argc, char **argv);
void __libc_init_array(void);

_Noreturn void weft_start(int argc, char **argv)
{
	__libc_init_array();
	exit(main(argc, argv));
}
