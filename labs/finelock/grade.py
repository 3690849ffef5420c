"""The finelock lab's grader: IPC and futexes out from under the big kernel
lock. Four parts an architecture, all by behaviour:

- lockcheck: the cases of threadtests and ipctests that exercise locking
  (futex sleeps, wakes and timeouts, kills and exits racing system calls,
  fork, the page allocator under racing faults; calls, replies, deaths in
  mid-call, many clients, wakes across CPUs), and the lab's own flipctests
  (IPC between threads of one process, which a kernel may do without the
  BKL: echo pairs, kills mid-call, a server exiting mid-call, handles
  changing under the calls, buffers echoed both ways, a sibling unmapping
  the pages a server receives into while calls run), on 4 CPUs with the
  lock-order checker on (lockcheck=on): every case passes, no checker
  report, nothing leaked.
- ipc-counts and futex-counts: `gil -v -r 1 -w kernel -w ipc -w futex 2` on
  2 CPUs, checker on, read from the gil-raw lines (SYS_lockstat's BKL
  counters). With 2 threads, the ipc run must take the BKL fewer than once
  per 10 round trips and the futex run fewer than once per 10 futex calls
  (under the BKL: twice per round trip, once per futex call), beyond an
  allowance for what is not a call: two acquisitions per CPU per timer
  tick of the run, and the run's setup (threads, sleepers) counted in the
  constants below. The kernel-bound run beside them must still count one
  acquisition per kwork call (else the counters say nothing). These counts
  hardly depend on the host: they are the main signal.
- speedup (wall clock: make test's quick check leaves it out): `flrepeat 7
  gil -v -r 2 -w compute -w kernel -w ipc -w futex 2` on 2 CPUs, one boot.
  Two controls in each run say whether the host let it measure:
  compute-only threads (no kernel, no lock) must scale, 1.7x
  to 2.3x (less: the virtual CPUs did not each have a core; more: the
  host paused the one-thread run), and the kernel-bound control must not
  (under 1.3x). With at least 3 such runs, the median speedup with 2
  threads over them must reach 1.6x for ipc. With fewer, the part fails
  and says the host was too busy. Only ipc is graded: each of its calls
  (with a 64-byte buffer) holds the BKL 75-85% of the time in a kernel
  that takes it, so 2 threads cannot beat about 1/0.8 = 1.25x there; a
  futex call holds it 40-50%, so 2 threads taking turns reach nearly 2x
  even under the BKL and the wall clock cannot tell the kernels apart
  (docs/gil.md). The futex medians are printed for information.
"""

import statistics

from giltests import GIL_RAW
from labgrade import Failure, Part, boot, passed_all

THREAD_CASES = ["futex_timeout", "futex_wake_count", "kill_futex_waiters", "fault_kills_all",
                "exit_from_thread", "last_thread_exit", "condvar", "semaphore", "barrier",
                "kill_races_syscalls", "kill_races_fork", "spawn_join_cycle",
                "mmap_first_touch_race"]
FLIPC_CASES = ["pairs_echo", "kill_mid_pingpong", "server_exits_mid_call", "handles_churn",
               "buffers_echo", "unmap_under_copy", "no_leaks"]
IPC_CASES = ["label_and_words_intact", "handle_transfer", "last_close_frees",
             "try_meets_blocked_peer", "server_death_during_call", "client_death_mid_call",
             "second_call_ends_first", "many_clients_in_order", "cross_cpu_wake"]
UNITS = 840                # each workload's total at -s 100 (user/bin/gil.c)
IPC_CALLS_PER_UNIT = 8     # round trips (user/bin/gil.c)
FUTEX_CALLS_PER_UNIT = 16  # (user/bin/gil.c)
MAX_BKL_PER_CALL = 0.1
TICK_NS = 10_000_000       # TICK_HZ 100 (kernel/include/cpu.h)
# Acquisitions a run takes besides its calls, with 2 threads: starting,
# joining and stopping the threads (and the futex run's 32 sleepers, each
# of which sleeps and is woken once). Measured: about 30 for ipc and 20
# for futex in the reference solution; the rest is room for a kernel that
# takes the BKL more often when threads start and end.
SETUP_ALLOWANCE = {"ipc": 150, "futex": 600}
SPEEDUP_RUNS = 7
# Each run keeps the faster of 2 tries of each case: the first try of a
# new process is often slow under QEMU (on AArch64 up to 4x, with the same
# instructions executed), which would spoil the compute-only control.
SPEEDUP_REPEAT = 2
MIN_CLEAN_RUNS = 3
CLEAN_COMPUTE = (1.7, 2.3)  # compute-only speedups of a run the host did not disturb
MIN_SPEEDUP = 1.6
MAX_CONTROL_SPEEDUP = 1.3
WORKLOADS = ("kernel", "ipc", "futex")
SPEEDUP_WORKLOADS = ("compute",) + WORKLOADS
GRADED_SPEEDUP = "ipc"  # futex: printed only (the module's docstring says why)

_count_runs = {}


def parse_runs(run):
    """The gil-raw lines, in order: [(workload, threads, elapsed_ns, acquired)]."""
    return [(m.group(1), int(m.group(2)), int(m.group(5)), int(m.group(6)))
            for m in run.grep(GIL_RAW)]


