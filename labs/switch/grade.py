"""The switch lab's grader: the context switch (labs/switch/README.md).

Four parts, each by behaviour:

  threads      `threads 8`: two threads pinned to each of 4 CPUs, each
               reporting its own stack and TLS block and the one shared
               counter, then counting under a mutex to the exact total.
  threadcrash  a fault in one thread ends its process and no other.
  threadtests  the threadtests cases that switch the most (first runs,
               futex sleeps and wakes, exits, faults, forks, threads
               pinned together), with the per-thread state the switch
               must carry: TLS, errno and the floating-point registers
               and rounding mode (fp_per_thread: two threads sharing
               CPU 0 compute with doubles and yield every 1000 steps).
  gdb          under GDB: `weft switchtrace` shows a chain of switches
               between pingpong's threads, and each switch, stepped
               through, leaves the old thread's sp in its context and sp
               and the return address of the next thread in the CPU, sp
               inside that thread's own kernel stack, and every
               callee-saved register saved and loaded likewise; at
               least two different kernel stacks are seen.

A part that finds a kernel panic says so with the panic's message (the
handout's stubs panic with one naming this lab).
"""

import os
import re
import tempfile
import time
from pathlib import Path

import gdbtests
from labgrade import ROOT, Failure, Part, boot, passed_all

CPUS = 4

# `threads 8 ITERATIONS`: two threads per CPU, so threads pinned to the
# same CPU take turns on it.
THREADS = 8
THREADS_ITERATIONS = 200000
THREAD_LINE = re.compile(r"^  thread (\d+): tid (\d+) on CPU (\d+); its stack at (0x[0-9a-f]+), "
                         r"its TLS at (0x[0-9a-f]+), counter at (0x[0-9a-f]+)$")

THREADTESTS_CASES = [
    "mutex_64_threads", "join_value", "unjoined_count", "join_finished",
    "futex_timeout", "futex_wake_count", "spawn_join_cycle", "fault_kills_all",
    "exit_from_thread", "kill_futex_waiters", "last_thread_exit", "parallel_cpus",
    "errno_per_thread", "tls_per_thread", "fp_per_thread", "malloc_printf_threads",
    "condvar", "semaphore", "barrier", "mmap_fork", "fork_one_thread",
]

# The GDB session: pingpong hands one CPU back and forth between its two
# processes; panic=poweroff ends the session at once if the kernel panics.
GDB_BOOTARGS = "pingpong 100000000 panic=poweroff"
GDB_SWITCHES_BEFORE = 20   # init has started pingpong, which has forked
GDB_TRACE_COUNT = 8
GDB_STEPPED_SWITCHES = 4
ARCH_REGS = gdbtests.ARCH_REGS
# The callee-saved registers besides sp and the return address, and where
# struct arch_context keeps each.
CALLEE_SAVED = {
    "riscv64": [(f"$s{i}", f"s[{i}]") for i in range(12)],
    "aarch64": [(f"$x{19 + i}", f"x19_x28[{i}]") for i in range(10)] + [("$x29", "fp")],
}

# The scripts' tests raise gdbtests' Failure; here it is the grader's.
gdbtests.Failure = Failure


def panic_line(lines):
    """The first line of a kernel panic report, or None."""
    return next((line for line in lines if line.startswith("PANIC")), None)


def check_boot(run):
    """Fails with the panic message if the kernel panicked."""
    line = panic_line(run.lines)
    if line:
        run.fail(f"the kernel panicked: {line}")


