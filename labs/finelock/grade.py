"""The finelock lab's grader: futexes out from under the big kernel lock.

Three parts an architecture, all by behaviour:

- lockcheck: threadtests and ipctests on 4 CPUs with the lock-order
  checker on (lockcheck=on): every case passes, no report.
- futex-lockstat: `gil -w kernel -w futex 2` on 2 CPUs, checker on. The
  BKL counters (the gil-raw lines, read from SYS_lockstat) for the futex
  run with 2 threads: fewer than one BKL acquisition per ten futex calls,
  and fewer contended ones than one per twenty. Under the BKL every call
  takes it once. The kernel-bound run, beside it, must still take it once
  a call (the counters work).
- futex-speedup: the same program, best of 3 as gil measures it, in 3
  boots; the median speedup with 2 threads must reach 1.6x for futex,
  while the kernel-bound control in the same runs stays below 1.3x (above
  that, the host is not giving each virtual CPU a core, and the
  measurement says nothing).
"""

import re
import statistics

from labgrade import Failure, Part, boot, passed_all

GIL_RAW = re.compile(r"^gil-raw (\w+) threads=(\d+) cpus=(\d+) start_ns=(\d+) "
                     r"elapsed_ns=(\d+) acquired=(\d+) contended=(\d+) spin_ns=(\d+) "
                     r"held_ns=(\d+)$")
FUTEX_CALLS_PER_UNIT = 16  # user/bin/gil.c
UNITS = 840                # at -s 100 (gil.c: KERNEL_UNITS, FUTEX_UNITS)
COUNT_SCALE = 20           # -s for the counting run
MAX_ACQUIRED_PER_CALL = 0.1
MAX_CONTENDED_PER_CALL = 0.05
SPEEDUP_RUNS = 3
MIN_SPEEDUP = 1.6
MAX_CONTROL_SPEEDUP = 1.3


def gil_runs(arch, args, cpus=2):
    command = f"gil -v {args} 2 lockcheck=on"
    run = boot(arch, command, cpus=cpus, timeout=240)
    run.expect_exit(0)
    runs = {(m.group(1), int(m.group(2))): {
        "elapsed_ns": int(m.group(5)), "acquired": int(m.group(6)),
        "contended": int(m.group(7))} for m in run.grep(GIL_RAW)}
    for w in ("kernel", "futex"):
        for k in (1, 2):
            if (w, k) not in runs:
                run.fail(f"`{command}`: no gil-raw line for {w} x{k}")
    return run, runs


def check_lockcheck(arch):
    notes = [passed_all(arch, f"{prog} lockcheck=on", cpus=4) for prog in
             ("threadtests", "ipctests")]
    return "; ".join(notes)


def check_futex_lockstat(arch):
    run, runs = gil_runs(arch, f"-r 1 -s {COUNT_SCALE} -w kernel -w futex")
    units = UNITS * COUNT_SCALE // 100
    calls = units * FUTEX_CALLS_PER_UNIT
    futex, kernel = runs[("futex", 2)], runs[("kernel", 2)]
    numbers = f"futex x2: {futex['acquired']} acquired, {futex['contended']} contended for {calls} calls"
    if kernel["acquired"] < units:
        run.fail(f"kernel x2 took the BKL {kernel['acquired']} times for {units} kwork "
                 "calls: the counters do not count")
    if futex["acquired"] > MAX_ACQUIRED_PER_CALL * calls:
        raise Failure(f"{numbers}: the futex calls still take the BKL "
                      f"(at most {MAX_ACQUIRED_PER_CALL * calls:.0f} allowed)", run.tail())
    if futex["contended"] > MAX_CONTENDED_PER_CALL * calls:
        raise Failure(f"{numbers}: the futex calls still wait for the BKL "
                      f"(at most {MAX_CONTENDED_PER_CALL * calls:.0f} allowed)", run.tail())
    return numbers


def check_futex_speedup(arch):
    futex, control, last = [], [], None
    for _ in range(SPEEDUP_RUNS):
        last, runs = gil_runs(arch, "-r 3 -w kernel -w futex")
        futex.append(runs[("futex", 1)]["elapsed_ns"] / runs[("futex", 2)]["elapsed_ns"])
        control.append(runs[("kernel", 1)]["elapsed_ns"] / runs[("kernel", 2)]["elapsed_ns"])
    f, c = statistics.median(futex), statistics.median(control)
    numbers = (f"futex {', '.join(f'{x:.2f}x' for x in futex)} (median {f:.2f}x); kernel "
               f"control {', '.join(f'{x:.2f}x' for x in control)} (median {c:.2f}x)")
    if c > MAX_CONTROL_SPEEDUP:
        raise Failure(f"{numbers}: the kernel-bound control scaled, so the host did not "
                      "give each virtual CPU a core: grade on a quiet host", last.tail())
    if f < MIN_SPEEDUP:
        raise Failure(f"{numbers}: futex calls on 2 CPUs must be {MIN_SPEEDUP}x as fast",
                      last.tail())
    return numbers


PARTS = [
    Part("lockcheck", 20, check_lockcheck),
    Part("futex-lockstat", 40, check_futex_lockstat),
    Part("futex-speedup", 40, check_futex_speedup),
]

# The tests of the tree about this lab: none. The handout is the main
# tree, which passes all of its own tests; it loses points only here.
HANDOUT_FAILS = []
