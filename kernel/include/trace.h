/*
 * Per-CPU event trace: a ring of timestamped events per CPU, off by
 * default. Recording is one branch when off; each CPU writes only its own
 * ring, so recording needs no lock even outside the big kernel lock.
 */
#ifndef WEFT_TRACE_H
#define WEFT_TRACE_H

#include "types.h"
#include "uapi/lockstat.h"

extern bool trace_on;

void trace_record(enum trace_event event, unsigned long arg);

static inline void trace(enum trace_event event, unsigned long arg)
{
	if (trace_on)
		trace_record(event, arg);
}

/* TRACE_START / TRACE_STOP / TRACE_DUMP; 0 or a negative error. */
long trace_control(int cmd);

#endif