def check_threads(arch):
    run = boot(arch, f"threads {THREADS} {THREADS_ITERATIONS}", cpus=CPUS)
    check_boot(run)
    run.expect_exit(0)
    rows = [m.groups() for m in run.grep(THREAD_LINE)]
    numbers = sorted(int(r[0]) for r in rows)
    if numbers != list(range(THREADS)):
        run.fail(f"thread lines for {numbers}, expected 0..{THREADS - 1}")
    for number, _, cpu, *_ in rows:
        if int(cpu) != int(number) % CPUS:
            run.fail(f"thread {number} ran on CPU {cpu}, pinned to {int(number) % CPUS}")
    tids, stacks, tls = ({r[i] for r in rows} for i in (1, 3, 4))
    counters = {r[5] for r in rows}
    if len(tids) != THREADS or len(stacks) != THREADS or len(tls) != THREADS:
        run.fail("two threads share a tid, a stack or a TLS block")
    if len(counters) != 1:
        run.fail(f"the threads see the shared counter at {len(counters)} addresses")
    exact = run.grep(r"^  counter = (\d+), expected (\d+): exact\.$")
    total = THREADS * THREADS_ITERATIONS
    if not exact or int(exact[-1].group(1)) != total:
        run.fail(f"the count under the mutex is not exactly {total}")
    return f"{THREADS} threads on {CPUS} CPUs, {run.seconds:.0f} s"


def check_threadcrash(arch):
    run = boot(arch, "threadcrash", cpus=CPUS)
    check_boot(run)
    run.expect_exit(0)
    crashed = run.grep(r"the crasher \(pid \d+\) ended: killed by fault \(page fault\)")
    stopped = run.grep(r"the kernel stopped all (\d+) threads of its process")
    steps = run.grep(r"\[worker  pid \d+\] step (\d+) of 10$")
    worker = run.grep(r"the worker \(pid \d+\) ended: exit 0\.")
    if not crashed or not stopped or int(stopped[0].group(1)) < 2:
        run.fail("the crasher did not end by its fault with all its threads")
    if [int(m.group(1)) for m in steps] != list(range(1, 11)) or not worker:
        run.fail("the worker did not count its 10 steps and exit normally")
    return f"{run.seconds:.0f} s"


def check_threadtests(arch):
    command = "threadtests " + " ".join(THREADTESTS_CASES)
    try:
        return passed_all(arch, command, cpus=CPUS, cases=THREADTESTS_CASES)
    except Failure as f:
        line = panic_line(line[2:] for line in f.evidence if line.startswith("| "))
        if line:
            raise Failure(f"the kernel panicked: {line}", f.evidence) from None
        raise


# ---- GDB -----------------------------------------------------------------------

def gdb_value(gdb, expr):
    value = gdbtests.value_of(gdb.run(f"p/x {expr}"))
    gdbtests.expect(value is not None, f"GDB could not read {expr}", gdb)
    return value


def gdb_values(gdb, exprs):
    """The values of GDB expressions, read in one command."""
    out = gdb.run("python print('values', *(hex(int(gdb.parse_and_eval(e)) & (2**64 - 1)) "
                  f"for e in {exprs!r}))")
    m = re.search(r"^values((?: 0x[0-9a-f]+)*)$", out, re.M)
    gdbtests.expect(m and len(m.group(1).split()) == len(exprs),
                    f"GDB could not read {', '.join(exprs)}", gdb)
    return [int(x, 16) for x in m.group(1).split()]


def gdb_set(gdb, assignments):
    """Sets registers or memory: [(lvalue, value)], in one command."""
    cmds = [f"set var {lhs} = {value:#x}" for lhs, value in assignments]
    out = gdb.run(f"python [gdb.execute(c) for c in {cmds!r}]; print('set')")
    gdbtests.expect(re.search(r"^set$", out, re.M) and not gdbtests.ERROR_PATTERNS.search(out),
                    "GDB could not set the registers", gdb)


def ctx_fields(arch, ctx):
    return [f"((struct arch_context *){ctx:#x})->{field}" for _, field in CALLEE_SAVED[arch]]


# Marks written into the callee-saved registers (and into the next
# thread's saved ones) for one switch, so that each register's way is
# seen even where two threads happen to hold the same value; the real
# values are put back afterwards.
MARK_OLD = 0x5157000000000000
MARK_NEXT = 0x5157A00000000000


