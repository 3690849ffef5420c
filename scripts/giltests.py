"""Tests of the big-kernel-lock lesson: lockstat, gil, trace, the trace
converter and the recursive-lock panic. Part of `make test`: scripts/test.py
lists gil_tests(arch, QemuTest, Failure) among its QEMU suites.

    gil/<arch>/counters     `gil -v` on 2 CPUs: kernel-bound threads contend
                            for the lock and spin, compute-only ones hardly;
                            the table and its reading are complete
    gil/<arch>/services     `gil -w ipc -w futex` on 2 CPUs: both workloads
                            run to the end (servers and sleepers stop), a
                            row and a reading each, every call through the
                            kernel
    gil/<arch>/lockstat     lockstat at the shell: a row per CPU and totals
                            that add up; -r resets the counters
    trace/<arch>            `trace gil` on 2 CPUs: a well-formed dump, and
                            trace_convert.py's JSON and SVG made from it;
                            the converter's states on a hand-written log
    trace/<arch>/handover   kernel-bound threads on 4 CPUs: the lock never
                            sits free for a tick while a CPU waits, and in
                            all for well under the time it is held
    panic/<arch>/crash-recursive
                            crash=recursive panics with the documented line

Every run is bounded by a time limit, so a hang is a failure.

    python3 scripts/giltests.py [--build DIR] [-k SUBSTRING]

runs these tests alone, with the kernels in DIR/<arch>/kernel.elf
(default build/).

Standard library only.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trace_convert  # noqa: E402
from boot import ARCHES, ROOT, Session, cross_tool  # noqa: E402

# Where the kernels are: build/<arch>/kernel.elf, as `make` leaves them.
KERNEL_DIR = ROOT / "build"

GIL_CPUS = 2
GIL_MEM = "256M"
# A whole run, boot to power-off. Measured on a 2-core host shared with
# other QEMUs: 3-20 s; the limit only bounds a hang.
RUN_TIMEOUT_S = 180
PROMPT = "$ "
PROMPT_TIMEOUT_S = 60

# The gil run the counters test makes: small work, one try per run.
GIL_COUNTERS_ARGS = "gil -v -r 1 -s 30"
# The two workloads of kernel services (ipc: 8 calls a unit, futex: 16
# calls a unit, 84 units at -s 10).
GIL_SERVICES_ARGS = "gil -v -r 1 -s 10 -w ipc -w futex"
GIL_SERVICES_TITLES = {"ipc": "ipc-bound", "futex": "futex-bound"}
# Kernel-bound threads on 2 CPUs take the lock in turns, so many of their
# acquisitions must wait. Measured: 96-100% of them on a quiet host, down
# to 6% on a busy one, where the host often runs one virtual CPU alone and
# the threads cannot meet at the lock. So the share expected is scaled by
# how much the two CPUs really ran at once in the same boot, read off the
# compute-only run: its speedup minus one (1 when both ran all the time,
# 0 when the host ran one at a time), but never below a tenth.
KERNEL_MIN_CONTENDED_SHARE = 0.1
MIN_PARALLEL = 0.1
# "Almost none" for compute-only threads, measured against the kernel-bound
# run of the same size: they take the lock only for timer ticks and for
# starting and ending threads. Measured: 0-13 contended acquisitions
# against 130-430. Why the count and not the spin time: when the host
# stops a virtual CPU that holds the lock (it does, when other QEMUs keep
# its cores busy), the other CPU spins for a whole host time slice, so a
# handful of contended acquisitions can add up to 100 ms of spinning.
COMPUTE_MAX_CONTENDED_RATIO = 0.25

# Run before `lockstat -r` so that the counters it resets are well above
# what the commands after it add (168 system calls that take the lock).
LOCKSTAT_WARMUP = "gil -r 1 -s 20 -w kernel 1"

# The traced run: every workload, small enough that no CPU's ring fills.
TRACE_ARGS = "trace gil -v -r 1 -s 10"

# The hand-over test: kernel-bound threads queue for the lock on 4 CPUs,
# more than a 2-core host has cores. While they queue, the lock should
# pass from one CPU to the next in microseconds. A hand-over that waits
# for the next timer tick (TICK_HZ 100 in kernel/include/cpu.h: 10 ms) is
# a lost wake-up. And the time the lock sits free while CPUs wait must be
# small next to the time it is held: measured 15-21% of it (2 runs an
# architecture) since napping waiters drop the interrupts that kept them
# awake; 136-186% before, when the lock was free more than it was used.
HANDOVER_CPUS = 4
HANDOVER_ARGS = "trace gil -v -r 1 -s 10 -w kernel 4"
TICK_NS = 10_000_000
HANDOVER_MAX_FREE_SHARE = 0.5

GIL_RAW = re.compile(r"^gil-raw (\w+) threads=(\d+) cpus=(\d+) start_ns=(\d+) "
                     r"elapsed_ns=(\d+) acquired=(\d+) contended=(\d+) spin_ns=(\d+) "
                     r"held_ns=(\d+)$")
GIL_ROW = re.compile(r"^(\S*)\s+(\d+)\s+([\d.]+)\s+([\d.]+)x\s+([\d.]+)%\s+([\d.]+)%\s+(\d+)$")
POWEROFF = re.compile(r"^weft: poweroff \(exit status (-?\d+)\)$")
LOCKSTAT_ROW = re.compile(r"^(\d+|total)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$")
RECURSIVE_PANIC = re.compile(r"^PANIC: cpu 0: recursive lock: cpu 0 already holds the big "
                             r"kernel lock \(taken at pc (0x[0-9a-f]+)\)$")

# What a lock event may follow on one CPU: each CPU waits (or not), holds,
# releases, in that order, whatever threads it switches between.
LOCK_NEXT = {
    "LOCK_WAIT": {"LOCK_ACQUIRE"},
    "LOCK_ACQUIRE": {"LOCK_RELEASE"},
    "LOCK_RELEASE": {"LOCK_WAIT", "LOCK_ACQUIRE"},
}

# A hand-written dump and the states the converter must derive from it:
# (ns since the first event, ns, state, thread). CPU 0 runs a thread in
# user mode, which enters the kernel (sleep_ms) and blocks: the CPU
# switches to its idle thread, lets go of the lock and sleeps. CPU 1 wakes
# up, spins while CPU 0 holds the lock, switches to thread 7, runs it in
# user mode, and takes the lock again for it.
SYNTHETIC_LOG = """\
some console line
trace: begin 2 100
T 0 1000 2 0
T 0 1100 5 11
T 0 1500 4 0
T 0 1700 3 0
T 0 1800 8 0
T 1 1200 9 0
T 1 1300 1 0
T 1 1700 2 0
T 1 1750 4 7
T 1 1900 3 0
T 1 2000 1 0
T 1 2100 2 0
T 1 2200 3 0
trace: end
"""
SYNTHETIC_STATES = {
    0: [(0, 500, "kernel", None), (500, 700, "kernel", 0), (700, 1200, "idle", 0)],
    1: [(0, 300, "idle", 0), (300, 700, "spin", 0), (700, 750, "kernel", 0),
        (750, 900, "kernel", 7), (900, 1000, "user", 7), (1000, 1100, "spin", 7),
        (1100, 1200, "kernel", 7)],
}


def gil_tests(arch, QemuTest, Failure):
    """The tests of one architecture, as QemuTests of the harness; checks
    raise the harness's Failure."""
    checks = Checks(Failure)
    yield QemuTest(f"gil/{arch}/counters", arch, checks.counters, cpus=GIL_CPUS,
                   mem=GIL_MEM, needs=["gil"],
                   parts=["kernel-bound-contends", "compute-only-quiet", "table"])
    yield QemuTest(f"gil/{arch}/services", arch, checks.services, cpus=GIL_CPUS,
                   mem=GIL_MEM, needs=["gil"])
    yield QemuTest(f"gil/{arch}/lockstat", arch, checks.lockstat, cpus=GIL_CPUS,
                   mem=GIL_MEM, needs=["sh", "lockstat", "gil"])
    yield QemuTest(f"trace/{arch}", arch, checks.trace, cpus=GIL_CPUS, mem=GIL_MEM,
                   needs=["trace", "gil"], parts=["dump", "json", "svg", "states"])
    yield QemuTest(f"trace/{arch}/handover", arch, checks.handover, cpus=HANDOVER_CPUS,
                   mem=GIL_MEM, needs=["trace", "gil"])
    yield QemuTest(f"panic/{arch}/crash-recursive", arch, checks.crash_recursive,
                   cpus=GIL_CPUS, mem=GIL_MEM)


