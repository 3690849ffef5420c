"""The sync lab's grader: libweft's mutex, condition variable, semaphore
and barrier, sleeping on futexes.

Boots on 4 CPUs: one for threadtests' cases of the primitives
(mutex_64_threads, condvar, semaphore, barrier: they work as documented),
shared by the parts, and one per part for its two synctest cases:
  - synctest (labs/sync/user/synctest.c): for each primitive, a _sleeps
    case (waiters leave their CPU idle, as lockstat's count of big-lock
    acquisitions on it shows; each wake-up wakes whom it promises; an
    operation nobody waits for makes no system call) and a _stress case
    (hand-overs on every CPU; a lost wake-up shows as progress that stops,
    which the program itself reports as a FAIL).

A part scores when its threadtests case and both its synctest cases pass.
The handout's stand-ins are correct but never sleep, so every _sleeps
case fails for them.
"""

from labgrade import CASE, Failure, Part, boot

THREADTESTS = "threadtests mutex_64_threads condvar semaphore barrier"

# scripts/test.py tests the handout is expected to fail: none. Its
# stand-ins are correct, so threadtests and everything built on libweft's
# locks (the shell, malloc from threads, gil, kv) still pass.
HANDOUT_FAILS = []

_runs = {}


def _run(arch, command):
    """One boot per (arch, command), shared by the parts."""
    key = (arch, command)
    if key not in _runs:
        _runs[key] = boot(arch, command, cpus=4, timeout=400)
    return _runs[key]


def _cases(run):
    """{case: (PASS|FAIL, reason)} from a test program's output."""
    found = {}
    for m in map(CASE.match, run.lines):
        if m:
            found[m.group(2)] = (m.group(1), m.group(3) or "")
    return found


def _expect_passed(run, names):
    cases = _cases(run)
    for name in names:
        verdict, reason = cases.get(name, (None, ""))
        if verdict == "PASS":
            continue
        evidence = [line for line in run.lines
                    if line.startswith((f"synctest: {name}: ", f"FAIL {name}:"))]
        if run.panicked():
            raise Failure(f"`{run.command}`: the kernel panicked", run.tail())
        if verdict == "FAIL":
            raise Failure(f"{run.command.split()[0]} {name}: {reason}", evidence[-12:])
        if run.status is None:
            raise Failure(f"`{run.command}` did not end (hung?) before {name}", run.tail())
        raise Failure(f"`{run.command}`: no result for {name}", run.tail())


def _primitive(name, threadtests_case):
    def check(arch):
        # synctest first: its own checks name a lost wake-up in seconds,
        # where a threadtests case would wait out its time limit.
        cases = [f"{name}_sleeps", f"{name}_stress"]
        run = _run(arch, " ".join(["synctest"] + cases))
        _expect_passed(run, cases)
        _expect_passed(_run(arch, THREADTESTS), [threadtests_case])
        quiet = run.grep(rf"^synctest: {name}_sleeps: .*CPU \d+ took the kernel lock "
                         r"(\d+) times in (\d+) ms")
        if not quiet:
            return None
        return (f"the waiters' CPU took the kernel lock {quiet[0].group(1)} times "
                f"in {quiet[0].group(2)} ms")
    return check


PARTS = [
    Part("mutex", 30, _primitive("mutex", "mutex_64_threads")),
    Part("condvar", 35, _primitive("condvar", "condvar")),
    Part("semaphore", 20, _primitive("semaphore", "semaphore")),
    Part("barrier", 15, _primitive("barrier", "barrier")),
]
