"""What a lab's grader (labs/<name>/grade.py) is made of.

A grader lists its parts, each a name, its points and a check:

    from labgrade import Part, Failure, boot, passed_all

    def check_threads(arch):
        run = boot(arch, "threads 4", cpus=4)
        run.expect_exit(0)
        ...                         # raise Failure("why") when wrong
        return "4 threads"          # a note for the score line, or None

    PARTS = [Part("threads", 10, check_threads), ...]

A part scores all its points or none, and only by behaviour: what the
guest prints, its exit status, counters, instruction counts. scripts/lab.py
grade runs the parts on each architecture and prints the score lines.

A grader may also say which of the tree's tests (scripts/test.py names,
substrings as for -k) are about its lab, so that `make labcheck` expects
the handout to fail those and pass the rest:

    HANDOUT_FAILS = ["threadtests"]

Standard library only.
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boot import ROOT, Session  # noqa: E402,F401

POWEROFF = re.compile(r"^weft: poweroff \(exit status (-?\d+)\)$")
CASE = re.compile(r"^(PASS|FAIL) ([\w.-]+)(?:: (.*))?$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
BENCH_LINE = re.compile(r"^bench: (\w+) (\d+)$")
# -icount: one instruction a nanosecond of guest time, the same count on
# every run (docs/performance.md).
ICOUNT = ("-icount", "shift=0,sleep=off")


class Failure(Exception):
    """A part's behaviour is wrong: a one-line reason, then evidence."""

    def __init__(self, reason, evidence=()):
        super().__init__(reason)
        self.reason = reason
        self.evidence = list(evidence)


class Part:
    """wallclock=True: the part measures wall-clock time (a speedup), which
    a busy host can spoil. make grade and make labcheck run it; the quick
    check in make test leaves it out (scripts/lab.py grade --no-wallclock),
    as speed goals on a shared machine belong in benchmarks, not tests."""

    def __init__(self, name, points, check, wallclock=False):
        self.name, self.points, self.check = name, points, check
        self.wallclock = wallclock


class Run:
    """One boot that ran a command to its end (or to the time limit)."""

    def __init__(self, command, lines, status, seconds, qemu):
        self.command, self.lines, self.status = command, lines, status
        self.seconds, self.qemu = seconds, qemu

    def panicked(self):
        return any("PANIC" in line for line in self.lines)

    def tail(self, n=25):
        return [f"$ {self.qemu}"] + ["| " + line for line in self.lines[-n:]]

    def fail(self, reason):
        raise Failure(reason, self.tail())

    def expect_exit(self, status=0):
        """The program ended by itself with this status, and no panic."""
        if self.panicked():
            self.fail(f"`{self.command}`: the kernel panicked")
        if self.status is None:
            self.fail(f"`{self.command}`: did not end (hung?)")
        if self.status != status:
            self.fail(f"`{self.command}`: exit status {self.status}, expected {status}")

    def grep(self, pattern):
        """The matches of a regex on the output's lines."""
        regex = re.compile(pattern)
        return [m for m in map(regex.search, self.lines) if m]


def boot(arch, command, cpus=4, mem="256M", timeout=180, cpu=None, icount=False):
    """Boots this tree's kernel for `arch`, has init run `command`, and
    waits until it powers off (init's status is the command's)."""
    args = ICOUNT if icount else ()
    with Session(arch, cpus=cpus, mem=mem, append=command + " panic=poweroff",
                 cpu=cpu, args=args) as s:
        m = s.expect(POWEROFF, timeout)
        s.wait_exit(5)
        status = int(m.group(1)) if m else None
        seconds = s.matched_at if m else timeout
    return Run(command, s.text(), status, seconds, s.command())


def passed_all(arch, command, cpus=4, mem="256M", timeout=300, cpu=None, cases=None):
    """Runs an in-guest test program (usertests, threadtests, a lab's own):
    every case passes, its summary says so and its status is 0. cases: the
    case names that must be among those passed. Returns "N passed"."""
    run = boot(arch, command, cpus=cpus, mem=mem, timeout=timeout, cpu=cpu)
    failed = [m.group(2) for m in map(CASE.match, run.lines) if m and m.group(1) == "FAIL"]
    passed = [m.group(2) for m in map(CASE.match, run.lines) if m and m.group(1) == "PASS"]
    if failed:
        run.fail(f"`{command}`: {len(failed)} failed: {', '.join(failed[:6])}")
    run.expect_exit(0)
    summaries = [m for m in map(SUMMARY.match, run.lines) if m]
    if len(summaries) != 1 or int(summaries[0].group(2)) or not passed:
        run.fail(f"`{command}`: no '{len(passed)} passed, 0 failed' summary")
    missing = [c for c in cases or () if c not in passed]
    if missing:
        run.fail(f"`{command}`: did not pass {', '.join(missing)}")
    return f"{len(passed)} passed, {run.seconds:.0f} s"


def bench(arch, names, iterations=2000, cpus=1):
    """Guest instructions per operation of `bench` benchmarks, counted under
    -icount like make bench: {name: instructions}."""
    run = boot(arch, f"bench {iterations} {' '.join(names)}", cpus=cpus, icount=True)
    run.expect_exit(0)
    values = {m.group(1): int(m.group(2)) for m in run.grep(BENCH_LINE)}
    missing = [n for n in names if n not in values]
    if missing:
        run.fail(f"bench printed no figure for {', '.join(missing)}")
    return values