def evidence(s, extra=()):
    return [f"command: {s.command()}", *extra, "last lines of output:",
            *("  | " + line for line in s.tail(30))]


class Checks:
    """The test functions; each takes the QemuTest and raises Failure."""

    def __init__(self, Failure):
        self.Failure = Failure

    def run_to_poweroff(self, t, append):
        """Boots with `append`, waits for power-off; the session, after
        checking there was no panic and the exit status was 0."""
        with t.session(append + " panic=poweroff") as s:
            exited = s.wait_exit(RUN_TIMEOUT_S)
        out = s.text()
        if any(line.startswith("PANIC") for line in out):
            raise self.Failure("the kernel panicked", evidence(s))
        if not exited:
            raise self.Failure(f"no power-off within {RUN_TIMEOUT_S} s", evidence(s))
        status = [m.group(1) for m in map(POWEROFF.match, out) if m]
        if status != ["0"]:
            raise self.Failure(f"power-off status {status or 'missing'}, expected 0",
                               evidence(s))
        return s

    def part(self, t, name, fn, *args):
        """Runs one part, reporting it; True if it passed."""
        if not t.wants(name):
            return True
        try:
            t.report(name, "PASS", fn(*args) or "")
            return True
        except self.Failure as f:
            t.report(name, "FAIL", f.reason, f.evidence)
            return False

    # ---- gil ------------------------------------------------------------

    def counters(self, t):
        """The counters judge one run's numbers against each other, but a
        busy host (another QEMU beside this one in make test) can still
        skew one run: a virtual CPU the host stops while it holds the lock
        makes the other wait, whatever the workload. So a failed run is
        tried once more, and a pass on the second try says so."""
        first = self.counters_run(t)
        if all(ok for _, ok, _, _ in first[0]):
            return self.counters_report(t, *first)
        second = self.counters_run(t)
        failed = "; ".join(f"{name}: {info}" for name, ok, info, _ in first[0] if not ok)
        return self.counters_report(t, *second, note=f"; first run failed ({failed})")

    def services(self, t):
        """gil's ipc and futex workloads: each runs with 1 and 2 threads and
        ends (the program joins every server and sleeper before it exits),
        with a table row and a reading each. The lock is taken at least once
        for every run's threads (each call enters the kernel: its trap, or
        its block and wake, takes the lock in any kernel)."""
        s = self.run_to_poweroff(t, GIL_SERVICES_ARGS)
        out = s.text()
        runs = {(m.group(1), int(m.group(2))): int(m.group(6))
                for m in map(GIL_RAW.match, out) if m}
        for w, title in GIL_SERVICES_TITLES.items():
            for k in range(1, GIL_CPUS + 1):
                if (w, k) not in runs:
                    raise self.Failure(f"no gil-raw line for {w} x{k}", evidence(s))
                if runs[(w, k)] < k:
                    raise self.Failure(f"{w} x{k} took the lock {runs[(w, k)]} times",
                                       evidence(s))
            if not any(line.startswith(title + " ") and GIL_ROW.match(line) for line in out):
                raise self.Failure(f"no table row for {title}", evidence(s))
            if not any(line.startswith(f"- {title}: {GIL_CPUS} threads ran ") for line in out):
                raise self.Failure(f"no reading of {title}", evidence(s))
        return ", ".join(f"{w} x{k}: {n} acquisitions" for (w, k), n in sorted(runs.items()))

    def counters_report(self, t, parts, summary, s, note=""):
        for name, ok, info, ev in parts:
            if t.wants(name):
                t.report(name, "PASS" if ok else "FAIL", info, [] if ok else ev)
        if not all(ok for _, ok, _, _ in parts):
            raise self.Failure("a part failed" + note, evidence(s))
        return summary + note

    def counters_run(self, t):
        """One `gil -v` run: ([(part, passed, text, evidence)], summary, session)."""
        s = self.run_to_poweroff(t, GIL_COUNTERS_ARGS)
        out = s.text()
        runs = {(m.group(1), int(m.group(2))): {
            "cpus": int(m.group(3)), "elapsed_ns": int(m.group(5)),
            "acquired": int(m.group(6)), "contended": int(m.group(7)),
            "spin_ns": int(m.group(8)), "held_ns": int(m.group(9))}
            for m in map(GIL_RAW.match, out) if m}
        want = [(w, k) for w in ("compute", "kernel", "blocking")
                for k in range(1, GIL_CPUS + 1)]
        missing = [f"{w} x{k}" for w, k in want if (w, k) not in runs]
        if missing:
            raise self.Failure(f"no gil-raw line for {', '.join(missing)}", evidence(s))
        kernel, compute = runs[("kernel", GIL_CPUS)], runs[("compute", GIL_CPUS)]
        parts = []
        parallel = runs[("compute", 1)]["elapsed_ns"] / compute["elapsed_ns"] - 1
        for name, fn, args in (("kernel-bound-contends", self.kernel_contends,
                                (kernel, parallel, s)),
                               ("compute-only-quiet", self.compute_quiet,
                                (compute, kernel, s)),
                               ("table", self.gil_table, (out, s))):
            try:
                parts.append((name, True, fn(*args) or "", []))
            except self.Failure as f:
                parts.append((name, False, f.reason, f.evidence))
        return parts, (f"kernel x{GIL_CPUS}: {kernel['contended']}/{kernel['acquired']} "
                       f"contended; compute x{GIL_CPUS}: {compute['contended']}/"
                       f"{compute['acquired']}"), s

    def kernel_contends(self, kernel, parallel, s):
        numbers = [f"gil-raw kernel threads={GIL_CPUS}: {kernel}",
                   f"the CPUs ran at once {parallel:.2f} of the time (compute-only x2)"]
        if kernel["contended"] <= 0 or kernel["spin_ns"] <= 0:
            raise self.Failure("kernel-bound threads on 2 CPUs never waited for the lock",
                               evidence(s, numbers))
        share = kernel["contended"] / kernel["acquired"]
        want = KERNEL_MIN_CONTENDED_SHARE * min(1.0, max(MIN_PARALLEL, parallel))
        if share < want:
            raise self.Failure(f"only {share:.0%} of the acquisitions were contended, "
                               f"expected at least {want:.1%}", evidence(s, numbers))
        return (f"{share:.0%} contended (at least {want:.1%}), "
                f"{kernel['spin_ns'] / 1e6:.1f} ms spinning")

    def compute_quiet(self, compute, kernel, s):
        numbers = [f"gil-raw compute threads={GIL_CPUS}: {compute}",
                   f"gil-raw kernel threads={GIL_CPUS}: {kernel}"]
        if compute["contended"] > COMPUTE_MAX_CONTENDED_RATIO * kernel["contended"]:
            raise self.Failure(f"compute-only threads had {compute['contended']} contended "
                               f"acquisitions, kernel-bound ones {kernel['contended']}",
                               evidence(s, numbers))
        return f"{compute['contended']} contended, {compute['spin_ns'] / 1e6:.2f} ms spinning"

    def gil_table(self, out, s):
        rows = [m for m in map(GIL_ROW.match, out) if m]
        if len(rows) != 3 * GIL_CPUS:
            raise self.Failure(f"{len(rows)} table rows, expected {3 * GIL_CPUS}", evidence(s))
        titles = [m.group(1) for m in rows if m.group(1)]
        if titles != ["compute-only", "kernel-bound", "blocking"]:
            raise self.Failure(f"workloads {titles}", evidence(s))
        if any(float(m.group(4)) != 1.0 for m in rows if m.group(2) == "1"):
            raise self.Failure("a 1-thread row's speedup is not 1.00x", evidence(s))
        try:
            at = out.index("What the table says:")
        except ValueError:
            raise self.Failure("no 'What the table says:' line", evidence(s)) from None
        said = [line for line in out[at + 1:] if line.startswith("- ")]
        for title in ("compute-only", "kernel-bound", "blocking"):
            if not any(re.match(rf"- {title}: {GIL_CPUS} threads ran [\d.]+x as fast as 1 "
                                r"\(ideal: \d+x\): ",
                                line) for line in said):
                raise self.Failure(f"no reading of the {title} row", evidence(s))
        return f"{len(rows)} rows, {len(said)} sentences"

    # ---- lockstat -------------------------------------------------------

    def lockstat(self, t):
        with t.session("panic=poweroff") as s:
            prompt = [s.expect_prompt(PROMPT, PROMPT_TIMEOUT_S)]
            if prompt[0] is None:
                raise self.Failure(f"no {PROMPT!r} prompt within {PROMPT_TIMEOUT_S} s",
                                   evidence(s))

            def type_line(line):
                """Types line at the prompt; the lines up to the next one."""
                s.send(line + "\r")
                end = s.expect_prompt(PROMPT, PROMPT_TIMEOUT_S, prompt[0])
                if end is None:
                    raise self.Failure(f"{line!r}: no prompt after it within "
                                       f"{PROMPT_TIMEOUT_S} s", evidence(s))
                out = s.text()[prompt[0] + 1:end]
                prompt[0] = end
                return out

            type_line(LOCKSTAT_WARMUP)
            first = self.lockstat_table(type_line("lockstat -r"), s, reset=True)
            second = self.lockstat_table(type_line("lockstat"), s, reset=False)
        if second["acquired"] >= first["acquired"]:
            raise self.Failure(f"after the reset {second['acquired']} acquisitions, "
                               f"before it {first['acquired']}: -r did not reset",
                               evidence(s))
        return (f"{first['acquired']} acquisitions since boot, {second['acquired']} "
                "after -r")

    def lockstat_table(self, out, s, reset):
        rows = {m.group(1): [int(m.group(2)), int(m.group(3)), float(m.group(4)),
                             float(m.group(5)), float(m.group(6))]
                for m in map(LOCKSTAT_ROW.match, out) if m}
        cpus = [str(c) for c in range(GIL_CPUS)]
        if sorted(rows) != sorted(cpus + ["total"]):
            raise self.Failure(f"rows {sorted(rows)}, expected CPUs 0..{GIL_CPUS - 1} "
                               "and total", evidence(s))
        total = rows["total"]
        for i, name in enumerate(("acquired", "contended")):
            if total[i] != sum(rows[c][i] for c in cpus):
                raise self.Failure(f"the total of {name} is not the sum of the rows",
                                   evidence(s))
        if total[4] != max(rows[c][4] for c in cpus):
            raise self.Failure("the total max hold is not the longest", evidence(s))
        if any(rows[c][0] == 0 for c in cpus) and reset:
            raise self.Failure("a CPU never took the lock since boot", evidence(s))
        if total[0] == 0 or total[1] > total[0]:
            raise self.Failure("impossible counts", evidence(s))
        if reset != ("lockstat: counters reset" in out):
            raise self.Failure("'lockstat: counters reset' " +
                               ("missing" if reset else "without -r"), evidence(s))
        return {"acquired": total[0]}

    # ---- trace ----------------------------------------------------------

    def trace(self, t):
        s = self.run_to_poweroff(t, TRACE_ARGS)
        out = s.text()
        ok = self.part(t, "dump", self.trace_dump, out, s)
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "console.log"
            log.write_text("\n".join(out) + "\n")
            ok &= self.part(t, "json", self.trace_json, log, s)
            ok &= self.part(t, "svg", self.trace_svg, log, s)
        ok &= self.part(t, "states", self.synthetic_states)
        if not ok:
            raise self.Failure("a part failed", evidence(s))
        return f"{sum(1 for line in out if line.startswith('T '))} events"

    def handover(self, t):
        s = self.run_to_poweroff(t, HANDOVER_ARGS)
        try:
            trace = trace_convert.parse_log(s.text())
        except trace_convert.TraceError as e:
            raise self.Failure(str(e), evidence(s)) from None
        gaps, held = trace_convert.lock_handovers(trace)
        summary = trace_convert.handover_summary(gaps, held)
        if not gaps or not held:
            raise self.Failure("no CPU waited for the lock: the kernel-bound threads "
                               "did not contend", evidence(s, [summary]))
        if max(gaps) >= TICK_NS:
            raise self.Failure(f"a hand-over left the lock free {max(gaps) / 1e6:.1f} ms "
                               "while a CPU waited: as long as a timer tick",
                               evidence(s, [summary]))
        if sum(gaps) > HANDOVER_MAX_FREE_SHARE * held:
            raise self.Failure(f"the lock sat free {sum(gaps) / 1e6:.1f} ms while CPUs "
                               f"waited, more than {HANDOVER_MAX_FREE_SHARE:.0%} of the "
                               f"{held / 1e6:.1f} ms it was held", evidence(s, [summary]))
        return (f"{len(gaps)} hand-overs, longest {max(gaps) / 1e3:.0f} us, free "
                f"{sum(gaps) / 1e6:.1f} ms while wanted, held {held / 1e6:.1f} ms")

    def trace_dump(self, out, s):
        begins = [i for i, line in enumerate(out) if line.startswith("trace: begin")]
        ends = [i for i, line in enumerate(out) if line == "trace: end"]
        if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
            raise self.Failure("expected one 'trace: begin' ... 'trace: end'", evidence(s))
        m = re.fullmatch(r"trace: begin (\d+) (\d+)", out[begins[0]])
        if not m or int(m.group(1)) != GIL_CPUS or int(m.group(2)) <= 0:
            raise self.Failure(f"header {out[begins[0]]!r}", evidence(s))
        trace = trace_convert.parse_log(out)
        for cpu, events in trace.events.items():
            if not events:
                raise self.Failure(f"no events for cpu {cpu}", evidence(s))
            if len(events) >= trace_convert.RING_EVENTS:
                raise self.Failure(f"cpu {cpu}'s ring filled up: make the traced run "
                                   "smaller", evidence(s))
            times = [e[0] for e in events]
            if times != sorted(times):
                raise self.Failure(f"cpu {cpu}'s events go back in time", evidence(s))
            unknown = {e[1] for e in events} - set(trace_convert.EVENT_NAMES.values())
            if unknown:
                raise self.Failure(f"unknown events {sorted(unknown)}", evidence(s))
            lock = [(e[0], e[1]) for e in events if e[1] in trace_convert.LOCK_EVENT_NAMES]
            for (_, a), (ns, b) in zip(lock, lock[1:]):
                if b not in LOCK_NEXT[a]:
                    raise self.Failure(f"cpu {cpu}: {b} after {a} at {ns} ns", evidence(s))
        lines = ends[0] - begins[0] - 1
        count = sum(len(e) for e in trace.events.values())
        if lines != count:
            raise self.Failure(f"{lines} lines in the dump, {count} of them events",
                               evidence(s))
        return ", ".join(f"cpu {c}: {len(e)}" for c, e in trace.events.items())

    def convert(self, log, *args):
        p = subprocess.run([sys.executable, str(ROOT / "scripts" / "trace_convert.py"),
                            str(log), *args], capture_output=True, text=True, check=False)
        if p.returncode != 0:
            raise self.Failure(f"trace_convert.py {' '.join(args)} failed",
                               (p.stdout + p.stderr).splitlines())

    def trace_json(self, log, s):
        path = log.with_suffix(".json")
        self.convert(log, "--json", str(path))
        try:
            doc = json.loads(path.read_text())
        except ValueError as e:
            raise self.Failure(f"not valid JSON: {e}") from None
        trace = trace_convert.parse_log(log.read_text().splitlines())
        events = doc.get("traceEvents")
        if not isinstance(events, list):
            raise self.Failure("no traceEvents list")
        names = {e["tid"]: e["args"]["name"] for e in events
                 if e.get("ph") == "M" and e.get("name") == "thread_name"}
        for cpu in range(trace.ncpus):
            if names.get(cpu) != f"CPU {cpu}":
                raise self.Failure(f"no track named 'CPU {cpu}'")
            got = [(e["name"], e["args"]["arg"], e["args"]["ns"]) for e in events
                   if e.get("ph") == "i" and e.get("tid") == cpu]
            want = [(name, arg, ns) for ns, name, arg in trace.events[cpu]]
            if got != want:
                first = next(i for i, (a, b) in enumerate(zip(got + [None] * len(want),
                                                             want + [None] * len(got)))
                             if a != b)
                raise self.Failure(f"cpu {cpu}: {len(got)} instant events, {len(want)} in "
                                   f"the log; first difference at #{first}")
            for e in (e for e in events if e.get("ph") == "i" and e.get("tid") == cpu):
                if abs(e["ts"] - (e["args"]["ns"] - trace.start) / 1000) > 0.001:
                    raise self.Failure(f"cpu {cpu}: ts {e['ts']} is not the event's time "
                                       "in microseconds")
            spans = sorted((e["ts"], e["ts"] + e["dur"], e["args"]["state"]) for e in events
                           if e.get("ph") == "X" and e.get("tid") == cpu)
            if not spans:
                raise self.Failure(f"cpu {cpu} has no states")
            for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
                if start < end - 0.002:
                    raise self.Failure(f"cpu {cpu}: states overlap at {start} us")
            if {st for _, _, st in spans} - set(trace_convert.STATES):
                raise self.Failure(f"cpu {cpu}: unknown states")
        states = {e["args"]["state"] for e in events if e.get("ph") == "X" and "args" in e
                  and "state" in e["args"]}
        if not {"user", "kernel", "spin", "idle"} <= states:
            raise self.Failure(f"states seen {sorted(states)}: the gil run must show user "
                               "code, the kernel, spinning and idle")
        runs = [e for e in events if e.get("cat") == "run"]
        if len(runs) != 3 * GIL_CPUS:
            raise self.Failure(f"{len(runs)} gil runs marked, expected {3 * GIL_CPUS}")
        return f"{len(events)} events"

    def trace_svg(self, log, s):
        path = log.with_suffix(".svg")
        self.convert(log, "--svg", str(path))
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            raise self.Failure(f"not valid XML: {e}") from None
        ns = "{http://www.w3.org/2000/svg}"
        if root.tag != ns + "svg":
            raise self.Failure(f"root element {root.tag}")
        lanes = [g for g in root.iter(ns + "g") if g.get("class") == "lane"]
        cpus = [g.get("data-cpu") for g in lanes]
        if cpus != [str(c) for c in range(GIL_CPUS)]:
            raise self.Failure(f"lanes for CPUs {cpus}, expected 0..{GIL_CPUS - 1}")
        for g in lanes:
            label = [x.text for x in g.iter(ns + "text")]
            if label != [f"CPU {g.get('data-cpu')}"]:
                raise self.Failure(f"lane label {label}")
            rects = [r for r in g.iter(ns + "rect") if r.get("class")]
            if not rects or {r.get("class") for r in rects} - set(trace_convert.STATES):
                raise self.Failure(f"lane {g.get('data-cpu')}: no state rectangles")
            # The states cover the lane from end to end, without a gap.
            spans = sorted((float(r.get("x")), float(r.get("x")) + float(r.get("width")))
                           for r in rects)
            left = trace_convert.SVG_LEFT
            right = left + trace_convert.SVG_PLOT_WIDTH
            gaps = [a for (_, end), (a, _) in zip(spans, spans[1:]) if a > end + 0.01]
            if abs(spans[0][0] - left) > 0.01 or abs(max(e for _, e in spans) - right) > 0.01 \
                    or gaps:
                raise self.Failure(f"lane {g.get('data-cpu')}: the states do not cover "
                                   f"{left}..{right} px" + (f" (gap at {gaps[0]})" if gaps else ""))
        legend = [g for g in root.iter(ns + "g") if g.get("class") == "legend"]
        texts = [x.text for g in legend for x in g.iter(ns + "text")]
        if texts != [trace_convert.STATE_LABELS[st] for st in trace_convert.STATES]:
            raise self.Failure(f"legend {texts}")
        axis = [x.text for g in root.iter(ns + "g") if g.get("class") == "axis"
                for x in g.iter(ns + "text")]
        if len(axis) < 3:
            raise self.Failure(f"time axis labels {axis}")
        return f"{len(lanes)} lanes, axis {axis[0]}..{axis[-2]} ms"

    def synthetic_states(self):
        trace = trace_convert.parse_log(SYNTHETIC_LOG.splitlines())
        for cpu, want in SYNTHETIC_STATES.items():
            got = [(a - trace.start, b - trace.start, st, th)
                   for a, b, st, th in trace_convert.cpu_intervals(trace, cpu)]
            if got != want:
                raise self.Failure(f"cpu {cpu}: states {got}, expected {want}")
        return "hand-written dump"

    # ---- the recursive-lock panic -------------------------------------------

    def crash_recursive(self, t):
        with t.session("crash=recursive panic=poweroff") as s:
            exited = s.wait_exit(RUN_TIMEOUT_S)
        out = s.text()
        at = next((i for i, line in enumerate(out) if RECURSIVE_PANIC.match(line)), None)
        if at is None:
            raise self.Failure("no line 'PANIC: cpu 0: recursive lock: cpu 0 already holds "
                               "the big kernel lock (taken at pc 0x...)'", evidence(s))
        if "backtrace:" not in out[at:] or "PANIC: end of report" not in out[at:]:
            raise self.Failure("the panic report is incomplete", evidence(s))
        if not exited:
            raise self.Failure(f"QEMU still running {RUN_TIMEOUT_S} s after the panic",
                               evidence(s))
        pc = RECURSIVE_PANIC.match(out[at]).group(1)
        where = symbol(t.arch, pc)
        if where is not None and where.startswith("??"):
            raise self.Failure(f"'taken at pc {pc}' is not in the kernel ({where})",
                               evidence(s))
        return f"taken at {where or pc}"


