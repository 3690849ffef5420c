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
   over: once under `-icount shift=0,sleep=off` with one CPU, where the
   guest clock advances one nanosecond per guest instruction, so its
   figures are exact guest instructions per operation; and RUNS times
   without icount (2 CPUs) for nanoseconds per operation (the median).
   The second runs also measure the speedup of a compute-only workload on
   1, 2 and 4 threads. Writes build/bench-<arch>.json: a list of
   {"name", "instructions", "ns"}.

Standard library only.
"""

import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boot import ARCHES, ROOT, WEFT_LINE, Session, kernel_path  # noqa: E402

RUNS = 5
CPU_COUNTS = (1, 4)
MEM = "512M"
TIMEOUT_S = 60
GOAL_MS = 150  # with 4 CPUs
# The guest benchmark: iterations per operation, and how long a run may take.
BENCH_ITERATIONS = 2000
BENCH_TIMEOUT_S = 300
BENCH_CPUS = 2
BENCH_LINE = r"bench: (\w+) (\d+)"
SPEEDUP_LINE = r"speedup: (\d+) threads (\d+\.\d+)"
POWEROFF_LINE = r"weft: poweroff \(exit status (\d+)\)"
# Targets, in guest instructions per operation (docs/bench.md).
TARGETS = {"null_syscall": 150, "yield_switch": 600, "ipc_call_reply": 800,
           "fork_exit_wait": 150000}


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


def guest_bench(arch, icount):
    """One run of the guest's `bench`: ({name: value}, {threads: speedup})."""
    args = ("-icount", "shift=0,sleep=off") if icount else ()
    append = f"bench {BENCH_ITERATIONS}" + ("" if icount else " speedup")
    with Session(arch, cpus=1 if icount else BENCH_CPUS, mem="256M",
                 append=append + " panic=poweroff", args=args) as s:
        m = s.expect(POWEROFF_LINE, BENCH_TIMEOUT_S)
        if not m or m.group(1) != "0":
            print(f"  bench run failed: {s.command()}", file=sys.stderr)
            for line in s.tail(15):
                print("  | " + line, file=sys.stderr)
            return None, None
        text = "\n".join(s.text())
    values = {n: int(v) for n, v in re.findall(BENCH_LINE, text)}
    speedups = {int(k): float(v) for k, v in re.findall(SPEEDUP_LINE, text)}
    return values, speedups


def bench_paths(arch):
    """Instructions (icount) and median ns per operation; None on failure."""
    instructions, _ = guest_bench(arch, icount=True)
    if instructions is None:
        return None
    ns_runs, speedup_runs = {}, {}
    for _ in range(RUNS):
        values, speedups = guest_bench(arch, icount=False)
        if values is None:
            return None
        for name, v in values.items():
            ns_runs.setdefault(name, []).append(v)
        for k, v in speedups.items():
            speedup_runs.setdefault(k, []).append(v)
    rows = [{"name": name, "instructions": instructions.get(name),
             "ns": statistics.median(ns_runs[name]) if name in ns_runs else None}
            for name in instructions]
    speedup = {k: statistics.median(v) for k, v in sorted(speedup_runs.items())}
    return rows, speedup


def print_paths(arch, rows, speedup):
    print(f"{arch}: per operation; instructions under -icount (1 cpu), "
          f"ns median of {RUNS} ({BENCH_CPUS} cpus)")
    print(f"  {'benchmark':<20} {'instructions':>12} {'ns':>10}  target")
    for r in rows:
        target = TARGETS.get(r["name"])
        mark = "" if target is None else (
            f"<= {target}: " + ("met" if r["instructions"] <= target else "NOT met"))
        print(f"  {r['name']:<20} {r['instructions']:>12} {r['ns']:>10}  {mark}")
    if speedup:
        print("  compute-only speedup (wall clock): " +
              ", ".join(f"{k} threads {v:.2f}x" for k, v in speedup.items()))


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
        rec = bench(arch)
        if rec is None:
            print(f"{arch}: a boot did not reach the weft: line")
            failed = True
            continue
        print_table(rec)
        out = ROOT / "build" / f"bench-boot-{arch}.json"
        out.write_text(json.dumps(rec, indent=2) + "\n")
        print(f"  written to {out.relative_to(ROOT)}")
        paths = bench_paths(arch)
        if paths is None:
            print(f"{arch}: the guest benchmark did not complete")
            failed = True
            continue
        rows, speedup = paths
        print_paths(arch, rows, speedup)
        boot = {"name": "boot_to_weft_line_4cpus_ms", "instructions": None,
                "ns": rec["median_ms"]["4"] * 1000000}
        out = ROOT / "build" / f"bench-{arch}.json"
        out.write_text(json.dumps(rows + [boot], indent=2) + "\n")
        print(f"  written to {out.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