def step_one_switch(gdb, arch, regs, kstack):
    """At the first instruction of arch_context_switch: steps until the
    CPU leaves it and checks where it went. Returns (next tid, its kernel
    stack top)."""
    prev, nxt = (f"((struct thread *){regs[r]})" for r in ("prev", "next"))
    ret = "ra" if regs["ret"] == "ra" else "lr"
    next_tid = gdb_value(gdb, f"{nxt}->tid")
    top = gdb_value(gdb, f"{nxt}->kstack_top")
    saved_sp = gdb_value(gdb, f"{nxt}->ctx.sp")
    saved_ret = gdb_value(gdb, f"{nxt}->ctx.{ret}")
    prev_ctx = gdb_value(gdb, f"&{prev}->ctx")
    next_ctx = gdb_value(gdb, f"&{nxt}->ctx")
    old_sp = gdb_value(gdb, "$sp")
    names = [reg for reg, _ in CALLEE_SAVED[arch]]
    real_old = gdb_values(gdb, names)
    real_next = gdb_values(gdb, ctx_fields(arch, next_ctx))
    gdb_set(gdb, [(reg, MARK_OLD + i) for i, reg in enumerate(names)] +
            [(f, MARK_NEXT + i) for i, f in enumerate(ctx_fields(arch, next_ctx))])
    gdbtests.step_out_of_switch(gdb)
    sp, pc = gdb_value(gdb, "$sp"), gdb_value(gdb, "$pc")
    where = gdb.run("info symbol $pc").strip()
    # Read through the address of prev's context saved before the switch:
    # the registers naming it belong to the old thread.
    prev_saved_sp = gdb_value(gdb, f"((struct arch_context *){prev_ctx:#x})->sp")
    gdbtests.expect(prev_saved_sp == old_sp, f"the old thread's saved ctx.sp is "
                    f"{prev_saved_sp:#x}, but its sp was {old_sp:#x}", gdb, 6)
    gdbtests.expect(pc == saved_ret, f"after the switch pc is {pc:#x} ({where}), expected "
                    f"tid {next_tid}'s saved ctx.{ret} {saved_ret:#x}", gdb, 6)
    gdbtests.expect(sp == saved_sp, f"after the switch sp is {sp:#x}, expected tid "
                    f"{next_tid}'s saved ctx.sp {saved_sp:#x}", gdb, 6)
    gdbtests.expect(top - kstack <= sp < top, f"sp {sp:#x} is not in tid {next_tid}'s "
                    f"kernel stack [{top - kstack:#x}, {top:#x})", gdb, 6)
    # Every callee-saved register: the old thread's went into its
    # context, the next thread's came out of its own.
    saved_old = gdb_values(gdb, ctx_fields(arch, prev_ctx))
    loaded = gdb_values(gdb, names)
    for i, reg in enumerate(names):
        gdbtests.expect(saved_old[i] == MARK_OLD + i, f"the old thread's context holds "
                        f"{saved_old[i]:#x} for {reg[1:]}, but the register was "
                        f"{MARK_OLD + i:#x}", gdb, 6)
        gdbtests.expect(loaded[i] == MARK_NEXT + i, f"after the switch {reg[1:]} is "
                        f"{loaded[i]:#x}, expected tid {next_tid}'s saved {MARK_NEXT + i:#x}",
                        gdb, 6)
    # The real values back: the old thread's in its context, the next
    # thread's in the CPU.
    gdb_set(gdb, list(zip(ctx_fields(arch, prev_ctx), real_old)) +
            list(zip(names, real_next)))
    return next_tid, top


def trace_switches(gdb, count):
    """weft switchtrace COUNT, continue: the lines, each CPU's chain
    consistent (the thread switched to is the next one switched from)."""
    on = gdb.run(f"weft switchtrace {count}")
    gdbtests.expect("weft switchtrace: on" in on, "weft switchtrace did not turn on", gdb)
    out = gdb.run("continue")
    lines = gdbtests.SWITCH_LINE.findall(out)
    gdbtests.expect(len(lines) == count and
                    f"weft switchtrace: {count} switches, stopped" in out,
                    f"{len(lines)} switch lines, expected {count} and a stop", gdb)
    last = {}
    for cpu, a, _, b, _ in lines:
        gdbtests.expect(cpu not in last or last[cpu] == a,
                        f"cpu {cpu} switched to tid {last.get(cpu)}, then from tid {a}", gdb)
        last[cpu] = b
    return lines


