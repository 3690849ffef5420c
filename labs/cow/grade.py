"""The copy-on-write lab's grader: cowtest, usertests and one benchmark.

One `cowtest` boot an architecture (4 CPUs, 256 MiB) serves five parts,
one or two of its cases each; every case passes only if the free memory
is back where it was once the case ended. usertests (4 CPUs) checks that
the rest of fork still works, and `bench fork_exit_wait` under -icount
(one CPU, as make bench counts) that a fork of a small process now costs
at most a third of what the eager fork costs.
"""

from labgrade import CASE, Failure, Part, bench, boot, passed_all

CPUS = 4
# `bench 2000 fork_exit_wait` on the eager fork (the handout, as the main
# tree has it): guest instructions per fork, exit and wait, one CPU.
EAGER_FORK_INSTRUCTIONS = {"riscv64": 113341, "aarch64": 114588}
SPEEDUP = 3

_runs = {}


def cowtest_run(arch):
    if arch not in _runs:
        run = boot(arch, "cowtest", cpus=CPUS, timeout=180)
        if run.panicked():
            run.fail("`cowtest`: the kernel panicked")
        if run.status is None:
            run.fail("`cowtest`: did not end (hung?)")
        _runs[arch] = run
    return _runs[arch]


def cases_passed(arch, names):
    run = cowtest_run(arch)
    results = {m.group(2): (m.group(1), m.group(3)) for m in map(CASE.match, run.lines) if m}
    for name in names:
        verdict, why = results.get(name, ("missing", None))
        if verdict != "PASS":
            raise Failure(f"cowtest {name}: {why or verdict}", run.tail(15))
    return ", ".join(names)


def check_usertests(arch):
    return passed_all(arch, "usertests", cpus=CPUS)


def check_shares(arch):
    return cases_passed(arch, ["fork_shares_pages", "count_beside_a_child"])


def check_private(arch):
    return cases_passed(arch, ["writes_private"])


def check_threads(arch):
    return cases_passed(arch, ["threads_write_while_forking"])


def check_big(arch):
    return cases_passed(arch, ["fork_big_process"])


def check_no_memory(arch):
    return cases_passed(arch, ["write_without_memory"])


def check_bench(arch):
    got = bench(arch, ["fork_exit_wait"])["fork_exit_wait"]
    eager = EAGER_FORK_INSTRUCTIONS[arch]
    limit = eager // SPEEDUP
    note = f"fork_exit_wait {got} instructions; eager fork {eager}, limit {limit}"
    if got > limit:
        raise Failure(note)
    return note


# The benchmark first: on the handout it shows the eager fork's figure at
# once, and make labcheck's quick form stops there.
PARTS = [
    Part("fork_exit_wait", 20, check_bench),
    Part("usertests", 15, check_usertests),
    Part("fork_shares_pages", 10, check_shares),
    Part("writes_private", 15, check_private),
    Part("threads_write_while_forking", 15, check_threads),
    Part("fork_big_process", 15, check_big),
    Part("write_without_memory", 10, check_no_memory),
]

# The handout's fork copies: it fails only this lab's own checks.
HANDOUT_FAILS = []
