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
WAIT_KILLED = 1
LINES_PER_SEC = 100  # SYSTRACE_LINES_PER_SEC, fixed by the README
NS_PER_SEC = 1000000000
EPS_NS = 20000000  # the flood's margin either side of a window's end (systracetests.c)

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
                               "good_buffers"])


def check_lock_counts(arch):
    return cases_passed(arch, ["lock_counts"])


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


# ---- systrace ----------------------------------------------------------------

class Trace:
    """systracetests' output: each step's words, the kernel's lines by
    pid, and every systrace line in order as (index in the output, pid or
    None for a dropped line, name or None, value)."""

    def __init__(self, arch):
        self.run = run = run_of(arch, "systracetests", 4)
        self.steps, self.status = {}, {}
        self.lines, self.dropped, self.events = {}, 0, []
        for i, line in enumerate(run.lines):
            m = TRACE_LINE.match(line)
            if m:
                self.lines.setdefault(int(m.group(1)), []).append((m.group(2), int(m.group(3))))
                self.events.append((i, int(m.group(1)), m.group(2), int(m.group(3))))
                continue
            m = DROPPED_LINE.match(line)
            if m:
                self.dropped += int(m.group(1))
                self.events.append((i, None, None, int(m.group(1))))
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
    s = t.step("self")
    if s["bad"] != -EINVAL or s["tob"] != s["a"] or s["off"] != s["b"]:
        t.run.fail(f"self: systrace returned {s['bad']}, {s['tob']}, {s['off']}; "
                   f"expected -22, {s['a']}, {s['b']}")
    t.expect_lines(s["pid"], [("systrace", 0), ("getpid", s["pid"]), ("systrace", -EINVAL),
                              ("systrace", s["a"])],
                   "systrace traced by its own bit (lines as each call returns, with the "
                   "mask it leaves)")
    return "results, silence, masks, systrace itself"


