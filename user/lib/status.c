/*
 * Numbers in words, for messages: error codes (uapi/errno.h), fault kinds
 * and the wait status (uapi/proc.h). Shared by sh, init and the tests so
 * they all describe a process's end the same way.
 */
#include <stdio.h>

#include "weft.h"

const char *error_name(int err)
{
	switch (err < 0 ? -err : err) {
	case EPERM:
		return "EPERM";
	case ENOENT:
		return "ENOENT";
	case ESRCH:
		return "ESRCH";
	case EINTR:
		return "EINTR";
	case EIO:
		return "EIO";
	case E2BIG:
		return "E2BIG";
	case ENOEXEC:
		return "ENOEXEC";
	case EBADF:
		return "EBADF";
	case ECHILD:
		return "ECHILD";
	case EAGAIN:
		return "EAGAIN";
	case ENOMEM:
		return "ENOMEM";
	case EFAULT:
		return "EFAULT";
	case EBUSY:
		return "EBUSY";
	case EEXIST:
		return "EEXIST";
	case EINVAL:
		return "EINVAL";
	case ENOSPC:
		return "ENOSPC";
	case EPIPE:
		return "EPIPE";
	case ERANGE:
		return "ERANGE";
	case EDEADLK:
		return "EDEADLK";
	case ENOSYS:
		return "ENOSYS";
	case EMSGSIZE:
		return "EMSGSIZE";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	default:
		return "unknown error";
	}
}

const char *fault_name(int kind)
{
	switch (kind) {
	case FAULT_PAGE:
		return "page fault";
	case FAULT_ILLEGAL:
		return "illegal instruction";
	case FAULT_MISALIGNED:
		return "misaligned access";
	case FAULT_KERNEL_ADDR:
		return "kernel address";
	case FAULT_BREAKPOINT:
		return "breakpoint";
	case FAULT_OTHER:
		return "other fault";
	default:
		return "unknown fault";
	}
}

/* "exit 3", "killed", "killed by fault (page fault)". */
void status_describe(int status, char *buf, size_t len)
{
	switch (WAIT_HOW(status)) {
	case WAIT_EXITED:
		snprintf(buf, len, "exit %d", WAIT_CODE(status));
		break;
	case WAIT_KILLED:
		snprintf(buf, len, "killed");
		break;
	case WAIT_FAULTED:
		snprintf(buf, len, "killed by fault (%s)", fault_name(WAIT_CODE(status)));
		break;
	default:
		snprintf(buf, len, "unknown status %#x", status);
		break;
	}
}
