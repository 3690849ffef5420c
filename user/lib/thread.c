/*
 * Threads: thread_spawn, thread_join, thread_exit.
 *
 * The kernel only needs a start address, a stack pointer and a thread
 * pointer; everything else is user space's job. Each thread gets one
 * mmap() region, laid out from the bottom:
 *
 *   base                guard page (unmapped: an overflow faults here)
 *   base + page         the stack, growing down from stack_top
 *   stack_top           [AArch64: the TLS control block, __tls_tcb_bytes]
 *                       the TLS block (a copy of .tdata/.tbss)
 *                       struct thread_record
 *   base + region_bytes
 *
 * Why join frees the region and not the thread itself: a thread cannot
 * unmap the stack it is running on. The joiner can, once the kernel says
 * the thread has ended (it never touches its user stack again).
 *
 * Spawned threads are listed (under thread_list_lock) so that join can
 * find a thread's region from its tid.
 */
#include <stdint.h>
#include <stdio.h>

#include "atomic.h"
#include "weft_thread.h"

#define PAGE_BYTES 4096ul
#define STACK_ALIGN 16ul
#define ALIGN_DOWN(x, a) ((x) & ~((uintptr_t)(a)-1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a)-1, (a))

/* What one thread needs to start, and what join needs to free it. */
struct thread_record {
	long (*fn)(void *arg);
	void *arg;
	int tid;      /* 0 until the kernel has named the thread */
	void *region; /* the whole mmap() region, guard page included */
	size_t region_bytes;
	struct thread_record *next;
};

/* The TLS template (linker/user.ld): its size, alignment, and the room
 * AArch64 keeps for the control block in front of it. */
extern char __tdata_start[], __tbss_end[];
extern char __tls_align[], __tls_tcb_bytes[];

void *tls_init_block(void *block);
void thread_entry(void *record); /* <arch>/thread_entry.S */
_Noreturn void thread_run(struct thread_record *r);

static struct mutex thread_list_lock = MUTEX_INIT;
static struct thread_record *thread_list;

static size_t tls_bytes(void)
{
	return (uintptr_t)__tbss_end - (uintptr_t)__tdata_start;
}

static size_t tls_align(void)
{
	uintptr_t align = (uintptr_t)__tls_align;

	return align > STACK_ALIGN ? align : STACK_ALIGN;
}

/* How many bytes the TLS block needs before it (the control block). */
static size_t tls_prefix_bytes(void)
{
#if defined(__aarch64__)
	return (uintptr_t)__tls_tcb_bytes; /* TLS variant 1: tp -> control block */
#else
	return 0; /* RISC-V: tp points at the block itself */
#endif
}

/* Bytes above the stack: record, TLS block, control block, alignment. */
static size_t top_bytes(void)
{
	return sizeof(struct thread_record) + tls_bytes() + tls_prefix_bytes() + tls_align() +
	       STACK_ALIGN;
}

/* Runs on the new thread (called from thread_entry): its C life. */
_Noreturn void thread_run(struct thread_record *r)
{
	/* Store the tid here too: a thread that hands out its own tid may be
	 * joined before thread_spawn() returns in the thread that made it. */
	atomic_write(&r->tid, gettid());
	thread_exit(r->fn(r->arg));
}

static void list_remove(struct thread_record *r)
{
	for (struct thread_record **p = &thread_list; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			return;
		}
	}
}

int thread_spawn(long (*fn)(void *arg), void *arg)
{
	size_t region_bytes = PAGE_BYTES + THREAD_STACK_BYTES + ALIGN_UP(top_bytes(), PAGE_BYTES);
	long base = mmap(region_bytes);

	if (base < 0)
		return (int)base;
	munmap((void *)base, PAGE_BYTES); /* the guard page */

	uintptr_t top = (uintptr_t)base + region_bytes;
	struct thread_record *r = (struct thread_record *)ALIGN_DOWN(top - sizeof(*r), STACK_ALIGN);
	uintptr_t block = ALIGN_DOWN((uintptr_t)r - tls_bytes(), tls_align());
	uintptr_t tp = block - tls_prefix_bytes();
	uintptr_t stack_top = ALIGN_DOWN(tp, STACK_ALIGN);

	tls_init_block((void *)block);
	r->fn = fn;
	r->arg = arg;
	r->region = (void *)base;
	r->region_bytes = region_bytes;

	mutex_lock(&thread_list_lock);
	r->next = thread_list;
	thread_list = r;
	mutex_unlock(&thread_list_lock);

	int tid = sys_thread_create(thread_entry, r, (void *)stack_top, (void *)tp);
	if (tid < 0) {
		mutex_lock(&thread_list_lock);
		list_remove(r);
		mutex_unlock(&thread_list_lock);
		munmap((void *)(base + PAGE_BYTES), region_bytes - PAGE_BYTES);
		return tid;
	}
	atomic_write(&r->tid, tid);
	return tid;
}

int thread_join(int tid, long *value)
{
	struct thread_record *r;
	int err = sys_thread_join(tid, value);

	if (err < 0)
		return err;
	mutex_lock(&thread_list_lock);
	for (r = thread_list; r && atomic_read(&r->tid) != tid; r = r->next)
		;
	if (r)
		list_remove(r);
	mutex_unlock(&thread_list_lock);
	/* Not ours (a thread made with sys_thread_create): nothing to free. */
	if (r)
		munmap((char *)r->region + PAGE_BYTES, r->region_bytes - PAGE_BYTES);
	return 0;
}

void thread_exit(long value)
{
	fflush(stdout);
	fflush(stderr);
	sys_thread_exit(value);
}