def gdb_session(gdb, arch, kstack):
    regs = ARCH_REGS[arch]
    gdb.run("break arch_context_switch")
    gdb.run("continue")
    gdb.run(f"continue {GDB_SWITCHES_BEFORE}")
    where = gdb.run("info symbol $pc")
    gdbtests.expect(where.startswith("arch_context_switch"),
                    "did not stop at arch_context_switch 21 times", gdb)
    gdb.run("delete")
    lines = trace_switches(gdb, GDB_TRACE_COUNT)
    tids = {int(t) for _, a, _, b, _ in lines for t in (a, b) if int(t)}
    gdbtests.expect(len(tids) >= 2, f"the trace switches between {len(tids)} user threads, "
                    "expected pingpong's two", gdb)
    stacks = {}
    for _ in range(GDB_STEPPED_SWITCHES):
        trace_switches(gdb, 1)   # stopped at the next switch's first instruction
        tid, top = step_one_switch(gdb, arch, regs, kstack)
        stacks[top] = tid
    gdbtests.expect(len(stacks) >= 2, f"{GDB_STEPPED_SWITCHES} switches all landed on one "
                    "kernel stack", gdb)
    gdb.run("weft switchtrace off")
    return (f"{GDB_TRACE_COUNT} switches traced between tids "
            f"{', '.join(map(str, sorted(tids)))}; {GDB_STEPPED_SWITCHES} stepped through, "
            f"landing on {len(stacks)} kernel stacks")


def check_gdb(arch):
    build = ROOT / "build" / arch
    kstack = gdbtests.build_constants(build).KSTACK_SIZE
    port = gdbtests.free_port()
    # A build directory of links, as the GDB tests use: the gdbport file
    # debug.sh writes is this session's alone.
    with tempfile.TemporaryDirectory(prefix="weft-lab-gdb-") as tmpname:
        tmp = Path(tmpname)
        for name in ("kernel.elf", "user", gdbtests.constants.FILENAME):
            os.symlink(build / name, tmp / name)
        started = time.monotonic()
        with gdbtests.debug_session(arch, tmp, port, GDB_BOOTARGS) as (qemu, gdb, _):
            try:
                note = gdb_session(gdb, arch, kstack)
            except (Failure, gdbtests.GdbTimeout) as e:
                # Give QEMU a moment to print the rest of a panic report.
                time.sleep(0.5)
                console = qemu.text()
                line = panic_line(console)
                reason = f"the kernel panicked: {line}" if line else \
                    getattr(e, "reason", None) or f"GDB did not answer: {e}"
                evidence = list(getattr(e, "evidence", None) or gdb.evidence(6))
                raise Failure(reason, evidence + ["qemu console (last lines):"] +
                              ["  | " + x for x in console[-12:]]) from None
    return f"{note}, {time.monotonic() - started:.0f} s"


PARTS = [
    Part("threads", 20, check_threads),
    Part("threadcrash", 15, check_threadcrash),
    Part("threadtests", 40, check_threadtests),
    Part("gdb", 25, check_gdb),
]

# Without a context switch no thread runs: the handout's kernel panics at
# its first switch, the one that would start init. So every test that
# boots to a user program fails in the handout, whatever it is about.
# What still passes there needs no switch: the repository checks, the
# host unit tests, the boots that panic before init on purpose
# (early-panic, early-fault), the panics the kernel raises on its own
# (crash-null, crash-panic, crash-recursive) and gdb/docs-blocks. Every
# other QEMU test is named below (substrings of scripts/test.py's names).
HANDOUT_FAILS = [
    # boot/<arch>/...: each waits for init's shell prompt.
    "boot/riscv64/smp", "boot/aarch64/smp", "/opensbi-fw_jump", "/no-sstc", "/mem4G",
    "/cpu-sifive-u54", "/fdt-above-4G", "/gicv3", "/el2-entry", "/cpu-cortex-a53", "/cpu-max",
    # the kernel's fault on a user address needs a user program to run
    "/crash-useraccess",
    "usertests/", "threadtests/", "ipctests/", "fuzz/", "ubsan/", "holds/", "shell/",
    "gil/", "trace/", "gdb/riscv64/", "gdb/aarch64/", "bench/",
    # the TLB checker's runs and the course page's demos run programs too
    "tlbcheck/", "docs/riscv64/course", "docs/aarch64/course",
]
