#!/usr/bin/env python3
"""Boot-time benchmark: how long from starting QEMU to "weft: N cpus online".

    python3 scripts/bench.py [riscv64|aarch64]

For each architecture (or the one named) whose kernel is built, boots
RUNS times with 1 CPU and with 4 CPUs (512 MiB), one boot at a time, and
measures the wall-clock milliseconds from starting QEMU to the kernel's
weft: line. This covers QEMU's own start-up and the firmware (OpenSBI on
RISC-V) as well as the kernel, which is what a student waits for. Prints
the median and each run, and writes build/bench-boot-<arch>.json.

Standard library only.
"""

import json
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