def count_run(arch):
    """One boot for both counting parts: the Run and {(workload, k): (ns, acquired)}."""
    if arch not in _count_runs:
        command = "gil -v -r 1 -w kernel -w ipc -w futex 2 lockcheck=on"
        run = boot(arch, command, cpus=2, timeout=240)
        run.expect_exit(0)
        runs = {(w, k): (ns, acq) for w, k, ns, acq in parse_runs(run)}
        for w in WORKLOADS:
            for k in (1, 2):
                if (w, k) not in runs:
                    run.fail(f"`{command}`: no gil-raw line for {w} x{k}")
        _count_runs[arch] = (run, runs)
    return _count_runs[arch]


def check_counts(arch, workload, calls, what):
    run, runs = count_run(arch)
    kernel_ns, kernel_acq = runs[("kernel", 2)]
    if kernel_acq < UNITS:
        run.fail(f"kernel x2 took the BKL {kernel_acq} times for {UNITS} kwork calls: "
                 "the counters do not count")
    ns, acquired = runs[(workload, 2)]
    ticks = 2 * 2 * (ns // TICK_NS + 1)  # 2 CPUs, two acquisitions a tick
    limit = int(MAX_BKL_PER_CALL * calls) + ticks + SETUP_ALLOWANCE[workload]
    numbers = (f"{workload} x2: {acquired} BKL acquisitions for {calls} {what} "
               f"(at most {limit}); kernel x2: {kernel_acq} for {UNITS} calls")
    if acquired > limit:
        raise Failure(f"{numbers}: the {workload} calls still take the BKL", run.tail())
    return numbers


def check_ipc_counts(arch):
    return check_counts(arch, "ipc", UNITS * IPC_CALLS_PER_UNIT, "round trips")


def check_futex_counts(arch):
    return check_counts(arch, "futex", UNITS * FUTEX_CALLS_PER_UNIT, "futex calls")


def check_lockcheck(arch):
    notes = [passed_all(arch, f"{prog} {' '.join(cases)} lockcheck=on", cpus=4, cases=cases)
             for prog, cases in (("threadtests", THREAD_CASES), ("ipctests", IPC_CASES))]
    notes.append(passed_all(arch, "flipctests lockcheck=on", cpus=4, cases=FLIPC_CASES))
    return "threadtests, ipctests, flipctests: " + "; ".join(notes)


def check_speedup(arch):
    command = (f"flrepeat {SPEEDUP_RUNS} gil -v -r {SPEEDUP_REPEAT} -w compute -w kernel "
               "-w ipc -w futex 2")
    run = boot(arch, command, cpus=2, timeout=240)
    run.expect_exit(0)
    one, tries, current = {}, [], {}
    for w, k, ns, _ in parse_runs(run):
        if k == 1:
            one[w] = ns
        elif k == 2 and w in one:
            current[w] = one.pop(w) / ns
            if w == SPEEDUP_WORKLOADS[-1]:
                tries.append(current)
                current = {}
    if len(tries) != SPEEDUP_RUNS or any(set(t) != set(SPEEDUP_WORKLOADS) for t in tries):
        run.fail(f"`{command}`: {len(tries)} complete runs of the four workloads, "
                 f"not {SPEEDUP_RUNS}")
    clean = [t for t in tries if CLEAN_COMPUTE[0] <= t["compute"] <= CLEAN_COMPUTE[1]
             and t["kernel"] < MAX_CONTROL_SPEEDUP]
    numbers = "; ".join(f"{w} {', '.join(f'{t[w]:.2f}' for t in tries)}"
                        for w in SPEEDUP_WORKLOADS)
    if len(clean) < MIN_CLEAN_RUNS:
        raise Failure(f"{numbers}: host too busy: only {len(clean)} of {SPEEDUP_RUNS} runs had "
                      f"the controls right (compute-only, which takes no lock, between "
                      f"{CLEAN_COMPUTE[0]}x and {CLEAN_COMPUTE[1]}x; the kernel-bound control "
                      f"under {MAX_CONTROL_SPEEDUP}x), at least {MIN_CLEAN_RUNS} needed: the "
                      "virtual CPUs did not each have a core; grade on a quiet host", run.tail())
    med = {w: statistics.median(t[w] for t in clean) for w in ("ipc", "futex")}
    numbers += (f"; medians of the {len(clean)} runs with the controls right: "
                f"ipc {med['ipc']:.2f}x (graded), futex {med['futex']:.2f}x (not graded: "
                "its calls are short enough to take turns at the BKL)")
    if med[GRADED_SPEEDUP] < MIN_SPEEDUP:
        raise Failure(f"{numbers}: {GRADED_SPEEDUP} on 2 CPUs must be at least "
                      f"{MIN_SPEEDUP}x as fast as on one", run.tail())
    return numbers


PARTS = [
    Part("lockcheck", 20, check_lockcheck),
    Part("ipc-counts", 25, check_ipc_counts),
    Part("futex-counts", 20, check_futex_counts),
    Part("speedup", 35, check_speedup, wallclock=True),
]

# The tests of the tree about this lab: none. The handout is the main
# tree, which passes all of its own tests; it loses points only here.
HANDOUT_FAILS = []
