/*
 * Futexes: the kernel half of user-space locks. A thread sleeps on the
 * address of an int in its process's memory, only if the int still holds
 * the value it expects; futex_wake wakes sleepers on that address. All
 * the locking logic (mutexes, condition variables, ...) lives in user space;
 * the kernel only provides the sleeping. Runs under the big kernel lock.
 */
#ifndef WEFT_FUTEX_H
#define WEFT_FUTEX_H

#include "types.h"

long futex_wait(uintptr_t uaddr, int expected, uint64_t timeout_ns);
long futex_wake(uintptr_t uaddr, int count);

#endif
