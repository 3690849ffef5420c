"""The syscall lab's grader: sysinfo and systrace, by what the guest prints.

Two boots an architecture: `sysinfotests` (3 CPUs: its cases, then the
student's `sysinfo` program under two loads, with the bounds its figures
must fall in) and `systracetests` (its steps print what they did; the
kernel's systrace lines are held against that). Each part reads one of
them; a boot is made once and shared.
"""

import re
from collections import Counter

from labgrade import CASE, Failure, Part, boot

SYSINFO_CPUS = 3  # not the usual 4: a program that prints 4 is wrong here
FIELDS = ("free_pages", "total_pages", "processes", "threads", "cpus_online",
          "bkl_acquired", "bkl_contended", "uptime_ns")
EINVAL, ECHILD = 22, 10
LINES_PER_SEC = 100  # SYSTRACE_LINES_PER_SEC, fixed by the README

TRACE_LINE = re.compile(r"^systrace: pid (\d+): (\w+) -> (-?\d+)$")
DROPPED_LINE = re.compile(r"^systrace: (\d+) lines dropped$")
STEP_LINE = re.compile(r"^systracetests: (\w+) (.*)$")
EXPECT_LINE = re.compile(r"^sysinfotests: round (\d) expect (\w+) (\d+) (\d+)$")
DONE_LINE = re.compile(r"^sysinfotests: round (\d) done, status (-?\d+)$")
FIELD_LINE = re.compile(r"^(\w+): (\d+)\b")
SUMMARY = re.compile(r"^\d+ passed, \d+ failed$")

_runs = {}


def run_of(arch, command, cpus):
    key = (arch, command)
    if key not in _runs:
        run = boot(arch, command, cpus=cpus, timeout=120)
        if run.panicked():
            run.fail(f"`{command}`: the kernel panicked")
        if run.status is None:
            run.fail(f"`{command}`: did not end (hung?)")
        _runs[key] = run
    return _runs[key]


# ---- sysinfo ----------------------------------------------------------------

def cases_passed(arch, names):
    run = run_of(arch, "sysinfotests", SYSINFO_CPUS)
    results = {m.group(2): (m.group(1), m.group(3)) for m in map(CASE.match, run.lines) if m}
    for name in names:
        verdict, why = results.get(name, ("missing", None))
        if verdict != "PASS":
            raise Failure(f"sysinfotests {name}: {why or verdict}", run.tail(15))
    return f"{len(names)} cases passed"


def check_figures(arch):
    return cases_passed(arch, ["free_and_total", "processes_threads", "cpus_and_clock",
                               "lock_counts", "good_buffers"])


def check_bad_pointers(arch):
    return cases_passed(arch, ["bad_pointers"])


def check_program(arch):
    """The student's `sysinfo` printed every field, each within the bounds
    sysinfotests measured around it, in both rounds (the two loads differ
    in processes, threads and free memory, so constants cannot pass)."""
    run = run_of(arch, "sysinfotests", SYSINFO_CPUS)
    start = next((i for i, line in enumerate(run.lines) if SUMMARY.match(line)), None)
    if start is None:
        run.fail("sysinfotests printed no summary")
    for rnd in (0, 1):
        printed, bounds, done = {}, {}, None
        for line in run.lines[start + 1:]:
            m = EXPECT_LINE.match(line)
            if m and int(m.group(1)) == rnd:
                bounds[m.group(2)] = (int(m.group(3)), int(m.group(4)))
                continue
            m = DONE_LINE.match(line)
            if m:
                start = run.lines.index(line, start + 1)
                if int(m.group(1)) == rnd:
                    done = int(m.group(2))
                    break
                continue
            m = FIELD_LINE.match(line)
            if m and not bounds and m.group(1) in FIELDS:
                printed.setdefault(m.group(1), int(m.group(2)))
        if done is None or set(bounds) != set(FIELDS):
            run.fail(f"round {rnd} of sysinfotests did not finish")
        if any(line.startswith("sysinfotests: exec sysinfo:") for line in run.lines):
            run.fail("no `sysinfo` program to run (user/bin/sysinfo.c)")
        if done != 0:
            run.fail(f"round {rnd}: `sysinfo` exited with status {done:#x}")
        missing = [f for f in FIELDS if f not in printed]
        if missing:
            run.fail(f"round {rnd}: `sysinfo` printed no line for {', '.join(missing)}")
        for field in FIELDS:
            low, high = bounds[field]
            if not low <= printed[field] <= high:
                run.fail(f"round {rnd}: `sysinfo` printed {field}: {printed[field]}, "
                         f"expected {low}" + ("" if low == high else f"..{high}"))
    return "2 rounds"


# ---- systrace ---------------------------------------------------------------

