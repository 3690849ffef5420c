/*
 * ls: lists the programs in the initrd (SYS_progname), leaving out the
 * bad-* files that exist only for the tests of exec.
 */
#include <stdio.h>
#include <string.h>

#include "weft.h"

#define NAME_BYTES 64
#define TEST_FILE_PREFIX "bad-"

int main(void)
{
	char name[NAME_BYTES];
	int err;

	for (int i = 0; (err = progname(i, name, sizeof(name))) >= 0; i++) {
		if (strncmp(name, TEST_FILE_PREFIX, strlen(TEST_FILE_PREFIX)) != 0)
			printf("%s\n", name);
	}
	if (err != -ENOENT) {
		printf("ls: %s\n", error_name(err));
		return 1;
	}
	return 0;
}