def check_silence(arch):
    """Calls that never return to their caller print nothing: exit,
    thread_exit, and calls cut short by a kill."""
    t = Trace(arch)
    s = t.step("silent", "thread")
    c = t.step("silent", "status", step="silent")
    if s["value"] != 7 or c["status"] != 0 or c["child"] != s["pid"]:
        t.run.fail(f"silent: the thread gave {s['value']} (expected 7), the process ended "
                   f"with status {c['status']}")
    t.expect_lines(s["pid"], [("getpid", s["pid"])],
                   "a process tracing exit and thread_exit whose thread and itself end")
    k = t.step("killed")
    if not k["asleep"]:
        t.run.fail("killed: the child never showed in ps with both threads asleep")
    if k["status"] & 0xff != WAIT_KILLED:
        t.run.fail(f"killed: wait status {k['status']:#x}, expected killed")
    t.expect_lines(k["pid"], [("getpid", k["pid"])],
                   "a process killed in traced sleep_ms and thread_join")
    return "exit, thread_exit, killed"


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
    """The rule as the README states it, window by window, with the
    kernel's clock (each flood line is a traced clock_ns, its result the
    time): a window opens at the first line after the last one closed and
    lasts a second; it holds at most LINES_PER_SEC lines, of every
    process; the calls past those are counted, and the count is printed
    right before the next window's first line, and only there. The flood
    is one burst of calls from inside a window to well past its end, then
    one call once the next window has closed."""
    t = Trace(arch)
    f = t.step("flood")
    fail = t.run.fail
    pid, ev = f["pid"], t.events
    if f["eps"] != EPS_NS:
        fail(f"systracetests' margin is {f['eps']} ns, the grader's {EPS_NS}")
    # Dropped lines: a count above 0, each right before a window's first line.
    for k, (i, p, _, n) in enumerate(ev):
        if p is None and (n <= 0 or k + 1 == len(ev) or ev[k + 1][1] is None
                          or ev[k + 1][0] != i + 1):
            fail(f"'{t.run.lines[i]}' is not right before a traced call's line")

    def dropped_before(k):
        """The count printed right before event k, or 0."""
        return ev[k - 1][3] if k > 0 and ev[k - 1][1] is None else 0

    flood = [(k, v) for k, (i, p, n, v) in enumerate(ev) if p == pid]
    if any(ev[k][2] != "clock_ns" for k, _ in flood):
        fail(f"flood: lines other than clock_ns from pid {pid}")
    vals = [v for _, v in flood]
    if any(b <= a for a, b in zip(vals, vals[1:])):
        fail("flood: the clock_ns results printed are not increasing")
    burst = [(k, v) for k, v in flood if f["bfirst"] <= v <= f["blast"]]
    if len(burst) + 1 != len(flood) or flood[-1][1] != f["last"]:
        fail("flood: lines with clock_ns results the program never got, or none for its "
             "last call, made in a window of its own")
    if not burst or burst[0][1] != f["bfirst"]:
        fail("flood: the burst's first call printed no line")

    # The window the burst starts in: the open one (with the other steps'
    # lines in it), or one of its own.
    if f["shared"]:
        o = t.steps.get("open", [{}])[0]
        opened = [k for k, (i, p, n, v) in enumerate(ev)
                  if (p, n, v) == (int(o.get("pid", -1)), "clock_ns", int(o.get("t", -1)))]
        if not opened or opened[0] > burst[0][0]:
            fail("the traced clock_ns that opens a window before the steps printed no line")
        window = ev[opened[0]:burst[0][0]]
        if any(p is None for _, p, _, _ in window):
            fail("flood: lines dropped in the window the steps printed in")
        room, end = LINES_PER_SEC - len(window), int(o["t"]) + NS_PER_SEC
        who = f"after {len(window)} lines of other processes in the same window"
    else:
        room, end = LINES_PER_SEC, f["bfirst"] + NS_PER_SEC
        who = "in a window of its own"
    low, high = end - EPS_NS, end + EPS_NS + f["gap"]
    if f["lo"] <= room or f["calls"] - f["hi"] <= LINES_PER_SEC:
        fail(f"flood: the burst was too short ({f['calls']} calls)")
    first_window = [v for _, v in burst if v < low]
    if len(first_window) != room:
        fail(f"flood: {f['lo']} calls {who} printed {len(first_window)} lines in the "
             f"window's second; expected {room}")
    k2, v2 = burst[room]
    if v2 > high:
        fail(f"flood: the window closing at {end} ns was followed by one opening at {v2} "
             f"ns, later than {EPS_NS // 1000000} ms or the longest gap between calls")
    d1 = dropped_before(k2)
    if not f["lo"] - room <= d1 <= f["hi"] - room:
        fail(f"flood: {d1} lines reported dropped before the window opening at {v2} ns; "
             f"between {f['lo'] - room} and {f['hi'] - room} calls went unprinted before it")
    if len(burst) - room != LINES_PER_SEC:
        fail(f"flood: {len(burst) - room} lines in the window opening at {v2} ns, for "
             f"{f['calls'] - f['hi']} calls or more; expected {LINES_PER_SEC}")
    d2 = dropped_before(flood[-1][0])
    if d1 + d2 != f["calls"] - len(burst):
        fail(f"flood: {len(burst)} lines printed and {d1} + {d2} reported dropped, for "
             f"{f['calls']} calls")
    return f"{len(burst)} + 1 printed, {d1} + {d2} dropped"


PARTS = [
    Part("sysinfo-program", 15, check_program),
    Part("sysinfo-figures", 15, check_figures),
    Part("sysinfo-lock-counts", 10, check_lock_counts),
    Part("sysinfo-bad-pointers", 10, check_bad_pointers),
    Part("systrace-lines", 15, check_lines),
    Part("systrace-silence", 10, check_silence),
    Part("systrace-inheritance", 10, check_inheritance),
    Part("systrace-flood", 15, check_flood),
]

# The tree's own tests know nothing of the lab: the handout passes them all.
HANDOUT_FAILS = []