class Trace:
    """systracetests' output: each step's words, and the kernel's lines
    by pid."""

    def __init__(self, arch):
        self.run = run = run_of(arch, "systracetests", 4)
        self.steps, self.status = {}, {}
        self.lines, self.dropped = {}, 0
        for line in run.lines:
            m = TRACE_LINE.match(line)
            if m:
                self.lines.setdefault(int(m.group(1)), []).append((m.group(2), int(m.group(3))))
                continue
            m = DROPPED_LINE.match(line)
            if m:
                self.dropped += int(m.group(1))
                continue
            m = STEP_LINE.match(line)
            if m:
                words = m.group(2).split()
                if m.group(1) == "step" and len(words) == 3:
                    self.status[words[0]] = int(words[2])
                elif len(words) % 2 == 0:
                    self.steps.setdefault(m.group(1), []).append(
                        {k: v for k, v in zip(words[::2], words[1::2])})
        if "systracetests: done" not in run.lines:
            run.fail("systracetests did not finish")

    def step(self, name, key=None, step=None):
        """The words of step `name`'s line (the one with `key`, if given);
        the step (`step`, by default `name`) must have ended with 0."""
        step = step or name
        if self.status.get(step) != 0:
            self.run.fail(f"step {step} ended with status {self.status.get(step)}")
        found = [w for w in self.steps.get(name, ()) if key is None or key in w]
        if not found:
            self.run.fail(f"step {step} printed no '{name}' line")
        words = {k: int(v) for k, v in found[0].items()}
        if words.get("first", 0) != 0:
            self.run.fail(f"step {name}: the first systrace returned {words['first']}, "
                          "expected 0 (the old mask)")
        return words

    def expect_lines(self, pid, want, who):
        got = Counter(self.lines.get(pid, []))
        want = Counter(want)
        if got != want:
            def show(c):
                return ", ".join(f"{n} -> {r}" + (f" x{k}" if k > 1 else "")
                                 for (n, r), k in sorted(c.items())) or "none"
            self.run.fail(f"{who} (pid {pid}): traced lines {show(got)}; expected {show(want)}")


def check_lines(arch):
    t = Trace(arch)
    w = t.step("basic")
    if w["back"] != w["mask"]:
        t.run.fail(f"systrace(0) returned {w['back']}, expected the mask set, {w['mask']}")
    for key in ("bad0", "badhigh"):
        if w[key] != -EINVAL:
            t.run.fail(f"systrace with a bit for no call ({key}) returned {w[key]}, expected -22")
    pid = w["pid"]
    t.expect_lines(pid, [("getpid", pid)] * 4 + [("getppid", w["ppid"]), ("wait", -ECHILD),
                                                  ("munmap", -EINVAL), ("sleep_ms", 0)],
                   "the basic step")
    return "results, silence, masks"


def check_inheritance(arch):
    t = Trace(arch)
    u = t.step("untraced")
    t.expect_lines(u["pid"], [], "a process that traces nothing")
    parent = t.step("fork", "reaped")
    child = t.step("fork", "inherited")
    p, c = parent["parent"], parent["child"]
    if child["child"] != c or child["parent"] != p or parent["reaped"] != c:
        t.run.fail("the fork step's pids do not agree")
    if child["inherited"] != parent["mask"] or parent["now"] != parent["mask"]:
        t.run.fail(f"fork: the child's first systrace returned {child['inherited']} and the "
                   f"parent's last {parent['now']}; both should be {parent['mask']}")
    t.expect_lines(p, [("getpid", p)] * 2 + [("fork", c), ("wait", c)], "fork's parent")
    t.expect_lines(c, [("getpid", c), ("getppid", p)], "fork's child")
    e = t.step("exec", "first")
    after = t.step("execed", step="exec")
    if after["pid"] != e["pid"] or after["kept"] != e["mask"]:
        t.run.fail(f"after exec the mask was {after['kept']}, expected {e['mask']}")
    t.expect_lines(e["pid"], [("getpid", e["pid"])] * 2 + [("exec", 0)], "the exec step")
    th = t.step("threads")
    tids = {th["main"], th["thread"]}
    got = t.lines.get(th["pid"], [])
    if th["thread"] <= 0 or th["got"] != th["thread"] or not got or \
            any(n != "gettid" for n, _ in got) or {r for _, r in got} != tids:
        t.run.fail(f"threads: traced lines {got}; expected gettid of both threads {sorted(tids)}")
    return "fork, exec, threads, untraced"


def check_flood(arch):
    t = Trace(arch)
    f = t.step("flood")
    pid, calls = f["pid"], f["calls"]
    got = t.lines.get(pid, [])
    if any(line != ("getpid", pid) for line in got):
        t.run.fail(f"flood: lines other than getpid -> {pid}")
    windows = f["ms"] // 1000 + 2
    if len(got) > LINES_PER_SEC * windows:
        t.run.fail(f"flood: {len(got)} lines in {f['ms']} ms, over {LINES_PER_SEC} a second")
    if not t.dropped or len(got) + t.dropped != calls:
        t.run.fail(f"flood: {len(got)} lines printed and {t.dropped} reported dropped, "
                   f"for {calls} calls")
    return f"{len(got)} printed, {t.dropped} dropped"


PARTS = [
    Part("sysinfo-program", 20, check_program),
    Part("sysinfo-figures", 20, check_figures),
    Part("sysinfo-bad-pointers", 15, check_bad_pointers),
    Part("systrace-lines", 15, check_lines),
    Part("systrace-inheritance", 20, check_inheritance),
    Part("systrace-flood", 10, check_flood),
]

# The tree's own tests know nothing of the lab: the handout passes them all.
HANDOUT_FAILS = []
