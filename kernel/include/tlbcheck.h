/*
 * The TLB shootdown checker (kernel option tlbcheck=1; off by default).
 *
 * A missing TLB flush seldom shows as a wrong answer under QEMU, whose
 * software TLB is flushed far more often than real hardware's. So with
 * tlbcheck=1 the kernel keeps a record of its own, per ASID, of which CPUs
 * may hold entries the page tables no longer have ("stale"), and checks
 * the rule every flush scheme must keep:
 *
 *   no CPU runs user code of an ASID while it may hold stale entries of it.
 *
 * The record is fed from two sides only. vm.c says which ASID each CPU
 * has loaded (tlbcheck_switched: from then on the CPU may cache it), and
 * when a change to an address space's page tables needs a flush
 * (tlbcheck_stale): every CPU that may cache the ASID becomes stale. The
 * ports' flush primitives say when CPUs really flushed (tlbcheck_flushed):
 * only that clears a CPU.
 * So however vm.c decides whom to flush and when, the checker sees what
 * was done. It follows CPUs and ASIDs, not pages: any flush of an ASID by
 * a CPU clears that CPU (except arch_tlb_flush_local's single page, which
 * the fault path uses and which never covers a shootdown).
 *
 * The rule is checked where a CPU could next run user code with stale
 * entries: when a flush that vm.c asked for is over (tlbcheck_flush_done),
 * no CPU that has the ASID loaded may be stale, since it may be running
 * the process in user mode that moment; and when vm_switch is done
 * (tlbcheck_switched), the calling CPU, about to run the process, may not
 * be stale for the ASID it loaded. No hook sits on the system-call path.
 * A violation is printed (the first few) and counted; the CPU's record is
 * then cleared, so each is counted once. ASID 0, which vm.c shares and
 * flushes at every switch when ASIDs run out, is not followed.
 *
 * It also counts, for user flushes: `flushes` (changes that needed one),
 * `remote` (CPUs other than the caller made to flush: each an SBI remote
 * fence on RISC-V, every other CPU for Arm's broadcast TLBI) and `lazy`
 * (flushes a CPU did on its own, later, for an ASID another CPU changed).
 * tlbcheck_report prints them at poweroff.
 *
 * tlbcheck=skip turns the checker on and skips the remote part of one
 * flush: a deliberately wrong scheme, which the checker must catch
 * (scripts/test.py). Every hook runs under the big kernel lock; with the
 * checker off each is one test of tlbcheck_on.
 */
#ifndef WEFT_TLBCHECK_H
#define WEFT_TLBCHECK_H

#include "types.h"

extern bool tlbcheck_on;

void tlbcheck_init(bool on, bool skip_one);
void tlbcheck_report(void);

void tlbcheck_stale_slow(int asid);
void tlbcheck_flushed_slow(uint64_t mask, int asid);
uint64_t tlbcheck_skip_slow(uint64_t mask);
void tlbcheck_flush_done_slow(int asid);
void tlbcheck_switched_slow(int asid);

/* The page tables of `asid` lost or narrowed a mapping: every CPU that may
 * cache the ASID is stale until it flushes. */
static inline void tlbcheck_stale(int asid)
{
	if (tlbcheck_on)
		tlbcheck_stale_slow(asid);
}

/* The CPUs in `cpus` (bit i: logical CPU i) flushed all their entries of
 * `asid` (ASID_ALL: of every ASID). Called by the ports' primitives. */
static inline void tlbcheck_flushed(uint64_t cpus, int asid)
{
	if (tlbcheck_on)
		tlbcheck_flushed_slow(cpus, asid);
}

/* The CPUs a user flush should really reach: `cpus`, except once with
 * tlbcheck=skip. */
static inline uint64_t tlbcheck_skip(uint64_t cpus)
{
	return tlbcheck_on ? tlbcheck_skip_slow(cpus) : cpus;
}

/* vm.c's flush after tlbcheck_stale(asid) is over: every CPU that has
 * the ASID loaded must be clear. */
static inline void tlbcheck_flush_done(int asid)
{
	if (tlbcheck_on)
		tlbcheck_flush_done_slow(asid);
}

/* vm_switch loaded `asid` (0: no user address space) on the calling CPU
 * and is done: from now on the CPU may cache the ASID, and it must be
 * clear for it. */
static inline void tlbcheck_switched(int asid)
{
	if (tlbcheck_on)
		tlbcheck_switched_slow(asid);
}

#endif
