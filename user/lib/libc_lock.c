/*
 * picolibc's locks, made real. picolibc is built with "retargetable
 * locking": wherever it touches shared state (malloc's free list, the
 * atexit list, the time zone) it calls __retarget_lock_* functions on a
 * `struct __lock` it leaves for the system to define. Its own versions do
 * nothing; these, linked before the C library, make each one a mutex, so
 * malloc and free work from many threads at once.
 *
 * One lock, __libc_recursive_mutex, guards most of that state, and a
 * function holding it may call another that takes it again; picolibc
 * asks for it with the _recursive calls. So every lock here is
 * recursive: it remembers its owner and how deep the owner holds it.
 *
 * The owner is the address of a thread-local variable: each thread's TLS
 * block is its own, so the address names the thread with no system call.
 */
#include <stdlib.h>
#include <sys/lock.h>

#include "atomic.h"
#include "weft_thread.h"

struct __lock {
	struct mutex mutex;
	void *owner; /* the owner's owner_tag, or NULL */
	int depth;   /* how many times the owner has taken it */
};

/* The lock picolibc names __libc_recursive_mutex (see <sys/lock.h>). */
struct __lock __lock___libc_recursive_mutex = { MUTEX_INIT, NULL, 0 };

static _Thread_local char owner_tag;

static void *self(void)
{
	return &owner_tag;
}

/* The owner field is only ever set to the caller's own tag by the caller,
 * so a thread comparing it with its own tag gets a true answer even while
 * other threads change it. */
static void *owner_of(struct __lock *lock)
{
	return __atomic_load_n(&lock->owner, __ATOMIC_RELAXED);
}

static void set_owner(struct __lock *lock, void *owner)
{
	__atomic_store_n(&lock->owner, owner, __ATOMIC_RELAXED);
}

void __retarget_lock_acquire_recursive(_LOCK_T lock)
{
	if (!lock)
		return;
	if (owner_of(lock) == self()) {
		lock->depth++;
		return;
	}
	mutex_lock(&lock->mutex);
	set_owner(lock, self());
	lock->depth = 1;
}

int __retarget_lock_try_acquire_recursive(_LOCK_T lock)
{
	if (!lock)
		return 1;
	if (owner_of(lock) == self()) {
		lock->depth++;
		return 1;
	}
	if (!mutex_trylock(&lock->mutex))
		return 0;
	set_owner(lock, self());
	lock->depth = 1;
	return 1;
}

void __retarget_lock_release_recursive(_LOCK_T lock)
{
	if (!lock || owner_of(lock) != self())
		return;
	if (--lock->depth == 0) {
		set_owner(lock, NULL);
		mutex_unlock(&lock->mutex);
	}
}

/* The plain (non-recursive) flavour: same locks, used the same way. */
void __retarget_lock_acquire(_LOCK_T lock)
{
	__retarget_lock_acquire_recursive(lock);
}

int __retarget_lock_try_acquire(_LOCK_T lock)
{
	return __retarget_lock_try_acquire_recursive(lock);
}

void __retarget_lock_release(_LOCK_T lock)
{
	__retarget_lock_release_recursive(lock);
}

/* Locks picolibc makes at run time (one per opened stream). If memory
 * runs out the lock is NULL and the calls above skip it. */
void __retarget_lock_init_recursive(_LOCK_T *lock)
{
	*lock = calloc(1, sizeof(struct __lock));
}

void __retarget_lock_init(_LOCK_T *lock)
{
	__retarget_lock_init_recursive(lock);
}

void __retarget_lock_close_recursive(_LOCK_T lock)
{
	free(lock);
}

void __retarget_lock_close(_LOCK_T lock)
{
	free(lock);
}