def symbol(arch, pc):
    """'function at file:line' for a return address, or None without
    addr2line."""
    tool = cross_tool(arch, "addr2line")
    if not tool:
        return None
    out = subprocess.run([tool, "-f", "-p", "-e", str(KERNEL_DIR / arch / "kernel.elf"),
                          hex(int(pc, 16) - 1)], capture_output=True, text=True,
                         check=False).stdout.strip()
    return out.replace(str(ROOT) + "/", "")


# ---- Running these tests alone ---------------------------------------------

class StandaloneFailure(Exception):
    def __init__(self, reason, evidence=()):
        super().__init__(reason)
        self.reason, self.evidence = reason, list(evidence)


class StandaloneTest:
    """As much of test.py's QemuTest as these tests use."""

    def __init__(self, name, arch, run, cpus, mem, needs=(), parts=None):
        self.name, self.arch, self.run, self.cpus, self.mem = name, arch, run, cpus, mem
        self.failed = 0

    def session(self, append):
        return Session(self.arch, cpus=self.cpus, mem=self.mem, append=append,
                       kernel=KERNEL_DIR / self.arch / "kernel.elf")

    def wants(self, part):
        return True

    def report(self, part, status, reason="", evidence=()):
        self.failed += status == "FAIL"
        show(f"{self.name}/{part}", status, reason, evidence)


