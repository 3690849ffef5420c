#!/usr/bin/env python3
"""Weft's benchmarks: `make bench`.

    python3 scripts/bench.py [riscv64|aarch64]

For each architecture (or the one named) whose kernel is built:

1. Boot time: boots RUNS times with 1 CPU and with 4 CPUs (512 MiB), one
   boot at a time, and measures the wall-clock milliseconds from starting
   QEMU to the kernel's weft: line. This covers QEMU's own start-up and the
   firmware (OpenSBI on RISC-V) as well as the kernel, which is what a
   student waits for. Writes build/bench-boot-<arch>.json.
2. Kernel paths: runs the guest program `bench` (user/bin/bench.c) twice
   over: once under `-icount shift=0,sleep=off`, where the guest clock
   advances one nanosecond per guest instruction, so its figures are
   exact guest instructions per operation; and RUNS times without icount
   for nanoseconds per operation (the median). Each time with one CPU,
   and once more with two for the benchmarks that need two CPUs (the
   cross-CPU IPC) and, without icount, the speedup of a compute-only
   workload on 1, 2 and 4 threads. Writes build/bench-<arch>.json: a list
   of {"name", "instructions", "ns"}.
3. The big kernel lock: `gil` on 2 CPUs, wall clock, with the targets of
   the GIL lesson next to its speedups. Writes build/bench-gil-<arch>.json.

docs/performance.md explains the figures. smoke_tests() is the part of
`make test` that runs `bench` with tiny counts (scripts/test.py).

Standard library only.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boot import ARCHES, ROOT, WEFT_LINE, Session, kernel_path  # noqa: E402
from giltests import GIL_ROW  # noqa: E402

RUNS = 5
CPU_COUNTS = (1, 4)
MEM = "512M"
TIMEOUT_S = 60
GOAL_MS = 150  # with 4 CPUs
# The guest benchmark: iterations per operation, and how long a run may take.
BENCH_ITERATIONS = 2000
BENCH_TIMEOUT_S = 300
BENCH_LINE = r"bench: (\w+) (\d+)"
SKIPPED_LINE = r"bench: (\w+) skipped: (.*)"
SPEEDUP_LINE = r"speedup: (\d+) threads (\d+\.\d+)"
POWEROFF_LINE = r"weft: poweroff \(exit status (\d+)\)"
ICOUNT = ("-icount", "shift=0,sleep=off")
# Every benchmark `bench all` runs, in its order (user/bin/bench.c).
BENCHMARKS = ("null_syscall", "yield_switch", "thread_create_join", "futex_round_trip",
              "ipc_call_reply", "ipc_call_cross_cpu", "ipc_call_reply_4k",
              "page_fault_first_touch", "bkl_acquire_release", "fork_exit_wait", "exec")
# Benchmarks that need two CPUs. Under -icount QEMU runs the two in turn
# on one host thread, so such a run is as repeatable as one with one CPU;
# its figure is the instructions of both CPUs per operation.
TWO_CPU_BENCHMARKS = ("ipc_call_cross_cpu",)
# Targets, in guest instructions per operation (docs/performance.md).
TARGETS = {"null_syscall": 150, "yield_switch": 600, "ipc_call_reply": 800,
           "fork_exit_wait": 150000}
# The GIL lesson on 2 CPUs, wall clock: compute-only work must scale, kernel
# work cannot (docs/gil.md). Each run is the best of GIL_REPEAT tries.
GIL_CPUS = 2
GIL_REPEAT = 5
GIL_ARGS = f"gil -r {GIL_REPEAT} -w compute -w kernel"
GIL_TIMEOUT_S = 300
GIL_TARGETS = {"compute-only": (">=", 1.8), "kernel-bound": ("<=", 1.2)}
# The smoke test in `make test`: every benchmark once with tiny counts.
SMOKE_ITERATIONS = 100
SMOKE_CPU_COUNTS = (1, 2)
SMOKE_TIMEOUT_S = 180


def boot_ms(arch, cpus):
    """Milliseconds to the weft: line, or None if it never came."""
    with Session(arch, cpus=cpus, mem=MEM, append="panic=poweroff") as s:
        m = s.expect(WEFT_LINE, TIMEOUT_S)
        if not m or int(m.group(1)) != cpus:
            print(f"  boot failed: {s.command()}", file=sys.stderr)
            for line in s.tail(15):
                print("  | " + line, file=sys.stderr)
            return None
        return s.matched_at * 1000


def qemu_version(arch):
    out = subprocess.run([f"qemu-system-{arch}", "--version"], capture_output=True,
                         text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


def bench(arch):
    """Returns the result record, or None if a boot failed."""
    runs = {}
    for cpus in CPU_COUNTS:
        runs[cpus] = []
        for _ in range(RUNS):
            ms = boot_ms(arch, cpus)
            if ms is None:
                return None
            runs[cpus].append(round(ms, 1))
    return {
        "arch": arch,
        "mem": MEM,
        "qemu": qemu_version(arch),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "goal_ms_4_cpus": GOAL_MS,
        "runs_ms": {str(c): r for c, r in runs.items()},
        "median_ms": {str(c): round(statistics.median(r), 1) for c, r in runs.items()},
    }


def print_table(rec):
    print(f"{rec['arch']}: milliseconds from QEMU start to the weft: line ({rec['mem']})")
    print(f"  {'cpus':>4}  {'median':>7}  runs")
    for cpus in CPU_COUNTS:
        runs = "  ".join(f"{ms:7.1f}" for ms in rec["runs_ms"][str(cpus)])
        print(f"  {cpus:>4}  {rec['median_ms'][str(cpus)]:7.1f}  {runs}")
    median4 = rec["median_ms"]["4"]
    verdict = "met" if median4 < GOAL_MS else "NOT met"
    print(f"  goal: under {GOAL_MS} ms with 4 cpus: {verdict}")


def run_guest(arch, cpus, append, timeout, args=()):
    """Boots with `append`, waits for power-off with status 0: the console
    lines, or None (after printing why) if the run failed."""
    with Session(arch, cpus=cpus, mem="256M", append=append + " panic=poweroff",
                 args=args) as s:
        m = s.expect(POWEROFF_LINE, timeout)
        if not m or m.group(1) != "0":
            print(f"  run failed: {s.command()}", file=sys.stderr)
            for line in s.tail(15):
                print("  | " + line, file=sys.stderr)
            return None
        return s.text()


def guest_bench(arch, icount, cpus, names):
    """One run of the guest's `bench NAMES`: ({name: value}, {threads:
    speedup}), or (None, None)."""
    lines = run_guest(arch, cpus, f"bench {BENCH_ITERATIONS} {' '.join(names)}",
                      BENCH_TIMEOUT_S, ICOUNT if icount else ())
    if lines is None:
        return None, None
    text = "\n".join(lines)
    values = {n: int(v) for n, v in re.findall(BENCH_LINE, text)}
    speedups = {int(k): float(v) for k, v in re.findall(SPEEDUP_LINE, text)}
    return values, speedups


def bench_both(arch, icount, extra=()):
    """`bench all` on one CPU, then the two-CPU benchmarks (and `extra`)
    on two: ({name: value}, {threads: speedup}), or (None, None)."""
    one, _ = guest_bench(arch, icount, 1, ["all"])
    two, speedups = guest_bench(arch, icount, 2, [*TWO_CPU_BENCHMARKS, *extra])
    if one is None or two is None:
        return None, None
    return {**one, **two}, speedups


def bench_paths(arch):
    """Instructions (icount) and median ns per operation; None on failure."""
    instructions, _ = bench_both(arch, True)
    if instructions is None:
        return None
    ns_runs, speedup_runs = {}, {}
    for _ in range(RUNS):
        values, speedups = bench_both(arch, False, ["speedup"])
        if values is None:
            return None
        for name, v in values.items():
            ns_runs.setdefault(name, []).append(v)
        for k, v in speedups.items():
            speedup_runs.setdefault(k, []).append(v)
    names = [n for n in BENCHMARKS if n in instructions or n in ns_runs]
    rows = [{"name": name, "instructions": instructions.get(name),
             "ns": statistics.median(ns_runs[name]) if name in ns_runs else None}
            for name in names]
    speedup = {k: statistics.median(v) for k, v in sorted(speedup_runs.items())}
    return rows, speedup


def meets(value, target):
    op, limit = target
    return value >= limit if op == ">=" else value <= limit


def verdict(value, target):
    return f"{target[0]} {target[1]}: " + ("met" if meets(value, target) else "NOT met")


def print_paths(arch, rows, speedup):
    print(f"{arch}: per operation, 1 cpu ({', '.join(TWO_CPU_BENCHMARKS)}: 2 cpus); "
          f"instructions under -icount, ns median of {RUNS}")
    print(f"  {'benchmark':<24} {'instructions':>12} {'ns':>10}  target")
    for r in rows:
        target = TARGETS.get(r["name"])
        mark = "" if target is None or r["instructions"] is None else (
            "instructions " + verdict(r["instructions"], ("<=", target)))
        shown = ["-" if r[k] is None else r[k] for k in ("instructions", "ns")]
        print(f"  {r['name']:<24} {shown[0]:>12} {shown[1]:>10}  {mark}")
    if speedup:
        print("  compute-only speedup (wall clock): " +
              ", ".join(f"{k} threads {v:.2f}x" for k, v in speedup.items()))


def bench_gil(arch):
    """gil on GIL_CPUS CPUs: its record (table lines, rows, verdicts), or
    None if the run failed."""
    lines = run_guest(arch, GIL_CPUS, GIL_ARGS, GIL_TIMEOUT_S)
    if lines is None:
        return None
    start = next((i for i, line in enumerate(lines) if line.startswith("workload")), None)
    table, rows, workload = [], [], None
    for line in lines[start:] if start is not None else []:
        m = GIL_ROW.match(line)
        if not m and table:
            break
        table.append(line)
        if m:
            workload = m.group(1) or workload
            rows.append({"workload": workload, "threads": int(m.group(2)),
                         "time_ms": float(m.group(3)), "speedup": float(m.group(4)),
                         "lock_held_pct": float(m.group(5)),
                         "spinning_pct": float(m.group(6)), "contended": int(m.group(7))})
    results = {}
    for r in rows:
        if r["threads"] == GIL_CPUS and r["workload"] in GIL_TARGETS:
            target = GIL_TARGETS[r["workload"]]
            results[r["workload"]] = {"speedup": r["speedup"],
                                      "spinning_pct": r["spinning_pct"],
                                      "target": f"{target[0]} {target[1]}",
                                      "met": meets(r["speedup"], target)}
    if set(results) != set(GIL_TARGETS):
        print(f"  gil printed no table with {GIL_CPUS} threads", file=sys.stderr)
        for line in lines[-15:]:
            print("  | " + line, file=sys.stderr)
        return None
    return {"arch": arch, "cpus": GIL_CPUS, "command": GIL_ARGS, "table": table,
            "rows": rows, "results": results}


def print_gil(rec):
    print(f"{rec['arch']}: `{rec['command']}` on {rec['cpus']} cpus, wall clock")
    for line in rec["table"]:
        print("  | " + line)
    for workload, res in rec["results"].items():
        spin = (f"; spinning {res['spinning_pct']:.1f}% of the cpus' time"
                if workload == "kernel-bound" else "")
        print(f"  {workload} speedup, {rec['cpus']} threads: {res['speedup']:.2f}x  "
              f"target {verdict(res['speedup'], GIL_TARGETS[workload])}{spin}")


# ---- The smoke test in `make test` ------------------------------------------

def smoke_tests(arch, QemuTest, Failure):
    """`bench` with tiny counts, under icount as `make bench` runs it: on 1
    CPU every benchmark completes and reports a positive figure (the
    two-CPU ones say they were skipped), on 2 CPUs the two-CPU ones do.
    Why icount: its figures are instruction counts, which a busy host
    cannot disturb (a wall-clock difference, exec's, can come out as 0).
    QemuTests of scripts/test.py, raising its Failure."""
    def check(t):
        names = TWO_CPU_BENCHMARKS if t.cpus > 1 else BENCHMARKS
        with Session(arch, cpus=t.cpus, mem=t.mem, args=ICOUNT,
                     append=f"bench {SMOKE_ITERATIONS} {' '.join(names)} panic=poweroff") as s:
            m = s.expect(POWEROFF_LINE, SMOKE_TIMEOUT_S)
            text = "\n".join(s.text())
            evidence = [f"command: {s.command()}", "last lines of output:",
                        *("  | " + line for line in s.tail(30))]
        if not m or m.group(1) != "0" or "PANIC" in text:
            raise Failure("bench did not run to a clean power-off", evidence)
        values = dict(re.findall(BENCH_LINE, text))
        skipped = dict(re.findall(SKIPPED_LINE, text))
        for name in names:
            if t.cpus < 2 and name in TWO_CPU_BENCHMARKS:
                if name not in skipped:
                    raise Failure(f"{name} did not say it was skipped on 1 cpu", evidence)
            elif int(values.get(name, 0)) <= 0:
                raise Failure(f"{name}: no positive figure"
                              + (f" (skipped: {skipped[name]})" if name in skipped else ""),
                              evidence)

    for cpus in SMOKE_CPU_COUNTS:
        yield QemuTest(f"bench/{arch}/smp{cpus}", arch, check, cpus=cpus, needs=["bench"])


def write_json(name, data):
    out = ROOT / "build" / name
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"  written to {out.relative_to(ROOT)}")


def bench_arch(arch):
    """Every benchmark of one architecture, printed and written; False if
    a run failed."""
    print(f"{arch}: host load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall-clock figures suffer when it exceeds the cores)")
    rec = bench(arch)
    if rec is None:
        print(f"{arch}: a boot did not reach the weft: line")
        return False
    print_table(rec)
    write_json(f"bench-boot-{arch}.json", rec)
    paths = bench_paths(arch)
    if paths is None:
        print(f"{arch}: the guest benchmark did not complete")
        return False
    rows, speedup = paths
    print_paths(arch, rows, speedup)
    boot = {"name": "boot_to_weft_line_4cpus_ms", "instructions": None,
            "ns": rec["median_ms"]["4"] * 1000000}
    write_json(f"bench-{arch}.json", rows + [boot])
    gil = bench_gil(arch)
    if gil is None:
        print(f"{arch}: gil did not complete")
        return False
    print_gil(gil)
    write_json(f"bench-gil-{arch}.json", gil)
    return True


def main():
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1] not in ARCHES):
        print(f"usage: {sys.argv[0]} [{'|'.join(ARCHES)}]", file=sys.stderr)
        return 2
    arches = sys.argv[1:] or list(ARCHES)
    failed = False
    for arch in arches:
        if not kernel_path(arch).exists():
            print(f"{arch}: skipped, build/{arch}/kernel.elf is not built")
            continue
        failed |= not bench_arch(arch)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