def show(name, status, reason, evidence):
    print(f"{status} {name}" + (f": {reason}" if status != "PASS" else
                                f"  ({reason})" if reason else ""))
    for line in evidence if status == "FAIL" else ():
        print("    " + line)
    sys.stdout.flush()


def main():
    global KERNEL_DIR
    ap = argparse.ArgumentParser(description="Run the big-kernel-lock tests alone.")
    ap.add_argument("--build", default=str(KERNEL_DIR),
                    help="directory holding <arch>/kernel.elf (default build/)")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    metavar="SUBSTRING", help="only tests whose name contains it")
    args = ap.parse_args()
    KERNEL_DIR = Path(args.build).resolve()
    counts = {"PASS": 0, "FAIL": 0}
    start = time.monotonic()
    for arch in ARCHES:
        if not (KERNEL_DIR / arch / "kernel.elf").exists():
            print(f"SKIP {arch}: {KERNEL_DIR / arch / 'kernel.elf'} is not built")
            continue
        for t in gil_tests(arch, StandaloneTest, StandaloneFailure):
            if args.patterns and not any(p in t.name for p in args.patterns):
                continue
            try:
                status, reason, ev = "PASS", t.run(t) or "", []
            except StandaloneFailure as f:
                status, reason, ev = "FAIL", f.reason, f.evidence
            counts[status] += 1
            counts["FAIL"] += t.failed
            show(t.name, status, reason, ev)
    print(f"({time.monotonic() - start:.1f} s)")
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
